//! `LayerNormalization(axis = -1, epsilon = 0.001, center = true, scale = true,
//! beta_initializer = zeros, gamma_initializer = ones)`: Keras's layer normalization of
//! the last axis. Each row of features is normalized by its own mean and biased variance,
//! the same in training and in inference.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::normalization::{NormArgs, Rows};
use crate::layers::{
    Args, Buffer, Built, Config, Inputs, Io, LayerKind, Mode, Output, ShapeError, Weight, krate,
    option,
};

pub struct LayerNormalization;

#[derive(Clone)]
struct LayerNormConfig {
    norm: NormArgs,
}

struct LayerNormLayer {
    config: LayerNormConfig,
    shape: Vec<usize>,
    rows: Rows,
}

/// The layer's buffers: each row's mean and `1 / sqrt(variance + epsilon)`.
const MEAN: &str = "mean";
const INV_STD: &str = "inv_std";

impl LayerKind for LayerNormalization {
    fn name(&self) -> &'static str {
        "LayerNormalization"
    }

    fn default_name(&self) -> &'static str {
        "layer_normalization"
    }

    fn arguments(&self) -> &'static [&'static str] {
        &[
            "axis",
            "epsilon",
            "center",
            "scale",
            "beta_initializer",
            "gamma_initializer",
        ]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        Some(Box::new(LayerNormConfig {
            norm: NormArgs::read(args, self.name(), errors)?,
        }))
    }
}

impl Config for LayerNormConfig {
    fn label(&self) -> String {
        "LayerNormalization".to_string()
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.label())?;
        Ok(Box::new(LayerNormLayer {
            config: self.clone(),
            shape: input.to_vec(),
            rows: self.norm.rows("LayerNormalization", input)?,
        }))
    }
}

impl LayerNormLayer {
    /// `n * rows_per_sample`: the rows the kernels normalize.
    fn rows(&self, io: &Io) -> TokenStream {
        let (n, rows) = (&io.n, self.rows.per_sample);
        quote!(#n * #rows)
    }
}

impl Built for LayerNormLayer {
    fn label(&self) -> String {
        self.config.label()
    }

    fn output(&self) -> Output {
        Output::One(self.shape.clone())
    }

    fn weights(&self) -> Vec<Weight> {
        self.config.norm.weights(self.rows.channels)
    }

    fn buffers(&self) -> Vec<Buffer> {
        let rows = self.rows.per_sample;
        vec![Buffer::floats(MEAN, rows), Buffer::floats(INV_STD, rows)]
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        let norm = &self.config.norm;
        // Keras's config after build: the axis as a list.
        let mut config = vec![("axis", Json::List(vec![Json::from(norm.axis)]))];
        config.extend(norm.epsilon_center_scale());
        config.push(("rms_scaling", Json::Bool(false)));
        config.extend(norm.initializers());
        config
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let norm = &self.config.norm;
        let (x, y, rows, features) = (io.x(), &io.y, self.rows(io), self.rows.channels);
        let gamma = option(norm.gamma().map(|i| &io.params[i]));
        let beta = option(norm.beta().map(|i| &io.params[i]));
        let (mean, inv_std, epsilon) = (io.buf(MEAN), io.buf(INV_STD), norm.epsilon);
        quote! {
            #k::kernels::layer_norm_forward(
                #rows, #features, #x, #gamma, #beta, #epsilon, #y, #mean, #inv_std,
            );
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        if io.needs_no_backward() {
            return TokenStream::new();
        }
        let k = krate();
        let norm = &self.config.norm;
        let (x, dy, rows, features) = (io.x(), &io.dy, self.rows(io), self.rows.channels);
        let gamma = option(norm.gamma().map(|i| &io.params[i]));
        let grad = |i: Option<usize>| option(i.and_then(|i| io.grad(i)));
        let (dgamma, dbeta) = (grad(norm.gamma()), grad(norm.beta()));
        let (mean, inv_std) = (io.buf_ref(MEAN), io.buf_ref(INV_STD));
        let dx = option(io.dx());
        quote! {
            #k::kernels::layer_norm_backward(
                #rows, #features, #x, #gamma, #dy, #mean, #inv_std, #dx, #dgamma, #dbeta,
            );
        }
    }
}
