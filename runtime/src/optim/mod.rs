//! Optimizers: one pass over the flat parameter buffer per step.
//!
//! Each optimizer follows Keras 3's update rule, defaults and names
//! (`keras/src/optimizers/*.py`). Before the update, as Keras's base optimizer does, a step
//! clips the gradients ([`Clip`]) and then applies decoupled weight decay
//! (`p -= p * weight_decay * learning_rate`); the decay is folded into the update's single
//! pass over memory.
//!
//! State (moments, accumulators) is allocated at the first [`Optimizer::step`] with the full
//! length of the parameter buffer, so one offset indexes parameters, gradients and state;
//! later steps allocate nothing. Parameters outside the trainable `tensors` are never read
//! or written.
//!
//! ```
//! use strata_runtime::optim::{Adam, Optimizer};
//!
//! let mut adam: Adam = Adam::new(0.1).clipnorm(1.0);
//! let mut params = vec![1.0, 2.0, 3.0];
//! let mut grads = vec![0.5, -0.5, 0.0];
//! adam.step(&mut params, &mut grads, &[0..2]); // params[2] is frozen
//! assert!(params[0] < 1.0 && params[1] > 2.0 && params[2] == 3.0);
//! assert_eq!(adam.iterations(), 1);
//! ```

use std::ops::Range;

use crate::{AlignedVec, Error, Float, Result};

/// The builder methods every optimizer shares: Keras's base-optimizer arguments. Invoked
/// inside each optimizer's `impl` block; `$($common).+` is the path to its [`Common`].
macro_rules! common_builders {
    ($ty:ident, $($common:tt).+) => {
        /// Clips each trainable tensor's gradient to this L2 norm, each tensor on its own
        /// (Keras's `clipnorm`). Replaces any clipping set before.
        ///
        /// The value is stored as given: [`validate`](crate::optim::Optimizer::validate)
        /// (which `fit` and `train_on_batch` call) refuses a `clipnorm`
        /// that is not a finite number > 0.
        ///
        /// ```
        #[doc = concat!("# use strata_runtime::optim::", stringify!($ty), ";")]
        #[doc = concat!("let opt: ", stringify!($ty), " = ", stringify!($ty), "::default().clipnorm(1.0);")]
        /// ```
        #[must_use]
        pub fn clipnorm(mut self, clipnorm: f64) -> Self {
            self.$($common).+.clip = $crate::optim::Clip::norm(clipnorm);
            self
        }

        /// Scales all trainable gradients together so that their joint L2 norm is at most
        /// this (Keras's `global_clipnorm`). Replaces any clipping set before.
        ///
        /// The value is stored as given: [`validate`](crate::optim::Optimizer::validate)
        /// (which `fit` and `train_on_batch` call) refuses a `global_clipnorm`
        /// that is not a finite number > 0.
        ///
        /// ```
        #[doc = concat!("# use strata_runtime::optim::", stringify!($ty), ";")]
        #[doc = concat!("let opt: ", stringify!($ty), " = ", stringify!($ty), "::default().global_clipnorm(1.0);")]
        /// ```
        #[must_use]
        pub fn global_clipnorm(mut self, global_clipnorm: f64) -> Self {
            self.$($common).+.clip = $crate::optim::Clip::global_norm(global_clipnorm);
            self
        }

        /// Clamps every trainable gradient value into `[-clipvalue, clipvalue]` (Keras's
        /// `clipvalue`). Replaces any clipping set before.
        ///
        /// The value is stored as given: [`validate`](crate::optim::Optimizer::validate)
        /// (which `fit` and `train_on_batch` call) refuses a `clipvalue`
        /// that is not a finite number > 0.
        ///
        /// ```
        #[doc = concat!("# use strata_runtime::optim::", stringify!($ty), ";")]
        #[doc = concat!("let opt: ", stringify!($ty), " = ", stringify!($ty), "::default().clipvalue(0.5);")]
        /// ```
        #[must_use]
        pub fn clipvalue(mut self, clipvalue: f64) -> Self {
            self.$($common).+.clip = $crate::optim::Clip::value(clipvalue);
            self
        }

        /// Decoupled weight decay (Keras's `weight_decay`): before each update, every
        /// trainable parameter `p` becomes `p - p * weight_decay * learning_rate`.
        ///
        /// The value is stored as given: [`validate`](crate::optim::Optimizer::validate)
        /// (which `fit` and `train_on_batch` call) refuses a `weight_decay`
        /// that is negative or not finite.
        ///
        /// ```
        #[doc = concat!("# use strata_runtime::optim::", stringify!($ty), ";")]
        #[doc = concat!("let opt: ", stringify!($ty), " = ", stringify!($ty), "::default().weight_decay(0.004);")]
        /// ```
        #[must_use]
        pub fn weight_decay(mut self, weight_decay: f64) -> Self {
            self.$($common).+.weight_decay = Some(weight_decay);
            self
        }

        /// The gradient clipping in force.
        pub fn clip(&self) -> $crate::optim::Clip {
            self.$($common).+.clip
        }
    };
}

