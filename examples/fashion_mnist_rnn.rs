//! Reads each Fashion-MNIST image row by row, 28 steps of 28 pixels, with an LSTM, and
//! reports its test accuracy after each epoch.
//!
//! Run with `cargo run --release --example fashion_mnist_rnn` (optionally followed by the
//! number of epochs, 10 by default).

mod common;

use strata::prelude::*;

model! {
    /// Reads an image row by row, 28 steps of 28 pixels.
    pub struct RowReader: [28, 28] -> [10] {   // Fashion-MNIST's 784 pixels fit
        LSTM(128),
        Dense(10),
    }
}

fn main() -> Result<(), strata::Error> {
    let epochs = common::epochs_from_args(10, "fashion_mnist_rnn [epochs]");
    let data = strata::datasets::fashion_mnist::load()?;
    common::train_and_report(RowReader::new(Seed(42)), Adam::new(1e-3), epochs, &data)
}
