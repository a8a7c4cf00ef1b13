//! Convolutions, channels-last, with Keras's `[kernel height, kernel width, in, filters]`
//! kernel: im2col and the matrix product.
//!
//! Reshaped to `[kh·kw·in, filters]` a Keras kernel is the right-hand matrix of the
//! product `columns · kernel`, where each row of `columns` is one output position's
//! receptive field (its patch). A 1×1 convolution with unit strides needs no columns at
//! all: the input is already that matrix.
//!
//! The columns are built a few samples at a time, as many as the caller's scratch slice
//! holds, so that they stay in the core's cache between being written and being
//! multiplied: [`Conv2dGeometry::columns_len`] says how much scratch space that takes.

use super::pool::{max_pool2d_backward_activated, max_pool2d_forward_activated};
use super::window::{Padding, Window2d};
use super::{Activation, activation_backward, activation_forward, dense_forward, matmul};
use crate::Float;

/// How many values a chunk of samples may span in its im2col columns and its output
/// together: 256 K values (1 MB in `f32`), half of one core's L2 cache on the benchmark
/// machine, so that both stay in cache between the passes over them. Chosen by
/// `cargo bench --bench conv` (groups `conv_chunk_of_*`).
pub const CHUNK_VALUES: usize = 1 << 18;

/// The sizes of a 2-D convolution over one channels-last sample.
///
/// ```
/// use strata_runtime::kernels::{Conv2dGeometry, Padding};
/// const CONV: Conv2dGeometry =
///     Conv2dGeometry::new([28, 28, 1], 32, [3, 3], [1, 1], [1, 1], Padding::Valid);
/// assert_eq!(CONV.output_shape(), [26, 26, 32]);
/// assert_eq!(CONV.kernel_len(), 3 * 3 * 1 * 32);
/// const SCRATCH: usize = CONV.columns_len(64);
/// assert!(SCRATCH > 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dGeometry {
    /// The receptive field sliding over the input: `window.input` is
    /// `[height, width, in channels]`, `window.window` the kernel size.
    pub window: Window2d,
    /// Output channels.
    pub filters: usize,
}

