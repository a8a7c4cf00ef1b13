//! Top-k accuracies: how often the target class is among the k highest scores.

use super::accuracy::{argmax, check_more_than_one_class};
use super::{Mean, mean_metric};
use crate::loss::{bad_targets, check_same_width, values};
use crate::{Error, Float, Result};

/// Whether class `target` is among the `k` highest `scores` as TensorFlow's `in_top_k`
/// decides: fewer than `k` classes score strictly higher, so classes tied at the boundary
/// all count as in. False when a score is not finite or `target` is not a class.
fn in_top_k<F: Float>(scores: &[F], target: usize, k: usize) -> bool {
    let Some(&target_score) = scores.get(target) else {
        return false;
    };
    if scores.iter().any(|score| !score.is_finite()) {
        return false;
    }
    scores.iter().filter(|&&score| score > target_score).count() < k
}

/// The class index that a sparse target holds: an integer in `0..classes`.
fn class_index<F: Float>(target: F, classes: usize) -> Option<usize> {
    let label = target.as_f64();
    let is_class = label.fract() == 0.0 && label >= 0.0 && label < classes as f64;
    is_class.then_some(label as usize)
}

fn hit(yes: bool) -> f64 {
    if yes { 1.0 } else { 0.0 }
}

/// Checks `k` against the number of class scores: at least 1, and fewer than the classes
/// (with `k` of them or more, every sample counts).
fn check_k(what: &'static str, k: usize, output_width: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::invalid(
            "k",
            format!("{what} k must be at least 1, got 0; the default is 5"),
        ));
    }
    check_more_than_one_class(what, output_width)?;
    if k < output_width {
        return Ok(());
    }
    Err(bad_targets(
        what,
        format!(
            "k is {k} but the model gives {} per sample, so every sample would count; give a \
             k below {output_width} (the default, 5, suits more than 5 classes)",
            values(output_width)
        ),
    ))
}

/// Keras's `TopKCategoricalAccuracy`: the fraction of samples whose one-hot target's class
/// (the argmax of the target row) is among the `k` highest scores (5 by default). Classes
/// tied with the k-th score count as among them, as in TensorFlow's `in_top_k`.
///
/// ```
/// use strata_runtime::metrics::{Metric, TopKCategoricalAccuracy};
///
/// let mut top_1 = TopKCategoricalAccuracy::new().with_k(1);
/// let y_true: &[f32] = &[0.0, 0.0, 1.0, 0.0, 1.0, 0.0];
/// let y_pred: &[f32] = &[0.1, 0.9, 0.8, 0.05, 0.95, 0.0];
/// top_1.update_state(y_true, y_pred, 2, None);
/// assert_eq!(top_1.result(), 0.5); // Keras's documented value
///
/// // Keras's weighted example: the miss weighs 0.7, the hit 0.3.
/// top_1.reset_state();
/// top_1.update_state(y_true, y_pred, 2, Some(&[0.7, 0.3]));
/// assert!((top_1.result() - 0.3).abs() < 1e-7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TopKCategoricalAccuracy {
    k: usize,
    mean: Mean,
}

/// A fresh [`TopKCategoricalAccuracy`](struct@TopKCategoricalAccuracy) with `k` 5.
#[allow(non_upper_case_globals)]
pub const TopKCategoricalAccuracy: TopKCategoricalAccuracy = TopKCategoricalAccuracy::new();

impl TopKCategoricalAccuracy {
    /// The metric with Keras's default `k`, 5.
    pub const fn new() -> Self {
        TopKCategoricalAccuracy {
            k: 5,
            mean: Mean::new(),
        }
    }

    /// The same metric, counting a sample when its class is among the `k` highest scores.
    pub const fn with_k(self, k: usize) -> Self {
        TopKCategoricalAccuracy { k, ..self }
    }

    /// Checks that the targets are one-hot rows with one value per output, and that `k` is
    /// at least 1 and below the number of classes.
    pub fn check(&self, target_width: usize, output_width: usize) -> Result<()> {
        let hint = if target_width == 1 {
            "; for integer class labels use SparseTopKCategoricalAccuracy"
        } else {
            ""
        };
        check_same_width(
            "top_k_categorical_accuracy",
            target_width,
            output_width,
            "it needs one-hot rows with one value per output",
            hint,
        )?;
        check_k("top_k_categorical_accuracy", self.k, output_width)
    }

    fn value<F: Float>(&self) -> impl Fn(&[F], &[F]) -> f64 + use<F> {
        let k = self.k;
        move |t, p| hit(in_top_k(p, argmax(t), k))
    }
}

