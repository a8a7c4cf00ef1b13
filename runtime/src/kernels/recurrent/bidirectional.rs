//! Bidirectional's merge of its two directions, as Keras's: the backward copy ran from the
//! last step to the first, so its outputs are put back in time order, then merged with
//! the forward copy's (`merge_mode`).

use crate::Float;

/// How Bidirectional merges its directions (Keras's `merge_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// Side by side on the last axis: `[forward, backward]`.
    Concat,
    Sum,
    Mul,
    /// The mean.
    Ave,
}

impl Merge {
    /// Values per merged row of `units`-wide outputs.
    fn width(self, units: usize) -> usize {
        if self == Merge::Concat {
            2 * units
        } else {
            units
        }
    }
}

/// `y[b, t] = merge(forward[b, t], backward[b, time - 1 - t])` for rows of `units` values,
/// `time` per sample (1 for last-step outputs); `y`'s rows are `2·units` long for
/// [`Merge::Concat`], `units` otherwise.
///
/// ```
/// use strata_runtime::kernels::{Merge, bidirectional_forward};
/// let (forward, backward) = ([1.0f32, 2.0], [10.0, 20.0]); // one sample, two steps, one unit
/// let mut y = [0.0; 4];
/// bidirectional_forward(Merge::Concat, &forward, &backward, &mut y, 2, 1);
/// assert_eq!(y, [1.0, 20.0, 2.0, 10.0]);
/// ```
pub fn bidirectional_forward<F: Float>(
    merge: Merge,
    forward: &[F],
    backward: &[F],
    y: &mut [F],
    time: usize,
    units: usize,
) {
    let half = F::of(0.5);
    for (row, out) in y.chunks_exact_mut(merge.width(units)).enumerate() {
        let (f, r) = rows(row, time, units);
        let (f, r) = (&forward[f..][..units], &backward[r..][..units]);
        let pairs = out.iter_mut().zip(f.iter().zip(r));
        match merge {
            Merge::Concat => {
                out[..units].copy_from_slice(f);
                out[units..].copy_from_slice(r);
            }
            Merge::Sum => pairs.for_each(|(y, (&f, &r))| *y = f + r),
            Merge::Mul => pairs.for_each(|(y, (&f, &r))| *y = f * r),
            Merge::Ave => pairs.for_each(|(y, (&f, &r))| *y = (f + r) * half),
        }
    }
}

/// The gradients of each direction's output from `dy`, the gradient of
/// [`bidirectional_forward`]'s (overwritten).
#[allow(clippy::too_many_arguments)] // the two outputs, dy, the two gradients, the sizes
pub fn bidirectional_backward<F: Float>(
    merge: Merge,
    forward: &[F],
    backward: &[F],
    dy: &[F],
    dforward: &mut [F],
    dbackward: &mut [F],
    time: usize,
    units: usize,
) {
    let half = F::of(0.5);
    for (row, dy) in dy.chunks_exact(merge.width(units)).enumerate() {
        let (f, r) = rows(row, time, units);
        let (df, dr) = (&mut dforward[f..][..units], &mut dbackward[r..][..units]);
        match merge {
            Merge::Concat => {
                df.copy_from_slice(&dy[..units]);
                dr.copy_from_slice(&dy[units..]);
            }
            Merge::Sum => {
                df.copy_from_slice(dy);
                dr.copy_from_slice(dy);
            }
            Merge::Ave => {
                df.iter_mut().zip(dy).for_each(|(d, &dy)| *d = dy * half);
                dr.iter_mut().zip(dy).for_each(|(d, &dy)| *d = dy * half);
            }
            Merge::Mul => {
                let (f, r) = (&forward[f..][..units], &backward[r..][..units]);
                df.iter_mut()
                    .zip(dy.iter().zip(r))
                    .for_each(|(d, (&dy, &r))| *d = dy * r);
                dr.iter_mut()
                    .zip(dy.iter().zip(f))
                    .for_each(|(d, (&dy, &f))| *d = dy * f);
            }
        }
    }
}

/// `dx += dx_backward`: the input's gradient through the backward copy joins the forward
/// copy's.
pub fn bidirectional_input_grad<F: Float>(dx: &mut [F], dx_backward: &[F]) {
    dx.iter_mut().zip(dx_backward).for_each(|(d, &b)| *d += b);
}

/// Where output row `row` (sample `b`, time `t`) reads the forward copy's row and the
/// backward copy's (step `time - 1 - t`).
fn rows(row: usize, time: usize, units: usize) -> (usize, usize) {
    let (b, t) = (row / time, row % time);
    (row * units, (b * time + time - 1 - t) * units)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gradcheck::{assert_gradient_matches, random_away_from_zero};
    use rand::SeedableRng;

    #[test]
    fn every_merge_backward_matches_finite_differences() {
        let mut rng = crate::Rng::seed_from_u64(8);
        let (n, time, units) = (2, 3, 4);
        let forward = random_away_from_zero(n * time * units, &mut rng);
        let backward = random_away_from_zero(n * time * units, &mut rng);
        for merge in [Merge::Concat, Merge::Sum, Merge::Mul, Merge::Ave] {
            let weights = random_away_from_zero(n * time * merge.width(units), &mut rng);
            let loss = |f: &[f64], b: &[f64]| {
                let mut y = vec![0.0; weights.len()];
                bidirectional_forward(merge, f, b, &mut y, time, units);
                y.iter().zip(&weights).map(|(y, w)| y * w).sum::<f64>()
            };
            let (mut df, mut db) = (
                vec![f64::NAN; forward.len()],
                vec![f64::NAN; backward.len()],
            );
            bidirectional_backward(
                merge, &forward, &backward, &weights, &mut df, &mut db, time, units,
            );
            let what = format!("{merge:?}");
            assert_gradient_matches(&what, |f| loss(f, &backward), &forward, &df);
            assert_gradient_matches(&what, |b| loss(&forward, b), &backward, &db);
        }
    }
}