/// The builder methods of an optimizer's own hyper-parameters, each storing its value as
/// given in the field of the same name ([`Optimizer::validate`] checks it later). Invoked
/// inside the optimizer's `impl` block, with each method's documentation before its
/// `name: type`.
macro_rules! hyper_parameters {
    ($($(#[$attr:meta])* $field:ident: $ty:ty),+ $(,)?) => {
        $(
            $(#[$attr])*
            #[must_use]
            pub fn $field(mut self, $field: $ty) -> Self {
                self.$field = $field;
                self
            }
        )+
    };
}

/// The [`Optimizer`] methods that differ between optimizers only by their names: `name`
/// (Keras's name, `$name`) and those answered from its `Common` (at the field path given):
/// the learning rate, setting it (refusals name the optimizer `$class`), and the step
/// count.
macro_rules! common_optimizer_methods {
    ($($common:tt).+, name = $name:literal, class = $class:literal) => {
        fn name(&self) -> &'static str {
            $name
        }

        fn learning_rate(&self) -> f64 {
            self.$($common).+.rate()
        }

        fn set_learning_rate(&mut self, learning_rate: f64) -> crate::Result<()> {
            self.$($common).+.set_rate($class, learning_rate)
        }

        fn iterations(&self) -> u64 {
            self.$($common).+.iterations
        }

        fn set_iterations(&mut self, iterations: u64) {
            self.$($common).+.iterations = iterations;
        }
    };
}

mod adagrad;
mod adam;
mod clip;
pub(crate) mod parallel;
mod rmsprop;
pub mod schedule;
mod sgd;

pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use clip::Clip;
pub use rmsprop::RMSprop;
pub use schedule::{
    CosineDecay, ExponentialDecay, InverseTimeDecay, LearningRate, LearningRateSchedule,
    PiecewiseConstantDecay, PolynomialDecay,
};
pub use sgd::SGD;

/// An optimizer updating a flat parameter buffer from a gradient buffer of the same
/// layout.
pub trait Optimizer<F: Float>: Send {
    /// Keras's name, e.g. `"adam"`.
    fn name(&self) -> &'static str;

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate (schedules and callbacks use this). The value is stored as
    /// given; a caller passing on a user's value should call [`Optimizer::validate`] after.
    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()>;

    /// How many steps have been taken.
    fn iterations(&self) -> u64;

    /// Checks every hyper-parameter: the learning rate (finite and >= 0), the weight
    /// decay, the gradient clipping and the optimizer's own settings, as Keras raises
    /// `ValueError` for them. The builders store any value; this is where a bad one is
    /// found. `Trainer::fit` and `Trainer::train_on_batch` call it before training.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] named after the first bad argument (Keras's name, e.g.
    /// `"beta_1"`), with a message giving the value, the valid range and a good value.
    ///
    /// ```
    /// use strata_runtime::{Error, optim::{Adam, Optimizer}};
    ///
    /// let adam: Adam = Adam::new(1e-3).beta_1(1.5);
    /// let Err(Error::InvalidArgument { name, message }) = Optimizer::<f32>::validate(&adam)
    /// else {
    ///     panic!("beta_1 = 1.5 was accepted");
    /// };
    /// assert_eq!(name, "beta_1");
    /// assert_eq!(message, "Adam beta_1 must be in [0, 1), got 1.5; Keras's default is 0.9");
    /// assert!(Optimizer::<f32>::validate(&Adam::new(1e-3).beta_1(0.8)).is_ok());
    /// ```
    fn validate(&self) -> crate::Result<()>;

    /// One update. `tensors` are the ranges of the trainable parameter tensors (clipping
    /// by norm is per tensor, as in Keras); parameters outside them are not touched.
    /// `grads` may be changed (clipped) in place. Allocates only on the first step.
    ///
    /// The hyper-parameters are assumed to have passed [`Optimizer::validate`] (the
    /// trainer sees to it): with bad ones, the step does not panic but its result is
    /// meaningless (e.g. NaN parameters).
    ///
    /// # Panics
    ///
    /// If `grads` is not as long as `params`, if a range of `tensors` is out of bounds,
    /// or if `params` changes length between steps: mistakes of the caller (the trainer),
    /// not of the user.
    fn step(&mut self, params: &mut [F], grads: &mut [F], tensors: &[Range<usize>]);

    /// The per-parameter state by name (Adam's `momentum` and `velocity`, ...), each vector
    /// with the parameter buffer's layout, or empty before the first step: what a training
    /// checkpoint saves and restores.
    fn state_vectors(&mut self) -> Vec<(&'static str, &mut AlignedVec<F>)>;

    /// Sets the number of steps taken, when a training checkpoint is restored.
    fn set_iterations(&mut self, iterations: u64);
}

/// What every optimizer holds besides its own hyper-parameters and state: Keras's
/// base-optimizer settings and the step counter.
#[derive(Clone, Debug)]
struct Common {
    learning_rate: LearningRate,
    weight_decay: Option<f64>,
    clip: Clip,
    iterations: u64,
}

impl Common {
    fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Common {
            learning_rate: learning_rate.into(),
            weight_decay: None,
            clip: Clip::None,
            iterations: 0,
        }
    }

    /// Checks the settings every optimizer shares, for the optimizer called `optimizer`
    /// (in messages) whose Keras default learning rate is `default_learning_rate`.
    fn validate(&self, optimizer: &str, default_learning_rate: &str) -> Result<()> {
        match &self.learning_rate {
            LearningRate::Constant(rate) => check_non_negative(
                optimizer,
                "learning_rate",
                *rate,
                &format!("Keras's default is {default_learning_rate}"),
            )?,
            LearningRate::Schedule(schedule) => schedule.validate()?,
        }
        if let Some(weight_decay) = self.weight_decay {
            check_non_negative(
                optimizer,
                "weight_decay",
                weight_decay,
                "for example 0.004 (AdamW's default), or none at all",
            )?;
        }
        self.clip.validate()
    }

    /// Checks the buffers and clips the gradients: the part of a step shared by every
    /// optimizer, before its update.
    fn prepare<F: Float>(&self, params: &[F], grads: &mut [F], tensors: &[Range<usize>]) {
        assert_eq!(
            params.len(),
            grads.len(),
            "the gradient buffer must have the parameter buffer's layout"
        );
        self.clip.apply(grads, tensors);
    }

    /// The factor `c` of the decoupled weight decay `p - p * c` (zero without decay).
    /// The learning rate of the coming step.
    fn rate(&self) -> f64 {
        self.learning_rate.at(self.iterations)
    }

    /// Replaces a constant learning rate; a schedule's rate cannot be set, as in Keras.
    fn set_rate(&mut self, optimizer: &str, rate: f64) -> Result<()> {
        if let LearningRate::Schedule(schedule) = &self.learning_rate {
            return Err(Error::invalid(
                "learning_rate",
                format!(
                    "this {optimizer} follows the schedule {}, whose rate cannot be set; \
                     build the optimizer with a constant rate to change it during training",
                    schedule.name()
                ),
            ));
        }
        check_non_negative(optimizer, "learning_rate", rate, "e.g. 0.001")?;
        self.learning_rate = LearningRate::Constant(rate);
        Ok(())
    }

    fn decay<F: Float>(&self) -> F {
        F::of(self.weight_decay.unwrap_or(0.0) * self.rate())
    }
}

/// `Ok` if `x` is finite and `>= 0`; else the error for argument `name` of `optimizer`,
/// whose message ends with `hint` (a good value).
fn check_non_negative(optimizer: &str, name: &'static str, x: f64, hint: &str) -> Result<()> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            name,
            format!("{optimizer} {name} must be a finite number >= 0, got {x:?}; {hint}"),
        ))
    }
}

