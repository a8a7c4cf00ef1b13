//! `Reshape([d0, d1, ...])`: the same values under another shape (one axis may be `-1`,
//! inferred); no copy.

use proc_macro2::TokenStream;

use crate::errors::Errors;
use crate::layers::{Args, Io, Layer, LayerKind, ShapeError, shape_str};

pub struct Reshape;

struct Configured {
    target: Vec<i64>,
    output: Vec<usize>,
}

impl LayerKind for Reshape {
    fn kind(&self) -> &'static str {
        "Reshape"
    }

    fn default_name(&self) -> &'static str {
        "reshape"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &["target_shape"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
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
        Some(Box::new(Configured {
            target,
            output: Vec::new(),
        }))
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        format!("Reshape({})", target_str(&self.target))
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let total: usize = input.iter().product();
        let known: usize = self
            .target
            .iter()
            .filter(|&&d| d > 0)
            .map(|&d| d as usize)
            .product();
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
        self.output = self
            .target
            .iter()
            .map(|&d| if d == -1 { total / known } else { d as usize })
            .collect();
        Ok(self.output.clone())
    }

    fn is_alias(&self, _training: bool) -> bool {
        true
    }

    fn config_json(&self) -> String {
        format!(r#""target_shape": {}"#, shape_str(&self.output))
    }

    fn forward(&self, _io: &Io, _training: bool) -> TokenStream {
        TokenStream::new()
    }

    fn backward(&self, _io: &Io) -> TokenStream {
        TokenStream::new()
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
