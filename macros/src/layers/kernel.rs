//! What Dense and the convolutions share: a kernel, an optional bias, their initializers
//! and an activation on the result, read, laid out and described the same way.

use strata_vocabulary::{Activation, Initializer};

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::activated::Activated;
use crate::layers::penalties::{self, Held};
use crate::layers::{Args, Weight};

/// The arguments `activation`, `use_bias`, `kernel_initializer`, `bias_initializer`,
/// with Keras's defaults.
#[derive(Clone)]
pub struct KernelArgs {
    pub activation: Activation,
    pub use_bias: bool,
    pub kernel_initializer: Initializer,
    pub bias_initializer: Initializer,
    pub kernel: Held,
    pub bias: Held,
}

impl KernelArgs {
    /// Reads the four arguments; `None` when any is wrong (errors recorded).
    pub fn read(args: &Args, errors: &mut Errors) -> Option<Self> {
        let activation = args.activation("activation", errors);
        let use_bias = args.boolean("use_bias", errors);
        let kernel_initializer = args.initializer("kernel_initializer", errors);
        let bias_initializer = args.initializer("bias_initializer", errors);
        let kernel = Held::read(args, "kernel_regularizer", "kernel_constraint", errors);
        let bias = Held::read(args, "bias_regularizer", "bias_constraint", errors);
        Some(KernelArgs {
            kernel: kernel?,
            bias: bias?,
            activation: activation?.unwrap_or(Activation::Linear),
            use_bias: use_bias?.unwrap_or(true),
            kernel_initializer: kernel_initializer?.unwrap_or(Initializer::GlorotUniform),
            bias_initializer: bias_initializer?.unwrap_or(Initializer::Zeros),
        })
    }

    /// The kernel of `kernel_shape`, with Keras's fans, and, with `use_bias`, a bias of
    /// its last axis with the same fans.
    pub fn weights(&self, kernel_shape: Vec<usize>) -> Vec<Weight> {
        let bias_len = kernel_shape.last().copied().unwrap_or(0);
        let kernel = Weight::new("kernel", kernel_shape, self.kernel_initializer);
        let (fan_in, fan_out) = (kernel.fan_in, kernel.fan_out);
        let bias = self.use_bias.then(|| {
            let bias = Weight::new("bias", vec![bias_len], self.bias_initializer);
            self.bias.hold(bias.fans(fan_in, fan_out))
        });
        let kernel = self.kernel.hold(kernel);
        std::iter::once(kernel).chain(bias).collect()
    }

    /// The activation over rows of `row_len` values.
    pub fn activated(&self, row_len: usize) -> Activated {
        Activated {
            activation: self.activation,
            row_len,
        }
    }

    /// The config members, as Keras's `get_config` lists them.
    pub fn config(&self) -> Vec<(&'static str, Json)> {
        let mut config = vec![
            ("activation", Json::str(self.activation.name())),
            ("use_bias", Json::Bool(self.use_bias)),
            (
                "kernel_initializer",
                Json::str(self.kernel_initializer.name()),
            ),
            ("bias_initializer", Json::str(self.bias_initializer.name())),
        ];
        config.extend(penalties::config(&[&self.kernel, &self.bias]));
        config
    }
}
