//! Learning-rate schedules: Keras 3's `keras.optimizers.schedules`, each a function from
//! the optimizer step to the learning rate.
//!
//! The arguments mirror Keras's: the required ones in `new`, the optional ones as builder
//! methods with Keras's defaults. Construction never fails;
//! [`validate`](LearningRateSchedule::validate) refuses bad arguments, naming them.
//!
//! ```
//! use strata_runtime::optim::{ExponentialDecay, LearningRateSchedule};
//!
//! let schedule = ExponentialDecay::new(0.1, 1000, 0.5).staircase(true);
//! schedule.validate().unwrap();
//! assert_eq!(schedule.rate(0), 0.1);
//! assert_eq!(schedule.rate(999), 0.1);
//! assert_eq!(schedule.rate(1000), 0.05);
//! ```

use std::f64::consts::PI;
use std::sync::Arc;

use super::{check_fraction, check_non_negative, check_positive};
use crate::{Error, Result};

/// An optimizer's learning rate: a constant, or a schedule of the optimizer step. Every
/// optimizer's `new` takes either, as Keras's `learning_rate` argument does.
///
/// ```
/// use strata_runtime::optim::{Adam, CosineDecay, Optimizer};
///
/// let constant: Adam = Adam::new(1e-3);
/// let scheduled: Adam = Adam::new(CosineDecay::new(1e-3, 10_000));
/// assert_eq!(constant.learning_rate(), 1e-3);
/// assert_eq!(scheduled.learning_rate(), 1e-3); // at step 0
/// ```
#[derive(Clone, Debug)]
pub enum LearningRate {
    /// The same rate at every step.
    Constant(f64),
    /// A rate computed from the step.
    Schedule(Arc<dyn LearningRateSchedule>),
}

impl LearningRate {
    /// The rate at optimizer step `step` (from 0).
    pub fn at(&self, step: u64) -> f64 {
        match self {
            LearningRate::Constant(rate) => *rate,
            LearningRate::Schedule(schedule) => schedule.rate(step),
        }
    }
}

impl From<f64> for LearningRate {
    fn from(rate: f64) -> Self {
        LearningRate::Constant(rate)
    }
}

impl<S: LearningRateSchedule + 'static> From<S> for LearningRate {
    fn from(schedule: S) -> Self {
        LearningRate::Schedule(Arc::new(schedule))
    }
}

/// A learning rate that changes with the optimizer step, as Keras's
/// `LearningRateSchedule`.
pub trait LearningRateSchedule: Send + Sync + std::fmt::Debug {
    /// The rate for optimizer iteration `step`, counting from 0 as Keras's
    /// `optimizer.iterations`: the first update uses `rate(0)`.
    fn rate(&self, step: u64) -> f64;

    /// Keras's default name for the schedule, e.g. `"ExponentialDecay"`.
    fn name(&self) -> &'static str;

    /// Checks the arguments: an [`Error::InvalidArgument`] names the first bad one.
    fn validate(&self) -> Result<()>;
}

/// Checks the arguments that every decaying schedule has.
fn check_initial_and_steps(
    schedule: &str,
    initial_learning_rate: f64,
    decay_steps: u64,
) -> Result<()> {
    check_non_negative(
        schedule,
        "initial_learning_rate",
        initial_learning_rate,
        "for example 0.01",
    )?;
    if decay_steps == 0 {
        return Err(Error::invalid(
            "decay_steps",
            format!(
                "{schedule} decay_steps must be positive, got 0; it is the number of steps the \
                 decay takes, for example 1000"
            ),
        ));
    }
    Ok(())
}

/// `step / decay_steps`, rounded down if `staircase`.
fn decay_progress(step: u64, decay_steps: u64, staircase: bool) -> f64 {
    let progress = step as f64 / decay_steps as f64;
    if staircase {
        progress.floor()
    } else {
        progress
    }
}

