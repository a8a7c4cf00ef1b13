//! A training step allocates nothing once its batch size has been seen, nor does inference
//! once its workspace is sized.

use ndarray::Array2;
use strata::loss::Loss;
use strata::prelude::*;
use strata::train::{TerminateOnNaN, Verbose};

model! {
    struct Mlp: [784] -> [10] {
        Dense(128, activation = relu),
        Dropout(0.2),
        Dense(128, activation = relu),
        Dense(10),
    }

    /// Recurrent layers with every dropout mask: their caches live in the workspace too.
    struct Rows: [28, 28] -> [10] {
        LSTM(16, return_sequences = true, dropout = 0.2, recurrent_dropout = 0.2),
        GRU(8, recurrent_dropout = 0.1),
        Dense(10),
    }
}

model! {
    /// An encoder's final states start a decoder: the unpacked states, their gradients and
    /// the initial states' live in the workspace too.
    struct Seq2Seq: (top: [14, 28], bottom: [14, 28]) -> [10] {
        let (_, h, c) = LSTM(8, return_state = true)(top);
        let (last, h2) = GRU(8, return_state = true)(bottom, initial_state = [h]);
        Dense(10)(Concatenate(LSTM(8)(bottom, initial_state = [h2, c]), last))
    }
}

model! {
    /// BatchNormalization in training (the lanes' statistics, the moving statistics'
    /// update after each step) and LayerNormalization.
    struct NormalizedMlp: [784] -> [10] {
        Dense(128, use_bias = false),
        BatchNormalization,
        Activation(relu),
        Dense(64),
        LayerNormalization,
        Dense(10),
    }
}

/// A model of a block of its own, used as a layer by the next block's.
mod parts {
    use strata::prelude::*;

    model! {
        pub struct Features: [784] -> [64] {
            Dense(64, use_bias = false),
            BatchNormalization,
            Activation(relu),
        }
    }
}

model! {
    use parts::Features: [784] -> [64];

    /// A model of another block as a layer: its workspace lives in this one's.
    struct OnFeatures: [784] -> [10] {
        Features,
        Dense(10),
    }
}

fn dataset(samples: usize) -> Dataset<f32> {
    let x = Array2::from_shape_fn((samples, 784), |(i, j)| {
        ((i * 31 + j * 7) % 255) as f32 / 255.0
    });
    let y = Array2::from_shape_fn((samples, 1), |(i, _)| (i % 10) as f32);
    Dataset::from_rows(x, y).unwrap()
}

/// The weights an epoch trains with.
#[derive(Clone, Copy, Debug)]
enum Weights {
    None,
    /// `sample_weight`, a different weight for each sample.
    Sample,
    /// `class_weight`, for two of the classes.
    Class,
}

/// Allocations made by one epoch of `fit` of `model` over `data` with `weights` on
/// `threads` threads (with a callback that reads every batch's logs, if `callback`), after
/// a warm-up epoch.
fn allocations_of_an_epoch<M: Model<Float = f32>>(
    model: M,
    data: &Dataset<f32>,
    weights: Weights,
    threads: usize,
    callback: bool,
) -> u64 {
    let mut trainer = model.compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy::new()],
    );
    trainer.set_threads(threads).unwrap();
    let sample_weight: Vec<f32> = (0..data.len()).map(|i| (i % 4) as f32 * 0.5).collect();
    let fit = || {
        let fit = Fit::epochs(1).batch_size(64).verbose(Verbose::Silent);
        let fit = if callback {
            fit.callback(TerminateOnNaN)
        } else {
            fit
        };
        match weights {
            Weights::None => fit,
            Weights::Sample => fit.sample_weight(&sample_weight),
            Weights::Class => fit.class_weight([(3, 2.0), (7, 0.5)]),
        }
    };
    trainer.fit(data, fit()).unwrap();
    allocation_counter::measure(|| {
        trainer.fit(data, fit()).unwrap();
    })
    .count_total
}

#[test]
fn training_steps_allocate_nothing_once_the_batch_size_is_seen() {
    // Per-epoch bookkeeping (the shuffled order, the history, the class weights of the
    // samples) allocates the same in both; ten times the steps must not allocate once more.
    // One thread: the counter counts the calling thread's allocations only, and with
    // more threads the steps run on the pool's.
    let cases = [
        (Weights::None, 1, false),
        (Weights::Sample, 1, false),
        (Weights::Class, 1, true),
    ];
    for (weights, threads, callback) in cases {
        let epoch = |samples| {
            let mlp = Mlp::new(Seed(1));
            allocations_of_an_epoch(mlp, &dataset(samples), weights, threads, callback)
        };
        let (few_steps, many_steps) = (epoch(64 * 4), epoch(64 * 40));
        assert_eq!(
            few_steps, many_steps,
            "{weights:?}, {threads} threads, callback {callback}: an epoch of 40 steps \
             allocated {many_steps} times, one of 4 steps {few_steps} times"
        );
    }
}

#[test]
fn recurrent_training_steps_allocate_nothing_once_the_batch_size_is_seen() {
    let epoch = |samples| {
        let rows = Rows::new(Seed(1));
        allocations_of_an_epoch(rows, &dataset(samples), Weights::None, 1, false)
    };
    let (few_steps, many_steps) = (epoch(64 * 4), epoch(64 * 40));
    assert_eq!(
        few_steps, many_steps,
        "an epoch of 40 steps allocated {many_steps} times, one of 4 steps {few_steps} times"
    );
}

