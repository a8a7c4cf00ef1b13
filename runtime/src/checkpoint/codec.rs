//! Float values as the little-endian `F32` or `F64` tensors of a safetensors file.

use std::io::{self, Write};

use safetensors::Dtype;

use crate::{Error, Float, Result};

/// The safetensors type of the float type `F`.
pub(super) fn dtype_of<F: Float>() -> Result<Dtype> {
    match F::DTYPE {
        "F32" => Ok(Dtype::F32),
        "F64" => Ok(Dtype::F64),
        other => Err(Error::invalid(
            "float type",
            format!("weights and checkpoints hold F32 or F64 tensors, not {other}: use f32 or f64"),
        )),
    }
}

/// Writes `values` to `out` as little-endian `dtype` (`F32` or `F64`) values.
pub(super) fn encode<F: Float>(dtype: Dtype, values: &[F], out: &mut dyn Write) -> io::Result<()> {
    for &value in values {
        match dtype {
            Dtype::F32 => out.write_all(&(value.as_f64() as f32).to_le_bytes())?,
            _ => out.write_all(&value.as_f64().to_le_bytes())?,
        }
    }
    Ok(())
}

/// Little-endian `F32` or `F64` values from `bytes` into `values`.
pub(super) fn decode<F: Float>(dtype: Dtype, bytes: &[u8], values: &mut [F]) {
    if dtype == Dtype::F32 {
        for (value, le) in values.iter_mut().zip(bytes.chunks_exact(4)) {
            let mut word = [0u8; 4];
            word.copy_from_slice(le);
            *value = F::of(f64::from(f32::from_le_bytes(word)));
        }
    } else {
        for (value, le) in values.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(le);
            *value = F::of(f64::from_le_bytes(word));
        }
    }
}
