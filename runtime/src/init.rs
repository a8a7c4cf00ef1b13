//! Weight initializers, seeded and reproducible, with Keras's names and distributions.

use rand::Rng as _;
use rand_distr::StandardNormal;

use crate::Float;

/// How a parameter tensor starts, as named in Keras: the names `model!` accepts.
///
/// ```
/// use strata_runtime::{Seed, init::{Fill, Initializer}};
/// let mut kernel = vec![0.0f32; 784 * 128];
/// Initializer::GlorotUniform.fill(&mut kernel, 784, 128, &mut Seed(42).rng());
/// let limit = (6.0f32 / (784.0 + 128.0)).sqrt();
/// assert!(kernel.iter().all(|w| w.abs() <= limit));
/// assert_eq!(Initializer::from_name("he_normal"), Some(Initializer::HeNormal));
/// ```
pub use strata_vocabulary::Initializer;

/// The standard deviation of a standard normal truncated to [-2, 2]: Keras divides by it.
const TRUNCATED_STDDEV: f64 = 0.879_625_661_034_239_8;

/// Draws a tensor's starting values from an [`Initializer`]'s distribution.
pub trait Fill {
    /// Fills `values` with this initializer's distribution for a tensor with these fans
    /// (for a Dense kernel `[inputs, units]`: `fan_in = inputs`, `fan_out = units`).
    ///
    /// Values are drawn in `f64` and then rounded, so an `f32` and an `f64` model from the
    /// same seed start from the same weights, up to rounding.
    fn fill<F: Float>(self, values: &mut [F], fan_in: usize, fan_out: usize, rng: &mut crate::Rng);
}

impl Fill for Initializer {
    fn fill<F: Float>(self, values: &mut [F], fan_in: usize, fan_out: usize, rng: &mut crate::Rng) {
        let fan_in = (fan_in as f64).max(1.0);
        let fan_avg = ((fan_in + fan_out as f64) / 2.0).max(1.0);
        let (scale, n, uniform) = match self {
            Initializer::Zeros | Initializer::Ones => {
                let value = if self == Initializer::Zeros {
                    F::zero()
                } else {
                    F::one()
                };
                values.fill(value);
                return;
            }
            Initializer::Orthogonal => {
                orthogonal(values, fan_in as usize, rng);
                return;
            }
            Initializer::UnitForgetBias => {
                let units = values.len() / 4;
                values.fill(F::zero());
                values[units..2 * units].fill(F::one());
                return;
            }
            // Keras's RandomUniform(-0.05, 0.05): limit² / 3 = 0.05² / 3.
            Initializer::Uniform => (0.05 * 0.05 / 3.0, 1.0, true),
            Initializer::GlorotUniform => (1.0, fan_avg, true),
            Initializer::GlorotNormal => (1.0, fan_avg, false),
            Initializer::HeUniform => (2.0, fan_in, true),
            Initializer::HeNormal => (2.0, fan_in, false),
            Initializer::LecunNormal => (1.0, fan_in, false),
            Initializer::LecunUniform => (1.0, fan_in, true),
        };
        if uniform {
            // Uniform on [-limit, limit) has variance limit² / 3 = scale / n.
            let limit = (3.0 * scale / n).sqrt();
            for v in values {
                *v = F::of(limit * (2.0 * rng.random::<f64>() - 1.0));
            }
        } else {
            let stddev = (scale / n).sqrt() / TRUNCATED_STDDEV;
            for v in values {
                let x = loop {
                    let x: f64 = rng.sample(StandardNormal);
                    if x.abs() <= 2.0 {
                        break x;
                    }
                };
                *v = F::of(stddev * x);
            }
        }
    }
}

