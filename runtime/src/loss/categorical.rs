//! Categorical crossentropies: a probability (or a logit) per class, against one-hot rows
//! ([`CategoricalCrossentropy`]) or class indices ([`SparseCategoricalCrossentropy`]).
//!
//! On logits they are computed through log-sum-exp, so that no logit is too large. On
//! probabilities they rescale each row to sum to 1 and clip to `[EPSILON, 1 - EPSILON]`
//! before the logarithm, as Keras, and their gradient is that of the clipped expression:
//! zero where a probability was clipped.

use super::{
    Loss, Reduction, bad_targets, check_each_target, check_label_smoothing,
    check_one_target_per_output, clip, same_widths, samples, samples_with_grad, target_rows,
    values, widths,
};
use crate::{Error, Float, Result};

/// `-Σ t_i log softmax(x)_i` for `t_i = target(i)`; writes `grad_scale` times its gradient
/// to `grad` if given.
fn crossentropy_from_logits<F: Float>(
    x: &[F],
    target: impl Fn(usize) -> F,
    grad: Option<(&mut [F], F)>,
) -> F {
    let max = x.iter().copied().fold(F::neg_infinity(), F::max);
    let (mut sum_exp, mut total, mut dot) = (F::zero(), F::zero(), F::zero());
    for (i, &xi) in x.iter().enumerate() {
        let shifted = xi - max;
        sum_exp += shifted.exp();
        let t = target(i);
        total += t;
        if t != F::zero() {
            dot += t * shifted;
        }
    }
    // The gradient of Σ t_i (log Σ e^x - x_i) is softmax(x)·Σ t - t.
    if let Some((grad, grad_scale)) = grad {
        let softmax_scale = total / sum_exp;
        for (i, (g, &xi)) in grad.iter_mut().zip(x).enumerate() {
            *g = (grad_scale * ((xi - max).exp() * softmax_scale - target(i))).flushed();
        }
    }
    total * sum_exp.ln() - dot
}

/// `-Σ t_i log clip(p_i / Σ p)` for `t_i = target(i)`, as Keras (which rescales
/// probabilities to sum to 1); writes `grad_scale` times its gradient to `grad` if given.
fn crossentropy_from_probabilities<F: Float>(
    p: &[F],
    target: impl Fn(usize) -> F,
    grad: Option<(&mut [F], F)>,
) -> F {
    let sum = p.iter().copied().sum::<F>();
    // A row of zeros would divide by zero: it gets the loss of clipped zeros instead.
    let sum = if sum <= F::zero() {
        F::min_positive_value()
    } else {
        sum
    };
    let mut loss = F::zero();
    for (i, &pi) in p.iter().enumerate() {
        loss -= target(i) * clip(pi / sum).0.ln();
    }
    // With q = p / Σ p and g_i = dL/dq_i (= -t_i / q_i where q_i is not clipped),
    // dL/dp_k = (g_k - Σ_i g_i q_i) / Σ p.
    if let Some((grad, grad_scale)) = grad {
        let mut dot = F::zero();
        for (i, (g, &pi)) in grad.iter_mut().zip(p).enumerate() {
            let q = pi / sum;
            *g = if clip(q).1 { -target(i) / q } else { F::zero() };
            dot += *g * q;
        }
        let scale = grad_scale / sum;
        for g in grad.iter_mut() {
            *g = (*g - dot) * scale;
        }
    }
    loss
}

/// The crossentropy of one row, from logits or from probabilities.
fn crossentropy_row<F: Float>(
    from_logits: bool,
    y_pred: &[F],
    target: impl Fn(usize) -> F,
    grad: Option<(&mut [F], F)>,
) -> F {
    if from_logits {
        crossentropy_from_logits(y_pred, target, grad)
    } else {
        crossentropy_from_probabilities(y_pred, target, grad)
    }
}

