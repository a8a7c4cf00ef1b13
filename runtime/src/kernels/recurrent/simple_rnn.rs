//! SimpleRNN: `hₛ = activation(xₛ·kernel + hₛ₋₁·recurrent_kernel + bias)`, from `h₋₁ = 0`
//! or the initial state.

use super::{
    Activation, Float, Grads, Recurrence, RecurrentWeights, RunStates, SEQUENCE_PARTS, Sequence,
    activation_backward, activation_forward, dense_forward, finish_backward, matmul,
    sequence_parts, split_mut, write_initial_grads,
};

const PARTS: usize = SEQUENCE_PARTS + 4;

/// The cache's parts: the sequence's, then every step's pre-activation and its gradient,
/// and one step's state gradient and the gradient carried to the step before.
pub(super) fn parts(r: &Recurrence, n: usize) -> [usize; PARTS] {
    let [xs, h, fed_back, input_mask, state_mask, dxs, recurrent_t] = sequence_parts(r, n);
    let (steps, step) = (r.time * n * r.units, n * r.units);
    [
        xs,
        h,
        fed_back,
        input_mask,
        state_mask,
        dxs,
        recurrent_t,
        steps,
        steps,
        step,
        step,
    ]
}

struct Cache<'a, F> {
    seq: Sequence<'a, F>,
    z: &'a mut [F],
    dz: &'a mut [F],
    dh: &'a mut [F],
    carry: &'a mut [F],
}

fn cache<'a, F: Float>(r: &Recurrence, n: usize, buffer: &'a mut [F]) -> Cache<'a, F> {
    let [
        xs,
        h,
        fed_back,
        input_mask,
        state_mask,
        dxs,
        recurrent_t,
        z,
        dz,
        dh,
        carry,
    ] = split_mut(buffer, parts(r, n));
    Cache {
        seq: Sequence::new([xs, h, fed_back, input_mask, state_mask, dxs, recurrent_t]),
        z,
        dz,
        dh,
        carry,
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn forward<F: Float>(
    r: &Recurrence,
    activation: Activation,
    n: usize,
    x: &[F],
    weights: RecurrentWeights<F>,
    y: &mut [F],
    states: RunStates<F>,
    buffer: &mut [F],
    training: Option<&mut crate::Rng>,
) {
    let c = cache(r, n, buffer);
    let is_training = training.is_some();
    let mut seq = c.seq;
    seq.start(r, n, (x, states.initial.map(|s| s.h)), training);
    let (units, step) = (r.units, n * r.units);
    dense_forward(
        seq.xs,
        weights.kernel,
        weights.bias,
        c.z,
        r.time * n,
        r.inputs,
        units,
    );
    for s in 0..r.time {
        let z = &mut c.z[s * step..][..step];
        if let Some(fed) = seq.fed_to_step(r, n, s, is_training) {
            let recurrent = weights.recurrent_kernel;
            matmul(n, units, units, fed, false, recurrent, false, z, true);
        }
        activation_forward(activation, z, seq.state_mut(r, n, s), units);
        seq.feed_back_step(r, n, s, is_training);
    }
    seq.finish(r, n, y, states.last.map(|s| s.h));
}

#[allow(clippy::too_many_arguments)]
pub(super) fn backward<F: Float>(
    r: &Recurrence,
    activation: Activation,
    n: usize,
    weights: RecurrentWeights<F>,
    dy: &[F],
    grads: Grads<F>,
    buffer: &mut [F],
) {
    let c = cache(r, n, buffer);
    let mut seq = c.seq;
    let (units, step) = (r.units, n * r.units);
    seq.transpose_recurrent(r, weights.recurrent_kernel);
    c.carry.fill(F::zero());
    let dh_last = grads.states.last.map(|s| s.h);
    for s in (0..r.time).rev() {
        Sequence::state_grad(r, s, (dy, dh_last), c.carry, c.dh);
        let dz = &mut c.dz[s * step..][..step];
        let (z, h) = (&c.z[s * step..][..step], seq.state(r, n, s));
        activation_backward(activation, z, h, c.dh, dz, units);
        if r.reads_state(s) {
            seq.carry_back(r, n, dz, c.carry);
        }
    }
    write_initial_grads(grads.states, c.carry, None);
    finish_backward(
        r,
        n,
        weights,
        &mut seq,
        (c.dz, c.dz),
        grads.dx,
        grads.weights,
    );
}
