use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// The floating-point types a model computes in: `f32` (the default) and `f64`
/// (for gradient checks).
pub trait Float:
    num_traits::Float
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// The safetensors name of the type: `"F32"` or `"F64"`.
    const DTYPE: &'static str;

    /// `x` rounded to this type.
    fn of(x: f64) -> Self;

    /// This value as an `f64`.
    fn as_f64(self) -> f64;

    /// Zero in place of a subnormal value, this value otherwise.
    ///
    /// Values that decay towards zero step after step (an optimizer's moments, the
    /// gradient of a class the model has long ruled out) end up subnormal, and arithmetic
    /// on subnormals is up to a hundred times slower on many CPUs: it once made a training
    /// step four times slower. Flushing them where they arise keeps every step at full
    /// speed; the values lost are below the smallest normal number (1.2e-38 in `f32`).
    /// Written as a select, so that loops using it still vectorize.
    #[inline(always)]
    fn flushed(self) -> Self {
        if self.abs() < Self::min_positive_value() {
            Self::zero()
        } else {
            self
        }
    }

    /// `e^x` for the activations' loops: in `f32` a branch-free polynomial that the
    /// compiler vectorizes (within 2 ulp of the exact value, tested), in `f64` the
    /// standard library's. The library's `expf` is a call per value; in an LSTM, whose
    /// gates take a sigmoid or a tanh of every value, those calls took a third of a step.
    #[inline(always)]
    fn fast_exp(self) -> Self {
        self.exp()
    }

    /// `tanh(x)`, as [`Float::fast_exp`]: vectorized in `f32` (within 3 ulp), the
    /// standard library's in `f64`.
    #[inline(always)]
    fn fast_tanh(self) -> Self {
        self.tanh()
    }
}

impl Float for f32 {
    const DTYPE: &'static str = "F32";

    fn of(x: f64) -> Self {
        x as f32
    }

    fn as_f64(self) -> f64 {
        f64::from(self)
    }

    #[inline(always)]
    fn fast_exp(self) -> Self {
        exp_f32(self)
    }

    #[inline(always)]
    fn fast_tanh(self) -> Self {
        tanh_f32(self)
    }
}

/// Cephes's `expf`: `e^x = 2^n · e^r` with `n = round(x·log₂e)` and `|r| ≤ ln2 / 2`, `e^r`
/// a polynomial of degree 7. Inputs are clamped to [-104, 88], where the result becomes 0 and
/// stays finite; `2^n` is applied in two halves so that results below the smallest normal
/// number round to the subnormal they are.
#[inline(always)]
#[allow(clippy::excessive_precision, clippy::unreadable_literal)]
fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-104.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    // ln 2 in two parts, the first exact in a few bits, so that x - n·ln2 is exact.
    let r = x - n * 0.693_359_375 - n * -2.121_944_4e-4;
    let p = 1.987_569_15e-4_f32;
    let p = p * r + 1.398_199_950_7e-3;
    let p = p * r + 8.333_451_907_3e-3;
    let p = p * r + 4.166_579_589_4e-2;
    let p = p * r + 1.666_666_545_9e-1;
    let p = p * r + 5.000_000_120_1e-1;
    let e = p * r * r + r + 1.0;
    // n as an integer from the bits of n + 1.5·2²³, whose last bits hold it: `n as i32`
    // saturates, and saturating conversions do not vectorize.
    let n = (n + 12_582_912.0).to_bits() as i32 - 0x4B40_0000;
    let half = n / 2;
    let scale = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    e * scale(half) * scale(n - half)
}

/// `tanh(x)`: below |x| = 1/2 its odd Taylor series to x¹⁷ (the next term is below
/// 10⁻⁹ of the value), above it `1 - 2 / (e^{2|x|} + 1)`, with the sign of `x`.
#[inline(always)]
fn tanh_f32(x: f32) -> f32 {
    // Not `min`, which would turn NaN into 10: tanh(10) is 1 in f32.
    let a = x.abs();
    let a = if a > 10.0 { 10.0 } else { a };
    let a2 = a * a;
    const SERIES: [f32; 9] = [
        1.0,
        -1.0 / 3.0,
        2.0 / 15.0,
        -17.0 / 315.0,
        62.0 / 2835.0,
        -1382.0 / 155_925.0,
        21844.0 / 6_081_075.0,
        -929_569.0 / 638_512_875.0,
        6_404_582.0 / 10_854_718_875.0,
    ];
    let series = a * SERIES.iter().rev().fold(0.0, |sum, &c| sum * a2 + c);
    let formula = 1.0 - 2.0 / (exp_f32(2.0 * a) + 1.0);
    let t = if a < 0.5 { series } else { formula };
    t.copysign(x)
}

impl Float for f64 {
    const DTYPE: &'static str = "F64";

    fn of(x: f64) -> Self {
        x
    }

    fn as_f64(self) -> f64 {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::Float;

    #[test]
    fn flushed_zeroes_subnormals_and_keeps_everything_else() {
        let subnormal_f32 = f32::MIN_POSITIVE / 4.0;
        assert!(subnormal_f32.is_subnormal());
        assert_eq!(subnormal_f32.flushed(), 0.0);
        assert_eq!((-subnormal_f32).flushed(), 0.0);
        let subnormal_f64 = f64::MIN_POSITIVE / 4.0;
        assert_eq!(subnormal_f64.flushed(), 0.0);
        for value in [f32::MIN_POSITIVE, -1.5, 0.0, 3e-30, f32::INFINITY] {
            assert_eq!(value.flushed(), value);
        }
        assert!(f32::NAN.flushed().is_nan());
    }

    /// The distance between `got` and `want` (rounded to f32) in units in the last place.
    fn ulps(got: f32, want: f64) -> u32 {
        let want = want as f32;
        if got == want {
            return 0;
        }
        let (g, w) = (got.to_bits() as i64, want.to_bits() as i64);
        assert_eq!(
            got.signum(),
            want.signum(),
            "{got} and {want} differ in sign"
        );
        (g - w).unsigned_abs() as u32
    }

    #[test]
    fn fast_exp_in_f32_is_within_two_ulps() {
        for i in -1_040_000..=880_000 {
            let x = i as f32 * 1e-4;
            let want = f64::from(x).exp();
            assert!(ulps(x.fast_exp(), want) <= 2, "exp({x}) = {}", x.fast_exp());
        }
        // Down to the subnormals and 0, up to the largest value kept.
        assert_eq!((-100.0f32).fast_exp(), (-100.0f32).exp());
        assert_eq!((-1e4f32).fast_exp(), 0.0);
        assert!((1e4f32).fast_exp().is_finite());
        assert!(f32::NAN.fast_exp().is_nan());
        assert_eq!(2.5f64.fast_exp(), 2.5f64.exp());
    }

    #[test]
    fn fast_tanh_in_f32_is_within_three_ulps() {
        for i in -120_000..=120_000 {
            let x = i as f32 * 1e-4;
            let want = f64::from(x).tanh();
            assert!(
                ulps(x.fast_tanh(), want) <= 3,
                "tanh({x}) = {}",
                x.fast_tanh()
            );
        }
        for x in [1e-30f32, -1e-8, 20.0, -1e4, f32::MAX] {
            assert_eq!(x.fast_tanh(), x.tanh(), "tanh({x})");
        }
        assert!(f32::NAN.fast_tanh().is_nan());
        assert_eq!((0.3f64).fast_tanh(), 0.3f64.tanh());
    }
}
