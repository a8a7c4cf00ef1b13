//! `Activation(name)` and `Softmax`: an activation function as a layer of its own.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::errors::Errors;
use crate::layers::{Args, Io, Layer, LayerKind, MaxPooled, ShapeError, krate};
use crate::names;

pub struct ActivationLayer;
pub struct Softmax;

struct Configured {
    kind: &'static str,
    activation: &'static str,
    /// Values in the last axis, the rows softmax normalises.
    row_len: usize,
}

impl LayerKind for ActivationLayer {
    fn kind(&self) -> &'static str {
        "Activation"
    }

    fn default_name(&self) -> &'static str {
        "activation"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &["activation"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        match args.activation("activation", errors)? {
            Some(activation) => Some(Box::new(Configured {
                kind: "Activation",
                activation,
                row_len: 0,
            })),
            None => {
                args.missing("activation", "Activation(relu)", errors);
                None
            }
        }
    }
}

impl LayerKind for Softmax {
    fn kind(&self) -> &'static str {
        "Softmax"
    }

    fn default_name(&self) -> &'static str {
        "softmax"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &[]
    }

    fn configure(&self, _args: &Args, _errors: &mut Errors) -> Option<Box<dyn Layer>> {
        Some(Box::new(Configured {
            kind: "Softmax",
            activation: "softmax",
            row_len: 0,
        }))
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        match self.kind {
            "Softmax" => "Softmax".to_string(),
            _ => format!("Activation({})", self.activation),
        }
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        self.row_len = *input
            .last()
            .ok_or_else(|| ShapeError::new("an activation needs an input with an axis"))?;
        Ok(input.to_vec())
    }

    fn is_alias(&self, _training: bool) -> bool {
        self.activation == "linear"
    }

    fn config_json(&self) -> String {
        match self.kind {
            "Softmax" => r#""axis": -1"#.to_string(),
            _ => format!(r#""activation": "{}""#, self.activation),
        }
    }

    fn forward(&self, io: &Io, _training: bool) -> TokenStream {
        if self.is_alias(false) {
            return TokenStream::new();
        }
        let k = krate();
        let act = Ident::new(
            names::activation_variant(self.activation),
            Span::call_site(),
        );
        let (x, y, row_len) = (&io.x, &io.y, self.row_len);
        quote! {
            #k::kernels::activation_forward(#k::kernels::Activation::#act, #x, #y, #row_len);
        }
    }

    /// Relu before a max pooling: the pooling of its input, then relu of the pooled values
    /// (the same bit for bit), so that the activated map is never written.
    fn max_pooled(&self, io: &Io, window: &TokenStream, pool: &Io) -> Option<MaxPooled> {
        if self.activation != "relu" {
            return None;
        }
        let k = krate();
        let relu = quote!(#k::kernels::Activation::Relu);
        let (n, x) = (&io.n, &io.x);
        let (pooled, argmax) = (&pool.y, &pool.bufs[0]);
        let forward = quote! {
            {
                const WINDOW: #k::kernels::Window2d = #window;
                #k::kernels::max_pool2d_forward_activated(&WINDOW, #n, #x, #pooled, #argmax, #relu);
            }
        };
        let backward = match &io.dx {
            None => TokenStream::new(),
            Some(dx) => {
                let (pooled, argmax, dpooled) = (&pool.y_ref, &pool.bufs_ref[0], &pool.dy);
                quote! {
                    {
                        const WINDOW: #k::kernels::Window2d = #window;
                        #k::kernels::max_pool2d_backward_activated(
                            &WINDOW, #n, #dpooled, #argmax, #pooled, #relu, #dx,
                        );
                    }
                }
            }
        };
        Some(MaxPooled {
            forward,
            backward,
            buffers: 0,
        })
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let (Some(dx), false) = (&io.dx, self.is_alias(true)) else {
            return TokenStream::new();
        };
        let k = krate();
        let act = Ident::new(
            names::activation_variant(self.activation),
            Span::call_site(),
        );
        let (x, y, dy, row_len) = (&io.x, &io.y_ref, &io.dy, self.row_len);
        quote! {
            #k::kernels::activation_backward(#k::kernels::Activation::#act, #x, #y, #dy, #dx, #row_len);
        }
    }
}
