//! The row-reading LSTM (28 steps of 28 features, LSTM(128), Dense(10)): one
//! training step at batch 64, and inference at batch 1024, at one and two threads.
//!
//! cargo bench --bench rnn

// Not `fit_epochs`: criterion would run its 6,400-sample epoch for minutes.
#[allow(dead_code)]
mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use strata::prelude::*;

model! {
    pub struct RowReader: [28, 28] -> [10] {
        LSTM(128),
        Dense(10),
    }
}

fn row_reader() -> RowReader {
    RowReader::new(Seed(42))
}

fn training_step(c: &mut Criterion) {
    common::training_steps(c, "lstm_train_step_batch64", row_reader);
}

fn inference(c: &mut Criterion) {
    common::batch_inference(c, "lstm_inference", row_reader);
}

criterion_group!(benches, training_step, inference);
criterion_main!(benches);
