//! Metrics on one output of a model of several: [`OutputMetric`], and the per-output
//! losses that [`Losses`](crate::loss::Losses) logs.

use std::sync::Arc;

use super::{Mean, Metric, sample_weights, widths};
use crate::loss::{Loss, bad_targets, values};
use crate::model::{names, row_len};
use crate::{Error, Float, Result, TensorInfo};

/// A metric on one output of a model of several outputs, as one given to Keras's
/// `compile(metrics={"logits": [...]})`: it reads that output's columns of the packed
/// output row and its targets' columns of the packed target row. It is logged as Keras 3
/// names it: `logits_accuracy`, or, on a model of one output, as the metric itself
/// (`accuracy`).
///
/// The trainer tells it where the columns are ([`Metric::bind_outputs`]); the targets are
/// where the loss reads them, so an output that [`Losses`](crate::loss::Losses) gives no
/// loss has none to compare with (give it a loss of weight 0 to measure it without
/// training on it).
///
/// ```
/// use strata_runtime::metrics::{Accuracy, Metric, OutputMetric};
/// use strata_runtime::TensorInfo;
///
/// // Outputs logits: [3] then embedding: [2]; targets a class index for logits, then
/// // two values for embedding.
/// let outputs = [
///     TensorInfo { name: "logits", shape: &[3], offset: 0, len: 3 },
///     TensorInfo { name: "embedding", shape: &[2], offset: 3, len: 2 },
/// ];
/// let targets = [
///     TensorInfo { name: "logits", shape: &[], offset: 0, len: 1 },
///     TensorInfo { name: "embedding", shape: &[2], offset: 1, len: 2 },
/// ];
/// let mut accuracy = OutputMetric::new("logits", Accuracy::new());
/// accuracy.bind_outputs(&outputs, &targets);
/// Metric::<f32>::check(&accuracy, 3, 5)?;
/// assert_eq!(Metric::<f32>::name(&accuracy), "logits_accuracy");
///
/// let y_true: &[f32] = &[2.0, 0.5, 0.5, /* next sample */ 0.0, 0.1, 0.1];
/// let y_pred: &[f32] = &[0.1, 0.2, 0.7, 9.0, 9.0, /* next sample */ 0.1, 0.8, 0.1, 9.0, 9.0];
/// accuracy.update_state(y_true, y_pred, 2, None);
/// assert_eq!(Metric::<f32>::result(&accuracy), 0.5);
/// # Ok::<(), strata_runtime::Error>(())
/// ```
pub struct OutputMetric<F: Float> {
    output: &'static str,
    metric: Box<dyn Metric<F>>,
    /// What [`Metric::bind_outputs`] was told: the outputs and the targets.
    layout: Option<(Vec<TensorInfo>, Vec<TensorInfo>)>,
    /// The current batch's targets and outputs of this output.
    columns: (Vec<F>, Vec<F>),
}

impl<F: Float> OutputMetric<F> {
    /// `metric` on the output named `output` in the model's signature (`output` for a
    /// model whose signature names none).
    pub fn new(output: &'static str, metric: impl Metric<F> + 'static) -> Self {
        OutputMetric {
            output,
            metric: Box::new(metric),
            layout: None,
            columns: (Vec::new(), Vec::new()),
        }
    }

    /// The output's columns and its targets' columns, or what is wrong.
    fn columns(&self) -> Result<(TensorInfo, TensorInfo)> {
        let Some((outputs, targets)) = &self.layout else {
            return Err(Error::invalid(
                "metrics",
                format!(
                    "OutputMetric::new(\"{}\", ..) is bound to no model's outputs: compile a \
                     model with it (or call bind_outputs) before using it",
                    self.output
                ),
            ));
        };
        let find = |parts: &[TensorInfo]| parts.iter().find(|p| p.name == self.output).copied();
        let Some(output) = find(outputs) else {
            return Err(Error::invalid(
                "metrics",
                format!(
                    "OutputMetric::new(\"{}\", ..): the model has no output named \"{}\"; its \
                     outputs are {}",
                    self.output,
                    self.output,
                    names(outputs)
                ),
            ));
        };
        let Some(target) = find(targets) else {
            return Err(bad_targets(
                self.output,
                format!(
                    "{} has no targets to compare with, since the loss gives this output \
                     none; give it a loss in Losses (with weight 0 to measure it without \
                     training on it)",
                    self.metric.name()
                ),
            ));
        };
        Ok((output, target))
    }
}

