use std::iter::FusedIterator;

use ndarray::{ArrayView2, s};

/// The batches of a [`Dataset`](super::Dataset), in order: `(x, y)` views of
/// `batch_size` samples each, the last one holding the remainder.
///
/// Made by [`Dataset::batches`](super::Dataset::batches).
///
/// ```
/// use ndarray::array;
/// use strata_runtime::data::Dataset;
/// let data = Dataset::new(
///     array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]].into_dyn(),
///     array![0.0f32, 1.0, 0.0].into_dyn(),
/// )
/// .unwrap();
/// let mut batches = data.batches(2).unwrap();
/// assert_eq!(batches.len(), 2);
/// let (x, y) = batches.next().unwrap();
/// assert_eq!(x, array![[1.0, 2.0], [3.0, 4.0]]);
/// assert_eq!(y, array![[0.0], [1.0]]);
/// let (x, _) = batches.next().unwrap();
/// assert_eq!(x, array![[5.0, 6.0]]);
/// assert!(batches.next().is_none());
/// ```
#[derive(Clone, Debug)]
pub struct Batches<'a, F> {
    x: ArrayView2<'a, F>,
    y: ArrayView2<'a, F>,
    batch_size: usize,
    start: usize,
}

impl<'a, F> Batches<'a, F> {
    /// Batches of `x` and `y`, which have equal row counts; `batch_size` is at least 1.
    pub(super) fn new(x: ArrayView2<'a, F>, y: ArrayView2<'a, F>, batch_size: usize) -> Self {
        debug_assert!(batch_size > 0 && x.nrows() == y.nrows());
        Batches {
            x,
            y,
            batch_size,
            start: 0,
        }
    }

    /// The number of samples per batch (the last batch may hold fewer).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }
}

impl<'a, F> Iterator for Batches<'a, F> {
    type Item = (ArrayView2<'a, F>, ArrayView2<'a, F>);

    fn next(&mut self) -> Option<Self::Item> {
        let len = self.x.nrows();
        if self.start >= len {
            return None;
        }
        let end = len.min(self.start + self.batch_size);
        let rows = s![self.start..end, ..];
        self.start = end;
        Some((self.x.slice_move(rows), self.y.slice_move(rows)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self
            .x
            .nrows()
            .saturating_sub(self.start)
            .div_ceil(self.batch_size);
        (left, Some(left))
    }
}

impl<F> ExactSizeIterator for Batches<'_, F> {}

impl<F> FusedIterator for Batches<'_, F> {}
