//! `Conv1D` and `Conv2D(filters, kernel_size, strides = 1, padding = valid,
//! dilation_rate = 1, activation, use_bias = true, kernel_initializer = glorot_uniform,
//! bias_initializer = zeros)`: Keras's convolutions, channels-last, with Keras's kernel
//! layout `[kh, kw, in, filters]` (`[k, in, filters]` in 1-D). A Conv1D is a Conv2D of
//! height 1, as in the runtime.

use proc_macro2::TokenStream;
use quote::quote;
use strata_vocabulary::Activation;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::activated::{Activated, FusedActivation, activation_tokens};
use crate::layers::kernel::KernelArgs;
use crate::layers::spatial::{self, PADDINGS, Window};
use crate::layers::{
    Args, Buffer, Built, Capabilities, Config, Fused, Inputs, Io, LayerKind, Mode, Output,
    PoolsOwnOutput, ShapeError, Weight, krate, option,
};

/// Conv1D (`rank` 1) or Conv2D (`rank` 2).
pub struct Conv {
    pub rank: usize,
}

/// The im2col columns' buffer.
const COLUMNS: &str = "columns";

#[derive(Clone)]
struct ConvConfig {
    kind: &'static str,
    filters: usize,
    window: Window,
    kernel: KernelArgs,
}

struct ConvLayer {
    config: ConvConfig,
    /// The input as a map `[height, width, channels]` (height 1 in 1-D).
    input: [usize; 3],
    /// The output as a map `[height, width, filters]`.
    output: [usize; 3],
}

impl Conv {
    /// `Conv1D` or `Conv2D`.
    fn kind(&self) -> &'static str {
        if self.rank == 1 { "Conv1D" } else { "Conv2D" }
    }
}

impl LayerKind for Conv {
    fn name(&self) -> &'static str {
        self.kind()
    }

    fn default_name(&self) -> &'static str {
        if self.rank == 1 { "conv1d" } else { "conv2d" }
    }

    fn arguments(&self) -> &'static [&'static str] {
        &[
            "filters",
            "kernel_size",
            "strides",
            "padding",
            "dilation_rate",
            "activation",
            "use_bias",
            "kernel_initializer",
            "bias_initializer",
            "kernel_regularizer",
            "bias_regularizer",
            "kernel_constraint",
            "bias_constraint",
        ]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        let (kind, rank) = (self.kind(), self.rank);
        let filters = args.positive("filters", errors);
        let kernel_size = spatial::dims(args, rank, "kernel_size", errors);
        let strides = spatial::dims(args, rank, "strides", errors);
        let padding = args.choice("padding", "padding", PADDINGS, errors);
        let dilation_rate = spatial::dims(args, rank, "dilation_rate", errors);
        let kernel = KernelArgs::read(args, errors);
        let example = format!("{kind}(32, kernel_size = 3)");
        let (filters, kernel_size) = (filters?, kernel_size?);
        let Some(filters) = filters else {
            args.missing("filters", &example, errors);
            return None;
        };
        let Some(kernel_size) = kernel_size else {
            args.missing("kernel_size", &example, errors);
            return None;
        };
        let ones = vec![1; rank];
        let window = Window::new(
            "kernel",
            rank,
            &kernel_size,
            &strides?.unwrap_or_else(|| ones.clone()),
            &dilation_rate?.unwrap_or(ones),
            padding?.unwrap_or("valid"),
        );
        Some(Box::new(ConvConfig {
            kind,
            filters,
            window,
            kernel: kernel?,
        }))
    }
}

impl ConvConfig {
    fn kernel_size(&self) -> Vec<usize> {
        spatial::user_dims(self.window.rank, self.window.size)
    }
}

impl Config for ConvConfig {
    fn label(&self) -> String {
        format!(
            "{}({}, kernel_size = {})",
            self.kind,
            self.filters,
            spatial::dims_str(&self.kernel_size())
        )
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.label())?;
        let map = spatial::map(self.kind, self.window.rank, input)?;
        let [height, width] = self.window.output(&self.label(), map)?;
        Ok(Box::new(ConvLayer {
            config: self.clone(),
            input: map,
            output: [height, width, self.filters],
        }))
    }
}

impl ConvLayer {
    fn activated(&self) -> Activated {
        self.config.kernel.activated(self.config.filters)
    }

    /// The runtime's `Conv2dGeometry` as an expression.
    fn geometry(&self) -> TokenStream {
        let k = krate();
        let (window, filters) = (self.config.window.tokens(self.input), self.config.filters);
        quote!(#k::kernels::Conv2dGeometry { window: #window, filters: #filters })
    }

    fn output_len(&self) -> usize {
        self.output.iter().fold(1, |len, &d| len.saturating_mul(d))
    }

    /// `code` with `GEOMETRY` in scope.
    fn with_geometry(&self, code: TokenStream) -> TokenStream {
        let k = krate();
        let geometry = self.geometry();
        quote! {
            {
                const GEOMETRY: #k::kernels::Conv2dGeometry = #geometry;
                #code
            }
        }
    }

    /// The backward pass from `output_grad`, a `ConvOutputGrad` (after `setup`).
    fn backward_from(&self, io: &Io, setup: TokenStream, output_grad: TokenStream) -> TokenStream {
        let k = krate();
        let (n, x, columns) = (&io.n, io.x(), io.buf(COLUMNS));
        let kernel = &io.params[0];
        let dx = option(io.dx());
        let (dkernel, dbias) = (option(io.grad(0)), option(io.grad(1)));
        self.with_geometry(quote! {
            #setup
            #k::kernels::conv2d_backward_with(
                &GEOMETRY, #n, #x, #kernel, #output_grad, #dx, #dkernel, #dbias, #columns,
            );
        })
    }
}

