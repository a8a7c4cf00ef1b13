//! The micro-kernel: one tile of `c`, its rows × its columns, over one block of depth.

use std::marker::PhantomData;

use super::Element;
use super::simd::Simd;

/// Rows of `op(a)` over a block of depth: value `(i, p)` is
/// `values[start + i·row_stride + p·depth_stride]`.
pub(super) struct Rows<'a, F> {
    pub values: &'a [F],
    pub start: usize,
    pub row_stride: usize,
    pub depth_stride: usize,
    pub rows: usize,
}

/// Columns of `op(b)` over a block of depth, contiguous along a row: value `(p, j)` is
/// `values[start + p·depth_stride + j]`. The kernel reads whole registers, so a row holds
/// `width` readable values even when fewer columns are stored.
pub(super) struct Panel<'a, F> {
    pub values: &'a [F],
    pub start: usize,
    pub depth_stride: usize,
    pub width: usize,
}

/// A `rows × cols` tile of `c`: value `(i, j)` is `values[start + i·row_stride + j]`.
pub(super) struct Block<'a, F> {
    pub values: &'a mut [F],
    pub start: usize,
    pub row_stride: usize,
    pub cols: usize,
    /// Add the product to the tile's values, rather than overwrite them unread.
    pub accumulate: bool,
}

/// Columns of a matrix stored row by row (`op(b)` when `b` is transposed): value `(p, j)`
/// is `values[start + j·stride + p]`, for `p < depth` and `j < cols`.
pub(super) struct Columns<'a, F> {
    pub values: &'a [F],
    pub start: usize,
    pub stride: usize,
    pub depth: usize,
    pub cols: usize,
}

impl<F: Element> Columns<'_, F> {
    /// `panel[p·width + j] = self (p, j)`, zero past `cols`: whole registers of columns
    /// by gathers, the rest one by one. `cpu` proves that `S`'s instructions exist.
    #[inline(always)]
    pub(super) fn gather_into<S: Simd<F = F>>(&self, cpu: S, panel: &mut [F], width: usize) {
        let _ = cpu;
        assert!(self.cols <= width && self.depth * width <= panel.len());
        let fits_i32 = i32::try_from(self.stride * S::LANES).is_ok();
        let gathered = if fits_i32 {
            self.cols / S::LANES * S::LANES
        } else {
            0
        };
        if gathered > 0 {
            let end = self.start + (gathered - 1) * self.stride + self.depth;
            assert!(end <= self.values.len(), "matmul: panel reads past b");
        }
        for j in (0..gathered).step_by(S::LANES) {
            let column = self.values[self.start + j * self.stride..].as_ptr();
            for (p, row) in panel.chunks_exact_mut(width).take(self.depth).enumerate() {
                // SAFETY: the CPU has `S`'s instructions (`cpu` exists). The lanes read
                // `values[start + (j + l)·stride + p]` for `l < LANES`, whose largest index
                // is below `end`, checked above; `stride·LANES` fits an i32. The lanes
                // written, `row[j..j + LANES]`, are inside the row: `j + LANES <= gathered
                // <= cols <= width`.
                unsafe { S::store(row[j..].as_mut_ptr(), S::gather(column.add(p), self.stride)) }
            }
        }
        for j in gathered..width {
            for (p, row) in panel.chunks_exact_mut(width).take(self.depth).enumerate() {
                row[j] = if j < self.cols {
                    self.values[self.start + j * self.stride + p]
                } else {
                    F::zero()
                };
            }
        }
    }
}

/// `c (+)= a · b` over `depth`, with every address the kernel touches checked once, here.
pub(super) struct Tile<'a, F> {
    a: *const F,
    a_row_stride: usize,
    a_depth_stride: usize,
    rows: usize,
    b: *const F,
    b_depth_stride: usize,
    b_width: usize,
    c: *mut F,
    c_row_stride: usize,
    cols: usize,
    depth: usize,
    accumulate: bool,
    borrows: PhantomData<(&'a [F], &'a mut [F])>,
}

impl<'a, F: Element> Tile<'a, F> {
    /// # Panics
    ///
    /// If a value the kernel would read or write lies outside its slice, or if the tile,
    /// the depth or the panel is empty.
    pub(super) fn new(a: Rows<'a, F>, b: Panel<'a, F>, c: Block<'a, F>, depth: usize) -> Self {
        assert!(a.rows > 0 && c.cols > 0 && depth > 0 && b.width >= c.cols);
        let last_a = a.start + (a.rows - 1) * a.row_stride + (depth - 1) * a.depth_stride;
        let end_b = b.start + (depth - 1) * b.depth_stride + b.width;
        let end_c = c.start + (a.rows - 1) * c.row_stride + c.cols;
        assert!(last_a < a.values.len(), "matmul: tile reads past a");
        assert!(end_b <= b.values.len(), "matmul: tile reads past b");
        assert!(end_c <= c.values.len(), "matmul: tile writes past c");
        Tile {
            a: a.values[a.start..].as_ptr(),
            a_row_stride: a.row_stride,
            a_depth_stride: a.depth_stride,
            rows: a.rows,
            b: b.values[b.start..].as_ptr(),
            b_depth_stride: b.depth_stride,
            b_width: b.width,
            c: c.values[c.start..].as_mut_ptr(),
            c_row_stride: c.row_stride,
            cols: c.cols,
            depth,
            accumulate: c.accumulate,
            borrows: PhantomData,
        }
    }

