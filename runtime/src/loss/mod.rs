//! Losses: the value a model is trained to lower, and its gradient.
//!
//! Each loss follows Keras 3: the same name, the same defaults, the same per-sample value
//! (the mean over the last axis for the regression losses and binary crossentropy, the
//! sum over the classes for categorical crossentropy) and the same reductions.
//!
//! ```
//! use strata_runtime::loss::{Loss, Reduction, SparseCategoricalCrossentropy};
//!
//! let loss = SparseCategoricalCrossentropy::from_logits().with_reduction(Reduction::Sum);
//! let y_true: &[f32] = &[0.0, 2.0]; // one class index per sample
//! let y_pred: &[f32] = &[2.0, 0.0, 0.0, 0.0, 0.0, 3.0]; // two samples, three logits each
//! loss.check_targets(y_true, 1, 3).unwrap();
//! assert!(loss.compute(y_pred, y_true, 2) < 0.5);
//! ```

mod binary;
mod categorical;
mod outputs;
mod regression;

pub use binary::BinaryCrossentropy;
pub use categorical::{CategoricalCrossentropy, SparseCategoricalCrossentropy};
pub use outputs::Losses;
pub use regression::{Huber, MeanAbsoluteError, MeanSquaredError};

use crate::metrics::Metric;
use crate::{Error, Float, Result, TensorInfo};

/// Keras's `epsilon()`: losses on probabilities clip them to `[EPSILON, 1 - EPSILON]`
/// before taking their logarithm.
pub const EPSILON: f64 = 1e-7;

/// How per-sample losses become one number, as Keras's `reduction`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The mean over the batch (Keras's default, `"sum_over_batch_size"`).
    #[default]
    SumOverBatchSize,
    /// The sum over the batch.
    Sum,
    /// No reduction: [`Loss::per_sample`] gives one value per sample. In `fit`, the
    /// per-sample losses are averaged over the batch.
    None,
}

/// A loss function on batches of predictions and targets, both row-major with one row per
/// sample.
pub trait Loss<F: Float>: Send + Sync {
    /// Keras's name for the loss, e.g. `"sparse_categorical_crossentropy"`.
    fn name(&self) -> &'static str;

    /// How [`Loss::reduce`] combines per-sample losses.
    fn reduction(&self) -> Reduction;

    /// Checks, before training, that targets with `target_width` values per sample suit
    /// predictions with `output_width` values, and that every target value is valid (class
    /// indices in range, probabilities in `[0, 1]` where the loss needs them).
    fn check_targets(&self, y_true: &[F], target_width: usize, output_width: usize) -> Result<()>;

    /// The loss of each of the `rows` samples, written to `out[..rows]`.
    fn per_sample(&self, y_pred: &[F], y_true: &[F], rows: usize, out: &mut [F]);

    /// The sum over `rows` samples of the per-sample losses; writes to `grad` (same shape
    /// as `y_pred`) `grad_scale` times the gradient of that sum with respect to `y_pred`.
    fn sum_and_grad(
        &self,
        y_pred: &[F],
        y_true: &[F],
        rows: usize,
        grad_scale: F,
        grad: &mut [F],
    ) -> F;

    /// [`Loss::sum_and_grad`] with each sample weighted, as Keras's `sample_weight`: the
    /// sum over `rows` samples of `weight × loss`, with `grad_scale` times its gradient
    /// written to `grad`. `None` weighs every sample 1 and is [`Loss::sum_and_grad`]
    /// itself. Times [`Loss::reduction_scale`], this is Keras's weighted loss: divided by
    /// the number of samples (not by the sum of the weights) for
    /// [`Reduction::SumOverBatchSize`]. Allocates nothing; no loss needs code of its own
    /// for it, since it calls [`Loss::sum_and_grad`] one sample at a time.
    ///
    /// ```
    /// use strata_runtime::loss::{Loss, MeanSquaredError};
    ///
    /// let y_true: &[f64] = &[0.0, 1.0];
    /// let y_pred: &[f64] = &[1.0, 3.0]; // squared errors 1 and 4
    /// let mut grad = [0.0; 2];
    /// let loss = MeanSquaredError::new();
    /// let sum = loss.weighted_sum_and_grad(y_pred, y_true, 2, 1.0, Some(&[2.0, 0.5]), &mut grad);
    /// assert_eq!(sum, 2.0 * 1.0 + 0.5 * 4.0);
    /// assert_eq!(grad, [2.0 * 2.0, 0.5 * 4.0]); // weight · 2 (y_pred - y_true)
    /// ```
    ///
    /// Panics if `sample_weight` does not hold `rows` weights.
    fn weighted_sum_and_grad(
        &self,
        y_pred: &[F],
        y_true: &[F],
        rows: usize,
        grad_scale: F,
        sample_weight: Option<&[F]>,
        grad: &mut [F],
    ) -> F {
        let Some(weights) = sample_weight else {
            return self.sum_and_grad(y_pred, y_true, rows, grad_scale, grad);
        };
        check_sample_weights(self.name(), weights, rows);
        let samples = samples_with_grad(self.name(), y_pred, y_true, rows, grad, widths);
        let mut total = F::zero();
        for ((p, t, g), &weight) in samples.zip(weights) {
            total += weight * self.sum_and_grad(p, t, 1, grad_scale * weight, g);
        }
        total
    }

