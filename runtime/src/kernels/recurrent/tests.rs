//! Finite-difference checks of every cell's backward pass, through time, in every mode.
//! (Forward values against Keras's equations are checked on whole models in
//! `tests/rnn.rs`.)

use rand::SeedableRng;

use super::*;
use crate::kernels::gradcheck::{assert_gradient_matches, random_away_from_zero};

const TANH: Activation = Activation::Tanh;
const SIGMOID: Activation = Activation::Sigmoid;

/// Every cell, with Keras's activations and with others (whose derivatives need `z`).
fn cells() -> Vec<Cell> {
    vec![
        Cell::SimpleRnn { activation: TANH },
        Cell::SimpleRnn {
            activation: Activation::Elu,
        },
        Cell::Lstm {
            activation: TANH,
            recurrent_activation: SIGMOID,
        },
        Cell::Lstm {
            activation: Activation::Silu,
            recurrent_activation: SIGMOID,
        },
        Cell::Lstm {
            activation: TANH,
            recurrent_activation: Activation::Softplus,
        },
        Cell::Gru {
            activation: TANH,
            recurrent_activation: SIGMOID,
            reset_after: true,
        },
        Cell::Gru {
            activation: TANH,
            recurrent_activation: SIGMOID,
            reset_after: false,
        },
        Cell::Gru {
            activation: Activation::Gelu,
            recurrent_activation: SIGMOID,
            reset_after: false,
        },
    ]
}

fn bias_len(r: &Recurrence) -> usize {
    match r.cell {
        Cell::Gru {
            reset_after: true, ..
        } => 2 * r.gates(),
        _ => r.gates(),
    }
}

/// `Σ weights ⊙ y + Σ state_weights ⊙ (h, c)` for the layer's training forward pass, with
/// the dropout masks of a fixed seed, from the initial states when the layer has them.
struct Probe {
    r: Recurrence,
    n: usize,
    x: Vec<f64>,
    kernel: Vec<f64>,
    recurrent: Vec<f64>,
    bias: Vec<f64>,
    /// `[h0, c0]` (`c0` empty but for an LSTM), each `[n, units]`.
    initial: [Vec<f64>; 2],
    weights: Vec<f64>,
    /// The weights of the final states `[h, c]` (`c` empty but for an LSTM), or empty
    /// when the states are not returned.
    state_weights: [Vec<f64>; 2],
}

/// What the loss is a function of: x, the kernel, the recurrent kernel, the bias and the
/// initial states h0 and c0.
type Inputs<'a> = [&'a [f64]; 6];

/// The names of [`Inputs`]' gradients.
const GRADIENTS: [&str; 6] = ["dx", "dkernel", "drecurrent_kernel", "dbias", "dh0", "dc0"];

impl Probe {
    fn new(r: Recurrence, n: usize, seed: u64) -> Self {
        Self::with_states(r, n, seed, false)
    }

    /// A probe that also weighs the final states when `return_state`.
    fn with_states(r: Recurrence, n: usize, seed: u64, return_state: bool) -> Self {
        let mut rng = crate::Rng::seed_from_u64(seed);
        let mut draw = |len: usize, scale: f64| -> Vec<f64> {
            random_away_from_zero(len, &mut rng)
                .into_iter()
                .map(|v| v * scale)
                .collect()
        };
        let state = n * r.units;
        let cell = if r.has_cell() { state } else { 0 };
        let (initial_h, initial_c) = match r.initial_state {
            true => (state, cell),
            false => (0, 0),
        };
        let (last_h, last_c) = match return_state {
            true => (state, cell),
            false => (0, 0),
        };
        Probe {
            x: draw(n * r.time * r.inputs, 1.0),
            kernel: draw(r.inputs * r.gates(), 0.5),
            recurrent: draw(r.units * r.gates(), 0.5),
            bias: draw(bias_len(&r), 0.3),
            initial: [draw(initial_h, 0.8), draw(initial_c, 0.8)],
            weights: draw(n * r.output_len(), 1.0),
            state_weights: [draw(last_h, 1.0), draw(last_c, 1.0)],
            r,
            n,
        }
    }

