//! Helpers for the code `model!` generates. Not a public API.

mod foreign;

use std::sync::Mutex;

pub use foreign::*;

use crate::{Float, Model};

/// Checks the invariants of a forward call. The trainer and `predict` guarantee them, so
/// a failure here is a bug in strata, not a user's mistake.
#[inline]
pub fn check_batch(capacity: usize, batch: usize, input_len: usize, input_size: usize) {
    assert!(
        batch <= capacity,
        "workspace prepared for {capacity} samples, used for {batch}: call Model::prepare first"
    );
    assert_eq!(
        input_len,
        batch * input_size,
        "input holds {input_len} values, not {batch} samples of {input_size}"
    );
}

/// Splits `buf` into `N` consecutive slices of the given lengths (which must add up to at
/// most `buf.len()`).
pub fn split_mut<T, const N: usize>(buf: &mut [T], lens: [usize; N]) -> [&mut [T]; N] {
    let mut rest = buf;
    let mut parts: [&mut [T]; N] = std::array::from_fn(|_| <&mut [T]>::default());
    for (part, len) in parts.iter_mut().zip(lens) {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
        *part = head;
        rest = tail;
    }
    parts
}

/// Splits `buf` into `N` consecutive slices of the given lengths, as [`split_mut`] does.
pub fn split<T, const N: usize>(buf: &[T], lens: [usize; N]) -> [&[T]; N] {
    let mut rest = buf;
    std::array::from_fn(|k| {
        let (head, tail) = rest.split_at(lens[k]);
        rest = tail;
        head
    })
}

/// The body of a generated `predict_one`: one sample through `model`, using its scratch
/// workspace when no other thread holds it, and a fresh one otherwise.
pub fn predict_one<M: Model>(
    model: &M,
    scratch: &Mutex<M::Workspace>,
    x: &[M::Float],
    y: &mut [M::Float],
) where
    M::Float: Float,
{
    let mut fresh;
    let mut guard = scratch.try_lock();
    let workspace = match guard.as_mut() {
        Ok(ws) => &mut **ws,
        Err(_) => {
            fresh = M::Workspace::default();
            &mut fresh
        }
    };
    M::prepare(workspace, 1);
    y.copy_from_slice(model.forward(workspace, x, 1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_mut_gives_consecutive_parts() {
        let mut buf = [1, 2, 3, 4, 5, 6];
        let [a, b, c] = split_mut(&mut buf, [1, 3, 2]);
        assert_eq!((&*a, &*b, &*c), (&[1][..], &[2, 3, 4][..], &[5, 6][..]));
        b[0] = 9;
        assert_eq!(buf, [1, 9, 3, 4, 5, 6]);
    }
}
