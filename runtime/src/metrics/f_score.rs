//! F-scores: the weighted harmonic mean of precision and recall, per class and averaged.

use super::confusion::{Confusion, divide_no_nan};
use super::{metric_from_inherent, sample_weights, widths};
use crate::loss::check_same_width;
use crate::{Error, Float, Result};

/// How [`FBetaScore`](struct@FBetaScore) averages its per-class scores into one value.
///
/// Keras's default, `average=None`, returns one score per class; a metric here gives one
/// number (for the logs, the history and early stopping), so the default is `Macro`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Average {
    /// One score from the true positives, false positives and false negatives summed
    /// over every class.
    Micro,
    /// The unweighted mean of the per-class scores; a class that is never a target nor
    /// predicted scores 0.
    #[default]
    Macro,
    /// The mean of the per-class scores weighted by how often each class is a target.
    Weighted,
}

/// Keras's `FBetaScore`: per class, `(1 + β²) · precision · recall / (β² · precision +
/// recall)` (0 where precision and recall are both 0), averaged over the classes as
/// [`Average`] says ([`Average::Macro`] by default: see there why not Keras's per-class
/// vector). [`F1Score`] is the same with β = 1.
///
/// With a threshold, a score above it predicts its class; without one (the default),
/// each sample predicts the class with its highest score, every class tied for it, and
/// none if that score is 0, as Keras. Targets are one value per class, 0/1 or soft (a
/// target of 0.7 counts as 0.7 of a positive, as Keras).
///
/// ```
/// use strata_runtime::metrics::{Average, FBetaScore, Metric};
///
/// // Keras's documented example: per-class scores 0.3846, 0.9091, 0.8333.
/// let mut f2 = FBetaScore::new().with_beta(2.0).with_threshold(0.5);
/// let y_true: &[f32] = &[1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0];
/// let y_pred: &[f32] = &[0.2, 0.6, 0.7, 0.2, 0.6, 0.6, 0.6, 0.8, 0.0];
/// f2.update_state(y_true, y_pred, 3, None);
/// let per_class = [5.0 / 13.0, 10.0 / 11.0, 5.0 / 6.0];
/// assert!((f2.result() - per_class.iter().sum::<f64>() / 3.0).abs() < 1e-12);
///
/// // Micro: tp 4, fp 2, fn 2 over all classes, so precision and recall are 2/3.
/// let mut micro = f2.clone().with_average(Average::Micro);
/// micro.reset_state();
/// micro.update_state(y_true, y_pred, 3, None);
/// assert!((micro.result() - 2.0 / 3.0).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FBetaScore {
    name: &'static str,
    beta: f64,
    average: Average,
    threshold: Option<f64>,
    /// One entry per class once the first batch arrives; empty before.
    per_class: Vec<Confusion>,
}

/// A fresh [`FBetaScore`](struct@FBetaScore) with Keras's defaults: β = 1, no threshold,
/// and the macro average (Keras's default is the per-class vector).
#[allow(non_upper_case_globals)]
pub const FBetaScore: FBetaScore = FBetaScore::new();

/// Keras's `F1Score`: an [`FBetaScore`](struct@FBetaScore) with β = 1, named
/// `"f1_score"`; no threshold and the macro average by default.
///
/// ```
/// use strata_runtime::metrics::{Average, F1Score, FBetaScore, Metric};
///
/// // Keras's documented example: per-class scores 0.5, 0.8, 0.6667.
/// let mut f1: FBetaScore = F1Score.with_threshold(0.5);
/// let y_true: &[f64] = &[1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0];
/// let y_pred: &[f64] = &[0.2, 0.6, 0.7, 0.2, 0.6, 0.6, 0.6, 0.8, 0.0];
/// f1.update_state(y_true, y_pred, 3, None);
/// assert!((f1.result() - (0.5 + 0.8 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
/// assert_eq!(f1.name(), "f1_score");
///
/// // Weighted by how often each class is a target: 3, 2 and 1 times.
/// let mut weighted = F1Score.with_threshold(0.5).with_average(Average::Weighted);
/// weighted.update_state(y_true, y_pred, 3, None);
/// assert!((weighted.result() - (0.5 * 3.0 + 0.8 * 2.0 + 2.0 / 3.0) / 6.0).abs() < 1e-12);
/// ```
#[allow(non_upper_case_globals)]
pub const F1Score: FBetaScore = FBetaScore::named("f1_score");

impl FBetaScore {
    /// The metric with Keras's defaults (β = 1, no threshold) and the macro average.
    pub const fn new() -> Self {
        FBetaScore::named("fbeta_score")
    }

