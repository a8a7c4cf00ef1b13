//! Accuracy metrics: how often the prediction names the target's class.

use super::{Mean, mean_metric};
use crate::loss::{bad_targets, check_same_width, values};
use crate::{Error, Float, Result};

/// The index of the first maximum of `row`, as Keras's `argmax`.
pub(super) fn argmax<F: Float>(row: &[F]) -> usize {
    let mut best = 0;
    for (i, &value) in row.iter().enumerate().skip(1) {
        if value > row[best] {
            best = i;
        }
    }
    best
}

/// The fraction of outputs above `threshold` exactly where their target is 1.
fn binary_accuracy<F: Float>(y_true: &[F], y_pred: &[F], threshold: F) -> f64 {
    let matches = y_true
        .iter()
        .zip(y_pred)
        .filter(|&(&t, &p)| t == if p > threshold { F::one() } else { F::zero() })
        .count();
    matches as f64 / y_true.len() as f64
}

/// 1 if the argmax of a one-hot target row is that of the prediction row, else 0.
fn categorical_accuracy<F: Float>(y_true: &[F], y_pred: &[F]) -> f64 {
    if argmax(y_true) == argmax(y_pred) {
        1.0
    } else {
        0.0
    }
}

/// 1 if the class index `y_true[0]` is the argmax of the prediction row, else 0.
fn sparse_categorical_accuracy<F: Float>(y_true: &[F], y_pred: &[F]) -> f64 {
    if y_true[0].as_f64() == argmax(y_pred) as f64 {
        1.0
    } else {
        0.0
    }
}

/// Rejects a single output, whose argmax is always 0.
pub(super) fn check_more_than_one_class(what: &'static str, output_width: usize) -> Result<()> {
    if output_width > 1 {
        return Ok(());
    }
    Err(bad_targets(
        what,
        format!(
            "the model gives {} per sample, whose argmax is always 0; with one output per \
             sample use BinaryAccuracy",
            values(output_width)
        ),
    ))
}

/// The accuracy that Keras's `"accuracy"` picks from the widths of targets and outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Binary,
    Categorical,
    SparseCategorical,
}

impl Kind {
    fn of(target_width: usize, output_width: usize) -> Option<Kind> {
        match (target_width, output_width) {
            (1, 1) => Some(Kind::Binary),
            (1, o) if o > 1 => Some(Kind::SparseCategorical),
            (t, o) if t == o && o > 1 => Some(Kind::Categorical),
            _ => None,
        }
    }
}

/// Keras's `"accuracy"`: picks, from the widths of the targets and the outputs, sparse
/// categorical accuracy (one class index against several class scores), categorical
/// accuracy (one-hot rows against as many class scores) or binary accuracy (one 0/1 label
/// against one probability, threshold 0.5).
///
/// ```
/// use strata_runtime::metrics::{Accuracy, Metric};
///
/// let mut accuracy = Accuracy;
/// let y_true: &[f32] = &[2.0, 1.0]; // class indices
/// let y_pred: &[f32] = &[0.1, 0.9, 0.8, 0.05, 0.95, 0.0];
/// accuracy.check(1, 3).unwrap();
/// accuracy.update_state(y_true, y_pred, 2, None);
/// assert_eq!(accuracy.result(), 0.5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Accuracy {
    mean: Mean,
}

/// A fresh [`Accuracy`](struct@Accuracy), so that `[Accuracy]` reads as Keras's
/// `metrics=["accuracy"]`.
#[allow(non_upper_case_globals)]
pub const Accuracy: Accuracy = Accuracy::new();

impl Accuracy {
    /// The metric, with no samples yet.
    pub const fn new() -> Self {
        Accuracy { mean: Mean::new() }
    }