impl Default for TopKCategoricalAccuracy {
    fn default() -> Self {
        TopKCategoricalAccuracy::new()
    }
}

mean_metric!(TopKCategoricalAccuracy, "top_k_categorical_accuracy");

/// Keras's `SparseTopKCategoricalAccuracy`: the fraction of samples whose class index is
/// among the `k` highest scores (5 by default). Classes tied with the k-th score count as
/// among them, as in TensorFlow's `in_top_k`; a target that is not a class index never
/// counts.
///
/// ```
/// use strata_runtime::metrics::{Metric, SparseTopKCategoricalAccuracy};
///
/// let mut top_1 = SparseTopKCategoricalAccuracy::new().with_k(1);
/// let y_true: &[f32] = &[2.0, 1.0];
/// let y_pred: &[f32] = &[0.1, 0.9, 0.8, 0.05, 0.95, 0.0];
/// top_1.update_state(y_true, y_pred, 2, None);
/// assert_eq!(top_1.result(), 0.5); // Keras's documented value
///
/// // Keras's weighted example: the miss weighs 0.7, the hit 0.3.
/// top_1.reset_state();
/// top_1.update_state(y_true, y_pred, 2, Some(&[0.7, 0.3]));
/// assert!((top_1.result() - 0.3).abs() < 1e-7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SparseTopKCategoricalAccuracy {
    k: usize,
    mean: Mean,
}

/// A fresh [`SparseTopKCategoricalAccuracy`](struct@SparseTopKCategoricalAccuracy) with
/// `k` 5.
#[allow(non_upper_case_globals)]
pub const SparseTopKCategoricalAccuracy: SparseTopKCategoricalAccuracy =
    SparseTopKCategoricalAccuracy::new();

impl SparseTopKCategoricalAccuracy {
    /// The metric with Keras's default `k`, 5.
    pub const fn new() -> Self {
        SparseTopKCategoricalAccuracy {
            k: 5,
            mean: Mean::new(),
        }
    }

    /// The same metric, counting a sample when its class is among the `k` highest scores.
    pub const fn with_k(self, k: usize) -> Self {
        SparseTopKCategoricalAccuracy { k, ..self }
    }

    /// Checks that the targets are one class index per sample, and that `k` is at least 1
    /// and below the number of classes.
    pub fn check(&self, target_width: usize, output_width: usize) -> Result<()> {
        if target_width != 1 {
            let hint = if target_width == output_width {
                "; for one-hot targets use TopKCategoricalAccuracy"
            } else {
                ""
            };
            return Err(bad_targets(
                "sparse_top_k_categorical_accuracy",
                format!(
                    "the targets have {} per sample, but it needs one class index per \
                     sample{hint}",
                    values(target_width)
                ),
            ));
        }
        check_k("sparse_top_k_categorical_accuracy", self.k, output_width)
    }

    fn value<F: Float>(&self) -> impl Fn(&[F], &[F]) -> f64 + use<F> {
        let k = self.k;
        move |t, p| hit(class_index(t[0], p.len()).is_some_and(|class| in_top_k(p, class, k)))
    }
}

impl Default for SparseTopKCategoricalAccuracy {
    fn default() -> Self {
        SparseTopKCategoricalAccuracy::new()
    }
}

