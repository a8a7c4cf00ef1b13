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

/// The weights an epoch trains with.
#[derive(Clone, Copy, Debug)]
enum Weights {
    None,
    /// `sample_weight`, a different weight for each sample.
    Sample,
    /// `class_weight`, for two of the classes.
    Class,
}

/// Allocations made by one epoch of `fit` over `data` with `weights`, after a warm-up
/// epoch.
fn allocations_of_an_epoch(data: &Dataset<f32>, weights: Weights) -> u64 {
    let mut trainer = Mlp::new(Seed(1)).compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy::new()],
    );
    trainer.set_threads(1).unwrap();
    let sample_weight: Vec<f32> = (0..data.len()).map(|i| (i % 4) as f32 * 0.5).collect();
    let fit = || {
        let fit = Fit::epochs(1).batch_size(64).verbose(Verbose::Silent);
        match weights {
            Weights::None => fit,
            Weights::Sample => fit.sample_weight(&sample_weight),
            Weights::Class => fit.class_weight([(3, 2.0), (7, 0.5)]),
        }
    };
    trainer.fit(data, fit()).unwrap();
    allocation_counter::measure(|| {
        trainer.fit(data, fit()).unwrap();
    })
    .count_total
}

#[test]
fn training_steps_allocate_nothing_once_the_batch_size_is_seen() {
    // Per-epoch bookkeeping (the shuffled order, the history, the class weights of the
    // samples) allocates the same in both; ten times the steps must not allocate once more.
    for weights in [Weights::None, Weights::Sample, Weights::Class] {
        let few_steps = allocations_of_an_epoch(&dataset(64 * 4), weights);
        let many_steps = allocations_of_an_epoch(&dataset(64 * 40), weights);
        assert_eq!(
            few_steps, many_steps,
            "{weights:?}: an epoch of 40 steps allocated {many_steps} times, one of 4 steps \
             {few_steps} times"
        );
    }
}

#[test]
fn weights_add_no_allocation_to_a_training_step() {
    // Until the product allocates nothing (see the test above), compare what 36 more steps
    // allocate with and without weights. gemm's count moves by one or two with the
    // addresses of the buffers it is given; a weighted step that allocated would add 36.
    let extra_of = |weights| {
        let few_steps = allocations_of_an_epoch(&dataset(64 * 4), weights) as i64;
        let many_steps = allocations_of_an_epoch(&dataset(64 * 40), weights) as i64;
        many_steps - few_steps
    };
    let unweighted = extra_of(Weights::None);
    for weights in [Weights::Sample, Weights::Class] {
        let weighted = extra_of(weights);
        assert!(
            (weighted - unweighted).abs() < 36 / 4,
            "{weights:?}: 36 more steps allocated {weighted} more times, {unweighted} without \
             weights"
        );
    }
}
