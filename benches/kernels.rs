//! The kernels at the shapes of the MLP 784-128-128-10, one thread, f32.
//!
//! `cargo bench --bench kernels -- --warm-up-time 1 --measurement-time 3`
//! Matrix products report their throughput in flops (2·m·k·n), so criterion's
//! "Gelem/s" reads as GFLOP/s.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use strata::Seed;
use strata::kernels::{
    Activation, activation_backward, activation_forward, dense_backward, dense_forward,
    dropout_forward_train, matmul,
};

/// Values in [-1, 1), deterministic.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = Seed(seed).rng();
    (0..len)
        .map(|_| rand::Rng::random_range(&mut rng, -1.0..1.0))
        .collect()
}

fn bench_matmul(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul");
    // (name, m, k, n, a_t, b_t): op(a) is m×k, op(b) is k×n.
    let shapes = [
        // Forward at batch 64: y = x · kernel.
        ("fwd_64x784x128", 64, 784, 128, false, false),
        ("fwd_64x128x128", 64, 128, 128, false, false),
        ("fwd_64x128x10", 64, 128, 10, false, false),
        // Backward at batch 64: dkernel = xᵀ · dy and dx = dy · kernelᵀ.
        ("dkernel_784x64x128", 784, 64, 128, true, false),
        ("dkernel_128x64x128", 128, 64, 128, true, false),
        ("dkernel_128x64x10", 128, 64, 10, true, false),
        ("dx_64x128x128", 64, 128, 128, false, true),
        ("dx_64x10x128", 64, 10, 128, false, true),
        // Batch-1 inference (the single-row loop) and batch-1024 inference.
        ("fwd_1x784x128", 1, 784, 128, false, false),
        ("fwd_1x128x128", 1, 128, 128, false, false),
        ("fwd_1x128x10", 1, 128, 10, false, false),
        ("fwd_1024x784x128", 1024, 784, 128, false, false),
        ("fwd_1024x128x128", 1024, 128, 128, false, false),
        ("fwd_1024x128x10", 1024, 128, 10, false, false),
    ];
    for (name, m, k, n, a_t, b_t) in shapes {
        let a = values(m * k, 1);
        let b = values(k * n, 2);
        let mut out = vec![0.0f32; m * n];
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        group.bench_function(BenchmarkId::from_parameter(name), |bench| {
            bench.iter(|| {
                matmul(
                    m,
                    k,
                    n,
                    black_box(&a),
                    a_t,
                    black_box(&b),
                    b_t,
                    &mut out,
                    false,
                )
            })
        });
    }
    group.finish();
}

fn bench_dense(c: &mut Criterion) {
    let mut group = c.benchmark_group("dense");
    for (rows, inputs, units) in [(64, 784, 128), (64, 128, 128), (64, 128, 10)] {
        let x = values(rows * inputs, 7);
        let kernel = values(inputs * units, 8);
        let bias = values(units, 9);
        let dy = values(rows * units, 10);
        let mut y = vec![0.0f32; rows * units];
        let mut dx = vec![0.0f32; rows * inputs];
        let mut dkernel = vec![0.0f32; inputs * units];
        let mut dbias = vec![0.0f32; units];
        let shape = format!("{rows}x{inputs}x{units}");
        group.throughput(Throughput::Elements((2 * rows * inputs * units) as u64));
        group.bench_function(format!("forward_{shape}"), |bench| {
            bench.iter(|| {
                dense_forward(
                    black_box(&x),
                    &kernel,
                    Some(&bias),
                    &mut y,
                    rows,
                    inputs,
                    units,
                )
            })
        });
        // The first layer needs no dx; the others need all three gradients.
        let first = inputs == 784;
        group.throughput(Throughput::Elements(
            ((if first { 2 } else { 4 }) * rows * inputs * units) as u64,
        ));
        group.bench_function(format!("backward_{shape}"), |bench| {
            bench.iter(|| {
                let dx = if first { None } else { Some(&mut dx[..]) };
                let (dk, db) = (Some(&mut dkernel[..]), Some(&mut dbias[..]));
                dense_backward(black_box(&x), &kernel, &dy, dx, dk, db, rows, inputs, units)
            })
        });
    }
    group.finish();
}

fn bench_activation(c: &mut Criterion) {
    let mut group = c.benchmark_group("activation");
    let (rows, units) = (64, 128);
    let z = values(rows * units, 3);
    let da = values(rows * units, 4);
    let mut a = vec![0.0f32; rows * units];
    let mut dz = vec![0.0f32; rows * units];
    group.throughput(Throughput::Elements((rows * units) as u64));
    for act in [Activation::Relu, Activation::Softmax] {
        group.bench_function(format!("{}_forward_64x128", act.name()), |bench| {
            bench.iter(|| activation_forward(act, black_box(&z), &mut a, units))
        });
        activation_forward(act, &z, &mut a, units);
        group.bench_function(format!("{}_backward_64x128", act.name()), |bench| {
            bench.iter(|| activation_backward(act, black_box(&z), &a, &da, &mut dz, units))
        });
    }
    group.finish();
}

fn bench_dropout(c: &mut Criterion) {
    let mut group = c.benchmark_group("dropout");
    let x = values(64 * 128, 5);
    let (mut y, mut mask) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
    let mut rng = Seed(6).rng();
    group.throughput(Throughput::Elements(x.len() as u64));
    group.bench_function("forward_train_64x128", |bench| {
        bench.iter(|| dropout_forward_train(black_box(&x), &mut y, &mut mask, 0.2, &mut rng))
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_matmul,
    bench_dense,
    bench_activation,
    bench_dropout
);
criterion_main!(benches);
