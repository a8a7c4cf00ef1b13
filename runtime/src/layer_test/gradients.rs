//! A model's backward pass against central finite differences of its training forward
//! pass, in `f64`, weight by weight and for its input.

use crate::{Model, ParamInfo, Seed};

/// What the finite differences found for one weight tensor (or the input).
#[derive(Clone, Debug, PartialEq)]
pub struct GradientCheck {
    /// The weight's name (`dense/kernel`), or `input`.
    pub name: String,
    /// How many of its values were checked (all of a small tensor, a spread of a large
    /// one).
    pub checked: usize,
    /// The largest error, `|analytic − numeric| / (1 + max(|analytic|, |numeric|))`.
    pub worst_error: f64,
    /// Where in the tensor (a flat index) the largest error is.
    pub worst_index: usize,
    /// The backward pass's value and the finite differences' there.
    pub analytic: f64,
    pub numeric: f64,
}

/// The step of the central differences.
const STEP: f64 = 1e-6;
/// The most values of one tensor that are checked.
const MOST_CHECKED: usize = 48;

/// The batch the gradients are checked on.
pub const BATCH: usize = 3;

/// `sum(weights · forward_train(params, input))`, with the same random stream every time
/// (Dropout draws the same mask).
fn objective<M: Model<Float = f64>>(
    model: &M,
    ws: &mut M::Workspace,
    input: &[f64],
    weights: &[f64],
) -> f64 {
    let mut rng = Seed(7).rng();
    let out = model.forward_train(ws, input, BATCH, &mut rng);
    out.iter().zip(weights).map(|(o, w)| o * w).sum()
}

/// The indices of a tensor of `len` values that are checked: every one, or an even spread
/// with the first and the last.
fn checked_indices(len: usize) -> Vec<usize> {
    if len <= MOST_CHECKED {
        return (0..len).collect();
    }
    (0..MOST_CHECKED)
        .map(|k| k * (len - 1) / (MOST_CHECKED - 1))
        .collect()
}

/// The worst disagreement over `indices` between `analytic` and the central difference of
/// `moved` (the objective with value `i` moved by its second argument).
fn worst(
    name: &str,
    indices: &[usize],
    analytic: &[f64],
    mut moved: impl FnMut(usize, f64) -> f64,
) -> GradientCheck {
    let mut check = GradientCheck {
        name: name.to_string(),
        checked: indices.len(),
        worst_error: 0.0,
        worst_index: 0,
        analytic: 0.0,
        numeric: 0.0,
    };
    for &i in indices {
        let numeric = (moved(i, STEP) - moved(i, -STEP)) / (2.0 * STEP);
        let a = analytic[i];
        let error = (a - numeric).abs() / (1.0 + a.abs().max(numeric.abs()));
        // NaN (a value backward never wrote) is the worst of all.
        if error > check.worst_error || error.is_nan() && !check.worst_error.is_nan() {
            check.worst_error = error;
            check.worst_index = i;
            check.analytic = a;
            check.numeric = numeric;
        }
    }
    check
}

/// The gradient of every trainable weight tensor of `model` and, when `input_grad`, of
/// its input, checked at `input` (a batch of [`BATCH`]) against finite differences.
pub fn check<M: Model<Float = f64>>(
    model: &mut M,
    input: &[f64],
    output_weights: &[f64],
    input_grad: bool,
) -> Vec<GradientCheck> {
    let mut ws = M::Workspace::default();
    M::prepare(&mut ws, BATCH);
    objective(model, &mut ws, input, output_weights);
    // NaN where backward must write.
    let mut grads = vec![f64::NAN; M::PARAM_COUNT];
    let mut dx = vec![f64::NAN; input.len()];
    M::backward_with(
        model.params(),
        &mut ws,
        input,
        BATCH,
        output_weights,
        &mut grads,
        input_grad.then_some(&mut dx[..]),
    );
    let mut checks = Vec::new();
    for param in M::PARAMS.iter().filter(|p| p.trainable) {
        checks.push(weight(model, &mut ws, param, &grads, input, output_weights));
    }
    if input_grad {
        let mut moved_input = input.to_vec();
        let indices = checked_indices(input.len());
        checks.push(worst("input", &indices, &dx, |i, delta| {
            moved_input[i] = input[i] + delta;
            let value = objective(model, &mut ws, &moved_input, output_weights);
            moved_input[i] = input[i];
            value
        }));
    }
    checks
}

/// [`GradientCheck`] of one weight tensor.
fn weight<M: Model<Float = f64>>(
    model: &mut M,
    ws: &mut M::Workspace,
    param: &ParamInfo,
    grads: &[f64],
    input: &[f64],
    output_weights: &[f64],
) -> GradientCheck {
    let range = param.offset..param.offset + param.len;
    let indices = checked_indices(param.len);
    worst(param.name, &indices, &grads[range], |i, delta| {
        let at = param.offset + i;
        let original = model.params()[at];
        model.params_mut()[at] = original + delta;
        let value = objective(model, ws, input, output_weights);
        model.params_mut()[at] = original;
        value
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_tensors_are_checked_whole_and_large_ones_spread() {
        assert_eq!(checked_indices(3), [0, 1, 2]);
        let spread = checked_indices(1000);
        assert_eq!((spread.len(), spread[0], spread[47]), (48, 0, 999));
    }

    #[test]
    fn the_worst_error_names_its_index() {
        // d/dx of x² at x = [1, 2, 3] is [2, 4, 6]; the analytic one is wrong at 1.
        let x = [1.0, 2.0, 3.0];
        let analytic = [2.0, 5.0, 6.0];
        let check = worst("w", &[0, 1, 2], &analytic, |i, d| (x[i] + d) * (x[i] + d));
        assert_eq!(check.worst_index, 1);
        assert!((check.numeric - 4.0).abs() < 1e-6);
        assert!(check.worst_error > 0.1);
    }
}
