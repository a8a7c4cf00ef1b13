use std::borrow::Cow;
use std::ops::Range;

use ndarray::{ArrayD, ArrayViewD};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::fit::check_sample_weight;
use super::predict::{check_sample_shape, check_samples, check_token_ids};
use super::progress::Progress;
use super::{Fit, History, Logs, Parallelism, Training};
use crate::data::{Dataset, permutation};
use crate::loss::Loss;
use crate::metrics::{Mean, Metric};
use crate::optim::Optimizer;
use crate::optim::parallel::for_each_part;
use crate::{AlignedVec, Error, Float, Model, ParamInfo, Result, Seed};

/// A model compiled with an optimizer, a loss and metrics, as Keras's compiled model: it
/// fits, evaluates and predicts.
///
/// With [`Parallelism::Batch`] the batch is split across `threads` lanes, each with its
/// own workspace and gradient buffer; the lanes' gradients are summed in a fixed order, so
/// that a run is deterministic for a given seed and thread count. With
/// [`Parallelism::Products`] one lane takes the whole batch and its products are split. After each step the model's state
/// (BatchNormalization's moving statistics) is updated from every lane's statistics,
/// combined into the whole batch's.
pub struct Trainer<M: Model, O, L> {
    pub(super) model: M,
    pub(super) optimizer: O,
    loss: L,
    metrics: Vec<Box<dyn Metric<M::Float>>>,
    /// One per thread.
    lanes: Vec<Lane<M>>,
    pool: Option<rayon::ThreadPool>,
    /// How a training step uses the threads.
    parallelism: Parallelism,
    /// The sum of the lanes' gradients.
    grads: AlignedVec<M::Float>,
    /// The ranges of the parameter tensors the optimizer updates.
    pub(super) trainable: Vec<Range<usize>>,
    /// Whether each of `M::PARAMS` is frozen by [`Trainer::set_trainable`].
    pub(super) frozen: Vec<bool>,
    /// The current batch, gathered from the dataset.
    batch_x: AlignedVec<M::Float>,
    batch_y: Vec<M::Float>,
    /// The current batch's sample weights, when there are weights.
    batch_weights: Vec<M::Float>,
    /// Training steps taken, for the dropout streams.
    pub(super) steps: u64,
    /// The metrics' names, for the logs of every step.
    metric_names: Vec<String>,
    /// Set by a callback to end `fit` after the current batch.
    stop_requested: bool,
    /// Epochs finished by the current (or last) `fit`, and their history.
    pub(super) epochs_done: usize,
    pub(super) history: History,
    /// The seed of the current (or last) `fit`.
    pub(super) fit_seed: Seed,
    /// Set by `resume_from`: the next `fit` continues the checkpoint's run (whose seed is
    /// `fit_seed`).
    pub(super) resuming: bool,
}

/// One thread's share of a batch.
struct Lane<M: Model> {
    workspace: M::Workspace,
    rows: Range<usize>,
    y_pred: AlignedVec<M::Float>,
    output_grad: AlignedVec<M::Float>,
    per_sample: Vec<M::Float>,
    grads: AlignedVec<M::Float>,
    loss_sum: M::Float,
}

impl<M: Model> Lane<M> {
    fn new() -> Self {
        Lane {
            workspace: M::Workspace::default(),
            rows: 0..0,
            y_pred: AlignedVec::new(),
            output_grad: AlignedVec::new(),
            per_sample: Vec::new(),
            grads: AlignedVec::from_elem(M::Float::default(), M::PARAM_COUNT),
            loss_sum: M::Float::default(),
        }
    }

    /// Makes the buffers hold `rows` samples; allocates only when they grow.
    fn reserve(&mut self, rows: usize) {
        let outputs = rows * M::OUTPUT_SIZE;
        if self.y_pred.len() < outputs {
            self.y_pred.resize(outputs, M::Float::default());
            self.output_grad.resize(outputs, M::Float::default());
            self.per_sample.resize(rows, M::Float::default());
        }
        M::prepare(&mut self.workspace, rows);
    }
}

/// What a step needs to know about the batch.
struct Batch<'a, F> {
    x: &'a [F],
    y: &'a [F],
    /// One weight per sample, or `None` for weight 1 each.
    weights: Option<&'a [F]>,
    rows: usize,
    target_width: usize,
}

