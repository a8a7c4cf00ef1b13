//! A model's weights as a safetensors file: one tensor per parameter, with Keras's names
//! and layouts, and the model's name and architecture in the header.

use std::io::{self, BufReader, Read};
use std::path::Path;

use safetensors::Dtype;
use serde_json::{Map, Value, json};

use super::atomic::write_atomically;
use super::codec::{decode, dtype_of, encode};
use super::header::{Layout, format_error};
use crate::{Error, Model, Result};

/// Whether loading may convert between `F32` and `F64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dtypes {
    /// The file's tensors must have the model's float type.
    Exact,
    /// `F32` and `F64` tensors are converted to the model's float type.
    Convert,
}

/// The most mismatches an error lists; a file of another model entirely has as many as it
/// has tensors.
const MAX_LISTED: usize = 100;

/// Writes `model`'s weights to `path` atomically.
pub(crate) fn save<M: Model>(model: &M, path: &Path) -> Result<()> {
    let dtype = dtype_of::<M::Float>()?;
    let header = header::<M>(dtype);
    let params = model.params();
    write_atomically(path, |out| {
        out.write_all(&(header.len() as u64).to_le_bytes())?;
        out.write_all(&header)?;
        for param in M::PARAMS {
            encode(dtype, &params[param.offset..param.offset + param.len], out)?;
        }
        Ok(())
    })
}

/// The safetensors header of `M`'s weights: the metadata, then each parameter at its
/// offset in the data, in the order of the flat buffer. Keys are sorted, so that the same
/// model always gives the same bytes. Padded with spaces to a multiple of 8 bytes, as
/// safetensors aligns the data.
fn header<M: Model>(dtype: Dtype) -> Vec<u8> {
    let width = dtype.bitsize() / 8;
    let mut entries = Map::new();
    entries.insert(
        "__metadata__".to_string(),
        json!({
            "format": "strata",
            "strata_version": env!("CARGO_PKG_VERSION"),
            "model": M::NAME,
            "architecture": M::ARCHITECTURE_JSON,
        }),
    );
    let mut start = 0;
    for param in M::PARAMS {
        let end = start + param.len * width;
        entries.insert(
            param.name.to_string(),
            json!({
                "dtype": dtype.to_string(),
                "shape": param.shape,
                "data_offsets": [start, end],
            }),
        );
        start = end;
    }
    let mut bytes = Value::Object(entries).to_string().into_bytes();
    bytes.resize(bytes.len().next_multiple_of(8), b' ');
    bytes
}

/// Reads the weights in `path` into `model`, after checking every tensor's name, shape and
/// type; on any error `model` is left as it was.
pub(crate) fn load<M: Model>(model: &mut M, path: &Path, dtypes: Dtypes) -> Result<()> {
    let dtype = dtype_of::<M::Float>()?;
    let layout = Layout::open(path)?;
    check::<M>(&layout, dtype, dtypes)?;
    let values = read_values::<M>(layout)?;
    model.params_mut().copy_from_slice(&values);
    Ok(())
}

