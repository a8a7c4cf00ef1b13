//! [`Losses`]: a loss per output of a model of several outputs, weighted, as Keras's
//! `compile(loss={...}, loss_weights={...})`.

use std::sync::Arc;

use super::{Loss, Reduction, bad_targets, target_rows, values, widths};
use crate::metrics::{Metric, OutputLoss, in_output};
use crate::model::{names, row_len};
use crate::{Error, Float, Result, TensorInfo};

/// A loss per output of a model of several outputs, each with its weight, as Keras's
/// `compile(loss={"logits": ..., "embedding": ...}, loss_weights={...})`: the loss is
/// `Σ weight × loss` over the outputs, each output's loss computed on its columns of the
/// packed row.
///
/// The targets are packed as the outputs are: one row per sample holding, in the model's
/// output order, the targets of each output that has a loss, each as wide as its loss
/// needs ([`Loss::target_shape`]: one class index for sparse categorical crossentropy, the
/// output's width otherwise). An output without a loss has no target columns and gets no
/// gradient. [`Dataset::packed`](crate::data::Dataset::packed) builds such rows.
///
/// On a model of several losses, `fit` and `evaluate` also log each output's unweighted
/// loss, named after it (`logits_loss`), as Keras does. Every output's loss keeps Keras's
/// default reduction (the mean over the batch); sample and class weights weigh every
/// output's loss alike.
///
/// Mistakes (an output the model does not have, an output named twice, a loss with
/// another reduction, a weight below 0 or not finite) are reported by
/// [`Loss::check_targets`], which `fit` and `evaluate` call before any step.
///
/// ```
/// use strata_runtime::loss::{Loss, Losses, MeanSquaredError, SparseCategoricalCrossentropy};
/// use strata_runtime::TensorInfo;
///
/// let mut loss = Losses::new()
///     .output("logits", SparseCategoricalCrossentropy::from_logits(), 1.0)
///     .output("embedding", MeanSquaredError::new(), 0.5);
/// // What compiling with a model of outputs `logits: [3]` then `embedding: [2]` does:
/// loss.bind_outputs(&[
///     TensorInfo { name: "logits", shape: &[3], offset: 0, len: 3 },
///     TensorInfo { name: "embedding", shape: &[2], offset: 3, len: 2 },
/// ]);
/// // One sample: a class index, then the embedding's two targets.
/// let y_true: &[f64] = &[0.0, 1.0, 1.0];
/// let y_pred: &[f64] = &[0.0, 0.0, 0.0, 1.0, 3.0];
/// loss.check_targets(y_true, 3, 5)?;
/// let expected = 3f64.ln() + 0.5 * (0.0 + 4.0) / 2.0;
/// assert!((loss.compute(y_pred, y_true, 1) - expected).abs() < 1e-12);
/// # Ok::<(), strata_runtime::Error>(())
/// ```
pub struct Losses<F: Float> {
    /// In the order given.
    entries: Vec<Entry<F>>,
    /// The model's outputs, once bound.
    outputs: Option<Vec<TensorInfo>>,
    /// The entries in the model's output order, with their columns; empty until bound
    /// without a mistake.
    parts: Vec<Part<F>>,
}

/// One output's loss, as given.
struct Entry<F> {
    output: &'static str,
    loss: Arc<dyn Loss<F>>,
    weight: f64,
}

/// One output's loss, at its columns.
struct Part<F> {
    loss: Arc<dyn Loss<F>>,
    weight: F,
    output: TensorInfo,
    target: TensorInfo,
}

impl<F: Float> Default for Losses<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float> Losses<F> {
    /// No loss yet: add one per output with [`Losses::output`].
    pub fn new() -> Self {
        Losses {
            entries: Vec::new(),
            outputs: None,
            parts: Vec::new(),
        }
    }

    /// Adds `loss` on the output named `output` in the model's signature (`output` for a
    /// model whose signature names none), counted `weight` times in the total, as Keras's
    /// `loss_weights`.
    pub fn output(
        mut self,
        output: &'static str,
        loss: impl Loss<F> + 'static,
        weight: f64,
    ) -> Self {
        self.entries.push(Entry {
            output,
            loss: Arc::new(loss),
            weight,
        });
        self
    }

