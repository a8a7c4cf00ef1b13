//! BatchNormalization's non-trainable state: the moving statistics follow Keras's momentum
//! formula on the whole batch whatever the thread count, inference uses them, `summary()`
//! counts them as non-trainable, weights files keep them, and a frozen layer keeps them and
//! runs in inference mode. LayerNormalization and BatchNormalization have Keras's names,
//! shapes and config.

use ndarray::{Array2, Array3, ArrayD};
use rand::Rng as _;
use strata::prelude::*;

model! {
    /// BatchNormalization first, so that the statistics it sees are the data's: two rows
    /// of three channels per sample.
    struct NormFirst: [2, 3] -> [2] {
        BatchNormalization(momentum = 0.8, epsilon = 0.01),
        Flatten,
        Dense(2),
    }

    /// Only a BatchNormalization, to read its output.
    struct NormOnly: [3] -> [3] {
        BatchNormalization(epsilon = 0.01),
    }

    /// A frozen BatchNormalization before a trainable Dense.
    struct Frozen: [3] -> [2] {
        BatchNormalization(trainable = false),
        Dense(2),
    }

    /// Keras's convnet with BatchNormalization after each convolution.
    struct ConvBn: [28, 28, 1] -> [10] {
        Conv2D(32, kernel_size = 3, use_bias = false),
        BatchNormalization,
        Activation(relu),
        MaxPooling2D(2),
        Conv2D(64, kernel_size = 3, use_bias = false),
        BatchNormalization(axis = 3, name = "bn"),
        Activation(relu),
        MaxPooling2D(2),
        Flatten,
        LayerNormalization(center = false, epsilon = 1e-5),
        Dense(10),
    }
}

const MOMENTUM: f64 = 0.8;

/// `samples` random samples of [2, 3] with channel-dependent offsets and scales, and
/// random regression targets.
fn arrays(samples: usize, seed: u64) -> (ArrayD<f64>, ArrayD<f64>) {
    let mut rng = Seed(seed).rng();
    let x = Array3::from_shape_fn((samples, 2, 3), |(_, _, c)| {
        c as f64 * 2.0 - 1.0 + rng.random_range(-1.0..1.0) * (c + 1) as f64
    });
    let y = Array2::from_shape_fn((samples, 2), |_| rng.random_range(-1.0..1.0));
    (x.into_dyn(), y.into_dyn())
}

fn data(samples: usize, seed: u64) -> Dataset<f64> {
    let (x, y) = arrays(samples, seed);
    Dataset::new(x, y).unwrap()
}

fn norm_first_trainer(threads: usize) -> Trainer<NormFirst<f64>, SGD<f64>, MeanSquaredError> {
    let mut trainer =
        NormFirst::<f64>::seeded(Seed(1)).compile(SGD::new(0.1), MeanSquaredError::new(), ());
    trainer.set_threads(threads).unwrap();
    trainer
}

/// The moving mean and variance after a step on each of `batches` of `data`, by Keras's
/// formula: the statistics of each whole batch, over its samples and rows.
fn reference_moving_statistics(
    data: &Dataset<f64>,
    batches: impl IntoIterator<Item = std::ops::Range<usize>>,
) -> [Vec<f64>; 2] {
    let x = data.x();
    let (mut moving_mean, mut moving_variance) = (vec![0.0; 3], vec![1.0; 3]);
    for batch in batches {
        for c in 0..3 {
            let values: Vec<f64> = batch
                .clone()
                .flat_map(|s| (0..2).map(move |r| (s, r)))
                .map(|(s, r)| x[[s, r * 3 + c]])
                .collect();
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            let variance =
                values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
            moving_mean[c] = moving_mean[c] * MOMENTUM + mean * (1.0 - MOMENTUM);
            moving_variance[c] = moving_variance[c] * MOMENTUM + variance * (1.0 - MOMENTUM);
        }
    }
    [moving_mean, moving_variance]
}

