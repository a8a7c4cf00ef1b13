//! Whether a product may split its rows (or its depth) across the threads of the rayon
//! pool it runs in, and how the halves of a split are given to the threads.
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

/// Runs `low` and `high` as `rayon::join` does, the calling thread running the one it owns:
/// `high` on the pool's second thread, `low` on any other. The halves of a split then
/// stay with the same threads from one fork to the next, whichever thread forks (a
/// trainer's step may start on either), so that a buffer written by one half, such as a
/// share of the weights updated by the optimizer, is read next by the same core: reading
/// what another core wrote costs about ten times as much (`cargo bench --bench cores`).
pub(crate) fn join_owned<L: FnOnce() + Send, H: FnOnce() + Send>(low: L, high: H) {
    if rayon::current_thread_index() == Some(1) {
        rayon::join(high, low);
    } else {
        rayon::join(low, high);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The forking thread runs the half it owns, first, whichever thread forks; the other
    /// half runs wherever rayon puts it (often on the forking thread too, after its own).
    #[test]
    fn each_of_two_threads_runs_its_own_half_whichever_forks() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        for _ in 0..100 {
            let forks = pool.broadcast(|context| {
                let ran = Mutex::new(Vec::new());
                let run = |half: &'static str| {
                    let thread = rayon::current_thread_index().expect("a pool thread");
                    ran.lock().expect("log").push((half, thread));
                };
                join_owned(|| run("low"), || run("high"));
                let caller = context.index();
                let ran = ran.into_inner().expect("log");
                let first_here = ran.iter().find(|&&(_, thread)| thread == caller).copied();
                (caller, first_here.map(|(half, _)| half))
            });
            for (caller, first) in forks {
                let own = if caller == 1 { "high" } else { "low" };
                assert_eq!(first, Some(own), "thread {caller} forked");
            }
        }
    }
}
