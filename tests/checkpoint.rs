//! Weights files: round trips, files written by other tools, every mismatch listed, atomic
//! writes, and a saving process killed at random moments.

use std::fs;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use strata::checkpoint::WeightsHeader;
use strata::prelude::*;

model! {
    /// Three Dense layers, the middle one without a bias.
    pub struct Mlp: [6] -> [3] {
        Dense(16, activation = relu),
        Dense(12, activation = tanh, use_bias = false),
        Dense(3),
    }
}

model! {
    /// Mlp's layers with other widths.
    pub struct Narrow: [6] -> [3] {
        Dense(10, activation = relu),
        Dense(12, activation = tanh, use_bias = false),
        Dense(3),
    }
}

model! {
    /// Mlp with one layer fewer.
    pub struct Short: [6] -> [3] {
        Dense(16, activation = relu),
        Dense(3),
    }
}

model! {
    /// One Dense layer, whose output a test computes by hand.
    pub struct Linear: [3] -> [2] {
        Dense(2),
    }
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("checkpoint-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every value's bits, to compare bit for bit.
fn bits<F: Float>(values: &[F]) -> Vec<u64> {
    values.iter().map(|v| v.as_f64().to_bits()).collect()
}

fn inputs<F: Float>() -> Vec<[F; 6]> {
    (0..5)
        .map(|i| std::array::from_fn(|j| F::of(((i * 7 + j * 3) % 11) as f64 / 5.0 - 1.0)))
        .collect()
}

fn round_trip<F: Float>(dir: &Path) {
    let path = dir.join(format!("mlp-{}.safetensors", F::DTYPE));
    let saved = Mlp::<F>::seeded(Seed(1));
    saved.save_weights(&path).unwrap();
    let mut loaded = Mlp::<F>::seeded(Seed(2));
    assert_ne!(bits(loaded.params()), bits(saved.params()));
    loaded.load_weights(&path).unwrap();
    assert_eq!(bits(loaded.params()), bits(saved.params()));
    for x in inputs::<F>() {
        assert_eq!(bits(&loaded.predict_one(&x)), bits(&saved.predict_one(&x)));
    }
}

#[test]
fn f32_weights_round_trip_bit_for_bit() {
    round_trip::<f32>(&scratch("round-trip-f32"));
}

#[test]
fn f64_weights_round_trip_bit_for_bit() {
    round_trip::<f64>(&scratch("round-trip-f64"));
}

#[test]
fn saving_the_same_weights_twice_writes_the_same_bytes() {
    let dir = scratch("deterministic");
    let model = Mlp::new(Seed(1));
    model.save_weights(dir.join("a.safetensors")).unwrap();
    model.save_weights(dir.join("b.safetensors")).unwrap();
    assert_eq!(
        fs::read(dir.join("a.safetensors")).unwrap(),
        fs::read(dir.join("b.safetensors")).unwrap()
    );
}

#[test]
fn the_file_has_keras_names_layouts_and_metadata_for_any_safetensors_reader() {
    let dir = scratch("keras-layout");
    let path = dir.join("mlp.safetensors");
    let model = Mlp::<f64>::seeded(Seed(1));
    model.save_weights(&path).unwrap();
    let bytes = fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort();
    assert_eq!(
        names,
        [
            "dense/bias",
            "dense/kernel",
            "dense_1/kernel",
            "dense_2/bias",
            "dense_2/kernel"
        ]
    );
    let kernel = file.tensor("dense/kernel").unwrap();
    assert_eq!(kernel.dtype(), Dtype::F64);
    assert_eq!(kernel.shape(), [6, 16]);
    assert_eq!(file.tensor("dense_1/kernel").unwrap().shape(), [16, 12]);
    assert_eq!(file.tensor("dense_2/bias").unwrap().shape(), [3]);
    // Row-major [inputs, units], little-endian: value (i, j) of dense/kernel.
    let info = Mlp::<f64>::PARAMS
        .iter()
        .find(|p| p.name == "dense/kernel")
        .unwrap();
    let (i, j) = (4, 9);
    let at = (i * 16 + j) * 8;
    let value = f64::from_le_bytes(kernel.data()[at..at + 8].try_into().unwrap());
    assert_eq!(value, model.params()[info.offset + i * 16 + j]);

    let header = WeightsHeader::read(&path).unwrap();
    assert_eq!(header.model(), Some("Mlp"));
    assert_eq!(header.architecture(), Some(Mlp::<f64>::ARCHITECTURE_JSON));
    assert_eq!(header.strata_version(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(header.metadata["format"], "strata");
    assert_eq!(header.tensors.len(), 5);
    assert_eq!(header.tensors[0].name, "dense/kernel");
    assert_eq!(header.tensors[0].dtype, "F64");
    assert_eq!(header.tensors[0].shape, [6, 16]);
}

/// Little-endian bytes of `values`.
fn le_f32(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn a_file_exported_with_keras_names_and_layouts_loads_unchanged() {
    // As an exporter from Keras would write it: no metadata, Keras's names, the kernel
    // as [inputs, units], tensors in whatever order the writer picks.
    let kernel: Vec<f32> = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // [[1, 2], [3, 4], [5, 6]]
    let bias: Vec<f32> = vec![0.5, -0.25];
    let (kernel_bytes, bias_bytes) = (le_f32(&kernel), le_f32(&bias));
    let tensors = [
        (
            "dense/bias",
            TensorView::new(Dtype::F32, vec![2], &bias_bytes).unwrap(),
        ),
        (
            "dense/kernel",
            TensorView::new(Dtype::F32, vec![3, 2], &kernel_bytes).unwrap(),
        ),
    ];
    let dir = scratch("keras-export");
    let path = dir.join("exported.safetensors");
    fs::write(&path, safetensors::serialize(tensors, None).unwrap()).unwrap();

    let mut model = Linear::new(Seed(1));
    model.load_weights(&path).unwrap();
    // y = x · kernel + bias, as Keras's Dense computes it.
    let y = model.predict_one(&[1.0, 10.0, 100.0]);
    assert_eq!(y, [1.0 + 30.0 + 500.0 + 0.5, 2.0 + 40.0 + 600.0 - 0.25]);
    // The metadata is optional.
    assert_eq!(WeightsHeader::read(&path).unwrap().model(), None);
}

#[test]
fn another_architecture_fails_listing_every_mismatch_and_naming_the_files_model() {
    let dir = scratch("architecture");
    let path = dir.join("mlp.safetensors");
    Mlp::new(Seed(1)).save_weights(&path).unwrap();

    let mut narrow = Narrow::new(Seed(2));
    let before = bits(narrow.params());
    let error = narrow.load_weights(&path).unwrap_err();
    assert!(matches!(error, Error::Format { .. }), "{error:?}");
    let message = error.to_string();
    for line in [
        "the weights do not fit model `Narrow`: 3 mismatches:",
        "\n  dense/kernel: file has [6, 16], model has [6, 10]\n",
        "\n  dense/bias: file has [16], model has [10]\n",
        "\n  dense_1/kernel: file has [16, 12], model has [10, 12]\n",
        "the file was saved from model `Mlp` (strata 0.1.0), whose architecture is {",
        "load it into a model with that architecture",
    ] {
        assert!(message.contains(line), "{line:?} not in:\n{message}");
    }
    assert_eq!(bits(narrow.params()), before);

    // Tensors the model lacks and tensors the file lacks.
    let mut short = Short::new(Seed(2));
    let before = bits(short.params());
    let message = short.load_weights(&path).unwrap_err().to_string();
    for line in [
        "4 mismatches:",
        "dense_1/kernel: file has [16, 12], model has [16, 3]",
        "dense_1/bias: missing from the file, model has [3]",
        "dense_2/kernel: in the file (F32 [12, 3]), not in the model",
        "dense_2/bias: in the file (F32 [3]), not in the model",
    ] {
        assert!(message.contains(line), "{line:?} not in:\n{message}");
    }
    assert_eq!(bits(short.params()), before);
}

#[test]
fn another_float_type_loads_only_when_asked_to_convert() {
    let dir = scratch("dtype");
    let (path32, path64) = (dir.join("f32.safetensors"), dir.join("f64.safetensors"));
    let model32 = Mlp::new(Seed(1));
    let model64 = Mlp::<f64>::seeded(Seed(1));
    model32.save_weights(&path32).unwrap();
    model64.save_weights(&path64).unwrap();

    let mut target = Mlp::new(Seed(2));
    let before = bits(target.params());
    let message = target.load_weights(&path64).unwrap_err().to_string();
    assert!(message.contains("5 mismatches"), "{message}");
    assert!(
        message.contains("dense/kernel: file has F64, model has F32"),
        "{message}"
    );
    assert!(message.contains("`load_weights_converting`"), "{message}");
    assert!(message.contains("`Mlp::<f64>::seeded(..)`"), "{message}");
    assert!(!message.contains("saved from model"), "{message}");
    assert_eq!(bits(target.params()), before);

    // f64 to f32 rounds to nearest, as the f32 model's own initialization does.
    target.load_weights_converting(&path64).unwrap();
    let rounded: Vec<f32> = model64.params().iter().map(|&v| v as f32).collect();
    assert_eq!(bits(target.params()), bits(&rounded));

    // f32 to f64 is exact.
    let mut wide = Mlp::<f64>::seeded(Seed(2));
    assert!(wide.load_weights(&path32).is_err());
    wide.load_weights_converting(&path32).unwrap();
    let widened: Vec<f64> = model32.params().iter().map(|&v| f64::from(v)).collect();
    assert_eq!(bits(wide.params()), bits(&widened));

    // Converting still checks everything else.
    let mut narrow = Narrow::new(Seed(1));
    let message = narrow
        .load_weights_converting(&path64)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("dense/kernel: file has [6, 16], model has [6, 10]"),
        "{message}"
    );
}

#[test]
fn a_float_type_strata_cannot_read_is_an_error_that_says_to_convert_the_file() {
    // Two bytes a value.
    let (kernel, bias) = ([0u8; 3 * 2 * 2], [0u8; 2 * 2]);
    let tensors = [
        (
            "dense/kernel",
            TensorView::new(Dtype::BF16, vec![3, 2], &kernel).unwrap(),
        ),
        (
            "dense/bias",
            TensorView::new(Dtype::BF16, vec![2], &bias).unwrap(),
        ),
    ];
    let dir = scratch("bf16");
    let path = dir.join("bf16.safetensors");
    fs::write(&path, safetensors::serialize(tensors, None).unwrap()).unwrap();
    let mut model = Linear::new(Seed(1));
    let before = bits(model.params());
    for result in [
        model.load_weights(&path),
        model.load_weights_converting(&path),
    ] {
        let message = result.unwrap_err().to_string();
        assert!(
            message.contains("dense/kernel: file has BF16, model has F32"),
            "{message}"
        );
        assert!(
            message.contains("strata reads F32 and F64 tensors"),
            "{message}"
        );
    }
    assert_eq!(bits(model.params()), before);
}

#[test]
fn a_compiled_model_saves_and_loads_its_weights() {
    let dir = scratch("trainer");
    let path = dir.join("trained.safetensors");
    let compile = |model: Mlp| model.compile(SGD::new(0.1), MeanSquaredError::new(), ());
    let mut trainer = compile(Mlp::new(Seed(1)));
    let x = ndarray::Array2::from_shape_fn((32, 6), |(i, j)| ((i + j) % 5) as f32 / 5.0);
    let y = ndarray::Array2::from_shape_fn((32, 3), |(i, j)| ((i * j) % 3) as f32);
    let data = Dataset::from_rows(x, y).unwrap();
    trainer
        .fit(&data, Fit::epochs(2).batch_size(8).verbose(Verbose::Silent))
        .unwrap();
    trainer.save_weights(&path).unwrap();

    let mut restored = compile(Mlp::new(Seed(2)));
    restored.load_weights(&path).unwrap();
    assert_eq!(
        bits(restored.model().params()),
        bits(trainer.model().params())
    );
    assert!(restored.load_weights_converting(&path).is_ok());
    let mut narrow = Narrow::new(Seed(1)).compile(SGD::new(0.1), MeanSquaredError::new(), ());
    assert!(narrow.load_weights(&path).is_err());
}

#[test]
fn saving_over_a_file_replaces_it_and_a_failed_save_leaves_it_intact() {
    let dir = scratch("atomic");
    let path = dir.join("weights.safetensors");
    Mlp::new(Seed(1)).save_weights(&path).unwrap();
    let second = Mlp::new(Seed(2));
    second.save_weights(&path).unwrap();
    let mut loaded = Mlp::new(Seed(3));
    loaded.load_weights(&path).unwrap();
    assert_eq!(bits(loaded.params()), bits(second.params()));
    let saved = fs::read(&path).unwrap();

    // Into a directory that does not exist.
    let message = second
        .save_weights(dir.join("missing/weights.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("the directory does not exist: create it first"),
        "{message}"
    );
    // Under a path that is a file.
    assert!(
        second
            .save_weights(path.join("weights.safetensors"))
            .is_err()
    );
    // Over a directory.
    fs::create_dir(dir.join("subdir")).unwrap();
    let message = second
        .save_weights(dir.join("subdir"))
        .unwrap_err()
        .to_string();
    assert!(message.contains("is a directory"), "{message}");
    // Loading a directory.
    let message = loaded
        .load_weights(dir.join("subdir"))
        .unwrap_err()
        .to_string();
    assert!(message.contains("is a directory"), "{message}");
    // Loading a file that is not there names it.
    let message = loaded
        .load_weights(dir.join("none.safetensors"))
        .unwrap_err();
    assert!(matches!(message, Error::Io { .. }), "{message:?}");

    assert_eq!(fs::read(&path).unwrap(), saved);
    let mut names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["subdir", "weights.safetensors"]);
    assert_eq!(fs::read_dir(dir.join("subdir")).unwrap().count(), 0);
}

/// Where the parent of [`child_saving_weights_in_a_loop`] tells it to save.
#[cfg(unix)]
const CHILD_DIR: &str = "STRATA_TEST_CHECKPOINT_CHILD_DIR";
#[cfg(unix)]
const CHILD_READY: &str = "child: first save done";

model! {
    /// Big enough that a save takes a while: 200 k parameters, 800 KB.
    pub struct Wide: [784] -> [10] {
        Dense(256, activation = relu),
        Dense(10),
    }
}

/// Run by [`a_save_killed_at_any_moment_leaves_a_complete_file`]: saves two weight sets
/// in turn until killed (or for 20 seconds at most, should the parent be gone).
#[cfg(unix)]
#[test]
#[ignore = "a child process of a_save_killed_at_any_moment_leaves_a_complete_file"]
fn child_saving_weights_in_a_loop() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let path = Path::new(&dir).join("weights.safetensors");
    let (a, b) = (Wide::new(Seed(1)), Wide::new(Seed(2)));
    let start = std::time::Instant::now();
    for i in 0.. {
        let model = if i % 2 == 0 { &b } else { &a };
        model.save_weights(&path).unwrap();
        if i == 0 {
            use std::io::Write;
            println!("{CHILD_READY}");
            std::io::stdout().flush().unwrap();
        }
        if start.elapsed().as_secs() >= 20 {
            break;
        }
    }
}

#[cfg(unix)]
#[test]
fn a_save_killed_at_any_moment_leaves_a_complete_file() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use rand::Rng as _;

    let dir = scratch("kill");
    let path = dir.join("weights.safetensors");
    let (a, b) = (Wide::new(Seed(1)), Wide::new(Seed(2)));
    // How long a save takes here, to kill within the first few of the child's saves.
    let start = Instant::now();
    for _ in 0..3 {
        a.save_weights(&path).unwrap();
    }
    let save_micros = (start.elapsed().as_micros() / 3).max(100) as u64;

    let exe = std::env::current_exe().unwrap();
    let mut rng = Seed(5).rng();
    let (mut found_a, mut found_b) = (0, 0);
    let kills = 60;
    for round in 0..kills {
        let mut child = Command::new(&exe)
            .args(["child_saving_weights_in_a_loop", "--exact", "--ignored"])
            .args(["--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The test harness writes the test's name before the child's own line.
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let ready = stdout
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains(CHILD_READY));
        if !ready {
            let status = child.wait().unwrap();
            panic!("round {round}: the child stopped before its first save: {status}");
        }
        std::thread::sleep(Duration::from_micros(rng.random_range(0..3 * save_micros)));
        child.kill().unwrap();
        child.wait().unwrap();

        let mut loaded = Wide::new(Seed(3));
        loaded
            .load_weights(&path)
            .unwrap_or_else(|e| panic!("round {round}: the file does not load: {e}"));
        if loaded.params() == a.params() {
            found_a += 1;
        } else if loaded.params() == b.params() {
            found_b += 1;
        } else {
            panic!("round {round}: the file holds neither weight set");
        }
    }
    // A kill between a save's start and its rename leaves the temporary file behind: this
    // counts the kills that landed mid-save.
    let mid_save = fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp-")
        })
        .count();
    eprintln!(
        "{kills} kills, {mid_save} during a save; the file held the first weights {found_a} \
         times, the second {found_b} (a save takes {save_micros} µs)"
    );
    assert!(
        mid_save >= kills / 10,
        "only {mid_save} kills landed during a save"
    );
}

/// The README's example, run in a scratch directory, and the error it shows.
mod readme {
    use super::*;

    model! {
        pub struct Mlp: [784] -> [10] {
            Dense(128, activation = relu),
            Dense(10),
        }
    }

    model! {
        pub struct Small: [784] -> [10] {
            Dense(64, activation = relu),
            Dense(10),
        }
    }

    #[test]
    fn the_readme_example_saves_loads_and_reads_the_header() -> Result<(), strata::Error> {
        let path = scratch("readme").join("mlp.safetensors");
        let model = Mlp::new(Seed(42));
        model.save_weights(&path)?;

        let mut restored = Mlp::new(Seed(0));
        restored.load_weights(&path)?;
        assert_eq!(restored.params(), model.params());

        let header = strata::checkpoint::WeightsHeader::read(&path)?;
        assert_eq!(header.model(), Some("Mlp"));
        assert_eq!(header.strata_version(), Some("0.1.0"));
        Ok(())
    }

    #[test]
    fn the_readme_error_is_what_loading_another_architecture_says() {
        let path = scratch("readme-error").join("mlp.safetensors");
        Small::new(Seed(1)).save_weights(&path).unwrap();
        let message = Mlp::new(Seed(1))
            .load_weights(&path)
            .unwrap_err()
            .to_string();
        let expected_start = format!(
            "{}: the weights do not fit model `Mlp`: 3 mismatches:
  dense/kernel: file has [784, 64], model has [784, 128]
  dense/bias: file has [64], model has [128]
  dense_1/kernel: file has [64, 10], model has [128, 10]
the file was saved from model `Small` (strata 0.1.0), whose architecture is {{",
            path.display()
        );
        assert!(message.starts_with(&expected_start), "{message}");
        assert!(message.ends_with(
            "; load it into a model with that architecture, or save `Mlp`'s own weights and \
             load those"
        ));
    }
}