impl<M, O, L> Trainer<M, O, L>
where
    M: Model,
    O: Optimizer<M::Float>,
    L: Loss<M::Float>,
{
    /// The trainer of `model`, with `loss` and `metrics` told where the model's outputs
    /// and their targets sit in the packed rows, and the metrics the loss logs (each
    /// output's loss) before `metrics`.
    pub(crate) fn new(
        model: M,
        optimizer: O,
        mut loss: L,
        mut metrics: Vec<Box<dyn Metric<M::Float>>>,
    ) -> Self {
        loss.bind_outputs(M::OUTPUTS);
        let targets = loss.target_layout(M::OUTPUTS);
        for metric in &mut metrics {
            metric.bind_outputs(M::OUTPUTS, &targets);
        }
        let metrics = loss.metrics().into_iter().chain(metrics).collect();
        let frozen = vec![false; M::PARAMS.len()];
        let trainable = super::freeze::trainable_ranges(M::PARAMS, &frozen);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut trainer = Trainer {
            model,
            optimizer,
            loss,
            metrics,
            lanes: Vec::new(),
            pool: None,
            parallelism: Parallelism::for_model::<M>(),
            grads: AlignedVec::from_elem(M::Float::default(), M::PARAM_COUNT),
            trainable,
            frozen,
            batch_x: AlignedVec::new(),
            batch_y: Vec::new(),
            batch_weights: Vec::new(),
            steps: 0,
            metric_names: Vec::new(),
            stop_requested: false,
            epochs_done: 0,
            history: History::default(),
            fit_seed: Seed(0),
            resuming: false,
        };
        trainer.metric_names = trainer.metrics.iter().map(|m| m.name()).collect();
        if trainer.set_threads(threads).is_err() {
            // No thread pool could be started: train on the calling thread, which needs
            // none and cannot fail.
            trainer.set_threads(1).expect("one thread needs no pool");
        }
        trainer
    }

    /// The model being trained.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model being trained, to change.
    pub fn model_mut(&mut self) -> &mut M {
        &mut self.model
    }

    /// The trained model, giving up the optimizer's state.
    pub fn into_model(self) -> M {
        self.model
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The optimizer, to change (e.g. its learning rate).
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// The number of threads a batch is split across (the machine's cores by default).
    pub fn threads(&self) -> usize {
        self.lanes.len()
    }

    /// How a training step uses the threads: by default [`Parallelism::for_model`].
    pub fn parallelism(&self) -> Parallelism {
        self.parallelism
    }

    /// Chooses how a training step uses the threads (see [`Parallelism`]).
    pub fn set_parallelism(&mut self, parallelism: Parallelism) {
        self.parallelism = parallelism;
    }

    /// Trains, evaluates and predicts on `threads` threads, as [`Trainer::parallelism`]
    /// says. Results are deterministic for a given seed and thread count.
    pub fn set_threads(&mut self, threads: usize) -> Result<()> {
        if threads == 0 {
            return Err(Error::invalid(
                "threads",
                "train on at least one thread, e.g. set_threads(1)",
            ));
        }
        self.pool = if threads > 1 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| {
                    Error::invalid("threads", format!("cannot start {threads} threads: {e}"))
                })?;
            Some(pool)
        } else {
            None
        };
        self.lanes.resize_with(threads, Lane::new);
        Ok(())
    }

    /// Runs `f` in the trainer's thread pool, so that the lanes' work is spread on it, with
    /// the pool's threads kept awake meanwhile.
    fn in_pool<R: Send>(&mut self, f: impl FnOnce(&mut Self) -> R + Send) -> R
    where
        Self: Send,
    {
        match self.pool.take() {
            Some(pool) => {
                let result = pool.install(|| keep_pool_awake(|| f(self)));
                self.pool = Some(pool);
                result
            }
            None => f(self),
        }
    }

    /// Keras's `fit`: trains for `config`'s epochs and returns the history of the logged
    /// losses and metrics. With [`Fit::sample_weight`] or [`Fit::class_weight`], the loss,
    /// its gradient and the training metrics weigh each sample; validation is unweighted.
    pub fn fit(&mut self, data: &Dataset<M::Float>, config: Fit<'_, M::Float>) -> Result<History>
    where
        Self: Send,
    {
        config.validate()?;
        self.optimizer.validate()?;
        let held_out;
        let (train, validation) = if config.validation_split > 0.0 {
            let (train, val) = data.split(config.validation_split)?;
            held_out = (train, val);
            (&held_out.0, Some(&held_out.1))
        } else {
            (data, config.validation_data)
        };
        self.check_data("fit", train)?;
        if let Some(validation) = validation {
            self.check_data("validation data", validation)?;
        }
        if config.class_weight.is_some() && M::OUTPUTS.len() > 1 {
            return Err(Error::invalid(
                "class_weight",
                format!(
                    "{} has {} outputs ({}), and class_weight weighs a sample by its class in a \
                     model's single output, as in Keras; weigh the samples with sample_weight \
                     instead",
                    M::NAME,
                    M::OUTPUTS.len(),
                    crate::model::names(M::OUTPUTS)
                ),
            ));
        }
        let weights = config.train_weights(data, train, M::OUTPUT_SIZE)?;
        let weights = weights.as_deref();
        if let Some(backup) = &config.backup
            && backup.exists()
        {
            self.resume_from(backup)?;
        }
        self.check_resumed_seed(config.seed)?;
        let backup = config.backup.clone();
        let history =
            self.in_pool(|trainer| trainer.fit_epochs((train, weights), validation, config))?;
        if let Some(backup) = backup {
            // The run is complete: its backup is no longer needed, as in Keras.
            match std::fs::remove_file(&backup) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(backup, e));
                }
                _ => {}
            }
        }
        Ok(history)
    }

    fn fit_epochs(
        &mut self,
        (train, weights): (&Dataset<M::Float>, Option<&[M::Float]>),
        validation: Option<&Dataset<M::Float>>,
        mut config: Fit<'_, M::Float>,
    ) -> Result<History> {
        let mut callbacks = std::mem::take(&mut config.callbacks);
        let config = &config;
        self.stop_requested = false;
        self.fit_seed = config.seed;
        if !std::mem::take(&mut self.resuming) {
            self.epochs_done = 0;
            self.history = History::default();
        }
        let mut progress = Progress::new(config.verbose);
        let mut order: Vec<usize> = (0..train.len()).collect();
        let steps = train.len().div_ceil(config.batch_size);
        let mut loss_mean = Mean::new();
        let mut batch_logs = Logs::default();
        let mut logs = Logs::default();
        callbacks.train_begin(self)?;
        for epoch in self.epochs_done..config.epochs {
            if config.shuffle {
                order = permutation(train.len(), config.seed.derive(epoch as u64));
            }
            self.reset_metrics();
            loss_mean.reset_state();
            callbacks.epoch_begin(epoch, self)?;
            progress.epoch_begin(epoch, config.epochs, steps);
            for (step, indices) in order.chunks(config.batch_size).enumerate() {
                callbacks.batch_begin(step, self)?;
                let outcome = self.on_gathered((train, weights), indices, |trainer, batch| {
                    trainer.train_step(batch, config.seed, epoch, step)
                });
                // A non-finite loss left the weights as they were; the callbacks may stop
                // training on it (TerminateOnNaN), otherwise it ends `fit` with its error.
                let (loss, failure) = match outcome {
                    Ok(loss) => (loss, None),
                    Err(error @ Error::NonFiniteLoss { value, .. }) if !callbacks.is_empty() => {
                        (value, Some(error))
                    }
                    Err(error) => return Err(error),
                };
                loss_mean.update_state(loss, indices.len() as f64);
                if !callbacks.is_empty() {
                    let running = if loss.is_finite() {
                        loss_mean.result()
                    } else {
                        loss
                    };
                    self.write_logs(&mut batch_logs, running);
                    callbacks.batch_end(step, &batch_logs, self)?;
                }
                if let (Some(error), false) = (failure, self.stop_requested) {
                    return Err(error);
                }
                progress.step(step, || self.logs(loss_mean.result()));
                if self.stop_requested {
                    break;
                }
            }
            logs = self.logs(loss_mean.result());
            let validate = (epoch + 1) % config.validation_freq == 0;
            if let (Some(validation), true) = (validation, validate) {
                let val = self.evaluate_batches((validation, None), config.batch_size)?;
                for (name, value) in val.iter() {
                    logs.push(format!("val_{name}"), value);
                }
            }
            callbacks.epoch_end(epoch, &mut logs, self)?;
            progress.epoch_end(&logs);
            self.history.record(epoch, &logs);
            self.epochs_done = epoch + 1;
            if let Some(backup) = &config.backup {
                self.save_checkpoint(backup)?;
            }
            if self.stop_requested {
                break;
            }
        }
        callbacks.train_end(&logs, self)?;
        Ok(self.history.clone())
    }

    /// Gathers the samples at `indices`, and their weights if there are any, into the
    /// trainer's batch buffers (no allocation once they have grown) and runs `step` on
    /// them.
    fn on_gathered<R>(
        &mut self,
        (data, weights): (&Dataset<M::Float>, Option<&[M::Float]>),
        indices: &[usize],
        step: impl FnOnce(&mut Self, &Batch<'_, M::Float>) -> R,
    ) -> R {
        let rows = indices.len();
        let target_width = data.target_width();
        let (mut batch_x, mut batch_y, mut batch_weights) = (
            std::mem::take(&mut self.batch_x),
            std::mem::take(&mut self.batch_y),
            std::mem::take(&mut self.batch_weights),
        );
        batch_x.resize(rows * M::INPUT_SIZE, M::Float::default());
        batch_y.resize(rows * target_width, M::Float::default());
        gather_on_two_threads(data, indices, &mut batch_x, &mut batch_y);
        if let Some(weights) = weights {
            batch_weights.clear();
            batch_weights.extend(indices.iter().map(|&i| weights[i]));
        }
        let batch = Batch {
            x: &batch_x,
            y: &batch_y,
            weights: weights.map(|_| &batch_weights[..]),
            rows,
            target_width,
        };
        let result = step(self, &batch);
        (self.batch_x, self.batch_y, self.batch_weights) = (batch_x, batch_y, batch_weights);
        result
    }

    /// Forward, loss, backward and the optimizer's update on one batch; returns the loss.
    /// On a non-finite loss, returns an error before touching the weights.
    fn train_step(
        &mut self,
        batch: &Batch<'_, M::Float>,
        seed: Seed,
        epoch: usize,
        step: usize,
    ) -> Result<f64> {
        let split_products = self.parallelism == Parallelism::Products;
        let lanes = if split_products {
            self.one_lane(batch.rows)
        } else {
            self.split_rows(batch.rows)
        };
        let scale = self.loss.reduction_scale(batch.rows);
        let step_seed = seed.derive(u64::MAX - self.steps);
        let (model, loss) = (&self.model, &self.loss);
        let work = |(index, lane): (usize, &mut Lane<M>)| {
            let (x, y) = lane_slices::<M>(batch, &lane.rows);
            let rows = lane.rows.len();
            let mut rng = step_seed.derive(index as u64).rng();
            M::set_activity_scale(&mut lane.workspace, 1.0 / batch.rows as f64);
            let out = model.forward_train(&mut lane.workspace, x, rows, &mut rng);
            let outputs = rows * M::OUTPUT_SIZE;
            lane.y_pred[..outputs].copy_from_slice(out);
            lane.loss_sum = loss.weighted_sum_and_grad(
                &lane.y_pred[..outputs],
                y,
                rows,
                scale,
                lane_weights(batch, &lane.rows),
                &mut lane.output_grad[..outputs],
            );
            model.backward(
                &mut lane.workspace,
                x,
                rows,
                &lane.output_grad[..outputs],
                &mut lane.grads,
            );
        };
        if split_products {
            crate::kernels::with_split_products(|| work((0, &mut self.lanes[0])));
        } else if lanes == 1 {
            work((0, &mut self.lanes[0]));
        } else {
            self.lanes[..lanes]
                .par_iter_mut()
                .enumerate()
                .for_each(work);
        }
        let loss_sum: f64 = self.lanes[..lanes]
            .iter()
            .map(|l| l.loss_sum.as_f64())
            .sum();
        let activity: f64 = self.lanes[..lanes]
            .iter()
            .map(|l| M::activity_penalty(&l.workspace, l.rows.len(), true))
            .sum();
        let grads = if lanes == 1 {
            &mut self.lanes[0].grads
        } else {
            sum_grads(&mut self.grads, &self.lanes[..lanes]);
            &mut self.grads
        };
        // The regularizers' penalties are part of the loss, as Keras adds the layers'.
        let penalty = M::weight_penalty(self.model.params(), Some(grads));
        let loss_value = loss_sum * scale.as_f64() + activity / batch.rows as f64 + penalty;
        if !loss_value.is_finite() {
            return Err(Error::NonFiniteLoss {
                value: loss_value,
                epoch,
                step,
            });
        }
        self.optimizer
            .step(self.model.params_mut(), grads, &self.trainable);
        M::apply_constraints(self.model.params_mut());
        let lane_states = self.lanes[..lanes].iter();
        self.model
            .update_state(lane_states.map(|lane| (&lane.workspace, lane.rows.len())));
        self.steps += 1;
        self.update_metrics(batch, lanes);
        Ok(loss_value)
    }

    /// Assigns every row to the first lane; returns 1, the lanes that have work.
    fn one_lane(&mut self, rows: usize) -> usize {
        self.lanes[0].rows = 0..rows;
        self.lanes[0].reserve(rows);
        1
    }

    /// Assigns consecutive rows to lanes; returns how many lanes have work. Every lane
    /// that has work has at least one row (BatchNormalization needs one for its batch
    /// statistics): 5 rows on 4 lanes are split 2, 2, 1.
    fn split_rows(&mut self, rows: usize) -> usize {
        let per_lane = rows.div_ceil(self.lanes.len().min(rows).max(1)).max(1);
        let lanes = rows.div_ceil(per_lane).max(1);
        for (i, lane) in self.lanes[..lanes].iter_mut().enumerate() {
            let start = (i * per_lane).min(rows);
            lane.rows = start..((i + 1) * per_lane).min(rows);
            lane.reserve(lane.rows.len());
        }
        lanes
    }

    fn update_metrics(&mut self, batch: &Batch<'_, M::Float>, lanes: usize) {
        for lane in &self.lanes[..lanes] {
            let (_, y) = lane_slices::<M>(batch, &lane.rows);
            let outputs = lane.rows.len() * M::OUTPUT_SIZE;
            let weights = lane_weights(batch, &lane.rows);
            for metric in &mut self.metrics {
                metric.update_state(y, &lane.y_pred[..outputs], lane.rows.len(), weights);
            }
        }
    }

    fn reset_metrics(&mut self) {
        for metric in &mut self.metrics {
            metric.reset_state();
        }
    }

    /// `loss` then every metric's current result.
    fn logs(&self, loss: f64) -> Logs {
        let mut logs = Logs::default();
        self.write_logs(&mut logs, loss);
        logs
    }

    /// Sets `loss` and every metric's current result in `logs`; allocates nothing once
    /// `logs` holds them.
    fn write_logs(&self, logs: &mut Logs, loss: f64) {
        logs.push("loss", loss);
        for (metric, name) in self.metrics.iter().zip(&self.metric_names) {
            logs.push(name.as_str(), metric.result());
        }
    }

    /// Checks that `data` suits the model, the loss and the metrics.
    fn check_data(&self, what: &'static str, data: &Dataset<M::Float>) -> Result<()> {
        if data.is_empty() {
            return Err(Error::EmptyDataset { what });
        }
        check_sample_shape::<M>(what, data.sample_shape())?;
        check_token_ids::<M>(what, data.x().as_slice().unwrap_or(&[]))?;
        self.check_targets(data.y().as_slice().unwrap_or(&[]), data.target_width())
    }

    fn check_targets(&self, y: &[M::Float], target_width: usize) -> Result<()> {
        self.check_outputs_apart()?;
        self.loss.check_targets(y, target_width, M::OUTPUT_SIZE)?;
        for metric in &self.metrics {
            metric.check(target_width, M::OUTPUT_SIZE)?;
        }
        Ok(())
    }

    /// On a model of several outputs, the loss and every metric must read the outputs
    /// apart: one loss or metric over the packed row of all of them means nothing.
    fn check_outputs_apart(&self) -> Result<()> {
        if M::OUTPUTS.len() < 2 {
            return Ok(());
        }
        let outputs = || {
            let names: Vec<&str> = M::OUTPUTS.iter().map(|o| o.name).collect();
            format!(
                "{} has {} outputs ({})",
                M::NAME,
                names.len(),
                names.join(", ")
            )
        };
        let first = M::OUTPUTS[0].name;
        if !self.loss.reads_outputs_apart() {
            return Err(Error::invalid(
                "loss",
                format!(
                    "{}: give each its loss, e.g. Losses::new().output(\"{first}\", loss, \
                     1.0), as Keras's loss={{...}}",
                    outputs()
                ),
            ));
        }
        if let Some(metric) = self.metrics.iter().find(|m| !m.reads_outputs_apart()) {
            return Err(Error::invalid(
                "metrics",
                format!(
                    "{}: put {} on one of them, e.g. OutputMetric::new(\"{first}\", metric)",
                    outputs(),
                    metric.name()
                ),
            ));
        }
        Ok(())
    }

    /// Keras's `evaluate`: the loss and metrics over `data`, in batches of 32.
    pub fn evaluate(&mut self, data: &Dataset<M::Float>) -> Result<Logs>
    where
        Self: Send,
    {
        self.evaluate_with(data, 32)
    }

    /// [`Trainer::evaluate`] with another batch size.
    pub fn evaluate_with(&mut self, data: &Dataset<M::Float>, batch_size: usize) -> Result<Logs>
    where
        Self: Send,
    {
        if batch_size == 0 {
            return Err(Error::invalid(
                "batch_size",
                "a batch needs at least one sample; use e.g. 32",
            ));
        }
        self.check_data("evaluate", data)?;
        self.in_pool(|trainer| trainer.evaluate_batches((data, None), batch_size))
    }

    /// Keras's `evaluate` with `sample_weight`: the loss and metrics over `data`, in
    /// batches of 32, each sample weighted by its entry in `sample_weight` (one finite
    /// weight ≥ 0 per sample) as in [`Fit::sample_weight`]: the loss is
    /// `Σ weight × loss / samples`, the metrics are weighted means or weighted counts.
    pub fn evaluate_weighted(
        &mut self,
        data: &Dataset<M::Float>,
        sample_weight: &[M::Float],
    ) -> Result<Logs>
    where
        Self: Send,
    {
        self.check_data("evaluate", data)?;
        check_sample_weight("evaluate", sample_weight, data.len())?;
        self.in_pool(|trainer| trainer.evaluate_batches((data, Some(sample_weight)), 32))
    }

    fn evaluate_batches(
        &mut self,
        (data, weights): (&Dataset<M::Float>, Option<&[M::Float]>),
        batch_size: usize,
    ) -> Result<Logs> {
        self.reset_metrics();
        let mut loss_mean = Mean::new();
        let order: Vec<usize> = (0..data.len()).collect();
        for indices in order.chunks(batch_size) {
            let loss = self.on_gathered((data, weights), indices, |trainer, batch| {
                trainer.test_step(batch)
            });
            loss_mean.update_state(loss, indices.len() as f64);
        }
        Ok(self.logs(loss_mean.result()))
    }

    /// The inference forward pass and the loss on one batch; updates the metrics.
    fn test_step(&mut self, batch: &Batch<'_, M::Float>) -> f64 {
        let lanes = self.split_rows(batch.rows);
        let (model, loss) = (&self.model, &self.loss);
        let work = |lane: &mut Lane<M>| {
            let (x, y) = lane_slices::<M>(batch, &lane.rows);
            let rows = lane.rows.len();
            let outputs = rows * M::OUTPUT_SIZE;
            let out = model.forward(&mut lane.workspace, x, rows);
            lane.y_pred[..outputs].copy_from_slice(out);
            let per_sample = &mut lane.per_sample[..rows];
            loss.per_sample(&lane.y_pred[..outputs], y, rows, per_sample);
            lane.loss_sum = match lane_weights(batch, &lane.rows) {
                Some(weights) => per_sample.iter().zip(weights).map(|(&l, &w)| w * l).sum(),
                None => per_sample.iter().copied().sum(),
            };
        };
        if lanes == 1 {
            work(&mut self.lanes[0]);
        } else {
            self.lanes[..lanes].par_iter_mut().for_each(work);
        }
        let loss_sum: f64 = self.lanes[..lanes]
            .iter()
            .map(|l| l.loss_sum.as_f64())
            .sum();
        let activity: f64 = self.lanes[..lanes]
            .iter()
            .map(|l| M::activity_penalty(&l.workspace, l.rows.len(), false))
            .sum();
        self.update_metrics(batch, lanes);
        let penalty = M::weight_penalty(self.model.params(), None);
        loss_sum * self.loss.reduction_scale(batch.rows).as_f64()
            + activity / batch.rows as f64
            + penalty
    }

    /// Keras's `train_on_batch`: one gradient step on `x` and `y`; returns the loss and
    /// the metrics of this batch.
    pub fn train_on_batch(
        &mut self,
        x: ArrayViewD<'_, M::Float>,
        y: ArrayViewD<'_, M::Float>,
    ) -> Result<Logs>
    where
        Self: Send,
    {
        self.optimizer.validate()?;
        let flat = self.batch_arrays("train_on_batch", &x, &y)?;
        self.reset_metrics();
        let batch = flat.batch();
        let seed = Seed(self.steps);
        let loss = self.in_pool(|trainer| trainer.train_step(&batch, seed, 0, 0))?;
        Ok(self.logs(loss))
    }

    /// Keras's `test_on_batch`: the loss and metrics on `x` and `y`, without training.
    pub fn test_on_batch(
        &mut self,
        x: ArrayViewD<'_, M::Float>,
        y: ArrayViewD<'_, M::Float>,
    ) -> Result<Logs>
    where
        Self: Send,
    {
        let flat = self.batch_arrays("test_on_batch", &x, &y)?;
        self.reset_metrics();
        let batch = flat.batch();
        let loss = self.in_pool(|trainer| trainer.test_step(&batch));
        Ok(self.logs(loss))
    }

    /// Checks a batch given as arrays and returns it flat.
    fn batch_arrays<'x>(
        &self,
        what: &'static str,
        x: &'x ArrayViewD<'_, M::Float>,
        y: &'x ArrayViewD<'_, M::Float>,
    ) -> Result<FlatBatch<'x, M::Float>> {
        check_samples::<M>(what, x.shape())?;
        let rows = x.shape()[0];
        if rows == 0 {
            return Err(Error::EmptyDataset { what });
        }
        let y_rows = y.shape().first().copied().unwrap_or(0);
        if y_rows != rows {
            return Err(Error::LengthMismatch {
                what,
                x_len: rows,
                y_len: y_rows,
            });
        }
        let x_flat = flat(x);
        check_token_ids::<M>(what, &x_flat)?;
        let batch = FlatBatch {
            x: x_flat,
            y: flat(y),
            rows,
            target_width: y.len() / rows,
        };
        self.check_targets(&batch.y, batch.target_width)?;
        Ok(batch)
    }

    /// Keras's `predict`: the outputs for every sample of `x` (shaped
    /// `[samples, ...]`), as `[samples, ...output shape]`.
    pub fn predict(&mut self, x: ArrayViewD<'_, M::Float>) -> Result<ArrayD<M::Float>>
    where
        Self: Send,
    {
        self.in_pool(|trainer| {
            let mut workspaces: Vec<M::Workspace> = trainer
                .lanes
                .iter_mut()
                .map(|l| std::mem::take(&mut l.workspace))
                .collect();
            let result = super::predict(&trainer.model, &mut workspaces, x.view(), 256);
            for (lane, ws) in trainer.lanes.iter_mut().zip(workspaces) {
                lane.workspace = ws;
            }
            result
        })
    }

    /// [`Trainer::predict`] for a model of several outputs, as Keras's `predict` returns
    /// them: one array per output, in the model's order ([`Model::OUTPUTS`]), each shaped
    /// `[samples, ...that output's shape]`. A model of one output gives one array, the one
    /// [`Trainer::predict`] gives.
    pub fn predict_outputs(&mut self, x: ArrayViewD<'_, M::Float>) -> Result<Vec<ArrayD<M::Float>>>
    where
        Self: Send,
    {
        let packed = self.predict(x)?;
        Ok(super::predict::split_outputs(packed, M::OUTPUTS))
    }
}

/// A batch given as arrays, flat (borrowed when the arrays are contiguous).
struct FlatBatch<'x, F: Clone> {
    x: Cow<'x, [F]>,
    y: Cow<'x, [F]>,
    rows: usize,
    target_width: usize,
}