/// Keras's `CategoricalCrossentropy`: a probability (or, with
/// [`CategoricalCrossentropy::from_logits`], a logit) per class, against one-hot (or
/// probability) targets with one value per class; the loss of a sample is the sum over
/// the classes. Probabilities are rescaled to sum to 1 first, as Keras.
///
/// ```
/// use strata_runtime::loss::{CategoricalCrossentropy, Loss};
///
/// let y_true: &[f64] = &[0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
/// let y_pred: &[f64] = &[0.05, 0.95, 0.0, 0.1, 0.8, 0.1];
/// let loss = CategoricalCrossentropy::new().compute(y_pred, y_true, 2);
/// assert!((loss - 1.177).abs() < 1e-3); // Keras's documented value
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CategoricalCrossentropy {
    from_logits: bool,
    label_smoothing: f64,
    reduction: Reduction,
}

impl CategoricalCrossentropy {
    /// The loss on probabilities (a softmax output), as Keras's default.
    pub const fn new() -> Self {
        CategoricalCrossentropy {
            from_logits: false,
            label_smoothing: 0.0,
            reduction: Reduction::SumOverBatchSize,
        }
    }

    /// The loss on logits (an output without activation), as Keras's
    /// `from_logits=True`: more accurate than on probabilities.
    pub const fn from_logits() -> Self {
        CategoricalCrossentropy {
            from_logits: true,
            ..CategoricalCrossentropy::new()
        }
    }

    /// The same loss against smoothed targets: `t·(1 - s) + s/classes` for
    /// `s = label_smoothing` in `[0, 1]`.
    ///
    /// ```
    /// use strata_runtime::loss::CategoricalCrossentropy;
    ///
    /// let loss = CategoricalCrossentropy::from_logits().with_label_smoothing(0.1);
    /// ```
    pub const fn with_label_smoothing(self, label_smoothing: f64) -> Self {
        CategoricalCrossentropy {
            label_smoothing,
            ..self
        }
    }

    /// The same loss, reduced over the batch by `reduction`.
    pub const fn with_reduction(self, reduction: Reduction) -> Self {
        CategoricalCrossentropy { reduction, ..self }
    }

    /// The smoothing of a target among `classes`: `t·(1 - s) + s/classes`.
    fn smoothing<F: Float>(&self, classes: usize) -> impl Fn(F) -> F {
        let keep = F::of(1.0 - self.label_smoothing);
        let spread = F::of(self.label_smoothing / classes as f64);
        move |t| t * keep + spread
    }
}

impl<F: Float> Loss<F> for CategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "categorical_crossentropy"
    }

    fn reduction(&self) -> Reduction {
        self.reduction
    }

    fn check_targets(&self, y_true: &[F], target_width: usize, output_width: usize) -> Result<()> {
        let what = "categorical_crossentropy";
        check_label_smoothing(self.label_smoothing)?;
        check_one_target_per_output(
            what,
            target_width,
            output_width,
            "categorical crossentropy needs one-hot rows (or class probabilities) with one value \
             per output",
        )?;
        check_more_than_one_class(what, output_width)?;
        let in_range = |t: f64| (0.0..=1.0).contains(&t);
        check_each_target(what, y_true, target_width, in_range, |value, sample| {
            format!(
                "target {value} of sample {sample} is not in [0, 1]: categorical crossentropy \
                 needs one-hot rows or class probabilities"
            )
        })
    }

    fn per_sample(&self, y_pred: &[F], y_true: &[F], rows: usize, out: &mut [F]) {
        let what = "categorical_crossentropy";
        let samples = samples(what, y_pred, y_true, rows, same_widths);
        for ((p, t), out) in samples.zip(&mut out[..rows]) {
            let smooth = self.smoothing(p.len());
            *out = crossentropy_row(self.from_logits, p, |i| smooth(t[i]), None);
        }
    }

    fn sum_and_grad(
        &self,
        y_pred: &[F],
        y_true: &[F],
        rows: usize,
        grad_scale: F,
        grad: &mut [F],
    ) -> F {
        let what = "categorical_crossentropy";
        let mut total = F::zero();
        for (p, t, g) in samples_with_grad(what, y_pred, y_true, rows, grad, same_widths) {
            let smooth = self.smoothing(p.len());
            let target = |i| smooth(t[i]);
            total += crossentropy_row(self.from_logits, p, target, Some((g, grad_scale)));
        }
        total
    }
}

