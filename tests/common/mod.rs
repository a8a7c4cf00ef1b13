//! What the model tests share: a short run on Fashion-MNIST.

use strata::prelude::*;

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
