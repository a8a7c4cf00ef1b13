//! `Reshape([d0, d1, ...])`: the same values under another shape (one axis may be `-1`,
//! inferred); no copy.

use proc_macro2::TokenStream;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::{
    Args, Built, Capabilities, Config, Inputs, Io, LayerKind, Mode, Output, PassesInput,
    ShapeError, shape_str,
};
use crate::size;

pub struct Reshape;

#[derive(Clone)]
struct ReshapeConfig {
    target: Vec<i64>,
}

struct ReshapeLayer {
    config: ReshapeConfig,
    output: Vec<usize>,
}

impl LayerKind for Reshape {
    fn name(&self) -> &'static str {
        "Reshape"
    }

    fn default_name(&self) -> &'static str {
        "reshape"
    }

    fn arguments(&self) -> &'static [&'static str] {
        &["target_shape"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        let Some((target, span)) = args.int_list("target_shape", errors)? else {
            args.missing("target_shape", "Reshape([28, 28, 1])", errors);
            return None;
        };
        let inferred = target.iter().filter(|&&d| d == -1).count();
        if target.is_empty() || inferred > 1 || target.iter().any(|&d| d == 0 || d < -1) {
            errors.at(
                span,
                "a target shape needs positive dimensions, with at most one -1 for the \
                 dimension to infer, e.g. `Reshape([28, 28, 1])` or `Reshape([-1, 1])`",
            );
            return None;
        }
        Some(Box::new(ReshapeConfig { target }))
    }
}

impl Config for ReshapeConfig {
    fn label(&self) -> String {
        format!("Reshape({})", target_str(&self.target))
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.label())?;
        let total = size::product(input);
        let known = self
            .target
            .iter()
            .filter(|&&d| d > 0)
            .fold(1u128, |known, &d| known.saturating_mul(d as u128));
        let has_inferred = self.target.contains(&-1);
        let fits = if has_inferred {
            total.is_multiple_of(known)
        } else {
            total == known
        };
        if !fits {
            let what = if has_inferred {
                format!("a multiple of {known}")
            } else {
                format!("{known}")
            };
            return Err(ShapeError::new(format!(
                "Reshape({}) needs {what} values, but its input {} holds {total}",
                target_str(&self.target),
                shape_str(input),
            ))
            .help(format!(
                "a reshape keeps every value: choose a target shape whose dimensions \
                 multiply to {total}"
            )));
        }
        let output = self
            .target
            .iter()
            .map(|&d| {
                if d == -1 {
                    (total / known) as usize
                } else {
                    d as usize
                }
            })
            .collect();
        Ok(Box::new(ReshapeLayer {
            config: self.clone(),
            output,
        }))
    }
}

impl Built for ReshapeLayer {
    fn label(&self) -> String {
        self.config.label()
    }

    fn output(&self) -> Output {
        Output::One(self.output.clone())
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        vec![("target_shape", Json::sizes(&self.output))]
    }

    fn forward(&self, _io: &Io, _mode: Mode) -> TokenStream {
        TokenStream::new()
    }

    fn backward(&self, _io: &Io) -> TokenStream {
        TokenStream::new()
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            passes_input: PassesInput::Always,
            product_bound: true,
            ..Capabilities::default()
        }
    }
}

fn target_str(target: &[i64]) -> String {
    format!(
        "[{}]",
        target
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}