    /// The reduced loss of `rows` samples, each weighted, as calling a Keras loss with
    /// `sample_weight` gives it: for [`Reduction::SumOverBatchSize`], the sum of
    /// `weight × loss` divided by the number of samples. Allocates one value per sample,
    /// as [`Loss::compute`].
    ///
    /// ```
    /// use strata_runtime::loss::{Loss, MeanAbsoluteError};
    ///
    /// let y_true: &[f64] = &[0.0, 1.0, 0.0, 0.0];
    /// let y_pred: &[f64] = &[1.0, 1.0, 1.0, 0.0]; // per-sample losses 0.5 and 0.5
    /// let loss = MeanAbsoluteError::new().compute_weighted(y_pred, y_true, 2, &[0.7, 0.3]);
    /// assert!((loss - 0.25).abs() < 1e-12); // Keras's documented value: (0.7 · 0.5 + 0.3 · 0.5) / 2
    /// ```
    ///
    /// Panics if `sample_weight` does not hold `rows` weights.
    fn compute_weighted(&self, y_pred: &[F], y_true: &[F], rows: usize, sample_weight: &[F]) -> F {
        check_sample_weights(self.name(), sample_weight, rows);
        let mut per_sample = vec![F::zero(); rows];
        self.per_sample(y_pred, y_true, rows, &mut per_sample);
        for (loss, &weight) in per_sample.iter_mut().zip(sample_weight) {
            *loss = weight * *loss;
        }
        self.reduce(&per_sample)
    }

    /// The factor that turns the sum of `rows` per-sample losses into the reduced loss:
    /// `1 / rows` for [`Reduction::SumOverBatchSize`] and [`Reduction::None`] (which `fit`
    /// averages), `1` for [`Reduction::Sum`] and for an empty batch.
    ///
    /// ```
    /// use strata_runtime::loss::{Loss, MeanSquaredError, Reduction};
    ///
    /// let mean: f32 = Loss::<f32>::reduction_scale(&MeanSquaredError::new(), 4);
    /// assert_eq!(mean, 0.25);
    /// let sum = MeanSquaredError::new().with_reduction(Reduction::Sum);
    /// assert_eq!(Loss::<f32>::reduction_scale(&sum, 4), 1.0);
    /// ```
    fn reduction_scale(&self, rows: usize) -> F {
        match self.reduction() {
            Reduction::Sum => F::one(),
            Reduction::SumOverBatchSize | Reduction::None if rows > 0 => {
                F::one() / F::of(rows as f64)
            }
            Reduction::SumOverBatchSize | Reduction::None => F::one(),
        }
    }

    /// Per-sample losses reduced to one number as [`Loss::reduction`] says (the mean for
    /// [`Reduction::None`], as `fit` reports it). An empty slice gives 0.
    ///
    /// ```
    /// use strata_runtime::loss::{Loss, MeanSquaredError, Reduction};
    ///
    /// let per_sample: &[f64] = &[1.0, 2.0, 6.0];
    /// assert_eq!(MeanSquaredError::new().reduce(per_sample), 3.0);
    /// let sum = MeanSquaredError::new().with_reduction(Reduction::Sum);
    /// assert_eq!(sum.reduce(per_sample), 9.0);
    /// ```
    fn reduce(&self, per_sample: &[F]) -> F {
        per_sample.iter().copied().sum::<F>() * self.reduction_scale(per_sample.len())
    }

    /// The reduced loss of `rows` samples, and its gradient with respect to `y_pred`
    /// written to `grad`. Allocates nothing.
    ///
    /// ```
    /// use strata_runtime::loss::{Loss, MeanSquaredError};
    ///
    /// let y_true: &[f64] = &[0.0, 1.0];
    /// let y_pred: &[f64] = &[1.0, 1.0];
    /// let mut grad = [0.0; 2];
    /// let loss = MeanSquaredError::new().value_and_grad(y_pred, y_true, 2, &mut grad);
    /// assert_eq!(loss, 0.5); // (1² + 0²) / 2
    /// assert_eq!(grad, [1.0, 0.0]); // 2 · (y_pred - y_true) / 2
    /// ```
    fn value_and_grad(&self, y_pred: &[F], y_true: &[F], rows: usize, grad: &mut [F]) -> F {
        let scale = self.reduction_scale(rows);
        self.sum_and_grad(y_pred, y_true, rows, scale, grad) * scale
    }