/// `Ok` if `x` is finite and `> 0`; else as [`check_non_negative`].
fn check_positive(optimizer: &str, name: &'static str, x: f64, hint: &str) -> Result<()> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            name,
            format!("{optimizer} {name} must be a finite number > 0, got {x:?}; {hint}"),
        ))
    }
}

/// `Ok` if `x` is in `[0, 1]`, or in `[0, 1)` unless `one_allowed`; else as
/// [`check_non_negative`].
fn check_fraction(
    optimizer: &str,
    name: &'static str,
    x: f64,
    one_allowed: bool,
    hint: &str,
) -> Result<()> {
    let (ok, range) = if one_allowed {
        ((0.0..=1.0).contains(&x), "[0, 1]")
    } else {
        ((0.0..1.0).contains(&x), "[0, 1)")
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            name,
            format!("{optimizer} {name} must be in {range}, got {x:?}; {hint}"),
        ))
    }
}

/// Allocates an optimizer state vector at the first step, filled with `init`, with one
/// value per parameter; later, only checks that the model has not changed.
fn ensure_state<F: Float>(state: &mut AlignedVec<F>, len: usize, init: F, name: &str) {
    if state.is_empty() {
        state.resize(len, init);
    } else {
        assert_eq!(
            state.len(),
            len,
            "this {name} optimizer was built for {} parameters but receives {len}; \
             use a new optimizer for another model",
            state.len()
        );
    }
}

