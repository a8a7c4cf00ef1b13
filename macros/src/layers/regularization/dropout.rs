//! `Dropout(rate)`: zeroes a fraction `rate` of its inputs in training and scales the rest
//! by `1 / (1 - rate)`; the identity in inference.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::{
    Args, Buffer, Built, Capabilities, Config, Inputs, Io, LayerKind, Mode, Output, PassesInput,
    ShapeError, krate,
};

pub struct Dropout;

/// The mask: 0 or 1 / (1 - rate) per value.
const MASK: &str = "mask";

#[derive(Clone, Copy)]
struct DropoutConfig {
    rate: f64,
}

struct DropoutLayer {
    rate: f64,
    shape: Vec<usize>,
}

impl LayerKind for Dropout {
    fn name(&self) -> &'static str {
        "Dropout"
    }

    fn default_name(&self) -> &'static str {
        "dropout"
    }

    fn arguments(&self) -> &'static [&'static str] {
        &["rate"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        let Some(rate) = args.rate("rate", "the dropout rate", "inputs", errors)? else {
            args.missing("rate", "Dropout(0.2)", errors);
            return None;
        };
        Some(Box::new(DropoutConfig { rate }))
    }
}

impl Config for DropoutConfig {
    fn label(&self) -> String {
        format!("Dropout({})", self.rate)
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        Ok(Box::new(DropoutLayer {
            rate: self.rate,
            shape: inputs.single(&self.label())?.to_vec(),
        }))
    }
}

impl Built for DropoutLayer {
    fn label(&self) -> String {
        format!("Dropout({})", self.rate)
    }

    fn output(&self) -> Output {
        Output::One(self.shape.clone())
    }

    fn buffers(&self) -> Vec<Buffer> {
        vec![Buffer::floats(MASK, self.shape.iter().product())]
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        vec![("rate", Json::from(self.rate))]
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let (x, y, mask, rng, rate) = (io.x(), &io.y, io.buf(MASK), &io.rng, self.rate);
        quote! {
            #k::kernels::dropout_forward_train(#x, #y, #mask, #rate, #rng);
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let Some(dx) = io.dx() else {
            return TokenStream::new();
        };
        let k = krate();
        let (dy, mask) = (&io.dy, io.buf_ref(MASK));
        quote! {
            #k::kernels::dropout_backward(#dy, #mask, #dx);
        }
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            passes_input: if self.rate == 0.0 {
                PassesInput::Always
            } else {
                PassesInput::InInference
            },
            product_bound: true,
            ..Capabilities::default()
        }
    }
}
