//! `Embedding(input_dim, output_dim, embeddings_initializer = uniform)`: a learned vector
//! per token id, as Keras's. It reads an input declared as ids (`[20] of u32`).

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::{Args, Io, Layer, LayerKind, ParamSpec, ShapeError, krate};

pub struct Embedding;

struct Configured {
    input_dim: usize,
    output_dim: usize,
    initializer: &'static str,
}

impl LayerKind for Embedding {
    fn kind(&self) -> &'static str {
        "Embedding"
    }

    fn default_name(&self) -> &'static str {
        "embedding"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &["input_dim", "output_dim", "embeddings_initializer"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let input_dim = args.positive("input_dim", errors);
        let output_dim = args.positive("output_dim", errors);
        let initializer = args.initializer("embeddings_initializer", errors);
        let (Some(input_dim), Some(output_dim)) = (input_dim?, output_dim?) else {
            args.missing("input_dim` and `output_dim", "Embedding(10000, 64)", errors);
            return None;
        };
        Some(Box::new(Configured {
            input_dim,
            output_dim,
            initializer: initializer?.unwrap_or("uniform"),
        }))
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        format!("Embedding({}, {})", self.input_dim, self.output_dim)
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let mut output = input.to_vec();
        output.push(self.output_dim);
        Ok(output)
    }

    fn reads_ids(&self) -> Option<usize> {
        Some(self.input_dim)
    }

    fn params(&self) -> Vec<ParamSpec> {
        vec![ParamSpec {
            suffix: "embeddings".into(),
            shape: vec![self.input_dim, self.output_dim],
            initializer: self.initializer,
            fan_in: self.input_dim,
            fan_out: self.output_dim,
            trainable: true,
        }]
    }

    fn config_json(&self) -> String {
        format!(
            r#""input_dim": {}, "output_dim": {}, "embeddings_initializer": "{}", "mask_zero": false"#,
            self.input_dim, self.output_dim, self.initializer
        )
    }

    fn forward(&self, io: &Io, _training: bool) -> TokenStream {
        let k = krate();
        let (x, table, y, dim) = (&io.x, &io.params[0], &io.y, self.output_dim);
        quote! {
            #k::kernels::embedding_forward(#x, #table, #dim, #y);
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let Some(dtable) = io.grads[0].as_ref() else {
            return TokenStream::new();
        };
        let k = krate();
        let (x, dy, dim) = (&io.x, &io.dy, self.output_dim);
        quote! {
            #k::kernels::embedding_backward(#x, #dy, #dim, #dtable);
        }
    }
}
