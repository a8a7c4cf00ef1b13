//! Regression metrics: the mean over samples of each sample's mean error.

use super::{Mean, mean_metric};
use crate::loss::check_same_width;
use crate::{Float, Result};

/// The mean over a row of `error(y_pred - y_true)`, in `f64`.
fn mean_error<F: Float>(y_true: &[F], y_pred: &[F], error: impl Fn(f64) -> f64) -> f64 {
    let sum: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(&t, &p)| error(p.as_f64() - t.as_f64()))
        .sum();
    sum / y_true.len() as f64
}

/// Checks the targets of a regression metric: one per output.
fn check_regression(what: &'static str, target_width: usize, output_width: usize) -> Result<()> {
    check_same_width(
        what,
        target_width,
        output_width,
        "it compares each output with the target at the same position",
        "",
    )
}

/// Keras's `keras.metrics.MeanSquaredError`: the mean over samples of the mean over each
/// sample's outputs of `(y_true - y_pred)²`.
///
/// ```
/// use strata_runtime::metrics::{MeanSquaredError, Metric};
///
/// let mut mse = MeanSquaredError;
/// let y_true: &[f64] = &[0.0, 1.0, 0.0, 0.0];
/// let y_pred: &[f64] = &[1.0, 1.0, 1.0, 0.0];
/// mse.update_state(y_true, y_pred, 2, None);
/// assert_eq!(mse.result(), 0.5);
///
/// // Keras's documented examples: errors 0.5 and 0, unweighted then weighted 1 and 0.
/// mse.reset_state();
/// let (y_true, y_pred): (&[f64], &[f64]) = (&[0.0, 1.0, 0.0, 0.0], &[1.0, 1.0, 0.0, 0.0]);
/// mse.update_state(y_true, y_pred, 2, None);
/// assert_eq!(mse.result(), 0.25);
/// mse.reset_state();
/// mse.update_state(y_true, y_pred, 2, Some(&[1.0, 0.0]));
/// assert_eq!(mse.result(), 0.5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeanSquaredError {
    mean: Mean,
}

/// A fresh [`MeanSquaredError`](struct@MeanSquaredError) metric.
#[allow(non_upper_case_globals)]
pub const MeanSquaredError: MeanSquaredError = MeanSquaredError::new();

impl MeanSquaredError {
    /// The metric, with no samples yet.
    pub const fn new() -> Self {
        MeanSquaredError { mean: Mean::new() }
    }

    /// Checks that the targets have one value per output.
    pub fn check(&self, target_width: usize, output_width: usize) -> Result<()> {
        check_regression("mean_squared_error", target_width, output_width)
    }

    fn value<F: Float>(&self) -> impl Fn(&[F], &[F]) -> f64 + use<F> {
        |t, p| mean_error(t, p, |e| e * e)
    }
}

mean_metric!(MeanSquaredError, "mean_squared_error");

/// Keras's `keras.metrics.MeanAbsoluteError`: the mean over samples of the mean over each
/// sample's outputs of `|y_true - y_pred|`.
///
/// ```
/// use strata_runtime::metrics::{MeanAbsoluteError, Metric};
///
/// let mut mae = MeanAbsoluteError;
/// let y_true: &[f64] = &[0.0, 1.0, 0.0, 0.0];
/// let y_pred: &[f64] = &[1.0, 1.0, 1.0, 0.0];
/// mae.update_state(y_true, y_pred, 2, None);
/// assert_eq!(mae.result(), 0.5);
///
/// // Keras's documented examples: errors 0.5 and 0, unweighted then weighted 1 and 0.
/// mae.reset_state();
/// let (y_true, y_pred): (&[f64], &[f64]) = (&[0.0, 1.0, 0.0, 0.0], &[1.0, 1.0, 0.0, 0.0]);
/// mae.update_state(y_true, y_pred, 2, None);
/// assert_eq!(mae.result(), 0.25);
/// mae.reset_state();
/// mae.update_state(y_true, y_pred, 2, Some(&[1.0, 0.0]));
/// assert_eq!(mae.result(), 0.5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeanAbsoluteError {
    mean: Mean,
}

