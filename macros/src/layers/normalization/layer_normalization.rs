//! `LayerNormalization(axis = -1, epsilon = 0.001, center = true, scale = true,
//! beta_initializer = zeros, gamma_initializer = ones)`: Keras's layer normalization of
//! the last axis. Each row of features is normalized by its own mean and biased variance,
//! the same in training and in inference.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::activated::option;
use crate::layers::normalization::{NormArgs, Rows};
use crate::layers::{Args, Buffer, Io, Layer, LayerKind, ParamSpec, ShapeError, krate};

pub struct LayerNormalization;

struct Configured {
    norm: NormArgs,
    rows: Rows,
}

/// The layer's buffers: each row's mean and `1 / sqrt(variance + epsilon)`.
const MEAN: usize = 0;
const INV_STD: usize = 1;

impl LayerKind for LayerNormalization {
    fn kind(&self) -> &'static str {
        "LayerNormalization"
    }

    fn default_name(&self) -> &'static str {
        "layer_normalization"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &[
            "axis",
            "epsilon",
            "center",
            "scale",
            "beta_initializer",
            "gamma_initializer",
        ]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        Some(Box::new(Configured {
            norm: NormArgs::read(args, self.kind(), errors)?,
            rows: Rows::default(),
        }))
    }
}

impl Configured {
    /// `n * rows_per_sample`: the rows the kernels normalize.
    fn rows(&self, io: &Io) -> TokenStream {
        let (n, rows) = (&io.n, self.rows.per_sample);
        quote!(#n * #rows)
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        "LayerNormalization".to_string()
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        self.rows = self.norm.rows("LayerNormalization", input)?;
        Ok(input.to_vec())
    }

    fn params(&self) -> Vec<ParamSpec> {
        self.norm.params(self.rows.channels)
    }

    fn buffers(&self) -> Vec<Buffer> {
        let rows = self.rows.per_sample;
        vec![Buffer::floats(rows), Buffer::floats(rows)] // MEAN, INV_STD
    }

    fn config_json(&self) -> String {
        // Keras's config after build: the axis as a list.
        format!(
            r#""axis": [{}], {}, "rms_scaling": false, {}"#,
            self.norm.axis,
            self.norm.epsilon_center_scale_json(),
            self.norm.initializers_json()
        )
    }

    fn forward(&self, io: &Io, _training: bool) -> TokenStream {
        let k = krate();
        let (x, y, rows, features) = (&io.x, &io.y, self.rows(io), self.rows.channels);
        let gamma = option(self.norm.gamma().map(|i| &io.params[i]));
        let beta = option(self.norm.beta().map(|i| &io.params[i]));
        let (mean, inv_std, epsilon) = (&io.bufs[MEAN], &io.bufs[INV_STD], self.norm.epsilon);
        quote! {
            #k::kernels::layer_norm_forward(
                #rows, #features, #x, #gamma, #beta, #epsilon, #y, #mean, #inv_std,
            );
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let k = krate();
        let (x, dy, rows, features) = (&io.x, &io.dy, self.rows(io), self.rows.channels);
        let gamma = option(self.norm.gamma().map(|i| &io.params[i]));
        let grad = |i: Option<usize>| option(i.and_then(|i| io.grads[i].as_ref()));
        let (dgamma, dbeta) = (grad(self.norm.gamma()), grad(self.norm.beta()));
        let (mean, inv_std) = (&io.bufs_ref[MEAN], &io.bufs_ref[INV_STD]);
        if io.dx.is_none() && io.grads.iter().all(Option::is_none) {
            return TokenStream::new();
        }
        let dx = option(io.dx.as_ref());
        quote! {
            #k::kernels::layer_norm_backward(
                #rows, #features, #x, #gamma, #dy, #mean, #inv_std, #dx, #dgamma, #dbeta,
            );
        }
    }
}
