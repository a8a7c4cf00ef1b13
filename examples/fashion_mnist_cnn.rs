//! Trains a convnet on Fashion-MNIST and reports its test accuracy after each epoch: by
//! default Keras's classic convnet with BatchNormalization after each convolution and a
//! hidden Dense layer, Adam's learning rate decaying from 1e-3 to 0 along a cosine over the
//! run; with `keras`, Keras's convnet as it is, with Adam at 1e-3 throughout.
//!
//! Run with `cargo run --release --example fashion_mnist_cnn`, optionally followed by the
//! number of epochs (15 by default) and `keras`.

mod common;

use common::train_and_report;
use strata::optim::CosineDecay;
use strata::prelude::*;

model! {
    /// Keras's Fashion-MNIST convnet, channels-last, with BatchNormalization after each
    /// convolution (which then needs no bias: beta plays its part), before its activation, and a
    /// hidden Dense layer.
    pub struct ConvNetBn: [28, 28, 1] -> [10] {
        Conv2D(32, kernel_size = 3, use_bias = false),
        BatchNormalization,
        Activation(relu),
        MaxPooling2D(2),
        Conv2D(64, kernel_size = 3, use_bias = false),
        BatchNormalization,
        Activation(relu),
        MaxPooling2D(2),
        Flatten,
        Dropout(0.5),
        Dense(128, activation = relu),
        Dense(10),
    }

    /// Keras's Fashion-MNIST convnet, channels-last.
    pub struct ConvNet: [28, 28, 1] -> [10] {
        Conv2D(32, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Conv2D(64, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Flatten,
        Dropout(0.5),
        Dense(10),
    }
}

fn main() -> Result<(), strata::Error> {
    let usage = || -> ! {
        eprintln!("usage: fashion_mnist_cnn [epochs] [keras]");
        std::process::exit(2)
    };
    let mut epochs = 15;
    let mut keras = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "keras" => keras = true,
            number => epochs = number.parse().unwrap_or_else(|_| usage()),
        }
    }
    let data = strata::datasets::fashion_mnist::load()?;
    if keras {
        train_and_report(ConvNet::new(Seed(42)), Adam::new(1e-3), epochs, &data)
    } else {
        let steps = epochs * data.0.len().div_ceil(64);
        let decay = CosineDecay::new(1e-3, steps as u64);
        train_and_report(ConvNetBn::new(Seed(42)), Adam::new(decay), epochs, &data)
    }
}
