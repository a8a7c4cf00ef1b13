//! Layers that move values without arithmetic on them: ZeroPadding2D and UpSampling2D
//! (nearest), channels-last.

use crate::Float;

/// ZeroPadding2D: `x` `[batch, h, w, c]` into `y` `[batch, top + h + bottom,
/// left + w + right, c]` (overwritten), zeros around. `padding` is Keras's
/// `((top, bottom), (left, right))`.
///
/// ```
/// use strata_runtime::kernels::zero_padding2d_forward;
/// let mut y = [f32::NAN; 6];
/// zero_padding2d_forward([1, 2, 1], [[0, 1], [1, 0]], 1, &[1.0, 2.0], &mut y);
/// assert_eq!(y, [0.0, 1.0, 2.0, 0.0, 0.0, 0.0]);
/// ```
pub fn zero_padding2d_forward<F: Float>(
    input: [usize; 3],
    padding: [[usize; 2]; 2],
    batch: usize,
    x: &[F],
    y: &mut [F],
) {
    y.fill(F::zero());
    for_each_padded_row(input, padding, batch, x.len(), y.len(), |x_row, y_row| {
        y[y_row].copy_from_slice(&x[x_row]);
    });
}

/// The gradient of [`zero_padding2d_forward`]: `dx` is `dy` without its border
/// (overwritten).
///
/// ```
/// use strata_runtime::kernels::zero_padding2d_backward;
/// let mut dx = [f32::NAN; 2];
/// zero_padding2d_backward([1, 2, 1], [[0, 1], [1, 0]], 1, &[9.0, 1.0, 2.0, 9.0, 9.0, 9.0], &mut dx);
/// assert_eq!(dx, [1.0, 2.0]);
/// ```
pub fn zero_padding2d_backward<F: Float>(
    input: [usize; 3],
    padding: [[usize; 2]; 2],
    batch: usize,
    dy: &[F],
    dx: &mut [F],
) {
    for_each_padded_row(input, padding, batch, dx.len(), dy.len(), |x_row, y_row| {
        dx[x_row].copy_from_slice(&dy[y_row]);
    });
}

/// Calls `f(x range, y range)` for each input row (`w·c` values) and the place it takes
/// in the padded output.
fn for_each_padded_row(
    input: [usize; 3],
    [[top, bottom], [left, right]]: [[usize; 2]; 2],
    batch: usize,
    x_len: usize,
    y_len: usize,
    mut f: impl FnMut(std::ops::Range<usize>, std::ops::Range<usize>),
) {
    let [height, width, channels] = input;
    let (row, padded_row) = (width * channels, (left + width + right) * channels);
    let padded_height = top + height + bottom;
    assert_eq!(
        x_len,
        batch * height * row,
        "zero_padding2d: x is not [batch, h, w, c]"
    );
    assert_eq!(
        y_len,
        batch * padded_height * padded_row,
        "zero_padding2d: y is not padded x"
    );
    for n in 0..batch {
        for iy in 0..height {
            let x_start = (n * height + iy) * row;
            let y_start = (n * padded_height + top + iy) * padded_row + left * channels;
            f(x_start..x_start + row, y_start..y_start + row);
        }
    }
}

/// UpSampling2D (nearest): `x` `[batch, h, w, c]` into `y` `[batch, h·sh, w·sw, c]`
/// (overwritten), each value repeated over a `size = [sh, sw]` block.
///
/// ```
/// use strata_runtime::kernels::upsampling2d_forward;
/// let mut y = [0.0f32; 8];
/// upsampling2d_forward([1, 2, 1], [2, 2], 1, &[1.0, 2.0], &mut y);
/// assert_eq!(y, [1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
/// ```
pub fn upsampling2d_forward<F: Float>(
    input: [usize; 3],
    size: [usize; 2],
    batch: usize,
    x: &[F],
    y: &mut [F],
) {
    for_each_copy(input, size, batch, x.len(), y.len(), |x_cell, y_cell| {
        y[y_cell].copy_from_slice(&x[x_cell]);
    });
}

/// The gradient of [`upsampling2d_forward`]: each `dx` value is the sum of `dy` over its
/// block (overwritten).
///
/// ```
/// use strata_runtime::kernels::upsampling2d_backward;
/// let mut dx = [f32::NAN; 2];
/// upsampling2d_backward([1, 2, 1], [1, 2], 1, &[1.0, 2.0, 3.0, 4.0], &mut dx);
/// assert_eq!(dx, [3.0, 7.0]);
/// ```
pub fn upsampling2d_backward<F: Float>(
    input: [usize; 3],
    size: [usize; 2],
    batch: usize,
    dy: &[F],
    dx: &mut [F],
) {
    dx.fill(F::zero());
    for_each_copy(input, size, batch, dx.len(), dy.len(), |x_cell, y_cell| {
        for (dx, &d) in dx[x_cell].iter_mut().zip(&dy[y_cell]) {
            *dx += d;
        }
    });
}

