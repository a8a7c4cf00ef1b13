//! The convolutional kernels at the shapes of the network, batch 64, one thread,
//! f32: Conv2D(32, 3×3) on [28, 28, 1], MaxPooling2D(2), Conv2D(64, 3×3), MaxPooling2D(2),
//! and BatchNormalization after each convolution; and a DepthwiseConv2D(3) on the
//! [26, 26, 32] map.
//!
//! `cargo bench --bench conv -- --warm-up-time 1 --measurement-time 3`
//! Convolutions report their throughput in flops (2 per multiply-add), so criterion's
//! "Gelem/s" reads as GFLOP/s; pooling reports samples.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use strata::Seed;
use strata::kernels::{
    Activation, Conv2dGeometry, ConvOutputGrad, DepthwiseGeometry, Padding, Window2d,
    batch_norm_backward, batch_norm_forward_train, batch_norm_update_moving, conv2d_backward,
    conv2d_backward_with, conv2d_forward, conv2d_forward_activated, conv2d_max_pool_forward,
    depthwise_conv2d_backward, depthwise_conv2d_forward, matmul, max_pool2d_backward,
    max_pool2d_forward,
};

const BATCH: usize = 64;
const CONV1: Conv2dGeometry =
    Conv2dGeometry::new([28, 28, 1], 32, [3, 3], [1, 1], [1, 1], Padding::Valid);
const CONV2: Conv2dGeometry =
    Conv2dGeometry::new([13, 13, 32], 64, [3, 3], [1, 1], [1, 1], Padding::Valid);
/// A DepthwiseConv2D(3) on the first pooling's input, the 26×26×32 map.
const DEPTHWISE: DepthwiseGeometry =
    DepthwiseGeometry::new([26, 26, 32], 1, [3, 3], [1, 1], [1, 1], Padding::Valid);
const POOL1: Window2d = Window2d::pooling([26, 26, 32], [2, 2], [2, 2], Padding::Valid);
const POOL2: Window2d = Window2d::pooling([11, 11, 64], [2, 2], [2, 2], Padding::Valid);

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

/// The comparison that chose `CHUNK_VALUES`: chunks of one sample, of eight (about the
/// default: six for conv2, nine for conv1), and im2col of the whole batch before one
/// product. On conv2 the whole batch's columns (8.9 MB) fall out of the L2 cache: forward
/// 2.24 vs 1.95 ms, backward 5.0 vs 4.2 ms (minimum of 60 runs; chunks of one sample: 2.19
/// and 4.7 ms). On conv1 the chunk size matters little (0.83-0.93 ms either way).
fn bench_conv_chunk(c: &mut Criterion) {
    for samples in [1, 8, BATCH] {
        bench_convs(c, &format!("conv_chunk_of_{samples}"), |_| samples);
    }
}

/// The products alone at conv1's im2col shapes (rows = batch·26·26, depth 9, 32 filters),
/// against which `conv/conv1_*` shows the cost of im2col and the bias. A direct loop for
/// such shallow products (depth ≤ 16, four rows in registers) was measured against these
/// and dropped: forward 0.75 vs 0.76 ms, backward 1.2 vs 0.79 ms (minimum of 60 runs).
fn bench_conv1_product(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv1_product");
    let (rows, depth, filters) = (
        BATCH * CONV1.window.positions(),
        CONV1.window.patch_len(),
        32,
    );
    let (columns, kernel) = (values(rows * depth, 5), values(depth * filters, 6));
    let mut y = vec![0.0f32; rows * filters];
    let mut dkernel = vec![0.0f32; depth * filters];
    group.throughput(Throughput::Elements(flops(&CONV1)));
    group.bench_function("forward_matmul", |bench| {
        bench.iter(|| {
            matmul(
                rows,
                depth,
                filters,
                black_box(&columns),
                false,
                &kernel,
                false,
                &mut y,
                false,
            )
        })
    });
    group.bench_function("dkernel_matmul", |bench| {
        bench.iter(|| {
            matmul(
                depth,
                rows,
                filters,
                black_box(&columns),
                true,
                &y,
                false,
                &mut dkernel,
                false,
            )
        })
    });
    group.finish();
}

