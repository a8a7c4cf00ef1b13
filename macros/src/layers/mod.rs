//! The layers: the contract every layer kind follows ([`contract`]), the registry of the
//! kinds users can name ([`registry`]), and one file per kind, in folders by family. Each
//! file says, in one place, a kind's arguments, its shape rule, its weights, its buffers,
//! its config and the kernel calls it emits.

mod activated;
mod args;
mod contract;
mod convolutional;
mod core;
pub mod foreign;
mod io;
mod kernel;
mod merging;
mod nested;
mod normalization;
pub mod penalties;
mod pooling;
mod recurrent;
pub mod registry;
mod regularization;
mod reshaping;
mod spatial;

pub use args::Args;
pub use contract::*;
pub use io::{Io, IoBuffer, option};

use proc_macro2::TokenStream;
use quote::quote;

/// The path of the facade crate in generated code.
pub fn krate() -> TokenStream {
    quote!(::strata)
}

/// The error of a model used as a layer applied to a value of another shape than its
/// input; `fix` ends the help (what else the user may change).
pub fn model_misfit(model: &str, takes: &[usize], got: &[usize], fix: &str) -> ShapeError {
    ShapeError::new(format!(
        "{model} takes {}, but is applied to {}",
        shape_str(takes),
        shape_str(got)
    ))
    .help(format!(
        "bring the value to {} first (Reshape, Flatten, or a layer that makes it), or {fix}",
        shape_str(takes)
    ))
}

/// `[a, b, c]`.
pub fn shape_str(shape: &[usize]) -> String {
    format!(
        "[{}]",
        shape
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}
