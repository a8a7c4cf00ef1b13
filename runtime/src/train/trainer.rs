use crate::Model;
use crate::loss::Loss;
use crate::metrics::Metric;
use crate::optim::Optimizer;

/// A model compiled with an optimizer, a loss and metrics.
pub struct Trainer<M: Model, O, L> {
    model: M,
    optimizer: O,
    loss: L,
    metrics: Vec<Box<dyn Metric<M::Float>>>,
}

impl<M: Model, O: Optimizer<M::Float>, L: Loss<M::Float>> Trainer<M, O, L> {
    pub(crate) fn new(
        model: M,
        optimizer: O,
        loss: L,
        metrics: Vec<Box<dyn Metric<M::Float>>>,
    ) -> Self {
        Trainer {
            model,
            optimizer,
            loss,
            metrics,
        }
    }

    /// The model being trained.
    pub fn model(&self) -> &M {
        &self.model
    }
}
