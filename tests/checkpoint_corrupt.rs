//! Corrupt and hostile weights files: each is a clear error, none panics, and the model is
//! left exactly as it was.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::Rng as _;
use strata::prelude::*;

model! {
    /// Small, so that a test can cut its file at every byte.
    pub struct Tiny: [3] -> [2] {
        Dense(4, activation = relu),
        Dense(2, use_bias = false),
    }
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("checkpoint-corrupt-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// A valid file of `Tiny`'s weights and the position of its first data byte.
fn saved(dir: &Path) -> (Vec<u8>, usize) {
    let path = dir.join("good.safetensors");
    Tiny::new(Seed(1)).save_weights(&path).unwrap();
    let bytes = fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (bytes, 8 + header_len)
}

/// Loads `bytes` as a file into a model, checking that a failure leaves the model as it
/// was; returns the error's message, if any.
fn load(dir: &Path, bytes: &[u8]) -> Result<Tiny, String> {
    // A new file each time: ext4 flushes a file rewritten in place to disk when it is
    // closed, which made these tests a hundred times slower.
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("candidate-{n}.safetensors"));
    fs::write(&path, bytes).unwrap();
    let mut model = Tiny::new(Seed(2));
    let before = bits(model.params());
    let result = model.load_weights(&path);
    fs::remove_file(&path).unwrap();
    match result {
        Ok(()) => Ok(model),
        Err(error) => {
            assert_eq!(
                bits(model.params()),
                before,
                "changed by a failed load: {error}"
            );
            assert!(matches!(error, Error::Format { .. }), "{error:?}");
            Err(error.to_string())
        }
    }
}

/// `header` as a safetensors file whose data is `data_len` zero bytes.
fn file_with_header(header: &str, data_len: usize) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(bytes.len() + data_len, 0);
    bytes
}

#[test]
fn a_file_cut_at_any_byte_is_an_error_that_says_it_is_truncated() {
    let dir = scratch("truncated");
    let (bytes, _) = saved(&dir);
    assert!(load(&dir, &bytes).is_ok());
    for len in 0..bytes.len() {
        let message = load(&dir, &bytes[..len]).unwrap_err();
        assert!(
            message.contains("truncated") || message.contains("empty"),
            "cut at {len}: {message}"
        );
        assert!(
            message.contains("save the weights again"),
            "cut at {len}: {message}"
        );
    }
    let message = load(&dir, &[]).unwrap_err();
    assert!(message.contains("the file is empty"), "{message}");
}

#[test]
fn a_flipped_byte_anywhere_is_an_error_or_a_load_but_never_a_panic() {
    let dir = scratch("flipped");
    let (bytes, data_start) = saved(&dir);
    let original = bits(Tiny::new(Seed(1)).params());
    let (mut errors, mut loads) = (0, 0);
    for at in 0..bytes.len() {
        for mask in [0x01, 0x20, 0x80, 0xff] {
            let mut flipped = bytes.clone();
            flipped[at] ^= mask;
            match load(&dir, &flipped) {
                Err(_) => errors += 1,
                Ok(model) => {
                    loads += 1;
                    let changed = bits(model.params())
                        .iter()
                        .zip(&original)
                        .filter(|(a, b)| a != b)
                        .count();
                    // A flip in the data changes one value; one in the header can only
                    // have landed in the metadata's text.
                    assert_eq!(changed, usize::from(at >= data_start), "flip at {at}");
                }
            }
        }
    }
    assert!(errors > 0 && loads > 0, "{errors} errors, {loads} loads");
}

#[test]
fn random_mutations_never_panic_nor_change_the_model_on_error() {
    let dir = scratch("mutations");
    let (bytes, _) = saved(&dir);
    let mut rng = Seed(11).rng();
    for _ in 0..20_000 {
        let mut mutated = bytes.clone();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..mutated.len());
            match rng.random_range(0..4) {
                0 => mutated[at] = rng.random(),
                1 => mutated.truncate(at),
                2 => mutated.insert(at, rng.random()),
                _ => {
                    mutated.remove(at);
                }
            }
            if mutated.is_empty() {
                break;
            }
        }
        let _ = load(&dir, &mutated);
    }
}