    /// Runs the tile with `R` rows of `NV` registers of accumulators.
    ///
    /// # Safety
    ///
    /// The CPU has the instructions `S` uses.
    ///
    /// # Panics
    ///
    /// Unless the tile's columns need exactly `NV` registers, which the panel holds.
    #[inline(always)]
    pub(super) unsafe fn run<S: Simd<F = F>, const R: usize, const NV: usize>(&mut self) {
        debug_assert!(R == S::ROWS && self.rows <= R);
        assert!(
            NV * S::LANES <= self.b_width,
            "matmul: tile reads past its panel"
        );
        assert!(
            (NV - 1) * S::LANES < self.cols && self.cols <= NV * S::LANES,
            "matmul: {} columns in {NV} registers",
            self.cols
        );
        // SAFETY: the caller's guarantee, with `Tile::new`'s bounds and the asserts above.
        let sums = unsafe { self.sums::<S, R, NV>() };
        // SAFETY: as above.
        unsafe { self.write::<S, R, NV>(&sums) }
    }

    /// The tile's product: `R` rows of `NV` registers. Safety: as for `run`, whose
    /// asserts hold.
    #[inline(always)]
    unsafe fn sums<S: Simd<F = F>, const R: usize, const NV: usize>(&self) -> [[S::V; NV]; R] {
        // Rows past `rows` repeat the last row: the loop stays the same for every tile
        // and reads nothing past `a`. They are not written back.
        let a_offsets: [usize; R] =
            std::array::from_fn(|i| i.min(self.rows - 1) * self.a_row_stride);
        // SAFETY (every block in this function): the CPU has `S`'s instructions (the
        // caller's guarantee). For `p < depth`, `a + a_offsets[i] + p·a_depth_stride` and
        // the `NV·LANES <= width` values from `b + p·b_depth_stride` are inside the
        // slices, as `Tile::new` checked. The running pointers step with `wrapping_add`
        // because after the last step they may point past their slice, unread.
        let mut sums = [[unsafe { S::zero() }; NV]; R];
        let (mut a, mut b) = (self.a, self.b);
        for _ in 0..self.depth {
            let mut b_row = [unsafe { S::zero() }; NV];
            for (v, b_v) in b_row.iter_mut().enumerate() {
                *b_v = unsafe { S::load(b.add(v * S::LANES)) };
            }
            for (sums, &offset) in sums.iter_mut().zip(&a_offsets) {
                let a_ip = unsafe { S::splat(a.add(offset)) };
                for (sum, &b_v) in sums.iter_mut().zip(&b_row) {
                    *sum = unsafe { S::mul_add(a_ip, b_v, *sum) };
                }
            }
            a = a.wrapping_add(self.a_depth_stride);
            b = b.wrapping_add(self.b_depth_stride);
        }
        sums
    }

    /// Stores (or adds) the first `rows` rows and `cols` columns of `sums` into `c`.
    /// Safety: as for `run`, whose asserts hold.
    #[inline(always)]
    unsafe fn write<S: Simd<F = F>, const R: usize, const NV: usize>(
        &mut self,
        sums: &[[S::V; NV]; R],
    ) {
        for (i, sums) in sums.iter().enumerate().take(self.rows) {
            for (v, &sum) in sums.iter().enumerate() {
                let lanes = (self.cols - v * S::LANES).min(S::LANES);
                // SAFETY: `i < rows` and `v·LANES + lanes <= cols`, so the values written
                // (and read when accumulating) are inside `c`, as `Tile::new` checked;
                // the CPU has `S`'s instructions (the caller's guarantee).
                unsafe {
                    let c = self.c.add(i * self.c_row_stride + v * S::LANES);
                    if lanes == S::LANES {
                        let sum = if self.accumulate {
                            S::add(S::load(c), sum)
                        } else {
                            sum
                        };
                        S::store(c, sum);
                    } else {
                        let sum = if self.accumulate {
                            S::add(S::load_first(c, lanes), sum)
                        } else {
                            sum
                        };
                        S::store_first(c, sum, lanes);
                    }
                }
            }
        }
    }
}
