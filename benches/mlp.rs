//! The README's MLP (784-128-128-10): one training step at batch 64 (and 256), an epoch of `fit`, and
//! inference at batch 1 and 1024, at one and two threads.
//!
//! cargo bench --bench mlp

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use strata::prelude::*;

model! {
    pub struct Mlp: [784] -> [10] {
        Dense(128, activation = relu),
        Dense(128, activation = relu),
        Dense(10),
    }
}

fn mlp() -> Mlp {
    Mlp::new(Seed(42))
}

fn training_step(c: &mut Criterion) {
    common::training_steps(c, "mlp_train_step_batch64", mlp);
    // What decided the MLP's default (Parallelism::Products): the batch split across the
    // threads instead, each with its own gradient buffer.
    common::training_steps_with(
        c,
        "mlp_train_step_batch64_batch_parallelism",
        mlp,
        Parallelism::Batch,
        64,
    );
    // A larger batch, where each step's exchanges between the threads weigh less against
    // its arithmetic.
    common::training_steps_with(
        c,
        "mlp_train_step_batch256",
        mlp,
        Parallelism::for_model::<Mlp>(),
        256,
    );
    common::fit_epochs(c, "mlp_fit_epoch_batch64", mlp);
}

fn inference(c: &mut Criterion) {
    let mut group = c.benchmark_group("mlp_inference");
    let model = mlp();
    let sample = [0.5f32; 784];
    group.throughput(Throughput::Elements(1));
    group.bench_function("batch1_predict_one", |b| {
        b.iter(|| model.predict_one(black_box(&sample)))
    });
    group.finish();
    common::batch_inference(c, "mlp_inference", mlp);
}

criterion_group!(benches, training_step, inference);
criterion_main!(benches);
