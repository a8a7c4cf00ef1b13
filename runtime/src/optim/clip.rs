//! Gradient clipping, as Keras's base optimizer does it before every update.

use std::ops::Range;

use crate::{Error, Float, Result};

/// How gradients are clipped before an update: Keras's `clipnorm`, `global_clipnorm` and
/// `clipvalue`, of which at most one is in force.
///
/// Only the gradients inside the trainable tensors are read or changed.
///
/// ```
/// use strata_runtime::optim::Clip;
///
/// let mut grads = vec![3.0_f32, 4.0, 100.0];
/// Clip::norm(1.0).apply(&mut grads, &[0..2]); // the norm of [3, 4] is 5
/// assert_eq!(grads, [0.6, 0.8, 100.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Clip {
    /// No clipping (Keras's default).
    #[default]
    None,
    /// Each tensor's gradient `g` becomes `g * c / max(‖g‖, c)`: its L2 norm is at most
    /// `c`, each tensor on its own (Keras's `clipnorm`).
    Norm(f64),
    /// All trainable gradients are scaled by `c / max(‖g‖, c)`, where `‖g‖` is their
    /// joint L2 norm (Keras's `global_clipnorm`). A NaN or infinite norm makes every
    /// gradient NaN, as in Keras, so that the step visibly fails.
    GlobalNorm(f64),
    /// Every gradient value is clamped into `[-c, c]` (Keras's `clipvalue`).
    Value(f64),
}

impl Clip {
    /// [`Clip::Norm`]. The value is stored as given: [`Clip::validate`] checks it.
    pub fn norm(clipnorm: f64) -> Self {
        Clip::Norm(clipnorm)
    }

    /// [`Clip::GlobalNorm`]. The value is stored as given: [`Clip::validate`] checks it.
    pub fn global_norm(global_clipnorm: f64) -> Self {
        Clip::GlobalNorm(global_clipnorm)
    }

    /// [`Clip::Value`]. The value is stored as given: [`Clip::validate`] checks it.
    pub fn value(clipvalue: f64) -> Self {
        Clip::Value(clipvalue)
    }

    /// Checks that the clipping value, if any, is a finite number > 0. Every optimizer's
    /// [`Optimizer::validate`](crate::optim::Optimizer::validate) calls this.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] named `"clipnorm"`, `"global_clipnorm"` or
    /// `"clipvalue"`, saying what the value must be.
    ///
    /// ```
    /// use strata_runtime::optim::Clip;
    ///
    /// assert!(Clip::norm(1.0).validate().is_ok());
    /// let error = Clip::value(-0.5).validate().unwrap_err();
    /// assert!(error.to_string().contains("clipvalue must be a finite number > 0, got -0.5"));
    /// ```
    pub fn validate(self) -> Result<()> {
        let (name, c, hint) = match self {
            Clip::None => return Ok(()),
            Clip::Norm(c) => ("clipnorm", c, "for example 1.0"),
            Clip::GlobalNorm(c) => ("global_clipnorm", c, "for example 1.0"),
            Clip::Value(c) => ("clipvalue", c, "for example 0.5"),
        };
        if c.is_finite() && c > 0.0 {
            Ok(())
        } else {
            Err(Error::invalid(
                name,
                format!(
                    "{name} must be a finite number > 0, got {c:?}; {hint}, or no clipping \
                     (Keras's default)"
                ),
            ))
        }
    }

    /// Clips `grads` in place inside each range of `tensors`; values outside them are left
    /// alone. Norms are accumulated in `f64`.
    ///
    /// The clipping value is assumed to have passed [`Clip::validate`]; a bad one does not
    /// panic but gives meaningless gradients (e.g. a negative norm flips their sign).
    ///
    /// # Panics
    ///
    /// If a range of `tensors` is out of `grads`'s bounds.
    pub fn apply<F: Float>(self, grads: &mut [F], tensors: &[Range<usize>]) {
        match self {
            Clip::None => {}
            Clip::Norm(c) => {
                for range in tensors {
                    let g = &mut grads[range.clone()];
                    let norm = sum_of_squares(g).sqrt();
                    // A NaN norm scales by NaN, as Keras's formula does.
                    if norm > c || norm.is_nan() {
                        scale(g, F::of(c / norm));
                    }
                }
            }
            Clip::GlobalNorm(c) => {
                let norm = tensors
                    .iter()
                    .map(|range| sum_of_squares(&grads[range.clone()]))
                    .sum::<f64>()
                    .sqrt();
                if norm > c || norm.is_nan() {
                    let factor = F::of(if norm.is_finite() { c / norm } else { f64::NAN });
                    for range in tensors {
                        scale(&mut grads[range.clone()], factor);
                    }
                }
            }
            Clip::Value(c) => {
                let (lo, hi) = (F::of(-c), F::of(c));
                for range in tensors {
                    for g in &mut grads[range.clone()] {
                        // Comparisons rather than `max`/`min`, so that NaN stays NaN.
                        *g = if *g < lo {
                            lo
                        } else if *g > hi {
                            hi
                        } else {
                            *g
                        };
                    }
                }
            }
        }
    }
}

