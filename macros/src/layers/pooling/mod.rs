//! Pooling: over windows (`MaxPooling2D`), and over the whole map (`GlobalMaxPooling2D`).

pub mod global_pool;
pub mod pool;

use crate::layers::ShapeError;
use crate::size;

/// The buffer of a max pooling: the place of each maximum, for the backward pass.
pub const ARGMAX: &str = "argmax";

/// What a pooling layer keeps of its window.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PoolOp {
    /// The largest value (its place kept, u32, for the backward pass).
    Max,
    /// The mean of the window's cells inside the input.
    Average,
}

/// Max pooling keeps the place of each winner as a `u32` index into its sample.
pub fn check_indexable(kind: &str, input: &[usize]) -> Result<(), ShapeError> {
    let len = size::product(input);
    if u32::try_from(len).is_ok() {
        return Ok(());
    }
    Err(ShapeError::new(format!(
        "{kind} keeps the place of each maximum as a 32-bit index, but a sample of {len} values \
         has more places than that"
    ))
    .help("downsample the input before it, e.g. with a strided Conv2D"))
}