/// Rejects a single output, over which a softmax is always 1 and the loss never changes.
fn check_more_than_one_class(what: &'static str, output_width: usize) -> Result<()> {
    if output_width > 1 {
        return Ok(());
    }
    Err(bad_targets(
        what,
        format!(
            "the model gives {} per sample, but a softmax over fewer than two outputs never \
             changes, so the loss cannot train; with one output per sample use \
             BinaryCrossentropy, or give the last layer one output per class",
            values(output_width)
        ),
    ))
}

/// Keras's `SparseCategoricalCrossentropy`: a probability (or, with
/// [`SparseCategoricalCrossentropy::from_logits`], a logit) per class, against one integer
/// class index per sample, stored as a float. Probabilities are rescaled to sum to 1 first,
/// as Keras.
///
/// ```
/// use strata_runtime::loss::{Loss, SparseCategoricalCrossentropy};
///
/// let y_true: &[f64] = &[1.0, 2.0];
/// let y_pred: &[f64] = &[0.05, 0.95, 0.0, 0.1, 0.8, 0.1];
/// let loss = SparseCategoricalCrossentropy::new().compute(y_pred, y_true, 2);
/// assert!((loss - 1.177).abs() < 1e-3); // Keras's documented value
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SparseCategoricalCrossentropy {
    from_logits: bool,
    reduction: Reduction,
}

impl SparseCategoricalCrossentropy {
    /// The loss on probabilities (a softmax output), as Keras's default.
    pub const fn new() -> Self {
        SparseCategoricalCrossentropy {
            from_logits: false,
            reduction: Reduction::SumOverBatchSize,
        }
    }

    /// The loss on logits (an output without activation), as Keras's
    /// `from_logits=True`: more accurate than on probabilities.
    pub const fn from_logits() -> Self {
        SparseCategoricalCrossentropy {
            from_logits: true,
            reduction: Reduction::SumOverBatchSize,
        }
    }

    /// The same loss, reduced over the batch by `reduction`.
    pub const fn with_reduction(self, reduction: Reduction) -> Self {
        SparseCategoricalCrossentropy { reduction, ..self }
    }
}

/// The widths of `rows` rows of predictions against class indices: the number of classes,
/// and 1.
fn sparse_widths(what: &str, y_pred_len: usize, y_true_len: usize, rows: usize) -> (usize, usize) {
    let (classes, target_width) = widths(what, y_pred_len, y_true_len, rows);
    assert_eq!(
        target_width, 1,
        "{what}: the targets must be one class index per sample"
    );
    (classes, target_width)
}

/// `label` as a class index. Panics if it is none (`check_targets` rules this out).
fn class_index<F: Float>(label: F, classes: usize) -> usize {
    let label = label.as_f64();
    assert!(
        label_problem(label, classes).is_none(),
        "sparse_categorical_crossentropy: label {label} is not a class index in 0..{classes}; \
         call check_targets before training"
    );
    label as usize
}

/// The one-hot target of `class`.
fn one_hot<F: Float>(class: usize) -> impl Fn(usize) -> F {
    move |i| if i == class { F::one() } else { F::zero() }
}

