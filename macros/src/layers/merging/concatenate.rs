//! `Concatenate(axis = -1)`: values joined along an axis, the others equal.

use proc_macro2::TokenStream;
use quote::quote;

use super::{needs_inputs, sample_axis, shapes_str};
use crate::errors::Errors;
use crate::json::Json;
use crate::layers::{
    Args, Built, Config, Inputs, Io, LayerKind, Mode, Output, ShapeError, krate, option,
};

pub struct Concatenate;

#[derive(Clone, Copy)]
struct ConcatenateConfig {
    axis: i64,
}

struct ConcatenateLayer {
    axis: i64,
    output: Vec<usize>,
    /// Blocks per sample: the product of the axes before the joined one.
    blocks: usize,
    /// Each input's values per block.
    widths: Vec<usize>,
}

impl LayerKind for Concatenate {
    fn name(&self) -> &'static str {
        "Concatenate"
    }

    fn default_name(&self) -> &'static str {
        "concatenate"
    }

    fn arguments(&self) -> &'static [&'static str] {
        &["axis"]
    }

    fn is_merge(&self) -> bool {
        true
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        let axis = match args.ints("axis", errors)? {
            None => -1,
            Some((values, span)) => match values[..] {
                [axis] => axis,
                _ => {
                    errors.at(
                        span,
                        "`axis` of Concatenate is one integer, e.g. `axis = -1`",
                    );
                    return None;
                }
            },
        };
        Some(Box::new(ConcatenateConfig { axis }))
    }
}

/// `Concatenate`, or `Concatenate(axis = 1)`.
fn label(axis: i64) -> String {
    match axis {
        -1 => "Concatenate".to_string(),
        axis => format!("Concatenate(axis = {axis})"),
    }
}

impl Config for ConcatenateConfig {
    fn label(&self) -> String {
        label(self.axis)
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let inputs = inputs.values;
        if inputs.len() < 2 {
            return Err(needs_inputs("Concatenate", false, inputs.len()));
        }
        let rank = inputs[0].len();
        if inputs.iter().any(|shape| shape.len() != rank) {
            return Err(ShapeError::new(format!(
                "Concatenate needs values with the same number of axes, but receives {}",
                shapes_str(inputs)
            ))
            .help("Reshape or Flatten them to the same rank first"));
        }
        let axis = sample_axis("Concatenate", self.axis, rank)?;
        let others = |shape: &Vec<usize>| {
            let mut rest = shape.clone();
            rest.remove(axis);
            rest
        };
        if let Some(odd) = inputs.iter().position(|s| others(s) != others(&inputs[0])) {
            let differing = (0..rank)
                .find(|&a| a != axis && inputs[odd][a] != inputs[0][a])
                .unwrap_or(0);
            return Err(ShapeError::new(format!(
                "Concatenate joins along axis {} and needs every other axis equal, but \
                 receives {}, which differ in axis {}",
                self.axis,
                shapes_str(inputs),
                differing + 1
            ))
            .help("join along the axis where they differ with `axis = ...`, or reshape them"));
        }
        let inner: usize = inputs[0][axis + 1..].iter().product();
        let mut output = inputs[0].clone();
        output[axis] = inputs
            .iter()
            .fold(0usize, |sum, s| sum.saturating_add(s[axis]));
        Ok(Box::new(ConcatenateLayer {
            axis: self.axis,
            output,
            blocks: inputs[0][..axis].iter().product(),
            widths: inputs.iter().map(|s| s[axis] * inner).collect(),
        }))
    }
}

impl Built for ConcatenateLayer {
    fn label(&self) -> String {
        label(self.axis)
    }

    fn output(&self) -> Output {
        Output::One(self.output.clone())
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        vec![("axis", Json::from(self.axis))]
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let (n, xs, y, widths, blocks) = (&io.n, &io.xs, &io.y, &self.widths, self.blocks);
        quote! {
            #k::kernels::concatenate_forward(&[#(#xs),*], &[#(#widths),*], #n * #blocks, #y);
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        if io.dxs.iter().all(Option::is_none) {
            return TokenStream::new();
        }
        let k = krate();
        let (n, dy, widths, blocks) = (&io.n, &io.dy, &self.widths, self.blocks);
        let dxs = io.dxs.iter().map(|dx| option(dx.as_ref()));
        quote! {
            #k::kernels::concatenate_backward(#dy, &[#(#widths),*], #n * #blocks, &mut [#(#dxs),*]);
        }
    }
}