    /// The metric with Keras's defaults under `name`.
    const fn named(name: &'static str) -> Self {
        FBetaScore {
            name,
            beta: 1.0,
            average: Average::Macro,
            threshold: None,
            per_class: Vec::new(),
        }
    }

    /// The same metric with `beta` (> 0): how many times more recall weighs than
    /// precision. Named `"fbeta_score"`, as Keras's `FBetaScore`.
    #[must_use]
    pub fn with_beta(mut self, beta: f64) -> Self {
        self.beta = beta;
        self.name = "fbeta_score";
        self
    }

    /// The same metric, averaging the classes as `average` says.
    #[must_use]
    pub fn with_average(mut self, average: Average) -> Self {
        self.average = average;
        self
    }

    /// The same metric, predicting every class whose score is above `threshold` (in
    /// `(0, 1]`, as Keras).
    #[must_use]
    pub fn with_threshold(mut self, threshold: f64) -> Self {
        self.threshold = Some(threshold);
        self
    }

    /// Checks β and the threshold, and that the targets have one value per output.
    pub fn check(&self, target_width: usize, output_width: usize) -> Result<()> {
        let name = self.name;
        if !(self.beta.is_finite() && self.beta > 0.0) {
            return Err(Error::invalid(
                "beta",
                format!(
                    "{name} beta must be a finite number > 0, got {:?}; the default is 1.0",
                    self.beta
                ),
            ));
        }
        if let Some(threshold) = self.threshold
            && !(threshold > 0.0 && threshold <= 1.0)
        {
            return Err(Error::invalid(
                "threshold",
                format!(
                    "{name} threshold must be in (0, 1], got {threshold:?}; without one (the \
                     default) each sample predicts its highest-scoring class"
                ),
            ));
        }
        let hint = if target_width == 1 && output_width > 1 {
            "; one-hot encode integer class labels"
        } else {
            ""
        };
        check_same_width(
            name,
            target_width,
            output_width,
            "it compares each output with the target of the same class",
            hint,
        )
    }

    /// Keras's name for the metric (`"f1_score"` or `"fbeta_score"`), which the logs and
    /// the history use.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The averaged score over every sample since the last reset; 0 before any.
    pub fn result(&self) -> f64 {
        let score = |counts: &Confusion| counts.f_beta(self.beta);
        match self.average {
            Average::Micro => {
                let mut total = Confusion::new();
                for &counts in &self.per_class {
                    total += counts;
                }
                score(&total)
            }
            Average::Macro => {
                let sum: f64 = self.per_class.iter().map(score).sum();
                divide_no_nan(sum, self.per_class.len() as f64)
            }
            Average::Weighted => {
                let weighted: f64 = self
                    .per_class
                    .iter()
                    .map(|counts| score(counts) * counts.actual_positives())
                    .sum();
                let support: f64 = self.per_class.iter().map(Confusion::actual_positives).sum();
                divide_no_nan(weighted, support)
            }
        }
    }

    /// Forgets every sample.
    pub fn reset_state(&mut self) {
        self.per_class.clear();
    }

    fn update<F: Float>(
        &mut self,
        y_true: &[F],
        y_pred: &[F],
        rows: usize,
        sample_weight: Option<&[F]>,
    ) {
        if rows == 0 {
            return;
        }
        let (target_width, output_width) = widths(self.name, y_true.len(), y_pred.len(), rows);
        if self.per_class.is_empty() {
            self.per_class.resize(output_width, Confusion::new());
        }
        assert_eq!(
            self.per_class.len(),
            output_width,
            "{}: counted {} classes so far but now receives {output_width}; call reset_state \
             before measuring another model",
            self.name,
            self.per_class.len()
        );
        let rows_iter = y_true
            .chunks_exact(target_width)
            .zip(y_pred.chunks_exact(output_width));
        let weights = sample_weights(self.name, sample_weight, rows);
        for ((targets, scores), weight) in rows_iter.zip(weights) {
            let predicted = self.predictions(scores);
            for ((counts, &target), predicted) in
                self.per_class.iter_mut().zip(targets).zip(predicted)
            {
                counts.add(target.as_f64(), predicted, weight);
            }
        }
    }

    /// Which classes a row of scores predicts: those above the threshold, or without one,
    /// those equal to the row's highest score when it is not 0 (Keras's
    /// `y_pred >= max(y_pred) and |y_pred| > 1e-9`).
    fn predictions<'a, F: Float>(&self, scores: &'a [F]) -> impl Iterator<Item = bool> + 'a {
        let threshold = self.threshold.map(F::of);
        let row_max = scores.iter().fold(F::neg_infinity(), |max, &s| max.max(s));
        scores.iter().map(move |&score| match threshold {
            Some(threshold) => score > threshold,
            None => score >= row_max && score.abs() > F::of(1e-9),
        })
    }
}

