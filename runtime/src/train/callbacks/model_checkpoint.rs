//! Keras's `ModelCheckpoint`, for weights.

use std::collections::VecDeque;
use std::path::PathBuf;

use super::monitor::{Mode, Monitor, monitor_builders};
use super::{Callback, Training};
use crate::train::Logs;
use crate::{Error, Float, Result};

/// When [`ModelCheckpoint`] saves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SaveFreq {
    /// At the end of every epoch (Keras's `save_freq="epoch"`).
    #[default]
    Epoch,
    /// After every this many batches, counted across epochs (Keras's `save_freq=N`).
    Batches(usize),
}

/// Saves the weights during training, as Keras's `ModelCheckpoint` with
/// `save_weights_only=True`: at the end of every epoch or every N batches, to a path that
/// may name the epoch and any logged value (`"ckpt/{epoch:02d}-{val_loss:.4f}.safetensors"`,
/// the epoch counted from 1 as Keras does), optionally only when a monitored value
/// improves, and optionally keeping only the newest files.
///
/// Each file is written atomically (a temporary file renamed over the target), so a
/// process killed during a save leaves the previous file whole.
///
/// ```
/// use strata_runtime::train::{Mode, ModelCheckpoint, SaveFreq};
/// let best = ModelCheckpoint::new("best.safetensors")
///     .monitor("val_accuracy")
///     .mode(Mode::Max)
///     .save_best_only(true);
/// let rolling = ModelCheckpoint::new("ckpt-{epoch:03d}.safetensors")
///     .save_freq(SaveFreq::Batches(500))
///     .keep_last(3);
/// ```
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    filepath: String,
    monitor: Monitor,
    save_best_only: bool,
    save_freq: SaveFreq,
    keep_last: Option<usize>,
    initial_value_threshold: Option<f64>,
    epoch: usize,
    batches_seen: usize,
    /// The files written, oldest first, for `keep_last`.
    saved: VecDeque<PathBuf>,
}

impl ModelCheckpoint {
    /// Saves to `filepath` at the end of every epoch (Keras's defaults: monitor
    /// `val_loss`, mode auto, every epoch, every file kept).
    pub fn new(filepath: impl Into<String>) -> Self {
        ModelCheckpoint {
            filepath: filepath.into(),
            monitor: Monitor::new("val_loss", Mode::Auto, 0.0),
            save_best_only: false,
            save_freq: SaveFreq::Epoch,
            keep_last: None,
            initial_value_threshold: None,
            epoch: 0,
            batches_seen: 0,
            saved: VecDeque::new(),
        }
    }

    monitor_builders!();

    /// Saves only when the monitored value beats the best so far.
    #[must_use]
    pub fn save_best_only(mut self, yes: bool) -> Self {
        self.save_best_only = yes;
        self
    }

    /// At the end of each epoch, or every N batches.
    #[must_use]
    pub fn save_freq(mut self, save_freq: SaveFreq) -> Self {
        self.save_freq = save_freq;
        self
    }

    /// Keeps only the `count` newest files, deleting older ones as new ones are written.
    #[must_use]
    pub fn keep_last(mut self, count: usize) -> Self {
        self.keep_last = Some(count);
        self
    }

    /// With `save_best_only`, the value to beat before the first save.
    #[must_use]
    pub fn initial_value_threshold(mut self, value: f64) -> Self {
        self.initial_value_threshold = Some(value);
        self
    }

    /// The files written and still kept, oldest first.
    pub fn saved(&self) -> impl Iterator<Item = &PathBuf> {
        self.saved.iter()
    }

    fn validate(&self) -> Result<()> {
        if self.save_freq == SaveFreq::Batches(0) {
            return Err(Error::invalid(
                "save_freq",
                "ModelCheckpoint cannot save every 0 batches; use SaveFreq::Batches(n) with n \
                 >= 1, or SaveFreq::Epoch",
            ));
        }
        if self.keep_last == Some(0) {
            return Err(Error::invalid(
                "keep_last",
                "ModelCheckpoint must keep at least the newest file; use keep_last(1) or more",
            ));
        }
        Ok(())
    }

    /// Saves if the settings say so at this point, given the current logs.
    fn checkpoint<F: Float>(&mut self, logs: &Logs, training: &mut dyn Training<F>) -> Result<()> {
        if self.save_best_only {
            let Some(current) = self.monitor.value(logs, "ModelCheckpoint")? else {
                return Ok(());
            };
            if !self.monitor.improves(current) {
                return Ok(());
            }
            self.monitor.set_best(current);
        }
        let path = PathBuf::from(format_path(&self.filepath, self.epoch + 1, logs)?);
        training.save_weights(&path)?;
        self.remember(path)
    }

