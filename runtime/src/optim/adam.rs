//! Adam, and AdamW: Adam with decoupled weight decay on by default.

use std::ops::Range;

use super::parallel::update_trainable;
use super::{
    Common, LearningRate, Optimizer, check_fraction, check_non_negative, decayed, ensure_state,
};
use crate::{AlignedVec, Float};

/// The Adam optimizer, as Keras's `Adam`.
///
/// At step `t` (from 1), with `α = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)`:
/// `m += (g − m)(1 − β₁)`, `v += (g² − v)(1 − β₂)`, `p −= α · m / (√v + ε)`.
/// With AMSGrad, `v̂ = max(v̂, v)` replaces `v` in the last formula.
///
/// ```
/// use strata_runtime::optim::{Adam, Optimizer};
///
/// let mut adam: Adam = Adam::new(0.5);
/// let mut params = vec![1.0, 2.0, 3.0, 4.0];
/// adam.step(&mut params, &mut [1.0, 6.0, 7.0, 2.0], &[0..4]);
/// // The first step moves each parameter by about the learning rate.
/// assert!((params[0] - 0.5).abs() < 1e-4 && (params[3] - 3.5).abs() < 1e-4);
/// ```
#[derive(Clone, Debug)]
pub struct Adam<F = f32> {
    common: Common,
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
    amsgrad: bool,
    /// First moments `m`, one per parameter; empty until the first step.
    momentums: AlignedVec<F>,
    /// Second moments `v`, one per parameter; empty until the first step.
    velocities: AlignedVec<F>,
    /// The running maxima `v̂` of `v`; empty unless AMSGrad is on.
    velocity_hats: AlignedVec<F>,
}

impl<F: Float> Adam<F> {
    /// Adam with this learning rate (Keras's default is 0.001) and Keras's defaults:
    /// `beta_1` 0.9, `beta_2` 0.999, `epsilon` 1e-7, no AMSGrad.
    ///
    /// ```
    /// # use strata_runtime::optim::Adam;
    /// let adam: Adam = Adam::new(1e-3).beta_2(0.99).amsgrad(true);
    /// ```
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Adam {
            common: Common::new(learning_rate),
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
            momentums: AlignedVec::new(),
            velocities: AlignedVec::new(),
            velocity_hats: AlignedVec::new(),
        }
    }

    hyper_parameters! {
        /// The decay rate of the first moments (Keras's default is 0.9).
        ///
        /// The value is stored as given: [`Optimizer::validate`] (which `fit`
        /// and `train_on_batch` call) refuses a `beta_1` outside `[0, 1)`.
        ///
        /// ```
        /// # use strata_runtime::optim::Adam;
        /// let adam: Adam = Adam::new(1e-3).beta_1(0.8);
        /// ```
        beta_1: f64,

        /// The decay rate of the second moments (Keras's default is 0.999).
        ///
        /// The value is stored as given: [`Optimizer::validate`] (which `fit`
        /// and `train_on_batch` call) refuses a `beta_2` outside `[0, 1)`.
        ///
        /// ```
        /// # use strata_runtime::optim::Adam;
        /// let adam: Adam = Adam::new(1e-3).beta_2(0.99);
        /// ```
        beta_2: f64,

        /// The constant added to `√v` (Keras's default is 1e-7).
        ///
        /// The value is stored as given: [`Optimizer::validate`] (which `fit`
        /// and `train_on_batch` call) refuses an `epsilon` that is negative or not finite.
        ///
        /// ```
        /// # use strata_runtime::optim::Adam;
        /// let adam: Adam = Adam::new(1e-3).epsilon(1e-8);
        /// ```
        epsilon: f64,

        /// Whether to use the AMSGrad variant (Keras's default is `false`).
        ///
        /// ```
        /// # use strata_runtime::optim::Adam;
        /// let adam: Adam = Adam::new(1e-3).amsgrad(true);
        /// ```
        amsgrad: bool,
    }

    common_builders!(Adam, common);

    /// Checks the settings, naming the optimizer `optimizer` in messages (Adam or AdamW).
    fn validate_as(&self, optimizer: &str) -> crate::Result<()> {
        self.common.validate(optimizer, "0.001")?;
        let default = |value| format!("Keras's default is {value}");
        check_fraction(optimizer, "beta_1", self.beta_1, false, &default("0.9"))?;
        check_fraction(optimizer, "beta_2", self.beta_2, false, &default("0.999"))?;
        check_non_negative(optimizer, "epsilon", self.epsilon, &default("1e-7"))
    }
}

