//! The layer harness, in the manner of Keras's `run_layer_test`: one call checks a layer
//! as a model of that layer would show it, against what Keras says of it.
//!
//! Give it the layer's kind, its output shape, its weights (names and shapes, as Keras
//! names and lays them out) and the keys of its config, and a model that applies the layer
//! (in `f64` and in `f32`). It checks:
//! - the output shape, the weights' names, shapes and count, the summary row and the
//!   config's keys in `ARCHITECTURE_JSON`;
//! - the backward pass against central finite differences in `f64`, for the input and
//!   every trainable weight, in training mode (Dropout with one mask; a layer's inference
//!   mode is its frozen form, `trainable = false`, a case of its own where it differs);
//! - a batch against its samples one by one, and inference against the training pass
//!   where the layer computes the same in both;
//! - the `f32` model against the `f64` one on the same weights;
//! - a safetensors round trip of the weights in both float types.
//!
//! ```
//! # extern crate strata_runtime as strata;
//! # use strata_macros::model;
//! use strata::Seed;
//! use strata::layer_test::LayerTest;
//!
//! model! { struct OneDense: [3] -> [4] { Dense(4, activation = tanh) } }
//!
//! let report = LayerTest::new("Dense")
//!     .output_shape(&[4])
//!     .weights(&[("kernel", &[3, 4]), ("bias", &[4])])
//!     .config_keys(&[
//!         "units", "activation", "use_bias", "kernel_initializer", "bias_initializer",
//!         "kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint",
//!     ])
//!     .run(OneDense::<f64>::seeded(Seed(1)), OneDense::<f32>::seeded(Seed(1)))
//!     .unwrap();
//! assert!(report.worst_gradient_error() < 1e-6);
//! ```

mod gradients;

pub use gradients::GradientCheck;

use rand::Rng as _;

use crate::{Error, Float, LayerInfo, Model, Result, Seed};

/// The largest gradient error the harness accepts.
const GRADIENT_TOLERANCE: f64 = 1e-6;

/// What a layer should be, and which of the harness's checks apply to it.
#[derive(Clone, Debug)]
pub struct LayerTest<'a> {
    kind: &'a str,
    output_shape: Option<&'a [usize]>,
    weights: Option<&'a [(&'a str, &'a [usize])]>,
    config_keys: Option<&'a [&'a str]>,
    config_values: &'a [(&'a str, &'a str)],
    same_in_inference: bool,
    batch_is_samples: bool,
}

/// What the harness measured of a layer that passed.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerReport {
    /// The layer's name in the model (`dense`).
    pub layer: String,
    /// The finite-difference check of each trainable weight and of the input.
    pub gradients: Vec<GradientCheck>,
    /// The largest difference between the `f32` and the `f64` model's outputs, relative
    /// to `1 + |output|`.
    pub f32_error: f64,
}

impl LayerReport {
    /// The largest error of any gradient checked.
    pub fn worst_gradient_error(&self) -> f64 {
        self.gradients
            .iter()
            .map(|g| g.worst_error)
            .fold(0.0, f64::max)
    }
}

impl<'a> LayerTest<'a> {
    /// A test of the first layer of kind `kind` (`Dense`) in the model it runs on.
    pub fn new(kind: &'a str) -> Self {
        LayerTest {
            kind,
            output_shape: None,
            weights: None,
            config_keys: None,
            config_values: &[],
            same_in_inference: true,
            batch_is_samples: true,
        }
    }

    /// The shape of one sample of its output.
    pub fn output_shape(self, shape: &'a [usize]) -> Self {
        LayerTest {
            output_shape: Some(shape),
            ..self
        }
    }

    /// Its weights in order, by Keras's names under the layer's (`kernel`, or
    /// `forward_lstm/kernel` in a wrapper) and Keras's shapes.
    pub fn weights(self, weights: &'a [(&'a str, &'a [usize])]) -> Self {
        LayerTest {
            weights: Some(weights),
            ..self
        }
    }

