//! Models of another block or crate used as layers through their declared signatures:
//! named under their layer, one row in `summary()`, their parameters one range of the
//! using model's in their own layout, trained, frozen, saved and loaded as a model of the
//! same block is.

use ndarray::Array2;
use strata::prelude::*;

/// Models defined in a `model!` block of their own.
mod encoders {
    use strata::prelude::*;

    model! {
        pub struct Encoder: [12] -> [4] {
            Dense(8, activation = relu),
            BatchNormalization,
            Dense(4),
        }

        /// [`super::Tuned`] with the encoder of its own block, to compare with.
        pub struct NestedTuned: [6] -> [3] {
            Dense(12, activation = tanh),
            Encoder,
            Dense(3),
        }
    }
}

model! {
    use encoders::Encoder: [12] -> [4];

    /// A model of another block used as a layer, frozen.
    pub struct Classifier: [12] -> [3] {
        Encoder(trainable = false),
        Dense(3),
    }

    /// The same encoder, trainable, after a layer whose gradient flows back through it.
    pub struct Tuned: [6] -> [3] {
        Dense(12, activation = tanh),
        Encoder,
        Dense(3),
    }

    /// The encoder's features beside the scores made from them, to compare with the
    /// encoder on its own.
    pub struct Probe: (x: [12]) -> (features: [4], scores: [3]) {
        let features = Encoder(x);
        (features, Dense(3)(features))
    }

    /// A model of the block that holds a model of another block.
    pub struct Outer: [12] -> [2] {
        Classifier,
        Dense(2),
    }

    /// One encoder applied to two inputs: one set of weights.
    pub struct Twin: (a: [12], b: [12]) -> [1] {
        let encode = Encoder;
        let d = Subtract(encode(a), encode(b));
        Dense(1, activation = sigmoid)(d)
    }
}

model! {
    use strata_encoders::Encoder: [12] -> [4];

    /// A model of another crate used as a layer.
    pub struct FromACrate: (x: [12]) -> (features: [4], scores: [3]) {
        let features = Encoder(name = "features")(x);
        (features, Dense(3)(features))
    }
}

/// The encoder's parameters: 12·8 + 8, BatchNormalization's 4 · 8, 8·4 + 4.
const ENCODER: usize = 12 * 8 + 8 + 4 * 8 + 8 * 4 + 4;

fn data(rows: usize, inputs: usize, outputs: usize) -> Dataset<f32> {
    let x = Array2::from_shape_fn((rows, inputs), |(i, j)| {
        ((i * 7 + j * 3) % 11) as f32 / 11.0
    });
    let y = Array2::from_shape_fn((rows, outputs), |(i, j)| ((i + j) % 3) as f32 / 3.0);
    Dataset::from_rows(x, y).unwrap()
}

fn fit<M: Model<Float = f32>>(trainer: &mut Trainer<M, Adam, MeanSquaredError>) {
    let config = Fit::epochs(2).batch_size(8).verbose(0);
    let data = data(64, M::INPUT_SIZE, M::OUTPUT_SIZE);
    trainer.fit(&data, config).unwrap();
}

fn trainer<M: Model<Float = f32>>(model: M) -> Trainer<M, Adam, MeanSquaredError> {
    model.compile(Adam::new(1e-2), MeanSquaredError::new(), ())
}

