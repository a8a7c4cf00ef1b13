//! Weight initializers, seeded and reproducible, with Keras's names and distributions.

use rand::Rng as _;
use rand_distr::StandardNormal;

use crate::Float;

/// How a parameter tensor starts, as named in Keras (`kernel_initializer = he_normal`).
///
/// The random ones are Keras's `VarianceScaling` variants: the variance is
/// `scale / n`, where `n` is `fan_in`, or the mean of `fan_in` and `fan_out` for the
/// Glorot pair (each at least 1). The `_normal` ones draw from a normal truncated at two
/// standard deviations, widened by Keras's 1/0.8796... so that the variance is still
/// `scale / n`.
///
/// ```
/// use strata_runtime::{Seed, init::Initializer};
/// let mut kernel = vec![0.0f32; 784 * 128];
/// Initializer::GlorotUniform.fill(&mut kernel, 784, 128, &mut Seed(42).rng());
/// let limit = (6.0f32 / (784.0 + 128.0)).sqrt();
/// assert!(kernel.iter().all(|w| w.abs() <= limit));
/// assert_eq!(Initializer::from_name("he_normal"), Some(Initializer::HeNormal));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Initializer {
    /// `glorot_uniform` (Keras's default for kernels): uniform on ±√(6 / (fan_in + fan_out)).
    GlorotUniform,
    /// `glorot_normal`: truncated normal, variance 2 / (fan_in + fan_out).
    GlorotNormal,
    /// `he_uniform`: uniform on ±√(6 / fan_in).
    HeUniform,
    /// `he_normal`: truncated normal, variance 2 / fan_in.
    HeNormal,
    /// `lecun_normal`: truncated normal, variance 1 / fan_in.
    LecunNormal,
    /// `lecun_uniform`: uniform on ±√(3 / fan_in).
    LecunUniform,
    /// `zeros` (Keras's default for biases).
    Zeros,
    /// `ones`.
    Ones,
}

/// The standard deviation of a standard normal truncated to [-2, 2]: Keras divides by it.
const TRUNCATED_STDDEV: f64 = 0.879_625_661_034_239_8;

impl Initializer {
    /// Every initializer, in declaration order.
    pub const ALL: &'static [Initializer] = &[
        Initializer::GlorotUniform,
        Initializer::GlorotNormal,
        Initializer::HeUniform,
        Initializer::HeNormal,
        Initializer::LecunNormal,
        Initializer::LecunUniform,
        Initializer::Zeros,
        Initializer::Ones,
    ];

    /// Keras's name for the initializer.
    pub const fn name(self) -> &'static str {
        match self {
            Initializer::GlorotUniform => "glorot_uniform",
            Initializer::GlorotNormal => "glorot_normal",
            Initializer::HeUniform => "he_uniform",
            Initializer::HeNormal => "he_normal",
            Initializer::LecunNormal => "lecun_normal",
            Initializer::LecunUniform => "lecun_uniform",
            Initializer::Zeros => "zeros",
            Initializer::Ones => "ones",
        }
    }

    /// The initializer Keras calls `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|init| init.name() == name)
    }

    /// Fills `values` with this initializer's distribution for a tensor with these fans
    /// (for a Dense kernel `[inputs, units]`: `fan_in = inputs`, `fan_out = units`).
    ///
    /// Values are drawn in `f64` and then rounded, so an `f32` and an `f64` model from the
    /// same seed start from the same weights, up to rounding.
    pub fn fill<F: Float>(
        self,
        values: &mut [F],
        fan_in: usize,
        fan_out: usize,
        rng: &mut crate::Rng,
    ) {
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
    fn names_round_trip() {
        for &init in Initializer::ALL {
            assert_eq!(Initializer::from_name(init.name()), Some(init));
        }
        assert_eq!(Initializer::ALL.len(), 8);
        assert_eq!(Initializer::from_name("GlorotUniform"), None);
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
                Initializer::Zeros | Initializer::Ones => continue,
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
