//! AUC: the area under the ROC or precision-recall curve, approximated as Keras does, from
//! confusion counts at evenly spaced thresholds.

use super::confusion::{Confusion, divide_no_nan, is_positive};
use super::{metric_from_inherent, sample_weights, widths};
use crate::loss::check_same_width;
use crate::{Error, Float, Result};

/// The curve whose area [`AUC`](struct@AUC) measures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Curve {
    /// Recall (true positive rate) against false positive rate; Keras's default.
    #[default]
    Roc,
    /// Precision against recall.
    Pr,
}

/// How [`AUC`](struct@AUC) sums the area between two thresholds (Keras's
/// `summation_method`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SummationMethod {
    /// Keras's default: trapezoids under the ROC curve; under the PR curve, Davis &
    /// Goadrich's interpolation of the true and false positives (not of precision itself).
    #[default]
    Interpolation,
    /// Rectangles at the lower of the two heights: a lower bound.
    Minoring,
    /// Rectangles at the higher of the two heights: an upper bound.
    Majoring,
}

/// Keras's `AUC`: the area under the ROC curve (or the PR curve), computed from confusion
/// counts at `num_thresholds` thresholds (200 by default) as Keras computes it, so that
/// the values match Keras's.
///
/// The thresholds are `-1e-7`, `i / (num_thresholds - 1)` for `i` in
/// `1..num_thresholds - 1`, and `1 + 1e-7`; a score is positive at a threshold it is above.
/// Scores are clipped into `[0, 1]` first, and every output of every sample is one
/// decision (Keras's `multi_label=False`); a target is positive when non-zero.
///
/// ```
/// use strata_runtime::metrics::{AUC, Metric};
///
/// let mut auc = AUC::new().with_num_thresholds(3);
/// auc.update_state(&[0.0f32, 0.0, 1.0, 1.0], &[0.0, 0.5, 0.3, 0.9], 4, None);
/// // Thresholds -1e-7, 0.5, 1 + 1e-7: recall 1, 0.5, 0; false positive rate 1, 0, 0.
/// assert_eq!(auc.result(), 0.75); // Keras's documented value
///
/// // Keras's weighted example: only the samples scored 0.0 and 0.9 count.
/// auc.reset_state();
/// let weights: &[f32] = &[1.0, 0.0, 0.0, 1.0];
/// auc.update_state(&[0.0f32, 0.0, 1.0, 1.0], &[0.0, 0.5, 0.3, 0.9], 4, Some(weights));
/// assert_eq!(auc.result(), 1.0); // Keras's documented value
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AUC {
    num_thresholds: usize,
    curve: Curve,
    summation_method: SummationMethod,
    from_logits: bool,
    /// One entry per threshold once the first batch arrives; empty before.
    counts: Vec<Confusion>,
    /// A batch's positives then negatives per bucket, kept so that an update allocates
    /// nothing once the first has; zero between updates.
    buckets: Vec<f64>,
}

/// A fresh [`AUC`](struct@AUC) with Keras's defaults: ROC curve, 200 thresholds,
/// interpolation, probabilities.
#[allow(non_upper_case_globals)]
pub const AUC: AUC = AUC::new();

impl AUC {
    /// The metric with Keras's defaults: ROC curve, 200 thresholds, interpolation, scores
    /// that are probabilities.
    pub const fn new() -> Self {
        AUC {
            num_thresholds: 200,
            curve: Curve::Roc,
            summation_method: SummationMethod::Interpolation,
            from_logits: false,
            counts: Vec::new(),
            buckets: Vec::new(),
        }
    }

    /// The same metric with `num_thresholds` thresholds (more than 1); more thresholds
    /// approximate the area more closely.
    #[must_use]
    pub fn with_num_thresholds(mut self, num_thresholds: usize) -> Self {
        self.num_thresholds = num_thresholds;
        self.counts.clear();
        self
    }

    /// The same metric over another curve.
    #[must_use]
    pub fn with_curve(mut self, curve: Curve) -> Self {
        self.curve = curve;
        self
    }

    /// The same metric with another way to sum the area.
    #[must_use]
    pub fn with_summation_method(mut self, summation_method: SummationMethod) -> Self {
        self.summation_method = summation_method;
        self
    }

