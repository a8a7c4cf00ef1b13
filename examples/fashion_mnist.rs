//! Trains the README's classifier on Fashion-MNIST, plots its history to
//! `fashion_mnist_history.png` and reports its test accuracy.
//!
//! Run with `cargo run --release --example fashion_mnist`.

use strata::prelude::*;

model! {
    /// Fashion-MNIST classifier.
    pub struct Mlp: [784] -> [10] {
        Dense(128, activation = relu),
        Dropout(0.2),
        Dense(128, activation = relu),
        Dense(10),
    }
}

fn main() -> Result<(), strata::Error> {
    let (train, test) = strata::datasets::fashion_mnist::load()?;
    let model = Mlp::new(Seed(42));
    model.summary();
    let mut trainer = model.compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy],
    );
    let history = trainer.fit(&train, Fit::epochs(5).batch_size(64).validation_data(&test))?;
    history.plot("fashion_mnist_history.png")?;
    println!("wrote the training curves to fashion_mnist_history.png");
    let scores = trainer.evaluate(&test)?;
    println!(
        "test loss: {:.4} - test accuracy: {:.4}",
        scores.get("loss").unwrap_or(f64::NAN),
        scores.get("accuracy").unwrap_or(f64::NAN)
    );
    Ok(())
}
