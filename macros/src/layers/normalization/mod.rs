//! What BatchNormalization and LayerNormalization share: the normalized axis (the last
//! one: the kernels normalize `[outer, channels]`), `epsilon`, and an optional `gamma`
//! and `beta` with their initializers.

pub mod batch_normalization;
pub mod layer_normalization;

use strata_vocabulary::Initializer;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::{Args, ShapeError, Weight, shape_str};

/// The arguments `axis`, `epsilon`, `center`, `scale`, `beta_initializer`,
/// `gamma_initializer`, with Keras's defaults.
#[derive(Clone)]
pub struct NormArgs {
    /// As written, counting the batch axis as Keras does: `-1` or the rank of a sample.
    pub axis: i64,
    pub epsilon: f64,
    pub center: bool,
    pub scale: bool,
    pub beta_initializer: Initializer,
    pub gamma_initializer: Initializer,
}

/// How the layer sees its input: `outer` rows per sample of `channels` values.
#[derive(Clone, Copy, Default)]
pub struct Rows {
    pub per_sample: usize,
    pub channels: usize,
}

impl NormArgs {
    /// Reads the six arguments; `None` when any is wrong (errors recorded).
    pub fn read(args: &Args, kind: &str, errors: &mut Errors) -> Option<Self> {
        let axis = args.integer("axis", errors);
        let epsilon = args.number("epsilon", errors);
        let center = args.boolean("center", errors);
        let scale = args.boolean("scale", errors);
        let beta_initializer = args.initializer("beta_initializer", errors);
        let gamma_initializer = args.initializer("gamma_initializer", errors);
        let epsilon = match epsilon? {
            None => 1e-3,
            Some((epsilon, _)) if epsilon > 0.0 => epsilon,
            Some((epsilon, span)) => {
                errors.at(
                    span,
                    format!(
                        "the epsilon of {kind} must be positive, but is {epsilon}\n  = help: it \
                         keeps the division by the standard deviation away from zero; the \
                         default is 0.001"
                    ),
                );
                return None;
            }
        };
        Some(NormArgs {
            axis: axis?.map_or(-1, |(axis, _)| axis),
            epsilon,
            center: center?.unwrap_or(true),
            scale: scale?.unwrap_or(true),
            beta_initializer: beta_initializer?.unwrap_or(Initializer::Zeros),
            gamma_initializer: gamma_initializer?.unwrap_or(Initializer::Ones),
        })
    }

    /// The input's rows and channels, if `axis` is its last axis.
    pub fn rows(&self, kind: &str, input: &[usize]) -> Result<Rows, ShapeError> {
        let Some((&channels, leading)) = input.split_last() else {
            return Err(ShapeError::new(format!(
                "{kind} needs an input with at least one axis"
            )));
        };
        // Keras counts the batch: a batch of [26, 26, 32] has axes 0 to 3, or -4 to -1.
        let rank = input.len() as i64 + 1;
        let axis = self.axis;
        let shape = shape_str(input);
        let last = rank - 1;
        if !(-rank..rank).contains(&axis) {
            return Err(ShapeError::new(format!(
                "normalization axis out of range: {kind}(axis = {axis}) receives {shape}; \
                 counting the batch as axis 0, as Keras does, its axes are 0 to {last}, or \
                 -{rank} to -1"
            ))
            .help(format!(
                "the channels are the last axis, -1 (or {last}), the default: leave `axis` out"
            )));
        }
        if axis != -1 && axis != last {
            let batch = if axis == 0 || axis == -rank {
                ", the batch axis,"
            } else {
                ""
            };
            return Err(ShapeError::new(format!(
                "{kind} supports only the last (channels) axis, -1 (or {last} for its input \
                 {shape}), but axis = {axis}{batch} is given"
            ))
            .help(
                "strata is channels-last, so after Conv2D the channels are already the last \
                 axis: leave `axis` out (it defaults to -1); to normalize another axis, make \
                 it the last one first",
            ));
        }
        Ok(Rows {
            per_sample: leading.iter().product(),
            channels,
        })
    }

    /// `gamma` (with `scale`) and `beta` (with `center`), trainable, `channels` each.
    pub fn weights(&self, channels: usize) -> Vec<Weight> {
        let mut weights = Vec::new();
        if self.scale {
            weights.push(Weight::new("gamma", vec![channels], self.gamma_initializer));
        }
        if self.center {
            weights.push(Weight::new("beta", vec![channels], self.beta_initializer));
        }
        weights
    }

    /// The index of `gamma` in the layer's parameters, if it has one.
    pub fn gamma(&self) -> Option<usize> {
        self.scale.then_some(0)
    }

    /// The index of `beta` in the layer's parameters, if it has one.
    pub fn beta(&self) -> Option<usize> {
        self.center.then_some(usize::from(self.scale))
    }

    /// How many of `gamma` and `beta` the layer has: the index of what follows them.
    pub fn affine_count(&self) -> usize {
        usize::from(self.scale) + usize::from(self.center)
    }

    /// The config members `epsilon`, `center` and `scale`.
    pub fn epsilon_center_scale(&self) -> Vec<(&'static str, Json)> {
        vec![
            ("epsilon", Json::from(self.epsilon)),
            ("center", Json::Bool(self.center)),
            ("scale", Json::Bool(self.scale)),
        ]
    }

    /// The config members `beta_initializer` and `gamma_initializer`.
    pub fn initializers(&self) -> Vec<(&'static str, Json)> {
        vec![
            ("beta_initializer", Json::str(self.beta_initializer.name())),
            (
                "gamma_initializer",
                Json::str(self.gamma_initializer.name()),
            ),
        ]
    }
}
