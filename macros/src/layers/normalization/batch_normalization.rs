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
use strata_vocabulary::Initializer;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::normalization::{NormArgs, Rows};
use crate::layers::{
    Args, Buffer, Built, Capabilities, Config, Inputs, Io, LayerKind, Mode, Output, ShapeError,
    UpdatesState, Weight, krate, option,
};

pub struct BatchNormalization;

#[derive(Clone)]
struct BatchNormConfig {
    norm: NormArgs,
    momentum: f64,
    moving_mean_initializer: Initializer,
    moving_variance_initializer: Initializer,
    /// `false` runs the layer in inference mode in training too, as Keras 3 does.
    trainable: bool,
}

struct BatchNormLayer {
    config: BatchNormConfig,
    shape: Vec<usize>,
    rows: Rows,
}

/// The layer's buffers in training, `channels` values each: the batch statistics of the
/// lane, and room for the gradients of an absent gamma or beta.
const MEAN: &str = "mean";
const VARIANCE: &str = "variance";
const INV_STD: &str = "inv_std";
const DGAMMA_SCRATCH: &str = "dgamma_scratch";
const DBETA_SCRATCH: &str = "dbeta_scratch";

impl LayerKind for BatchNormalization {
    fn name(&self) -> &'static str {
        "BatchNormalization"
    }

    fn default_name(&self) -> &'static str {
        "batch_normalization"
    }

    fn arguments(&self) -> &'static [&'static str] {
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

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        let norm = NormArgs::read(args, self.name(), errors);
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
        Some(Box::new(BatchNormConfig {
            norm: norm?,
            momentum,
            moving_mean_initializer: moving_mean_initializer?.unwrap_or(Initializer::Zeros),
            moving_variance_initializer: moving_variance_initializer?.unwrap_or(Initializer::Ones),
            trainable: args.trainable(),
        }))
    }
}

impl Config for BatchNormConfig {
    fn label(&self) -> String {
        "BatchNormalization".to_string()
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.label())?;
        Ok(Box::new(BatchNormLayer {
            config: self.clone(),
            shape: input.to_vec(),
            rows: self.norm.rows("BatchNormalization", input)?,
        }))
    }
}

impl BatchNormLayer {
    /// The indices of the moving mean and variance in the layer's weights.
    fn moving(&self) -> (usize, usize) {
        let first = self.config.norm.affine_count();
        (first, first + 1)
    }

    /// `n * rows_per_sample`, the kernels' `outer`.
    fn outer(&self, io: &Io) -> TokenStream {
        let (n, rows) = (&io.n, self.rows.per_sample);
        quote!(#n * #rows)
    }

    fn gamma<'a>(&self, io: &'a Io) -> Option<&'a TokenStream> {
        self.config.norm.gamma().map(|i| &io.params[i])
    }

    fn beta<'a>(&self, io: &'a Io) -> Option<&'a TokenStream> {
        self.config.norm.beta().map(|i| &io.params[i])
    }
}

impl Built for BatchNormLayer {
    fn label(&self) -> String {
        self.config.label()
    }

    fn output(&self) -> Output {
        Output::One(self.shape.clone())
    }

    fn weights(&self) -> Vec<Weight> {
        let channels = self.rows.channels;
        let config = &self.config;
        let mut weights = config.norm.weights(channels);
        weights.push(
            Weight::new(
                "moving_mean",
                vec![channels],
                config.moving_mean_initializer,
            )
            .state(),
        );
        weights.push(
            Weight::new(
                "moving_variance",
                vec![channels],
                config.moving_variance_initializer,
            )
            .state(),
        );
        weights
    }

    fn buffers(&self) -> Vec<Buffer> {
        if !self.config.trainable {
            return Vec::new();
        }
        let channels = self.rows.channels;
        [MEAN, VARIANCE, INV_STD, DGAMMA_SCRATCH, DBETA_SCRATCH]
            .map(|name| Buffer::scratch(name, quote!(#channels)))
            .into()
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        let config = &self.config;
        let mut members = vec![
            ("axis", Json::from(config.norm.axis)),
            ("momentum", Json::from(config.momentum)),
        ];
        members.extend(config.norm.epsilon_center_scale());
        members.extend(config.norm.initializers());
        members.extend([
            (
                "moving_mean_initializer",
                Json::str(config.moving_mean_initializer.name()),
            ),
            (
                "moving_variance_initializer",
                Json::str(config.moving_variance_initializer.name()),
            ),
            ("synchronized", Json::Bool(false)),
        ]);
        members
    }

    fn forward(&self, io: &Io, mode: Mode) -> TokenStream {
        let k = krate();
        let (x, y, outer, channels) = (io.x(), &io.y, self.outer(io), self.rows.channels);
        let (gamma, beta) = (option(self.gamma(io)), option(self.beta(io)));
        let epsilon = self.config.norm.epsilon;
        if mode.is_training() && self.config.trainable {
            let (mean, variance, inv_std) = (io.buf(MEAN), io.buf(VARIANCE), io.buf(INV_STD));
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
        let norm = &self.config.norm;
        if !self.config.trainable {
            let Some(dx) = io.dx() else {
                return TokenStream::new();
            };
            let moving_variance = &io.params[self.moving().1];
            let epsilon = norm.epsilon;
            return quote! {
                #k::kernels::batch_norm_backward_inference(
                    #outer, #channels, #dy, #gamma, #moving_variance, #epsilon, #dx,
                );
            };
        }
        let grad_or_scratch = |weight: Option<usize>, scratch: &str| {
            weight
                .and_then(|i| io.grad(i))
                .unwrap_or_else(|| io.buf(scratch))
                .clone()
        };
        let dgamma = grad_or_scratch(norm.gamma(), DGAMMA_SCRATCH);
        let dbeta = grad_or_scratch(norm.beta(), DBETA_SCRATCH);
        let (x, mean, inv_std) = (io.x(), io.buf_ref(MEAN), io.buf_ref(INV_STD));
        let dx = option(io.dx());
        quote! {
            #k::kernels::batch_norm_backward(
                #outer, #channels, #x, #dy, #mean, #inv_std, #gamma, #dx, #dgamma, #dbeta,
            );
        }
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            state: self.config.trainable.then_some(self as &dyn UpdatesState),
            ..Capabilities::default()
        }
    }
}

impl UpdatesState for BatchNormLayer {
    fn update_state(&self, io: &Io) -> TokenStream {
        let k = krate();
        let (moving_mean, moving_variance) = self.moving();
        let (moving_mean, moving_variance) = (&io.params[moving_mean], &io.params[moving_variance]);
        let (mean, variance) = (io.buf_ref(MEAN), io.buf_ref(VARIANCE));
        let (outer, momentum) = (self.outer(io), self.config.momentum);
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