    /// Records a written file and deletes the oldest beyond `keep_last`.
    fn remember(&mut self, path: PathBuf) -> Result<()> {
        if !self.saved.contains(&path) {
            self.saved.push_back(path);
        }
        let keep = self.keep_last.unwrap_or(usize::MAX);
        while self.saved.len() > keep {
            let Some(oldest) = self.saved.pop_front() else {
                break;
            };
            match std::fs::remove_file(&oldest) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(oldest, e));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl<F: Float> Callback<F> for ModelCheckpoint {
    fn on_train_begin(&mut self, _: &mut dyn Training<F>) -> Result<()> {
        self.validate()?;
        if self.save_best_only {
            self.monitor.reset("ModelCheckpoint")?;
            if let Some(threshold) = self.initial_value_threshold {
                self.monitor.set_best(threshold);
            }
        }
        self.batches_seen = 0;
        // A malformed path fails now rather than after the first epoch; its names are
        // checked against the logs when they exist.
        format_with(&self.filepath, |_| Ok(0.0)).map(|_| ())
    }

    fn on_epoch_begin(&mut self, epoch: usize, _: &mut dyn Training<F>) -> Result<()> {
        self.epoch = epoch;
        Ok(())
    }

    fn on_train_batch_end(
        &mut self,
        _: usize,
        logs: &Logs,
        training: &mut dyn Training<F>,
    ) -> Result<()> {
        let SaveFreq::Batches(every) = self.save_freq else {
            return Ok(());
        };
        self.batches_seen += 1;
        if self.batches_seen.is_multiple_of(every) {
            self.checkpoint(logs, training)?;
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _: usize,
        logs: &mut Logs,
        training: &mut dyn Training<F>,
    ) -> Result<()> {
        if self.save_freq == SaveFreq::Epoch {
            self.checkpoint(logs, training)?;
        }
        Ok(())
    }
}

/// `filepath` with `{epoch}`, `{epoch:02d}`, `{name}` and `{name:.4f}` replaced by the epoch
/// (from 1) and the logged values, as Keras's Python formatting of the path.
fn format_path(filepath: &str, epoch: usize, logs: &Logs) -> Result<String> {
    format_with(filepath, |name| {
        if name == "epoch" {
            return Ok(epoch as f64);
        }
        logs.get(name).ok_or_else(|| {
            let names: Vec<&str> = logs.iter().map(|(n, _)| n).collect();
            let problem = format!(
                "{{{name}}} is not logged; the logs have epoch, {}",
                names.join(", ")
            );
            bad_path(filepath, &problem)
        })
    })
}

/// `filepath` with each `{name}` or `{name:spec}` replaced by `value(name)` so formatted.
fn format_with(filepath: &str, value: impl Fn(&str) -> Result<f64>) -> Result<String> {
    let mut out = String::with_capacity(filepath.len());
    let mut rest = filepath;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| bad_path(filepath, "a { without its }"))?;
        let field = &rest[open + 1..open + close];
        let (name, spec) = field.split_once(':').unwrap_or((field, ""));
        let formatted = format_value(value(name)?, spec).ok_or_else(|| {
            let problem =
                format!("cannot format {{{field}}}; use e.g. {{epoch:02d}} or {{val_loss:.4f}}");
            bad_path(filepath, &problem)
        })?;
        out.push_str(&formatted);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `value` written as Python's format `spec` would: empty, `d`, `0Nd`, `Nd`, `.Nf`, `.Ne`.
fn format_value(value: f64, spec: &str) -> Option<String> {
    if spec.is_empty() {
        return Some(if value.fract() == 0.0 && value.abs() < 1e15 {
            format!("{}", value as i64)
        } else {
            format!("{value}")
        });
    }
    if let Some(width) = spec.strip_suffix('d') {
        let integer = value.round() as i64;
        return Some(match width.strip_prefix('0') {
            Some(zeros) => format!("{integer:0width$}", width = zeros.parse().ok()?),
            None if width.is_empty() => integer.to_string(),
            None => format!("{integer:width$}", width = width.parse().ok()?),
        });
    }
    let precision: usize = spec
        .strip_prefix('.')?
        .get(..spec.len() - 2)?
        .parse()
        .ok()?;
    match spec.chars().last()? {
        'f' => Some(format!("{value:.precision$}")),
        'e' => Some(format!("{value:.precision$e}")),
        _ => None,
    }
}

fn bad_path(filepath: &str, problem: &str) -> Error {
    Error::invalid(
        "filepath",
        format!("ModelCheckpoint cannot make a file name from {filepath:?}: {problem}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::callbacks::testing::FakeRun;

    fn logs(val_loss: f64) -> Logs {
        let mut logs = Logs::default();
        logs.push("loss", 1.0);
        logs.push("val_loss", val_loss);
        logs
    }

    #[test]
    fn paths_name_the_epoch_and_logged_values() {
        let logs = logs(0.123456);
        let path = format_path("ck/{epoch:02d}-{val_loss:.3f}-{epoch}.st", 7, &logs).unwrap();
        assert_eq!(path, "ck/07-0.123-7.st");
        assert_eq!(format_path("plain.st", 1, &logs).unwrap(), "plain.st");
        let error = format_path("{val_acc}.st", 1, &logs)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("the logs have epoch, loss, val_loss"),
            "{error}"
        );
        assert!(format_path("{epoch:x}.st", 1, &logs).is_err());
        assert!(format_path("{epoch.st", 1, &logs).is_err());
    }

    /// Runs `checkpoint` over epochs with these validation losses; returns the files
    /// left, by name, and what each holds (the epoch's weights).
    fn run(checkpoint: &mut ModelCheckpoint, val_losses: &[f64]) -> Vec<(String, String)> {
        let mut fake = FakeRun::new(0.1);
        Callback::<f32>::on_train_begin(checkpoint, &mut fake).unwrap();
        for (epoch, &val_loss) in val_losses.iter().enumerate() {
            fake.weights.fill(epoch as f32);
            Callback::<f32>::on_epoch_begin(checkpoint, epoch, &mut fake).unwrap();
            for batch in 0..4 {
                Callback::<f32>::on_train_batch_end(checkpoint, batch, &logs(val_loss), &mut fake)
                    .unwrap();
            }
            checkpoint
                .on_epoch_end(epoch, &mut logs(val_loss), &mut fake)
                .unwrap();
        }
        let dir = PathBuf::from(&checkpoint.filepath)
            .parent()
            .unwrap()
            .to_path_buf();
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                (name, std::fs::read_to_string(&path).unwrap())
            })
            .collect();
        files.sort();
        std::fs::remove_dir_all(&dir).unwrap();
        files
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("strata-ckpt-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn saves_every_epoch_keeping_the_newest() {
        let dir = temp_dir("every");
        let path = dir.join("w-{epoch:02d}.st").to_string_lossy().to_string();
        let mut checkpoint = ModelCheckpoint::new(path).keep_last(2);
        let files = run(&mut checkpoint, &[0.5, 0.4, 0.6, 0.3]);
        let expected = [("w-03.st", "2,2,2"), ("w-04.st", "3,3,3")];
        assert_eq!(files, expected.map(|(n, c)| (n.to_string(), c.to_string())));
    }

    #[test]
    fn save_best_only_keeps_the_best_epoch() {
        let dir = temp_dir("best");
        let path = dir.join("best.st").to_string_lossy().to_string();
        let mut checkpoint = ModelCheckpoint::new(path).save_best_only(true);
        let files = run(&mut checkpoint, &[0.5, 0.4, 0.6, 0.45]);
        assert_eq!(files, [("best.st".to_string(), "1,1,1".to_string())]);
    }

    #[test]
    fn initial_value_threshold_must_be_beaten_before_the_first_save() {
        let dir = temp_dir("threshold");
        let path = dir.join("e{epoch}.st").to_string_lossy().to_string();
        let mut checkpoint = ModelCheckpoint::new(path)
            .save_best_only(true)
            .initial_value_threshold(0.42);
        let files = run(&mut checkpoint, &[0.5, 0.45, 0.4, 0.41, 0.3]);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["e3.st", "e5.st"]);
    }

    #[test]
    fn saves_every_n_batches_across_epochs() {
        let dir = temp_dir("batches");
        let path = dir.join("b-{epoch}.st").to_string_lossy().to_string();
        let mut checkpoint = ModelCheckpoint::new(path).save_freq(SaveFreq::Batches(6));
        let files = run(&mut checkpoint, &[0.5, 0.4, 0.3]);
        // Batches 6 and 12 of 12: in the second and the third epoch.
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["b-2.st", "b-3.st"]);
    }

    #[test]
    fn bad_settings_fail_before_training() {
        let mut fake = FakeRun::new(0.1);
        for mut checkpoint in [
            ModelCheckpoint::new("x.st").save_freq(SaveFreq::Batches(0)),
            ModelCheckpoint::new("x.st").keep_last(0),
            ModelCheckpoint::new("x.st")
                .monitor("speed")
                .save_best_only(true),
        ] {
            assert!(Callback::<f32>::on_train_begin(&mut checkpoint, &mut fake).is_err());
        }
    }
}
