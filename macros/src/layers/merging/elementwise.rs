//! `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`: element-wise merges of
//! values of one shape, as Keras's.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::{needs_inputs, shapes_str};
use crate::errors::Errors;
use crate::json::Json;
use crate::layers::{
    Args, Built, Config, Inputs, Io, LayerKind, Mode, Output, ShapeError, krate, option,
};

/// One element-wise merge kind.
pub struct Elementwise {
    pub op: &'static str,
    pub default_name: &'static str,
}

impl Elementwise {
    pub const ALL: [Elementwise; 6] = [
        Elementwise {
            op: "Add",
            default_name: "add",
        },
        Elementwise {
            op: "Subtract",
            default_name: "subtract",
        },
        Elementwise {
            op: "Multiply",
            default_name: "multiply",
        },
        Elementwise {
            op: "Average",
            default_name: "average",
        },
        Elementwise {
            op: "Maximum",
            default_name: "maximum",
        },
        Elementwise {
            op: "Minimum",
            default_name: "minimum",
        },
    ];
}

#[derive(Clone, Copy)]
struct MergeConfig {
    op: &'static str,
}

struct MergeLayer {
    op: &'static str,
    shape: Vec<usize>,
}

impl LayerKind for Elementwise {
    fn name(&self) -> &'static str {
        self.op
    }

    fn default_name(&self) -> &'static str {
        self.default_name
    }

    fn arguments(&self) -> &'static [&'static str] {
        &[]
    }

    fn is_merge(&self) -> bool {
        true
    }

    fn configure(&self, _args: &Args, _errors: &mut Errors) -> Option<Box<dyn Config>> {
        Some(Box::new(MergeConfig { op: self.op }))
    }
}

impl Config for MergeConfig {
    fn label(&self) -> String {
        self.op.to_string()
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let inputs = inputs.values;
        let exactly_two = self.op == "Subtract";
        if inputs.len() < 2 || (exactly_two && inputs.len() != 2) {
            return Err(needs_inputs(self.op, exactly_two, inputs.len()));
        }
        if inputs.iter().any(|shape| *shape != inputs[0]) {
            return Err(ShapeError::new(format!(
                "{} needs values of one shape, but receives {}",
                self.op,
                shapes_str(inputs)
            ))
            .help(
                "bring them to one shape first: a Dense or Conv2D with as many units or \
                 filters, or Reshape",
            ));
        }
        Ok(Box::new(MergeLayer {
            op: self.op,
            shape: inputs[0].clone(),
        }))
    }
}

impl MergeLayer {
    fn op(&self) -> TokenStream {
        let k = krate();
        let op = Ident::new(self.op, Span::call_site());
        quote!(#k::kernels::MergeOp::#op)
    }
}

impl Built for MergeLayer {
    fn label(&self) -> String {
        self.op.to_string()
    }

    fn output(&self) -> Output {
        Output::One(self.shape.clone())
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        Vec::new()
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let (op, xs, y) = (self.op(), &io.xs, &io.y);
        quote! {
            #k::kernels::merge_forward(#op, &[#(#xs),*], #y);
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        if io.dxs.iter().all(Option::is_none) {
            return TokenStream::new();
        }
        let k = krate();
        let (op, xs, dy) = (self.op(), &io.xs, &io.dy);
        let dxs = io.dxs.iter().map(|dx| option(dx.as_ref()));
        quote! {
            #k::kernels::merge_backward(#op, &[#(#xs),*], #dy, &mut [#(#dxs),*]);
        }
    }
}
