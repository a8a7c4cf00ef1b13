//! The matrix product, the hot path of every dense and convolutional layer.
//!
//! The classic blocked product (Goto, BLIS): `c` is cut into tiles of a few rows by a few
//! SIMD registers of columns, each computed by a register-blocked micro-kernel over a
//! block of the depth. `op(a)` is read in place, transposed or not, through strides;
//! `op(b)` is copied into contiguous panels when it is transposed, when many rows reuse
//! it, or where its last panel is ragged (see `Plan`). The copies go to a per-thread
//! buffer that only grows, so once a thread has seen a size the product allocates
//! nothing. The kernels for AVX-512, AVX2+FMA or plain Rust are chosen at run time. A
//! single row times a matrix (batch-1 inference) has its own loop. Inside
//! [`split::with_split_products`], a large product splits its rows (a deep product of few
//! rows, its depth) across the threads of the rayon pool it runs in.

mod row;
mod simd;
pub mod split;
mod tile;

use std::any::TypeId;
use std::cell::RefCell;
use std::ops::Range;
use std::sync::OnceLock;

use crate::{AlignedVec, Float};
use row::row_times_matrix;
#[cfg(target_arch = "x86_64")]
use simd::{Avx2, Avx512};
use simd::{Portable, Simd};
use split::join_owned;
use tile::{Block, Columns, Panel, Rows, Tile};

/// `c (m×n) = op(a) · op(b)`, plus the old `c` when `accumulate`.
///
/// All matrices are row-major slices. `a` is `m×k` (stored `k×m` when `a_t`, and then
/// read transposed); `b` is `k×n` (stored `n×k` when `b_t`). When `accumulate` is false
/// `c` is overwritten and its old values are never read (they may be NaN).
///
/// Runs on the calling thread, unless called inside [`split::with_split_products`] in a
/// rayon pool.
///
/// # Panics
///
/// If a slice's length is not the product of its dimensions, or if `F` is neither `f32`
/// nor `f64`.
///
/// ```
/// use strata_runtime::kernels::matmul;
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let b = [1.0, 0.0, 1.0, 1.0]; // [[1, 0], [1, 1]]
/// let mut c = [0.0; 4];
/// matmul(2, 2, 2, &a, false, &b, false, &mut c, false);
/// assert_eq!(c, [3.0, 2.0, 7.0, 4.0]);
/// matmul(2, 2, 2, &a, true, &b, false, &mut c, true); // c += aᵀ·b
/// assert_eq!(c, [7.0, 5.0, 13.0, 8.0]);
/// ```
#[allow(clippy::too_many_arguments)] // the BLAS shape: sizes, operands, flags
pub fn matmul<F: Float>(
    m: usize,
    k: usize,
    n: usize,
    a: &[F],
    a_t: bool,
    b: &[F],
    b_t: bool,
    c: &mut [F],
    accumulate: bool,
) {
    let (a, b) = (Operand { values: a, t: a_t }, Operand { values: b, t: b_t });
    matmul_on(Isa::best(), [m, k, n], a, b, c, accumulate);
}

/// An instruction set the product can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Portable,
}

impl Isa {
    /// The fastest instruction set this CPU has, detected once.
    fn best() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                if Avx512::<f32>::detect().is_some() {
                    return Isa::Avx512;
                }
                if Avx2::<f32>::detect().is_some() {
                    return Isa::Avx2;
                }
            }
            Isa::Portable
        })
    }
}

/// A matrix operand: its row-major values, and whether they are read transposed.
#[derive(Clone, Copy)]
struct Operand<'a, F> {
    values: &'a [F],
    t: bool,
}

