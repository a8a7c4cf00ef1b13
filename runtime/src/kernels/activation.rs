//! Activation functions, forward and backward, with Keras 3's definitions and names.
//!
//! Each function is matched once, outside its loop, so that the loop body is one
//! closure that the compiler inlines and vectorises where the maths allows.

use crate::Float;

pub use strata_vocabulary::Activation;

/// Keras 3's negative slope of `leaky_relu`.
const LEAKY_SLOPE: f64 = 0.2;
/// Keras's `selu` constants.
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// `a = act(z)`. Softmax works on rows of `row_len` values (the last axis); the others
/// are elementwise and ignore `row_len`.
///
/// ```
/// use strata_runtime::kernels::{Activation, activation_forward};
/// let mut a = [0.0f32; 4];
/// activation_forward(Activation::Relu, &[-1.0, 2.0, -3.0, 4.0], &mut a, 2);
/// assert_eq!(a, [0.0, 2.0, 0.0, 4.0]);
/// activation_forward(Activation::Softmax, &[0.0, 0.0, 1.0, 1.0], &mut a, 2);
/// assert_eq!(a, [0.5, 0.5, 0.5, 0.5]);
/// ```
pub fn activation_forward<F: Float>(act: Activation, z: &[F], a: &mut [F], row_len: usize) {
    debug_assert_eq!(
        z.len(),
        a.len(),
        "activation_forward: z and a differ in length"
    );
    let zero = F::zero();
    match act {
        Activation::Linear => a.copy_from_slice(z),
        Activation::Relu => map(z, a, |z| if z < zero { zero } else { z }),
        Activation::LeakyRelu => {
            let slope = F::of(LEAKY_SLOPE);
            map(z, a, |z| if z < zero { slope * z } else { z });
        }
        Activation::Elu => map(z, a, |z| if z > zero { z } else { z.exp_m1() }),
        Activation::Selu => {
            let (scale, scale_alpha) = (F::of(SELU_SCALE), F::of(SELU_SCALE * SELU_ALPHA));
            map(z, a, |z| {
                if z > zero {
                    scale * z
                } else {
                    scale_alpha * z.exp_m1()
                }
            });
        }
        Activation::Gelu => map(z, a, |z| {
            let x = z.as_f64();
            F::of(x * normal_cdf(x))
        }),
        Activation::Sigmoid => map(z, a, sigmoid),
        Activation::Tanh => map(z, a, F::fast_tanh),
        Activation::Softmax => softmax_forward(z, a, row_len),
        // log(1 + e^x) = log1p(e^-|x|) + max(x, 0): no overflow, no cancellation.
        Activation::Softplus => map(z, a, |z| (-z.abs()).exp().ln_1p() + z.max(zero)),
        Activation::Silu => map(z, a, |z| z * sigmoid(z)),
    }
}

/// `dz = da · act'(z)`, given both `z` and `a = act(z)`. For softmax it is the row-wise
/// Jacobian-vector product `dz = a ⊙ (da - ⟨da, a⟩)`.
///
/// ```
/// use strata_runtime::kernels::{Activation, activation_backward};
/// let (z, a) = ([-1.0f32, 2.0], [0.0, 2.0]);
/// let mut dz = [0.0; 2];
/// activation_backward(Activation::Relu, &z, &a, &[5.0, 5.0], &mut dz, 2);
/// assert_eq!(dz, [0.0, 5.0]);
/// ```
pub fn activation_backward<F: Float>(
    act: Activation,
    z: &[F],
    a: &[F],
    da: &[F],
    dz: &mut [F],
    row_len: usize,
) {
    debug_assert_eq!(
        z.len(),
        dz.len(),
        "activation_backward: z and dz differ in length"
    );
    debug_assert_eq!(
        a.len(),
        dz.len(),
        "activation_backward: a and dz differ in length"
    );
    debug_assert_eq!(
        da.len(),
        dz.len(),
        "activation_backward: da and dz differ in length"
    );
    let zero = F::zero();
    let one = F::one();
    match act {
        Activation::Linear => dz.copy_from_slice(da),
        Activation::Relu => map2(z, da, dz, |z, da| if z > zero { da } else { zero }),
        Activation::LeakyRelu => {
            let slope = F::of(LEAKY_SLOPE);
            map2(z, da, dz, |z, da| if z > zero { da } else { slope * da });
        }
        // For z ≤ 0, a = e^z - 1, so a' = e^z = a + 1.
        Activation::Elu => map3(
            z,
            a,
            da,
            dz,
            |z, a, da| {
                if z > zero { da } else { da * (a + one) }
            },
        ),
        // For z ≤ 0, a = s·α·(e^z - 1), so a' = s·α·e^z = a + s·α.
        Activation::Selu => {
            let (scale, scale_alpha) = (F::of(SELU_SCALE), F::of(SELU_SCALE * SELU_ALPHA));
            map3(z, a, da, dz, |z, a, da| {
                if z > zero {
                    scale * da
                } else {
                    da * (a + scale_alpha)
                }
            });
        }
        // (x Φ(x))' = Φ(x) + x φ(x).
        Activation::Gelu => map2(z, da, dz, |z, da| {
            let x = z.as_f64();
            let pdf = (-0.5 * x * x).exp() * FRAC_1_SQRT_2PI;
            da * F::of(normal_cdf(x) + x * pdf)
        }),
        Activation::Sigmoid => map2(a, da, dz, |a, da| da * a * (one - a)),
        Activation::Tanh => map2(a, da, dz, |a, da| da * (one - a * a)),
        Activation::Softmax => softmax_backward(a, da, dz, row_len),
        Activation::Softplus => map2(z, da, dz, |z, da| da * sigmoid(z)),
        // (x σ(x))' = σ + x σ (1 - σ).
        Activation::Silu => map2(z, da, dz, |z, da| {
            let s = sigmoid(z);
            da * s * (one + z * (one - s))
        }),
    }
}

