//! Pooling, channels-last: max and average over sliding windows ([`Window2d`]), and their
//! global forms over every position. 1-D pooling is 2-D pooling of height 1
//! ([`Window2d::along_steps`]).

use super::Activation;
use super::window::{Padding, Window2d};
use crate::Float;

/// Max pooling of `batch` samples `x` `[batch, h, w, c]` into `y` `[batch, oh, ow, c]`,
/// keeping in `argmax` (one per output value) the index within its sample of the input
/// value that won. Padding never wins; ties go to the first value in the window.
///
/// ```
/// use strata_runtime::kernels::{Padding, Window2d, max_pool2d_forward};
/// let pool = Window2d::pooling([2, 2, 1], [2, 2], [2, 2], Padding::Valid);
/// let (mut y, mut argmax) = ([0.0f32], [0u32]);
/// max_pool2d_forward(&pool, 1, &[1.0, 4.0, 3.0, 2.0], &mut y, &mut argmax);
/// assert_eq!((y, argmax), ([4.0], [1]));
/// ```
pub fn max_pool2d_forward<F: Float>(
    window: &Window2d,
    batch: usize,
    x: &[F],
    y: &mut [F],
    argmax: &mut [u32],
) {
    check_sizes(window, batch, x.len(), y.len());
    assert_eq!(
        argmax.len(),
        y.len(),
        "max_pool2d: argmax is not as long as y"
    );
    let channels = window.input[2];
    // Each sample's outputs are set and then updated while they are in cache.
    for_each_sample(window, x, y, argmax, |x, y, argmax| {
        y.fill(F::neg_infinity());
        argmax.fill(0);
        window.for_each_run(|position, _, input, len| {
            let Some(start) = input else { return };
            let y = &mut y[position * channels..][..channels];
            let argmax = &mut argmax[position * channels..][..channels];
            for (tap, first) in x[start..start + len]
                .chunks_exact(channels)
                .zip((start..).step_by(channels))
            {
                keep_larger(tap, first as u32, y, argmax);
            }
        });
    });
}

/// [`max_pool2d_forward`], then `activation` of the pooled values: what `activation`
/// then max pooling computes, bit for bit, without a pass over the unpooled map, for an
/// exact activation that never decreases (relu, linear). With relu, a window whose values
/// are all negative keeps the place of its largest, where relu's pooling would keep the
/// first of its zeros: no gradient goes back through either.
///
/// # Panics
///
/// If `activation` is neither relu nor linear, or as [`max_pool2d_forward`].
///
/// ```
/// use strata_runtime::kernels::{Activation, Padding, Window2d, max_pool2d_forward_activated};
/// let pool = Window2d::pooling([1, 4, 1], [1, 2], [1, 2], Padding::Valid);
/// let (mut y, mut argmax) = ([0.0f32; 2], [0u32; 2]);
/// max_pool2d_forward_activated(&pool, 1, &[-3.0, -1.0, 2.0, 5.0], &mut y, &mut argmax, Activation::Relu);
/// assert_eq!((y, argmax), ([0.0, 5.0], [1, 3]));
/// ```
pub fn max_pool2d_forward_activated<F: Float>(
    window: &Window2d,
    batch: usize,
    x: &[F],
    y: &mut [F],
    argmax: &mut [u32],
    activation: Activation,
) {
    assert_commutes_with_max(activation, "max_pool2d_forward_activated");
    max_pool2d_forward(window, batch, x, y, argmax);
    if activation == Activation::Relu {
        for v in y {
            *v = if *v > F::zero() { *v } else { F::zero() };
        }
    }
}