/// The moving mean and variance of `NormFirst`'s BatchNormalization.
fn moving_statistics(model: &NormFirst<f64>) -> [Vec<f64>; 2] {
    let param = |name: &str| {
        let p = NormFirst::<f64>::PARAMS
            .iter()
            .find(|p| p.name == name)
            .unwrap();
        model.params()[p.offset..p.offset + p.len].to_vec()
    };
    [
        param("batch_normalization/moving_mean"),
        param("batch_normalization/moving_variance"),
    ]
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
            "{what}[{i}]: {g} but the reference gives {w}"
        );
    }
}

#[test]
fn moving_statistics_follow_the_whole_batch_at_any_thread_count() {
    // 23 samples in batches of 7 (7, 7, 7 and 2: split 4 + 3 and 1 + 1 at two threads,
    // 2 + 2 + 2 + 1 and 1 + 1 at four) or of 5 (5, 5, 5, 5 and 3: 2 + 2 + 1 and 1 + 1 + 1
    // at four, no thread left without a row).
    let data = data(23, 3);
    let epochs = 2;
    for batch_size in [7, 5] {
        let batches: Vec<_> = (0..epochs)
            .flat_map(|_| (0..23).step_by(batch_size))
            .map(|start| start..(start + batch_size).min(23))
            .collect();
        let want = reference_moving_statistics(&data, batches);
        for threads in [1, 2, 4] {
            let mut trainer = norm_first_trainer(threads);
            let fit = Fit::epochs(epochs)
                .batch_size(batch_size)
                .shuffle(false)
                .verbose(Verbose::Silent);
            trainer.fit(&data, fit).unwrap();
            let [mean, variance] = moving_statistics(trainer.model());
            let case = format!("batches of {batch_size}, {threads} threads");
            assert_close(&format!("moving mean, {case}"), &mean, &want[0]);
            assert_close(&format!("moving variance, {case}"), &variance, &want[1]);
        }
    }
}

#[test]
fn train_on_batch_moves_the_statistics_and_evaluate_and_predict_do_not() {
    let (x, y) = arrays(9, 4);
    let data = Dataset::new(x.clone(), y.clone()).unwrap();
    let want = reference_moving_statistics(&data, std::iter::once(0..9));
    for threads in [1, 2] {
        let mut trainer = norm_first_trainer(threads);
        trainer.train_on_batch(x.view(), y.view()).unwrap();
        let [mean, variance] = moving_statistics(trainer.model());
        assert_close("moving mean", &mean, &want[0]);
        assert_close("moving variance", &variance, &want[1]);
        let params = trainer.model().params().to_vec();
        trainer.evaluate(&data).unwrap();
        trainer.predict(x.view()).unwrap();
        trainer.test_on_batch(x.view(), y.view()).unwrap();
        assert_eq!(trainer.model().params(), &params[..]);
    }
}

#[test]
fn a_step_with_a_non_finite_loss_leaves_the_moving_statistics_as_they_were() {
    let (x, _) = arrays(6, 5);
    let mut trainer = norm_first_trainer(1);
    let before = trainer.model().params().to_vec();
    let y = ArrayD::from_elem(vec![6, 2], 1e300);
    let error = trainer.train_on_batch(x.view(), y.view()).unwrap_err();
    assert!(matches!(error, Error::NonFiniteLoss { .. }), "{error}");
    assert_eq!(trainer.model().params(), &before[..]);
}

/// `NormOnly`'s parameters: gamma, beta, moving mean, moving variance.
const GAMMA: [f64; 3] = [2.0, 0.5, -1.0];
const BETA: [f64; 3] = [0.1, 0.2, 0.3];
const MOVING_MEAN: [f64; 3] = [1.0, -2.0, 0.5];
const MOVING_VARIANCE: [f64; 3] = [4.0, 0.25, 1.0];

fn norm_only() -> NormOnly<f64> {
    let mut model = NormOnly::<f64>::seeded(Seed(1));
    let params: Vec<f64> = [GAMMA, BETA, MOVING_MEAN, MOVING_VARIANCE].concat();
    model.params_mut().copy_from_slice(&params);
    model
}

