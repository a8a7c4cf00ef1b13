//! The README's MLP (784-128-128-10): one training step at batch 64, and inference at
//! batch 1 and 1024, at one and two threads.
//!
//! cargo bench --bench mlp

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Array2, ArrayD};
use std::hint::black_box;
use strata::prelude::*;

model! {
    pub struct Mlp: [784] -> [10] {
        Dense(128, activation = relu),
        Dense(128, activation = relu),
        Dense(10),
    }
}

fn images(samples: usize) -> ArrayD<f32> {
    Array2::from_shape_fn((samples, 784), |(i, j)| {
        ((i * 13 + j * 7) % 256) as f32 / 255.0
    })
    .into_dyn()
}

fn labels(samples: usize) -> ArrayD<f32> {
    Array2::from_shape_fn((samples, 1), |(i, _)| (i % 10) as f32).into_dyn()
}

fn trainer(threads: usize) -> Trainer<Mlp, Adam, SparseCategoricalCrossentropy> {
    let mut trainer = Mlp::new(Seed(42)).compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        (),
    );
    trainer.set_threads(threads).expect("threads");
    trainer
}

fn training_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("mlp_train_step_batch64");
    group.throughput(Throughput::Elements(64));
    let (x, y) = (images(64), labels(64));
    for threads in [1, 2] {
        let mut trainer = trainer(threads);
        group.bench_function(format!("threads{threads}"), |b| {
            b.iter(|| trainer.train_on_batch(x.view(), y.view()).expect("step"))
        });
    }
    group.finish();
}

fn inference(c: &mut Criterion) {
    let mut group = c.benchmark_group("mlp_inference");
    let model = Mlp::new(Seed(42));
    let sample = [0.5f32; 784];
    group.throughput(Throughput::Elements(1));
    group.bench_function("batch1_predict_one", |b| {
        b.iter(|| model.predict_one(black_box(&sample)))
    });
    let x = images(1024);
    group.throughput(Throughput::Elements(1024));
    for threads in [1, 2] {
        let mut trainer = trainer(threads);
        group.bench_function(format!("batch1024_threads{threads}"), |b| {
            b.iter(|| trainer.predict(x.view()).expect("predict"))
        });
    }
    group.finish();
}

criterion_group!(benches, training_step, inference);
criterion_main!(benches);
