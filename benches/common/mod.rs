//! What the model benchmarks share: Fashion-MNIST-shaped synthetic data, an Adam trainer,
//! and the training-step and batch-inference groups at one and two threads.

use criterion::{Criterion, Throughput};
use ndarray::{Array2, ArrayD};
use strata::prelude::*;

/// `samples` images of 784 pixels in [0, 1], deterministic.
pub fn images(samples: usize) -> ArrayD<f32> {
    Array2::from_shape_fn((samples, 784), |(i, j)| {
        ((i * 13 + j * 7) % 256) as f32 / 255.0
    })
    .into_dyn()
}

/// `samples` class labels cycling through 0..10.
pub fn labels(samples: usize) -> ArrayD<f32> {
    Array2::from_shape_fn((samples, 1), |(i, _)| (i % 10) as f32).into_dyn()
}

/// `model` compiled as the peers' workloads are: Adam 1e-3, sparse crossentropy on logits.
pub fn adam_trainer<M: Model<Float = f32>>(
    model: M,
    threads: usize,
) -> Trainer<M, Adam, SparseCategoricalCrossentropy> {
    let mut trainer = model.compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        (),
    );
    trainer.set_threads(threads).expect("threads");
    trainer
}

/// One training step at batch 64, at one and two threads, in samples per second.
pub fn training_steps<M: Model<Float = f32>>(c: &mut Criterion, group: &str, model: fn() -> M) {
    training_steps_with(c, group, model, Parallelism::for_model::<M>(), 64);
}

/// As [`training_steps`], at batch `batch`, with the threads used as `parallelism` says.
pub fn training_steps_with<M: Model<Float = f32>>(
    c: &mut Criterion,
    group: &str,
    model: fn() -> M,
    parallelism: Parallelism,
    batch: usize,
) {
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(batch as u64));
    let (x, y) = (images(batch), labels(batch));
    for threads in [1, 2] {
        let mut trainer = adam_trainer(model(), threads);
        trainer.set_parallelism(parallelism);
        group.bench_function(format!("threads{threads}"), |b| {
            b.iter(|| trainer.train_on_batch(x.view(), y.view()).expect("step"))
        });
    }
    group.finish();
}

/// One epoch of `fit` over 6,400 samples at batch 64 (shuffling and gathering included),
/// at one and two threads, in samples per second.
pub fn fit_epochs<M: Model<Float = f32>>(c: &mut Criterion, group: &str, model: fn() -> M) {
    let mut group = c.benchmark_group(group);
    group.sample_size(20);
    let samples = 6_400;
    let y = labels(samples)
        .into_dimensionality()
        .expect("labels are 2-D");
    let x = images(samples)
        .into_dimensionality()
        .expect("images are 2-D");
    let data = Dataset::from_rows(x, y).expect("dataset");
    group.throughput(Throughput::Elements(samples as u64));
    for threads in [1, 2] {
        let mut trainer = adam_trainer(model(), threads);
        group.bench_function(format!("threads{threads}"), |b| {
            b.iter(|| {
                let fit = Fit::epochs(1).batch_size(64).verbose(Verbose::Silent);
                trainer.fit(&data, fit).expect("fit")
            })
        });
    }
    group.finish();
}

/// `predict` on a batch of 1024, at one and two threads, in samples per second.
pub fn batch_inference<M: Model<Float = f32>>(c: &mut Criterion, group: &str, model: fn() -> M) {
    let mut group = c.benchmark_group(group);
    group.sample_size(20);
    let x = images(1024);
    group.throughput(Throughput::Elements(1024));
    for threads in [1, 2] {
        let mut trainer = adam_trainer(model(), threads);
        group.bench_function(format!("batch1024_threads{threads}"), |b| {
            b.iter(|| trainer.predict(x.view()).expect("predict"))
        });
    }
    group.finish();
}
