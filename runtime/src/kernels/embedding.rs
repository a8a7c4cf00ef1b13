//! `Embedding`: a row of a table per token id.

use crate::Float;

/// The row of `table` (`[input_dim, output_dim]`) for each id in `ids` (token ids held as
/// floats, as every model input is), into `y` (`[ids.len(), output_dim]`). An id that is
/// not an integer in `0..input_dim` gets a row of zeros; the trainer refuses such data
/// before it reaches a model, so only `predict_one` can see one.
///
/// ```
/// use strata_runtime::kernels::embedding_forward;
/// let table = [0.0f32, 1.0, 10.0, 11.0, 20.0, 21.0]; // 3 ids, 2 values each
/// let mut y = [0.0; 4];
/// embedding_forward(&[2.0, 0.0], &table, 2, &mut y);
/// assert_eq!(y, [20.0, 21.0, 0.0, 1.0]);
/// ```
pub fn embedding_forward<F: Float>(ids: &[F], table: &[F], output_dim: usize, y: &mut [F]) {
    debug_assert_eq!(
        y.len(),
        ids.len() * output_dim,
        "embedding_forward: y's length"
    );
    let input_dim = table.len() / output_dim.max(1);
    for (&id, row) in ids.iter().zip(y.chunks_exact_mut(output_dim.max(1))) {
        match token(id, input_dim) {
            Some(id) => row.copy_from_slice(&table[id * output_dim..][..output_dim]),
            None => row.fill(F::zero()),
        }
    }
}

/// The gradient of [`embedding_forward`]'s table: each row the sum of the output rows'
/// gradients of its id (overwriting `dtable`).
pub fn embedding_backward<F: Float>(ids: &[F], dy: &[F], output_dim: usize, dtable: &mut [F]) {
    dtable.fill(F::zero());
    let input_dim = dtable.len() / output_dim.max(1);
    for (&id, g) in ids.iter().zip(dy.chunks_exact(output_dim.max(1))) {
        if let Some(id) = token(id, input_dim) {
            for (d, &g) in dtable[id * output_dim..][..output_dim].iter_mut().zip(g) {
                *d += g;
            }
        }
    }
}

/// `id` as an index below `limit`, if it is one.
pub fn token<F: Float>(id: F, limit: usize) -> Option<usize> {
    let value = id.as_f64();
    (value >= 0.0 && value.fract() == 0.0 && value < limit as f64).then_some(value as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_ids_add_their_gradients_and_bad_ids_none() {
        let ids = [1.0f64, 1.0, 2.5, -1.0, 3.0];
        let dy = [1.0, 2.0, 3.0, 4.0, 5.0];
        let mut dtable = [9.0; 3];
        embedding_backward(&ids, &dy, 1, &mut dtable);
        assert_eq!(dtable, [0.0, 3.0, 0.0]);
        let mut y = [7.0; 5];
        embedding_forward(&ids, &[10.0, 11.0, 12.0], 1, &mut y);
        assert_eq!(y, [11.0, 11.0, 0.0, 0.0, 0.0]);
    }
}
