//! A layer given to a wrapper as its argument (`Bidirectional(LSTM(32))`,
//! `TimeDistributed(Dense(8))`): read and configured as a layer of its own, named and
//! described as Keras nests it.

use crate::check::keyword_value_span;
use crate::errors::{Errors, message};
use crate::json::Json;
use crate::layers::{Args, Built, Config, registry};

/// The layer a wrapper wraps, configured.
pub struct Wrapped {
    /// Its kind as written: `LSTM`.
    pub kind: &'static str,
    pub config: Box<dyn Config>,
    /// Its name: the one given with `name = "..."`, or its kind's default.
    pub name: String,
}

impl Wrapped {
    /// Reads the argument `keyword` as a layer (`LSTM(32)`, or `Flatten` by its name
    /// alone) and configures it; `None` when it is missing or wrong (errors recorded).
    pub fn read(args: &Args, keyword: &str, example: &str, errors: &mut Errors) -> Option<Self> {
        let Some(call) = args.layer(keyword, errors)? else {
            args.missing(keyword, example, errors);
            return None;
        };
        let kind = registry::resolve(&call.kind, errors)?;
        let inner = Args::match_up(&call, kind.arguments(), errors);
        let name = inner.string("name", errors);
        if inner.boolean("trainable", errors)?.is_some() {
            inner.error_at(
                "trainable",
                "give `trainable` to the wrapper: the layers it wraps train or freeze with it",
                errors,
            );
            return None;
        }
        let config = kind.configure(&inner, errors)?;
        let gives = config.gives();
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
        Some(Wrapped {
            kind: kind.name(),
            name: name?.map_or_else(|| kind.default_name().to_string(), |(name, _)| name),
            config,
        })
    }
}

/// A built wrapped layer as Keras serializes it inside its wrapper, under `name`.
pub fn json(kind: &str, name: &str, layer: &dyn Built) -> Json {
    let mut config = vec![
        ("name".to_string(), Json::str(name)),
        ("trainable".to_string(), Json::Bool(true)),
    ];
    config.extend(layer.config().into_iter().map(|(k, v)| (k.to_string(), v)));
    Json::object([
        ("class_name", Json::str(kind)),
        ("config", Json::Object(config)),
    ])
}
