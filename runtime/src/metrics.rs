//! Metrics: objects with Keras's `update_state`, `result` and `reset_state`.
//!
//! STUB: the trait is the contract with the trainer; the metrics are being written.

use crate::{Float, Result};

/// A metric accumulated over batches of predictions and targets (row-major, one row per
/// sample).
pub trait Metric<F: Float>: Send {
    /// The name the logs and the history use, e.g. `"accuracy"`.
    fn name(&self) -> String;

    /// Checks, before training, that targets with `target_width` values per sample and
    /// predictions with `output_width` values suit this metric.
    fn check(&self, target_width: usize, output_width: usize) -> Result<()>;

    /// Adds `rows` samples to the state.
    fn update_state(&mut self, y_true: &[F], y_pred: &[F], rows: usize);

    /// The value over every sample since the last reset.
    fn result(&self) -> f64;

    /// Forgets every sample.
    fn reset_state(&mut self);
}

/// What `compile` accepts as its metrics: `[Accuracy]`, `()`, a tuple of metrics, or a
/// `Vec<Box<dyn Metric<F>>>`.
pub trait IntoMetrics<F: Float> {
    /// The metrics, boxed.
    fn into_metrics(self) -> Vec<Box<dyn Metric<F>>>;
}

impl<F: Float> IntoMetrics<F> for () {
    fn into_metrics(self) -> Vec<Box<dyn Metric<F>>> {
        Vec::new()
    }
}

impl<F: Float> IntoMetrics<F> for Vec<Box<dyn Metric<F>>> {
    fn into_metrics(self) -> Vec<Box<dyn Metric<F>>> {
        self
    }
}

impl<F: Float, M: Metric<F> + 'static, const N: usize> IntoMetrics<F> for [M; N] {
    fn into_metrics(self) -> Vec<Box<dyn Metric<F>>> {
        self.into_iter()
            .map(|m| Box::new(m) as Box<dyn Metric<F>>)
            .collect()
    }
}

macro_rules! tuple_into_metrics {
    ($($m:ident),+) => {
        impl<F: Float, $($m: Metric<F> + 'static),+> IntoMetrics<F> for ($($m,)+) {
            #[allow(non_snake_case)]
            fn into_metrics(self) -> Vec<Box<dyn Metric<F>>> {
                let ($($m,)+) = self;
                vec![$(Box::new($m) as Box<dyn Metric<F>>),+]
            }
        }
    };
}

tuple_into_metrics!(A);
tuple_into_metrics!(A, B);
tuple_into_metrics!(A, B, C);
tuple_into_metrics!(A, B, C, D);
tuple_into_metrics!(A, B, C, D, E);
