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
}

impl Float for f32 {
    const DTYPE: &'static str = "F32";

    fn of(x: f64) -> Self {
        x as f32
    }

    fn as_f64(self) -> f64 {
        f64::from(self)
    }
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
}
