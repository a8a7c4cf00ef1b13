//! `DepthwiseConv1D` and `DepthwiseConv2D(kernel_size, strides = 1, padding = valid,
//! depth_multiplier = 1, dilation_rate = 1, activation, use_bias = true,
//! depthwise_initializer = glorot_uniform, bias_initializer = zeros)`: Keras's depthwise
//! convolutions, channels-last: input channel `c` convolved with its own
//! `depth_multiplier` filters into output channels `c·depth_multiplier + m`, with Keras's
//! kernel `[kh, kw, in, depth_multiplier]` (`[k, in, depth_multiplier]` in 1-D). A 1-D
//! layer is a 2-D one of height 1, as in the runtime.
//!
//! [`DepthwisePart`] is also the first half of `SeparableConv1D`/`SeparableConv2D`.

use proc_macro2::TokenStream;
use quote::quote;
use strata_vocabulary::{Activation, Initializer};

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::activated::Activated;
use crate::layers::penalties::{self, Held};
use crate::layers::spatial::{self, PADDINGS, Window};
use crate::layers::{
    Args, Buffer, Built, Config, Inputs, Io, LayerKind, Mode, Output, ShapeError, Weight, krate,
    option,
};

/// DepthwiseConv1D (`rank` 1) or DepthwiseConv2D (`rank` 2).
pub struct Depthwise {
    pub rank: usize,
}

/// What a depthwise and a separable convolution share, as configured: the window and the
/// depth multiplier.
#[derive(Clone)]
pub(super) struct DepthwiseArgs {
    /// `DepthwiseConv2D`, `SeparableConv1D`, ...
    pub kind: &'static str,
    pub window: Window,
    pub depth_multiplier: usize,
}

/// What they share once built: the maps, the depthwise kernel and the runtime's
/// `DepthwiseGeometry`.
pub(super) struct DepthwisePart {
    pub args: DepthwiseArgs,
    /// The input as a map `[height, width, channels]` (height 1 in 1-D).
    pub input: [usize; 3],
    /// The depthwise output as a map `[height, width, channels · depth_multiplier]`.
    pub output: [usize; 3],
}

impl DepthwiseArgs {
    /// Reads `kernel_size`, `strides`, `padding`, `dilation_rate` and `depth_multiplier`;
    /// `None` when any is wrong or `kernel_size` is missing (`example` shows it).
    pub fn read(
        kind: &'static str,
        rank: usize,
        args: &Args,
        example: &str,
        errors: &mut Errors,
    ) -> Option<Option<Self>> {
        let kernel_size = spatial::dims(args, rank, "kernel_size", errors);
        let strides = spatial::dims(args, rank, "strides", errors);
        let padding = args.choice("padding", "padding", PADDINGS, errors);
        let dilation_rate = spatial::dims(args, rank, "dilation_rate", errors);
        let depth_multiplier = args.positive("depth_multiplier", errors);
        let Some(kernel_size) = kernel_size? else {
            args.missing("kernel_size", example, errors);
            return Some(None);
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
        Some(Some(DepthwiseArgs {
            kind,
            window,
            depth_multiplier: depth_multiplier?.unwrap_or(1),
        }))
    }

    /// The kernel size as the user wrote it.
    pub fn kernel_size(&self) -> Vec<usize> {
        spatial::user_dims(self.window.rank, self.window.size)
    }

    /// `, depth_multiplier = 2` in a label, nothing for 1.
    pub fn multiplier_label(&self) -> String {
        match self.depth_multiplier {
            1 => String::new(),
            m => format!(", depth_multiplier = {m}"),
        }
    }

    /// Reads `input` as a map and sizes the depthwise output (`label` names the layer in
    /// errors).
    pub fn build(&self, label: &str, input: &[usize]) -> Result<DepthwisePart, ShapeError> {
        let map = spatial::map(self.kind, self.window.rank, input)?;
        let [height, width] = self.window.output(label, map)?;
        Ok(DepthwisePart {
            args: self.clone(),
            input: map,
            output: [height, width, map[2].saturating_mul(self.depth_multiplier)],
        })
    }

    /// The window's config members: `kernel_size` to `dilation_rate`, as Keras lists them.
    pub fn config(&self) -> Vec<(&'static str, Json)> {
        let rank = self.window.rank;
        vec![
            ("kernel_size", Json::sizes(&self.kernel_size())),
            (
                "strides",
                Json::sizes(&spatial::user_dims(rank, self.window.strides)),
            ),
            ("padding", Json::str(self.window.padding())),
            ("data_format", Json::str("channels_last")),
            (
                "dilation_rate",
                Json::sizes(&spatial::user_dims(rank, self.window.dilation)),
            ),
        ]
    }
}

impl DepthwisePart {
    /// Values per sample of the depthwise output.
    pub fn output_len(&self) -> usize {
        self.output.iter().fold(1, |len, &d| len.saturating_mul(d))
    }