impl<F: Clone> FlatBatch<'_, F> {
    fn batch(&self) -> Batch<'_, F> {
        Batch {
            x: &self.x,
            y: &self.y,
            weights: None,
            rows: self.rows,
            target_width: self.target_width,
        }
    }
}

/// The weights of the lane's rows of the batch, if the batch has weights.
fn lane_weights<'a, F>(batch: &Batch<'a, F>, rows: &Range<usize>) -> Option<&'a [F]> {
    batch.weights.map(|weights| &weights[rows.clone()])
}

/// The lane's rows of the batch.
fn lane_slices<'a, M: Model>(
    batch: &Batch<'a, M::Float>,
    rows: &Range<usize>,
) -> (&'a [M::Float], &'a [M::Float]) {
    (
        &batch.x[rows.start * M::INPUT_SIZE..rows.end * M::INPUT_SIZE],
        &batch.y[rows.start * batch.target_width..rows.end * batch.target_width],
    )
}

impl<M, O, L> Training<M::Float> for Trainer<M, O, L>
where
    M: Model,
    O: Optimizer<M::Float>,
    L: Loss<M::Float>,
{
    fn model_name(&self) -> &'static str {
        M::NAME
    }

    fn param_info(&self) -> &'static [ParamInfo] {
        M::PARAMS
    }

    fn architecture_json(&self) -> &'static str {
        M::ARCHITECTURE_JSON
    }

    fn weights(&self) -> &[M::Float] {
        self.model.params()
    }

    fn set_weights(&mut self, weights: &[M::Float]) -> Result<()> {
        if weights.len() != M::PARAM_COUNT {
            return Err(Error::invalid(
                "weights",
                format!(
                    "{} takes {} weights, got {}; give every parameter of the model, in \
                     the layout of its params()",
                    M::NAME,
                    M::PARAM_COUNT,
                    weights.len()
                ),
            ));
        }
        self.model.params_mut().copy_from_slice(weights);
        Ok(())
    }

    fn save_weights(&self, path: &std::path::Path) -> Result<()> {
        self.model.save_weights(path)
    }

    fn learning_rate(&self) -> f64 {
        self.optimizer.learning_rate()
    }

    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()> {
        self.optimizer.set_learning_rate(learning_rate)
    }

    fn iterations(&self) -> u64 {
        self.optimizer.iterations()
    }

    fn stop_training(&mut self) {
        self.stop_requested = true;
    }

    fn stop_requested(&self) -> bool {
        self.stop_requested
    }
}