/// DepthwiseConv2D(3) on a [26, 26, 32] map, batch 64: the direct loops forward, and
/// backward with all three gradients (two passes of multiply-adds).
fn bench_depthwise(c: &mut Criterion) {
    let mut group = c.benchmark_group("depthwise");
    let g = DEPTHWISE;
    let multiply_adds =
        (2 * BATCH * g.output_len() * g.window.window[0] * g.window.window[1]) as u64;
    let x = values(BATCH * g.window.input_len(), 13);
    let (kernel, bias) = (values(g.kernel_len(), 14), values(g.channels(), 15));
    let mut y = vec![0.0f32; BATCH * g.output_len()];
    let dy = values(y.len(), 16);
    let mut dx = vec![0.0f32; x.len()];
    let (mut dkernel, mut dbias) = (vec![0.0f32; kernel.len()], vec![0.0f32; bias.len()]);
    group.throughput(Throughput::Elements(multiply_adds));
    group.bench_function("forward", |bench| {
        bench.iter(|| {
            depthwise_conv2d_forward(&g, BATCH, black_box(&x), &kernel, Some(&bias), &mut y)
        })
    });
    group.throughput(Throughput::Elements(2 * multiply_adds));
    group.bench_function("backward", |bench| {
        bench.iter(|| {
            depthwise_conv2d_backward(
                &g,
                BATCH,
                black_box(&x),
                &kernel,
                &dy,
                Some(&mut dx),
                Some(&mut dkernel),
                Some(&mut dbias),
            )
        })
    });
    group.finish();
}

fn bench_pool(c: &mut Criterion) {
    let mut group = c.benchmark_group("max_pool");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, window) in [("pool1", POOL1), ("pool2", POOL2)] {
        let x = values(BATCH * window.input_len(), 7);
        let out = BATCH * window.positions() * window.input[2];
        let (mut y, mut argmax, dy) = (vec![0.0f32; out], vec![0u32; out], values(out, 8));
        let mut dx = vec![0.0f32; x.len()];
        group.bench_function(format!("{name}_forward"), |bench| {
            bench.iter(|| max_pool2d_forward(&window, BATCH, black_box(&x), &mut y, &mut argmax))
        });
        group.bench_function(format!("{name}_backward"), |bench| {
            bench.iter(|| max_pool2d_backward(&window, BATCH, black_box(&dy), &argmax, &mut dx))
        });
    }
    group.finish();
}

