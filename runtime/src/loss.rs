//! Losses: the value a model is trained to lower, and its gradient.
//!
//! STUB: the trait is the contract with the trainer; the losses are being written.

use crate::{Float, Result};

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
}
