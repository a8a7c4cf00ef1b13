//! A layer given to a wrapper as its argument (`Bidirectional(LSTM(32))`,
//! `TimeDistributed(Dense(8))`): read and configured as a layer of its own, named and
//! described as Keras nests it.

use crate::errors::{Errors, message};
use crate::graph::keyword_value_span;
use crate::layers::{self, Args, Layer, LayerKind};
use crate::parse::LayerCall;

/// The layer a wrapper wraps, as written.
pub struct Nested {
    kind: &'static dyn LayerKind,
    call: LayerCall,
    /// Its name: the one given with `name = "..."`, or its kind's default.
    pub name: String,
}

impl Nested {
    /// Reads the argument `keyword` as a layer (`LSTM(32)`, or `Flatten` by its name
    /// alone) and checks its kind; `None` when it is missing or wrong (errors recorded).
    pub fn read(args: &Args, keyword: &str, example: &str, errors: &mut Errors) -> Option<Self> {
        let Some(call) = args.layer(keyword, errors)? else {
            args.missing(keyword, example, errors);
            return None;
        };
        let kind = layers::resolve(&call.kind, errors)?;
        let gives = kind.gives(&call);
        if gives.len() > 1 {
            let span = keyword_value_span(&call, "return_state").unwrap_or(call.kind.span());
            let wrapper = args.layer_name();
            errors.at(
                span,
                message(
                    format!(
                        "{wrapper} passes on one value, but return_state = true makes {} give {} \
                         ({})",
                        call.kind,
                        gives.len(),
                        gives.join(", ")
                    ),
                    &[
                        "strata does not give a wrapped layer's states (Keras's Bidirectional \
                       gives [output, forward h, forward c, backward h, backward c])"
                            .to_string(),
                    ],
                    Some(format!(
                        "remove return_state; for the states, apply the layer itself, once with \
                         go_backwards = true for the backward run: `let ({}) = {}(..., \
                         return_state = true)(x);`",
                        gives.join(", "),
                        call.kind
                    )),
                ),
            );
            return None;
        }
        Some(Nested {
            kind,
            name: kind.default_name().to_string(),
            call,
        })
    }

    /// The layer configured from its arguments (errors recorded when `errors` is given;
    /// a second copy passes `None` so that each mistake is reported once).
    pub fn configure(&mut self, errors: Option<&mut Errors>) -> Option<Box<dyn Layer>> {
        let mut ignored = Errors::default();
        let errors = errors.unwrap_or(&mut ignored);
        let args = Args::match_up(&self.call, self.kind.keywords(), errors);
        let name = args.string("name", errors);
        if args.boolean("trainable", errors)?.is_some() {
            args.error_at(
                "trainable",
                "give `trainable` to the wrapper: the layers it wraps train or freeze with it",
                errors,
            );
            return None;
        }
        let layer = self.kind.configure(&args, errors);
        if let Some((name, _)) = name? {
            self.name = name;
        }
        layer
    }

    /// The layer's kind as written: `LSTM`.
    pub fn kind(&self) -> &'static str {
        self.kind.kind()
    }

    /// The layer as Keras serializes it inside its wrapper, under `name`.
    pub fn json(&self, name: &str, layer: &dyn Layer, trainable: bool) -> String {
        let config = layer.config_json();
        let sep = if config.is_empty() { "" } else { ", " };
        format!(
            r#"{{"class_name": "{}", "config": {{"name": "{name}", "trainable": {trainable}{sep}{config}}}}}"#,
            self.kind()
        )
    }
}
