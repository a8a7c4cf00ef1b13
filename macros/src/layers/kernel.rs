//! What Dense and the convolutions share: a kernel, an optional bias, their initializers
//! and an activation on the result, read, laid out and described the same way.

use crate::errors::Errors;
use crate::layers::activated::Activated;
use crate::layers::{Args, ParamSpec};

/// The arguments `activation`, `use_bias`, `kernel_initializer`, `bias_initializer`,
/// with Keras's defaults.
pub struct KernelArgs {
    pub activation: &'static str,
    pub use_bias: bool,
    pub kernel_initializer: &'static str,
    pub bias_initializer: &'static str,
}

impl KernelArgs {
    /// Reads the four arguments; `None` when any is wrong (errors recorded).
    pub fn read(args: &Args, errors: &mut Errors) -> Option<Self> {
        let activation = args.activation("activation", errors);
        let use_bias = args.boolean("use_bias", errors);
        let kernel_initializer = args.initializer("kernel_initializer", errors);
        let bias_initializer = args.initializer("bias_initializer", errors);
        Some(KernelArgs {
            activation: activation?.unwrap_or("linear"),
            use_bias: use_bias?.unwrap_or(true),
            kernel_initializer: kernel_initializer?.unwrap_or("glorot_uniform"),
            bias_initializer: bias_initializer?.unwrap_or("zeros"),
        })
    }

    /// The kernel of `kernel_shape` and, with `use_bias`, a bias of its last axis.
    pub fn params(
        &self,
        kernel_shape: Vec<usize>,
        fan_in: usize,
        fan_out: usize,
    ) -> Vec<ParamSpec> {
        let bias_len = kernel_shape.last().copied().unwrap_or(0);
        let mut params = vec![ParamSpec {
            suffix: "kernel".into(),
            shape: kernel_shape,
            initializer: self.kernel_initializer,
            fan_in,
            fan_out,
            trainable: true,
        }];
        if self.use_bias {
            params.push(ParamSpec {
                suffix: "bias".into(),
                shape: vec![bias_len],
                initializer: self.bias_initializer,
                fan_in,
                fan_out,
                trainable: true,
            });
        }
        params
    }

    /// The activation over rows of `row_len` values, its buffers at `first_buffer`.
    pub fn activated(&self, row_len: usize, first_buffer: usize) -> Activated {
        Activated {
            activation: self.activation,
            row_len,
            first_buffer,
        }
    }

    /// The config members, as Keras's `get_config` lists them.
    pub fn config_json(&self) -> String {
        format!(
            r#""activation": "{}", "use_bias": {}, "kernel_initializer": "{}", "bias_initializer": "{}""#,
            self.activation, self.use_bias, self.kernel_initializer, self.bias_initializer
        )
    }
}

/// Keras's `compute_fans` of a kernel of `shape`: a matrix `[in, out]` as it is; a
/// convolution's `[..window, in, out]` with each side times the window's taps (its
/// receptive field).
pub fn fans(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (*n, *n),
        [window @ .., inputs, outputs] => {
            let taps: usize = window.iter().product();
            (taps.saturating_mul(*inputs), taps.saturating_mul(*outputs))
        }
    }
}
