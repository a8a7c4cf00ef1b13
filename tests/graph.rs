//! The graph form: nested models, frozen layers and the run-time freeze switch, shared
//! layers' single set of weights, and the names `summary()` and checkpoints use.

use ndarray::Array2;
use strata::prelude::*;

model! {
    pub struct Encoder: [12] -> [4] {
        Dense(8, activation = relu),
        Dense(4),
    }

    /// A model used as a layer, frozen.
    pub struct Classifier: [12] -> [3] {
        Encoder(trainable = false),
        Dense(3),
    }

    /// The same encoder, trainable, applied to a value in the graph form.
    pub struct Tuned: (x: [12]) -> [3] {
        let features = Encoder(name = "features")(x);
        Dense(3, activation = softmax)(features)
    }

    /// A block applied twice: one set of weights.
    pub struct Block: [6] -> [6] {
        let h = Dense(6, activation = tanh)(input);
        Add(input, Dense(6)(h))
    }

    pub struct TwoBlocks: [6] -> [6] {
        let block = Block;
        let once = block(input);
        let twice = block(once);
        Block(twice)
    }

    /// A nested model inside a nested model.
    pub struct Outer: [12] -> [3] {
        Classifier,
        Dense(3),
    }

    pub struct NormalizedEncoder: [12] -> [4] {
        Dense(8),
        BatchNormalization(momentum = 0.5),
        Dense(4),
    }

    /// A frozen model holding a BatchNormalization.
    pub struct OnFrozenNormalized: [12] -> [3] {
        NormalizedEncoder(trainable = false),
        Dense(3),
    }
}

fn data(rows: usize, inputs: usize, outputs: usize) -> Dataset<f32> {
    let x = Array2::from_shape_fn((rows, inputs), |(i, j)| {
        ((i * 7 + j * 3) % 11) as f32 / 11.0
    });
    let y = Array2::from_shape_fn((rows, outputs), |(i, j)| ((i + j) % 3) as f32 / 3.0);
    Dataset::from_rows(x, y).unwrap()
}

fn fit<M: Model<Float = f32>>(
    trainer: &mut Trainer<M, Adam, MeanSquaredError>,
    inputs: usize,
    outputs: usize,
) {
    let config = Fit::epochs(2).batch_size(8).verbose(0);
    trainer.fit(&data(64, inputs, outputs), config).unwrap();
}

#[test]
fn a_nested_model_is_named_under_its_name_and_summarised_as_one_row() {
    let names: Vec<&str> = Classifier::<f32>::PARAMS.iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "encoder/dense/kernel",
            "encoder/dense/bias",
            "encoder/dense_1/kernel",
            "encoder/dense_1/bias",
            "dense/kernel",
            "dense/bias"
        ]
    );
    let tuned: Vec<&str> = Tuned::<f32>::PARAMS.iter().map(|p| p.name).collect();
    assert_eq!(tuned[0], "features/dense/kernel");
    let outer: Vec<&str> = Outer::<f32>::PARAMS.iter().map(|p| p.name).collect();
    assert_eq!(outer[0], "classifier/encoder/dense/kernel");
    assert_eq!(outer[4], "classifier/dense/kernel");

    let summary = Classifier::new(Seed(1)).summary_string();
    assert!(summary.contains("encoder (Encoder)"), "{summary}");
    assert!(summary.contains("(None, 4)"), "{summary}");
    assert!(summary.contains(" Trainable params: 15 "), "{summary}");
    assert!(summary.contains(" Non-trainable params: 140 "), "{summary}");
    assert_eq!(Classifier::<f32>::TRAINABLE_PARAM_COUNT, 4 * 3 + 3);
    assert_eq!(Classifier::<f32>::LAYERS.len(), 2);
}

