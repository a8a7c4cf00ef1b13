//! `Activation(name)` and `Softmax`: an activation function as a layer of its own.

use proc_macro2::TokenStream;
use quote::quote;
use strata_vocabulary::Activation;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::activated::activation_tokens;
use crate::layers::{
    Args, Built, Capabilities, Config, Fused, Inputs, Io, LayerKind, Mode, Output, PassesInput,
    PoolsOwnOutput, ShapeError, krate,
};

pub struct ActivationLayer;
pub struct Softmax;

#[derive(Clone, Copy)]
struct ActivationConfig {
    /// Whether the layer is written `Softmax`, not `Activation(softmax)`.
    softmax_layer: bool,
    activation: Activation,
}

struct ActivationBuilt {
    config: ActivationConfig,
    shape: Vec<usize>,
}

impl LayerKind for ActivationLayer {
    fn name(&self) -> &'static str {
        "Activation"
    }

    fn default_name(&self) -> &'static str {
        "activation"
    }

    fn arguments(&self) -> &'static [&'static str] {
        &["activation"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        match args.activation("activation", errors)? {
            Some(activation) => Some(Box::new(ActivationConfig {
                softmax_layer: false,
                activation,
            })),
            None => {
                args.missing("activation", "Activation(relu)", errors);
                None
            }
        }
    }
}

impl LayerKind for Softmax {
    fn name(&self) -> &'static str {
        "Softmax"
    }

    fn default_name(&self) -> &'static str {
        "softmax"
    }

    fn arguments(&self) -> &'static [&'static str] {
        &[]
    }

    fn configure(&self, _args: &Args, _errors: &mut Errors) -> Option<Box<dyn Config>> {
        Some(Box::new(ActivationConfig {
            softmax_layer: true,
            activation: Activation::Softmax,
        }))
    }
}

impl Config for ActivationConfig {
    fn label(&self) -> String {
        match self.softmax_layer {
            true => "Softmax".to_string(),
            false => format!("Activation({})", self.activation.name()),
        }
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.label())?;
        Ok(Box::new(ActivationBuilt {
            config: *self,
            shape: input.to_vec(),
        }))
    }
}

impl ActivationBuilt {
    /// Values in the last axis, the rows softmax normalises.
    fn row_len(&self) -> usize {
        self.shape.last().copied().unwrap_or(1)
    }

    fn is_linear(&self) -> bool {
        self.config.activation == Activation::Linear
    }
}

impl Built for ActivationBuilt {
    fn label(&self) -> String {
        self.config.label()
    }

    fn output(&self) -> Output {
        Output::One(self.shape.clone())
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        match self.config.softmax_layer {
            true => vec![("axis", Json::Int(-1))],
            false => vec![("activation", Json::str(self.config.activation.name()))],
        }
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let act = activation_tokens(self.config.activation);
        let (x, y, row_len) = (io.x(), &io.y, self.row_len());
        quote! {
            #k::kernels::activation_forward(#act, #x, #y, #row_len);
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let Some(dx) = io.dx() else {
            return TokenStream::new();
        };
        let k = krate();
        let act = activation_tokens(self.config.activation);
        let (x, y, dy, row_len) = (io.x(), &io.y_ref, &io.dy, self.row_len());
        quote! {
            #k::kernels::activation_backward(#act, #x, #y, #dy, #dx, #row_len);
        }
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            passes_input: match self.is_linear() {
                true => PassesInput::Always,
                false => PassesInput::Never,
            },
            product_bound: true,
            pools_own_output: Some(self),
            ..Capabilities::default()
        }
    }
}

/// Relu before a max pooling: the pooling of its input, then relu of the pooled values
/// (the same bit for bit), so that the activated map is never written.
impl PoolsOwnOutput for ActivationBuilt {
    fn fused_buffers(&self) -> Option<usize> {
        (self.config.activation == Activation::Relu).then_some(0)
    }

    fn pooled(&self, io: &Io, window: &TokenStream, pool: &Io) -> Fused {
        let k = krate();
        let relu = activation_tokens(Activation::Relu);
        let (n, x) = (&io.n, io.x());
        let (pooled, argmax) = (&pool.y, pool.buf("argmax"));
        let forward = quote! {
            {
                const WINDOW: #k::kernels::Window2d = #window;
                #k::kernels::max_pool2d_forward_activated(&WINDOW, #n, #x, #pooled, #argmax, #relu);
            }
        };
        let backward = match io.dx() {
            None => TokenStream::new(),
            Some(dx) => {
                let (pooled, argmax, dpooled) = (&pool.y_ref, pool.buf_ref("argmax"), &pool.dy);
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
        Fused { forward, backward }
    }
}