    /// The reduced loss of `rows` samples, as calling a Keras loss gives it. Allocates one
    /// value per sample: for evaluation and tests, not for the training step.
    ///
    /// ```
    /// use strata_runtime::loss::{Loss, MeanAbsoluteError};
    ///
    /// let y_true: &[f64] = &[0.0, 1.0, 0.0, 0.0];
    /// let y_pred: &[f64] = &[1.0, 1.0, 1.0, 0.0];
    /// assert_eq!(MeanAbsoluteError::new().compute(y_pred, y_true, 2), 0.5);
    /// ```
    fn compute(&self, y_pred: &[F], y_true: &[F], rows: usize) -> F {
        let mut per_sample = vec![F::zero(); rows];
        self.per_sample(y_pred, y_true, rows, &mut per_sample);
        self.reduce(&per_sample)
    }

    /// The shape of one sample's targets for an output of `output_shape`: the output's own
    /// shape for most losses, no axes (one class index) for
    /// [`SparseCategoricalCrossentropy`].
    ///
    /// ```
    /// use strata_runtime::loss::{Loss, MeanSquaredError, SparseCategoricalCrossentropy};
    ///
    /// let sparse = SparseCategoricalCrossentropy::from_logits();
    /// assert_eq!(Loss::<f32>::target_shape(&sparse, &[10]), &[] as &[usize]);
    /// assert_eq!(Loss::<f32>::target_shape(&MeanSquaredError::new(), &[4, 2]), &[4, 2]);
    /// ```
    fn target_shape(&self, output_shape: &'static [usize]) -> &'static [usize] {
        output_shape
    }

    /// Tells the loss the model's outputs, as they sit in the packed output row
    /// ([`Model::OUTPUTS`](crate::Model::OUTPUTS)); the trainer calls it once, when the
    /// model is compiled. A loss on the whole row ignores it; [`Losses`] finds in it the
    /// columns of each output it names, and reports a name it cannot find from
    /// [`Loss::check_targets`].
    fn bind_outputs(&mut self, outputs: &[TensorInfo]) {
        let _ = outputs;
    }

    /// Whether the loss reads each of several outputs apart ([`Losses`]) rather than the
    /// whole packed row: the trainer refuses a loss that does not on a model of several
    /// outputs, whose packed row no single loss means anything on.
    fn reads_outputs_apart(&self) -> bool {
        false
    }

    /// Where each output's targets sit in the packed target row that this loss reads, for
    /// a model with `outputs`: every output in turn, each as wide as
    /// [`Loss::target_shape`] says. [`Losses`] leaves out the outputs it gives no loss.
    /// The trainer hands this layout to the metrics
    /// ([`crate::metrics::Metric::bind_outputs`]), so that a metric
    /// on one output finds its targets.
    ///
    /// ```
    /// use strata_runtime::loss::{Loss, SparseCategoricalCrossentropy};
    /// use strata_runtime::TensorInfo;
    ///
    /// let output = TensorInfo { name: "output", shape: &[10], offset: 0, len: 10 };
    /// let sparse = SparseCategoricalCrossentropy::from_logits();
    /// let targets = Loss::<f32>::target_layout(&sparse, &[output]);
    /// assert_eq!(targets, [TensorInfo { name: "output", shape: &[], offset: 0, len: 1 }]);
    /// ```
    fn target_layout(&self, outputs: &[TensorInfo]) -> Vec<TensorInfo> {
        packed(outputs.iter().map(|o| (o.name, self.target_shape(o.shape))))
    }

    /// Metrics that the loss adds to the logs, after `loss` and before the compiled
    /// metrics: [`Losses`] of several outputs logs each output's unweighted loss
    /// (`logits_loss`), as Keras does. None for a loss on the whole row.
    fn metrics(&self) -> Vec<Box<dyn Metric<F>>> {
        Vec::new()
    }
}

/// `(name, shape)` parts laid one after another in a row.
fn packed(parts: impl Iterator<Item = (&'static str, &'static [usize])>) -> Vec<TensorInfo> {
    let mut offset = 0;
    parts
        .map(|(name, shape)| {
            let len = shape.iter().product();
            let info = TensorInfo {
                name,
                shape,
                offset,
                len,
            };
            offset += len;
            info
        })
        .collect()
}

/// Checks Keras's rule for `label_smoothing`: a number in `[0, 1]`.
fn check_label_smoothing(label_smoothing: f64) -> Result<()> {
    if (0.0..=1.0).contains(&label_smoothing) {
        return Ok(());
    }
    Err(Error::invalid(
        "label_smoothing",
        format!("{label_smoothing} is not in [0, 1]; a usual value is 0.1, and 0 turns it off"),
    ))
}

/// `p` clipped to `[EPSILON, 1 - EPSILON]`, and whether it was inside (so that the clipped
/// value's derivative is 1, not 0). NaN stays NaN.
fn clip<F: Float>(p: F) -> (F, bool) {
    let low = F::of(EPSILON);
    let high = F::one() - low;
    if p < low {
        (low, false)
    } else if p > high {
        (high, false)
    } else {
        (p, true)
    }
}

/// `n values`, with the right plural.
pub(crate) fn values(n: usize) -> String {
    if n == 1 {
        "1 value".to_string()
    } else {
        format!("{n} values")
    }
}

/// An [`Error::BadTargets`] for the loss or metric `what`.
pub(crate) fn bad_targets(what: &'static str, message: String) -> Error {
    Error::BadTargets { what, message }
}

/// Checks that `y_true` holds whole rows of `width` values, and gives their rows.
fn target_rows<F: Float>(what: &'static str, y_true: &[F], width: usize) -> Result<usize> {
    if width == 0 || !y_true.len().is_multiple_of(width) {
        return Err(bad_targets(
            what,
            format!(
                "the targets hold {} in all, which is not a whole number of samples of {}; \
                 give every sample the same number of target values",
                values(y_true.len()),
                values(width)
            ),
        ));
    }
    Ok(y_true.len() / width)
}

/// Checks that every target is `valid`; `describe(value, sample)` words the error.
fn check_each_target<F: Float>(
    what: &'static str,
    y_true: &[F],
    width: usize,
    valid: impl Fn(f64) -> bool,
    describe: impl Fn(f64, usize) -> String,
) -> Result<()> {
    target_rows(what, y_true, width)?;
    match y_true.iter().position(|&t| !valid(t.as_f64())) {
        Some(i) => Err(bad_targets(what, describe(y_true[i].as_f64(), i / width))),
        None => Ok(()),
    }
}

/// Checks that every target is a finite number.
fn check_finite_targets<F: Float>(what: &'static str, y_true: &[F], width: usize) -> Result<()> {
    check_each_target(what, y_true, width, f64::is_finite, |value, sample| {
        format!(
            "target {value} of sample {sample} is not a finite number; remove or fill in the \
             missing values"
        )
    })
}

/// Checks that the targets have one value per output; `purpose` says why the loss needs
/// that and `hint` (empty, or starting with "; ") how to fix a mismatch.
pub(crate) fn check_same_width(
    what: &'static str,
    target_width: usize,
    output_width: usize,
    purpose: &str,
    hint: &str,
) -> Result<()> {
    if target_width == output_width {
        return Ok(());
    }
    Err(bad_targets(
        what,
        format!(
            "the targets have {} per sample but the model gives {}: {purpose}{hint}",
            values(target_width),
            values(output_width),
        ),
    ))
}

/// [`check_same_width`] for a loss that reads one target per output; targets of one value
/// per sample against several outputs are most likely class labels, and the error says
/// which loss reads those.
fn check_one_target_per_output(
    what: &'static str,
    target_width: usize,
    output_width: usize,
    purpose: &str,
) -> Result<()> {
    let hint = if target_width == 1 && output_width > 1 {
        "; for integer class labels use SparseCategoricalCrossentropy"
    } else {
        ""
    };
    check_same_width(what, target_width, output_width, purpose, hint)
}

/// Panics, naming the loss `what`, if `sample_weight` does not hold one weight per sample.
fn check_sample_weights<F>(what: &str, sample_weight: &[F], rows: usize) {
    assert_eq!(
        sample_weight.len(),
        rows,
        "{what}: {} sample weights for {rows} samples",
        sample_weight.len()
    );
}

/// The widths of `rows` rows of predictions and of targets. Panics, naming the loss, if
/// the slices do not hold whole rows (`check_targets` rules this out before training).
fn widths(what: &str, y_pred_len: usize, y_true_len: usize, rows: usize) -> (usize, usize) {
    assert!(
        rows > 0
            && y_pred_len > 0
            && y_pred_len.is_multiple_of(rows)
            && y_true_len.is_multiple_of(rows),
        "{what}: {y_pred_len} predictions and {y_true_len} targets are not {rows} whole rows"
    );
    (y_pred_len / rows, y_true_len / rows)
}

/// The widths of `rows` rows of an elementwise loss, whose predictions and targets must be
/// as wide.
fn same_widths(what: &str, y_pred_len: usize, y_true_len: usize, rows: usize) -> (usize, usize) {
    let (output_width, target_width) = widths(what, y_pred_len, y_true_len, rows);
    assert_eq!(
        output_width, target_width,
        "{what}: the targets have {target_width} values per sample but the model gives \
         {output_width}"
    );
    (output_width, target_width)
}

/// A loss's rule for the widths of a row of predictions and of targets:
/// `(what, y_pred.len(), y_true.len(), rows)` to the two widths, panicking if they do not
/// suit the loss.
type RowWidths = fn(&str, usize, usize, usize) -> (usize, usize);

/// The widths of a row of predictions and of targets in a batch of `rows` samples, as
/// `row_widths(what, y_pred.len(), y_true.len(), rows)` gives them (it panics, naming the
/// loss `what`, if the slices do not suit it); any widths for an empty batch.
fn batch_widths<F>(
    what: &str,
    y_pred: &[F],
    y_true: &[F],
    rows: usize,
    row_widths: RowWidths,
) -> (usize, usize) {
    match rows {
        // Any widths split the empty slices below into no rows.
        0 => (1, 1),
        _ => row_widths(what, y_pred.len(), y_true.len(), rows),
    }
}

/// The first `rows` rows of predictions and of targets, `widths` values wide.
fn rows_of<'a, F>(
    y_pred: &'a [F],
    y_true: &'a [F],
    rows: usize,
    (output_width, target_width): (usize, usize),
) -> impl Iterator<Item = (&'a [F], &'a [F])> + use<'a, F> {
    let y_pred = &y_pred[..rows * output_width];
    let y_true = &y_true[..rows * target_width];
    y_pred
        .chunks_exact(output_width)
        .zip(y_true.chunks_exact(target_width))
}