impl Default for FBetaScore {
    fn default() -> Self {
        FBetaScore::new()
    }
}

metric_from_inherent!(FBetaScore);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metric;
    use approx::assert_relative_eq;

    // Keras's documented example.
    const Y_TRUE: [f64; 9] = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0];
    const Y_PRED: [f64; 9] = [0.2, 0.6, 0.7, 0.2, 0.6, 0.6, 0.6, 0.8, 0.0];
    const F1_PER_CLASS: [f64; 3] = [0.5, 0.8, 2.0 / 3.0];

    fn result_of(metric: FBetaScore, y_true: &[f64], y_pred: &[f64], rows: usize) -> f64 {
        let mut metric = metric;
        metric.update_state(y_true, y_pred, rows, None);
        metric.result()
    }

    #[test]
    fn weights_count_each_sample_as_that_many_copies() {
        // Sample 0 weighing 2 is sample 0 twice; sample 2 weighing 0 is no sample.
        for average in [Average::Micro, Average::Macro, Average::Weighted] {
            let f1 = F1Score.with_threshold(0.5).with_average(average);
            let mut weighted = f1.clone();
            weighted.update_state(&Y_TRUE, &Y_PRED, 3, Some(&[2.0, 1.0, 0.0]));
            let mut copies = f1;
            copies.update_state(&Y_TRUE[..3], &Y_PRED[..3], 1, None);
            copies.update_state(&Y_TRUE[..6], &Y_PRED[..6], 2, None);
            assert_relative_eq!(weighted.result(), copies.result(), epsilon = 1e-12);
        }
        // Soft targets and weights multiply, as Keras's `y_true * sample_weight`.
        let mut soft = F1Score.with_threshold(0.5).with_average(Average::Micro);
        soft.update_state(&[0.5, 0.0], &[0.9, 0.1], 1, Some(&[4.0]));
        assert_eq!(soft.per_class[0].true_positives, 2.0);
        assert_eq!(soft.per_class[0].false_positives, 2.0);
    }

    #[test]
    fn per_class_scores_match_keras_example() {
        let mut f1 = F1Score.with_threshold(0.5);
        f1.update_state(&Y_TRUE, &Y_PRED, 3, None);
        for (counts, expected) in f1.per_class.iter().zip(F1_PER_CLASS) {
            assert_relative_eq!(counts.f_beta(1.0), expected, epsilon = 1e-12);
        }
        let mut f2 = FBetaScore.with_beta(2.0).with_threshold(0.5);
        f2.update_state(&Y_TRUE, &Y_PRED, 3, None);
        for (counts, expected) in f2
            .per_class
            .iter()
            .zip([5.0 / 13.0, 10.0 / 11.0, 5.0 / 6.0])
        {
            assert_relative_eq!(counts.f_beta(2.0), expected, epsilon = 1e-12);
        }
    }

    #[test]
    fn averages_match_hand_computation() {
        let f1 = F1Score.with_threshold(0.5);
        let macro_f1 = F1_PER_CLASS.iter().sum::<f64>() / 3.0;
        assert_relative_eq!(
            result_of(f1.clone(), &Y_TRUE, &Y_PRED, 3),
            macro_f1,
            epsilon = 1e-12
        );
        let micro = f1.clone().with_average(Average::Micro);
        assert_relative_eq!(
            result_of(micro, &Y_TRUE, &Y_PRED, 3),
            2.0 / 3.0,
            epsilon = 1e-12
        );
        let weighted = f1.with_average(Average::Weighted);
        let expected = (0.5 * 3.0 + 0.8 * 2.0 + 2.0 / 3.0) / 6.0;
        assert_relative_eq!(
            result_of(weighted, &Y_TRUE, &Y_PRED, 3),
            expected,
            epsilon = 1e-12
        );
    }

    #[test]
    fn without_a_threshold_each_sample_predicts_its_highest_scores() {
        // Argmax per row: class 2, classes 1 and 2 (tied), class 1.
        // Class 0: tp 0, fn 3 -> 0. Class 1: tp 1, fp 1, fn 1 -> 0.5. Class 2: tp 1, fp 1
        // -> 2/3.
        let y_pred = [0.2, 0.6, 0.7, 0.2, 0.6, 0.6, 0.1, 0.8, 0.1];
        let expected = (0.0 + 0.5 + 2.0 / 3.0) / 3.0;
        assert_relative_eq!(
            result_of(F1Score, &Y_TRUE, &y_pred, 3),
            expected,
            epsilon = 1e-12
        );
    }

    #[test]
    fn a_row_of_zero_scores_predicts_nothing() {
        let mut f1 = F1Score.with_average(Average::Micro);
        f1.update_state(&[1.0, 0.0], &[0.0, 0.0], 1, None);
        assert_eq!(
            f1.per_class
                .iter()
                .map(|c| c.predicted_positives())
                .sum::<f64>(),
            0.0
        );
        assert_eq!(f1.result(), 0.0);
    }

    #[test]
    fn perfect_predictions_score_one_and_no_positives_score_zero() {
        let one_hot = [1.0, 0.0, 0.0, 1.0];
        for average in [Average::Micro, Average::Macro, Average::Weighted] {
            let f1 = F1Score.with_average(average);
            assert_eq!(
                result_of(f1.clone(), &one_hot, &[0.9, 0.1, 0.2, 0.8], 2),
                1.0
            );
            // No positive targets and nothing predicted above 0.5.
            let thresholded = f1.with_threshold(0.5);
            assert_eq!(result_of(thresholded, &[0.0; 4], &[0.1; 4], 2), 0.0);
        }
    }

    #[test]
    fn macro_average_counts_a_class_never_seen_as_zero() {
        // Class 2 is never a target nor predicted: macro divides by 3, weighted ignores it.
        let y_true = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        let y_pred = [0.9, 0.1, 0.0, 0.1, 0.9, 0.0];
        assert_relative_eq!(result_of(F1Score, &y_true, &y_pred, 2), 2.0 / 3.0);
        let weighted = F1Score.with_average(Average::Weighted);
        assert_eq!(result_of(weighted, &y_true, &y_pred, 2), 1.0);
    }

    #[test]
    fn soft_targets_count_as_fractions_of_a_positive() {
        // One class, predicted: tp 0.75, fp 0.25; not predicted: fn 0.5.
        let f1 = F1Score.with_threshold(0.5);
        let (precision, recall) = (0.75, 0.75 / 1.25);
        let expected = 2.0 * precision * recall / (precision + recall);
        assert_relative_eq!(result_of(f1, &[0.75, 0.5], &[0.9, 0.1], 2), expected);
    }

    #[test]
    fn state_accumulates_across_updates_and_resets() {
        let mut f1 = F1Score.with_threshold(0.5);
        f1.update_state(&Y_TRUE[..6], &Y_PRED[..6], 2, None);
        f1.update_state(&Y_TRUE[6..], &Y_PRED[6..], 1, None);
        let macro_f1 = F1_PER_CLASS.iter().sum::<f64>() / 3.0;
        assert_relative_eq!(f1.result(), macro_f1, epsilon = 1e-12);
        f1.reset_state();
        assert_eq!(f1.result(), 0.0);
        Metric::<f32>::update_state(&mut f1, &[], &[], 0, None);
        assert_eq!(f1.result(), 0.0);
        // After a reset the metric takes another number of classes.
        f1.update_state(&[1.0f32, 0.0], &[0.9, 0.1], 1, None);
        assert_eq!(f1.per_class.len(), 2);
    }

    #[test]
    fn check_rejects_bad_beta_threshold_and_widths() {
        assert!(F1Score.check(3, 3).is_ok());
        let err = FBetaScore.with_beta(0.0).check(3, 3).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { name: "beta", .. }));
        assert!(err.to_string().contains("the default is 1.0"), "{err}");
        for threshold in [0.0, 1.5, f64::NAN] {
            let err = F1Score.with_threshold(threshold).check(3, 3).unwrap_err();
            assert!(matches!(
                err,
                Error::InvalidArgument {
                    name: "threshold",
                    ..
                }
            ));
        }
        assert!(F1Score.with_threshold(1.0).check(3, 3).is_ok());
        let message = F1Score.check(1, 3).unwrap_err().to_string();
        assert!(
            message.starts_with("f1_score: the targets have 1 value"),
            "{message}"
        );
        assert!(message.contains("one-hot encode"), "{message}");
    }

    #[test]
    fn names_are_keras_names() {
        assert_eq!(F1Score.name(), "f1_score");
        assert_eq!(FBetaScore.name(), "fbeta_score");
        assert_eq!(F1Score.with_beta(2.0).name(), "fbeta_score");
        assert_eq!(Metric::<f32>::name(&F1Score), "f1_score");
    }
}
