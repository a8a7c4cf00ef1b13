//! Keras's `ReduceLROnPlateau`.

use super::monitor::{Mode, Monitor, monitor_builders};
use super::{Callback, Training};
use crate::train::Logs;
use crate::{Error, Float, Result};

/// Lowers the learning rate when a monitored value stops improving, as Keras's
/// `ReduceLROnPlateau`: after `patience` epochs without an improvement larger than
/// `min_delta`, the rate is multiplied by `factor` (not below `min_lr`), then `cooldown`
/// epochs pass before watching again. Adds `learning_rate` to each epoch's logs.
///
/// Keras's defaults: monitor `val_loss`, factor 0.1, patience 10, mode auto, min_delta
/// 1e-4, cooldown 0, min_lr 0.
///
/// ```
/// use strata_runtime::train::ReduceLROnPlateau;
/// let reduce = ReduceLROnPlateau::new().factor(0.5).patience(2).min_lr(1e-5);
/// ```
#[derive(Clone, Debug)]
pub struct ReduceLROnPlateau {
    monitor: Monitor,
    factor: f64,
    patience: usize,
    cooldown: usize,
    min_lr: f64,
    wait: usize,
    cooldown_left: usize,
}

impl Default for ReduceLROnPlateau {
    fn default() -> Self {
        ReduceLROnPlateau {
            monitor: Monitor::new("val_loss", Mode::Auto, 1e-4),
            factor: 0.1,
            patience: 10,
            cooldown: 0,
            min_lr: 0.0,
            wait: 0,
            cooldown_left: 0,
        }
    }
}

impl ReduceLROnPlateau {
    /// Keras's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    monitor_builders!();

    /// What the rate is multiplied by, in (0, 1).
    #[must_use]
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// Epochs without improvement before lowering the rate.
    #[must_use]
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    /// Epochs to wait after lowering the rate before watching again.
    #[must_use]
    pub fn cooldown(mut self, cooldown: usize) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The rate is never lowered below this.
    #[must_use]
    pub fn min_lr(mut self, min_lr: f64) -> Self {
        self.min_lr = min_lr;
        self
    }

    fn validate(&self) -> Result<()> {
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(Error::invalid(
                "factor",
                format!(
                    "ReduceLROnPlateau's factor must be in (0, 1), got {}; Keras's default \
                     is 0.1",
                    self.factor
                ),
            ));
        }
        if !(self.min_lr.is_finite() && self.min_lr >= 0.0) {
            return Err(Error::invalid(
                "min_lr",
                format!(
                    "ReduceLROnPlateau's min_lr must be >= 0, got {}",
                    self.min_lr
                ),
            ));
        }
        Ok(())
    }

    /// Called when the monitored value has not improved this epoch.
    fn on_plateau<F: Float>(&mut self, training: &mut dyn Training<F>) -> Result<()> {
        self.wait += 1;
        if self.wait < self.patience {
            return Ok(());
        }
        let rate = training.learning_rate();
        if rate > self.min_lr {
            training.set_learning_rate((rate * self.factor).max(self.min_lr))?;
            self.cooldown_left = self.cooldown;
            self.wait = 0;
        }
        Ok(())
    }
}

impl<F: Float> Callback<F> for ReduceLROnPlateau {
    fn on_train_begin(&mut self, _: &mut dyn Training<F>) -> Result<()> {
        self.validate()?;
        self.monitor.reset("ReduceLROnPlateau")?;
        self.wait = 0;
        self.cooldown_left = 0;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _: usize,
        logs: &mut Logs,
        training: &mut dyn Training<F>,
    ) -> Result<()> {
        logs.push("learning_rate", training.learning_rate());
        let Some(current) = self.monitor.value(logs, "ReduceLROnPlateau")? else {
            return Ok(());
        };
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.wait = 0;
        }
        // As Keras, the cooldown's last epoch already counts towards the patience.
        if self.monitor.improves(current) {
            self.monitor.set_best(current);
            self.wait = 0;
        } else if self.cooldown_left == 0 {
            self.on_plateau(training)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::callbacks::testing::FakeRun;

    /// The learning rate after each epoch with these losses.
    fn rates(reduce: &mut ReduceLROnPlateau, losses: &[f64]) -> Vec<f64> {
        let mut fake = FakeRun::new(1.0);
        Callback::<f32>::on_train_begin(reduce, &mut fake).unwrap();
        losses
            .iter()
            .enumerate()
            .map(|(epoch, &loss)| {
                let mut logs = Logs::default();
                logs.push("loss", loss);
                reduce.on_epoch_end(epoch, &mut logs, &mut fake).unwrap();
                assert!(logs.get("learning_rate").is_some());
                fake.learning_rate
            })
            .collect()
    }

    #[test]
    fn lowers_the_rate_when_the_value_stalls() {
        let mut reduce = ReduceLROnPlateau::new()
            .monitor("loss")
            .patience(2)
            .factor(0.5);
        let got = rates(&mut reduce, &[1.0, 0.5, 0.5, 0.5, 0.4, 0.4, 0.4]);
        assert_eq!(got, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]);
    }

    #[test]
    fn cooldown_and_min_lr() {
        let mut reduce = ReduceLROnPlateau::new()
            .monitor("loss")
            .patience(1)
            .factor(0.1)
            .cooldown(2)
            .min_lr(0.005);
        let got = rates(&mut reduce, &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
        let expected = [1.0, 0.1, 0.1, 0.01, 0.01, 0.005, 0.005, 0.005];
        for (g, e) in got.iter().zip(expected) {
            assert!((g - e).abs() < 1e-12, "{got:?}");
        }
    }

    #[test]
    fn a_factor_outside_zero_one_is_refused() {
        let mut reduce = ReduceLROnPlateau::new().factor(1.5);
        let error = Callback::<f32>::on_train_begin(&mut reduce, &mut FakeRun::new(1.0));
        assert!(error.unwrap_err().to_string().contains("(0, 1)"));
    }
}
