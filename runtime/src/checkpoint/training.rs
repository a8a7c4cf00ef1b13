//! Training checkpoints: the weights, the optimizer's state and the run's counters and
//! history in one safetensors file, so that a resumed run ends bit-identical to one that
//! was never interrupted.
//!
//! Tensors: every parameter under its Keras name (as in a weights file), and each of the
//! optimizer's state vectors as `optimizer/<name>` over the whole parameter buffer. The
//! header's metadata holds the counters (`epochs_done`, `steps`, `iterations`), the
//! learning rate, the seed, the history, and the model's and optimizer's names.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde_json::json;

use super::atomic::write_atomically;
use super::codec::{decode, dtype_of, encode};
use super::header::format_error;
use crate::train::History;
use crate::{Error, Float, ParamInfo, Result};

/// The model a checkpoint belongs to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ModelIdentity {
    pub name: &'static str,
    pub params: &'static [ParamInfo],
    pub architecture: &'static str,
    pub param_count: usize,
}

/// A run's position: what, besides tensors, a resumed run needs to continue exactly.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RunState {
    pub epochs_done: usize,
    pub steps: u64,
    pub iterations: u64,
    pub learning_rate: f64,
    pub seed: u64,
    pub history: History,
}

/// A checkpoint's content, read and checked.
pub(crate) struct Checkpoint<F> {
    pub params: Vec<F>,
    pub optimizer_vectors: Vec<(String, Vec<F>)>,
    pub run: RunState,
}

/// The largest header a checkpoint may have: the history is small, the architecture at
/// most a few hundred kilobytes.
const MAX_HEADER: u64 = 100 << 20;

const FORMAT: &str = "strata-checkpoint";

