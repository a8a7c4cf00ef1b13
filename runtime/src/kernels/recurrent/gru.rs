//! GRU, as Keras's: gates z, r and the candidate h, in that order in every weight.
//!
//! ```text
//! reset_after (Keras 3's default; bias [2, 3·units], input then recurrent):
//!   x̂ = xₛ·kernel + b_in        ĥ = hₛ₋₁·recurrent_kernel + b_rec
//!   z = σ(x̂_z + ĥ_z)   r = σ(x̂_r + ĥ_r)   h̃ = tanh(x̂_h + r ⊙ ĥ_h)
//! reset before (bias [3·units]):
//!   z = σ(x̂_z + hₛ₋₁·R_z)   r = σ(x̂_r + hₛ₋₁·R_r)   h̃ = tanh(x̂_h + (r ⊙ hₛ₋₁)·R_h)
//! both:
//!   hₛ = z ⊙ hₛ₋₁ + (1 - z) ⊙ h̃
//! ```
//!
//! from `h₋₁ = 0` or the initial state, where σ is the recurrent activation and tanh the activation. Without
//! `reset_after` the candidate's product needs the recurrent kernel's last block alone:
//! each pass copies the kernel into its two blocks (`[units, 2·units]` and
//! `[units, units]`), so that every product reads contiguous memory.

use super::super::conv::column_sums;
use super::{
    Activation, Float, Grads, Keep, Recurrence, RecurrentGrads, RecurrentWeights, Run, Sequence,
    activation_backward, activation_forward, add, add_bias, block_mut, finish_backward,
    gates_backward, gates_forward, matmul, multiply, write_initial_grads,
};

/// The cell's activations and variant.
#[derive(Clone, Copy)]
pub(super) struct Gru {
    pub activation: Activation,
    pub recurrent_activation: Activation,
    pub reset_after: bool,
}

const PARTS: usize = 10;

/// The cell's own parts of the cache, after the sequence's: every step's pre-activations, gates, recurrent
/// values (with `reset_after` the recurrent products `[time, n, gates]`, without it the
/// reset states `r ⊙ hₛ₋₁`, `[time, n, units]`) and the gradients of the pre-activations
/// and of the recurrent values; one step's state gradient, its carry, the gates' gradient
/// and scratch; without `reset_after`, the recurrent kernel's blocks and their gradients.
pub(super) fn parts(r: &Recurrence, n: usize) -> [usize; PARTS] {
    let reset_after = matches!(
        r.cell,
        super::Cell::Gru {
            reset_after: true,
            ..
        }
    );
    let (gates, units, steps) = (r.gates(), r.units, r.time * n);
    let (recurrent, blocks) = if reset_after {
        (steps * gates, 0)
    } else {
        (steps * units, 2 * units * gates)
    };
    [
        steps * gates,
        steps * gates,
        recurrent,
        steps * gates,
        steps * gates,
        n * units,
        n * units,
        n * gates,
        n * gates,
        blocks,
    ]
}

struct Cache<'a, F> {
    seq: Sequence<'a, F>,
    /// Pre-activations `[time, n, gates]`.
    z: &'a mut [F],
    /// Gates z, r, h̃ `[time, n, gates]`.
    a: &'a mut [F],
    /// With `reset_after`, `ĥ` of every step; without, `r ⊙ hₛ₋₁`.
    rec: &'a mut [F],
    dz: &'a mut [F],
    /// With `reset_after`, the gradient of `ĥ`; without, those of the z and r blocks'
    /// recurrent products (`[time, n, 2·units]`) then the candidate's (`[time, n, units]`).
    drec: &'a mut [F],
    dh: &'a mut [F],
    carry: &'a mut [F],
    da: &'a mut [F],
    scratch: &'a mut [F],
    /// Without `reset_after`: `R_zr`, `R_h`, and their gradients.
    blocks: &'a mut [F],
}

fn cache<'a, F: Float>(r: &Recurrence, n: usize, buffer: &'a mut [F], keep: Keep) -> Cache<'a, F> {
    let (seq, [z, a, rec, dz, drec, dh, carry, da, scratch, blocks]) =
        Sequence::split(r, n, buffer, keep, parts(r, n));
    Cache {
        seq,
        z,
        a,
        rec,
        dz,
        drec,
        dh,
        carry,
        da,
        scratch,
        blocks,
    }
}

