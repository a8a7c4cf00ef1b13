//! Keras's `LearningRateScheduler`.

use super::{Callback, Training};
use crate::train::Logs;
use crate::{Float, Result};

/// Sets the learning rate at the start of each epoch from a function of the epoch (from
/// 0) and the current rate, as Keras's `LearningRateScheduler`. Adds `learning_rate` to
/// each epoch's logs.
///
/// ```
/// use strata_runtime::train::LearningRateScheduler;
/// // Keep the rate for 10 epochs, then decay it by e^-0.1 each epoch.
/// let scheduler = LearningRateScheduler::new(|epoch, lr| {
///     if epoch < 10 { lr } else { lr * (-0.1f64).exp() }
/// });
/// ```
pub struct LearningRateScheduler {
    schedule: Box<dyn FnMut(usize, f64) -> f64 + Send>,
}

impl LearningRateScheduler {
    /// A scheduler calling `schedule(epoch, current_rate)` before each epoch.
    pub fn new(schedule: impl FnMut(usize, f64) -> f64 + Send + 'static) -> Self {
        LearningRateScheduler {
            schedule: Box::new(schedule),
        }
    }
}

impl std::fmt::Debug for LearningRateScheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LearningRateScheduler")
    }
}

impl<F: Float> Callback<F> for LearningRateScheduler {
    fn on_epoch_begin(&mut self, epoch: usize, training: &mut dyn Training<F>) -> Result<()> {
        let rate = (self.schedule)(epoch, training.learning_rate());
        training.set_learning_rate(rate)
    }

    fn on_epoch_end(
        &mut self,
        _: usize,
        logs: &mut Logs,
        training: &mut dyn Training<F>,
    ) -> Result<()> {
        logs.push("learning_rate", training.learning_rate());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::callbacks::testing::FakeRun;

    #[test]
    fn sets_the_rate_from_the_epoch_and_the_current_rate() {
        let mut scheduler =
            LearningRateScheduler::new(|epoch, lr| if epoch < 2 { lr } else { lr * 0.5 });
        let mut fake = FakeRun::new(0.8);
        let mut seen = Vec::new();
        for epoch in 0..4 {
            scheduler.on_epoch_begin(epoch, &mut fake).unwrap();
            let mut logs = Logs::default();
            scheduler.on_epoch_end(epoch, &mut logs, &mut fake).unwrap();
            seen.push(logs.get("learning_rate").unwrap());
        }
        assert_eq!(seen, [0.8, 0.8, 0.4, 0.2]);
    }
}