/// Conv2D(relu) then MaxPooling2D, forward and backward, as the layers apart (the
/// convolution's whole output activated, pooled, its gradient scattered and activated back)
/// and as the convolution pooling its own output a chunk at a time: what decided that a
/// convolution read only by a max pooling pools its own output.
fn bench_conv_relu_max_pool(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv_relu_max_pool");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, g, pool) in [("conv1", CONV1, POOL1), ("conv2", CONV2, POOL2)] {
        let o = Operands::new(&g);
        let out = BATCH * g.output_len();
        let pooled_len = BATCH * pool.positions() * g.filters;
        let mut columns = vec![0.0f32; g.columns_len(BATCH)];
        let (mut z, mut y, mut dy, mut dz) = (
            vec![0.0f32; out],
            o.y.clone(),
            vec![0.0; out],
            vec![0.0; out],
        );
        let (mut pooled, mut argmax) = (vec![0.0f32; pooled_len], vec![0u32; pooled_len]);
        let dpooled = values(pooled_len, 9);
        let (mut dkernel, mut dbias) = (o.dkernel.clone(), o.dbias.clone());
        // Both sides' backward pass from their output gradient: the kernel's and bias's.
        let mut backward = |grad: ConvOutputGrad<'_, f32>, columns: &mut [f32]| {
            let grads = (Some(&mut dkernel[..]), Some(&mut dbias[..]));
            let (x, kernel) = (&o.x[..], &o.kernel[..]);
            conv2d_backward_with(&g, BATCH, x, kernel, grad, None, grads.0, grads.1, columns);
        };
        group.bench_function(format!("{name}_apart"), |bench| {
            bench.iter(|| {
                let act = (Activation::Relu, &mut z[..], &mut y[..]);
                let bias = Some(&o.bias[..]);
                conv2d_forward_activated(&g, BATCH, &o.x, &o.kernel, bias, act, &mut columns);
                max_pool2d_forward(&pool, BATCH, &y, &mut pooled, &mut argmax);
                max_pool2d_backward(&pool, BATCH, &dpooled, &argmax, &mut dy);
                let (z, y, dy, dz) = (&z[..], &y[..], &dy[..], &mut dz[..]);
                let activation = Activation::Relu;
                let grad = ConvOutputGrad::Activated {
                    activation,
                    z,
                    y,
                    dy,
                    dz,
                };
                backward(grad, &mut columns);
            })
        });
        group.bench_function(format!("{name}_pooling_its_own_output"), |bench| {
            bench.iter(|| {
                let outputs = (&mut z[..], &mut pooled[..], &mut argmax[..]);
                let (bias, activation) = (Some(&o.bias[..]), Activation::Relu);
                conv2d_max_pool_forward(
                    &g,
                    &pool,
                    BATCH,
                    &o.x,
                    &o.kernel,
                    bias,
                    activation,
                    outputs,
                    &mut columns,
                );
                let grad = ConvOutputGrad::MaxPooled {
                    window: &pool,
                    activation,
                    pooled: &pooled,
                    argmax: &argmax,
                    dpooled: &dpooled,
                    scratch: &mut z,
                    len: out,
                };
                backward(grad, &mut columns);
            })
        });
    }
    group.finish();
}

/// BatchNormalization in training on each convolution's output: the forward pass with its
/// batch statistics, the backward pass, and the moving statistics' update.
fn bench_batch_norm(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch_norm");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, g) in [("bn1", CONV1), ("bn2", CONV2)] {
        let (channels, outer) = (g.filters, BATCH * g.window.positions());
        let (x, dy) = (values(outer * channels, 9), values(outer * channels, 10));
        let (gamma, beta) = (values(channels, 11), values(channels, 12));
        let [mut y, mut dx] = [(); 2].map(|_| vec![0.0f32; x.len()]);
        let [
            mut mean,
            mut variance,
            mut inv_std,
            mut dgamma,
            mut dbeta,
            mut mm,
            mut mv,
        ] = [(); 7].map(|_| vec![0.0f32; channels]);
        group.bench_function(format!("{name}_forward_train"), |bench| {
            bench.iter(|| {
                batch_norm_forward_train(
                    outer,
                    channels,
                    black_box(&x),
                    Some(&gamma),
                    Some(&beta),
                    1e-3,
                    &mut y,
                    &mut mean,
                    &mut variance,
                    &mut inv_std,
                )
            })
        });
        group.bench_function(format!("{name}_backward"), |bench| {
            bench.iter(|| {
                batch_norm_backward(
                    outer,
                    channels,
                    black_box(&x),
                    &dy,
                    &mean,
                    &inv_std,
                    Some(&gamma),
                    Some(&mut dx),
                    &mut dgamma,
                    &mut dbeta,
                )
            })
        });
        group.bench_function(format!("{name}_update_moving_2_lanes"), |bench| {
            let lanes = [(&mean[..], &variance[..], outer / 2); 2];
            bench.iter(|| batch_norm_update_moving(&mut mm, &mut mv, lanes.into_iter(), 0.99))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_conv,
    bench_depthwise,
    bench_pool,
    bench_conv_relu_max_pool,
    bench_batch_norm,
    bench_conv_chunk,
    bench_conv1_product
);
criterion_main!(benches);
