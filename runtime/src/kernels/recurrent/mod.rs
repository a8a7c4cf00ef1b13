//! Recurrent layers (SimpleRNN, LSTM, GRU) over whole sequences, forward and backward
//! through time, with Keras's equations, weight layouts and gate orders.
//!
//! A batch of `n` sequences arrives sample-major, `x[b, t, i]`. The kernels work
//! time-major: each step gathers its inputs into `xs[s, b, i]` in the order the layer reads
//! them (step `s` reads time `s`, or `time - 1 - s` with `go_backwards`), so that every
//! step's rows are one contiguous `[n, ·]` block. Then:
//! - each step projects its inputs, `[n, inputs] × [inputs, gates]` (`gates` is `units`
//!   times 1, 4 or 3), adds its recurrent product `[n, units] × [units, gates]`, every gate
//!   at once, and applies the gates elementwise. (One product projecting every step's
//!   inputs at once, or blocks of 256 rows, measured no faster in training at batch 64, and
//!   in inference at batch 1024 writing every step's projection made it 1.3 times slower;
//!   `cargo bench --bench rnn`);
//! - backward mirrors it: per step one product `[n, gates] × [gates, units]` for the
//!   gradient of the previous state; after the loop one product each for the gradients of
//!   the kernel, of the recurrent kernel (every step's at once: the states of steps
//!   `0..time-1` and the gate gradients of steps `1..time` are contiguous) and of the inputs.
//!
//! Everything a step keeps for the backward pass (gates, cells, states) lives in one
//! cache buffer per layer, sized by [`Recurrence::cache_len`] and reused: no step
//! allocates. The states are kept from a block before the first step: the initial states
//! (Keras's `initial_state`), or zeros that no step reads.
//!
//! Inference ([`recurrent_forward`] without a generator) runs the same steps, with the
//! same code, in the same buffer, but keeps only what the next step reads (see `Keep`):
//! the first blocks of each part, in rotation, so that it writes as much whatever the
//! sequence's length, where training keeps every step's gates. At LSTM(128)'s sizes and
//! batch 1024 those are 58 MB written and never read.
//!
//! Keras's `return_state`: the final states are written beside the output, and their
//! gradients join backpropagation through time at the last step; the gradients of the
//! initial states are what the first step carries back.
//!
//! Dropout is Keras's: in training, one mask per sequence over the input features
//! (`dropout`) and one over the state fed back (`recurrent_dropout`), the same at every
//! step and for every gate.

mod bidirectional;
mod gru;
mod lstm;
mod simple_rnn;

pub use bidirectional::{
    Merge, bidirectional_backward, bidirectional_forward, bidirectional_input_grad,
};

use super::activation::{Activation, activation_backward, activation_forward};
use super::dense::{dense_backward, dense_forward};
use super::dropout::draw_mask;
use super::matmul;
use crate::Float;
use crate::private::split_mut;
use std::ops::Range;

/// The cell of a recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// `h = activation(x·kernel + h₋₁·recurrent_kernel + bias)`.
    SimpleRnn { activation: Activation },
    /// Keras's LSTM: gates i, f, c, o, in that order in every weight.
    Lstm {
        activation: Activation,
        recurrent_activation: Activation,
    },
    /// Keras's GRU: gates z, r, h. With `reset_after` (Keras 3's default) the reset gate
    /// multiplies the recurrent product and the bias is `[2, 3·units]` (input, recurrent);
    /// without, it multiplies the state before its product and the bias is `[3·units]`.
    Gru {
        activation: Activation,
        recurrent_activation: Activation,
        reset_after: bool,
    },
}

impl Cell {
    /// How many blocks of `units` the kernels' columns hold: 1, 4 or 3.
    pub const fn gates(self) -> usize {
        match self {
            Cell::SimpleRnn { .. } => 1,
            Cell::Lstm { .. } => 4,
            Cell::Gru { .. } => 3,
        }
    }
}

