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

use crate::errors::Errors;
use crate::layers::activated::{Activated, option};
use crate::layers::kernel::fans;
use crate::layers::spatial::{self, PADDINGS, Window};
use crate::layers::{Args, Buffer, Io, Layer, LayerKind, ParamSpec, ShapeError, json_list, krate};

/// DepthwiseConv1D (`rank` 1) or DepthwiseConv2D (`rank` 2).
pub struct Depthwise {
    pub rank: usize,
}

/// What a depthwise and a separable convolution share: the window, the depth multiplier,
/// the depthwise kernel and the runtime's `DepthwiseGeometry`.
pub(super) struct DepthwisePart {
    /// `DepthwiseConv2D`, `SeparableConv1D`, ...
    pub kind: &'static str,
    pub window: Window,
    pub depth_multiplier: usize,
    /// The input as a map `[height, width, channels]` (height 1 in 1-D).
    pub input: [usize; 3],
    /// The depthwise output as a map `[height, width, channels · depth_multiplier]`.
    pub output: [usize; 3],
}

impl DepthwisePart {
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
        Some(Some(DepthwisePart {
            kind,
            window,
            depth_multiplier: depth_multiplier?.unwrap_or(1),
            input: [0; 3],
            output: [0; 3],
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
    pub fn infer(&mut self, label: &str, input: &[usize]) -> Result<(), ShapeError> {
        let map = spatial::map(self.kind, self.window.rank, input)?;
        let [height, width] = self.window.output(label, map)?;
        self.input = map;
        self.output = [height, width, map[2].saturating_mul(self.depth_multiplier)];
        Ok(())
    }

    /// Values per sample of the depthwise output.
    pub fn output_len(&self) -> usize {
        self.output.iter().product()
    }

    /// Output positions per sample.
    pub fn positions(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// Channels of the depthwise output.
    pub fn channels(&self) -> usize {
        self.output[2]
    }

    /// `depthwise_kernel`, `[..kernel_size, in, depth_multiplier]`, with Keras's fans.
    pub fn kernel(&self, initializer: &'static str) -> ParamSpec {
        let mut shape = self.kernel_size();
        shape.extend([self.input[2], self.depth_multiplier]);
        let (fan_in, fan_out) = fans(&shape);
        ParamSpec {
            suffix: "depthwise_kernel".into(),
            shape,
            initializer,
            fan_in,
            fan_out,
            trainable: true,
        }
    }

    /// The window's config members: `kernel_size` to `dilation_rate`, as Keras lists them.
    pub fn config_json(&self) -> String {
        let rank = self.window.rank;
        format!(
            r#""kernel_size": {}, "strides": {}, "padding": "{}", "data_format": "channels_last", "dilation_rate": {}"#,
            json_list(&self.kernel_size()),
            json_list(&spatial::user_dims(rank, self.window.strides)),
            self.window.padding(),
            json_list(&spatial::user_dims(rank, self.window.dilation)),
        )
    }

    /// `code` with `GEOMETRY`, the runtime's `DepthwiseGeometry`, in scope, checked
    /// against the output the macro inferred.
    pub fn with_geometry(&self, code: TokenStream) -> TokenStream {
        let k = krate();
        let (window, multiplier) = (self.window.tokens(self.input), self.depth_multiplier);
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
pub(super) struct BiasArgs {
    pub activation: &'static str,
    pub use_bias: bool,
    pub bias_initializer: &'static str,
}

impl BiasArgs {
    pub fn read(args: &Args, errors: &mut Errors) -> Option<Self> {
        let activation = args.activation("activation", errors);
        let use_bias = args.boolean("use_bias", errors);
        let bias_initializer = args.initializer("bias_initializer", errors);
        Some(BiasArgs {
            activation: activation?.unwrap_or("linear"),
            use_bias: use_bias?.unwrap_or(true),
            bias_initializer: bias_initializer?.unwrap_or("zeros"),
        })
    }

    /// The bias of `len` values when `use_bias`, with the fans of the kernel before it.
    pub fn bias(&self, len: usize, kernel: &ParamSpec) -> Option<ParamSpec> {
        self.use_bias.then(|| ParamSpec {
            suffix: "bias".into(),
            shape: vec![len],
            initializer: self.bias_initializer,
            fan_in: kernel.fan_in,
            fan_out: kernel.fan_out,
            trainable: true,
        })
    }
}

/// `depthwise_initializer` (or another initializer argument), `glorot_uniform` by default.
pub(super) fn initializer(args: &Args, keyword: &str, errors: &mut Errors) -> Option<&'static str> {
    Some(
        args.initializer(keyword, errors)?
            .unwrap_or("glorot_uniform"),
    )
}

struct Configured {
    part: DepthwisePart,
    bias: BiasArgs,
    depthwise_initializer: &'static str,
}

impl Depthwise {
    /// `DepthwiseConv1D` or `DepthwiseConv2D`.
    fn name(&self) -> &'static str {
        if self.rank == 1 {
            "DepthwiseConv1D"
        } else {
            "DepthwiseConv2D"
        }
    }
}

impl LayerKind for Depthwise {
    fn kind(&self) -> &'static str {
        self.name()
    }

    fn default_name(&self) -> &'static str {
        if self.rank == 1 {
            "depthwise_conv1d"
        } else {
            "depthwise_conv2d"
        }
    }

    fn keywords(&self) -> &'static [&'static str] {
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
        ]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let kind = self.name();
        let example = format!("{kind}(kernel_size = 3)");
        let part = DepthwisePart::read(kind, self.rank, args, &example, errors);
        let bias = BiasArgs::read(args, errors);
        let depthwise_initializer = initializer(args, "depthwise_initializer", errors);
        Some(Box::new(Configured {
            part: part??,
            bias: bias?,
            depthwise_initializer: depthwise_initializer?,
        }))
    }
}

