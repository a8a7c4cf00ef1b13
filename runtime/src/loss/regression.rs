//! Regression losses: the mean over each sample's outputs of an elementwise error.

use super::{
    Loss, Reduction, check_finite_targets, check_one_target_per_output, mean_over_rows,
    mean_over_rows_and_grad,
};
use crate::{Error, Float, Result};

/// Checks targets of a regression loss: one finite target per output.
fn check_regression_targets<F: Float>(
    what: &'static str,
    y_true: &[F],
    target_width: usize,
    output_width: usize,
) -> Result<()> {
    check_one_target_per_output(
        what,
        target_width,
        output_width,
        "a regression loss compares each output with the target at the same position",
    )?;
    check_finite_targets(what, y_true, target_width)
}

/// The derivative of `|e|`, taken as 0 at 0 (as TensorFlow and JAX do).
fn sign<F: Float>(e: F) -> F {
    if e > F::zero() {
        F::one()
    } else if e < F::zero() {
        -F::one()
    } else {
        F::zero()
    }
}

/// Keras's `MeanSquaredError`: the mean over each sample's outputs of
/// `(y_true - y_pred)²`.
///
/// ```
/// use strata_runtime::loss::{Loss, MeanSquaredError, Reduction};
///
/// let y_true: &[f64] = &[0.0, 1.0, 0.0, 0.0];
/// let y_pred: &[f64] = &[1.0, 1.0, 1.0, 0.0];
/// assert_eq!(MeanSquaredError::new().compute(y_pred, y_true, 2), 0.5);
/// let sum = MeanSquaredError::new().with_reduction(Reduction::Sum);
/// assert_eq!(sum.compute(y_pred, y_true, 2), 1.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeanSquaredError {
    reduction: Reduction,
}

impl MeanSquaredError {
    /// The loss with Keras's default reduction (the mean over the batch).
    pub const fn new() -> Self {
        MeanSquaredError {
            reduction: Reduction::SumOverBatchSize,
        }
    }

    /// The same loss, reduced over the batch by `reduction`.
    pub const fn with_reduction(self, reduction: Reduction) -> Self {
        MeanSquaredError { reduction }
    }
}

/// `(e², d e² / d y_pred)` for `e = y_pred - y_true`.
fn squared_error<F: Float>(y_pred: F, y_true: F) -> (F, F) {
    let e = y_pred - y_true;
    (e * e, e + e)
}

impl<F: Float> Loss<F> for MeanSquaredError {
    fn name(&self) -> &'static str {
        "mean_squared_error"
    }

    fn reduction(&self) -> Reduction {
        self.reduction
    }

    fn check_targets(&self, y_true: &[F], target_width: usize, output_width: usize) -> Result<()> {
        check_regression_targets("mean_squared_error", y_true, target_width, output_width)
    }

    fn per_sample(&self, y_pred: &[F], y_true: &[F], rows: usize, out: &mut [F]) {
        mean_over_rows(
            "mean_squared_error",
            y_pred,
            y_true,
            rows,
            out,
            squared_error,
        )
    }

    fn sum_and_grad(
        &self,
        y_pred: &[F],
        y_true: &[F],
        rows: usize,
        grad_scale: F,
        grad: &mut [F],
    ) -> F {
        let what = "mean_squared_error";
        mean_over_rows_and_grad(what, y_pred, y_true, rows, grad_scale, grad, squared_error)
    }
}

/// Keras's `MeanAbsoluteError`: the mean over each sample's outputs of
/// `|y_true - y_pred|`. Its gradient at `y_pred == y_true` is taken as 0.
///
/// ```
/// use strata_runtime::loss::{Loss, MeanAbsoluteError};
///
/// let y_true: &[f64] = &[0.0, 1.0, 0.0, 0.0];
/// let y_pred: &[f64] = &[1.0, 1.0, 1.0, 0.0];
/// assert_eq!(MeanAbsoluteError::new().compute(y_pred, y_true, 2), 0.5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeanAbsoluteError {
    reduction: Reduction,
}

impl MeanAbsoluteError {
    /// The loss with Keras's default reduction (the mean over the batch).
    pub const fn new() -> Self {
        MeanAbsoluteError {
            reduction: Reduction::SumOverBatchSize,
        }
    }

    /// The same loss, reduced over the batch by `reduction`.
    pub const fn with_reduction(self, reduction: Reduction) -> Self {
        MeanAbsoluteError { reduction }
    }
}

/// `(|e|, d |e| / d y_pred)` for `e = y_pred - y_true`.
fn absolute_error<F: Float>(y_pred: F, y_true: F) -> (F, F) {
    let e = y_pred - y_true;
    (e.abs(), sign(e))
}