/// Compares the file's tensors with `M`'s parameters, failing with every mismatch.
fn check<M: Model>(layout: &Layout, dtype: Dtype, dtypes: Dtypes) -> Result<()> {
    let metadata = &layout.metadata;
    let mut lines = Vec::new();
    let (mut layout_differs, mut dtype_differs, mut unreadable) = (false, false, false);
    for param in M::PARAMS {
        let Some(info) = metadata.info(param.name) else {
            lines.push(format!(
                "{}: missing from the file, model has {:?}",
                param.name, param.shape
            ));
            layout_differs = true;
            continue;
        };
        let readable = matches!(info.dtype, Dtype::F32 | Dtype::F64);
        let dtype_ok = info.dtype == dtype || (readable && dtypes == Dtypes::Convert);
        let shape_ok = info.shape == param.shape;
        unreadable |= !readable;
        dtype_differs |= !dtype_ok;
        layout_differs |= !shape_ok;
        match (dtype_ok, shape_ok) {
            (true, true) => {}
            (true, false) => lines.push(format!(
                "{}: file has {:?}, model has {:?}",
                param.name, info.shape, param.shape
            )),
            (false, true) => lines.push(format!(
                "{}: file has {}, model has {dtype}",
                param.name, info.dtype
            )),
            (false, false) => lines.push(format!(
                "{}: file has {} {:?}, model has {dtype} {:?}",
                param.name, info.dtype, info.shape, param.shape
            )),
        }
    }
    for name in metadata.offset_keys() {
        if M::PARAMS.iter().all(|p| p.name != name) {
            let info = metadata.info(&name);
            let (file_dtype, shape) = info.map_or((Dtype::F32, &[][..]), |i| (i.dtype, &i.shape));
            lines.push(format!(
                "{name}: in the file ({file_dtype} {shape:?}), not in the model"
            ));
            layout_differs = true;
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    let count = lines.len();
    if count > MAX_LISTED {
        lines.truncate(MAX_LISTED);
        lines.push(format!("... and {} more", count - MAX_LISTED));
    }
    let mut message = format!(
        "the weights do not fit model `{}`: {count} mismatch{}:\n  {}",
        M::NAME,
        if count == 1 { "" } else { "es" },
        lines.join("\n  ")
    );
    if layout_differs {
        message.push('\n');
        message.push_str(&origin::<M>(layout));
    }
    if unreadable {
        message.push_str(
            "\nstrata reads F32 and F64 tensors: convert the file's tensors to F32 first \
             (in PyTorch: `{k: v.float() for k, v in tensors.items()}`)",
        );
    } else if dtype_differs {
        let other = if dtype == Dtype::F32 { "f64" } else { "f32" };
        message.push_str(&format!(
            "\nthe model computes in {dtype}: load the file with `load_weights_converting` to \
             convert its tensors, or declare the model in {other} (`{}::<{other}>::seeded(..)`)",
            M::NAME
        ));
    }
    Err(format_error(&layout.path, message))
}

/// Where the file came from, as its metadata says, for an error about other layers.
fn origin<M: Model>(layout: &Layout) -> String {
    let metadata = layout.metadata.metadata().as_ref();
    let get = |key: &str| metadata.and_then(|m| m.get(key)).map(String::as_str);
    let Some(model) = get("model") else {
        return "the file was saved from a model with other layers (it names none); load it \
                into a model whose layers have these names and shapes"
            .to_string();
    };
    let version = get("strata_version").unwrap_or("unknown");
    let mut text = format!("the file was saved from model `{model}` (strata {version})");
    match get("architecture") {
        Some(architecture) if architecture != M::ARCHITECTURE_JSON => {
            text.push_str(", whose architecture is ");
            text.push_str(&abbreviated(architecture, 600));
        }
        _ => {}
    }
    text.push_str(&format!(
        "; load it into a model with that architecture, or save `{}`'s own weights and load \
         those",
        M::NAME
    ));
    text
}

/// `text`, cut after `limit` characters.
fn abbreviated(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((end, _)) => format!("{}... (see `WeightsHeader::read`)", &text[..end]),
        None => text.to_string(),
    }
}

/// Reads every tensor of a checked file into a new flat buffer in `M`'s layout. The data
/// read is bounded by `M`'s size: the check made sure the file holds `M`'s tensors and no
/// others, each at most 8 bytes a value.
fn read_values<M: Model>(layout: Layout) -> Result<Vec<M::Float>> {
    let Layout {
        path,
        file,
        metadata,
    } = layout;
    let mut values = vec![M::Float::default(); M::PARAM_COUNT];
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut chunk = vec![0u8; 1 << 16];
    for name in metadata.offset_keys() {
        let (Some(info), Some(param)) = (
            metadata.info(&name),
            M::PARAMS.iter().find(|p| p.name == name),
        ) else {
            continue;
        };
        let width = info.dtype.bitsize() / 8;
        let target = &mut values[param.offset..param.offset + param.len];
        for block in target.chunks_mut(chunk.len() / 8) {
            let bytes = &mut chunk[..block.len() * width];
            reader.read_exact(bytes).map_err(|e| read_error(&path, e))?;
            decode(info.dtype, bytes, block);
        }
    }
    Ok(values)
}

/// A read that failed after the header was checked: the file shrank, or the disk failed.
fn read_error(path: &Path, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        format_error(
            path,
            "the file ended before its last tensor: it was truncated while being read; load \
             it again once nothing is writing it",
        )
    } else {
        Error::io(path, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_converts_between_f32_and_f64_and_rounds_to_nearest() {
        let third = 1.0f64 / 3.0;
        let mut narrow = [0f32; 2];
        let bytes: Vec<u8> = [third, -2.5].iter().flat_map(|v| v.to_le_bytes()).collect();
        decode(Dtype::F64, &bytes, &mut narrow);
        assert_eq!(narrow, [third as f32, -2.5]);
        let mut wide = [0f64; 2];
        let bytes: Vec<u8> = narrow.iter().flat_map(|v| v.to_le_bytes()).collect();
        decode(Dtype::F32, &bytes, &mut wide);
        assert_eq!(wide, [f64::from(third as f32), -2.5]);
    }

    #[test]
    fn abbreviating_cuts_long_text_on_a_character_boundary() {
        assert_eq!(abbreviated("short", 10), "short");
        let cut = abbreviated("ééééé", 2);
        assert!(cut.starts_with("éé..."), "{cut}");
    }
}
