//! The vectors the micro-kernel computes with: AVX-512, AVX2+FMA, or portable arrays.
//!
//! A value of an instruction set's type exists only on a CPU that has its instructions
//! (`Simd::detect` is the only constructor), so holding one is the proof that its kernels
//! may run.

use std::marker::PhantomData;

use super::Element;
use super::tile::{Columns, Tile};

/// The operations of one SIMD register of `F`s, and the shape of the micro-kernel tile
/// built from them.
///
/// # Safety
///
/// A value of an implementing type may exist only while the CPU supports every
/// instruction its methods use: `tile` relies on it.
pub(super) unsafe trait Simd: Copy {
    type F: Element;
    type V: Copy;
    /// `F`s per register.
    const LANES: usize;
    /// Rows of `c` in a micro-kernel tile.
    const ROWS: usize;
    /// Registers per tile row, at most: a tile is `ROWS × VECTORS·LANES`.
    const VECTORS: usize;

    /// A value, if this CPU has the instructions.
    fn detect() -> Option<Self>;

    /// `t.c (+)= t.a · t.b` with `NV` registers per row (`1 ≤ NV ≤ VECTORS`).
    fn tile<const NV: usize>(self, t: &mut Tile<'_, Self::F>);

    /// `panel[p·width + j] = column j's value p` for `p < depth`, `j < width`, where
    /// column `j` starts at `columns.start + j·stride` in `columns.values` (the
    /// transposed panel of a matrix), and zero for `j ≥ cols`.
    fn gather_panel(self, columns: Columns<'_, Self::F>, panel: &mut [Self::F], width: usize);

    // Every method below is unsafe for two reasons: the CPU must have the implementor's
    // instructions (they are only called from `tile`), and pointers must be valid for
    // the lanes they read or write.
    unsafe fn zero() -> Self::V;
    /// `LANES` values from `p`.
    unsafe fn load(p: *const Self::F) -> Self::V;
    /// `*p` in every lane.
    unsafe fn splat(p: *const Self::F) -> Self::V;
    /// `*p`, `*(p + stride)`, … in the lanes; `stride·(LANES - 1)` fits an `i32`.
    unsafe fn gather(p: *const Self::F, stride: usize) -> Self::V;
    /// `x · y + z`.
    unsafe fn mul_add(x: Self::V, y: Self::V, z: Self::V) -> Self::V;
    unsafe fn add(x: Self::V, y: Self::V) -> Self::V;
    unsafe fn store(p: *mut Self::F, x: Self::V);
    /// The first `lanes` values from `p` (`lanes < LANES`), zeros after; reads nothing
    /// past them.
    unsafe fn load_first(p: *const Self::F, lanes: usize) -> Self::V;
    /// Writes the first `lanes` lanes of `x` to `p` (`lanes < LANES`), nothing past them.
    unsafe fn store_first(p: *mut Self::F, x: Self::V, lanes: usize);
}

/// Plain arrays of four lanes, which the compiler maps onto any CPU's vectors.
#[derive(Clone, Copy)]
pub(super) struct Portable<F>(PhantomData<F>);

// SAFETY: the methods use no instructions beyond the target's baseline.
unsafe impl<F: Element> Simd for Portable<F> {
    type F = F;
    type V = [F; 4];
    const LANES: usize = 4;
    const ROWS: usize = 4;
    const VECTORS: usize = 2;

    fn detect() -> Option<Self> {
        Some(Self(PhantomData))
    }

    #[inline(never)]
    fn tile<const NV: usize>(self, t: &mut Tile<'_, F>) {
        // SAFETY: these operations need no CPU feature; `Tile` guarantees its bounds.
        unsafe { t.run::<Self, 4, NV>() }
    }

    fn gather_panel(self, columns: Columns<'_, F>, panel: &mut [F], width: usize) {
        columns.gather_into(self, panel, width);
    }

    #[inline(always)]
    unsafe fn gather(p: *const F, stride: usize) -> [F; 4] {
        // SAFETY: the caller passes a pointer valid at these four strides.
        std::array::from_fn(|l| unsafe { *p.add(l * stride) })
    }
    #[inline(always)]
    unsafe fn zero() -> [F; 4] {
        [F::zero(); 4]
    }
    #[inline(always)]
    unsafe fn load(p: *const F) -> [F; 4] {
        // SAFETY: the caller passes a pointer valid for four values.
        unsafe { p.cast::<[F; 4]>().read_unaligned() }
    }
    #[inline(always)]
    unsafe fn splat(p: *const F) -> [F; 4] {
        // SAFETY: the caller passes a valid pointer.
        [unsafe { *p }; 4]
    }
    #[inline(always)]
    unsafe fn mul_add(x: [F; 4], y: [F; 4], z: [F; 4]) -> [F; 4] {
        std::array::from_fn(|l| x[l].mul_add(y[l], z[l]))
    }
    #[inline(always)]
    unsafe fn add(x: [F; 4], y: [F; 4]) -> [F; 4] {
        std::array::from_fn(|l| x[l] + y[l])
    }
    #[inline(always)]
    unsafe fn store(p: *mut F, x: [F; 4]) {
        // SAFETY: the caller passes a pointer valid for four values.
        unsafe { p.cast::<[F; 4]>().write_unaligned(x) }
    }
    #[inline(always)]
    unsafe fn load_first(p: *const F, lanes: usize) -> [F; 4] {
        // SAFETY: the caller passes a pointer valid for `lanes` values.
        std::array::from_fn(|l| {
            if l < lanes {
                unsafe { *p.add(l) }
            } else {
                F::zero()
            }
        })
    }
    #[inline(always)]
    unsafe fn store_first(p: *mut F, x: [F; 4], lanes: usize) {
        for (l, &x) in x.iter().enumerate().take(lanes) {
            // SAFETY: the caller passes a pointer valid for `lanes` values.
            unsafe { *p.add(l) = x }
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::marker::PhantomData;

    use super::{Columns, Simd, Tile};

    /// AVX-512F: 32 registers of 512 bits, so 8 rows × 3 registers of accumulators.
    #[derive(Clone, Copy)]
    pub(in super::super) struct Avx512<F>(PhantomData<F>);

    impl<F> Avx512<F> {
        fn on_this_cpu() -> Option<Self> {
            is_x86_feature_detected!("avx512f").then_some(Self(PhantomData))
        }
    }

    /// AVX2 with FMA: 16 registers of 256 bits, so 6 rows × 2 registers of accumulators.
    #[derive(Clone, Copy)]
    pub(in super::super) struct Avx2<F>(PhantomData<F>);

    impl<F> Avx2<F> {
        fn on_this_cpu() -> Option<Self> {
            (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
                .then_some(Self(PhantomData))
        }
    }

    #[inline(never)]
    #[target_feature(enable = "avx512f")]
    fn tile_avx512<S: Simd, const NV: usize>(t: &mut Tile<'_, S::F>) {
        // SAFETY: this function is compiled for AVX-512F, which `S`'s operations use;
        // `Tile` guarantees its bounds.
        unsafe { t.run::<S, 8, NV>() }
    }

    #[target_feature(enable = "avx512f")]
    fn gather_avx512<S: Simd>(
        cpu: S,
        columns: Columns<'_, S::F>,
        panel: &mut [S::F],
        width: usize,
    ) {
        columns.gather_into(cpu, panel, width);
    }

    #[target_feature(enable = "avx2,fma")]
    fn gather_avx2<S: Simd>(cpu: S, columns: Columns<'_, S::F>, panel: &mut [S::F], width: usize) {
        columns.gather_into(cpu, panel, width);
    }

    #[inline(never)]
    #[target_feature(enable = "avx2,fma")]
    fn tile_avx2<S: Simd, const NV: usize>(t: &mut Tile<'_, S::F>) {
        // SAFETY: this function is compiled for AVX2 and FMA, which `S`'s operations use;
        // `Tile` guarantees its bounds.
        unsafe { t.run::<S, 6, NV>() }
    }

    /// Implements `Simd` for an instruction set and a float type: `$lanes` lanes in a
    /// `$v`, and the intrinsics (by their suffix `$s`) that act on it.
    macro_rules! simd {
        ($isa:ident, $tile:ident, $gather_panel:ident, $f:ty, $v:ty, $lanes:literal,
         $rows:literal, $vectors:literal, $zero:ident, $load:ident, $set1:ident,
         $gather:expr, $fma:ident, $add:ident, $store:ident, $load_first:expr,
         $store_first:expr) => {
            // SAFETY: `on_this_cpu` is the only constructor, and it checks for the
            // instructions that these methods use (the `$tile` wrapper enables them).
            unsafe impl Simd for $isa<$f> {
                type F = $f;
                type V = $v;
                const LANES: usize = $lanes;
                const ROWS: usize = $rows;
                const VECTORS: usize = $vectors;

                fn detect() -> Option<Self> {
                    Self::on_this_cpu()
                }

                fn tile<const NV: usize>(self, t: &mut Tile<'_, $f>) {
                    // SAFETY: `self` exists, so the CPU has the instructions `$tile` is
                    // compiled for.
                    unsafe { $tile::<Self, NV>(t) }
                }

                fn gather_panel(self, columns: Columns<'_, $f>, panel: &mut [$f], width: usize) {
                    // SAFETY: `self` exists, so the CPU has the instructions
                    // `$gather_panel` is compiled for.
                    unsafe { $gather_panel(self, columns, panel, width) }
                }

                #[inline(always)]
                unsafe fn gather(p: *const $f, stride: usize) -> $v {
                    // SAFETY: the caller passes a pointer valid at `LANES` strides, and a
                    // stride whose multiples fit an i32.
                    unsafe { $gather(p, stride as i32) }
                }
                #[inline(always)]
                unsafe fn zero() -> $v {
                    // SAFETY: the caller runs on a CPU with this instruction set.
                    unsafe { $zero() }
                }
                #[inline(always)]
                unsafe fn load(p: *const $f) -> $v {
                    // SAFETY: the caller passes a pointer valid for `LANES` values.
                    unsafe { $load(p) }
                }
                #[inline(always)]
                unsafe fn splat(p: *const $f) -> $v {
                    // SAFETY: the caller passes a valid pointer.
                    unsafe { $set1(*p) }
                }
                #[inline(always)]
                unsafe fn mul_add(x: $v, y: $v, z: $v) -> $v {
                    // SAFETY: the caller runs on a CPU with this instruction set.
                    unsafe { $fma(x, y, z) }
                }
                #[inline(always)]
                unsafe fn add(x: $v, y: $v) -> $v {
                    // SAFETY: the caller runs on a CPU with this instruction set.
                    unsafe { $add(x, y) }
                }
                #[inline(always)]
                unsafe fn store(p: *mut $f, x: $v) {
                    // SAFETY: the caller passes a pointer valid for `LANES` values.
                    unsafe { $store(p, x) }
                }
                #[inline(always)]
                unsafe fn load_first(p: *const $f, lanes: usize) -> $v {
                    // SAFETY: the masked load reads only the first `lanes` values, which
                    // the caller guarantees are valid.
                    unsafe { $load_first(p, lanes) }
                }
                #[inline(always)]
                unsafe fn store_first(p: *mut $f, x: $v, lanes: usize) {
                    // SAFETY: the masked store writes only the first `lanes` values, which
                    // the caller guarantees are valid.
                    unsafe { $store_first(p, x, lanes) }
                }
            }
        };
    }

    simd!(
        Avx512,
        tile_avx512,
        gather_avx512,
        f32,
        __m512,
        16,
        8,
        3,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_set1_ps,
        |p, s| _mm512_i32gather_ps::<4>(
            _mm512_mullo_epi32(
                _mm512_set1_epi32(s),
                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
            ),
            p
        ),
        _mm512_fmadd_ps,
        _mm512_add_ps,
        _mm512_storeu_ps,
        |p, lanes| _mm512_maskz_loadu_ps(first_lanes_16(lanes), p),
        |p, x, lanes| _mm512_mask_storeu_ps(p, first_lanes_16(lanes), x)
    );
    simd!(
        Avx512,
        tile_avx512,
        gather_avx512,
        f64,
        __m512d,
        8,
        8,
        3,
        _mm512_setzero_pd,
        _mm512_loadu_pd,
        _mm512_set1_pd,
        |p, s| _mm512_i32gather_pd::<8>(
            _mm256_mullo_epi32(
                _mm256_set1_epi32(s),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
            ),
            p
        ),
        _mm512_fmadd_pd,
        _mm512_add_pd,
        _mm512_storeu_pd,
        |p, lanes| _mm512_maskz_loadu_pd(first_lanes_8(lanes), p),
        |p, x, lanes| _mm512_mask_storeu_pd(p, first_lanes_8(lanes), x)
    );
    simd!(
        Avx2,
        tile_avx2,
        gather_avx2,
        f32,
        __m256,
        8,
        6,
        2,
        _mm256_setzero_ps,
        _mm256_loadu_ps,
        _mm256_set1_ps,
        |p, s| _mm256_i32gather_ps::<4>(
            p,
            _mm256_mullo_epi32(
                _mm256_set1_epi32(s),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
            )
        ),
        _mm256_fmadd_ps,
        _mm256_add_ps,
        _mm256_storeu_ps,
        |p, lanes| _mm256_maskload_ps(p, first_lanes_i32(lanes)),
        |p, x, lanes| _mm256_maskstore_ps(p, first_lanes_i32(lanes), x)
    );
    simd!(
        Avx2,
        tile_avx2,
        gather_avx2,
        f64,
        __m256d,
        4,
        6,
        2,
        _mm256_setzero_pd,
        _mm256_loadu_pd,
        _mm256_set1_pd,
        |p, s| _mm256_i32gather_pd::<8>(
            p,
            _mm_mullo_epi32(_mm_set1_epi32(s), _mm_setr_epi32(0, 1, 2, 3))
        ),
        _mm256_fmadd_pd,
        _mm256_add_pd,
        _mm256_storeu_pd,
        |p, lanes| _mm256_maskload_pd(p, first_lanes_i64(lanes)),
        |p, x, lanes| _mm256_maskstore_pd(p, first_lanes_i64(lanes), x)
    );

    /// An AVX-512 mask selecting the first `lanes` of 16.
    #[inline(always)]
    fn first_lanes_16(lanes: usize) -> __mmask16 {
        (1u32 << lanes) as __mmask16 - 1
    }

    /// An AVX-512 mask selecting the first `lanes` of 8.
    #[inline(always)]
    fn first_lanes_8(lanes: usize) -> __mmask8 {
        (1u32 << lanes) as __mmask8 - 1
    }

    /// An AVX2 mask selecting the first `lanes` of eight 32-bit lanes.
    #[inline(always)]
    unsafe fn first_lanes_i32(lanes: usize) -> __m256i {
        // SAFETY: the caller runs on a CPU with AVX2. `lanes < 8`, so the cast is lossless.
        unsafe {
            _mm256_cmpgt_epi32(
                _mm256_set1_epi32(lanes as i32),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            )
        }
    }

    /// An AVX2 mask selecting the first `lanes` of four 64-bit lanes.
    #[inline(always)]
    unsafe fn first_lanes_i64(lanes: usize) -> __m256i {
        // SAFETY: the caller runs on a CPU with AVX2. `lanes < 4`, so the cast is lossless.
        unsafe {
            _mm256_cmpgt_epi64(
                _mm256_set1_epi64x(lanes as i64),
                _mm256_setr_epi64x(0, 1, 2, 3),
            )
        }
    }
}