/// Keras's decoupled weight decay of one parameter: `p - p * c` with
/// `c = weight_decay * learning_rate`.
#[inline(always)]
fn decayed<F: Float>(p: F, c: F) -> F {
    p - p * c
}

/// Helpers shared by the optimizers' tests.
#[cfg(test)]
// `&[0..n]`, one trainable tensor, is meant: not a list of indices.
#[allow(clippy::single_range_in_vec_init)]
mod testing {
    use super::Optimizer;

    /// Asserts that `$optimizer` refuses the settings every optimizer shares (weight decay
    /// and the three clippings) with the messages `Common` and `Clip` give.
    macro_rules! assert_common_settings_refused {
        ($optimizer:ident, $rate:expr) => {{
            let name = stringify!($optimizer);
            let cases = [
                (
                    $optimizer::new($rate).weight_decay(-1.0),
                    "weight_decay",
                    format!(
                        "{name} weight_decay must be a finite number >= 0, got -1.0; for \
                         example 0.004 (AdamW's default), or none at all"
                    ),
                ),
                (
                    $optimizer::new($rate).clipnorm(0.0),
                    "clipnorm",
                    "clipnorm must be a finite number > 0, got 0.0; for example 1.0, or no \
                     clipping (Keras's default)"
                        .to_string(),
                ),
                (
                    $optimizer::new($rate).global_clipnorm(f64::NAN),
                    "global_clipnorm",
                    "global_clipnorm must be a finite number > 0, got NaN; for example 1.0, or \
                     no clipping (Keras's default)"
                        .to_string(),
                ),
                (
                    $optimizer::new($rate).clipvalue(-0.5),
                    "clipvalue",
                    "clipvalue must be a finite number > 0, got -0.5; for example 0.5, or no \
                     clipping (Keras's default)"
                        .to_string(),
                ),
            ];
            for (optimizer, setting, message) in &cases {
                $crate::optim::testing::assert_invalid(optimizer, setting, message);
            }
        }};
    }
    pub(crate) use assert_common_settings_refused;

    /// The starting parameters of [`trajectory`].
    pub const P0: [f64; 3] = [1.0, -2.0, 0.5];

    /// Three steps' gradients for [`trajectory`].
    pub const GRADS: [[f64; 3]; 3] = [[0.5, -1.0, 2.0], [0.25, 0.5, -1.0], [-0.75, 0.1, 0.3]];