impl Built for ConvLayer {
    fn label(&self) -> String {
        self.config.label()
    }

    fn output(&self) -> Output {
        Output::One(spatial::unmap(self.config.window.rank, self.output))
    }

    fn weights(&self) -> Vec<Weight> {
        let mut shape = self.config.kernel_size();
        shape.extend([self.input[2], self.config.filters]);
        self.config.kernel.weights(shape)
    }

    fn buffers(&self) -> Vec<Buffer> {
        let columns = self.with_geometry(quote!(GEOMETRY.columns_len(batch)));
        let mut buffers = vec![Buffer::scratch(COLUMNS, columns)];
        buffers.extend(self.activated().buffers(self.output_len()));
        buffers
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        let (window, rank) = (&self.config.window, self.config.window.rank);
        let mut config = vec![
            ("filters", Json::from(self.config.filters)),
            ("kernel_size", Json::sizes(&self.config.kernel_size())),
            (
                "strides",
                Json::sizes(&spatial::user_dims(rank, window.strides)),
            ),
            ("padding", Json::str(window.padding())),
            ("data_format", Json::str("channels_last")),
            (
                "dilation_rate",
                Json::sizes(&spatial::user_dims(rank, window.dilation)),
            ),
            ("groups", Json::from(1usize)),
        ];
        config.extend(self.config.kernel.config());
        config
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let (n, x, columns) = (&io.n, io.x(), io.buf(COLUMNS));
        let kernel = &io.params[0];
        let bias = option(io.params.get(1));
        let output_len = self.output_len();
        let y = &io.y;
        let call = match self.activated().fused(io) {
            None => quote! {
                #k::kernels::conv2d_forward(&GEOMETRY, #n, #x, #kernel, #bias, #y, #columns);
            },
            Some(FusedActivation { activation, z, .. }) => quote! {
                #k::kernels::conv2d_forward_activated(
                    &GEOMETRY, #n, #x, #kernel, #bias, (#activation, #z, #y), #columns,
                );
            },
        };
        self.with_geometry(quote! {
            const _: () = ::core::assert!(GEOMETRY.output_len() == #output_len);
            #call
        })
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let k = krate();
        let dy = &io.dy;
        let output_grad = match self.activated().fused(io) {
            None => quote!(#k::kernels::ConvOutputGrad::Linear(#dy)),
            Some(FusedActivation {
                activation,
                z_ref,
                dz,
                ..
            }) => {
                let y = &io.y_ref;
                quote! {
                    #k::kernels::ConvOutputGrad::Activated {
                        activation: #activation, z: #z_ref, y: #y, dy: #dy, dz: #dz,
                    }
                }
            }
        };
        self.backward_from(io, TokenStream::new(), output_grad)
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            pools_own_output: Some(self),
            ..Capabilities::default()
        }
    }
}

impl PoolsOwnOutput for ConvLayer {
    /// The im2col columns, not the activation's pre-activation and its gradient: only for
    /// an exact activation that never decreases, as pooling then activating equals
    /// activating then pooling, bit for bit, only for those.
    fn fused_buffers(&self) -> Option<usize> {
        matches!(
            self.config.kernel.activation,
            Activation::Relu | Activation::Linear
        )
        .then_some(1)
    }

    fn pooled(&self, io: &Io, window: &TokenStream, pool: &Io) -> Fused {
        let activation = activation_tokens(self.config.kernel.activation);
        let k = krate();
        let (n, x, columns, scratch) = (&io.n, io.x(), io.buf(COLUMNS), &io.y);
        let (kernel, bias) = (&io.params[0], option(io.params.get(1)));
        let (pooled, argmax) = (&pool.y, pool.buf("argmax"));
        let forward = self.with_geometry(quote! {
            const WINDOW: #k::kernels::Window2d = #window;
            #k::kernels::conv2d_max_pool_forward(
                &GEOMETRY, &WINDOW, #n, #x, #kernel, #bias, #activation,
                (#scratch, #pooled, #argmax), #columns,
            );
        });
        let (pooled, argmax, dpooled) = (&pool.y_ref, pool.buf_ref("argmax"), &pool.dy);
        let output_len = self.output_len();
        let output_grad = quote! {
            #k::kernels::ConvOutputGrad::MaxPooled {
                window: &WINDOW, activation: #activation, pooled: #pooled, argmax: #argmax,
                dpooled: #dpooled, scratch: #scratch, len: #n * #output_len,
            }
        };
        let backward = self.backward_from(
            io,
            quote!(const WINDOW: #k::kernels::Window2d = #window;),
            output_grad,
        );
        Fused { forward, backward }
    }
}