/// The input and recurrent halves of a `reset_after` bias, or the whole bias and none.
fn split_bias<F>(
    bias: Option<&[F]>,
    reset_after: bool,
    gates: usize,
) -> (Option<&[F]>, Option<&[F]>) {
    match bias {
        Some(bias) if reset_after => (Some(&bias[..gates]), Some(&bias[gates..])),
        other => (other, None),
    }
}

pub(super) fn forward<F: Float>(
    r: &Recurrence,
    g: Gru,
    n: usize,
    run: Run<F>,
    buffer: &mut [F],
    training: Option<&mut crate::Rng>,
) {
    let (x, weights) = (run.x, run.weights);
    let mut c = cache(r, n, buffer, Keep::when_training(training.is_some()));
    c.seq.start(r, n, run.states.initial.map(|s| s.h), training);
    let units = r.units;
    let (input_bias, recurrent_bias) = split_bias(weights.bias, g.reset_after, r.gates());
    if !g.reset_after {
        split_kernel(weights.recurrent_kernel, c.blocks, units);
    }
    for s in 0..r.time {
        c.seq
            .project(r, n, (s, x), (weights.kernel, input_bias), c.z);
        c.step(r, g, n, s, (weights.recurrent_kernel, recurrent_bias));
        c.seq.finish_step(r, n, s, run.y);
    }
    c.seq.finish(r, n, run.y, run.states.last.map(|s| s.h));
}

impl<F: Float> Cache<'_, F> {
    /// Step `s`, its inputs' projection in its block of `z`: the gates from the recurrent
    /// products (the recurrent kernel and the recurrent half of a `reset_after` bias),
    /// then the state.
    fn step(
        &mut self,
        r: &Recurrence,
        g: Gru,
        n: usize,
        s: usize,
        (recurrent, recurrent_bias): (&[F], Option<&[F]>),
    ) {
        let (units, gates) = (r.units, r.gates());
        let (step, gate_step) = (n * units, n * gates);
        let at = self.seq.step_slot(s);
        let z = block_mut(self.z, at, gate_step);
        let a = block_mut(self.a, at, gate_step);
        let (fed, previous, h) = self.seq.step_states(r, n, s);
        if g.reset_after {
            let rec = block_mut(self.rec, at, gate_step);
            match fed {
                Some(fed) => matmul(n, units, gates, fed, false, recurrent, false, rec, false),
                None => rec.fill(F::zero()),
            }
            if let Some(bias) = recurrent_bias {
                add_bias(rec, bias);
            }
            let rows = z.chunks_exact_mut(gates).zip(a.chunks_exact_mut(gates));
            for ((z, a), rec) in rows.zip(rec.chunks_exact(gates)) {
                g.gates_after(z, a, rec, units);
            }
        } else {
            let reset = block_mut(self.rec, at, step);
            g.gates_before(Step { z, a, fed }, reset, self.blocks, self.scratch, units);
        }
        mix(h, a, previous, units);
    }
}

/// One step's pre-activations and gates (`[n, gates]`) and the state fed back to it
/// (`[n, units]`, none at the first step).
struct Step<'s, F> {
    z: &'s mut [F],
    a: &'s mut [F],
    fed: Option<&'s [F]>,
}

/// The same, read-only, with the gradients of the gates and pre-activations.
struct StepGrad<'s, F> {
    z: &'s [F],
    a: &'s [F],
    fed: Option<&'s [F]>,
    /// The gates' gradient: z's and the candidate's set, r's to fill.
    da: &'s mut [F],
    dz: &'s mut [F],
}

impl Gru {
    /// The z and r gates of a row `[z, r, h]` from their pre-activations.
    fn update_and_reset<F: Float>(&self, z: &[F], a: &mut [F], units: usize) {
        let zr = ..2 * units;
        gates_forward(&[self.recurrent_activation; 2], &z[zr], &mut a[zr], units);
    }

    /// The gradient through [`Gru::update_and_reset`].
    fn update_and_reset_backward<F: Float>(
        &self,
        z: &[F],
        a: &[F],
        da: &[F],
        dz: &mut [F],
        units: usize,
    ) {
        let zr = ..2 * units;
        let (act, z, a, da) = (self.recurrent_activation, &z[zr], &a[zr], &da[zr]);
        gates_backward(&[act; 2], z, a, da, &mut dz[zr], units);
    }

    /// The candidate h̃ of a row from its pre-activation.
    fn candidate<F: Float>(&self, z: &[F], a: &mut [F], units: usize) {
        activation_forward(self.activation, &z[2 * units..], &mut a[2 * units..], units);
    }