    /// The same metric for a model that outputs logits: scores go through a sigmoid first.
    #[must_use]
    pub fn with_from_logits(mut self, from_logits: bool) -> Self {
        self.from_logits = from_logits;
        self
    }

    /// Checks that there are at least two thresholds and one 0/1 label per output.
    pub fn check(&self, target_width: usize, output_width: usize) -> Result<()> {
        if self.num_thresholds <= 1 {
            return Err(Error::invalid(
                "num_thresholds",
                format!(
                    "auc num_thresholds must be more than 1, got {}; the default is 200",
                    self.num_thresholds
                ),
            ));
        }
        check_same_width(
            "auc",
            target_width,
            output_width,
            "it compares each output with the 0/1 label at the same position",
            "",
        )
    }

    /// Keras's name for the metric, which the logs and the history use.
    pub fn name(&self) -> &'static str {
        "auc"
    }

    /// The area over every sample since the last reset; 0 before any.
    pub fn result(&self) -> f64 {
        match (self.curve, self.summation_method) {
            (Curve::Pr, SummationMethod::Interpolation) => interpolated_pr_area(&self.counts),
            (curve, method) => riemann_area(&self.counts, curve, method),
        }
    }

    /// Forgets every sample.
    pub fn reset_state(&mut self) {
        self.counts.clear();
    }

    fn update<F: Float>(
        &mut self,
        y_true: &[F],
        y_pred: &[F],
        rows: usize,
        sample_weight: Option<&[F]>,
    ) {
        let num_thresholds = self.num_thresholds;
        if rows == 0 || num_thresholds <= 1 {
            return; // `check` refuses fewer than two thresholds: nothing to count at.
        }
        let (target_width, output_width) = widths("auc", y_true.len(), y_pred.len(), rows);
        self.buckets.resize(2 * num_thresholds, 0.0);
        let (positives_in, negatives_in) = self.buckets.split_at_mut(num_thresholds);
        let rows_iter = y_true
            .chunks_exact(target_width)
            .zip(y_pred.chunks_exact(output_width));
        let weights = sample_weights("auc", sample_weight, rows);
        for ((targets, scores), weight) in rows_iter.zip(weights) {
            for (&target, &score) in targets.iter().zip(scores) {
                let score = if self.from_logits {
                    sigmoid(score)
                } else {
                    score
                };
                let bucket = bucket_of(score, num_thresholds);
                if is_positive(target) {
                    positives_in[bucket] += weight;
                } else {
                    negatives_in[bucket] += weight;
                }
            }
        }
        self.counts.resize(num_thresholds, Confusion::new());
        add_cumulative_counts(&mut self.counts, positives_in, negatives_in);
        self.buckets.fill(0.0);
    }
}

impl Default for AUC {
    fn default() -> Self {
        AUC::new()
    }
}

metric_from_inherent!(AUC);

fn sigmoid<F: Float>(x: F) -> F {
    F::one() / (F::one() + (-x).exp())
}

/// The highest threshold index that `score` is above, computed as Keras does, in the
/// score's own precision: `max(ceil(clip(score, 0, 1) * (n - 1)) - 1, 0)`. Index 0 is
/// `-1e-7`, below every clipped score; nothing reaches the last, `1 + 1e-7`.
fn bucket_of<F: Float>(score: F, num_thresholds: usize) -> usize {
    // `max` and `min` return the other argument for NaN, so NaN lands in bucket 0.
    let clipped = score.max(F::zero()).min(F::one());
    let scaled = (clipped * F::of((num_thresholds - 1) as f64)).ceil() - F::one();
    scaled.as_f64().max(0.0) as usize
}

/// Adds to `counts[i]` the decisions at threshold `i`, given how many positive and
/// negative targets have their score in each bucket: a score in bucket `b` is above
/// thresholds `0..=b`.
fn add_cumulative_counts(counts: &mut [Confusion], positives_in: &[f64], negatives_in: &[f64]) {
    let total_positives: f64 = positives_in.iter().sum();
    let total_negatives: f64 = negatives_in.iter().sum();
    let (mut positives_above, mut negatives_above) = (0.0, 0.0);
    for i in (0..counts.len()).rev() {
        positives_above += positives_in[i];
        negatives_above += negatives_in[i];
        counts[i] += Confusion {
            true_positives: positives_above,
            false_positives: negatives_above,
            true_negatives: total_negatives - negatives_above,
            false_negatives: total_positives - positives_above,
        };
    }
}

