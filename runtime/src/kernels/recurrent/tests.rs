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

/// `Σ weights ⊙ y` for the layer's training forward pass, with the dropout masks of a
/// fixed seed.
struct Probe {
    r: Recurrence,
    n: usize,
    x: Vec<f64>,
    kernel: Vec<f64>,
    recurrent: Vec<f64>,
    bias: Vec<f64>,
    weights: Vec<f64>,
}

impl Probe {
    fn new(r: Recurrence, n: usize, seed: u64) -> Self {
        let mut rng = crate::Rng::seed_from_u64(seed);
        let mut draw = |len: usize, scale: f64| -> Vec<f64> {
            random_away_from_zero(len, &mut rng)
                .into_iter()
                .map(|v| v * scale)
                .collect()
        };
        Probe {
            x: draw(n * r.time * r.inputs, 1.0),
            kernel: draw(r.inputs * r.gates(), 0.5),
            recurrent: draw(r.units * r.gates(), 0.5),
            bias: draw(bias_len(&r), 0.3),
            weights: draw(n * r.output_len(), 1.0),
            r,
            n,
        }
    }

    fn loss(&self, x: &[f64], kernel: &[f64], recurrent: &[f64], bias: &[f64]) -> f64 {
        let mut y = vec![f64::NAN; self.n * self.r.output_len()];
        // A cache longer than the batch needs, and dirty: nothing may depend on either.
        let mut cache = vec![f64::NAN; self.r.cache_len(self.n + 1)];
        let weights = RecurrentWeights {
            kernel,
            recurrent_kernel: recurrent,
            bias: Some(bias),
        };
        let mut rng = crate::Rng::seed_from_u64(99);
        recurrent_forward(
            &self.r,
            self.n,
            x,
            weights,
            &mut y,
            &mut cache,
            Some(&mut rng),
        );
        y.iter().zip(&self.weights).map(|(y, w)| y * w).sum()
    }

    fn check(&self) {
        let (r, n) = (&self.r, self.n);
        let mut y = vec![f64::NAN; n * r.output_len()];
        let mut cache = vec![f64::NAN; r.cache_len(n + 1)];
        let weights = RecurrentWeights {
            kernel: &self.kernel,
            recurrent_kernel: &self.recurrent,
            bias: Some(&self.bias),
        };
        let mut rng = crate::Rng::seed_from_u64(99);
        recurrent_forward(r, n, &self.x, weights, &mut y, &mut cache, Some(&mut rng));
        let mut dx = vec![f64::NAN; self.x.len()];
        let mut dkernel = vec![f64::NAN; self.kernel.len()];
        let mut drecurrent = vec![f64::NAN; self.recurrent.len()];
        let mut dbias = vec![f64::NAN; self.bias.len()];
        let grads = RecurrentGrads {
            kernel: Some(&mut dkernel),
            recurrent_kernel: Some(&mut drecurrent),
            bias: Some(&mut dbias),
        };
        recurrent_backward(
            r,
            n,
            weights,
            &self.weights,
            Some(&mut dx),
            grads,
            &mut cache,
        );
        let what = |name: &str| format!("{r:?}: {name}");
        let (x, k, rk, b) = (&self.x, &self.kernel, &self.recurrent, &self.bias);
        assert_gradient_matches(&what("dx"), |x| self.loss(x, k, rk, b), x, &dx);
        assert_gradient_matches(&what("dkernel"), |k| self.loss(x, k, rk, b), k, &dkernel);
        assert_gradient_matches(
            &what("drecurrent_kernel"),
            |rk| self.loss(x, k, rk, b),
            rk,
            &drecurrent,
        );
        assert_gradient_matches(&what("dbias"), |b| self.loss(x, k, rk, b), b, &dbias);
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
fn one_step_and_one_unit_are_handled() {
    for cell in cells() {
        let r = Recurrence {
            time: 1,
            units: 1,
            ..recurrence(cell, true, false)
        };
        Probe::new(r, 2, 3).check();
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
    recurrent_forward(&r, n, &x, weights, &mut y, &mut cache, None);
    assert!(
        y.chunks_exact(3).all(|y| y == [2.0, 4.0, 6.0]),
        "inference drops nothing"
    );
    let mut rng = crate::Rng::seed_from_u64(1);
    recurrent_forward(&r, n, &x, weights, &mut y, &mut cache, Some(&mut rng));
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
