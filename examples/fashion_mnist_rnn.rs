//! Reads each Fashion-MNIST image row by row, 28 steps of 28 pixels, with an LSTM, and
//! reports its test accuracy after each epoch.
//!
//! Run with `cargo run --release --example fashion_mnist_rnn` (optionally followed by the
//! number of epochs, 10 by default).

use strata::prelude::*;

model! {
    /// Reads an image row by row, 28 steps of 28 pixels.
    pub struct RowReader: [28, 28] -> [10] {   // Fashion-MNIST's 784 pixels fit
        LSTM(128),
        Dense(10),
    }
}

fn main() -> Result<(), strata::Error> {
    let epochs = match std::env::args().nth(1) {
        Some(arg) => arg.parse().unwrap_or_else(|_| {
            eprintln!("usage: fashion_mnist_rnn [epochs]");
            std::process::exit(2)
        }),
        None => 10,
    };
    let (train, test) = strata::datasets::fashion_mnist::load()?;
    let model = RowReader::new(Seed(42));
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
        "{} epochs in {seconds:.0} s ({:.0} s per epoch with validation, {} threads)",
        history.epoch.len(),
        seconds / history.epoch.len() as f64,
        trainer.threads()
    );
    println!(
        "test loss: {:.4} - test accuracy: {accuracy:.4}",
        scores.get("loss").unwrap_or(f64::NAN)
    );
    Ok(())
}