/// Why `label` is no class index below `classes`, as the hint of
/// [`Error::LabelOutOfRange`], or `None` if it is one.
fn label_problem(label: f64, classes: usize) -> Option<&'static str> {
    if label.fract() != 0.0 || label.is_nan() {
        Some(
            "; class labels are whole numbers counted from 0 (for probability targets use \
             BinaryCrossentropy or CategoricalCrossentropy)",
        )
    } else if label < 0.0 {
        Some("; class labels count from 0, so drop the samples that a negative label marks")
    } else if label < classes as f64 {
        None
    } else if label == classes as f64 {
        Some(
            "; if the labels count from 1, subtract 1 from them, otherwise give the last \
             layer one output per class",
        )
    } else {
        Some("; give the last layer one output per class")
    }
}

impl<F: Float> Loss<F> for SparseCategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "sparse_categorical_crossentropy"
    }

    fn reduction(&self) -> Reduction {
        self.reduction
    }

    /// One class index per sample: no axes.
    fn target_shape(&self, _output_shape: &'static [usize]) -> &'static [usize] {
        &[]
    }

    fn check_targets(&self, y_true: &[F], target_width: usize, output_width: usize) -> Result<()> {
        let what = "sparse_categorical_crossentropy";
        if target_width != 1 {
            let hint = if target_width == output_width {
                "; for one-hot targets use CategoricalCrossentropy".to_string()
            } else {
                format!(
                    "; the model gives {} per sample, so give one class index per sample, or \
                     one-hot rows of {} with CategoricalCrossentropy",
                    values(output_width),
                    values(output_width),
                )
            };
            return Err(bad_targets(
                what,
                format!(
                    "the targets have {} per sample, but sparse categorical crossentropy needs \
                     one integer class index per sample{hint}",
                    values(target_width)
                ),
            ));
        }
        target_rows(what, y_true, target_width)?;
        check_more_than_one_class(what, output_width)?;
        for (sample, &label) in y_true.iter().enumerate() {
            let label = label.as_f64();
            if let Some(hint) = label_problem(label, output_width) {
                return Err(Error::LabelOutOfRange {
                    loss: what,
                    sample,
                    label,
                    classes: output_width,
                    hint,
                });
            }
        }
        Ok(())
    }

    fn per_sample(&self, y_pred: &[F], y_true: &[F], rows: usize, out: &mut [F]) {
        let what = "sparse_categorical_crossentropy";
        let samples = samples(what, y_pred, y_true, rows, sparse_widths);
        for ((p, label), out) in samples.zip(&mut out[..rows]) {
            let target = one_hot(class_index(label[0], p.len()));
            *out = crossentropy_row(self.from_logits, p, target, None);
        }
    }

    fn sum_and_grad(
        &self,
        y_pred: &[F],
        y_true: &[F],
        rows: usize,
        grad_scale: F,
        grad: &mut [F],
    ) -> F {
        let what = "sparse_categorical_crossentropy";
        let mut total = F::zero();
        for (p, label, g) in samples_with_grad(what, y_pred, y_true, rows, grad, sparse_widths) {
            let target = one_hot(class_index(label[0], p.len()));
            total += crossentropy_row(self.from_logits, p, target, Some((g, grad_scale)));
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::super::EPSILON;
    use super::super::testing::{
        REDUCTIONS, assert_finite, assert_grad_matches_finite_differences, per_sample, uniform,
    };
    use super::*;
    use approx::assert_relative_eq;

    /// Keras's documented example for its categorical crossentropies.
    const ONE_HOT: [f64; 6] = [0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    const LABELS: [f64; 2] = [1.0, 2.0];
    const PROBABILITIES: [f64; 6] = [0.05, 0.95, 0.0, 0.1, 0.8, 0.1];

    #[test]
    fn categorical_crossentropy_matches_keras_example() {
        let cce = CategoricalCrossentropy::new();
        assert_relative_eq!(
            cce.compute(&PROBABILITIES, &ONE_HOT, 2),
            1.177,
            epsilon = 1e-3
        );
        let sum = cce.with_reduction(Reduction::Sum);
        assert_relative_eq!(
            sum.compute(&PROBABILITIES, &ONE_HOT, 2),
            2.354,
            epsilon = 1e-3
        );
        let out = per_sample(&cce, &PROBABILITIES, &ONE_HOT, 2);
        assert_relative_eq!(out[0], 0.0513, epsilon = 1e-4);
        assert_relative_eq!(out[1], std::f64::consts::LN_10, max_relative = 1e-12); // -ln 0.1
    }

    #[test]
    fn categorical_crossentropy_rescales_probabilities_to_sum_to_one() {
        let cce = CategoricalCrossentropy::new();
        let doubled: Vec<f64> = PROBABILITIES.iter().map(|p| 2.0 * p).collect();
        assert_relative_eq!(
            cce.compute(&doubled, &ONE_HOT, 2),
            cce.compute(&PROBABILITIES, &ONE_HOT, 2),
            max_relative = 1e-12
        );
    }

    #[test]
    fn categorical_crossentropy_from_logits_matches_hand_computation() {
        // -log softmax([1, 2, 3])[2] = log(e + e² + e³) - 3.
        let expected = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln() - 3.0;
        let cce = CategoricalCrossentropy::from_logits();
        assert_relative_eq!(
            cce.compute(&[1.0, 2.0, 3.0], &[0.0, 0.0, 1.0], 1),
            expected,
            max_relative = 1e-12
        );
        // Smoothing 0.3 over 3 classes: targets [0.1, 0.1, 0.8].
        let smoothed = cce.with_label_smoothing(0.3);
        let lse = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
        let expected = 0.1 * (lse - 1.0) + 0.1 * (lse - 2.0) + 0.8 * (lse - 3.0);
        assert_relative_eq!(
            smoothed.compute(&[1.0, 2.0, 3.0], &[0.0, 0.0, 1.0], 1),
            expected,
            max_relative = 1e-12
        );
    }

    #[test]
    fn sparse_categorical_crossentropy_matches_keras_example() {
        let scce = SparseCategoricalCrossentropy::new();
        assert_relative_eq!(
            scce.compute(&PROBABILITIES, &LABELS, 2),
            1.177,
            epsilon = 1e-3
        );
        let sum = scce.with_reduction(Reduction::Sum);
        assert_relative_eq!(
            sum.compute(&PROBABILITIES, &LABELS, 2),
            2.354,
            epsilon = 1e-3
        );
        let out = per_sample(&scce, &PROBABILITIES, &LABELS, 2);
        assert_relative_eq!(out[0], -(0.95f64.ln()), max_relative = 1e-12);
        assert_relative_eq!(out[1], -(0.1f64.ln()), max_relative = 1e-12);
    }

    #[test]
    fn sparse_categorical_crossentropy_agrees_with_categorical_on_one_hot_targets() {
        let logits = uniform(7, 12, -3.0, 3.0);
        let labels = [3.0, 0.0, 2.0];
        let mut one_hot = [0.0; 12];
        for (r, &label) in labels.iter().enumerate() {
            one_hot[r * 4 + label as usize] = 1.0;
        }
        for (sparse, categorical) in [
            (
                SparseCategoricalCrossentropy::new(),
                CategoricalCrossentropy::new(),
            ),
            (
                SparseCategoricalCrossentropy::from_logits(),
                CategoricalCrossentropy::from_logits(),
            ),
        ] {
            let y_pred: Vec<f64> = logits.iter().map(|x| x.abs() + 0.1).collect();
            let y_pred = if sparse.from_logits { &logits } else { &y_pred };
            let mut sparse_grad = [0.0; 12];
            let mut categorical_grad = [0.0; 12];
            let a = sparse.value_and_grad(y_pred, &labels, 3, &mut sparse_grad);
            let b = categorical.value_and_grad(y_pred, &one_hot, 3, &mut categorical_grad);
            assert_relative_eq!(a, b, max_relative = 1e-12);
            for (a, b) in sparse_grad.iter().zip(&categorical_grad) {
                assert_relative_eq!(a, b, max_relative = 1e-12);
            }
        }
    }

    #[test]
    fn categorical_crossentropy_grad_matches_finite_differences() {
        // Probabilities that do not sum to 1, to check the gradient through the rescaling.
        let probabilities = uniform(5, 12, 0.1, 1.0);
        let logits = uniform(6, 12, -4.0, 4.0);
        let one_hot = [0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        let soft = [
            0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.0, 0.0, 0.25, 0.25, 0.25, 0.25,
        ];
        for reduction in REDUCTIONS {
            for smoothing in [0.0, 0.1] {
                for y_true in [&one_hot, &soft] {
                    let loss = CategoricalCrossentropy::new()
                        .with_label_smoothing(smoothing)
                        .with_reduction(reduction);
                    assert_grad_matches_finite_differences(&loss, &probabilities, y_true, 3);
                    let loss = CategoricalCrossentropy::from_logits()
                        .with_label_smoothing(smoothing)
                        .with_reduction(reduction);
                    assert_grad_matches_finite_differences(&loss, &logits, y_true, 3);
                }
            }
        }
    }

    #[test]
    fn sparse_categorical_crossentropy_grad_matches_finite_differences() {
        let probabilities = uniform(8, 12, 0.1, 1.0);
        let logits = uniform(9, 12, -4.0, 4.0);
        let labels = [2.0, 0.0, 3.0];
        for reduction in REDUCTIONS {
            let loss = SparseCategoricalCrossentropy::new().with_reduction(reduction);
            assert_grad_matches_finite_differences(&loss, &probabilities, &labels, 3);
            let loss = SparseCategoricalCrossentropy::from_logits().with_reduction(reduction);
            assert_grad_matches_finite_differences(&loss, &logits, &labels, 3);
        }
    }

    #[test]
    fn categorical_crossentropies_of_logits_of_plus_minus_1000_are_finite() {
        let logits = [1000.0, -1000.0, 0.0, -1000.0, 1000.0, 0.0];
        let one_hot = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let cce = CategoricalCrossentropy::from_logits();
        assert_relative_eq!(assert_finite(&cce, &logits, &one_hot, 2), 1000.0);
        let scce = SparseCategoricalCrossentropy::from_logits();
        assert_relative_eq!(assert_finite(&scce, &logits, &[0.0, 0.0], 2), 1000.0);
    }

    #[test]
    fn categorical_crossentropies_of_probabilities_0_and_1_are_finite() {
        let wrong = -(EPSILON.ln()) as f32; // the loss of a clipped, wrong probability
        // A wrong certain row, and a row of zeros (which cannot be rescaled).
        let probabilities = [0.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        let one_hot = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let cce = CategoricalCrossentropy::new();
        let value = assert_finite(&cce, &probabilities, &one_hot, 2);
        assert_relative_eq!(value, wrong, max_relative = 1e-3);
        let scce = SparseCategoricalCrossentropy::new();
        let value = assert_finite(&scce, &probabilities, &[0.0, 1.0], 2);
        assert_relative_eq!(value, wrong, max_relative = 1e-3);
    }

    #[test]
    fn categorical_crossentropy_gradient_is_zero_where_probabilities_are_clipped() {
        let mut grad = [f64::NAN; 3];
        let (y_pred, y_true) = ([0.0, 1.0, 0.0], [0.0, 1.0, 0.0]);
        CategoricalCrossentropy::new().sum_and_grad(&y_pred, &y_true, 1, 1.0, &mut grad);
        assert_eq!(grad, [0.0, 0.0, 0.0]);
    }

    #[test]
    fn sparse_categorical_crossentropy_of_nan_is_nan() {
        for loss in [
            SparseCategoricalCrossentropy::new(),
            SparseCategoricalCrossentropy::from_logits(),
        ] {
            assert!(loss.compute(&[0.5, f64::NAN], &[0.0], 1).is_nan());
        }
    }

    #[test]
    fn sparse_categorical_crossentropy_rejects_label_out_of_range() {
        let scce = SparseCategoricalCrossentropy::from_logits();
        let err = scce.check_targets(&[3.0f32, 9.0, 10.0], 1, 10).unwrap_err();
        assert!(
            matches!(
                err,
                Error::LabelOutOfRange {
                    sample: 2,
                    classes: 10,
                    ..
                }
            ),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with("label 10 of sample 2 is not a class index in 0..10"),
            "{message}"
        );
        assert!(
            message.contains("if the labels count from 1, subtract 1"),
            "{message}"
        );
        let err = scce.check_targets(&[0.0f32, 12.0], 1, 10).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("label 12 of sample 1"), "{message}");
        assert!(
            message.contains("give the last layer one output per class"),
            "{message}"
        );
    }

    #[test]
    fn sparse_categorical_crossentropy_rejects_non_integer_label() {
        let scce = SparseCategoricalCrossentropy::new();
        for bad in [0.5f32, f32::NAN] {
            let err = scce.check_targets(&[1.0, 2.0, bad], 1, 3).unwrap_err();
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("label {bad} of sample 2 ")),
                "{message}"
            );
            assert!(
                message.contains("class labels are whole numbers"),
                "{message}"
            );
        }
    }

    #[test]
    fn sparse_categorical_crossentropy_rejects_negative_label() {
        let err = SparseCategoricalCrossentropy::new()
            .check_targets(&[-1.0f64, 1.0], 1, 3)
            .unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("label -1 of sample 0 "), "{message}");
        assert!(message.contains("class labels count from 0"), "{message}");
    }

    #[test]
    fn sparse_categorical_crossentropy_rejects_one_hot_targets() {
        let err = SparseCategoricalCrossentropy::new()
            .check_targets(&[0.0f32, 1.0, 0.0], 3, 3)
            .unwrap_err();
        assert!(matches!(
            err,
            Error::BadTargets {
                what: "sparse_categorical_crossentropy",
                ..
            }
        ));
        let message = err.to_string();
        assert!(
            message.contains("the targets have 3 values per sample"),
            "{message}"
        );
        assert!(
            message.contains("for one-hot targets use CategoricalCrossentropy"),
            "{message}"
        );
    }

    #[test]
    fn sparse_categorical_crossentropy_rejects_a_single_output() {
        let err = SparseCategoricalCrossentropy::new()
            .check_targets(&[0.0f32], 1, 1)
            .unwrap_err();
        assert!(err.to_string().contains("use BinaryCrossentropy"), "{err}");
    }

    #[test]
    fn categorical_crossentropy_rejects_integer_labels() {
        let err = CategoricalCrossentropy::new()
            .check_targets(&[4.0f32, 2.0], 1, 10)
            .unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("categorical_crossentropy: the targets have 1 value per sample but the model gives 10 values"), "{message}");
        assert!(
            message.contains("for integer class labels use SparseCategoricalCrossentropy"),
            "{message}"
        );
        let err = CategoricalCrossentropy::new()
            .check_targets(&[0.0f32, 2.0, 0.0], 3, 3)
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("target 2 of sample 0 is not in [0, 1]"),
            "{message}"
        );
    }

    #[test]
    fn categorical_crossentropy_rejects_label_smoothing_outside_0_1() {
        let cce = CategoricalCrossentropy::new().with_label_smoothing(-0.1);
        let err = cce.check_targets(&[1.0f32, 0.0], 2, 2).unwrap_err();
        let is_smoothing = matches!(
            err,
            Error::InvalidArgument {
                name: "label_smoothing",
                ..
            }
        );
        assert!(is_smoothing, "{err}");
        let cce = CategoricalCrossentropy::new().with_label_smoothing(0.1);
        assert!(cce.check_targets(&[1.0f32, 0.0], 2, 2).is_ok());
    }
}
