//! The layer contract: what a layer kind says about itself, in two steps.
//!
//! Its arguments configure a [`Config`] ([`LayerKind::configure`]), once per layer however
//! often the layer is applied. Building the config on the shapes of one application's
//! inputs ([`Config::build`]) gives an immutable [`Built`] layer, or a [`ShapeError`]: its
//! output shapes, its weights, the buffers it needs in the workspace, its config as Keras
//! writes it, and the code of its forward and backward passes. What few layers have
//! (starting from given states, updating state after a step, pooling their own output,
//! reading token ids...) is an optional capability ([`Capabilities`], [`ConfigCapabilities`]),
//! not a method every layer implements.

use proc_macro2::TokenStream;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::Args;
use crate::layers::foreign::ModelType;
use crate::layers::io::Io;
use crate::layers::penalties::{Constraint, Regularizer};
use strata_vocabulary::Initializer;

/// A kind of layer, as named in a model: `Dense`, `Dropout`, ...
pub trait LayerKind {
    /// The name users write: `Dense`.
    fn name(&self) -> &str;
    /// Keras's default layer name: `dense` (then `dense_1`, `dense_2`, ...).
    fn default_name(&self) -> &str;
    /// The arguments, in positional order.
    fn arguments(&self) -> &'static [&'static str];
    /// Whether every positional argument is an input (`Add(a, b)`), not configuration.
    fn is_merge(&self) -> bool {
        false
    }
    /// Reads and checks the arguments; `None` when any is wrong (errors recorded).
    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>>;
}

/// A layer configured from its arguments, before it knows the shapes it is applied to.
pub trait Config {
    /// How the layer reads in a message: `Dense(128)`.
    fn label(&self) -> String;
    /// The values one application gives, by name: its output, or several (a recurrent
    /// layer with `return_state = true`: `output`, `h` and, for an LSTM, `c`).
    fn gives(&self) -> &'static [&'static str] {
        &["output"]
    }
    /// The layer built on the shapes of one application's inputs.
    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError>;
    /// What the configured layer can do beyond being built; nothing by default.
    fn capabilities(&self) -> ConfigCapabilities<'_> {
        ConfigCapabilities::default()
    }
}

/// The optional capabilities of a configured layer.
#[derive(Default)]
pub struct ConfigCapabilities<'a> {
    /// A recurrent layer's: states to start from, a reversed copy.
    pub recurrent: Option<&'a dyn RecurrentConfig>,
    /// For a layer that reads token ids (Embedding): how many ids it knows.
    pub reads_token_ids: Option<usize>,
}

/// What a recurrent layer can do that others cannot.
pub trait RecurrentConfig {
    /// Whether it can start from states of these shapes (`initial_state = [h, c]`), or
    /// what is wrong with them.
    fn check_states(&self, states: &[Vec<usize>]) -> Result<(), ShapeError>;
    /// The same layer reading its sequence from the last step to the first, for
    /// Bidirectional's backward copy.
    fn reversed(&self) -> Box<dyn Config>;
}

/// The shapes one application of a layer receives.
pub struct Inputs<'a> {
    /// The values it is applied to, in order.
    pub values: &'a [Vec<usize>],
    /// The states it starts from (`initial_state`), for a recurrent layer; else empty.
    pub states: &'a [Vec<usize>],
}

impl<'a> Inputs<'a> {
    /// One value's shape.
    pub fn one(values: &'a [Vec<usize>]) -> Self {
        Inputs {
            values,
            states: &[],
        }
    }

    /// The one input of a layer that takes one, or the error of a layer applied to
    /// several (`label` names it).
    pub fn single(&self, label: &str) -> Result<&'a [usize], ShapeError> {
        match self.values {
            [input] => Ok(input),
            values => Err(ShapeError::new(format!(
                "{label} takes one input, but is applied to {}",
                values.len()
            ))
            .help(
                "to combine values, apply a merge layer first, e.g. `Add(a, b)` or \
                 `Concatenate(a, b)`",
            )),
        }
    }
}

