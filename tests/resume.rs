//! Training checkpoints: a run resumed from the checkpoint of epoch k ends bit-identical
//! to the run that was never interrupted, and a checkpoint that does not fit changes
//! nothing.

use std::path::PathBuf;

use strata::Result;
use strata::prelude::*;
use strata::train::{Callback, Logs, Training};

model! {
    pub struct Mlp: [784] -> [10] {
        Dense(64, activation = relu),
        Dropout(0.2),
        Dense(10),
    }

    pub struct Other: [784] -> [10] {
        Dense(32, activation = relu),
        Dense(10),
    }
}

type MlpTrainer = Trainer<Mlp, Adam, SparseCategoricalCrossentropy>;

/// Two threads: the resumed run must also match across the parallel paths.
fn trainer(init_seed: u64) -> MlpTrainer {
    let mut trainer = Mlp::new(Seed(init_seed)).compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy::new()],
    );
    trainer.set_threads(2).unwrap();
    trainer
}

fn data() -> (Dataset<f32>, Dataset<f32>) {
    let (train, test) = strata::datasets::fashion_mnist::load().unwrap();
    (train.take(3_000), test.take(500))
}

fn fit<'a>(epochs: usize, validation: &'a Dataset<f32>) -> Fit<'a, f32> {
    Fit::epochs(epochs)
        .batch_size(64)
        .seed(Seed(11))
        .validation_data(validation)
        .verbose(Verbose::Silent)
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn history_bits(history: &History) -> Vec<(String, Vec<u64>)> {
    history
        .keys()
        .map(|k| {
            let values = history
                .get(k)
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect();
            (k.to_string(), values)
        })
        .collect()
}

#[test]
fn a_run_resumed_from_epoch_two_ends_bit_identical_to_the_uninterrupted_run() {
    let (train, validation) = data();
    let mut whole = trainer(1);
    let whole_history = whole.fit(&train, fit(4, &validation)).unwrap();

    let path = temp("epoch2.ckpt");
    let mut first_half = trainer(1);
    first_half.fit(&train, fit(2, &validation)).unwrap();
    first_half.save_checkpoint(&path).unwrap();

    // Another initial seed: everything that matters comes from the checkpoint.
    let mut resumed = trainer(99);
    resumed.resume_from(&path).unwrap();
    let resumed_history = resumed.fit(&train, fit(4, &validation)).unwrap();

    assert_eq!(bits(resumed.model().params()), bits(whole.model().params()));
    assert_eq!(history_bits(&resumed_history), history_bits(&whole_history));
    assert_eq!(resumed_history.epoch, [0, 1, 2, 3]);
    assert_eq!(
        resumed.optimizer().iterations(),
        whole.optimizer().iterations()
    );
}

/// Fails at the end of epoch `crash_at`, as a crash would.
struct CrashAt(usize);

impl Callback for CrashAt {
    fn on_epoch_end(&mut self, epoch: usize, _: &mut Logs, _: &mut dyn Training) -> Result<()> {
        if epoch == self.0 {
            return Err(Error::invalid("crash", "simulated crash"));
        }
        Ok(())
    }
}

#[test]
fn backup_and_restore_picks_up_an_interrupted_run() {
    let (train, validation) = data();
    let mut whole = trainer(1);
    let whole_history = whole.fit(&train, fit(4, &validation)).unwrap();

    let backup = temp("backup.ckpt");
    let mut crashed = trainer(1);
    let error = crashed
        .fit(
            &train,
            fit(4, &validation)
                .backup_and_restore(&backup)
                .callback(CrashAt(2)),
        )
        .unwrap_err();
    assert!(error.to_string().contains("simulated crash"));
    assert!(backup.exists(), "epochs 0 and 1 were backed up");

    let mut restarted = trainer(5);
    let history = restarted
        .fit(&train, fit(4, &validation).backup_and_restore(&backup))
        .unwrap();
    assert_eq!(
        bits(restarted.model().params()),
        bits(whole.model().params())
    );
    assert_eq!(history_bits(&history), history_bits(&whole_history));
    assert!(
        !backup.exists(),
        "a completed run removes its backup, as Keras"
    );
}

