//! `BatchNormalization(axis = -1, momentum = 0.99, epsilon = 0.001, center = true,
//! scale = true, beta_initializer = zeros, gamma_initializer = ones,
//! moving_mean_initializer = zeros, moving_variance_initializer = ones)`: Keras's batch
//! normalization of the last (channels) axis.
//!
//! In training each channel is normalized by the batch's mean and biased variance, and
//! after each step the non-trainable moving statistics move towards the batch's:
//! `moving = moving · momentum + batch · (1 - momentum)`. In inference, and in training
//! when the layer is frozen (`trainable = false`, as in Keras 3), the moving statistics
//! normalize instead, and stay as they are.
//!
//! When the trainer splits a batch across threads, each lane normalizes its share of the
//! batch by that share's statistics (a "ghost batch", as in data-parallel training), while
//! the moving statistics are those of the whole batch, whatever the split.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::activated::option;
use crate::layers::normalization::{NormArgs, Rows, vector};
use crate::layers::{Args, Buffer, Io, Layer, LayerKind, ParamSpec, ShapeError, krate};

pub struct BatchNormalization;

struct Configured {
    norm: NormArgs,
    momentum: f64,
    moving_mean_initializer: &'static str,
    moving_variance_initializer: &'static str,
    /// `false` runs the layer in inference mode in training too, as Keras 3 does.
    trainable: bool,
    rows: Rows,
}

/// The layer's buffers in training, `channels` values each: the batch statistics of the
/// lane, and room for the gradients of an absent gamma or beta.
const MEAN: usize = 0;
const VARIANCE: usize = 1;
const INV_STD: usize = 2;
const DGAMMA_SCRATCH: usize = 3;
const DBETA_SCRATCH: usize = 4;

impl LayerKind for BatchNormalization {
    fn kind(&self) -> &'static str {
        "BatchNormalization"
    }

    fn default_name(&self) -> &'static str {
        "batch_normalization"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &[
            "axis",
            "momentum",
            "epsilon",
            "center",
            "scale",
            "beta_initializer",
            "gamma_initializer",
            "moving_mean_initializer",
            "moving_variance_initializer",
        ]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let norm = NormArgs::read(args, self.kind(), errors);
        let momentum = args.number("momentum", errors);
        let moving_mean_initializer = args.initializer("moving_mean_initializer", errors);
        let moving_variance_initializer = args.initializer("moving_variance_initializer", errors);
        let momentum = match momentum? {
            None => 0.99,
            Some((momentum, _)) if (0.0..=1.0).contains(&momentum) => momentum,
            Some((momentum, span)) => {
                errors.at(
                    span,
                    format!(
                        "the momentum of BatchNormalization must be in [0, 1], but is \
                         {momentum}\n  = help: it is the fraction of the moving statistics \
                         kept at each step: 0.99, the default, averages over about the last \
                         100 steps"
                    ),
                );
                return None;
            }
        };
        Some(Box::new(Configured {
            norm: norm?,
            momentum,
            moving_mean_initializer: moving_mean_initializer?.unwrap_or("zeros"),
            moving_variance_initializer: moving_variance_initializer?.unwrap_or("ones"),
            trainable: args.trainable(),
            rows: Rows::default(),
        }))
    }
}

impl Configured {
    /// The indices of the moving mean and variance in the layer's parameters.
    fn moving(&self) -> (usize, usize) {
        let first = self.norm.affine_count();
        (first, first + 1)
    }

