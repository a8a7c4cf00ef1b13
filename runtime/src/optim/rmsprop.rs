//! RMSprop: gradients divided by a running root mean square.

use std::ops::Range;

use super::parallel::update_trainable;
use super::{
    Common, LearningRate, Optimizer, check_fraction, check_positive, decayed, ensure_state,
};
use crate::{AlignedVec, Float};

/// The RMSprop optimizer, as Keras's `RMSprop`.
///
/// `v = ρ v + (1 − ρ) g²`; the increment is `lr · g / √(v + ε)`, or when centered, with
/// `a = ρ a + (1 − ρ) g`, `lr · g / √(v − a² + ε)`. Without momentum `p −= increment`;
/// with it, `s = momentum · s + increment` and `p −= s`.
///
/// ```
/// use strata_runtime::optim::{Optimizer, RMSprop};
///
/// let mut rmsprop: RMSprop = RMSprop::new(0.5);
/// let mut params = vec![1.0, 2.0, 3.0, 4.0];
/// rmsprop.step(&mut params, &mut [1.0, 6.0, 7.0, 2.0], &[0..4]);
/// // The first step moves each parameter by lr / √0.1.
/// assert!((params[0] + 0.5811).abs() < 1e-4 && (params[3] - 2.4189).abs() < 1e-4);
/// ```
#[derive(Clone, Debug)]
pub struct RMSprop<F = f32> {
    common: Common,
    rho: f64,
    momentum: f64,
    epsilon: f64,
    centered: bool,
    /// The running mean squares `v`, one per parameter; empty until the first step.
    velocities: AlignedVec<F>,
    /// The momentum accumulators `s`; empty unless `momentum > 0`.
    momentums: AlignedVec<F>,
    /// The running mean gradients `a`; empty unless centered.
    average_gradients: AlignedVec<F>,
}

impl<F: Float> RMSprop<F> {
    /// RMSprop with this learning rate (Keras's default is 0.001) and Keras's defaults:
    /// `rho` 0.9, `momentum` 0, `epsilon` 1e-7, not centered.
    ///
    /// ```
    /// # use strata_runtime::optim::RMSprop;
    /// let rmsprop: RMSprop = RMSprop::new(1e-3).rho(0.95).momentum(0.9).centered(true);
    /// ```
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        RMSprop {
            common: Common::new(learning_rate),
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
            velocities: AlignedVec::new(),
            momentums: AlignedVec::new(),
            average_gradients: AlignedVec::new(),
        }
    }

    hyper_parameters! {
        /// The decay rate of the running averages (Keras's default is 0.9).
        ///
        /// The value is stored as given: [`Optimizer::validate`] (which `fit`
        /// and `train_on_batch` call) refuses a `rho` outside `[0, 1]`.
        ///
        /// ```
        /// # use strata_runtime::optim::RMSprop;
        /// let rmsprop: RMSprop = RMSprop::new(1e-3).rho(0.95);
        /// ```
        rho: f64,

        /// The momentum (Keras's default is 0: no momentum).
        ///
        /// The value is stored as given: [`Optimizer::validate`] (which `fit`
        /// and `train_on_batch` call) refuses a `momentum` outside `[0, 1]`.
        ///
        /// ```
        /// # use strata_runtime::optim::RMSprop;
        /// let rmsprop: RMSprop = RMSprop::new(1e-3).momentum(0.9);
        /// ```
        momentum: f64,

        /// The constant added under the square root (Keras's default is 1e-7).
        ///
        /// The value is stored as given: [`Optimizer::validate`] (which `fit`
        /// and `train_on_batch` call) refuses an `epsilon` that is not a finite number > 0.
        ///
        /// ```
        /// # use strata_runtime::optim::RMSprop;
        /// let rmsprop: RMSprop = RMSprop::new(1e-3).epsilon(1e-6);
        /// ```
        epsilon: f64,

        /// Whether to divide by the estimated variance of the gradient rather than its
        /// uncentered second moment (Keras's default is `false`).
        ///
        /// ```
        /// # use strata_runtime::optim::RMSprop;
        /// let rmsprop: RMSprop = RMSprop::new(1e-3).centered(true);
        /// ```
        centered: bool,
    }

    common_builders!(RMSprop, common);
}

impl<F: Float> Default for RMSprop<F> {
    /// Keras's defaults: learning rate 0.001, `rho` 0.9, no momentum, `epsilon` 1e-7.
    fn default() -> Self {
        RMSprop::new(0.001)
    }
}

impl<F: Float> Optimizer<F> for RMSprop<F> {
    common_optimizer_methods!(common, name = "rmsprop", class = "RMSprop");

    fn state_vectors(&mut self) -> Vec<(&'static str, &mut AlignedVec<F>)> {
        let mut vectors = vec![("velocity", &mut self.velocities)];
        if self.momentum > 0.0 {
            vectors.push(("momentum", &mut self.momentums));
        }
        if self.centered {
            vectors.push(("average_gradient", &mut self.average_gradients));
        }
        vectors
    }

