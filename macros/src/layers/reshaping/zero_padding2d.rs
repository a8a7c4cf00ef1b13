//! `ZeroPadding2D(padding = 1 | [rows, columns] | [[top, bottom], [left, right]])`: zeros
//! around each channels-last map.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::spatial;
use crate::layers::{Args, Built, Config, Inputs, Io, LayerKind, Mode, Output, ShapeError, krate};

pub struct ZeroPadding2D;

#[derive(Clone, Copy)]
struct ZeroPaddingConfig {
    /// `[[top, bottom], [left, right]]`.
    padding: [[usize; 2]; 2],
}

struct ZeroPaddingLayer {
    config: ZeroPaddingConfig,
    input: [usize; 3],
}

impl LayerKind for ZeroPadding2D {
    fn name(&self) -> &'static str {
        "ZeroPadding2D"
    }

    fn default_name(&self) -> &'static str {
        "zero_padding2d"
    }

    fn arguments(&self) -> &'static [&'static str] {
        &["padding"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        let padding = args.padding2d("padding", errors)?;
        Some(Box::new(ZeroPaddingConfig {
            padding: padding.unwrap_or([[1, 1], [1, 1]]),
        }))
    }
}

impl ZeroPaddingConfig {
    fn padding_str(&self) -> String {
        let [[top, bottom], [left, right]] = self.padding;
        format!("[[{top}, {bottom}], [{left}, {right}]]")
    }
}

impl Config for ZeroPaddingConfig {
    fn label(&self) -> String {
        let flat = self.padding.as_flattened();
        if flat.iter().all(|&p| p == flat[0]) {
            format!("ZeroPadding2D({})", flat[0])
        } else {
            format!("ZeroPadding2D({})", self.padding_str())
        }
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.label())?;
        Ok(Box::new(ZeroPaddingLayer {
            config: *self,
            input: spatial::map("ZeroPadding2D", 2, input)?,
        }))
    }
}

impl Built for ZeroPaddingLayer {
    fn label(&self) -> String {
        self.config.label()
    }

    fn output(&self) -> Output {
        let [[top, bottom], [left, right]] = self.config.padding;
        let [height, width, channels] = self.input;
        Output::One(vec![
            height.saturating_add(top).saturating_add(bottom),
            width.saturating_add(left).saturating_add(right),
            channels,
        ])
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        let sides = self.config.padding.map(|side| Json::sizes(&side));
        vec![
            ("padding", Json::List(sides.into())),
            ("data_format", Json::str("channels_last")),
        ]
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let (n, x, y) = (&io.n, io.x(), &io.y);
        let [[t, b], [l, r]] = self.config.padding;
        let input = spatial::map_tokens(self.input);
        quote! {
            #k::kernels::zero_padding2d_forward(#input, [[#t, #b], [#l, #r]], #n, #x, #y);
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let Some(dx) = io.dx() else {
            return TokenStream::new();
        };
        let k = krate();
        let (n, dy) = (&io.n, &io.dy);
        let [[t, b], [l, r]] = self.config.padding;
        let input = spatial::map_tokens(self.input);
        quote! {
            #k::kernels::zero_padding2d_backward(#input, [[#t, #b], [#l, #r]], #n, #dy, #dx);
        }
    }
}