/// Allocations of `model`'s inference on `batch` samples, on a workspace prepared for it,
/// after a first inference (where the matrix product's packing buffer grows).
fn allocations_of_inference<M: Model<Float = f32>>(model: M, batch: usize) -> u64 {
    let input = vec![0.25f32; batch * M::INPUT_SIZE];
    let mut ws = M::Workspace::default();
    M::prepare(&mut ws, batch);
    model.forward(&mut ws, &input, batch);
    allocation_counter::measure(|| {
        model.forward(&mut ws, &input, batch);
    })
    .count_total
}

#[test]
fn recurrent_inference_allocates_nothing_once_the_workspace_is_sized() {
    // Inference keeps its steps in the first blocks of the workspace's caches.
    assert_eq!(allocations_of_inference(Rows::new(Seed(1)), 64), 0);
    assert_eq!(allocations_of_inference(Seq2Seq::new(Seed(1)), 37), 0);
}

/// Allocations of one epoch of `fit` with one-hot targets and the confusion-based
/// metrics, after a warm-up epoch.
fn allocations_of_an_epoch_with_confusion_metrics(samples: usize) -> u64 {
    let x = dataset(samples).x().to_owned();
    let y = Array2::from_shape_fn((samples, 10), |(i, j)| f32::from(i % 10 == j));
    let data = Dataset::from_rows(x, y).unwrap();
    let metrics = (
        AUC::new(),
        Precision::new(),
        Recall::new(),
        F1Score,
        TopKCategoricalAccuracy::new().with_k(3),
    );
    let trainer = Mlp::new(Seed(1)).compile(
        Adam::new(1e-3),
        CategoricalCrossentropy::from_logits(),
        metrics,
    );
    allocations_of_a_second_epoch(trainer, &data)
}

/// Allocations made by the second epoch of `fit` of `trainer` over `data` on one thread.
fn allocations_of_a_second_epoch<M, O, L>(mut trainer: Trainer<M, O, L>, data: &Dataset<f32>) -> u64
where
    M: Model<Float = f32>,
    O: Optimizer<f32> + Send,
    L: Loss<f32> + Send,
{
    trainer.set_threads(1).unwrap();
    let fit = || Fit::epochs(1).batch_size(64).verbose(Verbose::Silent);
    trainer.fit(data, fit()).unwrap();
    allocation_counter::measure(|| {
        trainer.fit(data, fit()).unwrap();
    })
    .count_total
}

/// Asserts that an epoch of 40 steps allocates as often as one of 4, given the allocations
/// of an epoch over a number of samples.
fn assert_steps_allocate_nothing(allocations_of_an_epoch: impl Fn(usize) -> u64) {
    let few_steps = allocations_of_an_epoch(64 * 4);
    let many_steps = allocations_of_an_epoch(64 * 40);
    assert_eq!(
        few_steps, many_steps,
        "{many_steps} allocations in 40 steps, {few_steps} in 4"
    );
}

/// Allocations of one epoch of `fit` with a loss per output and a metric on one output
/// (on the model's single output, named `output`), after a warm-up epoch.
fn allocations_of_an_epoch_with_losses_per_output(samples: usize) -> u64 {
    let data = dataset(samples);
    let loss = Losses::new().output("output", SparseCategoricalCrossentropy::from_logits(), 1.0);
    let metric = OutputMetric::new("output", Accuracy::new());
    let mut trainer = Mlp::new(Seed(1)).compile(Adam::new(1e-3), loss, [metric]);
    trainer.set_threads(1).unwrap();
    let sample_weight: Vec<f32> = (0..data.len()).map(|i| (i % 4) as f32 * 0.5).collect();
    let fit = || {
        Fit::epochs(1)
            .batch_size(64)
            .verbose(Verbose::Silent)
            .sample_weight(&sample_weight)
    };
    trainer.fit(&data, fit()).unwrap();
    allocation_counter::measure(|| {
        trainer.fit(&data, fit()).unwrap();
    })
    .count_total
}

#[test]
fn losses_per_output_and_output_metrics_allocate_nothing_per_step() {
    assert_steps_allocate_nothing(allocations_of_an_epoch_with_losses_per_output);
}

#[test]
fn auc_precision_recall_f1_and_top_k_allocate_nothing_per_step() {
    assert_steps_allocate_nothing(allocations_of_an_epoch_with_confusion_metrics);
}

/// [`assert_steps_allocate_nothing`] for a classifier of the dataset's rows that `model`
/// makes, trained with Adam on its logits.
fn assert_classifier_steps_allocate_nothing<M: Model<Float = f32>>(model: impl Fn() -> M) {
    assert_steps_allocate_nothing(|samples| {
        let trainer = model().compile(
            Adam::new(1e-3),
            SparseCategoricalCrossentropy::from_logits(),
            [Accuracy::new()],
        );
        allocations_of_a_second_epoch(trainer, &dataset(samples))
    });
}

#[test]
fn batch_and_layer_normalization_allocate_nothing_per_step() {
    assert_classifier_steps_allocate_nothing(|| NormalizedMlp::new(Seed(1)));
}

#[test]
fn a_seq2seq_model_allocates_nothing_per_step() {
    assert_classifier_steps_allocate_nothing(|| Seq2Seq::new(Seed(1)));
}

#[test]
fn a_model_of_another_block_allocates_nothing_per_step() {
    assert_classifier_steps_allocate_nothing(|| OnFeatures::new(Seed(1)));
}
