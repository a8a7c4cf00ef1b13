//! Keras's weight and activity regularizers: a penalty that `fit` adds to the loss it
//! minimises and reports, and whose gradient it adds to the weights' (or the activations').
//!
//! ```
//! use strata_runtime::regularizers::Regularizer;
//!
//! let l2 = Regularizer::l2(0.01);
//! assert_eq!(l2.penalty(&[1.0f64, -2.0]), 0.01 * (1.0 + 4.0));
//! let mut grads = [0.5f64, 0.0];
//! l2.add_gradient(&[1.0, -2.0], &mut grads, 1.0);
//! assert_eq!(grads, [0.5 + 0.02, -0.04]);
//! ```

use crate::Float;

/// `l1 · Σ|w| + l2 · Σw²`, Keras's `L1`, `L2` and `L1L2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Regularizer {
    pub l1: f64,
    pub l2: f64,
}

impl Regularizer {
    /// Keras's `L1(l1)`.
    pub const fn l1(l1: f64) -> Self {
        Regularizer { l1, l2: 0.0 }
    }

    /// Keras's `L2(l2)`.
    pub const fn l2(l2: f64) -> Self {
        Regularizer { l1: 0.0, l2 }
    }

    /// The penalty of `values`, in `f64`.
    pub fn penalty<F: Float>(&self, values: &[F]) -> f64 {
        let (mut abs, mut squares) = (0.0, 0.0);
        for &v in values {
            let v = v.as_f64();
            abs += v.abs();
            squares += v * v;
        }
        self.l1 * abs + self.l2 * squares
    }

    /// Adds `scale` times the penalty's gradient at `values` to `grads`: `l1 · sign(w) +
    /// 2 · l2 · w` (0 for `l1` at 0, as Keras's `sign`).
    pub fn add_gradient<F: Float>(&self, values: &[F], grads: &mut [F], scale: f64) {
        let (l1, l2) = (F::of(self.l1 * scale), F::of(2.0 * self.l2 * scale));
        let zero = F::zero();
        for (g, &v) in grads.iter_mut().zip(values) {
            let sign = if v > zero {
                F::one()
            } else if v < zero {
                -F::one()
            } else {
                zero
            };
            *g += l1 * sign + l2 * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gradient_matches_finite_differences() {
        let reg = Regularizer { l1: 0.3, l2: 0.7 };
        let values = [0.5f64, -1.25, 2.0];
        let mut grads = [0.0; 3];
        reg.add_gradient(&values, &mut grads, 2.0);
        for i in 0..3 {
            let mut moved = values;
            let h = 1e-6;
            moved[i] += h;
            let up = reg.penalty(&moved);
            moved[i] -= 2.0 * h;
            let down = reg.penalty(&moved);
            let numeric = 2.0 * (up - down) / (2.0 * h);
            assert!(
                (numeric - grads[i]).abs() < 1e-6,
                "{i}: {numeric} {}",
                grads[i]
            );
        }
    }

    #[test]
    fn l1_has_no_gradient_at_zero() {
        let mut grads = [0.0f32];
        Regularizer::l1(1.0).add_gradient(&[0.0], &mut grads, 1.0);
        assert_eq!(grads, [0.0]);
    }
}
