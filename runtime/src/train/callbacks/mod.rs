//! Callbacks: code that `fit` calls at the start and end of training, of each epoch and of
//! each batch, as Keras's `keras.callbacks`.
//!
//! A callback sees the run through [`Training`]: the weights, the learning rate, and a
//! switch to stop. Pass callbacks to [`Fit::callback`](super::Fit::callback), by value or
//! as `&mut` to read them after `fit` returns:
//!
//! ```
//! use strata_runtime::train::{Callback, EarlyStopping, Fit, Logs, TerminateOnNaN, Training};
//! use strata_runtime::Result;
//!
//! /// Counts the batches it saw.
//! #[derive(Default)]
//! struct CountBatches(usize);
//!
//! impl Callback for CountBatches {
//!     fn on_train_batch_end(&mut self, _: usize, _: &Logs, _: &mut dyn Training) -> Result<()> {
//!         self.0 += 1;
//!         Ok(())
//!     }
//! }
//!
//! let mut count = CountBatches::default();
//! let fit: Fit = Fit::epochs(10)
//!     .callback(EarlyStopping::new().monitor("loss").patience(2))
//!     .callback(TerminateOnNaN)
//!     .callback(&mut count);
//! ```

mod csv_logger;
mod early_stopping;
mod model_checkpoint;
mod monitor;
mod reduce_lr;
mod scheduler;
mod terminate_on_nan;

pub use csv_logger::CSVLogger;
pub use early_stopping::EarlyStopping;
pub use model_checkpoint::{ModelCheckpoint, SaveFreq};
pub use monitor::Mode;
pub use reduce_lr::ReduceLROnPlateau;
pub use scheduler::LearningRateScheduler;
pub use terminate_on_nan::TerminateOnNaN;

use std::path::Path;

use super::Logs;
use crate::{Float, ParamInfo, Result};

/// What a callback can see and steer of a training run: Keras's `self.model` inside a
/// callback.
pub trait Training<F: Float = f32> {
    /// The model's name, as `model!` declared it.
    fn model_name(&self) -> &'static str;

    /// The model's parameter tensors: names, shapes and offsets in [`Training::weights`].
    fn param_info(&self) -> &'static [ParamInfo];

    /// The model's architecture as JSON (Keras's `get_config`).
    fn architecture_json(&self) -> &'static str;

    /// Every weight, in the model's flat layout (Keras's `get_weights`, concatenated).
    fn weights(&self) -> &[F];

    /// Replaces every weight (Keras's `set_weights`); `weights` must have the model's
    /// parameter count.
    fn set_weights(&mut self, weights: &[F]) -> Result<()>;

    /// Saves the weights to a safetensors file, atomically: [`Model::save_weights`].
    ///
    /// [`Model::save_weights`]: crate::Model::save_weights
    fn save_weights(&self, path: &Path) -> Result<()>;

    /// The optimizer's current learning rate.
    fn learning_rate(&self) -> f64;

    /// Sets the optimizer's learning rate; a negative or non-finite rate is an error.
    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()>;

    /// Optimizer steps taken so far (Keras's `optimizer.iterations`).
    fn iterations(&self) -> u64;

    /// Asks `fit` to stop after the current batch (Keras's `model.stop_training = True`);
    /// the epoch still ends normally, with its validation and its `on_epoch_end`.
    fn stop_training(&mut self);

    /// Whether a callback asked to stop.
    fn stop_requested(&self) -> bool;
}

/// Code called by `fit` at Keras's hooks. Every method does nothing by default; an error
/// ends `fit` with that error (the weights keep the training done so far).
///
/// `F` is the model's float type (`f32` unless the model says otherwise).
pub trait Callback<F: Float = f32>: Send {
    /// Before the first epoch.
    fn on_train_begin(&mut self, training: &mut dyn Training<F>) -> Result<()> {
        let _ = training;
        Ok(())
    }

    /// After the last epoch (or the one a callback stopped), with that epoch's logs.
    fn on_train_end(&mut self, logs: &Logs, training: &mut dyn Training<F>) -> Result<()> {
        let _ = (logs, training);
        Ok(())
    }

    /// Before epoch `epoch` (from 0).
    fn on_epoch_begin(&mut self, epoch: usize, training: &mut dyn Training<F>) -> Result<()> {
        let _ = (epoch, training);
        Ok(())
    }

    /// After epoch `epoch`, with its training and validation logs (`loss`, the metrics,
    /// `val_loss`, ...). A callback may add entries (e.g. `learning_rate`); the progress
    /// line and the history show them.
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        training: &mut dyn Training<F>,
    ) -> Result<()> {
        let _ = (epoch, logs, training);
        Ok(())
    }

    /// Before batch `batch` of the current epoch (from 0).
    fn on_train_batch_begin(&mut self, batch: usize, training: &mut dyn Training<F>) -> Result<()> {
        let _ = (batch, training);
        Ok(())
    }

    /// After batch `batch`, with the loss of that batch and the metrics' running values
    /// over the epoch so far. A batch whose loss is NaN or infinite reaches this hook
    /// without having changed the weights; unless a callback then stops training, `fit`
    /// fails with [`Error::NonFiniteLoss`](crate::Error::NonFiniteLoss).
    fn on_train_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        training: &mut dyn Training<F>,
    ) -> Result<()> {
        let _ = (batch, logs, training);
        Ok(())
    }
}