impl Configured {
    fn activated(&self) -> Activated {
        Activated {
            activation: self.bias.activation,
            row_len: self.part.channels(),
            first_buffer: 0,
        }
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        let part = &self.part;
        format!(
            "{}(kernel_size = {}{})",
            part.kind,
            spatial::dims_str(&part.kernel_size()),
            part.multiplier_label()
        )
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let label = self.label();
        self.part.infer(&label, input)?;
        Ok(spatial::unmap(self.part.window.rank, self.part.output))
    }

    fn params(&self) -> Vec<ParamSpec> {
        let kernel = self.part.kernel(self.depthwise_initializer);
        let bias = self.bias.bias(self.part.channels(), &kernel);
        std::iter::once(kernel).chain(bias).collect()
    }

    fn buffers(&self) -> Vec<Buffer> {
        self.activated().buffers(self.part.output_len())
    }

    fn config_json(&self) -> String {
        let bias = &self.bias;
        format!(
            r#""depth_multiplier": {}, {}, "activation": "{}", "use_bias": {}, "depthwise_initializer": "{}", "bias_initializer": "{}""#,
            self.part.depth_multiplier,
            self.part.config_json(),
            bias.activation,
            bias.use_bias,
            self.depthwise_initializer,
            bias.bias_initializer
        )
    }

    fn forward(&self, io: &Io, _training: bool) -> TokenStream {
        let k = krate();
        let (n, x, kernel) = (&io.n, &io.x, &io.params[0]);
        let bias = option(io.params.get(1));
        self.activated().forward(io, |z| {
            self.part.with_geometry(quote! {
                #k::kernels::depthwise_conv2d_forward(&GEOMETRY, #n, #x, #kernel, #bias, #z);
            })
        })
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let k = krate();
        let (n, x, kernel) = (&io.n, &io.x, &io.params[0]);
        let dx = option(io.dx.as_ref());
        let dkernel = option(io.grads[0].as_ref());
        let dbias = option(io.grads.get(1).and_then(Option::as_ref));
        self.activated().backward(io, |dz| {
            self.part.with_geometry(quote! {
                #k::kernels::depthwise_conv2d_backward(
                    &GEOMETRY, #n, #x, #kernel, #dz, #dx, #dkernel, #dbias,
                );
            })
        })
    }
}