/// The two constructors of a convolution's geometry, a `window: Window2d` plus one count
/// field (`filters`, `depth_multiplier`): `new`, the 2-D layer over `[height, width,
/// channels]`, and `conv1d`, the 1-D one over `[steps, channels]` as a 2-D one of height 1.
/// [`Conv2dGeometry`] and `DepthwiseGeometry` share them; each name comes after the doc
/// comment it gets.
macro_rules! window_constructors {
    ($count:ident; $(#[$new:meta])* new; $(#[$conv1d:meta])* conv1d;) => {
        $(#[$new])*
        pub const fn new(
            input: [usize; 3],
            $count: usize,
            kernel_size: [usize; 2],
            strides: [usize; 2],
            dilation_rate: [usize; 2],
            padding: Padding,
        ) -> Self {
            Self {
                window: Window2d::new(input, kernel_size, strides, dilation_rate, padding),
                $count,
            }
        }

        $(#[$conv1d])*
        pub const fn conv1d(
            input: [usize; 2],
            $count: usize,
            kernel_size: usize,
            stride: usize,
            dilation_rate: usize,
            padding: Padding,
        ) -> Self {
            Self {
                window: Window2d::along_steps(input, kernel_size, stride, dilation_rate, padding),
                $count,
            }
        }
    };
}
pub(super) use window_constructors;

impl Conv2dGeometry {
    window_constructors! {
        filters;
        /// A Conv2D over `input = [height, width, channels]`.
        new;
        /// A Conv1D over `input = [steps, channels]`: a Conv2D of height 1, whose kernel
        /// `[kernel_size, in, filters]` has the same memory layout as `[1, kernel_size, in,
        /// filters]`.
        ///
        /// ```
        /// use strata_runtime::kernels::{Conv2dGeometry, Padding};
        /// let conv = Conv2dGeometry::conv1d([100, 8], 16, 5, 1, 1, Padding::Valid);
        /// assert_eq!(conv.output_shape(), [1, 96, 16]);
        /// ```
        conv1d;
    }

    /// `[output height, output width, filters]`.
    pub const fn output_shape(&self) -> [usize; 3] {
        let [height, width, _] = self.window.output_shape();
        [height, width, self.filters]
    }

    /// Values in one output sample.
    pub const fn output_len(&self) -> usize {
        self.window.positions() * self.filters
    }

    /// Values in the kernel: `kh·kw·in·filters`.
    pub const fn kernel_len(&self) -> usize {
        self.window.patch_len() * self.filters
    }

    /// True when the input already is the columns matrix: a 1×1 kernel with unit strides
    /// (its padding is then zero under either rule).
    pub const fn is_pointwise(&self) -> bool {
        let w = &self.window;
        w.window[0] == 1 && w.window[1] == 1 && w.strides[0] == 1 && w.strides[1] == 1
    }

    /// Values of im2col columns per sample: output positions × patch length.
    pub const fn columns_per_sample(&self) -> usize {
        self.window.positions() * self.window.patch_len()
    }

    /// Samples per chunk, for a batch of `batch`: as many as fit in [`CHUNK_VALUES`],
    /// at least one (unless the batch is empty).
    pub const fn samples_per_chunk(&self, batch: usize) -> usize {
        let per_sample = self.columns_per_sample() + self.output_len();
        let fit = match CHUNK_VALUES.checked_div(per_sample) {
            Some(0) => 1,
            Some(fit) => fit,
            None => batch,
        };
        if fit < batch { fit } else { batch }
    }

    /// The length of the `columns` scratch slice that [`conv2d_forward`] and
    /// [`conv2d_backward`] should get for a batch of `batch`: a chunk of
    /// [`samples_per_chunk`](Self::samples_per_chunk) samples (0 for a pointwise
    /// convolution). They work with any slice that holds one sample's columns, chunking
    /// the batch by what it holds.
    pub const fn columns_len(&self, batch: usize) -> usize {
        if self.is_pointwise() {
            0
        } else {
            self.samples_per_chunk(batch) * self.columns_per_sample()
        }
    }
}

/// `y = conv(x, kernel) + bias` for `batch` samples: `x` is `[batch, h, w, in]`, `kernel`
/// `[kh, kw, in, filters]`, `bias` `[filters]`, `y` `[batch, oh, ow, filters]`
/// (overwritten). `columns` is scratch of [`Conv2dGeometry::columns_len`]`(batch)` values.
///
/// ```
/// use strata_runtime::kernels::{Conv2dGeometry, Padding, conv2d_forward};
/// // A 3×3 single-channel input, a 2×2 kernel summing its window, one filter.
/// let conv = Conv2dGeometry::new([3, 3, 1], 1, [2, 2], [1, 1], [1, 1], Padding::Valid);
/// let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// let mut y = [0.0; 4];
/// let mut columns = vec![0.0; conv.columns_len(1)];
/// conv2d_forward(&conv, 1, &x, &[1.0; 4], Some(&[0.5]), &mut y, &mut columns);
/// assert_eq!(y, [12.5, 16.5, 24.5, 28.5]);
/// ```
pub fn conv2d_forward<F: Float>(
    geometry: &Conv2dGeometry,
    batch: usize,
    x: &[F],
    kernel: &[F],
    bias: Option<&[F]>,
    y: &mut [F],
    columns: &mut [F],
) {
    forward_chunks(
        geometry,
        batch,
        x,
        kernel,
        bias,
        y,
        ChunkOutput::Linear,
        columns,
    );
}

/// [`conv2d_forward`] into `z`, then `y = activation(z)`, a chunk of samples at a time:
/// each chunk of `z` is activated just after the product wrote it, while it is in the
/// cache, rather than in a pass of its own over the whole batch's maps.
///
/// ```
/// use strata_runtime::kernels::{Activation, Conv2dGeometry, Padding, conv2d_forward_activated};
/// let conv = Conv2dGeometry::new([2, 2, 1], 1, [1, 1], [1, 1], [1, 1], Padding::Valid);
/// let (mut z, mut y) = ([0.0f32; 4], [0.0f32; 4]);
/// let mut columns = vec![0.0; conv.columns_len(1)];
/// let x = [1.0, -2.0, 3.0, -4.0];
/// conv2d_forward_activated(&conv, 1, &x, &[1.0], None, (Activation::Relu, &mut z, &mut y), &mut columns);
/// assert_eq!((z, y), (x, [1.0, 0.0, 3.0, 0.0]));
/// ```
pub fn conv2d_forward_activated<F: Float>(
    geometry: &Conv2dGeometry,
    batch: usize,
    x: &[F],
    kernel: &[F],
    bias: Option<&[F]>,
    (activation, z, y): (Activation, &mut [F], &mut [F]),
    columns: &mut [F],
) {
    assert_eq!(z.len(), y.len(), "conv2d: z and y differ in length");
    let output = ChunkOutput::Activated(activation, y);
    forward_chunks(geometry, batch, x, kernel, bias, z, output, columns);
}

/// What a chunk of a convolution's linear output becomes after the product wrote it.
enum ChunkOutput<'a, F> {
    /// Nothing: the linear output is the layer's output.
    Linear,
    /// `y = activation(z)`.
    Activated(Activation, &'a mut [F]),
    /// Max pooled, then activated: see [`conv2d_max_pool_forward`].
    MaxPooled(MaxPooled<'a, F>),
}

/// The max pooling that follows a convolution, and where its results go.
struct MaxPooled<'a, F> {
    window: &'a Window2d,
    activation: Activation,
    pooled: &'a mut [F],
    argmax: &'a mut [u32],
}

#[allow(clippy::too_many_arguments)] // the two passes' operands
fn forward_chunks<F: Float>(
    g: &Conv2dGeometry,
    batch: usize,
    x: &[F],
    kernel: &[F],
    bias: Option<&[F]>,
    z: &mut [F],
    mut output: ChunkOutput<'_, F>,
    columns: &mut [F],
) {
    let z_len = match output {
        ChunkOutput::MaxPooled(_) => batch * g.output_len(),
        _ => z.len(),
    };
    check_sizes(g, batch, x.len(), z_len, kernel.len(), columns.len());
    for_each_chunk(g, batch, columns.len(), |samples, range_x, range_y| {
        let rows = samples * g.window.positions();
        let patches = patches(g, &x[range_x], columns, rows);
        let patch_len = g.window.patch_len();
        match &mut output {
            ChunkOutput::Linear => {
                let z = &mut z[range_y];
                dense_forward(patches, kernel, bias, z, rows, patch_len, g.filters);
            }
            ChunkOutput::Activated(activation, y) => {
                let z = &mut z[range_y.clone()];
                dense_forward(patches, kernel, bias, z, rows, patch_len, g.filters);
                activation_forward(*activation, z, &mut y[range_y], g.filters);
            }
            ChunkOutput::MaxPooled(pool) => {
                let z = &mut z[..range_y.len()];
                dense_forward(patches, kernel, bias, z, rows, patch_len, g.filters);
                let pooled_len = pool.window.positions() * g.filters;
                let first = range_y.start / g.output_len();
                let range_p = first * pooled_len..(first + samples) * pooled_len;
                let (pooled, argmax) =
                    (&mut pool.pooled[range_p.clone()], &mut pool.argmax[range_p]);
                let activation = pool.activation;
                max_pool2d_forward_activated(pool.window, samples, z, pooled, argmax, activation);
            }
        }
    });
}

/// A convolution, then max pooling of its output, then `activation` of the pooled maps,
/// a chunk of samples at a time: the convolution's output exists only a chunk at a time,
/// in `scratch`, while it is in the cache; `pooled` and `argmax` are as
/// [`max_pool2d_forward`](super::max_pool2d_forward) leaves them, and
/// [`ConvOutputGrad::MaxPooled`] takes the gradient back through all three.
///
/// For an activation that never decreases and is exact (relu, linear), pooling and then
/// activating gives what activating and then pooling gives, bit for bit: this is
/// `Conv2D(activation = relu)` followed by `MaxPooling2D` without the two passes over the
/// convolution's whole output between them.
///
/// # Panics
///
/// If `activation` is neither relu nor linear, or if a slice's length does not fit the
/// geometries; `scratch` must hold at least one chunk of the convolution's output (as
/// many values as the whole output is always enough).
///
/// ```
/// use strata_runtime::kernels::{Activation, Conv2dGeometry, Padding, Window2d, conv2d_max_pool_forward};
/// let conv = Conv2dGeometry::new([2, 2, 1], 1, [1, 1], [1, 1], [1, 1], Padding::Valid);
/// let pool = Window2d::pooling([2, 2, 1], [2, 2], [2, 2], Padding::Valid);
/// let (mut scratch, mut pooled, mut argmax) = ([0.0f32; 4], [0.0f32; 1], [0u32; 1]);
/// let mut columns = vec![0.0; conv.columns_len(1)];
/// let x = [1.0, -2.0, 3.0, -4.0];
/// conv2d_max_pool_forward(
///     &conv, &pool, 1, &x, &[-1.0], None, Activation::Relu,
///     (&mut scratch, &mut pooled, &mut argmax), &mut columns,
/// );
/// assert_eq!((pooled, argmax), ([4.0], [3]));
/// ```
#[allow(clippy::too_many_arguments)] // two geometries, operands, the pooled outputs, scratch
pub fn conv2d_max_pool_forward<F: Float>(
    geometry: &Conv2dGeometry,
    window: &Window2d,
    batch: usize,
    x: &[F],
    kernel: &[F],
    bias: Option<&[F]>,
    activation: Activation,
    (scratch, pooled, argmax): (&mut [F], &mut [F], &mut [u32]),
    columns: &mut [F],
) {
    check_pooling(geometry, window, activation, batch, pooled.len());
    let pool = MaxPooled {
        window,
        activation,
        pooled,
        argmax,
    };
    let output = ChunkOutput::MaxPooled(pool);
    forward_chunks(geometry, batch, x, kernel, bias, scratch, output, columns);
}

/// Panics unless `window` pools the output of `geometry` and `activation` commutes with
/// taking a maximum exactly.
fn check_pooling(
    geometry: &Conv2dGeometry,
    window: &Window2d,
    activation: Activation,
    batch: usize,
    pooled: usize,
) {
    assert!(
        matches!(activation, Activation::Relu | Activation::Linear),
        "conv2d_max_pool: only relu and linear commute exactly with the maximum"
    );
    assert_eq!(
        window.input,
        geometry.output_shape(),
        "conv2d_max_pool: the pooling window is not over the convolution's output"
    );
    assert_eq!(
        pooled,
        batch * window.positions() * geometry.filters,
        "conv2d_max_pool: pooled is not [batch, ph, pw, filters]"
    );
}

/// The gradient of a convolution's output that [`conv2d_backward_with`] starts from.
pub enum ConvOutputGrad<'a, F> {
    /// The gradient of the linear output itself.
    Linear(&'a [F]),
    /// The gradient `dy` of `y = activation(z)`: each chunk of `z`'s gradient is written
    /// to `dz` just before the chunk's products read it, while it is in the cache.
    Activated {
        activation: Activation,
        z: &'a [F],
        y: &'a [F],
        dy: &'a [F],
        dz: &'a mut [F],
    },
    /// The gradient `dpooled` of what [`conv2d_max_pool_forward`] wrote to `pooled` and
    /// `argmax` with `window` and `activation`: each chunk of the convolution's output
    /// gradient is built in `scratch` (at least a chunk long) from the pooled values it
    /// won, just before the chunk's products read it. `len` is the convolution's output
    /// length, `batch · oh · ow · filters`.
    MaxPooled {
        window: &'a Window2d,
        activation: Activation,
        pooled: &'a [F],
        argmax: &'a [u32],
        dpooled: &'a [F],
        scratch: &'a mut [F],
        len: usize,
    },
}

impl<F: Float> ConvOutputGrad<'_, F> {
    fn len(&self) -> usize {
        match self {
            ConvOutputGrad::Linear(dy) => dy.len(),
            ConvOutputGrad::Activated { dy, .. } => dy.len(),
            ConvOutputGrad::MaxPooled { len, .. } => *len,
        }
    }

    /// The linear output's gradient over `range` (computed first when activated).
    fn chunk(&mut self, range: std::ops::Range<usize>, row_len: usize) -> &[F] {
        match self {
            ConvOutputGrad::Linear(dy) => &dy[range],
            ConvOutputGrad::Activated {
                activation,
                z,
                y,
                dy,
                dz,
            } => {
                let r = range;
                let dz = &mut dz[r.clone()];
                activation_backward(
                    *activation,
                    &z[r.clone()],
                    &y[r.clone()],
                    &dy[r],
                    dz,
                    row_len,
                );
                dz
            }
            ConvOutputGrad::MaxPooled {
                window,
                activation,
                pooled,
                argmax,
                dpooled,
                scratch,
                len,
            } => {
                let (output_len, pooled_len) = (window.input_len(), window.positions() * row_len);
                let samples = range.len() / output_len;
                let first = range.start / output_len;
                let range_p = first * pooled_len..(first + samples) * pooled_len;
                let dz = &mut scratch[..range.len()];
                debug_assert!(range.end <= *len);
                let (dpooled, argmax) = (&dpooled[range_p.clone()], &argmax[range_p.clone()]);
                let pooled = &pooled[range_p];
                max_pool2d_backward_activated(
                    window,
                    samples,
                    dpooled,
                    argmax,
                    pooled,
                    *activation,
                    dz,
                );
                dz
            }
        }
    }
}

/// The gradients of [`conv2d_forward`] given `dy`, each computed only when asked for and
/// overwritten: `dx` `[batch, h, w, in]` (the first layer of a network needs none),
/// `dkernel` `[kh, kw, in, filters]`, `dbias` `[filters]`. `columns` is scratch as in the
/// forward pass (its content on entry is not used).
///
/// ```
/// use strata_runtime::kernels::{Conv2dGeometry, Padding, conv2d_backward};
/// let conv = Conv2dGeometry::new([3, 3, 1], 1, [2, 2], [1, 1], [1, 1], Padding::Valid);
/// let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// let dy = [1.0; 4];
/// let (mut dkernel, mut dbias) = ([0.0; 4], [0.0]);
/// let mut columns = vec![0.0; conv.columns_len(1)];
/// conv2d_backward(&conv, 1, &x, &[1.0; 4], &dy, None, Some(&mut dkernel), Some(&mut dbias), &mut columns);
/// assert_eq!(dkernel, [12.0, 16.0, 24.0, 28.0]);
/// assert_eq!(dbias, [4.0]);
/// ```
#[allow(clippy::too_many_arguments)] // geometry, operands, three optional gradients, scratch
pub fn conv2d_backward<F: Float>(
    geometry: &Conv2dGeometry,
    batch: usize,
    x: &[F],
    kernel: &[F],
    dy: &[F],
    dx: Option<&mut [F]>,
    dkernel: Option<&mut [F]>,
    dbias: Option<&mut [F]>,
    columns: &mut [F],
) {
    let dy = ConvOutputGrad::Linear(dy);
    conv2d_backward_with(geometry, batch, x, kernel, dy, dx, dkernel, dbias, columns);
}

/// [`conv2d_backward`] from the gradient of the output, or of an activation of it.
#[allow(clippy::too_many_arguments)] // geometry, operands, three optional gradients, scratch
pub fn conv2d_backward_with<F: Float>(
    geometry: &Conv2dGeometry,
    batch: usize,
    x: &[F],
    kernel: &[F],
    mut output_grad: ConvOutputGrad<'_, F>,
    mut dx: Option<&mut [F]>,
    mut dkernel: Option<&mut [F]>,
    dbias: Option<&mut [F]>,
    columns: &mut [F],
) {
    let g = geometry;
    check_sizes(
        g,
        batch,
        x.len(),
        output_grad.len(),
        kernel.len(),
        columns.len(),
    );
    let mut dbias = dbias;
    if let Some(dbias) = dbias.as_deref_mut() {
        assert_eq!(dbias.len(), g.filters, "conv2d: dbias is not filters long");
        dbias.fill(F::zero());
    }
    let (patch_len, filters) = (g.window.patch_len(), g.filters);
    let mut first_chunk = true;
    for_each_chunk(g, batch, columns.len(), |samples, range_x, range_y| {
        let rows = samples * g.window.positions();
        let dy = output_grad.chunk(range_y, filters);
        if let Some(dbias) = dbias.as_deref_mut() {
            add_column_sums(dy, dbias);
        }
        if let Some(dkernel) = dkernel.as_deref_mut() {
            let patches = patches(g, &x[range_x.clone()], columns, rows);
            matmul(
                patch_len,
                rows,
                filters,
                patches,
                true,
                dy,
                false,
                dkernel,
                !first_chunk,
            );
        }
        if let Some(dx) = dx.as_deref_mut() {
            let dx = &mut dx[range_x];
            if g.is_pointwise() {
                matmul(rows, filters, patch_len, dy, false, kernel, true, dx, false);
            } else {
                let dpatches = &mut columns[..rows * patch_len];
                matmul(
                    rows, filters, patch_len, dy, false, kernel, true, dpatches, false,
                );
                col2im(&g.window, dpatches, dx);
            }
        }
        first_chunk = false;
    });
    if batch == 0
        && let Some(dkernel) = dkernel
    {
        dkernel.fill(F::zero());
    }
}

fn check_sizes(
    g: &Conv2dGeometry,
    batch: usize,
    x: usize,
    y: usize,
    kernel: usize,
    columns: usize,
) {
    assert_eq!(
        x,
        batch * g.window.input_len(),
        "conv2d: x is not [batch, h, w, in]"
    );
    assert_eq!(
        y,
        batch * g.output_len(),
        "conv2d: y is not [batch, oh, ow, filters]"
    );
    assert_eq!(
        kernel,
        g.kernel_len(),
        "conv2d: kernel is not [kh, kw, in, filters]"
    );
    let needed = if g.is_pointwise() || batch == 0 {
        0
    } else {
        g.columns_per_sample()
    };
    assert!(
        columns >= needed,
        "conv2d: columns has {columns} values, fewer than one sample's {needed}"
    );
}

/// Calls `f(samples, input range, output range)` for each chunk of the batch: as many
/// samples as `columns` values hold.
fn for_each_chunk(
    g: &Conv2dGeometry,
    batch: usize,
    columns: usize,
    mut f: impl FnMut(usize, std::ops::Range<usize>, std::ops::Range<usize>),
) {
    let chunk = match columns.checked_div(g.columns_per_sample()) {
        Some(fit) if !g.is_pointwise() => fit.max(1),
        _ => batch.max(1),
    };
    let (input_len, output_len) = (g.window.input_len(), g.output_len());
    for first in (0..batch).step_by(chunk) {
        let samples = chunk.min(batch - first);
        f(
            samples,
            first * input_len..(first + samples) * input_len,
            first * output_len..(first + samples) * output_len,
        );
    }
}

/// The `rows × patch_len` patches of input samples `x`: `x` itself for a pointwise
/// convolution, else their im2col, written into `columns`.
fn patches<'a, F: Float>(
    g: &Conv2dGeometry,
    x: &'a [F],
    columns: &'a mut [F],
    rows: usize,
) -> &'a [F] {
    if g.is_pointwise() {
        return x;
    }
    let columns = &mut columns[..rows * g.window.patch_len()];
    im2col(&g.window, x, columns);
    columns
}

