//! The expressions a layer's emitted code reads and writes, as the expand stage gives them.

use proc_macro2::TokenStream;
use quote::quote;

/// The expressions of one application of a layer.
#[derive(Clone)]
pub struct Io {
    /// The batch size, a `usize`.
    pub n: TokenStream,
    /// Every input, `&[F]` each (the values first, then the initial states of a recurrent
    /// layer started from them).
    pub xs: Vec<TokenStream>,
    /// The output, `&mut [F]`.
    pub y: TokenStream,
    /// The output, `&[F]`.
    pub y_ref: TokenStream,
    /// The gradient of the output, `&[F]`.
    pub dy: TokenStream,
    /// The gradient of every input, `&mut [F]`, when something upstream needs it.
    pub dxs: Vec<Option<TokenStream>>,
    /// Each weight tensor, `&[F]`, in the layer's order.
    pub params: Vec<TokenStream>,
    /// Each weight's gradient, `&mut [F]`, or `None` when frozen.
    pub grads: Vec<Option<TokenStream>>,
    /// The layer's own buffers, by name.
    pub buffers: Vec<IoBuffer>,
    /// The random generator, `&mut Rng` (training only).
    pub rng: TokenStream,
}

/// One of a layer's buffers in emitted code.
#[derive(Clone)]
pub struct IoBuffer {
    pub name: String,
    /// `&mut [F]` (`&mut [u32]` for indices, `&mut` the workspace of a model).
    pub place: TokenStream,
    /// `&[F]` (`&[u32]`, `&` the workspace).
    pub shared: TokenStream,
}

impl Io {
    /// The (first) input, `&[F]`.
    pub fn x(&self) -> &TokenStream {
        &self.xs[0]
    }

    /// The gradient of the (first) input, when asked for.
    pub fn dx(&self) -> Option<&TokenStream> {
        self.dxs.first().and_then(Option::as_ref)
    }

    /// Weight `index`'s gradient, when it trains (`None` beyond the layer's weights).
    pub fn grad(&self, index: usize) -> Option<&TokenStream> {
        self.grads.get(index).and_then(Option::as_ref)
    }

    /// Whether the backward pass has nothing to compute: no input gradient asked for and
    /// no weight that trains.
    pub fn needs_no_backward(&self) -> bool {
        self.dxs.iter().all(Option::is_none) && self.grads.iter().all(Option::is_none)
    }

    fn buffer(&self, name: &str) -> &IoBuffer {
        self.buffers
            .iter()
            .find(|b| b.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "strata-macros: a layer reads its buffer `{name}`, which it does not declare"
                )
            })
    }

    /// The buffer `name`, `&mut`.
    pub fn buf(&self, name: &str) -> &TokenStream {
        &self.buffer(name).place
    }

    /// The buffer `name`, shared.
    pub fn buf_ref(&self, name: &str) -> &TokenStream {
        &self.buffer(name).shared
    }

    /// This `io` for a layer nested under `prefix` (a wrapper's copy): only the buffers
    /// named `prefix/...`, under their own names.
    pub fn within(&self, prefix: &str) -> Io {
        let prefix = format!("{prefix}/");
        let buffers = self
            .buffers
            .iter()
            .filter_map(|b| {
                let name = b.name.strip_prefix(&prefix)?;
                Some(IoBuffer {
                    name: name.to_string(),
                    ..b.clone()
                })
            })
            .collect();
        Io {
            buffers,
            ..self.clone()
        }
    }
}

/// `Some(t)` or `None` as code.
pub fn option(t: Option<&TokenStream>) -> TokenStream {
    match t {
        Some(t) => quote!(::core::option::Option::Some(#t)),
        None => quote!(::core::option::Option::None),
    }
}
