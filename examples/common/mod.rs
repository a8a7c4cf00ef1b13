//! What the Fashion-MNIST examples share: reading the number of epochs, and training a
//! classifier with validation on the test set, then reporting its speed and accuracy.

use strata::prelude::*;

/// The number of epochs given as the first argument, else `default`; exits with `usage`
/// on anything else.
#[allow(dead_code)] // each example compiles this module; fashion_mnist_cnn reads more
pub fn epochs_from_args(default: usize, usage: &str) -> usize {
    match std::env::args().nth(1) {
        Some(arg) => arg.parse().unwrap_or_else(|_| {
            eprintln!("usage: {usage}");
            std::process::exit(2)
        }),
        None => default,
    }
}

/// Trains `model` with `optimizer` for `epochs` in batches of 64 on sparse labels,
/// validating on the test set after each, then prints the time, the throughput and the
/// test loss and accuracy.
pub fn train_and_report<M: Model<Float = f32>>(
    model: M,
    optimizer: Adam,
    epochs: usize,
    (train, test): &(Dataset<f32>, Dataset<f32>),
) -> Result<(), strata::Error> {
    model.summary();
    let mut trainer = model.compile(
        optimizer,
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy],
    );
    let started = std::time::Instant::now();
    let history = trainer.fit(
        train,
        Fit::epochs(epochs).batch_size(64).validation_data(test),
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let scores = trainer.evaluate(test)?;
    let accuracy = scores.get("accuracy").unwrap_or(f64::NAN);
    println!(
        "{} epochs in {seconds:.0} s ({:.0} s per epoch, {:.0} samples/s with validation, {} threads)",
        history.epoch.len(),
        seconds / history.epoch.len() as f64,
        (history.epoch.len() * train.len()) as f64 / seconds,
        trainer.threads()
    );
    println!(
        "test loss: {:.4} - test accuracy: {accuracy:.4}",
        scores.get("loss").unwrap_or(f64::NAN)
    );
    Ok(())
}
