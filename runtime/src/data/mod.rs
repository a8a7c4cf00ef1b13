//! Datasets: samples and targets held as ndarray arrays, with shuffling, splitting and
//! batching.

mod dataset;
pub mod idx;

pub use dataset::Dataset;
