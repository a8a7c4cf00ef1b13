//! Callbacks on real training runs: each built-in does what Keras's does, and `fit` calls
//! the hooks in Keras's order.

use ndarray::Array2;
use strata::Result;
use strata::prelude::*;
use strata::train::{
    CSVLogger, Callback, EarlyStopping, Logs, ModelCheckpoint, ReduceLROnPlateau, SaveFreq,
    TerminateOnNaN, Training,
};

model! {
    pub struct Mlp: [784] -> [10] {
        Dense(64, activation = relu),
        Dense(10),
    }
}

fn trainer(learning_rate: f64) -> Trainer<Mlp, Adam, SparseCategoricalCrossentropy> {
    let mut trainer = Mlp::new(Seed(7)).compile(
        Adam::new(learning_rate),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy::new()],
    );
    trainer.set_threads(1).unwrap();
    trainer
}

/// 2,000 training and 1,000 validation images of Fashion-MNIST: few enough that the model
/// overfits within a few epochs, so that the validation loss turns.
fn small_fashion_mnist() -> (Dataset<f32>, Dataset<f32>) {
    let (train, test) = strata::datasets::fashion_mnist::load().unwrap();
    (train.take(2_000), test.take(1_000))
}

fn quiet<'a>(epochs: usize) -> Fit<'a, f32> {
    Fit::epochs(epochs).batch_size(64).verbose(Verbose::Silent)
}

#[test]
fn early_stopping_stops_when_validation_loss_turns_and_restores_the_best_weights() {
    let (train, validation) = small_fashion_mnist();
    let mut trainer = trainer(3e-3);
    let mut early = EarlyStopping::new()
        .monitor("val_loss")
        .patience(2)
        .restore_best_weights(true);
    let fit = quiet(40).validation_data(&validation).callback(&mut early);
    let history = trainer.fit(&train, fit).unwrap();

    let stopped = early
        .stopped_epoch()
        .expect("the validation loss must turn");
    let best = early.best_epoch().unwrap();
    assert!(stopped < 39, "stopped at epoch {stopped}");
    assert_eq!(history.epoch.len(), stopped + 1);
    assert_eq!(
        best,
        stopped - 2,
        "patience 2: two epochs without improvement"
    );
    let val_losses = history.get("val_loss").unwrap();
    let lowest = val_losses.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(val_losses[best], lowest);
    // The weights are those of the best epoch: evaluating gives its validation loss.
    let restored = trainer.evaluate_with(&validation, 64).unwrap();
    let loss = restored.get("loss").unwrap();
    assert!((loss - lowest).abs() < 1e-9, "{loss} != best {lowest}");
}

#[test]
fn reduce_lr_on_plateau_lowers_the_rate_once_validation_loss_stalls() {
    let (train, validation) = small_fashion_mnist();
    let mut trainer = trainer(3e-3);
    let reduce = ReduceLROnPlateau::new()
        .monitor("val_loss")
        .patience(1)
        .factor(0.5);
    let fit = quiet(12).validation_data(&validation).callback(reduce);
    let history = trainer.fit(&train, fit).unwrap();

    let rates = history.get("learning_rate").unwrap();
    let val_losses = history.get("val_loss").unwrap();
    assert_eq!(rates[0], 3e-3);
    assert!(rates.windows(2).all(|w| w[1] <= w[0]), "{rates:?}");
    // The logged rate is the one the epoch trained with; it is halved after each epoch
    // that did not beat the best validation loss so far (patience 1, min_delta 1e-4).
    let mut best = f64::INFINITY;
    let mut expected = 3e-3;
    for (epoch, &loss) in val_losses.iter().enumerate() {
        assert!(
            (rates[epoch] - expected).abs() < 1e-15,
            "epoch {epoch}: {rates:?}"
        );
        if loss < best - 1e-4 {
            best = loss;
        } else {
            expected *= 0.5;
        }
    }
    assert!(expected < 3e-3, "the loss never stalled: {val_losses:?}");
    assert_eq!(trainer.optimizer().learning_rate(), expected);
}

