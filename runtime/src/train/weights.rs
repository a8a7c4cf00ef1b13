//! Saving and loading a compiled model's weights, as Keras's compiled model does.

use std::path::Path;

use super::Trainer;
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::{Model, Result};

impl<M, O, L> Trainer<M, O, L>
where
    M: Model,
    O: Optimizer<M::Float>,
    L: Loss<M::Float>,
{
    /// Saves the model's weights to `path`: [`Model::save_weights`].
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        self.model().save_weights(path)
    }

    /// Loads the model's weights from `path`: [`Model::load_weights`]. The optimizer's
    /// state (Adam's moments, its step count) is kept, as in Keras.
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        self.model_mut().load_weights(path)
    }

    /// Loads the model's weights from `path`, converting their float type if it differs:
    /// [`Model::load_weights_converting`].
    pub fn load_weights_converting(&mut self, path: impl AsRef<Path>) -> Result<()> {
        self.model_mut().load_weights_converting(path)
    }
}