/// A recurrent layer's sizes and settings, as generated code passes them (a constant).
///
/// ```
/// use strata_runtime::kernels::{Activation, Cell, Recurrence};
/// let lstm = Recurrence {
///     cell: Cell::Lstm { activation: Activation::Tanh, recurrent_activation: Activation::Sigmoid },
///     time: 28,
///     inputs: 28,
///     units: 128,
///     return_sequences: false,
///     go_backwards: false,
///     initial_state: false,
///     dropout: 0.0,
///     recurrent_dropout: 0.0,
/// };
/// assert_eq!(lstm.gates(), 512);
/// assert_eq!(lstm.output_len(), 128);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recurrence {
    pub cell: Cell,
    /// Steps per sequence.
    pub time: usize,
    /// Features per step.
    pub inputs: usize,
    pub units: usize,
    /// Whether the output is every step's state `[time, units]` (in the order the steps
    /// ran, as Keras's) or the last one's `[units]`.
    pub return_sequences: bool,
    /// Whether the sequence is read from its last step to its first.
    pub go_backwards: bool,
    /// Whether the first step starts from given states (Keras's `initial_state`) rather
    /// than from zeros.
    pub initial_state: bool,
    /// The fraction of input features dropped in training, in `[0, 1)`.
    pub dropout: f64,
    /// The fraction of state values dropped from the recurrent product in training.
    pub recurrent_dropout: f64,
}

impl Recurrence {
    /// Columns of the kernels: `units` per gate.
    pub const fn gates(&self) -> usize {
        self.cell.gates() * self.units
    }

    /// Values per sample of the output.
    pub const fn output_len(&self) -> usize {
        if self.return_sequences {
            self.time * self.units
        } else {
            self.units
        }
    }

    /// Floats of cache for a batch of `batch`: what the forward pass keeps of every step
    /// and the backward pass's scratch.
    pub fn cache_len(&self, batch: usize) -> usize {
        match self.cell {
            Cell::SimpleRnn { .. } => cache_len(self, batch, simple_rnn::parts(self, batch)),
            Cell::Lstm { .. } => cache_len(self, batch, lstm::parts(self, batch)),
            Cell::Gru { .. } => cache_len(self, batch, gru::parts(self, batch)),
        }
    }

    /// The time step that step `s` reads.
    fn time_of(&self, s: usize) -> usize {
        if self.go_backwards {
            self.time - 1 - s
        } else {
            s
        }
    }

    /// The first step that reads a state fed back: the first, from given initial states,
    /// or else the second (the first starts from zeros).
    const fn first_fed(&self) -> usize {
        if self.initial_state { 0 } else { 1 }
    }

    /// Whether step `s` reads a state fed back.
    const fn reads_state(&self, s: usize) -> bool {
        s >= self.first_fed()
    }

    /// Whether there is a state cell: an LSTM's `c` beside `h`.
    const fn has_cell(&self) -> bool {
        matches!(self.cell, Cell::Lstm { .. })
    }

    /// Whether the state fed back is masked (training with `recurrent_dropout`).
    fn masks_state(&self, training: bool) -> bool {
        training && self.recurrent_dropout > 0.0
    }

    /// Checks that `states` are `[n, units]` each, with a cell exactly for an LSTM.
    fn check_states(&self, n: usize, what: &str, h: usize, c: Option<usize>) {
        let len = n * self.units;
        assert_eq!(h, len, "{what} h is not n×units");
        assert_eq!(
            c.is_some(),
            self.has_cell(),
            "{what} c is given for an LSTM only"
        );
        if let Some(c) = c {
            assert_eq!(c, len, "{what} c is not n×units");
        }
    }

    fn check(&self, n: usize, x_len: usize, kernel: &[impl Sized], recurrent: &[impl Sized]) {
        let (time, inputs, units, gates) = (self.time, self.inputs, self.units, self.gates());
        assert!(time > 0, "a recurrent layer needs at least one step");
        assert_eq!(x_len, n * time * inputs, "x is not n×time×inputs");
        assert_eq!(kernel.len(), inputs * gates, "kernel is not inputs×gates");
        assert_eq!(
            recurrent.len(),
            units * gates,
            "recurrent kernel is not units×gates"
        );
    }
}

/// A recurrent layer's weights, in Keras's layouts.
#[derive(Clone, Copy, Debug)]
pub struct RecurrentWeights<'a, F> {
    /// `[inputs, gates]`.
    pub kernel: &'a [F],
    /// `[units, gates]`.
    pub recurrent_kernel: &'a [F],
    /// `[gates]`, or `[2, gates]` for a GRU with `reset_after`.
    pub bias: Option<&'a [F]>,
}

/// The gradients of [`RecurrentWeights`], each computed when asked for and overwritten.
#[derive(Debug)]
pub struct RecurrentGrads<'a, F> {
    pub kernel: Option<&'a mut [F]>,
    pub recurrent_kernel: Option<&'a mut [F]>,
    pub bias: Option<&'a mut [F]>,
}

