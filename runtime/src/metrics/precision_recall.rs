//! Precision and Recall: thresholded binary decisions over every output, as Keras counts
//! them.

use super::confusion::{Confusion, is_positive};
use super::{metric_from_inherent, sample_weights, widths};
use crate::loss::{bad_targets, check_same_width, values};
use crate::{Error, Float, Result};

/// Keras's `NEG_INF`: the threshold with `top_k` and no threshold of one's own, so that
/// every score kept in the top k is a positive.
const NEG_INF: f64 = -1e10;

/// Which outputs count as predicted positives: Keras's `thresholds` (one of them here),
/// `top_k` and `class_id`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Decisions {
    threshold: Option<f64>,
    top_k: Option<usize>,
    class_id: Option<usize>,
}

impl Decisions {
    const fn new() -> Self {
        Decisions {
            threshold: None,
            top_k: None,
            class_id: None,
        }
    }

    /// The threshold in force: the one given, else Keras's default (0.5, or with `top_k`
    /// any kept score).
    fn threshold(&self) -> f64 {
        match (self.threshold, self.top_k) {
            (Some(threshold), _) => threshold,
            (None, Some(_)) => NEG_INF,
            (None, None) => 0.5,
        }
    }

    /// The output columns that count: `class_id`'s alone, or all `width`.
    fn columns(&self, width: usize) -> std::ops::Range<usize> {
        match self.class_id {
            Some(class_id) if class_id < width => class_id..class_id + 1,
            Some(_) => 0..0,
            None => 0..width,
        }
    }

    fn check(&self, what: &'static str, target_width: usize, output_width: usize) -> Result<()> {
        self.check_arguments(what)?;
        let hint = if target_width == 1 && output_width > 1 {
            "; one-hot encode integer class labels, and pick a class with class_id"
        } else {
            ""
        };
        check_same_width(
            what,
            target_width,
            output_width,
            "it compares each output with the 0/1 label at the same position",
            hint,
        )?;
        self.check_against_outputs(what, output_width)
    }

    /// Checks the arguments on their own: Keras's ranges.
    fn check_arguments(&self, what: &'static str) -> Result<()> {
        if let Some(threshold) = self.threshold
            && !(0.0..=1.0).contains(&threshold)
        {
            return Err(Error::invalid(
                "thresholds",
                format!(
                    "{what} threshold must be in [0, 1], got {threshold:?}; the default is 0.5, \
                     and 0.0 suits a model that outputs logits"
                ),
            ));
        }
        if self.top_k == Some(0) {
            return Err(Error::invalid(
                "top_k",
                format!(
                    "{what} top_k must be at least 1, got 0; leave it unset (the default) to \
                     count every output above the threshold"
                ),
            ));
        }
        Ok(())
    }

    /// Checks `top_k` and `class_id` against the number of outputs.
    fn check_against_outputs(&self, what: &'static str, output_width: usize) -> Result<()> {
        if let Some(top_k) = self.top_k
            && top_k > output_width
        {
            return Err(bad_targets(
                what,
                format!(
                    "top_k is {top_k} but the model gives {} per sample; give a top_k of at \
                     most {output_width}",
                    values(output_width)
                ),
            ));
        }
        if let Some(class_id) = self.class_id
            && class_id >= output_width
        {
            return Err(bad_targets(
                what,
                format!(
                    "class_id {class_id} is not among the model's {}; give a class_id in \
                     0..{output_width}",
                    values(output_width)
                ),
            ));
        }
        Ok(())
    }

    /// Adds to `counts` one decision per counted output of `rows` samples, each with its
    /// sample's weight.
    fn count<F: Float>(
        &self,
        what: &str,
        (y_true, y_pred, rows): (&[F], &[F], usize),
        sample_weight: Option<&[F]>,
        counts: &mut Confusion,
    ) {
        if rows == 0 {
            return;
        }
        let (target_width, output_width) = widths(what, y_true.len(), y_pred.len(), rows);
        let threshold = F::of(self.threshold());
        // Only top_k needs these (and allocates them, once per batch).
        let (mut kept, mut order) = match self.top_k {
            Some(_) => (vec![true; output_width], Vec::with_capacity(output_width)),
            None => (Vec::new(), Vec::new()),
        };
        let rows_iter = y_true
            .chunks_exact(target_width)
            .zip(y_pred.chunks_exact(output_width));
        let weights = sample_weights(what, sample_weight, rows);
        for ((targets, scores), weight) in rows_iter.zip(weights) {
            if let Some(top_k) = self.top_k {
                mark_top_k(scores, top_k, &mut order, &mut kept);
            }
            for i in self.columns(target_width.min(output_width)) {
                let predicted_positive = kept.get(i).is_none_or(|&k| k) && scores[i] > threshold;
                let label = if is_positive(targets[i]) { 1.0 } else { 0.0 };
                counts.add(label, predicted_positive, weight);
            }
        }
    }
}