#[inline(always)]
fn map<F: Float>(z: &[F], a: &mut [F], f: impl Fn(F) -> F) {
    for (a, &z) in a.iter_mut().zip(z) {
        *a = f(z);
    }
}

#[inline(always)]
fn map2<F: Float>(x: &[F], da: &[F], dz: &mut [F], f: impl Fn(F, F) -> F) {
    for ((dz, &x), &da) in dz.iter_mut().zip(x).zip(da) {
        *dz = f(x, da);
    }
}

#[inline(always)]
fn map3<F: Float>(z: &[F], a: &[F], da: &[F], dz: &mut [F], f: impl Fn(F, F, F) -> F) {
    for (((dz, &z), &a), &da) in dz.iter_mut().zip(z).zip(a).zip(da) {
        *dz = f(z, a, da);
    }
}

/// `1 / (1 + e^-x)`, from `e^-|x|` so that neither branch overflows.
#[inline(always)]
fn sigmoid<F: Float>(x: F) -> F {
    let e = (-x.abs()).fast_exp();
    let s = F::one() / (F::one() + e);
    if x < F::zero() { e * s } else { s }
}

fn softmax_forward<F: Float>(z: &[F], a: &mut [F], row_len: usize) {
    if z.is_empty() {
        return;
    }
    debug_assert!(
        row_len > 0 && z.len().is_multiple_of(row_len),
        "softmax: rows of {row_len}"
    );
    for (z, a) in z.chunks_exact(row_len).zip(a.chunks_exact_mut(row_len)) {
        let max = z.iter().copied().fold(F::neg_infinity(), F::max);
        let mut sum = F::zero();
        for (a, &z) in a.iter_mut().zip(z) {
            *a = (z - max).exp();
            sum += *a;
        }
        let scale = F::one() / sum;
        a.iter_mut().for_each(|a| *a *= scale);
    }
}

fn softmax_backward<F: Float>(a: &[F], da: &[F], dz: &mut [F], row_len: usize) {
    if a.is_empty() {
        return;
    }
    debug_assert!(
        row_len > 0 && a.len().is_multiple_of(row_len),
        "softmax: rows of {row_len}"
    );
    let rows = a.chunks_exact(row_len).zip(da.chunks_exact(row_len));
    for ((a, da), dz) in rows.zip(dz.chunks_exact_mut(row_len)) {
        let dot = dot(a, da);
        for ((dz, &a), &da) in dz.iter_mut().zip(a).zip(da) {
            *dz = a * (da - dot);
        }
    }
}

/// `Σ x[i]·y[i]` in eight interleaved partial sums, which vectorise (one running sum is
/// bound by the latency of its additions: this makes softmax's backward 4 times faster).
fn dot<F: Float>(x: &[F], y: &[F]) -> F {
    const LANES: usize = 8;
    let mut sums = [F::zero(); LANES];
    let (x_chunks, y_chunks) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let tail: F = x_chunks
        .remainder()
        .iter()
        .zip(y_chunks.remainder())
        .map(|(&x, &y)| x * y)
        .sum();
    for (x, y) in x_chunks.zip(y_chunks) {
        for j in 0..LANES {
            sums[j] += x[j] * y[j];
        }
    }
    sums.iter().copied().sum::<F>() + tail
}