/// A batch of states, `[n, units]` each: `h`, and `c` for an LSTM.
#[derive(Clone, Copy, Debug)]
pub struct States<'a, F> {
    pub h: &'a [F],
    pub c: Option<&'a [F]>,
}

/// Where a batch of states goes, `[n, units]` each: `h`, and `c` for an LSTM.
#[derive(Debug)]
pub struct StatesMut<'a, F> {
    pub h: &'a mut [F],
    pub c: Option<&'a mut [F]>,
}

/// The states at either end of a run: the initial states it reads (with
/// [`Recurrence::initial_state`]) and where its final states go (Keras's `return_state`).
#[derive(Debug, Default)]
pub struct RunStates<'a, F> {
    pub initial: Option<States<'a, F>>,
    pub last: Option<StatesMut<'a, F>>,
}

/// The gradients at either end of a run: those of the final states it returned, which
/// join the output's, and where those of its initial states go (`[n, units]` each, each
/// when asked for: `c` for an LSTM only).
#[derive(Debug, Default)]
pub struct RunStateGrads<'a, F> {
    pub last: Option<States<'a, F>>,
    pub initial_h: Option<&'a mut [F]>,
    pub initial_c: Option<&'a mut [F]>,
}

/// Runs the layer over a batch of `n` sequences `x` (`[n, time, inputs]`) from
/// `states.initial` (zeros when the layer has no `initial_state`) and writes its output `y`
/// (`[n, time, units]` or `[n, units]`) and, when asked, its final states, in `cache` (at
/// least [`Recurrence::cache_len`]`(n)` long). In training (`training` holds the
/// generator) it draws the dropout masks and keeps in `cache` every step's values, what
/// [`recurrent_backward`] needs. In inference (`None`) there are no masks, and it keeps
/// only what the next step reads, in the first blocks of `cache`: the states and one
/// step's values, written over at every step, so that the gates of every step are not
/// written to memory never to be read. Both compute the same output and final states, bit
/// for bit.
///
/// ```
/// use strata_runtime::kernels::*;
/// let rnn = Recurrence {
///     cell: Cell::SimpleRnn { activation: Activation::Linear },
///     time: 3, inputs: 1, units: 1,
///     return_sequences: true, go_backwards: false, initial_state: true,
///     dropout: 0.0, recurrent_dropout: 0.0,
/// };
/// // h = x + 0.5·h₋₁, from h₋₁ = 2, and the final state.
/// let weights = RecurrentWeights { kernel: &[1.0f32], recurrent_kernel: &[0.5], bias: None };
/// let (mut y, mut h) = ([0.0; 3], [0.0]);
/// let states = RunStates {
///     initial: Some(States { h: &[2.0], c: None }),
///     last: Some(StatesMut { h: &mut h, c: None }),
/// };
/// let mut cache = vec![0.0; rnn.cache_len(1)];
/// recurrent_forward(&rnn, 1, &[1.0, 2.0, 3.0], weights, &mut y, states, &mut cache, None);
/// assert_eq!(y, [2.0, 3.0, 4.5]);
/// assert_eq!(h, [4.5]);
/// ```
#[allow(clippy::too_many_arguments)] // the sequences, the states at their ends, the cache
pub fn recurrent_forward<F: Float>(
    r: &Recurrence,
    n: usize,
    x: &[F],
    weights: RecurrentWeights<F>,
    y: &mut [F],
    states: RunStates<F>,
    cache: &mut [F],
    training: Option<&mut crate::Rng>,
) {
    let run = Run {
        x,
        weights,
        y,
        states,
    };
    run_cell(r, n, run, cache, training);
}

/// What a forward pass reads and writes: the sequences, the weights, the output and the
/// states at either end.
struct Run<'a, 'y, F> {
    x: &'a [F],
    weights: RecurrentWeights<'a, F>,
    y: &'y mut [F],
    states: RunStates<'a, F>,
}