#[test]
fn a_foreign_model_is_named_under_its_name_and_summarised_as_one_row() {
    let names: Vec<&str> = Classifier::<f32>::PARAMS.iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "encoder/dense/kernel",
            "encoder/dense/bias",
            "encoder/batch_normalization/gamma",
            "encoder/batch_normalization/beta",
            "encoder/batch_normalization/moving_mean",
            "encoder/batch_normalization/moving_variance",
            "encoder/dense_1/kernel",
            "encoder/dense_1/bias",
            "dense/kernel",
            "dense/bias"
        ]
    );
    let offsets: Vec<usize> = Classifier::<f32>::PARAMS.iter().map(|p| p.offset).collect();
    assert_eq!(offsets, [0, 96, 104, 112, 120, 128, 136, 168, 172, 184]);
    assert!(
        Classifier::<f32>::PARAMS
            .iter()
            .all(|p| p.trainable == p.name.starts_with("dense"))
    );
    assert_eq!(Classifier::<f32>::PARAM_COUNT, ENCODER + 4 * 3 + 3);
    assert_eq!(Classifier::<f32>::TRAINABLE_PARAM_COUNT, 4 * 3 + 3);

    let rows: Vec<(&str, &str, usize, bool)> = Classifier::<f32>::LAYERS
        .iter()
        .map(|l| (l.name, l.kind, l.params, l.trainable))
        .collect();
    assert_eq!(
        rows,
        [
            ("encoder", "Encoder", ENCODER, false),
            ("dense", "Dense", 15, true)
        ]
    );
    let summary = Classifier::new(Seed(1)).summary_string();
    assert!(summary.contains("encoder (Encoder)"), "{summary}");
    assert!(summary.contains(" Trainable params: 15 "), "{summary}");
    let outer: Vec<&str> = Outer::<f32>::PARAMS.iter().map(|p| p.name).collect();
    assert_eq!(outer[0], "classifier/encoder/dense/kernel");
    assert_eq!(outer[8], "classifier/dense/kernel");
    assert_eq!(Outer::<f32>::TRAINABLE_PARAM_COUNT, 15 + 3 * 2 + 2);
    let json = Classifier::<f32>::ARCHITECTURE_JSON;
    assert!(json.contains(r#""model": "encoders::Encoder""#), "{json}");
}

#[test]
fn a_foreign_model_computes_and_trains_as_the_same_model_nested_in_its_block() {
    use encoders::NestedTuned;
    // The same names, layout, rows and initial weights: the foreign model draws its own
    // weights from the same generator, in the same order.
    assert_eq!(Tuned::<f32>::PARAMS, NestedTuned::<f32>::PARAMS);
    assert_eq!(Tuned::<f32>::LAYERS, NestedTuned::<f32>::LAYERS);
    let (tuned, nested) = (Tuned::new(Seed(2)), NestedTuned::new(Seed(2)));
    assert_eq!(tuned.params(), nested.params());

    let (mut tuned, mut nested) = (trainer(tuned), trainer(nested));
    fit(&mut tuned);
    fit(&mut nested);
    // Bit for bit: the same passes and gradients, and the moving statistics of the
    // BatchNormalization inside the encoder updated through it.
    assert_eq!(tuned.model().params(), nested.model().params());
    let moving_mean = tuned
        .model()
        .layer_params("encoder/batch_normalization")
        .unwrap();
    assert!(moving_mean[16..24].iter().any(|&m| m != 0.0));
    let x = ndarray::Array2::from_shape_fn((5, 6), |(i, j)| (i * j) as f32 / 30.0);
    let (a, b) = (
        tuned.predict(x.view().into_dyn()).unwrap(),
        nested.predict(x.view().into_dyn()).unwrap(),
    );
    assert_eq!(a, b);
}

/// The features `model` (whose first output they are) makes for a batch of 5, and the
/// ones `encoder` makes on its own.
fn features_inside_and_alone<M, E>(model: &M, encoder: &E) -> (Vec<f32>, Vec<f32>)
where
    M: Model<Float = f32>,
    E: Model<Float = f32>,
{
    let x: Vec<f32> = (0..5 * 12).map(|i| (i % 17) as f32 / 17.0 - 0.3).collect();
    let features = M::OUTPUTS[0];
    let inside = forward(model, &x)
        .chunks(M::OUTPUT_SIZE)
        .flat_map(|row| features.slice(row).to_vec())
        .collect();
    (inside, forward(encoder, &x))
}

/// `model`'s inference on `x`.
fn forward<M: Model<Float = f32>>(model: &M, x: &[f32]) -> Vec<f32> {
    let n = x.len() / M::INPUT_SIZE;
    let mut ws = M::Workspace::default();
    M::prepare(&mut ws, n);
    model.forward(&mut ws, x, n).to_vec()
}

#[test]
fn a_trained_encoder_fits_inside_the_bigger_model() {
    let mut encoder = trainer(encoders::Encoder::new(Seed(3)));
    fit(&mut encoder);
    let encoder = encoder.into_model();
    let mut probe = Probe::new(Seed(4));
    probe
        .layer_params_mut("encoder")
        .unwrap()
        .copy_from_slice(encoder.params());
    let (inside, alone) = features_inside_and_alone(&probe, &encoder);
    assert_eq!(inside, alone);
}

#[test]
fn a_frozen_foreign_model_stays_bit_identical_while_the_rest_train() {
    let model = Classifier::new(Seed(5));
    let before = model.params().to_vec();
    let mut trainer = trainer(model);
    fit(&mut trainer);
    let after = trainer.model().params();
    // Its moving statistics too: a frozen model's state stays as it is.
    assert_eq!(after[..ENCODER], before[..ENCODER]);
    assert!(
        after[ENCODER..]
            .iter()
            .zip(&before[ENCODER..])
            .all(|(a, b)| a != b)
    );
}

#[test]
fn the_freeze_switch_holds_a_foreign_model_and_lets_it_go_again() {
    let mut trainer = trainer(Tuned::new(Seed(6)));
    let all = trainer.trainable_param_count();
    trainer.set_trainable("encoder", false).unwrap();
    assert_eq!(trainer.trainable_param_count(), all - (ENCODER - 16));
    let trained_part = |params: &[f32]| -> Vec<f32> {
        Tuned::<f32>::PARAMS
            .iter()
            .filter(|p| p.trainable && p.name.starts_with("encoder/"))
            .flat_map(|p| params[p.offset..p.offset + p.len].to_vec())
            .collect()
    };
    let before = trained_part(trainer.model().params());
    fit(&mut trainer);
    assert_eq!(trained_part(trainer.model().params()), before);

    trainer.set_trainable("encoder", true).unwrap();
    fit(&mut trainer);
    assert_ne!(trained_part(trainer.model().params()), before);
    let error = Classifier::new(Seed(7))
        .compile(Adam::new(1e-2), MeanSquaredError::new(), ())
        .set_trainable("encoder", true)
        .unwrap_err()
        .to_string();
    assert!(error.contains("declared `trainable = false`"), "{error}");
}

#[test]
fn a_model_with_a_foreign_model_saves_and_loads_its_weights() {
    let mut trainer = trainer(Tuned::new(Seed(8)));
    fit(&mut trainer);
    let path =
        std::env::temp_dir().join(format!("strata-foreign-{}.safetensors", std::process::id()));
    trainer.model().save_weights(&path).unwrap();
    let mut loaded = Tuned::new(Seed(9));
    loaded.load_weights(&path).unwrap();
    // Its weights file is the one of the same model with the encoder of its own block.
    let mut nested = encoders::NestedTuned::new(Seed(10));
    nested.load_weights(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(loaded.params(), trainer.model().params());
    assert_eq!(nested.params(), trainer.model().params());
}

#[test]
fn a_foreign_model_applied_twice_has_one_set_of_weights() {
    assert_eq!(Twin::<f32>::PARAM_COUNT, ENCODER + 4 + 1);
    let rows: Vec<&str> = Twin::<f32>::LAYERS.iter().map(|l| l.name).collect();
    assert_eq!(rows, ["a", "b", "encoder", "subtract", "dense"]);
    let mut trainer = trainer(Twin::new(Seed(11)));
    let before = trainer.model().params().to_vec();
    fit(&mut trainer);
    assert_ne!(trainer.model().params()[..96], before[..96]);
}

#[test]
fn a_model_of_another_crate_is_a_layer() {
    let encoder = strata_encoders::Encoder::new(Seed(12));
    let mut model = FromACrate::new(Seed(13));
    model
        .layer_params_mut("features")
        .unwrap()
        .copy_from_slice(encoder.params());
    assert_eq!(FromACrate::<f32>::PARAMS[0].name, "features/dense/kernel");
    let (inside, alone) = features_inside_and_alone(&model, &encoder);
    assert_eq!(inside, alone);
}