    /// `n * rows_per_sample`, the kernels' `outer`.
    fn outer(&self, io: &Io) -> TokenStream {
        let (n, rows) = (&io.n, self.rows.per_sample);
        quote!(#n * #rows)
    }

    fn gamma<'a>(&self, io: &'a Io) -> Option<&'a TokenStream> {
        self.norm.gamma().map(|i| &io.params[i])
    }

    fn beta<'a>(&self, io: &'a Io) -> Option<&'a TokenStream> {
        self.norm.beta().map(|i| &io.params[i])
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        "BatchNormalization".to_string()
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        self.rows = self.norm.rows("BatchNormalization", input)?;
        Ok(input.to_vec())
    }

    fn params(&self) -> Vec<ParamSpec> {
        let channels = self.rows.channels;
        let mut params = self.norm.params(channels);
        params.push(vector(
            "moving_mean",
            channels,
            self.moving_mean_initializer,
            false,
        ));
        params.push(vector(
            "moving_variance",
            channels,
            self.moving_variance_initializer,
            false,
        ));
        params
    }

    fn buffers(&self) -> Vec<Buffer> {
        if !self.trainable {
            return Vec::new();
        }
        let channels = self.rows.channels;
        (0..5).map(|_| Buffer::scratch(quote!(#channels))).collect()
    }

    fn config_json(&self) -> String {
        format!(
            r#""axis": {}, "momentum": {:?}, {}, {}, "moving_mean_initializer": "{}", "moving_variance_initializer": "{}", "synchronized": false"#,
            self.norm.axis,
            self.momentum,
            self.norm.epsilon_center_scale_json(),
            self.norm.initializers_json(),
            self.moving_mean_initializer,
            self.moving_variance_initializer
        )
    }

    fn forward(&self, io: &Io, training: bool) -> TokenStream {
        let k = krate();
        let (x, y, outer, channels) = (&io.x, &io.y, self.outer(io), self.rows.channels);
        let (gamma, beta) = (option(self.gamma(io)), option(self.beta(io)));
        let epsilon = self.norm.epsilon;
        if training && self.trainable {
            let b = &io.bufs;
            let (mean, variance, inv_std) = (&b[MEAN], &b[VARIANCE], &b[INV_STD]);
            quote! {
                #k::kernels::batch_norm_forward_train(
                    #outer, #channels, #x, #gamma, #beta, #epsilon, #y, #mean, #variance, #inv_std,
                );
            }
        } else {
            let (moving_mean, moving_variance) = self.moving();
            let (moving_mean, moving_variance) =
                (&io.params[moving_mean], &io.params[moving_variance]);
            quote! {
                #k::kernels::batch_norm_forward_inference(
                    #outer, #channels, #x, #gamma, #beta, #moving_mean, #moving_variance,
                    #epsilon, #y,
                );
            }
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let k = krate();
        let (dy, outer, channels) = (&io.dy, self.outer(io), self.rows.channels);
        let gamma = option(self.gamma(io));
        if !self.trainable {
            let Some(dx) = &io.dx else {
                return TokenStream::new();
            };
            let moving_variance = &io.params[self.moving().1];
            let epsilon = self.norm.epsilon;
            return quote! {
                #k::kernels::batch_norm_backward_inference(
                    #outer, #channels, #dy, #gamma, #moving_variance, #epsilon, #dx,
                );
            };
        }
        let grad_or_scratch = |param: Option<usize>, scratch: usize| {
            param
                .and_then(|i| io.grads[i].as_ref())
                .unwrap_or(&io.bufs[scratch])
        };
        let dgamma = grad_or_scratch(self.norm.gamma(), DGAMMA_SCRATCH);
        let dbeta = grad_or_scratch(self.norm.beta(), DBETA_SCRATCH);
        let (x, mean, inv_std) = (&io.x, &io.bufs_ref[MEAN], &io.bufs_ref[INV_STD]);
        let dx = option(io.dx.as_ref());
        quote! {
            #k::kernels::batch_norm_backward(
                #outer, #channels, #x, #dy, #mean, #inv_std, #gamma, #dx, #dgamma, #dbeta,
            );
        }
    }

    fn update_state(&self, io: &Io) -> TokenStream {
        if !self.trainable {
            return TokenStream::new();
        }
        let k = krate();
        let (moving_mean, moving_variance) = self.moving();
        let (moving_mean, moving_variance) = (&io.params[moving_mean], &io.params[moving_variance]);
        let (mean, variance) = (&io.bufs_ref[MEAN], &io.bufs_ref[VARIANCE]);
        let (outer, momentum) = (self.outer(io), self.momentum);
        quote! {
            #k::kernels::batch_norm_update_moving(
                #moving_mean,
                #moving_variance,
                lanes.clone().map(|(ws, n)| (#mean, #variance, #outer)),
                #momentum,
            );
        }
    }
}