/// Sets `kept[i]` for the `k` highest `scores`, the lower index first among equal scores
/// (as Keras's `top_k`); `order` is scratch space kept between rows.
fn mark_top_k<F: Float>(scores: &[F], k: usize, order: &mut Vec<usize>, kept: &mut [bool]) {
    // -0.0 and 0.0 tie, as they compare equal; `total_cmp` alone would order them.
    let key = |i: usize| scores[i].as_f64() + 0.0;
    order.clear();
    order.extend(0..scores.len());
    order.sort_by(|&a, &b| key(b).total_cmp(&key(a))); // stable: ties keep index order
    kept.fill(false);
    for &i in order.iter().take(k) {
        kept[i] = true;
    }
}

/// Defines a metric over [`Decisions`] and one [`Confusion`]: the struct, its constant
/// with Keras's defaults, the builders, and [`Metric`](super::Metric); `$result` is the
/// [`Confusion`] method that gives its value.
macro_rules! confusion_metric {
    ($(#[$doc:meta])* $metric:ident, $name:literal, $result:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $metric {
            decisions: Decisions,
            counts: Confusion,
        }

        #[doc = concat!("A fresh [`", stringify!($metric), "`](struct@", stringify!($metric),
            ") with Keras's defaults: threshold 0.5, every output counted.")]
        #[allow(non_upper_case_globals)]
        pub const $metric: $metric = $metric::new();

        impl $metric {
            /// The metric with Keras's defaults: threshold 0.5, no `top_k`, no `class_id`.
            pub const fn new() -> Self {
                $metric {
                    decisions: Decisions::new(),
                    counts: Confusion::new(),
                }
            }

            /// The same metric, counting scores above `threshold` (in `[0, 1]`; 0.0 for
            /// logits) as positive. Keras takes a list of thresholds and gives one value per
            /// threshold; a metric here gives one value, so it takes one threshold.
            pub const fn with_threshold(self, threshold: f64) -> Self {
                let decisions = Decisions { threshold: Some(threshold), ..self.decisions };
                $metric { decisions, ..self }
            }

            /// The same metric, counting as positive only each sample's `top_k` highest
            /// scores (the lower index first among equal scores), and of those only the ones
            /// above the threshold if one is given.
            pub const fn with_top_k(self, top_k: usize) -> Self {
                let decisions = Decisions { top_k: Some(top_k), ..self.decisions };
                $metric { decisions, ..self }
            }

            /// The same metric, counting only output `class_id` of each sample.
            pub const fn with_class_id(self, class_id: usize) -> Self {
                let decisions = Decisions { class_id: Some(class_id), ..self.decisions };
                $metric { decisions, ..self }
            }

            /// Checks the arguments, that the targets have one 0/1 label per output, and
            /// that `top_k` and `class_id` fit the outputs.
            pub fn check(&self, target_width: usize, output_width: usize) -> Result<()> {
                self.decisions.check($name, target_width, output_width)
            }

            /// Keras's name for the metric, which the logs and the history use.
            pub fn name(&self) -> &'static str {
                $name
            }

            /// The value over every sample since the last reset; 0 before any.
            pub fn result(&self) -> f64 {
                self.counts.$result()
            }

            /// Forgets every sample.
            pub fn reset_state(&mut self) {
                self.counts = Confusion::new();
            }

            fn update<F: Float>(
                &mut self,
                y_true: &[F],
                y_pred: &[F],
                rows: usize,
                sample_weight: Option<&[F]>,
            ) {
                let batch = (y_true, y_pred, rows);
                self.decisions.count($name, batch, sample_weight, &mut self.counts);
            }
        }

        impl Default for $metric {
            fn default() -> Self {
                $metric::new()
            }
        }

        metric_from_inherent!($metric);
    };
}

