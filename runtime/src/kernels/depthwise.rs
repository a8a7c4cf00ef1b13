//! Depthwise convolutions, channels-last, with Keras's
//! `[kernel height, kernel width, in, depth_multiplier]` kernel: input channel `c` is
//! convolved with its own `depth_multiplier` filters alone, into output channels
//! `c·depth_multiplier + m`.
//!
//! Direct loops, not im2col and a product: each of a window's taps multiplies one run of
//! channels of the input by the same run of the kernel into the output, all three
//! contiguous, so the innermost loop runs along the channel axis and vectorizes. The
//! windows are [`Window2d`]'s walk, which im2col and pooling share. No scratch space.

use super::conv::{column_sums, window_constructors};
use super::window::{Padding, Window2d};
use crate::Float;

/// The sizes of a 2-D depthwise convolution over one channels-last sample.
///
/// ```
/// use strata_runtime::kernels::{DepthwiseGeometry, Padding};
/// const CONV: DepthwiseGeometry =
///     DepthwiseGeometry::new([28, 28, 3], 2, [3, 3], [1, 1], [1, 1], Padding::Valid);
/// assert_eq!(CONV.output_shape(), [26, 26, 6]);
/// assert_eq!(CONV.kernel_len(), 3 * 3 * 3 * 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DepthwiseGeometry {
    /// The receptive field sliding over the input: `window.input` is
    /// `[height, width, in channels]`, `window.window` the kernel size.
    pub window: Window2d,
    /// Filters per input channel.
    pub depth_multiplier: usize,
}

impl DepthwiseGeometry {
    window_constructors! {
        depth_multiplier;
        /// A DepthwiseConv2D over `input = [height, width, channels]`.
        new;
        /// A DepthwiseConv1D over `input = [steps, channels]`: a DepthwiseConv2D of height
        /// 1, whose kernel `[kernel_size, in, depth_multiplier]` has the memory layout of
        /// `[1, kernel_size, in, depth_multiplier]`.
        ///
        /// ```
        /// use strata_runtime::kernels::{DepthwiseGeometry, Padding};
        /// let conv = DepthwiseGeometry::conv1d([100, 8], 2, 5, 1, 1, Padding::Same);
        /// assert_eq!(conv.output_shape(), [1, 100, 16]);
        /// ```
        conv1d;
    }

    /// Output channels: input channels × depth multiplier.
    pub const fn channels(&self) -> usize {
        self.window.input[2] * self.depth_multiplier
    }

    /// `[output height, output width, in · depth_multiplier]`.
    pub const fn output_shape(&self) -> [usize; 3] {
        let [height, width, _] = self.window.output_shape();
        [height, width, self.channels()]
    }

    /// Values in one output sample.
    pub const fn output_len(&self) -> usize {
        self.window.positions() * self.channels()
    }

    /// Values in the kernel: `kh·kw·in·depth_multiplier`.
    pub const fn kernel_len(&self) -> usize {
        self.window.patch_len() * self.depth_multiplier
    }
}

/// `y = depthwise_conv(x, kernel) + bias` for `batch` samples: `x` is
/// `[batch, h, w, in]`, `kernel` `[kh, kw, in, depth_multiplier]`, `bias`
/// `[in · depth_multiplier]`, `y` `[batch, oh, ow, in · depth_multiplier]` (overwritten).
///
/// ```
/// use strata_runtime::kernels::{DepthwiseGeometry, Padding, depthwise_conv2d_forward};
/// // A 2×2 map of two channels, a 2×2 kernel, depth multiplier 2: channel 0 summed
/// // into both of its outputs, channel 1 doubled into one and negated into the other.
/// let conv = DepthwiseGeometry::new([2, 2, 2], 2, [2, 2], [1, 1], [1, 1], Padding::Valid);
/// let x = [1.0f32, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0];
/// let kernel = [[1.0, 1.0, 2.0, -1.0]; 4].concat();
/// let mut y = [0.0; 4];
/// depthwise_conv2d_forward(&conv, 1, &x, &kernel, Some(&[0.5; 4]), &mut y);
/// assert_eq!(y, [10.5, 10.5, 200.5, -99.5]);
/// ```
pub fn depthwise_conv2d_forward<F: Float>(
    geometry: &DepthwiseGeometry,
    batch: usize,
    x: &[F],
    kernel: &[F],
    bias: Option<&[F]>,
    y: &mut [F],
) {
    let g = geometry;
    check_sizes(g, batch, x.len(), y.len(), kernel.len());
    let (input_len, output_len) = (g.window.input_len(), g.output_len());
    let (inputs, channels, multiplier) = (g.window.input[2], g.channels(), g.depth_multiplier);
    if output_len == 0 || input_len == 0 {
        y.fill(F::zero());
        return;
    }
    for (x, y) in x
        .chunks_exact(input_len)
        .zip(y.chunks_exact_mut(output_len))
    {
        match bias {
            Some(bias) => {
                assert_eq!(
                    bias.len(),
                    channels,
                    "depthwise_conv2d: bias is not in·dm long"
                );
                for y in y.chunks_exact_mut(channels) {
                    y.copy_from_slice(bias);
                }
            }
            None => y.fill(F::zero()),
        }
        g.window.for_each_run(|position, offset, input, len| {
            let Some(input) = input else { return };
            let y = &mut y[position * channels..][..channels];
            let (x, kernel) = (&x[input..][..len], &kernel[offset * multiplier..]);
            if multiplier == 1 {
                multiply_add_taps(y, x, &kernel[..len]);
                return;
            }
            for tap in 0..len / inputs {
                let x = &x[tap * inputs..][..inputs];
                let kernel = &kernel[tap * channels..][..channels];
                multiply_add(y, x, kernel, multiplier);
            }
        });
    }
}