impl<F: Float> Default for Adam<F> {
    /// Keras's defaults: learning rate 0.001, `beta_1` 0.9, `beta_2` 0.999, `epsilon` 1e-7.
    fn default() -> Self {
        Adam::new(0.001)
    }
}

impl<F: Float> Optimizer<F> for Adam<F> {
    common_optimizer_methods!(common, name = "adam", class = "Adam");

    fn state_vectors(&mut self) -> Vec<(&'static str, &mut AlignedVec<F>)> {
        let mut vectors = vec![
            ("momentum", &mut self.momentums),
            ("velocity", &mut self.velocities),
        ];
        if self.amsgrad {
            vectors.push(("velocity_hat", &mut self.velocity_hats));
        }
        vectors
    }

    fn validate(&self) -> crate::Result<()> {
        self.validate_as("Adam")
    }

    fn step(&mut self, params: &mut [F], grads: &mut [F], tensors: &[Range<usize>]) {
        self.common.prepare(params, grads, tensors);
        let n = params.len();
        ensure_state(&mut self.momentums, n, F::zero(), "Adam");
        ensure_state(&mut self.velocities, n, F::zero(), "Adam");
        if self.amsgrad {
            ensure_state(&mut self.velocity_hats, n, F::zero(), "Adam");
        }

        let t = (self.common.iterations + 1) as f64;
        let (b1, b2) = (self.beta_1, self.beta_2);
        let alpha = F::of(self.common.rate() * (1.0 - b2.powf(t)).sqrt() / (1.0 - b1.powf(t)));
        let (one_minus_b1, one_minus_b2) = (F::of(1.0 - b1), F::of(1.0 - b2));
        let eps = F::of(self.epsilon);
        let decay = self.common.decay::<F>();
        // The moments' update, shared by both variants.
        let moments = |m: &mut F, v: &mut F, g: F| {
            let g = g.flushed();
            *m = (*m + (g - *m) * one_minus_b1).flushed();
            *v = (*v + (g * g - *v) * one_minus_b2).flushed();
        };
        let slots = [
            &mut self.momentums[..],
            &mut self.velocities[..],
            &mut self.velocity_hats[..],
        ];
        if self.amsgrad {
            update_trainable(params, grads, slots, tensors, &|p, g, [m, v, v_hat]| {
                for ((((p, &g), m), v), v_hat) in p.iter_mut().zip(g).zip(m).zip(v).zip(v_hat) {
                    moments(m, v, g);
                    *v_hat = if *v > *v_hat { *v } else { *v_hat };
                    *p = decayed(*p, decay) - *m * alpha / (v_hat.sqrt() + eps);
                }
            });
        } else {
            update_trainable(params, grads, slots, tensors, &|p, g, [m, v, _]| {
                for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m).zip(v) {
                    moments(m, v, g);
                    *p = decayed(*p, decay) - *m * alpha / (v.sqrt() + eps);
                }
            });
        }
        self.common.iterations += 1;
    }
}