/// Lays out every window of the samples in `x` as a row of `columns`, zeros in the
/// padding.
fn im2col<F: Float>(w: &Window2d, x: &[F], columns: &mut [F]) {
    let per_sample = w.positions() * w.patch_len();
    if per_sample == 0 {
        return;
    }
    let patch_len = w.patch_len();
    for (sample, columns) in x
        .chunks_exact(w.input_len())
        .zip(columns.chunks_exact_mut(per_sample))
    {
        w.for_each_run(|position, offset, input, len| {
            let start = position * patch_len + offset;
            let run = &mut columns[start..start + len];
            match input {
                Some(i) => copy_run(&sample[i..i + len], run),
                None => run.fill(F::zero()),
            }
        });
    }
}

/// `to = from`. Runs of a few values (a 3×3 window over one channel copies runs of 3)
/// are copied with their length known at compile time: a call to `memcpy` for each
/// costs more than the copy.
#[inline(always)]
fn copy_run<F: Float>(from: &[F], to: &mut [F]) {
    fn fixed<F: Float, const N: usize>(from: &[F], to: &mut [F]) {
        let from: &[F; N] = from.try_into().expect("N values");
        let to: &mut [F; N] = to.try_into().expect("N values");
        *to = *from;
    }
    match to.len() {
        1 => fixed::<F, 1>(from, to),
        2 => fixed::<F, 2>(from, to),
        3 => fixed::<F, 3>(from, to),
        4 => fixed::<F, 4>(from, to),
        5 => fixed::<F, 5>(from, to),
        _ => to.copy_from_slice(from),
    }
}

