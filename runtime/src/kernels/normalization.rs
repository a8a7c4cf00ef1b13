//! BatchNormalization and LayerNormalization over the last axis, with Keras 3's
//! definitions: biased variance, `epsilon` inside the square root, moving statistics
//! updated as `moving · momentum + batch · (1 - momentum)`.
//!
//! Values are `[outer, channels]`: the normalized axis is the last one (Keras's default
//! `axis = -1`) and every other axis is folded into `outer`. A normalized axis in the
//! middle is not supported: it would need a transpose around these kernels.

use super::conv::column_sums;
use crate::Float;
use std::iter;

/// BatchNormalization in training: normalizes each channel of `x` `[outer, channels]` by
/// the batch's mean and biased variance, `y = gamma · (x - mean) / sqrt(var + epsilon) +
/// beta` (`gamma`, `beta` absent when the layer has `scale` or `center` off).
///
/// Keeps the batch `mean` and `variance` (`channels` values each) for
/// [`batch_norm_update_moving`], and `inv_std = 1 / sqrt(var + epsilon)` for
/// [`batch_norm_backward`], which recomputes the normalized values from `x`.
///
/// ```
/// use strata_runtime::kernels::batch_norm_forward_train;
/// let x = [1.0f32, 10.0, 3.0, 30.0]; // two rows, two channels
/// let mut y = [0.0; 4];
/// let (mut mean, mut variance, mut inv_std) = ([0.0; 2], [0.0; 2], [0.0; 2]);
/// batch_norm_forward_train(
///     2, 2, &x, None, None, 0.0, &mut y, &mut mean, &mut variance, &mut inv_std,
/// );
/// assert_eq!(y, [-1.0, -1.0, 1.0, 1.0]);
/// assert_eq!((mean, variance), ([2.0, 20.0], [1.0, 100.0]));
/// ```
#[allow(clippy::too_many_arguments)] // input, parameters, outputs
pub fn batch_norm_forward_train<F: Float>(
    outer: usize,
    channels: usize,
    x: &[F],
    gamma: Option<&[F]>,
    beta: Option<&[F]>,
    epsilon: f64,
    y: &mut [F],
    mean: &mut [F],
    variance: &mut [F],
    inv_std: &mut [F],
) {
    assert_shape(x, outer, channels, "batch_norm", "x", "outer, channels");
    assert!(outer > 0, "batch_norm: batch statistics of no values");
    column_sums(x, mean);
    let scale = F::of(1.0 / outer as f64);
    mean.iter_mut().for_each(|m| *m *= scale);
    // The variance from the deviations (two passes), not E[x²] - E[x]², which cancels.
    variance.fill(F::zero());
    for row in x.chunks_exact(channels) {
        for ((v, &x), &m) in variance.iter_mut().zip(row).zip(&*mean) {
            *v += (x - m) * (x - m);
        }
    }
    variance.iter_mut().for_each(|v| *v *= scale);
    for (s, &v) in inv_std.iter_mut().zip(&*variance) {
        *s = inverse_std(v, epsilon);
    }
    for (y, x) in y.chunks_exact_mut(channels).zip(x.chunks_exact(channels)) {
        let statistics = mean.iter().copied().zip(inv_std.iter().copied());
        normalize_row(y, x, statistics, gamma, beta);
    }
}

