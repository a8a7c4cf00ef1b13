//! How a training step spreads over the trainer's threads.

use crate::Model;

/// How a training step uses the trainer's threads (see [`crate::train::Trainer::set_threads`]).
///
/// Both are deterministic for a given seed and thread count; with
/// [`Parallelism::Products`] a step computes exactly what it computes on one thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parallelism {
    /// Each thread takes a share of the batch, with its own workspace and gradient
    /// buffer; the buffers are summed before the update. Every layer's work is spread,
    /// at the cost of a gradient buffer per thread and a pass that sums them: right for
    /// convolutional and recurrent networks, whose work per parameter is large.
    Batch,
    /// The step runs once over the whole batch, and each large matrix product splits its
    /// rows across the threads; the optimizer's update is split too. No gradient buffers
    /// are summed and the products keep the whole batch's depth, but the work outside
    /// the products runs on one thread: right for networks of Dense layers, whose work
    /// is nearly all products and whose gradients are as large as their weights.
    Products,
}

impl Parallelism {
    /// The default for `M`: [`Parallelism::Products`] when every layer is a Dense layer or
    /// one of the layers around it that do little work (Activation, Dropout, Flatten,
    /// Reshape, Softmax: [`Model::PRODUCT_BOUND`]), otherwise [`Parallelism::Batch`].
    pub fn for_model<M: Model>() -> Parallelism {
        if M::PRODUCT_BOUND {
            Parallelism::Products
        } else {
            Parallelism::Batch
        }
    }
}