const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Φ(x), the standard normal's distribution function, as `erfc(-x/√2) / 2`: unlike
/// `(1 + erf(x/√2)) / 2` it keeps full relative precision in the lower tail.
fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// The complementary error function, to within about an ulp: FreeBSD's `s_erf.c`
/// (the fdlibm algorithm), as ported in the `libm` crate.
//
// ====================================================
// Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
//
// Developed at SunPro, a Sun Microsystems, Inc. business.
// Permission to use, copy, modify, and distribute this
// software is freely granted, provided that this notice
// is preserved.
// ====================================================
#[allow(clippy::excessive_precision, clippy::unreadable_literal)]
fn erfc(x: f64) -> f64 {
    // erf(x) = x + x·P(x²)/Q(x²) on |x| < 0.84375.
    const PP: [f64; 5] = [
        1.28379167095512558561e-01,
        -3.25042107247001499370e-01,
        -2.84817495755985104766e-02,
        -5.77027029648944159157e-03,
        -2.37630166566501626084e-05,
    ];
    const QQ: [f64; 5] = [
        3.97917223959155352819e-01,
        6.50222499887672944485e-02,
        5.08130628187576562776e-03,
        1.32494738004321644526e-04,
        -3.96022827877536812320e-06,
    ];
    // erf(1 + s) = ERX + PA(s)/QA(s) on 0.84375 ≤ |x| < 1.25.
    const ERX: f64 = 8.45062911510467529297e-01;
    const PA: [f64; 7] = [
        -2.36211856075265944077e-03,
        4.14856118683748331666e-01,
        -3.72207876035701323847e-01,
        3.18346619901161753674e-01,
        -1.10894694282396677476e-01,
        3.54783043256182359371e-02,
        -2.16637559486879084300e-03,
    ];
    const QA: [f64; 6] = [
        1.06420880400844228286e-01,
        5.40397917702171048937e-01,
        7.18286544141962662868e-02,
        1.26171219808761642112e-01,
        1.36370839120290507362e-02,
        1.19844998467991074170e-02,
    ];
    // erfc(x) = exp(-x² - 0.5625 + R(1/x²)/S(1/x²)) / x on 1.25 ≤ |x| < 1/0.35 ...
    const RA: [f64; 8] = [
        -9.86494403484714822705e-03,
        -6.93858572707181764372e-01,
        -1.05586262253232909814e+01,
        -6.23753324503260060396e+01,
        -1.62396669462573470355e+02,
        -1.84605092906711035994e+02,
        -8.12874355063065934246e+01,
        -9.81432934416914548592e+00,
    ];
    const SA: [f64; 8] = [
        1.96512716674392571292e+01,
        1.37657754143519042600e+02,
        4.34565877475229228821e+02,
        6.45387271733267880336e+02,
        4.29008140027567833386e+02,
        1.08635005541779435134e+02,
        6.57024977031928170135e+00,
        -6.04244152148580987438e-02,
    ];
    // ... and on 1/0.35 ≤ |x| < 28.
    const RB: [f64; 7] = [
        -9.86494292470009928597e-03,
        -7.99283237680523006574e-01,
        -1.77579549177547519889e+01,
        -1.60636384855821916062e+02,
        -6.37566443368389627722e+02,
        -1.02509513161107724954e+03,
        -4.83519191608651397019e+02,
    ];
    const SB: [f64; 7] = [
        3.03380607434824582924e+01,
        3.25792512996573918826e+02,
        1.53672958608443695994e+03,
        3.19985821950859553908e+03,
        2.55305040643316442583e+03,
        4.74528541206955367215e+02,
        -2.24409524465858183362e+01,
    ];
    /// c0 + c1·t + c2·t² + ..., by Horner.
    fn poly(c: &[f64], t: f64) -> f64 {
        c.iter().rev().fold(0.0, |acc, &c| acc * t + c)
    }

    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    if ax < 0.84375 {
        if ax < f64::EPSILON / 8.0 {
            return 1.0 - x;
        }
        let z = x * x;
        let y = poly(&PP, z) / (1.0 + z * poly(&QQ, z));
        return if x < 0.25 {
            1.0 - (x + x * y)
        } else {
            0.5 - (x - 0.5 + x * y)
        };
    }
    let tail = if ax < 1.25 {
        let s = ax - 1.0;
        1.0 - ERX - poly(&PA, s) / (1.0 + s * poly(&QA, s))
    } else if ax < 28.0 {
        let s = 1.0 / (ax * ax);
        let (r, big_s) = if ax < 1.0 / 0.35 {
            (poly(&RA, s), 1.0 + s * poly(&SA, s))
        } else {
            (poly(&RB, s), 1.0 + s * poly(&SB, s))
        };
        // exp(-x²) as exp(-z²)·exp((z - x)(z + x)) with z = x cut to 32 significant
        // bits, so that -z² is exact.
        let z = f64::from_bits(ax.to_bits() & 0xffff_ffff_0000_0000);
        (-z * z - 0.5625).exp() * ((z - ax) * (z + ax) + r / big_s).exp() / ax
    } else {
        0.0
    };
    if x < 0.0 { 2.0 - tail } else { tail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gradcheck::{assert_gradient_matches, random_away_from_zero};
    use rand::SeedableRng;

    #[test]
    #[allow(clippy::excessive_precision)] // reference values as mpmath printed them
    fn erfc_matches_known_values() {
        // erfc(x) from mpmath at 30 digits, rounded to 20.
        let known = [
            (0.0, 1.0),
            (1e-10, 0.999_999_999_887_162_083_29),
            (-1e-10, 1.000_000_000_112_837_916_7),
            (0.1, 0.887_537_083_981_715_107_8),
            (0.5, 0.479_500_122_186_953_462_32),
            (0.84375, 0.232_774_338_767_658_366_54),
            (1.0, 0.157_299_207_050_285_130_66),
            (1.25, 0.077_099_871_743_541_769_863),
            (2.0, 0.004_677_734_981_047_265_837_9),
            (2.5, 0.000_406_952_017_444_958_939_56),
            (2.875, 0.000_047_854_839_743_773_412_997),
            (3.0, 0.000_022_090_496_998_585_441_373),
            (5.0, 1.537_459_794_428_034_850_2e-12),
            (10.0, 2.088_487_583_762_544_757e-45),
            (26.0, 5.663_192_408_856_142_846_5e-296),
            (-0.5, 1.520_499_877_813_046_537_7),
            (-2.0, 1.995_322_265_018_952_734_2),
        ];
        for (x, want) in known {
            let got = erfc(x);
            assert!(
                (got - want).abs() <= 4.0 * f64::EPSILON * want.abs().max(f64::MIN_POSITIVE),
                "erfc({x}) = {got}, want {want}"
            );
        }
        assert_eq!(erfc(30.0), 0.0);
        assert_eq!(erfc(f64::INFINITY), 0.0);
        assert_eq!(erfc(f64::NEG_INFINITY), 2.0);
        assert!(erfc(f64::NAN).is_nan());
    }

    /// act(z), one value at a time, in f64: the definitions as written in Keras.
    #[allow(clippy::excessive_precision, clippy::unreadable_literal)]
    fn reference(act: Activation, z: f64) -> f64 {
        let sigmoid = 1.0 / (1.0 + (-z).exp());
        match act {
            Activation::Linear => z,
            Activation::Relu => z.max(0.0),
            Activation::LeakyRelu => {
                if z > 0.0 {
                    z
                } else {
                    0.2 * z
                }
            }
            Activation::Elu => {
                if z > 0.0 {
                    z
                } else {
                    z.exp() - 1.0
                }
            }
            Activation::Selu => {
                // The literals of keras/src/activations/activations.py.
                let alpha = 1.67326324235437728481;
                let scale = 1.05070098735548049342;
                scale * if z > 0.0 { z } else { alpha * (z.exp() - 1.0) }
            }
            Activation::Gelu => 0.5 * z * (1.0 + (1.0 - erfc(z / 2f64.sqrt()))),
            Activation::Sigmoid => sigmoid,
            Activation::Tanh => z.tanh(),
            Activation::Softmax => unreachable!("softmax is not elementwise"),
            Activation::Softplus => (1.0 + z.exp()).ln(),
            Activation::Silu => z * sigmoid,
        }
    }

    #[test]
    #[allow(clippy::excessive_precision)] // reference values as mpmath printed them
    fn gelu_is_exact_in_both_tails() {
        // x·Φ(x) from mpmath at 30 digits, rounded to 20. The tolerance is 1e-14, not a few
        // ulps: at z = -6, rounding z/√2 alone moves erfc by 4e-15 relative.
        let known = [
            (-6.0, -5.919_525_870_226_188_844_2e-9),
            (-3.0, -0.004_049_694_094_890_283_58),
            (-1.0, -0.158_655_253_931_457_051_41),
            (-0.5, -0.154_268_769_362_993_448_18),
            (0.5, 0.345_731_230_637_006_551_82),
            (1.0, 0.841_344_746_068_542_948_59),
            (3.0, 2.995_950_305_905_109_716_4),
        ];
        for (z, want) in known {
            let mut a = [0.0f64];
            activation_forward(Activation::Gelu, &[z], &mut a, 1);
            assert!(
                (a[0] - want).abs() <= 1e-14 * want.abs(),
                "gelu({z}) = {}",
                a[0]
            );
        }
    }

    #[test]
    fn elementwise_activations_match_their_definitions_in_f32_and_f64() {
        let z: Vec<f64> = (-80..=80).map(|i| f64::from(i) * 0.0625).collect();
        for &act in Activation::ALL {
            if act == Activation::Softmax {
                continue;
            }
            let mut a64 = vec![0.0; z.len()];
            activation_forward(act, &z, &mut a64, 1);
            let z32: Vec<f32> = z.iter().map(|&z| z as f32).collect();
            let mut a32 = vec![0.0f32; z.len()];
            activation_forward(act, &z32, &mut a32, 1);
            for i in 0..z.len() {
                let want = reference(act, z[i]);
                assert!(
                    (a64[i] - want).abs() <= 1e-14 * (1.0 + want.abs()),
                    "{act:?}({}) = {}, want {want}",
                    z[i],
                    a64[i]
                );
                assert!(
                    (f64::from(a32[i]) - want).abs() <= 1e-6 * (1.0 + want.abs()),
                    "{act:?}({}) = {} in f32, want {want}",
                    z[i],
                    a32[i]
                );
            }
        }
    }

    #[test]
    fn sigmoid_softplus_silu_and_softmax_stay_finite_for_huge_inputs() {
        let z = [-1e4f32, -100.0, 100.0, 1e4];
        let tiny = (-100.0f32).exp(); // 3.8e-44, a subnormal
        let mut a = [0.0f32; 4];
        activation_forward(Activation::Sigmoid, &z, &mut a, 1);
        assert_eq!(a, [0.0, tiny, 1.0, 1.0]);
        activation_forward(Activation::Softplus, &z, &mut a, 1);
        assert_eq!(a, [0.0, tiny, 100.0, 1e4]);
        activation_forward(Activation::Silu, &z, &mut a, 1);
        assert_eq!(a, [-0.0, -100.0 * tiny, 100.0, 1e4]);
        activation_forward(Activation::Softmax, &z, &mut a, 2); // rows [-1e4, -100], [100, 1e4]
        assert_eq!(a, [0.0, 1.0, 0.0, 1.0]);
        let mut dz = [0.0f32; 4];
        for act in [Activation::Sigmoid, Activation::Softplus, Activation::Silu] {
            activation_forward(act, &z, &mut a, 1);
            activation_backward(act, &z, &a, &[1.0; 4], &mut dz, 1);
            assert!(dz.iter().all(|d| d.is_finite()), "{act:?}: {dz:?}");
        }
    }

    #[test]
    fn softmax_rows_sum_to_one_and_match_the_definition() {
        let z = [1.0f64, 2.0, 3.0, -1.0, 0.0, 1000.0];
        let mut a = [0.0; 6];
        activation_forward(Activation::Softmax, &z, &mut a, 3);
        let e: Vec<f64> = z[..3].iter().map(|z| z.exp()).collect();
        let sum: f64 = e.iter().sum();
        for j in 0..3 {
            assert!((a[j] - e[j] / sum).abs() < 1e-15);
        }
        assert_eq!(a[3..], [0.0, 0.0, 1.0]);
        for row in a.chunks(3) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        }
    }

    #[test]
    fn every_activation_backward_matches_finite_differences() {
        let mut rng = crate::Rng::seed_from_u64(3);
        let (rows, row_len) = (3, 11); // softmax rows: one chunk of 8 and a tail
        for &act in Activation::ALL {
            let z = random_away_from_zero(rows * row_len, &mut rng);
            let weights = random_away_from_zero(rows * row_len, &mut rng);
            let loss = |z: &[f64]| {
                let mut a = vec![0.0; z.len()];
                activation_forward(act, z, &mut a, row_len);
                a.iter().zip(&weights).map(|(a, w)| a * w).sum()
            };
            let mut a = vec![0.0; z.len()];
            activation_forward(act, &z, &mut a, row_len);
            let mut dz = vec![0.0; z.len()];
            activation_backward(act, &z, &a, &weights, &mut dz, row_len);
            assert_gradient_matches(&format!("{act:?}"), loss, &z, &dz);
        }
    }
}
