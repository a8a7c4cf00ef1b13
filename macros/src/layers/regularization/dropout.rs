//! `Dropout(rate)`: zeroes a fraction `rate` of its inputs in training and scales the rest
//! by `1 / (1 - rate)`; the identity in inference.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::{Args, Buffer, Io, Layer, LayerKind, ShapeError, krate};

pub struct Dropout;

struct Configured {
    rate: f64,
    len: usize,
}

impl LayerKind for Dropout {
    fn kind(&self) -> &'static str {
        "Dropout"
    }

    fn default_name(&self) -> &'static str {
        "dropout"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &["rate"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let Some(rate) = args.rate("rate", "the dropout rate", "inputs", errors)? else {
            args.missing("rate", "Dropout(0.2)", errors);
            return None;
        };
        Some(Box::new(Configured { rate, len: 0 }))
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        format!("Dropout({})", self.rate)
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        self.len = input.iter().product();
        Ok(input.to_vec())
    }

    fn buffers(&self) -> Vec<Buffer> {
        // The mask: 0 or 1 / (1 - rate) per value.
        vec![Buffer::floats(self.len)]
    }

    fn is_alias(&self, training: bool) -> bool {
        !training || self.rate == 0.0
    }

    fn config_json(&self) -> String {
        format!(r#""rate": {}"#, self.rate)
    }

    fn forward(&self, io: &Io, training: bool) -> TokenStream {
        if self.is_alias(training) {
            return TokenStream::new();
        }
        let k = krate();
        let (x, y, mask, rng, rate) = (&io.x, &io.y, &io.bufs[0], &io.rng, self.rate);
        quote! {
            #k::kernels::dropout_forward_train(#x, #y, #mask, #rate, #rng);
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let (Some(dx), false) = (&io.dx, self.is_alias(true)) else {
            return TokenStream::new();
        };
        let k = krate();
        let (dy, mask) = (&io.dy, &io.bufs_ref[0]);
        quote! {
            #k::kernels::dropout_backward(#dy, #mask, #dx);
        }
    }
}