#[test]
fn inference_normalizes_by_the_moving_statistics() {
    let model = norm_only();
    let x = [3.0, 1.0, 0.5, -1.0, -2.0, 2.5];
    let mut ws = <NormOnly<f64> as Model>::Workspace::default();
    NormOnly::<f64>::prepare(&mut ws, 2);
    let y = model.forward(&mut ws, &x, 2).to_vec();
    let want: Vec<f64> = (0..6)
        .map(|i| {
            let c = i % 3;
            GAMMA[c] * (x[i] - MOVING_MEAN[c]) / (MOVING_VARIANCE[c] + 0.01).sqrt() + BETA[c]
        })
        .collect();
    assert_close("inference output", &y, &want);
    // Training normalizes by the batch instead: each channel of two samples becomes ±1
    // (up to epsilon) before gamma and beta.
    let y = model
        .forward_train(&mut ws, &x, 2, &mut Seed(1).rng())
        .to_vec();
    for c in 0..3 {
        let normalized = (y[c] - BETA[c]) / GAMMA[c];
        assert!((normalized.abs() - 1.0).abs() < 0.01, "{y:?}");
    }
    assert_eq!(model.predict_one(&[3.0, 1.0, 0.5]), want[..3]);
}

#[test]
fn summary_counts_the_moving_statistics_as_non_trainable() {
    // Keras's summary of this network: 2 * 32 + 2 * 64 moving statistics.
    let conv = 3 * 3 * 32 + 3 * 3 * 32 * 64;
    let norms = 4 * 32 + 4 * 64 + 1600;
    let dense = 1600 * 10 + 10;
    assert_eq!(ConvBn::<f32>::PARAM_COUNT, conv + norms + dense);
    assert_eq!(
        ConvBn::<f32>::TRAINABLE_PARAM_COUNT,
        conv + norms + dense - 192
    );
    let summary = ConvBn::new(Seed(1)).summary_string();
    for line in [
        "│ batch_normalization             │ (None, 26, 26, 32)     │           128 │\n\
         │ (BatchNormalization)            │                        │               │\n",
        "│ bn (BatchNormalization)         │ (None, 11, 11, 64)     │           256 │\n",
        " Total params: 36,714 (143.41 KB)\n",
        " Trainable params: 36,522 (142.66 KB)\n",
        " Non-trainable params: 192 (768.00 B)\n",
    ] {
        assert!(summary.contains(line), "{line:?} not in\n{summary}");
    }
}

#[test]
fn normalization_layers_have_keras_names_shapes_and_config() {
    let params: Vec<(&str, &[usize], bool)> = ConvBn::<f32>::PARAMS
        .iter()
        .map(|p| (p.name, p.shape, p.trainable))
        .collect();
    assert_eq!(
        params,
        [
            ("conv2d/kernel", &[3, 3, 1, 32][..], true),
            ("batch_normalization/gamma", &[32][..], true),
            ("batch_normalization/beta", &[32][..], true),
            ("batch_normalization/moving_mean", &[32][..], false),
            ("batch_normalization/moving_variance", &[32][..], false),
            ("conv2d_1/kernel", &[3, 3, 32, 64][..], true),
            ("bn/gamma", &[64][..], true),
            ("bn/beta", &[64][..], true),
            ("bn/moving_mean", &[64][..], false),
            ("bn/moving_variance", &[64][..], false),
            ("layer_normalization/gamma", &[1600][..], true),
            ("dense/kernel", &[1600, 10][..], true),
            ("dense/bias", &[10][..], true),
        ]
    );
    let json = ConvBn::<f32>::ARCHITECTURE_JSON;
    for config in [
        r#"{"class_name": "BatchNormalization", "config": {"name": "batch_normalization", "trainable": true, "axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": true, "scale": true, "beta_initializer": "zeros", "gamma_initializer": "ones", "moving_mean_initializer": "zeros", "moving_variance_initializer": "ones", "synchronized": false}, "output_shape": [26, 26, 32]}"#,
        r#""name": "bn", "trainable": true, "axis": 3, "momentum": 0.99"#,
        r#"{"class_name": "LayerNormalization", "config": {"name": "layer_normalization", "trainable": true, "axis": [-1], "epsilon": 1e-5, "center": false, "scale": true, "rms_scaling": false, "beta_initializer": "zeros", "gamma_initializer": "ones"}, "output_shape": [1600]}"#,
    ] {
        assert!(json.contains(config), "{config}\nnot in\n{json}");
    }
    // The initializers: gamma and the moving variance ones, beta and the moving mean zeros.
    let model = NormOnly::<f32>::new(Seed(1));
    assert_eq!(
        model.params(),
        [[1.0; 3], [0.0; 3], [0.0; 3], [1.0; 3]].concat()
    );
}