/// Adam with decoupled weight decay, as Keras's `AdamW`: Adam whose `weight_decay` defaults
/// to 0.004. Each step first decays every trainable parameter,
/// `p −= p · weight_decay · lr`, then takes Adam's step.
///
/// ```
/// use strata_runtime::optim::{AdamW, Optimizer};
///
/// let mut adamw: AdamW = AdamW::new(1e-3).weight_decay(0.01);
/// let mut params = vec![1.0, 2.0];
/// adamw.step(&mut params, &mut [0.1, -0.1], &[0..2]);
/// assert_eq!(adamw.name(), "adamw");
/// ```
#[derive(Clone, Debug)]
pub struct AdamW<F = f32>(Adam<F>);

impl<F: Float> AdamW<F> {
    /// AdamW with this learning rate (Keras's default is 0.001) and Keras's defaults:
    /// `weight_decay` 0.004, `beta_1` 0.9, `beta_2` 0.999, `epsilon` 1e-7, no AMSGrad.
    ///
    /// ```
    /// # use strata_runtime::optim::AdamW;
    /// let adamw: AdamW = AdamW::new(1e-3).weight_decay(0.05);
    /// ```
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        AdamW(Adam::new(learning_rate).weight_decay(0.004))
    }

    /// As [`Adam::beta_1`].
    #[must_use]
    pub fn beta_1(self, beta_1: f64) -> Self {
        AdamW(self.0.beta_1(beta_1))
    }

    /// As [`Adam::beta_2`].
    #[must_use]
    pub fn beta_2(self, beta_2: f64) -> Self {
        AdamW(self.0.beta_2(beta_2))
    }

    /// As [`Adam::epsilon`].
    #[must_use]
    pub fn epsilon(self, epsilon: f64) -> Self {
        AdamW(self.0.epsilon(epsilon))
    }

    /// As [`Adam::amsgrad`].
    #[must_use]
    pub fn amsgrad(self, amsgrad: bool) -> Self {
        AdamW(self.0.amsgrad(amsgrad))
    }

    common_builders!(AdamW, 0.common);
}

impl<F: Float> Default for AdamW<F> {
    /// Keras's defaults: learning rate 0.001, `weight_decay` 0.004, and Adam's others.
    fn default() -> Self {
        AdamW::new(0.001)
    }
}

impl<F: Float> Optimizer<F> for AdamW<F> {
    common_optimizer_methods!(0.common, name = "adamw", class = "AdamW");

    fn state_vectors(&mut self) -> Vec<(&'static str, &mut AlignedVec<F>)> {
        self.0.state_vectors()
    }

    fn validate(&self) -> crate::Result<()> {
        self.0.validate_as("AdamW")
    }

    fn step(&mut self, params: &mut [F], grads: &mut [F], tensors: &[Range<usize>]) {
        self.0.step(params, grads, tensors);
    }
}