    /// Checks that targets with `target_width` values per sample and predictions with
    /// `output_width` fit one of the accuracies this metric picks from.
    pub fn check(&self, target_width: usize, output_width: usize) -> Result<()> {
        if Kind::of(target_width, output_width).is_some() {
            return Ok(());
        }
        Err(bad_targets(
            "accuracy",
            format!(
                "the targets have {} per sample and the model gives {}, but accuracy compares \
                 one class index with several class scores, one-hot rows with as many class \
                 scores, or one 0/1 label with one probability; give one class index per \
                 sample, or one-hot rows of {}",
                values(target_width),
                values(output_width),
                values(output_width),
            ),
        ))
    }

    fn value<F: Float>(&self) -> impl Fn(&[F], &[F]) -> f64 + use<F> {
        |t, p| match Kind::of(t.len(), p.len()) {
            Some(Kind::Binary) => binary_accuracy(t, p, F::of(0.5)),
            Some(Kind::Categorical) => categorical_accuracy(t, p),
            Some(Kind::SparseCategorical) => sparse_categorical_accuracy(t, p),
            None => panic!(
                "accuracy: {} targets against {} outputs per sample fit no accuracy; call \
                 check before training",
                t.len(),
                p.len()
            ),
        }
    }
}

mean_metric!(Accuracy, "accuracy");

/// Keras's `BinaryAccuracy`: the fraction of outputs that, thresholded (above `threshold`
/// is 1), equal their 0/1 target.
///
/// ```
/// use strata_runtime::metrics::{BinaryAccuracy, Metric};
///
/// let mut accuracy = BinaryAccuracy::new();
/// let y_true: &[f64] = &[1.0, 1.0, 0.0, 0.0];
/// let y_pred: &[f64] = &[0.98, 1.0, 0.0, 0.6];
/// accuracy.update_state(y_true, y_pred, 4, None);
/// assert_eq!(accuracy.result(), 0.75); // Keras's documented value
///
/// accuracy.reset_state();
/// accuracy.update_state(y_true, y_pred, 4, Some(&[1.0, 0.0, 0.0, 1.0]));
/// assert_eq!(accuracy.result(), 0.5); // Keras's documented weighted value
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BinaryAccuracy {
    threshold: f64,
    mean: Mean,
}

/// A fresh [`BinaryAccuracy`](struct@BinaryAccuracy) with threshold 0.5.
#[allow(non_upper_case_globals)]
pub const BinaryAccuracy: BinaryAccuracy = BinaryAccuracy::new();

impl BinaryAccuracy {
    /// The metric with Keras's default threshold, 0.5.
    pub const fn new() -> Self {
        BinaryAccuracy {
            threshold: 0.5,
            mean: Mean::new(),
        }
    }

    /// The same metric, counting outputs above `threshold` as 1 (e.g. 0.0 for logits).
    pub const fn with_threshold(self, threshold: f64) -> Self {
        BinaryAccuracy { threshold, ..self }
    }

    /// Checks that the threshold is a number and that the targets have one 0/1 label per
    /// output.
    pub fn check(&self, target_width: usize, output_width: usize) -> Result<()> {
        if !self.threshold.is_finite() {
            return Err(Error::invalid(
                "threshold",
                format!(
                    "{} is not a finite number; the default is 0.5",
                    self.threshold
                ),
            ));
        }
        let hint = if target_width == 1 && output_width > 1 {
            "; for integer class labels use SparseCategoricalAccuracy"
        } else {
            ""
        };
        check_same_width(
            "binary_accuracy",
            target_width,
            output_width,
            "binary accuracy compares each output with the 0/1 label at the same position",
            hint,
        )
    }

    fn value<F: Float>(&self) -> impl Fn(&[F], &[F]) -> f64 + use<F> {
        let threshold = F::of(self.threshold);
        move |t, p| binary_accuracy(t, p, threshold)
    }
}

impl Default for BinaryAccuracy {
    fn default() -> Self {
        BinaryAccuracy::new()
    }
}

mean_metric!(BinaryAccuracy, "binary_accuracy");

