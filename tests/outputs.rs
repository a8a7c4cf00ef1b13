//! Several outputs the Keras way: a loss per output with loss weights (`Losses`), metrics on
//! one output (`OutputMetric`), packed datasets and `predict_outputs`.
//!
//! The model's outputs are parts of one packed row, described by `Model::OUTPUTS`.

use ndarray::{Array1, Array2, Axis, s};
use strata::metrics::MeanAbsoluteError;
use strata::prelude::*;

model! {
    struct Mlp: [8] -> [3] {
        Dense(6, activation = relu),
        Dropout(0.2),
        Dense(3),
    }
}

model! {
    /// Two heads on one input: `logits: [3]`, then `embedding: [2]`.
    struct TwoHeads: [4] -> (logits: [3], embedding: [2]) {
        (Dense(3)(input), Dense(2)(input))
    }
}

fn two_heads() -> TwoHeads<f64> {
    TwoHeads::seeded(Seed(5))
}

/// `samples` inputs of 4 values, the class each falls in (of 3) and a 2-value embedding
/// of it: `(x, labels, embeddings)`.
fn two_head_data(samples: usize) -> (Array2<f64>, Array1<f64>, Array2<f64>) {
    let x = Array2::from_shape_fn((samples, 4), |(i, j)| {
        ((i * 13 + j * 5) % 17) as f64 / 8.0 - 1.0
    });
    let labels = x.map_axis(Axis(1), |row| {
        let score = row[0] - row[1] + 0.5 * row[2];
        if score < -0.4 {
            0.0
        } else if score < 0.4 {
            1.0
        } else {
            2.0
        }
    });
    let embeddings = Array2::from_shape_fn((samples, 2), |(i, j)| {
        let row = x.row(i);
        if j == 0 {
            row[0] + row[3]
        } else {
            row[1] - 0.5 * row[2]
        }
    });
    (x, labels, embeddings)
}

/// Both outputs' targets, packed: a class index for `logits`, then `embedding`'s two.
fn two_head_dataset(samples: usize) -> Dataset<f64> {
    let (x, labels, embeddings) = two_head_data(samples);
    Dataset::packed(
        &[x.view().into_dyn()],
        &[labels.view().into_dyn(), embeddings.view().into_dyn()],
    )
    .unwrap()
}

fn both_losses() -> Losses<f64> {
    Losses::new()
        .output("logits", SparseCategoricalCrossentropy::from_logits(), 1.0)
        .output("embedding", MeanSquaredError::new(), 0.5)
}

fn quiet<'a>(epochs: usize) -> Fit<'a, f64> {
    Fit::epochs(epochs)
        .batch_size(16)
        .verbose(Verbose::Silent)
        .seed(3)
}

#[test]
fn a_two_output_model_trains_on_weighted_losses_and_logs_each_as_keras() {
    let (train, test) = (two_head_dataset(96), two_head_dataset(40));
    let metrics = (
        OutputMetric::new("logits", Accuracy::new()),
        OutputMetric::new("embedding", MeanAbsoluteError),
    );
    let mut trainer = two_heads().compile(Adam::new(0.05), both_losses(), metrics);
    let history = trainer
        .fit(&train, quiet(30).validation_data(&test))
        .unwrap();
    let keys: Vec<&str> = history.keys().collect();
    assert_eq!(
        keys,
        [
            "loss",
            "logits_loss",
            "embedding_loss",
            "logits_accuracy",
            "embedding_mean_absolute_error",
            "val_loss",
            "val_logits_loss",
            "val_embedding_loss",
            "val_logits_accuracy",
            "val_embedding_mean_absolute_error",
        ]
    );
    let loss = history.get("loss").unwrap();
    assert!(loss[29] < 0.5 * loss[0], "loss {} -> {}", loss[0], loss[29]);
    assert!(history.last("logits_accuracy").unwrap() > 0.8);

    // The loss is the weighted sum of the outputs' losses, weighted by sample or not.
    let logs = trainer.evaluate(&test).unwrap();
    let get = |name| logs.get(name).unwrap();
    let sum = get("logits_loss") + 0.5 * get("embedding_loss");
    assert!((get("loss") - sum).abs() < 1e-12, "{logs}");
    let sample_weight: Vec<f64> = (0..test.len()).map(|i| (i % 3) as f64).collect();
    let logs = trainer.evaluate_weighted(&test, &sample_weight).unwrap();
    let get = |name| logs.get(name).unwrap();
    let sum = get("logits_loss") + 0.5 * get("embedding_loss");
    assert!((get("loss") - sum).abs() < 1e-12, "{logs}");
}

#[test]
fn predict_outputs_splits_the_packed_rows_by_output() {
    let (x, _, _) = two_head_data(7);
    let mut trainer = two_heads().compile(SGD::new(0.1), both_losses(), ());
    let packed = trainer.predict(x.view().into_dyn()).unwrap();
    let outputs = trainer.predict_outputs(x.view().into_dyn()).unwrap();
    assert_eq!(outputs.len(), 2);
    assert_eq!(outputs[0].shape(), &[7, 3]);
    assert_eq!(outputs[1].shape(), &[7, 2]);
    assert_eq!(outputs[0], packed.slice(s![.., 0..3]).into_dyn());
    assert_eq!(outputs[1], packed.slice(s![.., 3..5]).into_dyn());
}

