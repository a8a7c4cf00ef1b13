//! The fully connected layer: `y = x · kernel + bias`, with Keras's `[inputs, units]`
//! kernel.

use super::conv::column_sums;
use super::matmul;
use crate::Float;

/// `y = x · kernel + bias` for `rows` samples: `x` is `rows×inputs`, `kernel` is
/// `inputs×units`, `bias` has `units` values, `y` is `rows×units` (overwritten).
///
/// ```
/// use strata_runtime::kernels::dense_forward;
/// let x = [1.0f32, 2.0]; // one sample, two inputs
/// let kernel = [1.0, 10.0, 100.0, 2.0, 20.0, 200.0]; // [2, 3]
/// let mut y = [0.0; 3];
/// dense_forward(&x, &kernel, Some(&[0.5, 0.5, 0.5]), &mut y, 1, 2, 3);
/// assert_eq!(y, [5.5, 50.5, 500.5]);
/// ```
pub fn dense_forward<F: Float>(
    x: &[F],
    kernel: &[F],
    bias: Option<&[F]>,
    y: &mut [F],
    rows: usize,
    inputs: usize,
    units: usize,
) {
    debug_assert_eq!(
        x.len(),
        rows * inputs,
        "dense_forward: x is not rows×inputs"
    );
    debug_assert_eq!(
        kernel.len(),
        inputs * units,
        "dense_forward: kernel is not inputs×units"
    );
    debug_assert_eq!(y.len(), rows * units, "dense_forward: y is not rows×units");
    // The bias is added after the product: one pass of rows·units additions beside
    // rows·inputs·units multiply-adds, simpler than preloading `y` and accumulating.
    matmul(rows, inputs, units, x, false, kernel, false, y, false);
    if let Some(bias) = bias {
        debug_assert_eq!(bias.len(), units, "dense_forward: bias is not units long");
        if units > 0 {
            for row in y.chunks_exact_mut(units) {
                for (y, &b) in row.iter_mut().zip(bias) {
                    *y += b;
                }
            }
        }
    }
}

