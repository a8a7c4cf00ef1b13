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
