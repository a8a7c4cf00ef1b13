//! `MaxPooling1D/2D` and `AveragePooling1D/2D(pool_size = 2, strides = pool_size,
//! padding = valid)`: Keras's pooling, channels-last. Max pooling keeps the place of each
//! window's winner (a `u32` per output value) for the backward pass.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::pooling::PoolOp;
use crate::layers::spatial::{self, PADDINGS, Window};
use crate::layers::{Args, Buffer, Io, Layer, LayerKind, ShapeError, json_list, krate};

/// A pooling layer of `rank` 1 or 2.
pub struct Pool {
    pub rank: usize,
    pub op: PoolOp,
}

struct Configured {
    kind: &'static str,
    op: PoolOp,
    window: Window,
    /// The input as a map `[height, width, channels]` (height 1 in 1-D).
    input: [usize; 3],
    /// Values per output sample.
    output_len: usize,
}

impl Pool {
    /// The kind's name: `MaxPooling2D`, ...
    fn name(&self) -> &'static str {
        match (self.op, self.rank) {
            (PoolOp::Max, 1) => "MaxPooling1D",
            (PoolOp::Max, _) => "MaxPooling2D",
            (PoolOp::Average, 1) => "AveragePooling1D",
            (PoolOp::Average, _) => "AveragePooling2D",
        }
    }
}

impl LayerKind for Pool {
    fn kind(&self) -> &'static str {
        self.name()
    }

    fn default_name(&self) -> &'static str {
        match (self.op, self.rank) {
            (PoolOp::Max, 1) => "max_pooling1d",
            (PoolOp::Max, _) => "max_pooling2d",
            (PoolOp::Average, 1) => "average_pooling1d",
            (PoolOp::Average, _) => "average_pooling2d",
        }
    }

    fn keywords(&self) -> &'static [&'static str] {
        &["pool_size", "strides", "padding"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let rank = self.rank;
        let pool_size = spatial::dims(args, rank, "pool_size", errors);
        let strides = spatial::dims(args, rank, "strides", errors);
        let padding = args.choice("padding", "padding", PADDINGS, errors);
        let pool_size = pool_size?.unwrap_or_else(|| vec![2; rank]);
        let strides = strides?.unwrap_or_else(|| pool_size.clone());
        let window = Window::new(
            "window",
            rank,
            &pool_size,
            &strides,
            &[1, 1],
            padding?.unwrap_or("valid"),
        );
        Some(Box::new(Configured {
            kind: self.name(),
            op: self.op,
            window,
            input: [0; 3],
            output_len: 0,
        }))
    }
}

impl Configured {
    /// `code` with `WINDOW` in scope.
    fn with_window(&self, code: TokenStream) -> TokenStream {
        let k = krate();
        let window = self.window.tokens(self.input);
        quote! {
            {
                const WINDOW: #k::kernels::Window2d = #window;
                #code
            }
        }
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        let pool_size = spatial::user_dims(self.window.rank, self.window.size);
        format!("{}({})", self.kind, spatial::dims_str(&pool_size))
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let map = spatial::map(self.kind, self.window.rank, input)?;
        if self.op == PoolOp::Max {
            check_indexable(self.kind, input)?;
        }
        let [height, width] = self.window.output(&self.label(), map)?;
        self.input = map;
        let output = [height, width, map[2]];
        self.output_len = output.iter().product();
        Ok(spatial::unmap(self.window.rank, output))
    }

    fn buffers(&self) -> Vec<Buffer> {
        match self.op {
            PoolOp::Max => vec![Buffer::indices(self.output_len)],
            PoolOp::Average => Vec::new(),
        }
    }

    fn config_json(&self) -> String {
        let rank = self.window.rank;
        format!(
            r#""pool_size": {}, "padding": "{}", "strides": {}, "data_format": "channels_last""#,
            json_list(&spatial::user_dims(rank, self.window.size)),
            self.window.padding(),
            json_list(&spatial::user_dims(rank, self.window.strides)),
        )
    }

    fn max_pool_window(&self) -> Option<TokenStream> {
        (self.op == PoolOp::Max).then(|| self.window.tokens(self.input))
    }

    fn forward(&self, io: &Io, _training: bool) -> TokenStream {
        let k = krate();
        let Io { n, x, y, .. } = io;
        self.with_window(match self.op {
            PoolOp::Max => {
                let argmax = &io.bufs[0];
                quote!(#k::kernels::max_pool2d_forward(&WINDOW, #n, #x, #y, #argmax);)
            }
            PoolOp::Average => quote!(#k::kernels::average_pool2d_forward(&WINDOW, #n, #x, #y);),
        })
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let Some(dx) = &io.dx else {
            return TokenStream::new();
        };
        let k = krate();
        let (n, dy) = (&io.n, &io.dy);
        self.with_window(match self.op {
            PoolOp::Max => {
                let argmax = &io.bufs_ref[0];
                quote!(#k::kernels::max_pool2d_backward(&WINDOW, #n, #dy, #argmax, #dx);)
            }
            PoolOp::Average => quote!(#k::kernels::average_pool2d_backward(&WINDOW, #n, #dy, #dx);),
        })
    }
}

/// Max pooling keeps the place of each winner as a `u32` index into its sample.
pub fn check_indexable(kind: &str, input: &[usize]) -> Result<(), ShapeError> {
    let len = input.iter().fold(1usize, |len, &d| len.saturating_mul(d));
    if u32::try_from(len).is_ok() {
        return Ok(());
    }
    Err(ShapeError::new(format!(
        "{kind} keeps the place of each maximum as a 32-bit index, but a sample of {len} values \
         has more places than that"
    ))
    .help("downsample the input before it, e.g. with a strided Conv2D"))
}
