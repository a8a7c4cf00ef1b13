//! Whether a product may split its rows across the threads of the rayon pool it runs in.
//!
//! By default a product runs on its calling thread: the trainer parallelises over the
//! batch, each thread with its own share of the rows. For a model with many parameters
//! and little work per sample (the MLP), that costs a gradient buffer per thread and a
//! pass to sum them; such a step runs on one lane instead, inside
//! [`with_split_products`], and each large product splits its rows across the pool.

use std::cell::Cell;

thread_local! {
    static SPLIT_PRODUCTS: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the products it calls on this thread split across the threads of the
/// rayon pool it runs in (none outside a pool).
pub fn with_split_products<R>(f: impl FnOnce() -> R) -> R {
    let before = SPLIT_PRODUCTS.replace(true);
    let _restore = Restore(before);
    f()
}

/// Puts the flag back as it was, also when `f` unwinds.
struct Restore(bool);

impl Drop for Restore {
    fn drop(&mut self) {
        SPLIT_PRODUCTS.set(self.0);
    }
}

/// How many threads a product called here may use.
pub(super) fn parts_here() -> usize {
    match rayon::current_thread_index() {
        Some(_) if SPLIT_PRODUCTS.get() => rayon::current_num_threads(),
        _ => 1,
    }
}

/// Runs `low` and `high` on two threads of the pool, `low` on the pool's first thread
/// whichever thread calls, so that the same part of a buffer stays in one core's cache
/// from one call to the next.
pub(crate) fn join_owned<L: FnOnce() + Send, H: FnOnce() + Send>(low: L, high: H) {
    if rayon::current_thread_index() == Some(1) {
        rayon::join(high, low);
    } else {
        rayon::join(low, high);
    }
}