    /// The gradient through [`Gru::candidate`].
    fn candidate_backward<F: Float>(&self, z: &[F], a: &[F], da: &[F], dz: &mut [F], units: usize) {
        let h = 2 * units..;
        let (z, a, da) = (&z[h.clone()], &a[h.clone()], &da[h.clone()]);
        activation_backward(self.activation, z, a, da, &mut dz[h], units);
    }

    /// With `reset_after`, one row: z and r from `x̂ + ĥ`, then `h̃ = tanh(x̂_h + r ⊙ ĥ_h)`.
    fn gates_after<F: Float>(&self, z: &mut [F], a: &mut [F], rec: &[F], units: usize) {
        let zr = ..2 * units;
        add(&mut z[zr], &rec[zr]);
        self.update_and_reset(z, a, units);
        for j in 0..units {
            z[2 * units + j] += a[units + j] * rec[2 * units + j];
        }
        self.candidate(z, a, units);
    }

    /// The gradient through [`Gru::gates_after`] for one row: `dz`, and `drec`, that of
    /// the recurrent products `ĥ`.
    fn gates_after_backward<F: Float>(
        &self,
        (z, a, rec): (&[F], &[F], &[F]),
        da: &mut [F],
        dz: &mut [F],
        drec: &mut [F],
        units: usize,
    ) {
        let zr = ..2 * units;
        self.candidate_backward(z, a, da, dz, units);
        for j in 0..units {
            da[units + j] = dz[2 * units + j] * rec[2 * units + j];
        }
        self.update_and_reset_backward(z, a, da, dz, units);
        drec[zr].copy_from_slice(&dz[zr]);
        multiply(
            &mut drec[2 * units..],
            &dz[2 * units..],
            &a[units..2 * units],
        );
    }

    /// Without `reset_after`, a step: z and r from `x̂ + hₛ₋₁·R_zr`, the reset state
    /// `reset = r ⊙ hₛ₋₁`, then `h̃ = tanh(x̂_h + reset·R_h)`.
    fn gates_before<F: Float>(
        &self,
        step: Step<F>,
        reset: &mut [F],
        blocks: &[F],
        scratch: &mut [F],
        units: usize,
    ) {
        let Step { z, a, fed } = step;
        let (gates, n) = (3 * units, reset.len() / units);
        let (r_zr, rest) = blocks.split_at(2 * units * units);
        let r_h = &rest[..units * units];
        let (products_zr, rest) = scratch.split_at_mut(2 * n * units);
        let product_h = &mut rest[..n * units];
        if let Some(fed) = fed {
            matmul(
                n,
                units,
                2 * units,
                fed,
                false,
                r_zr,
                false,
                products_zr,
                false,
            );
        }
        let rows = z.chunks_exact_mut(gates).zip(a.chunks_exact_mut(gates));
        for (b, (z, a)) in rows.enumerate() {
            let zr = ..2 * units;
            if fed.is_some() {
                add(&mut z[zr], &products_zr[b * 2 * units..][..2 * units]);
            }
            self.update_and_reset(z, a, units);
            let reset = &mut reset[b * units..][..units];
            match fed {
                Some(fed) => multiply(reset, &a[units..2 * units], &fed[b * units..][..units]),
                None => reset.fill(F::zero()),
            }
        }
        if fed.is_some() {
            matmul(n, units, units, reset, false, r_h, false, product_h, false);
        }
        let rows = z.chunks_exact_mut(gates).zip(a.chunks_exact_mut(gates));
        for (b, (z, a)) in rows.enumerate() {
            if fed.is_some() {
                add(&mut z[2 * units..], &product_h[b * units..][..units]);
            }
            self.candidate(z, a, units);
        }
    }

