//! A safetensors file's header, read and checked before any tensor data: its length is
//! bounded, its JSON valid, its tensors' offsets contiguous, and the data it describes
//! exactly what the file holds.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use safetensors::tensor::Metadata;

use crate::{Error, Result};

/// The most header bytes a file may claim: safetensors' own limit. A header this size
/// describes millions of tensors; no weights file needs more.
pub(crate) const MAX_HEADER_BYTES: u64 = 100_000_000;

/// The fix for a file that is not what it should be.
const SAVE_AGAIN: &str = "save the weights again, or load another copy of them";

/// What a weights file holds, read from its header without reading the tensors.
///
/// ```
/// use strata_runtime::checkpoint::WeightsHeader;
///
/// // A file that is not there is an error that names it.
/// let error = WeightsHeader::read("no/such/file.safetensors").unwrap_err();
/// assert!(error.to_string().starts_with("no/such/file.safetensors: "));
/// ```
///
/// A file saved by `save_weights` records the model's name, its architecture (as JSON)
/// and the strata version that wrote it; files exported by other tools usually record
/// none of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightsHeader {
    /// The header's `__metadata__`: `format`, `strata_version`, `model`, `architecture`
    /// in files saved by strata.
    pub metadata: BTreeMap<String, String>,
    /// Every tensor of the file, in the order of its data.
    pub tensors: Vec<TensorEntry>,
}

/// One tensor of a weights file, as its header describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorEntry {
    /// Its name, Keras-style: `dense/kernel`.
    pub name: String,
    /// Its safetensors element type: `F32`, `F64`, `BF16`, ...
    pub dtype: String,
    /// Its shape, in Keras's layout.
    pub shape: Vec<usize>,
}

impl WeightsHeader {
    /// Reads the header of the safetensors file at `path`, checking that the file is
    /// complete; reads no tensor data.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let layout = Layout::open(path.as_ref())?;
        let metadata = layout
            .metadata
            .metadata()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let tensors = layout
            .metadata
            .offset_keys()
            .into_iter()
            .filter_map(|name| {
                let info = layout.metadata.info(&name)?;
                Some(TensorEntry {
                    dtype: info.dtype.to_string(),
                    shape: info.shape.clone(),
                    name,
                })
            })
            .collect();
        Ok(WeightsHeader { metadata, tensors })
    }

    /// The name of the model that saved the file, as written in `model!`.
    pub fn model(&self) -> Option<&str> {
        self.metadata.get("model").map(String::as_str)
    }

    /// The architecture of the model that saved the file, as JSON.
    pub fn architecture(&self) -> Option<&str> {
        self.metadata.get("architecture").map(String::as_str)
    }

    /// The version of strata that saved the file.
    pub fn strata_version(&self) -> Option<&str> {
        self.metadata.get("strata_version").map(String::as_str)
    }
}

/// An open safetensors file whose header has been read and checked.
pub(crate) struct Layout {
    pub path: PathBuf,
    /// Positioned at the first byte of tensor data.
    pub file: File,
    pub metadata: Metadata,
}

impl Layout {
    /// Opens `path` and reads its header; everything the header claims is checked against
    /// the file's length before anything is allocated for it.
    pub fn open(path: &Path) -> Result<Layout> {
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let stat = file.metadata().map_err(|e| Error::io(path, e))?;
        if stat.is_dir() {
            return Err(format_error(
                path,
                "is a directory, not a weights file: give the path of a .safetensors file",
            ));
        }
        let len = stat.len();
        if len == 0 {
            return Err(format_error(
                path,
                format!("the file is empty, so it holds no weights: {SAVE_AGAIN}"),
            ));
        }
        if len < 8 {
            return Err(format_error(
                path,
                format!(
                    "the file is {len} bytes long, shorter than the 8 bytes that start every \
                     safetensors file: it is truncated; {SAVE_AGAIN}"
                ),
            ));
        }
        let mut word = [0u8; 8];
        file.read_exact(&mut word).map_err(|e| Error::io(path, e))?;
        let header_len = u64::from_le_bytes(word);
        if header_len > MAX_HEADER_BYTES {
            return Err(format_error(
                path,
                format!(
                    "the file claims a {header_len}-byte header, more than the \
                     {MAX_HEADER_BYTES} bytes a safetensors header may have: it is corrupt or \
                     not a safetensors file; {SAVE_AGAIN}"
                ),
            ));
        }
        if header_len > len - 8 {
            return Err(format_error(
                path,
                format!(
                    "the file claims a {header_len}-byte header but only {} bytes follow: it \
                     is truncated; {SAVE_AGAIN}",
                    len - 8
                ),
            ));
        }
        // Bounded by the limit above and by the file's length.
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header)
            .map_err(|e| Error::io(path, e))?;
        let metadata: Metadata = serde_json::from_slice(&header).map_err(|e| {
            format_error(
                path,
                format!(
                    "the header is not a valid safetensors header ({e}): the file is corrupt \
                     or not a safetensors file; {SAVE_AGAIN}"
                ),
            )
        })?;
        let data_len = metadata.data_len() as u64;
        let present = len - 8 - header_len;
        if data_len != present {
            let what = if data_len > present {
                "it is truncated"
            } else {
                "it has bytes after its last tensor and is corrupt"
            };
            return Err(format_error(
                path,
                format!(
                    "the header describes {data_len} bytes of tensor data but the file holds \
                     {present}: {what}; {SAVE_AGAIN}"
                ),
            ));
        }
        Ok(Layout {
            path: path.to_path_buf(),
            file,
            metadata,
        })
    }
}

/// An [`Error::Format`] for `path`.
pub(crate) fn format_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        message: message.into(),
    }
}