/// A layer built on its input shapes: everything the later stages need of it.
pub trait Built {
    /// How the layer reads in a message: `Dense(128)`.
    fn label(&self) -> String;
    /// The shape of its output, or of each value it gives when it gives several.
    fn output(&self) -> Output;
    /// The weight tensors, in Keras's order and layout.
    fn weights(&self) -> Vec<Weight> {
        Vec::new()
    }
    /// Buffers of its own in the workspace, besides its output and gradient.
    fn buffers(&self) -> Vec<Buffer> {
        Vec::new()
    }
    /// The config's members as Keras's `get_config` lists them (besides `name` and
    /// `trainable`, which every layer has).
    fn config(&self) -> Vec<(&'static str, Json)>;
    /// The forward pass.
    fn forward(&self, io: &Io, mode: Mode) -> TokenStream;
    /// The backward pass: the input gradients that are asked for and the weight gradients.
    fn backward(&self, io: &Io) -> TokenStream;
    /// What the layer can do beyond its passes; nothing by default.
    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities::default()
    }
}

/// Inference or training: layers differ where Keras's do (Dropout, BatchNormalization).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Inference,
    Training,
}

impl Mode {
    pub const BOTH: [Mode; 2] = [Mode::Inference, Mode::Training];

    pub fn is_training(self) -> bool {
        self == Mode::Training
    }
}

/// What a built layer gives.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Output {
    /// One value of this shape.
    One(Vec<usize>),
    /// Several values (its output first), packed one after the other, each for the whole
    /// batch; only the graph's unpacking reads them.
    Several(Vec<Vec<usize>>),
}

/// The optional capabilities of a built layer.
#[derive(Default)]
pub struct Capabilities<'a> {
    /// When the output is the input itself, uncopied (Flatten, Dropout in inference).
    pub passes_input: PassesInput,
    /// Whether the output is a sequence returned on request (an RNN's
    /// `return_sequences = true`), for the error of a model that declares a vector.
    pub returns_sequences: bool,
    /// Whether the layer's work is a matrix product or a pass over its values (Dense,
    /// Activation, Dropout, reshapes): a model of these trains best by splitting products.
    pub product_bound: bool,
    /// Non-trainable state that moves after each training step.
    pub state: Option<&'a dyn UpdatesState>,
    /// For a max pooling layer, its window, so that the layer before it can pool its own
    /// output.
    pub max_pool: Option<&'a dyn MaxPool>,
    /// For a layer that can max pool its own output (a convolution a chunk at a time, relu
    /// before its pooling).
    pub pools_own_output: Option<&'a dyn PoolsOwnOutput>,
    /// For a model of another block used as a layer, its type: its weights are all of that
    /// model's, in its own layout, instead of [`Built::weights`].
    pub model: Option<&'a ModelType>,
}

/// When a layer's output is its input, shared rather than copied.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub enum PassesInput {
    #[default]
    Never,
    /// In inference only (Dropout).
    InInference,
    /// In inference and training (Flatten, Reshape, a linear Activation).
    Always,
}

impl PassesInput {
    pub fn in_mode(self, mode: Mode) -> bool {
        match self {
            PassesInput::Never => false,
            PassesInput::InInference => mode == Mode::Inference,
            PassesInput::Always => true,
        }
    }
}

/// A layer whose state moves after each training step, from every lane's training forward
/// pass (BatchNormalization's moving statistics).
pub trait UpdatesState {
    /// The update. The code runs in `Model::update_state_with`, where `lanes` is a
    /// cloneable iterator of `(ws, n)`: a lane's workspace and its batch size; `io.params`
    /// are `&mut [F]` there, and the buffers are expressions of a lane's `ws` and `n`, for
    /// code inside a closure `|(ws, n)| ...` over `lanes`.
    fn update_state(&self, io: &Io) -> TokenStream;
}

/// A max pooling layer, whose window the layer before it can use to pool its own output.
pub trait MaxPool {
    /// The runtime's `Window2d`, as an expression.
    fn window(&self) -> TokenStream;
}

/// A layer that can max pool its own output.
pub trait PoolsOwnOutput {
    /// How many of its buffers (the first ones) the fused passes use, or `None` when this
    /// configuration cannot fuse (an activation that does not commute with the maximum).
    fn fused_buffers(&self) -> Option<usize>;
    /// The passes fused with the pooling of `window`: they write the pooling's output and
    /// argmax (`pool`'s `y` and `argmax` buffer) and read its output's gradient; the
    /// layer's own output is never whole (a convolution uses it as a chunk's scratch).
    fn pooled(&self, io: &Io, window: &TokenStream, pool: &Io) -> Fused;
}

