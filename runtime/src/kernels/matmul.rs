//! The matrix product, the hot path of every dense and convolutional layer.
//!
//! Products go through the `gemm` crate, which picks its AVX-512, AVX2+FMA or SSE kernels
//! at run time; transposes are expressed as strides, never as copies. A single row times
//! a matrix (batch-1 inference) has its own loop, which beats gemm's there.

use std::any::TypeId;
use std::mem::size_of;

use crate::Float;

/// `c (m×n) = op(a) · op(b)`, plus the old `c` when `accumulate`.
///
/// All matrices are row-major slices. `a` is `m×k` (stored `k×m` when `a_t`, and then
/// read transposed); `b` is `k×n` (stored `n×k` when `b_t`). When `accumulate` is false
/// `c` is overwritten and its old values are never read (they may be NaN).
///
/// Runs on the calling thread: the trainer parallelises over the batch instead.
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
    assert_eq!(
        a.len(),
        m * k,
        "matmul: a has {} values, not m·k = {m}·{k}",
        a.len()
    );
    assert_eq!(
        b.len(),
        k * n,
        "matmul: b has {} values, not k·n = {k}·{n}",
        b.len()
    );
    assert_eq!(
        c.len(),
        m * n,
        "matmul: c has {} values, not m·n = {m}·{n}",
        c.len()
    );
    let id = TypeId::of::<F>();
    assert!(
        id == TypeId::of::<f32>() || id == TypeId::of::<f64>(),
        "matmul: only f32 and f64 are supported"
    );
    if m == 0 || n == 0 {
        return;
    }
    // With one row, a and aᵀ are the same slice.
    if m == 1 && !b_t && row_times_matrix(a, b, c, accumulate) {
        return;
    }
    // (row stride, column stride) of op(a) and op(b) in their row-major storage. Slice
    // lengths are at most isize::MAX, so the casts are lossless.
    let (a_rs, a_cs) = if a_t {
        (1, m as isize)
    } else {
        (k as isize, 1)
    };
    let (b_rs, b_cs) = if b_t {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    // SAFETY: the asserts above give a = m·k, b = k·n and c = m·n values, so with these
    // strides every element gemm reads or writes (row < m, depth < k, column < n) is in
    // bounds. `c` is a unique borrow, so it does not overlap `a` or `b`. F is f32 or f64,
    // the types gemm dispatches on (it reinterprets the pointers by TypeId). With
    // read_dst false gemm never reads c, so stale NaNs in it cannot leak into the result
    // (tested below).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            F::one(),
            F::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `c (1×n) = a (1×k) · b (k×n)` (+ `c`), when the CPU has AVX2 and FMA and `c` spans at
/// least one vector; otherwise does nothing and returns false.
///
/// gemm's own path for one row is slower here. Measured on this project's benchmark
/// machine (AMD EPYC Zen 3, AVX2, one thread, f32; `cargo bench --bench kernels`), gemm vs
/// this loop: 784×128 9.5 vs 7.1 µs, 128×128 1.41 vs 0.96 µs, 128×10 0.81 vs 0.28 µs,
/// 128×100 1.74 vs 1.02 µs. A 784×128 kernel is 401 KB, so the first of these is bound by
/// reading it: summing the kernel alone takes 5.5 µs.
fn row_times_matrix<F: Float>(a: &[F], b: &[F], c: &mut [F], accumulate: bool) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let lanes = 32 / size_of::<F>(); // one 256-bit register
        if c.len() >= lanes && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the functions' only requirement is the CPU features they are compiled
            // for, AVX2 and FMA, which were detected just above.
            unsafe {
                if size_of::<F>() == 4 {
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

/// [`row_times_matrix`] for AVX2+FMA: blocks of `WIDE` columns (eight registers of
/// accumulators), then blocks of `LANES` columns (one register, four rows in flight); the
/// last block is shifted left to end at column `n`, recomputing a few columns rather than
/// falling back to a scalar tail. Needs `c.len() >= LANES`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_times_matrix_avx2<F: Float, const WIDE: usize, const LANES: usize>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng as _, SeedableRng};

    fn random<F: Float>(len: usize, rng: &mut crate::Rng) -> Vec<F> {
        (0..len)
            .map(|_| F::of(rng.random_range(-1.0..1.0)))
            .collect()
    }

    /// The plain triple loop, in f64.
    #[allow(clippy::too_many_arguments)]
    fn reference<F: Float>(
        m: usize,
        k: usize,
        n: usize,
        a: &[F],
        a_t: bool,
        b: &[F],
        b_t: bool,
        c: &[F],
        accumulate: bool,
    ) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut sum = if accumulate {
                    c[i * n + j].as_f64()
                } else {
                    0.0
                };
                for p in 0..k {
                    let x = if a_t { a[p * m + i] } else { a[i * k + p] };
                    let y = if b_t { b[j * k + p] } else { b[p * n + j] };
                    sum += x.as_f64() * y.as_f64();
                }
                out[i * n + j] = sum;
            }
        }
        out
    }

    fn check<F: Float>(tolerance: f64) {
        let sizes = [1, 2, 3, 17, 65];
        let mut rng = crate::Rng::seed_from_u64(1);
        let mut cases = 0;
        for &m in &sizes {
            for &k in &sizes {
                for &n in &sizes {
                    for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
                        for accumulate in [false, true] {
                            let a = random::<F>(m * k, &mut rng);
                            let b = random::<F>(k * n, &mut rng);
                            let mut c = random::<F>(m * n, &mut rng);
                            if !accumulate {
                                // Overwriting must not read the old values.
                                c.iter_mut().step_by(3).for_each(|x| *x = F::nan());
                            }
                            let want = reference(m, k, n, &a, a_t, &b, b_t, &c, accumulate);
                            matmul(m, k, n, &a, a_t, &b, b_t, &mut c, accumulate);
                            for (got, want) in c.iter().zip(&want) {
                                let error = (got.as_f64() - want).abs();
                                assert!(
                                    error <= tolerance * (1.0 + want.abs()),
                                    "m={m} k={k} n={n} a_t={a_t} b_t={b_t} \
                                     accumulate={accumulate}: {got} != {want}"
                                );
                            }
                            cases += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(cases, 125 * 8);
    }

    #[test]
    fn matmul_f32_matches_triple_loop_for_every_transpose_and_odd_sizes() {
        check::<f32>(1e-5);
    }

    #[test]
    fn matmul_f64_matches_triple_loop_for_every_transpose_and_odd_sizes() {
        check::<f64>(1e-12);
    }

    #[test]
    fn matmul_at_mlp_shapes_matches_triple_loop() {
        let mut rng = crate::Rng::seed_from_u64(2);
        for (m, k, n, a_t, b_t) in [
            (64, 784, 128, false, false),
            (1, 784, 128, false, false),
            (784, 64, 128, true, false),
            (64, 128, 784, false, true),
            (128, 256, 10, false, false),
        ] {
            let a = random::<f32>(m * k, &mut rng);
            let b = random::<f32>(k * n, &mut rng);
            let mut c = vec![f32::NAN; m * n];
            let want = reference(m, k, n, &a, a_t, &b, b_t, &c, false);
            matmul(m, k, n, &a, a_t, &b, b_t, &mut c, false);
            for (got, want) in c.iter().zip(&want) {
                assert!((f64::from(*got) - want).abs() < 1e-4 * (1.0 + want.abs()));
            }
        }
    }

    #[test]
    fn matmul_single_row_fast_path_matches_triple_loop() {
        fn check_row<F: Float>(widths: &[usize], tolerance: f64) {
            let mut rng = crate::Rng::seed_from_u64(6);
            for &n in widths {
                for k in [0, 1, 3, 4, 5, 130] {
                    for (a_t, accumulate) in [(false, false), (true, true), (false, true)] {
                        let a = random::<F>(k, &mut rng);
                        let b = random::<F>(k * n, &mut rng);
                        let mut c = random::<F>(n, &mut rng);
                        if !accumulate {
                            c.fill(F::nan());
                        }
                        let want = reference(1, k, n, &a, a_t, &b, false, &c, accumulate);
                        matmul(1, k, n, &a, a_t, &b, false, &mut c, accumulate);
                        for (got, want) in c.iter().zip(&want) {
                            let error = (got.as_f64() - want).abs();
                            assert!(error <= tolerance * (1.0 + want.abs()), "n={n} k={k}");
                        }
                    }
                }
            }
        }
        // Below one vector, one vector, a shifted last block, wide blocks and their tails.
        check_row::<f32>(&[1, 7, 8, 10, 16, 63, 64, 65, 100, 128, 130], 1e-5);
        check_row::<f64>(&[1, 3, 4, 5, 8, 31, 32, 33, 100], 1e-12);
    }

    #[test]
    fn matmul_with_empty_depth_overwrites_with_zeros_or_keeps_c() {
        let mut c = vec![f64::NAN; 6];
        matmul(2, 0, 3, &[], false, &[], false, &mut c, false);
        assert_eq!(c, [0.0; 6]);
        let mut c = vec![1.5; 6];
        matmul(2, 0, 3, &[], true, &[], true, &mut c, true);
        assert_eq!(c, [1.5; 6]);
        let mut c: Vec<f32> = vec![];
        matmul(0, 4, 3, &[], false, &[0.0; 12], false, &mut c, false);
        matmul(3, 4, 0, &[0.0; 12], false, &[], false, &mut c, false);
    }

    #[test]
    #[should_panic(expected = "matmul: b has 5 values")]
    fn matmul_rejects_a_slice_of_the_wrong_length() {
        let mut c = [0.0f32; 4];
        matmul(2, 3, 2, &[0.0; 6], false, &[0.0; 5], false, &mut c, false);
    }
}