/// The gradient of [`max_pool2d_forward_activated`]'s input: `dy` goes back to the place
/// each window kept, through `activation` (with relu, only where the pooled value `y` is
/// positive). `dx` is overwritten.
///
/// # Panics
///
/// If `activation` is neither relu nor linear, if `y` is not as long as `dy`, or as
/// [`max_pool2d_backward`].
///
/// ```
/// use strata_runtime::kernels::{Activation, Padding, Window2d, max_pool2d_backward_activated};
/// let pool = Window2d::pooling([1, 4, 1], [1, 2], [1, 2], Padding::Valid);
/// let mut dx = [9.0f32; 4];
/// let (y, argmax) = ([0.0, 5.0], [1, 3]);
/// max_pool2d_backward_activated(&pool, 1, &[1.0, 2.0], &argmax, &y, Activation::Relu, &mut dx);
/// assert_eq!(dx, [0.0, 0.0, 0.0, 2.0]);
/// ```
pub fn max_pool2d_backward_activated<F: Float>(
    window: &Window2d,
    batch: usize,
    dy: &[F],
    argmax: &[u32],
    y: &[F],
    activation: Activation,
    dx: &mut [F],
) {
    assert_commutes_with_max(activation, "max_pool2d_backward_activated");
    assert_eq!(
        y.len(),
        dy.len(),
        "max_pool2d_backward_activated: y is not as long as dy"
    );
    let passes = (activation == Activation::Relu).then_some(y);
    max_pool2d_backward_passing(window, batch, dy, argmax, passes, dx);
}

/// Panics, naming the kernel `what`, unless pooling then `activation` is what `activation`
/// then pooling computes, bit for bit: only relu and linear are exact and never decrease.
fn assert_commutes_with_max(activation: Activation, what: &str) {
    assert!(
        matches!(activation, Activation::Relu | Activation::Linear),
        "{what}: only relu and linear commute exactly with the maximum"
    );
}

/// `y = max(y, tap)` element by element, `argmax` following, where `tap[ch]` is input value
/// `first + ch`. Written as selects, not branches, so that it vectorizes: the branch on
/// random data is mispredicted half the time and made pooling ten times slower.
#[inline(always)]
fn keep_larger<F: Float>(tap: &[F], first: u32, y: &mut [F], argmax: &mut [u32]) {
    for (ch, ((y, argmax), &v)) in y.iter_mut().zip(argmax.iter_mut()).zip(tap).enumerate() {
        let larger = v > *y;
        *y = if larger { v } else { *y };
        *argmax = if larger { first + ch as u32 } else { *argmax };
    }
}

/// The gradient of [`max_pool2d_forward`]: each `dy` value goes to the input value that
/// won its window; `dx` is overwritten.
///
/// ```
/// use strata_runtime::kernels::{Padding, Window2d, max_pool2d_backward};
/// let pool = Window2d::pooling([2, 2, 1], [2, 2], [2, 2], Padding::Valid);
/// let mut dx = [f32::NAN; 4];
/// max_pool2d_backward(&pool, 1, &[5.0], &[1], &mut dx); // input value 1 won
/// assert_eq!(dx, [0.0, 5.0, 0.0, 0.0]);
/// ```
pub fn max_pool2d_backward<F: Float>(
    window: &Window2d,
    batch: usize,
    dy: &[F],
    argmax: &[u32],
    dx: &mut [F],
) {
    max_pool2d_backward_passing(window, batch, dy, argmax, None, dx);
}

/// [`max_pool2d_backward`], where with `passes` only the outputs whose `passes` value is
/// positive send their gradient back: the pooling of a relu, `passes` being its output.
fn max_pool2d_backward_passing<F: Float>(
    window: &Window2d,
    batch: usize,
    dy: &[F],
    argmax: &[u32],
    passes: Option<&[F]>,
    dx: &mut [F],
) {
    check_sizes(window, batch, dx.len(), dy.len());
    assert_eq!(
        argmax.len(),
        dy.len(),
        "max_pool2d: argmax is not as long as dy"
    );
    let (input_len, output_len) = (window.input_len(), window.positions() * window.input[2]);
    if input_len == 0 || output_len == 0 {
        dx.fill(F::zero());
        return;
    }
    let samples = dx
        .chunks_exact_mut(input_len)
        .zip(dy.chunks_exact(output_len))
        .zip(argmax.chunks_exact(output_len));
    for (i, ((dx, dy), argmax)) in samples.enumerate() {
        dx.fill(F::zero());
        match passes {
            None => {
                for (&d, &i) in dy.iter().zip(argmax) {
                    dx[i as usize] += d;
                }
            }
            Some(passes) => {
                let passes = &passes[i * output_len..][..output_len];
                for ((&d, &i), &p) in dy.iter().zip(argmax).zip(passes) {
                    if p > F::zero() {
                        dx[i as usize] += d;
                    }
                }
            }
        }
    }
}