/// Keras's Riemann sum over consecutive thresholds: width along x (false positive rate
/// for ROC, recall for PR), height from y (recall for ROC, precision for PR).
fn riemann_area(counts: &[Confusion], curve: Curve, method: SummationMethod) -> f64 {
    let point = |c: &Confusion| match curve {
        Curve::Roc => (c.false_positive_rate(), c.recall()),
        Curve::Pr => (c.recall(), c.precision()),
    };
    counts
        .windows(2)
        .map(|pair| {
            let ((x0, y0), (x1, y1)) = (point(&pair[0]), point(&pair[1]));
            let height = match method {
                SummationMethod::Interpolation => (y0 + y1) / 2.0,
                SummationMethod::Minoring => y0.min(y1),
                SummationMethod::Majoring => y0.max(y1),
            };
            (x0 - x1) * height
        })
        .sum()
}

/// Keras's `interpolate_pr_auc` (after Davis & Goadrich 2006): between thresholds `a` and
/// `b`, true positives and predicted positives `P` vary linearly, so precision is
/// `(intercept + slope * P) / P` and its integral over recall is closed-form:
/// `slope * (dTP + intercept * ln(P_a / P_b)) / (tp_b + fn_b)`.
fn interpolated_pr_area(counts: &[Confusion]) -> f64 {
    counts
        .windows(2)
        .map(|pair| {
            let (a, b) = (&pair[0], &pair[1]);
            let (p_a, p_b) = (a.predicted_positives(), b.predicted_positives());
            let true_positive_drop = a.true_positives - b.true_positives;
            let slope = divide_no_nan(true_positive_drop, (p_a - p_b).max(0.0));
            let intercept = b.true_positives - slope * p_b;
            let p_ratio = if p_a > 0.0 && p_b > 0.0 {
                p_a / p_b
            } else {
                1.0
            };
            divide_no_nan(
                slope * (true_positive_drop + intercept * p_ratio.ln()),
                b.actual_positives().max(0.0),
            )
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metric;

    // Keras's documented example.
    const Y_TRUE: [f64; 4] = [0.0, 0.0, 1.0, 1.0];
    const Y_PRED: [f64; 4] = [0.0, 0.5, 0.3, 0.9];

    fn auc_of(auc: AUC, y_true: &[f64], y_pred: &[f64]) -> f64 {
        let mut auc = auc;
        auc.update_state(y_true, y_pred, y_true.len(), None);
        auc.result()
    }

    /// The counts at Keras's thresholds by direct comparison, for the tests to compare the
    /// bucketed counting against.
    fn counts_by_comparison(
        y_true: &[f64],
        y_pred: &[f64],
        num_thresholds: usize,
    ) -> Vec<Confusion> {
        let n = num_thresholds;
        let thresholds = (0..n).map(|i| match i {
            0 => -1e-7,
            i if i == n - 1 => 1.0 + 1e-7,
            i => i as f64 / (n - 1) as f64,
        });
        thresholds
            .map(|threshold| {
                let mut counts = Confusion::new();
                for (&t, &p) in y_true.iter().zip(y_pred) {
                    counts.add(t, p.clamp(0.0, 1.0) > threshold, 1.0);
                }
                counts
            })
            .collect()
    }

    #[test]
    fn auc_matches_keras_example() {
        let three = AUC.with_num_thresholds(3);
        assert_eq!(auc_of(three.clone(), &Y_TRUE, &Y_PRED), 0.75);
        let mut auc = three;
        auc.update_state(&Y_TRUE, &Y_PRED, 4, None);
        let tp: Vec<f64> = auc.counts.iter().map(|c| c.true_positives).collect();
        let fp: Vec<f64> = auc.counts.iter().map(|c| c.false_positives).collect();
        let fn_: Vec<f64> = auc.counts.iter().map(|c| c.false_negatives).collect();
        let tn: Vec<f64> = auc.counts.iter().map(|c| c.true_negatives).collect();
        assert_eq!(
            (tp, fp, fn_, tn),
            (
                vec![2.0, 1.0, 0.0],
                vec![2.0, 0.0, 0.0],
                vec![0.0, 1.0, 2.0],
                vec![0.0, 2.0, 2.0]
            )
        );
    }

    #[test]
    fn bucketed_counts_equal_direct_comparison_with_the_thresholds() {
        let y_true = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let y_pred = [0.0, 1.0, 0.25, 0.5, 0.75, 0.13, 0.33, 0.99, -0.5, 1.5];
        for n in [2, 3, 5, 11, 200] {
            let mut auc = AUC.with_num_thresholds(n);
            auc.update_state(&y_true, &y_pred, 10, None);
            assert_eq!(auc.counts, counts_by_comparison(&y_true, &y_pred, n), "{n}");
        }
    }

    #[test]
    fn roc_auc_of_a_perfect_ranking_is_one_and_of_a_reversed_one_zero() {
        let y_true = [0.0, 0.0, 1.0, 1.0];
        assert_eq!(auc_of(AUC, &y_true, &[0.1, 0.2, 0.8, 0.9]), 1.0);
        assert_eq!(auc_of(AUC, &y_true, &[0.9, 0.8, 0.2, 0.1]), 0.0);
        // Every score equal: the diagonal.
        assert_eq!(auc_of(AUC, &y_true, &[0.5; 4]), 0.5);
    }

    #[test]
    fn roc_auc_with_200_thresholds_is_the_rank_statistic_when_scores_fall_in_distinct_buckets() {
        // Positives 0.9, 0.6, 0.35 against negatives 0.7, 0.3, 0.1: 0.9 outranks 3
        // negatives, 0.6 and 0.35 outrank 2 each, so 7 of the 9 pairs are ordered right.
        let y_true = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
        let y_pred = [0.9, 0.7, 0.6, 0.35, 0.3, 0.1];
        approx::assert_relative_eq!(auc_of(AUC, &y_true, &y_pred), 7.0 / 9.0, epsilon = 1e-12);
    }

    #[test]
    fn minoring_and_majoring_bound_the_interpolated_area() {
        let minoring = AUC
            .with_num_thresholds(3)
            .with_summation_method(SummationMethod::Minoring);
        let majoring = minoring
            .clone()
            .with_summation_method(SummationMethod::Majoring);
        // Widths (fpr): 1 - 0 then 0 - 0; heights from recall 1, 0.5.
        assert_eq!(auc_of(minoring, &Y_TRUE, &Y_PRED), 0.5);
        assert_eq!(auc_of(majoring, &Y_TRUE, &Y_PRED), 1.0);
    }

    #[test]
    fn pr_auc_interpolates_as_davis_and_goadrich() {
        // tp = [2, 1, 0], P = tp + fp = [4, 1, 0], tp + fn = 2 at every threshold.
        // First interval: slope 1/3, intercept 2/3, ratio 4; second: slope 1, ratio 1.
        let expected = (1.0 / 3.0) * (1.0 + (2.0 / 3.0) * 4f64.ln()) / 2.0 + 1.0 / 2.0;
        let pr = AUC.with_num_thresholds(3).with_curve(Curve::Pr);
        approx::assert_relative_eq!(auc_of(pr, &Y_TRUE, &Y_PRED), expected, epsilon = 1e-12);
    }

    #[test]
    fn pr_auc_with_riemann_sums_uses_precision_over_recall() {
        // recall [1, 0.5, 0], precision [0.5, 1, 0].
        let pr = AUC.with_num_thresholds(3).with_curve(Curve::Pr);
        let minoring = pr.clone().with_summation_method(SummationMethod::Minoring);
        let majoring = pr.with_summation_method(SummationMethod::Majoring);
        assert_eq!(auc_of(minoring, &Y_TRUE, &Y_PRED), 0.5 * 0.5 + 0.5 * 0.0);
        assert_eq!(auc_of(majoring, &Y_TRUE, &Y_PRED), 0.5 * 1.0 + 0.5 * 1.0);
    }

    #[test]
    fn from_logits_applies_a_sigmoid_first() {
        let logits: Vec<f64> = Y_PRED.iter().map(|p| (p / (1.0 - p)).ln()).collect();
        let logits_auc = AUC.with_num_thresholds(3).with_from_logits(true);
        approx::assert_relative_eq!(auc_of(logits_auc, &Y_TRUE, &logits), 0.75, epsilon = 1e-12);
    }

    #[test]
    fn no_positives_or_no_samples_give_zero() {
        assert_eq!(AUC.result(), 0.0);
        // ROC without positive targets: recall is 0 everywhere.
        assert_eq!(auc_of(AUC, &[0.0, 0.0], &[0.2, 0.9]), 0.0);
        let pr = AUC.with_curve(Curve::Pr);
        assert_eq!(auc_of(pr, &[0.0, 0.0], &[0.2, 0.9]), 0.0);
    }

    #[test]
    fn only_positives_give_zero_roc_area_and_full_pr_area() {
        // No negatives: the false positive rate is 0 everywhere, so the ROC curve has no width.
        assert_eq!(auc_of(AUC, &[1.0, 1.0], &[0.2, 0.9]), 0.0);
        let pr = AUC.with_curve(Curve::Pr);
        approx::assert_relative_eq!(auc_of(pr, &[1.0, 1.0], &[0.2, 0.9]), 1.0, epsilon = 1e-12);
    }

    #[test]
    fn state_accumulates_across_updates_and_resets() {
        let mut auc = AUC.with_num_thresholds(3);
        auc.update_state(&Y_TRUE[..2], &Y_PRED[..2], 2, None);
        auc.update_state(&Y_TRUE[2..], &Y_PRED[2..], 2, None);
        assert_eq!(auc.result(), 0.75);
        auc.reset_state();
        assert_eq!(auc.result(), 0.0);
        Metric::<f32>::update_state(&mut auc, &[], &[], 0, None);
        assert_eq!(auc.result(), 0.0);
    }

    #[test]
    fn weights_count_each_decision_with_its_sample_weight() {
        // Keras's documented weighted example.
        let mut auc = AUC.with_num_thresholds(3);
        auc.update_state(&Y_TRUE, &Y_PRED, 4, Some(&[1.0, 0.0, 0.0, 1.0]));
        assert_eq!(auc.result(), 1.0);
        // A weight of 2 counts a sample as two copies of it.
        let mut weighted = AUC;
        weighted.update_state(&Y_TRUE, &Y_PRED, 4, Some(&[2.0, 1.0, 1.0, 1.0]));
        let copies = [0.0, 0.0, 0.0, 1.0, 1.0];
        let copied_scores = [0.0, 0.0, 0.5, 0.3, 0.9];
        assert_eq!(weighted.result(), auc_of(AUC, &copies, &copied_scores));
        // Weights of 1 count as no weights; several outputs share their sample's weight.
        let mut ones = AUC;
        ones.update_state(&Y_TRUE, &Y_PRED, 2, Some(&[1.0, 1.0]));
        assert_eq!(ones.counts, {
            let mut plain = AUC;
            plain.update_state(&Y_TRUE, &Y_PRED, 2, None);
            plain.counts
        });
        let mut half = AUC.with_num_thresholds(3);
        half.update_state(&Y_TRUE, &Y_PRED, 2, Some(&[0.0, 1.0]));
        // Only the second sample: targets 1, 1 scored 0.3, 0.9; no negatives.
        assert_eq!(half.counts[0].true_positives, 2.0);
        assert_eq!(half.counts[0].false_positives, 0.0);
    }

    #[test]
    fn check_rejects_too_few_thresholds_and_unequal_widths() {
        assert!(AUC.check(1, 1).is_ok());
        let err = AUC.with_num_thresholds(1).check(1, 1).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidArgument {
                name: "num_thresholds",
                ..
            }
        ));
        assert!(err.to_string().contains("the default is 200"), "{err}");
        let message = AUC.check(1, 3).unwrap_err().to_string();
        assert!(
            message.starts_with("auc: the targets have 1 value"),
            "{message}"
        );
        // Updating with a refused setting counts nothing instead of panicking.
        let mut one_threshold = AUC.with_num_thresholds(1);
        one_threshold.update_state(&Y_TRUE, &Y_PRED, 4, None);
        assert_eq!(one_threshold.result(), 0.0);
    }
}
