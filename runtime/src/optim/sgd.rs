//! Stochastic gradient descent, with optional (Nesterov) momentum.

use std::ops::Range;

use super::parallel::update_trainable;
use super::{Common, LearningRate, Optimizer, check_fraction, decayed, ensure_state};
use crate::{AlignedVec, Float};

/// Gradient descent with optional momentum, as Keras's `SGD`.
///
/// Without momentum, `p -= lr * g`. With momentum, `v = momentum * v - lr * g`, then
/// `p += v`, or with Nesterov momentum `p += momentum * v - lr * g`.
///
/// ```
/// use strata_runtime::optim::{Optimizer, SGD};
///
/// let mut sgd: SGD = SGD::new(0.5);
/// let mut params = vec![1.0, 2.0];
/// sgd.step(&mut params, &mut [1.0, -2.0], &[0..2]);
/// assert_eq!(params, [0.5, 3.0]);
/// ```
// Keras's name for the optimizer.
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Debug)]
pub struct SGD<F = f32> {
    common: Common,
    momentum: f64,
    nesterov: bool,
    /// The velocities, one per parameter; empty until the first step, and without momentum.
    velocities: AlignedVec<F>,
}

impl<F: Float> SGD<F> {
    /// SGD with this learning rate (Keras's default is 0.01), without momentum.
    ///
    /// ```
    /// # use strata_runtime::optim::SGD;
    /// let sgd: SGD = SGD::new(0.1).momentum(0.9).nesterov(true);
    /// ```
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        SGD {
            common: Common::new(learning_rate),
            momentum: 0.0,
            nesterov: false,
            velocities: AlignedVec::new(),
        }
    }

    hyper_parameters! {
        /// The momentum, in `[0, 1]` (Keras's default is 0: plain gradient descent).
        ///
        /// The value is stored as given: [`Optimizer::validate`] (which `fit`
        /// and `train_on_batch` call) refuses a `momentum` outside `[0, 1]`.
        ///
        /// ```
        /// # use strata_runtime::optim::SGD;
        /// let sgd: SGD = SGD::new(0.1).momentum(0.9);
        /// ```
        momentum: f64,

        /// Whether to use Nesterov momentum (Keras's default is `false`).
        ///
        /// ```
        /// # use strata_runtime::optim::SGD;
        /// let sgd: SGD = SGD::new(0.1).momentum(0.9).nesterov(true);
        /// ```
        nesterov: bool,
    }

    common_builders!(SGD, common);
}

impl<F: Float> Default for SGD<F> {
    /// Keras's defaults: learning rate 0.01, no momentum.
    fn default() -> Self {
        SGD::new(0.01)
    }
}

impl<F: Float> Optimizer<F> for SGD<F> {
    common_optimizer_methods!(common, name = "SGD", class = "SGD");

    fn state_vectors(&mut self) -> Vec<(&'static str, &mut AlignedVec<F>)> {
        if self.momentum == 0.0 {
            Vec::new()
        } else {
            vec![("momentum", &mut self.velocities)]
        }
    }

    fn validate(&self) -> crate::Result<()> {
        self.common.validate("SGD", "0.01")?;
        check_fraction(
            "SGD",
            "momentum",
            self.momentum,
            true,
            "Keras's default is 0 (no momentum); 0.9 is a common choice",
        )
    }

    fn step(&mut self, params: &mut [F], grads: &mut [F], tensors: &[Range<usize>]) {
        self.common.prepare(params, grads, tensors);
        let lr = F::of(self.common.rate());
        let decay = self.common.decay::<F>();
        if self.momentum == 0.0 {
            let no_slots = [&mut [][..], &mut [][..], &mut [][..]];
            update_trainable(params, grads, no_slots, tensors, &|p, g, _| {
                for (p, &g) in p.iter_mut().zip(g) {
                    *p = decayed(*p, decay) - g * lr;
                }
            });
        } else {
            ensure_state(&mut self.velocities, params.len(), F::zero(), "SGD");
            let momentum = F::of(self.momentum);
            let nesterov = self.nesterov;
            let slots = [&mut self.velocities[..], &mut [][..], &mut [][..]];
            update_trainable(params, grads, slots, tensors, &|p, g, [v, _, _]| {
                for ((p, &g), v) in p.iter_mut().zip(g).zip(v) {
                    *v = (*v * momentum - g * lr).flushed();
                    let step = if nesterov { *v * momentum - g * lr } else { *v };
                    *p = decayed(*p, decay) + step;
                }
            });
        }
        self.common.iterations += 1;
    }
}