/// The `rows` samples of a batch, each as its row of predictions and its row of targets
/// (widths as [`batch_widths`] gives them): none for an empty batch, whatever the slices
/// hold.
fn samples<'a, F: Float>(
    what: &str,
    y_pred: &'a [F],
    y_true: &'a [F],
    rows: usize,
    row_widths: RowWidths,
) -> impl Iterator<Item = (&'a [F], &'a [F])> + use<'a, F> {
    let widths = batch_widths(what, y_pred, y_true, rows, row_widths);
    rows_of(y_pred, y_true, rows, widths)
}

/// [`samples`] with each sample's row of `grad`, which must have the shape of `y_pred`.
fn samples_with_grad<'a, F: Float>(
    what: &str,
    y_pred: &'a [F],
    y_true: &'a [F],
    rows: usize,
    grad: &'a mut [F],
    row_widths: RowWidths,
) -> impl Iterator<Item = (&'a [F], &'a [F], &'a mut [F])> + use<'a, F> {
    let widths = batch_widths(what, y_pred, y_true, rows, row_widths);
    if rows > 0 {
        assert_eq!(
            grad.len(),
            y_pred.len(),
            "{what}: grad must have the shape of y_pred"
        );
    }
    let output_width = widths.0;
    let grad = &mut grad[..rows * output_width];
    rows_of(y_pred, y_true, rows, widths)
        .zip(grad.chunks_exact_mut(output_width))
        .map(|((p, t), g)| (p, t, g))
}

/// Per-sample losses of a loss that is the mean over the last axis of an elementwise
/// `term(prediction, target) -> (loss, derivative)`, as Keras's `mean(..., axis=-1)`.
fn mean_over_rows<F: Float>(
    what: &str,
    y_pred: &[F],
    y_true: &[F],
    rows: usize,
    out: &mut [F],
    term: impl Fn(F, F) -> (F, F),
) {
    for ((p, t), out) in samples(what, y_pred, y_true, rows, same_widths).zip(&mut out[..rows]) {
        let inv_width = F::one() / F::of(p.len() as f64);
        *out = p.iter().zip(t).map(|(&p, &t)| term(p, t).0).sum::<F>() * inv_width;
    }
}

/// The sum of [`mean_over_rows`]'s per-sample losses; writes `grad_scale` times its
/// gradient to `grad`.
fn mean_over_rows_and_grad<F: Float>(
    what: &str,
    y_pred: &[F],
    y_true: &[F],
    rows: usize,
    grad_scale: F,
    grad: &mut [F],
    term: impl Fn(F, F) -> (F, F),
) -> F {
    let mut total = F::zero();
    // Summed per sample, as the per-sample losses are, so that the sum over one sample at a
    // time (`Loss::weighted_sum_and_grad`) is the same number.
    for (p, t, g) in samples_with_grad(what, y_pred, y_true, rows, grad, same_widths) {
        let inv_width = F::one() / F::of(p.len() as f64);
        let grad_scale = grad_scale * inv_width;
        let mut sample = F::zero();
        for ((&p, &t), g) in p.iter().zip(t).zip(g) {
            let (loss, derivative) = term(p, t);
            sample += loss;
            *g = derivative * grad_scale;
        }
        total += sample * inv_width;
    }
    total
}

/// Helpers shared by the losses' tests.
#[cfg(test)]
mod testing {
    use super::{Loss, Reduction};
    use crate::Seed;
    use rand::Rng;

    /// Every reduction, for tests that must hold under each.
    pub const REDUCTIONS: [Reduction; 3] =
        [Reduction::SumOverBatchSize, Reduction::Sum, Reduction::None];

    /// `n` values drawn uniformly from `[low, high)`, the same for the same `seed`.
    pub fn uniform(seed: u64, n: usize, low: f64, high: f64) -> Vec<f64> {
        let mut rng = Seed(seed).rng();
        (0..n).map(|_| rng.random_range(low..high)).collect()
    }

    /// The per-sample losses of `rows` samples.
    pub fn per_sample(
        loss: &impl Loss<f64>,
        y_pred: &[f64],
        y_true: &[f64],
        rows: usize,
    ) -> Vec<f64> {
        let mut out = vec![f64::NAN; rows];
        loss.per_sample(y_pred, y_true, rows, &mut out);
        out
    }

    /// Asserts that the loss and its gradient are finite in `f32`, and gives the loss.
    pub fn assert_finite(
        loss: &impl Loss<f32>,
        y_pred: &[f32],
        y_true: &[f32],
        rows: usize,
    ) -> f32 {
        let mut grad = vec![f32::NAN; y_pred.len()];
        let value = loss.value_and_grad(y_pred, y_true, rows, &mut grad);
        assert!(value.is_finite(), "{}: loss {value}", loss.name());
        let finite = grad.iter().all(|g| g.is_finite());
        assert!(finite, "{}: grad {grad:?}", loss.name());
        value
    }

    /// Asserts that [`Loss::value_and_grad`] gives [`Loss::compute`]'s value and a
    /// gradient within `1e-6` (relative) of central finite differences of it, and that it
    /// overwrites whatever `grad` held.
    pub fn assert_grad_matches_finite_differences(
        loss: &impl Loss<f64>,
        y_pred: &[f64],
        y_true: &[f64],
        rows: usize,
    ) {
        let mut grad = vec![f64::NAN; y_pred.len()];
        let value = loss.value_and_grad(y_pred, y_true, rows, &mut grad);
        let expected = loss.compute(y_pred, y_true, rows);
        approx::assert_relative_eq!(value, expected, max_relative = 1e-12, epsilon = 1e-12);

        let h = 1e-6;
        let mut shifted = y_pred.to_vec();
        for (i, &analytic) in grad.iter().enumerate() {
            shifted[i] = y_pred[i] + h;
            let up = loss.compute(&shifted, y_true, rows);
            shifted[i] = y_pred[i] - h;
            let down = loss.compute(&shifted, y_true, rows);
            shifted[i] = y_pred[i];
            let numeric = (up - down) / (2.0 * h);
            assert!(
                approx::relative_eq!(analytic, numeric, max_relative = 1e-6, epsilon = 1e-8),
                "{} ({:?}): d loss / d y_pred[{i}] is {analytic}, finite differences give \
                 {numeric}",
                loss.name(),
                loss.reduction(),
            );
        }
    }

    /// Asserts that [`Loss::weighted_sum_and_grad`], reduced, gives
    /// [`Loss::compute_weighted`]'s value and a gradient within `1e-6` (relative) of
    /// central finite differences of it.
    pub fn assert_weighted_grad_matches_finite_differences(
        loss: &(impl Loss<f64> + ?Sized),
        (y_pred, y_true, rows): (&[f64], &[f64], usize),
        weights: &[f64],
    ) {
        let scale = loss.reduction_scale(rows);
        let mut grad = vec![f64::NAN; y_pred.len()];
        let sum = loss.weighted_sum_and_grad(y_pred, y_true, rows, scale, Some(weights), &mut grad);
        let expected = loss.compute_weighted(y_pred, y_true, rows, weights);
        approx::assert_relative_eq!(sum * scale, expected, max_relative = 1e-12, epsilon = 1e-12);

        let h = 1e-6;
        let mut shifted = y_pred.to_vec();
        for (i, &analytic) in grad.iter().enumerate() {
            shifted[i] = y_pred[i] + h;
            let up = loss.compute_weighted(&shifted, y_true, rows, weights);
            shifted[i] = y_pred[i] - h;
            let down = loss.compute_weighted(&shifted, y_true, rows, weights);
            shifted[i] = y_pred[i];
            let numeric = (up - down) / (2.0 * h);
            assert!(
                approx::relative_eq!(analytic, numeric, max_relative = 1e-6, epsilon = 1e-8),
                "{} ({:?}): d weighted loss / d y_pred[{i}] is {analytic}, finite differences \
                 give {numeric}",
                loss.name(),
                loss.reduction(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{REDUCTIONS, assert_weighted_grad_matches_finite_differences, uniform};
    use super::*;
    use approx::assert_relative_eq;

    /// Four samples of three values for every loss: predictions, and targets that suit it.
    struct Samples {
        logits: Vec<f64>,
        probabilities: Vec<f64>,
        binary: Vec<f64>,
        regression: Vec<f64>,
        one_hot: [f64; 12],
        labels: [f64; 4],
    }

    impl Samples {
        fn new() -> Self {
            Samples {
                logits: uniform(1, 12, -2.0, 2.0),
                probabilities: uniform(2, 12, 0.05, 0.95),
                binary: uniform(3, 12, 0.0, 1.0).iter().map(|t| t.round()).collect(),
                regression: uniform(4, 12, -3.0, 3.0),
                one_hot: [0., 1., 0., 1., 0., 0., 0., 0., 1., 0., 1., 0.],
                labels: [1.0, 0.0, 2.0, 1.0],
            }
        }

        /// Calls `check` with every loss, under `reduction`, and predictions and targets
        /// that suit it.
        fn for_each_loss(
            &self,
            reduction: Reduction,
            mut check: impl FnMut(&dyn Loss<f64>, &[f64], &[f64]),
        ) {
            let (logits, regression) = (&self.logits[..], &self.regression[..]);
            check(
                &MeanSquaredError::new().with_reduction(reduction),
                logits,
                regression,
            );
            check(
                &MeanAbsoluteError::new().with_reduction(reduction),
                logits,
                regression,
            );
            check(
                &Huber::new(0.5).with_reduction(reduction),
                logits,
                regression,
            );
            let bce = BinaryCrossentropy::new().with_reduction(reduction);
            check(&bce, &self.probabilities, &self.binary);
            let bce_logits = BinaryCrossentropy::from_logits().with_label_smoothing(0.1);
            check(&bce_logits.with_reduction(reduction), logits, &self.binary);
            let cce = CategoricalCrossentropy::from_logits().with_reduction(reduction);
            check(&cce, logits, &self.one_hot);
            let sparse = SparseCategoricalCrossentropy::from_logits().with_reduction(reduction);
            check(&sparse, logits, &self.labels);
        }
    }

    #[test]
    fn weighted_gradient_matches_finite_differences_of_the_weighted_loss() {
        let samples = Samples::new();
        for reduction in REDUCTIONS {
            samples.for_each_loss(reduction, |loss, y_pred, y_true| {
                assert_weighted_grad_matches_finite_differences(
                    loss,
                    (y_pred, y_true, 4),
                    &[0.5, 2.0, 0.0, 1.25],
                );
            });
        }
    }

    #[test]
    fn unit_weights_give_the_unweighted_sum_and_gradient_bit_for_bit() {
        let samples = Samples::new();
        for reduction in REDUCTIONS {
            samples.for_each_loss(reduction, |loss, y_pred, y_true| {
                let scale = loss.reduction_scale(4);
                let (mut plain, mut weighted) = ([0.0; 12], [0.0; 12]);
                let sum = loss.sum_and_grad(y_pred, y_true, 4, scale, &mut plain);
                let ones = Some(&[1.0; 4][..]);
                let same =
                    loss.weighted_sum_and_grad(y_pred, y_true, 4, scale, ones, &mut weighted);
                assert_eq!(sum.to_bits(), same.to_bits(), "{}", loss.name());
                assert_eq!(
                    plain.map(f64::to_bits),
                    weighted.map(f64::to_bits),
                    "{}",
                    loss.name()
                );
                // Doubling every weight doubles the sum and the gradient exactly.
                let twos = Some(&[2.0; 4][..]);
                let double =
                    loss.weighted_sum_and_grad(y_pred, y_true, 4, scale, twos, &mut weighted);
                assert_eq!(double, 2.0 * sum, "{}", loss.name());
                assert_eq!(plain.map(|g| 2.0 * g), weighted, "{}", loss.name());
            });
        }
    }

    #[test]
    fn weighted_loss_divides_by_the_batch_size_not_the_sum_of_the_weights() {
        // Per-sample losses 1 and 4, weights 3 and 0: Keras gives 3 / 2, not 3 / 3.
        let (y_pred, y_true) = ([1.0, 2.0], [0.0, 0.0]);
        let mean = MeanSquaredError::new();
        assert_eq!(mean.compute_weighted(&y_pred, &y_true, 2, &[3.0, 0.0]), 1.5);
        let sum = mean.with_reduction(Reduction::Sum);
        assert_eq!(sum.compute_weighted(&y_pred, &y_true, 2, &[3.0, 0.0]), 3.0);
        let mut grad = [f64::NAN; 2];
        let scale = Loss::<f64>::reduction_scale(&mean, 2);
        let value =
            mean.weighted_sum_and_grad(&y_pred, &y_true, 2, scale, Some(&[3.0, 0.0]), &mut grad);
        assert_eq!(value * scale, 1.5);
        assert_eq!(grad, [3.0 * 2.0 * 1.0 / 2.0, 0.0]);
        // No weights is the plain sum.
        let plain = mean.weighted_sum_and_grad(&y_pred, &y_true, 2, scale, None, &mut grad);
        assert_eq!(plain, 5.0);
    }

    #[test]
    #[should_panic(expected = "3 sample weights for 2 samples")]
    fn weighted_sum_and_grad_refuses_a_weight_count_other_than_the_rows() {
        let mut grad = [0.0; 2];
        let loss = MeanSquaredError::new();
        loss.weighted_sum_and_grad(&[1.0, 2.0], &[0.0, 0.0], 2, 1.0, Some(&[1.0; 3]), &mut grad);
    }

    #[test]
    fn reduce_gives_keras_reductions() {
        let per_sample = [1.0, 2.0, 6.0];
        let mean = MeanSquaredError::new();
        let sum = MeanSquaredError::new().with_reduction(Reduction::Sum);
        let none = MeanSquaredError::new().with_reduction(Reduction::None);
        assert_relative_eq!(Loss::<f64>::reduce(&mean, &per_sample), 3.0);
        assert_relative_eq!(Loss::<f64>::reduce(&sum, &per_sample), 9.0);
        assert_relative_eq!(Loss::<f64>::reduce(&none, &per_sample), 3.0);
    }

    #[test]
    fn empty_batch_gives_zero_loss() {
        for reduction in REDUCTIONS {
            let loss = SparseCategoricalCrossentropy::from_logits().with_reduction(reduction);
            let mut grad: [f64; 0] = [];
            assert_eq!(loss.value_and_grad(&[], &[], 0, &mut grad), 0.0);
            assert_eq!(loss.compute(&[] as &[f64], &[], 0), 0.0);
            let mse = MeanSquaredError::new().with_reduction(reduction);
            assert_eq!(mse.value_and_grad(&[], &[], 0, &mut grad), 0.0);
        }
    }

    #[test]
    fn sum_and_grad_scales_the_gradient_by_grad_scale() {
        let y_pred = [0.2, -1.0, 3.0, 0.5, 0.5, -2.0];
        let y_true = [2.0, 0.0];
        let loss = SparseCategoricalCrossentropy::from_logits();
        let mut unit = [0.0; 6];
        let mut scaled = [0.0; 6];
        let sum = loss.sum_and_grad(&y_pred, &y_true, 2, 1.0, &mut unit);
        let same = loss.sum_and_grad(&y_pred, &y_true, 2, 0.25, &mut scaled);
        assert_eq!(sum, same);
        for (u, s) in unit.iter().zip(&scaled) {
            assert_relative_eq!(u * 0.25, *s);
        }
    }

    #[test]
    fn losses_are_usable_as_trait_objects() {
        let losses: Vec<Box<dyn Loss<f32>>> = vec![
            Box::new(MeanSquaredError::new()),
            Box::new(MeanAbsoluteError::new()),
            Box::new(Huber::default()),
            Box::new(BinaryCrossentropy::new()),
            Box::new(CategoricalCrossentropy::new()),
            Box::new(SparseCategoricalCrossentropy::new()),
        ];
        let names: Vec<_> = losses.iter().map(|l| l.name()).collect();
        assert_eq!(
            names,
            [
                "mean_squared_error",
                "mean_absolute_error",
                "huber_loss",
                "binary_crossentropy",
                "categorical_crossentropy",
                "sparse_categorical_crossentropy",
            ]
        );
    }
}
