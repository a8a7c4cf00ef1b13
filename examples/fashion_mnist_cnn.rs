//! Trains Keras's classic convnet on Fashion-MNIST and reports its test accuracy after
//! each epoch.
//!
//! Run with `cargo run --release --example fashion_mnist_cnn` (optionally followed by the
//! number of epochs, 15 by default).

use strata::prelude::*;

model! {
    /// Keras's Fashion-MNIST convnet, channels-last.
    pub struct ConvNet: [28, 28, 1] -> [10] {
        Conv2D(32, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Conv2D(64, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Flatten,
        Dropout(0.5),
        Dense(10),
    }
}

fn main() -> Result<(), strata::Error> {
    let epochs = match std::env::args().nth(1) {
        Some(arg) => arg.parse().unwrap_or_else(|_| {
            eprintln!("usage: fashion_mnist_cnn [epochs]");
            std::process::exit(2)
        }),
        None => 15,
    };
    let (train, test) = strata::datasets::fashion_mnist::load()?;
    let model = ConvNet::new(Seed(42));
    model.summary();
    let mut trainer = model.compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy],
    );
    let started = std::time::Instant::now();
    let history = trainer.fit(
        &train,
        Fit::epochs(epochs).batch_size(64).validation_data(&test),
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let scores = trainer.evaluate(&test)?;
    let accuracy = scores.get("accuracy").unwrap_or(f64::NAN);
    println!(
        "{} epochs in {seconds:.0} s ({:.0} samples/s with validation, {} threads)",
        history.epoch.len(),
        (history.epoch.len() * train.len()) as f64 / seconds,
        trainer.threads()
    );
    println!(
        "test loss: {:.4} - test accuracy: {accuracy:.4}",
        scores.get("loss").unwrap_or(f64::NAN)
    );
    Ok(())
}
