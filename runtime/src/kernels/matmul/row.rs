//! One row times a matrix (batch-1 inference), without packing.

use std::mem::size_of;

use crate::Float;

/// `c (1×n) = a (1×k) · b (k×n)` (+ `c`), when the CPU has AVX2 and FMA and `c` spans at
/// least one vector; otherwise does nothing and returns false.
///
/// Packing `b` would cost as much as the product itself. This loop beat the `gemm` crate's
/// path for one row, which this module replaces; measured on this project's benchmark
/// machine (AMD EPYC Zen 3, AVX2, one thread, f32; `cargo bench --bench kernels`), gemm vs
/// this loop: 784×128 9.5 vs 7.1 µs, 128×128 1.41 vs 0.96 µs, 128×10 0.81 vs 0.28 µs,
/// 128×100 1.74 vs 1.02 µs. A 784×128 kernel is 401 KB, so the first of these is bound by
/// reading it: summing the kernel alone takes 5.5 µs.
pub(super) fn row_times_matrix<F: Float>(a: &[F], b: &[F], c: &mut [F], accumulate: bool) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let lanes = 32 / size_of::<F>(); // one 256-bit register
        if c.len() >= lanes && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the functions' only requirement is the CPU features they are compiled
            // for, AVX2 and FMA (and AVX-512F for the first), which were detected here.
            unsafe {
                if is_x86_feature_detected!("avx512f") && c.len() >= 2 * lanes {
                    if size_of::<F>() == 4 {
                        row_times_matrix_avx512::<F, 128, 16>(a, b, c, accumulate);
                    } else {
                        row_times_matrix_avx512::<F, 64, 8>(a, b, c, accumulate);
                    }
                } else if size_of::<F>() == 4 {
                    row_times_matrix_avx2::<F, 64, 8>(a, b, c, accumulate);
                } else {
                    row_times_matrix_avx2::<F, 32, 4>(a, b, c, accumulate);
                }
            }
            return true;
        }
    }
    let _ = (a, b, c, accumulate);
    false
}

/// [`row_times_matrix`] for AVX2+FMA: see [`row_times_matrix_blocks`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_times_matrix_avx2<F: Float, const WIDE: usize, const LANES: usize>(
    a: &[F],
    b: &[F],
    c: &mut [F],
    accumulate: bool,
) {
    row_times_matrix_blocks::<F, WIDE, LANES>(a, b, c, accumulate);
}

/// [`row_times_matrix`] for AVX-512, whose registers hold a 128-column block of f32 in
/// eight accumulators: one pass down the matrix's rows instead of two. On this project's
/// benchmark machine (Xeon, AVX-512, one thread) the MLP's batch-1 inference took 3.39 µs
/// against 3.69 µs with the AVX2 loop (`cargo bench --bench mlp -- predict_one`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn row_times_matrix_avx512<F: Float, const WIDE: usize, const LANES: usize>(
    a: &[F],
    b: &[F],
    c: &mut [F],
    accumulate: bool,
) {
    row_times_matrix_blocks::<F, WIDE, LANES>(a, b, c, accumulate);
}

/// Blocks of `WIDE` columns (eight registers of accumulators), then blocks of `LANES`
/// columns (one register, four rows in flight); the last block is shifted left to end at
/// column `n`, recomputing a few columns rather than falling back to a scalar tail. Needs
/// `c.len() >= LANES`. Inlined into its callers, it is compiled for their instruction
/// sets.
#[inline(always)]
fn row_times_matrix_blocks<F: Float, const WIDE: usize, const LANES: usize>(
    a: &[F],
    b: &[F],
    c: &mut [F],
    accumulate: bool,
) {
    let n = c.len();
    let mut written = 0; // c[..written] holds its result
    let mut write = |c: &mut [F], j0: usize, block: &[F]| {
        for j in written.max(j0)..j0 + block.len() {
            let old = if accumulate { c[j] } else { F::zero() };
            c[j] = old + block[j - j0];
        }
        written = j0 + block.len();
    };
    let mut j0 = 0;
    while j0 + WIDE <= n {
        write(c, j0, &column_block::<F, WIDE, 1>(a, b, n, j0));
        j0 += WIDE;
    }
    while j0 < n {
        let start = j0.min(n - LANES);
        write(c, start, &column_block::<F, LANES, 4>(a, b, n, start));
        j0 += LANES;
    }
}

/// `Σ_p a[p] · b[p, j0..j0 + V]`, with `U` rows in flight in separate accumulators so that
/// narrow blocks are not bound by the latency of one chain of multiply-adds.
#[inline(always)]
fn column_block<F: Float, const V: usize, const U: usize>(
    a: &[F],
    b: &[F],
    n: usize,
    j0: usize,
) -> [F; V] {
    let k = a.len();
    let mut acc = [[F::zero(); V]; U];
    let mut p = 0;
    while p + U <= k {
        for (u, acc) in acc.iter_mut().enumerate() {
            let row: &[F; V] = b[(p + u) * n + j0..][..V].try_into().expect("V values");
            let x = a[p + u];
            for j in 0..V {
                acc[j] = x.mul_add(row[j], acc[j]);
            }
        }
        p += U;
    }
    for p in p..k {
        let row: &[F; V] = b[p * n + j0..][..V].try_into().expect("V values");
        for j in 0..V {
            acc[0][j] = a[p].mul_add(row[j], acc[0][j]);
        }
    }
    let mut sum = acc[0];
    for acc in &acc[1..] {
        for j in 0..V {
            sum[j] += acc[j];
        }
    }
    sum
}