/// A layer's passes fused with the max pooling after it.
pub struct Fused {
    pub forward: TokenStream,
    pub backward: TokenStream,
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

/// One weight tensor.
#[derive(Clone)]
pub struct Weight {
    /// `kernel`, `bias` (`forward_lstm/kernel` in a wrapper).
    pub name: String,
    pub shape: Vec<usize>,
    pub initializer: Initializer,
    /// Keras's fans of the tensor, for the initializer.
    pub fan_in: usize,
    pub fan_out: usize,
    /// Whether the optimizer may update it: `false` for state that training moves
    /// otherwise (BatchNormalization's moving statistics), whatever the layer's flag.
    pub trainable: bool,
    /// Its penalty in the loss (`kernel_regularizer`).
    pub regularizer: Option<Regularizer>,
    /// What it is held to after each optimizer step (`kernel_constraint`).
    pub constraint: Option<Constraint>,
}

impl Weight {
    /// A trainable tensor with the fans Keras gives it.
    pub fn new(name: impl Into<String>, shape: Vec<usize>, initializer: Initializer) -> Self {
        let (fan_in, fan_out) = fans(&shape);
        Weight {
            name: name.into(),
            shape,
            initializer,
            fan_in,
            fan_out,
            trainable: true,
            regularizer: None,
            constraint: None,
        }
    }

    /// The same tensor with these penalty and constraint.
    pub fn held(self, regularizer: Option<Regularizer>, constraint: Option<Constraint>) -> Self {
        Weight {
            regularizer,
            constraint,
            ..self
        }
    }

    /// The same tensor with these fans.
    pub fn fans(self, fan_in: usize, fan_out: usize) -> Self {
        Weight {
            fan_in,
            fan_out,
            ..self
        }
    }

    /// The same tensor, not updated by the optimizer.
    pub fn state(self) -> Self {
        Weight {
            trainable: false,
            ..self
        }
    }

    /// The same tensor under `prefix/` (a wrapper's copy: `forward_lstm/kernel`).
    pub fn prefixed(self, prefix: &str) -> Self {
        Weight {
            name: format!("{prefix}/{}", self.name),
            ..self
        }
    }
}

/// Keras's `compute_fans` of a tensor of `shape`: a vector's length both ways, a matrix
/// `[in, out]` as it is, a convolution's `[..window, in, out]` with each side times the
/// window's taps (its receptive field).
pub fn fans(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (*n, *n),
        [window @ .., inputs, outputs] => {
            let taps = window.iter().fold(1usize, |t, &d| t.saturating_mul(d));
            (taps.saturating_mul(*inputs), taps.saturating_mul(*outputs))
        }
    }
}

/// A buffer of a layer's own in the workspace, sized when the workspace is prepared for a
/// batch size and reused by every step at that size or below. The layer's code reads it
/// by its name ([`Io::buf`]).
pub struct Buffer {
    pub name: String,
    pub kind: BufferKind,
    pub len: BufferLen,
}

/// What a [`Buffer`] holds.
#[derive(Clone)]
pub enum BufferKind {
    /// The model's floats.
    Floats,
    /// `u32` indices (max pooling's argmax).
    Indices,
    /// The workspace of a model of another block used as a layer, which that model's own
    /// `prepare` sizes.
    Workspace(ModelType),
}

/// How many values a [`Buffer`] holds.
#[derive(Clone)]
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
    pub fn floats(name: impl Into<String>, len: usize) -> Self {
        Buffer {
            name: name.into(),
            kind: BufferKind::Floats,
            len: BufferLen::PerSample(len),
        }
    }

    /// `len` `u32` indices per sample.
    pub fn indices(name: impl Into<String>, len: usize) -> Self {
        Buffer {
            name: name.into(),
            kind: BufferKind::Indices,
            len: BufferLen::PerSample(len),
        }
    }

    /// Floats of scratch space, as many as `len` (an expression of `batch`) says.
    pub fn scratch(name: impl Into<String>, len: TokenStream) -> Self {
        Buffer {
            name: name.into(),
            kind: BufferKind::Floats,
            len: BufferLen::Batch(len),
        }
    }

    /// The same buffer under `prefix/` (a wrapper's copy).
    pub fn prefixed(self, prefix: &str) -> Self {
        Buffer {
            name: format!("{prefix}/{}", self.name),
            ..self
        }
    }
}
