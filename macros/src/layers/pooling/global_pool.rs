//! `GlobalMaxPooling1D/2D` and `GlobalAveragePooling1D/2D`: one value per channel, over
//! every step or every cell of the map.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::pooling::PoolOp;
use crate::layers::pooling::pool::check_indexable;
use crate::layers::spatial;
use crate::layers::{Args, Buffer, Io, Layer, LayerKind, ShapeError, krate};

/// A global pooling layer over a `[steps, channels]` (`rank` 1) or `[height, width,
/// channels]` (`rank` 2) input.
pub struct GlobalPool {
    pub rank: usize,
    pub op: PoolOp,
}

struct Configured {
    kind: &'static str,
    rank: usize,
    op: PoolOp,
    /// Steps, or height × width.
    positions: usize,
    channels: usize,
}

impl GlobalPool {
    /// The kind's name: `GlobalMaxPooling2D`, ...
    fn name(&self) -> &'static str {
        match (self.op, self.rank) {
            (PoolOp::Max, 1) => "GlobalMaxPooling1D",
            (PoolOp::Max, _) => "GlobalMaxPooling2D",
            (PoolOp::Average, 1) => "GlobalAveragePooling1D",
            (PoolOp::Average, _) => "GlobalAveragePooling2D",
        }
    }
}

impl LayerKind for GlobalPool {
    fn kind(&self) -> &'static str {
        self.name()
    }

    fn default_name(&self) -> &'static str {
        match (self.op, self.rank) {
            (PoolOp::Max, 1) => "global_max_pooling1d",
            (PoolOp::Max, _) => "global_max_pooling2d",
            (PoolOp::Average, 1) => "global_average_pooling1d",
            (PoolOp::Average, _) => "global_average_pooling2d",
        }
    }

    fn keywords(&self) -> &'static [&'static str] {
        &[]
    }

    fn configure(&self, _args: &Args, _errors: &mut Errors) -> Option<Box<dyn Layer>> {
        Some(Box::new(Configured {
            kind: self.name(),
            rank: self.rank,
            op: self.op,
            positions: 0,
            channels: 0,
        }))
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        self.kind.to_string()
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let [height, width, channels] = spatial::map(self.kind, self.rank, input)?;
        if self.op == PoolOp::Max {
            check_indexable(self.kind, input)?;
        }
        self.positions = height.saturating_mul(width);
        self.channels = channels;
        Ok(vec![channels])
    }

    fn buffers(&self) -> Vec<Buffer> {
        match self.op {
            PoolOp::Max => vec![Buffer::indices(self.channels)],
            PoolOp::Average => Vec::new(),
        }
    }

    fn config_json(&self) -> String {
        r#""data_format": "channels_last", "keepdims": false"#.to_string()
    }

    fn forward(&self, io: &Io, _training: bool) -> TokenStream {
        let k = krate();
        let Io { n, x, y, .. } = io;
        let (positions, channels) = (self.positions, self.channels);
        match self.op {
            PoolOp::Max => {
                let argmax = &io.bufs[0];
                quote! {
                    #k::kernels::global_max_pool_forward(#n, #positions, #channels, #x, #y, #argmax);
                }
            }
            PoolOp::Average => quote! {
                #k::kernels::global_average_pool_forward(#n, #positions, #channels, #x, #y);
            },
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let Some(dx) = &io.dx else {
            return TokenStream::new();
        };
        let k = krate();
        let (n, dy) = (&io.n, &io.dy);
        let (positions, channels) = (self.positions, self.channels);
        match self.op {
            PoolOp::Max => {
                let argmax = &io.bufs_ref[0];
                quote! {
                    #k::kernels::global_max_pool_backward(#n, #positions, #channels, #dy, #argmax, #dx);
                }
            }
            PoolOp::Average => quote! {
                #k::kernels::global_average_pool_backward(#n, #positions, #channels, #dy, #dx);
            },
        }
    }
}
