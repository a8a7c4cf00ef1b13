//! `TimeDistributed(layer)`: applies `layer` to every step of a `[time, ...]` input with
//! one set of weights, as Keras's. A batch of `n` sequences is a batch of `n·time` steps
//! to the layer, so it runs as it is, on `n·time` samples; its weights are named under the
//! wrapper's, `time_distributed/dense/kernel`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::nested::{self, Wrapped};
use crate::layers::{
    Args, Buffer, BufferLen, Built, Capabilities, Config, Inputs, Io, LayerKind, Mode, Output,
    ShapeError, Weight, shape_str,
};

pub struct TimeDistributed;

struct TimeDistributedConfig {
    wrapped: Wrapped,
}

struct TimeDistributedLayer {
    kind: &'static str,
    name: String,
    layer: Box<dyn Built>,
    time: usize,
}

impl LayerKind for TimeDistributed {
    fn name(&self) -> &'static str {
        "TimeDistributed"
    }

    fn default_name(&self) -> &'static str {
        "time_distributed"
    }

    fn arguments(&self) -> &'static [&'static str] {
        &["layer"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        let wrapped = Wrapped::read(args, "layer", "TimeDistributed(Dense(8))", errors)?;
        Some(Box::new(TimeDistributedConfig { wrapped }))
    }
}

impl Config for TimeDistributedConfig {
    fn label(&self) -> String {
        format!("TimeDistributed({})", self.wrapped.config.label())
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.label())?;
        let [time, step @ ..] = input else {
            return Err(ShapeError::new(
                "TimeDistributed needs an input with an axis",
            ));
        };
        if step.is_empty() {
            return Err(ShapeError::new(format!(
                "TimeDistributed needs an input [time, ...] with at least 2 axes, but \
                 receives {}",
                shape_str(input)
            ))
            .help(
                "TimeDistributed applies its layer to every step of a sequence: give it a \
                 [time, features] input, e.g. the output of an RNN with return_sequences = \
                 true",
            ));
        }
        let step_inputs = [step.to_vec()];
        let layer = self
            .wrapped
            .config
            .build(&Inputs::one(&step_inputs))
            .map_err(|e| ShapeError {
                headline: format!(
                    "{} (TimeDistributed gives it each of the {time} steps, {})",
                    e.headline,
                    shape_str(step)
                ),
                help: e.help,
            })?;
        Ok(Box::new(TimeDistributedLayer {
            kind: self.wrapped.kind,
            name: self.wrapped.name.clone(),
            layer,
            time: *time,
        }))
    }
}

impl TimeDistributedLayer {
    /// `io` for the layer: `n·time` samples of one step each.
    fn per_step(&self, io: &Io) -> Io {
        let (n, time) = (&io.n, self.time);
        Io {
            n: quote!((#n * #time)),
            ..io.clone()
        }
    }
}

impl Built for TimeDistributedLayer {
    fn label(&self) -> String {
        format!("TimeDistributed({})", self.layer.label())
    }

    fn output(&self) -> Output {
        match self.layer.output() {
            Output::One(step) => Output::One([&[self.time][..], &step].concat()),
            several => several,
        }
    }

    fn weights(&self) -> Vec<Weight> {
        let layer_weights = self.layer.weights().into_iter();
        layer_weights.map(|w| w.prefixed(&self.name)).collect()
    }

    fn buffers(&self) -> Vec<Buffer> {
        let time = self.time;
        self.layer
            .buffers()
            .into_iter()
            .map(|buffer| Buffer {
                len: match buffer.len {
                    BufferLen::PerSample(len) => BufferLen::PerSample(len.saturating_mul(time)),
                    BufferLen::Batch(len) => BufferLen::Batch(quote!({
                        let batch = batch * #time;
                        #len
                    })),
                },
                ..buffer
            })
            .collect()
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        vec![("layer", nested::json(self.kind, &self.name, &*self.layer))]
    }

    fn forward(&self, io: &Io, mode: Mode) -> TokenStream {
        self.layer.forward(&self.per_step(io), mode)
    }

    fn backward(&self, io: &Io) -> TokenStream {
        self.layer.backward(&self.per_step(io))
    }

    fn capabilities(&self) -> Capabilities<'_> {
        let layer = self.layer.capabilities();
        Capabilities {
            passes_input: layer.passes_input,
            ..Capabilities::default()
        }
    }
}
