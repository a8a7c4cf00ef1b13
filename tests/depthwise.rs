//! DepthwiseConv2D and SeparableConv2D (and their 1-D forms): Keras's names, shapes,
//! parameter counts and config, a weights round trip, and a short training run.

use ndarray::Array2;
use strata::Model;
use strata::prelude::*;

model! {
    /// The brief's stack: a depthwise convolution, then a separable one.
    pub struct MobileStem: [28, 28, 1] -> [10] {
        DepthwiseConv2D(3, depth_multiplier = 2),
        SeparableConv2D(8, kernel_size = 3),
        GlobalAveragePooling2D,
        Dense(10),
    }

    /// Every argument away from its default, and the 1-D layers.
    struct Configured: [12, 3] -> [2] {
        Reshape([4, 3, 3]),
        DepthwiseConv2D([2, 3], strides = [1, 2], padding = same, depth_multiplier = 2,
            dilation_rate = 1, activation = relu, use_bias = false,
            depthwise_initializer = he_normal),
        SeparableConv2D(4, [3, 1], strides = 1, padding = valid, dilation_rate = [1, 1],
            depth_multiplier = 3, activation = tanh, depthwise_initializer = lecun_normal,
            pointwise_initializer = orthogonal, bias_initializer = ones),
        Reshape([4, 4]),
        DepthwiseConv1D(2),
        SeparableConv1D(5, 2, padding = same),
        Flatten,
        Dense(2),
    }

    /// Tells horizontal stripes from vertical ones.
    pub struct Stripes: [12, 12, 1] -> [2] {
        DepthwiseConv2D(3, depth_multiplier = 4, padding = same, activation = relu),
        SeparableConv2D(8, kernel_size = 3, strides = 2, activation = relu),
        GlobalAveragePooling2D,
        Dense(2),
    }
}

/// `samples` 12×12 images of stripes with a random phase and period, horizontal for
/// class 0 and vertical for class 1, with their labels.
fn stripes(samples: usize) -> (ndarray::ArrayD<f32>, ndarray::ArrayD<f32>) {
    use rand::Rng as _;
    let mut rng = Seed(5).rng();
    let mut x = Vec::with_capacity(samples * 144);
    let mut y = Vec::with_capacity(samples);
    for i in 0..samples {
        let class = i % 2;
        let (phase, period) = (rng.random_range(0.0..6.3f32), rng.random_range(2.5..4.0f32));
        for row in 0..12 {
            for column in 0..12 {
                let along = if class == 0 { row } else { column } as f32;
                let noise = rng.random_range(-0.2..0.2f32);
                x.push((along * std::f32::consts::TAU / period + phase).sin() + noise);
            }
        }
        y.push(class as f32);
    }
    let x = Array2::from_shape_vec((samples, 144), x).unwrap();
    let x = x.into_shape_with_order((samples, 12, 12, 1)).unwrap();
    let y = Array2::from_shape_vec((samples, 1), y).unwrap();
    (x.into_dyn(), y.into_dyn())
}

#[test]
fn a_depthwise_separable_network_learns_stripes() {
    let (x, y) = stripes(64);
    let loss = SparseCategoricalCrossentropy::from_logits();
    let mut trainer = Stripes::new(Seed(3)).compile(Adam::new(1e-2), loss, ());
    let loss_of = |logs: &strata::train::Logs| logs.get("loss").unwrap();
    let first = loss_of(&trainer.test_on_batch(x.view(), y.view()).unwrap());
    for _ in 0..60 {
        trainer.train_on_batch(x.view(), y.view()).unwrap();
    }
    let last = loss_of(&trainer.test_on_batch(x.view(), y.view()).unwrap());
    assert!(
        last < 0.5 * first,
        "the loss went from {first} to {last} in 60 steps"
    );
}