/// Keras's `ExponentialDecay`: `initial_learning_rate * decay_rate ^ (step / decay_steps)`,
/// with the exponent rounded down when `staircase` (default false).
///
/// ```
/// use strata_runtime::optim::{ExponentialDecay, LearningRateSchedule};
///
/// let schedule = ExponentialDecay::new(0.1, 100, 0.96);
/// assert_eq!(schedule.rate(0), 0.1);
/// assert!((schedule.rate(50) - 0.1 * 0.96f64.sqrt()).abs() < 1e-15);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ExponentialDecay {
    initial_learning_rate: f64,
    decay_steps: u64,
    decay_rate: f64,
    staircase: bool,
}

impl ExponentialDecay {
    /// The schedule from `initial_learning_rate`, multiplied by `decay_rate` every
    /// `decay_steps` steps.
    pub fn new(initial_learning_rate: f64, decay_steps: u64, decay_rate: f64) -> Self {
        ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        }
    }

    /// Decays in whole steps of `decay_rate`, every `decay_steps` steps, if `yes`.
    #[must_use]
    pub fn staircase(mut self, yes: bool) -> Self {
        self.staircase = yes;
        self
    }
}

impl LearningRateSchedule for ExponentialDecay {
    fn rate(&self, step: u64) -> f64 {
        let progress = decay_progress(step, self.decay_steps, self.staircase);
        self.initial_learning_rate * self.decay_rate.powf(progress)
    }

    fn name(&self) -> &'static str {
        "ExponentialDecay"
    }

    fn validate(&self) -> Result<()> {
        let name = self.name();
        check_initial_and_steps(name, self.initial_learning_rate, self.decay_steps)?;
        check_positive(name, "decay_rate", self.decay_rate, "for example 0.96")
    }
}

/// Keras's `PiecewiseConstantDecay`: `values[0]` while `step <= boundaries[0]`,
/// `values[i]` while `boundaries[i - 1] < step <= boundaries[i]`, and the last value after
/// the last boundary. There is one more value than boundaries.
///
/// ```
/// use strata_runtime::optim::{LearningRateSchedule, PiecewiseConstantDecay};
///
/// let schedule = PiecewiseConstantDecay::new([100, 110], [1.0, 0.5, 0.1]);
/// assert_eq!(schedule.rate(100), 1.0);
/// assert_eq!(schedule.rate(101), 0.5);
/// assert_eq!(schedule.rate(111), 0.1);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PiecewiseConstantDecay {
    boundaries: Vec<u64>,
    values: Vec<f64>,
}

impl PiecewiseConstantDecay {
    /// The schedule with `values.len() == boundaries.len() + 1` rates, `boundaries`
    /// strictly increasing.
    pub fn new(boundaries: impl Into<Vec<u64>>, values: impl Into<Vec<f64>>) -> Self {
        PiecewiseConstantDecay {
            boundaries: boundaries.into(),
            values: values.into(),
        }
    }
}

impl LearningRateSchedule for PiecewiseConstantDecay {
    fn rate(&self, step: u64) -> f64 {
        let passed = self.boundaries.iter().take_while(|&&b| step > b).count();
        // With too few values (which `validate` refuses) the last one holds.
        let value = self.values.get(passed).or(self.values.last());
        value.copied().unwrap_or(0.0)
    }

    fn name(&self) -> &'static str {
        "PiecewiseConstant"
    }

    fn validate(&self) -> Result<()> {
        let (boundaries, values) = (self.boundaries.len(), self.values.len());
        if values != boundaries + 1 {
            return Err(Error::invalid(
                "values",
                format!(
                    "PiecewiseConstantDecay needs one more value than boundaries, got {boundaries} \
                     boundaries and {values} values; values[i] is the rate up to boundaries[i], \
                     and the last value the rate after the last boundary"
                ),
            ));
        }
        if let Some(pair) = self.boundaries.windows(2).find(|pair| pair[0] >= pair[1]) {
            return Err(Error::invalid(
                "boundaries",
                format!(
                    "PiecewiseConstantDecay boundaries must be strictly increasing, but {} \
                     follows {}",
                    pair[1], pair[0]
                ),
            ));
        }
        for &value in &self.values {
            check_non_negative(self.name(), "values", value, "for example 0.01")?;
        }
        Ok(())
    }
}

