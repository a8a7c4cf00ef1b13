use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use strata::kernels::matmul;

#[inline(always)]
fn gemv_block<const W: usize>(x: &[f32], w: &[f32], y: &mut [f32], k: usize, n: usize) {
    let mut j0 = 0;
    while j0 + W <= n {
        let mut acc = [0.0f32; W];
        for p in 0..k {
            let xp = x[p];
            let row: &[f32; W] = w[p * n + j0..p * n + j0 + W].try_into().unwrap();
            for j in 0..W {
                acc[j] = xp.mul_add(row[j], acc[j]);
            }
        }
        y[j0..j0 + W].copy_from_slice(&acc);
        j0 += W;
    }
    assert!(j0 == n);
}

#[inline(always)]
fn gemv_block4<const W: usize>(x: &[f32], w: &[f32], y: &mut [f32], k: usize, n: usize) {
    let mut j0 = 0;
    while j0 + W <= n {
        let mut acc = [0.0f32; W];
        let mut p = 0;
        while p + 4 <= k {
            let (x0, x1, x2, x3) = (x[p], x[p + 1], x[p + 2], x[p + 3]);
            let r0: &[f32; W] = w[p * n + j0..][..W].try_into().unwrap();
            let r1: &[f32; W] = w[(p + 1) * n + j0..][..W].try_into().unwrap();
            let r2: &[f32; W] = w[(p + 2) * n + j0..][..W].try_into().unwrap();
            let r3: &[f32; W] = w[(p + 3) * n + j0..][..W].try_into().unwrap();
            for j in 0..W {
                acc[j] = x3.mul_add(
                    r3[j],
                    x2.mul_add(r2[j], x1.mul_add(r1[j], x0.mul_add(r0[j], acc[j]))),
                );
            }
            p += 4;
        }
        while p < k {
            let xp = x[p];
            let row: &[f32; W] = w[p * n + j0..][..W].try_into().unwrap();
            for j in 0..W {
                acc[j] = xp.mul_add(row[j], acc[j]);
            }
            p += 1;
        }
        y[j0..j0 + W].copy_from_slice(&acc);
        j0 += W;
    }
    assert!(j0 == n);
}

#[target_feature(enable = "avx2,fma")]
fn gemv_plain_avx(x: &[f32], w: &[f32], y: &mut [f32], k: usize, n: usize) {
    y.fill(0.0);
    for p in 0..k {
        let xp = x[p];
        let row = &w[p * n..(p + 1) * n];
        for (y, &w) in y.iter_mut().zip(row) {
            *y = xp.mul_add(w, *y);
        }
    }
}
#[target_feature(enable = "avx2,fma")]
fn sum_avx(w: &[f32]) -> f32 {
    let mut acc = [0.0f32; 32];
    for c in w.chunks_exact(32) {
        for j in 0..32 {
            acc[j] += c[j];
        }
    }
    acc.iter().sum()
}
#[target_feature(enable = "avx2,fma")]
fn gemv_block_avx32(x: &[f32], w: &[f32], y: &mut [f32], k: usize, n: usize) {
    gemv_block::<32>(x, w, y, k, n)
}
#[target_feature(enable = "avx2,fma")]
fn gemv_block_avx64(x: &[f32], w: &[f32], y: &mut [f32], k: usize, n: usize) {
    gemv_block::<64>(x, w, y, k, n)
}
#[target_feature(enable = "avx2,fma")]
fn gemv_block4_avx64(x: &[f32], w: &[f32], y: &mut [f32], k: usize, n: usize) {
    gemv_block4::<64>(x, w, y, k, n)
}

fn bench_matmul(c: &mut Criterion) {
    let mut g = c.benchmark_group("gemv");
    let (k, n) = (784, 128);
    let x = vec![0.5f32; k];
    let w = vec![0.25f32; k * n];
    let mut y = vec![0.0f32; n];
    g.throughput(Throughput::Elements((2 * k * n) as u64));
    g.bench_function("gemm", |b| {
        b.iter(|| {
            matmul(
                1,
                k,
                n,
                black_box(&x),
                false,
                black_box(&w),
                false,
                &mut y,
                false,
            )
        })
    });
    g.bench_function("sum", |b| b.iter(|| unsafe { sum_avx(black_box(&w)) }));
    g.bench_function("plain_avx", |b| {
        b.iter(|| unsafe { gemv_plain_avx(black_box(&x), black_box(&w), &mut y, k, n) })
    });
    g.bench_function("block_avx32", |b| {
        b.iter(|| unsafe { gemv_block_avx32(black_box(&x), black_box(&w), &mut y, k, n) })
    });
    g.bench_function("block_avx64", |b| {
        b.iter(|| unsafe { gemv_block_avx64(black_box(&x), black_box(&w), &mut y, k, n) })
    });
    g.bench_function("block4_avx64", |b| {
        b.iter(|| unsafe { gemv_block4_avx64(black_box(&x), black_box(&w), &mut y, k, n) })
    });
    g.finish();
}

criterion_group!(benches, bench_matmul);
criterion_main!(benches);