impl<F: Float> Metric<F> for OutputMetric<F> {
    fn reads_outputs_apart(&self) -> bool {
        true
    }

    fn name(&self) -> String {
        match &self.layout {
            Some((outputs, _)) if outputs.len() == 1 => self.metric.name(),
            _ => format!("{}_{}", self.output, self.metric.name()),
        }
    }

    fn check(&self, target_width: usize, output_width: usize) -> Result<()> {
        let (output, target) = self.columns()?;
        let (outputs, targets) = self.layout.as_ref().expect("columns found a layout");
        let (expected_targets, expected_outputs) = (row_len(targets), row_len(outputs));
        if (target_width, output_width) != (expected_targets, expected_outputs) {
            return Err(bad_targets(
                self.output,
                format!(
                    "{}: the rows have {} of targets and {} of outputs per sample, but the \
                     layout this metric was bound to packs {} and {}; compile it with the \
                     model and loss it is for",
                    self.metric.name(),
                    values(target_width),
                    values(output_width),
                    expected_targets,
                    expected_outputs
                ),
            ));
        }
        self.metric
            .check(target.len, output.len)
            .map_err(|error| in_output(self.output, error))
    }

    fn update_state(
        &mut self,
        y_true: &[F],
        y_pred: &[F],
        rows: usize,
        sample_weight: Option<&[F]>,
    ) {
        if rows == 0 {
            return;
        }
        let (output, target) = self
            .columns()
            .unwrap_or_else(|error| panic!("{error}; call check before training"));
        let (target_width, output_width) = widths(self.output, y_true.len(), y_pred.len(), rows);
        // The metric sees the batch's columns as a batch of its own, gathered into buffers
        // that allocate only when they grow.
        let (targets, outputs) = &mut self.columns;
        gather(targets, y_true, target_width, target);
        gather(outputs, y_pred, output_width, output);
        self.metric
            .update_state(targets, outputs, rows, sample_weight);
    }

    fn result(&self) -> f64 {
        self.metric.result()
    }

    fn reset_state(&mut self) {
        self.metric.reset_state();
    }

    fn bind_outputs(&mut self, outputs: &[TensorInfo], targets: &[TensorInfo]) {
        self.layout = Some((outputs.to_vec(), targets.to_vec()));
    }
}

/// Replaces `into` with `part`'s values of each row of `width` values of `rows`.
fn gather<F: Float>(into: &mut Vec<F>, rows: &[F], width: usize, part: TensorInfo) {
    into.clear();
    into.extend(rows.chunks_exact(width).flat_map(|row| part.slice(row)));
}

/// `error`, from the loss or metric of the output `name`, saying so.
pub(crate) fn in_output(name: &'static str, error: Error) -> Error {
    bad_targets(name, error.to_string())
}

/// The unweighted loss of one output of [`Losses`](crate::loss::Losses), logged as
/// `logits_loss` as Keras does: `Σ weight × loss / samples` over the samples since the
/// last reset, as `loss` itself is averaged.
pub(crate) struct OutputLoss<F> {
    name: String,
    output: TensorInfo,
    target: TensorInfo,
    loss: Arc<dyn Loss<F>>,
    mean: Mean,
}

impl<F: Float> OutputLoss<F> {
    /// The loss `loss` of `output`, whose targets are `target`.
    pub(crate) fn new(output: TensorInfo, target: TensorInfo, loss: Arc<dyn Loss<F>>) -> Self {
        OutputLoss {
            name: format!("{}_loss", output.name),
            output,
            target,
            loss,
            mean: Mean::new(),
        }
    }
}

