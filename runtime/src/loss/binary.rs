//! Binary crossentropy: for each output, the probability (or the logit) that its 0/1
//! target is 1.
//!
//! On logits it is `max(x, 0) - x·t + log(1 + e^-|x|)`, which never overflows. On
//! probabilities it clips them to `[EPSILON, 1 - EPSILON]` before the logarithm, as Keras,
//! and its gradient is that of the clipped expression: zero where a probability was
//! clipped.

use super::{
    Loss, Reduction, check_each_target, check_label_smoothing, check_one_target_per_output, clip,
    mean_over_rows, mean_over_rows_and_grad,
};
use crate::{Float, Result};

/// The logistic sigmoid, without overflow for large `|x|`.
fn sigmoid<F: Float>(x: F) -> F {
    if x >= F::zero() {
        F::one() / (F::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (F::one() + e)
    }
}

/// Binary crossentropy of probability `p` against target `t`, and its derivative.
fn binary_from_probabilities<F: Float>(p: F, t: F) -> (F, F) {
    let (c, inside) = clip(p);
    let one = F::one();
    let loss = -(t * c.ln() + (one - t) * (one - c).ln());
    let derivative = if inside {
        (one - t) / (one - c) - t / c
    } else {
        F::zero()
    };
    (loss, derivative)
}

/// Binary crossentropy of logit `x` against target `t`, and its derivative:
/// `max(x, 0) - x·t + log(1 + e^-|x|)`, which never overflows.
fn binary_from_logits<F: Float>(x: F, t: F) -> (F, F) {
    let loss = x.max(F::zero()) - x * t + (-x.abs()).exp().ln_1p();
    (loss, sigmoid(x) - t)
}

/// Keras's `BinaryCrossentropy`: for each output a probability (or, with
/// [`BinaryCrossentropy::from_logits`], a logit) that its 0/1 target is 1; the loss of a
/// sample is the mean over its outputs.
///
/// ```
/// use strata_runtime::loss::{BinaryCrossentropy, Loss};
///
/// let y_true: &[f64] = &[0.0, 1.0, 0.0, 0.0];
/// let logits: &[f64] = &[-18.6, 0.51, 2.94, -12.8];
/// let loss = BinaryCrossentropy::from_logits().compute(logits, y_true, 1);
/// assert!((loss - 0.865).abs() < 1e-3); // Keras's documented value
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BinaryCrossentropy {
    from_logits: bool,
    label_smoothing: f64,
    reduction: Reduction,
}

impl BinaryCrossentropy {
    /// The loss on probabilities (a sigmoid output), as Keras's default.
    pub const fn new() -> Self {
        BinaryCrossentropy {
            from_logits: false,
            label_smoothing: 0.0,
            reduction: Reduction::SumOverBatchSize,
        }
    }

    /// The loss on logits (an output without activation), as Keras's
    /// `from_logits=True`: more accurate than on probabilities.
    pub const fn from_logits() -> Self {
        BinaryCrossentropy {
            from_logits: true,
            ..BinaryCrossentropy::new()
        }
    }

    /// The same loss against targets squeezed towards 0.5: `t·(1 - s) + s/2` for
    /// `s = label_smoothing` in `[0, 1]`.
    pub const fn with_label_smoothing(self, label_smoothing: f64) -> Self {
        BinaryCrossentropy {
            label_smoothing,
            ..self
        }
    }

    /// The same loss, reduced over the batch by `reduction`.
    pub const fn with_reduction(self, reduction: Reduction) -> Self {
        BinaryCrossentropy { reduction, ..self }
    }

    /// The elementwise term, with label smoothing.
    fn term<F: Float>(&self) -> impl Fn(F, F) -> (F, F) {
        let keep = F::of(1.0 - self.label_smoothing);
        let shift = F::of(0.5 * self.label_smoothing);
        let from_logits = self.from_logits;
        move |p, t| {
            let t = t * keep + shift;
            if from_logits {
                binary_from_logits(p, t)
            } else {
                binary_from_probabilities(p, t)
            }
        }
    }
}

impl<F: Float> Loss<F> for BinaryCrossentropy {
    fn name(&self) -> &'static str {
        "binary_crossentropy"
    }

    fn reduction(&self) -> Reduction {
        self.reduction
    }

    fn check_targets(&self, y_true: &[F], target_width: usize, output_width: usize) -> Result<()> {
        let what = "binary_crossentropy";
        check_label_smoothing(self.label_smoothing)?;
        check_one_target_per_output(
            what,
            target_width,
            output_width,
            "binary crossentropy compares each output with the 0/1 label at the same position",
        )?;
        let in_range = |t: f64| (0.0..=1.0).contains(&t);
        check_each_target(what, y_true, target_width, in_range, |value, sample| {
            let hint = if value.fract() == 0.0 && value > 1.0 {
                "; for class indices use SparseCategoricalCrossentropy"
            } else {
                ""
            };
            format!(
                "target {value} of sample {sample} is not in [0, 1]: binary crossentropy needs \
                 labels 0 and 1, or probabilities{hint}"
            )
        })
    }

    fn per_sample(&self, y_pred: &[F], y_true: &[F], rows: usize, out: &mut [F]) {
        mean_over_rows(
            "binary_crossentropy",
            y_pred,
            y_true,
            rows,
            out,
            self.term(),
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
        let (what, term) = ("binary_crossentropy", self.term());
        mean_over_rows_and_grad(what, y_pred, y_true, rows, grad_scale, grad, term)
    }
}

#[cfg(test)]
mod tests {
    use super::super::EPSILON;
    use super::super::testing::{
        REDUCTIONS, assert_finite, assert_grad_matches_finite_differences, per_sample, uniform,
    };
    use super::*;
    use crate::Error;
    use approx::assert_relative_eq;

    /// Keras's documented example for its binary crossentropy.
    const BINARY_TRUE: [f64; 4] = [0.0, 1.0, 0.0, 0.0];
    const BINARY_PRED: [f64; 4] = [0.6, 0.4, 0.4, 0.6];

    #[test]
    fn binary_crossentropy_matches_keras_example() {
        let bce = BinaryCrossentropy::new();
        let out = per_sample(&bce, &BINARY_PRED, &BINARY_TRUE, 2);
        assert_relative_eq!(out[0], 0.916, epsilon = 1e-3);
        assert_relative_eq!(out[1], 0.714, epsilon = 1e-3);
        assert_relative_eq!(
            bce.compute(&BINARY_PRED, &BINARY_TRUE, 2),
            0.815,
            epsilon = 1e-3
        );
        let sum = bce.with_reduction(Reduction::Sum);
        assert_relative_eq!(
            sum.compute(&BINARY_PRED, &BINARY_TRUE, 2),
            1.630,
            epsilon = 1e-3
        );
        // Exactly: -(ln 0.4 + ln 0.4) / 2 and -(ln 0.6 + ln 0.4) / 2.
        assert_relative_eq!(out[0], -(0.4f64.ln()), max_relative = 1e-6);
        assert_relative_eq!(
            out[1],
            -(0.6f64.ln() + 0.4f64.ln()) / 2.0,
            max_relative = 1e-6
        );
    }

    #[test]
    fn binary_crossentropy_from_logits_matches_keras_example() {
        let y_true = [0.0, 1.0, 0.0, 0.0];
        let logits = [-18.6, 0.51, 2.94, -12.8];
        let bce = BinaryCrossentropy::from_logits();
        assert_relative_eq!(bce.compute(&logits, &y_true, 1), 0.865, epsilon = 1e-3);
        // The same values as four samples of one output each.
        assert_relative_eq!(bce.compute(&logits, &y_true, 4), 0.865, epsilon = 1e-3);
        // Exactly: the mean of log(1 + e^-x) for the 1 and log(1 + e^x) for the 0s.
        let exact = ((18.6f64).exp().recip().ln_1p()
            + (-0.51f64).exp().ln_1p()
            + (2.94f64).exp().ln_1p()
            + (-12.8f64).exp().ln_1p())
            / 4.0;
        assert_relative_eq!(
            bce.compute(&logits, &y_true, 1),
            exact,
            max_relative = 1e-12
        );
    }

    #[test]
    fn binary_crossentropy_label_smoothing_squeezes_targets_towards_one_half() {
        // s = 0.2 turns the target 1 into 0.9: -(0.9 ln 0.8 + 0.1 ln 0.2).
        let bce = BinaryCrossentropy::new().with_label_smoothing(0.2);
        let expected = -(0.9 * 0.8f64.ln() + 0.1 * 0.2f64.ln());
        assert_relative_eq!(
            bce.compute(&[0.8], &[1.0], 1),
            expected,
            max_relative = 1e-12
        );
        let logit = (0.8f64 / 0.2).ln();
        let bce = BinaryCrossentropy::from_logits().with_label_smoothing(0.2);
        assert_relative_eq!(
            bce.compute(&[logit], &[1.0], 1),
            expected,
            max_relative = 1e-12
        );
    }

    #[test]
    fn binary_crossentropy_grad_matches_finite_differences() {
        let probabilities = uniform(1, 12, 0.05, 0.95);
        let logits = uniform(2, 12, -4.0, 4.0);
        let hard: Vec<f64> = uniform(3, 12, 0.0, 1.0).iter().map(|t| t.round()).collect();
        let soft = uniform(4, 12, 0.0, 1.0);
        for reduction in REDUCTIONS {
            for smoothing in [0.0, 0.2] {
                for y_true in [&hard, &soft] {
                    let loss = BinaryCrossentropy::new()
                        .with_label_smoothing(smoothing)
                        .with_reduction(reduction);
                    assert_grad_matches_finite_differences(&loss, &probabilities, y_true, 3);
                    let loss = BinaryCrossentropy::from_logits()
                        .with_label_smoothing(smoothing)
                        .with_reduction(reduction);
                    assert_grad_matches_finite_differences(&loss, &logits, y_true, 3);
                }
            }
        }
    }

    #[test]
    fn binary_crossentropy_of_logits_of_plus_minus_1000_is_finite() {
        let bce = BinaryCrossentropy::from_logits();
        let logits = [1000.0, -1000.0, 1000.0, -1000.0];
        let value = assert_finite(&bce, &logits, &[1.0, 0.0, 0.0, 1.0], 4);
        assert_relative_eq!(value, 500.0); // the mean of 0, 0, 1000 and 1000
    }

    #[test]
    fn binary_crossentropy_of_probabilities_0_and_1_is_finite() {
        let wrong = -(EPSILON.ln()) as f32; // the loss of a clipped, wrong probability
        let bce = BinaryCrossentropy::new();
        let value = assert_finite(&bce, &[0.0, 1.0, 0.0, 1.0], &[1.0, 1.0, 0.0, 0.0], 4);
        // Two right samples and two wrong ones (1 - EPSILON rounds a little in f32).
        assert_relative_eq!(value, wrong / 2.0, max_relative = 0.02);
    }

    #[test]
    fn binary_crossentropy_gradient_is_zero_where_probabilities_are_clipped() {
        let mut grad = [f64::NAN; 3];
        let (y_pred, y_true) = ([0.0, 1.0, 1e-9], [1.0, 0.0, 1.0]);
        BinaryCrossentropy::new().sum_and_grad(&y_pred, &y_true, 1, 1.0, &mut grad);
        assert_eq!(grad, [0.0, 0.0, 0.0]);
    }

    #[test]
    fn binary_crossentropy_of_nan_is_nan() {
        for loss in [BinaryCrossentropy::new(), BinaryCrossentropy::from_logits()] {
            assert!(loss.compute(&[f64::NAN], &[1.0], 1).is_nan());
        }
    }

    #[test]
    fn binary_crossentropy_rejects_targets_outside_0_1() {
        let bce = BinaryCrossentropy::from_logits();
        let err = bce.check_targets(&[0.0f32, 1.0, 2.0], 1, 1).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("target 2 of sample 2 is not in [0, 1]"),
            "{message}"
        );
        assert!(
            message.contains("for class indices use SparseCategoricalCrossentropy"),
            "{message}"
        );
        let err = bce.check_targets(&[0.0f32, 1.0], 1, 5).unwrap_err();
        assert!(
            err.to_string().contains("the model gives 5 values"),
            "{err}"
        );
        assert!(bce.check_targets(&[0.0f32, 0.25, 1.0], 1, 1).is_ok());
    }

    #[test]
    fn binary_crossentropy_rejects_label_smoothing_outside_0_1() {
        for smoothing in [1.5, -0.1, f64::NAN] {
            let bce = BinaryCrossentropy::new().with_label_smoothing(smoothing);
            let err = bce.check_targets(&[1.0f32], 1, 1).unwrap_err();
            let is_smoothing = matches!(
                err,
                Error::InvalidArgument {
                    name: "label_smoothing",
                    ..
                }
            );
            assert!(is_smoothing, "{err}");
        }
        let bce = BinaryCrossentropy::new().with_label_smoothing(0.1);
        assert!(bce.check_targets(&[1.0f32], 1, 1).is_ok());
    }
}