/// A fresh [`MeanAbsoluteError`](struct@MeanAbsoluteError) metric.
#[allow(non_upper_case_globals)]
pub const MeanAbsoluteError: MeanAbsoluteError = MeanAbsoluteError::new();

impl MeanAbsoluteError {
    /// The metric, with no samples yet.
    pub const fn new() -> Self {
        MeanAbsoluteError { mean: Mean::new() }
    }

    /// Checks that the targets have one value per output.
    pub fn check(&self, target_width: usize, output_width: usize) -> Result<()> {
        check_regression("mean_absolute_error", target_width, output_width)
    }

    fn value<F: Float>(&self) -> impl Fn(&[F], &[F]) -> f64 + use<F> {
        |t, p| mean_error(t, p, f64::abs)
    }
}

mean_metric!(MeanAbsoluteError, "mean_absolute_error");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metric;
    use approx::assert_relative_eq;

    #[test]
    fn mean_squared_error_matches_hand_computation() {
        let mut mse = MeanSquaredError;
        // Samples: (1² + 0²) / 2 = 0.5 and (0.5² + 2²) / 2 = 2.125.
        mse.update_state(&[0.0f32, 1.0, 1.0, 1.0], &[1.0, 1.0, 1.5, -1.0], 2, None);
        assert_relative_eq!(mse.result(), 1.3125);
    }

    #[test]
    fn mean_absolute_error_matches_hand_computation() {
        let mut mae = MeanAbsoluteError;
        // Samples: (1 + 0) / 2 = 0.5 and (0.5 + 2) / 2 = 1.25.
        mae.update_state(&[0.0f32, 1.0, 1.0, 1.0], &[1.0, 1.0, 1.5, -1.0], 2, None);
        assert_relative_eq!(mae.result(), 0.875);
    }

    #[test]
    fn regression_metrics_give_the_weighted_mean_over_samples() {
        // Samples' errors 0.5 and 2.125 (MSE), 0.5 and 1.25 (MAE), weighted 3 and 1.
        let (y_true, y_pred) = ([0.0f32, 1.0, 1.0, 1.0], [1.0, 1.0, 1.5, -1.0]);
        let mut mse = MeanSquaredError;
        mse.update_state(&y_true, &y_pred, 2, Some(&[3.0, 1.0]));
        assert_relative_eq!(mse.result(), (3.0 * 0.5 + 2.125) / 4.0);
        let mut mae = MeanAbsoluteError;
        mae.update_state(&y_true, &y_pred, 2, Some(&[3.0, 1.0]));
        assert_relative_eq!(mae.result(), (3.0 * 0.5 + 1.25) / 4.0);
        mae.update_state(&y_true, &y_pred, 2, Some(&[0.0, 0.0]));
        assert_relative_eq!(mae.result(), (3.0 * 0.5 + 1.25) / 4.0);
    }

    #[test]
    fn regression_metrics_accumulate_across_updates_and_reset() {
        let mut mae = MeanAbsoluteError;
        assert_eq!(mae.result(), 0.0);
        mae.update_state(&[0.0f64], &[3.0], 1, None);
        mae.update_state(&[0.0f64, 0.0], &[1.0, 2.0], 2, None);
        assert_relative_eq!(mae.result(), 2.0); // (3 + 1 + 2) / 3
        mae.reset_state();
        assert_eq!(mae.result(), 0.0);
        mae.update_state(&[0.0f64], &[1.0], 1, None);
        assert_relative_eq!(mae.result(), 1.0);
    }

    #[test]
    fn regression_metrics_reject_width_mismatch() {
        let message = MeanSquaredError.check(1, 3).unwrap_err().to_string();
        assert!(
            message.starts_with(
                "mean_squared_error: the targets have 1 value per sample but the model gives 3"
            ),
            "{message}"
        );
        assert!(MeanAbsoluteError.check(2, 2).is_ok());
        assert_eq!(
            Metric::<f32>::name(&MeanAbsoluteError),
            "mean_absolute_error"
        );
    }
}
