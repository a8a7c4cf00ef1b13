//! Stage 1: tokens -> an AST that keeps every span.
//!
//! ```text
//! model! {
//!     /// docs
//!     pub struct Mlp: [784] -> [10] {
//!         Dense(128, activation = relu),
//!         Dense(10),
//!     }
//!
//!     struct Block: [28, 28, 32] -> [28, 28, 32] {
//!         let h = Conv2D(32, kernel_size = 3, padding = same, activation = relu)(input);
//!         Activation(relu)(Add(input, h))
//!     }
//! }
//! ```
//!
//! A model of another block is declared with its signature, `use encoders::Encoder:
//! [784] -> [32];`, and used by its last name as a model of the block is.
//!
//! The body is read as statements, `let name = expression;` (or `let (a, _, c) = ...;` for
//! a layer that gives several values) or an expression, separated by `,` or `;`. Whether
//! an expression is a layer or the application of a layer to values
//! depends on which names are values: that is the graph stage's to decide.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Token, Visibility, bracketed, parenthesized};

use crate::size;

/// Everything inside `model! { ... }`.
pub struct Block {
    pub models: Vec<ModelDef>,
    /// The models of other blocks the models use, with their declared signatures.
    pub uses: Vec<UseDecl>,
}

/// `use encoders::Encoder: [784] -> [32];`: a model defined elsewhere, by its path and
/// the signature the block trusts it to have.
pub struct UseDecl {
    /// The path as written, resolved where the block is.
    pub path: syn::Path,
    /// The last segment of the path: the name the block's models use.
    pub name: Ident,
    pub input: ShapeLit,
    pub output: ShapeLit,
}

impl UseDecl {
    /// `[784] -> [32]`.
    pub fn signature(&self) -> String {
        format!(
            "{} -> {}",
            crate::layers::shape_str(&self.input.dims),
            crate::layers::shape_str(&self.output.dims)
        )
    }
}

/// One `struct Name: [in] -> [out] { body }`.
pub struct ModelDef {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// One or more; a single one may be unnamed (`[784]`, named `input` in the body).
    pub inputs: Vec<Input>,
    /// The declared outputs, when the signature has `-> ...`: one unnamed (`[10]`) or
    /// several named (`(logits: [10], embedding: [32])`).
    pub outputs: Option<Vec<Output>>,
    pub body: Vec<Statement>,
}

impl ModelDef {
    /// The shape of the packed input row: the input's shape, or `[total]` for several.
    pub fn packed_input_shape(&self) -> Vec<usize> {
        match &self.inputs[..] {
            [one] => one.shape.dims.clone(),
            many => vec![many.iter().map(|i| i.shape.len()).sum()],
        }
    }
}

/// The integer type of token ids: `u8`, `u16`, `u32`, `u64`, `i32`, `i64`.
pub struct IdType {
    pub name: Ident,
    /// How many ids it can hold (0 to this - 1).
    pub capacity: u128,
}

/// ` of u32` after a shape, if there.
fn parse_ids(input: ParseStream) -> syn::Result<Option<IdType>> {
    if !(input.peek(Ident) && input.fork().parse::<Ident>().is_ok_and(|i| i == "of")) {
        return Ok(None);
    }
    input.parse::<Ident>()?;
    let name: Ident = input.parse()?;
    let capacity: u128 = match name.to_string().as_str() {
        "u8" => 1 << 8,
        "u16" => 1 << 16,
        "u32" => 1 << 32,
        "u64" => 1 << 64,
        "i32" => 1 << 31,
        "i64" => 1 << 63,
        other => {
            return Err(syn::Error::new(
                name.span(),
                format!(
                    "token ids are integers: `of u8`, `u16`, `u32`, `u64`, `i32` or `i64`, not \
                     `{other}`"
                ),
            ));
        }
    };
    Ok(Some(IdType { name, capacity }))
}

/// A declared output: `[10]`, or `logits: [10]` among several.
pub struct Output {
    pub name: Option<Ident>,
    pub shape: ShapeLit,
}

