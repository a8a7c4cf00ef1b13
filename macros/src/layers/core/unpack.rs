//! `Unpack`: one of the values a layer of several gives (a recurrent layer's output and
//! final states with `return_state = true`), cut out of the value it packs them in. Made
//! by a tuple pattern, `let (output, h, c) = LSTM(32, return_state = true)(x);`, never
//! written in a body nor shown by `summary()`: the layer it unpacks is.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::{Args, Io, Layer, LayerKind, ShapeError, krate};

pub struct Unpack;

struct Configured {
    /// Which of the values, and its name (`h`).
    index: usize,
    part: String,
    /// Values per sample before it in the packed value.
    offset: usize,
}

impl LayerKind for Unpack {
    fn kind(&self) -> &'static str {
        crate::graph::UNPACK
    }

    fn default_name(&self) -> &'static str {
        "unpack"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &["index", "part"]
    }

    fn is_internal(&self) -> bool {
        true
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let index = args.count("index", errors)??;
        let part = args.string("part", errors)??.0;
        Some(Box::new(Configured {
            index,
            part,
            offset: 0,
        }))
    }
}

impl Layer for Configured {
    /// The value's name, for `origin`'s "the h of LSTM(32)".
    fn label(&self) -> String {
        self.part.clone()
    }

    fn infer(&mut self, _input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        unreachable!("Unpack reads the parts of a packed value, through infer_all")
    }

    /// `parts` are the shapes of the values packed in the input, in order.
    fn infer_all(&mut self, parts: &[Vec<usize>]) -> Result<Vec<usize>, ShapeError> {
        let size = |shape: &Vec<usize>| shape.iter().product::<usize>();
        self.offset = parts[..self.index].iter().map(size).sum();
        Ok(parts[self.index].clone())
    }

    fn config_json(&self) -> String {
        String::new()
    }

    fn forward(&self, io: &Io, _training: bool) -> TokenStream {
        let k = krate();
        let (n, x, y, offset) = (&io.n, &io.x, &io.y, self.offset);
        quote! {
            #k::kernels::unpack_forward(#x, #n * #offset, #y);
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let Some(dx) = &io.dx else {
            return TokenStream::new();
        };
        let k = krate();
        let (n, dy, offset) = (&io.n, &io.dy, self.offset);
        quote! {
            #k::kernels::unpack_backward(#dy, #n * #offset, #dx);
        }
    }
}