/// Keras's `CategoricalAccuracy`: the fraction of samples whose one-hot target and
/// prediction have their maximum at the same index (the first, on ties).
///
/// ```
/// use strata_runtime::metrics::{CategoricalAccuracy, Metric};
///
/// let mut accuracy = CategoricalAccuracy;
/// let y_true: &[f64] = &[0.0, 0.0, 1.0, 0.0, 1.0, 0.0];
/// let y_pred: &[f64] = &[0.1, 0.9, 0.8, 0.05, 0.95, 0.0];
/// accuracy.update_state(y_true, y_pred, 2, None);
/// assert_eq!(accuracy.result(), 0.5); // Keras's documented value
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CategoricalAccuracy {
    mean: Mean,
}

/// A fresh [`CategoricalAccuracy`](struct@CategoricalAccuracy).
#[allow(non_upper_case_globals)]
pub const CategoricalAccuracy: CategoricalAccuracy = CategoricalAccuracy::new();

impl CategoricalAccuracy {
    /// The metric, with no samples yet.
    pub const fn new() -> Self {
        CategoricalAccuracy { mean: Mean::new() }
    }

    /// Checks that the targets are one-hot rows with one value per output, and that there
    /// are several outputs.
    pub fn check(&self, target_width: usize, output_width: usize) -> Result<()> {
        let hint = if target_width == 1 {
            "; for integer class labels use SparseCategoricalAccuracy"
        } else {
            ""
        };
        check_same_width(
            "categorical_accuracy",
            target_width,
            output_width,
            "categorical accuracy needs one-hot rows with one value per output",
            hint,
        )?;
        check_more_than_one_class("categorical_accuracy", output_width)
    }

    fn value<F: Float>(&self) -> impl Fn(&[F], &[F]) -> f64 + use<F> {
        categorical_accuracy
    }
}

mean_metric!(CategoricalAccuracy, "categorical_accuracy");

/// Keras's `SparseCategoricalAccuracy`: the fraction of samples whose class index is the
/// index of the prediction's maximum (the first, on ties).
///
/// ```
/// use strata_runtime::metrics::{Metric, SparseCategoricalAccuracy};
///
/// let mut accuracy = SparseCategoricalAccuracy;
/// let y_true: &[f64] = &[2.0, 1.0];
/// let y_pred: &[f64] = &[0.1, 0.9, 0.8, 0.05, 0.95, 0.0];
/// accuracy.update_state(y_true, y_pred, 2, None);
/// assert_eq!(accuracy.result(), 0.5); // Keras's documented value
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SparseCategoricalAccuracy {
    mean: Mean,
}

/// A fresh [`SparseCategoricalAccuracy`](struct@SparseCategoricalAccuracy).
#[allow(non_upper_case_globals)]
pub const SparseCategoricalAccuracy: SparseCategoricalAccuracy = SparseCategoricalAccuracy::new();

impl SparseCategoricalAccuracy {
    /// The metric, with no samples yet.
    pub const fn new() -> Self {
        SparseCategoricalAccuracy { mean: Mean::new() }
    }

    /// Checks that the targets are one class index per sample, and that there are several
    /// outputs.
    pub fn check(&self, target_width: usize, output_width: usize) -> Result<()> {
        if target_width != 1 {
            let hint = if target_width == output_width {
                "; for one-hot targets use CategoricalAccuracy"
            } else {
                ""
            };
            return Err(bad_targets(
                "sparse_categorical_accuracy",
                format!(
                    "the targets have {} per sample, but sparse categorical accuracy needs one \
                     class index per sample{hint}",
                    values(target_width)
                ),
            ));
        }
        check_more_than_one_class("sparse_categorical_accuracy", output_width)
    }

    fn value<F: Float>(&self) -> impl Fn(&[F], &[F]) -> f64 + use<F> {
        sparse_categorical_accuracy
    }
}