/// An input of the model: `[784]` (named `input` in a graph body) or `x: [784]`; token
/// ids for an Embedding as `[20] of u32`.
pub struct Input {
    pub name: Ident,
    pub shape: ShapeLit,
    /// `u32` in `[20] of u32`: the values are token ids of that type.
    pub ids: Option<IdType>,
    /// Whether the user wrote the name.
    pub named: bool,
}

/// One statement of a model's body.
pub enum Statement {
    /// `let h = Dense(32)(x);`, `let (_, h, c) = LSTM(32, return_state = true)(x);`
    Let { pattern: Pattern, value: LayerCall },
    /// `Dense(32)`, `Dense(32)(x)`, `h`.
    Expr(LayerCall),
    /// `(logits, embedding)`: the outputs of a model of several, with its span.
    Tuple(Vec<LayerCall>, Span),
}

/// What a `let` binds: a name, or a tuple of names (`_` for a value left unbound).
pub enum Pattern {
    Name(Ident),
    Tuple(Vec<Option<Ident>>, Span),
}

impl Parse for Pattern {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if !input.peek(syn::token::Paren) {
            return Ok(Pattern::Name(input.parse()?));
        }
        let content;
        let paren = parenthesized!(content in input);
        let names =
            Punctuated::<Option<Ident>, Token![,]>::parse_terminated_with(&content, |item| {
                match item.parse::<Option<Token![_]>>()? {
                    Some(_) => Ok(None),
                    None => item.parse().map(Some),
                }
            })?;
        Ok(Pattern::Tuple(
            names.into_iter().collect(),
            paren.span.join(),
        ))
    }
}

/// A shape written by the user: `[28, 28, 1]`, whose values one buffer can hold.
#[derive(Clone)]
pub struct ShapeLit {
    pub dims: Vec<usize>,
    pub span: Span,
}

impl ShapeLit {
    /// Values per sample (checked to fit when parsed).
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }
}

/// A name, possibly called once or twice: `Dense(128, activation = relu)`, `Flatten`,
/// `h`, `encode(a)`, `Dense(10)(h)`.
#[derive(Clone)]
pub struct LayerCall {
    pub kind: Ident,
    pub args: Vec<Arg>,
    /// The second parentheses of `Dense(10)(h)`, with their span.
    pub applied: Option<(Vec<Arg>, Span)>,
}

/// One argument of a layer: positional (`128`) or keyword (`activation = relu`).
#[derive(Clone)]
pub struct Arg {
    pub key: Option<Ident>,
    pub value: Value,
}

/// An integer as written, which may be too large for any argument: each argument checks
/// its own range.
#[derive(Clone)]
pub struct IntLit {
    /// The value, when it fits an `i128`.
    pub value: Option<i128>,
    /// The digits as written, with the sign.
    pub text: String,
    pub span: Span,
}

impl IntLit {
    /// The value, when it is in `min..=max`.
    pub fn within(&self, min: i128, max: i128) -> Option<i128> {
        self.value.filter(|v| (min..=max).contains(v))
    }
}

/// An argument's value, with its span.
#[derive(Clone)]
pub enum Value {
    Int(IntLit),
    Float(f64, Span),
    Bool(bool, Span),
    Ident(Ident),
    Str(String, Span),
    List(Vec<Value>, Span),
    /// A call in an argument: `encode(a)` in `Flatten(encode(a))`.
    Call(Box<LayerCall>),
}

impl Value {
    pub fn span(&self) -> Span {
        match self {
            Value::Int(IntLit { span: s, .. })
            | Value::Float(_, s)
            | Value::Bool(_, s)
            | Value::Str(_, s)
            | Value::List(_, s) => *s,
            Value::Ident(i) => i.span(),
            Value::Call(call) => call.kind.span(),
        }
    }

    /// How the value reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Value::Int(i) => format!("the integer {}", i.text),
            Value::Float(f, _) => format!("the number {f}"),
            Value::Bool(b, _) => format!("`{b}`"),
            Value::Ident(i) => format!("the name `{i}`"),
            Value::Str(s, _) => format!("the string {s:?}"),
            Value::List(..) => "a list".to_string(),
            Value::Call(call) => format!("the call `{}(...)`", call.kind),
        }
    }
}

