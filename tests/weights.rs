//! `sample_weight` and `class_weight` in `fit`, and weighted `evaluate`, on Fashion-MNIST:
//! weights change what the model learns as Keras's do, weights of 1 change nothing, and
//! every bad weight is refused before any step.

use ndarray::Array2;
use strata::prelude::*;

model! {
    pub struct Mlp: [784] -> [10] {
        Dense(64, activation = relu),
        Dense(10),
    }
}

model! {
    /// Three regression outputs.
    pub struct Regressor: [4] -> [3] {
        Dense(3),
    }
}

model! {
    /// One probability.
    pub struct Binary: [4] -> [1] {
        Dense(1, activation = sigmoid),
    }
}

/// Fashion-MNIST's class 6, shirt: the class an unweighted model recalls worst.
const SHIRT: usize = 6;
/// Fashion-MNIST's class 1, trouser: one of the easiest.
const TROUSER: usize = 1;

type Classifier = Trainer<Mlp, Adam, SparseCategoricalCrossentropy>;

fn trainer() -> Classifier {
    Mlp::new(Seed(7)).compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy::new()],
    )
}

fn quiet<'a>(epochs: usize) -> Fit<'a, f32> {
    Fit::epochs(epochs)
        .batch_size(64)
        .verbose(Verbose::Silent)
        .seed(3)
}

/// 20,000 training images and the 10,000 test images.
fn fashion_mnist() -> (Dataset<f32>, Dataset<f32>) {
    let (train, test) = strata::datasets::fashion_mnist::load().unwrap();
    (train.take(20_000), test)
}

fn labels(data: &Dataset<f32>) -> Vec<usize> {
    data.y().column(0).iter().map(|&l| l as usize).collect()
}

/// Per class of `data`: the fraction of its samples the model names (recall), and how
/// many samples the model names it for.
fn recall_and_predicted(trainer: &mut Classifier, data: &Dataset<f32>) -> ([f64; 10], [usize; 10]) {
    let logits = trainer.predict(data.x().into_dyn()).unwrap();
    let (mut hits, mut support, mut predicted) = ([0usize; 10], [0usize; 10], [0usize; 10]);
    for (row, label) in logits.rows().into_iter().zip(labels(data)) {
        let best = (0..10).fold(0, |b, i| if row[i] > row[b] { i } else { b });
        predicted[best] += 1;
        support[label] += 1;
        hits[label] += usize::from(best == label);
    }
    let recall = std::array::from_fn(|c| hits[c] as f64 / support[c] as f64);
    (recall, predicted)
}

fn params_bits(trainer: &Classifier) -> Vec<u32> {
    trainer
        .model()
        .params()
        .iter()
        .map(|p| p.to_bits())
        .collect()
}

#[test]
fn class_weight_favouring_shirts_raises_their_test_recall() {
    let (train, test) = fashion_mnist();
    let mut plain = trainer();
    plain.fit(&train, quiet(1)).unwrap();
    let (plain_recall, _) = recall_and_predicted(&mut plain, &test);

    let mut weighted = trainer();
    weighted
        .fit(&train, quiet(1).class_weight([(SHIRT, 5.0)]))
        .unwrap();
    let (weighted_recall, _) = recall_and_predicted(&mut weighted, &test);
    assert!(
        weighted_recall[SHIRT] > plain_recall[SHIRT] + 0.15,
        "shirt recall {} with class_weight 5, {} without",
        weighted_recall[SHIRT],
        plain_recall[SHIRT]
    );
}

