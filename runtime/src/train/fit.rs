use std::borrow::Cow;
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
    pub(crate) sample_weight: Option<&'a [F]>,
    pub(crate) class_weight: Option<Vec<(usize, f64)>>,
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
            sample_weight: None,
            class_weight: None,
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

    /// Keras's `sample_weight`: one weight (a finite number ≥ 0) per sample of the data
    /// given to `fit`, in its order. Each sample's loss and its gradient count `weight`
    /// times, and the metrics weigh it likewise. With the default reduction the loss of a
    /// batch is `Σ weight × loss / batch size` (divided by the number of samples, not by
    /// the sum of the weights, as Keras). With `validation_split`, the weights of the
    /// held-out end are dropped; validation, like `validation_data`, is unweighted.
    ///
    /// ```
    /// use strata_runtime::train::Fit;
    /// let weights = vec![1.0f32; 1000];
    /// let fit = Fit::epochs(5).sample_weight(&weights);
    /// # let _ = fit;
    /// ```
    pub fn sample_weight(mut self, sample_weight: &'a [F]) -> Self {
        self.sample_weight = Some(sample_weight);
        self
    }

    /// Keras's `class_weight`: `(class, weight)` pairs that weigh each training sample by
    /// its class, as [`Fit::sample_weight`] would; classes not listed weigh 1. A sample's
    /// class is its integer label (one target per sample), the index of the maximum of its
    /// one-hot (or probability) target row, or, for a model with one output, its 0/1 label
    /// rounded. Cannot be combined with [`Fit::sample_weight`]: multiply the weights into
    /// one `sample_weight` instead.
    ///
    /// ```
    /// use strata_runtime::train::Fit;
    /// // Errors on class 6 cost five times as much as on the others.
    /// let fit = Fit::<f32>::epochs(5).class_weight([(6, 5.0)]);
    /// # let _ = fit;
    /// ```
    pub fn class_weight(mut self, class_weight: impl IntoIterator<Item = (usize, f64)>) -> Self {
        self.class_weight = Some(class_weight.into_iter().collect());
        self
    }

    /// The weight of each sample of `train`, the first samples of `data` (all of them
    /// without `validation_split`), for a model with `output_width` outputs: borrowed from
    /// `sample_weight`, or looked up by class from `class_weight`; `None` without weights.
    pub(crate) fn train_weights(
        &self,
        data: &Dataset<F>,
        train: &Dataset<F>,
        output_width: usize,
    ) -> Result<Option<Cow<'a, [F]>>> {
        if let Some(weights) = self.sample_weight {
            check_sample_weight("fit", weights, data.len())?;
            return Ok(Some(Cow::Borrowed(&weights[..train.len()])));
        }
        let Some(class_weight) = &self.class_weight else {
            return Ok(None);
        };
        // A model with one output tells two classes apart: labels 0 and 1.
        let classes = output_width.max(2);
        let mut by_class = vec![1.0; classes];
        for &(class, weight) in class_weight {
            if class >= classes {
                return Err(Error::invalid(
                    "class_weight",
                    format!(
                        "class {class} is not a class of the model, whose {output_width} \
                         output{} tell{} classes 0..{classes} apart; give weights for classes \
                         in 0..{classes}",
                        if output_width == 1 { "" } else { "s" },
                        if output_width == 1 { "s" } else { "" },
                    ),
                ));
            }
            if !F::of(weight).is_finite() {
                return Err(Error::invalid(
                    "class_weight",
                    format!(
                        "the weight {weight} of class {class} overflows the model's {}; give \
                         a smaller weight",
                        F::DTYPE
                    ),
                ));
            }
            by_class[class] = weight;
        }
        // Allocates once, whatever the number of samples.
        let mut weights = Vec::with_capacity(train.len());
        for (sample, target) in train.y().rows().into_iter().enumerate() {
            let Some(class) = class_of(target.iter().map(|t| t.as_f64()), classes) else {
                let target: Vec<f64> = target.iter().map(|t| t.as_f64()).collect();
                return Err(Error::invalid(
                    "class_weight",
                    format!(
                        "the target {target:?} of sample {sample} is not a class label: \
                         class_weight needs one class per sample (an integer label in \
                         0..{classes}, a one-hot row, or a 0/1 label for a model with one \
                         output); weigh other targets with sample_weight"
                    ),
                ));
            };
            weights.push(F::of(by_class[class]));
        }
        Ok(Some(Cow::Owned(weights)))
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
        if self.sample_weight.is_some() && self.class_weight.is_some() {
            return Err(Error::invalid(
                "class_weight",
                "give class_weight or sample_weight, not both (as Keras); to combine them, \
                 multiply each sample's weight by the weight of its class and give \
                 sample_weight alone",
            ));
        }
        if let Some(class_weight) = &self.class_weight {
            for (i, &(class, weight)) in class_weight.iter().enumerate() {
                check_weight("class_weight", weight, || format!("class {class}"))?;
                if class_weight[..i].iter().any(|&(other, _)| other == class) {
                    return Err(Error::invalid(
                        "class_weight",
                        format!("class {class} is given two weights; give each class one"),
                    ));
                }
            }
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

/// Checks `weights` as the `sample_weight` of the `samples` samples that `what` (`"fit"`,
/// `"evaluate"`) is given: one finite weight ≥ 0 per sample.
pub(crate) fn check_sample_weight<F: Float>(
    what: &'static str,
    weights: &[F],
    samples: usize,
) -> Result<()> {
    if weights.len() != samples {
        return Err(Error::invalid(
            "sample_weight",
            format!(
                "{} weights for the {samples} samples given to {what}; give one weight per \
                 sample, in the order of the data (with validation_split, for every sample \
                 before the split)",
                weights.len()
            ),
        ));
    }
    for (sample, weight) in weights.iter().enumerate() {
        check_weight("sample_weight", weight.as_f64(), || {
            format!("sample {sample}")
        })?;
    }
    Ok(())
}

/// Checks one weight: a finite number ≥ 0; `of` names what it weighs.
fn check_weight(name: &'static str, weight: f64, of: impl Fn() -> String) -> Result<()> {
    if weight.is_finite() && weight >= 0.0 {
        return Ok(());
    }
    Err(Error::invalid(
        name,
        format!(
            "the weight {weight} of {} is not a finite number >= 0; weights scale each \
             sample's loss, so give 0 to ignore a sample and 1 to count it as usual",
            of()
        ),
    ))
}

/// The class of a target row, as Keras's `class_weight` reads it: one value is a label
/// (rounded, as Keras), several values a one-hot or probability row (its argmax, the
/// first on ties); `None` if it is no class in `0..classes`.
fn class_of(target: impl ExactSizeIterator<Item = f64> + Clone, classes: usize) -> Option<usize> {
    if target.len() == 1 {
        let class = target.clone().next()?.round();
        return (class >= 0.0 && class < classes as f64).then_some(class as usize);
    }
    let in_unit = target.clone().all(|t| (0.0..=1.0).contains(&t));
    let sum: f64 = target.clone().sum();
    if !(in_unit && (sum - 1.0).abs() <= 1e-3 && target.len() == classes) {
        return None;
    }
    let (mut best, mut best_value) = (0, f64::NEG_INFINITY);
    for (i, t) in target.enumerate() {
        if t > best_value {
            (best, best_value) = (i, t);
        }
    }
    Some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_of_reads_labels_one_hot_rows_and_rounded_binary_labels() {
        let class = |row: &[f64], classes| class_of(row.iter().copied(), classes);
        assert_eq!(class(&[3.0], 10), Some(3));
        assert_eq!(class(&[0.8], 2), Some(1)); // rounded, as Keras
        assert_eq!(class(&[10.0], 10), None);
        assert_eq!(class(&[-1.0], 10), None);
        assert_eq!(class(&[f64::NAN], 10), None);
        assert_eq!(class(&[0.0, 0.0, 1.0], 3), Some(2));
        assert_eq!(class(&[0.2, 0.5, 0.3], 3), Some(1));
        assert_eq!(class(&[0.5, 0.5, 0.0], 3), Some(0)); // the first of equal maxima
        // Not one class per sample: regression targets, multi-hot rows, no class at all.
        assert_eq!(class(&[2.5, -1.0, 0.3], 3), None);
        assert_eq!(class(&[1.0, 1.0, 0.0], 3), None);
        assert_eq!(class(&[0.0, 0.0, 0.0], 3), None);
    }
}
