//! Trains a small residual network on Fashion-MNIST: a model of the same block used as a
//! layer (`ResBlock`, twice, each with its own weights), its input added back to its
//! output in the graph form. Reports the test accuracy.
//!
//! Run with `cargo run --release --example fashion_mnist_resnet` (optionally followed by
//! the number of epochs, 5 by default).

mod common;

use strata::prelude::*;

model! {
    /// Two 3x3 convolutions with the block's input added back: He et al.'s basic block.
    pub struct ResBlock: [14, 14, 32] -> [14, 14, 32] {
        let h = Conv2D(32, kernel_size = 3, padding = same, activation = relu)(input);
        let h = Conv2D(32, kernel_size = 3, padding = same)(h);
        Activation(relu)(Add(input, h))
    }

    /// A stem, two residual blocks, and a classifier.
    pub struct ResNet: [28, 28, 1] -> [10] {
        Conv2D(32, kernel_size = 3, padding = same, activation = relu),
        MaxPooling2D(2),
        ResBlock,
        ResBlock,
        MaxPooling2D(2),
        Flatten,
        Dense(10),
    }
}

fn main() -> Result<(), strata::Error> {
    let epochs = common::epochs_from_args(5, "fashion_mnist_resnet [epochs]");
    let data = strata::datasets::fashion_mnist::load()?;
    common::train_and_report(ResNet::new(Seed(42)), Adam::new(1e-3), epochs, &data)
}
