//! What one core pays to read values that the other core has just written, against values
//! it wrote itself: the price of every exchange between the two threads of a training step
//! (a half-batch of activations, a kernel updated on the other core).
//!
//! cargo bench --bench cores

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Who wrote the values just before they are read.
#[derive(Clone, Copy)]
enum Writer {
    OtherCore,
    ThisCore,
}

/// The time taken by `rounds` reads of a buffer of `len` values, each read just after
/// `writer` updated every value. Both threads spin while they wait for their turn,
/// so that they stay on two cores.
fn read_after_writes(rounds: u64, len: usize, writer: Writer) -> Duration {
    let buffer = Mutex::new(vec![0.0f32; len]);
    let turn = AtomicU64::new(0);
    let mut reading = Duration::ZERO;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for round in 0..rounds {
                wait_for(&turn, 2 * round + 1);
                if let Writer::OtherCore = writer {
                    update_values(&mut buffer.lock().expect("buffer"));
                }
                turn.store(2 * round + 2, Ordering::Release);
            }
        });
        for round in 0..rounds {
            turn.store(2 * round + 1, Ordering::Release);
            wait_for(&turn, 2 * round + 2);
            let mut values = buffer.lock().expect("buffer");
            if let Writer::ThisCore = writer {
                update_values(&mut values);
            }
            let start = Instant::now();
            std::hint::black_box(sum(&values));
            reading += start.elapsed();
        }
    });
    reading
}

fn wait_for(turn: &AtomicU64, value: u64) {
    while turn.load(Ordering::Acquire) != value {
        std::hint::spin_loop();
    }
}

/// Updates every value in place, as an optimizer's step or an accumulating product does.
fn update_values(values: &mut [f32]) {
    for v in values {
        *v += 1.0;
    }
}

/// Reads every value, in independent lanes so that the loads, not the additions, bound it.
fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 32];
    for chunk in values.chunks_exact(32) {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    lanes.iter().sum()
}

fn exchanges(c: &mut Criterion) {
    let mut group = c.benchmark_group("read_after_write");
    // A half-batch of 128 activations, a batch of them, half and all of the MLP's first
    // kernel (784×128).
    for kib in [16, 32, 196, 392] {
        let len = kib * 1024 / size_of::<f32>();
        group.throughput(Throughput::Bytes((len * size_of::<f32>()) as u64));
        for (name, writer) in [
            ("other_core", Writer::OtherCore),
            ("this_core", Writer::ThisCore),
        ] {
            group.bench_with_input(
                BenchmarkId::new(name, format!("{kib}KiB")),
                &len,
                |b, &len| b.iter_custom(|rounds| read_after_writes(rounds, len, writer)),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, exchanges);
criterion_main!(benches);
