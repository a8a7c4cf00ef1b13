//! One file per layer kind. Each says, in one place, its arguments, its shape rule, its
//! parameters and the kernel calls it emits.

mod activated;
mod args;
mod convolutional;
mod core;
pub mod foreign;
mod kernel;
mod merging;
mod nested;
mod normalization;
mod pooling;
mod recurrent;
mod regularization;
mod reshaping;
mod spatial;

pub use activated::option;
pub use args::Args;

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::{Errors, message};
use crate::parse::LayerCall;
use crate::suggest::did_you_mean;
use syn::Ident;

/// A kind of layer, as named in a model: `Dense`, `Dropout`, ...
pub trait LayerKind {
    /// The name users write: `Dense`.
    fn kind(&self) -> &str;
    /// Keras's default layer name: `dense` (then `dense_1`, `dense_2`, ...).
    fn default_name(&self) -> &str;
    /// The arguments, in positional order.
    fn keywords(&self) -> &'static [&'static str];
    /// Reads and checks the arguments; `None` when any is wrong (errors recorded).
    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>>;
    /// Whether every positional argument is an input (`Add(a, b)`), not configuration.
    fn is_merge(&self) -> bool {
        false
    }
    /// Whether the macro makes it itself and users never write it (`InputLayer`).
    fn is_internal(&self) -> bool {
        false
    }
    /// The values one application gives, by name: its output, or several (a recurrent
    /// layer with `return_state = true`: `output`, `h` and, for an LSTM, `c`), read from
    /// the layer as written, `config`.
    fn gives(&self, _config: &LayerCall) -> &'static [&'static str] {
        &["output"]
    }
    /// Whether an application may start from given states (`initial_state = [h, c]`).
    fn takes_initial_state(&self) -> bool {
        false
    }
}

/// A configured layer.
pub trait Layer {
    /// How the layer reads in a message: `Dense(128)`.
    fn label(&self) -> String;
    /// The output shape for `input`, or what is wrong with `input`.
    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError>;
    /// For a layer that reads token ids (Embedding), how many ids it knows.
    fn reads_ids(&self) -> Option<usize> {
        None
    }
    /// The output shape for the layer's inputs; layers of one input take exactly one.
    fn infer_all(&mut self, inputs: &[Vec<usize>]) -> Result<Vec<usize>, ShapeError> {
        match inputs {
            [input] => self.infer(input),
            _ => Err(ShapeError::new(format!(
                "{} takes one input, but is applied to {}",
                self.label(),
                inputs.len()
            ))
            .help("to combine values, apply a merge layer first, e.g. `Add(a, b)` or `Concatenate(a, b)`")),
        }
    }
    /// Starts the layer from states of `shapes` (`initial_state`), or says what is wrong
    /// with them; only a layer whose kind [`LayerKind::takes_initial_state`] is asked.
    fn start_from(&mut self, shapes: &[Vec<usize>]) -> Result<(), ShapeError> {
        Err(ShapeError::new(format!(
            "{} starts from no states, but is given {}",
            self.label(),
            shapes.len()
        )))
    }
    /// After [`Layer::infer`], the shape of each value the layer gives when it gives
    /// several ([`LayerKind::gives`]); empty when it gives one. Its output is then the
    /// values packed one after the other, each for the whole batch, and only `Unpack`
    /// layers read it.
    fn parts(&self) -> Vec<Vec<usize>> {
        Vec::new()
    }
    /// The parameter tensors, in Keras's order and layout.
    fn params(&self) -> Vec<ParamSpec> {
        Vec::new()
    }
    /// For a model of another block used as a layer, its type: its parameters are all of
    /// that model's, in its own layout, instead of [`Layer::params`].
    fn foreign_model(&self) -> Option<&foreign::ModelType> {
        None
    }
    /// Extra buffers the layer needs in the workspace, besides its output and gradient.
    fn buffers(&self) -> Vec<Buffer> {
        Vec::new()
    }
    /// Whether the output is a sequence the layer returned on request (an RNN's
    /// `return_sequences = true`), for the error of a model that declares a vector.
    fn returns_sequences(&self) -> bool {
        false
    }
    /// Makes the layer read its sequence from the last step to the first, for
    /// Bidirectional's backward copy; `false` when the layer is not recurrent.
    fn reverse_time(&mut self) -> bool {
        false
    }
    /// Whether the output is the input itself (no copy), in training or in inference.
    fn is_alias(&self, _training: bool) -> bool {
        false
    }
    /// The layer's config as JSON object members (without braces), Keras's `get_config`.
    fn config_json(&self) -> String;
    /// The forward pass.
    fn forward(&self, io: &Io, training: bool) -> TokenStream;
    /// The backward pass: `dx` (when the input needs it) and the parameter gradients.
    fn backward(&self, io: &Io) -> TokenStream;
    /// The update of the layer's non-trainable state after a training step, from every
    /// lane's training forward pass (BatchNormalization's moving statistics); nothing for
    /// a layer without state.
    ///
    /// The code runs in `Model::update_state`, where `lanes` is a cloneable iterator of
    /// `(ws, n)`: a lane's workspace `&Workspace` and its batch size. `io.params` are
    /// `&mut [F]` there, and `io.bufs_ref` are expressions of a lane's `ws` and `n`, for
    /// code inside a closure `|(ws, n)| ...` over `lanes`.
    fn update_state(&self, _io: &Io) -> TokenStream {
        TokenStream::new()
    }
    /// For a max pooling layer, its window: a `Window2d` expression, so that the layer
    /// before it can pool its own output (see [`Layer::max_pooled`]).
    fn max_pool_window(&self) -> Option<TokenStream> {
        None
    }
    /// For a layer that can max pool its own output (a convolution a chunk at a time, relu
    /// before its pooling), the forward and backward passes that do so with `window`,
    /// writing the pooling layer's output and argmax (`pool`'s `y` and first buffer) and
    /// reading its output's gradient; the layer's own output is never whole (a
    /// convolution uses its buffer as a chunk's scratch).
    fn max_pooled(&self, _io: &Io, _window: &TokenStream, _pool: &Io) -> Option<MaxPooled> {
        None
    }
}

