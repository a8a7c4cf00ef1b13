pub mod global_pool;
pub mod pool;

/// What a pooling layer keeps of its window.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PoolOp {
    /// The largest value (its place kept, u32, for the backward pass).
    Max,
    /// The mean of the window's cells inside the input.
    Average,
}