/// Checks `run`'s sizes, then runs the cell, in training when given the generator.
fn run_cell<F: Float>(
    r: &Recurrence,
    n: usize,
    run: Run<F>,
    cache: &mut [F],
    training: Option<&mut crate::Rng>,
) {
    let (weights, states) = (&run.weights, &run.states);
    r.check(n, run.x.len(), weights.kernel, weights.recurrent_kernel);
    assert_eq!(run.y.len(), n * r.output_len(), "y is not n×output_len");
    assert_eq!(
        states.initial.is_some(),
        r.initial_state,
        "initial states are given exactly to a layer with initial_state"
    );
    if let Some(initial) = &states.initial {
        r.check_states(n, "the initial", initial.h.len(), initial.c.map(<[F]>::len));
    }
    if let Some(last) = &states.last {
        r.check_states(
            n,
            "the final",
            last.h.len(),
            last.c.as_deref().map(<[F]>::len),
        );
    }
    match r.cell {
        Cell::SimpleRnn { activation } => {
            simple_rnn::forward(r, activation, n, run, cache, training);
        }
        Cell::Lstm {
            activation,
            recurrent_activation,
        } => {
            let activations = [activation, recurrent_activation];
            lstm::forward(r, activations, n, run, cache, training);
        }
        Cell::Gru {
            activation,
            recurrent_activation,
            reset_after,
        } => {
            let g = gru::Gru {
                activation,
                recurrent_activation,
                reset_after,
            };
            gru::forward(r, g, n, run, cache, training);
        }
    }
}

/// The gradients of [`recurrent_forward`]'s last training call given `dy`, the gradient
/// of its output, and `states.last`, those of the final states it returned (if any):
/// `dx` (`[n, time, inputs]`), the weights' gradients and `states.initial`, those of the
/// initial states, each when asked for and overwritten. Reads and overwrites the scratch
/// part of `cache`.
#[allow(clippy::too_many_arguments)] // the sequences' gradients, the states', the cache
pub fn recurrent_backward<F: Float>(
    r: &Recurrence,
    n: usize,
    weights: RecurrentWeights<F>,
    dy: &[F],
    dx: Option<&mut [F]>,
    grads: RecurrentGrads<F>,
    states: RunStateGrads<F>,
    cache: &mut [F],
) {
    r.check(
        n,
        n * r.time * r.inputs,
        weights.kernel,
        weights.recurrent_kernel,
    );
    assert_eq!(dy.len(), n * r.output_len(), "dy is not n×output_len");
    if let Some(dx) = &dx {
        assert_eq!(dx.len(), n * r.time * r.inputs, "dx is not n×time×inputs");
    }
    if let Some(last) = &states.last {
        r.check_states(n, "the final", last.h.len(), last.c.map(<[F]>::len));
    }
    let (dh0, dc0) = (&states.initial_h, &states.initial_c);
    if dh0.is_some() || dc0.is_some() {
        assert!(
            r.initial_state,
            "only a layer with initial_state has their gradient"
        );
    }
    for grad in [dh0, dc0].into_iter().flatten() {
        assert_eq!(
            grad.len(),
            n * r.units,
            "an initial state's gradient is not n×units"
        );
    }
    assert!(dc0.is_none() || r.has_cell(), "only an LSTM has a cell");
    let grads = Grads {
        dx,
        weights: grads,
        states,
    };
    match r.cell {
        Cell::SimpleRnn { activation } => {
            simple_rnn::backward(r, activation, n, weights, dy, grads, cache);
        }
        Cell::Lstm {
            activation,
            recurrent_activation,
        } => {
            let activations = [activation, recurrent_activation];
            lstm::backward(r, activations, n, weights, dy, grads, cache);
        }
        Cell::Gru {
            activation,
            recurrent_activation,
            reset_after,
        } => {
            let g = gru::Gru {
                activation,
                recurrent_activation,
                reset_after,
            };
            gru::backward(r, g, n, weights, dy, grads, cache);
        }
    }
}

/// Which steps' values a forward pass keeps in the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keep {
    /// Every step's, where the backward pass reads them (training).
    EveryStep,
    /// Only what the next step reads (inference): each part of the cache keeps a window of
    /// its first blocks in rotation, two of the states (the state before a step and its
    /// own) and one of the step's values (inputs, pre-activations, gates).
    NextStep,
}

impl Keep {
    /// What a forward pass keeps, in training or not.
    const fn when_training(training: bool) -> Keep {
        if training {
            Keep::EveryStep
        } else {
            Keep::NextStep
        }
    }

    /// Where block `k` of a part lives, when inference keeps `window` blocks of it.
    const fn slot(self, k: usize, window: usize) -> usize {
        match self {
            Keep::EveryStep => k,
            Keep::NextStep => k % window,
        }
    }
}

/// Block `k` of `len` values of `all`, to write.
fn block_mut<F>(all: &mut [F], k: usize, len: usize) -> &mut [F] {
    &mut all[k * len..][..len]
}