    /// The keys of its config besides `name` and `trainable`, as Keras's `get_config`.
    pub fn config_keys(self, keys: &'a [&'a str]) -> Self {
        LayerTest {
            config_keys: Some(keys),
            ..self
        }
    }

    /// Values its config must hold, each as JSON text: `("padding", r#""same""#)`; a key
    /// that starts with `/` is a JSON pointer into the config (`/layer/config/units`).
    pub fn config_values(self, values: &'a [(&'a str, &'a str)]) -> Self {
        LayerTest {
            config_values: values,
            ..self
        }
    }

    /// For a layer that computes otherwise in training (Dropout, BatchNormalization):
    /// the inference pass is not compared with the training one.
    pub fn differs_in_training(self) -> Self {
        LayerTest {
            same_in_inference: false,
            ..self
        }
    }

    /// For a layer whose samples depend on each other in training (BatchNormalization):
    /// a batch is compared with its samples in inference only, which it always is.
    pub fn batch_is_not_samples(self) -> Self {
        LayerTest {
            batch_is_samples: false,
            ..self
        }
    }

    /// Runs every check on `model` (in `f64`) and `single` (the same model in `f32`,
    /// whose weights the check replaces with the `f64` model's, rounded); fails with every
    /// problem found, each naming the check and what it saw.
    pub fn run<M, N>(&self, model: M, single: N) -> Result<LayerReport>
    where
        M: Model<Float = f64> + Clone,
        N: Model<Float = f32> + Clone,
    {
        let mut problems = Vec::new();
        let row = M::LAYERS.iter().find(|row| row.kind == self.kind);
        let Some(row) = row else {
            let kinds: Vec<&str> = M::LAYERS.iter().map(|r| r.kind).collect();
            return Err(failure(
                M::NAME,
                vec![format!(
                    "{} has no layer {}, only {kinds:?}",
                    M::NAME,
                    self.kind
                )],
            ));
        };
        self.check_tables::<M>(row, &mut problems);
        if M::NAME != N::NAME || M::PARAMS.len() != N::PARAMS.len() {
            problems.push(format!(
                "{} and {} are not one model in two float types",
                M::NAME,
                N::NAME
            ));
            return Err(failure(row.name, problems));
        }
        let model = Params::moved(model);
        let input = sample_input::<M>(gradients::BATCH, 21);
        let output_weights = random(gradients::BATCH * M::OUTPUT_SIZE, 22);
        let input_grad =
            M::INPUTS.len() == 1 && M::OUTPUTS.len() == 1 && M::TOKEN_INPUTS.is_empty();
        let mut checked = model.model.clone();
        let gradients = gradients::check(&mut checked, &input, &output_weights, input_grad);
        for g in &gradients {
            if g.worst_error.is_nan() || g.worst_error > GRADIENT_TOLERANCE {
                problems.push(format!(
                    "the gradient of {} at {} is {}, but finite differences give {} (error {:.2e})",
                    g.name, g.worst_index, g.analytic, g.numeric, g.worst_error
                ));
            }
        }
        if !model.model.summary_string().contains(row.name) {
            problems.push(format!("summary() shows no row {}", row.name));
        }
        self.check_passes(&model, &input, &mut problems);
        let single = Params::rounded(single, &model.model);
        let f32_error = check_f32(&model, &single, &input, &mut problems);
        for problem in [round_trip(&model.model), round_trip(&single.model)] {
            problems.extend(problem.err());
        }
        if !problems.is_empty() {
            return Err(failure(row.name, problems));
        }
        Ok(LayerReport {
            layer: row.name.to_string(),
            gradients,
            f32_error,
        })
    }

    /// The constants: output shape, weights, summary row, config keys.
    fn check_tables<M: Model>(&self, row: &LayerInfo, problems: &mut Vec<String>) {
        if let Some(shape) = self.output_shape
            && row.output_shape != shape
        {
            problems.push(format!(
                "the output shape is {:?}, but Keras gives {shape:?}",
                row.output_shape
            ));
        }
        let prefix = format!("{}/", row.name);
        let weights: Vec<(&str, &[usize])> = M::PARAMS
            .iter()
            .filter_map(|p| Some((p.name.strip_prefix(&prefix)?, p.shape)))
            .collect();
        if let Some(expected) = self.weights {
            if weights != expected {
                problems.push(format!(
                    "the weights are {weights:?}, but Keras has {expected:?}"
                ));
            }
            let count: usize = expected
                .iter()
                .map(|(_, s)| s.iter().product::<usize>())
                .sum();
            if row.params != count {
                problems.push(format!(
                    "the summary row counts {} parameters, but the weights hold {count}",
                    row.params
                ));
            }
        }
        let config = layer_config(M::ARCHITECTURE_JSON, row.name);
        let config_value = config.clone().map(serde_json::Value::Object);
        for (key, want) in self.config_values {
            let want: Option<serde_json::Value> = serde_json::from_str(want).ok();
            let have = match key.starts_with('/') {
                true => config_value.as_ref().and_then(|c| c.pointer(key)),
                false => config.as_ref().and_then(|c| c.get(*key)),
            };
            if want.is_none() || have != want.as_ref() {
                problems.push(format!(
                    "the config's {key} is {}, but Keras's is {want:?}",
                    have.map_or("absent".to_string(), ToString::to_string)
                ));
            }
        }
        if let Some(keys) = self.config_keys {
            match config
                .as_ref()
                .map(|c| c.keys().cloned().collect::<Vec<_>>())
            {
                Some(found) => {
                    let mut want: Vec<&str> = ["name", "trainable"]
                        .into_iter()
                        .chain(keys.iter().copied())
                        .collect();
                    let mut have: Vec<&str> = found.iter().map(String::as_str).collect();
                    want.sort_unstable();
                    have.sort_unstable();
                    if want != have {
                        problems.push(format!(
                            "the config has the keys {have:?}, but Keras's has {want:?}"
                        ));
                    }
                }
                None => problems.push(format!(
                    "ARCHITECTURE_JSON has no config for the layer {}",
                    row.name
                )),
            }
        }
    }

    /// A batch against its samples one by one, and inference against training.
    fn check_passes<M: Model<Float = f64> + Clone>(
        &self,
        model: &Params<M>,
        input: &[f64],
        problems: &mut Vec<String>,
    ) {
        let batch = gradients::BATCH;
        let whole = model.forward(input, batch, None);
        for sample in 0..batch {
            let one = &input[sample * M::INPUT_SIZE..(sample + 1) * M::INPUT_SIZE];
            let alone = model.forward(one, 1, None);
            let together = &whole[sample * M::OUTPUT_SIZE..(sample + 1) * M::OUTPUT_SIZE];
            if let Some(at) = differ(&alone, together, 1e-12) {
                problems.push(format!(
                    "in inference, sample {sample} of a batch gives {} at {at}, alone {}",
                    together[at], alone[at]
                ));
                break;
            }
        }
        if self.same_in_inference {
            let training = model.forward(input, batch, Some(Seed(7)));
            if let Some(at) = differ(&training, &whole, 1e-12) {
                problems.push(format!(
                    "inference gives {} at {at}, but the training pass {}; if the layer \
                     differs in training, say so with differs_in_training()",
                    whole[at], training[at]
                ));
            }
        }
        if self.batch_is_samples && self.same_in_inference {
            let training = model.forward(input, batch, Some(Seed(7)));
            let one = model.forward(&input[..M::INPUT_SIZE], 1, Some(Seed(7)));
            if let Some(at) = differ(&one, &training[..M::OUTPUT_SIZE], 1e-12) {
                problems.push(format!(
                    "in training, the first sample of a batch gives {} at {at}, alone {}",
                    training[at], one[at]
                ));
            }
        }
    }
}

