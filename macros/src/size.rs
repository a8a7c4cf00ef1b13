//! Sizes counted without overflow: every product of dimensions the macro forms goes through
//! here, so that a model too large to hold is a spanned error, never a wrapped number or a
//! panic.

/// The most values one buffer may hold: a `Vec<f64>` holds at most `isize::MAX` bytes.
pub const MAX_VALUES: u128 = (isize::MAX as u128) / 8;

/// The product of `dims`, exact up to `u128::MAX` (where it saturates).
pub fn product(dims: &[usize]) -> u128 {
    dims.iter()
        .fold(1u128, |total, &d| total.saturating_mul(d as u128))
}

/// `n` as a `usize`, when one buffer can hold that many values.
pub fn fits(n: u128) -> Option<usize> {
    (n <= MAX_VALUES).then_some(n as usize)
}

/// The number of values in `dims`, when one buffer can hold them.
pub fn len(dims: &[usize]) -> Option<usize> {
    fits(product(dims))
}

/// `n`, or "more than 340...455" when it saturated.
pub fn count_str(n: u128) -> String {
    if n == u128::MAX {
        format!("more than {n}")
    } else {
        n.to_string()
    }
}

/// "..., more than one buffer can hold (at most 1152921504606846975 values)".
pub fn limit_str() -> String {
    format!("more than one buffer can hold (at most {MAX_VALUES} values)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_saturate_instead_of_wrapping() {
        assert_eq!(product(&[28, 28, 1]), 784);
        assert_eq!(product(&[usize::MAX, usize::MAX, 2]), u128::MAX);
        assert_eq!(len(&[usize::MAX, 2]), None);
        assert_eq!(len(&[1 << 20, 1 << 20]), Some(1 << 40));
        assert_eq!(count_str(u128::MAX), format!("more than {}", u128::MAX));
    }
}