    /// The entries at their columns in the model's output order, or the first mistake.
    fn layout(&self) -> Result<Vec<Part<F>>> {
        let Some(outputs) = &self.outputs else {
            return Err(Error::invalid(
                "loss",
                "Losses is bound to no model's outputs: compile a model with it (or call \
                 bind_outputs with the model's OUTPUTS) before using it",
            ));
        };
        if self.entries.is_empty() {
            return Err(Error::invalid(
                "loss",
                format!(
                    "Losses::new() gives no output a loss; add one per output with \
                     .output(\"{}\", loss, 1.0)",
                    outputs.first().map_or("output", |o| o.name)
                ),
            ));
        }
        for (i, entry) in self.entries.iter().enumerate() {
            check_entry(entry, &self.entries[..i], outputs)?;
        }
        let mut offset = 0;
        let mut parts = Vec::with_capacity(self.entries.len());
        for output in outputs {
            let Some(entry) = self.entries.iter().find(|e| e.output == output.name) else {
                continue;
            };
            let shape = entry.loss.target_shape(output.shape);
            let len = shape.iter().product();
            let target = TensorInfo {
                name: output.name,
                shape,
                offset,
                len,
            };
            offset += len;
            parts.push(Part {
                loss: Arc::clone(&entry.loss),
                weight: F::of(entry.weight),
                output: *output,
                target,
            });
        }
        Ok(parts)
    }

    /// The widths of `rows` rows of predictions and targets. Panics, naming the fix, if
    /// they are not the bound layout's (`check_targets` rules this out before training).
    fn widths(&self, y_pred_len: usize, y_true_len: usize, rows: usize) -> (usize, usize) {
        let (output_width, target_width) = widths("losses", y_pred_len, y_true_len, rows);
        let outputs = self.outputs.as_deref().unwrap_or_default();
        let expected_targets = self
            .parts
            .last()
            .map_or(0, |p| p.target.offset + p.target.len);
        assert!(
            !self.parts.is_empty()
                && output_width == row_len(outputs)
                && target_width == expected_targets,
            "losses: rows of {output_width} predictions and {target_width} targets do not fit \
             the bound outputs; call check_targets before training"
        );
        (output_width, target_width)
    }
}

/// Checks one entry against those before it and the model's outputs.
fn check_entry<F: Float>(
    entry: &Entry<F>,
    before: &[Entry<F>],
    outputs: &[TensorInfo],
) -> Result<()> {
    let name = entry.output;
    if !outputs.iter().any(|o| o.name == name) {
        return Err(Error::invalid(
            "loss",
            format!(
                "Losses gives a loss to output \"{name}\", but the model has no output of that \
                 name; its outputs are {}",
                names(outputs)
            ),
        ));
    }
    if before.iter().any(|e| e.output == name) {
        return Err(Error::invalid(
            "loss",
            format!("Losses gives output \"{name}\" two losses; give each output one"),
        ));
    }
    let reduction = entry.loss.reduction();
    if reduction != Reduction::SumOverBatchSize {
        return Err(Error::invalid(
            "loss",
            format!(
                "the loss of output \"{name}\" ({}) has reduction {reduction:?}, but Losses \
                 reduces every output's loss as Keras does, by the mean over the batch; drop \
                 its with_reduction(..)",
                entry.loss.name()
            ),
        ));
    }
    let weight = entry.weight;
    if !(weight.is_finite() && weight >= 0.0 && F::of(weight).is_finite()) {
        return Err(Error::invalid(
            "loss_weights",
            format!(
                "the weight {weight} of output \"{name}\" is not a finite number >= 0 in {}; \
                 give 1.0 to count its loss as is, or 0 to leave it out of training",
                F::DTYPE
            ),
        ));
    }
    Ok(())
}

impl<F: Float> Loss<F> for Losses<F> {
    fn reads_outputs_apart(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "losses"
    }

    fn reduction(&self) -> Reduction {
        Reduction::SumOverBatchSize
    }

