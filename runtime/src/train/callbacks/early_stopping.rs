//! Keras's `EarlyStopping`.

use super::monitor::{Mode, Monitor, monitor_builders};
use super::{Callback, Training};
use crate::train::Logs;
use crate::{Float, Result};

/// Stops training when a monitored value has stopped improving, as Keras's
/// `EarlyStopping`: after `patience` epochs without an improvement larger than
/// `min_delta`, and optionally puts back the weights of the best epoch.
///
/// Keras's defaults: monitor `val_loss`, min_delta 0, patience 0, mode auto, no baseline,
/// restore_best_weights false, start_from_epoch 0.
///
/// ```
/// use strata_runtime::train::{EarlyStopping, Mode};
/// let early: EarlyStopping = EarlyStopping::new()
///     .monitor("val_accuracy")
///     .mode(Mode::Max)
///     .patience(3)
///     .restore_best_weights(true);
/// ```
#[derive(Clone, Debug)]
pub struct EarlyStopping<F = f32> {
    monitor: Monitor,
    patience: usize,
    baseline: Option<f64>,
    restore_best_weights: bool,
    start_from_epoch: usize,
    wait: usize,
    best_epoch: Option<usize>,
    stopped_epoch: Option<usize>,
    best_weights: Option<Vec<F>>,
}

impl<F: Float> Default for EarlyStopping<F> {
    fn default() -> Self {
        EarlyStopping {
            monitor: Monitor::new("val_loss", Mode::Auto, 0.0),
            patience: 0,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            wait: 0,
            best_epoch: None,
            stopped_epoch: None,
            best_weights: None,
        }
    }
}

impl<F: Float> EarlyStopping<F> {
    /// Keras's defaults: monitors `val_loss` with no patience.
    pub fn new() -> Self {
        Self::default()
    }

    monitor_builders!();

    /// Epochs without improvement before stopping.
    #[must_use]
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    /// A value the monitored one must beat; until it does, improvements do not reset the
    /// patience.
    #[must_use]
    pub fn baseline(mut self, baseline: f64) -> Self {
        self.baseline = Some(baseline);
        self
    }

    /// At the end of training, puts back the weights of the best epoch.
    #[must_use]
    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    /// Epochs to train before watching (a warm-up).
    #[must_use]
    pub fn start_from_epoch(mut self, epoch: usize) -> Self {
        self.start_from_epoch = epoch;
        self
    }

    /// The epoch (from 0) at which training was stopped, if it was.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }

    /// The epoch with the best monitored value, if any epoch was watched.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }

    /// The best monitored value.
    pub fn best(&self) -> Option<f64> {
        self.monitor.best()
    }
}

impl<F: Float> Callback<F> for EarlyStopping<F> {
    fn on_train_begin(&mut self, _: &mut dyn Training<F>) -> Result<()> {
        self.monitor.reset("EarlyStopping")?;
        self.wait = 0;
        self.best_epoch = None;
        self.stopped_epoch = None;
        self.best_weights = None;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        training: &mut dyn Training<F>,
    ) -> Result<()> {
        let Some(current) = self.monitor.value(logs, "EarlyStopping")? else {
            return Ok(());
        };
        if epoch < self.start_from_epoch {
            return Ok(());
        }
        if self.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(training.weights().to_vec());
            self.best_epoch = Some(epoch);
        }
        self.wait += 1;
        if self.monitor.improves(current) {
            self.monitor.set_best(current);
            self.best_epoch = Some(epoch);
            if let Some(best) = &mut self.best_weights {
                best.copy_from_slice(training.weights());
            }
            if self.monitor.improves_on(current, self.baseline) {
                self.wait = 0;
            }
            return Ok(());
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            training.stop_training();
        }
        Ok(())
    }

    fn on_train_end(&mut self, _: &Logs, training: &mut dyn Training<F>) -> Result<()> {
        match &self.best_weights {
            Some(best) if self.restore_best_weights => training.set_weights(best),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::callbacks::testing::FakeRun;

    /// Runs `early` over epochs with these monitored losses, the weights set to the
    /// epoch's number; returns the epochs run.
    fn run(early: &mut EarlyStopping, losses: &[f64], run: &mut FakeRun) -> usize {
        early.on_train_begin(run).unwrap();
        let mut epochs = 0;
        for (epoch, &loss) in losses.iter().enumerate() {
            run.weights.fill(epoch as f32);
            let mut logs = Logs::default();
            logs.push("loss", loss);
            early.on_epoch_end(epoch, &mut logs, run).unwrap();
            epochs += 1;
            if run.stopped {
                break;
            }
        }
        early.on_train_end(&Logs::default(), run).unwrap();
        epochs
    }

    #[test]
    fn stops_after_patience_epochs_without_improvement() {
        let mut early = EarlyStopping::new().monitor("loss").patience(2);
        let mut fake = FakeRun::new(0.1);
        let epochs = run(&mut early, &[1.0, 0.5, 0.6, 0.55, 0.4], &mut fake);
        assert_eq!(epochs, 4);
        assert_eq!(early.stopped_epoch(), Some(3));
        assert_eq!(early.best_epoch(), Some(1));
        assert_eq!(early.best(), Some(0.5));
        assert_eq!(fake.weights, [3.0; 3], "weights are left as they are");
    }

    #[test]
    fn restores_the_weights_of_the_best_epoch() {
        let mut early = EarlyStopping::new()
            .monitor("loss")
            .patience(1)
            .restore_best_weights(true);
        let mut fake = FakeRun::new(0.1);
        run(&mut early, &[1.0, 0.3, 0.6, 0.7], &mut fake);
        assert_eq!(fake.weights, [1.0; 3]);
    }

    #[test]
    fn min_delta_baseline_and_start_from_epoch() {
        let mut early = EarlyStopping::new().monitor("loss").min_delta(0.1);
        let mut fake = FakeRun::new(0.1);
        // 0.95 is not 0.1 better than 1.0: stop at once.
        assert_eq!(run(&mut early, &[1.0, 0.95, 0.5], &mut fake), 2);

        // Improvements that do not beat the baseline do not reset the patience.
        let losses = [1.0, 0.9, 0.95, 0.96, 0.97];
        let mut early = EarlyStopping::new().monitor("loss").patience(2);
        assert_eq!(run(&mut early, &losses, &mut FakeRun::new(0.1)), 4);
        let mut early = early.baseline(0.5);
        assert_eq!(run(&mut early, &losses, &mut FakeRun::new(0.1)), 3);

        let mut early = EarlyStopping::new().monitor("loss").start_from_epoch(3);
        let mut fake = FakeRun::new(0.1);
        assert_eq!(run(&mut early, &[1.0, 2.0, 3.0, 4.0, 5.0], &mut fake), 5);
    }
}
