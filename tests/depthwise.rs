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

#[test]
fn depthwise_and_separable_have_keras_names_shapes_and_parameter_counts() {
    // DepthwiseConv2D(3, depth_multiplier = 2) on [28, 28, 1]: 3·3·1·2 + 2 = 20;
    // SeparableConv2D(8, 3) on [26, 26, 2]: 3·3·2·1 + 2·8 + 8 = 42; Dense: 8·10 + 10.
    assert_eq!(MobileStem::<f32>::PARAM_COUNT, 20 + 42 + 90);
    let params: Vec<(&str, &[usize])> = MobileStem::<f32>::PARAMS
        .iter()
        .map(|p| (p.name, p.shape))
        .collect();
    assert_eq!(
        params,
        [
            ("depthwise_conv2d/depthwise_kernel", &[3, 3, 1, 2][..]),
            ("depthwise_conv2d/bias", &[2][..]),
            ("separable_conv2d/depthwise_kernel", &[3, 3, 2, 1][..]),
            ("separable_conv2d/pointwise_kernel", &[1, 1, 2, 8][..]),
            ("separable_conv2d/bias", &[8][..]),
            ("dense/kernel", &[8, 10][..]),
            ("dense/bias", &[10][..]),
        ]
    );
    let layers: Vec<(&str, &str, &[usize], usize)> = MobileStem::<f32>::LAYERS
        .iter()
        .map(|l| (l.name, l.kind, l.output_shape, l.params))
        .collect();
    assert_eq!(
        layers,
        [
            ("depthwise_conv2d", "DepthwiseConv2D", &[26, 26, 2][..], 20),
            ("separable_conv2d", "SeparableConv2D", &[24, 24, 8][..], 42),
            (
                "global_average_pooling2d",
                "GlobalAveragePooling2D",
                &[8][..],
                0
            ),
            ("dense", "Dense", &[10][..], 90),
        ]
    );
    let summary = MobileStem::new(Seed(1)).summary_string();
    // Keras wraps a name and type longer than the column onto a second line.
    for row in [
        "│ depthwise_conv2d                │ (None, 26, 26, 2)      │            20 │\n\
         │ (DepthwiseConv2D)               │",
        "│ separable_conv2d                │ (None, 24, 24, 8)      │            42 │\n\
         │ (SeparableConv2D)               │",
        "Total params: 152",
    ] {
        assert!(summary.contains(row), "{row} not in\n{summary}");
    }
}

#[test]
fn the_1d_layers_and_every_argument_have_keras_shapes() {
    let params: Vec<(&str, &[usize])> = Configured::<f32>::PARAMS
        .iter()
        .map(|p| (p.name, p.shape))
        .collect();
    assert_eq!(
        params,
        [
            ("depthwise_conv2d/depthwise_kernel", &[2, 3, 3, 2][..]),
            ("separable_conv2d/depthwise_kernel", &[3, 1, 6, 3][..]),
            ("separable_conv2d/pointwise_kernel", &[1, 1, 18, 4][..]),
            ("separable_conv2d/bias", &[4][..]),
            ("depthwise_conv1d/depthwise_kernel", &[2, 4, 1][..]),
            ("depthwise_conv1d/bias", &[4][..]),
            ("separable_conv1d/depthwise_kernel", &[2, 4, 1][..]),
            ("separable_conv1d/pointwise_kernel", &[1, 4, 5][..]),
            ("separable_conv1d/bias", &[5][..]),
            ("dense/kernel", &[15, 2][..]),
            ("dense/bias", &[2][..]),
        ]
    );
    let shapes: Vec<&[usize]> = Configured::<f32>::LAYERS
        .iter()
        .map(|l| l.output_shape)
        .collect();
    assert_eq!(
        shapes[1..5],
        [&[4, 2, 6][..], &[2, 2, 4][..], &[4, 4][..], &[3, 4][..]]
    );
    // bias_initializer = ones reached the separable bias.
    let model = Configured::new(Seed(2));
    let bias = Configured::<f32>::PARAMS[3];
    assert_eq!(
        model.params()[bias.offset..bias.offset + bias.len],
        [1.0; 4]
    );
}

#[test]
fn architecture_json_has_keras_get_config_keys() {
    let json = MobileStem::<f32>::ARCHITECTURE_JSON;
    for config in [
        r#"{"class_name": "DepthwiseConv2D", "config": {"name": "depthwise_conv2d", "trainable": true, "depth_multiplier": 2, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear", "use_bias": true, "depthwise_initializer": "glorot_uniform", "bias_initializer": "zeros"}, "output_shape": [26, 26, 2]}"#,
        r#"{"class_name": "SeparableConv2D", "config": {"name": "separable_conv2d", "trainable": true, "depth_multiplier": 1, "filters": 8, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear", "use_bias": true, "depthwise_initializer": "glorot_uniform", "pointwise_initializer": "glorot_uniform", "bias_initializer": "zeros"}, "output_shape": [24, 24, 8]}"#,
    ] {
        assert!(json.contains(config), "{config}\nnot in\n{json}");
    }
    let json = Configured::<f32>::ARCHITECTURE_JSON;
    for config in [
        r#""depth_multiplier": 2, "kernel_size": [2, 3], "strides": [1, 2], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "relu", "use_bias": false, "depthwise_initializer": "he_normal", "bias_initializer": "zeros""#,
        r#""depth_multiplier": 3, "filters": 4, "kernel_size": [3, 1], "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "tanh", "use_bias": true, "depthwise_initializer": "lecun_normal", "pointwise_initializer": "orthogonal", "bias_initializer": "ones""#,
        r#"{"class_name": "DepthwiseConv1D", "config": {"name": "depthwise_conv1d", "trainable": true, "depth_multiplier": 1, "kernel_size": [2], "strides": [1]"#,
        r#"{"class_name": "SeparableConv1D", "config": {"name": "separable_conv1d", "trainable": true, "depth_multiplier": 1, "filters": 5, "kernel_size": [2], "strides": [1], "padding": "same""#,
    ] {
        assert!(json.contains(config), "{config}\nnot in\n{json}");
    }
}

#[test]
fn depthwise_weights_round_trip_through_safetensors() {
    let saved = MobileStem::new(Seed(1));
    let mut loaded = MobileStem::new(Seed(2));
    assert_ne!(saved.params(), loaded.params());
    let path = std::env::temp_dir().join(format!(
        "strata-depthwise-{}.safetensors",
        std::process::id()
    ));
    saved.save_weights(&path).unwrap();
    loaded.load_weights(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(saved.params(), loaded.params());
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