    fn inputs(&self) -> Inputs<'_> {
        let [h0, c0] = &self.initial;
        [&self.x, &self.kernel, &self.recurrent, &self.bias, h0, c0]
    }

    /// The forward pass on `inputs`: its output and final states `[h, c]`, and its cache.
    fn forward(&self, inputs: Inputs) -> (Vec<f64>, [Vec<f64>; 2], Vec<f64>) {
        let (r, n) = (&self.r, self.n);
        let mut y = vec![f64::NAN; n * r.output_len()];
        let mut last = self.state_weights.clone().map(|w| vec![f64::NAN; w.len()]);
        // A cache longer than the batch needs, and dirty: nothing may depend on either.
        let mut cache = vec![f64::NAN; r.cache_len(n + 1)];
        let [x, kernel, recurrent, bias, h0, c0] = inputs;
        let weights = RecurrentWeights {
            kernel,
            recurrent_kernel: recurrent,
            bias: Some(bias),
        };
        let [h, c] = &mut last;
        let states = RunStates {
            initial: r.initial_state.then_some(States {
                h: h0,
                c: r.has_cell().then_some(c0),
            }),
            last: (!h.is_empty()).then(|| StatesMut {
                h,
                c: r.has_cell().then_some(c),
            }),
        };
        let mut rng = crate::Rng::seed_from_u64(99);
        let training = Some(&mut rng);
        recurrent_forward(r, n, x, weights, &mut y, states, &mut cache, training);
        (y, last, cache)
    }

    fn loss(&self, inputs: Inputs) -> f64 {
        let (y, last, _) = self.forward(inputs);
        let weighted = |v: &[f64], w: &[f64]| v.iter().zip(w).map(|(v, w)| v * w).sum::<f64>();
        weighted(&y, &self.weights)
            + weighted(&last[0], &self.state_weights[0])
            + weighted(&last[1], &self.state_weights[1])
    }

    fn check(&self) {
        let (r, n) = (&self.r, self.n);
        let (_, _, mut cache) = self.forward(self.inputs());
        let weights = RecurrentWeights {
            kernel: &self.kernel,
            recurrent_kernel: &self.recurrent,
            bias: Some(&self.bias),
        };
        let mut dx = vec![f64::NAN; self.x.len()];
        let mut dkernel = vec![f64::NAN; self.kernel.len()];
        let mut drecurrent = vec![f64::NAN; self.recurrent.len()];
        let mut dbias = vec![f64::NAN; self.bias.len()];
        let mut dinitial = self.initial.clone().map(|s| vec![f64::NAN; s.len()]);
        let grads = RecurrentGrads {
            kernel: Some(&mut dkernel),
            recurrent_kernel: Some(&mut drecurrent),
            bias: Some(&mut dbias),
        };
        let [wh, wc] = &self.state_weights;
        let [dh0, dc0] = &mut dinitial;
        let states = RunStateGrads {
            last: (!wh.is_empty()).then_some(States {
                h: wh,
                c: r.has_cell().then_some(&wc[..]),
            }),
            initial_h: r.initial_state.then_some(&mut dh0[..]),
            initial_c: (r.initial_state && r.has_cell()).then_some(&mut dc0[..]),
        };
        let dy = &self.weights;
        recurrent_backward(r, n, weights, dy, Some(&mut dx), grads, states, &mut cache);
        let at = self.inputs();
        let [dh0, dc0] = dinitial;
        let grads = [dx, dkernel, drecurrent, dbias, dh0, dc0];
        for (k, (name, grad)) in GRADIENTS.iter().zip(&grads).enumerate() {
            let loss = |value: &[f64]| {
                let mut inputs = at;
                inputs[k] = value;
                self.loss(inputs)
            };
            assert_gradient_matches(&format!("{r:?}: {name}"), loss, at[k], grad);
        }
    }
}

fn recurrence(cell: Cell, return_sequences: bool, go_backwards: bool) -> Recurrence {
    Recurrence {
        cell,
        time: 4,
        inputs: 3,
        units: 5,
        return_sequences,
        go_backwards,
        initial_state: false,
        dropout: 0.0,
        recurrent_dropout: 0.0,
    }
}

#[test]
fn every_cell_backward_matches_finite_differences_through_time() {
    for (seed, cell) in cells().into_iter().enumerate() {
        for return_sequences in [false, true] {
            for go_backwards in [false, true] {
                let r = recurrence(cell, return_sequences, go_backwards);
                Probe::new(r, 3, seed as u64).check();
            }
        }
    }
}

#[test]
fn backward_with_dropout_masks_matches_finite_differences() {
    for (seed, cell) in cells().into_iter().enumerate() {
        for (dropout, recurrent_dropout) in [(0.3, 0.0), (0.0, 0.4), (0.25, 0.5)] {
            let r = Recurrence {
                dropout,
                recurrent_dropout,
                ..recurrence(cell, true, seed % 2 == 1)
            };
            Probe::new(r, 4, 10 + seed as u64).check();
        }
    }
}