mean_metric!(
    SparseTopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metric;

    fn result_of(mut metric: impl Metric<f64>, y_true: &[f64], y_pred: &[f64], rows: usize) -> f64 {
        metric.update_state(y_true, y_pred, rows, None);
        metric.result()
    }

    const SCORES: [f64; 6] = [0.1, 0.9, 0.8, 0.05, 0.95, 0.0];

    #[test]
    fn top_k_accuracies_match_keras_examples() {
        let one_hot = [0.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let top_1 = TopKCategoricalAccuracy.with_k(1);
        assert_eq!(result_of(top_1, &one_hot, &SCORES, 2), 0.5);
        let sparse_top_1 = SparseTopKCategoricalAccuracy.with_k(1);
        assert_eq!(result_of(sparse_top_1, &[2.0, 1.0], &SCORES, 2), 0.5);
        // With k 2, both targets are in their sample's top two.
        let sparse_top_2 = SparseTopKCategoricalAccuracy.with_k(2);
        assert_eq!(result_of(sparse_top_2, &[2.0, 1.0], &SCORES, 2), 1.0);
    }

    #[test]
    fn top_k_counts_a_sample_whose_class_is_among_the_k_highest_scores() {
        // Six classes; sample 1's class 3 is 3rd, sample 2's class 0 is 6th.
        let y_pred = [
            0.1, 0.3, 0.05, 0.2, 0.25, 0.1, //
            0.01, 0.3, 0.2, 0.19, 0.1, 0.2,
        ];
        let labels = [3.0, 0.0];
        for (k, expected) in [(1, 0.0), (2, 0.0), (3, 0.5), (5, 0.5)] {
            let metric = SparseTopKCategoricalAccuracy.with_k(k);
            assert_eq!(result_of(metric, &labels, &y_pred, 2), expected, "k = {k}");
        }
        let mut one_hot = [0.0; 12];
        one_hot[3] = 1.0;
        one_hot[6] = 1.0;
        let metric = TopKCategoricalAccuracy.with_k(3);
        assert_eq!(result_of(metric, &one_hot, &y_pred, 2), 0.5);
    }

    #[test]
    fn classes_tied_at_the_boundary_count_as_in_the_top_k() {
        // Class 2 ties with class 1 for second place: both are in the top 2, and in the
        // top 1 neither is (class 0 scores strictly higher).
        let y_pred = [0.5, 0.2, 0.2, 0.1];
        assert!(in_top_k(&y_pred, 2, 2));
        assert!(in_top_k(&y_pred, 1, 2));
        assert!(!in_top_k(&y_pred, 2, 1));
        // All equal: every class is in the top 1.
        assert!(in_top_k(&[0.25; 4], 3, 1));
        let metric = SparseTopKCategoricalAccuracy.with_k(1);
        assert_eq!(result_of(metric, &[3.0], &[0.25; 4], 1), 1.0);
    }

    #[test]
    fn non_finite_scores_and_bad_labels_never_count() {
        assert!(!in_top_k(&[0.5, f64::NAN, 0.1], 0, 2));
        assert!(!in_top_k(&[0.5, f64::INFINITY, 0.1], 1, 2));
        assert!(!in_top_k(&[0.5, 0.2], 2, 1));
        let metric = SparseTopKCategoricalAccuracy.with_k(2);
        let y_pred = [0.5, 0.3, 0.2, 0.5, 0.3, 0.2, 0.5, 0.3, 0.2];
        assert_eq!(result_of(metric, &[1.5, -1.0, 3.0], &y_pred, 3), 0.0);
    }

    #[test]
    fn state_accumulates_across_updates_and_resets() {
        let mut metric = SparseTopKCategoricalAccuracy.with_k(1);
        assert_eq!(metric.result(), 0.0);
        metric.update_state(&[2.0f32, 1.0], &[0.1, 0.9, 0.8, 0.05, 0.95, 0.0], 2, None);
        metric.update_state(&[0.0f32], &[0.9, 0.05, 0.05], 1, None);
        assert_eq!(metric.result(), 2.0 / 3.0);
        metric.reset_state();
        assert_eq!(metric.result(), 0.0);
        Metric::<f32>::update_state(&mut metric, &[], &[], 0, None);
        assert_eq!(metric.result(), 0.0);
    }

    #[test]
    fn check_rejects_the_wrong_targets_and_a_k_that_counts_everything() {
        assert!(TopKCategoricalAccuracy.check(10, 10).is_ok());
        assert!(SparseTopKCategoricalAccuracy.check(1, 10).is_ok());
        let message = TopKCategoricalAccuracy
            .check(1, 10)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("use SparseTopKCategoricalAccuracy"),
            "{message}"
        );
        let message = SparseTopKCategoricalAccuracy
            .check(10, 10)
            .unwrap_err()
            .to_string();
        assert!(message.contains("use TopKCategoricalAccuracy"), "{message}");
        let message = SparseTopKCategoricalAccuracy
            .check(1, 3)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("k is 5 but the model gives 3 values per sample"),
            "{message}"
        );
        assert!(message.contains("give a k below 3"), "{message}");
        let message = SparseTopKCategoricalAccuracy
            .with_k(1)
            .check(1, 1)
            .unwrap_err()
            .to_string();
        assert!(message.contains("use BinaryAccuracy"), "{message}");
        let err = TopKCategoricalAccuracy.with_k(0).check(10, 10).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { name: "k", .. }));
    }

    #[test]
    fn names_are_keras_names() {
        assert_eq!(TopKCategoricalAccuracy.name(), "top_k_categorical_accuracy");
        assert_eq!(
            Metric::<f32>::name(&SparseTopKCategoricalAccuracy),
            "sparse_top_k_categorical_accuracy"
        );
    }
}