    /// The gradient through [`Gru::gates_before`] for a step: `dz`, the gradients of the
    /// z and r blocks' recurrent product (`dzr`, `[n, 2·units]`) and of the candidate's
    /// (`dcandidate`, `[n, units]`), and in `carry` the state fed back's (unmasked).
    #[allow(clippy::too_many_arguments)] // the step, its two products' gradients, the carry
    fn gates_before_backward<F: Float>(
        &self,
        step: StepGrad<F>,
        dzr: &mut [F],
        dcandidate: &mut [F],
        carry: &mut [F],
        blocks: &[F],
        scratch: &mut [F],
        units: usize,
    ) {
        let StepGrad { z, a, fed, da, dz } = step;
        let (gates, n) = (3 * units, carry.len() / units);
        let (r_zr, rest) = blocks.split_at(2 * units * units);
        let r_h = &rest[..units * units];
        let zr = ..2 * units;
        let rows = z.chunks_exact(gates).zip(a.chunks_exact(gates));
        let grads = da.chunks_exact(gates).zip(dz.chunks_exact_mut(gates));
        for (b, ((z, a), (da, dz))) in rows.zip(grads).enumerate() {
            self.candidate_backward(z, a, da, dz, units);
            dcandidate[b * units..][..units].copy_from_slice(&dz[2 * units..]);
        }
        match fed {
            Some(fed) => {
                // The gradient of r ⊙ hₛ₋₁, then of r and of the state fed back.
                let d_reset = &mut scratch[..n * units];
                matmul(
                    n, units, units, dcandidate, false, r_h, true, d_reset, false,
                );
                let rows = da.chunks_exact_mut(gates).zip(a.chunks_exact(gates));
                for (b, (da, gate)) in rows.enumerate() {
                    let row = b * units..(b + 1) * units;
                    multiply(
                        &mut da[units..2 * units],
                        &d_reset[row.clone()],
                        &fed[row.clone()],
                    );
                    multiply(
                        &mut carry[row.clone()],
                        &d_reset[row],
                        &gate[units..2 * units],
                    );
                }
            }
            None => da
                .chunks_exact_mut(gates)
                .for_each(|da| da[units..2 * units].fill(F::zero())),
        }
        let rows = z.chunks_exact(gates).zip(a.chunks_exact(gates));
        let grads = da.chunks_exact(gates).zip(dz.chunks_exact_mut(gates));
        for (b, ((z, a), (da, dz))) in rows.zip(grads).enumerate() {
            self.update_and_reset_backward(z, a, da, dz, units);
            dzr[b * 2 * units..][..2 * units].copy_from_slice(&dz[zr]);
        }
        if fed.is_some() {
            matmul(n, 2 * units, units, dzr, false, r_zr, true, carry, true);
        }
    }
}

/// `hₛ = z ⊙ hₛ₋₁ + (1 - z) ⊙ h̃` for every row.
fn mix<F: Float>(h: &mut [F], a: &[F], previous: Option<&[F]>, units: usize) {
    for (b, (h, gate)) in h
        .chunks_exact_mut(units)
        .zip(a.chunks_exact(3 * units))
        .enumerate()
    {
        let (z, candidate) = (&gate[..units], &gate[2 * units..]);
        for j in 0..units {
            let kept = previous.map_or(F::zero(), |p| z[j] * p[b * units + j]);
            h[j] = kept + (F::one() - z[j]) * candidate[j];
        }
    }
}

/// The gradient through `hₛ = z ⊙ hₛ₋₁ + (1 - z) ⊙ h̃` for every row: into `da` those
/// of z and h̃, into `direct` that of hₛ₋₁.
fn mix_backward<F: Float>(
    dh: &[F],
    a: &[F],
    previous: Option<&[F]>,
    da: &mut [F],
    direct: &mut [F],
    units: usize,
) {
    let rows = da
        .chunks_exact_mut(3 * units)
        .zip(a.chunks_exact(3 * units));
    for (b, (da, gate)) in rows.enumerate() {
        let row = b * units..(b + 1) * units;
        let (z, candidate, dh) = (&gate[..units], &gate[2 * units..], &dh[row.clone()]);
        for j in 0..units {
            let previous = previous.map_or(F::zero(), |p| p[b * units + j]);
            da[j] = dh[j] * (previous - candidate[j]);
            da[2 * units + j] = dh[j] * (F::one() - z[j]);
        }
        multiply(&mut direct[row], dh, z);
    }
}

