//! The convnet: Keras's names, shapes and config for every new layer, a weights
//! round trip, and training on real Fashion-MNIST, without and with BatchNormalization.

mod common;

use strata::prelude::*;

model! {
    /// Keras's classic Fashion-MNIST convnet.
    pub struct ConvNet: [28, 28, 1] -> [10] {
        Conv2D(32, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Conv2D(64, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Flatten,
        Dropout(0.5),
        Dense(10),
    }

    /// The example's network: BatchNormalization after each convolution, a hidden Dense.
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

    /// Every other new layer, for its config.
    struct Others: [16, 3] -> [4] {
        Conv1D(8, 3, strides = 2, padding = same, dilation_rate = 1, use_bias = false),
        MaxPooling1D(2),
        AveragePooling1D(pool_size = 2, strides = 1, padding = same),
        Reshape([4, 8, 1]),
        ZeroPadding2D([[1, 0], [2, 3]]),
        UpSampling2D([1, 2]),
        AveragePooling2D([2, 3], strides = [1, 2]),
        GlobalMaxPooling2D,
        Reshape([1, 1]),
        GlobalAveragePooling1D,
        Dense(4),
    }
}

model! {
    /// Convolutions read only by a max pooling: each pools its own output a chunk at a
    /// time, never writing the whole map.
    pub struct Pooling: [12, 12, 2] -> [5] {
        Conv2D(4, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Conv2D(3, kernel_size = 2),
        MaxPooling2D(2, strides = 1),
        Flatten,
        Dense(5),
    }

    /// The same network, with a layer between each convolution and its pooling that
    /// changes nothing but keeps them apart.
    pub struct PoolingApart: [12, 12, 2] -> [5] {
        Conv2D(4, kernel_size = 3, activation = relu),
        Activation(linear),
        MaxPooling2D(2),
        Conv2D(3, kernel_size = 2),
        Activation(linear),
        MaxPooling2D(2, strides = 1),
        Flatten,
        Dense(5),
    }
}

model! {
    /// BatchNormalization between a convolution and its pooling: the relu after it pools
    /// its own output.
    pub struct NormalizedPooling: [12, 12, 2] -> [5] {
        Conv2D(4, kernel_size = 3, use_bias = false),
        BatchNormalization,
        Activation(relu),
        MaxPooling2D(2),
        Flatten,
        Dense(5),
    }

    /// The same, with a Reshape that changes nothing keeping the relu and the pooling apart.
    pub struct NormalizedPoolingApart: [12, 12, 2] -> [5] {
        Conv2D(4, kernel_size = 3, use_bias = false),
        BatchNormalization,
        Activation(relu),
        Reshape([10, 10, 4]),
        MaxPooling2D(2),
        Flatten,
        Dense(5),
    }
}

/// Losses, trained weights and predictions of two models, bit for bit, at 1 and 2 threads.
fn assert_trained_alike<A, B>(a: A, b: B)
where
    A: Model<Float = f32> + Clone,
    B: Model<Float = f32> + Clone,
{
    use ndarray::Array2;
    let samples = 40;
    let x = Array2::from_shape_fn((samples, 12 * 12 * 2), |(i, j)| {
        ((i * 31 + j * 17) % 23) as f32 / 11.0 - 1.0
    })
    .into_shape_with_order((samples, 12, 12, 2))
    .unwrap()
    .into_dyn();
    let y = Array2::from_shape_fn((samples, 1), |(i, _)| (i % 5) as f32).into_dyn();
    assert_eq!(a.params(), b.params());
    let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for threads in [1, 2] {
        let loss = SparseCategoricalCrossentropy::from_logits();
        let mut a = a.clone().compile(Adam::new(1e-2), loss, ());
        let mut b = b.clone().compile(Adam::new(1e-2), loss, ());
        a.set_threads(threads).unwrap();
        b.set_threads(threads).unwrap();
        for _ in 0..5 {
            let loss = |logs: &strata::train::Logs| logs.get("loss").unwrap().to_bits();
            let (la, lb) = (
                a.train_on_batch(x.view(), y.view()).unwrap(),
                b.train_on_batch(x.view(), y.view()).unwrap(),
            );
            assert_eq!(loss(&la), loss(&lb), "loss at {threads} threads");
        }
        let (pa, pb) = (a.model().params(), b.model().params());
        assert_eq!(bits(pa), bits(pb), "trained weights at {threads} threads");
        let (pa, pb) = (a.predict(x.view()).unwrap(), b.predict(x.view()).unwrap());
        assert_eq!(bits(pa.as_slice().unwrap()), bits(pb.as_slice().unwrap()));
    }
}

#[test]
fn a_relu_pooling_its_own_output_computes_what_the_layers_apart_compute_bit_for_bit() {
    assert_trained_alike(
        NormalizedPooling::new(Seed(5)),
        NormalizedPoolingApart::new(Seed(5)),
    );
}

#[test]
fn a_convolution_pooling_its_own_output_computes_what_the_layers_apart_compute_bit_for_bit() {
    assert_trained_alike(Pooling::new(Seed(3)), PoolingApart::new(Seed(3)));
    let layers =
        |table: &[strata::LayerInfo]| table.iter().filter(|l| l.kind == "MaxPooling2D").count();
    assert_eq!(
        layers(<Pooling as Model>::LAYERS),
        2,
        "the poolings keep their summary rows"
    );
    assert_eq!(layers(<PoolingApart as Model>::LAYERS), 2);
}

#[test]
fn a_convnet_splits_its_batch_across_threads() {
    assert_eq!(Parallelism::for_model::<ConvNet>(), Parallelism::Batch);
}

#[test]
fn fashion_mnist_convnet_reaches_083_test_accuracy_after_one_epoch() {
    let accuracy = common::fashion_mnist_accuracy_after_one_epoch(ConvNet::new(Seed(42)));
    assert!(accuracy >= 0.83, "test accuracy {accuracy} after one epoch");
}

#[test]
fn fashion_mnist_convnet_with_batch_normalization_reaches_085_after_one_epoch() {
    // Inference normalizes by the moving statistics that the epoch left.
    let accuracy = common::fashion_mnist_accuracy_after_one_epoch(ConvNetBn::new(Seed(42)));
    assert!(accuracy >= 0.85, "test accuracy {accuracy} after one epoch");
}
