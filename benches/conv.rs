//! The convolutional kernels at the shapes of the network, batch 64, one thread,
//! f32: Conv2D(32, 3×3) on [28, 28, 1], MaxPooling2D(2), Conv2D(64, 3×3), MaxPooling2D(2).
//!
//! `cargo bench --bench conv -- --warm-up-time 1 --measurement-time 3`
//! Convolutions report their throughput in flops (2 per multiply-add), so criterion's
//! "Gelem/s" reads as GFLOP/s; pooling reports samples.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use strata::Seed;
use strata::kernels::{Conv2dGeometry, Padding, conv2d_backward, conv2d_forward};

const BATCH: usize = 64;
const CONV1: Conv2dGeometry =
    Conv2dGeometry::new([28, 28, 1], 32, [3, 3], [1, 1], [1, 1], Padding::Valid);
const CONV2: Conv2dGeometry =
    Conv2dGeometry::new([13, 13, 32], 64, [3, 3], [1, 1], [1, 1], Padding::Valid);

/// Values in [-1, 1), deterministic.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = Seed(seed).rng();
    (0..len)
        .map(|_| rand::Rng::random_range(&mut rng, -1.0..1.0))
        .collect()
}

/// Multiply-adds of one pass (forward, or one of backward's two products), times 2.
fn flops(g: &Conv2dGeometry) -> u64 {
    (2 * BATCH * g.output_len() * g.window.patch_len()) as u64
}

struct Operands {
    x: Vec<f32>,
    kernel: Vec<f32>,
    bias: Vec<f32>,
    y: Vec<f32>,
    dx: Vec<f32>,
    dkernel: Vec<f32>,
    dbias: Vec<f32>,
}

impl Operands {
    fn new(g: &Conv2dGeometry) -> Self {
        Self {
            x: values(BATCH * g.window.input_len(), 1),
            kernel: values(g.kernel_len(), 2),
            bias: values(g.filters, 3),
            y: values(BATCH * g.output_len(), 4),
            dx: vec![0.0; BATCH * g.window.input_len()],
            dkernel: vec![0.0; g.kernel_len()],
            dbias: vec![0.0; g.filters],
        }
    }
}

/// Forward and backward of both convolutions with `columns` holding `samples` samples'
/// im2col columns.
fn bench_convs(c: &mut Criterion, group_name: &str, samples: impl Fn(&Conv2dGeometry) -> usize) {
    let mut group = c.benchmark_group(group_name);
    for (name, g, first) in [("conv1", CONV1, true), ("conv2", CONV2, false)] {
        let mut o = Operands::new(&g);
        let mut columns = vec![0.0f32; samples(&g) * g.columns_per_sample()];
        group.throughput(Throughput::Elements(flops(&g)));
        group.bench_function(format!("{name}_forward"), |bench| {
            bench.iter(|| {
                let bias = Some(&o.bias[..]);
                conv2d_forward(
                    &g,
                    BATCH,
                    black_box(&o.x),
                    &o.kernel,
                    bias,
                    &mut o.y,
                    &mut columns,
                )
            })
        });
        // The first layer needs no dx.
        group.throughput(Throughput::Elements(if first { 1 } else { 2 } * flops(&g)));
        group.bench_function(format!("{name}_backward"), |bench| {
            bench.iter(|| {
                let dx = (!first).then_some(&mut o.dx[..]);
                let (dk, db) = (Some(&mut o.dkernel[..]), Some(&mut o.dbias[..]));
                conv2d_backward(
                    &g,
                    BATCH,
                    black_box(&o.x),
                    &o.kernel,
                    &o.y,
                    dx,
                    dk,
                    db,
                    &mut columns,
                )
            })
        });
    }
    group.finish();
}

fn bench_conv(c: &mut Criterion) {
    bench_convs(c, "conv", |g| g.samples_per_chunk(BATCH));
}

/// The comparison that chose COLUMNS_PER_CHUNK: im2col of the whole batch then one product,
/// against chunks of one sample.
fn bench_conv_chunk(c: &mut Criterion) {
    bench_convs(c, "conv_whole_batch", |_| BATCH);
    bench_convs(c, "conv_one_sample", |_| 1);
}

criterion_group!(benches, bench_conv, bench_conv_chunk);
criterion_main!(benches);
