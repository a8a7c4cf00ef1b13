//! Adagrad: per-parameter learning rates that shrink as squared gradients accumulate.

use std::ops::Range;

use super::parallel::update_trainable;
use super::{Common, LearningRate, Optimizer, check_non_negative, decayed, ensure_state};
use crate::{AlignedVec, Float};

/// The Adagrad optimizer, as Keras's `Adagrad`: `acc += g²`, then
/// `p −= lr · g / √(acc + ε)`, with `acc` starting at `initial_accumulator_value`.
///
/// ```
/// use strata_runtime::optim::{Adagrad, Optimizer};
///
/// let mut adagrad: Adagrad = Adagrad::new(0.5);
/// let mut params = vec![1.0, 2.0, 3.0, 4.0];
/// adagrad.step(&mut params, &mut [1.0, 6.0, 7.0, 2.0], &[0..4]);
/// assert!((params[0] - 0.5233).abs() < 1e-4 && (params[3] - 3.5061).abs() < 1e-4);
/// ```
#[derive(Clone, Debug)]
pub struct Adagrad<F = f32> {
    common: Common,
    initial_accumulator_value: f64,
    epsilon: f64,
    /// The accumulated squared gradients, one per parameter; empty until the first step.
    accumulators: AlignedVec<F>,
}

impl<F: Float> Adagrad<F> {
    /// Adagrad with this learning rate (Keras's default is 0.001) and Keras's defaults:
    /// `initial_accumulator_value` 0.1, `epsilon` 1e-7.
    ///
    /// ```
    /// # use strata_runtime::optim::Adagrad;
    /// let adagrad: Adagrad = Adagrad::new(0.01).initial_accumulator_value(0.0);
    /// ```
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Adagrad {
            common: Common::new(learning_rate),
            initial_accumulator_value: 0.1,
            epsilon: 1e-7,
            accumulators: AlignedVec::new(),
        }
    }

    hyper_parameters! {
        /// The starting value of every accumulator (Keras's default is 0.1).
        ///
        /// The value is stored as given: [`Optimizer::validate`] (which `fit` and
        /// `train_on_batch` call) refuses an `initial_accumulator_value` that is negative or
        /// not finite.
        ///
        /// ```
        /// # use strata_runtime::optim::Adagrad;
        /// let adagrad: Adagrad = Adagrad::new(0.01).initial_accumulator_value(0.3);
        /// ```
        initial_accumulator_value: f64,

        /// The constant added under the square root (Keras's default is 1e-7).
        ///
        /// The value is stored as given: [`Optimizer::validate`] (which `fit`
        /// and `train_on_batch` call) refuses an `epsilon` that is negative or not finite.
        ///
        /// ```
        /// # use strata_runtime::optim::Adagrad;
        /// let adagrad: Adagrad = Adagrad::new(0.01).epsilon(1e-6);
        /// ```
        epsilon: f64,
    }

    common_builders!(Adagrad, common);
}

impl<F: Float> Default for Adagrad<F> {
    /// Keras's defaults: learning rate 0.001, `initial_accumulator_value` 0.1,
    /// `epsilon` 1e-7.
    fn default() -> Self {
        Adagrad::new(0.001)
    }
}

impl<F: Float> Optimizer<F> for Adagrad<F> {
    common_optimizer_methods!(common, name = "adagrad", class = "Adagrad");

    fn state_vectors(&mut self) -> Vec<(&'static str, &mut AlignedVec<F>)> {
        vec![("accumulator", &mut self.accumulators)]
    }

    fn validate(&self) -> crate::Result<()> {
        let name = "Adagrad";
        self.common.validate(name, "0.001")?;
        let initial = self.initial_accumulator_value;
        let default = "Keras's default is 0.1";
        check_non_negative(name, "initial_accumulator_value", initial, default)?;
        check_non_negative(name, "epsilon", self.epsilon, "Keras's default is 1e-7")
    }

    fn step(&mut self, params: &mut [F], grads: &mut [F], tensors: &[Range<usize>]) {
        self.common.prepare(params, grads, tensors);
        let init = F::of(self.initial_accumulator_value);
        ensure_state(&mut self.accumulators, params.len(), init, "Adagrad");
        let lr = F::of(self.common.rate());
        let eps = F::of(self.epsilon);
        let decay = self.common.decay::<F>();
        let slots = [&mut self.accumulators[..], &mut [][..], &mut [][..]];
        update_trainable(params, grads, slots, tensors, &|p, g, [acc, _, _]| {
            for ((p, &g), acc) in p.iter_mut().zip(g).zip(acc) {
                *acc += g * g;
                *p = decayed(*p, decay) - lr * g / (*acc + eps).sqrt();
            }
        });
        self.common.iterations += 1;
    }
}