/// The transpose of [`im2col`]: adds every row of `columns` back onto the input values it
/// came from, into `dx` (overwritten).
fn col2im<F: Float>(w: &Window2d, columns: &[F], dx: &mut [F]) {
    dx.fill(F::zero());
    let per_sample = w.positions() * w.patch_len();
    if per_sample == 0 {
        return;
    }
    let patch_len = w.patch_len();
    for (sample, columns) in dx
        .chunks_exact_mut(w.input_len())
        .zip(columns.chunks_exact(per_sample))
    {
        w.for_each_run(|position, offset, input, len| {
            if let Some(i) = input {
                let start = position * patch_len + offset;
                for (dx, &d) in sample[i..i + len]
                    .iter_mut()
                    .zip(&columns[start..start + len])
                {
                    *dx += d;
                }
            }
        });
    }
}

/// `sums[j] = Σ_i m[i, j]` for a row-major `m` with `sums.len()` columns.
pub(crate) fn column_sums<F: Float>(m: &[F], sums: &mut [F]) {
    sums.fill(F::zero());
    add_column_sums(m, sums);
}

/// `sums[j] += Σ_i m[i, j]`.
fn add_column_sums<F: Float>(m: &[F], sums: &mut [F]) {
    if sums.is_empty() {
        return;
    }
    for row in m.chunks_exact(sums.len()) {
        for (sum, &v) in sums.iter_mut().zip(row) {
            *sum += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gradcheck::{assert_gradient_matches, random_away_from_zero};
    use rand::SeedableRng;

    /// The convolution as its definition: every output, every tap, every input channel.
    fn naive_conv(
        g: &Conv2dGeometry,
        batch: usize,
        x: &[f64],
        kernel: &[f64],
        bias: &[f64],
    ) -> Vec<f64> {
        let w = &g.window;
        let [h, wd, c_in] = w.input;
        let [oh, ow, filters] = g.output_shape();
        let ((_, top), (_, left)) = (w.rows(), w.columns());
        let mut y = vec![0.0; batch * oh * ow * filters];
        for n in 0..batch {
            for oy in 0..oh {
                for ox in 0..ow {
                    for f in 0..filters {
                        let mut sum = bias[f];
                        for ky in 0..w.window[0] {
                            for kx in 0..w.window[1] {
                                let iy = (oy * w.strides[0] + ky * w.dilation[0]) as isize
                                    - top as isize;
                                let ix = (ox * w.strides[1] + kx * w.dilation[1]) as isize
                                    - left as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                for c in 0..c_in {
                                    let xi = ((n * h + iy as usize) * wd + ix as usize) * c_in + c;
                                    let ki = ((ky * w.window[1] + kx) * c_in + c) * filters + f;
                                    sum += x[xi] * kernel[ki];
                                }
                            }
                        }
                        y[((n * oh + oy) * ow + ox) * filters + f] = sum;
                    }
                }
            }
        }
        y
    }

    /// (input, filters, kernel, strides, dilation, padding) covering valid and same, even
    /// kernels (Keras's asymmetric same padding), strides, dilations, 1×1 and Conv1D.
    fn geometries() -> Vec<Conv2dGeometry> {
        use Padding::{Same, Valid};
        vec![
            Conv2dGeometry::new([7, 6, 1], 3, [3, 3], [1, 1], [1, 1], Valid),
            Conv2dGeometry::new([7, 6, 2], 3, [3, 3], [1, 1], [1, 1], Same),
            Conv2dGeometry::new([7, 5, 3], 2, [2, 2], [2, 2], [1, 1], Same),
            Conv2dGeometry::new([8, 7, 2], 2, [4, 3], [2, 3], [1, 1], Same),
            Conv2dGeometry::new([9, 8, 2], 2, [3, 2], [2, 1], [1, 1], Valid),
            Conv2dGeometry::new([9, 9, 2], 3, [3, 3], [1, 1], [2, 2], Valid),
            Conv2dGeometry::new([7, 8, 2], 2, [3, 2], [1, 1], [2, 3], Same),
            Conv2dGeometry::new([5, 4, 3], 4, [1, 1], [1, 1], [1, 1], Valid),
            Conv2dGeometry::new([5, 4, 3], 4, [1, 1], [2, 2], [1, 1], Same),
            Conv2dGeometry::conv1d([11, 3], 2, 3, 2, 1, Same),
            Conv2dGeometry::conv1d([11, 2], 3, 4, 1, 2, Valid),
        ]
    }

    fn assert_close(what: &str, got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                "{what}[{i}]: {g} != {w}"
            );
        }
    }

    /// Relu or linear after a convolution, then max pooling: fused, the same pooled maps
    /// and gradients bit for bit as the three kernels one after the other, at several
    /// chunk sizes and pooling windows (overlapping, with same padding, leaving a margin).
    #[test]
    fn conv_max_pool_fused_equals_the_kernels_in_turn() {
        let mut rng = crate::Rng::seed_from_u64(21);
        let conv = Conv2dGeometry::new([9, 8, 3], 4, [3, 3], [1, 1], [1, 1], Padding::Valid);
        let map = conv.output_shape(); // 7×6×4
        let pools = [
            Window2d::pooling(map, [2, 2], [2, 2], Padding::Valid),
            Window2d::pooling(map, [3, 2], [1, 2], Padding::Valid),
            Window2d::pooling(map, [2, 2], [2, 2], Padding::Same),
        ];
        let batch = 5;
        for (pool, activation, chunk) in pools.iter().flat_map(|pool| {
            [Activation::Relu, Activation::Linear]
                .into_iter()
                .flat_map(move |act| [1, 2, batch].map(move |chunk| (pool, act, chunk)))
        }) {
            let what = format!("{pool:?} {activation:?} chunks of {chunk}");
            let x = random_away_from_zero(batch * conv.window.input_len(), &mut rng);
            let kernel = random_away_from_zero(conv.kernel_len(), &mut rng);
            // A negative bias leaves some windows without a positive value.
            let bias: Vec<f64> = random_away_from_zero(conv.filters, &mut rng)
                .iter()
                .map(|b| b - 1.0)
                .collect();
            let columns_len = conv.columns_per_sample() * chunk;
            let (out_len, pooled_len) = (batch * conv.output_len(), batch * pool.positions() * 4);
            let dpooled = random_away_from_zero(pooled_len, &mut rng);

            // The kernels in turn.
            let mut columns = vec![f64::NAN; columns_len];
            let (mut z, mut y) = (vec![f64::NAN; out_len], vec![f64::NAN; out_len]);
            let act = (activation, &mut z[..], &mut y[..]);
            conv2d_forward_activated(&conv, batch, &x, &kernel, Some(&bias), act, &mut columns);
            let (mut want_pooled, mut want_argmax) =
                (vec![f64::NAN; pooled_len], vec![0; pooled_len]);
            super::super::max_pool2d_forward(pool, batch, &y, &mut want_pooled, &mut want_argmax);
            let mut dy = vec![f64::NAN; out_len];
            super::super::max_pool2d_backward(pool, batch, &dpooled, &want_argmax, &mut dy);
            let backward = |grad, columns: &mut [f64]| {
                let (mut dx, mut dkernel, mut dbias) = (
                    vec![f64::NAN; x.len()],
                    vec![f64::NAN; kernel.len()],
                    vec![f64::NAN; 4],
                );
                let grads = (
                    Some(&mut dx[..]),
                    Some(&mut dkernel[..]),
                    Some(&mut dbias[..]),
                );
                let (x, kernel) = (&x[..], &kernel[..]);
                conv2d_backward_with(
                    &conv, batch, x, kernel, grad, grads.0, grads.1, grads.2, columns,
                );
                [dx, dkernel, dbias]
            };
            let mut dz = vec![f64::NAN; out_len];
            let (z, y, dy, dz) = (&z[..], &y[..], &dy[..], &mut dz[..]);
            let grad = ConvOutputGrad::Activated {
                activation,
                z,
                y,
                dy,
                dz,
            };
            let want = backward(grad, &mut columns);

            // Fused.
            let mut scratch = vec![f64::NAN; conv.output_len() * chunk];
            let (mut pooled, mut argmax) = (vec![f64::NAN; pooled_len], vec![0; pooled_len]);
            let outputs = (&mut scratch[..], &mut pooled[..], &mut argmax[..]);
            let bias = Some(&bias[..]);
            conv2d_max_pool_forward(
                &conv,
                pool,
                batch,
                &x,
                &kernel,
                bias,
                activation,
                outputs,
                &mut columns,
            );
            let grad = ConvOutputGrad::MaxPooled {
                window: pool,
                activation,
                pooled: &pooled,
                argmax: &argmax,
                dpooled: &dpooled,
                scratch: &mut scratch,
                len: out_len,
            };
            let got = backward(grad, &mut columns);

            let bits = |v: &[f64]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&pooled), bits(&want_pooled), "{what}: pooled");
            assert!(pooled.iter().any(|&p| p <= 0.0) || activation == Activation::Linear);
            for (o, &p) in pooled.iter().enumerate() {
                // Where relu left only zeros, either place is the maximum.
                if p > 0.0 || activation == Activation::Linear {
                    assert_eq!(argmax[o], want_argmax[o], "{what}: argmax {o}");
                }
            }
            for (name, (got, want)) in ["dx", "dkernel", "dbias"].iter().zip(got.iter().zip(&want))
            {
                assert_eq!(bits(got), bits(want), "{what}: {name}");
            }
        }
    }

    #[test]
    fn conv2d_forward_matches_nested_loops() {
        let mut rng = crate::Rng::seed_from_u64(11);
        for (g, one_sample_chunks) in geometries()
            .into_iter()
            .flat_map(|g| [(g, false), (g, true)])
        {
            let batch = 3;
            let x = random_away_from_zero(batch * g.window.input_len(), &mut rng);
            let kernel = random_away_from_zero(g.kernel_len(), &mut rng);
            let bias = random_away_from_zero(g.filters, &mut rng);
            let mut y = vec![f64::NAN; batch * g.output_len()];
            let columns_len = if one_sample_chunks {
                g.columns_per_sample()
            } else {
                g.columns_len(batch)
            };
            let mut columns = vec![f64::NAN; columns_len];
            conv2d_forward(&g, batch, &x, &kernel, Some(&bias), &mut y, &mut columns);
            assert_close(
                &format!("{g:?}"),
                &y,
                &naive_conv(&g, batch, &x, &kernel, &bias),
            );
            conv2d_forward(&g, batch, &x, &kernel, None, &mut y, &mut columns);
            let no_bias = naive_conv(&g, batch, &x, &kernel, &vec![0.0; g.filters]);
            assert_close(&format!("{g:?} without bias"), &y, &no_bias);
        }
    }

    #[test]
    fn conv2d_backward_matches_finite_differences() {
        let mut rng = crate::Rng::seed_from_u64(12);
        for g in geometries() {
            let batch = 2;
            let x = random_away_from_zero(batch * g.window.input_len(), &mut rng);
            let kernel = random_away_from_zero(g.kernel_len(), &mut rng);
            let bias = random_away_from_zero(g.filters, &mut rng);
            let weights = random_away_from_zero(batch * g.output_len(), &mut rng);
            let mut columns = vec![f64::NAN; g.columns_len(batch)];
            let loss = |x: &[f64], kernel: &[f64], bias: &[f64]| -> f64 {
                let mut y = vec![0.0; batch * g.output_len()];
                let mut columns = vec![0.0; g.columns_len(batch)];
                conv2d_forward(&g, batch, x, kernel, Some(bias), &mut y, &mut columns);
                y.iter().zip(&weights).map(|(y, w)| y * w).sum()
            };
            let mut dx = vec![f64::NAN; x.len()];
            let mut dkernel = vec![f64::NAN; kernel.len()];
            let mut dbias = vec![f64::NAN; g.filters];
            let grads = (
                Some(&mut dx[..]),
                Some(&mut dkernel[..]),
                Some(&mut dbias[..]),
            );
            conv2d_backward(
                &g,
                batch,
                &x,
                &kernel,
                &weights,
                grads.0,
                grads.1,
                grads.2,
                &mut columns,
            );
            let name = format!("{g:?}");
            assert_gradient_matches(&format!("dx {name}"), |x| loss(x, &kernel, &bias), &x, &dx);
            assert_gradient_matches(
                &format!("dkernel {name}"),
                |k| loss(&x, k, &bias),
                &kernel,
                &dkernel,
            );
            assert_gradient_matches(
                &format!("dbias {name}"),
                |b| loss(&x, &kernel, b),
                &bias,
                &dbias,
            );
        }
    }

    #[test]
    fn conv2d_backward_in_chunks_equals_sample_by_sample() {
        let mut rng = crate::Rng::seed_from_u64(13);
        let shallow = Conv2dGeometry::new([9, 8, 1], 3, [3, 3], [2, 1], [1, 1], Padding::Same);
        let deep = Conv2dGeometry::new([9, 8, 3], 3, [3, 3], [2, 1], [1, 1], Padding::Same);
        for g in [shallow, deep] {
            let batch = 5;
            let x = random_away_from_zero(batch * g.window.input_len(), &mut rng);
            let kernel = random_away_from_zero(g.kernel_len(), &mut rng);
            let dy = random_away_from_zero(batch * g.output_len(), &mut rng);
            // Room for two samples' columns: chunks of 2, 2 and 1.
            let mut columns = vec![0.0; 2 * g.columns_per_sample()];
            let (mut dx, mut dkernel) = (vec![0.0; x.len()], vec![0.0; kernel.len()]);
            let grads = (Some(&mut dx[..]), Some(&mut dkernel[..]));
            conv2d_backward(
                &g,
                batch,
                &x,
                &kernel,
                &dy,
                grads.0,
                grads.1,
                None,
                &mut columns,
            );
            let (mut want_dx, mut want_dkernel) = (vec![], vec![0.0; kernel.len()]);
            let (input_len, output_len) = (g.window.input_len(), g.output_len());
            for n in 0..batch {
                let (x, dy) = (
                    &x[n * input_len..][..input_len],
                    &dy[n * output_len..][..output_len],
                );
                let (mut dx, mut dk) = (vec![0.0; input_len], vec![0.0; kernel.len()]);
                conv2d_backward(
                    &g,
                    1,
                    x,
                    &kernel,
                    dy,
                    Some(&mut dx),
                    Some(&mut dk),
                    None,
                    &mut columns,
                );
                want_dx.extend(dx);
                want_dkernel.iter_mut().zip(dk).for_each(|(w, d)| *w += d);
            }
            assert_close("dx", &dx, &want_dx);
            for (got, want) in dkernel.iter().zip(&want_dkernel) {
                assert!(
                    (got - want).abs() <= 1e-10 * (1.0 + want.abs()),
                    "{got} != {want}"
                );
            }
        }
    }

    /// With the activation applied chunk by chunk (chunks of 2, 2 and 1 samples), the
    /// passes compute bit for bit what the convolution and a separate activation pass do.
    #[test]
    fn activated_passes_in_chunks_equal_separate_passes() {
        let mut rng = crate::Rng::seed_from_u64(14);
        let g = Conv2dGeometry::new([9, 8, 3], 4, [3, 3], [2, 1], [1, 1], Padding::Same);
        let batch = 5;
        let x = random_away_from_zero(batch * g.window.input_len(), &mut rng);
        let kernel = random_away_from_zero(g.kernel_len(), &mut rng);
        let bias = random_away_from_zero(g.filters, &mut rng);
        let dy = random_away_from_zero(batch * g.output_len(), &mut rng);
        let mut columns = vec![0.0; 2 * g.columns_per_sample()];
        for activation in [Activation::Relu, Activation::Tanh, Activation::Softmax] {
            let len = dy.len();
            let (mut want_z, mut want_y) = (vec![0.0; len], vec![0.0; len]);
            conv2d_forward(
                &g,
                batch,
                &x,
                &kernel,
                Some(&bias),
                &mut want_z,
                &mut columns,
            );
            activation_forward(activation, &want_z, &mut want_y, g.filters);
            let (mut z, mut y) = (vec![f64::NAN; len], vec![f64::NAN; len]);
            let fused = (activation, &mut z[..], &mut y[..]);
            conv2d_forward_activated(&g, batch, &x, &kernel, Some(&bias), fused, &mut columns);
            assert_eq!((&z, &y), (&want_z, &want_y), "{activation:?} forward");

            let mut want_dz = vec![0.0; len];
            activation_backward(activation, &z, &y, &dy, &mut want_dz, g.filters);
            let mut want = [
                vec![0.0; x.len()],
                vec![0.0; kernel.len()],
                vec![0.0; g.filters],
            ];
            let [dx, dk, db] = &mut want;
            let grads = (Some(&mut dx[..]), Some(&mut dk[..]), Some(&mut db[..]));
            conv2d_backward(
                &g,
                batch,
                &x,
                &kernel,
                &want_dz,
                grads.0,
                grads.1,
                grads.2,
                &mut columns,
            );
            let mut dz = vec![f64::NAN; len];
            let mut got = [
                vec![0.0; x.len()],
                vec![0.0; kernel.len()],
                vec![0.0; g.filters],
            ];
            let [dx, dk, db] = &mut got;
            let output_grad = ConvOutputGrad::Activated {
                activation,
                z: &z,
                y: &y,
                dy: &dy,
                dz: &mut dz,
            };
            let grads = (Some(&mut dx[..]), Some(&mut dk[..]), Some(&mut db[..]));
            conv2d_backward_with(
                &g,
                batch,
                &x,
                &kernel,
                output_grad,
                grads.0,
                grads.1,
                grads.2,
                &mut columns,
            );
            assert_eq!(dz, want_dz, "{activation:?} dz");
            assert_eq!(got, want, "{activation:?} dx, dkernel, dbias");
        }
    }

    #[test]
    fn conv2d_backward_writes_only_the_gradients_asked_for() {
        let g = Conv2dGeometry::new([3, 3, 1], 1, [2, 2], [1, 1], [1, 1], Padding::Valid);
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut columns = vec![0.0; g.columns_len(1)];
        let mut dx = [f32::NAN; 9];
        conv2d_backward(
            &g,
            1,
            &x,
            &[1.0; 4],
            &[1.0; 4],
            Some(&mut dx),
            None,
            None,
            &mut columns,
        );
        assert_eq!(dx, [1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
        let mut dkernel = [f32::NAN; 4];
        conv2d_backward(
            &g,
            0,
            &[],
            &[1.0; 4],
            &[],
            None,
            Some(&mut dkernel),
            None,
            &mut columns,
        );
        assert_eq!(dkernel, [0.0; 4]);
    }

    #[test]
    fn pointwise_convolutions_need_no_columns() {
        let g = Conv2dGeometry::new([5, 4, 3], 4, [1, 1], [1, 1], [1, 1], Padding::Same);
        assert!(g.is_pointwise());
        assert_eq!(g.columns_len(64), 0);
        let strided = Conv2dGeometry::new([5, 4, 3], 4, [1, 1], [2, 2], [1, 1], Padding::Same);
        assert!(!strided.is_pointwise());
    }
}