#[test]
fn a_checkpoint_that_does_not_fit_changes_nothing() {
    let (train, validation) = data();
    let train = train.take(256);
    let path = temp("small.ckpt");
    let mut saved = trainer(1);
    saved.fit(&train, fit(1, &validation)).unwrap();
    saved.save_checkpoint(&path).unwrap();

    // Another architecture.
    let mut other = Other::new(Seed(1)).compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        (),
    );
    let before = other.model().params().to_vec();
    let error = other.resume_from(&path).unwrap_err().to_string();
    assert!(error.contains("architecture"), "{error}");
    assert_eq!(other.model().params(), &before[..]);

    // Another optimizer.
    let mut sgd = Mlp::new(Seed(1)).compile(
        SGD::new(0.1),
        SparseCategoricalCrossentropy::from_logits(),
        (),
    );
    let error = sgd.resume_from(&path).unwrap_err().to_string();
    assert!(error.contains("adam"), "{error}");

    // A weights file, a truncated checkpoint, a missing file.
    let weights = temp("weights.safetensors");
    saved.save_weights(&weights).unwrap();
    let mut fresh = trainer(3);
    let before = fresh.model().params().to_vec();
    let error = fresh.resume_from(&weights).unwrap_err().to_string();
    assert!(error.contains("load_weights"), "{error}");
    let bytes = std::fs::read(&path).unwrap();
    let truncated = temp("truncated.ckpt");
    for cut in [0, 7, 8, 100, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&truncated, &bytes[..cut]).unwrap();
        assert!(fresh.resume_from(&truncated).is_err(), "cut at {cut}");
    }
    assert!(fresh.resume_from(temp("missing.ckpt")).is_err());
    assert_eq!(fresh.model().params(), &before[..]);
    assert_eq!(fresh.optimizer().iterations(), 0);

    // Another seed than the run's.
    fresh.resume_from(&path).unwrap();
    let error = fresh
        .fit(&train, fit(2, &validation).seed(Seed(12)))
        .unwrap_err()
        .to_string();
    assert!(error.contains(".seed(11)"), "{error}");
}

/// A property test standing in for a fuzzer: random mutations of a real checkpoint (most
/// in its header, where the structure is) never panic, and every load that succeeds
/// restores a state of the same shape.
#[test]
fn mutated_checkpoints_never_panic() {
    use rand::Rng;
    let (train, validation) = data();
    let mut saved = Other::new(Seed(1)).compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        (),
    );
    saved.fit(&train.take(128), fit(1, &validation)).unwrap();
    let path = temp("fuzz-source.ckpt");
    saved.save_checkpoint(&path).unwrap();
    let original = std::fs::read(&path).unwrap();
    let header_len = 8 + u64::from_le_bytes(original[..8].try_into().unwrap()) as usize;
    let mut rng = Seed(5).rng();
    let mutated = temp("fuzz.ckpt");
    let mut loaded = 0;
    for _ in 0..3_000 {
        let mut bytes = original.clone();
        for _ in 0..rng.random_range(1..4) {
            let at = if rng.random_bool(0.8) {
                rng.random_range(0..header_len)
            } else {
                rng.random_range(0..bytes.len())
            };
            bytes[at] = rng.random();
        }
        if rng.random_bool(0.1) {
            bytes.truncate(rng.random_range(0..bytes.len()));
        }
        std::fs::write(&mutated, &bytes).unwrap();
        let mut target = Other::new(Seed(2)).compile(
            Adam::new(1e-3),
            SparseCategoricalCrossentropy::from_logits(),
            (),
        );
        if target.resume_from(&mutated).is_ok() {
            loaded += 1;
            assert_eq!(target.model().params().len(), Other::<f32>::PARAM_COUNT);
        }
    }
    // Flips in the tensor data or in a number's digits load; most others do not.
    assert!(
        loaded > 0 && loaded < 3_000,
        "{loaded} of 3000 mutated files loaded"
    );
}

#[test]
fn a_lowered_rate_comes_back_exactly_and_cannot_overwrite_a_schedule() {
    let (train, validation) = data();
    let train = train.take(128);
    let path = temp("lowered-rate.ckpt");
    let mut saved = trainer(1);
    saved.fit(&train, fit(1, &validation)).unwrap();
    saved.optimizer_mut().set_learning_rate(3.7e-4).unwrap();
    saved.save_checkpoint(&path).unwrap();

    let mut constant = trainer(2);
    constant.resume_from(&path).unwrap();
    assert_eq!(
        constant.optimizer().learning_rate().to_bits(),
        3.7e-4f64.to_bits()
    );

    // The same optimizer kind following a schedule cannot take that rate: the resume
    // fails and leaves the trainer as it was.
    let mut scheduled = Mlp::new(Seed(2)).compile(
        Adam::new(strata::optim::CosineDecay::new(1e-3, 1_000)),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy::new()],
    );
    let before = scheduled.model().params().to_vec();
    let error = scheduled.resume_from(&path).unwrap_err().to_string();
    assert!(error.contains("CosineDecay"), "{error}");
    assert_eq!(scheduled.model().params(), &before[..]);
    assert_eq!(scheduled.optimizer().iterations(), 0);
}
