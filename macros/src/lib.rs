//! The `model!` macro of strata: a Keras-style layer stack, read at compile time.
//!
//! The pipeline reads as its stages: parse the block, build each model's graph, infer and
//! check its shapes, expand it. Every error is collected and spanned on the user's tokens;
//! a model with errors still gets its type with stub bodies, so that one mistake gives one
//! error.
#![forbid(unsafe_code)]

mod errors;
mod expand;
mod graph;
mod layers;
mod names;
mod parse;
mod shapes;
mod suggest;

use proc_macro::TokenStream;

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
pub fn model(input: TokenStream) -> TokenStream {
    let block = syn::parse_macro_input!(input as parse::Block);
    let mut errors = errors::Errors::default();
    let mut output = proc_macro2::TokenStream::new();
    layers::foreign::check_declarations(&block, &mut errors);
    output.extend(layers::foreign::assertions(&block));
    for def in &block.models {
        let checked =
            graph::build(def, &block, &mut errors).and_then(|g| shapes::check(g, &mut errors));
        match checked {
            Some(checked) => output.extend(expand::model(&checked)),
            None => output.extend(expand::stub(def)),
        }
    }
    output.extend(errors.to_compile_errors());
    output.into()
}