#[test]
fn an_output_without_a_loss_has_no_targets_and_is_not_trained() {
    let (x, labels, _) = two_head_data(64);
    let data = Dataset::packed(&[x.view().into_dyn()], &[labels.view().into_dyn()]).unwrap();
    let logits_only =
        Losses::new().output("logits", SparseCategoricalCrossentropy::from_logits(), 1.0);
    let accuracy = OutputMetric::new("logits", Accuracy::new());
    let mut trainer = two_heads().compile(Adam::new(0.05), logits_only, [accuracy]);
    let before = trainer.model().params().to_vec();
    let history = trainer.fit(&data, quiet(3)).unwrap();
    // One loss: no per-output loss in the logs.
    assert_eq!(
        history.keys().collect::<Vec<_>>(),
        ["loss", "logits_accuracy"]
    );
    let after = trainer.model().params();
    for (i, (b, a)) in before.iter().zip(after).enumerate() {
        // dense_1 (the last 4 × 2 + 2 parameters) makes the embedding.
        let embedding = i >= 15;
        assert_eq!(b == a, embedding, "parameter {i}: {b} -> {a}");
    }
    // A metric on the output without a loss has nothing to compare with.
    let metric = OutputMetric::new("embedding", MeanAbsoluteError);
    let logits_only =
        Losses::new().output("logits", SparseCategoricalCrossentropy::from_logits(), 1.0);
    let mut trainer = two_heads().compile(Adam::new(0.05), logits_only, [metric]);
    let error = trainer.fit(&data, quiet(1)).unwrap_err().to_string();
    assert!(
        error.contains("embedding: mean_absolute_error has no targets"),
        "{error}"
    );
}

#[test]
fn a_loss_for_an_output_the_model_lacks_fails_before_any_step() {
    let misnamed = Losses::new()
        .output("logit", SparseCategoricalCrossentropy::from_logits(), 1.0)
        .output("embedding", MeanSquaredError::new(), 0.5);
    let mut trainer = two_heads().compile(Adam::new(0.05), misnamed, ());
    let before = trainer.model().params().to_vec();
    let error = trainer.fit(&two_head_dataset(32), quiet(1)).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("no output of that name; its outputs are logits, embedding"),
        "{message}"
    );
    assert_eq!(trainer.model().params(), &before[..]);
    // Targets packed for other losses.
    let (x, labels, _) = two_head_data(32);
    let labels_only = Dataset::packed(&[x.view().into_dyn()], &[labels.view().into_dyn()]);
    let mut trainer = two_heads().compile(Adam::new(0.05), both_losses(), ());
    let error = trainer.fit(&labels_only.unwrap(), quiet(1)).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("but the losses read 3: 1 for logits, 2 for embedding"),
        "{message}"
    );
}

#[test]
fn class_weight_is_refused_for_a_model_of_several_outputs() {
    let mut trainer = two_heads().compile(Adam::new(0.05), both_losses(), ());
    let fit = quiet(1).class_weight([(1, 2.0)]);
    let error = trainer.fit(&two_head_dataset(32), fit).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("TwoHeads has 2 outputs (logits, embedding)")
            && message.contains("sample_weight"),
        "{message}"
    );
}

/// `samples` samples for `Mlp`: 8 values and a class of 3.
fn mlp_dataset(samples: usize) -> Dataset<f32> {
    let x = Array2::from_shape_fn((samples, 8), |(i, j)| ((i * 5 + j * 3) % 11) as f32 / 11.0);
    let y = Array2::from_shape_fn((samples, 1), |(i, _)| (i % 3) as f32);
    Dataset::from_rows(x, y).unwrap()
}

/// Adds weights (none, the given sample weights, or class weights) to a `fit`.
type Weigh = for<'a> fn(Fit<'a, f32>, &'a [f32]) -> Fit<'a, f32>;

#[test]
fn one_loss_named_output_trains_exactly_as_the_plain_loss() {
    let data = mlp_dataset(100);
    let sample_weight: Vec<f32> = (0..100).map(|i| (i % 4) as f32 * 0.5).collect();
    let weighings: [Weigh; 3] = [
        |fit, _| fit,
        |fit, weights| fit.sample_weight(weights),
        |fit, _| fit.class_weight([(2, 3.0)]),
    ];
    for weigh in weighings {
        let fit = || {
            weigh(
                Fit::epochs(2).batch_size(16).verbose(Verbose::Silent),
                &sample_weight,
            )
        };
        let mut plain = Mlp::new(Seed(4)).compile(
            Adam::new(1e-2),
            SparseCategoricalCrossentropy::from_logits(),
            [Accuracy::new()],
        );
        let one = Losses::new().output("output", SparseCategoricalCrossentropy::from_logits(), 1.0);
        let metric = OutputMetric::new("output", Accuracy::new());
        let mut packed = Mlp::new(Seed(4)).compile(Adam::new(1e-2), one, [metric]);
        let expected = plain.fit(&data, fit()).unwrap();
        let history = packed.fit(&data, fit()).unwrap();
        assert_eq!(history, expected, "the same names, losses and accuracies");
        assert_eq!(packed.model().params(), plain.model().params());
        let x = data.x().into_dyn();
        let outputs = packed.predict_outputs(x.view()).unwrap();
        assert_eq!(outputs, [plain.predict(x).unwrap()]);
    }
}

#[test]
fn a_single_loss_or_metric_on_several_outputs_is_refused_before_any_step() {
    let mut trainer = two_heads().compile(Adam::new(0.05), MeanSquaredError::new(), ());
    let before = trainer.model().params().to_vec();
    let error = trainer
        .fit(&two_head_dataset(32), quiet(1))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("TwoHeads has 2 outputs (logits, embedding): give each its loss"),
        "{error}"
    );
    assert_eq!(trainer.model().params(), &before[..]);
    let mut trainer = two_heads().compile(Adam::new(0.05), both_losses(), [Accuracy::new()]);
    let error = trainer
        .evaluate(&two_head_dataset(32))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("put accuracy on one of them, e.g. OutputMetric::new(\"logits\", metric)"),
        "{error}"
    );
}
