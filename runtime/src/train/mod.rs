//! Training: the fit loop, progress, history.
pub mod summary;
mod trainer;
pub use trainer::Trainer;