/// The gradients of [`depthwise_conv2d_forward`] given `dy`, each computed only when asked
/// for and overwritten: `dx` `[batch, h, w, in]` (the first layer of a network needs
/// none), `dkernel` `[kh, kw, in, depth_multiplier]`, `dbias` `[in · depth_multiplier]`.
///
/// ```
/// use strata_runtime::kernels::{DepthwiseGeometry, Padding, depthwise_conv2d_backward};
/// let conv = DepthwiseGeometry::new([3, 3, 1], 1, [2, 2], [1, 1], [1, 1], Padding::Valid);
/// let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// let dy = [1.0; 4];
/// let (mut dx, mut dkernel, mut dbias) = ([0.0; 9], [0.0; 4], [0.0]);
/// let kernel = [1.0; 4];
/// let grads = (Some(&mut dx[..]), Some(&mut dkernel[..]), Some(&mut dbias[..]));
/// depthwise_conv2d_backward(&conv, 1, &x, &kernel, &dy, grads.0, grads.1, grads.2);
/// assert_eq!(dkernel, [12.0, 16.0, 24.0, 28.0]);
/// assert_eq!(dbias, [4.0]);
/// assert_eq!(dx, [1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
/// ```
#[allow(clippy::too_many_arguments)] // geometry, operands, three optional gradients
pub fn depthwise_conv2d_backward<F: Float>(
    geometry: &DepthwiseGeometry,
    batch: usize,
    x: &[F],
    kernel: &[F],
    dy: &[F],
    dx: Option<&mut [F]>,
    dkernel: Option<&mut [F]>,
    dbias: Option<&mut [F]>,
) {
    let g = geometry;
    check_sizes(g, batch, x.len(), dy.len(), kernel.len());
    let (input_len, output_len) = (g.window.input_len(), g.output_len());
    if let Some(dbias) = dbias {
        assert_eq!(
            dbias.len(),
            g.channels(),
            "depthwise_conv2d: dbias is not in·dm long"
        );
        column_sums(dy, dbias);
    }
    let samples = || {
        let empty = output_len == 0 || input_len == 0;
        let batch = if empty { 0 } else { batch };
        x.chunks_exact(input_len.max(1))
            .zip(dy.chunks_exact(output_len.max(1)))
            .take(batch)
    };
    // dkernel[tap, c·dm + m] = Σ x[tap's input, c] · dy[position, c·dm + m]
    if let Some(dkernel) = dkernel {
        dkernel.fill(F::zero());
        for (x, dy) in samples() {
            add_tap_products::<F, OF_KERNEL>(g, dkernel, x, dy);
        }
    }
    // dx[tap's input, c] = Σ_m dy[position, c·dm + m] · kernel[tap, c·dm + m]
    if let Some(dx) = dx {
        dx.fill(F::zero());
        for ((_, dy), dx) in samples().zip(dx.chunks_exact_mut(input_len.max(1))) {
            add_tap_products::<F, OF_INPUT>(g, dx, kernel, dy);
        }
    }
}

/// [`add_tap_products`]'s two gradients: the kernel's and the input's.
const OF_KERNEL: bool = true;
const OF_INPUT: bool = false;