/// [`matmul`] on a given instruction set; `[m, k, n]` are the sizes.
fn matmul_on<F: Float>(
    isa: Isa,
    [m, k, n]: [usize; 3],
    a: Operand<F>,
    b: Operand<F>,
    c: &mut [F],
    accumulate: bool,
) {
    let (a_len, b_len, c_len) = (a.values.len(), b.values.len(), c.len());
    assert_eq!(
        a_len,
        m * k,
        "matmul: a has {a_len} values, not m·k = {m}·{k}"
    );
    assert_eq!(
        b_len,
        k * n,
        "matmul: b has {b_len} values, not k·n = {k}·{n}"
    );
    assert_eq!(
        c_len,
        m * n,
        "matmul: c has {c_len} values, not m·n = {m}·{n}"
    );
    let sizes = Sizes { m, k, n };
    if TypeId::of::<F>() == TypeId::of::<f32>() {
        let (a, b) = (a.into_type::<f32>(), b.into_type::<f32>());
        product_on(isa, &Product { sizes, a, b }, as_type_mut(c), accumulate);
    } else if TypeId::of::<F>() == TypeId::of::<f64>() {
        let (a, b) = (a.into_type::<f64>(), b.into_type::<f64>());
        product_on(isa, &Product { sizes, a, b }, as_type_mut(c), accumulate);
    } else {
        panic!("matmul: only f32 and f64 are supported");
    }
}

#[derive(Clone, Copy)]
struct Sizes {
    m: usize,
    k: usize,
    n: usize,
}

/// The operands of `c = op(a) · op(b)`, checked to have the lengths of their sizes.
struct Product<'a, F> {
    sizes: Sizes,
    a: Operand<'a, F>,
    b: Operand<'a, F>,
}

impl<'a, F: 'static> Operand<'a, F> {
    fn into_type<T: 'static>(self) -> Operand<'a, T> {
        assert_eq!(TypeId::of::<F>(), TypeId::of::<T>());
        // SAFETY: `F` is `T` (asserted), so this is the same slice under its own type.
        let values =
            unsafe { std::slice::from_raw_parts(self.values.as_ptr().cast(), self.values.len()) };
        Operand { values, t: self.t }
    }
}

/// `values` under the type it has, `T`.
fn as_type_mut<F: 'static, T: 'static>(values: &mut [F]) -> &mut [T] {
    assert_eq!(TypeId::of::<F>(), TypeId::of::<T>());
    // SAFETY: `F` is `T` (asserted), so this is the same slice under its own type.
    unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast(), values.len()) }
}

/// The float types the kernels exist for.
trait Element: Float {
    #[cfg(target_arch = "x86_64")]
    type Avx512: Simd<F = Self>;
    #[cfg(target_arch = "x86_64")]
    type Avx2: Simd<F = Self>;

    /// Calls `f` with this thread's buffer for packed panels of `op(b)`.
    fn with_packing_buffer<R>(f: impl FnOnce(&mut AlignedVec<Self>) -> R) -> R;

    /// Calls `f` with this thread's buffer for a product over the second half of the depth
    /// (see `split_depth`).
    fn with_depth_buffer<R>(f: impl FnOnce(&mut AlignedVec<Self>) -> R) -> R;
}

macro_rules! element {
    ($f:ty) => {
        impl Element for $f {
            #[cfg(target_arch = "x86_64")]
            type Avx512 = Avx512<$f>;
            #[cfg(target_arch = "x86_64")]
            type Avx2 = Avx2<$f>;

            fn with_packing_buffer<R>(f: impl FnOnce(&mut AlignedVec<Self>) -> R) -> R {
                thread_local! {
                    static BUFFER: RefCell<AlignedVec<$f>> = const { RefCell::new(AlignedVec::new()) };
                }
                BUFFER.with_borrow_mut(f)
            }

            fn with_depth_buffer<R>(f: impl FnOnce(&mut AlignedVec<Self>) -> R) -> R {
                thread_local! {
                    static BUFFER: RefCell<AlignedVec<$f>> = const { RefCell::new(AlignedVec::new()) };
                }
                BUFFER.with_borrow_mut(f)
            }
        }
    };
}
element!(f32);
element!(f64);

fn product_on<F: Element>(isa: Isa, x: &Product<F>, c: &mut [F], accumulate: bool) {
    let Sizes { m, k, n } = x.sizes;
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(F::zero());
        }
        return;
    }
    // With one row, a and aᵀ are the same slice.
    if m == 1
        && !x.b.t
        && isa != Isa::Portable
        && row_times_matrix(x.a.values, x.b.values, c, accumulate)
    {
        return;
    }
    let parts = split::parts_here();
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => split_product::<F::Avx512>(x, c, accumulate, parts),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => split_product::<F::Avx2>(x, c, accumulate, parts),
        Isa::Portable => split_product::<Portable<F>>(x, c, accumulate, parts),
    }
}