/// Average pooling of `x` `[batch, h, w, c]` into `y` `[batch, oh, ow, c]`. With same
/// padding a window is divided by the number of its cells inside the input, as
/// TensorFlow does.
///
/// ```
/// use strata_runtime::kernels::{Padding, Window2d, average_pool2d_forward};
/// let pool = Window2d::pooling([1, 3, 1], [1, 2], [1, 2], Padding::Same);
/// let mut y = [0.0f32; 2];
/// average_pool2d_forward(&pool, 1, &[1.0, 3.0, 8.0], &mut y);
/// assert_eq!(y, [2.0, 8.0]); // the last window holds one real cell
/// ```
pub fn average_pool2d_forward<F: Float>(window: &Window2d, batch: usize, x: &[F], y: &mut [F]) {
    check_sizes(window, batch, x.len(), y.len());
    let channels = window.input[2];
    for_each_sample(window, x, y, &mut [], |x, y, _| {
        y.fill(F::zero());
        window.for_each_run(|position, _, input, len| {
            let Some(start) = input else { return };
            let y = &mut y[position * channels..][..channels];
            for tap in x[start..start + len].chunks_exact(channels) {
                y.iter_mut().zip(tap).for_each(|(y, &v)| *y += v);
            }
        });
        for (position, y) in y.chunks_exact_mut(channels).enumerate() {
            let scale = F::one() / F::of(window.real_cells(position) as f64);
            y.iter_mut().for_each(|y| *y *= scale);
        }
    });
}

/// The gradient of [`average_pool2d_forward`]: each `dy` value is shared equally by the
/// real cells of its window; `dx` is overwritten.
///
/// ```
/// use strata_runtime::kernels::{Padding, Window2d, average_pool2d_backward};
/// let pool = Window2d::pooling([1, 3, 1], [1, 2], [1, 2], Padding::Same);
/// let mut dx = [f32::NAN; 3];
/// average_pool2d_backward(&pool, 1, &[2.0, 8.0], &mut dx);
/// assert_eq!(dx, [1.0, 1.0, 8.0]);
/// ```
pub fn average_pool2d_backward<F: Float>(window: &Window2d, batch: usize, dy: &[F], dx: &mut [F]) {
    check_sizes(window, batch, dx.len(), dy.len());
    let channels = window.input[2];
    let (input_len, output_len) = (window.input_len(), window.positions() * channels);
    if input_len == 0 || output_len == 0 {
        dx.fill(F::zero());
        return;
    }
    for (dx, dy) in dx
        .chunks_exact_mut(input_len)
        .zip(dy.chunks_exact(output_len))
    {
        dx.fill(F::zero());
        window.for_each_run(|position, _, input, len| {
            let Some(start) = input else { return };
            let scale = F::one() / F::of(window.real_cells(position) as f64);
            let dy = &dy[position * channels..][..channels];
            for tap in dx[start..start + len].chunks_exact_mut(channels) {
                tap.iter_mut().zip(dy).for_each(|(dx, &d)| *dx += d * scale);
            }
        });
    }
}

/// The window of a global pooling layer over `positions` cells of `channels` values: one
/// window covering the whole sample.
pub const fn global_window(positions: usize, channels: usize) -> Window2d {
    Window2d::pooling(
        [1, positions, channels],
        [1, positions],
        [1, positions],
        Padding::Valid,
    )
}