/// `r_zr` (`[units, 2·units]`) and `r_h` (`[units, units]`) from the recurrent kernel.
fn split_kernel<F: Float>(recurrent: &[F], blocks: &mut [F], units: usize) {
    let (r_zr, rest) = blocks.split_at_mut(2 * units * units);
    let r_h = &mut rest[..units * units];
    for (i, row) in recurrent.chunks_exact(3 * units).enumerate() {
        r_zr[i * 2 * units..][..2 * units].copy_from_slice(&row[..2 * units]);
        r_h[i * units..][..units].copy_from_slice(&row[2 * units..]);
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn backward<F: Float>(
    r: &Recurrence,
    g: Gru,
    n: usize,
    weights: RecurrentWeights<F>,
    dy: &[F],
    grads: Grads<F>,
    buffer: &mut [F],
) {
    let mut c = cache(r, n, buffer, Keep::EveryStep);
    let (units, gates) = (r.units, r.gates());
    let (step, gate_step) = (n * units, n * gates);
    if g.reset_after {
        c.seq.transpose_recurrent(r, weights.recurrent_kernel);
    }
    c.carry.fill(F::zero());
    let dh_last = grads.states.last.map(|s| s.h);
    for s in (0..r.time).rev() {
        Sequence::state_grad(r, s, (dy, dh_last), c.carry, c.dh);
        let a = &c.a[s * gate_step..][..gate_step];
        let z = &c.z[s * gate_step..][..gate_step];
        let dz = &mut c.dz[s * gate_step..][..gate_step];
        let previous = c.seq.previous(r, n, s);
        let (direct, scratch) = c.scratch.split_at_mut(step);
        mix_backward(c.dh, a, previous, c.da, direct, units);
        let fed = c.seq.fed_to_step(r, n, s, true);
        if g.reset_after {
            let rec = &c.rec[s * gate_step..][..gate_step];
            let drec = &mut c.drec[s * gate_step..][..gate_step];
            let rows = z.chunks_exact(gates).zip(a.chunks_exact(gates));
            let grads = c.da.chunks_exact_mut(gates).zip(dz.chunks_exact_mut(gates));
            let recs = rec.chunks_exact(gates).zip(drec.chunks_exact_mut(gates));
            for (((z, a), (da, dz)), (rec, drec)) in rows.zip(grads).zip(recs) {
                g.gates_after_backward((z, a, rec), da, dz, drec, units);
            }
            if r.reads_state(s) {
                c.seq.carry_back(r, n, drec, c.carry);
            }
        } else {
            let (dzr_all, dcandidate_all) = c.drec.split_at_mut(r.time * 2 * step);
            let dzr = &mut dzr_all[s * 2 * step..][..2 * step];
            let dcandidate = &mut dcandidate_all[s * step..][..step];
            let grad = StepGrad {
                z,
                a,
                fed,
                da: c.da,
                dz,
            };
            g.gates_before_backward(grad, dzr, dcandidate, c.carry, c.blocks, scratch, units);
            if r.reads_state(s) {
                c.seq.unmask_carry(r, c.carry, true);
            }
        }
        if r.reads_state(s) {
            add(c.carry, direct);
        }
    }
    write_initial_grads(grads.states, c.carry, None);
    let RecurrentGrads {
        kernel,
        recurrent_kernel,
        bias,
    } = grads.weights;
    let (input_bias, recurrent_bias) = match bias {
        Some(bias) if g.reset_after => {
            let (input, recurrent) = bias.split_at_mut(gates);
            (Some(input), Some(recurrent))
        }
        other => (other, None),
    };
    if let Some(recurrent_bias) = recurrent_bias {
        column_sums(c.drec, recurrent_bias);
    }
    let (dz, drec) = (&*c.dz, &*c.drec);
    let (drecurrent, blocks_grad) = match g.reset_after {
        true => (recurrent_kernel, None),
        false => (None, recurrent_kernel),
    };
    let seq = &mut c.seq;
    let weight_grads = RecurrentGrads {
        kernel,
        recurrent_kernel: drecurrent,
        bias: input_bias,
    };
    finish_backward(r, n, weights, seq, (dz, drec), grads.dx, weight_grads);
    if let Some(drecurrent) = blocks_grad {
        // Each block's gradient, then the two side by side: dR_zr from the states fed
        // back and the z and r gradients of the steps after, dR_h from the reset states.
        let (time, step) = (r.time, n * units);
        let (dzr_all, dcandidate_all) = drec.split_at(time * 2 * step);
        let (d_zr, rest) = c.blocks[3 * units * units..].split_at_mut(2 * units * units);
        let d_h = &mut rest[..units * units];
        let first = r.first_fed();
        let states = seq.fed_to(r, n, first..time, true);
        let later = &dzr_all[first * 2 * step..];
        let steps = (time - first) * n;
        matmul(
            units,
            steps,
            2 * units,
            states,
            true,
            later,
            false,
            d_zr,
            false,
        );
        matmul(
            units,
            time * n,
            units,
            c.rec,
            true,
            dcandidate_all,
            false,
            d_h,
            false,
        );
        for (i, row) in drecurrent.chunks_exact_mut(3 * units).enumerate() {
            row[..2 * units].copy_from_slice(&d_zr[i * 2 * units..][..2 * units]);
            row[2 * units..].copy_from_slice(&d_h[i * units..][..units]);
        }
    }
}