/// Moves BatchNormalization's moving statistics towards a batch's, as Keras does after
/// each training step: `moving = moving · momentum + batch · (1 - momentum)`.
///
/// The batch was split into `lanes`, each `(mean, variance, rows)` as
/// [`batch_norm_forward_train`] kept them for its `rows` rows; they are combined into the
/// whole batch's mean (the lanes' means weighted by their rows) and biased variance (the
/// lanes' variances plus the spread of their means about the whole mean), so that the
/// result does not depend on how the batch was split. Lanes of no rows are skipped.
///
/// ```
/// use strata_runtime::kernels::batch_norm_update_moving;
/// // One channel: lanes [0, 2] (mean 1, variance 1) and [4] (mean 4, variance 0) make
/// // the batch [0, 2, 4], mean 2, variance 8/3.
/// let (mut moving_mean, mut moving_variance) = ([0.0f64], [1.0]);
/// let lanes = [(&[1.0][..], &[1.0][..], 2), (&[4.0][..], &[0.0][..], 1)];
/// batch_norm_update_moving(&mut moving_mean, &mut moving_variance, lanes.into_iter(), 0.5);
/// assert!((moving_mean[0] - 1.0).abs() < 1e-12);
/// assert!((moving_variance[0] - (0.5 + 4.0 / 3.0)).abs() < 1e-12);
/// ```
pub fn batch_norm_update_moving<'a, F: Float>(
    moving_mean: &mut [F],
    moving_variance: &mut [F],
    lanes: impl Iterator<Item = (&'a [F], &'a [F], usize)> + Clone,
    momentum: f64,
) {
    let lanes = lanes.filter(|&(_, _, rows)| rows > 0);
    let total: usize = lanes.clone().map(|(_, _, rows)| rows).sum();
    assert!(total > 0, "batch_norm: moving statistics of no values");
    let (keep, update) = (F::of(momentum), F::of(1.0 - momentum));
    let channels = moving_mean.iter_mut().zip(moving_variance.iter_mut());
    for (c, (moving_mean, moving_variance)) in channels.enumerate() {
        let weight = |rows: usize| F::of(rows as f64 / total as f64);
        let mean: F = lanes.clone().map(|(m, _, rows)| m[c] * weight(rows)).sum();
        let variance: F = lanes
            .clone()
            .map(|(m, v, rows)| (v[c] + (m[c] - mean) * (m[c] - mean)) * weight(rows))
            .sum();
        *moving_mean = (*moving_mean * keep + mean * update).flushed();
        *moving_variance = (*moving_variance * keep + variance * update).flushed();
    }
}

/// BatchNormalization in inference: `y = gamma · (x - moving_mean) /
/// sqrt(moving_variance + epsilon) + beta`.
///
/// ```
/// use strata_runtime::kernels::batch_norm_forward_inference;
/// let mut y = [0.0f32; 2];
/// batch_norm_forward_inference(1, 2, &[3.0, 3.0], Some(&[2.0, 1.0]), None, &[1.0, 0.0], &[4.0, 1.0], 0.0, &mut y);
/// assert_eq!(y, [2.0, 3.0]);
/// ```
#[allow(clippy::too_many_arguments)] // input, parameters, moving statistics, output
pub fn batch_norm_forward_inference<F: Float>(
    outer: usize,
    channels: usize,
    x: &[F],
    gamma: Option<&[F]>,
    beta: Option<&[F]>,
    moving_mean: &[F],
    moving_variance: &[F],
    epsilon: f64,
    y: &mut [F],
) {
    assert_shape(x, outer, channels, "batch_norm", "x", "outer, channels");
    let epsilon = F::of(epsilon);
    for (y, x) in y.chunks_exact_mut(channels).zip(x.chunks_exact(channels)) {
        for (((y, &x), &m), &v) in y.iter_mut().zip(x).zip(moving_mean).zip(moving_variance) {
            *y = (x - m) / (v + epsilon).sqrt();
        }
        scale_and_shift_row(y, gamma, beta);
    }
}

/// The gradient of [`batch_norm_forward_inference`] with respect to `x`: `dx = gamma · dy
/// / sqrt(moving_variance + epsilon)`. (A frozen layer's only gradient: its statistics
/// are constants and its gamma and beta are not trained.)
///
/// ```
/// use strata_runtime::kernels::batch_norm_backward_inference;
/// let mut dx = [0.0f32; 2];
/// batch_norm_backward_inference(1, 2, &[1.0, 1.0], Some(&[2.0, 1.0]), &[4.0, 0.25], 0.0, &mut dx);
/// assert_eq!(dx, [1.0, 2.0]);
/// ```
pub fn batch_norm_backward_inference<F: Float>(
    outer: usize,
    channels: usize,
    dy: &[F],
    gamma: Option<&[F]>,
    moving_variance: &[F],
    epsilon: f64,
    dx: &mut [F],
) {
    assert_shape(dy, outer, channels, "batch_norm", "dy", "outer, channels");
    let epsilon = F::of(epsilon);
    for (dx, dy) in dx.chunks_exact_mut(channels).zip(dy.chunks_exact(channels)) {
        for ((dx, &d), &v) in dx.iter_mut().zip(dy).zip(moving_variance) {
            *dx = d / (v + epsilon).sqrt();
        }
        scale_and_shift_row(dx, gamma, None);
    }
}