#[test]
fn initial_and_final_states_backward_matches_finite_differences() {
    for (seed, cell) in cells().into_iter().enumerate() {
        for (return_sequences, go_backwards) in [(false, false), (true, true), (true, false)] {
            for initial_state in [false, true] {
                let r = Recurrence {
                    initial_state,
                    ..recurrence(cell, return_sequences, go_backwards)
                };
                Probe::with_states(r, 3, 20 + seed as u64, true).check();
            }
            // The initial states' gradient, without the final states'.
            let r = Recurrence {
                initial_state: true,
                ..recurrence(cell, return_sequences, go_backwards)
            };
            Probe::new(r, 2, 40 + seed as u64).check();
        }
    }
}

#[test]
fn initial_states_with_dropout_masks_backward_matches_finite_differences() {
    // Not softplus gates: unbounded, they grow the loss to hundreds over the scaled masks,
    // and its finite differences round off past the tolerance.
    let bounded = |cell: &Cell| {
        !matches!(
            cell,
            Cell::Lstm {
                recurrent_activation: Activation::Softplus,
                ..
            }
        )
    };
    for (seed, cell) in cells().into_iter().filter(bounded).enumerate() {
        let r = Recurrence {
            initial_state: true,
            dropout: 0.25,
            recurrent_dropout: 0.5,
            ..recurrence(cell, seed % 2 == 0, seed % 3 == 0)
        };
        Probe::with_states(r, 4, 60 + seed as u64, true).check();
    }
}

#[test]
fn one_step_and_one_unit_are_handled() {
    for cell in cells() {
        let r = Recurrence {
            time: 1,
            units: 1,
            ..recurrence(cell, true, false)
        };
        Probe::new(r, 2, 3).check();
        let r = Recurrence {
            initial_state: true,
            ..r
        };
        Probe::with_states(r, 2, 4, true).check();
    }
}

#[test]
fn dropout_is_training_only_and_masks_whole_features_across_steps() {
    let cell = Cell::SimpleRnn {
        activation: Activation::Linear,
    };
    // One unit that sums its inputs: h = x₁ + x₂ + h₋₁.
    let r = Recurrence {
        time: 3,
        inputs: 2,
        units: 1,
        dropout: 0.5,
        ..recurrence(cell, true, false)
    };
    let n = 64;
    let x = vec![1.0f64; n * 3 * 2];
    let weights = RecurrentWeights {
        kernel: &[1.0, 1.0],
        recurrent_kernel: &[1.0],
        bias: None,
    };
    let mut y = vec![0.0; n * 3];
    let mut cache = vec![0.0; r.cache_len(n)];
    let none = RunStates::default;
    recurrent_forward(&r, n, &x, weights, &mut y, none(), &mut cache, None);
    assert!(
        y.chunks_exact(3).all(|y| y == [2.0, 4.0, 6.0]),
        "inference drops nothing"
    );
    let mut rng = crate::Rng::seed_from_u64(1);
    recurrent_forward(
        &r,
        n,
        &x,
        weights,
        &mut y,
        none(),
        &mut cache,
        Some(&mut rng),
    );
    // Each feature is kept (×2) or dropped for the whole sequence: every step adds the
    // same 0, 2 or 4.
    for y in y.chunks_exact(3) {
        assert!([0.0, 2.0, 4.0].contains(&y[0]), "{y:?}");
        assert_eq!([y[1], y[2]], [2.0 * y[0], 3.0 * y[0]], "{y:?}");
    }
    assert!(
        y.chunks_exact(3).any(|y| y[0] != 2.0),
        "some feature is dropped"
    );
}

/// The output and final states `[h, c]` of a run over `x`, and the cache it leaves (NaN
/// where it wrote nothing), in training (without dropout, keeping every step) or in
/// inference.
#[allow(clippy::type_complexity)]
fn run_both<F: Float>(
    r: &Recurrence,
    n: usize,
    inputs: [&[F]; 6],
    training: bool,
) -> (Vec<F>, [Vec<F>; 2], Vec<F>) {
    let [x, kernel, recurrent, bias, h0, c0] = inputs;
    let weights = RecurrentWeights {
        kernel,
        recurrent_kernel: recurrent,
        bias: Some(bias),
    };
    let state = n * r.units;
    let mut y = vec![F::nan(); n * r.output_len()];
    let (mut h, mut c) = (vec![F::nan(); state], vec![F::nan(); state]);
    let states = RunStates {
        initial: r.initial_state.then_some(States {
            h: h0,
            c: r.has_cell().then_some(c0),
        }),
        last: Some(StatesMut {
            h: &mut h,
            c: r.has_cell().then_some(&mut c[..]),
        }),
    };
    // Longer than the batch needs, and dirty: nothing may depend on either.
    let mut cache = vec![F::nan(); r.cache_len(n + 1)];
    if training {
        let mut rng = crate::Rng::seed_from_u64(7);
        recurrent_forward(r, n, x, weights, &mut y, states, &mut cache, Some(&mut rng));
    } else {
        recurrent_forward(r, n, x, weights, &mut y, states, &mut cache, None);
    }
    (y, [h, c], cache)
}

