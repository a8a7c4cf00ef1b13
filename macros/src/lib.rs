//! The `model!` macro of strata: a Keras-style layer stack, read at compile time.
//!
//! The macro is a pipeline, one stage a module, each consuming the last one's output:
//! `parse` the block into an AST that keeps every span, build each model's `graph` of
//! layer applications, `check` its meaning (every layer configured and built on its
//! input shapes), `plan` where every value and buffer lives, and `expand` it into
//! tokens. Every error is collected and spanned on the user's tokens; a model with errors
//! still gets its type with stub bodies, so that one mistake gives one error.
//!
//! A layer kind is one file under `layers/`, which follows the contract of
//! `layers/contract.rs` and is listed in `layers/registry.rs`.
#![forbid(unsafe_code)]

mod check;
mod describe;
mod errors;
mod expand;
mod graph;
mod json;
mod layers;
mod parse;
mod plan;
mod size;
mod suggest;

#[cfg(test)]
mod never_panics;

use proc_macro2::TokenStream;

/// Defines models from Keras-style layer stacks, with every shape checked at compile time.
///
/// ```ignore
/// model! {
///     /// Fashion-MNIST classifier.
///     pub struct Mlp: [784] -> [10] {
///         Dense(128, activation = relu),
///         Dropout(0.2),
///         Dense(10),
///     }
/// }
/// ```
///
/// A model of another block or crate is a layer through its declared signature, which
/// the generated code asserts at compile time:
///
/// ```ignore
/// model! {
///     use encoders::Encoder: [784] -> [32];
///     pub struct Classifier: [784] -> [10] { Encoder(trainable = false), Dense(10) }
/// }
/// ```
#[proc_macro]
pub fn model(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand_block(input.into()).into()
}

/// Every kind of layer a model can name, as a list of strings: what the layer harness's
/// coverage test compares its cases with.
#[doc(hidden)]
#[proc_macro]
pub fn layer_kinds(_input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let kinds = layers::registry::REGISTRY.iter().map(|kind| kind.name());
    quote::quote!(&[#(#kinds),*]).into()
}

/// The whole macro on `input`, the tokens inside `model! { ... }`: the models' items and
/// every error as `compile_error!`.
fn expand_block(input: TokenStream) -> TokenStream {
    let block: parse::Block = match syn::parse2(input) {
        Ok(block) => block,
        Err(error) => return error.to_compile_error(),
    };
    let mut errors = errors::Errors::default();
    let mut output = TokenStream::new();
    layers::foreign::check_declarations(&block, &mut errors);
    output.extend(layers::foreign::assertions(&block));
    for def in &block.models {
        let checked =
            graph::build(def, &block, &mut errors).and_then(|g| check::check(g, &mut errors));
        match checked {
            Some(checked) => output.extend(expand::model(&plan::Plan::new(&checked))),
            None => output.extend(expand::stub(def)),
        }
    }
    output.extend(errors.to_compile_errors());
    output
}