    fn validate(&self) -> crate::Result<()> {
        let name = "RMSprop";
        self.common.validate(name, "0.001")?;
        check_fraction(name, "rho", self.rho, true, "Keras's default is 0.9")?;
        let default_momentum = "Keras's default is 0 (no momentum)";
        check_fraction(name, "momentum", self.momentum, true, default_momentum)?;
        check_positive(name, "epsilon", self.epsilon, "Keras's default is 1e-7")
    }

    fn step(&mut self, params: &mut [F], grads: &mut [F], tensors: &[Range<usize>]) {
        self.common.prepare(params, grads, tensors);
        let n = params.len();
        let with_momentum = self.momentum > 0.0;
        ensure_state(&mut self.velocities, n, F::zero(), "RMSprop");
        if with_momentum {
            ensure_state(&mut self.momentums, n, F::zero(), "RMSprop");
        }
        if self.centered {
            ensure_state(&mut self.average_gradients, n, F::zero(), "RMSprop");
        }

        let lr = F::of(self.common.rate());
        let (rho, one_minus_rho) = (F::of(self.rho), F::of(1.0 - self.rho));
        let momentum = F::of(self.momentum);
        let eps = F::of(self.epsilon);
        let decay = self.common.decay::<F>();
        // v = ρ v + (1 − ρ) g², and the same for a with g.
        let average = |avg: &mut F, x: F| {
            *avg = (rho * *avg + one_minus_rho * x).flushed();
            *avg
        };

        let slots = [
            &mut self.velocities[..],
            &mut self.average_gradients[..],
            &mut self.momentums[..],
        ];
        match (self.centered, with_momentum) {
            (false, false) => update_trainable(params, grads, slots, tensors, &|p, g, [v, ..]| {
                for ((p, &g), v) in p.iter_mut().zip(g).zip(v) {
                    let increment = lr * g / (average(v, g * g) + eps).sqrt();
                    *p = decayed(*p, decay) - increment;
                }
            }),
            (false, true) => update_trainable(params, grads, slots, tensors, &|p, g, [v, _, s]| {
                for (((p, &g), v), s) in p.iter_mut().zip(g).zip(v).zip(s) {
                    let increment = lr * g / (average(v, g * g) + eps).sqrt();
                    *s = (momentum * *s + increment).flushed();
                    *p = decayed(*p, decay) - *s;
                }
            }),
            (true, false) => update_trainable(params, grads, slots, tensors, &|p, g, [v, a, _]| {
                for (((p, &g), v), a) in p.iter_mut().zip(g).zip(v).zip(a) {
                    let (v, a) = (average(v, g * g), average(a, g));
                    let increment = lr * g / (v - a * a + eps).sqrt();
                    *p = decayed(*p, decay) - increment;
                }
            }),
            (true, true) => update_trainable(params, grads, slots, tensors, &|p, g, [v, a, s]| {
                for ((((p, &g), v), a), s) in p.iter_mut().zip(g).zip(v).zip(a).zip(s) {
                    let (v, a) = (average(v, g * g), average(a, g));
                    let increment = lr * g / (v - a * a + eps).sqrt();
                    *s = (momentum * *s + increment).flushed();
                    *p = decayed(*p, decay) - *s;
                }
            }),
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
        GRADS, P0, assert_close, assert_common_settings_refused, assert_each_invalid,
        assert_frozen_untouched, assert_golden, assert_keras_weight_decay, minimize_quadratic,
        trajectory,
    };

    /// Keras's RMSprop written out on scalars, in f64 (lr 0.01, rho 0.9, eps 1e-7).
    fn keras_rmsprop(momentum: f64, centered: bool) -> Vec<[f64; 3]> {
        let (lr, eps) = (0.01, 1e-7);
        let mut out = vec![[0.0; 3]; GRADS.len()];
        for i in 0..3 {
            let (mut p, mut v, mut a, mut s) = (P0[i], 0.0, 0.0, 0.0);
            for (t, g) in GRADS.iter().map(|g| g[i]).enumerate() {
                v = 0.9 * v + 0.1 * g * g;
                a = 0.9 * a + 0.1 * g;
                let denominator = if centered { v - a * a + eps } else { v + eps };
                let increment = lr * g / denominator.sqrt();
                s = momentum * s + increment;
                p -= if momentum > 0.0 { s } else { increment };
                out[t][i] = p;
            }
        }
        out
    }

    #[test]
    fn rmsprop_first_step_divides_by_root_mean_square() {
        // v = 0.1 g², so p₁ = p₀ − lr · g / √(0.1 g² + ε).
        let got = trajectory(RMSprop::new(0.01), &GRADS);
        let expected = [
            1.0 - 0.01 * 0.5 / (0.1 * 0.25 + 1e-7_f64).sqrt(),
            -2.0 + 0.01 * 1.0 / (0.1 * 1.0 + 1e-7_f64).sqrt(),
            0.5 - 0.01 * 2.0 / (0.1 * 4.0 + 1e-7_f64).sqrt(),
        ];
        assert_close(&got[..1], &[expected]);
    }

    #[test]
    fn rmsprop_first_steps_match_keras_formula() {
        assert_close(
            &trajectory(RMSprop::new(0.01), &GRADS),
            &keras_rmsprop(0.0, false),
        );
    }

    #[test]
    fn rmsprop_momentum_first_steps_match_keras_formula() {
        assert_close(
            &trajectory(RMSprop::new(0.01).momentum(0.8), &GRADS),
            &keras_rmsprop(0.8, false),
        );
    }

    #[test]
    fn rmsprop_centered_first_steps_match_keras_formula() {
        assert_close(
            &trajectory(RMSprop::new(0.01).centered(true), &GRADS),
            &keras_rmsprop(0.0, true),
        );
        let both = RMSprop::new(0.01).centered(true).momentum(0.8);
        assert_close(&trajectory(both, &GRADS), &keras_rmsprop(0.8, true));
    }

    #[test]
    fn rmsprop_matches_keras_golden_values() {
        let golden = [[0.9967], [0.9933], [0.9908], [0.9885], [0.9864]].map(|[x]| [x; 10]);
        assert_golden(RMSprop::default().centered(true), &golden);
    }

    #[test]
    fn rmsprop_weight_decay_matches_keras_test() {
        assert_keras_weight_decay(|| RMSprop::new(1.0).weight_decay(0.004));
    }

    #[test]
    fn rmsprop_minimizes_a_quadratic() {
        assert!(minimize_quadratic(&mut RMSprop::new(0.01), 2000) < 1e-2);
        assert!(minimize_quadratic(&mut RMSprop::new(0.01).momentum(0.5), 2000) < 1e-2);
        assert!(minimize_quadratic(&mut RMSprop::new(0.01).centered(true), 2000) < 1e-2);
    }

    #[test]
    fn rmsprop_leaves_frozen_parameters_bit_identical() {
        for (momentum, centered) in [(0.0, false), (0.9, false), (0.0, true), (0.9, true)] {
            let rmsprop = RMSprop::new(0.1)
                .momentum(momentum)
                .centered(centered)
                .weight_decay(0.1)
                .clipnorm(1.0);
            assert_frozen_untouched(rmsprop);
        }
    }

    #[test]
    fn rmsprop_names_and_defaults_follow_keras() {
        let rmsprop: RMSprop = RMSprop::default();
        assert_eq!(Optimizer::<f32>::name(&rmsprop), "rmsprop");
        assert_eq!(Optimizer::<f32>::learning_rate(&rmsprop), 0.001);
        let hyper = (
            rmsprop.rho,
            rmsprop.momentum,
            rmsprop.epsilon,
            rmsprop.centered,
        );
        assert_eq!(hyper, (0.9, 0.0, 1e-7, false));
    }

    #[test]
    fn rmsprop_validate_accepts_good_settings() {
        let rmsprop: RMSprop = RMSprop::default();
        assert!(Optimizer::<f32>::validate(&rmsprop).is_ok());
        let rmsprop: RMSprop = RMSprop::new(0.0).rho(1.0).momentum(1.0).centered(true);
        assert!(Optimizer::<f32>::validate(&rmsprop).is_ok());
    }

    #[test]
    fn rmsprop_validate_refuses_each_bad_hyper_parameter() {
        let cases: [(RMSprop, &str, &str); 5] = [
            (
                RMSprop::new(-1.0),
                "learning_rate",
                "RMSprop learning_rate must be a finite number >= 0, got -1.0; Keras's default \
                 is 0.001",
            ),
            (
                RMSprop::new(0.01).rho(1.1),
                "rho",
                "RMSprop rho must be in [0, 1], got 1.1; Keras's default is 0.9",
            ),
            (
                RMSprop::new(0.01).momentum(-0.5),
                "momentum",
                "RMSprop momentum must be in [0, 1], got -0.5; Keras's default is 0 (no \
                 momentum)",
            ),
            (
                RMSprop::new(0.01).epsilon(0.0),
                "epsilon",
                "RMSprop epsilon must be a finite number > 0, got 0.0; Keras's default is 1e-7",
            ),
            (
                RMSprop::new(0.01).epsilon(f64::NAN),
                "epsilon",
                "RMSprop epsilon must be a finite number > 0, got NaN; Keras's default is 1e-7",
            ),
        ];
        assert_each_invalid(&cases);
        assert_common_settings_refused!(RMSprop, 0.01);
    }
}