#[test]
fn csv_logger_writes_a_file_a_csv_reader_parses() {
    let (train, validation) = small_fashion_mnist();
    let dir = std::env::temp_dir().join(format!("strata-csvlogger-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("training.csv");
    let mut trainer = trainer(1e-3);
    let fit = quiet(3)
        .validation_data(&validation)
        .callback(CSVLogger::new(&path));
    let history = trainer.fit(&train, fit).unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header,
        ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|line| line.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 3);
    for (epoch, row) in rows.iter().enumerate() {
        assert_eq!(row[0], epoch as f64);
        for (column, name) in header.iter().enumerate().skip(1) {
            assert_eq!(row[column], history.get(name).unwrap()[epoch], "{name}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// 256 samples of which sample 130 (in the third batch of 64) holds a NaN.
fn data_with_nan_in_third_batch() -> Dataset<f32> {
    let mut x = Array2::from_shape_fn((256, 784), |(i, j)| ((i * 7 + j) % 13) as f32 / 13.0);
    x[[130, 9]] = f32::NAN;
    let y = Array2::from_shape_fn((256, 1), |(i, _)| (i % 10) as f32);
    Dataset::from_rows(x, y).unwrap()
}

#[test]
fn terminate_on_nan_stops_with_the_weights_of_the_last_finite_step() {
    let data = data_with_nan_in_third_batch();
    let mut trainer = trainer(1e-3);
    let fit = quiet(3).shuffle(false).callback(TerminateOnNaN);
    let history = trainer.fit(&data, fit).unwrap();
    assert_eq!(history.epoch, [0], "training stops in the first epoch");
    assert!(history.last("loss").unwrap().is_nan());

    // The same two finite steps, without the bad batch.
    let mut reference = self::trainer(1e-3);
    reference
        .fit(&data.take(128), quiet(1).shuffle(false))
        .unwrap();
    assert_eq!(trainer.model().params(), reference.model().params());

    // Without the callback, the NaN is an error.
    let error = self::trainer(1e-3)
        .fit(&data, quiet(1).shuffle(false))
        .unwrap_err();
    assert!(
        matches!(error, Error::NonFiniteLoss { step: 2, .. }),
        "{error}"
    );
}

/// Records every hook it sees.
#[derive(Default)]
struct Recorder {
    calls: Vec<String>,
}

impl Callback for Recorder {
    fn on_train_begin(&mut self, training: &mut dyn Training) -> Result<()> {
        self.calls
            .push(format!("train_begin {}", training.model_name()));
        Ok(())
    }

    fn on_train_end(&mut self, logs: &Logs, _: &mut dyn Training) -> Result<()> {
        self.calls
            .push(format!("train_end {}", logs.get("loss").is_some()));
        Ok(())
    }

    fn on_epoch_begin(&mut self, epoch: usize, _: &mut dyn Training) -> Result<()> {
        self.calls.push(format!("epoch_begin {epoch}"));
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, _: &mut dyn Training) -> Result<()> {
        let names: Vec<&str> = logs.iter().map(|(name, _)| name).collect();
        self.calls
            .push(format!("epoch_end {epoch} {}", names.join(",")));
        logs.push("custom", epoch as f64);
        Ok(())
    }

    fn on_train_batch_begin(&mut self, batch: usize, _: &mut dyn Training) -> Result<()> {
        self.calls.push(format!("batch_begin {batch}"));
        Ok(())
    }

    fn on_train_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        run: &mut dyn Training,
    ) -> Result<()> {
        let names: Vec<&str> = logs.iter().map(|(name, _)| name).collect();
        self.calls.push(format!(
            "batch_end {batch} {} iterations {}",
            names.join(","),
            run.iterations()
        ));
        Ok(())
    }
}

#[test]
fn hooks_run_in_keras_order_and_epoch_logs_they_add_reach_the_history() {
    let data = data_with_nan_in_third_batch().take(128);
    let mut recorder = Recorder::default();
    let history = trainer(1e-3)
        .fit(&data, quiet(2).callback(&mut recorder))
        .unwrap();
    let expected = [
        "train_begin Mlp",
        "epoch_begin 0",
        "batch_begin 0",
        "batch_end 0 loss,accuracy iterations 1",
        "batch_begin 1",
        "batch_end 1 loss,accuracy iterations 2",
        "epoch_end 0 loss,accuracy",
        "epoch_begin 1",
        "batch_begin 0",
        "batch_end 0 loss,accuracy iterations 3",
        "batch_begin 1",
        "batch_end 1 loss,accuracy iterations 4",
        "epoch_end 1 loss,accuracy",
        "train_end true",
    ];
    assert_eq!(recorder.calls, expected);
    assert_eq!(history.get("custom").unwrap(), [0.0, 1.0]);
}

/// Sets a learning rate that no optimizer can use.
struct BadRate;

impl Callback for BadRate {
    fn on_epoch_begin(&mut self, _: usize, training: &mut dyn Training) -> Result<()> {
        training.set_learning_rate(-1.0)
    }
}

#[test]
fn a_callback_error_ends_fit_with_that_error() {
    let data = data_with_nan_in_third_batch().take(64);
    let mut trainer = trainer(1e-3);
    let error = trainer.fit(&data, quiet(1).callback(BadRate)).unwrap_err();
    assert!(error.to_string().contains("learning_rate"), "{error}");
    assert_eq!(trainer.optimizer().learning_rate(), 1e-3);
}

#[test]
fn model_checkpoint_keeps_the_best_weights_in_a_file_that_loads() {
    let (train, validation) = small_fashion_mnist();
    let dir = std::env::temp_dir().join(format!("strata-modelckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let best_path = dir.join("best.safetensors");
    let mut best = ModelCheckpoint::new(best_path.to_string_lossy()).save_best_only(true);
    let rolling_pattern = dir.join("step-{epoch:02d}.safetensors");
    let mut rolling = ModelCheckpoint::new(rolling_pattern.to_string_lossy())
        .save_freq(SaveFreq::Batches(20))
        .keep_last(2);
    let mut trainer = trainer(3e-3);
    let fit = quiet(8)
        .validation_data(&validation)
        .callback(&mut best)
        .callback(&mut rolling);
    let history = trainer.fit(&train, fit).unwrap();

    // The best file holds the weights of the epoch with the lowest validation loss.
    let lowest = history
        .get("val_loss")
        .unwrap()
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    let mut reloaded = self::trainer(3e-3);
    reloaded.load_weights(&best_path).unwrap();
    let loss = reloaded
        .evaluate_with(&validation, 64)
        .unwrap()
        .get("loss")
        .unwrap();
    assert!((loss - lowest).abs() < 1e-9, "{loss} != {lowest}");

    // 32 batches an epoch, a save every 20: the two newest files are kept.
    let kept: Vec<String> = rolling
        .saved()
        .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(kept, ["step-07.safetensors", "step-08.safetensors"]);
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk,
        [
            "best.safetensors",
            "step-07.safetensors",
            "step-08.safetensors"
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Puts back weights of the wrong length, remembering the weights it saw.
#[derive(Default)]
struct WrongWeights {
    seen: Vec<f32>,
}

impl Callback for WrongWeights {
    fn on_epoch_end(&mut self, _: usize, _: &mut Logs, training: &mut dyn Training) -> Result<()> {
        self.seen = training.weights().to_vec();
        training.set_weights(&self.seen[1..])
    }
}

#[test]
fn setting_weights_of_the_wrong_length_is_an_error_that_keeps_the_weights() {
    let data = data_with_nan_in_third_batch().take(64);
    let mut trainer = trainer(1e-3);
    let mut wrong = WrongWeights::default();
    let error = trainer
        .fit(&data, quiet(1).callback(&mut wrong))
        .unwrap_err();
    let message = error.to_string();
    let expected = format!(
        "takes {} weights, got {}",
        Mlp::<f32>::PARAM_COUNT,
        Mlp::<f32>::PARAM_COUNT - 1
    );
    assert!(message.contains(&expected), "{message}");
    assert_eq!(trainer.model().params(), &wrong.seen[..]);
}