#[test]
fn zero_sample_weight_on_every_trouser_means_trousers_are_never_learned() {
    let (train, test) = fashion_mnist();
    let weights: Vec<f32> = labels(&train)
        .iter()
        .map(|&l| if l == TROUSER { 0.0 } else { 1.0 })
        .collect();
    let mut plain = trainer();
    plain.fit(&train, quiet(1)).unwrap();
    let (plain_recall, _) = recall_and_predicted(&mut plain, &test);
    assert!(plain_recall[TROUSER] > 0.85, "{plain_recall:?}");

    let mut blind = trainer();
    let history = blind.fit(&train, quiet(1).sample_weight(&weights)).unwrap();
    let (recall, predicted) = recall_and_predicted(&mut blind, &test);
    assert!(
        recall[TROUSER] < 0.01,
        "trouser recall {} though no trouser weighed anything",
        recall[TROUSER]
    );
    assert!(predicted[TROUSER] < 20, "predicted trouser {predicted:?}");
    // The other classes are learned as usual.
    let others: f64 = (0..10).filter(|&c| c != TROUSER).map(|c| recall[c]).sum();
    assert!(others / 9.0 > 0.7, "{recall:?}");
    // The training accuracy is weighted: it ignores the trousers the model never names.
    let accuracy = history.get("accuracy").unwrap()[0];
    assert!(accuracy > 0.7, "weighted training accuracy {accuracy}");
}

#[test]
fn sample_weight_of_two_gives_twice_the_loss_of_the_first_step() {
    let (train, _) = fashion_mnist();
    let batch = train.take(64);
    let mut plain = trainer();
    let plain_history = plain.fit(&batch, quiet(1)).unwrap();
    let twos = vec![2.0f32; 64];
    let mut doubled = trainer();
    let history = doubled.fit(&batch, quiet(1).sample_weight(&twos)).unwrap();
    let loss = |history: &History| history.get("loss").unwrap()[0];
    assert_eq!(loss(&history), 2.0 * loss(&plain_history));
    // Accuracy is a weighted mean: the same weight everywhere changes nothing.
    assert_eq!(history.get("accuracy"), plain_history.get("accuracy"));
    // A weight of 2 for every class is the same.
    let mut by_class = trainer();
    let classes = (0..10).map(|c| (c, 2.0));
    let class_history = by_class
        .fit(&batch, quiet(1).class_weight(classes))
        .unwrap();
    assert_eq!(loss(&class_history), loss(&history));
}

#[test]
fn unit_weights_train_bit_identically_to_no_weights() {
    let (train, _) = fashion_mnist();
    let train = train.take(2_000);
    let mut plain = trainer();
    let plain_history = plain.fit(&train, quiet(2)).unwrap();

    let ones = vec![1.0f32; train.len()];
    let mut weighted = trainer();
    let history = weighted.fit(&train, quiet(2).sample_weight(&ones)).unwrap();
    assert_eq!(params_bits(&weighted), params_bits(&plain));
    assert_eq!(history.get("loss"), plain_history.get("loss"));
    assert_eq!(history.get("accuracy"), plain_history.get("accuracy"));

    let mut by_class = trainer();
    let class_history = by_class
        .fit(&train, quiet(2).class_weight([(SHIRT, 1.0)]))
        .unwrap();
    assert_eq!(params_bits(&by_class), params_bits(&plain));
    assert_eq!(class_history.get("loss"), plain_history.get("loss"));
}

#[test]
fn validation_is_unweighted() {
    let (train, test) = fashion_mnist();
    let (train, validation) = (train.take(2_000), test.take(1_000));
    let weights: Vec<f32> = (0..train.len()).map(|i| (i % 3) as f32).collect();
    let mut trainer = trainer();
    let fit = quiet(1)
        .sample_weight(&weights)
        .validation_data(&validation);
    let history = trainer.fit(&train, fit).unwrap();
    let unweighted = trainer.evaluate_with(&validation, 64).unwrap();
    assert_eq!(
        history.get("val_loss").unwrap()[0],
        unweighted.get("loss").unwrap()
    );
    assert_eq!(
        history.get("val_accuracy").unwrap()[0],
        unweighted.get("accuracy").unwrap()
    );
}