/// The gradients of [`batch_norm_forward_train`] through the batch statistics, given
/// `dy`, the input `x` and what forward kept: with `x̂ = (x - mean) · inv_std`,
/// `dgamma = Σ dy · x̂` and `dbeta = Σ dy` per channel (always written: `dx` needs them,
/// so pass scratch space when the layer has no gamma or beta), and `dx = gamma · inv_std
/// / N · (N · dy - dbeta - x̂ · dgamma)` when asked for, `N = outer`.
///
/// ```
/// use strata_runtime::kernels::batch_norm_backward;
/// // Two rows, one channel: x = [1, 5], mean 3, inv_std 0.5, normalized to [-1, 1].
/// let (mut dx, mut dgamma, mut dbeta) = ([0.0f32; 2], [0.0], [0.0]);
/// let (x, dy) = ([1.0, 5.0], [1.0, 1.0]);
/// batch_norm_backward(2, 1, &x, &dy, &[3.0], &[0.5], None, Some(&mut dx), &mut dgamma, &mut dbeta);
/// assert_eq!((dx, dgamma, dbeta), ([0.0, 0.0], [0.0], [2.0])); // a shift changes nothing
/// ```
#[allow(clippy::too_many_arguments)] // what forward kept, the gradients, the sizes
pub fn batch_norm_backward<F: Float>(
    outer: usize,
    channels: usize,
    x: &[F],
    dy: &[F],
    mean: &[F],
    inv_std: &[F],
    gamma: Option<&[F]>,
    dx: Option<&mut [F]>,
    dgamma: &mut [F],
    dbeta: &mut [F],
) {
    assert_shape(x, outer, channels, "batch_norm", "x", "outer, channels");
    assert_shape(dy, outer, channels, "batch_norm", "dy", "outer, channels");
    dbeta.fill(F::zero());
    dgamma.fill(F::zero());
    // Zipped rather than indexed by channel, so that the loops vectorize.
    let statistics = || mean.iter().zip(inv_std);
    for (x, dy) in x.chunks_exact(channels).zip(dy.chunks_exact(channels)) {
        let sums = dbeta.iter_mut().zip(dgamma.iter_mut());
        let values = x.iter().zip(dy).zip(statistics());
        for ((db, dg), ((&x, &d), (&m, &s))) in sums.zip(values) {
            *db += d;
            // `(d · (x - m)) · s` rounds differently from `d · x̂`: kept in this order so
            // that the gradients keep their bits.
            *dg += d * (x - m) * s;
        }
    }
    let Some(dx) = dx else { return };
    let per_value = F::of(1.0 / outer as f64);
    let rows = dx.chunks_exact_mut(channels).zip(dy.chunks_exact(channels));
    for ((dx, dy), x) in rows.zip(x.chunks_exact(channels)) {
        let sums = dbeta.iter().zip(&*dgamma);
        let values = dx.iter_mut().zip(dy).zip(x);
        for (((dx, &d), &x), ((&m, &s), (&db, &dg))) in values.zip(statistics().zip(sums)) {
            *dx = s * (d - (db + normalized(x, m, s) * dg) * per_value);
        }
        scale_and_shift_row(dx, gamma, None);
    }
}

/// LayerNormalization over the last axis: each row of `x` `[rows, features]` normalized
/// by its own mean and biased variance, `y = gamma · (x - mean) / sqrt(var + epsilon) +
/// beta`. Keeps each row's `mean` and `inv_std` for [`layer_norm_backward`].
///
/// ```
/// use strata_runtime::kernels::layer_norm_forward;
/// let (mut y, mut mean, mut inv_std) = ([0.0f32; 2], [0.0], [0.0]);
/// layer_norm_forward(1, 2, &[1.0, 3.0], None, Some(&[0.5, 0.5]), 0.0, &mut y, &mut mean, &mut inv_std);
/// assert_eq!((y, mean, inv_std), ([-0.5, 1.5], [2.0], [1.0]));
/// ```
#[allow(clippy::too_many_arguments)] // input, parameters, epsilon, outputs
pub fn layer_norm_forward<F: Float>(
    rows: usize,
    features: usize,
    x: &[F],
    gamma: Option<&[F]>,
    beta: Option<&[F]>,
    epsilon: f64,
    y: &mut [F],
    mean: &mut [F],
    inv_std: &mut [F],
) {
    assert_shape(x, rows, features, "layer_norm", "x", "rows, features");
    let scale = F::of(1.0 / features as f64);
    let each_row = x.chunks_exact(features).zip(y.chunks_exact_mut(features));
    for ((x, y), (mean, inv_std)) in each_row.zip(mean.iter_mut().zip(inv_std.iter_mut())) {
        *mean = x.iter().copied().sum::<F>() * scale;
        let variance = x.iter().map(|&x| (x - *mean) * (x - *mean)).sum::<F>() * scale;
        *inv_std = inverse_std(variance, epsilon);
        normalize_row(y, x, iter::repeat((*mean, *inv_std)), gamma, beta);
    }
}