    /// Output positions per sample.
    pub fn positions(&self) -> usize {
        self.output[0].saturating_mul(self.output[1])
    }

    /// Channels of the depthwise output.
    pub fn channels(&self) -> usize {
        self.output[2]
    }

    /// `depthwise_kernel`, `[..kernel_size, in, depth_multiplier]`, with Keras's fans.
    pub fn kernel(&self, initializer: Initializer) -> Weight {
        let mut shape = self.args.kernel_size();
        shape.extend([self.input[2], self.args.depth_multiplier]);
        Weight::new("depthwise_kernel", shape, initializer)
    }

    /// `code` with `GEOMETRY`, the runtime's `DepthwiseGeometry`, in scope, checked
    /// against the output the macro inferred.
    pub fn with_geometry(&self, code: TokenStream) -> TokenStream {
        let k = krate();
        let window = self.args.window.tokens(self.input);
        let multiplier = self.args.depth_multiplier;
        let output_len = self.output_len();
        quote! {
            {
                const GEOMETRY: #k::kernels::DepthwiseGeometry = #k::kernels::DepthwiseGeometry {
                    window: #window,
                    depth_multiplier: #multiplier,
                };
                const _: () = ::core::assert!(GEOMETRY.output_len() == #output_len);
                #code
            }
        }
    }
}

/// The arguments `activation`, `use_bias`, `bias_initializer`, with Keras's defaults.
#[derive(Clone)]
pub(super) struct BiasArgs {
    pub activation: Activation,
    pub use_bias: bool,
    pub bias_initializer: Initializer,
    pub bias: Held,
}

impl BiasArgs {
    pub fn read(args: &Args, errors: &mut Errors) -> Option<Self> {
        let activation = args.activation("activation", errors);
        let use_bias = args.boolean("use_bias", errors);
        let bias_initializer = args.initializer("bias_initializer", errors);
        let bias = Held::read(args, "bias_regularizer", "bias_constraint", errors);
        Some(BiasArgs {
            bias: bias?,
            activation: activation?.unwrap_or(Activation::Linear),
            use_bias: use_bias?.unwrap_or(true),
            bias_initializer: bias_initializer?.unwrap_or(Initializer::Zeros),
        })
    }

    /// The bias of `len` values when `use_bias`, with the fans of the kernel before it.
    pub fn bias(&self, len: usize, kernel: &Weight) -> Option<Weight> {
        self.use_bias.then(|| {
            let bias = Weight::new("bias", vec![len], self.bias_initializer);
            self.bias.hold(bias.fans(kernel.fan_in, kernel.fan_out))
        })
    }

    /// `activation`, `use_bias` and their config members around the kernels'
    /// `initializers` and `held` (their regularizers and constraints), as Keras lists
    /// them.
    pub fn config(
        &self,
        initializers: &[(&'static str, Initializer)],
        held: &[&Held],
    ) -> Vec<(&'static str, Json)> {
        let mut config = vec![
            ("activation", Json::str(self.activation.name())),
            ("use_bias", Json::Bool(self.use_bias)),
        ];
        config.extend(initializers.iter().map(|&(k, i)| (k, Json::str(i.name()))));
        config.push(("bias_initializer", Json::str(self.bias_initializer.name())));
        let held: Vec<&Held> = held.iter().copied().chain([&self.bias]).collect();
        config.extend(penalties::config(&held));
        config
    }
}

/// `depthwise_initializer` (or another initializer argument), `glorot_uniform` by default.
pub(super) fn initializer(args: &Args, keyword: &str, errors: &mut Errors) -> Option<Initializer> {
    Some(
        args.initializer(keyword, errors)?
            .unwrap_or(Initializer::GlorotUniform),
    )
}

#[derive(Clone)]
struct DepthwiseConfig {
    args: DepthwiseArgs,
    bias: BiasArgs,
    depthwise_initializer: Initializer,
    depthwise: Held,
}

struct DepthwiseLayer {
    part: DepthwisePart,
    config: DepthwiseConfig,
}

impl Depthwise {
    /// `DepthwiseConv1D` or `DepthwiseConv2D`.
    fn kind(&self) -> &'static str {
        if self.rank == 1 {
            "DepthwiseConv1D"
        } else {
            "DepthwiseConv2D"
        }
    }
}

impl LayerKind for Depthwise {
    fn name(&self) -> &'static str {
        self.kind()
    }

