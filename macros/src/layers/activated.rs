//! A layer's `activation` argument (Dense's, Conv2D's): the layer writes its linear output
//! to a pre-activation buffer, the activation kernel reads it; backward runs the other way.
//! Without an activation (`linear`, the default) the layer writes its output directly.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use strata_vocabulary::Activation;

use crate::layers::{Buffer, Io, krate};

/// The pre-activation buffer's name in the layer's buffers, and its gradient's.
const Z: &str = "z";
const DZ: &str = "dz";

/// An activation applied to a layer's linear output.
pub struct Activated {
    pub activation: Activation,
    /// Values per row the activation sees (softmax normalises rows): units or filters.
    pub row_len: usize,
}

impl Activated {
    fn is_linear(&self) -> bool {
        self.activation == Activation::Linear
    }

    /// The pre-activation and its gradient, `output_len` values per sample each (none
    /// without an activation).
    pub fn buffers(&self, output_len: usize) -> Vec<Buffer> {
        if self.is_linear() {
            Vec::new()
        } else {
            vec![
                Buffer::floats(Z, output_len),
                Buffer::floats(DZ, output_len),
            ]
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
        let (act, row_len) = (activation_tokens(self.activation), self.row_len);
        let (z, z_ref, y) = (io.buf(Z), io.buf_ref(Z), &io.y);
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
        let (act, row_len) = (activation_tokens(self.activation), self.row_len);
        let z = io.buf_ref(Z);
        let (dz, dz_ref) = (io.buf(DZ), io.buf_ref(DZ));
        let (y, dy) = (&io.y_ref, &io.dy);
        let k = krate();
        let linear = linear(dz_ref);
        quote! {
            #k::kernels::activation_backward(#act, #z, #y, #dy, #dz, #row_len);
            #linear
        }
    }

    /// The activation and buffers for a layer that applies it itself, chunk by chunk
    /// while each chunk is in the cache; `None` without an activation (the layer then
    /// writes its output directly).
    pub fn fused(&self, io: &Io) -> Option<FusedActivation> {
        if self.is_linear() {
            return None;
        }
        Some(FusedActivation {
            activation: activation_tokens(self.activation),
            z: io.buf(Z).clone(),
            z_ref: io.buf_ref(Z).clone(),
            dz: io.buf(DZ).clone(),
        })
    }
}

/// What a layer that applies its activation itself hands the kernel: the activation and
/// the pre-activation's buffers.
pub struct FusedActivation {
    /// The runtime's `Activation`, as code.
    pub activation: TokenStream,
    /// The pre-activation, `&mut [F]` and `&[F]`.
    pub z: TokenStream,
    pub z_ref: TokenStream,
    /// Its gradient, `&mut [F]`.
    pub dz: TokenStream,
}

/// The runtime's `Activation`, as code.
pub fn activation_tokens(activation: Activation) -> TokenStream {
    let k = krate();
    let variant = Ident::new(activation.variant(), Span::call_site());
    quote!(#k::kernels::Activation::#variant)
}