/// GlobalMaxPooling1D/2D: `x` `[batch, positions, channels]` (positions = steps, or
/// height × width) into `y` `[batch, channels]`, with `argmax` as in
/// [`max_pool2d_forward`].
///
/// ```
/// use strata_runtime::kernels::global_max_pool_forward;
/// let (mut y, mut argmax) = ([0.0f32; 2], [0u32; 2]);
/// global_max_pool_forward(1, 3, 2, &[1.0, 6.0, 5.0, 2.0, 3.0, 4.0], &mut y, &mut argmax);
/// assert_eq!((y, argmax), ([5.0, 6.0], [2, 1]));
/// ```
pub fn global_max_pool_forward<F: Float>(
    batch: usize,
    positions: usize,
    channels: usize,
    x: &[F],
    y: &mut [F],
    argmax: &mut [u32],
) {
    max_pool2d_forward(&global_window(positions, channels), batch, x, y, argmax);
}

/// The gradient of [`global_max_pool_forward`]; `dx` is overwritten.
///
/// ```
/// use strata_runtime::kernels::global_max_pool_backward;
/// let mut dx = [f32::NAN; 4];
/// global_max_pool_backward(1, 2, 2, &[1.0, 2.0], &[2, 1], &mut dx);
/// assert_eq!(dx, [0.0, 2.0, 1.0, 0.0]);
/// ```
pub fn global_max_pool_backward<F: Float>(
    batch: usize,
    positions: usize,
    channels: usize,
    dy: &[F],
    argmax: &[u32],
    dx: &mut [F],
) {
    max_pool2d_backward(&global_window(positions, channels), batch, dy, argmax, dx);
}

/// GlobalAveragePooling1D/2D: `x` `[batch, positions, channels]` into `y`
/// `[batch, channels]`.
///
/// ```
/// use strata_runtime::kernels::global_average_pool_forward;
/// let mut y = [0.0f32; 2];
/// global_average_pool_forward(1, 2, 2, &[1.0, 10.0, 3.0, 20.0], &mut y);
/// assert_eq!(y, [2.0, 15.0]);
/// ```
pub fn global_average_pool_forward<F: Float>(
    batch: usize,
    positions: usize,
    channels: usize,
    x: &[F],
    y: &mut [F],
) {
    average_pool2d_forward(&global_window(positions, channels), batch, x, y);
}

/// The gradient of [`global_average_pool_forward`]: `dx` is `dy / positions` at every
/// position (overwritten).
///
/// ```
/// use strata_runtime::kernels::global_average_pool_backward;
/// let mut dx = [f32::NAN; 4];
/// global_average_pool_backward(1, 2, 2, &[1.0, 4.0], &mut dx);
/// assert_eq!(dx, [0.5, 2.0, 0.5, 2.0]);
/// ```
pub fn global_average_pool_backward<F: Float>(
    batch: usize,
    positions: usize,
    channels: usize,
    dy: &[F],
    dx: &mut [F],
) {
    average_pool2d_backward(&global_window(positions, channels), batch, dy, dx);
}

fn check_sizes(window: &Window2d, batch: usize, x: usize, y: usize) {
    assert_eq!(
        x,
        batch * window.input_len(),
        "pool2d: x is not [batch, h, w, c]"
    );
    let output_len = window.positions() * window.input[2];
    assert_eq!(y, batch * output_len, "pool2d: y is not [batch, oh, ow, c]");
}

