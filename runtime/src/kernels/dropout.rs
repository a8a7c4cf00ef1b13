//! Dropout in training: inverted dropout, as Keras does it. (Inference is the identity
//! and needs no kernel.)

use rand::RngCore;

use crate::Float;

/// Draws a fresh `mask` and applies it: `mask[i]` is 0 with probability `rate` and
/// `1 / (1 - rate)` otherwise, so that the expected output equals the input; `y = x ⊙ mask`.
///
/// Each value is kept or dropped by one 32-bit uniform draw (two per generator step), so
/// `rate` is honoured to within 2⁻³². With `rate == 0` everything is kept and the
/// generator is not advanced.
///
/// # Panics
///
/// If `rate` is not in `[0, 1)`.
///
/// ```
/// use strata_runtime::{Seed, kernels::dropout_forward_train};
/// let x = [1.0f32; 1000];
/// let (mut y, mut mask) = ([0.0; 1000], [0.0; 1000]);
/// dropout_forward_train(&x, &mut y, &mut mask, 0.2, &mut Seed(7).rng());
/// assert!(y.iter().all(|&y| y == 0.0 || y == 1.25));
/// ```
pub fn dropout_forward_train<F: Float>(
    x: &[F],
    y: &mut [F],
    mask: &mut [F],
    rate: f64,
    rng: &mut crate::Rng,
) {
    debug_assert_eq!(
        x.len(),
        y.len(),
        "dropout_forward_train: x and y differ in length"
    );
    debug_assert_eq!(
        x.len(),
        mask.len(),
        "dropout_forward_train: x and mask differ in length"
    );
    draw_mask(mask, rate, rng);
    dropout_backward(x, mask, y);
}

/// Fills `mask` with 0 (probability `rate`) or `1 / (1 - rate)`, as
/// [`dropout_forward_train`] describes.
///
/// # Panics
///
/// If `rate` is not in `[0, 1)`.
pub(crate) fn draw_mask<F: Float>(mask: &mut [F], rate: f64, rng: &mut crate::Rng) {
    assert!(
        (0.0..1.0).contains(&rate),
        "dropout rate {rate} is not in [0, 1)"
    );
    if rate == 0.0 {
        mask.fill(F::one());
        return;
    }
    let kept = F::of(1.0 / (1.0 - rate));
    // A value is dropped when its draw d (uniform on 0..2³²) is below rate·2³².
    let threshold = (rate * 4_294_967_296.0) as u64;
    // Draws first, then a branch-free select over them: drawing and selecting in one loop
    // compiles to a branch per value, mispredicted at random, and takes 2.6 times as long.
    const CHUNK: usize = 64;
    let mut draws = [0u32; CHUNK];
    for mask in mask.chunks_mut(CHUNK) {
        for pair in draws[..mask.len().next_multiple_of(2)].chunks_exact_mut(2) {
            let bits = rng.next_u64();
            pair[0] = bits as u32; // the low half
            pair[1] = (bits >> 32) as u32;
        }
        for (m, &d) in mask.iter_mut().zip(&draws) {
            *m = if u64::from(d) < threshold {
                F::zero()
            } else {
                kept
            };
        }
    }
}

/// `dx = dy ⊙ mask`, with the mask the forward pass drew.
///
/// ```
/// use strata_runtime::kernels::dropout_backward;
/// let mut dx = [0.0f32; 3];
/// dropout_backward(&[1.0, 2.0, 3.0], &[2.0, 0.0, 2.0], &mut dx);
/// assert_eq!(dx, [2.0, 0.0, 6.0]);
/// ```
pub fn dropout_backward<F: Float>(dy: &[F], mask: &[F], dx: &mut [F]) {
    debug_assert_eq!(
        dy.len(),
        dx.len(),
        "dropout_backward: dy and dx differ in length"
    );
    debug_assert_eq!(
        mask.len(),
        dx.len(),
        "dropout_backward: mask and dx differ in length"
    );
    for ((dx, &dy), &m) in dx.iter_mut().zip(dy).zip(mask) {
        *dx = dy * m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Seed;
    use crate::kernels::gradcheck::{assert_gradient_matches, random_away_from_zero};

    fn draw(len: usize, rate: f64, seed: u64) -> (Vec<f32>, Vec<f32>) {
        let x: Vec<f32> = (0..len).map(|i| i as f32 + 1.0).collect();
        let (mut y, mut mask) = (vec![f32::NAN; len], vec![f32::NAN; len]);
        dropout_forward_train(&x, &mut y, &mut mask, rate, &mut Seed(seed).rng());
        (y, mask)
    }

    #[test]
    fn dropout_keeps_about_one_minus_rate_and_scales_the_kept_values() {
        let len = 200_001; // odd: the last draw's high half goes unused
        for rate in [0.1, 0.2, 0.5, 0.9] {
            let (y, mask) = draw(len, rate, 11);
            let kept = mask.iter().filter(|&&m| m != 0.0).count() as f64 / len as f64;
            // Binomial standard deviation is at most 0.0012 here; allow 5 of them.
            assert!(
                (kept - (1.0 - rate)).abs() < 0.006,
                "rate {rate}: kept {kept}"
            );
            let scale = (1.0 / (1.0 - rate)) as f32;
            for (i, (&y, &m)) in y.iter().zip(&mask).enumerate() {
                assert!(m == 0.0 || m == scale, "mask value {m}");
                assert_eq!(y, (i as f32 + 1.0) * m);
            }
        }
    }

    #[test]
    fn dropout_same_seed_gives_same_mask_and_other_seed_another() {
        assert_eq!(draw(1001, 0.3, 5), draw(1001, 0.3, 5));
        assert_ne!(draw(1001, 0.3, 5).1, draw(1001, 0.3, 6).1);
    }

    #[test]
    fn dropout_rate_zero_keeps_everything() {
        let (y, mask) = draw(101, 0.0, 1);
        assert!(mask.iter().all(|&m| m == 1.0));
        assert_eq!(y, (1..=101).map(|i| i as f32).collect::<Vec<_>>());
    }

    #[test]
    #[should_panic(expected = "dropout rate 1 is not in [0, 1)")]
    fn dropout_rejects_rate_one() {
        draw(4, 1.0, 1);
    }

    #[test]
    fn dropout_backward_matches_finite_differences() {
        let mut rng = Seed(9).rng();
        let x = random_away_from_zero(33, &mut rng);
        let weights = random_away_from_zero(33, &mut rng);
        let (mut y, mut mask) = (vec![0.0; 33], vec![0.0; 33]);
        dropout_forward_train(&x, &mut y, &mut mask, 0.4, &mut rng);
        let loss = |x: &[f64]| -> f64 {
            x.iter()
                .zip(&mask)
                .zip(&weights)
                .map(|((x, m), w)| x * m * w)
                .sum()
        };
        let mut dx = vec![0.0; 33];
        dropout_backward(&weights, &mask, &mut dx);
        assert_gradient_matches("dropout", loss, &x, &dx);
    }
}
