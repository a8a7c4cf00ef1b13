//! A training step on two threads allocates nothing once its batch size has been seen, on
//! any thread: the allocator here counts every thread's allocations (the counter of
//! `tests/allocations.rs` counts the calling thread's only, which leaves the lanes'
//! threads out).
//!
//! One test in this file: a test running beside it would add its own allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::Array2;
use strata::prelude::*;

/// The system allocator, counting every allocation of every thread.
struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `layout` is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (through `alloc` above).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as `alloc` and `dealloc`: the caller's contract is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

model! {
    /// Trained with its products split across the threads (Parallelism::Products).
    struct Mlp: [784] -> [10] {
        Dense(128, activation = relu),
        Dropout(0.2),
        Dense(128, activation = relu),
        Dense(10),
    }

    /// Trained with the batch split across the threads (Parallelism::Batch), and a
    /// convolution that pools its own output.
    struct ConvNet: [28, 28, 1] -> [10] {
        Conv2D(8, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Flatten,
        Dense(10),
    }
}

fn dataset(samples: usize) -> Dataset<f32> {
    let x = Array2::from_shape_fn((samples, 784), |(i, j)| {
        ((i * 7 + j * 3) % 17) as f32 / 17.0
    });
    let y = Array2::from_shape_fn((samples, 1), |(i, _)| (i % 10) as f32);
    Dataset::from_rows(x, y).unwrap()
}

/// Allocations of every thread during the second of two epochs of `fit` over `samples`
/// samples at batch 64 on two threads.
fn allocations_of_an_epoch<M: Model<Float = f32>>(model: M, samples: usize) -> u64 {
    let data = dataset(samples);
    let loss = SparseCategoricalCrossentropy::from_logits();
    let mut trainer = model.compile(Adam::new(1e-3), loss, [Accuracy::new()]);
    trainer.set_threads(2).unwrap();
    let fit = || Fit::epochs(1).batch_size(64).verbose(Verbose::Silent);
    trainer.fit(&data, fit()).unwrap();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    trainer.fit(&data, fit()).unwrap();
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

/// The pool's own bookkeeping (rayon's and crossbeam's, as threads sleep, wake and steal)
/// allocates a few times more or less from run to run, whatever the number of steps; an
/// allocation per step would add at least 36 between 4 steps and 40.
const POOL_JITTER: u64 = 4;

#[test]
fn two_threads_training_steps_allocate_nothing_on_any_thread() {
    let mlp = |samples| allocations_of_an_epoch(Mlp::new(Seed(1)), samples);
    assert_steps_allocate_nothing("MLP", mlp);
    let convnet = |samples| allocations_of_an_epoch(ConvNet::new(Seed(1)), samples);
    assert_steps_allocate_nothing("convnet", convnet);
}

/// Asserts that an epoch of 40 steps allocates as often as one of 4, but for the pool's
/// jitter, given the allocations of an epoch over a number of samples.
fn assert_steps_allocate_nothing(model: &str, allocations_of_an_epoch: impl Fn(usize) -> u64) {
    let few_steps = allocations_of_an_epoch(64 * 4);
    let many_steps = allocations_of_an_epoch(64 * 40);
    assert!(
        many_steps <= few_steps + POOL_JITTER,
        "{model}: {many_steps} allocations in 40 steps, {few_steps} in 4"
    );
}