#[cfg(test)]
// `&[0..n]`, one trainable tensor, is meant: not a list of indices.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;
    use crate::optim::testing::{
        GRADS, P0, assert_close, assert_common_settings_refused, assert_each_invalid,
        assert_frozen_untouched, assert_golden, assert_keras_single_step,
        assert_keras_weight_decay, minimize_quadratic, trajectory,
    };

    /// Moments that decay towards zero become exactly zero, never subnormal (arithmetic on
    /// subnormals is up to a hundred times slower on many CPUs).
    #[test]
    fn moments_decay_to_zero_without_passing_through_subnormals() {
        for amsgrad in [false, true] {
            let mut adam: Adam = Adam::new(1e-3).amsgrad(amsgrad);
            let mut params = vec![1.0f32; 3];
            // A tiny gradient, a subnormal one, then none at all for many steps.
            adam.step(
                &mut params,
                &mut [1e-20, f32::MIN_POSITIVE / 8.0, 0.0],
                &[0..3],
            );
            for _ in 0..2_000 {
                adam.step(&mut params, &mut [0.0; 3], &[0..3]);
                for (name, values) in adam.state_vectors() {
                    assert!(
                        values.iter().all(|v| !v.is_subnormal()),
                        "{name} holds a subnormal: {values:?}"
                    );
                }
            }
            let momentum = &adam.state_vectors()[0].1;
            assert_eq!(
                momentum[..],
                [0.0; 3],
                "the momentum decayed to exactly zero"
            );
        }
    }

    /// Keras's Adam written out on one scalar, in f64: the reference for the tests below.
    /// `decay` is `weight_decay * lr`, applied to `p` before each update.
    fn keras_adam(lr: f64, decay: f64, amsgrad: bool, grads: &[[f64; 3]]) -> Vec<[f64; 3]> {
        let (b1, b2, eps) = (0.9_f64, 0.999_f64, 1e-7);
        let mut out = vec![[0.0; 3]; grads.len()];
        for i in 0..3 {
            let (mut p, mut m, mut v, mut v_hat) = (P0[i], 0.0, 0.0, 0.0_f64);
            for (t, g) in grads.iter().map(|g| g[i]).enumerate() {
                let t = (t + 1) as i32;
                let alpha = lr * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t));
                m = 0.9 * m + 0.1 * g;
                v = 0.999 * v + 0.001 * g * g;
                v_hat = v_hat.max(v);
                let v_used = if amsgrad { v_hat } else { v };
                p -= p * decay;
                p -= alpha * m / (v_used.sqrt() + eps);
                out[t as usize - 1][i] = p;
            }
        }
        out
    }

    #[test]
    fn adam_first_step_moves_each_parameter_by_about_the_learning_rate() {
        // m = 0.1 g, v = 0.001 g², α = lr √0.001 / 0.1, so
        // p₁ = p₀ − lr · g / (|g| + ε / √0.001).
        let got = trajectory(Adam::new(0.01), &GRADS[..1]);
        let e = 1e-7 / 0.001_f64.sqrt();
        let expected = [
            1.0 - 0.01 * 0.5 / (0.5 + e),
            -2.0 + 0.01 * 1.0 / (1.0 + e),
            0.5 - 0.01 * 2.0 / (2.0 + e),
        ];
        assert_close(&got, &[expected]);
    }

    #[test]
    fn adam_first_steps_match_keras_formula() {
        assert_close(
            &trajectory(Adam::new(0.01), &GRADS),
            &keras_adam(0.01, 0.0, false, &GRADS),
        );
    }

    #[test]
    fn amsgrad_first_steps_match_keras_formula() {
        // A large gradient, then small ones: v falls below its running maximum.
        let grads = [[10.0, -4.0, 1.0], [0.1, 0.05, -0.01], [0.2, -0.1, 0.02]];
        let got = trajectory(Adam::new(0.01).amsgrad(true), &grads);
        assert_close(&got, &keras_adam(0.01, 0.0, true, &grads));
        let plain = keras_adam(0.01, 0.0, false, &grads);
        assert!(
            (got[2][0] - plain[2][0]).abs() > 1e-6,
            "AMSGrad made no difference"
        );
    }

    #[test]
    fn adamw_first_steps_match_keras_formula() {
        let got = trajectory(AdamW::new(0.01).weight_decay(0.1), &GRADS);
        assert_close(&got, &keras_adam(0.01, 0.1 * 0.01, false, &GRADS));
    }

    #[test]
    fn adam_and_adamw_match_keras_single_step_test() {
        assert_keras_single_step(Adam::new(0.5), [0.5, 1.5, 2.5, 3.5]);
        assert_keras_single_step(AdamW::new(0.5), [0.4980, 1.4960, 2.494, 3.492]);
    }

    #[test]
    fn adam_weight_decay_matches_keras_test() {
        assert_keras_weight_decay(|| Adam::new(1.0).weight_decay(0.004));
    }

    #[test]
    fn amsgrad_matches_keras_golden_values() {
        let golden = [[0.999], [0.9982], [0.9974], [0.9965], [0.9955]].map(|[x]| [x; 10]);
        assert_golden(Adam::default().amsgrad(true), &golden);
    }

    #[test]
    fn adamw_matches_keras_golden_values() {
        let golden = [
            [0.4998; 10],
            [
                0.2486, 0.2475, 0.2463, 0.2451, 0.244, 0.2428, 0.2417, 0.2405, 0.2394, 0.2382,
            ],
            [
                0.1223, 0.1198, 0.1174, 0.1149, 0.1124, 0.11, 0.1075, 0.1051, 0.1027, 0.1003,
            ],
            [
                0.0586, 0.0549, 0.0512, 0.0475, 0.0439, 0.0402, 0.0366, 0.033, 0.0294, 0.0258,
            ],
            [
                0.0263, 0.0215, 0.0167, 0.012, 0.0073, 0.0026, -0.0021, -0.0067, -0.0113, -0.0159,
            ],
        ];
        assert_golden(AdamW::new(1.0).weight_decay(0.5).epsilon(2.0), &golden);
    }

    #[test]
    fn adam_minimizes_a_quadratic() {
        assert!(minimize_quadratic(&mut Adam::new(0.05), 2000) < 1e-8);
        assert!(minimize_quadratic(&mut Adam::new(0.05).amsgrad(true), 2000) < 1e-8);
    }

    #[test]
    fn adamw_minimizes_a_quadratic() {
        // Weight decay pulls towards zero, so the minimum is only approached.
        assert!(minimize_quadratic(&mut AdamW::new(0.05), 2000) < 1e-2);
    }

    #[test]
    fn adam_leaves_frozen_parameters_bit_identical() {
        for amsgrad in [false, true] {
            assert_frozen_untouched(
                Adam::new(0.1)
                    .amsgrad(amsgrad)
                    .weight_decay(0.1)
                    .clipnorm(1.0),
            );
        }
        assert_frozen_untouched(AdamW::new(0.1).clipvalue(1.0));
    }

    #[test]
    fn adam_f32_follows_f64() {
        let mut p32 = vec![1.0_f32, -2.0, 0.5];
        let mut p64 = vec![1.0_f64, -2.0, 0.5];
        let (mut a32, mut a64): (Adam<f32>, Adam<f64>) = (Adam::new(0.01), Adam::new(0.01));
        for g in GRADS.iter().cycle().take(30) {
            a32.step(&mut p32, &mut g.map(|x| x as f32).to_vec(), &[0..3]);
            a64.step(&mut p64, &mut g.to_vec(), &[0..3]);
        }
        for (a, b) in p32.iter().zip(&p64) {
            assert!((f64::from(*a) - b).abs() < 1e-5, "{p32:?} vs {p64:?}");
        }
    }

    #[test]
    fn adam_names_and_defaults_follow_keras() {
        let (adam, adamw): (Adam, AdamW) = (Adam::default(), AdamW::default());
        assert_eq!(
            (
                Optimizer::<f32>::name(&adam),
                Optimizer::<f32>::learning_rate(&adam)
            ),
            ("adam", 0.001)
        );
        assert_eq!(
            (
                Optimizer::<f32>::name(&adamw),
                Optimizer::<f32>::learning_rate(&adamw)
            ),
            ("adamw", 0.001)
        );
        assert_eq!(
            (adam.beta_1, adam.beta_2, adam.epsilon, adam.amsgrad),
            (0.9, 0.999, 1e-7, false)
        );
        assert_eq!(
            (adam.common.weight_decay, adamw.0.common.weight_decay),
            (None, Some(0.004))
        );
    }

    #[test]
    fn adam_and_adamw_validate_accept_good_settings() {
        let adam: Adam = Adam::default();
        assert!(Optimizer::<f32>::validate(&adam).is_ok());
        let adamw: AdamW = AdamW::default();
        assert!(Optimizer::<f32>::validate(&adamw).is_ok());
        let adam: Adam = Adam::new(0.0).beta_1(0.0).beta_2(0.0).epsilon(0.0);
        assert!(Optimizer::<f32>::validate(&adam).is_ok());
    }

    #[test]
    fn adam_validate_refuses_each_bad_hyper_parameter() {
        let cases: [(Adam, &str, &str); 9] = [
            (
                Adam::new(f64::INFINITY),
                "learning_rate",
                "Adam learning_rate must be a finite number >= 0, got inf; Keras's default is \
                 0.001",
            ),
            (
                Adam::new(1e-3).beta_1(1.5),
                "beta_1",
                "Adam beta_1 must be in [0, 1), got 1.5; Keras's default is 0.9",
            ),
            (
                Adam::new(1e-3).beta_1(1.0),
                "beta_1",
                "Adam beta_1 must be in [0, 1), got 1.0; Keras's default is 0.9",
            ),
            (
                Adam::new(1e-3).beta_2(-0.1),
                "beta_2",
                "Adam beta_2 must be in [0, 1), got -0.1; Keras's default is 0.999",
            ),
            (
                Adam::new(1e-3).epsilon(-1e-8),
                "epsilon",
                "Adam epsilon must be a finite number >= 0, got -1e-8; Keras's default is 1e-7",
            ),
            (
                Adam::new(1e-3).weight_decay(f64::NAN),
                "weight_decay",
                "Adam weight_decay must be a finite number >= 0, got NaN; for example 0.004 \
                 (AdamW's default), or none at all",
            ),
            (
                Adam::new(1e-3).clipnorm(-1.0),
                "clipnorm",
                "clipnorm must be a finite number > 0, got -1.0; for example 1.0, or no \
                 clipping (Keras's default)",
            ),
            (
                Adam::new(1e-3).global_clipnorm(0.0),
                "global_clipnorm",
                "global_clipnorm must be a finite number > 0, got 0.0; for example 1.0, or \
                 no clipping (Keras's default)",
            ),
            (
                Adam::new(1e-3).clipvalue(0.0),
                "clipvalue",
                "clipvalue must be a finite number > 0, got 0.0; for example 0.5, or no \
                 clipping (Keras's default)",
            ),
        ];
        assert_each_invalid(&cases);
        assert_common_settings_refused!(Adam, 1e-3);
    }

    #[test]
    fn adamw_validate_refuses_each_bad_hyper_parameter() {
        let cases: [(AdamW, &str, &str); 8] = [
            (
                AdamW::new(-1e-3),
                "learning_rate",
                "AdamW learning_rate must be a finite number >= 0, got -0.001; Keras's \
                 default is 0.001",
            ),
            (
                AdamW::new(1e-3).beta_1(f64::NAN),
                "beta_1",
                "AdamW beta_1 must be in [0, 1), got NaN; Keras's default is 0.9",
            ),
            (
                AdamW::new(1e-3).beta_2(1.0),
                "beta_2",
                "AdamW beta_2 must be in [0, 1), got 1.0; Keras's default is 0.999",
            ),
            (
                AdamW::new(1e-3).epsilon(f64::INFINITY),
                "epsilon",
                "AdamW epsilon must be a finite number >= 0, got inf; Keras's default is 1e-7",
            ),
            (
                AdamW::new(1e-3).weight_decay(-0.004),
                "weight_decay",
                "AdamW weight_decay must be a finite number >= 0, got -0.004; for example \
                 0.004 (AdamW's default), or none at all",
            ),
            (
                AdamW::new(1e-3).clipnorm(f64::NAN),
                "clipnorm",
                "clipnorm must be a finite number > 0, got NaN; for example 1.0, or no \
                 clipping (Keras's default)",
            ),
            (
                AdamW::new(1e-3).global_clipnorm(f64::INFINITY),
                "global_clipnorm",
                "global_clipnorm must be a finite number > 0, got inf; for example 1.0, or \
                 no clipping (Keras's default)",
            ),
            (
                AdamW::new(1e-3).clipvalue(-1.0),
                "clipvalue",
                "clipvalue must be a finite number > 0, got -1.0; for example 0.5, or no \
                 clipping (Keras's default)",
            ),
        ];
        assert_each_invalid(&cases);
    }
}
