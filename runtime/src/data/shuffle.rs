use rand::Rng as _;

use crate::{Rng, Seed};

/// The indices `0..len` in an order drawn from `seed`, by a Fisher–Yates shuffle: the
/// same seed gives the same order on every platform.
///
/// This is the order of [`Dataset::shuffled`](super::Dataset::shuffled); a training loop
/// that gathers batches by index can shuffle indices instead of samples.
///
/// ```
/// use strata_runtime::{data::permutation, Seed};
/// let order = permutation(5, Seed(42));
/// assert_eq!(order, permutation(5, Seed(42)));
/// let mut sorted = order.clone();
/// sorted.sort();
/// assert_eq!(sorted, [0, 1, 2, 3, 4]);
/// ```
pub fn permutation(len: usize, seed: Seed) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    fisher_yates(len, &mut seed.rng(), |i, j| order.swap(i, j));
    order
}

/// Calls `swap(i, j)` for the swaps of a Fisher–Yates shuffle of `len` items: for `i`
/// from `len - 1` down to 1, with `j` uniform in `0..=i`.
pub(super) fn fisher_yates(len: usize, rng: &mut Rng, mut swap: impl FnMut(usize, usize)) {
    for i in (1..len).rev() {
        // Drawn as u64, so that the stream does not depend on the width of usize.
        let j = rng.random_range(0..=i as u64) as usize;
        swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_reproducible_and_complete() {
        let a = permutation(1000, Seed(3));
        assert_eq!(a, permutation(1000, Seed(3)));
        assert_ne!(a, permutation(1000, Seed(4)));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn permutation_is_uniform_over_small_sets() {
        // Every one of the 6 orders of 3 items comes up about 1/6 of the time.
        let mut counts = std::collections::HashMap::new();
        let trials = 6000;
        for seed in 0..trials {
            *counts.entry(permutation(3, Seed(seed))).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 6);
        for (order, count) in counts {
            assert!((800..1200).contains(&count), "{order:?} came {count} times");
        }
    }

    #[test]
    fn permutation_of_nothing_is_empty() {
        assert!(permutation(0, Seed(1)).is_empty());
        assert_eq!(permutation(1, Seed(1)), [0]);
    }
}
