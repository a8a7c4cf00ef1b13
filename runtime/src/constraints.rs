//! Keras's weight constraints, applied to a weight after every optimizer step:
//! `MaxNorm`, `MinMaxNorm`, `NonNeg` and `UnitNorm`. A norm is taken over `axes` of the
//! weight (Keras's `axis`, 0 by default: for a Dense kernel `[inputs, units]`, each unit's
//! incoming weights), separately for every index of the other axes.
//!
//! ```
//! use strata_runtime::constraints::Constraint;
//!
//! // A [2, 2] kernel whose second column has norm 5.
//! let mut kernel = [0.6f32, 3.0, 0.8, 4.0];
//! Constraint::MaxNorm { max_value: 1.0, axes: &[0] }.apply(&mut kernel, &[2, 2]);
//! assert!((kernel[1] - 0.6).abs() < 1e-6 && (kernel[3] - 0.8).abs() < 1e-6);
//! assert!((kernel[0] - 0.6).abs() < 1e-6, "a column within the norm stays");
//! ```

use crate::Float;

/// Keras's `backend.epsilon()`, which keeps a division by a norm away from zero.
const EPSILON: f64 = 1e-7;

/// The most axes a constrained weight has.
const MAX_RANK: usize = 8;

/// A constraint on a weight's values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Constraint {
    /// Norms over `axes` at most `max_value`.
    MaxNorm {
        max_value: f64,
        axes: &'static [usize],
    },
    /// Norms over `axes` moved `rate` of the way into `[min_value, max_value]`.
    MinMaxNorm {
        min_value: f64,
        max_value: f64,
        rate: f64,
        axes: &'static [usize],
    },
    /// No negative value.
    NonNeg,
    /// Norms over `axes` of one.
    UnitNorm { axes: &'static [usize] },
}

impl Constraint {
    /// Constrains `values`, a weight of `shape`.
    pub fn apply<F: Float>(&self, values: &mut [F], shape: &[usize]) {
        match *self {
            Constraint::NonNeg => {
                for v in values {
                    if *v < F::zero() {
                        *v = F::zero();
                    }
                }
            }
            Constraint::MaxNorm { max_value, axes } => {
                scale_norms(values, shape, axes, |norm| norm.clamp(0.0, max_value));
            }
            Constraint::MinMaxNorm {
                min_value,
                max_value,
                rate,
                axes,
            } => scale_norms(values, shape, axes, |norm| {
                rate * norm.clamp(min_value, max_value) + (1.0 - rate) * norm
            }),
            Constraint::UnitNorm { axes } => scale_norms(values, shape, axes, |_| 1.0),
        }
    }
}

/// Multiplies each group of `values` (the values that share their index on the axes not
/// in `axes`) by `desired(norm) / (EPSILON + norm)`, as Keras does.
fn scale_norms<F: Float>(
    values: &mut [F],
    shape: &[usize],
    axes: &[usize],
    desired: impl Fn(f64) -> f64,
) {
    let rank = shape.len().min(MAX_RANK);
    let mut strides = [0usize; MAX_RANK];
    let mut stride = 1;
    for axis in (0..rank).rev() {
        strides[axis] = stride;
        stride *= shape[axis];
    }
    let reduced = |axis: usize| axes.contains(&axis);
    // The kept axes, in a fixed array: a constraint runs after every step and allocates
    // nothing.
    let (mut kept, mut kept_rank) = ([0usize; MAX_RANK], 0);
    for axis in (0..rank).filter(|&a| !reduced(a)) {
        kept[kept_rank] = axis;
        kept_rank += 1;
    }
    let kept = &kept[..kept_rank];
    let kept_count: usize = kept.iter().map(|&a| shape[a]).product();
    let members: usize = (0..rank)
        .filter(|&a| reduced(a))
        .map(|a| shape[a])
        .product();
    for group in 0..kept_count {
        // The offset of the group's first value, from its index on the kept axes.
        let mut rest = group;
        let mut base = 0;
        for &axis in kept.iter().rev() {
            base += (rest % shape[axis]) * strides[axis];
            rest /= shape[axis];
        }
        let member = |m: usize| {
            let (mut rest, mut offset) = (m, base);
            for axis in (0..rank).rev().filter(|&a| reduced(a)) {
                offset += (rest % shape[axis]) * strides[axis];
                rest /= shape[axis];
            }
            offset
        };
        let norm = (0..members)
            .map(|m| values[member(m)].as_f64().powi(2))
            .sum::<f64>()
            .sqrt();
        let factor = F::of(desired(norm) / (EPSILON + norm));
        for m in 0..members {
            values[member(m)] *= factor;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_norm_over_the_first_axis_normalizes_each_column() {
        let mut w = [3.0f64, 1.0, 4.0, 0.0];
        Constraint::UnitNorm { axes: &[0] }.apply(&mut w, &[2, 2]);
        assert!((w[0] - 0.6).abs() < 1e-6 && (w[2] - 0.8).abs() < 1e-6);
        assert!((w[1] - 1.0).abs() < 1e-6 && w[3] == 0.0);
    }

    #[test]
    fn a_convolution_kernel_is_constrained_per_filter_over_its_window_and_channels() {
        // [kh, kw, in, out] = [2, 1, 1, 2]: filter 0 holds 3 and 4, filter 1 holds 1 and 0.
        let mut w = [3.0f64, 1.0, 4.0, 0.0];
        Constraint::MaxNorm {
            max_value: 1.0,
            axes: &[0, 1, 2],
        }
        .apply(&mut w, &[2, 1, 1, 2]);
        assert!((w[0] - 0.6).abs() < 1e-6 && (w[2] - 0.8).abs() < 1e-6);
        assert!((w[1] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn min_max_norm_moves_norms_into_the_range_by_its_rate() {
        let mut w = [0.3f64, 0.4];
        let constraint = Constraint::MinMaxNorm {
            min_value: 1.0,
            max_value: 2.0,
            rate: 0.5,
            axes: &[0],
        };
        constraint.apply(&mut w, &[2]);
        // The norm 0.5 moves half way to 1: 0.75.
        let norm = (w[0] * w[0] + w[1] * w[1]).sqrt();
        assert!((norm - 0.75).abs() < 1e-6, "{norm}");
    }

    #[test]
    fn non_neg_zeroes_negative_values() {
        let mut w = [-1.0f32, 2.0, -0.0, 0.5];
        Constraint::NonNeg.apply(&mut w, &[4]);
        assert_eq!(w, [0.0, 2.0, -0.0, 0.5]);
    }
}
