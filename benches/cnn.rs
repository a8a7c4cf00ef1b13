//! The convnet without Dropout (Conv2D 32 - MaxPooling2D - Conv2D 64 -
//! MaxPooling2D - Flatten - Dense 10): one Adam training step at batch 64 and an epoch of
//! `fit`, at one and two threads, and inference at batch 1024, in samples per second; and
//! the training step of `examples/fashion_mnist_cnn.rs`'s default network, with
//! BatchNormalization before each relu.
//!
//! cargo bench --bench cnn

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use strata::prelude::*;

model! {
    pub struct ConvNet: [28, 28, 1] -> [10] {
        Conv2D(32, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Conv2D(64, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Flatten,
        Dense(10),
    }

    /// The example's default: BatchNormalization between each convolution and its relu.
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
}

fn convnet() -> ConvNet {
    ConvNet::new(Seed(42))
}

fn convnet_bn() -> ConvNetBn {
    ConvNetBn::new(Seed(42))
}

fn training_step(c: &mut Criterion) {
    common::training_steps(c, "cnn_train_step_batch64", convnet);
    common::fit_epochs(c, "cnn_fit_epoch_batch64", convnet);
    common::training_steps(c, "cnn_bn_train_step_batch64", convnet_bn);
}

fn inference(c: &mut Criterion) {
    common::batch_inference(c, "cnn_inference", convnet);
}

criterion_group!(benches, training_step, inference);
criterion_main!(benches);