impl<F: Float> Metric<F> for OutputLoss<F> {
    fn reads_outputs_apart(&self) -> bool {
        true
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    /// The loss checks the targets.
    fn check(&self, _target_width: usize, _output_width: usize) -> Result<()> {
        Ok(())
    }

    fn update_state(
        &mut self,
        y_true: &[F],
        y_pred: &[F],
        rows: usize,
        sample_weight: Option<&[F]>,
    ) {
        if rows == 0 {
            return;
        }
        let (target_width, output_width) = widths(&self.name, y_true.len(), y_pred.len(), rows);
        let rows_iter = y_true
            .chunks_exact(target_width)
            .zip(y_pred.chunks_exact(output_width));
        let weights = sample_weights(&self.name, sample_weight, rows);
        for ((t, p), weight) in rows_iter.zip(weights) {
            let mut value = [F::zero()];
            let (p, t) = (self.output.slice(p), self.target.slice(t));
            self.loss.per_sample(p, t, 1, &mut value);
            // Divided by the samples, not by the sum of their weights, as the loss is.
            self.mean.update_state(weight * value[0].as_f64(), 1.0);
        }
    }

    fn result(&self) -> f64 {
        self.mean.result()
    }

    fn reset_state(&mut self) {
        self.mean.reset_state();
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AUC, Accuracy, MeanSquaredError};
    use super::*;

    /// Outputs `logits: [3]`, `unused: [1]` (no loss), `embedding: [2]`.
    const OUTPUTS: [TensorInfo; 3] = [
        TensorInfo {
            name: "logits",
            shape: &[3],
            offset: 0,
            len: 3,
        },
        TensorInfo {
            name: "unused",
            shape: &[1],
            offset: 3,
            len: 1,
        },
        TensorInfo {
            name: "embedding",
            shape: &[2],
            offset: 4,
            len: 2,
        },
    ];
    /// A class index for `logits`, then two values for `embedding`.
    const TARGETS: [TensorInfo; 2] = [
        TensorInfo {
            name: "logits",
            shape: &[],
            offset: 0,
            len: 1,
        },
        TensorInfo {
            name: "embedding",
            shape: &[2],
            offset: 1,
            len: 2,
        },
    ];
    const ROWS: usize = 5;
    const WEIGHTS: [f64; ROWS] = [1.0, 0.5, 0.0, 2.0, 1.0];

    fn bound(output: &'static str, metric: impl Metric<f64> + 'static) -> OutputMetric<f64> {
        let mut metric = OutputMetric::new(output, metric);
        metric.bind_outputs(&OUTPUTS, &TARGETS);
        metric
    }

    /// Packed `(y_true, y_pred)` of `ROWS` samples.
    fn rows() -> (Vec<f64>, Vec<f64>) {
        let y_true = vec![
            2.0, 0.5, 0.5, //
            0.0, 0.1, 0.9, //
            1.0, -1.0, 0.0, //
            1.0, 0.3, 0.3, //
            0.0, 0.0, 1.0,
        ];
        let y_pred = vec![
            0.1, 0.2, 0.7, 9.0, 0.4, 0.6, //
            0.8, 0.1, 0.1, 9.0, 0.1, 0.2, //
            0.3, 0.3, 0.4, 9.0, -1.0, 0.5, //
            0.2, 0.7, 0.1, 9.0, 0.0, 0.0, //
            0.1, 0.5, 0.4, 9.0, 0.5, 0.5,
        ];
        (y_true, y_pred)
    }

    /// The columns `range` of rows of `width` values.
    fn columns(rows: &[f64], width: usize, range: std::ops::Range<usize>) -> Vec<f64> {
        rows.chunks(width)
            .flat_map(|row| &row[range.clone()])
            .copied()
            .collect()
    }

    /// Asserts that `packed`, on the packed rows, gives what `inner` gives on the columns
    /// of output `index` (and of its targets), with and without weights.
    fn assert_same_as_on_the_columns(
        name: &'static str,
        index: (usize, usize),
        make: impl Fn() -> Box<dyn Metric<f64>>,
    ) {
        let (y_true, y_pred) = rows();
        let (output, target) = (OUTPUTS[index.0], TARGETS[index.1]);
        let t = columns(&y_true, 3, target.offset..target.offset + target.len);
        let p = columns(&y_pred, 6, output.offset..output.offset + output.len);
        for weights in [None, Some(&WEIGHTS[..])] {
            let mut packed = OutputMetric::new(name, BoxedMetric(make()));
            packed.bind_outputs(&OUTPUTS, &TARGETS);
            packed.check(3, 6).unwrap();
            let mut inner = make();
            // In two batches, as fit gives them.
            packed.update_state(&y_true[..6], &y_pred[..12], 2, weights.map(|w| &w[..2]));
            packed.update_state(&y_true[6..], &y_pred[12..], 3, weights.map(|w| &w[2..]));
            inner.update_state(&t, &p, ROWS, weights);
            assert_eq!(packed.result(), inner.result(), "{}", packed.name());
            packed.reset_state();
            assert_eq!(packed.result(), 0.0);
        }
    }

    /// A boxed metric as a metric, to build the same metric twice in the tests.
    struct BoxedMetric(Box<dyn Metric<f64>>);

    impl Metric<f64> for BoxedMetric {
        fn name(&self) -> String {
            self.0.name()
        }
        fn check(&self, target_width: usize, output_width: usize) -> Result<()> {
            self.0.check(target_width, output_width)
        }
        fn update_state(&mut self, t: &[f64], p: &[f64], rows: usize, w: Option<&[f64]>) {
            self.0.update_state(t, p, rows, w);
        }
        fn result(&self) -> f64 {
            self.0.result()
        }
        fn reset_state(&mut self) {
            self.0.reset_state();
        }
    }

    #[test]
    fn an_output_metric_is_its_metric_on_the_outputs_columns() {
        assert_same_as_on_the_columns("logits", (0, 0), || Box::new(Accuracy::new()));
        assert_same_as_on_the_columns("embedding", (2, 1), || Box::new(MeanSquaredError));
        assert_same_as_on_the_columns("embedding", (2, 1), || Box::new(AUC::new()));
    }

    #[test]
    fn it_is_named_after_its_output_on_a_model_of_several_as_keras_3() {
        assert_eq!(bound("logits", Accuracy::new()).name(), "logits_accuracy");
        assert_eq!(
            OutputMetric::<f64>::new("logits", Accuracy::new()).name(),
            "logits_accuracy"
        );
        let mut single = OutputMetric::<f64>::new("output", Accuracy::new());
        let output = TensorInfo {
            name: "output",
            shape: &[3],
            offset: 0,
            len: 3,
        };
        let target = TensorInfo {
            shape: &[],
            len: 1,
            ..output
        };
        single.bind_outputs(&[output], &[target]);
        assert_eq!(single.name(), "accuracy");
        single.check(1, 3).unwrap();
    }

    #[test]
    fn mistakes_are_errors_that_name_the_fix() {
        let error = |metric: &OutputMetric<f64>, widths: (usize, usize)| {
            metric.check(widths.0, widths.1).unwrap_err().to_string()
        };
        let unbound = OutputMetric::new("logits", Accuracy::new());
        let message = error(&unbound, (3, 6));
        assert!(message.contains("bound to no model's outputs"), "{message}");
        let message = error(&bound("logit", Accuracy::new()), (3, 6));
        assert!(
            message
                .contains("no output named \"logit\"; its outputs are logits, unused, embedding"),
            "{message}"
        );
        let message = error(&bound("unused", Accuracy::new()), (3, 6));
        assert!(
            message.contains("unused: accuracy has no targets to compare with"),
            "{message}"
        );
        let message = error(&bound("logits", Accuracy::new()), (4, 6));
        assert!(message.contains("packs 3 and 6"), "{message}");
        // The metric's own refusal, for its output: one label against three scores.
        let message = error(
            &bound("logits", super::super::BinaryAccuracy::new()),
            (3, 6),
        );
        assert!(
            message.starts_with("logits: binary_accuracy: "),
            "{message}"
        );
    }
}