impl<F: Float> Loss<F> for MeanAbsoluteError {
    fn name(&self) -> &'static str {
        "mean_absolute_error"
    }

    fn reduction(&self) -> Reduction {
        self.reduction
    }

    fn check_targets(&self, y_true: &[F], target_width: usize, output_width: usize) -> Result<()> {
        check_regression_targets("mean_absolute_error", y_true, target_width, output_width)
    }

    fn per_sample(&self, y_pred: &[F], y_true: &[F], rows: usize, out: &mut [F]) {
        mean_over_rows(
            "mean_absolute_error",
            y_pred,
            y_true,
            rows,
            out,
            absolute_error,
        )
    }

    fn sum_and_grad(
        &self,
        y_pred: &[F],
        y_true: &[F],
        rows: usize,
        grad_scale: F,
        grad: &mut [F],
    ) -> F {
        let what = "mean_absolute_error";
        mean_over_rows_and_grad(what, y_pred, y_true, rows, grad_scale, grad, absolute_error)
    }
}

/// Keras's `Huber`: the mean over each sample's outputs of `½e²` where `|e| ≤ delta` and
/// `delta·|e| - ½delta²` beyond, for `e = y_true - y_pred`.
///
/// ```
/// use strata_runtime::loss::{Huber, Loss};
///
/// let y_true: &[f64] = &[0.0, 1.0, 0.0, 0.0];
/// let y_pred: &[f64] = &[0.6, 0.4, 0.4, 0.6];
/// let loss = Huber::default().compute(y_pred, y_true, 2);
/// assert!((loss - 0.155).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Huber {
    delta: f64,
    reduction: Reduction,
}

impl Huber {
    /// The loss that turns from quadratic to linear at `|e| = delta` (Keras's default is
    /// 1.0, as [`Huber::default`]). `delta` must be positive; `check_targets` says so
    /// otherwise.
    pub const fn new(delta: f64) -> Self {
        Huber {
            delta,
            reduction: Reduction::SumOverBatchSize,
        }
    }

    /// The same loss, reduced over the batch by `reduction`.
    pub const fn with_reduction(self, reduction: Reduction) -> Self {
        Huber { reduction, ..self }
    }
}

impl Default for Huber {
    /// `Huber::new(1.0)`, as Keras.
    fn default() -> Self {
        Huber::new(1.0)
    }
}

/// The Huber term and its derivative with respect to `y_pred`.
fn huber<F: Float>(y_pred: F, y_true: F, delta: F) -> (F, F) {
    let e = y_pred - y_true;
    let half = F::of(0.5);
    if e.abs() <= delta {
        (half * e * e, e)
    } else {
        (delta * e.abs() - half * delta * delta, delta * sign(e))
    }
}

