//! The error collector: every independent mistake is reported in one compile.

use proc_macro2::{Span, TokenStream};

/// Collects errors, as serde_derive's `Ctxt` does.
#[derive(Default)]
pub struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    /// Records `message` at `span`.
    pub fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Every error as `compile_error!` invocations.
    pub fn to_compile_errors(&self) -> TokenStream {
        self.errors
            .iter()
            .map(syn::Error::to_compile_error)
            .collect()
    }
}

/// A message with the notes and help that explain it, laid out as rustc lays out its own.
pub fn message(headline: impl Into<String>, notes: &[String], help: Option<String>) -> String {
    let mut text = headline.into();
    for note in notes {
        text.push_str("\n  = note: ");
        text.push_str(note);
    }
    if let Some(help) = help {
        text.push_str("\n  = help: ");
        text.push_str(&help);
    }
    text
}
