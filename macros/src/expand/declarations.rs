//! The model's struct, its workspace's, its constructors and `predict_one`: the items a
//! model has whether its checks pass or not.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::layers::krate;
use crate::parse::ModelDef;

pub fn workspace_ident(def: &ModelDef) -> Ident {
    format_ident!("{}Workspace", def.name)
}

/// The model's struct and its workspace's.
pub fn declarations(def: &ModelDef, fields: &[(Ident, TokenStream)]) -> TokenStream {
    let k = krate();
    let ModelDef {
        attrs, vis, name, ..
    } = def;
    let workspace = workspace_ident(def);
    let name_str = name.to_string();
    let workspace_doc = format!("Activations and caches of [`{name}`] for one batch size.");
    let fields = fields.iter().map(|(field, ty)| quote!(#field: #ty));
    quote! {
        #(#attrs)*
        #vis struct #name<F: #k::Float = f32> {
            params: #k::AlignedVec<F>,
            scratch: ::std::sync::Mutex<#workspace<F>>,
        }

        #[doc = #workspace_doc]
        #[doc(hidden)]
        #[derive(Default)]
        #vis struct #workspace<F: #k::Float> {
            capacity: usize,
            #(#fields,)*
            float: ::core::marker::PhantomData<F>,
        }

        impl<F: #k::Float> ::core::clone::Clone for #name<F> {
            fn clone(&self) -> Self {
                Self {
                    params: self.params.clone(),
                    scratch: ::core::default::Default::default(),
                }
            }
        }

        impl<F: #k::Float> ::core::fmt::Debug for #name<F> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name_str)
                    .field("params", &self.params.len())
                    .finish_non_exhaustive()
            }
        }
    }
}

/// `new` (for `f32`, so that `Mlp::new(seed)` needs no annotation) and `seeded` (any float).
pub fn constructors(def: &ModelDef) -> TokenStream {
    let k = krate();
    let name = &def.name;
    let vis = &def.vis;
    let new_doc =
        format!("A new `{name}` in `f32`, its weights drawn from their initializers with `seed`.");
    quote! {
        impl #name<f32> {
            #[doc = #new_doc]
            #vis fn new(seed: impl ::core::convert::Into<#k::Seed>) -> Self {
                Self::seeded(seed)
            }
        }

        impl<F: #k::Float> #name<F> {
            /// A new model in the float type `F`, its weights drawn with `seed`.
            #vis fn seeded(seed: impl ::core::convert::Into<#k::Seed>) -> Self {
                let mut rng = ::core::convert::Into::<#k::Seed>::into(seed).rng();
                let mut params = #k::AlignedVec::from_elem(F::default(), <Self as #k::Model>::PARAM_COUNT);
                <Self as #k::Model>::initialize(&mut params, &mut rng);
                Self {
                    params,
                    scratch: ::core::default::Default::default(),
                }
            }
        }
    }
}

/// `predict_one(&[F; IN]) -> [F; OUT]`, for a model of one 1-D input and one 1-D output.
pub fn predict_one(def: &ModelDef, outputs: &[Vec<usize>]) -> TokenStream {
    let ([input], [output]) = (&def.inputs[..], outputs) else {
        return TokenStream::new();
    };
    let ([input], [output]) = (input.shape.dims.as_slice(), output.as_slice()) else {
        return TokenStream::new();
    };
    let k = krate();
    let name = &def.name;
    let vis = &def.vis;
    quote! {
        impl<F: #k::Float> #name<F> {
            /// The model's output for one sample. A wrongly sized array does not compile.
            #vis fn predict_one(&self, x: &[F; #input]) -> [F; #output] {
                let mut y = [F::default(); #output];
                #k::__private::predict_one(self, &self.scratch, x, &mut y);
                y
            }
        }
    }
}
