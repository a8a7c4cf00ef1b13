//! `Flatten`: one axis holding every value of the sample; no copy.

use proc_macro2::TokenStream;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::{
    Args, Built, Capabilities, Config, Inputs, Io, LayerKind, Mode, Output, PassesInput, ShapeError,
};

pub struct Flatten;

struct FlattenConfig;

struct FlattenLayer {
    len: usize,
}

impl LayerKind for Flatten {
    fn name(&self) -> &'static str {
        "Flatten"
    }

    fn default_name(&self) -> &'static str {
        "flatten"
    }

    fn arguments(&self) -> &'static [&'static str] {
        &[]
    }

    fn configure(&self, _args: &Args, _errors: &mut Errors) -> Option<Box<dyn Config>> {
        Some(Box::new(FlattenConfig))
    }
}

impl Config for FlattenConfig {
    fn label(&self) -> String {
        "Flatten".to_string()
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.label())?;
        Ok(Box::new(FlattenLayer {
            len: input.iter().product(),
        }))
    }
}

impl Built for FlattenLayer {
    fn label(&self) -> String {
        "Flatten".to_string()
    }

    fn output(&self) -> Output {
        Output::One(vec![self.len])
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        vec![("data_format", Json::str("channels_last"))]
    }

    fn forward(&self, _io: &Io, _mode: Mode) -> TokenStream {
        TokenStream::new()
    }

    fn backward(&self, _io: &Io) -> TokenStream {
        TokenStream::new()
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            passes_input: PassesInput::Always,
            product_bound: true,
            ..Capabilities::default()
        }
    }
}