fn scale<F: Float>(values: &mut [F], factor: F) {
    for v in values {
        *v *= factor;
    }
}

/// `Σ x²` in `f64`, with eight independent partial sums so that the loop vectorizes.
fn sum_of_squares<F: Float>(values: &[F]) -> f64 {
    const LANES: usize = 8;
    let mut partial = [0.0_f64; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (s, x) in partial.iter_mut().zip(chunk) {
            let x = x.as_f64();
            *s += x * x;
        }
    }
    let tail: f64 = tail.iter().map(|x| x.as_f64() * x.as_f64()).sum();
    partial.iter().sum::<f64>() + tail
}

#[cfg(test)]
// `&[0..n]`, one trainable tensor, is meant: not a list of indices.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;
    use crate::optim::{Optimizer, SGD};

    #[test]
    fn clipnorm_scales_each_tensor_to_its_own_norm() {
        // Tensor a = [3, 4] has norm 5; tensor b = [0, -12, 5] has norm 13.
        let mut grads = vec![3.0_f64, 4.0, 0.0, -12.0, 5.0];
        Clip::norm(2.0).apply(&mut grads, &[0..2, 2..5]);
        let expected = [
            3.0 * 2.0 / 5.0,
            4.0 * 2.0 / 5.0,
            0.0,
            -12.0 * 2.0 / 13.0,
            5.0 * 2.0 / 13.0,
        ];
        for (g, e) in grads.iter().zip(expected) {
            assert!((g - e).abs() < 1e-15, "{g} != {e}");
        }
    }

    #[test]
    fn clipnorm_leaves_gradients_within_the_norm_unchanged() {
        // a = [3, 4] (norm 5) is clipped to 10: unchanged; b = [100, 100] is clipped.
        let mut grads = vec![3.0_f32, 4.0, 100.0, 100.0];
        Clip::norm(10.0).apply(&mut grads, &[0..2, 2..4]);
        assert_eq!(&grads[..2], &[3.0, 4.0]);
        let half_sqrt2_times_10 = 10.0 * std::f32::consts::SQRT_2 / 2.0;
        assert!((grads[2] - half_sqrt2_times_10).abs() < 1e-5);
        assert!((grads[3] - half_sqrt2_times_10).abs() < 1e-5);
    }

    #[test]
    fn clipnorm_matches_keras_test_value() {
        // Keras's `test_clip_norm`: clipnorm=1 on [100, 100] gives [√2/2, √2/2].
        let mut grads = vec![100.0_f64, 100.0];
        Clip::norm(1.0).apply(&mut grads, &[0..2]);
        let h = 2.0_f64.sqrt() / 2.0;
        assert!((grads[0] - h).abs() < 1e-15 && (grads[1] - h).abs() < 1e-15);
    }

    #[test]
    fn global_clipnorm_scales_all_tensors_together() {
        // Joint norm of [3, 4] and [0, 12] is 13; each value is scaled by 6.5 / 13 = 0.5.
        let mut grads = vec![3.0_f64, 4.0, 0.0, 12.0];
        Clip::global_norm(6.5).apply(&mut grads, &[0..2, 2..4]);
        assert_eq!(grads, [1.5, 2.0, 0.0, 6.0]);
    }

    #[test]
    fn global_clipnorm_leaves_gradients_within_the_norm_unchanged() {
        let mut grads = vec![3.0_f32, 4.0, 0.0, 12.0];
        Clip::global_norm(13.0).apply(&mut grads, &[0..2, 2..4]);
        assert_eq!(grads, [3.0, 4.0, 0.0, 12.0]);
    }

    #[test]
    fn global_clipnorm_of_an_infinite_gradient_is_nan() {
        let mut grads = vec![1.0_f32, f32::INFINITY, 2.0];
        Clip::global_norm(1.0).apply(&mut grads, &[0..1, 1..3]);
        assert!(grads.iter().all(|g| g.is_nan()));
    }

    #[test]
    fn clipvalue_clamps_each_value() {
        let mut grads = vec![-3.0_f64, -0.5, 0.0, 0.25, 7.0, f64::NAN];
        Clip::value(0.5).apply(&mut grads, &[0..6]);
        assert_eq!(&grads[..5], &[-0.5, -0.5, 0.0, 0.25, 0.5]);
        assert!(grads[5].is_nan());
    }

    #[test]
    fn clipping_reads_and_writes_only_the_trainable_tensors() {
        // The frozen gradient in the middle is huge and NaN: if it were read, the norms
        // would be NaN; if it were written, it would change.
        for clip in [Clip::norm(1.0), Clip::global_norm(1.0), Clip::value(1.0)] {
            let mut grads = vec![3.0_f32, 4.0, f32::NAN, 1e30, 0.0, 2.0];
            clip.apply(&mut grads, &[0..2, 4..6]);
            assert!(grads[2].is_nan(), "{clip:?}");
            assert_eq!(grads[3], 1e30, "{clip:?}");
            assert!(grads[..2].iter().chain(&grads[4..]).all(|g| g.is_finite()));
        }
    }

    #[test]
    fn sum_of_squares_covers_chunks_and_tail() {
        let values: Vec<f32> = (1..=19).map(|i| i as f32).collect();
        let expected: f64 = (1..=19).map(|i| f64::from(i * i)).sum();
        assert_eq!(sum_of_squares(&values), expected);
    }

    #[test]
    fn optimizer_steps_with_clipped_gradients() {
        // SGD(lr=0.1, clipnorm=1) on gradient [3, 4]: the step is 0.1 * [0.6, 0.8].
        let mut sgd: SGD<f64> = SGD::new(0.1).clipnorm(1.0);
        let mut params = vec![1.0, 1.0];
        let mut grads = vec![3.0, 4.0];
        sgd.step(&mut params, &mut grads, &[0..2]);
        assert!((params[0] - (1.0 - 0.1 * 0.6)).abs() < 1e-15);
        assert!((params[1] - (1.0 - 0.1 * 0.8)).abs() < 1e-15);
        assert!((grads[0] - 0.6).abs() < 1e-15, "grads are clipped in place");
    }

    #[test]
    fn a_later_clipping_setting_replaces_an_earlier_one() {
        let sgd: SGD = SGD::default().clipnorm(1.0).clipvalue(0.5);
        assert_eq!(sgd.clip(), Clip::Value(0.5));
    }

    #[test]
    fn clip_constructors_store_any_value_and_validate_refuses_bad_ones() {
        assert!(Clip::None.validate().is_ok());
        for good in [Clip::norm(1.0), Clip::global_norm(1e-3), Clip::value(5.0)] {
            assert!(good.validate().is_ok(), "{good:?}");
        }
        let cases = [
            (Clip::norm(0.0), "clipnorm", "0.0", "1.0"),
            (Clip::norm(f64::NAN), "clipnorm", "NaN", "1.0"),
            (Clip::global_norm(-1.0), "global_clipnorm", "-1.0", "1.0"),
            (
                Clip::global_norm(f64::INFINITY),
                "global_clipnorm",
                "inf",
                "1.0",
            ),
            (Clip::value(-0.5), "clipvalue", "-0.5", "0.5"),
            (Clip::Value(0.0), "clipvalue", "0.0", "0.5"),
        ];
        for (clip, expected_name, got, example) in cases {
            let Err(crate::Error::InvalidArgument { name, message }) = clip.validate() else {
                panic!("{clip:?} was accepted");
            };
            assert_eq!(name, expected_name);
            assert_eq!(
                message,
                format!(
                    "{expected_name} must be a finite number > 0, got {got}; for example \
                     {example}, or no clipping (Keras's default)"
                )
            );
        }
    }
}
