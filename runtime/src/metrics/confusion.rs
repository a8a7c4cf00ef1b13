//! Confusion-matrix counts: the state that Precision, Recall, AUC and the F-scores share.

use std::ops::AddAssign;

use crate::Float;

/// `numerator / denominator`, or 0 when the denominator is 0, as Keras's `divide_no_nan`.
pub(super) fn divide_no_nan(numerator: f64, denominator: f64) -> f64 {
    if denominator == 0.0 {
        0.0
    } else {
        numerator / denominator
    }
}

/// A target cast to a label as Keras casts it to `bool`: any non-zero value is positive.
pub(super) fn is_positive<F: Float>(target: F) -> bool {
    target != F::zero()
}

/// How many binary decisions were true and false positives and negatives, in `f64`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Confusion {
    pub(super) true_positives: f64,
    pub(super) false_positives: f64,
    pub(super) true_negatives: f64,
    pub(super) false_negatives: f64,
}

impl Confusion {
    /// No decisions yet.
    pub(super) const fn new() -> Self {
        Confusion {
            true_positives: 0.0,
            false_positives: 0.0,
            true_negatives: 0.0,
            false_negatives: 0.0,
        }
    }

    /// Adds one decision of weight `weight` (its sample's weight, 1 without weights) whose
    /// target is positive with weight `label` (1 or 0 for a hard label; Keras's F-scores
    /// pass soft labels through as fractions).
    pub(super) fn add(&mut self, label: f64, predicted_positive: bool, weight: f64) {
        if predicted_positive {
            self.true_positives += label * weight;
            self.false_positives += (1.0 - label) * weight;
        } else {
            self.false_negatives += label * weight;
            self.true_negatives += (1.0 - label) * weight;
        }
    }

    /// `tp / (tp + fp)`, 0 without predicted positives.
    pub(super) fn precision(&self) -> f64 {
        divide_no_nan(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    /// `tp / (tp + fn)`, 0 without actual positives.
    pub(super) fn recall(&self) -> f64 {
        divide_no_nan(self.true_positives, self.actual_positives())
    }

    /// `fp / (fp + tn)`, 0 without actual negatives.
    pub(super) fn false_positive_rate(&self) -> f64 {
        divide_no_nan(
            self.false_positives,
            self.false_positives + self.true_negatives,
        )
    }

    /// `tp + fn`: the targets that are positive (Keras's support of a class).
    pub(super) fn actual_positives(&self) -> f64 {
        self.true_positives + self.false_negatives
    }

    /// `tp + fp`: the predictions that are positive.
    pub(super) fn predicted_positives(&self) -> f64 {
        self.true_positives + self.false_positives
    }

    /// `(1 + β²) · precision · recall / (β² · precision + recall)`, 0 when both are 0.
    pub(super) fn f_beta(&self, beta: f64) -> f64 {
        let (precision, recall) = (self.precision(), self.recall());
        let beta_squared = beta * beta;
        divide_no_nan(
            (1.0 + beta_squared) * precision * recall,
            beta_squared * precision + recall,
        )
    }
}

impl AddAssign for Confusion {
    fn add_assign(&mut self, other: Confusion) {
        self.true_positives += other.true_positives;
        self.false_positives += other.false_positives;
        self.true_negatives += other.true_negatives;
        self.false_negatives += other.false_negatives;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(true_positives: f64, false_positives: f64, false_negatives: f64) -> Confusion {
        Confusion {
            true_positives,
            false_positives,
            false_negatives,
            true_negatives: 0.0,
        }
    }

    #[test]
    fn rates_of_nothing_are_zero_not_nan() {
        let empty = Confusion::new();
        assert_eq!(empty.precision(), 0.0);
        assert_eq!(empty.recall(), 0.0);
        assert_eq!(empty.false_positive_rate(), 0.0);
        assert_eq!(empty.f_beta(1.0), 0.0);
    }

    #[test]
    fn add_sorts_decisions_into_the_four_cells() {
        let mut confusion = Confusion::new();
        for (label, predicted) in [(1.0, true), (1.0, false), (0.0, true), (0.0, false)] {
            confusion.add(label, predicted, 1.0);
        }
        confusion.add(0.0, false, 1.0);
        assert_eq!(
            confusion,
            Confusion {
                true_positives: 1.0,
                false_positives: 1.0,
                true_negatives: 2.0,
                false_negatives: 1.0,
            }
        );
        assert_eq!(confusion.false_positive_rate(), 1.0 / 3.0);
    }

    #[test]
    fn add_counts_a_decision_with_its_weight() {
        let mut confusion = Confusion::new();
        confusion.add(1.0, true, 2.5);
        confusion.add(0.0, true, 0.5);
        confusion.add(1.0, false, 0.0);
        confusion.add(0.7, false, 2.0);
        assert_eq!(confusion.true_positives, 2.5);
        assert_eq!(confusion.false_positives, 0.5);
        approx::assert_relative_eq!(confusion.false_negatives, 1.4);
        approx::assert_relative_eq!(confusion.true_negatives, 0.6);
    }

    #[test]
    fn f_beta_is_the_weighted_harmonic_mean_of_precision_and_recall() {
        // precision 2/3, recall 1/2
        let confusion = counts(2.0, 1.0, 2.0);
        let (p, r) = (2.0 / 3.0, 0.5);
        approx::assert_relative_eq!(confusion.f_beta(1.0), 2.0 * p * r / (p + r));
        approx::assert_relative_eq!(confusion.f_beta(2.0), 5.0 * p * r / (4.0 * p + r));
        assert_eq!(counts(3.0, 0.0, 0.0).f_beta(1.0), 1.0);
    }
}