/// Calls `f(x, y, argmax)` with each sample's slices (`argmax` may be empty, and then
/// every sample gets an empty one).
fn for_each_sample<F: Float>(
    window: &Window2d,
    x: &[F],
    y: &mut [F],
    argmax: &mut [u32],
    mut f: impl FnMut(&[F], &mut [F], &mut [u32]),
) {
    let (input_len, output_len) = (window.input_len(), window.positions() * window.input[2]);
    if input_len == 0 || output_len == 0 {
        return;
    }
    let argmax_len = if argmax.is_empty() { 0 } else { output_len };
    let samples = x
        .chunks_exact(input_len)
        .zip(y.chunks_exact_mut(output_len));
    let mut argmax = argmax.chunks_mut(argmax_len.max(1));
    for (x, y) in samples {
        f(x, y, argmax.next().unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gradcheck::{assert_gradient_matches, random_away_from_zero};
    use rand::SeedableRng;

    const PAIRS: Window2d = Window2d::pooling([1, 4, 1], [1, 2], [1, 2], Padding::Valid);

    #[test]
    #[should_panic(expected = "only relu and linear")]
    fn pooling_then_activating_refuses_an_activation_that_does_not_commute_with_the_max() {
        let (mut y, mut argmax) = ([0.0f32; 2], [0u32; 2]);
        let x = [1.0, 2.0, 3.0, 4.0];
        max_pool2d_forward_activated(&PAIRS, 1, &x, &mut y, &mut argmax, Activation::Tanh);
    }

    #[test]
    #[should_panic(expected = "y is not as long as dy")]
    fn the_activated_pooling_gradient_needs_the_pooled_values_of_every_output() {
        let mut dx = [0.0f32; 4];
        let relu = Activation::Relu;
        max_pool2d_backward_activated(&PAIRS, 1, &[1.0, 2.0], &[0, 2], &[1.0], relu, &mut dx);
    }

    #[test]
    #[should_panic(expected = "argmax is not as long as dy")]
    fn the_pooling_gradient_needs_the_place_of_every_output() {
        let mut dx = [0.0f32; 4];
        max_pool2d_backward(&PAIRS, 1, &[1.0, 2.0], &[0], &mut dx);
    }

    /// Pooling as its definition: for every output, the real cells of its window.
    fn naive_pool(w: &Window2d, batch: usize, x: &[f64], max: bool) -> Vec<f64> {
        let [h, wd, c] = w.input;
        let [oh, ow, _] = w.output_shape();
        let ((_, top), (_, left)) = (w.rows(), w.columns());
        let mut y = vec![];
        for n in 0..batch {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ch in 0..c {
                        let mut cells = vec![];
                        for ky in 0..w.window[0] {
                            for kx in 0..w.window[1] {
                                let iy = (oy * w.strides[0] + ky) as isize - top as isize;
                                let ix = (ox * w.strides[1] + kx) as isize - left as isize;
                                if (0..h as isize).contains(&iy) && (0..wd as isize).contains(&ix) {
                                    cells.push(
                                        x[((n * h + iy as usize) * wd + ix as usize) * c + ch],
                                    );
                                }
                            }
                        }
                        y.push(if max {
                            cells.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                        } else {
                            cells.iter().sum::<f64>() / cells.len() as f64
                        });
                    }
                }
            }
        }
        y
    }

    fn windows() -> Vec<Window2d> {
        use Padding::{Same, Valid};
        vec![
            Window2d::pooling([6, 6, 2], [2, 2], [2, 2], Valid),
            Window2d::pooling([7, 5, 3], [2, 2], [2, 2], Valid),
            Window2d::pooling([7, 5, 3], [2, 2], [2, 2], Same),
            Window2d::pooling([7, 8, 2], [3, 2], [1, 2], Same),
            Window2d::pooling([8, 7, 1], [3, 3], [2, 3], Same),
            Window2d::pooling([5, 6, 2], [3, 2], [1, 1], Valid),
            Window2d::along_steps([9, 2], 3, 2, 1, Same),
            Window2d::along_steps([10, 3], 2, 2, 1, Valid),
            global_window(12, 3),
        ]
    }

    #[test]
    fn pooling_forward_matches_nested_loops() {
        let mut rng = crate::Rng::seed_from_u64(21);
        for w in windows() {
            let batch = 2;
            let x = random_away_from_zero(batch * w.input_len(), &mut rng);
            let out = batch * w.positions() * w.input[2];
            let (mut y, mut argmax) = (vec![f64::NAN; out], vec![u32::MAX; out]);
            max_pool2d_forward(&w, batch, &x, &mut y, &mut argmax);
            assert_eq!(y, naive_pool(&w, batch, &x, true), "max {w:?}");
            for (n, (y, argmax)) in y
                .chunks(out / batch)
                .zip(argmax.chunks(out / batch))
                .enumerate()
            {
                let sample = &x[n * w.input_len()..];
                assert!(y.iter().zip(argmax).all(|(&y, &i)| sample[i as usize] == y));
            }
            average_pool2d_forward(&w, batch, &x, &mut y);
            let want = naive_pool(&w, batch, &x, false);
            for (got, want) in y.iter().zip(&want) {
                assert!((got - want).abs() < 1e-14, "average {w:?}: {got} != {want}");
            }
        }
    }

    #[test]
    fn pooling_backward_matches_finite_differences() {
        let mut rng = crate::Rng::seed_from_u64(22);
        for w in windows() {
            let batch = 2;
            let x = random_away_from_zero(batch * w.input_len(), &mut rng);
            let out = batch * w.positions() * w.input[2];
            let weights = random_away_from_zero(out, &mut rng);
            let weighted = |y: &[f64]| -> f64 { y.iter().zip(&weights).map(|(y, w)| y * w).sum() };
            let max_loss = |x: &[f64]| {
                let (mut y, mut argmax) = (vec![0.0; out], vec![0; out]);
                max_pool2d_forward(&w, batch, x, &mut y, &mut argmax);
                weighted(&y)
            };
            let average_loss = |x: &[f64]| {
                let mut y = vec![0.0; out];
                average_pool2d_forward(&w, batch, x, &mut y);
                weighted(&y)
            };
            let (mut y, mut argmax) = (vec![0.0; out], vec![0; out]);
            max_pool2d_forward(&w, batch, &x, &mut y, &mut argmax);
            let mut dx = vec![f64::NAN; x.len()];
            max_pool2d_backward(&w, batch, &weights, &argmax, &mut dx);
            assert_gradient_matches(&format!("max {w:?}"), max_loss, &x, &dx);
            dx.fill(f64::NAN);
            average_pool2d_backward(&w, batch, &weights, &mut dx);
            assert_gradient_matches(&format!("average {w:?}"), average_loss, &x, &dx);
        }
    }

    #[test]
    fn global_pools_reduce_every_position() {
        let x = [
            1.0f64, -2.0, 7.0, 4.0, 3.0, 9.0, /* sample 2 */ 0.5, 0.25, 0.0, 1.0, 2.0, -1.0,
        ];
        let (mut y, mut argmax) = ([0.0; 4], [0; 4]);
        global_max_pool_forward(2, 3, 2, &x, &mut y, &mut argmax);
        assert_eq!((y, argmax), ([7.0, 9.0, 2.0, 1.0], [2, 5, 4, 3]));
        let mut dx = [f64::NAN; 12];
        global_max_pool_backward(2, 3, 2, &[1.0, 2.0, 3.0, 4.0], &argmax, &mut dx);
        assert_eq!(
            dx,
            [0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 4.0, 3.0, 0.0]
        );
        global_average_pool_forward(2, 3, 2, &x, &mut y);
        let want = [11.0 / 3.0, 11.0 / 3.0, 2.5 / 3.0, 0.25 / 3.0];
        assert!(
            y.iter().zip(want).all(|(y, w)| (y - w).abs() < 1e-15),
            "{y:?}"
        );
        global_average_pool_backward(2, 3, 2, &[3.0, 6.0, 9.0, 12.0], &mut dx);
        assert_eq!(
            dx,
            [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0, 3.0, 4.0]
        );
    }
}
