//! Every layer kind a model can name, and the lookup of a name among them.

use syn::Ident;

use super::pooling::PoolOp::{Average, Max};
use super::{LayerKind, convolutional, core, merging, normalization, pooling, recurrent};
use super::{regularization, reshaping};
use crate::errors::{Errors, message};
use crate::suggest::did_you_mean;

/// Every layer kind, in the order the "unknown layer" error lists them.
pub static REGISTRY: &[&(dyn LayerKind + Sync)] = &[
    &core::dense::Dense,
    &core::embedding::Embedding,
    &core::activation::ActivationLayer,
    &core::activation::Softmax,
    &convolutional::conv::Conv { rank: 1 },
    &convolutional::conv::Conv { rank: 2 },
    &convolutional::depthwise::Depthwise { rank: 1 },
    &convolutional::depthwise::Depthwise { rank: 2 },
    &convolutional::separable::Separable { rank: 1 },
    &convolutional::separable::Separable { rank: 2 },
    &pooling::pool::Pool { rank: 1, op: Max },
    &pooling::pool::Pool { rank: 2, op: Max },
    &pooling::pool::Pool {
        rank: 1,
        op: Average,
    },
    &pooling::pool::Pool {
        rank: 2,
        op: Average,
    },
    &pooling::global_pool::GlobalPool { rank: 1, op: Max },
    &pooling::global_pool::GlobalPool { rank: 2, op: Max },
    &pooling::global_pool::GlobalPool {
        rank: 1,
        op: Average,
    },
    &pooling::global_pool::GlobalPool {
        rank: 2,
        op: Average,
    },
    &normalization::batch_normalization::BatchNormalization,
    &normalization::layer_normalization::LayerNormalization,
    &regularization::dropout::Dropout,
    &reshaping::flatten::Flatten,
    &reshaping::reshape::Reshape,
    &reshaping::zero_padding2d::ZeroPadding2D,
    &reshaping::up_sampling2d::UpSampling2D,
    &merging::elementwise::Elementwise::ALL[0],
    &merging::elementwise::Elementwise::ALL[1],
    &merging::elementwise::Elementwise::ALL[2],
    &merging::elementwise::Elementwise::ALL[3],
    &merging::elementwise::Elementwise::ALL[4],
    &merging::elementwise::Elementwise::ALL[5],
    &merging::concatenate::Concatenate,
    &merging::dot::Dot,
    &recurrent::rnn::Recurrent::SimpleRnn,
    &recurrent::rnn::Recurrent::Lstm,
    &recurrent::rnn::Recurrent::Gru,
    &recurrent::time_distributed::TimeDistributed,
    &recurrent::bidirectional::Bidirectional,
];

/// Keras's names that are not layers in strata, and what to write instead.
const NOT_LAYERS: &[(&str, &str)] = &[
    (
        "InputLayer",
        "inputs are declared in the signature, e.g. `struct Net: (a: [20, 64], b: [20, 64]) -> \
         [1]`, and used by name",
    ),
    (
        "Input",
        "inputs are declared in the signature, e.g. `struct Net: [784] -> [10]`, and used by \
         name (`input` when there is one)",
    ),
];

/// The layer kind named `name`.
pub fn lookup(name: &str) -> Option<&'static dyn LayerKind> {
    let kind = REGISTRY.iter().copied().find(|k| k.name() == name)?;
    Some(kind)
}

/// The layer kind `name` names, or `None` with an error that suggests the nearest.
pub fn resolve(name: &Ident, errors: &mut Errors) -> Option<&'static dyn LayerKind> {
    let typed = name.to_string();
    if let Some(kind) = lookup(&typed) {
        return Some(kind);
    }
    let kinds = REGISTRY.iter().map(|k| k.name());
    let help = NOT_LAYERS
        .iter()
        .find(|(keras, _)| *keras == typed)
        .map(|(_, help)| help.to_string());
    let suggestion = match help {
        Some(_) => String::new(),
        None => did_you_mean(&typed, kinds.clone()),
    };
    errors.at(
        name.span(),
        message(
            format!("unknown layer `{typed}`{suggestion}"),
            &[format!(
                "the layers are {}",
                kinds
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
            help,
        ),
    );
    None
}
