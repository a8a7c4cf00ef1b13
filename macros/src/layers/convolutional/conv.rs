//! `Conv1D` and `Conv2D(filters, kernel_size, strides = 1, padding = valid,
//! dilation_rate = 1, activation, use_bias = true, kernel_initializer = glorot_uniform,
//! bias_initializer = zeros)`: Keras's convolutions, channels-last, with Keras's kernel
//! layout `[kh, kw, in, filters]` (`[k, in, filters]` in 1-D). A Conv1D is a Conv2D of
//! height 1, as in the runtime.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::activated::{Activated, Fused, activation_tokens, option};
use crate::layers::kernel::KernelArgs;
use crate::layers::spatial::{self, PADDINGS, Window};
use crate::layers::{
    Args, Buffer, Io, Layer, LayerKind, MaxPooled, ParamSpec, ShapeError, json_list, krate,
};

/// Conv1D (`rank` 1) or Conv2D (`rank` 2).
pub struct Conv {
    pub rank: usize,
}

struct Configured {
    kind: &'static str,
    filters: usize,
    window: Window,
    kernel: KernelArgs,
    /// The input as a map `[height, width, channels]` (height 1 in 1-D).
    input: [usize; 3],
    /// The output as a map `[height, width, filters]`.
    output: [usize; 3],
}

impl Conv {
    /// `Conv1D` or `Conv2D`.
    fn name(&self) -> &'static str {
        if self.rank == 1 { "Conv1D" } else { "Conv2D" }
    }
}

impl LayerKind for Conv {
    fn kind(&self) -> &'static str {
        self.name()
    }

    fn default_name(&self) -> &'static str {
        if self.rank == 1 { "conv1d" } else { "conv2d" }
    }

    fn keywords(&self) -> &'static [&'static str] {
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
        ]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let (kind, rank) = (self.name(), self.rank);
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
        Some(Box::new(Configured {
            kind,
            filters,
            window,
            kernel: kernel?,
            input: [0; 3],
            output: [0; 3],
        }))
    }
}

impl Configured {
    fn activated(&self) -> Activated {
        // After the im2col scratch.
        self.kernel.activated(self.filters, 1)
    }

    fn kernel_size(&self) -> Vec<usize> {
        spatial::user_dims(self.window.rank, self.window.size)
    }

    /// The runtime's `Conv2dGeometry` as an expression.
    fn geometry(&self) -> TokenStream {
        let k = krate();
        let (window, filters) = (self.window.tokens(self.input), self.filters);
        quote!(#k::kernels::Conv2dGeometry { window: #window, filters: #filters })
    }

    fn output_len(&self) -> usize {
        self.output.iter().product()
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
}

impl Layer for Configured {
    fn label(&self) -> String {
        format!(
            "{}({}, kernel_size = {})",
            self.kind,
            self.filters,
            spatial::dims_str(&self.kernel_size())
        )
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let map = spatial::map(self.kind, self.window.rank, input)?;
        let [height, width] = self.window.output(&self.label(), map)?;
        self.input = map;
        self.output = [height, width, self.filters];
        Ok(spatial::unmap(self.window.rank, self.output))
    }

    fn params(&self) -> Vec<ParamSpec> {
        // Keras's fans of a conv kernel: taps × input channels, taps × filters.
        let taps: usize = self.kernel_size().iter().product();
        let (inputs, filters) = (self.input[2], self.filters);
        let mut shape = self.kernel_size();
        shape.extend([inputs, filters]);
        let (fan_in, fan_out) = (taps.saturating_mul(inputs), taps.saturating_mul(filters));
        self.kernel.params(shape, fan_in, fan_out)
    }

    fn buffers(&self) -> Vec<Buffer> {
        let columns = self.with_geometry(quote!(GEOMETRY.columns_len(batch)));
        let mut buffers = vec![Buffer::scratch(columns)];
        buffers.extend(self.activated().buffers(self.output_len()));
        buffers
    }

    fn config_json(&self) -> String {
        let rank = self.window.rank;
        format!(
            r#""filters": {}, "kernel_size": {}, "strides": {}, "padding": "{}", "data_format": "channels_last", "dilation_rate": {}, "groups": 1, {}"#,
            self.filters,
            json_list(&self.kernel_size()),
            json_list(&spatial::user_dims(rank, self.window.strides)),
            self.window.padding(),
            json_list(&spatial::user_dims(rank, self.window.dilation)),
            self.kernel.config_json()
        )
    }

    fn forward(&self, io: &Io, _training: bool) -> TokenStream {
        let k = krate();
        let (n, x, columns) = (&io.n, &io.x, &io.bufs[0]);
        let kernel = &io.params[0];
        let bias = option(io.params.get(1));
        let output_len = self.output_len();
        let y = &io.y;
        let call = match self.activated().fused(io) {
            None => quote! {
                #k::kernels::conv2d_forward(&GEOMETRY, #n, #x, #kernel, #bias, #y, #columns);
            },
            Some(Fused { activation, z, .. }) => quote! {
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

    fn max_pooled(&self, io: &Io, window: &TokenStream, pool: &Io) -> Option<MaxPooled> {
        // Pooling then activating equals activating then pooling, bit for bit, only for an
        // exact activation that never decreases.
        let activation = match self.activated().activation {
            "relu" => activation_tokens("relu"),
            "linear" => activation_tokens("linear"),
            _ => return None,
        };
        let k = krate();
        let (n, x, columns, scratch) = (&io.n, &io.x, &io.bufs[0], &io.y);
        let (kernel, bias) = (&io.params[0], option(io.params.get(1)));
        let (pooled, argmax) = (&pool.y, &pool.bufs[0]);
        let forward = self.with_geometry(quote! {
            const WINDOW: #k::kernels::Window2d = #window;
            #k::kernels::conv2d_max_pool_forward(
                &GEOMETRY, &WINDOW, #n, #x, #kernel, #bias, #activation,
                (#scratch, #pooled, #argmax), #columns,
            );
        });
        let (pooled, argmax, dpooled) = (&pool.y_ref, &pool.bufs_ref[0], &pool.dy);
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
        // The im2col columns; not the activation's pre-activation and its gradient.
        Some(MaxPooled {
            forward,
            backward,
            buffers: 1,
        })
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let k = krate();
        let dy = &io.dy;
        let output_grad = match self.activated().fused(io) {
            None => quote!(#k::kernels::ConvOutputGrad::Linear(#dy)),
            Some(Fused {
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
}

impl Configured {
    /// The backward pass from `output_grad`, a `ConvOutputGrad` (after `setup`).
    fn backward_from(&self, io: &Io, setup: TokenStream, output_grad: TokenStream) -> TokenStream {
        let k = krate();
        let (n, x, columns) = (&io.n, &io.x, &io.bufs[0]);
        let kernel = &io.params[0];
        let dx = option(io.dx.as_ref());
        let dkernel = option(io.grads[0].as_ref());
        let dbias = option(io.grads.get(1).and_then(Option::as_ref));
        self.with_geometry(quote! {
            #setup
            #k::kernels::conv2d_backward_with(
                &GEOMETRY, #n, #x, #kernel, #output_grad, #dx, #dkernel, #dbias, #columns,
            );
        })
    }
}