/// Below this many multiply-adds a product is not split across threads: the fork costs
/// more than the share it saves.
const MIN_SPLIT_MULTIPLY_ADDS: usize = 1 << 19;

/// `c (+)= op(a) · op(b)` on up to `parts` threads: a deep product of few rows as the sum
/// of its depth's halves, any other by its rows.
fn split_product<S: Simd>(x: &Product<S::F>, c: &mut [S::F], accumulate: bool, parts: usize) {
    let Sizes { m, k, .. } = x.sizes;
    match depth_split::<S>(x) {
        Some(mid) => split_depth::<S>(x, mid, c, accumulate, parts),
        None => split_rows::<S>(x, 0..m, 0..k, c, accumulate, parts),
    }
}

/// `c (+)= op(a)[rows, depths] · op(b)[depths, ..]` (`c` holds just those rows) on `parts`
/// threads: the rows are halved, recursively, at multiples of the tile's height, each half
/// on a thread of the rayon pool. Every value of `c` is computed as in the whole product,
/// bit for bit.
fn split_rows<S: Simd>(
    x: &Product<S::F>,
    rows: Range<usize>,
    depths: Range<usize>,
    c: &mut [S::F],
    accumulate: bool,
    parts: usize,
) {
    let n = x.sizes.n;
    let len = rows.len();
    if parts <= 1 || len < 2 * S::ROWS || len * depths.len() * n < MIN_SPLIT_MULTIPLY_ADDS {
        product::<S>(x, rows, depths, c, accumulate);
        return;
    }
    let mid = (len / 2).next_multiple_of(S::ROWS);
    let (top, bottom) = c.split_at_mut(mid * n);
    let (low, high) = (rows.start..rows.start + mid, rows.start + mid..rows.end);
    let high_parts = parts / 2;
    join_owned(
        || split_rows::<S>(x, low, depths.clone(), top, accumulate, parts - high_parts),
        || split_rows::<S>(x, high, depths.clone(), bottom, accumulate, high_parts),
    );
}

/// Where a deep product of few rows cuts its depth (at a multiple of the tile's height, as
/// [`split_rows`] cuts the rows of the product that computes `b`'s gradient), if it does.
///
/// Split by its rows, such a product (the first Dense layer's forward pass at batch 64:
/// 64×784 times 784×128) has each thread read all of `b`, the weights, half of which the
/// other thread's share of the optimizer's update has just written; reading values
/// another core wrote costs about ten times what reading its own does (`cargo bench
/// --bench cores`). Split by its depth, each thread reads only the half of `b` that it
/// updates itself, and only the partial products, a fraction of `b`'s size, cross
/// between the cores. The cut depends on the sizes alone, never on the threads, so that a
/// product computes the same bits on any number of threads.
fn depth_split<S: Simd>(x: &Product<S::F>) -> Option<usize> {
    let Sizes { m, k, n } = x.sizes;
    let deep = !x.b.t && k >= 4 * m && m * k * n >= MIN_SPLIT_MULTIPLY_ADDS;
    deep.then(|| (k / 2).next_multiple_of(S::ROWS))
        .filter(|&mid| mid < k)
}

/// `c (+)= op(a) · op(b)` as the sum of its products over the depth's halves `0..mid` and
/// `mid..k`: `c (+)= low`, then `c += high`, the halves on two threads when `parts`
/// allows.
fn split_depth<S: Simd>(
    x: &Product<S::F>,
    mid: usize,
    c: &mut [S::F],
    accumulate: bool,
    parts: usize,
) {
    let Sizes { m, k, n } = x.sizes;
    // Taken out of its cell while the halves run: a thread waiting in the fork may run
    // another product, which then finds the cell empty instead of borrowed.
    let mut buffer = S::F::with_depth_buffer(std::mem::take);
    if buffer.len() < m * n {
        buffer.resize(m * n, num_traits::zero());
    }
    let high = &mut buffer[..m * n];
    let high_parts = parts / 2;
    let mut low_half = || split_rows::<S>(x, 0..m, 0..mid, c, accumulate, parts - high_parts);
    let mut high_half = || split_rows::<S>(x, 0..m, mid..k, high, false, high_parts);
    if parts > 1 {
        join_owned(low_half, high_half);
    } else {
        low_half();
        high_half();
    }
    super::accumulate(c, high);
    S::F::with_depth_buffer(|cell| *cell = buffer);
}