/// Adds into `gradient` the products of one sample's `dy` with `other`, tap by tap over
/// [`Window2d`]'s walk: with [`OF_KERNEL`], `gradient` is the whole `dkernel` and `other`
/// the sample's `x`; with [`OF_INPUT`], `gradient` is the sample's `dx` and `other` the
/// whole `kernel`. The two backward products are the same walk with the operands swapped; which
/// one is a constant, so that each is compiled on its own, with no branch on it inside.
#[inline(always)]
fn add_tap_products<F: Float, const GRADIENT: bool>(
    g: &DepthwiseGeometry,
    gradient: &mut [F],
    other: &[F],
    dy: &[F],
) {
    let (inputs, channels, multiplier) = (g.window.input[2], g.channels(), g.depth_multiplier);
    g.window.for_each_run(|position, offset, input, len| {
        let Some(input) = input else { return };
        let dy = &dy[position * channels..][..channels];
        if multiplier == 1 {
            // The run is contiguous in the input and the kernel alike.
            let (to, from) = match GRADIENT {
                OF_KERNEL => (offset, input),
                OF_INPUT => (input, offset),
            };
            multiply_add_scaled(&mut gradient[to..][..len], &other[from..][..len], dy);
            return;
        }
        for tap in 0..len / inputs {
            let (x_at, kernel_at) = (input + tap * inputs, (offset + tap * inputs) * multiplier);
            match GRADIENT {
                OF_KERNEL => {
                    let dkernel = &mut gradient[kernel_at..][..channels];
                    multiply_add(dkernel, &other[x_at..][..inputs], dy, multiplier);
                }
                OF_INPUT => {
                    let dx = &mut gradient[x_at..][..inputs];
                    add_products(dx, dy, &other[kernel_at..][..channels], multiplier);
                }
            }
        }
    });
}

/// `y[c] += Σ_t x[t·C + c] · kernel[t·C + c]` over the taps `t` of a run, `C` being
/// `y`'s length (a depth multiplier of 1): blocks of channels are summed over every tap in
/// registers and written once, instead of `y` being read and written at every tap.
#[inline(always)]
fn multiply_add_taps<F: Float>(y: &mut [F], x: &[F], kernel: &[F]) {
    const BLOCK: usize = 16;
    let channels = y.len();
    let taps = x.len() / channels;
    let whole = channels - channels % BLOCK;
    for c0 in (0..whole).step_by(BLOCK) {
        let mut sum: [F; BLOCK] = y[c0..c0 + BLOCK].try_into().expect("a block");
        for t in 0..taps {
            let x: &[F; BLOCK] = x[t * channels + c0..][..BLOCK].try_into().expect("a block");
            let k: &[F; BLOCK] = kernel[t * channels + c0..][..BLOCK]
                .try_into()
                .expect("a block");
            for ((sum, &x), &k) in sum.iter_mut().zip(x).zip(k) {
                *sum = x.mul_add(k, *sum);
            }
        }
        y[c0..c0 + BLOCK].copy_from_slice(&sum);
    }
    for c in whole..channels {
        for t in 0..taps {
            y[c] = x[t * channels + c].mul_add(kernel[t * channels + c], y[c]);
        }
    }
}

/// `out[t·C + c] += a[t·C + c] · b[c]` over the taps `t` of a run, `C` being `b`'s length
/// (a depth multiplier of 1): `b` is loaded once per block of channels for every tap.
#[inline(always)]
fn multiply_add_scaled<F: Float>(out: &mut [F], a: &[F], b: &[F]) {
    const BLOCK: usize = 16;
    let channels = b.len();
    let whole = channels - channels % BLOCK;
    for (out, a) in out.chunks_exact_mut(channels).zip(a.chunks_exact(channels)) {
        for c0 in (0..whole).step_by(BLOCK) {
            let mut sum: [F; BLOCK] = out[c0..c0 + BLOCK].try_into().expect("a block");
            let a: &[F; BLOCK] = a[c0..c0 + BLOCK].try_into().expect("a block");
            let b: &[F; BLOCK] = b[c0..c0 + BLOCK].try_into().expect("a block");
            for ((sum, &a), &b) in sum.iter_mut().zip(a).zip(b) {
                *sum = a.mul_add(b, *sum);
            }
            out[c0..c0 + BLOCK].copy_from_slice(&sum);
        }
        for c in whole..channels {
            out[c] = a[c].mul_add(b[c], out[c]);
        }
    }
}

/// `y[c·dm + m] += x[c] · kernel[c·dm + m]`, with `dm = multiplier` above 1 (a
/// multiplier of 1 takes [`multiply_add_taps`] or [`multiply_add_scaled`]).
#[inline(always)]
fn multiply_add<F: Float>(y: &mut [F], x: &[F], kernel: &[F], multiplier: usize) {
    let kernels = kernel.chunks_exact(multiplier);
    for ((y, &x), kernel) in y.chunks_exact_mut(multiplier).zip(x).zip(kernels) {
        for (y, &k) in y.iter_mut().zip(kernel) {
            *y += x * k;
        }
    }
}

