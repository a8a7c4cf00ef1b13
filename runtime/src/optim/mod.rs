//! Optimizers: one pass over the flat parameter buffer per step.
//!
//! STUB: the trait is the contract with the trainer; the optimizers are being written.

use std::ops::Range;

use crate::Float;

/// An optimizer updating a flat parameter buffer from a gradient buffer of the same
/// layout.
pub trait Optimizer<F: Float>: Send {
    /// Keras's name, e.g. `"adam"`.
    fn name(&self) -> &'static str;

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate (schedules and callbacks use this).
    fn set_learning_rate(&mut self, learning_rate: f64);

    /// How many steps have been taken.
    fn iterations(&self) -> u64;

    /// One update. `tensors` are the ranges of the trainable parameter tensors (clipping
    /// by norm is per tensor, as in Keras); parameters outside them are not touched.
    /// `grads` may be changed (clipped) in place. Allocates only on the first step.
    fn step(&mut self, params: &mut [F], grads: &mut [F], tensors: &[Range<usize>]);
}
