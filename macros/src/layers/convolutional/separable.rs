//! `SeparableConv1D` and `SeparableConv2D(filters, kernel_size, strides = 1,
//! padding = valid, dilation_rate = 1, depth_multiplier = 1, activation, use_bias = true,
//! depthwise_initializer = glorot_uniform, pointwise_initializer = glorot_uniform,
//! bias_initializer = zeros)`: Keras's separable convolutions, a depthwise convolution
//! without bias, then a 1×1 convolution to `filters` channels, then the bias and the
//! activation. Keras's weights: `depthwise_kernel` `[kh, kw, in, depth_multiplier]`,
//! `pointwise_kernel` `[1, 1, in · depth_multiplier, filters]`, `bias` `[filters]`.
//!
//! Over channels-last maps the 1×1 convolution is a Dense layer on the last axis: every
//! output position's channels times the pointwise kernel as an `[in · dm, filters]`
//! matrix, one matrix product for the batch.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::activated::{Activated, option};
use crate::layers::convolutional::depthwise::{BiasArgs, DepthwisePart, initializer};
use crate::layers::kernel::fans;
use crate::layers::spatial;
use crate::layers::{Args, Buffer, Io, Layer, LayerKind, ParamSpec, ShapeError, krate};

/// SeparableConv1D (`rank` 1) or SeparableConv2D (`rank` 2).
pub struct Separable {
    pub rank: usize,
}

struct Configured {
    filters: usize,
    part: DepthwisePart,
    bias: BiasArgs,
    depthwise_initializer: &'static str,
    pointwise_initializer: &'static str,
}

impl Separable {
    /// `SeparableConv1D` or `SeparableConv2D`.
    fn name(&self) -> &'static str {
        if self.rank == 1 {
            "SeparableConv1D"
        } else {
            "SeparableConv2D"
        }
    }
}

impl LayerKind for Separable {
    fn kind(&self) -> &'static str {
        self.name()
    }

    fn default_name(&self) -> &'static str {
        if self.rank == 1 {
            "separable_conv1d"
        } else {
            "separable_conv2d"
        }
    }

    fn keywords(&self) -> &'static [&'static str] {
        &[
            "filters",
            "kernel_size",
            "strides",
            "padding",
            "dilation_rate",
            "depth_multiplier",
            "activation",
            "use_bias",
            "depthwise_initializer",
            "pointwise_initializer",
            "bias_initializer",
        ]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let kind = self.name();
        let example = format!("{kind}(32, kernel_size = 3)");
        let filters = args.positive("filters", errors);
        let part = DepthwisePart::read(kind, self.rank, args, &example, errors);
        let bias = BiasArgs::read(args, errors);
        let depthwise_initializer = initializer(args, "depthwise_initializer", errors);
        let pointwise_initializer = initializer(args, "pointwise_initializer", errors);
        let Some(filters) = filters? else {
            args.missing("filters", &example, errors);
            return None;
        };
        Some(Box::new(Configured {
            filters,
            part: part??,
            bias: bias?,
            depthwise_initializer: depthwise_initializer?,
            pointwise_initializer: pointwise_initializer?,
        }))
    }
}

impl Configured {
    /// After the depthwise output and its gradient.
    fn activated(&self) -> Activated {
        Activated {
            activation: self.bias.activation,
            row_len: self.filters,
            first_buffer: 2,
        }
    }

    fn output_len(&self) -> usize {
        self.part.positions() * self.filters
    }

    /// `pointwise_kernel`, `[1, (1,) in · depth_multiplier, filters]`, with Keras's fans.
    fn pointwise_kernel(&self) -> ParamSpec {
        let mut shape = vec![1; self.part.window.rank];
        shape.extend([self.part.channels(), self.filters]);
        let (fan_in, fan_out) = fans(&shape);
        ParamSpec {
            suffix: "pointwise_kernel".into(),
            shape,
            initializer: self.pointwise_initializer,
            fan_in,
            fan_out,
            trainable: true,
        }
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        let part = &self.part;
        format!(
            "{}({}, kernel_size = {}{})",
            part.kind,
            self.filters,
            spatial::dims_str(&part.kernel_size()),
            part.multiplier_label()
        )
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let label = self.label();
        self.part.infer(&label, input)?;
        let [height, width, _] = self.part.output;
        Ok(spatial::unmap(
            self.part.window.rank,
            [height, width, self.filters],
        ))
    }