/// Calls `f(x range, y range)` for each input cell (`c` values) and each of its copies in
/// the upsampled output.
fn for_each_copy(
    input: [usize; 3],
    [sh, sw]: [usize; 2],
    batch: usize,
    x_len: usize,
    y_len: usize,
    mut f: impl FnMut(std::ops::Range<usize>, std::ops::Range<usize>),
) {
    let [height, width, channels] = input;
    assert_eq!(
        x_len,
        batch * height * width * channels,
        "upsampling2d: x is not [batch, h, w, c]"
    );
    assert_eq!(
        y_len,
        x_len * sh * sw,
        "upsampling2d: y is not [batch, h·sh, w·sw, c]"
    );
    let (out_height, out_width) = (height * sh, width * sw);
    for n in 0..batch {
        for oy in 0..out_height {
            for ox in 0..out_width {
                let x_start = ((n * height + oy / sh) * width + ox / sw) * channels;
                let y_start = ((n * out_height + oy) * out_width + ox) * channels;
                f(x_start..x_start + channels, y_start..y_start + channels);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gradcheck::{assert_gradient_matches, random_away_from_zero};
    use rand::SeedableRng;

    #[test]
    fn zero_padding_places_x_inside_zeros() {
        let (input, padding, batch) = ([2, 3, 2], [[1, 2], [0, 1]], 2);
        let x: Vec<f64> = (1..=24).map(f64::from).collect();
        let mut y = vec![f64::NAN; batch * 5 * 4 * 2];
        zero_padding2d_forward(input, padding, batch, &x, &mut y);
        for n in 0..batch {
            for py in 0..5 {
                for px in 0..4 {
                    for c in 0..2 {
                        let got = y[((n * 5 + py) * 4 + px) * 2 + c];
                        let inside = (1..3).contains(&py) && px < 3;
                        let want = if inside {
                            x[((n * 2 + py - 1) * 3 + px) * 2 + c]
                        } else {
                            0.0
                        };
                        assert_eq!(got, want, "sample {n} at ({py}, {px}, {c})");
                    }
                }
            }
        }
    }

    #[test]
    fn upsampling_repeats_each_cell_over_its_block() {
        let (input, size, batch) = ([2, 3, 2], [3, 2], 2);
        let x: Vec<f64> = (1..=24).map(f64::from).collect();
        let mut y = vec![f64::NAN; x.len() * 6];
        upsampling2d_forward(input, size, batch, &x, &mut y);
        for n in 0..batch {
            for oy in 0..6 {
                for ox in 0..6 {
                    for c in 0..2 {
                        let want = x[((n * 2 + oy / 3) * 3 + ox / 2) * 2 + c];
                        assert_eq!(y[((n * 6 + oy) * 6 + ox) * 2 + c], want);
                    }
                }
            }
        }
    }

    #[test]
    fn padding_and_upsampling_backward_match_finite_differences() {
        let mut rng = crate::Rng::seed_from_u64(31);
        let (input, batch) = ([3, 2, 2], 2);
        let x = random_away_from_zero(batch * 12, &mut rng);
        let padding = [[2, 1], [1, 3]];
        let padded_len = batch * 6 * 6 * 2;
        let weights = random_away_from_zero(padded_len, &mut rng);
        let weighted = |y: &[f64]| -> f64 { y.iter().zip(&weights).map(|(y, w)| y * w).sum() };
        let pad_loss = |x: &[f64]| {
            let mut y = vec![0.0; padded_len];
            zero_padding2d_forward(input, padding, batch, x, &mut y);
            weighted(&y)
        };
        let mut dx = vec![f64::NAN; x.len()];
        zero_padding2d_backward(input, padding, batch, &weights, &mut dx);
        assert_gradient_matches("zero padding", pad_loss, &x, &dx);

        let size = [2, 3]; // 6×6×2 per sample, as long as the padded output
        let upsample_loss = |x: &[f64]| {
            let mut y = vec![0.0; padded_len];
            upsampling2d_forward(input, size, batch, x, &mut y);
            weighted(&y)
        };
        dx.fill(f64::NAN);
        upsampling2d_backward(input, size, batch, &weights, &mut dx);
        assert_gradient_matches("upsampling", upsample_loss, &x, &dx);
    }
}
