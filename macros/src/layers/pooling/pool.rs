//! `MaxPooling1D/2D` and `AveragePooling1D/2D(pool_size = 2, strides = pool_size,
//! padding = valid)`: Keras's pooling, channels-last. Max pooling keeps the place of each
//! window's winner (a `u32` per output value) for the backward pass.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::pooling::{ARGMAX, PoolOp, check_indexable};
use crate::layers::spatial::{self, PADDINGS, Window};
use crate::layers::{
    Args, Buffer, Built, Capabilities, Config, Inputs, Io, LayerKind, MaxPool, Mode, Output,
    ShapeError, krate,
};

/// A pooling layer of `rank` 1 or 2.
pub struct Pool {
    pub rank: usize,
    pub op: PoolOp,
}

#[derive(Clone)]
struct PoolConfig {
    kind: &'static str,
    op: PoolOp,
    window: Window,
}

struct PoolLayer {
    config: PoolConfig,
    /// The input as a map `[height, width, channels]` (height 1 in 1-D).
    input: [usize; 3],
    /// The output as a map.
    output: [usize; 3],
}

impl Pool {
    /// The kind's name: `MaxPooling2D`, ...
    fn kind(&self) -> &'static str {
        match (self.op, self.rank) {
            (PoolOp::Max, 1) => "MaxPooling1D",
            (PoolOp::Max, _) => "MaxPooling2D",
            (PoolOp::Average, 1) => "AveragePooling1D",
            (PoolOp::Average, _) => "AveragePooling2D",
        }
    }
}

impl LayerKind for Pool {
    fn name(&self) -> &'static str {
        self.kind()
    }

    fn default_name(&self) -> &'static str {
        match (self.op, self.rank) {
            (PoolOp::Max, 1) => "max_pooling1d",
            (PoolOp::Max, _) => "max_pooling2d",
            (PoolOp::Average, 1) => "average_pooling1d",
            (PoolOp::Average, _) => "average_pooling2d",
        }
    }

    fn arguments(&self) -> &'static [&'static str] {
        &["pool_size", "strides", "padding"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
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
        Some(Box::new(PoolConfig {
            kind: self.kind(),
            op: self.op,
            window,
        }))
    }
}

impl Config for PoolConfig {
    fn label(&self) -> String {
        let pool_size = spatial::user_dims(self.window.rank, self.window.size);
        format!("{}({})", self.kind, spatial::dims_str(&pool_size))
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.label())?;
        let map = spatial::map(self.kind, self.window.rank, input)?;
        if self.op == PoolOp::Max {
            check_indexable(self.kind, input)?;
        }
        let [height, width] = self.window.output(&self.label(), map)?;
        Ok(Box::new(PoolLayer {
            config: self.clone(),
            input: map,
            output: [height, width, map[2]],
        }))
    }
}

impl PoolLayer {
    /// `code` with `WINDOW` in scope.
    fn with_window(&self, code: TokenStream) -> TokenStream {
        let k = krate();
        let window = self.window();
        quote! {
            {
                const WINDOW: #k::kernels::Window2d = #window;
                #code
            }
        }
    }
}

impl Built for PoolLayer {
    fn label(&self) -> String {
        self.config.label()
    }

    fn output(&self) -> Output {
        Output::One(spatial::unmap(self.config.window.rank, self.output))
    }

    fn buffers(&self) -> Vec<Buffer> {
        let len = self
            .output
            .iter()
            .fold(1, |len: usize, &d| len.saturating_mul(d));
        match self.config.op {
            PoolOp::Max => vec![Buffer::indices(ARGMAX, len)],
            PoolOp::Average => Vec::new(),
        }
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        let (window, rank) = (&self.config.window, self.config.window.rank);
        vec![
            (
                "pool_size",
                Json::sizes(&spatial::user_dims(rank, window.size)),
            ),
            ("padding", Json::str(window.padding())),
            (
                "strides",
                Json::sizes(&spatial::user_dims(rank, window.strides)),
            ),
            ("data_format", Json::str("channels_last")),
        ]
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let (n, x, y) = (&io.n, io.x(), &io.y);
        self.with_window(match self.config.op {
            PoolOp::Max => {
                let argmax = io.buf(ARGMAX);
                quote!(#k::kernels::max_pool2d_forward(&WINDOW, #n, #x, #y, #argmax);)
            }
            PoolOp::Average => quote!(#k::kernels::average_pool2d_forward(&WINDOW, #n, #x, #y);),
        })
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let Some(dx) = io.dx() else {
            return TokenStream::new();
        };
        let k = krate();
        let (n, dy) = (&io.n, &io.dy);
        self.with_window(match self.config.op {
            PoolOp::Max => {
                let argmax = io.buf_ref(ARGMAX);
                quote!(#k::kernels::max_pool2d_backward(&WINDOW, #n, #dy, #argmax, #dx);)
            }
            PoolOp::Average => quote!(#k::kernels::average_pool2d_backward(&WINDOW, #n, #dy, #dx);),
        })
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            max_pool: (self.config.op == PoolOp::Max).then_some(self as &dyn MaxPool),
            ..Capabilities::default()
        }
    }
}

impl MaxPool for PoolLayer {
    fn window(&self) -> TokenStream {
        self.config.window.tokens(self.input)
    }
}
