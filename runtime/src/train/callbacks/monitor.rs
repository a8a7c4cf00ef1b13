//! A logged value watched for improvement, shared by the callbacks that monitor one.

use crate::train::Logs;
use crate::{Error, Result};

/// Whether a monitored value improves by going down or up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// From the name, as Keras: losses and errors go down; accuracy, AUC, precision,
    /// recall and F-scores go up.
    #[default]
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

/// The builder methods of a callback with a `monitor: Monitor` field.
macro_rules! monitor_builders {
    () => {
        /// The logged value to watch, e.g. `"val_loss"` or `"accuracy"`.
        #[must_use]
        pub fn monitor(mut self, name: impl Into<String>) -> Self {
            self.monitor.name = name.into();
            self
        }

        /// Whether the value improves going down or up; [`Mode::Auto`] tells from the
        /// name.
        #[must_use]
        pub fn mode(mut self, mode: Mode) -> Self {
            self.monitor.mode = mode;
            self
        }

        /// The smallest change that counts as an improvement.
        #[must_use]
        pub fn min_delta(mut self, min_delta: f64) -> Self {
            self.monitor.min_delta = min_delta.abs();
            self
        }
    };
}

pub(super) use monitor_builders;

/// A logged value, the direction it improves in and the best value seen.
#[derive(Clone, Debug)]
pub(super) struct Monitor {
    pub name: String,
    pub mode: Mode,
    /// The margin by which a value must beat the best to count as an improvement (never
    /// negative).
    pub min_delta: f64,
    best: Option<f64>,
}

impl Monitor {
    pub fn new(name: impl Into<String>, mode: Mode, min_delta: f64) -> Self {
        Monitor {
            name: name.into(),
            mode,
            min_delta: min_delta.abs(),
            best: None,
        }
    }

    /// Resolves [`Mode::Auto`] and forgets the best value; fails when the direction
    /// cannot be told from the name.
    pub fn reset(&mut self, callback: &'static str) -> Result<()> {
        self.best = None;
        if self.mode == Mode::Auto {
            self.mode = mode_of(&self.name).ok_or_else(|| {
                Error::invalid(
                    "mode",
                    format!(
                        "{callback} cannot tell whether {:?} should go up or down; \
                         set .mode(Mode::Min) or .mode(Mode::Max)",
                        self.name
                    ),
                )
            })?;
        }
        Ok(())
    }

    /// The monitored value in `logs`: `None` when the epoch did not compute it (a
    /// validation value in an epoch without validation), an error when no epoch will.
    pub fn value(&self, logs: &Logs, callback: &'static str) -> Result<Option<f64>> {
        if let Some(value) = logs.get(&self.name) {
            return Ok(Some(value));
        }
        let validation_skipped =
            self.name.starts_with("val_") && !logs.iter().any(|(name, _)| name.starts_with("val_"));
        if validation_skipped {
            return Ok(None);
        }
        let available: Vec<&str> = logs.iter().map(|(name, _)| name).collect();
        Err(Error::invalid(
            "monitor",
            format!(
                "{callback} monitors {:?}, which the logs do not have; the logs have {}{}",
                self.name,
                available.join(", "),
                if self.name.starts_with("val_") {
                    " (give fit validation_data or validation_split for val_ values)"
                } else {
                    ""
                }
            ),
        ))
    }

    /// Whether `value` beats the best by more than `min_delta`.
    pub fn improves(&self, value: f64) -> bool {
        self.improves_on(value, self.best)
    }

    /// Whether `value` beats `reference` by more than `min_delta` (anything beats no
    /// reference, except NaN).
    pub fn improves_on(&self, value: f64, reference: Option<f64>) -> bool {
        if value.is_nan() {
            return false;
        }
        match (reference, self.mode) {
            (None, _) => true,
            (Some(best), Mode::Max) => value - self.min_delta > best,
            (Some(best), _) => value + self.min_delta < best,
        }
    }

    pub fn set_best(&mut self, value: f64) {
        self.best = Some(value);
    }

    pub fn best(&self) -> Option<f64> {
        self.best
    }
}

/// The direction of a logged value, from its name.
fn mode_of(name: &str) -> Option<Mode> {
    let name = name.strip_prefix("val_").unwrap_or(name);
    const UP: [&str; 7] = [
        "accuracy",
        "acc",
        "auc",
        "precision",
        "recall",
        "f1_score",
        "fbeta_score",
    ];
    if name.ends_with("loss") || name.contains("error") {
        Some(Mode::Min)
    } else if UP.iter().any(|up| name.ends_with(up)) {
        Some(Mode::Max)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_mode_follows_the_name() {
        for (name, mode) in [
            ("loss", Mode::Min),
            ("val_loss", Mode::Min),
            ("mean_absolute_error", Mode::Min),
            ("accuracy", Mode::Max),
            ("val_sparse_categorical_accuracy", Mode::Max),
            ("val_auc", Mode::Max),
        ] {
            let mut monitor = Monitor::new(name, Mode::Auto, 0.0);
            monitor.reset("Test").unwrap();
            assert_eq!(monitor.mode, mode, "{name}");
        }
        let error = Monitor::new("learning_rate", Mode::Auto, 0.0)
            .reset("EarlyStopping")
            .unwrap_err();
        assert!(error.to_string().contains("Mode::Min"), "{error}");
    }

    #[test]
    fn an_improvement_must_beat_the_best_by_min_delta() {
        let mut monitor = Monitor::new("loss", Mode::Min, 0.1);
        assert!(monitor.improves(5.0));
        monitor.set_best(1.0);
        assert!(!monitor.improves(0.95));
        assert!(monitor.improves(0.85));
        assert!(!monitor.improves(f64::NAN));
        let mut up = Monitor::new("accuracy", Mode::Max, -0.1); // the sign is ignored
        up.set_best(0.5);
        assert!(!up.improves(0.55));
        assert!(up.improves(0.65));
    }

    #[test]
    fn a_missing_value_is_an_error_unless_validation_was_skipped() {
        let mut logs = Logs::default();
        logs.push("loss", 1.0);
        let val = Monitor::new("val_loss", Mode::Min, 0.0);
        assert_eq!(val.value(&logs, "EarlyStopping").unwrap(), None);
        let typo = Monitor::new("los", Mode::Min, 0.0);
        let error = typo.value(&logs, "EarlyStopping").unwrap_err().to_string();
        assert!(error.contains("the logs have loss"), "{error}");
        logs.push("val_accuracy", 0.5);
        let error = val.value(&logs, "EarlyStopping").unwrap_err().to_string();
        assert!(error.contains("val_accuracy"), "{error}");
    }
}