#[test]
fn weights_files_keep_the_moving_statistics() {
    let mut trainer = norm_first_trainer(1);
    let fit = Fit::epochs(1).batch_size(4).verbose(Verbose::Silent);
    trainer.fit(&data(12, 6), fit).unwrap();
    let trained = trainer.model();
    assert_ne!(moving_statistics(trained)[0], [0.0; 3]);
    let path = std::env::temp_dir().join(format!("strata-bn-{}.safetensors", std::process::id()));
    trained.save_weights(&path).unwrap();
    let mut loaded = NormFirst::<f64>::seeded(Seed(2));
    loaded.load_weights(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(loaded.params(), trained.params());
    let (x, _) = arrays(3, 7);
    let mut ws = <NormFirst<f64> as Model>::Workspace::default();
    NormFirst::<f64>::prepare(&mut ws, 3);
    let x = x.as_slice().unwrap();
    let from_trained = trained.forward(&mut ws, x, 3).to_vec();
    assert_eq!(loaded.forward(&mut ws, x, 3), &from_trained[..]);
}

#[test]
fn a_frozen_batch_normalization_keeps_its_statistics_and_runs_in_inference_mode() {
    assert!(Frozen::<f64>::PARAMS[..4].iter().all(|p| !p.trainable));
    assert_eq!(Frozen::<f64>::TRAINABLE_PARAM_COUNT, 3 * 2 + 2);
    let summary = Frozen::<f64>::seeded(Seed(1)).summary_string();
    assert!(summary.contains(" Non-trainable params: 12 "), "{summary}");

    let mut model = Frozen::<f64>::seeded(Seed(1));
    let frozen: Vec<f64> = [GAMMA, BETA, MOVING_MEAN, MOVING_VARIANCE].concat();
    model.params_mut()[..12].copy_from_slice(&frozen);
    // The training forward normalizes by the moving statistics, as inference does.
    let x: Vec<f64> = (0..12).map(|i| f64::from(i) * 0.7 - 3.0).collect();
    let mut ws = <Frozen<f64> as Model>::Workspace::default();
    Frozen::<f64>::prepare(&mut ws, 4);
    let inference = model.forward(&mut ws, &x, 4).to_vec();
    let training = model.forward_train(&mut ws, &x, 4, &mut Seed(1).rng());
    assert_eq!(training, &inference[..]);

    let mut trainer = model.compile(SGD::new(0.1), MeanSquaredError::new(), ());
    let x = Array2::from_shape_vec((4, 3), x).unwrap();
    let data = Dataset::from_rows(x, Array2::from_elem((4, 2), 1.0)).unwrap();
    let before = trainer.model().params().to_vec();
    trainer
        .fit(&data, Fit::epochs(3).batch_size(2).verbose(Verbose::Silent))
        .unwrap();
    let after = trainer.model().params();
    assert_eq!(after[..12], frozen[..], "the frozen layer changed");
    assert_ne!(after[12..], before[12..], "the Dense layer did not train");
}