#[test]
fn validation_split_drops_the_weights_of_the_held_out_end() {
    let (train, _) = fashion_mnist();
    let data = train.take(200);
    // The first 150 samples train, the last 50 validate: weigh only the held-out ones.
    let weights: Vec<f32> = (0..200).map(|i| if i < 150 { 0.0 } else { 1.0 }).collect();
    let mut trainer = trainer();
    let before = params_bits(&trainer);
    let history = trainer
        .fit(
            &data,
            quiet(1).validation_split(0.25).sample_weight(&weights),
        )
        .unwrap();
    assert_eq!(history.get("loss").unwrap()[0], 0.0);
    assert_eq!(
        params_bits(&trainer),
        before,
        "no training sample weighed anything"
    );
    assert!(history.get("val_loss").unwrap()[0] > 0.0);
    // The weights are those of the data given to fit, before the split.
    let err = trainer
        .fit(
            &data,
            quiet(1)
                .validation_split(0.25)
                .sample_weight(&weights[..150]),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("150 weights for the 200 samples given to fit"),
        "{err}"
    );
}

#[test]
fn evaluate_weighted_weighs_the_loss_and_the_metrics() {
    let (train, test) = fashion_mnist();
    let (train, test) = (train.take(5_000), test.take(2_000));
    let mut trainer = trainer();
    trainer.fit(&train, quiet(1)).unwrap();
    let plain = trainer.evaluate(&test).unwrap();
    let ones = trainer.evaluate_weighted(&test, &vec![1.0; 2_000]).unwrap();
    assert_eq!(ones.get("loss"), plain.get("loss"));
    assert_eq!(ones.get("accuracy"), plain.get("accuracy"));

    // Weight 1 on the shirts only: the accuracy is the shirts' recall, and the loss is
    // the shirts' summed loss over every sample (Keras divides by the batch size).
    let is_shirt: Vec<bool> = labels(&test).iter().map(|&l| l == SHIRT).collect();
    let weights: Vec<f32> = is_shirt.iter().map(|&s| f32::from(u8::from(s))).collect();
    let shirts = test.select(&(0..2_000).filter(|&i| is_shirt[i]).collect::<Vec<_>>());
    let weighted = trainer.evaluate_weighted(&test, &weights).unwrap();
    let (recall, _) = recall_and_predicted(&mut trainer, &test);
    let accuracy = weighted.get("accuracy").unwrap();
    assert!(
        (accuracy - recall[SHIRT]).abs() < 1e-6,
        "{accuracy} vs {}",
        recall[SHIRT]
    );
    let shirt_loss = trainer.evaluate(&shirts).unwrap().get("loss").unwrap();
    let expected = shirt_loss * shirts.len() as f64 / 2_000.0;
    let loss = weighted.get("loss").unwrap();
    assert!(
        (loss - expected).abs() < 1e-5 * expected,
        "{loss} vs {expected}"
    );
}

