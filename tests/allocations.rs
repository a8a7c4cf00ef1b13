//! A training step allocates nothing once its batch size has been seen.

use ndarray::Array2;
use strata::prelude::*;
use strata::train::Verbose;

model! {
    struct Mlp: [784] -> [10] {
        Dense(128, activation = relu),
        Dropout(0.2),
        Dense(128, activation = relu),
        Dense(10),
    }
}

fn dataset(samples: usize) -> Dataset<f32> {
    let x = Array2::from_shape_fn((samples, 784), |(i, j)| {
        ((i * 31 + j * 7) % 255) as f32 / 255.0
    });
    let y = Array2::from_shape_fn((samples, 1), |(i, _)| (i % 10) as f32);
    Dataset::from_rows(x, y).unwrap()
}

/// Allocations made by one epoch of `fit` over `data`, after a warm-up epoch.
fn allocations_of_an_epoch(data: &Dataset<f32>) -> u64 {
    let mut trainer = Mlp::new(Seed(1)).compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy::new()],
    );
    trainer.set_threads(1).unwrap();
    let fit = || Fit::epochs(1).batch_size(64).verbose(Verbose::Silent);
    trainer.fit(data, fit()).unwrap();
    allocation_counter::measure(|| {
        trainer.fit(data, fit()).unwrap();
    })
    .count_total
}

#[test]
fn training_steps_allocate_nothing_once_the_batch_size_is_seen() {
    // Per-epoch bookkeeping (the shuffled order, the history) allocates the same in both;
    // ten times the steps must not allocate once more.
    let few_steps = allocations_of_an_epoch(&dataset(64 * 4));
    let many_steps = allocations_of_an_epoch(&dataset(64 * 40));
    assert_eq!(
        few_steps, many_steps,
        "an epoch of 40 steps allocated {many_steps} times, one of 4 steps {few_steps} times"
    );
}
