//! The merge layers: element-wise `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`,
//! `Minimum`; `Concatenate` along an axis; `Dot` of vectors or matrices per sample.

use crate::Float;

/// An element-wise merge of values of one shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeOp {
    Add,
    /// Exactly two inputs: the first minus the second.
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
}

/// `y` = the element-wise merge of `inputs` (all of `y`'s length).
///
/// ```
/// use strata_runtime::kernels::{MergeOp, merge_forward};
/// let mut y = [0.0f32; 2];
/// merge_forward(MergeOp::Maximum, &[&[1.0, 5.0], &[3.0, 2.0]], &mut y);
/// assert_eq!(y, [3.0, 5.0]);
/// ```
pub fn merge_forward<F: Float>(op: MergeOp, inputs: &[&[F]], y: &mut [F]) {
    let (first, rest) = inputs.split_first().expect("a merge has inputs");
    debug_assert!(
        inputs.iter().all(|x| x.len() == y.len()),
        "merge_forward: lengths"
    );
    y.copy_from_slice(first);
    for x in rest {
        let combine = |a: F, b: F| match op {
            MergeOp::Add | MergeOp::Average => a + b,
            MergeOp::Subtract => a - b,
            MergeOp::Multiply => a * b,
            MergeOp::Maximum => {
                if b > a {
                    b
                } else {
                    a
                }
            }
            MergeOp::Minimum => {
                if b < a {
                    b
                } else {
                    a
                }
            }
        };
        for (y, &x) in y.iter_mut().zip(*x) {
            *y = combine(*y, x);
        }
    }
    if op == MergeOp::Average {
        let scale = F::one() / F::of(inputs.len() as f64);
        for y in y.iter_mut() {
            *y *= scale;
        }
    }
}

/// `sum += part`: the lanes' gradients summed, and the gradient a value or a shared layer
/// receives from one more of its uses. A function of its own, so that the compiler knows
/// the two slices do not overlap and vectorizes the loop (inlined into the trainer's
/// closure, it did not).
#[inline(never)]
pub fn accumulate<F: Float>(sum: &mut [F], part: &[F]) {
    assert_eq!(sum.len(), part.len(), "accumulate: parts of equal length");
    for (s, &p) in sum.iter_mut().zip(part) {
        *s += p;
    }
}

/// The gradient of each input of [`merge_forward`], written to the inputs that need one.
/// Maximum and Minimum send the gradient to the first input that holds the extreme (as
/// Keras's, which folds `maximum` over the inputs in order).
pub fn merge_backward<F: Float>(
    op: MergeOp,
    inputs: &[&[F]],
    dy: &[F],
    dxs: &mut [Option<&mut [F]>],
) {
    debug_assert_eq!(
        inputs.len(),
        dxs.len(),
        "merge_backward: one gradient per input"
    );
    match op {
        MergeOp::Add | MergeOp::Average | MergeOp::Subtract => {
            let scale = match op {
                MergeOp::Average => F::one() / F::of(inputs.len() as f64),
                _ => F::one(),
            };
            for (i, dx) in dxs.iter_mut().enumerate() {
                let Some(dx) = dx else { continue };
                let sign = if op == MergeOp::Subtract && i == 1 {
                    -scale
                } else {
                    scale
                };
                if sign == F::one() {
                    dx.copy_from_slice(dy);
                } else {
                    for (dx, &g) in dx.iter_mut().zip(dy) {
                        *dx = g * sign;
                    }
                }
            }
        }
        MergeOp::Multiply => {
            for (i, dx) in dxs.iter_mut().enumerate() {
                let Some(dx) = dx else { continue };
                dx.copy_from_slice(dy);
                for (j, x) in inputs.iter().enumerate() {
                    if j != i {
                        for (dx, &x) in dx.iter_mut().zip(*x) {
                            *dx *= x;
                        }
                    }
                }
            }
        }
        MergeOp::Maximum | MergeOp::Minimum => {
            for dx in dxs.iter_mut().flatten() {
                dx.fill(F::zero());
            }
            for (e, &g) in dy.iter().enumerate() {
                let mut winner = 0;
                for (j, x) in inputs.iter().enumerate().skip(1) {
                    let better = match op {
                        MergeOp::Maximum => x[e] > inputs[winner][e],
                        _ => x[e] < inputs[winner][e],
                    };
                    if better {
                        winner = j;
                    }
                }
                if let Some(dx) = &mut dxs[winner] {
                    dx[e] = g;
                }
            }
        }
    }
}

