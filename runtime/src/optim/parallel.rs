//! An update rule applied to the trainable parts of the flat buffers, split across the
//! threads of the current rayon pool.
//!
//! Every optimizer's update is elementwise once the gradients are clipped, so splitting the
//! buffer changes no result: a run is bit-identical whatever the split. On two threads,
//! each tensor is halved (the halves in which the matrix products split it); otherwise the
//! buffer is, recursively. Neither split allocates.

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
    let parts = parts_here();
    if parts == 2 && params.len() >= 2 * MIN_PART && fit_halving(tensors, params.len()) {
        update_tensor_halves((params, grads, slots), tensors, update);
        return;
    }
    update_part(0, (params, grads, slots), tensors, parts, update);
}

/// The most tensors [`update_tensor_halves`] takes (it keeps their halves on the stack).
const MAX_TENSORS_HALVED: usize = 32;

/// Whether `tensors` are few enough for [`update_tensor_halves`], in order, apart and
/// inside the buffers (as the trainer gives them).
fn fit_halving(tensors: &[Range<usize>], len: usize) -> bool {
    tensors.len() <= MAX_TENSORS_HALVED
        && tensors.windows(2).all(|pair| pair[0].end <= pair[1].start)
        && tensors.iter().all(|t| t.start <= t.end && t.end <= len)
}

/// A range of the buffers: parameters, gradients and the optimizer's slots.
type Piece<'a, F> = (&'a mut [F], &'a [F], Slots<'a, F>);

/// `piece` cut in two at `at`.
fn split_piece<F>((params, grads, slots): Piece<'_, F>, at: usize) -> (Piece<'_, F>, Piece<'_, F>) {
    let (params_low, params_high) = params.split_at_mut(at);
    let (grads_low, grads_high) = grads.split_at(at);
    let (slots_low, slots_high) = split_slots(slots, at);
    (
        (params_low, grads_low, slots_low),
        (params_high, grads_high, slots_high),
    )
}

/// On two threads: the first half of every tensor on the pool's first thread, the second
/// half on its second thread, whichever calls ([`crate::kernels::join_owned`]). The
/// matrix products split a kernel's rows and depth in the same halves, so that each half of
/// a kernel stays in one core's cache from the products to the update and back, and both
/// threads have the same work.
fn update_tensor_halves<F, U>(buffers: Piece<'_, F>, tensors: &[Range<usize>], update: &U)
where
    F: Float,
    U: Fn(&mut [F], &[F], Slots<'_, F>) + Sync,
{
    let mut lows: [Option<Piece<'_, F>>; MAX_TENSORS_HALVED] = std::array::from_fn(|_| None);
    let mut highs: [Option<Piece<'_, F>>; MAX_TENSORS_HALVED] = std::array::from_fn(|_| None);
    let (mut rest, mut offset) = (buffers, 0);
    for ((tensor, low), high) in tensors.iter().zip(&mut lows).zip(&mut highs) {
        let (_, from_tensor) = split_piece(rest, tensor.start - offset);
        let (whole, after) = split_piece(from_tensor, tensor.len());
        let (first, second) = split_piece(whole, split_point(tensor.len()));
        (*low, *high) = (Some(first), Some(second));
        (rest, offset) = (after, tensor.end);
    }
    let run = |pieces: &mut [Option<Piece<'_, F>>]| {
        for (params, grads, [s0, s1, s2]) in pieces.iter_mut().flatten() {
            apply(update, params, grads, s0, s1, s2);
        }
    };
    crate::kernels::join_owned(|| run(&mut lows), || run(&mut highs));
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
    buffers: Piece<'_, F>,
    tensors: &[Range<usize>],
    parts: usize,
    update: &U,
) where
    F: Float,
    U: Fn(&mut [F], &[F], Slots<'_, F>) + Sync,
{
    let len = buffers.0.len();
    if parts <= 1 || len < 2 * MIN_PART {
        let (params, grads, slots) = buffers;
        update_serially(offset, params, grads, slots, tensors, update);
        return;
    }
    let mid = split_point(len);
    let (low, high) = split_piece(buffers, mid);
    let (low_parts, high_parts) = (parts - parts / 2, parts / 2);
    rayon::join(
        || update_part(offset, low, tensors, low_parts, update),
        || update_part(offset + mid, high, tensors, high_parts, update),
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
        let in_order = [0..40_000, 40_000..40_001, 50_000..99_999];
        let out_of_order = [50_000..99_999, 10..30, 0..10];
        for tensors in [&in_order[..], &out_of_order] {
            check_every_split(tensors);
        }
    }

    fn check_every_split(tensors: &[Range<usize>]) {
        let (one, one_state) = run(1, tensors);
        for threads in [2, 3, 4] {
            let (many, many_state) = run(threads, tensors);
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

    /// On two threads, the thread that calls updates its own halves of the tensors first
    /// (the first halves on the pool's first thread, the second halves on its second),
    /// whichever thread calls.
    #[test]
    fn each_of_two_threads_updates_its_own_halves_of_the_tensors() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        let tensors = [0..60_000, 60_000..60_128, 60_128..100_000];
        let first_halves = tensors.clone().map(|t| t.start);
        let second_halves = tensors.clone().map(|t| t.start + split_point(t.len()));
        for _ in 0..20 {
            let calls = pool.broadcast(|context| {
                let mut params: Vec<f32> = (0..100_000).map(|i| i as f32).collect();
                let grads = vec![0.0f32; params.len()];
                let ran = std::sync::Mutex::new(Vec::new());
                let slots = [&mut [][..], &mut [][..], &mut [][..]];
                update_trainable(&mut params, &grads, slots, &tensors, &|p, _, _| {
                    let thread = rayon::current_thread_index().expect("a pool thread");
                    ran.lock().expect("log").push((p[0] as usize, thread));
                });
                let caller = context.index();
                let ran = ran.into_inner().expect("log");
                let here: Vec<usize> = ran
                    .iter()
                    .filter(|&&(_, thread)| thread == caller)
                    .map(|&(start, _)| start)
                    .take(3)
                    .collect();
                (caller, here)
            });
            for (caller, here) in calls {
                let own = if caller == 1 {
                    second_halves
                } else {
                    first_halves
                };
                assert_eq!(here, own, "thread {caller} called");
            }
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
