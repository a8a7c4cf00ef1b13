//! `ZeroPadding2D(padding = 1 | [rows, columns] | [[top, bottom], [left, right]])`: zeros
//! around each channels-last map.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::spatial;
use crate::layers::{Args, Io, Layer, LayerKind, ShapeError, krate};

pub struct ZeroPadding2D;

struct Configured {
    /// `[[top, bottom], [left, right]]`.
    padding: [[usize; 2]; 2],
    input: [usize; 3],
}

impl LayerKind for ZeroPadding2D {
    fn kind(&self) -> &'static str {
        "ZeroPadding2D"
    }

    fn default_name(&self) -> &'static str {
        "zero_padding2d"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &["padding"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let padding = args.padding2d("padding", errors)?;
        Some(Box::new(Configured {
            padding: padding.unwrap_or([[1, 1], [1, 1]]),
            input: [0; 3],
        }))
    }
}

impl Configured {
    fn padding_str(&self) -> String {
        let [[top, bottom], [left, right]] = self.padding;
        format!("[[{top}, {bottom}], [{left}, {right}]]")
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        let flat = self.padding.as_flattened();
        if flat.iter().all(|&p| p == flat[0]) {
            format!("ZeroPadding2D({})", flat[0])
        } else {
            format!("ZeroPadding2D({})", self.padding_str())
        }
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let map = spatial::map("ZeroPadding2D", 2, input)?;
        self.input = map;
        let [[top, bottom], [left, right]] = self.padding;
        let [height, width, channels] = map;
        Ok(vec![
            height.saturating_add(top).saturating_add(bottom),
            width.saturating_add(left).saturating_add(right),
            channels,
        ])
    }

    fn config_json(&self) -> String {
        format!(
            r#""padding": {}, "data_format": "channels_last""#,
            self.padding_str()
        )
    }

    fn forward(&self, io: &Io, _training: bool) -> TokenStream {
        let k = krate();
        let Io { n, x, y, .. } = io;
        let [[t, b], [l, r]] = self.padding;
        let input = spatial::map_tokens(self.input);
        quote! {
            #k::kernels::zero_padding2d_forward(#input, [[#t, #b], [#l, #r]], #n, #x, #y);
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let Some(dx) = &io.dx else {
            return TokenStream::new();
        };
        let k = krate();
        let (n, dy) = (&io.n, &io.dy);
        let [[t, b], [l, r]] = self.padding;
        let input = spatial::map_tokens(self.input);
        quote! {
            #k::kernels::zero_padding2d_backward(#input, [[#t, #b], [#l, #r]], #n, #dy, #dx);
        }
    }
}