/// Concatenates `inputs` along an axis: each input is `rows` blocks of `widths[i]`
/// values, and each block of `y` is the inputs' blocks side by side.
///
/// ```
/// use strata_runtime::kernels::concatenate_forward;
/// let mut y = [0.0f32; 6];
/// concatenate_forward(&[&[1.0, 2.0], &[3.0, 4.0, 5.0, 6.0]], &[1, 2], 2, &mut y);
/// assert_eq!(y, [1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
/// ```
pub fn concatenate_forward<F: Float>(inputs: &[&[F]], widths: &[usize], rows: usize, y: &mut [F]) {
    let total: usize = widths.iter().sum();
    debug_assert_eq!(
        y.len(),
        rows * total,
        "concatenate_forward: y is not rows×total"
    );
    let mut start = 0;
    for (x, &width) in inputs.iter().zip(widths) {
        debug_assert_eq!(
            x.len(),
            rows * width,
            "concatenate_forward: an input's length"
        );
        if width > 0 {
            for (block, source) in y.chunks_exact_mut(total).zip(x.chunks_exact(width)) {
                block[start..start + width].copy_from_slice(source);
            }
        }
        start += width;
    }
}

/// The gradients of [`concatenate_forward`]'s inputs: `dy`'s blocks split back.
pub fn concatenate_backward<F: Float>(
    dy: &[F],
    widths: &[usize],
    rows: usize,
    dxs: &mut [Option<&mut [F]>],
) {
    let total: usize = widths.iter().sum();
    debug_assert_eq!(
        dy.len(),
        rows * total,
        "concatenate_backward: dy is not rows×total"
    );
    let mut start = 0;
    for (dx, &width) in dxs.iter_mut().zip(widths) {
        if let Some(dx) = dx
            && width > 0
        {
            for (target, block) in dx.chunks_exact_mut(width).zip(dy.chunks_exact(total)) {
                target.copy_from_slice(&block[start..start + width]);
            }
        }
        start += width;
    }
}

/// Copies the columns `offset..offset + y_row` of each row of `x` (rows of `row_len`)
/// into the rows of `y`: one part of a packed row.
///
/// ```
/// use strata_runtime::kernels::column_slice;
/// let mut y = [0.0f32; 2];
/// column_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2, &mut y);
/// assert_eq!(y, [3.0, 6.0]);
/// ```
pub fn column_slice<F: Float>(x: &[F], row_len: usize, offset: usize, y: &mut [F]) {
    let rows = x.len() / row_len.max(1);
    let width = y.len() / rows.max(1);
    debug_assert!(
        offset + width <= row_len,
        "column_slice: columns out of the row"
    );
    if width == 0 {
        return;
    }
    for (target, row) in y.chunks_exact_mut(width).zip(x.chunks_exact(row_len)) {
        target.copy_from_slice(&row[offset..offset + width]);
    }
}

/// Copies the part at `offset` of a value packed from several, each for the whole batch
/// (a recurrent layer's output and final states with `return_state`), into `part`.
///
/// ```
/// use strata_runtime::kernels::unpack_forward;
/// let mut h = [0.0f32; 2];
/// unpack_forward(&[1.0, 2.0, 3.0, 4.0, 5.0], 3, &mut h);
/// assert_eq!(h, [4.0, 5.0]);
/// ```
pub fn unpack_forward<F: Float>(packed: &[F], offset: usize, part: &mut [F]) {
    part.copy_from_slice(&packed[offset..][..part.len()]);
}

