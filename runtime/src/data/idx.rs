//! The IDX format of MNIST and Fashion-MNIST, plain or gzip-compressed.
//!
//! An IDX file is two zero bytes, a type code (`0x08` for unsigned bytes), the number of
//! dimensions, each dimension as a big-endian `u32`, then the values in row-major order.
//! A gzip-compressed file is recognised by its content (the gzip magic bytes), not by its
//! name.
//!
//! Headers are not trusted: the data a header promises is read only as far as it is
//! really there, so a corrupt header fails with [`Error::Format`] instead of allocating
//! what it claims.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use ndarray::{ArrayD, IxDyn};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const UNSIGNED_BYTE: u8 = 0x08;

/// Reads the IDX file at `path` (plain or gzip-compressed) holding unsigned bytes, as
/// MNIST's images and labels do.
///
/// Fails with [`Error::Io`] if the file cannot be read, and with [`Error::Format`] if it
/// is not an IDX file of unsigned bytes: wrong magic, another value type, a truncated or
/// corrupt file, or dimensions that do not fit the data.
///
/// ```no_run
/// let images = strata_runtime::data::idx::read_idx(
///     "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
/// )?;
/// assert_eq!(images.shape(), &[10_000, 28, 28]);
/// # Ok::<(), strata_runtime::Error>(())
/// ```
pub fn read_idx(path: impl AsRef<Path>) -> Result<ArrayD<u8>> {
    read_idx_hashed(path.as_ref(), None)
}

/// Parses IDX data (plain or gzip-compressed) from memory, as [`read_idx`] does.
///
/// ```
/// use strata_runtime::data::idx::parse_idx;
/// // Type 0x08 (unsigned bytes), 2 dimensions: 2 x 3.
/// let bytes = [0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6];
/// let array = parse_idx(&bytes).unwrap();
/// assert_eq!(array.shape(), &[2, 3]);
/// assert_eq!(array[[1, 0]], 4);
/// assert!(parse_idx(&bytes[..10]).is_err());
/// ```
pub fn parse_idx(bytes: &[u8]) -> Result<ArrayD<u8>> {
    decode(bytes, Path::new("<IDX bytes>"), None)
}

/// [`read_idx`], also feeding the file's IDX content (decompressed: header and data) to
/// `hasher`, so that a checksum holds however the file was compressed.
pub(crate) fn read_idx_hashed(path: &Path, hasher: Option<&mut Sha256>) -> Result<ArrayD<u8>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    decode(file, path, hasher)
}

fn decode(mut input: impl Read, path: &Path, hasher: Option<&mut Sha256>) -> Result<ArrayD<u8>> {
    let mut magic = [0u8; 2];
    let got = read_full(&mut input, &mut magic).map_err(|e| Error::io(path, e))?;
    let input = (&magic[..got]).chain(input);
    if magic[..got] == GZIP_MAGIC {
        let mut reader = Reader {
            input: GzDecoder::new(input),
            path,
            gzip: true,
        };
        reader.parse(hasher)
    } else {
        let mut reader = Reader {
            input,
            path,
            gzip: false,
        };
        reader.parse(hasher)
    }
}

struct Reader<'p, R> {
    input: R,
    path: &'p Path,
    gzip: bool,
}