    fn check_targets(&self, y_true: &[F], target_width: usize, output_width: usize) -> Result<()> {
        let parts = self.layout()?;
        let outputs = self.outputs.as_deref().unwrap_or_default();
        if output_width != row_len(outputs) {
            return Err(bad_targets(
                "losses",
                format!(
                    "the model gives {} per sample, but the outputs Losses was bound to ({}) \
                     hold {}; compile it with the model it is for",
                    values(output_width),
                    names(outputs),
                    values(row_len(outputs))
                ),
            ));
        }
        let needed: usize = parts.iter().map(|p| p.target.len).sum();
        if target_width != needed {
            let each: Vec<String> = parts
                .iter()
                .map(|p| format!("{} for {}", p.target.len, p.output.name))
                .collect();
            return Err(bad_targets(
                "losses",
                format!(
                    "the targets have {} per sample, but the losses read {needed}: {}, in the \
                     model's output order; pack the targets of each output with a loss, in \
                     that order, with Dataset::packed",
                    values(target_width),
                    each.join(", ")
                ),
            ));
        }
        let rows = target_rows("losses", y_true, target_width)?;
        let widest = parts.iter().map(|p| p.target.len).max().unwrap_or(0);
        let mut columns = Vec::with_capacity(rows * widest);
        for part in &parts {
            columns.clear();
            let rows = y_true.chunks_exact(target_width);
            columns.extend(rows.flat_map(|row| part.target.slice(row)));
            part.loss
                .check_targets(&columns, part.target.len, part.output.len)
                .map_err(|error| in_output(part.output.name, error))?;
        }
        Ok(())
    }