    fn default_name(&self) -> &'static str {
        if self.rank == 1 {
            "depthwise_conv1d"
        } else {
            "depthwise_conv2d"
        }
    }

    fn arguments(&self) -> &'static [&'static str] {
        &[
            "kernel_size",
            "strides",
            "padding",
            "depth_multiplier",
            "dilation_rate",
            "activation",
            "use_bias",
            "depthwise_initializer",
            "bias_initializer",
            "depthwise_regularizer",
            "bias_regularizer",
            "depthwise_constraint",
            "bias_constraint",
        ]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        let kind = self.kind();
        let example = format!("{kind}(kernel_size = 3)");
        let part = DepthwiseArgs::read(kind, self.rank, args, &example, errors);
        let bias = BiasArgs::read(args, errors);
        let depthwise_initializer = initializer(args, "depthwise_initializer", errors);
        let depthwise = Held::read(
            args,
            "depthwise_regularizer",
            "depthwise_constraint",
            errors,
        );
        Some(Box::new(DepthwiseConfig {
            args: part??,
            bias: bias?,
            depthwise_initializer: depthwise_initializer?,
            depthwise: depthwise?,
        }))
    }
}

impl Config for DepthwiseConfig {
    fn label(&self) -> String {
        format!(
            "{}(kernel_size = {}{})",
            self.args.kind,
            spatial::dims_str(&self.args.kernel_size()),
            self.args.multiplier_label()
        )
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let label = self.label();
        let part = self.args.build(&label, inputs.single(&label)?)?;
        Ok(Box::new(DepthwiseLayer {
            part,
            config: self.clone(),
        }))
    }
}

impl DepthwiseLayer {
    fn activated(&self) -> Activated {
        Activated {
            activation: self.config.bias.activation,
            row_len: self.part.channels(),
        }
    }
}

impl Built for DepthwiseLayer {
    fn label(&self) -> String {
        self.config.label()
    }

    fn output(&self) -> Output {
        Output::One(spatial::unmap(self.part.args.window.rank, self.part.output))
    }

    fn weights(&self) -> Vec<Weight> {
        let kernel = self.part.kernel(self.config.depthwise_initializer);
        let bias = self.config.bias.bias(self.part.channels(), &kernel);
        let kernel = self.config.depthwise.hold(kernel);
        std::iter::once(kernel).chain(bias).collect()
    }

    fn buffers(&self) -> Vec<Buffer> {
        self.activated().buffers(self.part.output_len())
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        let mut config = vec![(
            "depth_multiplier",
            Json::from(self.part.args.depth_multiplier),
        )];
        config.extend(self.part.args.config());
        let initializers = [("depthwise_initializer", self.config.depthwise_initializer)];
        config.extend(
            self.config
                .bias
                .config(&initializers, &[&self.config.depthwise]),
        );
        config
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let (n, x, kernel) = (&io.n, io.x(), &io.params[0]);
        let bias = option(io.params.get(1));
        self.activated().forward(io, |z| {
            self.part.with_geometry(quote! {
                #k::kernels::depthwise_conv2d_forward(&GEOMETRY, #n, #x, #kernel, #bias, #z);
            })
        })
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let k = krate();
        let (n, x, kernel) = (&io.n, io.x(), &io.params[0]);
        let dx = option(io.dx());
        let (dkernel, dbias) = (option(io.grad(0)), option(io.grad(1)));
        self.activated().backward(io, |dz| {
            self.part.with_geometry(quote! {
                #k::kernels::depthwise_conv2d_backward(
                    &GEOMETRY, #n, #x, #kernel, #dz, #dx, #dkernel, #dbias,
                );
            })
        })
    }
}
