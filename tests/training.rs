//! Training on real data, and every bad input `fit`, `evaluate` and `predict` can meet.

use ndarray::{Array2, ArrayD, IxDyn};
use strata::prelude::*;

model! {
    /// The README's classifier.
    pub struct Mlp: [784] -> [10] {
        Dense(128, activation = relu),
        Dropout(0.2),
        Dense(128, activation = relu),
        Dense(10),
    }
}

fn trainer() -> Trainer<Mlp, Adam, SparseCategoricalCrossentropy> {
    Mlp::new(Seed(42)).compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy::new()],
    )
}

fn quiet(epochs: usize) -> Fit<'static, f32> {
    Fit::epochs(epochs).batch_size(64).verbose(Verbose::Silent)
}

fn synthetic(samples: usize, label: f32) -> Dataset<f32> {
    let x = Array2::from_shape_fn((samples, 784), |(i, j)| ((i + j) % 7) as f32 / 7.0);
    let y = Array2::from_elem((samples, 1), label);
    Dataset::from_rows(x, y).unwrap()
}

#[test]
fn fashion_mnist_mlp_reaches_082_test_accuracy_after_one_epoch() {
    let (train, test) = strata::datasets::fashion_mnist::load().unwrap();
    let mut trainer = trainer();
    let history = trainer.fit(&train, quiet(1)).unwrap();
    assert_eq!(history.epoch, vec![0]);
    let accuracy = trainer.evaluate(&test).unwrap().get("accuracy").unwrap();
    assert!(accuracy >= 0.82, "test accuracy {accuracy} after one epoch");
    // predict agrees with evaluate's accuracy.
    let logits = trainer.predict(test.x().into_dyn()).unwrap();
    assert_eq!(logits.shape(), &[10_000, 10]);
    let correct = logits
        .rows()
        .into_iter()
        .zip(test.y().column(0))
        .filter(|(row, label)| {
            let best = row
                .iter()
                .enumerate()
                .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
            best.0 as f32 == **label
        })
        .count();
    assert!((correct as f64 / 10_000.0 - accuracy).abs() < 1e-9);
}

#[test]
fn validation_split_holds_out_the_end_and_logs_val_metrics() {
    let mut trainer = trainer();
    let data = synthetic(200, 3.0);
    let history = trainer
        .fit(&data, quiet(2).validation_split(0.25).validation_freq(2))
        .unwrap();
    assert_eq!(history.get("loss").unwrap().len(), 2);
    assert_eq!(
        history.get("val_loss").unwrap().len(),
        1,
        "validated every 2 epochs"
    );
    assert!(history.get("val_accuracy").is_some());
}

#[test]
fn train_on_batch_lowers_the_loss_and_test_on_batch_does_not_train() {
    let mut trainer = trainer();
    trainer.set_threads(1).unwrap();
    let data = synthetic(64, 7.0);
    let (x, y) = (data.x().into_dyn(), data.y().into_dyn());
    let before = trainer.test_on_batch(x.view(), y.view()).unwrap();
    let again = trainer.test_on_batch(x.view(), y.view()).unwrap();
    assert_eq!(before, again, "test_on_batch must not train");
    for _ in 0..20 {
        trainer.train_on_batch(x.view(), y.view()).unwrap();
    }
    let after = trainer.test_on_batch(x.view(), y.view()).unwrap();
    assert!(after.get("loss").unwrap() < before.get("loss").unwrap() / 2.0);
    assert_eq!(after.get("accuracy"), Some(1.0));
}

#[test]
fn same_seed_and_threads_give_identical_weights() {
    let data = synthetic(300, 1.0);
    let run = |threads| {
        let mut trainer = trainer();
        trainer.set_threads(threads).unwrap();
        trainer.fit(&data, quiet(2).seed(9)).unwrap();
        trainer.model().params().to_vec()
    };
    assert_eq!(run(1), run(1));
    assert_eq!(run(2), run(2));
}

#[test]
fn a_dense_network_splits_its_products_and_trains_as_on_one_thread() {
    assert_eq!(Parallelism::for_model::<Mlp>(), Parallelism::Products);
    let data = synthetic(300, 1.0);
    let run = |threads, parallelism| {
        let mut trainer = trainer();
        trainer.set_threads(threads).unwrap();
        trainer.set_parallelism(parallelism);
        trainer.fit(&data, quiet(2).seed(9)).unwrap();
        trainer.model().params().to_vec()
    };
    let one_thread = run(1, Parallelism::Products);
    assert_eq!(run(2, Parallelism::Products), one_thread);
    assert_ne!(
        run(2, Parallelism::Batch),
        one_thread,
        "summing two lanes' gradients rounds differently"
    );
}

