//! SimpleRNN: `hₛ = activation(xₛ·kernel + hₛ₋₁·recurrent_kernel + bias)`, from `h₋₁ = 0`
//! or the initial state.

use super::{
    Activation, Float, Grads, Keep, Recurrence, RecurrentWeights, Run, Sequence,
    activation_backward, activation_forward, block_mut, finish_backward, matmul,
    write_initial_grads,
};

const PARTS: usize = 4;

/// The cell's own parts of the cache, after the sequence's: every step's pre-activation and its gradient,
/// and one step's state gradient and the gradient carried to the step before.
pub(super) fn parts(r: &Recurrence, n: usize) -> [usize; PARTS] {
    let (steps, step) = (r.time * n * r.units, n * r.units);
    [steps, steps, step, step]
}

struct Cache<'a, F> {
    seq: Sequence<'a, F>,
    z: &'a mut [F],
    dz: &'a mut [F],
    dh: &'a mut [F],
    carry: &'a mut [F],
}

fn cache<'a, F: Float>(r: &Recurrence, n: usize, buffer: &'a mut [F], keep: Keep) -> Cache<'a, F> {
    let (seq, [z, dz, dh, carry]) = Sequence::split(r, n, buffer, keep, parts(r, n));
    Cache {
        seq,
        z,
        dz,
        dh,
        carry,
    }
}

pub(super) fn forward<F: Float>(
    r: &Recurrence,
    activation: Activation,
    n: usize,
    run: Run<F>,
    buffer: &mut [F],
    training: Option<&mut crate::Rng>,
) {
    let (x, weights) = (run.x, run.weights);
    let c = cache(r, n, buffer, Keep::when_training(training.is_some()));
    let mut seq = c.seq;
    seq.start(r, n, run.states.initial.map(|s| s.h), training);
    let (units, step) = (r.units, n * r.units);
    for s in 0..r.time {
        seq.project(r, n, (s, x), (weights.kernel, weights.bias), c.z);
        let z = block_mut(c.z, seq.step_slot(s), step);
        let (fed, _, h) = seq.step_states(r, n, s);
        if let Some(fed) = fed {
            let recurrent = weights.recurrent_kernel;
            matmul(n, units, units, fed, false, recurrent, false, z, true);
        }
        activation_forward(activation, z, h, units);
        seq.finish_step(r, n, s, run.y);
    }
    seq.finish(r, n, run.y, run.states.last.map(|s| s.h));
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
    let c = cache(r, n, buffer, Keep::EveryStep);
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
