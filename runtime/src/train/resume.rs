//! Training checkpoints: saving a run and resuming it exactly.

use std::path::Path;

use super::Trainer;
use crate::checkpoint::{ModelIdentity, RunState, train_state};
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::{AlignedVec, Error, Model, Result, Seed};

impl<M, O, L> Trainer<M, O, L>
where
    M: Model,
    O: Optimizer<M::Float>,
    L: Loss<M::Float>,
{
    /// Saves the run so far to `path`, atomically: the weights, the optimizer's state
    /// (e.g. Adam's moments and step count) and learning rate, the epochs and steps done,
    /// the seed and the history. [`Trainer::resume_from`] continues it exactly.
    ///
    /// [`Fit::backup_and_restore`](super::Fit::backup_and_restore) does this after every
    /// epoch.
    pub fn save_checkpoint(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let run = RunState {
            epochs_done: self.epochs_done,
            steps: self.steps,
            iterations: self.optimizer.iterations(),
            learning_rate: self.optimizer.learning_rate(),
            seed: self.fit_seed.0,
            history: self.history.clone(),
        };
        let name = self.optimizer.name();
        let vectors = self.optimizer.state_vectors();
        let vectors: Vec<(&'static str, &[M::Float])> =
            vectors.iter().map(|(n, v)| (*n, &v[..])).collect();
        train_state::save(
            path.as_ref(),
            identity::<M>(),
            self.model.params(),
            name,
            &vectors,
            &run,
        )
    }

    /// Restores a run saved by [`Trainer::save_checkpoint`]; the next `fit` (with the same
    /// seed, and `epochs` counting the whole run) continues it from the epoch after the
    /// checkpoint's, and its history includes the epochs before.
    ///
    /// The file is read and checked first (its model's architecture, its optimizer, every
    /// tensor's shape and type); on any error the trainer is left as it was.
    pub fn resume_from(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let names: Vec<&'static str> = self
            .optimizer
            .state_vectors()
            .iter()
            .map(|(n, _)| *n)
            .collect();
        let checkpoint =
            train_state::load::<M::Float>(path, identity::<M>(), self.optimizer.name(), &names)?;
        let run = checkpoint.run;
        self.restore_learning_rate(run.iterations, run.learning_rate)?;
        self.model.params_mut().copy_from_slice(&checkpoint.params);
        for ((_, target), (_, saved)) in self
            .optimizer
            .state_vectors()
            .into_iter()
            .zip(checkpoint.optimizer_vectors)
        {
            *target = AlignedVec::from_slice(&saved);
        }
        self.steps = run.steps;
        self.epochs_done = run.epochs_done;
        self.history = run.history;
        self.fit_seed = Seed(run.seed);
        self.resuming = true;
        Ok(())
    }

    /// Sets the step count and, where it was changed during the run (a constant rate that
    /// a callback lowered), the learning rate; changes nothing on error.
    fn restore_learning_rate(&mut self, iterations: u64, learning_rate: f64) -> Result<()> {
        let previous = self.optimizer.iterations();
        self.optimizer.set_iterations(iterations);
        let changed = self.optimizer.learning_rate().to_bits() != learning_rate.to_bits();
        if changed && let Err(error) = self.optimizer.set_learning_rate(learning_rate) {
            self.optimizer.set_iterations(previous);
            return Err(error);
        }
        Ok(())
    }

    /// A resumed run must go on with the seed it started with, or it would not end where
    /// the uninterrupted run ends.
    pub(super) fn check_resumed_seed(&self, seed: Seed) -> Result<()> {
        let saved = self.fit_seed;
        if self.resuming && saved != seed {
            return Err(Error::invalid(
                "seed",
                format!(
                    "the checkpoint's run used seed {}, this fit seed {}; resume with \
                     .seed({}) to continue the same run",
                    saved.0, seed.0, saved.0
                ),
            ));
        }
        Ok(())
    }
}

fn identity<M: Model>() -> ModelIdentity {
    ModelIdentity {
        name: M::NAME,
        params: M::PARAMS,
        architecture: M::ARCHITECTURE_JSON,
        param_count: M::PARAM_COUNT,
    }
}
