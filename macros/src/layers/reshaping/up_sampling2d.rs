//! `UpSampling2D(size = 2 | [rows, columns], interpolation = nearest)`: each value of a
//! channels-last map repeated over a `size` block.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::spatial;
use crate::layers::{Args, Io, Layer, LayerKind, ShapeError, json_list, krate};

pub struct UpSampling2D;

struct Configured {
    size: [usize; 2],
    input: [usize; 3],
}

impl LayerKind for UpSampling2D {
    fn kind(&self) -> &'static str {
        "UpSampling2D"
    }

    fn default_name(&self) -> &'static str {
        "up_sampling2d"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &["size", "interpolation"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let size = args.positive_tuple::<2>("size", errors);
        // Nearest is the one interpolation the kernels have.
        let interpolation = args.choice("interpolation", "interpolation", &["nearest"], errors);
        interpolation?;
        Some(Box::new(Configured {
            size: size?.unwrap_or([2, 2]),
            input: [0; 3],
        }))
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        format!("UpSampling2D({})", spatial::dims_str(&self.size))
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let map = spatial::map("UpSampling2D", 2, input)?;
        self.input = map;
        let [height, width, channels] = map;
        let [rows, columns] = self.size;
        Ok(vec![
            height.saturating_mul(rows),
            width.saturating_mul(columns),
            channels,
        ])
    }

    fn config_json(&self) -> String {
        format!(
            r#""size": {}, "data_format": "channels_last", "interpolation": "nearest""#,
            json_list(&self.size)
        )
    }

    fn forward(&self, io: &Io, _training: bool) -> TokenStream {
        let k = krate();
        let Io { n, x, y, .. } = io;
        let (input, [rows, columns]) = (spatial::map_tokens(self.input), self.size);
        quote! {
            #k::kernels::upsampling2d_forward(#input, [#rows, #columns], #n, #x, #y);
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let Some(dx) = &io.dx else {
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