/// Keras's `PolynomialDecay`: from `initial_learning_rate` to `end_learning_rate`
/// (default 0.0001) over `decay_steps` steps along `(1 - step / decay_steps) ^ power`
/// (power default 1.0, a straight line), then constant; or, with `cycle` (default false),
/// over the first multiple of `decay_steps` at or past the step, starting again from a
/// higher rate each time.
///
/// ```
/// use strata_runtime::optim::{LearningRateSchedule, PolynomialDecay};
///
/// let schedule = PolynomialDecay::new(0.1, 100).end_learning_rate(0.01);
/// assert_eq!(schedule.rate(0), 0.1);
/// assert!((schedule.rate(50) - 0.055).abs() < 1e-15);
/// assert_eq!(schedule.rate(500), 0.01);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PolynomialDecay {
    initial_learning_rate: f64,
    decay_steps: u64,
    end_learning_rate: f64,
    power: f64,
    cycle: bool,
}

impl PolynomialDecay {
    /// The schedule from `initial_learning_rate` to 0.0001 in a straight line over
    /// `decay_steps` steps.
    pub fn new(initial_learning_rate: f64, decay_steps: u64) -> Self {
        PolynomialDecay {
            initial_learning_rate,
            decay_steps,
            end_learning_rate: 0.0001,
            power: 1.0,
            cycle: false,
        }
    }

    /// The rate at the end of the decay (Keras's default, 0.0001).
    #[must_use]
    pub fn end_learning_rate(mut self, end_learning_rate: f64) -> Self {
        self.end_learning_rate = end_learning_rate;
        self
    }

    /// The power of the polynomial (Keras's default, 1.0: a straight line).
    #[must_use]
    pub fn power(mut self, power: f64) -> Self {
        self.power = power;
        self
    }

    /// Restarts the decay past `decay_steps`, over the next multiple of it, if `yes`.
    #[must_use]
    pub fn cycle(mut self, yes: bool) -> Self {
        self.cycle = yes;
        self
    }
}

impl LearningRateSchedule for PolynomialDecay {
    fn rate(&self, step: u64) -> f64 {
        let (mut step, mut decay_steps) = (step as f64, self.decay_steps as f64);
        if self.cycle {
            let multiplier = if step == 0.0 {
                1.0
            } else {
                (step / decay_steps).ceil()
            };
            decay_steps *= multiplier;
        } else {
            step = step.min(decay_steps);
        }
        let remaining = 1.0 - step / decay_steps;
        (self.initial_learning_rate - self.end_learning_rate) * remaining.powf(self.power)
            + self.end_learning_rate
    }

    fn name(&self) -> &'static str {
        "PolynomialDecay"
    }

    fn validate(&self) -> Result<()> {
        let name = self.name();
        check_initial_and_steps(name, self.initial_learning_rate, self.decay_steps)?;
        let end = self.end_learning_rate;
        check_non_negative(name, "end_learning_rate", end, "Keras's default is 0.0001")?;
        check_positive(name, "power", self.power, "Keras's default is 1.0")
    }
}

/// Keras's `CosineDecay`: without a warmup, from `initial_learning_rate` to
/// `initial_learning_rate * alpha` (alpha default 0.0) along half a cosine over
/// `decay_steps` steps, then constant. With a `warmup_target`, first a straight line from
/// `initial_learning_rate` to `warmup_target` over `warmup_steps` steps (default 0), then
/// the cosine decay from `warmup_target`.
///
/// ```
/// use strata_runtime::optim::{CosineDecay, LearningRateSchedule};
///
/// let schedule = CosineDecay::new(0.0, 1000).warmup_target(0.1).warmup_steps(100);
/// assert_eq!(schedule.rate(0), 0.0);
/// assert!((schedule.rate(50) - 0.05).abs() < 1e-15);
/// assert_eq!(schedule.rate(100), 0.1);
/// assert!((schedule.rate(600) - 0.05).abs() < 1e-15);
/// assert!(schedule.rate(1100).abs() < 1e-15);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CosineDecay {
    initial_learning_rate: f64,
    decay_steps: u64,
    alpha: f64,
    warmup_target: Option<f64>,
    warmup_steps: u64,
}