    fn per_sample(&self, y_pred: &[F], y_true: &[F], rows: usize, out: &mut [F]) {
        if rows == 0 {
            return;
        }
        let (output_width, target_width) = self.widths(y_pred.len(), y_true.len(), rows);
        let out = &mut out[..rows];
        out.fill(F::zero());
        let mut value = [F::zero()];
        for part in &self.parts {
            let rows_iter = y_pred
                .chunks_exact(output_width)
                .zip(y_true.chunks_exact(target_width));
            for ((p, t), out) in rows_iter.zip(out.iter_mut()) {
                let (p, t) = (part.output.slice(p), part.target.slice(t));
                part.loss.per_sample(p, t, 1, &mut value);
                *out += part.weight * value[0];
            }
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
        if rows == 0 {
            return F::zero();
        }
        let (output_width, target_width) = self.widths(y_pred.len(), y_true.len(), rows);
        assert_eq!(
            grad.len(),
            y_pred.len(),
            "losses: grad must have the shape of y_pred"
        );
        let covered: usize = self.parts.iter().map(|p| p.output.len).sum();
        if covered < output_width {
            // The outputs without a loss get no gradient.
            grad.fill(F::zero());
        }
        let mut total = F::zero();
        for part in &self.parts {
            let scale = grad_scale * part.weight;
            let rows_iter = y_pred
                .chunks_exact(output_width)
                .zip(y_true.chunks_exact(target_width))
                .zip(grad.chunks_exact_mut(output_width));
            let mut sum = F::zero();
            for ((p, t), g) in rows_iter {
                let (p, t, g) = (
                    part.output.slice(p),
                    part.target.slice(t),
                    part.output.slice_mut(g),
                );
                sum += part.loss.sum_and_grad(p, t, 1, scale, g);
            }
            total += part.weight * sum;
        }
        total
    }

    fn bind_outputs(&mut self, outputs: &[TensorInfo]) {
        self.outputs = Some(outputs.to_vec());
        self.parts = self.layout().unwrap_or_default();
    }

    fn target_layout(&self, _outputs: &[TensorInfo]) -> Vec<TensorInfo> {
        self.parts.iter().map(|p| p.target).collect()
    }

    fn metrics(&self) -> Vec<Box<dyn Metric<F>>> {
        if self.parts.len() < 2 {
            return Vec::new();
        }
        self.parts
            .iter()
            .map(|p| {
                let loss = OutputLoss::new(p.output, p.target, Arc::clone(&p.loss));
                Box::new(loss) as Box<dyn Metric<F>>
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{
        assert_grad_matches_finite_differences, assert_weighted_grad_matches_finite_differences,
        uniform,
    };
    use super::super::{MeanSquaredError, SparseCategoricalCrossentropy};
    use super::*;
    use approx::assert_relative_eq;

    /// A model's outputs: `logits: [3]`, then `unused: [2]` (which has no loss), then
    /// `embedding: [2, 2]`.
    const OUTPUTS: [TensorInfo; 3] = [
        TensorInfo {
            name: "logits",
            shape: &[3],
            offset: 0,
            len: 3,
        },
        TensorInfo {
            name: "unused",
            shape: &[2],
            offset: 3,
            len: 2,
        },
        TensorInfo {
            name: "embedding",
            shape: &[2, 2],
            offset: 5,
            len: 4,
        },
    ];
    const ROWS: usize = 4;
    const WEIGHTS: [f64; ROWS] = [0.5, 2.0, 0.0, 1.25];

    /// Given in another order than the model's, so that the layout follows the model.
    fn losses() -> Losses<f64> {
        let mut losses = Losses::new()
            .output("embedding", MeanSquaredError::new(), 0.5)
            .output("logits", SparseCategoricalCrossentropy::from_logits(), 1.0);
        losses.bind_outputs(&OUTPUTS);
        losses
    }

    /// Packed predictions and targets of `ROWS` samples, and the same split by output:
    /// `(y_pred, y_true, [(logits, labels), (embedding, embedding targets)])`.
    #[allow(clippy::type_complexity)]
    fn samples() -> (Vec<f64>, Vec<f64>, [(Vec<f64>, Vec<f64>); 2]) {
        let y_pred = uniform(1, ROWS * 9, -2.0, 2.0);
        let embedding_targets = uniform(2, ROWS * 4, -1.0, 1.0);
        let labels = [2.0, 0.0, 1.0, 2.0];
        let mut y_true = Vec::new();
        for (label, targets) in labels.iter().zip(embedding_targets.chunks(4)) {
            y_true.push(*label);
            y_true.extend_from_slice(targets);
        }
        let columns = |range: std::ops::Range<usize>| -> Vec<f64> {
            y_pred
                .chunks(9)
                .flat_map(|row| &row[range.clone()])
                .copied()
                .collect()
        };
        let split = [
            (columns(0..3), labels.to_vec()),
            (columns(5..9), embedding_targets),
        ];
        (y_pred, y_true, split)
    }

    /// Asserts that `grad` is `logits` in the logits' columns, 0 in the unused ones and
    /// `embedding` in the embedding's.
    fn assert_packed_grad(grad: &[f64], logits: &[f64], embedding: &[f64]) {
        let rows = grad
            .chunks(9)
            .zip(logits.chunks(3))
            .zip(embedding.chunks(4));
        for ((row, logits), embedding) in rows {
            for (got, expected) in row[..3].iter().zip(logits) {
                assert_relative_eq!(got, expected, max_relative = 1e-12, epsilon = 1e-15);
            }
            assert_eq!(
                &row[3..5],
                &[0.0, 0.0],
                "an output without a loss has no gradient"
            );
            for (got, expected) in row[5..].iter().zip(embedding) {
                assert_relative_eq!(got, expected, max_relative = 1e-12, epsilon = 1e-15);
            }
        }
    }

    #[test]
    fn losses_are_the_weighted_sum_of_each_outputs_loss_on_its_columns() {
        let (y_pred, y_true, [(logits, labels), (embedding, targets)]) = samples();
        let losses = losses();
        losses.check_targets(&y_true, 5, 9).unwrap();
        let sparse = SparseCategoricalCrossentropy::from_logits();
        let mse = MeanSquaredError::new();

        let (mut logits_grad, mut embedding_grad) = (vec![0.0; 12], vec![0.0; 16]);
        let logits_loss = sparse.value_and_grad(&logits, &labels, ROWS, &mut logits_grad);
        let embedding_loss = mse.value_and_grad(&embedding, &targets, ROWS, &mut embedding_grad);
        let mut grad = vec![f64::NAN; y_pred.len()];
        let value = losses.value_and_grad(&y_pred, &y_true, ROWS, &mut grad);
        assert_relative_eq!(
            value,
            logits_loss + 0.5 * embedding_loss,
            max_relative = 1e-12
        );
        assert_relative_eq!(
            losses.compute(&y_pred, &y_true, ROWS),
            value,
            max_relative = 1e-12
        );
        let half: Vec<f64> = embedding_grad.iter().map(|g| 0.5 * g).collect();
        assert_packed_grad(&grad, &logits_grad, &half);

        // Per sample, too.
        let mut per_sample = [f64::NAN; ROWS];
        losses.per_sample(&y_pred, &y_true, ROWS, &mut per_sample);
        let (mut logits_each, mut embedding_each) = ([0.0; ROWS], [0.0; ROWS]);
        sparse.per_sample(&logits, &labels, ROWS, &mut logits_each);
        mse.per_sample(&embedding, &targets, ROWS, &mut embedding_each);
        for i in 0..ROWS {
            let expected = logits_each[i] + 0.5 * embedding_each[i];
            assert_relative_eq!(per_sample[i], expected, max_relative = 1e-12);
        }
        assert_grad_matches_finite_differences(&losses, &y_pred, &y_true, ROWS);
    }

    #[test]
    fn sample_weights_weigh_every_outputs_loss_alike() {
        let (y_pred, y_true, [(logits, labels), (embedding, targets)]) = samples();
        let losses = losses();
        let sparse = SparseCategoricalCrossentropy::from_logits();
        let mse = MeanSquaredError::new();
        let expected = sparse.compute_weighted(&logits, &labels, ROWS, &WEIGHTS)
            + 0.5 * mse.compute_weighted(&embedding, &targets, ROWS, &WEIGHTS);
        let weighted = losses.compute_weighted(&y_pred, &y_true, ROWS, &WEIGHTS);
        assert_relative_eq!(weighted, expected, max_relative = 1e-12);

        // The trainer's path: the weighted sum and its gradient, scaled by 1 / rows.
        let scale = 1.0 / ROWS as f64;
        let mut grad = vec![f64::NAN; y_pred.len()];
        let sum =
            losses.weighted_sum_and_grad(&y_pred, &y_true, ROWS, scale, Some(&WEIGHTS), &mut grad);
        assert_relative_eq!(sum * scale, expected, max_relative = 1e-12);
        let (mut logits_grad, mut embedding_grad) = (vec![0.0; 12], vec![0.0; 16]);
        let weights = Some(&WEIGHTS[..]);
        sparse.weighted_sum_and_grad(&logits, &labels, ROWS, scale, weights, &mut logits_grad);
        mse.weighted_sum_and_grad(
            &embedding,
            &targets,
            ROWS,
            scale,
            weights,
            &mut embedding_grad,
        );
        let half: Vec<f64> = embedding_grad.iter().map(|g| 0.5 * g).collect();
        assert_packed_grad(&grad, &logits_grad, &half);
        assert_weighted_grad_matches_finite_differences(
            &losses,
            (&y_pred, &y_true, ROWS),
            &WEIGHTS,
        );
    }

    #[test]
    fn one_loss_on_a_models_single_output_is_that_loss_bit_for_bit() {
        let output = TensorInfo {
            name: "output",
            shape: &[3],
            offset: 0,
            len: 3,
        };
        let sparse = SparseCategoricalCrossentropy::from_logits();
        let mut losses = Losses::new().output("output", sparse, 1.0);
        losses.bind_outputs(&[output]);
        let y_pred = uniform(3, ROWS * 3, -2.0, 2.0);
        let y_true = [2.0, 0.0, 1.0, 1.0];
        losses.check_targets(&y_true, 1, 3).unwrap();
        for weights in [None, Some(&WEIGHTS[..])] {
            let (mut plain, mut packed) = (vec![0.0; 12], vec![0.0; 12]);
            let scale = 0.25;
            let expected =
                sparse.weighted_sum_and_grad(&y_pred, &y_true, ROWS, scale, weights, &mut plain);
            let got =
                losses.weighted_sum_and_grad(&y_pred, &y_true, ROWS, scale, weights, &mut packed);
            assert_eq!(got.to_bits(), expected.to_bits());
            assert_eq!(packed, plain);
        }
        assert_eq!(
            losses.target_layout(&[output]),
            Loss::<f64>::target_layout(&sparse, &[output])
        );
        assert!(losses.metrics().is_empty(), "one loss logs no output loss");
    }

    #[test]
    fn the_target_layout_holds_each_output_with_a_loss_as_wide_as_its_loss_reads() {
        let layout = losses().target_layout(&OUTPUTS);
        let summary: Vec<_> = layout
            .iter()
            .map(|t| (t.name, t.shape, t.offset, t.len))
            .collect();
        assert_eq!(
            summary,
            [("logits", &[][..], 0, 1), ("embedding", &[2, 2][..], 1, 4)]
        );
    }

    #[test]
    fn each_outputs_unweighted_loss_is_logged_as_keras_names_it() {
        let (y_pred, y_true, [(logits, labels), (embedding, targets)]) = samples();
        let mut metrics = losses().metrics();
        let names: Vec<String> = metrics.iter().map(|m| m.name()).collect();
        assert_eq!(names, ["logits_loss", "embedding_loss"]);
        // Two batches, weighted: Σ weight × loss / samples, as the loss itself.
        for metric in &mut metrics {
            metric.check(5, 9).unwrap();
            metric.update_state(&y_true[..10], &y_pred[..18], 2, Some(&WEIGHTS[..2]));
            metric.update_state(&y_true[10..], &y_pred[18..], 2, Some(&WEIGHTS[2..]));
        }
        let sparse = SparseCategoricalCrossentropy::from_logits();
        let expected = sparse.compute_weighted(&logits, &labels, ROWS, &WEIGHTS);
        assert_relative_eq!(metrics[0].result(), expected, max_relative = 1e-12);
        let mse = MeanSquaredError::new();
        let expected = mse.compute_weighted(&embedding, &targets, ROWS, &WEIGHTS);
        assert_relative_eq!(metrics[1].result(), expected, max_relative = 1e-12);
        metrics[0].reset_state();
        assert_eq!(metrics[0].result(), 0.0);
    }

    /// The message of the error `losses` reports for targets of `target_width` and
    /// outputs of 9 values.
    fn refusal(losses: Losses<f64>, target_width: usize) -> String {
        let mut losses = losses;
        losses.bind_outputs(&OUTPUTS);
        let y_true = vec![1.0; 2 * target_width];
        let error = losses.check_targets(&y_true, target_width, 9).unwrap_err();
        error.to_string()
    }

    #[test]
    fn mistakes_are_errors_that_name_the_fix() {
        let sparse = SparseCategoricalCrossentropy::from_logits;
        let mse = MeanSquaredError::new;
        let cases: Vec<(Losses<f64>, &str)> = vec![
            (Losses::new(), "gives no output a loss"),
            (
                Losses::new().output("logit", sparse(), 1.0),
                "no output of that name; its outputs are logits, unused, embedding",
            ),
            (
                Losses::new()
                    .output("logits", sparse(), 1.0)
                    .output("logits", sparse(), 0.5),
                "gives output \"logits\" two losses",
            ),
            (
                Losses::new().output("embedding", mse().with_reduction(Reduction::Sum), 1.0),
                "has reduction Sum",
            ),
            (
                Losses::new().output("embedding", mse(), -0.5),
                "the weight -0.5 of output \"embedding\" is not a finite number >= 0",
            ),
            (Losses::new().output("embedding", mse(), f64::NAN), "NaN"),
            (
                Losses::new().output("embedding", mse(), f64::INFINITY),
                "inf",
            ),
        ];
        for (losses, expected) in cases {
            let message = refusal(losses, 4);
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn a_weight_that_overflows_the_float_type_is_refused() {
        let mut losses = Losses::<f32>::new().output("embedding", MeanSquaredError::new(), 1e39);
        losses.bind_outputs(&OUTPUTS);
        let error = losses
            .check_targets(&[0.0; 8], 4, 9)
            .unwrap_err()
            .to_string();
        assert!(error.contains("in F32"), "{error}");
    }

    #[test]
    fn targets_that_do_not_fit_the_layout_are_errors_that_say_what_it_reads() {
        let both = Losses::new()
            .output("logits", SparseCategoricalCrossentropy::from_logits(), 1.0)
            .output("embedding", MeanSquaredError::new(), 1.0);
        let message = refusal(both, 7);
        assert!(
            message.contains("the targets have 7 values per sample, but the losses read 5: 1 for logits, 4 for embedding"),
            "{message}"
        );
        // A label out of range is reported for its output.
        let mut losses = losses();
        let error = losses
            .check_targets(&[3.0, 0.0, 0.0, 0.0, 0.0], 5, 9)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("logits: label 3 of sample 0"), "{error}");
        // Outputs of another model.
        let error = losses
            .check_targets(&[0.0; 5], 5, 10)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("the model gives 10 values per sample"),
            "{error}"
        );
        // Not bound at all.
        losses = Losses::new().output("logits", SparseCategoricalCrossentropy::new(), 1.0);
        let error = losses.check_targets(&[0.0], 1, 3).unwrap_err().to_string();
        assert!(error.contains("bound to no model's outputs"), "{error}");
    }

    #[test]
    #[should_panic(expected = "call check_targets before training")]
    fn computing_an_unbound_loss_panics_naming_the_fix() {
        let losses = Losses::new().output("logits", MeanSquaredError::new(), 1.0);
        losses.compute(&[0.0; 3], &[0.0; 3], 1);
    }
}
