//! What the model tests share: a weights round trip and a short run on Fashion-MNIST.

use strata::prelude::*;

/// Saves `saved`'s weights, loads them into `loaded` and checks that they arrived.
pub fn assert_weights_round_trip<M: Model>(saved: &M, loaded: &mut M) {
    let path = std::env::temp_dir().join(format!(
        "strata-{}-{}.safetensors",
        M::NAME,
        std::process::id()
    ));
    saved.save_weights(&path).unwrap();
    loaded.load_weights(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(saved.params(), loaded.params());
}

/// The test accuracy of `model` after one epoch on Fashion-MNIST (Adam 1e-3, batch 64).
pub fn fashion_mnist_accuracy_after_one_epoch<M: Model<Float = f32>>(model: M) -> f64 {
    let (train, test) = strata::datasets::fashion_mnist::load().unwrap();
    let mut trainer = model.compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy::new()],
    );
    let fit = Fit::epochs(1).batch_size(64).verbose(Verbose::Silent);
    trainer.fit(&train, fit).unwrap();
    let accuracy = trainer.evaluate(&test).unwrap().get("accuracy").unwrap();
    eprintln!("{}: test accuracy after one epoch: {accuracy:.4}", M::NAME);
    accuracy
}
