//! Saving and loading: weights as safetensors files, written atomically.
//!
//! [`Model::save_weights`](crate::Model::save_weights) writes one tensor per parameter,
//! named and laid out as Keras names and lays them out (`dense/kernel` is `[inputs, units]`,
//! `dense/bias`), in the model's float type, with the model's name, its architecture and
//! the strata version in the header's metadata. Any safetensors file with those names and
//! layouts loads, whichever tool wrote it.
//!
//! [`Model::load_weights`](crate::Model::load_weights) reads and checks the whole file
//! before it changes the model: a missing, unexpected or misshapen tensor, another float
//! type, a truncated or corrupt file all fail with an [`Error::Format`](crate::Error) that
//! lists every mismatch, and the model stays as it was. A hostile file can make it read
//! no more than a bounded header and the model's own size.
//!
//! Every file is written by [`write_atomically`]: a crash or a kill during a save leaves
//! the previous file intact.

mod atomic;
mod codec;
mod header;
mod training;
mod weights;

pub use atomic::write_atomically;
pub use header::{TensorEntry, WeightsHeader};
pub(crate) use training::{ModelIdentity, RunState};
pub(crate) use weights::{Dtypes, load, save};

pub(crate) mod train_state {
    pub(crate) use super::training::{load, save};
}