/// A layer's passes fused with the max pooling after it (see [`Layer::max_pooled`]).
pub struct MaxPooled {
    pub forward: TokenStream,
    pub backward: TokenStream,
    /// How many of the layer's buffers the passes use: the first ones; the others are
    /// not allocated.
    pub buffers: usize,
}

/// What is wrong with a layer's input.
pub struct ShapeError {
    pub headline: String,
    pub help: Option<String>,
}

impl ShapeError {
    pub fn new(headline: impl Into<String>) -> Self {
        ShapeError {
            headline: headline.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// One parameter tensor.
pub struct ParamSpec {
    /// `kernel`, `bias` (`forward_lstm/kernel` in a wrapper).
    pub suffix: String,
    pub shape: Vec<usize>,
    pub initializer: &'static str,
    pub fan_in: usize,
    pub fan_out: usize,
    /// Whether the optimizer may update it: `false` for state that training moves
    /// otherwise (BatchNormalization's moving statistics), whatever the layer's flag.
    pub trainable: bool,
}

/// A buffer of a layer's own in the workspace, sized when the workspace is prepared for a
/// batch size and reused by every step at that size or below.
pub enum Buffer {
    /// A `Vec` of the model's floats, or of `u32` indices (max pooling's argmax).
    Values { indices: bool, len: BufferLen },
    /// The workspace of a model of another block used as a layer, which that model's own
    /// `prepare` sizes.
    Workspace(foreign::ModelType),
}

/// How many values a [`Buffer`] holds.
pub enum BufferLen {
    /// This many values per sample of the batch.
    PerSample(usize),
    /// The value of this expression of `batch: usize`, which must not decrease as `batch`
    /// grows (a kernel's scratch space, such as a convolution's im2col columns). Layers
    /// get the whole buffer.
    Batch(TokenStream),
}

impl Buffer {
    /// `len` floats per sample.
    pub fn floats(len: usize) -> Self {
        Buffer::Values {
            indices: false,
            len: BufferLen::PerSample(len),
        }
    }

    /// `len` `u32` indices per sample.
    pub fn indices(len: usize) -> Self {
        Buffer::Values {
            indices: true,
            len: BufferLen::PerSample(len),
        }
    }

    /// Floats of scratch space, as many as `len` (an expression of `batch`) says.
    pub fn scratch(len: TokenStream) -> Self {
        Buffer::Values {
            indices: false,
            len: BufferLen::Batch(len),
        }
    }
}

/// The expressions a layer's emitted code reads and writes.
#[derive(Clone)]
pub struct Io {
    /// The batch size, a `usize`.
    pub n: TokenStream,
    /// The (first) input, `&[F]`.
    pub x: TokenStream,
    /// Every input, `&[F]` each, for layers of several inputs.
    pub xs: Vec<TokenStream>,
    /// The output, `&mut [F]`.
    pub y: TokenStream,
    /// The output, `&[F]`.
    pub y_ref: TokenStream,
    /// The gradient of the output, `&[F]`.
    pub dy: TokenStream,
    /// The gradient of the input, `&mut [F]`, when something upstream needs it.
    pub dx: Option<TokenStream>,
    /// The gradient of every input, as [`Io::dx`].
    pub dxs: Vec<Option<TokenStream>>,
    /// Each parameter tensor, `&[F]`.
    pub params: Vec<TokenStream>,
    /// Each parameter's gradient, `&mut [F]`, or `None` when frozen.
    pub grads: Vec<Option<TokenStream>>,
    /// Each extra buffer, `&mut [F]` (`&mut [u32]` for indices).
    pub bufs: Vec<TokenStream>,
    /// Each extra buffer, `&[F]` (`&[u32]` for indices).
    pub bufs_ref: Vec<TokenStream>,
    /// The random generator, `&mut Rng` (training only).
    pub rng: TokenStream,
}

/// The path of the facade crate in generated code.
pub fn krate() -> TokenStream {
    quote!(::strata)
}

/// Every layer kind.
pub fn registry() -> &'static [&'static dyn LayerKind] {
    use pooling::PoolOp::{Average, Max};
    &[
        &core::dense::Dense,
        &core::embedding::Embedding,
        &core::activation::ActivationLayer,
        &core::activation::Softmax,
        &convolutional::conv::Conv { rank: 1 },
        &convolutional::conv::Conv { rank: 2 },
        &convolutional::depthwise::Depthwise { rank: 1 },
        &convolutional::depthwise::Depthwise { rank: 2 },
        &convolutional::separable::Separable { rank: 1 },
        &convolutional::separable::Separable { rank: 2 },
        &pooling::pool::Pool { rank: 1, op: Max },
        &pooling::pool::Pool { rank: 2, op: Max },
        &pooling::pool::Pool {
            rank: 1,
            op: Average,
        },
        &pooling::pool::Pool {
            rank: 2,
            op: Average,
        },
        &pooling::global_pool::GlobalPool { rank: 1, op: Max },
        &pooling::global_pool::GlobalPool { rank: 2, op: Max },
        &pooling::global_pool::GlobalPool {
            rank: 1,
            op: Average,
        },
        &pooling::global_pool::GlobalPool {
            rank: 2,
            op: Average,
        },
        &normalization::batch_normalization::BatchNormalization,
        &normalization::layer_normalization::LayerNormalization,
        &regularization::dropout::Dropout,
        &reshaping::flatten::Flatten,
        &reshaping::reshape::Reshape,
        &reshaping::zero_padding2d::ZeroPadding2D,
        &reshaping::up_sampling2d::UpSampling2D,
        &merging::elementwise::Elementwise::ALL[0],
        &merging::elementwise::Elementwise::ALL[1],
        &merging::elementwise::Elementwise::ALL[2],
        &merging::elementwise::Elementwise::ALL[3],
        &merging::elementwise::Elementwise::ALL[4],
        &merging::elementwise::Elementwise::ALL[5],
        &merging::concatenate::Concatenate,
        &merging::dot::Dot,
        &core::input::InputLayer,
        &core::unpack::Unpack,
        &recurrent::rnn::Recurrent::SimpleRnn,
        &recurrent::rnn::Recurrent::Lstm,
        &recurrent::rnn::Recurrent::Gru,
        &recurrent::time_distributed::TimeDistributed,
        &recurrent::bidirectional::Bidirectional,
    ]
}

/// The layer kind named `name`.
pub fn lookup(name: &str) -> Option<&'static dyn LayerKind> {
    registry().iter().copied().find(|k| k.kind() == name)
}

/// The layer kind `name` names, or `None` with an error that suggests the nearest.
pub fn resolve(name: &Ident, errors: &mut Errors) -> Option<&'static dyn LayerKind> {
    let typed = name.to_string();
    let kinds = registry()
        .iter()
        .filter(|k| !k.is_internal())
        .map(|k| k.kind());
    if let Some(kind) = lookup(&typed) {
        return Some(kind);
    }
    errors.at(
        name.span(),
        message(
            format!(
                "unknown layer `{typed}`{}",
                did_you_mean(&typed, kinds.clone())
            ),
            &[format!(
                "the layers are {}",
                kinds
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
            None,
        ),
    );
    None
}

/// The error of a model used as a layer applied to a value of another shape than its
/// input; `fix` ends the help (what else the user may change).
pub fn model_misfit(model: &str, takes: &[usize], got: &[usize], fix: &str) -> ShapeError {
    ShapeError::new(format!(
        "{model} takes {}, but is applied to {}",
        shape_str(takes),
        shape_str(got)
    ))
    .help(format!(
        "bring the value to {} first (Reshape, Flatten, or a layer that makes it), or {fix}",
        shape_str(takes)
    ))
}

/// `[a, b, c]`.
pub fn shape_str(shape: &[usize]) -> String {
    format!(
        "[{}]",
        shape
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A JSON list of integers.
pub fn json_list(values: &[usize]) -> String {
    shape_str(values)
}