impl Parse for Block {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let (mut models, mut uses) = (Vec::new(), Vec::new());
        while !input.is_empty() {
            if input.peek(Token![use]) {
                uses.push(input.parse()?);
            } else {
                models.push(input.parse()?);
            }
        }
        Ok(Block { models, uses })
    }
}

impl Parse for UseDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        input.parse::<Token![use]>()?;
        let path = syn::Path::parse_mod_style(input)?;
        let name = path
            .segments
            .last()
            .map(|segment| segment.ident.clone())
            .ok_or_else(|| input.error("expected the path of a model"))?;
        let example = format!("use {}: [784] -> [32];", path_str(&path));
        input.parse::<Token![:]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected `:` and the model's signature after its path, as in `{example}`"),
            )
        })?;
        let one_shape = |input: ParseStream| -> syn::Result<ShapeLit> {
            if input.peek(syn::token::Paren) {
                return Err(input.error(format!(
                    "a model of another block is used as a layer of one input and one output: \
                     declare its signature with one shape each, as in `{example}`"
                )));
            }
            input.parse()
        };
        let shape_in = one_shape(input)?;
        input.parse::<Token![->]>()?;
        let shape_out = one_shape(input)?;
        input.parse::<Token![;]>()?;
        Ok(UseDecl {
            path,
            name,
            input: shape_in,
            output: shape_out,
        })
    }
}

/// `encoders::Encoder`, as written.
pub fn path_str(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let lead = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{lead}{}", segments.join("::"))
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
        let inputs = parse_inputs(input)?;
        let outputs = if input.peek(Token![->]) {
            input.parse::<Token![->]>()?;
            Some(parse_outputs(input)?)
        } else {
            None
        };
        let body;
        syn::braced!(body in input);
        Ok(ModelDef {
            attrs,
            vis,
            name,
            inputs,
            outputs,
            body: parse_body(&body)?,
        })
    }
}

/// `[784]` or `(x: [784])` or `(a: [20, 64], b: [20, 64])`.
fn parse_inputs(input: ParseStream) -> syn::Result<Vec<Input>> {
    if !input.peek(syn::token::Paren) {
        let shape: ShapeLit = input.parse()?;
        return Ok(vec![Input {
            name: Ident::new("input", shape.span),
            shape,
            ids: parse_ids(input)?,
            named: false,
        }]);
    }
    let named = parse_named_shapes(
        input,
        "a model needs an input, e.g. `(x: [784])` or `[784]`",
    )?;
    let total = named
        .iter()
        .fold(0u128, |total, (_, shape, _)| total + shape.len() as u128);
    if size::fits(total).is_none() {
        return Err(syn::Error::new(
            named[0].1.span,
            format!(
                "the inputs hold {total} values per sample together, {}",
                size::limit_str()
            ),
        ));
    }
    Ok(named
        .into_iter()
        .map(|(name, shape, ids)| Input {
            name,
            shape,
            ids,
            named: true,
        })
        .collect())
}

/// `[10]` or `(logits: [10], embedding: [32])`.
fn parse_outputs(input: ParseStream) -> syn::Result<Vec<Output>> {
    if !input.peek(syn::token::Paren) {
        return Ok(vec![Output {
            name: None,
            shape: input.parse()?,
        }]);
    }
    let named = parse_named_shapes(
        input,
        "declare the outputs, e.g. `(logits: [10], embedding: [32])`",
    )?;
    Ok(named
        .into_iter()
        .map(|(name, shape, _)| Output {
            name: Some(name),
            shape,
        })
        .collect())
}

/// `(name: [shape], ...)`, at least one; `if_empty` says what to write otherwise.
fn parse_named_shapes(
    input: ParseStream,
    if_empty: &str,
) -> syn::Result<Vec<(Ident, ShapeLit, Option<IdType>)>> {
    let content;
    let paren = parenthesized!(content in input);
    let named = Punctuated::<(Ident, ShapeLit, Option<IdType>), Token![,]>::parse_terminated_with(
        &content,
        parse_named_shape,
    )?;
    if named.is_empty() {
        return Err(syn::Error::new(paren.span.join(), if_empty));
    }
    Ok(named.into_iter().collect())
}