#[test]
fn a_block_applied_three_times_has_one_set_of_weights_per_block_instance() {
    // `block` applied twice shares weights; `Block(twice)` is a second instance.
    assert_eq!(TwoBlocks::<f32>::PARAM_COUNT, 2 * (6 * 6 + 6) * 2);
    let names: Vec<&str> = TwoBlocks::<f32>::LAYERS.iter().map(|l| l.name).collect();
    assert_eq!(names, ["block", "block_1"]);
}

#[test]
fn a_trained_encoder_fits_inside_the_classifier() {
    let encoder = Encoder::new(Seed(3));
    let mut classifier = Classifier::new(Seed(4));
    classifier
        .layer_params_mut("encoder")
        .unwrap()
        .copy_from_slice(encoder.params());
    let x: [f32; 12] = std::array::from_fn(|i| i as f32 / 12.0);
    let features = encoder.predict_one(&x);
    let head = classifier.layer_params("dense").unwrap();
    let expected: Vec<f32> = (0..3)
        .map(|j| (0..4).map(|i| features[i] * head[i * 3 + j]).sum::<f32>() + head[12 + j])
        .collect();
    let got = classifier.predict_one(&x);
    for (g, e) in got.iter().zip(&expected) {
        approx::assert_relative_eq!(*g, *e, max_relative = 1e-5);
    }
    let error = classifier.layer_params("decoder").unwrap_err().to_string();
    assert!(
        error.contains("no layer with parameters named \"decoder\""),
        "{error}"
    );
}

#[test]
fn frozen_parameters_stay_bit_identical_while_the_rest_train() {
    let model = Classifier::new(Seed(5));
    let before = model.params().to_vec();
    let mut trainer = model.compile(Adam::new(1e-2), MeanSquaredError::new(), ());
    fit(&mut trainer, 12, 3);
    let after = trainer.model().params();
    let encoder = 0..140;
    assert_eq!(after[encoder.clone()], before[encoder]);
    assert!(after[140..].iter().zip(&before[140..]).all(|(a, b)| a != b));
}

/// As Keras 3 freezes every layer of a frozen model, a BatchNormalization in one
/// normalizes by its moving statistics in training too, and keeps them.
#[test]
fn a_frozen_models_batch_normalization_keeps_its_moving_statistics() {
    let model = OnFrozenNormalized::new(Seed(5));
    let before = model.layer_params("normalized_encoder").unwrap().to_vec();
    let mut trainer = model.compile(Adam::new(1e-2), MeanSquaredError::new(), ());
    assert_eq!(trainer.trainable_param_count(), 4 * 3 + 3);
    fit(&mut trainer, 12, 3);
    let model = trainer.model();
    assert_eq!(
        model.layer_params("normalized_encoder").unwrap(),
        &before[..]
    );

    let x: Vec<f32> = (0..4 * 12).map(|i| (i % 5) as f32 / 5.0).collect();
    let mut ws = <OnFrozenNormalized as Model>::Workspace::default();
    OnFrozenNormalized::prepare(&mut ws, 4);
    let inference = model.forward(&mut ws, &x, 4).to_vec();
    let training = model.forward_train(&mut ws, &x, 4, &mut Seed(1).rng());
    assert_eq!(
        training,
        &inference[..],
        "normalized by the moving statistics"
    );
}

#[test]
fn the_freeze_switch_holds_a_layer_and_lets_it_go_again() {
    let mut trainer = Tuned::new(Seed(6)).compile(Adam::new(1e-2), MeanSquaredError::new(), ());
    assert_eq!(trainer.trainable_param_count(), 155);
    trainer.set_trainable("features", false).unwrap();
    assert_eq!(trainer.trainable_param_count(), 15);
    let summary = trainer.summary_string();
    assert!(summary.contains(" Non-trainable params: 140 "), "{summary}");
    let before = trainer.model().params().to_vec();
    fit(&mut trainer, 12, 3);
    let frozen = trainer.model().params().to_vec();
    assert_eq!(frozen[..140], before[..140]);
    assert_ne!(frozen[140..], before[140..]);

    trainer.set_trainable("features/dense_1", true).unwrap();
    fit(&mut trainer, 12, 3);
    let after = trainer.model().params();
    assert_eq!(after[..104], frozen[..104], "features/dense stays frozen");
    assert_ne!(
        after[104..140],
        frozen[104..140],
        "features/dense_1 trains again"
    );
}