impl CosineDecay {
    /// The schedule from `initial_learning_rate` down to 0 along half a cosine over
    /// `decay_steps` steps.
    pub fn new(initial_learning_rate: f64, decay_steps: u64) -> Self {
        CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha: 0.0,
            warmup_target: None,
            warmup_steps: 0,
        }
    }

    /// The end of the decay as a fraction of its start (Keras's default, 0.0).
    #[must_use]
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// The rate that the warmup reaches and the decay starts from.
    #[must_use]
    pub fn warmup_target(mut self, warmup_target: f64) -> Self {
        self.warmup_target = Some(warmup_target);
        self
    }

    /// How many steps the warmup takes (Keras's default, 0); needs a `warmup_target`.
    #[must_use]
    pub fn warmup_steps(mut self, warmup_steps: u64) -> Self {
        self.warmup_steps = warmup_steps;
        self
    }

    /// The rate `step` steps into the cosine decay from `decay_from`.
    fn decayed(&self, decay_from: f64, step: f64) -> f64 {
        let completed = step / self.decay_steps as f64;
        let cosine = 0.5 * (1.0 + (PI * completed).cos());
        decay_from * ((1.0 - self.alpha) * cosine + self.alpha)
    }
}

impl LearningRateSchedule for CosineDecay {
    fn rate(&self, step: u64) -> f64 {
        let (step, decay_steps) = (step as f64, self.decay_steps as f64);
        let Some(target) = self.warmup_target else {
            return self.decayed(self.initial_learning_rate, step.min(decay_steps));
        };
        let warmup_steps = self.warmup_steps as f64;
        let step = step.min(decay_steps + warmup_steps);
        if step < warmup_steps {
            let completed = step / warmup_steps;
            (target - self.initial_learning_rate) * completed + self.initial_learning_rate
        } else {
            self.decayed(target, step - warmup_steps)
        }
    }

    fn name(&self) -> &'static str {
        "CosineDecay"
    }

    fn validate(&self) -> Result<()> {
        let name = self.name();
        check_initial_and_steps(name, self.initial_learning_rate, self.decay_steps)?;
        check_fraction(name, "alpha", self.alpha, true, "Keras's default is 0.0")?;
        match self.warmup_target {
            Some(target) => check_non_negative(name, "warmup_target", target, "for example 0.1"),
            None if self.warmup_steps > 0 => Err(Error::invalid(
                "warmup_target",
                format!(
                    "CosineDecay has warmup_steps {} but no warmup_target, so Keras's formula \
                     skips the warmup; give the rate to reach with warmup_target",
                    self.warmup_steps
                ),
            )),
            None => Ok(()),
        }
    }
}

/// Keras's `InverseTimeDecay`:
/// `initial_learning_rate / (1 + decay_rate * step / decay_steps)`, with `step /
/// decay_steps` rounded down when `staircase` (default false).
///
/// ```
/// use strata_runtime::optim::{InverseTimeDecay, LearningRateSchedule};
///
/// let schedule = InverseTimeDecay::new(0.1, 1, 0.5);
/// assert_eq!(schedule.rate(0), 0.1);
/// assert_eq!(schedule.rate(2), 0.05);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct InverseTimeDecay {
    initial_learning_rate: f64,
    decay_steps: u64,
    decay_rate: f64,
    staircase: bool,
}

impl InverseTimeDecay {
    /// The schedule from `initial_learning_rate`, divided by `1 + decay_rate` after
    /// `decay_steps` steps, by `1 + 2 * decay_rate` after twice as many, and so on.
    pub fn new(initial_learning_rate: f64, decay_steps: u64, decay_rate: f64) -> Self {
        InverseTimeDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        }
    }

    /// Decays only every `decay_steps` steps, if `yes`.
    #[must_use]
    pub fn staircase(mut self, yes: bool) -> Self {
        self.staircase = yes;
        self
    }
}

