//! Keras's `TerminateOnNaN`.

use super::{Callback, Training};
use crate::train::Logs;
use crate::{Float, Result};

/// Stops training when a batch's loss is NaN or infinite, as Keras's `TerminateOnNaN`.
///
/// The bad batch never reaches the weights, and `fit` returns the history so far instead
/// of [`Error::NonFiniteLoss`](crate::Error::NonFiniteLoss), which it returns when no
/// callback stops training.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TerminateOnNaN;

impl<F: Float> Callback<F> for TerminateOnNaN {
    fn on_train_batch_end(
        &mut self,
        _: usize,
        logs: &Logs,
        training: &mut dyn Training<F>,
    ) -> Result<()> {
        if logs.get("loss").is_some_and(|loss| !loss.is_finite()) {
            training.stop_training();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::callbacks::testing::FakeRun;

    #[test]
    fn stops_on_nan_or_infinite_loss_only() {
        for (loss, stops) in [(0.5, false), (f64::NAN, true), (f64::INFINITY, true)] {
            let mut fake = FakeRun::new(0.1);
            let mut logs = Logs::default();
            logs.push("loss", loss);
            TerminateOnNaN
                .on_train_batch_end(0, &logs, &mut fake)
                .unwrap();
            assert_eq!(fake.stopped, stops, "loss {loss}");
        }
    }
}
