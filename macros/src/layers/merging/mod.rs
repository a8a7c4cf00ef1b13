//! Layers that combine several values: `Add`, `Subtract`, `Multiply`, `Average`,
//! `Maximum`, `Minimum`, `Concatenate`, `Dot`.

pub mod concatenate;
pub mod dot;
pub mod elementwise;

use crate::layers::{ShapeError, shape_str};

/// Keras's `axis` (counting the batch axis as 0, negative from the end) as an index into
/// a sample's shape of `rank` axes.
pub fn sample_axis(layer: &str, axis: i64, rank: usize) -> Result<usize, ShapeError> {
    let rank_i = rank as i64;
    match axis {
        0 => Err(ShapeError::new(format!(
            "{layer} cannot work along axis 0: that is the batch axis"
        ))
        .help("count the sample's axes from 1, or from the end with -1")),
        a if a > 0 && a <= rank_i => Ok((a - 1) as usize),
        a if a < 0 && -a <= rank_i => Ok((rank_i + a) as usize),
        a => Err(ShapeError::new(format!(
            "axis {a} is out of range for {layer}'s inputs of {rank} axes (batch not counted)"
        ))
        .help(format!(
            "use an axis from 1 to {rank}, or from -1 to -{rank}"
        ))),
    }
}

/// "[1, 2], [3, 4]".
pub fn shapes_str(shapes: &[Vec<usize>]) -> String {
    shapes
        .iter()
        .map(|s| shape_str(s))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// A merge applied to too few (or, for `exactly`, too many) values.
pub fn needs_inputs(layer: &str, exactly: bool, got: usize) -> ShapeError {
    let expected = if exactly {
        "two values"
    } else {
        "two or more values"
    };
    ShapeError::new(format!(
        "{layer} combines {expected}, but is applied to {got}"
    ))
    .help(format!(
        "apply it to the values to combine, e.g. `{layer}(a, b)`"
    ))
}
