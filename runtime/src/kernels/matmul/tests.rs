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

/// Every instruction set this CPU can run, the portable one included.
fn instruction_sets() -> Vec<Isa> {
    let mut isas = vec![Isa::Portable];
    #[cfg(target_arch = "x86_64")]
    {
        if Avx2::<f32>::detect().is_some() {
            isas.push(Isa::Avx2);
        }
        if Avx512::<f32>::detect().is_some() {
            isas.push(Isa::Avx512);
        }
    }
    isas
}

/// `matmul` on `isa`.
#[allow(clippy::too_many_arguments)]
fn matmul_with<F: Float>(
    isa: Isa,
    [m, k, n]: [usize; 3],
    a: &[F],
    a_t: bool,
    b: &[F],
    b_t: bool,
    c: &mut [F],
    accumulate: bool,
) {
    let (a, b) = (Operand { values: a, t: a_t }, Operand { values: b, t: b_t });
    matmul_on(isa, [m, k, n], a, b, c, accumulate);
}

/// Checks `matmul` on every instruction set against the triple loop, for every transpose
/// and with and without accumulation; a `c` to overwrite is all NaN.
fn check_shape<F: Float>([m, k, n]: [usize; 3], tolerance: f64, rng: &mut crate::Rng) {
    for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
        for accumulate in [false, true] {
            let a = random::<F>(m * k, rng);
            let b = random::<F>(k * n, rng);
            let mut c = random::<F>(m * n, rng);
            if !accumulate {
                c.fill(F::nan());
            }
            let want = reference(m, k, n, &a, a_t, &b, b_t, &c, accumulate);
            for isa in instruction_sets() {
                let mut got = c.clone();
                matmul_with(isa, [m, k, n], &a, a_t, &b, b_t, &mut got, accumulate);
                for (index, (got, want)) in got.iter().zip(&want).enumerate() {
                    let error = (got.as_f64() - want).abs();
                    assert!(
                        error <= tolerance * (1.0 + want.abs()),
                        "{isa:?} m={m} k={k} n={n} a_t={a_t} b_t={b_t} \
                         accumulate={accumulate}, c[{index}]: {got} != {want}"
                    );
                }
            }
        }
    }
}

/// Layer shapes and sizes that end every loop on a ragged block: rows not a multiple of a
/// tile's, columns not a multiple of a register's or of a column block, a depth past a
/// depth block, and a tall product that packs every panel.
const SHAPES: [[usize; 3]; 13] = [
    [1, 1, 1],
    [7, 13, 5],
    [65, 129, 11],
    [17, 3, 49],
    [1, 784, 128],
    [64, 784, 128],
    [784, 64, 128],
    [64, 10, 128],
    [64, 128, 10],
    [9, 1100, 20],
    [3, 5, 300],
    [300, 200, 50],
    [13, 70, 33],
];

#[test]
fn every_instruction_set_matches_triple_loop_in_f32() {
    let mut rng = crate::Rng::seed_from_u64(3);
    for shape in SHAPES {
        check_shape::<f32>(shape, 1e-4, &mut rng);
    }
}

#[test]
fn every_instruction_set_matches_triple_loop_in_f64() {
    let mut rng = crate::Rng::seed_from_u64(4);
    for shape in SHAPES {
        check_shape::<f64>(shape, 1e-12, &mut rng);
    }
}

#[test]
fn every_instruction_set_matches_triple_loop_for_small_sizes() {
    let mut rng = crate::Rng::seed_from_u64(5);
    for m in [1, 2, 5, 8, 9] {
        for k in [1, 2, 3] {
            for n in [1, 4, 7, 8, 15, 16, 17, 24, 33, 47, 48, 49] {
                check_shape::<f32>([m, k, n], 1e-5, &mut rng);
                check_shape::<f64>([m, k, n], 1e-12, &mut rng);
            }
        }
    }
}

#[test]
fn every_instruction_set_overwrites_with_zeros_or_keeps_c_for_empty_depth() {
    for isa in instruction_sets() {
        let mut c = vec![f32::NAN; 6];
        matmul_with(isa, [2, 0, 3], &[], false, &[], true, &mut c, false);
        assert_eq!(c, [0.0; 6], "{isa:?}");
        let mut c = vec![1.5; 6];
        matmul_with(isa, [2, 0, 3], &[], true, &[], false, &mut c, true);
        assert_eq!(c, [1.5; 6], "{isa:?}");
    }
}

#[test]
#[should_panic(expected = "matmul: tile reads past a")]
fn a_tile_reaching_past_its_slice_is_rejected() {
    let (a, b, mut c) = ([0.0f32; 15], [0.0f32; 16], [0.0f32; 32]);
    let rows = Rows {
        values: &a,
        start: 0,
        row_stride: 4,
        depth_stride: 1,
        rows: 4,
    };
    let panel = Panel {
        values: &b,
        start: 0,
        depth_stride: 4,
        width: 4,
    };
    let block = Block {
        values: &mut c,
        start: 0,
        row_stride: 8,
        cols: 4,
        accumulate: false,
    };
    Tile::new(rows, panel, block, 4);
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
    check_row::<f32>(
        &[
            1, 7, 8, 10, 16, 17, 63, 64, 65, 100, 128, 130, 143, 144, 257,
        ],
        1e-5,
    );
    check_row::<f64>(&[1, 3, 4, 5, 8, 9, 31, 32, 33, 63, 64, 65, 100, 129], 1e-12);
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

/// A product split across a pool's threads computes bit for bit what it computes on one
/// thread, on every instruction set, for splits into two and three parts that end on
/// ragged tiles.
#[test]
fn split_products_equal_unsplit_ones_bit_for_bit() {
    let mut rng = crate::Rng::seed_from_u64(6);
    for threads in [2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        for [m, k, n] in [
            [64, 784, 128],
            [784, 64, 128],
            [300, 200, 50],
            [65, 129, 11],
        ] {
            for (a_t, b_t) in [(false, false), (true, false), (false, true)] {
                let a = random::<f32>(m * k, &mut rng);
                let b = random::<f32>(k * n, &mut rng);
                for isa in instruction_sets() {
                    let mut whole = vec![f32::NAN; m * n];
                    matmul_with(isa, [m, k, n], &a, a_t, &b, b_t, &mut whole, false);
                    let mut split = vec![f32::NAN; m * n];
                    pool.install(|| {
                        assert_eq!(super::split::parts_here(), 1, "split only when asked");
                        split::with_split_products(|| {
                            assert_eq!(super::split::parts_here(), threads);
                            matmul_with(isa, [m, k, n], &a, a_t, &b, b_t, &mut split, false);
                        });
                    });
                    assert!(
                        whole
                            .iter()
                            .zip(&split)
                            .all(|(x, y)| x.to_bits() == y.to_bits()),
                        "{isa:?} m={m} k={k} n={n} a_t={a_t} b_t={b_t} on {threads} threads"
                    );
                }
            }
        }
    }
}