/// Runs `f` on the calling pool thread while the pool's other threads spin instead of
/// sleeping, taking the lanes' work the moment it is forked, as OpenMP's active wait does.
///
/// A training step forks three times (the lanes, the gradient sum, the update), each for
/// well under a millisecond; a worker that fell asleep between two forks takes tens of
/// microseconds to wake, which cost more than the second thread saved (`fit` on two
/// threads ran slower than on one). The spinning threads do nothing else: the trainer owns
/// its pool.
fn keep_pool_awake<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let Some(owner) = rayon::current_thread_index() else {
        return f();
    };
    let stop = AtomicBool::new(false);
    rayon::scope(|scope| {
        for _ in 1..rayon::current_num_threads() {
            scope.spawn(|_| {
                // Picked up by the owner itself (while it waits inside a fork), a spinner
                // would never let it return: it leaves at once instead.
                if rayon::current_thread_index() == Some(owner) {
                    return;
                }
                while !stop.load(Ordering::Acquire) {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        std::hint::spin_loop();
                    }
                }
            });
        }
        let _stop = StopOnDrop(&stop);
        f()
    })
}

/// Tells the spinning threads to stop when `f` returns or unwinds.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The samples at `indices` into `x` and `y`, the first half of them on the pool's first
/// thread and the second half on its second, if the caller runs in a pool of several
/// threads: the samples lie scattered over a dataset larger than the caches, so that a
/// gather waits on memory, and two cores wait in parallel.
fn gather_on_two_threads<F: Float>(data: &Dataset<F>, indices: &[usize], x: &mut [F], y: &mut [F]) {
    let several_threads =
        rayon::current_thread_index().is_some() && rayon::current_num_threads() > 1;
    if !several_threads || indices.len() < 2 {
        data.gather_into(indices, x, y);
        return;
    }
    let half = indices.len() / 2;
    let (x_low, x_high) = x.split_at_mut(half * (x.len() / indices.len()));
    let (y_low, y_high) = y.split_at_mut(half * (y.len() / indices.len()));
    let (low, high) = indices.split_at(half);
    crate::kernels::join_owned(
        || data.gather_into(low, x_low, y_low),
        || data.gather_into(high, x_high, y_high),
    );
}

