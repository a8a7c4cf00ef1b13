//! Metrics: objects with Keras's `update_state`, `result` and `reset_state`.
//!
//! Every metric here is, as in Keras, a mean over samples of a per-sample value or counts
//! of decisions, summed in `f64` so that long epochs lose no precision. Each sample counts
//! with its weight when [`Metric::update_state`] is given weights (Keras's
//! `sample_weight`), and with weight 1 otherwise. A metric without arguments is also a
//! constant of the same name, so that `[Accuracy]` reads as Keras's
//! `metrics=["accuracy"]`:
//!
//! ```
//! use strata_runtime::metrics::{Accuracy, IntoMetrics, MeanAbsoluteError, Metric};
//!
//! let metrics: Vec<Box<dyn Metric<f32>>> = (Accuracy, MeanAbsoluteError).into_metrics();
//! assert_eq!(metrics[0].name(), "accuracy");
//! assert_eq!(metrics[1].name(), "mean_absolute_error");
//! ```

mod accuracy;
mod auc;
mod confusion;
mod f_score;
mod output;
mod precision_recall;
mod regression;
mod top_k;

pub use accuracy::{Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy};
pub use auc::{AUC, Curve, SummationMethod};
pub use f_score::{Average, F1Score, FBetaScore};
pub use output::OutputMetric;
pub(crate) use output::{OutputLoss, in_output};
pub use precision_recall::{Precision, Recall};
pub use regression::{MeanAbsoluteError, MeanSquaredError};
pub use top_k::{SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy};

use crate::{Float, Result, TensorInfo};

/// A metric accumulated over batches of predictions and targets (row-major, one row per
/// sample).
pub trait Metric<F: Float>: Send {
    /// The name the logs and the history use, e.g. `"accuracy"`.
    fn name(&self) -> String;

    /// Checks, before training, that targets with `target_width` values per sample and
    /// predictions with `output_width` values suit this metric.
    fn check(&self, target_width: usize, output_width: usize) -> Result<()>;

    /// Adds `rows` samples to the state, each counted with its weight in `sample_weight`
    /// (one per sample; `None` weighs every sample 1), as Keras's
    /// `update_state(y_true, y_pred, sample_weight)`.
    ///
    /// ```
    /// use strata_runtime::metrics::{Metric, SparseCategoricalAccuracy};
    ///
    /// // Keras's documented example: the right sample weighs 0.3, the wrong one 0.7.
    /// let mut accuracy = SparseCategoricalAccuracy;
    /// let y_true: &[f32] = &[2.0, 1.0];
    /// let y_pred: &[f32] = &[0.1, 0.6, 0.3, 0.05, 0.95, 0.0];
    /// accuracy.update_state(y_true, y_pred, 2, Some(&[0.7, 0.3]));
    /// assert!((accuracy.result() - 0.3).abs() < 1e-7);
    /// ```
    ///
    /// Panics if the slices do not hold `rows` whole rows or `sample_weight` does not hold
    /// `rows` weights (`fit` and `evaluate` check their inputs before any step).
    fn update_state(
        &mut self,
        y_true: &[F],
        y_pred: &[F],
        rows: usize,
        sample_weight: Option<&[F]>,
    );

    /// The value over every sample since the last reset.
    fn result(&self) -> f64;

    /// Forgets every sample.
    fn reset_state(&mut self);

    /// Tells the metric the model's outputs, as they sit in the packed output row
    /// ([`Model::OUTPUTS`](crate::Model::OUTPUTS)), and the targets, as they sit in the
    /// packed target row that the loss reads
    /// ([`Loss::target_layout`](crate::loss::Loss::target_layout)); the trainer calls it
    /// once, when the model is compiled. A metric on the whole row ignores it;
    /// [`OutputMetric`] finds in it the columns of its output and of its targets.
    fn bind_outputs(&mut self, outputs: &[TensorInfo], targets: &[TensorInfo]) {
        let _ = (outputs, targets);
    }

    /// Whether the metric reads one output apart ([`OutputMetric`]) rather than the whole
    /// packed row: the trainer refuses one that does not on a model of several outputs.
    fn reads_outputs_apart(&self) -> bool {
        false
    }
}

/// What `compile` accepts as its metrics: `[Accuracy]`, `()`, a tuple of metrics, or a
/// `Vec<Box<dyn Metric<F>>>`.
pub trait IntoMetrics<F: Float> {
    /// The metrics, boxed.
    fn into_metrics(self) -> Vec<Box<dyn Metric<F>>>;
}

