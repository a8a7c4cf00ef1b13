//! Training: `fit`, `evaluate`, `predict`, the progress bar and the history.

pub mod callbacks;
mod fit;
mod freeze;
mod history;
mod parallelism;
mod plot;
mod predict;
mod progress;
mod resume;
pub mod summary;
mod trainer;
mod weights;

pub use callbacks::{
    CSVLogger, Callback, EarlyStopping, LearningRateScheduler, Mode, ModelCheckpoint,
    ReduceLROnPlateau, SaveFreq, TerminateOnNaN, Training,
};
pub use fit::{Fit, Verbose};
pub use history::{History, Logs};
pub use parallelism::Parallelism;
pub use predict::predict;
pub use trainer::Trainer;
