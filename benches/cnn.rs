//! The convnet without Dropout (Conv2D 32 - MaxPooling2D - Conv2D 64 -
//! MaxPooling2D - Flatten - Dense 10): one Adam training step at batch 64 at one and two
//! threads, and inference at batch 1024, in samples per second.
//!
//! cargo bench --bench cnn

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Array2, ArrayD};
use strata::prelude::*;

model! {
    pub struct ConvNet: [28, 28, 1] -> [10] {
        Conv2D(32, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Conv2D(64, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Flatten,
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

fn trainer(threads: usize) -> Trainer<ConvNet, Adam, SparseCategoricalCrossentropy> {
    let mut trainer = ConvNet::new(Seed(42)).compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        (),
    );
    trainer.set_threads(threads).expect("threads");
    trainer
}

fn training_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("cnn_train_step_batch64");
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
    let mut group = c.benchmark_group("cnn_inference_batch1024");
    group.sample_size(20);
    let x = images(1024);
    group.throughput(Throughput::Elements(1024));
    for threads in [1, 2] {
        let mut trainer = trainer(threads);
        group.bench_function(format!("threads{threads}"), |b| {
            b.iter(|| trainer.predict(x.view()).expect("predict"))
        });
    }
    group.finish();
}

criterion_group!(benches, training_step, inference);
criterion_main!(benches);