/// How a product walks through `op(b)`, chosen by its sizes.
///
/// Packing `op(b)` costs one copy per value of `b`, paid back only when many rows of `a`
/// reuse it. With few rows, full panels are read where they lie (row-major `b` already
/// has contiguous rows), each tile of rows of `a` stays in the L1 cache while every
/// panel streams past it, and the depth is not cut. With many rows, or when `b` is
/// transposed, every panel is packed, and a packed panel short enough to stay in the L1
/// cache meets every tile of rows of `a` in turn.
#[derive(Clone, Copy)]
struct Plan {
    pack_every_panel: bool,
    depth_block: usize,
    column_block: usize,
}

/// Rows of `a` from which packing all of a large `b` pays (measured on AVX-512).
const ROWS_TO_PACK: usize = 256;
/// A row-major `b` smaller than this stays in the L1 cache when read in place.
const SMALL_B_BYTES: usize = 32 << 10;

impl Plan {
    fn for_product<S: Simd>(x: &Product<S::F>) -> Plan {
        let Sizes { m, k, n } = x.sizes;
        let value = size_of::<S::F>();
        let pack_every_panel = x.b.t || (m >= ROWS_TO_PACK && k * n * value > SMALL_B_BYTES);
        let panel_width = S::VECTORS * S::LANES;
        Plan {
            pack_every_panel,
            // A packed panel of 512-byte rows × 3 registers is 24 KB in f32 on AVX-512.
            depth_block: if pack_every_panel { 512 } else { 4096 } / value,
            // A block of packed panels stays in the L2 cache.
            column_block: panel_width * (256 / panel_width).max(1),
        }
    }

    /// Whether the panel of `op(b)` with `cols` columns is read where it lies.
    fn reads_in_place<S: Simd>(self, cols: usize) -> bool {
        !self.pack_every_panel && cols.is_multiple_of(S::LANES)
    }
}

/// A block of `op(b)`: rows `p0..p0 + depth`, columns `j0..j0 + cols`.
#[derive(Clone, Copy)]
struct BlockOfB {
    p0: usize,
    depth: usize,
    j0: usize,
    cols: usize,
}

/// `c (+)= op(a)[rows, depths] · op(b)[depths, ..]` on the instruction set `S`, block by
/// block, where `c` holds just those rows.
fn product<S: Simd>(
    x: &Product<S::F>,
    rows: Range<usize>,
    depths: Range<usize>,
    c: &mut [S::F],
    accumulate: bool,
) {
    let simd = S::detect().expect("matmul: this CPU lacks the instruction set asked for");
    let n = x.sizes.n;
    // Planned for all the rows, so that a share of the rows computes what the whole does.
    let plan = Plan::for_product::<S>(x);
    S::F::with_packing_buffer(|buffer| {
        for j0 in (0..n).step_by(plan.column_block) {
            for p0 in depths.clone().step_by(plan.depth_block) {
                let depth = plan.depth_block.min(depths.end - p0);
                let cols = plan.column_block.min(n - j0);
                let block = BlockOfB {
                    p0,
                    depth,
                    j0,
                    cols,
                };
                pack(simd, x, plan, block, buffer);
                let accumulate = accumulate || p0 > depths.start;
                multiply_block(simd, x, plan, block, buffer, (rows.clone(), c), accumulate);
            }
        }
    });
}

/// Copies the panels of `block` that are not read in place into `buffer`, the panel at
/// column `j0 + j` from `j·depth` on, `depth` rows of its width rounded up to whole
/// registers, zero-padded.
fn pack<S: Simd>(
    simd: S,
    x: &Product<S::F>,
    plan: Plan,
    block: BlockOfB,
    buffer: &mut AlignedVec<S::F>,
) {
    let panel_width = S::VECTORS * S::LANES;
    let needed = block.depth * block.cols.next_multiple_of(S::LANES);
    if buffer.len() < needed {
        buffer.resize(needed, num_traits::zero());
    }
    for j in (0..block.cols).step_by(panel_width) {
        let cols = panel_width.min(block.cols - j);
        if plan.reads_in_place::<S>(cols) {
            continue;
        }
        let width = cols.next_multiple_of(S::LANES);
        let panel = &mut buffer[j * block.depth..][..block.depth * width];
        let columns = BlockOfB {
            j0: block.j0 + j,
            cols,
            ..block
        };
        if x.b.t {
            pack_transposed(simd, x, columns, panel, width);
        } else {
            pack_rows(x, columns, panel, width);
        }
    }
}