confusion_metric!(
    /// Keras's `Precision`: of the outputs predicted positive (above the threshold, 0.5 by
    /// default), the fraction whose target is positive (non-zero): `tp / (tp + fp)`, 0
    /// when nothing was predicted positive. Every output of every sample is one decision,
    /// unless [`with_class_id`](Self::with_class_id) picks one output.
    ///
    /// ```
    /// use strata_runtime::metrics::{Metric, Precision};
    ///
    /// let mut precision = Precision;
    /// precision.update_state(&[0.0f64, 1.0, 1.0, 1.0], &[1.0, 0.0, 1.0, 1.0], 4, None);
    /// assert!((precision.result() - 2.0 / 3.0).abs() < 1e-12); // Keras's documented 0.6667
    ///
    /// // Keras's weighted example: only the third sample, a true positive, counts.
    /// precision.reset_state();
    /// let weights: &[f64] = &[0.0, 0.0, 1.0, 0.0];
    /// precision.update_state(&[0.0f64, 1.0, 1.0, 1.0], &[1.0, 0.0, 1.0, 1.0], 4, Some(weights));
    /// assert_eq!(precision.result(), 1.0);
    ///
    /// // Keras's top_k examples: one sample of four outputs, equal scores.
    /// let mut top_2 = Precision::new().with_top_k(2);
    /// top_2.update_state(&[0.0f64, 0.0, 1.0, 1.0], &[1.0, 1.0, 1.0, 1.0], 1, None);
    /// assert_eq!(top_2.result(), 0.0);
    /// let mut top_4 = Precision::new().with_top_k(4);
    /// top_4.update_state(&[0.0f64, 0.0, 1.0, 1.0], &[1.0, 1.0, 1.0, 1.0], 1, None);
    /// assert_eq!(top_4.result(), 0.5);
    /// ```
    Precision,
    "precision",
    precision
);

