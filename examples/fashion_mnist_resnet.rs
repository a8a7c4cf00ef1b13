//! Trains a small residual network on Fashion-MNIST: a model of the same block used as a
//! layer (`ResBlock`, twice, each with its own weights), its input added back to its
//! output in the graph form. Reports the test accuracy.
//!
//! Run with `cargo run --release --example fashion_mnist_resnet` (optionally followed by
//! the number of epochs, 5 by default).

use strata::prelude::*;

model! {
    /// Two 3x3 convolutions with the block's input added back: He et al.'s basic block.
    pub struct ResBlock: [14, 14, 32] -> [14, 14, 32] {
        let h = Conv2D(32, kernel_size = 3, padding = same, activation = relu)(input);
        let h = Conv2D(32, kernel_size = 3, padding = same)(h);
        Activation(relu)(Add(input, h))
    }

    /// A stem, two residual blocks, and a classifier.
    pub struct ResNet: [28, 28, 1] -> [10] {
        Conv2D(32, kernel_size = 3, padding = same, activation = relu),
        MaxPooling2D(2),
        ResBlock,
        ResBlock,
        MaxPooling2D(2),
        Flatten,
        Dense(10),
    }
}

fn main() -> Result<(), strata::Error> {
    let epochs = match std::env::args().nth(1) {
        Some(arg) => arg.parse().unwrap_or_else(|_| {
            eprintln!("usage: fashion_mnist_resnet [epochs]");
            std::process::exit(2)
        }),
        None => 5,
    };
    let (train, test) = strata::datasets::fashion_mnist::load()?;
    let model = ResNet::new(Seed(42));
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
    println!(
        "{} epochs in {seconds:.0} s ({} threads)",
        history.epoch.len(),
        trainer.threads()
    );
    println!(
        "test loss: {:.4} - test accuracy: {:.4}",
        scores.get("loss").unwrap_or(f64::NAN),
        scores.get("accuracy").unwrap_or(f64::NAN)
    );
    Ok(())
}
