//! `UpSampling2D(size = 2 | [rows, columns], interpolation = nearest)`: each value of a
//! channels-last map repeated over a `size` block.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::spatial;
use crate::layers::{Args, Built, Config, Inputs, Io, LayerKind, Mode, Output, ShapeError, krate};

pub struct UpSampling2D;

#[derive(Clone, Copy)]
struct UpSamplingConfig {
    size: [usize; 2],
}

struct UpSamplingLayer {
    size: [usize; 2],
    input: [usize; 3],
}

impl LayerKind for UpSampling2D {
    fn name(&self) -> &'static str {
        "UpSampling2D"
    }

    fn default_name(&self) -> &'static str {
        "up_sampling2d"
    }

    fn arguments(&self) -> &'static [&'static str] {
        &["size", "interpolation"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        let size = args.positive_tuple::<2>("size", errors);
        // Nearest is the one interpolation the kernels have.
        let interpolation = args.choice("interpolation", "interpolation", &["nearest"], errors);
        interpolation?;
        Some(Box::new(UpSamplingConfig {
            size: size?.unwrap_or([2, 2]),
        }))
    }
}

/// `UpSampling2D(2)`.
fn label(size: [usize; 2]) -> String {
    format!("UpSampling2D({})", spatial::dims_str(&size))
}

impl Config for UpSamplingConfig {
    fn label(&self) -> String {
        label(self.size)
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.label())?;
        Ok(Box::new(UpSamplingLayer {
            size: self.size,
            input: spatial::map("UpSampling2D", 2, input)?,
        }))
    }
}

impl Built for UpSamplingLayer {
    fn label(&self) -> String {
        label(self.size)
    }

    fn output(&self) -> Output {
        let [height, width, channels] = self.input;
        let [rows, columns] = self.size;
        Output::One(vec![
            height.saturating_mul(rows),
            width.saturating_mul(columns),
            channels,
        ])
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        vec![
            ("size", Json::sizes(&self.size)),
            ("data_format", Json::str("channels_last")),
            ("interpolation", Json::str("nearest")),
        ]
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let (n, x, y) = (&io.n, io.x(), &io.y);
        let (input, [rows, columns]) = (spatial::map_tokens(self.input), self.size);
        quote! {
            #k::kernels::upsampling2d_forward(#input, [#rows, #columns], #n, #x, #y);
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let Some(dx) = io.dx() else {
            return TokenStream::new();
        };
        let k = krate();
        let (n, dy) = (&io.n, &io.dy);
        let (input, [rows, columns]) = (spatial::map_tokens(self.input), self.size);
        quote! {
            #k::kernels::upsampling2d_backward(#input, [#rows, #columns], #n, #dy, #dx);
        }
    }
}