impl<R: Read> Reader<'_, R> {
    fn parse(&mut self, mut hasher: Option<&mut Sha256>) -> Result<ArrayD<u8>> {
        let mut head = [0u8; 4];
        let got = self.read(&mut head)?;
        if got < head.len() {
            return Err(self.error(format!(
                "too short for an IDX file ({got} bytes): IDX data starts with 4 bytes \
                 [0, 0, type, dimensions]"
            )));
        }
        let [zero_a, zero_b, kind, rank] = head;
        if (zero_a, zero_b) != (0, 0) {
            return Err(self.error(format!(
                "not an IDX file: it starts with bytes {zero_a:#04x} {zero_b:#04x}, where IDX \
                 data starts with two zero bytes"
            )));
        }
        if kind != UNSIGNED_BYTE {
            let message = match type_name(kind) {
                Some(name) => format!(
                    "holds {name} values (IDX type {kind:#04x}); only unsigned bytes (type \
                     0x08, as in MNIST) are supported"
                ),
                None => format!(
                    "unknown IDX type code {kind:#04x}; IDX knows 0x08 (u8), 0x09 (i8), 0x0b \
                     (i16), 0x0c (i32), 0x0d (f32) and 0x0e (f64)"
                ),
            };
            return Err(self.error(message));
        }
        let mut dim_bytes = vec![0u8; 4 * usize::from(rank)];
        let got = self.read(&mut dim_bytes)?;
        if got < dim_bytes.len() {
            return Err(self.error(format!(
                "truncated header: {rank} dimensions need {} bytes, but only {got} follow",
                dim_bytes.len()
            )));
        }
        let dims: Vec<usize> = dim_bytes
            .chunks_exact(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .collect();
        let Some(len) = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) else {
            return Err(self.error(format!(
                "the dimensions {dims:?} multiply past the largest possible size: the header \
                 is corrupt"
            )));
        };
        // Read what is really there, up to one byte past the promise: never allocate from
        // the header's word alone.
        let mut data = Vec::new();
        (&mut self.input)
            .take((len as u64).saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| self.io_error(e))?;
        if data.len() < len {
            return Err(self.error(format!(
                "truncated: the header promises dimensions {dims:?}, {len} bytes of data, but \
                 only {} follow",
                data.len()
            )));
        }
        if data.len() > len {
            return Err(self.error(format!(
                "more data follows than the header's dimensions {dims:?} ({len} bytes) hold: \
                 the header is corrupt"
            )));
        }
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(head);
            hasher.update(&dim_bytes);
            hasher.update(&data);
        }
        Ok(ArrayD::from_shape_vec(IxDyn(&dims), data).expect("the data holds len values"))
    }

    /// Reads as much of `buf` as the input holds; returns how much.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        read_full(&mut self.input, buf).map_err(|e| self.io_error(e))
    }

    fn io_error(&self, source: io::Error) -> Error {
        if self.gzip {
            // Failures inside a gzip stream are damaged data, not a failing disk.
            self.error(format!("corrupt or truncated gzip data: {source}"))
        } else {
            Error::io(self.path, source)
        }
    }

    fn error(&self, message: String) -> Error {
        Error::Format {
            path: PathBuf::from(self.path),
            message,
        }
    }
}

fn type_name(kind: u8) -> Option<&'static str> {
    Some(match kind {
        0x08 => "u8",
        0x09 => "i8",
        0x0B => "i16",
        0x0C => "i32",
        0x0D => "f32",
        0x0E => "f64",
        _ => return None,
    })
}