/// Blocks `from` (to read) and `to` (to write) of `len` values of `all`, in either order.
fn previous_and_next<F>(all: &mut [F], from: usize, to: usize, len: usize) -> (&[F], &mut [F]) {
    debug_assert_ne!(from, to, "a step reads and writes the same block");
    if from < to {
        let (before, after) = all.split_at_mut(to * len);
        (&before[from * len..][..len], &mut after[..len])
    } else {
        let (before, after) = all.split_at_mut(from * len);
        (&after[..len], &mut before[to * len..][..len])
    }
}

/// Every gradient a backward pass writes, as asked for: the inputs', the weights', and
/// the initial states' (with the final states' gradients it reads).
struct Grads<'a, F> {
    dx: Option<&'a mut [F]>,
    weights: RecurrentGrads<'a, F>,
    states: RunStateGrads<'a, F>,
}

/// The parts of the cache every cell has, at its start: the gathered inputs, the states
/// (and the masked states fed back, with recurrent dropout), the two masks, the inputs'
/// gradient and the recurrent kernel transposed.
const SEQUENCE_PARTS: usize = 7;

/// The lengths of the [`Sequence`] parts for a batch of `n`.
fn sequence_parts(r: &Recurrence, n: usize) -> [usize; SEQUENCE_PARTS] {
    let (steps, units) = (r.time * n, r.units);
    let states = states_len(r, n);
    let fed_back = if r.recurrent_dropout > 0.0 { states } else { 0 };
    [
        steps * r.inputs,
        states,
        fed_back,
        n * r.inputs,
        n * units,
        steps * r.inputs,
        units * r.gates(),
    ]
}

/// The length of a cell's cache for a batch of `n`: the [`Sequence`] parts, then the
/// cell's own `parts`.
fn cache_len<const N: usize>(r: &Recurrence, n: usize, parts: [usize; N]) -> usize {
    sequence_parts(r, n).iter().sum::<usize>() + parts.iter().sum::<usize>()
}

/// The length of `[time + 1, n, units]`: a state of every step, after the state before
/// the first (the initial state, or zeros that no step reads).
fn states_len(r: &Recurrence, n: usize) -> usize {
    (r.time + 1) * n * r.units
}

/// Block `k` of `n` rows of `units` in `all`: in a buffer of [`states_len`], the state
/// before step `k` (the state of step `k - 1`).
fn block<'a, F>(all: &'a [F], r: &Recurrence, n: usize, k: usize) -> &'a [F] {
    let len = n * r.units;
    &all[k * len..][..len]
}

/// What every cell keeps of a sequence, time-major.
struct Sequence<'a, F> {
    /// The inputs as the steps read them, masked: `[time, n, inputs]`.
    xs: &'a mut [F],
    /// The initial state, then every step's: `[time + 1, n, units]`.
    h: &'a mut [F],
    /// The same as fed back, masked (empty without recurrent dropout).
    fed_back: &'a mut [F],
    /// The input features' mask, `[n, inputs]`.
    input_mask: &'a mut [F],
    /// The state's mask, `[n, units]`.
    state_mask: &'a mut [F],
    /// The gradient of `xs`.
    dxs: &'a mut [F],
    /// The recurrent kernel transposed, `[gates, units]`: each backward step's product
    /// reads it in place, where the kernel itself would be copied transposed every step.
    recurrent_t: &'a mut [F],
    /// Which steps' values the forward pass keeps.
    keep: Keep,
    /// Whether the forward pass is training's (set by [`Sequence::start`]).
    training: bool,
}