confusion_metric!(
    /// Keras's `Recall`: of the outputs whose target is positive (non-zero), the fraction
    /// predicted positive (above the threshold, 0.5 by default): `tp / (tp + fn)`, 0 when
    /// no target was positive. Every output of every sample is one decision, unless
    /// [`with_class_id`](Self::with_class_id) picks one output.
    ///
    /// ```
    /// use strata_runtime::metrics::{Metric, Recall};
    ///
    /// let mut recall = Recall;
    /// recall.update_state(&[0.0f64, 1.0, 1.0, 1.0], &[1.0, 0.0, 1.0, 1.0], 4, None);
    /// assert!((recall.result() - 2.0 / 3.0).abs() < 1e-12); // Keras's documented 0.6667
    ///
    /// // Keras's weighted example: only the third sample, a true positive, counts.
    /// recall.reset_state();
    /// let weights: &[f64] = &[0.0, 0.0, 1.0, 0.0];
    /// recall.update_state(&[0.0f64, 1.0, 1.0, 1.0], &[1.0, 0.0, 1.0, 1.0], 4, Some(weights));
    /// assert_eq!(recall.result(), 1.0);
    ///
    /// // Class 1 of three, as in a softmax classifier with one-hot targets.
    /// let mut recall_of_class_1 = Recall::new().with_class_id(1);
    /// let y_true = [0.0f32, 1.0, 0.0, 0.0, 1.0, 0.0];
    /// let y_pred = [0.2f32, 0.7, 0.1, 0.5, 0.4, 0.1];
    /// recall_of_class_1.update_state(&y_true, &y_pred, 2, None);
    /// assert_eq!(recall_of_class_1.result(), 0.5);
    /// ```
    Recall,
    "recall",
    recall
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metric;

    fn result_of(mut metric: impl Metric<f64>, y_true: &[f64], y_pred: &[f64], rows: usize) -> f64 {
        metric.update_state(y_true, y_pred, rows, None);
        metric.result()
    }

    #[test]
    fn precision_and_recall_match_keras_examples() {
        let (y_true, y_pred) = ([0.0, 1.0, 1.0, 1.0], [1.0, 0.0, 1.0, 1.0]);
        approx::assert_relative_eq!(result_of(Precision, &y_true, &y_pred, 4), 2.0 / 3.0);
        approx::assert_relative_eq!(result_of(Recall, &y_true, &y_pred, 4), 2.0 / 3.0);
        let (y_true, y_pred) = ([0.0, 0.0, 1.0, 1.0], [1.0; 4]);
        assert_eq!(result_of(Precision.with_top_k(2), &y_true, &y_pred, 1), 0.0);
        assert_eq!(result_of(Precision.with_top_k(4), &y_true, &y_pred, 1), 0.5);
    }

    fn weighted_result_of(
        mut metric: impl Metric<f64>,
        (y_true, y_pred, rows): (&[f64], &[f64], usize),
        sample_weight: &[f64],
    ) -> f64 {
        metric.update_state(y_true, y_pred, rows, Some(sample_weight));
        metric.result()
    }

    #[test]
    fn weighted_precision_and_recall_match_keras_examples() {
        let batch: (&[f64], &[f64], usize) = (&[0.0, 1.0, 1.0, 1.0], &[1.0, 0.0, 1.0, 1.0], 4);
        let weights = [0.0, 0.0, 1.0, 0.0];
        assert_eq!(weighted_result_of(Precision, batch, &weights), 1.0);
        assert_eq!(weighted_result_of(Recall, batch, &weights), 1.0);
    }

    #[test]
    fn weights_count_every_output_of_a_sample_with_its_weight() {
        // As in precision_and_recall_match_hand_counts, with sample 1 weighing 3 and
        // sample 2 weighing 0.5: tp 3·1 + 0.5·1, fp 3·1, fn 3·1 + 0.5·1.
        let batch: (&[f64], &[f64], usize) = (
            &[1.0, 0.0, 1.0, 0.0, 1.0, 1.0],
            &[0.9, 0.8, 0.5, 0.2, 0.6, 0.1],
            2,
        );
        let weights = [3.0, 0.5];
        assert_eq!(weighted_result_of(Precision, batch, &weights), 3.5 / 6.5);
        assert_eq!(weighted_result_of(Recall, batch, &weights), 3.5 / 7.0);
        // With class_id, the weight counts once per sample.
        let class_0 = Recall.with_class_id(0);
        assert_eq!(weighted_result_of(class_0, batch, &weights), 1.0);
        let class_2 = Recall.with_class_id(2);
        assert_eq!(weighted_result_of(class_2, batch, &weights), 0.0);
        // Weights of 1 are no weights.
        let ones = weighted_result_of(Precision, batch, &[1.0, 1.0]);
        assert_eq!(ones, result_of(Precision, batch.0, batch.1, 2));
    }

    #[test]
    fn precision_and_recall_match_hand_counts() {
        // Two samples of three outputs: tp 2 (0.9, 0.6), fp 1 (0.8), fn 2 (0.5, 0.1), tn 1.
        let y_true = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0];
        let y_pred = [0.9, 0.8, 0.5, 0.2, 0.6, 0.1];
        assert_eq!(result_of(Precision, &y_true, &y_pred, 2), 2.0 / 3.0);
        assert_eq!(result_of(Recall, &y_true, &y_pred, 2), 0.5);
        // Threshold 0.3: tp 3, fp 1, fn 1.
        assert_eq!(
            result_of(Precision.with_threshold(0.3), &y_true, &y_pred, 2),
            0.75
        );
        assert_eq!(
            result_of(Recall.with_threshold(0.3), &y_true, &y_pred, 2),
            0.75
        );
    }

    #[test]
    fn a_score_equal_to_the_threshold_is_negative() {
        assert_eq!(result_of(Recall, &[1.0, 1.0], &[0.5, 0.50001], 2), 0.5);
        assert_eq!(result_of(Precision, &[1.0, 0.0], &[0.7, 0.5], 2), 1.0);
    }

    #[test]
    fn any_non_zero_target_is_a_positive_label() {
        assert_eq!(
            result_of(Recall, &[0.3, 2.0, -1.0], &[0.9, 0.9, 0.1], 3),
            2.0 / 3.0
        );
    }

    #[test]
    fn no_predicted_or_actual_positives_give_zero() {
        // Nothing above the threshold: precision has no denominator.
        assert_eq!(result_of(Precision, &[1.0, 0.0], &[0.1, 0.2], 2), 0.0);
        // No positive targets: recall has no denominator.
        assert_eq!(result_of(Recall, &[0.0, 0.0], &[0.9, 0.2], 2), 0.0);
    }

    #[test]
    fn all_positives_predicted_positive_give_one() {
        assert_eq!(result_of(Precision, &[1.0; 3], &[0.6, 0.7, 1.0], 3), 1.0);
        assert_eq!(result_of(Recall, &[1.0; 3], &[0.6, 0.7, 1.0], 3), 1.0);
    }

    #[test]
    fn top_k_keeps_the_k_highest_scores_of_each_sample() {
        // Sample 1 keeps 0.9 (tp) and 0.7 (fp) and misses its 0.05 (fn); sample 2 keeps
        // 0.8 and 0.6 (tp, tp).
        let y_true = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
        let y_pred = [0.9, 0.7, 0.1, 0.05, 0.2, 0.8, 0.6, 0.1];
        assert_eq!(
            result_of(Precision.with_top_k(2), &y_true, &y_pred, 2),
            0.75
        );
        assert_eq!(result_of(Recall.with_top_k(2), &y_true, &y_pred, 2), 0.75);
    }

    #[test]
    fn top_k_breaks_ties_by_the_lower_index_and_applies_a_given_threshold() {
        let y_true = [0.0, 1.0, 1.0];
        assert_eq!(
            result_of(Recall.with_top_k(1), &y_true, &[0.5, 0.5, 0.5], 1),
            0.0
        );
        assert_eq!(
            result_of(Recall.with_top_k(2), &y_true, &[0.5, 0.5, 0.5], 1),
            0.5
        );
        // Kept in the top 2, but 0.3 is not above 0.4.
        let thresholded = Recall.with_top_k(2).with_threshold(0.4);
        assert_eq!(result_of(thresholded, &y_true, &[0.1, 0.3, 0.9], 1), 0.5);
    }

    #[test]
    fn class_id_counts_one_output_of_each_sample() {
        // Three samples of two outputs.
        let y_true = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0];
        let y_pred = [0.9, 0.8, 0.3, 0.2, 0.6, 0.1];
        // Output 1: only 0.8 is above 0.5, and its target is 0.
        assert_eq!(
            result_of(Precision.with_class_id(1), &y_true, &y_pred, 3),
            0.0
        );
        // Output 0: of targets 0.9 and 0.3, only 0.9 is above 0.5.
        assert_eq!(result_of(Recall.with_class_id(0), &y_true, &y_pred, 3), 0.5);
        // Top 1 first, then output 0: sample 2's 0.3 is not its highest score; with top 2
        // every score is kept and, with no threshold given, counts as positive.
        let y_pred = [0.9, 0.1, 0.3, 0.7, 0.6, 0.1];
        let top_1 = Recall.with_top_k(1).with_class_id(0);
        assert_eq!(result_of(top_1, &y_true, &y_pred, 3), 0.5);
        let top_2 = Recall.with_top_k(2).with_class_id(0);
        assert_eq!(result_of(top_2, &y_true, &y_pred, 3), 1.0);
    }

    #[test]
    fn state_accumulates_across_updates_and_resets() {
        let mut precision = Precision;
        precision.update_state(&[1.0f32, 0.0], &[0.9, 0.9], 2, None);
        precision.update_state(&[1.0f32, 1.0], &[0.9, 0.9], 2, None);
        assert_eq!(precision.result(), 0.75);
        precision.reset_state();
        assert_eq!(precision.result(), 0.0);
        Metric::<f32>::update_state(&mut precision, &[], &[], 0, None);
        assert_eq!(precision.result(), 0.0);
        precision.update_state(&[0.0f32], &[0.9], 1, None);
        assert_eq!(precision.result(), 0.0);
    }

    #[test]
    fn check_rejects_impossible_widths_and_arguments() {
        assert!(Precision.check(3, 3).is_ok());
        let message = Precision.check(1, 3).unwrap_err().to_string();
        assert!(
            message.starts_with("precision: the targets have 1 value"),
            "{message}"
        );
        assert!(message.contains("one-hot encode"), "{message}");
        let message = Recall.with_top_k(4).check(3, 3).unwrap_err().to_string();
        assert!(message.contains("give a top_k of at most 3"), "{message}");
        let message = Recall.with_class_id(3).check(3, 3).unwrap_err().to_string();
        assert!(message.contains("give a class_id in 0..3"), "{message}");
        let err = Precision.with_threshold(1.5).check(1, 1).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidArgument {
                name: "thresholds",
                ..
            }
        ));
        assert!(err.to_string().contains("the default is 0.5"), "{err}");
        let err = Recall.with_top_k(0).check(3, 3).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { name: "top_k", .. }));
        assert!(Precision.with_threshold(f64::NAN).check(1, 1).is_err());
    }

    #[test]
    fn names_are_keras_names() {
        assert_eq!(Metric::<f32>::name(&Precision), "precision");
        assert_eq!(Recall.name(), "recall");
    }
}
