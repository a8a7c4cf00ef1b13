//! `TimeDistributed(layer)`: applies `layer` to every step of a `[time, ...]` input with
//! one set of weights, as Keras's. A batch of `n` sequences is a batch of `n·time` steps
//! to the layer, so it runs as it is, on `n·time` samples; its weights are named under the
//! wrapper's, `time_distributed/dense/kernel`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::nested::Nested;
use crate::layers::{
    Args, Buffer, BufferLen, Io, Layer, LayerKind, ParamSpec, ShapeError, shape_str,
};

pub struct TimeDistributed;

struct Configured {
    nested: Nested,
    layer: Box<dyn Layer>,
    time: usize,
}

impl LayerKind for TimeDistributed {
    fn kind(&self) -> &'static str {
        "TimeDistributed"
    }

    fn default_name(&self) -> &'static str {
        "time_distributed"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &["layer"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let mut nested = Nested::read(args, "layer", "TimeDistributed(Dense(8))", errors)?;
        let layer = nested.configure(Some(errors))?;
        Some(Box::new(Configured {
            nested,
            layer,
            time: 0,
        }))
    }
}

impl Configured {
    /// `io` for the layer: `n·time` samples of one step each.
    fn per_step(&self, io: &Io) -> Io {
        let (n, time) = (&io.n, self.time);
        Io {
            n: quote!((#n * #time)),
            ..io.clone()
        }
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        format!("TimeDistributed({})", self.layer.label())
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let [time, step @ ..] = input else {
            unreachable!("a shape has at least one axis")
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
        self.time = *time;
        let output = self.layer.infer(step).map_err(|e| ShapeError {
            headline: format!(
                "{} (TimeDistributed gives it each of the {time} steps, {})",
                e.headline,
                shape_str(step)
            ),
            help: e.help,
        })?;
        Ok([vec![*time], output].concat())
    }

    fn params(&self) -> Vec<ParamSpec> {
        let name = &self.nested.name;
        self.layer
            .params()
            .into_iter()
            .map(|p| ParamSpec {
                suffix: format!("{name}/{}", p.suffix),
                ..p
            })
            .collect()
    }

    fn buffers(&self) -> Vec<Buffer> {
        let time = self.time;
        self.layer
            .buffers()
            .into_iter()
            .map(|buffer| match buffer {
                Buffer::Values { indices, len } => Buffer::Values {
                    indices,
                    len: match len {
                        BufferLen::PerSample(len) => BufferLen::PerSample(len * time),
                        BufferLen::Batch(len) => BufferLen::Batch(quote!({
                            let batch = batch * #time;
                            #len
                        })),
                    },
                },
                workspace @ Buffer::Workspace(_) => workspace,
            })
            .collect()
    }

    fn is_alias(&self, training: bool) -> bool {
        self.layer.is_alias(training)
    }

    fn config_json(&self) -> String {
        let layer = self.nested.json(&self.nested.name, &*self.layer, true);
        format!(r#""layer": {layer}"#)
    }

    fn forward(&self, io: &Io, training: bool) -> TokenStream {
        self.layer.forward(&self.per_step(io), training)
    }

    fn backward(&self, io: &Io) -> TokenStream {
        self.layer.backward(&self.per_step(io))
    }
}