impl<F: Float> IntoMetrics<F> for () {
    fn into_metrics(self) -> Vec<Box<dyn Metric<F>>> {
        Vec::new()
    }
}

impl<F: Float> IntoMetrics<F> for Vec<Box<dyn Metric<F>>> {
    fn into_metrics(self) -> Vec<Box<dyn Metric<F>>> {
        self
    }
}

impl<F: Float, M: Metric<F> + 'static, const N: usize> IntoMetrics<F> for [M; N] {
    fn into_metrics(self) -> Vec<Box<dyn Metric<F>>> {
        self.into_iter()
            .map(|m| Box::new(m) as Box<dyn Metric<F>>)
            .collect()
    }
}

macro_rules! tuple_into_metrics {
    ($($m:ident),+) => {
        impl<F: Float, $($m: Metric<F> + 'static),+> IntoMetrics<F> for ($($m,)+) {
            #[allow(non_snake_case)]
            fn into_metrics(self) -> Vec<Box<dyn Metric<F>>> {
                let ($($m,)+) = self;
                vec![$(Box::new($m) as Box<dyn Metric<F>>),+]
            }
        }
    };
}

tuple_into_metrics!(A);
tuple_into_metrics!(A, B);
tuple_into_metrics!(A, B, C);
tuple_into_metrics!(A, B, C, D);
tuple_into_metrics!(A, B, C, D, E);

/// Keras's `keras.metrics.Mean`: the weighted mean of the values given to
/// [`Mean::update_state`], 0 before any.
///
/// ```
/// use strata_runtime::metrics::Mean;
///
/// let mut mean = Mean::new();
/// for value in [1.0, 3.0, 5.0, 7.0] {
///     mean.update_state(value, 1.0);
/// }
/// assert_eq!(mean.result(), 4.0);
/// mean.reset_state();
/// mean.update_state(1.0, 1.0);
/// mean.update_state(3.0, 1.0);
/// mean.update_state(5.0, 0.0); // weight 0: ignored
/// assert_eq!(mean.result(), 2.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mean {
    total: f64,
    count: f64,
}

impl Mean {
    /// A mean of no values.
    pub const fn new() -> Self {
        Mean {
            total: 0.0,
            count: 0.0,
        }
    }

    /// Adds `value` with `weight` (1.0 for a plain mean).
    pub fn update_state(&mut self, value: f64, weight: f64) {
        self.total += value * weight;
        self.count += weight;
    }

    /// The weighted mean of the values so far; 0 if their weights sum to 0, as Keras.
    pub fn result(&self) -> f64 {
        if self.count == 0.0 {
            0.0
        } else {
            self.total / self.count
        }
    }

    /// Forgets every value.
    pub fn reset_state(&mut self) {
        *self = Mean::new();
    }
}

/// The widths of `rows` rows of targets and of predictions. Panics, naming the metric, if
/// the slices do not hold whole rows.
fn widths(what: &str, y_true_len: usize, y_pred_len: usize, rows: usize) -> (usize, usize) {
    assert!(
        rows > 0
            && y_true_len > 0
            && y_pred_len > 0
            && y_true_len.is_multiple_of(rows)
            && y_pred_len.is_multiple_of(rows),
        "{what}: {y_true_len} targets and {y_pred_len} predictions are not {rows} whole rows"
    );
    (y_true_len / rows, y_pred_len / rows)
}

/// The weight of each of `rows` samples, in `f64`: `sample_weight`'s, or 1 without it.
/// Panics, naming the metric, if `sample_weight` does not hold `rows` weights.
fn sample_weights<'w, F: Float>(
    what: &str,
    sample_weight: Option<&'w [F]>,
    rows: usize,
) -> impl Iterator<Item = f64> + 'w {
    if let Some(weights) = sample_weight {
        assert_eq!(
            weights.len(),
            rows,
            "{what}: {} sample weights for {rows} samples",
            weights.len()
        );
    }
    (0..rows).map(move |i| sample_weight.map_or(1.0, |weights| weights[i].as_f64()))
}

