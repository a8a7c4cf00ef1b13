//! Trains a model of two inputs on Fashion-MNIST: the top and the bottom half of each
//! image, each read by the same encoder (one set of weights), joined and classified.
//! Reports the test accuracy.
//!
//! Run with `cargo run --release --example fashion_mnist_halves` (optionally followed by
//! the number of epochs, 5 by default).

use ndarray::s;
use strata::prelude::*;

model! {
    /// One shared encoder for both halves; the classifier sees which half said what.
    pub struct Halves: (top: [392], bottom: [392]) -> [10] {
        let encode = Dense(128, activation = relu);
        let both = Concatenate(encode(top), encode(bottom));
        Dense(10)(Dense(64, activation = relu)(both))
    }
}

/// The dataset with each image as two inputs, its top and bottom 14 rows.
fn halves(data: &Dataset<f32>) -> Result<Dataset<f32>, strata::Error> {
    let x = data.x();
    let (top, bottom) = (x.slice(s![.., ..392]), x.slice(s![.., 392..]));
    Dataset::packed(&[top.into_dyn(), bottom.into_dyn()], &[data.y().into_dyn()])
}

fn main() -> Result<(), strata::Error> {
    let epochs = match std::env::args().nth(1) {
        Some(arg) => arg.parse().unwrap_or_else(|_| {
            eprintln!("usage: fashion_mnist_halves [epochs]");
            std::process::exit(2)
        }),
        None => 5,
    };
    let (train, test) = strata::datasets::fashion_mnist::load()?;
    let (train, test) = (halves(&train)?, halves(&test)?);
    let model = Halves::new(Seed(42));
    model.summary();
    let mut trainer = model.compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy],
    );
    trainer.fit(
        &train,
        Fit::epochs(epochs).batch_size(64).validation_data(&test),
    )?;
    let scores = trainer.evaluate(&test)?;
    println!(
        "test loss: {:.4} - test accuracy: {:.4}",
        scores.get("loss").unwrap_or(f64::NAN),
        scores.get("accuracy").unwrap_or(f64::NAN)
    );
    Ok(())
}