#[test]
fn a_header_claiming_huge_sizes_is_refused_before_reading_it() {
    let dir = scratch("huge");
    for claimed in [u64::MAX, 1 << 40, 100_000_001] {
        let mut bytes = claimed.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"{}");
        let message = load(&dir, &bytes).unwrap_err();
        assert!(
            message.contains("more than the 100000000 bytes"),
            "{message}"
        );
    }
    // Under the limit but past the end of the file.
    let mut bytes = 99_999_999u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    let message = load(&dir, &bytes).unwrap_err();
    assert!(
        message.contains("only 2 bytes follow: it is truncated"),
        "{message}"
    );

    // A tensor whose shape claims more data than there is, or than memory holds.
    let kernel = r#""dense/kernel":{"dtype":"F32","shape":[3,4],"data_offsets":[0,48]}"#;
    for shape in ["[1000000000,1000000000]", "[18446744073709551615,2]"] {
        let header = format!(
            r#"{{{kernel},"dense/bias":{{"dtype":"F32","shape":{shape},"data_offsets":[48,64]}}}}"#
        );
        let message = load(&dir, &file_with_header(&header, 64)).unwrap_err();
        assert!(
            message.contains("not a valid safetensors header"),
            "{message}"
        );
    }
}

#[test]
fn tensors_that_overlap_leave_gaps_or_run_past_the_data_are_refused() {
    let dir = scratch("offsets");
    let cases = [
        // Overlapping.
        (
            r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#,
            24,
        ),
        // A gap between two tensors.
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}"#,
            24,
        ),
        // Not starting at 0.
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#,
            16,
        ),
        // Offsets that disagree with the shape.
        (
            r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
            8,
        ),
        // End before start.
        (
            r#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#,
            8,
        ),
        // Past the end of the data.
        (
            r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#,
            8,
        ),
        // Data left over after the last tensor.
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            16,
        ),
        // An unknown type.
        (
            r#"{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#,
            8,
        ),
        // Not JSON, not an object, metadata that is not text.
        ("{\"a\":", 0),
        ("[1, 2, 3]", 0),
        (r#"{"__metadata__":{"model":7}}"#, 0),
    ];
    for (header, data_len) in cases {
        let message = load(&dir, &file_with_header(header, data_len)).unwrap_err();
        assert!(
            message.contains("not a valid safetensors header")
                || message.contains("truncated")
                || message.contains("bytes after its last tensor"),
            "{header}: {message}"
        );
    }
    // Text that is not UTF-8.
    let mut bytes = 4u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(&[b'{', 0xff, 0xfe, b'}']);
    let message = load(&dir, &bytes).unwrap_err();
    assert!(
        message.contains("not a valid safetensors header"),
        "{message}"
    );
}

#[test]
fn a_file_of_another_model_entirely_lists_its_tensors_without_reading_them() {
    let dir = scratch("stranger");
    // Many tensors the model lacks: listed up to a bound, none read.
    let entries: Vec<String> = (0..150)
        .map(|i| {
            format!(
                r#""other_{i}/kernel":{{"dtype":"F32","shape":[1],"data_offsets":[{},{}]}}"#,
                i * 4,
                i * 4 + 4
            )
        })
        .collect();
    let header = format!("{{{}}}", entries.join(","));
    let message = load(&dir, &file_with_header(&header, 600)).unwrap_err();
    assert!(message.contains("153 mismatches"), "{message}");
    assert!(message.contains("dense/kernel: missing from the file, model has [3, 4]"));
    assert!(message.contains("other_0/kernel: in the file (F32 [1]), not in the model"));
    assert!(message.contains("... and 53 more"), "{message}");
    assert!(message.contains("(it names none)"), "{message}");
}
