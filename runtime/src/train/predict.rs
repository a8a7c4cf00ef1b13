use ndarray::{ArrayD, ArrayViewD, IxDyn};
use rayon::prelude::*;

use crate::{Error, Model, Result};

/// Keras's `predict`: the model's outputs for every sample of `x`, shaped
/// `[samples, ...output shape]`. Each sample of `x` must hold the model's input values
/// (its shape may differ, e.g. `[28, 28]` for a `[784]` input).
///
/// Samples are computed in batches of `batch_size`, spread over `workspaces.len()`
/// threads of the current rayon pool.
pub fn predict<M: Model>(
    model: &M,
    workspaces: &mut [M::Workspace],
    x: ArrayViewD<'_, M::Float>,
    batch_size: usize,
) -> Result<ArrayD<M::Float>> {
    check_samples::<M>("predict", x.shape())?;
    if batch_size == 0 {
        return Err(Error::invalid(
            "batch_size",
            "a batch needs at least one sample; use e.g. 32",
        ));
    }
    let samples = x.shape()[0];
    let x = x.as_standard_layout();
    let input = x.as_slice().expect("standard layout");
    let mut shape = vec![samples];
    shape.extend_from_slice(M::OUTPUT_SHAPE);
    let mut output = ArrayD::from_elem(IxDyn(&shape), M::Float::default());
    let out = output.as_slice_mut().expect("a new array is contiguous");
    let lanes = workspaces.len().max(1).min(samples.max(1));
    let per_lane = samples.div_ceil(lanes).max(1);
    let run = |ws: &mut M::Workspace, input: &[M::Float], out: &mut [M::Float]| {
        let inputs = input.chunks(batch_size * M::INPUT_SIZE);
        for (x, y) in inputs.zip(out.chunks_mut(batch_size * M::OUTPUT_SIZE)) {
            let n = x.len() / M::INPUT_SIZE;
            M::prepare(ws, n);
            y.copy_from_slice(model.forward(ws, x, n));
        }
    };
    if lanes <= 1 {
        if let Some(ws) = workspaces.first_mut() {
            run(ws, input, out);
        }
    } else {
        workspaces[..lanes]
            .par_iter_mut()
            .zip(input.par_chunks(per_lane * M::INPUT_SIZE))
            .zip(out.par_chunks_mut(per_lane * M::OUTPUT_SIZE))
            .for_each(|((ws, x), y)| run(ws, x, y));
    }
    Ok(output)
}

/// Checks that `shape` (with the batch first) holds samples of the model's input size.
pub(crate) fn check_samples<M: Model>(what: &'static str, shape: &[usize]) -> Result<()> {
    let Some((_, sample)) = shape.split_first() else {
        return Err(Error::invalid(
            "x",
            "the first axis must count samples; a single sample needs insert_axis(Axis(0))",
        ));
    };
    check_sample_shape::<M>(what, sample)
}

pub(crate) fn check_sample_shape<M: Model>(what: &'static str, sample: &[usize]) -> Result<()> {
    let len: usize = sample.iter().product();
    if len != M::INPUT_SIZE {
        return Err(Error::ShapeMismatch {
            what,
            expected: M::INPUT_SHAPE.to_vec(),
            expected_len: M::INPUT_SIZE,
            found: sample.to_vec(),
            found_len: len,
        });
    }
    Ok(())
}