#[cfg(test)]
// `&[0..n]`, one trainable tensor, is meant: not a list of indices.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;
    use crate::optim::testing::{
        assert_common_settings_refused, assert_each_invalid, assert_frozen_untouched,
        assert_golden, assert_keras_single_step, minimize_quadratic,
    };

    #[test]
    fn adagrad_first_steps_match_keras_formula() {
        // lr 0.1, acc₀ = 0.1, ε = 1e-7; gradients 0.5 then -1 on p₀ = 1, 2 then 3 on p₀ = -2.
        let mut adagrad: Adagrad<f64> = Adagrad::new(0.1);
        let mut params = vec![1.0, -2.0];
        adagrad.step(&mut params, &mut [0.5, 2.0], &[0..2]);
        let p1 = [
            1.0 - 0.1 * 0.5 / (0.1 + 0.25 + 1e-7_f64).sqrt(),
            -2.0 - 0.1 * 2.0 / (0.1 + 4.0 + 1e-7_f64).sqrt(),
        ];
        assert!((params[0] - p1[0]).abs() < 1e-14 && (params[1] - p1[1]).abs() < 1e-14);
        adagrad.step(&mut params, &mut [-1.0, 3.0], &[0..2]);
        let p2 = [
            p1[0] + 0.1 * 1.0 / (0.1 + 0.25 + 1.0 + 1e-7_f64).sqrt(),
            p1[1] - 0.1 * 3.0 / (0.1 + 4.0 + 9.0 + 1e-7_f64).sqrt(),
        ];
        assert!((params[0] - p2[0]).abs() < 1e-14 && (params[1] - p2[1]).abs() < 1e-14);
    }

    #[test]
    fn adagrad_matches_keras_single_step_test() {
        assert_keras_single_step(Adagrad::new(0.5), [0.5233, 1.5007, 2.5005, 3.5061]);
    }

    #[test]
    fn adagrad_matches_keras_golden_values() {
        let golden = [
            [0.9963; 10],
            [
                0.9604, 0.9278, 0.9003, 0.8784, 0.8615, 0.8487, 0.8388, 0.8313, 0.8255, 0.8209,
            ],
            [
                0.9251, 0.8629, 0.8137, 0.7768, 0.7497, 0.7298, 0.7151, 0.704, 0.6956, 0.6891,
            ],
            [
                0.8903, 0.8012, 0.7342, 0.6862, 0.6521, 0.6277, 0.6099, 0.5967, 0.5867, 0.579,
            ],
            [
                0.856, 0.7422, 0.6604, 0.6037, 0.5644, 0.5367, 0.5168, 0.5021, 0.491, 0.4825,
            ],
        ];
        let adagrad = Adagrad::new(0.2)
            .initial_accumulator_value(0.3)
            .epsilon(1e-6);
        assert_golden(adagrad, &golden);
    }

    #[test]
    fn adagrad_minimizes_a_quadratic() {
        assert!(minimize_quadratic(&mut Adagrad::new(0.5), 2000) < 1e-6);
    }

    #[test]
    fn adagrad_leaves_frozen_parameters_bit_identical() {
        assert_frozen_untouched(Adagrad::new(0.1).weight_decay(0.1).clipvalue(1.0));
    }

    #[test]
    fn adagrad_names_and_defaults_follow_keras() {
        let adagrad: Adagrad = Adagrad::default();
        assert_eq!(Optimizer::<f32>::name(&adagrad), "adagrad");
        assert_eq!(Optimizer::<f32>::learning_rate(&adagrad), 0.001);
        assert_eq!(
            (adagrad.initial_accumulator_value, adagrad.epsilon),
            (0.1, 1e-7)
        );
    }

    #[test]
    fn adagrad_validate_accepts_good_settings() {
        let adagrad: Adagrad = Adagrad::default();
        assert!(Optimizer::<f32>::validate(&adagrad).is_ok());
        let adagrad: Adagrad = Adagrad::new(0.0)
            .initial_accumulator_value(0.0)
            .epsilon(0.0);
        assert!(Optimizer::<f32>::validate(&adagrad).is_ok());
    }

    #[test]
    fn adagrad_validate_refuses_each_bad_hyper_parameter() {
        let cases: [(Adagrad, &str, &str); 4] = [
            (
                Adagrad::new(f64::NEG_INFINITY),
                "learning_rate",
                "Adagrad learning_rate must be a finite number >= 0, got -inf; Keras's default \
                 is 0.001",
            ),
            (
                Adagrad::new(0.01).initial_accumulator_value(-0.1),
                "initial_accumulator_value",
                "Adagrad initial_accumulator_value must be a finite number >= 0, got -0.1; \
                 Keras's default is 0.1",
            ),
            (
                Adagrad::new(0.01).initial_accumulator_value(f64::INFINITY),
                "initial_accumulator_value",
                "Adagrad initial_accumulator_value must be a finite number >= 0, got inf; \
                 Keras's default is 0.1",
            ),
            (
                Adagrad::new(0.01).epsilon(-1e-7),
                "epsilon",
                "Adagrad epsilon must be a finite number >= 0, got -1e-7; Keras's default is \
                 1e-7",
            ),
        ];
        assert_each_invalid(&cases);
        assert_common_settings_refused!(Adagrad, 0.01);
    }
}