#[test]
fn wrong_sample_shape_is_an_error_that_names_both_shapes() {
    let x = ArrayD::<f32>::zeros(IxDyn(&[10, 28, 27]));
    let y = ArrayD::<f32>::zeros(IxDyn(&[10]));
    let data = Dataset::new(x.clone(), y).unwrap();
    let error = trainer().fit(&data, quiet(1)).unwrap_err().to_string();
    assert!(
        error.contains("[28, 27]") && error.contains("[784]"),
        "{error}"
    );
    let error = trainer().predict(x.view()).unwrap_err().to_string();
    assert!(error.contains("756") && error.contains("784"), "{error}");
}

#[test]
fn labels_out_of_range_are_an_error_that_names_the_sample() {
    let error = trainer()
        .fit(&synthetic(5, 10.0), quiet(1))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("sample 0") && error.contains("10"),
        "{error}"
    );
    let error = trainer()
        .fit(&synthetic(5, 2.5), quiet(1))
        .unwrap_err()
        .to_string();
    assert!(error.contains("2.5"), "{error}");
}

#[test]
fn empty_data_and_zero_batch_size_are_errors() {
    let empty = Dataset::from_rows(Array2::zeros((0, 784)), Array2::zeros((0, 1))).unwrap();
    let error = trainer().fit(&empty, quiet(1)).unwrap_err().to_string();
    assert!(error.contains("empty"), "{error}");
    let error = trainer()
        .fit(&synthetic(5, 1.0), quiet(1).batch_size(0))
        .unwrap_err()
        .to_string();
    assert!(error.contains("batch_size"), "{error}");
    assert!(trainer().evaluate(&empty).is_err());
}

#[test]
fn nan_loss_stops_training_and_keeps_the_last_finite_weights() {
    let mut trainer = trainer();
    let mut x = Array2::from_elem((64, 784), 0.5f32);
    x[[3, 5]] = f32::NAN;
    let data = Dataset::from_rows(x, Array2::zeros((64, 1))).unwrap();
    let before = trainer.model().params().to_vec();
    let error = trainer.fit(&data, quiet(1)).unwrap_err();
    assert!(matches!(error, Error::NonFiniteLoss { .. }), "{error}");
    assert_eq!(
        trainer.model().params(),
        &before[..],
        "weights must be untouched"
    );
}

#[test]
fn summary_and_architecture_describe_the_layers() {
    let model = Mlp::new(Seed(1));
    let summary = model.summary_string();
    assert!(summary.contains("dense_2 (Dense)"), "{summary}");
    assert!(summary.contains("Total params: 118,282"), "{summary}");
    assert_eq!(Mlp::<f32>::PARAM_COUNT, 118_282);
    assert_eq!(Mlp::<f32>::INPUT_SHAPE, &[784]);
    assert_eq!(Mlp::<f32>::OUTPUT_SHAPE, &[10]);
    let json = Mlp::<f32>::ARCHITECTURE_JSON;
    assert!(json.contains(r#""class_name": "Dropout", "config": {"name": "dropout", "trainable": true, "rate": 0.2}"#), "{json}");
    let names: Vec<&str> = Mlp::<f32>::PARAMS.iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "dense/kernel",
            "dense/bias",
            "dense_1/kernel",
            "dense_1/bias",
            "dense_2/kernel",
            "dense_2/bias"
        ]
    );
    assert_eq!(Mlp::<f32>::PARAMS[0].shape, &[784, 128]);
}

#[test]
fn same_seed_gives_the_same_initial_weights() {
    assert_eq!(Mlp::new(Seed(3)).params(), Mlp::new(Seed(3)).params());
    assert_ne!(Mlp::new(Seed(3)).params(), Mlp::new(Seed(4)).params());
}

#[test]
fn a_bad_optimizer_setting_is_an_error_before_any_step() {
    let mut trainer = Mlp::new(Seed(42)).compile(
        Adam::new(1e-3).beta_1(1.5),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy],
    );
    let before = trainer.model().params().to_vec();
    let data = synthetic(64, 1.0);
    let error = trainer.fit(&data, quiet(1)).unwrap_err().to_string();
    assert!(error.contains("beta_1") && error.contains("1.5"), "{error}");
    let (x, y) = (data.x().into_dyn(), data.y().into_dyn());
    assert!(trainer.train_on_batch(x.view(), y.view()).is_err());
    assert_eq!(
        trainer.model().params(),
        &before[..],
        "weights must be untouched"
    );
}
