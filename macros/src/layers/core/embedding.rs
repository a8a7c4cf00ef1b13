//! `Embedding(input_dim, output_dim, embeddings_initializer = uniform)`: a learned vector
//! per token id, as Keras's. It reads an input declared as ids (`[20] of u32`).

use proc_macro2::TokenStream;
use quote::quote;
use strata_vocabulary::Initializer;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::penalties::Held;
use crate::layers::{
    Args, Built, Config, ConfigCapabilities, Inputs, Io, LayerKind, Mode, Output, ShapeError,
    Weight, krate,
};

pub struct Embedding;

#[derive(Clone)]
struct EmbeddingConfig {
    input_dim: usize,
    output_dim: usize,
    initializer: Initializer,
    embeddings: Held,
}

struct EmbeddingLayer {
    config: EmbeddingConfig,
    /// The ids per sample, as shaped.
    input: Vec<usize>,
}

impl LayerKind for Embedding {
    fn name(&self) -> &'static str {
        "Embedding"
    }

    fn default_name(&self) -> &'static str {
        "embedding"
    }

    fn arguments(&self) -> &'static [&'static str] {
        &[
            "input_dim",
            "output_dim",
            "embeddings_initializer",
            "embeddings_regularizer",
            "embeddings_constraint",
        ]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        let input_dim = args.positive("input_dim", errors);
        let output_dim = args.positive("output_dim", errors);
        let initializer = args.initializer("embeddings_initializer", errors);
        let embeddings = Held::read(
            args,
            "embeddings_regularizer",
            "embeddings_constraint",
            errors,
        );
        let (Some(input_dim), Some(output_dim)) = (input_dim?, output_dim?) else {
            args.missing("input_dim` and `output_dim", "Embedding(10000, 64)", errors);
            return None;
        };
        Some(Box::new(EmbeddingConfig {
            input_dim,
            output_dim,
            initializer: initializer?.unwrap_or(Initializer::Uniform),
            embeddings: embeddings?,
        }))
    }
}

impl Config for EmbeddingConfig {
    fn label(&self) -> String {
        format!("Embedding({}, {})", self.input_dim, self.output_dim)
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        Ok(Box::new(EmbeddingLayer {
            config: self.clone(),
            input: inputs.single(&self.label())?.to_vec(),
        }))
    }

    fn capabilities(&self) -> ConfigCapabilities<'_> {
        ConfigCapabilities {
            reads_token_ids: Some(self.input_dim),
            ..ConfigCapabilities::default()
        }
    }
}

impl Built for EmbeddingLayer {
    fn label(&self) -> String {
        self.config.label()
    }

    fn output(&self) -> Output {
        Output::One([&self.input[..], &[self.config.output_dim]].concat())
    }

    fn weights(&self) -> Vec<Weight> {
        let c = &self.config;
        let table = Weight::new("embeddings", vec![c.input_dim, c.output_dim], c.initializer);
        vec![c.embeddings.hold(table)]
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        vec![
            ("input_dim", Json::from(self.config.input_dim)),
            ("output_dim", Json::from(self.config.output_dim)),
            (
                "embeddings_initializer",
                Json::str(self.config.initializer.name()),
            ),
            self.config.embeddings.regularizer_config(),
            self.config.embeddings.constraint_config(),
            ("mask_zero", Json::Bool(false)),
        ]
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let (x, table, y, dim) = (io.x(), &io.params[0], &io.y, self.config.output_dim);
        quote! {
            #k::kernels::embedding_forward(#x, #table, #dim, #y);
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let Some(dtable) = io.grad(0) else {
            return TokenStream::new();
        };
        let k = krate();
        let (x, dy, dim) = (io.x(), &io.dy, self.config.output_dim);
        quote! {
            #k::kernels::embedding_backward(#x, #dy, #dim, #dtable);
        }
    }
}