    /// Steps `opt` from the parameters [`P0`] (one trainable tensor) with each of `grads`
    /// in turn, and returns the parameters after each step.
    pub fn trajectory<O: Optimizer<f64>>(mut opt: O, grads: &[[f64; 3]]) -> Vec<[f64; 3]> {
        let mut params = P0.to_vec();
        grads
            .iter()
            .map(|g| {
                opt.step(&mut params, &mut g.to_vec(), &[0..3]);
                [params[0], params[1], params[2]]
            })
            .collect()
    }

    /// Asserts that two trajectories have as many steps and agree to 1e-12.
    pub fn assert_close(got: &[[f64; 3]], expected: &[[f64; 3]]) {
        assert_eq!(got.len(), expected.len());
        for (step, (got, expected)) in got.iter().zip(expected).enumerate() {
            for (g, e) in got.iter().zip(expected) {
                assert!(
                    (g - e).abs() < 1e-12,
                    "step {}: {got:?} != {expected:?}",
                    step + 1
                );
            }
        }
    }

    /// Replays Keras's `test_single_step`: parameters `[1, 2, 3, 4]`, gradients
    /// `[1, 6, 7, 2]`, one step of `opt` (built with Keras's learning rate 0.5); the
    /// parameters must be `expected` to 1e-4.
    pub fn assert_keras_single_step<O: Optimizer<f32>>(mut opt: O, expected: [f32; 4]) {
        let mut params = vec![1.0_f32, 2.0, 3.0, 4.0];
        opt.step(&mut params, &mut [1.0, 6.0, 7.0, 2.0], &[0..4]);
        for (p, e) in params.iter().zip(expected) {
            assert!((p - e).abs() < 1e-4, "{params:?} != {expected:?}");
        }
    }

    /// Replays Keras's `test_weight_decay`: three fresh optimizers from `new` (learning rate
    /// 1, weight decay 0.004) each step `p = 2` once with a zero gradient, which leaves
    /// `p = 2 · 0.996³`.
    pub fn assert_keras_weight_decay<O: Optimizer<f32>>(new: impl Fn() -> O) {
        let mut params = vec![2.0_f32];
        for _ in 0..3 {
            new().step(&mut params, &mut [0.0], &[0..1]);
        }
        assert!((params[0] - 1.976_095_9).abs() < 1e-6, "{}", params[0]);
    }

    /// [`assert_invalid`] for each `(optimizer, name, message)`.
    pub fn assert_each_invalid<O: Optimizer<f32>>(cases: &[(O, &str, &str)]) {
        for (opt, name, message) in cases {
            assert_invalid(opt, name, message);
        }
    }

    /// Asserts that `opt.validate()` refuses it with [`crate::Error::InvalidArgument`]
    /// naming `name`, with exactly `message`.
    pub fn assert_invalid<O: Optimizer<f32>>(opt: &O, name: &str, message: &str) {
        match opt.validate() {
            Err(crate::Error::InvalidArgument {
                name: got_name,
                message: got_message,
            }) => {
                assert_eq!((got_name, got_message.as_str()), (name, message));
            }
            other => panic!(
                "{} with a bad {name}: expected an error, got {other:?}",
                opt.name()
            ),
        }
    }

    /// Runs `steps` steps on the loss `sum((p - target)^2)` from `p = 0` and returns the
    /// largest `|p - target|` at the end.
    pub fn minimize_quadratic<O: Optimizer<f64>>(opt: &mut O, steps: usize) -> f64 {
        let target = [1.5, -2.0, 0.25, 3.0, -0.75];
        let mut params = vec![0.0; target.len()];
        let mut grads = vec![0.0; target.len()];
        let tensors = [0..2, 2..target.len()];
        for _ in 0..steps {
            for ((g, p), t) in grads.iter_mut().zip(&params).zip(&target) {
                *g = 2.0 * (p - t);
            }
            opt.step(&mut params, &mut grads, &tensors);
        }
        params
            .iter()
            .zip(&target)
            .map(|(p, t)| (p - t).abs())
            .fold(0.0, f64::max)
    }