impl<F: Float> Loss<F> for Huber {
    fn name(&self) -> &'static str {
        "huber_loss"
    }

    fn reduction(&self) -> Reduction {
        self.reduction
    }

    fn check_targets(&self, y_true: &[F], target_width: usize, output_width: usize) -> Result<()> {
        if !(self.delta > 0.0 && self.delta.is_finite()) {
            return Err(Error::invalid(
                "delta",
                format!(
                    "Huber's delta is {}, but it must be a positive number (Keras's default \
                     is 1.0)",
                    self.delta
                ),
            ));
        }
        check_regression_targets("huber_loss", y_true, target_width, output_width)
    }

    fn per_sample(&self, y_pred: &[F], y_true: &[F], rows: usize, out: &mut [F]) {
        let delta = F::of(self.delta);
        let term = |p, t| huber(p, t, delta);
        mean_over_rows("huber_loss", y_pred, y_true, rows, out, term)
    }

    fn sum_and_grad(
        &self,
        y_pred: &[F],
        y_true: &[F],
        rows: usize,
        grad_scale: F,
        grad: &mut [F],
    ) -> F {
        let delta = F::of(self.delta);
        let term = |p, t| huber(p, t, delta);
        mean_over_rows_and_grad("huber_loss", y_pred, y_true, rows, grad_scale, grad, term)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{
        REDUCTIONS, assert_grad_matches_finite_differences, per_sample, uniform,
    };
    use super::*;
    use approx::assert_relative_eq;

    // Keras's documented example for its regression losses.
    const Y_TRUE: [f64; 4] = [0.0, 1.0, 0.0, 0.0];
    const Y_PRED: [f64; 4] = [1.0, 1.0, 1.0, 0.0];
    const Y_PRED_SOFT: [f64; 4] = [0.6, 0.4, 0.4, 0.6];

    #[test]
    fn mean_squared_error_matches_keras_example() {
        let mse = MeanSquaredError::new();
        assert_relative_eq!(mse.compute(&Y_PRED, &Y_TRUE, 2), 0.5);
        let sum = mse.with_reduction(Reduction::Sum);
        assert_relative_eq!(sum.compute(&Y_PRED, &Y_TRUE, 2), 1.0);
        let none = mse.with_reduction(Reduction::None);
        assert_eq!(per_sample(&none, &Y_PRED, &Y_TRUE, 2), [0.5, 0.5]);
    }

    #[test]
    fn mean_squared_error_matches_hand_computation() {
        // (0.5² + 2²) / 2 and (3²) / 2.
        let y_pred = [1.5, -1.0, 3.0, 0.0];
        let y_true = [1.0, 1.0, 0.0, 0.0];
        let out = per_sample(&MeanSquaredError::new(), &y_pred, &y_true, 2);
        assert_relative_eq!(out[0], 2.125);
        assert_relative_eq!(out[1], 4.5);
    }

    #[test]
    fn mean_absolute_error_matches_keras_example() {
        let mae = MeanAbsoluteError::new();
        assert_relative_eq!(mae.compute(&Y_PRED, &Y_TRUE, 2), 0.5);
        let sum = mae.with_reduction(Reduction::Sum);
        assert_relative_eq!(sum.compute(&Y_PRED, &Y_TRUE, 2), 1.0);
        let none = mae.with_reduction(Reduction::None);
        assert_eq!(per_sample(&none, &Y_PRED, &Y_TRUE, 2), [0.5, 0.5]);
    }

    #[test]
    fn mean_absolute_error_gradient_is_zero_where_prediction_equals_target() {
        let mut grad = [f64::NAN; 2];
        MeanAbsoluteError::new().sum_and_grad(&[1.0, 3.0], &[1.0, 1.0], 1, 1.0, &mut grad);
        assert_eq!(grad, [0.0, 0.5]);
    }

    #[test]
    fn huber_matches_keras_example() {
        let huber = Huber::default();
        assert_relative_eq!(
            huber.compute(&Y_PRED_SOFT, &Y_TRUE, 2),
            0.155,
            epsilon = 1e-12
        );
        let sum = huber.with_reduction(Reduction::Sum);
        assert_relative_eq!(sum.compute(&Y_PRED_SOFT, &Y_TRUE, 2), 0.31, epsilon = 1e-12);
        let out = per_sample(&huber, &Y_PRED_SOFT, &Y_TRUE, 2);
        assert_relative_eq!(out[0], 0.18, epsilon = 1e-12);
        assert_relative_eq!(out[1], 0.13, epsilon = 1e-12);
    }

    #[test]
    fn huber_is_linear_beyond_delta() {
        // delta = 2: |e| = 1 gives ½; |e| = 5 gives 2·5 - 2 = 8; the mean is 4.25.
        let out = per_sample(&Huber::new(2.0), &[1.0, -5.0], &[0.0, 0.0], 1);
        assert_relative_eq!(out[0], 4.25);
        let mut grad = [0.0; 2];
        Huber::new(2.0).sum_and_grad(&[1.0, -5.0], &[0.0, 0.0], 1, 1.0, &mut grad);
        assert_eq!(grad, [0.5, -1.0]);
    }

    /// Predictions and targets of 3 samples of 4 outputs, errors in `[-2, 2]`.
    fn regression_batch(seed: u64) -> (Vec<f64>, Vec<f64>) {
        (
            uniform(seed, 12, -2.0, 2.0),
            uniform(seed + 1, 12, -0.5, 0.5),
        )
    }

    #[test]
    fn mean_squared_error_grad_matches_finite_differences() {
        let (y_pred, y_true) = regression_batch(1);
        for reduction in REDUCTIONS {
            let loss = MeanSquaredError::new().with_reduction(reduction);
            assert_grad_matches_finite_differences(&loss, &y_pred, &y_true, 3);
        }
    }

    #[test]
    fn mean_absolute_error_grad_matches_finite_differences() {
        let (y_pred, y_true) = regression_batch(2);
        for reduction in REDUCTIONS {
            let loss = MeanAbsoluteError::new().with_reduction(reduction);
            assert_grad_matches_finite_differences(&loss, &y_pred, &y_true, 3);
        }
    }

    #[test]
    fn huber_grad_matches_finite_differences() {
        let (y_pred, y_true) = regression_batch(3);
        for delta in [0.5, 1.0, 10.0] {
            for reduction in REDUCTIONS {
                let loss = Huber::new(delta).with_reduction(reduction);
                assert_grad_matches_finite_differences(&loss, &y_pred, &y_true, 3);
            }
        }
    }

    #[test]
    fn regression_losses_reject_width_mismatch() {
        let err = MeanSquaredError::new()
            .check_targets(&[1.0f32, 2.0], 1, 10)
            .unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("mean_squared_error: the targets have 1 value per sample"));
        assert!(message.contains("the model gives 10 values"), "{message}");
        assert!(
            message.contains("use SparseCategoricalCrossentropy"),
            "{message}"
        );
        let err = Huber::default()
            .check_targets(&[1.0f32; 6], 3, 2)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("huber_loss: the targets have 3 values"),
            "{err}"
        );
    }

    #[test]
    fn regression_losses_reject_non_finite_targets() {
        let err = MeanAbsoluteError::new()
            .check_targets(&[1.0f64, 2.0, 3.0, f64::NAN], 2, 2)
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("target NaN of sample 1"), "{message}");
        assert!(message.contains("fill in the missing values"), "{message}");
    }

    #[test]
    fn huber_rejects_a_delta_that_is_not_positive() {
        for delta in [0.0, -1.0, f64::NAN] {
            let err = Huber::new(delta)
                .check_targets(&[0.0f32], 1, 1)
                .unwrap_err();
            assert!(
                matches!(err, Error::InvalidArgument { name: "delta", .. }),
                "{err}"
            );
        }
        assert!(Huber::new(0.1).check_targets(&[0.0f32], 1, 1).is_ok());
    }
}