/// `name: [shape]`, or `name: [shape] of u32`.
fn parse_named_shape(input: ParseStream) -> syn::Result<(Ident, ShapeLit, Option<IdType>)> {
    if input.peek(syn::token::Bracket) {
        return Err(input
            .error("name each of several inputs or outputs, e.g. `(a: [20, 64], b: [20, 64])`"));
    }
    let name: Ident = input.parse()?;
    input.parse::<Token![:]>()?;
    let shape = input.parse()?;
    Ok((name, shape, parse_ids(input)?))
}

/// Statements separated by `,` or `;`; a `let` ends with `;`.
fn parse_body(body: ParseStream) -> syn::Result<Vec<Statement>> {
    let mut statements = Vec::new();
    while !body.is_empty() {
        if body.peek(Token![let]) {
            body.parse::<Token![let]>()?;
            let pattern: Pattern = body.parse()?;
            body.parse::<Token![=]>()?;
            let value: LayerCall = body.parse()?;
            body.parse::<Token![;]>()?;
            statements.push(Statement::Let { pattern, value });
            continue;
        }
        if body.peek(syn::token::Paren) {
            let content;
            let paren = parenthesized!(content in body);
            let values = Punctuated::<LayerCall, Token![,]>::parse_terminated(&content)?;
            statements.push(Statement::Tuple(
                values.into_iter().collect(),
                paren.span.join(),
            ));
        } else {
            statements.push(Statement::Expr(body.parse()?));
        }
        if body.is_empty() {
            break;
        }
        if body.peek(Token![;]) {
            body.parse::<Token![;]>()?;
        } else {
            body.parse::<Token![,]>()?;
        }
    }
    Ok(statements)
}

impl Parse for ShapeLit {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let content;
        let bracket = bracketed!(content in input);
        let lits = Punctuated::<syn::LitInt, Token![,]>::parse_terminated(&content)?;
        let mut dims = Vec::new();
        for lit in &lits {
            let dim: usize = lit.base10_parse().map_err(|_| {
                syn::Error::new(
                    lit.span(),
                    format!(
                        "this dimension, {}, is more values than a machine can address",
                        lit.base10_digits()
                    ),
                )
            })?;
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
        if size::len(&dims).is_none() {
            return Err(syn::Error::new(
                bracket.span.join(),
                format!(
                    "a sample of this shape holds {} values, {}",
                    size::count_str(size::product(&dims)),
                    size::limit_str()
                ),
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
        let mut applied = None;
        if input.peek(syn::token::Paren) {
            args = parse_args(input)?.0;
            if input.peek(syn::token::Paren) {
                applied = Some(parse_args(input)?);
            }
        }
        Ok(LayerCall {
            kind,
            args,
            applied,
        })
    }
}

/// `(a, b = c, ...)` and the span of its parentheses.
fn parse_args(input: ParseStream) -> syn::Result<(Vec<Arg>, Span)> {
    let content;
    let paren = parenthesized!(content in input);
    let parsed = Punctuated::<Arg, Token![,]>::parse_terminated(&content)?;
    Ok((parsed.into_iter().collect(), paren.span.join()))
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
                Value::Int(i) => Ok(Value::Int(IntLit {
                    value: i.value.and_then(i128::checked_neg),
                    text: format!("-{}", i.text),
                    span: minus.span.join(i.span).unwrap_or(i.span),
                })),
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
                syn::Lit::Int(i) => Ok(Value::Int(IntLit {
                    value: i.base10_digits().parse().ok(),
                    text: i.base10_digits().to_string(),
                    span,
                })),
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
            return Ok(Value::Call(Box::new(input.parse()?)));
        }
        if input.peek(Ident) {
            return Ok(Value::Ident(input.parse()?));
        }
        Err(input.error("expected a number, a name, a string, `true`, `false` or a list `[...]`"))
    }
}