/// Asserts that `fit` refuses `config` with an error containing `expected`, and leaves the
/// model as it was.
fn assert_refused(data: &Dataset<f32>, config: Fit<'_, f32>, expected: &str) {
    let mut trainer = trainer();
    let before = params_bits(&trainer);
    let err = trainer.fit(data, config).unwrap_err();
    assert!(
        matches!(err, Error::InvalidArgument { .. }),
        "{expected}: {err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(expected), "{message}");
    assert_eq!(params_bits(&trainer), before, "{message}");
}

#[test]
fn bad_weights_are_refused_before_any_step_with_the_fix() {
    let x = Array2::from_shape_fn((10, 784), |(i, j)| ((i + j) % 5) as f32 / 5.0);
    let y = Array2::from_shape_fn((10, 1), |(i, _)| (i % 10) as f32);
    let data = Dataset::from_rows(x, y).unwrap();
    assert_refused(
        &data,
        quiet(1).sample_weight(&[1.0; 9]),
        "9 weights for the 10 samples given to fit; give one weight per sample",
    );
    let mut weights = [1.0f32; 10];
    weights[4] = -1.0;
    assert_refused(
        &data,
        quiet(1).sample_weight(&weights),
        "the weight -1 of sample 4 is not a finite number >= 0",
    );
    weights[4] = f32::NAN;
    assert_refused(
        &data,
        quiet(1).sample_weight(&weights),
        "the weight NaN of sample 4",
    );
    assert_refused(
        &data,
        quiet(1).sample_weight(&[1.0; 10]).class_weight([(0, 2.0)]),
        "give class_weight or sample_weight, not both",
    );
    assert_refused(
        &data,
        quiet(1).class_weight([(10, 2.0)]),
        "class 10 is not a class of the model, whose 10 outputs tell classes 0..10 apart",
    );
    assert_refused(
        &data,
        quiet(1).class_weight([(2, 2.0), (2, 3.0)]),
        "class 2 is given two weights",
    );
    assert_refused(
        &data,
        quiet(1).class_weight([(2, f64::INFINITY)]),
        "the weight inf of class 2 is not a finite number >= 0",
    );
    assert_refused(
        &data,
        quiet(1).class_weight([(2, 1e39)]),
        "the weight 1000000000000000000000000000000000000000 of class 2 overflows the model's F32",
    );
    let mut trainer = trainer();
    let err = trainer.evaluate_weighted(&data, &[1.0; 3]).unwrap_err();
    assert!(
        err.to_string()
            .contains("3 weights for the 10 samples given to evaluate"),
        "{err}"
    );
}

#[test]
fn class_weight_needs_targets_that_are_class_labels() {
    // Regression with three outputs: the targets name no class.
    let x = Array2::from_shape_fn((8, 4), |(i, j)| (i * j) as f32 / 10.0);
    let y = Array2::from_shape_fn((8, 3), |(i, j)| i as f32 - j as f32 * 1.5);
    let data = Dataset::from_rows(x.clone(), y).unwrap();
    let mut regressor =
        Regressor::new(Seed(1)).compile(Adam::new(1e-3), MeanSquaredError::new(), ());
    let fit = quiet(1).class_weight([(0, 2.0)]);
    let err = regressor.fit(&data, fit).unwrap_err().to_string();
    assert!(
        err.contains("the target [0.0, -1.5, -3.0] of sample 0 is not a class label"),
        "{err}"
    );
    assert!(
        err.contains("weigh other targets with sample_weight"),
        "{err}"
    );

    // One probability: the classes are the labels 0 and 1.
    let labels = Array2::from_shape_fn((8, 1), |(i, _)| (i % 2) as f32);
    let binary_data = Dataset::from_rows(x, labels).unwrap();
    let mut binary = Binary::new(Seed(1)).compile(Adam::new(1e-3), BinaryCrossentropy::new(), ());
    binary
        .fit(&binary_data, quiet(1).class_weight([(1, 3.0), (0, 0.5)]))
        .unwrap();
    let err = binary
        .fit(&binary_data, quiet(1).class_weight([(2, 3.0)]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "class 2 is not a class of the model, whose 1 output tells classes 0..2 apart"
        ),
        "{err}"
    );
}

/// The kernels read weights in 64-byte vectors: a buffer that started inside a cache line
/// made every load straddle two (batch-1 inference 5.0 µs instead of 3.4 µs).
#[test]
fn a_models_weights_start_a_cache_line_however_it_was_made() {
    let starts_a_line = |values: &[f32]| (values.as_ptr() as usize).is_multiple_of(64);
    // Allocations of other sizes in between move where the allocator puts the next one.
    let mut models = Vec::new();
    for seed in 0..8u64 {
        let model = Mlp::new(Seed(seed));
        let _spacer = vec![0u8; 24 + seed as usize * 40];
        models.push(model.clone());
        models.push(model);
    }
    for model in &models {
        assert!(starts_a_line(model.params()));
    }
    let wide: Mlp<f64> = Mlp::seeded(Seed(1));
    assert!((wide.params().as_ptr() as usize).is_multiple_of(64));
}
