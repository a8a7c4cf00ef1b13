//! The arithmetic: forward and backward functions on slices, one file per layer family.
//!
//! Generated code calls these with its compile-time dimensions; every buffer is a
//! row-major slice whose first dimension is the batch (times any leading dimensions).
//! Functions overwrite their outputs unless they say otherwise.

mod activation;
mod conv;
mod dense;
mod depthwise;
mod dropout;
mod embedding;
mod matmul;
mod merge;
mod normalization;
mod pool;
mod recurrent;
mod reshaping;
mod window;

pub use activation::{Activation, activation_backward, activation_forward};
pub use conv::{
    CHUNK_VALUES, Conv2dGeometry, ConvOutputGrad, conv2d_backward, conv2d_backward_with,
    conv2d_forward, conv2d_forward_activated, conv2d_max_pool_forward,
};
pub use dense::{dense_backward, dense_forward};
pub use depthwise::{DepthwiseGeometry, depthwise_conv2d_backward, depthwise_conv2d_forward};
pub use dropout::{dropout_backward, dropout_forward_train};
pub use embedding::{embedding_backward, embedding_forward, token};
pub use matmul::matmul;
pub(crate) use matmul::split::join_owned;
pub use matmul::split::with_split_products;
pub use merge::{
    DotSide, MergeOp, accumulate, column_slice, concatenate_backward, concatenate_forward,
    dot_backward, dot_forward, merge_backward, merge_forward, unpack_backward, unpack_forward,
};
pub use normalization::{
    batch_norm_backward, batch_norm_backward_inference, batch_norm_forward_inference,
    batch_norm_forward_train, batch_norm_update_moving, layer_norm_backward, layer_norm_forward,
};
pub use pool::{
    average_pool2d_backward, average_pool2d_forward, global_average_pool_backward,
    global_average_pool_forward, global_max_pool_backward, global_max_pool_forward, global_window,
    max_pool2d_backward, max_pool2d_backward_activated, max_pool2d_forward,
    max_pool2d_forward_activated,
};
pub use recurrent::{
    Cell, Merge, Recurrence, RecurrentGrads, RecurrentWeights, RunStateGrads, RunStates, States,
    StatesMut, bidirectional_backward, bidirectional_forward, bidirectional_input_grad,
    recurrent_backward, recurrent_forward,
};
pub use reshaping::{
    upsampling2d_backward, upsampling2d_forward, zero_padding2d_backward, zero_padding2d_forward,
};
pub use window::{Padding, Window2d, window_axis};

/// Finite-difference gradient checks, shared by the kernels' tests.
#[cfg(test)]
pub(crate) mod gradcheck {
    use rand::Rng as _;

    /// Values with magnitudes in [0.1, 2] and random signs: far enough from 0 that a
    /// finite difference never straddles relu's kink.
    pub(crate) fn random_away_from_zero(len: usize, rng: &mut crate::Rng) -> Vec<f64> {
        (0..len)
            .map(|_| {
                let magnitude = rng.random_range(0.1..2.0);
                if rng.random() { magnitude } else { -magnitude }
            })
            .collect()
    }

    /// Asserts that `gradient` is the gradient of `loss` at `x`, to a relative 1e-6 of
    /// central differences.
    pub(crate) fn assert_gradient_matches(
        what: &str,
        loss: impl Fn(&[f64]) -> f64,
        x: &[f64],
        gradient: &[f64],
    ) {
        assert_eq!(x.len(), gradient.len(), "{what}: gradient length");
        let h = 1e-5;
        let mut probe = x.to_vec();
        for i in 0..x.len() {
            probe[i] = x[i] + h;
            let up = loss(&probe);
            probe[i] = x[i] - h;
            let down = loss(&probe);
            probe[i] = x[i];
            let numeric = (up - down) / (2.0 * h);
            let tolerance = 1e-6 * numeric.abs().max(gradient[i].abs()) + 1e-9;
            assert!(
                (numeric - gradient[i]).abs() <= tolerance,
                "{what}[{i}]: analytic {} but finite differences give {numeric}",
                gradient[i]
            );
        }
    }
}
