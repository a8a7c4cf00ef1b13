use std::path::PathBuf;

use super::callbacks::{Callback, CallbackList};
use crate::data::Dataset;
use crate::{Error, Float, Result, Seed};

/// How much `fit` prints, as Keras's `verbose`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbose {
    /// Nothing.
    Silent,
    /// A live progress bar per epoch (one line per epoch when the output is not a
    /// terminal).
    #[default]
    ProgressBar,
    /// One line per epoch.
    OneLinePerEpoch,
}

/// Keras's numbers: 0 is silent, 1 a progress bar, 2 (or more) one line per epoch.
///
/// ```
/// use strata_runtime::train::Verbose;
/// assert_eq!(Verbose::from(2), Verbose::OneLinePerEpoch);
/// ```
impl From<u8> for Verbose {
    fn from(level: u8) -> Self {
        match level {
            0 => Verbose::Silent,
            1 => Verbose::ProgressBar,
            _ => Verbose::OneLinePerEpoch,
        }
    }
}

/// The settings of one `fit` call, with Keras's names and defaults.
///
/// ```
/// use strata_runtime::train::Fit;
/// let fit = Fit::<f32>::epochs(5).batch_size(64).validation_split(0.1);
/// assert_eq!(fit.get_batch_size(), 64);
/// ```
#[derive(Debug)]
pub struct Fit<'a, F: Float = f32> {
    pub(crate) epochs: usize,
    pub(crate) batch_size: usize,
    pub(crate) shuffle: bool,
    pub(crate) validation_data: Option<&'a Dataset<F>>,
    pub(crate) validation_split: f64,
    pub(crate) validation_freq: usize,
    pub(crate) verbose: Verbose,
    pub(crate) seed: Seed,
    pub(crate) callbacks: CallbackList<'a, F>,
    pub(crate) backup: Option<PathBuf>,
}

impl<F: Float> Default for Fit<'_, F> {
    fn default() -> Self {
        Fit {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            validation_data: None,
            validation_split: 0.0,
            validation_freq: 1,
            verbose: Verbose::ProgressBar,
            seed: Seed(0),
            callbacks: CallbackList::default(),
            backup: None,
        }
    }
}

impl<'a, F: Float> Fit<'a, F> {
    /// Training for `epochs` passes over the data, with Keras's defaults otherwise
    /// (batch size 32, shuffled, no validation, a progress bar).
    pub fn epochs(epochs: usize) -> Self {
        Fit {
            epochs,
            ..Fit::default()
        }
    }

    /// Samples per gradient step (32 by default).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// The batch size that will be used.
    pub fn get_batch_size(&self) -> usize {
        self.batch_size
    }

    /// Whether to shuffle the samples before each epoch (true by default).
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Data to evaluate on at the end of epochs; its loss and metrics are logged with a
    /// `val_` prefix.
    pub fn validation_data(mut self, data: &'a Dataset<F>) -> Self {
        self.validation_data = Some(data);
        self
    }

    /// The fraction of the training data, taken from its end before shuffling, to hold
    /// out for validation (as Keras's `validation_split`).
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = fraction;
        self
    }

    /// Validate every `freq` epochs (1 by default).
    pub fn validation_freq(mut self, freq: usize) -> Self {
        self.validation_freq = freq;
        self
    }

    /// What to print.
    pub fn verbose(mut self, verbose: impl Into<Verbose>) -> Self {
        self.verbose = verbose.into();
        self
    }

    /// Keras's `BackupAndRestore`: saves a training checkpoint to `path` after every
    /// epoch (atomically), and if `path` exists when `fit` starts, resumes from it first,
    /// so that an interrupted run started again with the same code picks up where it
    /// stopped and ends bit-identical to a run never interrupted. The file is removed once
    /// `fit` completes.
    pub fn backup_and_restore(mut self, path: impl Into<PathBuf>) -> Self {
        self.backup = Some(path.into());
        self
    }

    /// Adds a callback, called after those added before it. Lend it (`&mut callback`) to
    /// read it after `fit`.
    pub fn callback(mut self, callback: impl Callback<F> + 'a) -> Self {
        self.callbacks.push(Box::new(callback));
        self
    }

    /// The seed of shuffling and dropout (0 by default).
    pub fn seed(mut self, seed: impl Into<Seed>) -> Self {
        self.seed = seed.into();
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::invalid(
                "batch_size",
                "a batch needs at least one sample; use e.g. batch_size(32)",
            ));
        }
        if self.validation_freq == 0 {
            return Err(Error::invalid(
                "validation_freq",
                "validate every 1 or more epochs, e.g. validation_freq(1)",
            ));
        }
        if self.validation_data.is_some() && self.validation_split != 0.0 {
            return Err(Error::invalid(
                "validation_split",
                "give validation_data or validation_split, not both",
            ));
        }
        if !(0.0..1.0).contains(&self.validation_split) {
            return Err(Error::invalid(
                "validation_split",
                format!(
                    "{} is not a fraction in [0, 1); e.g. 0.1 holds out the last tenth",
                    self.validation_split
                ),
            ));
        }
        Ok(())
    }
}