    fn params(&self) -> Vec<ParamSpec> {
        let depthwise = self.part.kernel(self.depthwise_initializer);
        let pointwise = self.pointwise_kernel();
        let bias = self.bias.bias(self.filters, &pointwise);
        [depthwise, pointwise].into_iter().chain(bias).collect()
    }

    fn buffers(&self) -> Vec<Buffer> {
        // The depthwise output and its gradient, then the activation's.
        let depthwise = self.part.output_len();
        let mut buffers = vec![Buffer::floats(depthwise), Buffer::floats(depthwise)];
        buffers.extend(self.activated().buffers(self.output_len()));
        buffers
    }

    fn config_json(&self) -> String {
        let bias = &self.bias;
        format!(
            r#""depth_multiplier": {}, "filters": {}, {}, "activation": "{}", "use_bias": {}, "depthwise_initializer": "{}", "pointwise_initializer": "{}", "bias_initializer": "{}""#,
            self.part.depth_multiplier,
            self.filters,
            self.part.config_json(),
            bias.activation,
            bias.use_bias,
            self.depthwise_initializer,
            self.pointwise_initializer,
            bias.bias_initializer
        )
    }

    fn forward(&self, io: &Io, _training: bool) -> TokenStream {
        let k = krate();
        let (n, x) = (&io.n, &io.x);
        let (depthwise, pointwise) = (&io.params[0], &io.params[1]);
        let bias = option(io.params.get(2));
        let (d, d_ref) = (&io.bufs[0], &io.bufs_ref[0]);
        let (rows, channels, filters) = (self.part.positions(), self.part.channels(), self.filters);
        self.activated().forward(io, |z| {
            self.part.with_geometry(quote! {
                #k::kernels::depthwise_conv2d_forward(
                    &GEOMETRY, #n, #x, #depthwise, ::core::option::Option::None, #d,
                );
                #k::kernels::dense_forward(
                    #d_ref, #pointwise, #bias, #z, #n * #rows, #channels, #filters,
                );
            })
        })
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let k = krate();
        let (n, x) = (&io.n, &io.x);
        let (depthwise, pointwise) = (&io.params[0], &io.params[1]);
        let (d_ref, dd, dd_ref) = (&io.bufs_ref[0], &io.bufs[1], &io.bufs_ref[1]);
        let (rows, channels, filters) = (self.part.positions(), self.part.channels(), self.filters);
        let dx = io.dx.as_ref();
        let ddepthwise = io.grads[0].as_ref();
        let dpointwise = option(io.grads[1].as_ref());
        let dbias = option(io.grads.get(2).and_then(Option::as_ref));
        // The depthwise output's gradient only when the input or the depthwise kernel
        // needs it.
        let depthwise_needed = dx.is_some() || ddepthwise.is_some();
        let dd_arg = option(depthwise_needed.then_some(dd));
        let depthwise_backward = depthwise_needed.then(|| {
            let (dx, ddepthwise) = (option(dx), option(ddepthwise));
            quote! {
                #k::kernels::depthwise_conv2d_backward(
                    &GEOMETRY, #n, #x, #depthwise, #dd_ref, #dx, #ddepthwise,
                    ::core::option::Option::None,
                );
            }
        });
        self.activated().backward(io, |dz| {
            self.part.with_geometry(quote! {
                #k::kernels::dense_backward(
                    #d_ref, #pointwise, #dz, #dd_arg, #dpointwise, #dbias,
                    #n * #rows, #channels, #filters,
                );
                #depthwise_backward
            })
        })
    }
}