/// Fills `values`, a `rows × (len / rows)` matrix, with Keras's `Orthogonal` (gain 1): the
/// `tall × wide` standard normal matrix `a` (the larger dimension first) is
/// orthonormalised column by column (Gram-Schmidt, each column twice, which gives the Q of
/// `a = QR` with R's diagonal positive, as Keras's sign correction does), and written as
/// it is or transposed. A `len` that `rows` does not divide is filled as one column.
fn orthogonal<F: Float>(values: &mut [F], rows: usize, rng: &mut crate::Rng) {
    let len = values.len();
    let (rows, cols) = match len.checked_div(rows) {
        Some(cols) if cols * rows == len => (rows, cols),
        _ => (len, 1),
    };
    let (tall, wide) = (rows.max(cols), rows.min(cols));
    // Column j of `a` is q[j * tall..][..tall].
    let mut q: Vec<f64> = (0..tall * wide)
        .map(|_| rng.sample(StandardNormal))
        .collect();
    for j in 0..wide {
        let (done, rest) = q.split_at_mut(j * tall);
        let column = &mut rest[..tall];
        for _ in 0..2 {
            for previous in done.chunks_exact(tall) {
                let dot: f64 = column.iter().zip(previous).map(|(a, b)| a * b).sum();
                column
                    .iter_mut()
                    .zip(previous)
                    .for_each(|(a, b)| *a -= dot * b);
            }
        }
        let norm = column.iter().map(|a| a * a).sum::<f64>().sqrt();
        column.iter_mut().for_each(|a| *a /= norm);
    }
    for (index, value) in values.iter_mut().enumerate() {
        let (i, j) = (index / cols, index % cols);
        // Entry (i, j) of `a` when rows ≥ cols, of `aᵀ` otherwise.
        let (row, column) = if rows >= cols { (i, j) } else { (j, i) };
        *value = F::of(q[column * tall + row]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Seed;

    fn fill<F: Float>(init: Initializer, len: usize, fan_in: usize, fan_out: usize) -> Vec<F> {
        let mut values = vec![F::nan(); len];
        init.fill(&mut values, fan_in, fan_out, &mut Seed(3).rng());
        values
    }

    #[test]
    fn same_seed_gives_same_values_in_f32_and_f64() {
        for &init in Initializer::ALL {
            let a = fill::<f64>(init, 1000, 30, 20);
            assert_eq!(a, fill::<f64>(init, 1000, 30, 20));
            let b = fill::<f32>(init, 1000, 30, 20);
            assert!(a.iter().zip(&b).all(|(&a, &b)| a as f32 == b), "{init:?}");
        }
        let mut other = vec![0.0f32; 1000];
        Initializer::HeNormal.fill(&mut other, 30, 20, &mut Seed(4).rng());
        assert_ne!(other, fill::<f32>(Initializer::HeNormal, 1000, 30, 20));
    }

    #[test]
    fn sample_variance_matches_keras_formula() {
        let (fan_in, fan_out, len) = (400, 200, 400_000);
        for &init in Initializer::ALL {
            let want = match init {
                Initializer::GlorotUniform | Initializer::GlorotNormal => {
                    2.0 / (fan_in + fan_out) as f64
                }
                Initializer::HeUniform | Initializer::HeNormal => 2.0 / fan_in as f64,
                Initializer::LecunNormal | Initializer::LecunUniform => 1.0 / fan_in as f64,
                Initializer::Uniform => 0.05 * 0.05 / 3.0,
                Initializer::Zeros
                | Initializer::Ones
                | Initializer::Orthogonal
                | Initializer::UnitForgetBias => continue,
            };
            let values = fill::<f64>(init, len, fan_in, fan_out);
            let mean = values.iter().sum::<f64>() / len as f64;
            let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / len as f64;
            // The variance estimate's relative standard error is about √(2/len) = 0.2%.
            assert!(
                (variance / want - 1.0).abs() < 0.01,
                "{init:?}: {variance} vs {want}"
            );
            assert!(
                mean.abs() < 5.0 * (want / len as f64).sqrt(),
                "{init:?}: mean {mean}"
            );
        }
    }

    #[test]
    fn uniform_initializers_stay_within_keras_limits() {
        for (init, limit) in [
            (Initializer::GlorotUniform, (6.0f64 / 300.0).sqrt()),
            (Initializer::HeUniform, (6.0f64 / 100.0).sqrt()),
            (Initializer::LecunUniform, (3.0f64 / 100.0).sqrt()),
        ] {
            let values = fill::<f64>(init, 100_000, 100, 200);
            assert!(values.iter().all(|v| v.abs() <= limit), "{init:?}");
            let max = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(
                max > 0.999 * limit,
                "{init:?} does not reach its limit: {max}"
            );
        }
    }

    #[test]
    fn truncated_normals_stay_within_two_stddev() {
        for (init, stddev) in [
            (Initializer::GlorotNormal, (2.0f64 / 300.0).sqrt()),
            (Initializer::HeNormal, (2.0f64 / 100.0).sqrt()),
            (Initializer::LecunNormal, (1.0f64 / 100.0).sqrt()),
        ] {
            let stddev = stddev / TRUNCATED_STDDEV;
            let values = fill::<f64>(init, 100_000, 100, 200);
            assert!(values.iter().all(|v| v.abs() <= 2.0 * stddev), "{init:?}");
            let max = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(
                max > 1.99 * stddev,
                "{init:?} is truncated too early: {max}"
            );
        }
    }

    /// The Gram matrix of the rows of `m` (`rows × cols`), or of its columns.
    fn gram(m: &[f64], rows: usize, cols: usize, of_rows: bool) -> Vec<f64> {
        let (count, len) = if of_rows { (rows, cols) } else { (cols, rows) };
        let at = |v: usize, k: usize| {
            if of_rows {
                m[v * cols + k]
            } else {
                m[k * cols + v]
            }
        };
        let mut g = vec![0.0; count * count];
        for a in 0..count {
            for b in 0..count {
                g[a * count + b] = (0..len).map(|k| at(a, k) * at(b, k)).sum();
            }
        }
        g
    }

    #[test]
    fn orthogonal_has_orthonormal_rows_or_columns_whichever_are_fewer() {
        // A recurrent kernel [units, 4·units], its transpose, a square one, and a
        // convolution's [3, 3, 2, 4] seen as [18, 4].
        for (len, fan_in, rows, cols) in [
            (8 * 32, 8, 8, 32),
            (32 * 8, 32, 32, 8),
            (16 * 16, 16, 16, 16),
            (3 * 3 * 2 * 4, 18, 18, 4),
        ] {
            let m = fill::<f64>(Initializer::Orthogonal, len, fan_in, 0);
            let g = gram(&m, rows, cols, rows <= cols);
            let n = rows.min(cols);
            for a in 0..n {
                for b in 0..n {
                    let want = if a == b { 1.0 } else { 0.0 };
                    assert!(
                        (g[a * n + b] - want).abs() < 1e-12,
                        "[{rows}, {cols}]: <{a}, {b}> = {}",
                        g[a * n + b]
                    );
                }
            }
        }
    }

    #[test]
    fn orthogonal_is_reproducible_and_varies_with_the_seed() {
        let a = fill::<f64>(Initializer::Orthogonal, 64, 4, 0);
        assert_eq!(a, fill::<f64>(Initializer::Orthogonal, 64, 4, 0));
        let mut b = vec![0.0f64; 64];
        Initializer::Orthogonal.fill(&mut b, 4, 0, &mut Seed(4).rng());
        assert_ne!(a, b);
    }

    #[test]
    fn unit_forget_bias_is_one_over_the_forget_gate_only() {
        let bias = fill::<f32>(Initializer::UnitForgetBias, 12, 0, 0);
        assert_eq!(bias, [0., 0., 0., 1., 1., 1., 0., 0., 0., 0., 0., 0.]);
    }

    #[test]
    fn zeros_and_ones_are_exact_and_fans_of_zero_are_safe() {
        assert!(
            fill::<f32>(Initializer::Zeros, 50, 5, 10)
                .iter()
                .all(|&v| v == 0.0)
        );
        assert!(
            fill::<f32>(Initializer::Ones, 50, 5, 10)
                .iter()
                .all(|&v| v == 1.0)
        );
        for &init in Initializer::ALL {
            assert!(
                fill::<f32>(init, 50, 0, 0).iter().all(|v| v.is_finite()),
                "{init:?}"
            );
        }
    }

    #[test]
    fn truncated_stddev_is_the_stddev_of_a_normal_cut_at_two() {
        // Var of N(0,1) truncated to [-2, 2] is 1 - 2·2·φ(2) / (2Φ(2) - 1).
        let pdf = (-2.0f64).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let mass = 0.954_499_736_103_641_6; // 2Φ(2) - 1 = erf(√2)
        let variance = 1.0 - 4.0 * pdf / mass;
        assert!((variance.sqrt() - TRUNCATED_STDDEV).abs() < 1e-15);
    }
}
