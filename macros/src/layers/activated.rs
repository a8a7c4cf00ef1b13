//! A layer's `activation` argument (Dense's, Conv2D's): the layer writes its linear output
//! to a pre-activation buffer, the activation kernel reads it; backward runs the other way.
//! Without an activation (`linear`, the default) the layer writes its output directly.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::layers::{Buffer, Io, krate};
use crate::names;

/// An activation applied to a layer's linear output.
pub struct Activated {
    /// The activation's name, `linear` for none.
    pub activation: &'static str,
    /// Values per row the activation sees (softmax normalises rows): units or filters.
    pub row_len: usize,
    /// The index in [`Io::bufs`] of the first of the two buffers of [`Activated::buffers`].
    pub first_buffer: usize,
}

impl Activated {
    fn is_linear(&self) -> bool {
        self.activation == "linear"
    }

    fn variant(&self) -> TokenStream {
        activation_tokens(self.activation)
    }

    /// The pre-activation and its gradient, `output_len` values per sample each (none
    /// without an activation). They go at `first_buffer` in the layer's buffers.
    pub fn buffers(&self, output_len: usize) -> Vec<Buffer> {
        if self.is_linear() {
            Vec::new()
        } else {
            vec![Buffer::floats(output_len), Buffer::floats(output_len)]
        }
    }

    /// The forward pass: `linear(z)` writes the layer's linear output to `z` (`&mut [F]`),
    /// then the activation maps it to the output.
    pub fn forward(
        &self,
        io: &Io,
        linear: impl FnOnce(&TokenStream) -> TokenStream,
    ) -> TokenStream {
        if self.is_linear() {
            return linear(&io.y);
        }
        let (act, row_len) = (self.variant(), self.row_len);
        let (z, z_ref, y) = (
            &io.bufs[self.first_buffer],
            &io.bufs_ref[self.first_buffer],
            &io.y,
        );
        let k = krate();
        let linear = linear(z);
        quote! {
            #linear
            #k::kernels::activation_forward(#act, #z_ref, #y, #row_len);
        }
    }

    /// The backward pass: the activation's gradient into the pre-activation's, then
    /// `linear(dz)` with `dz` (`&[F]`) the gradient of the linear output.
    pub fn backward(
        &self,
        io: &Io,
        linear: impl FnOnce(&TokenStream) -> TokenStream,
    ) -> TokenStream {
        if self.is_linear() {
            return linear(&io.dy);
        }
        let (act, row_len) = (self.variant(), self.row_len);
        let z = &io.bufs_ref[self.first_buffer];
        let (dz, dz_ref) = (
            &io.bufs[self.first_buffer + 1],
            &io.bufs_ref[self.first_buffer + 1],
        );
        let (y, dy) = (&io.y_ref, &io.dy);
        let k = krate();
        let linear = linear(dz_ref);
        quote! {
            #k::kernels::activation_backward(#act, #z, #y, #dy, #dz, #row_len);
            #linear
        }
    }
}

/// What a layer that applies its activation itself, chunk by chunk while each chunk is
/// in the cache, hands the kernel: the activation and the pre-activation's buffers.
pub struct Fused {
    /// The runtime's `Activation`, as code.
    pub activation: TokenStream,
    /// The pre-activation, `&mut [F]` and `&[F]`.
    pub z: TokenStream,
    pub z_ref: TokenStream,
    /// Its gradient, `&mut [F]`.
    pub dz: TokenStream,
}

impl Activated {
    /// The activation and buffers for a layer that applies it itself; `None` without an
    /// activation (the layer then writes its output directly).
    pub fn fused(&self, io: &Io) -> Option<Fused> {
        if self.is_linear() {
            return None;
        }
        Some(Fused {
            activation: self.variant(),
            z: io.bufs[self.first_buffer].clone(),
            z_ref: io.bufs_ref[self.first_buffer].clone(),
            dz: io.bufs[self.first_buffer + 1].clone(),
        })
    }
}

/// The runtime's `Activation` called `name`, as code.
pub fn activation_tokens(name: &str) -> TokenStream {
    let k = krate();
    let variant = Ident::new(names::activation_variant(name), Span::call_site());
    quote!(#k::kernels::Activation::#variant)
}

/// `Some(t)` or `None` as code.
pub fn option(t: Option<&TokenStream>) -> TokenStream {
    match t {
        Some(t) => quote!(::core::option::Option::Some(#t)),
        None => quote!(::core::option::Option::None),
    }
}