/// Fills `buf` as far as `input` allows; returns the number of bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{Compression, write::GzEncoder};

    use super::*;

    fn idx(kind: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0, 0, kind, dims.len() as u8];
        for d in dims {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        bytes.extend_from_slice(data);
        bytes
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn format_message(bytes: &[u8]) -> String {
        match parse_idx(bytes) {
            Err(Error::Format { message, .. }) => message,
            other => panic!("expected a format error, got {other:?}"),
        }
    }

    #[test]
    fn parses_plain_u8_data_in_row_major_order() {
        let data: Vec<u8> = (0..24).collect();
        let array = parse_idx(&idx(0x08, &[2, 3, 4], &data)).unwrap();
        assert_eq!(array.shape(), &[2, 3, 4]);
        assert_eq!(array[[1, 2, 3]], 23);
        assert_eq!(array[[0, 1, 0]], 4);
    }

    #[test]
    fn parses_gzip_data_detected_by_magic() {
        let plain = idx(0x08, &[3], &[7, 8, 9]);
        assert_eq!(
            parse_idx(&gzip(&plain)).unwrap(),
            parse_idx(&plain).unwrap()
        );
    }

    #[test]
    fn reads_gzip_file_whatever_its_name() {
        let dir = std::env::temp_dir().join(format!("strata-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("labels.bin");
        std::fs::write(&path, gzip(&idx(0x08, &[2], &[4, 2]))).unwrap();
        let array = read_idx(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(array.into_raw_vec_and_offset().0, [4, 2]);
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let err = read_idx("/nonexistent/strata/train-images-idx3-ubyte.gz").unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(
            err.to_string().contains("train-images-idx3-ubyte.gz"),
            "{err}"
        );
    }

    #[test]
    fn refuses_wrong_magic() {
        let message = format_message(b"PK\x03\x04 a zip file");
        assert!(message.contains("not an IDX file"), "{message}");
    }

    #[test]
    fn refuses_other_value_types_by_name() {
        for (kind, name) in [
            (0x09, "i8"),
            (0x0B, "i16"),
            (0x0C, "i32"),
            (0x0D, "f32"),
            (0x0E, "f64"),
        ] {
            let message = format_message(&idx(kind, &[1], &[0; 8]));
            assert!(
                message.contains(name) && message.contains("unsigned bytes"),
                "{message}"
            );
        }
        let message = format_message(&idx(0x42, &[1], &[0]));
        assert!(message.contains("unknown IDX type code 0x42"), "{message}");
    }

    #[test]
    fn refuses_truncated_header_and_data() {
        assert!(format_message(&[0, 0]).contains("too short"));
        let full = idx(0x08, &[2, 3], &[1, 2, 3, 4, 5, 6]);
        assert!(format_message(&full[..9]).contains("truncated header"));
        let message = format_message(&full[..full.len() - 1]);
        assert!(
            message.contains("truncated") && message.contains("only 5"),
            "{message}"
        );
        let message = format_message(&gzip(&full[..full.len() - 1]));
        assert!(message.contains("only 5"), "{message}");
    }

    #[test]
    fn refuses_truncated_gzip_stream() {
        let compressed = gzip(&idx(0x08, &[1000], &[3; 1000]));
        let message = format_message(&compressed[..compressed.len() / 2]);
        assert!(message.contains("gzip"), "{message}");
    }

    #[test]
    fn refuses_data_longer_than_its_dimensions() {
        let message = format_message(&idx(0x08, &[2], &[1, 2, 3]));
        assert!(message.contains("more data"), "{message}");
    }

    #[test]
    fn huge_dimensions_fail_without_allocating_them() {
        // 2^32-1 cubed overflows; 4e9 x 4e9 fits in u64 but the file holds 3 bytes.
        let message = format_message(&idx(0x08, &[u32::MAX, u32::MAX, u32::MAX], &[]));
        assert!(message.contains("corrupt"), "{message}");
        let message = format_message(&idx(0x08, &[4_000_000_000, 4_000_000_000], &[1, 2, 3]));
        assert!(message.contains("only 3"), "{message}");
        let message = format_message(&gzip(&idx(0x08, &[u32::MAX, u32::MAX], &[1])));
        assert!(message.contains("only 1"), "{message}");
    }

    #[test]
    fn zero_sized_dimensions_give_an_empty_array() {
        let array = parse_idx(&idx(0x08, &[0, 28, 28], &[])).unwrap();
        assert_eq!(array.shape(), &[0, 28, 28]);
    }

    #[test]
    fn hash_covers_the_decompressed_content() {
        let plain = idx(0x08, &[3], &[7, 8, 9]);
        let dir = std::env::temp_dir().join(format!("strata-idx-hash-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("data.gz");
        std::fs::write(&path, gzip(&plain)).unwrap();
        let mut hasher = Sha256::new();
        read_idx_hashed(&path, Some(&mut hasher)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(hasher.finalize(), Sha256::digest(&plain));
    }
}