/// The gradient of [`unpack_forward`]: `dpart` at `offset` of `dpacked`, zeros elsewhere
/// (the other parts' gradients come from their own readers, and are added).
///
/// ```
/// use strata_runtime::kernels::unpack_backward;
/// let mut dpacked = [9.0f32; 5];
/// unpack_backward(&[1.0, 2.0], 3, &mut dpacked);
/// assert_eq!(dpacked, [0.0, 0.0, 0.0, 1.0, 2.0]);
/// ```
pub fn unpack_backward<F: Float>(dpart: &[F], offset: usize, dpacked: &mut [F]) {
    let (before, rest) = dpacked.split_at_mut(offset);
    let (part, after) = rest.split_at_mut(dpart.len());
    before.fill(F::zero());
    part.copy_from_slice(dpart);
    after.fill(F::zero());
}

/// One side of a `Dot` layer's product: a per-sample matrix `[rows, cols]` (a vector is
/// `[len, 1]`), contracted along its rows (`transposed`) or its columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DotSide {
    pub rows: usize,
    pub cols: usize,
    /// Contract along the rows instead of the columns.
    pub transposed: bool,
}

impl DotSide {
    /// (free, contracted) sizes.
    fn sizes(self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// The value at (free `i`, contracted `t`).
    fn index(self, i: usize, t: usize) -> usize {
        if self.transposed {
            t * self.cols + i
        } else {
            i * self.cols + t
        }
    }

    fn len(self) -> usize {
        self.rows * self.cols
    }
}

/// Keras's `Dot`: per sample, `y[i, j] = Σ_t x[i, t] · z[j, t]` with `x`, `z` read as
/// [`DotSide`]s; with `normalize`, each vector along the contracted axis is first divided
/// by its L2 norm (at least 1e-6, Keras's `normalize` floor of 1e-12 on the square), and the
/// normalised values are kept in `x_hat`, `z_hat` for [`dot_backward`].
#[allow(clippy::too_many_arguments)] // two sides, each with its values and geometry
pub fn dot_forward<F: Float>(
    n: usize,
    x: &[F],
    x_side: DotSide,
    z: &[F],
    z_side: DotSide,
    normalize: bool,
    x_hat: &mut [F],
    z_hat: &mut [F],
    y: &mut [F],
) {
    let (xf, k) = x_side.sizes();
    let (zf, zk) = z_side.sizes();
    debug_assert_eq!(k, zk, "dot_forward: contracted sizes differ");
    debug_assert_eq!(y.len(), n * xf * zf, "dot_forward: y's length");
    let (xs, zs) = if normalize {
        normalize_along(x, x_side, x_hat);
        normalize_along(z, z_side, z_hat);
        (&x_hat[..x.len()], &z_hat[..z.len()])
    } else {
        (x, z)
    };
    for s in 0..n {
        let xv = &xs[s * x_side.len()..][..x_side.len()];
        let zv = &zs[s * z_side.len()..][..z_side.len()];
        let ys = &mut y[s * xf * zf..][..xf * zf];
        for i in 0..xf {
            for j in 0..zf {
                let mut sum = F::zero();
                for t in 0..k {
                    sum += xv[x_side.index(i, t)] * zv[z_side.index(j, t)];
                }
                ys[i * zf + j] = sum;
            }
        }
    }
}

/// The gradients of [`dot_forward`]'s inputs.
#[allow(clippy::too_many_arguments)] // as dot_forward, plus the gradients
pub fn dot_backward<F: Float>(
    n: usize,
    x: &[F],
    x_side: DotSide,
    z: &[F],
    z_side: DotSide,
    normalize: bool,
    x_hat: &[F],
    z_hat: &[F],
    dy: &[F],
    dx: Option<&mut [F]>,
    dz: Option<&mut [F]>,
) {
    let (xf, k) = x_side.sizes();
    let (zf, _) = z_side.sizes();
    let (xs, zs) = if normalize {
        (&x_hat[..x.len()], &z_hat[..z.len()])
    } else {
        (x, z)
    };
    // The gradient with respect to the (normalised) values, then through the norm.
    let side_grad =
        |out: &mut [F], other: &[F], other_side: DotSide, own_side: DotSide, own_is_x: bool| {
            out.fill(F::zero());
            for s in 0..n {
                let ov = &other[s * other_side.len()..][..other_side.len()];
                let g = &dy[s * xf * zf..][..xf * zf];
                let o = &mut out[s * own_side.len()..][..own_side.len()];
                let (own_free, _) = own_side.sizes();
                let (other_free, _) = other_side.sizes();
                for a in 0..own_free {
                    for b in 0..other_free {
                        let gy = if own_is_x {
                            g[a * zf + b]
                        } else {
                            g[b * zf + a]
                        };
                        for t in 0..k {
                            o[own_side.index(a, t)] += gy * ov[other_side.index(b, t)];
                        }
                    }
                }
            }
        };
    if let Some(dx) = dx {
        side_grad(dx, zs, z_side, x_side, true);
        if normalize {
            normalize_backward(x, x_side, x_hat, dx);
        }
    }
    if let Some(dz) = dz {
        side_grad(dz, xs, x_side, z_side, false);
        if normalize {
            normalize_backward(z, z_side, z_hat, dz);
        }
    }
}

/// The square-norm floor of Keras's `normalize`.
const NORM_FLOOR: f64 = 1e-12;

/// `hat` = each vector of `x` along the contracted axis divided by its norm.
fn normalize_along<F: Float>(x: &[F], side: DotSide, hat: &mut [F]) {
    let (free, k) = side.sizes();
    let floor = F::of(NORM_FLOOR);
    for (xv, hv) in x
        .chunks_exact(side.len())
        .zip(hat.chunks_exact_mut(side.len()))
    {
        for i in 0..free {
            let mut square = F::zero();
            for t in 0..k {
                let v = xv[side.index(i, t)];
                square += v * v;
            }
            let inv = F::one() / (if square > floor { square } else { floor }).sqrt();
            for t in 0..k {
                hv[side.index(i, t)] = xv[side.index(i, t)] * inv;
            }
        }
    }
}

/// Turns `grad`, the gradient with respect to the normalised values `hat`, into the
/// gradient with respect to `x`: `(g - hat · (hat · g)) / norm` where the norm is above
/// the floor, `g / floor_norm` where it is not.
fn normalize_backward<F: Float>(x: &[F], side: DotSide, hat: &[F], grad: &mut [F]) {
    let (free, k) = side.sizes();
    let floor = F::of(NORM_FLOOR);
    for ((xv, hv), gv) in x
        .chunks_exact(side.len())
        .zip(hat.chunks_exact(side.len()))
        .zip(grad.chunks_exact_mut(side.len()))
    {
        for i in 0..free {
            let (mut square, mut along) = (F::zero(), F::zero());
            for t in 0..k {
                let e = side.index(i, t);
                square += xv[e] * xv[e];
                along += hv[e] * gv[e];
            }
            let clamped = square <= floor;
            let inv = F::one() / (if clamped { floor } else { square }).sqrt();
            for t in 0..k {
                let e = side.index(i, t);
                gv[e] = if clamped {
                    gv[e] * inv
                } else {
                    (gv[e] - hv[e] * along) * inv
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Seed;
    use crate::kernels::gradcheck::{assert_gradient_matches, random_away_from_zero};

    fn weights(len: usize, seed: u64) -> Vec<f64> {
        random_away_from_zero(len, &mut Seed(seed).rng())
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn every_elementwise_merge_has_the_gradient_of_its_forward() {
        use MergeOp::*;
        for op in [Add, Subtract, Multiply, Average, Maximum, Minimum] {
            let count = if op == Subtract { 2 } else { 3 };
            let len = 5;
            let flat = weights(count * len, 1);
            let w = weights(len, 2);
            let loss = |flat: &[f64]| {
                let inputs: Vec<&[f64]> = flat.chunks(len).collect();
                let mut y = vec![0.0; len];
                merge_forward(op, &inputs, &mut y);
                dot(&y, &w)
            };
            let inputs: Vec<&[f64]> = flat.chunks(len).collect();
            let mut grads = vec![0.0; count * len];
            let mut dxs: Vec<Option<&mut [f64]>> = grads.chunks_mut(len).map(Some).collect();
            merge_backward(op, &inputs, &w, &mut dxs);
            assert_gradient_matches(&format!("{op:?}"), loss, &flat, &grads);
        }
    }

    #[test]
    fn maximum_sends_a_tie_to_the_first_input_and_skips_absent_gradients() {
        let (a, b) = ([2.0f64, 1.0], [2.0, 3.0]);
        let mut db = [9.0; 2];
        merge_backward(
            MergeOp::Maximum,
            &[&a, &b],
            &[1.0, 1.0],
            &mut [None, Some(&mut db)],
        );
        assert_eq!(db, [0.0, 1.0]);
    }

    #[test]
    fn concatenate_splits_back_what_it_joined() {
        let (a, b) = ([1.0f64, 2.0, 3.0, 4.0], [5.0, 6.0]);
        let mut y = [0.0; 6];
        concatenate_forward(&[&a, &b], &[2, 1], 2, &mut y);
        assert_eq!(y, [1.0, 2.0, 5.0, 3.0, 4.0, 6.0]);
        let (mut da, mut db) = ([0.0; 4], [0.0; 2]);
        concatenate_backward(&y, &[2, 1], 2, &mut [Some(&mut da), Some(&mut db)]);
        assert_eq!((da, db), (a, b));
    }

    #[test]
    fn dot_matches_a_plain_product_and_its_gradient_for_every_layout() {
        let n = 2;
        for (x_side, z_side) in [
            // vectors
            (
                DotSide {
                    rows: 4,
                    cols: 1,
                    transposed: true,
                },
                DotSide {
                    rows: 4,
                    cols: 1,
                    transposed: true,
                },
            ),
            // [3, 4] · [5, 4] contracting the columns
            (
                DotSide {
                    rows: 3,
                    cols: 4,
                    transposed: false,
                },
                DotSide {
                    rows: 5,
                    cols: 4,
                    transposed: false,
                },
            ),
            // [4, 3] · [4, 2] contracting the rows
            (
                DotSide {
                    rows: 4,
                    cols: 3,
                    transposed: true,
                },
                DotSide {
                    rows: 4,
                    cols: 2,
                    transposed: true,
                },
            ),
        ] {
            for normalize in [false, true] {
                let (xl, zl) = (x_side.len(), z_side.len());
                let (xf, k) = x_side.sizes();
                let (zf, _) = z_side.sizes();
                let flat = weights(n * (xl + zl), 3);
                let w = weights(n * xf * zf, 4);
                let run = |flat: &[f64]| {
                    let (x, z) = flat.split_at(n * xl);
                    let (mut xh, mut zh) = (vec![0.0; n * xl], vec![0.0; n * zl]);
                    let mut y = vec![0.0; n * xf * zf];
                    dot_forward(n, x, x_side, z, z_side, normalize, &mut xh, &mut zh, &mut y);
                    (y, xh, zh)
                };
                let (y, xh, zh) = run(&flat);
                let (x, z) = flat.split_at(n * xl);
                for s in 0..n {
                    for i in 0..xf {
                        for j in 0..zf {
                            let xv: Vec<f64> =
                                (0..k).map(|t| x[s * xl + x_side.index(i, t)]).collect();
                            let zv: Vec<f64> =
                                (0..k).map(|t| z[s * zl + z_side.index(j, t)]).collect();
                            let norm = |v: &[f64]| if normalize { dot(v, v).sqrt() } else { 1.0 };
                            let expected = dot(&xv, &zv) / norm(&xv) / norm(&zv);
                            let got = y[s * xf * zf + i * zf + j];
                            assert!(
                                (got - expected).abs() < 1e-12,
                                "{x_side:?} {z_side:?}: {got} vs {expected}"
                            );
                        }
                    }
                }
                let mut grads = vec![0.0; n * (xl + zl)];
                let (dx, dz) = grads.split_at_mut(n * xl);
                dot_backward(
                    n,
                    x,
                    x_side,
                    z,
                    z_side,
                    normalize,
                    &xh,
                    &zh,
                    &w,
                    Some(dx),
                    Some(dz),
                );
                assert_gradient_matches(
                    &format!("Dot {x_side:?} {z_side:?} normalize={normalize}"),
                    |flat| dot(&run(flat).0, &w),
                    &flat,
                    &grads,
                );
            }
        }
    }
}