/// A model with the passes the harness runs on it.
struct Params<M: Model> {
    model: M,
}

impl<M: Model + Clone> Params<M> {
    /// `model` with every weight moved a little off its start (biases and normalization
    /// start at zero or one), so that every term of the backward pass shows in the check.
    fn moved(mut model: M) -> Self {
        let mut rng = Seed(23).rng();
        for w in model.params_mut() {
            *w += M::Float::of(rng.random_range(-0.1..0.1));
        }
        Params { model }
    }

    /// `model` holding the weights of `like`, rounded to its float type.
    fn rounded<L: Model>(mut model: M, like: &L) -> Self {
        for (w, &v) in model.params_mut().iter_mut().zip(like.params()) {
            *w = M::Float::of(v.as_f64());
        }
        Params { model }
    }

    /// The forward pass on `batch` samples: inference, or training with a generator from
    /// `seed`.
    fn forward(&self, input: &[M::Float], batch: usize, seed: Option<Seed>) -> Vec<M::Float> {
        let mut ws = M::Workspace::default();
        M::prepare(&mut ws, batch);
        match seed {
            None => self.model.forward(&mut ws, input, batch).to_vec(),
            Some(seed) => {
                let mut rng = seed.rng();
                self.model
                    .forward_train(&mut ws, input, batch, &mut rng)
                    .to_vec()
            }
        }
    }
}