impl LearningRateSchedule for InverseTimeDecay {
    fn rate(&self, step: u64) -> f64 {
        let progress = decay_progress(step, self.decay_steps, self.staircase);
        self.initial_learning_rate / (1.0 + self.decay_rate * progress)
    }

    fn name(&self) -> &'static str {
        "InverseTimeDecay"
    }

    fn validate(&self) -> Result<()> {
        let name = self.name();
        check_initial_and_steps(name, self.initial_learning_rate, self.decay_steps)?;
        check_non_negative(name, "decay_rate", self.decay_rate, "for example 0.5")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts `schedule.rate(step)` for each `(step, expected)`, to 1e-12 relative.
    fn assert_rates(schedule: &dyn LearningRateSchedule, expected: &[(u64, f64)]) {
        for &(step, rate) in expected {
            let got = schedule.rate(step);
            assert!(
                (got - rate).abs() <= 1e-12 * rate.abs().max(1e-300),
                "{} at step {step}: {got} != {rate}",
                schedule.name()
            );
        }
    }

    /// Asserts that `validate` refuses `schedule` naming `name`, with a message containing
    /// `fragment`.
    fn assert_invalid(schedule: &dyn LearningRateSchedule, name: &str, fragment: &str) {
        match schedule.validate() {
            Err(Error::InvalidArgument { name: got, message }) => {
                assert_eq!(got, name, "{message}");
                assert!(message.contains(fragment), "{message}");
            }
            other => panic!("{schedule:?}: expected an error naming {name}, got {other:?}"),
        }
    }

    #[test]
    fn exponential_decay_follows_keras_formula() {
        let schedule = ExponentialDecay::new(0.1, 10, 0.5);
        assert!(schedule.validate().is_ok());
        let keras = |step: f64| 0.1 * 0.5f64.powf(step / 10.0);
        let steps = [0, 1, 5, 10, 25, 1000];
        let expected: Vec<(u64, f64)> = steps.iter().map(|&s| (s, keras(s as f64))).collect();
        assert_rates(&schedule, &expected);
        assert_rates(&schedule, &[(0, 0.1), (10, 0.05), (20, 0.025)]);
    }

    #[test]
    fn exponential_decay_staircase_holds_each_rate_for_decay_steps() {
        let schedule = ExponentialDecay::new(0.1, 10, 0.5).staircase(true);
        assert_rates(
            &schedule,
            &[
                (0, 0.1),
                (9, 0.1),
                (10, 0.05),
                (19, 0.05),
                (25, 0.025),
                (30, 0.0125),
            ],
        );
    }

    #[test]
    fn piecewise_constant_decay_switches_after_each_boundary() {
        let schedule = PiecewiseConstantDecay::new([100, 110], [1.0, 0.5, 0.1]);
        assert!(schedule.validate().is_ok());
        assert_rates(
            &schedule,
            &[
                (0, 1.0),
                (100, 1.0),
                (101, 0.5),
                (110, 0.5),
                (111, 0.1),
                (1_000_000, 0.1),
            ],
        );
        let constant = PiecewiseConstantDecay::new([], [0.3]);
        assert!(constant.validate().is_ok());
        assert_rates(&constant, &[(0, 0.3), (u64::MAX, 0.3)]);
    }

    #[test]
    fn polynomial_decay_follows_keras_formula() {
        let schedule = PolynomialDecay::new(0.1, 100).power(2.0);
        assert!(schedule.validate().is_ok());
        let end = 0.0001;
        let keras = |step: f64| (0.1 - end) * (1.0 - step.min(100.0) / 100.0).powi(2) + end;
        let expected: Vec<(u64, f64)> = [0, 1, 50, 99, 100, 101, 5000]
            .iter()
            .map(|&s| (s, keras(s as f64)))
            .collect();
        assert_rates(&schedule, &expected);
        assert_rates(&schedule, &[(100, end), (1000, end)]);
        let linear = PolynomialDecay::new(0.1, 100).end_learning_rate(0.0);
        assert_rates(&linear, &[(0, 0.1), (25, 0.075), (100, 0.0)]);
    }

    #[test]
    fn polynomial_decay_cycle_restarts_over_the_next_multiple_of_decay_steps() {
        let schedule = PolynomialDecay::new(0.1, 100)
            .end_learning_rate(0.01)
            .cycle(true);
        let keras = |step: f64| {
            let multiplier = if step == 0.0 {
                1.0
            } else {
                (step / 100.0).ceil()
            };
            (0.1 - 0.01) * (1.0 - step / (100.0 * multiplier)) + 0.01
        };
        let expected: Vec<(u64, f64)> = [0, 50, 100, 101, 150, 200, 201, 350]
            .iter()
            .map(|&s| (s, keras(s as f64)))
            .collect();
        assert_rates(&schedule, &expected);
        // At 100 the first cycle ends; at 150 the second, over 200 steps, has
        // 1 - 150 / 200 = 1/4 of its range left.
        assert_rates(&schedule, &[(100, 0.01), (150, 0.09 * 0.25 + 0.01)]);
    }

    #[test]
    fn cosine_decay_follows_keras_formula_without_warmup() {
        let schedule = CosineDecay::new(0.1, 100).alpha(0.1);
        assert!(schedule.validate().is_ok());
        let keras = |step: f64| {
            let cosine = 0.5 * (1.0 + (PI * step.min(100.0) / 100.0).cos());
            0.1 * (0.9 * cosine + 0.1)
        };
        let expected: Vec<(u64, f64)> = [0, 1, 25, 50, 99, 100, 1000]
            .iter()
            .map(|&s| (s, keras(s as f64)))
            .collect();
        assert_rates(&schedule, &expected);
        assert_rates(
            &schedule,
            &[(0, 0.1), (50, 0.055), (100, 0.01), (1000, 0.01)],
        );
    }

    #[test]
    fn cosine_decay_warms_up_linearly_then_decays_from_the_target() {
        let schedule = CosineDecay::new(0.01, 100)
            .warmup_target(0.1)
            .warmup_steps(10);
        assert!(schedule.validate().is_ok());
        let keras = |step: f64| {
            let step = step.min(110.0);
            if step < 10.0 {
                (0.1 - 0.01) * step / 10.0 + 0.01
            } else {
                0.1 * 0.5 * (1.0 + (PI * (step - 10.0) / 100.0).cos())
            }
        };
        let expected: Vec<(u64, f64)> = [0, 1, 5, 9, 10, 11, 60, 109, 110]
            .iter()
            .map(|&s| (s, keras(s as f64)))
            .collect();
        assert_rates(&schedule, &expected);
        assert_rates(&schedule, &[(0, 0.01), (5, 0.055), (10, 0.1), (60, 0.05)]);
        assert!(schedule.rate(110).abs() < 1e-15 && schedule.rate(5000).abs() < 1e-15);
    }

    #[test]
    fn cosine_decay_with_a_target_and_no_warmup_steps_decays_from_the_target() {
        let schedule = CosineDecay::new(0.5, 100).warmup_target(0.1);
        assert_rates(&schedule, &[(0, 0.1), (50, 0.05)]);
    }

    #[test]
    fn inverse_time_decay_follows_keras_formula() {
        let schedule = InverseTimeDecay::new(0.1, 10, 0.5);
        assert!(schedule.validate().is_ok());
        let keras = |step: f64| 0.1 / (1.0 + 0.5 * step / 10.0);
        let expected: Vec<(u64, f64)> = [0, 1, 5, 10, 15, 1000]
            .iter()
            .map(|&s| (s, keras(s as f64)))
            .collect();
        assert_rates(&schedule, &expected);
        let staircase = InverseTimeDecay::new(0.1, 10, 0.5).staircase(true);
        assert_rates(
            &staircase,
            &[
                (0, 0.1),
                (9, 0.1),
                (10, 0.1 / 1.5),
                (19, 0.1 / 1.5),
                (20, 0.05),
            ],
        );
    }

    #[test]
    fn validate_refuses_zero_decay_steps_and_bad_initial_rates() {
        let schedules: [Box<dyn LearningRateSchedule>; 4] = [
            Box::new(ExponentialDecay::new(0.1, 0, 0.9)),
            Box::new(PolynomialDecay::new(0.1, 0)),
            Box::new(CosineDecay::new(0.1, 0)),
            Box::new(InverseTimeDecay::new(0.1, 0, 0.5)),
        ];
        for schedule in &schedules {
            assert_invalid(
                schedule.as_ref(),
                "decay_steps",
                "decay_steps must be positive",
            );
            let _no_panic = schedule.rate(5);
        }
        for initial in [-0.1, f64::NAN, f64::INFINITY] {
            let schedule = ExponentialDecay::new(initial, 10, 0.9);
            assert_invalid(&schedule, "initial_learning_rate", "ExponentialDecay");
        }
    }

    #[test]
    fn validate_names_each_bad_optional_argument_with_keras_default() {
        assert_invalid(
            &ExponentialDecay::new(0.1, 10, 0.0),
            "decay_rate",
            "must be a finite number > 0",
        );
        assert_invalid(
            &InverseTimeDecay::new(0.1, 10, -1.0),
            "decay_rate",
            "must be a finite number >= 0",
        );
        assert_invalid(
            &PolynomialDecay::new(0.1, 10).end_learning_rate(-1.0),
            "end_learning_rate",
            "Keras's default is 0.0001",
        );
        assert_invalid(
            &PolynomialDecay::new(0.1, 10).power(0.0),
            "power",
            "Keras's default is 1.0",
        );
        assert_invalid(
            &CosineDecay::new(0.1, 10).alpha(1.5),
            "alpha",
            "Keras's default is 0.0",
        );
        assert_invalid(
            &CosineDecay::new(0.1, 10).warmup_target(f64::NAN),
            "warmup_target",
            "finite",
        );
        assert_invalid(
            &CosineDecay::new(0.1, 10).warmup_steps(5),
            "warmup_target",
            "no warmup_target",
        );
    }

    #[test]
    fn validate_refuses_mismatched_or_unsorted_piecewise_arguments() {
        let too_few = PiecewiseConstantDecay::new([10, 20], [0.1, 0.01]);
        assert_invalid(&too_few, "values", "got 2 boundaries and 2 values");
        assert_rates(&too_few, &[(0, 0.1), (100, 0.01)]); // no panic
        let unsorted = PiecewiseConstantDecay::new([20, 10], [0.1, 0.01, 0.001]);
        assert_invalid(&unsorted, "boundaries", "10 follows 20");
        let repeated = PiecewiseConstantDecay::new([10, 10], [0.1, 0.01, 0.001]);
        assert_invalid(&repeated, "boundaries", "strictly increasing");
        let negative = PiecewiseConstantDecay::new([10], [0.1, -0.01]);
        assert_invalid(&negative, "values", "got -0.01");
        let empty = PiecewiseConstantDecay::new([], []);
        assert_invalid(&empty, "values", "got 0 boundaries and 0 values");
        assert_eq!(empty.rate(3), 0.0);
    }

    #[test]
    fn names_are_keras_default_names() {
        let names = [
            ExponentialDecay::new(0.1, 1, 0.9).name(),
            PiecewiseConstantDecay::new([], [0.1]).name(),
            PolynomialDecay::new(0.1, 1).name(),
            CosineDecay::new(0.1, 1).name(),
            InverseTimeDecay::new(0.1, 1, 0.5).name(),
        ];
        assert_eq!(
            names,
            [
                "ExponentialDecay",
                "PiecewiseConstant",
                "PolynomialDecay",
                "CosineDecay",
                "InverseTimeDecay"
            ]
        );
    }
}