/// Asserts that inference gives what the training forward pass gives, bit for bit, in
/// `F`, for `n` sequences of `r`.
fn assert_inference_equals_training<F: Float>(r: &Recurrence, n: usize, seed: u64) {
    let mut rng = crate::Rng::seed_from_u64(seed);
    let mut draw = |len: usize| -> Vec<F> {
        random_away_from_zero(len, &mut rng)
            .into_iter()
            .map(|v| F::of(v * 0.5))
            .collect()
    };
    let state = n * r.units;
    let values = [
        draw(n * r.time * r.inputs),
        draw(r.inputs * r.gates()),
        draw(r.units * r.gates()),
        draw(bias_len(r)),
        draw(state),
        draw(state),
    ];
    let inputs = [0, 1, 2, 3, 4, 5].map(|i| &values[i][..]);
    let (y, last, _) = run_both(r, n, inputs, true);
    let (y_inference, last_inference, _) = run_both(r, n, inputs, false);
    let bits = |v: &[F]| v.iter().map(|v| v.as_f64().to_bits()).collect::<Vec<_>>();
    assert!(
        y.iter().all(|v| v.is_finite()),
        "{r:?}: the output is written"
    );
    assert_eq!(bits(&y_inference), bits(&y), "{r:?}: output");
    let cells = if r.has_cell() { 2 } else { 1 };
    for (k, (got, want)) in last_inference.iter().zip(&last).take(cells).enumerate() {
        assert_eq!(bits(got), bits(want), "{r:?}: final state {k}");
    }
}

#[test]
fn inference_equals_the_training_forward_pass_bit_for_bit() {
    // Odd sizes: 37 sequences of 11 steps, one sequence, one step.
    let (n, time) = (37, 11);
    for (seed, cell) in cells().into_iter().enumerate() {
        for return_sequences in [false, true] {
            for go_backwards in [false, true] {
                for initial_state in [false, true] {
                    let r = Recurrence {
                        time,
                        initial_state,
                        ..recurrence(cell, return_sequences, go_backwards)
                    };
                    assert_inference_equals_training::<f32>(&r, n, seed as u64);
                    assert_inference_equals_training::<f64>(&r, n, seed as u64);
                    // One sequence: its products are a row times a matrix.
                    assert_inference_equals_training::<f32>(&r, 1, seed as u64);
                    let r = Recurrence { time: 1, ..r };
                    assert_inference_equals_training::<f32>(&r, 1, seed as u64);
                }
            }
        }
    }
}

#[test]
fn inference_writes_as_much_of_the_cache_whatever_the_sequence_length() {
    // What inference keeps is the states and one step's values: as many values for 9
    // steps as for 27, where training keeps every step's.
    let written = |cache: &[f32]| cache.iter().filter(|v| !v.is_nan()).count();
    for cell in cells() {
        let n = 5;
        let counts = [9, 27].map(|time| {
            let r = Recurrence {
                time,
                initial_state: true,
                ..recurrence(cell, true, false)
            };
            let x = vec![0.5f32; n * time * r.inputs];
            let (kernel, recurrent) = (
                vec![0.1; r.inputs * r.gates()],
                vec![0.2; r.units * r.gates()],
            );
            let (bias, state) = (vec![0.3; bias_len(&r)], vec![0.4; n * r.units]);
            let inputs = [&x[..], &kernel, &recurrent, &bias, &state, &state];
            [false, true].map(|training| written(&run_both(&r, n, inputs, training).2))
        });
        let [[inference_9, training_9], [inference_27, training_27]] = counts;
        assert_eq!(inference_9, inference_27, "{cell:?} {counts:?}");
        assert!(training_27 > 2 * training_9, "{cell:?}");
        assert!(5 * inference_27 < training_27, "{cell:?} {counts:?}");
    }
}