/// Writes a checkpoint to `path`, atomically.
pub(crate) fn save<F: Float>(
    path: &Path,
    model: ModelIdentity,
    params: &[F],
    optimizer: &str,
    optimizer_vectors: &[(&'static str, &[F])],
    run: &RunState,
) -> Result<()> {
    let dtype = dtype_of::<F>()?;
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = model
        .params
        .iter()
        .map(|p| {
            let values = &params[p.offset..p.offset + p.len];
            (p.name.to_string(), p.shape.to_vec(), values)
        })
        .chain(
            optimizer_vectors
                .iter()
                .map(|&(name, values)| (format!("optimizer/{name}"), vec![values.len()], values)),
        )
        .map(|(name, shape, values)| {
            let mut bytes = Vec::with_capacity(std::mem::size_of_val(values));
            encode(dtype, values, &mut bytes).map(|()| (name, shape, bytes))
        })
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(path, e))?;
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(dtype, shape.clone(), bytes)
                .map(|view| (name.as_str(), view))
                .map_err(|e| format_error(path, format!("cannot describe tensor {name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = metadata(model, optimizer, run);
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| format_error(path, format!("cannot encode the checkpoint: {e}")))?;
    write_atomically(path, |out| out.write_all(&bytes))
}

fn metadata(model: ModelIdentity, optimizer: &str, run: &RunState) -> HashMap<String, String> {
    let entries = [
        ("format", FORMAT.to_string()),
        ("strata_version", env!("CARGO_PKG_VERSION").to_string()),
        ("model", model.name.to_string()),
        ("architecture", model.architecture.to_string()),
        ("optimizer", optimizer.to_string()),
        ("epochs_done", run.epochs_done.to_string()),
        ("steps", run.steps.to_string()),
        ("iterations", run.iterations.to_string()),
        // As bits, so that the rate comes back exactly.
        (
            "learning_rate_bits",
            run.learning_rate.to_bits().to_string(),
        ),
        ("seed", run.seed.to_string()),
        ("history", history_json(&run.history)),
    ];
    entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// Reads and checks a checkpoint of `model` trained by `optimizer` with state vectors
/// named `vector_names`; nothing is applied here, so a failed load changes nothing.
pub(crate) fn load<F: Float>(
    path: &Path,
    model: ModelIdentity,
    optimizer: &str,
    vector_names: &[&'static str],
) -> Result<Checkpoint<F>> {
    let dtype = dtype_of::<F>()?;
    let bytes = read_bounded(path, model.param_count, vector_names.len())?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| format_error(path, format!("not a checkpoint ({e})")))?;
    let tensors = SafeTensors::deserialize(&bytes)
        .map_err(|e| format_error(path, format!("not a checkpoint ({e})")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let get = |key: &str| {
        meta.get(key).ok_or_else(|| {
            format_error(
                path,
                format!("the header has no {key:?}: this is not a strata training checkpoint"),
            )
        })
    };
    if get("format")? != FORMAT {
        return Err(format_error(
            path,
            "this is not a training checkpoint (a weights file? load it with load_weights)",
        ));
    }
    check_identity(
        path,
        model,
        optimizer,
        get("model")?,
        get("architecture")?,
        get("optimizer")?,
    )?;
    let mut problems = Vec::new();
    let mut params = vec![F::zero(); model.param_count];
    for p in model.params {
        let target = &mut params[p.offset..p.offset + p.len];
        read_tensor(&tensors, p.name, dtype, p.shape, target, &mut problems);
    }
    let mut optimizer_vectors = Vec::new();
    for name in vector_names {
        let key = format!("optimizer/{name}");
        let len = tensors
            .tensor(&key)
            .map_or(0, |t| t.shape().iter().product());
        let len = if len == 0 { 0 } else { model.param_count };
        let mut values = vec![F::zero(); len];
        read_tensor(&tensors, &key, dtype, &[len], &mut values, &mut problems);
        optimizer_vectors.push((name.to_string(), values));
    }
    let expected = model.params.len() + vector_names.len();
    if tensors.len() != expected {
        problems.push(format!(
            "the file has {} tensors, the model and optimizer {expected}",
            tensors.len()
        ));
    }
    if !problems.is_empty() {
        return Err(format_error(
            path,
            format!("the checkpoint does not fit:\n  {}", problems.join("\n  ")),
        ));
    }
    let run = run_state(path, &get)?;
    Ok(Checkpoint {
        params,
        optimizer_vectors,
        run,
    })
}

/// The whole file, refused unread if it is larger than a checkpoint of this model can be.
fn read_bounded(path: &Path, param_count: usize, vectors: usize) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let data = 8 * param_count as u64 * (1 + vectors as u64);
    let limit = 8 + MAX_HEADER + data;
    if len > limit {
        return Err(format_error(
            path,
            format!("{len} bytes is more than a checkpoint of this model can hold ({limit})"),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

fn check_identity(
    path: &Path,
    model: ModelIdentity,
    optimizer: &str,
    file_model: &str,
    file_architecture: &str,
    file_optimizer: &str,
) -> Result<()> {
    if file_architecture != model.architecture {
        return Err(format_error(
            path,
            format!(
                "this checkpoint is of model `{file_model}`, whose architecture differs from \
                 `{}`'s; resume it with the model that saved it",
                model.name
            ),
        ));
    }
    if file_optimizer != optimizer {
        return Err(format_error(
            path,
            format!(
                "this checkpoint was trained with {file_optimizer}, not {optimizer}; resume it \
                 with the optimizer that saved it"
            ),
        ));
    }
    Ok(())
}

/// Copies tensor `name` into `target` after checking its type and shape; records what
/// is wrong instead.
fn read_tensor<F: Float>(
    tensors: &SafeTensors<'_>,
    name: &str,
    dtype: Dtype,
    shape: &[usize],
    target: &mut [F],
    problems: &mut Vec<String>,
) {
    let Ok(tensor) = tensors.tensor(name) else {
        problems.push(format!("{name}: missing from the file"));
        return;
    };
    if tensor.dtype() != dtype || tensor.shape() != shape {
        problems.push(format!(
            "{name}: file has {} {:?}, expected {dtype} {shape:?}",
            tensor.dtype(),
            tensor.shape()
        ));
        return;
    }
    decode(dtype, tensor.data(), target);
}

fn run_state<'m>(path: &Path, get: &dyn Fn(&str) -> Result<&'m String>) -> Result<RunState> {
    let number = |key: &str| -> Result<u64> {
        get(key)?
            .parse()
            .map_err(|_| format_error(path, format!("{key} in the header is not a count")))
    };
    let history = get("history")?;
    Ok(RunState {
        epochs_done: number("epochs_done")? as usize,
        steps: number("steps")?,
        iterations: number("iterations")?,
        learning_rate: f64::from_bits(number("learning_rate_bits")?),
        seed: number("seed")?,
        history: history_from_json(history)
            .ok_or_else(|| format_error(path, "the history in the header is malformed"))?,
    })
}

/// The history as JSON, values as their bits so that NaN and every digit survive.
fn history_json(history: &History) -> String {
    let series: Vec<_> = history
        .keys()
        .map(|name| {
            let bits: Vec<u64> = history
                .get(name)
                .unwrap_or_default()
                .iter()
                .map(|v| v.to_bits())
                .collect();
            json!([name, bits])
        })
        .collect();
    json!({ "epoch": history.epoch, "series": series }).to_string()
}

fn history_from_json(text: &str) -> Option<History> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let epochs: Vec<usize> = value["epoch"]
        .as_array()?
        .iter()
        .map(|e| e.as_u64().map(|e| e as usize))
        .collect::<Option<_>>()?;
    let mut series = Vec::new();
    for entry in value["series"].as_array()? {
        let name = entry[0].as_str()?.to_string();
        let values: Vec<f64> = entry[1]
            .as_array()?
            .iter()
            .map(|b| b.as_u64().map(f64::from_bits))
            .collect::<Option<_>>()?;
        if values.len() != epochs.len() {
            return None;
        }
        series.push((name, values));
    }
    Some(History::from_parts(epochs, series))
}