/// `total` = the lanes' gradients summed in lane order, with the buffer split across the
/// pool's threads (each element's sum is in lane order whatever the split).
fn sum_grads<M: Model>(total: &mut [M::Float], lanes: &[Lane<M>]) {
    for_each_part(total, &|offset, part| {
        let range = offset..offset + part.len();
        part.copy_from_slice(&lanes[0].grads[range.clone()]);
        for lane in &lanes[1..] {
            crate::kernels::accumulate(part, &lane.grads[range.clone()]);
        }
    });
}

fn flat<'x, F: Float>(a: &'x ArrayViewD<'_, F>) -> Cow<'x, [F]> {
    match a.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(a.iter().copied().collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::keep_pool_awake;

    fn sum(values: &[u64]) -> u64 {
        if values.len() <= 4 {
            return values.iter().sum();
        }
        let (low, high) = values.split_at(values.len() / 2);
        let (a, b) = rayon::join(|| sum(low), || sum(high));
        a + b
    }

    #[test]
    fn work_forked_while_the_pool_is_kept_awake_completes() {
        let values: Vec<u64> = (0..10_000).collect();
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for _ in 0..50 {
                let total = pool.install(|| keep_pool_awake(|| sum(&values)));
                assert_eq!(total, 49_995_000, "{threads} threads");
            }
        }
        // Outside a pool it just runs.
        assert_eq!(keep_pool_awake(|| sum(&values)), 49_995_000);
    }
}
