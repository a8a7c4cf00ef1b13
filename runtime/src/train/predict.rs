use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, s};
use rayon::prelude::*;

use crate::model::row_len;
use crate::{Error, Float, Model, Result, TensorInfo};

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
    check_token_ids::<M>("predict", input)?;
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

/// `packed`, one packed output row per sample (`[samples, ...]`), as one array per part
/// of `outputs`, each shaped `[samples, ...its shape]`.
pub(crate) fn split_outputs<F: Float>(packed: ArrayD<F>, outputs: &[TensorInfo]) -> Vec<ArrayD<F>> {
    let samples = packed.len_of(Axis(0));
    let rows = packed
        .into_shape_with_order((samples, row_len(outputs)))
        .expect("predict gives a standard-layout array of whole packed rows");
    outputs
        .iter()
        .map(|output| {
            let mut shape = vec![samples];
            shape.extend_from_slice(output.shape);
            let columns = rows.slice(s![.., output.offset..output.offset + output.len]);
            ArrayD::from_shape_vec(IxDyn(&shape), columns.iter().copied().collect())
                .expect("the part's columns hold its values for every sample")
        })
        .collect()
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

/// Checks that every token id in `rows` (packed input rows) is an integer below its
/// Embedding's `input_dim`.
pub(crate) fn check_token_ids<M: Model>(what: &'static str, rows: &[M::Float]) -> Result<()> {
    if M::TOKEN_INPUTS.is_empty() || M::INPUT_SIZE == 0 {
        return Ok(());
    }
    for (sample, row) in rows.chunks_exact(M::INPUT_SIZE).enumerate() {
        for input in M::TOKEN_INPUTS {
            let ids = &row[input.offset..input.offset + input.len];
            if let Some((position, id)) = ids
                .iter()
                .enumerate()
                .find(|&(_, &id)| crate::kernels::token(id, input.limit).is_none())
            {
                return Err(Error::invalid(
                    "x",
                    format!(
                        "{what}: sample {sample} has {id} at position {position} of `{}`, which \
                         holds token ids: each must be an integer from 0 to {} (the \
                         Embedding's input_dim is {})",
                        input.name,
                        input.limit - 1,
                        input.limit
                    ),
                ));
            }
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use super::*;

    #[test]
    fn split_outputs_gives_each_output_its_columns_in_its_shape() {
        let outputs = [
            TensorInfo {
                name: "logits",
                shape: &[2],
                offset: 0,
                len: 2,
            },
            TensorInfo {
                name: "map",
                shape: &[2, 2],
                offset: 2,
                len: 4,
            },
        ];
        let packed = Array2::from_shape_fn((3, 6), |(i, j)| (10 * i + j) as f32).into_dyn();
        let parts = split_outputs(packed, &outputs);
        assert_eq!(
            parts[0],
            array![[0.0, 1.0], [10.0, 11.0], [20.0, 21.0]].into_dyn()
        );
        assert_eq!(parts[1].shape(), &[3, 2, 2]);
        assert_eq!(parts[1].as_slice().unwrap()[..4], [2.0, 3.0, 4.0, 5.0]);
        // No samples: empty arrays of the right shapes.
        let none = split_outputs(Array2::<f32>::zeros((0, 6)).into_dyn(), &outputs);
        assert_eq!(none[1].shape(), &[0, 2, 2]);
    }
}