/// A callback lent to `fit`, so that its owner can read it afterwards.
impl<F: Float, C: Callback<F> + ?Sized> Callback<F> for &mut C {
    fn on_train_begin(&mut self, training: &mut dyn Training<F>) -> Result<()> {
        (**self).on_train_begin(training)
    }

    fn on_train_end(&mut self, logs: &Logs, training: &mut dyn Training<F>) -> Result<()> {
        (**self).on_train_end(logs, training)
    }

    fn on_epoch_begin(&mut self, epoch: usize, training: &mut dyn Training<F>) -> Result<()> {
        (**self).on_epoch_begin(epoch, training)
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        training: &mut dyn Training<F>,
    ) -> Result<()> {
        (**self).on_epoch_end(epoch, logs, training)
    }

    fn on_train_batch_begin(&mut self, batch: usize, training: &mut dyn Training<F>) -> Result<()> {
        (**self).on_train_batch_begin(batch, training)
    }

    fn on_train_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        training: &mut dyn Training<F>,
    ) -> Result<()> {
        (**self).on_train_batch_end(batch, logs, training)
    }
}

/// The callbacks of one `fit`, called in the order they were given.
pub(crate) struct CallbackList<'a, F: Float> {
    callbacks: Vec<Box<dyn Callback<F> + 'a>>,
}

impl<F: Float> Default for CallbackList<'_, F> {
    fn default() -> Self {
        CallbackList {
            callbacks: Vec::new(),
        }
    }
}

impl<'a, F: Float> CallbackList<'a, F> {
    pub(crate) fn push(&mut self, callback: Box<dyn Callback<F> + 'a>) {
        self.callbacks.push(callback);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.callbacks.is_empty()
    }

    pub(crate) fn train_begin(&mut self, training: &mut dyn Training<F>) -> Result<()> {
        self.each(|c| c.on_train_begin(training))
    }

    pub(crate) fn train_end(&mut self, logs: &Logs, training: &mut dyn Training<F>) -> Result<()> {
        self.each(|c| c.on_train_end(logs, training))
    }

    pub(crate) fn epoch_begin(
        &mut self,
        epoch: usize,
        training: &mut dyn Training<F>,
    ) -> Result<()> {
        self.each(|c| c.on_epoch_begin(epoch, training))
    }

    pub(crate) fn epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        training: &mut dyn Training<F>,
    ) -> Result<()> {
        self.each(|c| c.on_epoch_end(epoch, logs, training))
    }

    pub(crate) fn batch_begin(
        &mut self,
        batch: usize,
        training: &mut dyn Training<F>,
    ) -> Result<()> {
        self.each(|c| c.on_train_batch_begin(batch, training))
    }

    pub(crate) fn batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        training: &mut dyn Training<F>,
    ) -> Result<()> {
        self.each(|c| c.on_train_batch_end(batch, logs, training))
    }

    fn each(&mut self, mut call: impl FnMut(&mut dyn Callback<F>) -> Result<()>) -> Result<()> {
        for callback in &mut self.callbacks {
            call(callback.as_mut())?;
        }
        Ok(())
    }
}

impl<F: Float> std::fmt::Debug for CallbackList<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} callbacks", self.callbacks.len())
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A stand-in for a training run, for the callbacks' unit tests.

    use std::path::Path;

    use super::Training;
    use crate::{Error, ParamInfo, Result};

    pub(crate) struct FakeRun {
        pub weights: Vec<f32>,
        pub learning_rate: f64,
        pub stopped: bool,
        pub iterations: u64,
    }

    impl FakeRun {
        pub(crate) fn new(learning_rate: f64) -> Self {
            FakeRun {
                weights: vec![0.0; 3],
                learning_rate,
                stopped: false,
                iterations: 0,
            }
        }
    }

    impl Training<f32> for FakeRun {
        fn model_name(&self) -> &'static str {
            "Fake"
        }

        fn param_info(&self) -> &'static [ParamInfo] {
            &[]
        }

        fn architecture_json(&self) -> &'static str {
            "{}"
        }

        fn weights(&self) -> &[f32] {
            &self.weights
        }

        fn set_weights(&mut self, weights: &[f32]) -> Result<()> {
            if weights.len() != self.weights.len() {
                return Err(Error::invalid("weights", "wrong length"));
            }
            self.weights.copy_from_slice(weights);
            Ok(())
        }

        fn save_weights(&self, path: &Path) -> Result<()> {
            let text: Vec<String> = self.weights.iter().map(f32::to_string).collect();
            std::fs::write(path, text.join(",")).map_err(|e| Error::io(path, e))
        }

        fn learning_rate(&self) -> f64 {
            self.learning_rate
        }

        fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()> {
            self.learning_rate = learning_rate;
            Ok(())
        }

        fn iterations(&self) -> u64 {
            self.iterations
        }

        fn stop_training(&mut self) {
            self.stopped = true;
        }

        fn stop_requested(&self) -> bool {
            self.stopped
        }
    }
}
