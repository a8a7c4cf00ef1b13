//! `Flatten`: one axis holding every value of the sample; no copy.

use proc_macro2::TokenStream;

use crate::errors::Errors;
use crate::layers::{Args, Io, Layer, LayerKind, ShapeError};

pub struct Flatten;

struct Configured;

impl LayerKind for Flatten {
    fn kind(&self) -> &'static str {
        "Flatten"
    }

    fn default_name(&self) -> &'static str {
        "flatten"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &[]
    }

    fn configure(&self, _args: &Args, _errors: &mut Errors) -> Option<Box<dyn Layer>> {
        Some(Box::new(Configured))
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        "Flatten".to_string()
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        Ok(vec![input.iter().product()])
    }

    fn is_alias(&self, _training: bool) -> bool {
        true
    }

    fn config_json(&self) -> String {
        r#""data_format": "channels_last""#.to_string()
    }

    fn forward(&self, _io: &Io, _training: bool) -> TokenStream {
        TokenStream::new()
    }

    fn backward(&self, _io: &Io) -> TokenStream {
        TokenStream::new()
    }
}
