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
use strata_vocabulary::Initializer;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::activated::Activated;
use crate::layers::convolutional::depthwise::{
    BiasArgs, DepthwiseArgs, DepthwisePart, initializer,
};
use crate::layers::penalties::Held;
use crate::layers::spatial;
use crate::layers::{
    Args, Buffer, Built, Config, Inputs, Io, LayerKind, Mode, Output, ShapeError, Weight, krate,
    option,
};

/// SeparableConv1D (`rank` 1) or SeparableConv2D (`rank` 2).
pub struct Separable {
    pub rank: usize,
}

/// The depthwise output's buffer, and its gradient's.
const DEPTHWISE: &str = "depthwise";
const DEPTHWISE_GRAD: &str = "depthwise_grad";

#[derive(Clone)]
struct SeparableConfig {
    filters: usize,
    args: DepthwiseArgs,
    bias: BiasArgs,
    depthwise_initializer: Initializer,
    pointwise_initializer: Initializer,
    depthwise: Held,
    pointwise: Held,
}

struct SeparableLayer {
    config: SeparableConfig,
    part: DepthwisePart,
}

impl Separable {
    /// `SeparableConv1D` or `SeparableConv2D`.
    fn kind(&self) -> &'static str {
        if self.rank == 1 {
            "SeparableConv1D"
        } else {
            "SeparableConv2D"
        }
    }
}

impl LayerKind for Separable {
    fn name(&self) -> &'static str {
        self.kind()
    }

    fn default_name(&self) -> &'static str {
        if self.rank == 1 {
            "separable_conv1d"
        } else {
            "separable_conv2d"
        }
    }

    fn arguments(&self) -> &'static [&'static str] {
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
            "depthwise_regularizer",
            "pointwise_regularizer",
            "bias_regularizer",
            "depthwise_constraint",
            "pointwise_constraint",
            "bias_constraint",
        ]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        let kind = self.kind();
        let example = format!("{kind}(32, kernel_size = 3)");
        let filters = args.positive("filters", errors);
        let part = DepthwiseArgs::read(kind, self.rank, args, &example, errors);
        let bias = BiasArgs::read(args, errors);
        let depthwise_initializer = initializer(args, "depthwise_initializer", errors);
        let pointwise_initializer = initializer(args, "pointwise_initializer", errors);
        let depthwise = Held::read(
            args,
            "depthwise_regularizer",
            "depthwise_constraint",
            errors,
        );
        let pointwise = Held::read(
            args,
            "pointwise_regularizer",
            "pointwise_constraint",
            errors,
        );
        let Some(filters) = filters? else {
            args.missing("filters", &example, errors);
            return None;
        };
        Some(Box::new(SeparableConfig {
            filters,
            args: part??,
            bias: bias?,
            depthwise_initializer: depthwise_initializer?,
            pointwise_initializer: pointwise_initializer?,
            depthwise: depthwise?,
            pointwise: pointwise?,
        }))
    }
}

impl Config for SeparableConfig {
    fn label(&self) -> String {
        format!(
            "{}({}, kernel_size = {}{})",
            self.args.kind,
            self.filters,
            spatial::dims_str(&self.args.kernel_size()),
            self.args.multiplier_label()
        )
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let label = self.label();
        let part = self.args.build(&label, inputs.single(&label)?)?;
        Ok(Box::new(SeparableLayer {
            config: self.clone(),
            part,
        }))
    }
}

impl SeparableLayer {
    fn activated(&self) -> Activated {
        Activated {
            activation: self.config.bias.activation,
            row_len: self.config.filters,
        }
    }

    fn output_len(&self) -> usize {
        self.part.positions().saturating_mul(self.config.filters)
    }

    /// `pointwise_kernel`, `[1, (1,) in · depth_multiplier, filters]`, with Keras's fans.
    fn pointwise_kernel(&self) -> Weight {
        let mut shape = vec![1; self.part.args.window.rank];
        shape.extend([self.part.channels(), self.config.filters]);
        Weight::new("pointwise_kernel", shape, self.config.pointwise_initializer)
    }
}

impl Built for SeparableLayer {
    fn label(&self) -> String {
        self.config.label()
    }

    fn output(&self) -> Output {
        let [height, width, _] = self.part.output;
        let rank = self.part.args.window.rank;
        Output::One(spatial::unmap(rank, [height, width, self.config.filters]))
    }

    fn weights(&self) -> Vec<Weight> {
        let depthwise = self.part.kernel(self.config.depthwise_initializer);
        let pointwise = self.pointwise_kernel();
        let bias = self.config.bias.bias(self.config.filters, &pointwise);
        let held = [
            self.config.depthwise.hold(depthwise),
            self.config.pointwise.hold(pointwise),
        ];
        held.into_iter().chain(bias).collect()
    }

    fn buffers(&self) -> Vec<Buffer> {
        let depthwise = self.part.output_len();
        let mut buffers = vec![
            Buffer::floats(DEPTHWISE, depthwise),
            Buffer::floats(DEPTHWISE_GRAD, depthwise),
        ];
        buffers.extend(self.activated().buffers(self.output_len()));
        buffers
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        let mut config = vec![
            (
                "depth_multiplier",
                Json::from(self.part.args.depth_multiplier),
            ),
            ("filters", Json::from(self.config.filters)),
        ];
        config.extend(self.part.args.config());
        let initializers = [
            ("depthwise_initializer", self.config.depthwise_initializer),
            ("pointwise_initializer", self.config.pointwise_initializer),
        ];
        let held = [&self.config.depthwise, &self.config.pointwise];
        config.extend(self.config.bias.config(&initializers, &held));
        config
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let (n, x) = (&io.n, io.x());
        let (depthwise, pointwise) = (&io.params[0], &io.params[1]);
        let bias = option(io.params.get(2));
        let (d, d_ref) = (io.buf(DEPTHWISE), io.buf_ref(DEPTHWISE));
        let (rows, channels) = (self.part.positions(), self.part.channels());
        let filters = self.config.filters;
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
        let (n, x) = (&io.n, io.x());
        let (depthwise, pointwise) = (&io.params[0], &io.params[1]);
        let d_ref = io.buf_ref(DEPTHWISE);
        let (dd, dd_ref) = (io.buf(DEPTHWISE_GRAD), io.buf_ref(DEPTHWISE_GRAD));
        let (rows, channels) = (self.part.positions(), self.part.channels());
        let filters = self.config.filters;
        let (dx, ddepthwise) = (io.dx(), io.grad(0));
        let (dpointwise, dbias) = (option(io.grad(1)), option(io.grad(2)));
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