/// The gradients of [`layer_norm_forward`], each written only when asked for: with
/// `x̂ = (x - mean) · inv_std` and `g = gamma · dy`, `dx = inv_std · (g - mean(g) -
/// x̂ · mean(g · x̂))` per row, `dgamma = Σ dy · x̂` and `dbeta = Σ dy` over rows.
///
/// ```
/// use strata_runtime::kernels::layer_norm_backward;
/// let (x, mean, inv_std) = ([1.0f32, 3.0], [2.0], [1.0]); // normalized: [-1, 1]
/// let (mut dx, mut dgamma, mut dbeta) = ([f32::NAN; 2], [f32::NAN; 2], [f32::NAN; 2]);
/// layer_norm_backward(1, 2, &x, None, &[1.0, 2.0], &mean, &inv_std, Some(&mut dx), Some(&mut dgamma), Some(&mut dbeta));
/// assert_eq!((dx, dgamma, dbeta), ([0.0, 0.0], [-1.0, 2.0], [1.0, 2.0]));
/// ```
#[allow(clippy::too_many_arguments)] // what forward kept, the gradients, the sizes
pub fn layer_norm_backward<F: Float>(
    rows: usize,
    features: usize,
    x: &[F],
    gamma: Option<&[F]>,
    dy: &[F],
    mean: &[F],
    inv_std: &[F],
    dx: Option<&mut [F]>,
    mut dgamma: Option<&mut [F]>,
    dbeta: Option<&mut [F]>,
) {
    assert_shape(x, rows, features, "layer_norm", "x", "rows, features");
    assert_shape(dy, rows, features, "layer_norm", "dy", "rows, features");
    if let Some(dbeta) = dbeta {
        column_sums(dy, dbeta);
    }
    if let Some(dgamma) = dgamma.as_deref_mut() {
        dgamma.fill(F::zero());
    }
    let scale = F::of(1.0 / features as f64);
    let mut dx_rows = dx.map(|dx| dx.chunks_exact_mut(features));
    let each_row = x.chunks_exact(features).zip(dy.chunks_exact(features));
    for ((x, dy), (&mean, &inv_std)) in each_row.zip(mean.iter().zip(inv_std)) {
        let x_hat = |i: usize| normalized(x[i], mean, inv_std);
        if let Some(dgamma) = dgamma.as_deref_mut() {
            for (i, (dg, &d)) in dgamma.iter_mut().zip(dy).enumerate() {
                *dg += d * x_hat(i);
            }
        }
        let Some(dx) = dx_rows.as_mut().and_then(Iterator::next) else {
            continue;
        };
        let g = |i: usize| gamma.map_or(dy[i], |gamma| gamma[i] * dy[i]);
        let (mut g_mean, mut g_normalized_mean) = (F::zero(), F::zero());
        for i in 0..features {
            g_mean += g(i);
            g_normalized_mean += g(i) * x_hat(i);
        }
        let (g_mean, g_normalized_mean) = (g_mean * scale, g_normalized_mean * scale);
        for (i, dx) in dx.iter_mut().enumerate() {
            *dx = inv_std * (g(i) - g_mean - x_hat(i) * g_normalized_mean);
        }
    }
}

/// Panics unless `values` is `[rows, columns]`, with `kernel: name is not [axes]`.
#[track_caller]
fn assert_shape<F>(
    values: &[F],
    rows: usize,
    columns: usize,
    kernel: &str,
    name: &str,
    axes: &str,
) {
    assert_eq!(
        values.len(),
        rows * columns,
        "{kernel}: {name} is not [{axes}]"
    );
}

/// `1 / sqrt(variance + epsilon)`, which both forwards keep for their backward.
#[inline]
fn inverse_std<F: Float>(variance: F, epsilon: f64) -> F {
    F::one() / (variance + F::of(epsilon)).sqrt()
}

