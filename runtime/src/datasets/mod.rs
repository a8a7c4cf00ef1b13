//! Real data sets, found on disk or downloaded, as Keras's `keras.datasets`.
//!
//! Each data set loads as a training and a test [`Dataset`](crate::data::Dataset), ready
//! for `fit`: images as `f32` in `[0, 1]`, labels as class indices.
//!
//! ```no_run
//! let (train, test) = strata_runtime::datasets::fashion_mnist::load()?;
//! let (train, validation) = train.split(0.1)?;
//! # Ok::<(), strata_runtime::Error>(())
//! ```

mod download;
pub mod fashion_mnist;
pub mod mnist;
mod source;
mod spec;

pub use source::Source;

#[cfg(test)]
mod tests;
