//! `GlobalMaxPooling1D/2D` and `GlobalAveragePooling1D/2D`: one value per channel, over
//! every step or every cell of the map.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::pooling::{ARGMAX, PoolOp, check_indexable};
use crate::layers::spatial;
use crate::layers::{
    Args, Buffer, Built, Config, Inputs, Io, LayerKind, Mode, Output, ShapeError, krate,
};

/// A global pooling layer over a `[steps, channels]` (`rank` 1) or `[height, width,
/// channels]` (`rank` 2) input.
pub struct GlobalPool {
    pub rank: usize,
    pub op: PoolOp,
}

#[derive(Clone, Copy)]
struct GlobalPoolConfig {
    kind: &'static str,
    rank: usize,
    op: PoolOp,
}

struct GlobalPoolLayer {
    config: GlobalPoolConfig,
    /// Steps, or height × width.
    positions: usize,
    channels: usize,
}

impl GlobalPool {
    /// The kind's name: `GlobalMaxPooling2D`, ...
    fn kind(&self) -> &'static str {
        match (self.op, self.rank) {
            (PoolOp::Max, 1) => "GlobalMaxPooling1D",
            (PoolOp::Max, _) => "GlobalMaxPooling2D",
            (PoolOp::Average, 1) => "GlobalAveragePooling1D",
            (PoolOp::Average, _) => "GlobalAveragePooling2D",
        }
    }
}

impl LayerKind for GlobalPool {
    fn name(&self) -> &'static str {
        self.kind()
    }

    fn default_name(&self) -> &'static str {
        match (self.op, self.rank) {
            (PoolOp::Max, 1) => "global_max_pooling1d",
            (PoolOp::Max, _) => "global_max_pooling2d",
            (PoolOp::Average, 1) => "global_average_pooling1d",
            (PoolOp::Average, _) => "global_average_pooling2d",
        }
    }

    fn arguments(&self) -> &'static [&'static str] {
        &[]
    }

    fn configure(&self, _args: &Args, _errors: &mut Errors) -> Option<Box<dyn Config>> {
        Some(Box::new(GlobalPoolConfig {
            kind: self.kind(),
            rank: self.rank,
            op: self.op,
        }))
    }
}

impl Config for GlobalPoolConfig {
    fn label(&self) -> String {
        self.kind.to_string()
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.label())?;
        let [height, width, channels] = spatial::map(self.kind, self.rank, input)?;
        if self.op == PoolOp::Max {
            check_indexable(self.kind, input)?;
        }
        Ok(Box::new(GlobalPoolLayer {
            config: *self,
            positions: height.saturating_mul(width),
            channels,
        }))
    }
}

impl Built for GlobalPoolLayer {
    fn label(&self) -> String {
        self.config.label()
    }

    fn output(&self) -> Output {
        Output::One(vec![self.channels])
    }

    fn buffers(&self) -> Vec<Buffer> {
        match self.config.op {
            PoolOp::Max => vec![Buffer::indices(ARGMAX, self.channels)],
            PoolOp::Average => Vec::new(),
        }
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        vec![
            ("data_format", Json::str("channels_last")),
            ("keepdims", Json::Bool(false)),
        ]
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let (n, x, y) = (&io.n, io.x(), &io.y);
        let (positions, channels) = (self.positions, self.channels);
        match self.config.op {
            PoolOp::Max => {
                let argmax = io.buf(ARGMAX);
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
        let Some(dx) = io.dx() else {
            return TokenStream::new();
        };
        let k = krate();
        let (n, dy) = (&io.n, &io.dy);
        let (positions, channels) = (self.positions, self.channels);
        match self.config.op {
            PoolOp::Max => {
                let argmax = io.buf_ref(ARGMAX);
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
