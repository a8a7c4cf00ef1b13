//! `InputLayer`: one of a model's several inputs, cut out of the packed input row. Made
//! by the signature `(a: [20, 64], b: [20, 64])`, never written in a body; shown by
//! `summary()` as Keras shows a functional model's inputs.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::{Args, Io, Layer, LayerKind, ShapeError, json_list, krate, shape_str};

pub struct InputLayer;

struct Configured {
    shape: Vec<usize>,
    offset: usize,
    total: usize,
}

impl LayerKind for InputLayer {
    fn kind(&self) -> &'static str {
        crate::graph::INPUT_LAYER
    }

    fn default_name(&self) -> &'static str {
        "input_layer"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &["shape", "offset", "total"]
    }

    fn is_internal(&self) -> bool {
        true
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let shape = args.int_list("shape", errors)??.0;
        let offset = args.count("offset", errors)?.unwrap_or(0);
        let total = args.positive("total", errors)??;
        Some(Box::new(Configured {
            shape: shape.iter().map(|&d| d as usize).collect(),
            offset,
            total,
        }))
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        format!("InputLayer({})", shape_str(&self.shape))
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        debug_assert_eq!(input, [self.total], "the packed input row");
        Ok(self.shape.clone())
    }

    fn config_json(&self) -> String {
        format!(r#""batch_shape": {}"#, json_list(&self.shape))
    }

    fn forward(&self, io: &Io, _training: bool) -> TokenStream {
        let k = krate();
        let (x, y, offset, total) = (&io.x, &io.y, self.offset, self.total);
        quote! {
            #k::kernels::column_slice(#x, #total, #offset, #y);
        }
    }

    fn backward(&self, _io: &Io) -> TokenStream {
        TokenStream::new()
    }
}
