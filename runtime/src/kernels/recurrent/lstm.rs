//! LSTM, as Keras's: with `zₛ = xₛ·kernel + hₛ₋₁·recurrent_kernel + bias` split into the
//! gates i, f, c, o,
//!
//! ```text
//! i = σ(z_i)   f = σ(z_f)   g = tanh(z_c)   o = σ(z_o)
//! cₛ = f ⊙ cₛ₋₁ + i ⊙ g      hₛ = o ⊙ tanh(cₛ)
//! ```
//!
//! from `h₋₁ = c₋₁ = 0` or the initial states, where σ is the recurrent activation and tanh
//! the activation.

use super::{
    Activation, Float, Grads, Keep, Recurrence, RecurrentWeights, Run, Sequence,
    activation_backward, activation_forward, add, block, block_mut, finish_backward,
    gates_backward, gates_forward, matmul, multiply, previous_and_next, states_len,
    write_initial_grads,
};

const PARTS: usize = 11;

/// The cell's own parts of the cache, after the sequence's: every step's pre-activations
/// `z` and gates `a`, the initial cell and every step's `c`, every step's `tanh(c)` and
/// the gradient of `z`; one step's state gradient, the state's and the cell's gradients
/// carried to the step before, the cell's gradient, a scratch row block, and the gates'
/// gradient.
pub(super) fn parts(r: &Recurrence, n: usize) -> [usize; PARTS] {
    let (gates, cells) = (r.time * n * r.gates(), r.time * n * r.units);
    let step = n * r.units;
    [
        gates,
        gates,
        states_len(r, n),
        cells,
        gates,
        step,
        step,
        step,
        step,
        step,
        n * r.gates(),
    ]
}

struct Cache<'a, F> {
    seq: Sequence<'a, F>,
    z: &'a mut [F],
    a: &'a mut [F],
    c: &'a mut [F],
    tanh_c: &'a mut [F],
    dz: &'a mut [F],
    dh: &'a mut [F],
    carry: &'a mut [F],
    dc_carry: &'a mut [F],
    dc: &'a mut [F],
    scratch: &'a mut [F],
    da: &'a mut [F],
}

fn cache<'a, F: Float>(r: &Recurrence, n: usize, buffer: &'a mut [F], keep: Keep) -> Cache<'a, F> {
    let (seq, [z, a, c, tanh_c, dz, dh, carry, dc_carry, dc, scratch, da]) =
        Sequence::split(r, n, buffer, keep, parts(r, n));
    Cache {
        seq,
        z,
        a,
        c,
        tanh_c,
        dz,
        dh,
        carry,
        dc_carry,
        dc,
        scratch,
        da,
    }
}

/// Each gate's activation: σ for i, f and o, the activation for the candidate c.
fn gate_activations([activation, recurrent]: [Activation; 2]) -> [Activation; 4] {
    [recurrent, recurrent, activation, recurrent]
}

pub(super) fn forward<F: Float>(
    r: &Recurrence,
    activations: [Activation; 2],
    n: usize,
    run: Run<F>,
    buffer: &mut [F],
    training: Option<&mut crate::Rng>,
) {
    let (x, weights) = (run.x, run.weights);
    let mut c = cache(r, n, buffer, Keep::when_training(training.is_some()));
    let initial = run.states.initial;
    c.seq.start(r, n, initial.map(|s| s.h), training);
    if let Some(c0) = initial.and_then(|s| s.c) {
        c.c[..c0.len()].copy_from_slice(c0);
    }
    for s in 0..r.time {
        c.seq
            .project(r, n, (s, x), (weights.kernel, weights.bias), c.z);
        c.step(r, activations, n, s, weights.recurrent_kernel);
        c.seq.finish_step(r, n, s, run.y);
    }
    let last = run.states.last.map(|s| (s.h, s.c));
    let (h_last, c_last) = last.map_or((None, None), |(h, c)| (Some(h), c));
    c.seq.finish(r, n, run.y, h_last);
    if let Some(c_last) = c_last {
        c_last.copy_from_slice(block(c.c, r, n, c.seq.state_slot(r.time)));
    }
}

