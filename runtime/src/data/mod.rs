//! Datasets: samples and targets held as ndarray arrays, with shuffling, splitting and
//! batching, and the IDX format that MNIST and Fashion-MNIST come in.

mod batches;
mod dataset;
pub mod idx;
mod shuffle;

pub use batches::Batches;
pub use dataset::Dataset;
pub use shuffle::permutation;