#[test]
fn the_freeze_switch_refuses_unknown_names_and_layers_frozen_in_the_model() {
    let mut trainer =
        Classifier::new(Seed(7)).compile(Adam::new(1e-2), MeanSquaredError::new(), ());
    let unknown = trainer
        .set_trainable("encodr", false)
        .unwrap_err()
        .to_string();
    assert!(
        unknown.contains("\"encoder/dense\", \"encoder/dense_1\", \"dense\""),
        "{unknown}"
    );
    let fixed = trainer
        .set_trainable("encoder", true)
        .unwrap_err()
        .to_string();
    assert!(fixed.contains("declared `trainable = false`"), "{fixed}");
    assert_eq!(trainer.trainable_param_count(), 15);
}

#[test]
fn a_graph_model_describes_its_connections_in_its_architecture() {
    let json = TwoBlocks::<f32>::ARCHITECTURE_JSON;
    assert!(json.starts_with(r#"{"class_name": "Functional""#), "{json}");
    let block = Block::<f32>::ARCHITECTURE_JSON;
    assert!(block.contains(r#""class_name": "Add""#), "{block}");
    assert!(
        block.contains(r#""inbound_nodes": [["input", "dense_1"]]"#),
        "{block}"
    );
}

model! {
    /// The README's two-input, two-output example.
    pub struct Siamese: (a: [20, 64], b: [20, 64]) -> (same: [1], embedding: [32]) {
        let encode = Dense(32, activation = relu);
        let ea = Flatten(encode(a));
        let eb = Flatten(encode(b));
        let embedding = Dense(32)(Subtract(ea, eb));
        (Dense(1, activation = sigmoid)(embedding), embedding)
    }

    /// Fashion-MNIST's top and bottom halves, one shared encoder.
    pub struct Halves: (top: [392], bottom: [392]) -> [10] {
        let encode = Dense(64, activation = relu);
        Dense(10)(Concatenate(encode(top), encode(bottom)))
    }
}

#[test]
fn a_graph_summary_lists_layers_in_the_order_they_run() {
    let kinds: Vec<&str> = Siamese::<f32>::LAYERS.iter().map(|l| l.kind).collect();
    assert_eq!(
        kinds,
        [
            "InputLayer",
            "InputLayer",
            "Dense",
            "Flatten",
            "Flatten",
            "Subtract",
            "Dense",
            "Dense"
        ]
    );
    let last = Siamese::<f32>::LAYERS.last().unwrap();
    assert_eq!((last.name, last.output_shape), ("dense_2", &[1][..]));
    assert_eq!(Siamese::<f32>::OUTPUT_SIZE, 33);
}

#[test]
fn a_two_input_model_learns_fashion_mnist_from_its_halves() {
    use ndarray::s;
    let (train, test) = strata::datasets::fashion_mnist::load().unwrap();
    let halves = |data: &Dataset<f32>| {
        let x = data.x();
        let (top, bottom) = (x.slice(s![.., ..392]), x.slice(s![.., 392..]));
        Dataset::packed(&[top.into_dyn(), bottom.into_dyn()], &[data.y().into_dyn()]).unwrap()
    };
    let mut trainer = Halves::new(Seed(1)).compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy],
    );
    trainer
        .fit(&halves(&train), Fit::epochs(1).batch_size(64).verbose(0))
        .unwrap();
    let accuracy = trainer
        .evaluate(&halves(&test))
        .unwrap()
        .get("accuracy")
        .unwrap();
    assert!(accuracy >= 0.80, "test accuracy {accuracy}");
}