/// `dx[c] += Σ_m dy[c·dm + m] · kernel[c·dm + m]`, with `dm = multiplier` above 1: the
/// transpose of [`multiply_add`], summing over `m` where that one spreads over it.
#[inline(always)]
fn add_products<F: Float>(dx: &mut [F], dy: &[F], kernel: &[F], multiplier: usize) {
    let kernels = kernel.chunks_exact(multiplier);
    for ((dx, dy), kernel) in dx.iter_mut().zip(dy.chunks_exact(multiplier)).zip(kernels) {
        for (&dy, &k) in dy.iter().zip(kernel) {
            *dx += dy * k;
        }
    }
}

fn check_sizes(g: &DepthwiseGeometry, batch: usize, x: usize, y: usize, kernel: usize) {
    assert_eq!(
        x,
        batch * g.window.input_len(),
        "depthwise_conv2d: x is not [batch, h, w, in]"
    );
    assert_eq!(
        y,
        batch * g.output_len(),
        "depthwise_conv2d: y is not [batch, oh, ow, in·depth_multiplier]"
    );
    assert_eq!(
        kernel,
        g.kernel_len(),
        "depthwise_conv2d: kernel is not [kh, kw, in, depth_multiplier]"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gradcheck::{assert_gradient_matches, random_away_from_zero};
    use crate::kernels::window_axis;
    use rand::SeedableRng;

    /// Valid and same, strides 1 and 2, dilation 2, multipliers 1, 2 and 3, square and
    /// non-square kernels, a pointwise one and a 1-D one.
    const CASES: &[DepthwiseGeometry] = &[
        DepthwiseGeometry::new([5, 6, 3], 1, [3, 3], [1, 1], [1, 1], Padding::Valid),
        DepthwiseGeometry::new([5, 6, 3], 2, [3, 2], [1, 1], [1, 1], Padding::Same),
        DepthwiseGeometry::new([7, 7, 2], 1, [3, 3], [2, 2], [1, 1], Padding::Same),
        DepthwiseGeometry::new([7, 8, 2], 2, [2, 3], [2, 1], [1, 1], Padding::Valid),
        DepthwiseGeometry::new([7, 7, 3], 2, [3, 3], [1, 1], [2, 2], Padding::Same),
        DepthwiseGeometry::new([9, 8, 2], 1, [2, 3], [1, 2], [2, 1], Padding::Valid),
        DepthwiseGeometry::new([8, 7, 1], 3, [4, 2], [2, 2], [2, 1], Padding::Same),
        DepthwiseGeometry::new([4, 5, 3], 3, [1, 1], [1, 1], [1, 1], Padding::Valid),
        DepthwiseGeometry::new([1, 9, 4], 2, [1, 3], [1, 2], [1, 2], Padding::Same),
    ];

    fn geometry(case: usize) -> DepthwiseGeometry {
        CASES[case]
    }

    /// The definition, one output value at a time, indices as signed integers.
    fn reference(
        g: &DepthwiseGeometry,
        batch: usize,
        x: &[f64],
        kernel: &[f64],
        bias: Option<&[f64]>,
    ) -> Vec<f64> {
        let w = &g.window;
        let [height, width, inputs] = w.input;
        let dm = g.depth_multiplier;
        let axis = |a: usize| {
            window_axis(
                w.input[a],
                w.window[a],
                w.strides[a],
                w.dilation[a],
                w.padding,
            )
        };
        let ((oh, top), (ow, left)) = (axis(0), axis(1));
        let mut y = Vec::new();
        for b in 0..batch {
            for oy in 0..oh {
                for ox in 0..ow {
                    for c in 0..inputs {
                        for m in 0..dm {
                            let mut sum = bias.map_or(0.0, |bias| bias[c * dm + m]);
                            for ky in 0..w.window[0] {
                                for kx in 0..w.window[1] {
                                    let iy = (oy * w.strides[0] + ky * w.dilation[0]) as i64
                                        - top as i64;
                                    let ix = (ox * w.strides[1] + kx * w.dilation[1]) as i64
                                        - left as i64;
                                    if iy < 0 || ix < 0 || iy >= height as i64 || ix >= width as i64
                                    {
                                        continue;
                                    }
                                    let (iy, ix) = (iy as usize, ix as usize);
                                    let xv = x[((b * height + iy) * width + ix) * inputs + c];
                                    let kv =
                                        kernel[((ky * w.window[1] + kx) * inputs + c) * dm + m];
                                    sum += xv * kv;
                                }
                            }
                            y.push(sum);
                        }
                    }
                }
            }
        }
        y
    }

    #[test]
    fn depthwise_forward_matches_nested_loop() {
        let mut rng = crate::Rng::seed_from_u64(11);
        let batch = 2;
        for case in 0..CASES.len() {
            let g = geometry(case);
            let x = random_away_from_zero(batch * g.window.input_len(), &mut rng);
            let kernel = random_away_from_zero(g.kernel_len(), &mut rng);
            let bias = random_away_from_zero(g.channels(), &mut rng);
            for bias in [None, Some(&bias[..])] {
                let mut y = vec![f64::NAN; batch * g.output_len()];
                depthwise_conv2d_forward(&g, batch, &x, &kernel, bias, &mut y);
                let want = reference(&g, batch, &x, &kernel, bias);
                assert_eq!(y.len(), want.len(), "case {case}");
                for (i, (got, want)) in y.iter().zip(&want).enumerate() {
                    assert!(
                        (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
                        "case {case} value {i}: {got} != {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn depthwise_backward_matches_finite_differences() {
        let mut rng = crate::Rng::seed_from_u64(12);
        let batch = 2;
        for case in 0..CASES.len() {
            let g = geometry(case);
            let x = random_away_from_zero(batch * g.window.input_len(), &mut rng);
            let kernel = random_away_from_zero(g.kernel_len(), &mut rng);
            let bias = random_away_from_zero(g.channels(), &mut rng);
            let weights = random_away_from_zero(batch * g.output_len(), &mut rng);
            let loss = |x: &[f64], kernel: &[f64], bias: &[f64]| -> f64 {
                let mut y = vec![0.0; batch * g.output_len()];
                depthwise_conv2d_forward(&g, batch, x, kernel, Some(bias), &mut y);
                y.iter().zip(&weights).map(|(y, w)| y * w).sum()
            };
            // NaN everywhere: the gradients must be overwritten, not added to.
            let mut dx = vec![f64::NAN; x.len()];
            let mut dkernel = vec![f64::NAN; kernel.len()];
            let mut dbias = vec![f64::NAN; bias.len()];
            depthwise_conv2d_backward(
                &g,
                batch,
                &x,
                &kernel,
                &weights,
                Some(&mut dx),
                Some(&mut dkernel),
                Some(&mut dbias),
            );
            let what = |name| format!("case {case} {name}");
            assert_gradient_matches(&what("dx"), |x| loss(x, &kernel, &bias), &x, &dx);
            let dk = |k: &[f64]| loss(&x, k, &bias);
            assert_gradient_matches(&what("dkernel"), dk, &kernel, &dkernel);
            let db = |b: &[f64]| loss(&x, &kernel, b);
            assert_gradient_matches(&what("dbias"), db, &bias, &dbias);
        }
    }

    #[test]
    fn depthwise_backward_writes_only_the_gradients_asked_for() {
        let g = geometry(1);
        let mut rng = crate::Rng::seed_from_u64(13);
        let x = random_away_from_zero(g.window.input_len(), &mut rng);
        let kernel = random_away_from_zero(g.kernel_len(), &mut rng);
        let dy = random_away_from_zero(g.output_len(), &mut rng);
        let (mut dx, mut dkernel) = (vec![0.0; x.len()], vec![0.0; kernel.len()]);
        let all = (Some(&mut dx[..]), Some(&mut dkernel[..]));
        depthwise_conv2d_backward(&g, 1, &x, &kernel, &dy, all.0, all.1, None);
        let mut alone = vec![f64::NAN; kernel.len()];
        depthwise_conv2d_backward(&g, 1, &x, &kernel, &dy, None, Some(&mut alone), None);
        assert_eq!(alone, dkernel);
        let mut alone = vec![f64::NAN; x.len()];
        depthwise_conv2d_backward(&g, 1, &x, &kernel, &dy, Some(&mut alone), None, None);
        assert_eq!(alone, dx);
    }

    #[test]
    fn an_empty_batch_gives_zero_gradients() {
        let g = geometry(0);
        let kernel = vec![1.0f64; g.kernel_len()];
        let (mut dkernel, mut dbias) = (vec![f64::NAN; kernel.len()], vec![f64::NAN; 3]);
        depthwise_conv2d_backward(
            &g,
            0,
            &[],
            &kernel,
            &[],
            None,
            Some(&mut dkernel),
            Some(&mut dbias),
        );
        assert!(dkernel.iter().chain(&dbias).all(|&v| v == 0.0));
        depthwise_conv2d_forward(&g, 0, &[], &kernel, None, &mut []);
    }
}