mean_metric!(SparseCategoricalAccuracy, "sparse_categorical_accuracy");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metric;

    // Keras's documented examples.
    const SCORES: [f64; 6] = [0.1, 0.9, 0.8, 0.05, 0.95, 0.0];
    const ONE_HOT: [f64; 6] = [0.0, 0.0, 1.0, 0.0, 1.0, 0.0];
    const LABELS: [f64; 2] = [2.0, 1.0];
    const BINARY_TRUE: [f64; 4] = [1.0, 1.0, 0.0, 0.0];
    const BINARY_PRED: [f64; 4] = [0.98, 1.0, 0.0, 0.6];

    fn result_of(mut metric: impl Metric<f64>, y_true: &[f64], y_pred: &[f64], rows: usize) -> f64 {
        metric.update_state(y_true, y_pred, rows, None);
        metric.result()
    }

    #[test]
    fn binary_accuracy_matches_keras_example() {
        assert_eq!(
            result_of(BinaryAccuracy, &BINARY_TRUE, &BINARY_PRED, 4),
            0.75
        );
    }

    #[test]
    fn categorical_accuracy_matches_keras_example() {
        assert_eq!(result_of(CategoricalAccuracy, &ONE_HOT, &SCORES, 2), 0.5);
    }

    #[test]
    fn sparse_categorical_accuracy_matches_keras_example() {
        assert_eq!(
            result_of(SparseCategoricalAccuracy, &LABELS, &SCORES, 2),
            0.5
        );
    }

    fn weighted_result_of(
        mut metric: impl Metric<f64>,
        y_true: &[f64],
        y_pred: &[f64],
        rows: usize,
        sample_weight: &[f64],
    ) -> f64 {
        metric.update_state(y_true, y_pred, rows, Some(sample_weight));
        metric.result()
    }

    #[test]
    fn weighted_accuracies_match_keras_examples() {
        let binary = weighted_result_of(
            BinaryAccuracy,
            &BINARY_TRUE,
            &BINARY_PRED,
            4,
            &[1.0, 0.0, 0.0, 1.0],
        );
        assert_eq!(binary, 0.5);
        // The sample weighing 0.7 is wrong, the one weighing 0.3 right.
        let weights = [0.7, 0.3];
        let categorical = weighted_result_of(CategoricalAccuracy, &ONE_HOT, &SCORES, 2, &weights);
        approx::assert_relative_eq!(categorical, 0.3);
        let scores = [0.1, 0.6, 0.3, 0.05, 0.95, 0.0];
        let sparse = weighted_result_of(SparseCategoricalAccuracy, &LABELS, &scores, 2, &weights);
        approx::assert_relative_eq!(sparse, 0.3);
        let picked = weighted_result_of(Accuracy, &LABELS, &scores, 2, &weights);
        approx::assert_relative_eq!(picked, 0.3);
    }

    #[test]
    fn accuracy_weighs_each_sample_and_divides_by_the_sum_of_the_weights() {
        // Right, wrong, right with weights 1, 3, 0: (1·1 + 3·0 + 0·1) / 4.
        let y_true = [0.0, 0.0, 1.0];
        let y_pred = [0.9, 0.1, 0.2, 0.8, 0.3, 0.7];
        let value = weighted_result_of(Accuracy, &y_true, &y_pred, 3, &[1.0, 3.0, 0.0]);
        assert_eq!(value, 0.25);
        // Weights of 1 give the unweighted value; scaling every weight changes nothing.
        let ones = weighted_result_of(Accuracy, &y_true, &y_pred, 3, &[1.0; 3]);
        assert_eq!(ones, result_of(Accuracy, &y_true, &y_pred, 3));
        let scaled = weighted_result_of(Accuracy, &y_true, &y_pred, 3, &[2.0, 6.0, 0.0]);
        assert_eq!(scaled, 0.25);
        // Every weight 0: nothing counted, so 0 as Keras.
        let zeros = weighted_result_of(Accuracy, &y_true, &y_pred, 3, &[0.0; 3]);
        assert_eq!(zeros, 0.0);
        // Weighted batches accumulate: 0.25 · 4 + 1 · 1 right of 5.
        let mut accuracy = Accuracy;
        accuracy.update_state(&y_true, &y_pred, 3, Some(&[1.0, 3.0, 0.0]));
        accuracy.update_state(&y_true[..1], &y_pred[..2], 1, None);
        assert_eq!(accuracy.result(), 0.4);
    }

    #[test]
    #[should_panic(expected = "2 sample weights for 3 samples")]
    fn update_state_refuses_a_weight_count_other_than_the_rows() {
        let mut accuracy = Accuracy;
        accuracy.update_state(
            &[0.0, 0.0, 1.0],
            &[0.9, 0.1, 0.2, 0.8, 0.3, 0.7],
            3,
            Some(&[1.0, 1.0]),
        );
    }

    #[test]
    fn accuracy_picks_sparse_categorical_categorical_or_binary_from_the_widths() {
        assert_eq!(result_of(Accuracy, &LABELS, &SCORES, 2), 0.5);
        assert_eq!(result_of(Accuracy, &ONE_HOT, &SCORES, 2), 0.5);
        assert_eq!(result_of(Accuracy, &BINARY_TRUE, &BINARY_PRED, 4), 0.75);
        for (target_width, output_width) in [(1, 10), (10, 10), (1, 1)] {
            assert!(Accuracy.check(target_width, output_width).is_ok());
        }
    }

    #[test]
    fn binary_accuracy_counts_outputs_strictly_above_the_threshold() {
        let accuracy = BinaryAccuracy::new().with_threshold(0.7);
        assert_eq!(
            result_of(accuracy, &[1.0, 1.0, 1.0, 0.0], &[0.6, 0.7, 0.8, 0.7], 4),
            0.5
        );
        let logits = BinaryAccuracy::new().with_threshold(0.0);
        assert_eq!(result_of(logits, &[1.0, 0.0], &[2.5, -0.1], 2), 1.0);
    }

    #[test]
    fn binary_accuracy_averages_over_the_outputs_of_each_sample() {
        // Multi-label: 2 of 3 right, then 3 of 3 right.
        let y_true = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let y_pred = [0.9, 0.8, 0.7, 0.1, 0.2, 0.9];
        let value = result_of(BinaryAccuracy, &y_true, &y_pred, 2);
        approx::assert_relative_eq!(value, (2.0 / 3.0 + 1.0) / 2.0);
    }

    #[test]
    fn argmax_ties_take_the_first_maximum() {
        let y_pred = [0.4, 0.4, 0.2, 0.3, 0.3, 0.3];
        assert_eq!(
            result_of(SparseCategoricalAccuracy, &[0.0, 0.0], &y_pred, 2),
            1.0
        );
        assert_eq!(
            result_of(SparseCategoricalAccuracy, &[1.0, 2.0], &y_pred, 2),
            0.0
        );
        let y_true = [0.0, 1.0, 0.0, 0.5, 0.0, 0.5];
        assert_eq!(result_of(CategoricalAccuracy, &y_true, &y_pred, 2), 0.5);
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
    }

    #[test]
    fn accuracy_accumulates_samples_across_updates() {
        let mut accuracy = SparseCategoricalAccuracy;
        accuracy.update_state(&LABELS, &SCORES, 2, None); // 1 of 2
        accuracy.update_state(
            &[1.0f64, 0.0, 1.0],
            &[0.0, 1.0, 1.0, 0.0, 0.2, 0.3],
            3,
            None,
        ); // 3 of 3
        assert_eq!(accuracy.result(), 0.8); // 4 of 5, not the mean of the batches' 0.75
    }

    #[test]
    fn reset_state_forgets_every_sample() {
        let mut metrics: [Box<dyn Metric<f64>>; 4] = [
            Box::new(Accuracy),
            Box::new(BinaryAccuracy),
            Box::new(CategoricalAccuracy),
            Box::new(SparseCategoricalAccuracy),
        ];
        let batches: [(&[f64], &[f64], usize); 4] = [
            (&LABELS, &SCORES, 2),
            (&BINARY_TRUE, &BINARY_PRED, 4),
            (&ONE_HOT, &SCORES, 2),
            (&LABELS, &SCORES, 2),
        ];
        for (metric, (y_true, y_pred, rows)) in metrics.iter_mut().zip(batches) {
            metric.update_state(y_true, y_pred, rows, None);
            assert!(metric.result() > 0.0);
            metric.reset_state();
            assert_eq!(metric.result(), 0.0, "{}", metric.name());
        }
        let mut accuracy = SparseCategoricalAccuracy;
        accuracy.update_state(&LABELS, &SCORES, 2, None); // 1 of 2
        accuracy.reset_state();
        accuracy.update_state(&LABELS[1..], &SCORES[3..], 1, None); // right
        assert_eq!(accuracy.result(), 1.0);
    }

    #[test]
    fn metrics_without_samples_give_zero() {
        let mut accuracy = Accuracy;
        assert_eq!(accuracy.result(), 0.0);
        Metric::<f32>::update_state(&mut accuracy, &[], &[], 0, None);
        assert_eq!(accuracy.result(), 0.0);
        assert_eq!(BinaryAccuracy.result(), 0.0);
        assert_eq!(CategoricalAccuracy.result(), 0.0);
        assert_eq!(SparseCategoricalAccuracy.result(), 0.0);
    }

    #[test]
    fn accuracy_works_in_f32() {
        let mut accuracy = Accuracy;
        accuracy.update_state(&[1.0f32, 1.0], &[0.7f32, 0.5], 2, None); // 0.5 is not above 0.5
        assert_eq!(accuracy.result(), 0.5);
    }

    #[test]
    fn accuracy_check_rejects_widths_that_fit_no_accuracy() {
        let err = Accuracy.check(3, 10).unwrap_err();
        assert!(matches!(
            err,
            Error::BadTargets {
                what: "accuracy",
                ..
            }
        ));
        let message = err.to_string();
        assert!(
            message.starts_with(
                "accuracy: the targets have 3 values per sample and the model gives 10 values"
            ),
            "{message}"
        );
        assert!(
            message.contains("give one class index per sample, or one-hot rows of 10 values"),
            "{message}"
        );
        assert!(Accuracy.check(2, 1).is_err());
    }

    #[test]
    fn categorical_metrics_reject_the_other_kind_of_targets() {
        let message = CategoricalAccuracy.check(1, 10).unwrap_err().to_string();
        assert!(
            message.contains("use SparseCategoricalAccuracy"),
            "{message}"
        );
        let message = SparseCategoricalAccuracy
            .check(10, 10)
            .unwrap_err()
            .to_string();
        assert!(message.contains("use CategoricalAccuracy"), "{message}");
        let message = SparseCategoricalAccuracy
            .check(1, 1)
            .unwrap_err()
            .to_string();
        assert!(message.contains("use BinaryAccuracy"), "{message}");
        let message = CategoricalAccuracy.check(1, 1).unwrap_err().to_string();
        assert!(message.contains("use BinaryAccuracy"), "{message}");
    }

    #[test]
    fn binary_accuracy_check_rejects_width_mismatch_and_nan_threshold() {
        let message = BinaryAccuracy.check(1, 10).unwrap_err().to_string();
        assert!(
            message.contains(
                "binary_accuracy: the targets have 1 value per sample but the model gives 10 values"
            ),
            "{message}"
        );
        assert!(
            message.contains("use SparseCategoricalAccuracy"),
            "{message}"
        );
        let err = BinaryAccuracy::new()
            .with_threshold(f64::NAN)
            .check(1, 1)
            .unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidArgument {
                name: "threshold",
                ..
            }
        ));
        assert!(BinaryAccuracy.check(3, 3).is_ok());
    }
}