impl<F: Float> Cache<'_, F> {
    /// Step `s`, its inputs' projection in its block of `z`: adds the recurrent product,
    /// then computes the gates, the cell and the state.
    fn step(
        &mut self,
        r: &Recurrence,
        activations: [Activation; 2],
        n: usize,
        s: usize,
        recurrent: &[F],
    ) {
        let (units, gates) = (r.units, r.gates());
        let (step, gate_step) = (n * units, n * gates);
        let at = self.seq.step_slot(s);
        let (slot, next) = (self.seq.state_slot(s), self.seq.state_slot(s + 1));
        let z = block_mut(self.z, at, gate_step);
        let (fed, _, h) = self.seq.step_states(r, n, s);
        if let Some(fed) = fed {
            matmul(n, units, gates, fed, false, recurrent, false, z, true);
        }
        let a = block_mut(self.a, at, gate_step);
        gates_forward(&gate_activations(activations), z, a, units);
        let (previous, cell) = previous_and_next(self.c, slot, next, step);
        let previous = r.reads_state(s).then_some(previous);
        for (b, (cell, gate)) in cell
            .chunks_exact_mut(units)
            .zip(a.chunks_exact(gates))
            .enumerate()
        {
            let (i, rest) = gate.split_at(units);
            let (f, rest) = rest.split_at(units);
            let g = &rest[..units];
            match previous {
                Some(previous) => {
                    let previous = &previous[b * units..][..units];
                    for j in 0..units {
                        cell[j] = f[j] * previous[j] + i[j] * g[j];
                    }
                }
                None => multiply(cell, i, g),
            }
        }
        let tanh_c = block_mut(self.tanh_c, at, step);
        activation_forward(activations[0], cell, tanh_c, units);
        for ((h, tanh_c), gate) in h
            .chunks_exact_mut(units)
            .zip(tanh_c.chunks_exact(units))
            .zip(a.chunks_exact(gates))
        {
            multiply(h, &gate[3 * units..], tanh_c);
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn backward<F: Float>(
    r: &Recurrence,
    activations: [Activation; 2],
    n: usize,
    weights: RecurrentWeights<F>,
    dy: &[F],
    grads: Grads<F>,
    buffer: &mut [F],
) {
    let c = cache(r, n, buffer, Keep::EveryStep);
    let mut seq = c.seq;
    let (units, gates) = (r.units, r.gates());
    let gate_step = n * gates;
    let blocks = gate_activations(activations);
    seq.transpose_recurrent(r, weights.recurrent_kernel);
    c.carry.fill(F::zero());
    let last = grads.states.last;
    match last.and_then(|s| s.c) {
        Some(dc_last) => c.dc_carry.copy_from_slice(dc_last),
        None => c.dc_carry.fill(F::zero()),
    }
    let dh_last = last.map(|s| s.h);
    for s in (0..r.time).rev() {
        Sequence::state_grad(r, s, (dy, dh_last), c.carry, c.dh);
        let a = &c.a[s * gate_step..][..gate_step];
        let tanh_c = block(c.tanh_c, r, n, s);
        // dc = dh ⊙ o ⊙ tanh'(c) + the cell's gradient from the step after.
        for ((scratch, dh), gate) in c
            .scratch
            .chunks_exact_mut(units)
            .zip(c.dh.chunks_exact(units))
            .zip(a.chunks_exact(gates))
        {
            multiply(scratch, dh, &gate[3 * units..]);
        }
        activation_backward(
            activations[0],
            block(c.c, r, n, s + 1),
            tanh_c,
            c.scratch,
            c.dc,
            units,
        );
        add(c.dc, c.dc_carry);
        let previous = r.reads_state(s).then(|| block(c.c, r, n, s));
        let rows = c.da.chunks_exact_mut(gates).zip(a.chunks_exact(gates));
        for (b, (da, gate)) in rows.enumerate() {
            let row = b * units..(b + 1) * units;
            let (dc, dh, tanh_c) = (&c.dc[row.clone()], &c.dh[row.clone()], &tanh_c[row.clone()]);
            let (da_i, rest) = da.split_at_mut(units);
            let (da_f, rest) = rest.split_at_mut(units);
            let (da_g, da_o) = rest.split_at_mut(units);
            let (i, f, g) = (
                &gate[..units],
                &gate[units..2 * units],
                &gate[2 * units..3 * units],
            );
            multiply(da_i, dc, g);
            match previous {
                Some(previous) => multiply(da_f, dc, &previous[row.clone()]),
                None => da_f.fill(F::zero()),
            }
            multiply(da_g, dc, i);
            multiply(da_o, dh, tanh_c);
            multiply(&mut c.dc_carry[row], dc, f);
        }
        let dz = &mut c.dz[s * gate_step..][..gate_step];
        gates_backward(
            &blocks,
            &c.z[s * gate_step..][..gate_step],
            a,
            c.da,
            dz,
            units,
        );
        if r.reads_state(s) {
            seq.carry_back(r, n, dz, c.carry);
        }
    }
    write_initial_grads(grads.states, c.carry, Some(c.dc_carry));
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
