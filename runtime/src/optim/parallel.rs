//! An update rule applied to the trainable parts of the flat buffers, split across the
//! threads of the current rayon pool.
//!
//! Every optimizer's update is elementwise once the gradients are clipped, so splitting the
//! buffer changes no result: a run is bit-identical whatever the split. The split is a
//! recursive `rayon::join`, which allocates nothing.

use std::ops::Range;

use crate::Float;

/// The most per-parameter state vectors an optimizer keeps (Adam with AMSGrad: m, v, v̂;
/// centered RMSprop with momentum: v, ḡ, s).
pub(super) const MAX_SLOTS: usize = 3;

/// Per-parameter state, each vector with the parameter buffer's layout; an optimizer that
/// keeps fewer passes empty slices for the rest.
pub(super) type Slots<'a, F> = [&'a mut [F]; MAX_SLOTS];

/// Below this many parameters a part is updated on one thread: a fork costs more than
/// it saves.
const MIN_PART: usize = 16 * 1024;

/// Parts start at multiples of this many values, so that no two threads write to one
/// cache line and every part's vector loop starts aligned.
const PART_ALIGN: usize = 64;

/// Calls `update(params, grads, slots)` on every trainable range of the buffers (split at
/// part boundaries), with the parts spread over the threads of the rayon pool the caller
/// runs in, if any.
pub(super) fn update_trainable<F, U>(
    params: &mut [F],
    grads: &[F],
    slots: Slots<'_, F>,
    tensors: &[Range<usize>],
    update: &U,
) where
    F: Float,
    U: Fn(&mut [F], &[F], Slots<'_, F>) + Sync,
{
    update_part(0, params, grads, slots, tensors, parts_here(), update);
}

/// Calls `f(offset, part)` on parts of `buffer` (at `offset` in it), spread over the threads
/// of the rayon pool the caller runs in, if any, split as [`update_trainable`] splits.
pub(crate) fn for_each_part<F, P>(buffer: &mut [F], f: &P)
where
    F: Send,
    P: Fn(usize, &mut [F]) + Sync,
{
    for_each_part_from(0, buffer, parts_here(), f);
}

fn for_each_part_from<F, P>(offset: usize, buffer: &mut [F], parts: usize, f: &P)
where
    F: Send,
    P: Fn(usize, &mut [F]) + Sync,
{
    let len = buffer.len();
    if parts <= 1 || len < 2 * MIN_PART {
        f(offset, buffer);
        return;
    }
    let mid = split_point(len);
    let (low, high) = buffer.split_at_mut(mid);
    let high_parts = parts / 2;
    rayon::join(
        || for_each_part_from(offset, low, parts - high_parts, f),
        || for_each_part_from(offset + mid, high, high_parts, f),
    );
}

/// How many parts the work may be split into: the pool's threads, or one outside a pool
/// (a trainer on one thread, or a direct call), where rayon would otherwise send half of
/// it to its global pool.
fn parts_here() -> usize {
    match rayon::current_thread_index() {
        Some(_) => rayon::current_num_threads(),
        None => 1,
    }
}

/// Where a part of `len` values splits in two.
fn split_point(len: usize) -> usize {
    (len / 2).next_multiple_of(PART_ALIGN).min(len)
}

fn update_part<F, U>(
    offset: usize,
    params: &mut [F],
    grads: &[F],
    slots: Slots<'_, F>,
    tensors: &[Range<usize>],
    parts: usize,
    update: &U,
) where
    F: Float,
    U: Fn(&mut [F], &[F], Slots<'_, F>) + Sync,
{
    let len = params.len();
    if parts <= 1 || len < 2 * MIN_PART {
        update_serially(offset, params, grads, slots, tensors, update);
        return;
    }
    let mid = split_point(len);
    let (params_low, params_high) = params.split_at_mut(mid);
    let (grads_low, grads_high) = grads.split_at(mid);
    let (slots_low, slots_high) = split_slots(slots, mid);
    let high_parts = parts / 2;
    rayon::join(
        || {
            let low = (params_low, grads_low, slots_low);
            update_part(
                offset,
                low.0,
                low.1,
                low.2,
                tensors,
                parts - high_parts,
                update,
            );
        },
        || {
            let (params, grads, slots) = (params_high, grads_high, slots_high);
            update_part(
                offset + mid,
                params,
                grads,
                slots,
                tensors,
                high_parts,
                update,
            );
        },
    );
}

/// Applies `update` to the trainable ranges that fall in `offset..offset + params.len()`.
fn update_serially<F, U>(
    offset: usize,
    params: &mut [F],
    grads: &[F],
    mut slots: Slots<'_, F>,
    tensors: &[Range<usize>],
    update: &U,
) where
    F: Float,
    U: Fn(&mut [F], &[F], Slots<'_, F>),
{
    let end = offset + params.len();
    for tensor in tensors {
        let (start, stop) = (tensor.start.max(offset), tensor.end.min(end));
        if start >= stop {
            continue;
        }
        let local = start - offset..stop - offset;
        let [s0, s1, s2] = &mut slots;
        apply(
            update,
            &mut params[local.clone()],
            &grads[local.clone()],
            sub_slot(s0, local.clone()),
            sub_slot(s1, local.clone()),
            sub_slot(s2, local),
        );
    }
}

/// `update` on one range, in a function of its own: as its arguments, the slices are known
/// not to overlap, which lets the compiler vectorize the update's loop. Inlined into the
/// caller it was not, and Adam's update ran 4x slower.
#[inline(never)]
fn apply<F, U>(update: &U, params: &mut [F], grads: &[F], s0: &mut [F], s1: &mut [F], s2: &mut [F])
where
    U: Fn(&mut [F], &[F], Slots<'_, F>),
{
    update(params, grads, [s0, s1, s2]);
}

/// `slot[range]`, or an empty slice for a slot the optimizer does not keep.
fn sub_slot<F>(slot: &mut [F], range: Range<usize>) -> &mut [F] {
    if slot.is_empty() {
        &mut []
    } else {
        &mut slot[range]
    }
}

fn split_slots<F>(slots: Slots<'_, F>, mid: usize) -> (Slots<'_, F>, Slots<'_, F>) {
    let [s0, s1, s2] = slots.map(|slot| {
        if slot.is_empty() {
            (&mut [][..], &mut [][..])
        } else {
            slot.split_at_mut(mid)
        }
    });
    ([s0.0, s1.0, s2.0], [s0.1, s1.1, s2.1])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// p += g + 10·s0, s0 += 1, over several threads and one, must agree and skip frozen
    /// ranges.
    fn run(threads: usize, tensors: &[Range<usize>]) -> (Vec<f32>, Vec<f32>) {
        let n = 100_000;
        let mut params: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let grads: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
        let mut state = vec![0.5f32; n];
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| {
            let slots = [&mut state[..], &mut [][..], &mut [][..]];
            update_trainable(
                &mut params,
                &grads,
                slots,
                tensors,
                &|p, g, [s, none, _]| {
                    assert!(none.is_empty());
                    for ((p, g), s) in p.iter_mut().zip(g).zip(s.iter_mut()) {
                        *p += g + 10.0 * *s;
                        *s += 1.0;
                    }
                },
            );
        });
        (params, state)
    }

    #[test]
    fn every_split_updates_exactly_the_trainable_ranges() {
        let tensors = [0..40_000, 40_000..40_001, 50_000..99_999];
        let (one, one_state) = run(1, &tensors);
        for threads in [2, 3, 4] {
            let (many, many_state) = run(threads, &tensors);
            assert_eq!(one, many, "{threads} threads");
            assert_eq!(one_state, many_state, "{threads} threads");
        }
        for (i, (&p, &s)) in one.iter().zip(&one_state).enumerate() {
            let trainable = tensors.iter().any(|t| t.contains(&i));
            let expected = if trainable {
                i as f32 + (i % 7) as f32 + 5.0
            } else {
                i as f32
            };
            assert_eq!(p, expected, "parameter {i}");
            assert_eq!(s, if trainable { 1.5 } else { 0.5 }, "state {i}");
        }
    }

    #[test]
    fn for_each_part_visits_every_value_once_at_its_offset() {
        for threads in [1, 2, 3, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let mut buffer = vec![0usize; 100_003];
            pool.install(|| {
                for_each_part(&mut buffer, &|offset, part| {
                    for (i, value) in part.iter_mut().enumerate() {
                        *value += offset + i + 1;
                    }
                });
            });
            assert!(
                buffer.iter().enumerate().all(|(i, &v)| v == i + 1),
                "{threads} threads"
            );
        }
    }
}