/// `batch` samples of random values in [-1, 1], with token ids (integers below the
/// limit) where the model reads them.
fn sample_input<M: Model<Float = f64>>(batch: usize, seed: u64) -> Vec<f64> {
    let mut input = random(batch * M::INPUT_SIZE, seed);
    let mut rng = Seed(seed + 1).rng();
    for row in input.chunks_mut(M::INPUT_SIZE) {
        for ids in M::TOKEN_INPUTS {
            for v in &mut row[ids.offset..ids.offset + ids.len] {
                *v = rng.random_range(0..ids.limit) as f64;
            }
        }
    }
    input
}

fn random(len: usize, seed: u64) -> Vec<f64> {
    let mut rng = Seed(seed).rng();
    (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// The first index where `a` and `b` differ by more than `tolerance · (1 + |b|)`.
fn differ<F: Float>(a: &[F], b: &[F], tolerance: f64) -> Option<usize> {
    if a.len() != b.len() {
        return Some(a.len().min(b.len()));
    }
    a.iter().zip(b).position(|(&x, &y)| {
        let (x, y) = (x.as_f64(), y.as_f64());
        // NaN differs from everything.
        (x - y).abs() > tolerance * (1.0 + y.abs()) || x.is_nan() != y.is_nan()
    })
}

/// The `f32` model on the `f64` model's weights, rounded, against it.
fn check_f32<M, N>(
    model: &Params<M>,
    single: &Params<N>,
    input: &[f64],
    problems: &mut Vec<String>,
) -> f64
where
    M: Model<Float = f64> + Clone,
    N: Model<Float = f32> + Clone,
{
    let input32: Vec<f32> = input.iter().map(|&x| x as f32).collect();
    let batch = gradients::BATCH;
    let (a, b) = (
        model.forward(input, batch, None),
        single.forward(&input32, batch, None),
    );
    let error = a
        .iter()
        .zip(&b)
        .map(|(&x, &y)| (x - y as f64).abs() / (1.0 + x.abs()))
        .fold(0.0, f64::max);
    if error.is_nan() || error > 1e-4 {
        problems.push(format!(
            "the f32 model differs from the f64 model on the same weights by {error:.2e}"
        ));
    }
    error
}

/// `model`'s weights through a safetensors file into a copy of it with other weights.
fn round_trip<M: Model + Clone>(model: &M) -> std::result::Result<(), String> {
    let path = std::env::temp_dir().join(format!(
        "strata-layer-test-{}-{}-{:?}.safetensors",
        M::NAME,
        std::process::id(),
        std::thread::current().id()
    ));
    let mut loaded = model.clone();
    loaded.params_mut().fill(M::Float::default());
    let result = model
        .save_weights(&path)
        .and_then(|()| loaded.load_weights(&path));
    let _ = std::fs::remove_file(&path);
    match result {
        Err(e) => Err(format!("the weights round trip failed: {e}")),
        Ok(()) if loaded.params() != model.params() => {
            Err("the weights loaded back differ from the ones saved".to_string())
        }
        Ok(()) => Ok(()),
    }
}

/// The config of layer `name` in an architecture's JSON.
fn layer_config(json: &str, name: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let architecture: serde_json::Value = serde_json::from_str(json).ok()?;
    let layers = architecture.get("layers")?.as_array()?;
    let layer = layers
        .iter()
        .find(|l| l.pointer("/config/name").and_then(|n| n.as_str()) == Some(name))?;
    layer.get("config")?.as_object().cloned()
}

fn failure(layer: &str, problems: Vec<String>) -> Error {
    Error::LayerTest {
        layer: layer.to_string(),
        problems,
    }
}