/// `panel[p·width + j] = bᵀ[p0 + p, j0 + j] = b[j0 + j, p0 + p]`, zero past `cols`.
fn pack_transposed<S: Simd>(
    simd: S,
    x: &Product<S::F>,
    block: BlockOfB,
    panel: &mut [S::F],
    width: usize,
) {
    let k = x.sizes.k;
    let columns = Columns {
        values: x.b.values,
        start: block.j0 * k + block.p0,
        stride: k,
        depth: block.depth,
        cols: block.cols,
    };
    simd.gather_panel(columns, panel, width);
}

/// `panel[p·width + j] = b[p0 + p, j0 + j]`, zero past `cols`.
fn pack_rows<F: Float>(x: &Product<F>, block: BlockOfB, panel: &mut [F], width: usize) {
    let n = x.sizes.n;
    for (p, row) in panel.chunks_exact_mut(width).enumerate() {
        let (values, padding) = row.split_at_mut(block.cols);
        values.copy_from_slice(&x.b.values[(block.p0 + p) * n + block.j0..][..block.cols]);
        padding.fill(F::zero());
    }
}

/// `c[.., block's columns] (+)= op(a)[.., block's depth] · block`, tile by tile.
fn multiply_block<S: Simd>(
    simd: S,
    x: &Product<S::F>,
    plan: Plan,
    block: BlockOfB,
    packed: &[S::F],
    (rows, c): (Range<usize>, &mut [S::F]),
    accumulate: bool,
) {
    let Sizes { m, k, n } = x.sizes;
    let panel_width = S::VECTORS * S::LANES;
    let (a_row_stride, a_depth_stride) = if x.a.t { (1, m) } else { (k, 1) };
    let mut tile_at = |i0: usize, j: usize| {
        let cols = panel_width.min(block.cols - j);
        let a = Rows {
            values: x.a.values,
            start: i0 * a_row_stride + block.p0 * a_depth_stride,
            row_stride: a_row_stride,
            depth_stride: a_depth_stride,
            rows: S::ROWS.min(rows.end - i0),
        };
        let b = panel::<S>(x, plan, block, j, cols, packed);
        let c = Block {
            values: &mut *c,
            start: (i0 - rows.start) * n + block.j0 + j,
            row_stride: n,
            cols,
            accumulate,
        };
        let mut tile = Tile::new(a, b, c, block.depth);
        match cols.div_ceil(S::LANES) {
            1 => simd.tile::<1>(&mut tile),
            2 => simd.tile::<2>(&mut tile),
            3 => simd.tile::<3>(&mut tile),
            _ => unreachable!("a panel has at most three registers per row"),
        }
    };
    let row_tiles = rows.clone().step_by(S::ROWS);
    let panels = (0..block.cols).step_by(panel_width);
    if plan.pack_every_panel {
        for j in panels {
            row_tiles.clone().for_each(|i0| tile_at(i0, j));
        }
    } else {
        for i0 in row_tiles {
            panels.clone().for_each(|j| tile_at(i0, j));
        }
    }
}

/// The panel of `block` at its columns `j..j + cols`, in place or packed.
fn panel<'a, S: Simd>(
    x: &Product<'a, S::F>,
    plan: Plan,
    block: BlockOfB,
    j: usize,
    cols: usize,
    packed: &'a [S::F],
) -> Panel<'a, S::F> {
    let width = cols.next_multiple_of(S::LANES);
    if plan.reads_in_place::<S>(cols) {
        let n = x.sizes.n;
        Panel {
            values: x.b.values,
            start: block.p0 * n + block.j0 + j,
            depth_stride: n,
            width,
        }
    } else {
        Panel {
            values: packed,
            start: j * block.depth,
            depth_stride: width,
            width,
        }
    }
}

#[cfg(test)]
mod tests;