/// The normalized value `x̂ = (x - mean) · inv_std`.
#[inline]
fn normalized<F: Float>(x: F, mean: F, inv_std: F) -> F {
    (x - mean) * inv_std
}

/// Both forwards' pass over one row: `y = gamma · x̂ + beta`, with `statistics` the
/// `(mean, inv_std)` of each value in turn (each channel's in batch normalization, the
/// row's own repeated in layer normalization).
#[inline]
fn normalize_row<F: Float>(
    y: &mut [F],
    x: &[F],
    statistics: impl Iterator<Item = (F, F)>,
    gamma: Option<&[F]>,
    beta: Option<&[F]>,
) {
    for ((y, &x), (mean, inv_std)) in y.iter_mut().zip(x).zip(statistics) {
        *y = normalized(x, mean, inv_std);
    }
    scale_and_shift_row(y, gamma, beta);
}

/// `y = gamma · y + beta` on one row of channels, each term only when present (applied
/// row by row, while the row is in cache).
#[inline]
fn scale_and_shift_row<F: Float>(y: &mut [F], gamma: Option<&[F]>, beta: Option<&[F]>) {
    match (gamma, beta) {
        (Some(gamma), Some(beta)) => {
            for ((y, &g), &b) in y.iter_mut().zip(gamma).zip(beta) {
                *y = *y * g + b;
            }
        }
        (Some(gamma), None) => y.iter_mut().zip(gamma).for_each(|(y, &g)| *y *= g),
        (None, Some(beta)) => y.iter_mut().zip(beta).for_each(|(y, &b)| *y += b),
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gradcheck::{assert_gradient_matches, random_away_from_zero};
    use rand::SeedableRng;

    const EPSILON: f64 = 1e-3;

    /// `y` of batch normalization in training, and the batch's mean and variance, by the
    /// definition.
    fn naive_batch_norm(
        outer: usize,
        channels: usize,
        x: &[f64],
        gamma: &[f64],
        beta: &[f64],
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let column = |c: usize| (0..outer).map(move |r| x[r * channels + c]);
        let mean: Vec<f64> = (0..channels)
            .map(|c| column(c).sum::<f64>() / outer as f64)
            .collect();
        let variance: Vec<f64> = (0..channels)
            .map(|c| column(c).map(|v| (v - mean[c]).powi(2)).sum::<f64>() / outer as f64)
            .collect();
        let y = (0..outer * channels)
            .map(|i| {
                let c = i % channels;
                gamma[c] * (x[i] - mean[c]) / (variance[c] + EPSILON).sqrt() + beta[c]
            })
            .collect();
        (y, mean, variance)
    }

    /// `[y, mean, variance, inv_std]` of batch normalization in training.
    fn batch_norm_train(
        outer: usize,
        channels: usize,
        x: &[f64],
        gamma: Option<&[f64]>,
        beta: Option<&[f64]>,
    ) -> [Vec<f64>; 4] {
        let mut y = vec![f64::NAN; x.len()];
        let [mut mean, mut variance, mut inv_std] = [(); 3].map(|_| vec![f64::NAN; channels]);
        batch_norm_forward_train(
            outer,
            channels,
            x,
            gamma,
            beta,
            EPSILON,
            &mut y,
            &mut mean,
            &mut variance,
            &mut inv_std,
        );
        [y, mean, variance, inv_std]
    }

    fn assert_close(what: &str, got: &[f64], want: &[f64]) {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                "{what}[{i}]: {g} != {w}"
            );
        }
    }

    #[test]
    fn batch_norm_forward_matches_the_definition() {
        let mut rng = crate::Rng::seed_from_u64(41);
        let (outer, channels) = (13, 5);
        let x = random_away_from_zero(outer * channels, &mut rng);
        let gamma = random_away_from_zero(channels, &mut rng);
        let beta = random_away_from_zero(channels, &mut rng);
        let [y, mean, variance, ..] =
            batch_norm_train(outer, channels, &x, Some(&gamma), Some(&beta));
        let (want_y, want_mean, want_variance) =
            naive_batch_norm(outer, channels, &x, &gamma, &beta);
        assert_close("y", &y, &want_y);
        assert_close("mean", &mean, &want_mean);
        assert_close("variance", &variance, &want_variance);
        let (mut moving_mean, mut moving_variance) = (vec![0.5; channels], vec![2.0; channels]);
        let lane = (&mean[..], &variance[..], outer);
        batch_norm_update_moving(
            &mut moving_mean,
            &mut moving_variance,
            std::iter::once(lane),
            0.99,
        );
        let want_moving_mean: Vec<f64> = want_mean.iter().map(|m| 0.5 * 0.99 + m * 0.01).collect();
        let want_moving_variance: Vec<f64> = want_variance
            .iter()
            .map(|v| 2.0 * 0.99 + v * 0.01)
            .collect();
        assert_close("moving_mean", &moving_mean, &want_moving_mean);
        assert_close("moving_variance", &moving_variance, &want_moving_variance);

        let mut inference = vec![f64::NAN; x.len()];
        batch_norm_forward_inference(
            outer,
            channels,
            &x,
            Some(&gamma),
            Some(&beta),
            &want_mean,
            &want_variance,
            EPSILON,
            &mut inference,
        );
        assert_close("inference with the batch's statistics", &inference, &want_y);
    }

    #[test]
    fn moving_statistics_from_lanes_equal_those_of_the_whole_batch() {
        let mut rng = crate::Rng::seed_from_u64(45);
        let (outer, channels) = (17, 4);
        let x = random_away_from_zero(outer * channels, &mut rng);
        let moved = |splits: &[usize]| {
            let mut lanes = Vec::new();
            let mut start = 0;
            for &rows in splits {
                let part = &x[start * channels..(start + rows) * channels];
                let [_, mean, variance, ..] = if rows == 0 {
                    [(); 4].map(|_| vec![f64::NAN; channels])
                } else {
                    batch_norm_train(rows, channels, part, None, None)
                };
                lanes.push((mean, variance, rows));
                start += rows;
            }
            assert_eq!(start, outer);
            let (mut moving_mean, mut moving_variance) = (vec![0.5; channels], vec![2.0; channels]);
            let lanes = lanes.iter().map(|(m, v, rows)| (&m[..], &v[..], *rows));
            batch_norm_update_moving(&mut moving_mean, &mut moving_variance, lanes, 0.9);
            (moving_mean, moving_variance)
        };
        let (whole_mean, whole_variance) = moved(&[outer]);
        // Uneven lanes, a lane of one row, and an empty lane (skipped, NaN and all).
        for splits in [&[9, 8][..], &[5, 1, 11], &[6, 0, 11], &[1; 17]] {
            let (mean, variance) = moved(splits);
            assert_close(
                &format!("moving mean, lanes {splits:?}"),
                &mean,
                &whole_mean,
            );
            assert_close(
                &format!("moving variance, lanes {splits:?}"),
                &variance,
                &whole_variance,
            );
        }
    }

    #[test]
    fn batch_norm_inference_backward_matches_finite_differences() {
        let mut rng = crate::Rng::seed_from_u64(46);
        let (outer, channels) = (5, 3);
        let x = random_away_from_zero(outer * channels, &mut rng);
        let gamma = random_away_from_zero(channels, &mut rng);
        let mean = random_away_from_zero(channels, &mut rng);
        let variance: Vec<f64> = random_away_from_zero(channels, &mut rng)
            .iter()
            .map(|v| v.abs())
            .collect();
        let weights = random_away_from_zero(outer * channels, &mut rng);
        for g in [Some(&gamma[..]), None] {
            let loss = |x: &[f64]| -> f64 {
                let mut y = vec![0.0; x.len()];
                batch_norm_forward_inference(
                    outer, channels, x, g, None, &mean, &variance, EPSILON, &mut y,
                );
                y.iter().zip(&weights).map(|(y, w)| y * w).sum()
            };
            let mut dx = vec![f64::NAN; x.len()];
            batch_norm_backward_inference(
                outer, channels, &weights, g, &variance, EPSILON, &mut dx,
            );
            assert_gradient_matches("dx", loss, &x, &dx);
        }
    }

    #[test]
    fn batch_norm_backward_matches_finite_differences_through_the_batch_statistics() {
        let mut rng = crate::Rng::seed_from_u64(42);
        let (outer, channels) = (7, 3);
        let x = random_away_from_zero(outer * channels, &mut rng);
        let gamma = random_away_from_zero(channels, &mut rng);
        let beta = random_away_from_zero(channels, &mut rng);
        let weights = random_away_from_zero(outer * channels, &mut rng);
        let loss = |x: &[f64], gamma: Option<&[f64]>, beta: &[f64]| -> f64 {
            let [y, ..] = batch_norm_train(outer, channels, x, gamma, Some(beta));
            y.iter().zip(&weights).map(|(y, w)| y * w).sum()
        };
        for scaled in [true, false] {
            let g = scaled.then_some(&gamma[..]);
            let [_, mean, _, inv_std] = batch_norm_train(outer, channels, &x, g, Some(&beta));
            let mut dx = vec![f64::NAN; x.len()];
            let (mut dgamma, mut dbeta) = (vec![f64::NAN; channels], vec![f64::NAN; channels]);
            batch_norm_backward(
                outer,
                channels,
                &x,
                &weights,
                &mean,
                &inv_std,
                g,
                Some(&mut dx),
                &mut dgamma,
                &mut dbeta,
            );
            assert_gradient_matches("dx", |x| loss(x, g, &beta), &x, &dx);
            assert_gradient_matches("dbeta", |b| loss(&x, g, b), &beta, &dbeta);
            if scaled {
                assert_gradient_matches("dgamma", |gm| loss(&x, Some(gm), &beta), &gamma, &dgamma);
            }
        }
    }

    #[test]
    fn layer_norm_forward_matches_the_definition() {
        let mut rng = crate::Rng::seed_from_u64(43);
        let (rows, features) = (4, 9);
        let x = random_away_from_zero(rows * features, &mut rng);
        let gamma = random_away_from_zero(features, &mut rng);
        let beta = random_away_from_zero(features, &mut rng);
        let mut y = vec![f64::NAN; x.len()];
        let (mut mean, mut inv_std) = (vec![0.0; rows], vec![0.0; rows]);
        layer_norm_forward(
            rows,
            features,
            &x,
            Some(&gamma),
            Some(&beta),
            EPSILON,
            &mut y,
            &mut mean,
            &mut inv_std,
        );
        // Each row is a batch of one channel-less sample: batch norm on its transpose.
        for r in 0..rows {
            let row = &x[r * features..][..features];
            let (want, _, _) = naive_batch_norm(features, 1, row, &[1.0], &[0.0]);
            let want: Vec<f64> = want
                .iter()
                .enumerate()
                .map(|(i, v)| gamma[i] * v + beta[i])
                .collect();
            assert_close("y", &y[r * features..][..features], &want);
        }
    }

    #[test]
    fn layer_norm_backward_matches_finite_differences() {
        let mut rng = crate::Rng::seed_from_u64(44);
        let (rows, features) = (3, 11);
        let x = random_away_from_zero(rows * features, &mut rng);
        let gamma = random_away_from_zero(features, &mut rng);
        let beta = random_away_from_zero(features, &mut rng);
        let weights = random_away_from_zero(rows * features, &mut rng);
        let forward = |x: &[f64], gamma: Option<&[f64]>, beta: &[f64]| {
            let mut y = vec![0.0; x.len()];
            let (mut mean, mut inv_std) = (vec![0.0; rows], vec![0.0; rows]);
            layer_norm_forward(
                rows,
                features,
                x,
                gamma,
                Some(beta),
                EPSILON,
                &mut y,
                &mut mean,
                &mut inv_std,
            );
            (y, mean, inv_std)
        };
        let loss = |x: &[f64], gamma: Option<&[f64]>, beta: &[f64]| -> f64 {
            forward(x, gamma, beta)
                .0
                .iter()
                .zip(&weights)
                .map(|(y, w)| y * w)
                .sum()
        };
        for scaled in [true, false] {
            let g = scaled.then_some(&gamma[..]);
            let (_, mean, inv_std) = forward(&x, g, &beta);
            let mut dx = vec![f64::NAN; x.len()];
            let (mut dgamma, mut dbeta) = (vec![f64::NAN; features], vec![f64::NAN; features]);
            layer_norm_backward(
                rows,
                features,
                &x,
                g,
                &weights,
                &mean,
                &inv_std,
                Some(&mut dx),
                Some(&mut dgamma),
                Some(&mut dbeta),
            );
            assert_gradient_matches("dx", |x| loss(x, g, &beta), &x, &dx);
            assert_gradient_matches("dbeta", |b| loss(&x, g, b), &beta, &dbeta);
            if scaled {
                assert_gradient_matches("dgamma", |gm| loss(&x, Some(gm), &beta), &gamma, &dgamma);
            }
        }
    }
}