impl<'a, F: Float> Sequence<'a, F> {
    /// A cell's cache in `buffer`: the sequence's parts at its start, then the cell's own,
    /// of the lengths `parts`.
    fn split<const N: usize>(
        r: &Recurrence,
        n: usize,
        buffer: &'a mut [F],
        keep: Keep,
        parts: [usize; N],
    ) -> (Self, [&'a mut [F]; N]) {
        let lens = sequence_parts(r, n);
        let (sequence, rest) = buffer.split_at_mut(lens.iter().sum());
        let sequence = Sequence::new(split_mut(sequence, lens), keep);
        (sequence, split_mut(rest, parts))
    }

    fn new(parts: [&'a mut [F]; SEQUENCE_PARTS], keep: Keep) -> Self {
        let [xs, h, fed_back, input_mask, state_mask, dxs, recurrent_t] = parts;
        Sequence {
            xs,
            h,
            fed_back,
            input_mask,
            state_mask,
            dxs,
            recurrent_t,
            keep,
            training: false,
        }
    }

    /// Draws the masks (in training, for rates above 0) and keeps the initial state `h0`,
    /// if given, in the block before the first step.
    fn start(
        &mut self,
        r: &Recurrence,
        n: usize,
        h0: Option<&[F]>,
        training: Option<&mut crate::Rng>,
    ) {
        self.training = training.is_some();
        if let Some(rng) = training {
            if r.dropout > 0.0 {
                draw_mask(self.input_mask, r.dropout, rng);
            }
            if r.recurrent_dropout > 0.0 {
                draw_mask(self.state_mask, r.recurrent_dropout, rng);
            }
        }
        if let Some(h0) = h0 {
            self.h[..h0.len()].copy_from_slice(h0);
            self.feed_back(r, n, 0);
        }
    }

    /// Where step `s`'s values live in a part of `[time, n, ·]`: inference keeps one
    /// step's.
    fn step_slot(&self, s: usize) -> usize {
        self.keep.slot(s, 1)
    }

    /// Gathers the inputs of step `s` into its block of `xs` (masked in training with
    /// dropout), and writes their projection `xs·kernel + bias` into its block of `z`
    /// (`[time, n, gates]`).
    fn project(
        &mut self,
        r: &Recurrence,
        n: usize,
        (s, x): (usize, &[F]),
        (kernel, bias): (&[F], Option<&[F]>),
        z: &mut [F],
    ) {
        let (time, inputs, gates) = (r.time, r.inputs, r.gates());
        let (slot, t) = (self.step_slot(s), r.time_of(s));
        let xs = block_mut(self.xs, slot, n * inputs);
        let masked = self.training && r.dropout > 0.0;
        for (b, row) in xs.chunks_exact_mut(inputs).enumerate() {
            let source = &x[(b * time + t) * inputs..][..inputs];
            if masked {
                multiply(row, source, &self.input_mask[b * inputs..][..inputs]);
            } else {
                row.copy_from_slice(source);
            }
        }
        let z = block_mut(z, slot, n * gates);
        dense_forward(xs, kernel, bias, z, n, inputs, gates);
    }

    /// Where block `k` of the states lives (block `s + 1` is step `s`'s): inference keeps
    /// two, the state a step reads and its own.
    fn state_slot(&self, k: usize) -> usize {
        self.keep.slot(k, 2)
    }

    /// The state of step `s`, `[n, units]`.
    fn state(&self, r: &Recurrence, n: usize, s: usize) -> &[F] {
        block(self.h, r, n, self.state_slot(s + 1))
    }

    /// The state step `s` starts from, unmasked, if it reads one.
    fn previous(&self, r: &Recurrence, n: usize, s: usize) -> Option<&[F]> {
        r.reads_state(s)
            .then(|| block(self.h, r, n, self.state_slot(s)))
    }

    /// What step `s` reads and writes of the states: if it reads one, the state fed back
    /// to it (masked in training with recurrent dropout) and the state before it; and its
    /// own state, to write.
    fn step_states(
        &mut self,
        r: &Recurrence,
        n: usize,
        s: usize,
    ) -> (Option<&[F]>, Option<&[F]>, &mut [F]) {
        let len = n * r.units;
        let (from, to) = (self.state_slot(s), self.state_slot(s + 1));
        let (previous, state) = previous_and_next(self.h, from, to, len);
        let fed = match r.masks_state(self.training) {
            true => &self.fed_back[from * len..][..len],
            false => previous,
        };
        let reads = r.reads_state(s);
        (reads.then_some(fed), reads.then_some(previous), state)
    }

    /// After block `k` of the states was written: masks it for feeding back, when
    /// training with recurrent dropout.
    fn feed_back(&mut self, r: &Recurrence, n: usize, k: usize) {
        if !r.masks_state(self.training) {
            return;
        }
        let (len, k) = (n * r.units, self.state_slot(k));
        let h = &self.h[k * len..][..len];
        let fed = &mut self.fed_back[k * len..][..len];
        multiply(fed, h, self.state_mask);
    }

    /// After step `s` wrote its state: [`Sequence::feed_back`] of it, and with
    /// `return_sequences` its place in the output `y`.
    fn finish_step(&mut self, r: &Recurrence, n: usize, s: usize, y: &mut [F]) {
        self.feed_back(r, n, s + 1);
        if r.return_sequences {
            let units = r.units;
            for (b, h) in self.state(r, n, s).chunks_exact(units).enumerate() {
                y[(b * r.time + s) * units..][..units].copy_from_slice(h);
            }
        }
    }

    /// The states fed back to steps `steps` (what their recurrent products read), the
    /// first of which reads a state, as the training forward pass kept them.
    fn fed_to(&self, r: &Recurrence, n: usize, steps: Range<usize>, training: bool) -> &[F] {
        debug_assert!(steps.is_empty() || r.reads_state(steps.start));
        debug_assert_eq!(self.keep, Keep::EveryStep, "inference keeps no steps");
        let len = n * r.units;
        let all = if r.masks_state(training) {
            &*self.fed_back
        } else {
            &*self.h
        };
        &all[steps.start * len..steps.end * len]
    }

    /// The state fed back to step `s`, if it reads one.
    fn fed_to_step(&self, r: &Recurrence, n: usize, s: usize, training: bool) -> Option<&[F]> {
        r.reads_state(s)
            .then(|| self.fed_to(r, n, s..s + 1, training))
    }

    /// After the last step: without `return_sequences`, its state is the output `y`; it
    /// is the final state `h` when asked for.
    fn finish(&self, r: &Recurrence, n: usize, y: &mut [F], h: Option<&mut [F]>) {
        let last = self.state(r, n, r.time - 1);
        if !r.return_sequences {
            y.copy_from_slice(last);
        }
        if let Some(h) = h {
            h.copy_from_slice(last);
        }
    }

    /// `dh = carry + ∂loss/∂y` for step `s`: the output's gradient reaches every step with
    /// `return_sequences`, the last one otherwise; the last step also gets `dh_last`, the
    /// final state's, when it was returned.
    fn state_grad(
        r: &Recurrence,
        s: usize,
        (dy, dh_last): (&[F], Option<&[F]>),
        carry: &[F],
        dh: &mut [F],
    ) {
        let (units, time) = (r.units, r.time);
        dh.copy_from_slice(carry);
        if r.return_sequences {
            for (b, dh) in dh.chunks_exact_mut(units).enumerate() {
                let dy = &dy[(b * time + s) * units..][..units];
                add(dh, dy);
            }
        } else if s == time - 1 {
            add(dh, dy);
        }
        if let Some(dh_last) = dh_last.filter(|_| s == time - 1) {
            add(dh, dh_last);
        }
    }

    /// Transposes the recurrent kernel `[units, gates]` into `recurrent_t`, for
    /// [`Sequence::carry_back`].
    fn transpose_recurrent(&mut self, r: &Recurrence, recurrent: &[F]) {
        transpose(recurrent, r.units, self.recurrent_t);
    }

    /// `carry = drec · recurrent_kernelᵀ`, masked as the state fed back was: the gradient
    /// of the previous step's state through step `s`'s recurrent product.
    fn carry_back(&self, r: &Recurrence, n: usize, drec: &[F], carry: &mut [F]) {
        let (gates, units) = (r.gates(), r.units);
        matmul(
            n,
            gates,
            units,
            drec,
            false,
            self.recurrent_t,
            false,
            carry,
            false,
        );
        self.unmask_carry(r, carry, true);
    }

    /// The gradient of the state fed back becomes the previous state's: masked as the
    /// state was.
    fn unmask_carry(&self, r: &Recurrence, carry: &mut [F], training: bool) {
        if r.masks_state(training) {
            carry
                .iter_mut()
                .zip(&*self.state_mask)
                .for_each(|(c, &m)| *c *= m);
        }
    }

    /// Scatters `dxs` back into `dx`, masked as the inputs were.
    fn scatter_dx(&self, r: &Recurrence, n: usize, dx: &mut [F]) {
        let (time, inputs) = (r.time, r.inputs);
        for s in 0..time {
            let t = r.time_of(s);
            let step = &self.dxs[s * n * inputs..][..n * inputs];
            for (b, row) in step.chunks_exact(inputs).enumerate() {
                let target = &mut dx[(b * time + t) * inputs..][..inputs];
                if r.dropout > 0.0 {
                    multiply(target, row, &self.input_mask[b * inputs..][..inputs]);
                } else {
                    target.copy_from_slice(row);
                }
            }
        }
    }
}

/// Writes the initial states' gradients, those asked for in `states`: `dh0`, the gradient
/// carried back from the first step, and an LSTM's `dc0`.
fn write_initial_grads<F: Float>(states: RunStateGrads<F>, dh0: &[F], dc0: Option<&[F]>) {
    if let Some(h) = states.initial_h {
        h.copy_from_slice(dh0);
    }
    if let (Some(c), Some(dc0)) = (states.initial_c, dc0) {
        c.copy_from_slice(dc0);
    }
}

/// `a += b`.
fn add<F: Float>(a: &mut [F], b: &[F]) {
    a.iter_mut().zip(b).for_each(|(a, &b)| *a += b);
}

/// `out = a ⊙ b`.
fn multiply<F: Float>(out: &mut [F], a: &[F], b: &[F]) {
    for ((out, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *out = a * b;
    }
}

/// Applies each gate's activation to its block of every row: `blocks[k]` is gate `k`'s,
/// over columns `k·units..(k + 1)·units` of rows of `blocks.len()·units` values.
fn gates_forward<F: Float>(blocks: &[Activation], z: &[F], a: &mut [F], units: usize) {
    let width = blocks.len() * units;
    for (z, a) in z.chunks_exact(width).zip(a.chunks_exact_mut(width)) {
        let gates = z.chunks_exact(units).zip(a.chunks_exact_mut(units));
        for (&act, (z, a)) in blocks.iter().zip(gates) {
            activation_forward(act, z, a, units);
        }
    }
}

/// The gradient through [`gates_forward`]: `dz` from `da`.
fn gates_backward<F: Float>(
    blocks: &[Activation],
    z: &[F],
    a: &[F],
    da: &[F],
    dz: &mut [F],
    units: usize,
) {
    let width = blocks.len() * units;
    let rows = z.chunks_exact(width).zip(a.chunks_exact(width));
    for ((z, a), (da, dz)) in rows.zip(da.chunks_exact(width).zip(dz.chunks_exact_mut(width))) {
        let gates = z.chunks_exact(units).zip(a.chunks_exact(units));
        let grads = da.chunks_exact(units).zip(dz.chunks_exact_mut(units));
        for (&act, ((z, a), (da, dz))) in blocks.iter().zip(gates.zip(grads)) {
            activation_backward(act, z, a, da, dz, units);
        }
    }
}

/// After the backward steps: from `dz`, the gradient of every step's input projection
/// (`[time, n, gates]`), the kernel's and `dbias`'s gradients and the inputs'; from
/// `drec`, the gradient of every step's recurrent product, the recurrent kernel's (one
/// product over the steps that read a state and the states fed back to them).
fn finish_backward<F: Float>(
    r: &Recurrence,
    n: usize,
    weights: RecurrentWeights<F>,
    seq: &mut Sequence<F>,
    (dz, drec): (&[F], &[F]),
    dx: Option<&mut [F]>,
    grads: RecurrentGrads<F>,
) {
    let RecurrentGrads {
        kernel: dkernel,
        recurrent_kernel: drecurrent,
        bias: dbias,
    } = grads;
    let (time, inputs, units, gates) = (r.time, r.inputs, r.units, r.gates());
    let dxs = dx.is_some().then_some(&mut *seq.dxs);
    dense_backward(
        seq.xs,
        weights.kernel,
        dz,
        dxs,
        dkernel,
        dbias,
        time * n,
        inputs,
        gates,
    );
    if let Some(dx) = dx {
        seq.scatter_dx(r, n, dx);
    }
    if let Some(drecurrent) = drecurrent {
        // dRᵀ = drecᵀ · states, then transposed: with `gates` rows the product packs the
        // states once and reads `drec` once, where dR's `units` rows would read all of
        // `drec` for each tile of rows (1.6 times slower at LSTM(128)'s sizes).
        let transposed = std::mem::take(&mut seq.recurrent_t);
        let first = r.first_fed();
        let states = seq.fed_to(r, n, first..time, true);
        let later = &drec[first * n * gates..];
        let steps = (time - first) * n;
        matmul(
            gates, steps, units, later, true, states, false, transposed, false,
        );
        transpose(transposed, gates, drecurrent);
        seq.recurrent_t = transposed;
    }
}

/// `to = fromᵀ` for `from` of `rows` rows.
fn transpose<F: Float>(from: &[F], rows: usize, to: &mut [F]) {
    let cols = from.len() / rows;
    for (i, row) in from.chunks_exact(cols).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            to[j * rows + i] = v;
        }
    }
}

/// `rows[b] += bias` for every row.
fn add_bias<F: Float>(rows: &mut [F], bias: &[F]) {
    for row in rows.chunks_exact_mut(bias.len()) {
        row.iter_mut().zip(bias).for_each(|(v, &b)| *v += b);
    }
}

#[cfg(test)]
mod tests;
