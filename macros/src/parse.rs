//! Stage 1: tokens -> an AST that keeps every span.
//!
//! ```text
//! model! {
//!     /// docs
//!     pub struct Mlp: [784] -> [10] {
//!         Dense(128, activation = relu),
//!         Dense(10),
//!     }
//! }
//! ```

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Token, Visibility, bracketed, parenthesized};

/// Everything inside `model! { ... }`.
pub struct Block {
    pub models: Vec<ModelDef>,
}

/// One `struct Name: [in] -> [out] { layers }`.
pub struct ModelDef {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub input: ShapeLit,
    pub output: Option<ShapeLit>,
    pub layers: Vec<LayerCall>,
}

/// A shape written by the user: `[28, 28, 1]`.
#[derive(Clone)]
pub struct ShapeLit {
    pub dims: Vec<usize>,
    pub span: Span,
}

/// One layer as written: `Dense(128, activation = relu)` or `Flatten`.
#[derive(Clone)]
pub struct LayerCall {
    pub kind: Ident,
    pub args: Vec<Arg>,
}

/// One argument of a layer: positional (`128`) or keyword (`activation = relu`).
#[derive(Clone)]
pub struct Arg {
    pub key: Option<Ident>,
    pub value: Value,
}

/// An argument's value, with its span.
#[derive(Clone)]
pub enum Value {
    Int(i64, Span),
    Float(f64, Span),
    Bool(bool, Span),
    Ident(Ident),
    Str(String, Span),
    List(Vec<Value>, Span),
    /// A layer given to a wrapper: `Bidirectional(LSTM(32))`.
    Layer(Box<LayerCall>),
}

impl Value {
    pub fn span(&self) -> Span {
        match self {
            Value::Int(_, s)
            | Value::Float(_, s)
            | Value::Bool(_, s)
            | Value::Str(_, s)
            | Value::List(_, s) => *s,
            Value::Ident(i) => i.span(),
            Value::Layer(call) => call.kind.span(),
        }
    }

    /// How the value reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Value::Int(i, _) => format!("the integer {i}"),
            Value::Float(f, _) => format!("the number {f}"),
            Value::Bool(b, _) => format!("`{b}`"),
            Value::Ident(i) => format!("the name `{i}`"),
            Value::Str(s, _) => format!("the string {s:?}"),
            Value::List(..) => "a list".to_string(),
            Value::Layer(call) => format!("the layer {}(...)", call.kind),
        }
    }
}

impl Parse for Block {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut models = Vec::new();
        while !input.is_empty() {
            models.push(input.parse()?);
        }
        Ok(Block { models })
    }
}

impl Parse for ModelDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        input.parse::<Token![struct]>()?;
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!(
                    "expected `:` and the input shape after the model's name, as in \
                     `struct {name}: [784] -> [10] {{ ... }}`"
                ),
            )
        })?;
        let input_shape: ShapeLit = input.parse()?;
        let output = if input.peek(Token![->]) {
            input.parse::<Token![->]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        let body;
        syn::braced!(body in input);
        let calls = Punctuated::<LayerCall, Token![,]>::parse_terminated(&body)?;
        Ok(ModelDef {
            attrs,
            vis,
            name,
            input: input_shape,
            output,
            layers: calls.into_iter().collect(),
        })
    }
}

impl Parse for ShapeLit {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let content;
        let bracket = bracketed!(content in input);
        let lits = Punctuated::<syn::LitInt, Token![,]>::parse_terminated(&content)?;
        let mut dims = Vec::new();
        for lit in &lits {
            let dim: usize = lit.base10_parse()?;
            if dim == 0 {
                return Err(syn::Error::new(
                    lit.span(),
                    "a dimension of a shape cannot be 0: every axis holds at least one value",
                ));
            }
            dims.push(dim);
        }
        if dims.is_empty() {
            return Err(syn::Error::new(
                bracket.span.join(),
                "a shape needs at least one dimension, e.g. `[784]` \
                 (the batch dimension is never written)",
            ));
        }
        Ok(ShapeLit {
            dims,
            span: bracket.span.join(),
        })
    }
}

impl Parse for LayerCall {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let kind: Ident = input.parse()?;
        let mut args = Vec::new();
        if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            let parsed = Punctuated::<Arg, Token![,]>::parse_terminated(&content)?;
            args = parsed.into_iter().collect();
        }
        Ok(LayerCall { kind, args })
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Ident) && input.peek2(Token![=]) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value = input.parse()?;
            Ok(Arg {
                key: Some(key),
                value,
            })
        } else {
            Ok(Arg {
                key: None,
                value: input.parse()?,
            })
        }
    }
}

impl Parse for Value {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Token![-]) {
            let minus: Token![-] = input.parse()?;
            return match input.parse::<Value>()? {
                Value::Int(i, s) => Ok(Value::Int(-i, minus.span.join(s).unwrap_or(s))),
                Value::Float(f, s) => Ok(Value::Float(-f, minus.span.join(s).unwrap_or(s))),
                other => Err(syn::Error::new(
                    other.span(),
                    "only a number can follow a minus sign",
                )),
            };
        }
        if input.peek(syn::token::Bracket) {
            let content;
            let bracket = bracketed!(content in input);
            let items = Punctuated::<Value, Token![,]>::parse_terminated(&content)?;
            return Ok(Value::List(
                items.into_iter().collect(),
                bracket.span.join(),
            ));
        }
        let lit = input.fork().parse::<syn::Lit>();
        if lit.is_ok() {
            let lit: syn::Lit = input.parse()?;
            let span = lit.span();
            return match lit {
                syn::Lit::Int(i) => Ok(Value::Int(i.base10_parse()?, span)),
                syn::Lit::Float(f) => Ok(Value::Float(f.base10_parse()?, span)),
                syn::Lit::Bool(b) => Ok(Value::Bool(b.value, span)),
                syn::Lit::Str(s) => Ok(Value::Str(s.value(), span)),
                _ => Err(syn::Error::new(
                    span,
                    "expected a number, a name, a string, `true`, `false` or a list `[...]`",
                )),
            };
        }
        if input.peek(Ident) && input.peek2(syn::token::Paren) {
            return Ok(Value::Layer(Box::new(input.parse()?)));
        }
        if input.peek(Ident) {
            return Ok(Value::Ident(input.parse()?));
        }
        Err(input.error("expected a number, a name, a string, `true`, `false` or a list `[...]`"))
    }
}