/// Adds to `mean` the per-sample `value(target row, prediction row)` of `rows` samples,
/// each with its weight.
fn update_mean<F: Float>(
    what: &str,
    mean: &mut Mean,
    y_true: &[F],
    y_pred: &[F],
    rows: usize,
    sample_weight: Option<&[F]>,
    value: impl Fn(&[F], &[F]) -> f64,
) {
    if rows == 0 {
        return;
    }
    let (target_width, output_width) = widths(what, y_true.len(), y_pred.len(), rows);
    let rows_iter = y_true
        .chunks_exact(target_width)
        .zip(y_pred.chunks_exact(output_width));
    for ((t, p), weight) in rows_iter.zip(sample_weights(what, sample_weight, rows)) {
        mean.update_state(value(t, p), weight);
    }
}

/// Implements, for a metric that holds its state in a field `mean: Mean` and has an
/// inherent `check` and a per-sample `value::<F>()`, the inherent `name`, `result`,
/// `reset_state` and `update`, and [`Metric`] over them.
macro_rules! mean_metric {
    ($metric:ident, $name:literal) => {
        impl $metric {
            /// Keras's name for the metric, which the logs and the history use.
            pub fn name(&self) -> &'static str {
                $name
            }

            /// The mean over every sample since the last reset; 0 before any.
            pub fn result(&self) -> f64 {
                self.mean.result()
            }

            /// Forgets every sample.
            pub fn reset_state(&mut self) {
                self.mean.reset_state();
            }

            fn update<F: $crate::Float>(
                &mut self,
                y_true: &[F],
                y_pred: &[F],
                rows: usize,
                sample_weight: Option<&[F]>,
            ) {
                let value = self.value::<F>();
                $crate::metrics::update_mean(
                    $name,
                    &mut self.mean,
                    y_true,
                    y_pred,
                    rows,
                    sample_weight,
                    value,
                );
            }
        }

        $crate::metrics::metric_from_inherent!($metric);
    };
}
use mean_metric;

/// Implements [`Metric`] for a metric whose inherent `name`, `check`, `update::<F>`,
/// `result` and `reset_state` do the work (the inherent ones can be called without naming
/// the float type).
macro_rules! metric_from_inherent {
    ($metric:ident) => {
        impl<F: $crate::Float> $crate::metrics::Metric<F> for $metric {
            fn name(&self) -> String {
                $metric::name(self).to_string()
            }

            fn check(&self, target_width: usize, output_width: usize) -> $crate::Result<()> {
                $metric::check(self, target_width, output_width)
            }

            fn update_state(
                &mut self,
                y_true: &[F],
                y_pred: &[F],
                rows: usize,
                sample_weight: Option<&[F]>,
            ) {
                self.update(y_true, y_pred, rows, sample_weight);
            }

            fn result(&self) -> f64 {
                $metric::result(self)
            }

            fn reset_state(&mut self) {
                $metric::reset_state(self);
            }
        }
    };
}
use metric_from_inherent;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_weights_values_as_keras() {
        let mut mean = Mean::new();
        assert_eq!(mean.result(), 0.0);
        for value in [1.0, 3.0, 5.0, 7.0] {
            mean.update_state(value, 1.0);
        }
        assert_eq!(mean.result(), 4.0);
        mean.reset_state();
        for (value, weight) in [(1.0, 1.0), (3.0, 1.0), (5.0, 0.0), (7.0, 0.0)] {
            mean.update_state(value, weight);
        }
        assert_eq!(mean.result(), 2.0);
        mean.update_state(8.0, 2.0);
        assert_eq!(mean.result(), 5.0); // (1 + 3 + 16) / 4
    }

    #[test]
    fn mean_of_nothing_is_zero() {
        let mut mean = Mean::new();
        mean.update_state(5.0, 0.0);
        assert_eq!(mean.result(), 0.0);
    }

    #[test]
    fn into_metrics_accepts_unit_arrays_tuples_and_vectors() {
        assert!(IntoMetrics::<f32>::into_metrics(()).is_empty());
        let names = |metrics: Vec<Box<dyn Metric<f32>>>| -> Vec<String> {
            metrics.iter().map(|m| m.name()).collect()
        };
        assert_eq!(names([Accuracy].into_metrics()), ["accuracy"]);
        assert_eq!(
            names(
                (
                    Accuracy,
                    MeanSquaredError,
                    BinaryAccuracy::new().with_threshold(0.7)
                )
                    .into_metrics()
            ),
            ["accuracy", "mean_squared_error", "binary_accuracy"]
        );
        let boxed: Vec<Box<dyn Metric<f32>>> = vec![Box::new(SparseCategoricalAccuracy)];
        assert_eq!(names(boxed.into_metrics()), ["sparse_categorical_accuracy"]);
    }
}