/// The gradients of [`dense_forward`] given `dy`, the gradient of its output:
/// `dkernel = xᵀ · dy`, `dbias` = the column sums of `dy`, `dx = dy · kernelᵀ`, each
/// computed only when asked for and overwritten.
///
/// ```
/// use strata_runtime::kernels::dense_backward;
/// let (x, kernel) = ([1.0f32, 2.0], [1.0, 10.0, 2.0, 20.0]); // one sample, [2, 2] kernel
/// let dy = [1.0, 0.5];
/// let (mut dx, mut dkernel, mut dbias) = ([0.0; 2], [0.0; 4], [0.0; 2]);
/// dense_backward(&x, &kernel, &dy, Some(&mut dx), Some(&mut dkernel), Some(&mut dbias), 1, 2, 2);
/// assert_eq!(dx, [6.0, 12.0]);
/// assert_eq!(dkernel, [1.0, 0.5, 2.0, 1.0]);
/// assert_eq!(dbias, [1.0, 0.5]);
/// ```
#[allow(clippy::too_many_arguments)] // operands, three optional gradients, and the sizes
pub fn dense_backward<F: Float>(
    x: &[F],
    kernel: &[F],
    dy: &[F],
    dx: Option<&mut [F]>,
    dkernel: Option<&mut [F]>,
    dbias: Option<&mut [F]>,
    rows: usize,
    inputs: usize,
    units: usize,
) {
    debug_assert_eq!(
        x.len(),
        rows * inputs,
        "dense_backward: x is not rows×inputs"
    );
    debug_assert_eq!(
        kernel.len(),
        inputs * units,
        "dense_backward: kernel is not inputs×units"
    );
    debug_assert_eq!(
        dy.len(),
        rows * units,
        "dense_backward: dy is not rows×units"
    );
    if let Some(dkernel) = dkernel {
        matmul(inputs, rows, units, x, true, dy, false, dkernel, false);
    }
    if let Some(dbias) = dbias {
        debug_assert_eq!(
            dbias.len(),
            units,
            "dense_backward: dbias is not units long"
        );
        column_sums(dy, dbias);
    }
    if let Some(dx) = dx {
        matmul(rows, units, inputs, dy, false, kernel, true, dx, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gradcheck::{assert_gradient_matches, random_away_from_zero};
    use rand::SeedableRng;

    #[test]
    fn dense_forward_matches_nested_loop() {
        let mut rng = crate::Rng::seed_from_u64(4);
        for (rows, inputs, units) in [(1, 1, 1), (3, 17, 5), (64, 65, 10), (2, 784, 128)] {
            let x = random_away_from_zero(rows * inputs, &mut rng);
            let kernel = random_away_from_zero(inputs * units, &mut rng);
            let bias = random_away_from_zero(units, &mut rng);
            for with_bias in [false, true] {
                let mut y = vec![f64::NAN; rows * units];
                let b = with_bias.then_some(&bias[..]);
                dense_forward(&x, &kernel, b, &mut y, rows, inputs, units);
                for r in 0..rows {
                    for u in 0..units {
                        let mut want = if with_bias { bias[u] } else { 0.0 };
                        for i in 0..inputs {
                            want += x[r * inputs + i] * kernel[i * units + u];
                        }
                        let got = y[r * units + u];
                        assert!(
                            (got - want).abs() < 1e-12 * (1.0 + want.abs()),
                            "{got} != {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn dense_backward_matches_finite_differences() {
        let mut rng = crate::Rng::seed_from_u64(5);
        let (rows, inputs, units) = (5, 7, 3);
        let x = random_away_from_zero(rows * inputs, &mut rng);
        let kernel = random_away_from_zero(inputs * units, &mut rng);
        let bias = random_away_from_zero(units, &mut rng);
        let weights = random_away_from_zero(rows * units, &mut rng);
        let loss = |x: &[f64], kernel: &[f64], bias: &[f64]| -> f64 {
            let mut y = vec![0.0; rows * units];
            dense_forward(x, kernel, Some(bias), &mut y, rows, inputs, units);
            y.iter().zip(&weights).map(|(y, w)| y * w).sum()
        };
        let mut dx = vec![f64::NAN; x.len()];
        let mut dkernel = vec![f64::NAN; kernel.len()];
        let mut dbias = vec![f64::NAN; units];
        let (dxs, dks, dbs) = (
            Some(&mut dx[..]),
            Some(&mut dkernel[..]),
            Some(&mut dbias[..]),
        );
        dense_backward(&x, &kernel, &weights, dxs, dks, dbs, rows, inputs, units);
        assert_gradient_matches("dx", |x| loss(x, &kernel, &bias), &x, &dx);
        assert_gradient_matches("dkernel", |k| loss(&x, k, &bias), &kernel, &dkernel);
        assert_gradient_matches("dbias", |b| loss(&x, &kernel, b), &bias, &dbias);
    }

    #[test]
    fn dense_backward_writes_only_the_gradients_asked_for() {
        let (x, kernel, dy) = ([1.0f32, 2.0], [3.0, 4.0], [5.0]);
        let mut dkernel = [f32::NAN; 2];
        dense_backward(&x, &kernel, &dy, None, Some(&mut dkernel), None, 1, 2, 1);
        assert_eq!(dkernel, [5.0, 10.0]);
        let mut dx = [f32::NAN; 2];
        dense_backward(&x, &kernel, &dy, Some(&mut dx), None, None, 1, 2, 1);
        assert_eq!(dx, [15.0, 20.0]);
    }

    #[test]
    fn column_sums_add_every_row() {
        let m = [1.0f32, 2.0, 3.0, 10.0, 20.0, 30.0, 100.0, 200.0, 300.0];
        let mut sums = [f32::NAN; 3];
        column_sums(&m, &mut sums);
        assert_eq!(sums, [111.0, 222.0, 333.0]);
    }
}
