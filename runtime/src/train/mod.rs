//! Training: `fit`, `evaluate`, `predict`, the progress bar and the history.

pub mod callbacks;
mod fit;
mod history;
mod plot;
mod predict;
mod progress;
pub mod summary;
mod trainer;

pub use callbacks::{
    CSVLogger, Callback, EarlyStopping, LearningRateScheduler, Mode, ReduceLROnPlateau,
    TerminateOnNaN, Training,
};
pub use fit::{Fit, Verbose};
pub use history::{History, Logs};
pub use predict::predict;
pub use trainer::Trainer;