#[cfg(test)]
// `&[0..n]`, one trainable tensor, is meant: not a list of indices.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;
    use crate::optim::testing::{
        GRADS, assert_close, assert_common_settings_refused, assert_each_invalid,
        assert_frozen_untouched, assert_golden, minimize_quadratic, trajectory,
    };

    #[test]
    fn sgd_first_steps_match_keras_formula() {
        // p -= lr * g, lr = 0.1.
        let expected = [
            [1.0 - 0.05, -2.0 + 0.1, 0.5 - 0.2],
            [0.95 - 0.025, -1.9 - 0.05, 0.3 + 0.1],
            [0.925 + 0.075, -1.95 - 0.01, 0.4 - 0.03],
        ];
        assert_close(&trajectory(SGD::new(0.1), &GRADS), &expected);
    }

    #[test]
    fn sgd_momentum_first_steps_match_keras_formula() {
        // v = 0.9 v - 0.1 g; p += v.
        let v1 = [-0.05, 0.1, -0.2];
        let v2 = [0.9 * -0.05 - 0.025, 0.9 * 0.1 - 0.05, 0.9 * -0.2 + 0.1];
        let v3 = [0.9 * v2[0] + 0.075, 0.9 * v2[1] - 0.01, 0.9 * v2[2] - 0.03];
        let p1 = [1.0 + v1[0], -2.0 + v1[1], 0.5 + v1[2]];
        let p2 = [p1[0] + v2[0], p1[1] + v2[1], p1[2] + v2[2]];
        let p3 = [p2[0] + v3[0], p2[1] + v3[1], p2[2] + v3[2]];
        assert_close(
            &trajectory(SGD::new(0.1).momentum(0.9), &GRADS),
            &[p1, p2, p3],
        );
    }

    #[test]
    fn sgd_nesterov_first_steps_match_keras_formula() {
        // v = 0.9 v - 0.1 g; p += 0.9 v - 0.1 g.
        let v1 = [-0.05, 0.1, -0.2];
        let v2 = [0.9 * -0.05 - 0.025, 0.9 * 0.1 - 0.05, 0.9 * -0.2 + 0.1];
        let p1 = [
            1.0 + 0.9 * v1[0] - 0.05,
            -2.0 + 0.9 * v1[1] + 0.1,
            0.5 + 0.9 * v1[2] - 0.2,
        ];
        let p2 = [
            p1[0] + 0.9 * v2[0] - 0.025,
            p1[1] + 0.9 * v2[1] - 0.05,
            p1[2] + 0.9 * v2[2] + 0.1,
        ];
        let got = trajectory(SGD::new(0.1).momentum(0.9).nesterov(true), &GRADS);
        assert_close(&got[..2], &[p1, p2]);
    }

    #[test]
    fn sgd_weight_decay_is_applied_before_the_update() {
        // Keras's `test_weight_decay`: lr 1, weight_decay 0.004, zero gradient, p = 2.
        let mut sgd: SGD<f64> = SGD::new(1.0).weight_decay(0.004);
        let mut params = vec![2.0];
        sgd.step(&mut params, &mut [0.0], &[0..1]);
        assert!((params[0] - (2.0 - 2.0 * 0.004)).abs() < 1e-15);
        // With a gradient and momentum: p = p - p * wd * lr, then p += v.
        let mut sgd: SGD<f64> = SGD::new(0.1).momentum(0.5).weight_decay(0.1);
        let mut params = vec![2.0];
        sgd.step(&mut params, &mut [1.0], &[0..1]);
        assert!((params[0] - (2.0 - 2.0 * 0.1 * 0.1 - 0.1)).abs() < 1e-15);
    }

    #[test]
    fn sgd_matches_keras_golden_values() {
        // Keras's `test_correctness_with_golden`: SGD(nesterov=True) (momentum 0), one step
        // with gradient 0.01, then steps with gradient [0.1, 0.2, ..., 1.0].
        let golden = [
            [0.9999; 10],
            [
                0.9989, 0.9979, 0.9969, 0.9959, 0.9949, 0.9939, 0.9929, 0.9919, 0.9909, 0.9899,
            ],
            [
                0.9979, 0.9959, 0.9939, 0.9919, 0.9899, 0.9879, 0.9859, 0.9839, 0.9819, 0.9799,
            ],
            [
                0.9969, 0.9939, 0.9909, 0.9879, 0.9849, 0.9819, 0.9789, 0.9759, 0.9729, 0.9699,
            ],
            [
                0.9959, 0.9919, 0.9879, 0.9839, 0.9799, 0.9759, 0.9719, 0.9679, 0.9639, 0.9599,
            ],
        ];
        let sgd: SGD = SGD::default().nesterov(true);
        assert_golden(sgd, &golden);
    }

    #[test]
    fn sgd_minimizes_a_quadratic() {
        assert!(minimize_quadratic(&mut SGD::new(0.1), 200) < 1e-6);
        assert!(minimize_quadratic(&mut SGD::new(0.05).momentum(0.9), 300) < 1e-6);
        let mut nesterov = SGD::new(0.05).momentum(0.9).nesterov(true);
        assert!(minimize_quadratic(&mut nesterov, 300) < 1e-6);
    }

    #[test]
    fn sgd_leaves_frozen_parameters_bit_identical() {
        for momentum in [0.0, 0.9] {
            let sgd = SGD::new(0.1)
                .momentum(momentum)
                .weight_decay(0.1)
                .global_clipnorm(1.0);
            assert_frozen_untouched(sgd);
        }
    }

    #[test]
    fn sgd_counts_iterations_and_sets_the_learning_rate() {
        let mut sgd: SGD = SGD::default();
        assert_eq!(
            (sgd.name(), sgd.learning_rate(), sgd.iterations()),
            ("SGD", 0.01, 0)
        );
        sgd.set_learning_rate(0.5).unwrap();
        let mut params = vec![1.0];
        sgd.step(&mut params, &mut [1.0], &[0..1]);
        assert_eq!((params[0], sgd.iterations()), (0.5, 1));
    }

    #[test]
    fn sgd_validate_accepts_good_settings() {
        let sgd: SGD = SGD::default();
        assert!(Optimizer::<f32>::validate(&sgd).is_ok());
        let sgd: SGD = SGD::new(0.0)
            .momentum(1.0)
            .nesterov(true)
            .weight_decay(0.0)
            .clipnorm(1.0);
        assert!(Optimizer::<f32>::validate(&sgd).is_ok());
    }

    #[test]
    fn sgd_validate_refuses_each_bad_hyper_parameter() {
        let cases: [(SGD, &str, &str); 7] = [
            (
                SGD::new(-0.1),
                "learning_rate",
                "SGD learning_rate must be a finite number >= 0, got -0.1; Keras's default is \
                 0.01",
            ),
            (
                SGD::new(f64::NAN),
                "learning_rate",
                "SGD learning_rate must be a finite number >= 0, got NaN; Keras's default is \
                 0.01",
            ),
            (
                SGD::new(0.1).momentum(1.5),
                "momentum",
                "SGD momentum must be in [0, 1], got 1.5; Keras's default is 0 (no momentum); \
                 0.9 is a common choice",
            ),
            (
                SGD::new(0.1).weight_decay(-0.01),
                "weight_decay",
                "SGD weight_decay must be a finite number >= 0, got -0.01; for example 0.004 \
                 (AdamW's default), or none at all",
            ),
            (
                SGD::new(0.1).clipnorm(0.0),
                "clipnorm",
                "clipnorm must be a finite number > 0, got 0.0; for example 1.0, or no \
                 clipping (Keras's default)",
            ),
            (
                SGD::new(0.1).global_clipnorm(-2.0),
                "global_clipnorm",
                "global_clipnorm must be a finite number > 0, got -2.0; for example 1.0, or \
                 no clipping (Keras's default)",
            ),
            (
                SGD::new(0.1).clipvalue(f64::INFINITY),
                "clipvalue",
                "clipvalue must be a finite number > 0, got inf; for example 0.5, or no \
                 clipping (Keras's default)",
            ),
        ];
        assert_each_invalid(&cases);
        assert_common_settings_refused!(SGD, 0.1);
    }
}