    /// Replays Keras's `test_correctness_with_golden`: ten parameters at 1, one step with
    /// gradient 0.01 each, then steps with gradients `[0.1, 0.2, ..., 1.0]`; `golden[i]` is
    /// the parameters after step `i + 1`, checked with Keras's tolerances (5e-4).
    pub fn assert_golden<O: Optimizer<f32>>(mut opt: O, golden: &[[f32; 10]]) {
        let mut params = vec![1.0_f32; 10];
        opt.step(&mut params, &mut [0.01; 10], &[0..10]);
        for (i, row) in golden.iter().enumerate() {
            for (p, e) in params.iter().zip(row) {
                assert!(
                    (p - e).abs() <= 5e-4 + 5e-4 * e.abs(),
                    "{} after step {}: {params:?} != {row:?}",
                    opt.name(),
                    i + 1
                );
            }
            let mut grads: Vec<f32> = (1..=10).map(|k| k as f32 * 0.1).collect();
            opt.step(&mut params, &mut grads, &[0..10]);
        }
    }

    /// Steps `opt` (which should have weight decay and clipping on) three times with
    /// trainable tensors that leave holes, and asserts that the parameters and gradients in
    /// the holes are bit-identical afterwards, even with NaN and infinite gradients there,
    /// while the trainable parameters did move.
    pub fn assert_frozen_untouched<O: Optimizer<f32>>(mut opt: O) {
        let nan = f32::from_bits(0x7fc0_1234); // a NaN with a payload
        let mut params = vec![
            1.0,
            -2.0,
            0.5,
            -0.0,
            f32::MIN_POSITIVE / 8.0,
            3.0,
            -1.0,
            nan,
            1e30,
        ];
        let frozen = [3, 4, 7, 8];
        let tensors = [0..3, 5..7];
        let before: Vec<u32> = params.iter().map(|p| p.to_bits()).collect();
        for _ in 0..3 {
            let mut grads = vec![0.3, -0.7, 2.0, nan, f32::INFINITY, 0.1, -5.0, 1e38, -1e38];
            let grads_before: Vec<u32> = grads.iter().map(|g| g.to_bits()).collect();
            opt.step(&mut params, &mut grads, &tensors);
            for &i in &frozen {
                assert_eq!(grads[i].to_bits(), grads_before[i], "gradient {i} changed");
            }
        }
        for &i in &frozen {
            assert_eq!(
                params[i].to_bits(),
                before[i],
                "frozen parameter {i} changed"
            );
        }
        for i in [0, 1, 2, 5, 6] {
            assert!(params[i].is_finite(), "parameter {i} is {}", params[i]);
            assert_ne!(params[i].to_bits(), before[i], "parameter {i} did not move");
        }
    }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_sets_each_steps_rate_and_cannot_be_overwritten() {
        let schedule = PiecewiseConstantDecay::new([2], [0.5, 0.25]);
        let mut sgd: SGD<f64> = SGD::new(schedule);
        let mut params = vec![0.0];
        let mut moves = Vec::new();
        for _ in 0..4 {
            let before = params[0];
            sgd.step(&mut params, &mut [1.0], &[0..1]);
            moves.push(before - params[0]);
        }
        // As Keras, the boundary step itself still has the first value.
        assert_eq!(moves, [0.5, 0.5, 0.5, 0.25]);
        assert_eq!(Optimizer::<f64>::learning_rate(&sgd), 0.25);
        let error = Optimizer::<f64>::set_learning_rate(&mut sgd, 0.1).unwrap_err();
        assert!(error.to_string().contains("PiecewiseConstant"), "{error}");
    }

    #[test]
    fn a_constant_rate_can_be_set_but_not_to_a_negative_or_nan() {
        let mut adam: Adam = Adam::new(1e-3);
        adam.set_learning_rate(1e-4).unwrap();
        assert_eq!(adam.learning_rate(), 1e-4);
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(adam.set_learning_rate(bad).is_err(), "{bad}");
        }
        assert_eq!(adam.learning_rate(), 1e-4);
    }

    #[test]
    fn a_bad_schedule_fails_the_optimizers_validation() {
        let adam: Adam = Adam::new(ExponentialDecay::new(0.1, 0, 0.5));
        let error = adam.validate().unwrap_err();
        assert!(error.to_string().contains("decay_steps"), "{error}");
    }
}
