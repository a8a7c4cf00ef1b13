//! Reading a layer's arguments: positional and keyword, each checked for its kind, with
//! every mistake reported.

use proc_macro2::Span;
use syn::Ident;

use strata_vocabulary::{Activation, Initializer};

use crate::errors::Errors;
use crate::parse::{LayerCall, Value};
use crate::size::MAX_VALUES;
use crate::suggest::did_you_mean;

/// Arguments every layer takes, besides its own.
const COMMON: &[&str] = &["name", "trainable", "activity_regularizer"];

/// A layer's arguments, matched against the names it accepts.
pub struct Args<'a> {
    layer: &'a Ident,
    /// (keyword, value) for every argument that matched a known keyword.
    matched: Vec<(&'static str, &'a Value)>,
    /// The layer is inside a nested model declared `trainable = false`.
    in_frozen_model: bool,
}

impl<'a> Args<'a> {
    /// Matches the arguments of `call` to `keywords` (positional arguments take them in
    /// order), reporting unknown, repeated and surplus arguments.
    pub fn match_up(call: &'a LayerCall, keywords: &[&'static str], errors: &mut Errors) -> Self {
        let layer = &call.kind;
        let positional = positional(keywords);
        let mut matched: Vec<(&'static str, &'a Value)> = Vec::new();
        let mut seen_keyword = false;
        for (position, arg) in call.args.iter().enumerate() {
            let keyword = match &arg.key {
                None if seen_keyword => {
                    errors.at(
                        arg.value.span(),
                        format!(
                            "a positional argument cannot follow a keyword argument in \
                             {layer}(...); name it, e.g. `{} = ...`",
                            keywords.get(position).copied().unwrap_or("name")
                        ),
                    );
                    continue;
                }
                None => match positional.get(position) {
                    Some(&k) => k,
                    None => {
                        errors.at(arg.value.span(), surplus_message(layer, positional));
                        continue;
                    }
                },
                Some(key) => {
                    seen_keyword = true;
                    let key_str = key.to_string();
                    let all = keywords.iter().chain(COMMON).copied();
                    match all.clone().find(|&k| k == key_str) {
                        Some(k) => k,
                        None => {
                            errors.at(
                                key.span(),
                                format!(
                                    "{layer} has no argument `{key}`{}\n  = note: {layer} takes {}",
                                    did_you_mean(&key_str, all.clone()),
                                    list(all)
                                ),
                            );
                            continue;
                        }
                    }
                }
            };
            if matched.iter().any(|&(k, _)| k == keyword) {
                let at = arg.key.as_ref().map_or(arg.value.span(), Ident::span);
                errors.at(
                    at,
                    format!("`{keyword}` is given twice to {layer}; keep one of them"),
                );
                continue;
            }
            matched.push((keyword, &arg.value));
        }
        Args {
            layer,
            matched,
            in_frozen_model: false,
        }
    }

    /// The layer the arguments are given to, as written.
    pub fn layer_name(&self) -> &'a Ident {
        self.layer
    }

    /// The value given for `keyword`, if any.
    pub fn value(&self, keyword: &str) -> Option<&'a Value> {
        self.get(keyword)
    }

    fn get(&self, keyword: &str) -> Option<&'a Value> {
        self.matched
            .iter()
            .find(|&&(k, _)| k == keyword)
            .map(|&(_, v)| v)
    }

    /// Records `message` at the value of `keyword` (at the layer's name when it is absent).
    pub fn error_at(&self, keyword: &str, message: impl std::fmt::Display, errors: &mut Errors) {
        let span = self.get(keyword).map_or(self.layer.span(), Value::span);
        errors.at(span, message);
    }

    /// A required argument that is missing.
    pub fn missing(&self, keyword: &str, example: &str, errors: &mut Errors) {
        errors.at(
            self.layer.span(),
            format!("{} needs `{keyword}`, e.g. `{example}`", self.layer),
        );
    }

    /// A positive integer, or `None` (with an error) when given but not one.
    pub fn positive(&self, keyword: &str, errors: &mut Errors) -> Option<Option<usize>> {
        match self.get(keyword) {
            None => Some(None),
            Some(value) => self.at_least(1, keyword, value, errors).map(Some),
        }
    }

    /// `N` positive integers, written as one for all (`3`) or as a list (`[3, 5]`), as
    /// Keras's `kernel_size`, `strides`, `dilation_rate`, `pool_size`.
    pub fn positive_tuple<const N: usize>(
        &self,
        keyword: &str,
        errors: &mut Errors,
    ) -> Option<Option<[usize; N]>> {
        match self.get(keyword) {
            None => Some(None),
            Some(value) => self.tuple(1, keyword, value, errors).map(Some),
        }
    }

    /// Keras's ZeroPadding2D `padding`: `1` (every side), `[1, 2]` (top and bottom,
    /// left and right) or `[[top, bottom], [left, right]]`, none negative.
    pub fn padding2d(&self, keyword: &str, errors: &mut Errors) -> Option<Option<[[usize; 2]; 2]>> {
        let Some(value) = self.get(keyword) else {
            return Some(None);
        };
        if let Value::List(items, _) = value
            && items.iter().all(|item| matches!(item, Value::List(..)))
            && !items.is_empty()
        {
            let [vertical, horizontal] = self.list_of::<2>(keyword, value, errors)?;
            let vertical = self.tuple(0, keyword, vertical, errors);
            let horizontal = self.tuple(0, keyword, horizontal, errors);
            return Some(Some([vertical?, horizontal?]));
        }
        let [vertical, horizontal] = self.tuple::<2>(0, keyword, value, errors)?;
        Some(Some([[vertical; 2], [horizontal; 2]]))
    }

    /// A count of at least `min` (and at most as many values as a buffer holds), or
    /// `None` with an error that names the argument and its range.
    fn at_least(
        &self,
        min: i64,
        keyword: &str,
        value: &Value,
        errors: &mut Errors,
    ) -> Option<usize> {
        let Value::Int(lit) = value else {
            let what = if min > 0 {
                "a positive integer"
            } else {
                "a non-negative integer"
            };
            self.wrong_kind(keyword, what, value, errors);
            return None;
        };
        if let Some(n) = lit.within(min.into(), MAX_VALUES as i128) {
            return usize::try_from(n).ok();
        }
        let layer = self.layer;
        let text = match lit.value {
            Some(v) if v < min.into() => {
                format!(
                    "`{keyword}` of {layer} must be at least {min}, but is {}",
                    lit.text
                )
            }
            _ => format!(
                "`{keyword}` of {layer} must be from {min} to {MAX_VALUES} (the most values one \
                 buffer holds), but is {}",
                lit.text
            ),
        };
        errors.at(lit.span, text);
        None
    }

    /// `N` integers of at least `min`: one for all, or a list of `N`.
    fn tuple<const N: usize>(
        &self,
        min: i64,
        keyword: &str,
        value: &Value,
        errors: &mut Errors,
    ) -> Option<[usize; N]> {
        if !matches!(value, Value::List(..)) {
            return self.at_least(min, keyword, value, errors).map(|v| [v; N]);
        }
        let items = self.list_of::<N>(keyword, value, errors)?;
        let values: Vec<Option<usize>> = items
            .iter()
            .map(|item| self.at_least(min, keyword, item, errors))
            .collect();
        let values: Vec<usize> = values.into_iter().collect::<Option<_>>()?;
        values.try_into().ok()
    }

    /// The `N` items of a list, or `None` with an error.
    fn list_of<const N: usize>(
        &self,
        keyword: &str,
        value: &'a Value,
        errors: &mut Errors,
    ) -> Option<[&'a Value; N]> {
        let found = match value {
            Value::List(items, _) => {
                match <[&Value; N]>::try_from(items.iter().collect::<Vec<_>>()) {
                    Ok(items) => return Some(items),
                    Err(_) => format!("a list of {}", items.len()),
                }
            }
            other => other.describe(),
        };
        errors.at(
            value.span(),
            format!(
                "`{keyword}` of {} must be one integer or a list of {N}, but is {found}",
                self.layer
            ),
        );
        None
    }

    /// An integer, possibly negative (an axis), or `None` with an error.
    pub fn integer(&self, keyword: &str, errors: &mut Errors) -> Option<Option<(i64, Span)>> {
        match self.get(keyword) {
            None => Some(None),
            Some(value) => self.int(keyword, value, errors).map(Some),
        }
    }

    /// An integer that fits an `i64`, or `None` with an error.
    fn int(&self, keyword: &str, value: &Value, errors: &mut Errors) -> Option<(i64, Span)> {
        let Value::Int(lit) = value else {
            self.wrong_kind(keyword, "an integer", value, errors);
            return None;
        };
        match lit.within(i64::MIN.into(), i64::MAX.into()) {
            Some(i) => Some((i as i64, lit.span)),
            None => {
                errors.at(
                    lit.span,
                    format!(
                        "`{keyword}` of {} must be from {} to {}, but is {}",
                        self.layer,
                        i64::MIN,
                        i64::MAX,
                        lit.text
                    ),
                );
                None
            }
        }
    }

    /// The common argument `trainable`: `false` only when given as `false`. (The shapes
    /// stage reads it too, and reports a value of the wrong kind.)
    pub fn trainable(&self) -> bool {
        !self.in_frozen_model && !matches!(self.get("trainable"), Some(Value::Bool(false, _)))
    }

    /// Marks the layer as inside a frozen nested model (`Encoder(trainable = false)`):
    /// then [`Args::trainable`] is false whatever the layer's own argument says, as Keras 3
    /// freezes every layer of a frozen model (a BatchNormalization among them then
    /// normalizes by its moving statistics and keeps them).
    pub fn in_frozen_model(self, frozen: bool) -> Self {
        Args {
            in_frozen_model: frozen,
            ..self
        }
    }

    /// A number (integer or float), or `None` with an error.
    pub fn number(&self, keyword: &str, errors: &mut Errors) -> Option<Option<(f64, Span)>> {
        match self.get(keyword) {
            None => Some(None),
            Some(Value::Float(f, span)) if f.is_finite() => Some(Some((*f, *span))),
            Some(Value::Float(_, span)) => {
                errors.at(
                    *span,
                    format!(
                        "`{keyword}` of {} must be a finite number, but this one is too large \
                         for an f64",
                        self.layer
                    ),
                );
                None
            }
            Some(Value::Int(lit)) => match lit.value {
                Some(i) if (i as f64).is_finite() => Some(Some((i as f64, lit.span))),
                _ => {
                    errors.at(
                        lit.span,
                        format!("`{keyword}` of {} is too large a number", self.layer),
                    );
                    None
                }
            },
            Some(other) => {
                self.wrong_kind(keyword, "a number", other, errors);
                None
            }
        }
    }

    /// A dropout rate in `[0, 1)`, or `None` with an error that calls it `what` and says
    /// that it is the fraction of `dropped` that is dropped.
    pub fn rate(
        &self,
        keyword: &str,
        what: &str,
        dropped: &str,
        errors: &mut Errors,
    ) -> Option<Option<f64>> {
        let Some((rate, span)) = self.number(keyword, errors)? else {
            return Some(None);
        };
        if (0.0..1.0).contains(&rate) {
            return Some(Some(rate));
        }
        errors.at(
            span,
            format!(
                "{what} must be in [0, 1), but is {rate}\n  = help: it is the fraction of \
                 {dropped} dropped: 0.2 drops one in five"
            ),
        );
        None
    }

    /// `true` or `false`, or `None` with an error.
    pub fn boolean(&self, keyword: &str, errors: &mut Errors) -> Option<Option<bool>> {
        match self.get(keyword) {
            None => Some(None),
            Some(Value::Bool(b, _)) => Some(Some(*b)),
            Some(other) => {
                self.wrong_kind(keyword, "`true` or `false`", other, errors);
                None
            }
        }
    }

    /// A string, or `None` with an error.
    pub fn string(&self, keyword: &str, errors: &mut Errors) -> Option<Option<(String, Span)>> {
        match self.get(keyword) {
            None => Some(None),
            Some(Value::Str(s, span)) => Some(Some((s.clone(), *span))),
            Some(other) => {
                self.wrong_kind(keyword, "a string", other, errors);
                None
            }
        }
    }

    /// A name from `choices` (written bare, `relu`, or as a string, `"relu"`).
    pub fn choice(
        &self,
        keyword: &str,
        what: &str,
        choices: &[&'static str],
        errors: &mut Errors,
    ) -> Option<Option<&'static str>> {
        self.choice_of(keyword, what, choices.iter().copied(), errors)
    }

    /// [`Args::choice`] among `choices`.
    fn choice_of(
        &self,
        keyword: &str,
        what: &str,
        choices: impl Iterator<Item = &'static str> + Clone,
        errors: &mut Errors,
    ) -> Option<Option<&'static str>> {
        let Some(value) = self.get(keyword) else {
            return Some(None);
        };
        let (typed, span) = match value {
            Value::Ident(i) => (i.to_string(), i.span()),
            Value::Str(s, span) => (s.clone(), *span),
            other => {
                self.wrong_kind(keyword, &format!("{what} name"), other, errors);
                return None;
            }
        };
        match choices.clone().find(|&c| c == typed) {
            Some(c) => Some(Some(c)),
            None => {
                errors.at(
                    span,
                    format!(
                        "unknown {what} `{typed}`{}\n  = note: the {what}s are {}",
                        did_you_mean(&typed, choices.clone()),
                        list(choices)
                    ),
                );
                None
            }
        }
    }

    /// An activation, by its Keras name.
    pub fn activation(&self, keyword: &str, errors: &mut Errors) -> Option<Option<Activation>> {
        let name = self.choice_of(keyword, "activation", Activation::names(), errors)?;
        Some(name.and_then(Activation::from_name))
    }

    /// An initializer, by its Keras name.
    pub fn initializer(&self, keyword: &str, errors: &mut Errors) -> Option<Option<Initializer>> {
        let name = self.choice_of(keyword, "initializer", Initializer::names(), errors)?;
        Some(name.and_then(Initializer::from_name))
    }

    /// A layer (`LSTM(32)`, or `Flatten` by its name alone), or `None` with an error.
    pub fn layer(&self, keyword: &str, errors: &mut Errors) -> Option<Option<LayerCall>> {
        match self.get(keyword) {
            None => Some(None),
            Some(Value::Call(call)) => Some(Some((**call).clone())),
            Some(Value::Ident(kind)) => Some(Some(LayerCall {
                kind: kind.clone(),
                args: Vec::new(),
                applied: None,
            })),
            Some(other) => {
                self.wrong_kind(keyword, "a layer, e.g. `LSTM(32)`", other, errors);
                None
            }
        }
    }

    /// A list of integers (`[28, 28, 1]`; `-1` allowed where `allow_infer`).
    pub fn int_list(&self, keyword: &str, errors: &mut Errors) -> Option<Option<(Vec<i64>, Span)>> {
        match self.get(keyword) {
            None => Some(None),
            Some(Value::List(items, span)) => {
                let mut dims = Vec::new();
                for item in items {
                    match item {
                        Value::Int(_) => dims.push(self.int(keyword, item, errors)?.0),
                        other => {
                            self.wrong_kind(keyword, "a list of integers", other, errors);
                            return None;
                        }
                    }
                }
                Some(Some((dims, *span)))
            }
            Some(other) => {
                self.wrong_kind(
                    keyword,
                    "a list of integers, e.g. `[28, 28, 1]`",
                    other,
                    errors,
                );
                None
            }
        }
    }

    /// One integer or a list of them (Keras's `axes = 1` or `axes = [1, 2]`).
    pub fn ints(&self, keyword: &str, errors: &mut Errors) -> Option<Option<(Vec<i64>, Span)>> {
        match self.get(keyword) {
            Some(value @ Value::Int(_)) => {
                let (i, span) = self.int(keyword, value, errors)?;
                Some(Some((vec![i], span)))
            }
            _ => self.int_list(keyword, errors),
        }
    }

    pub fn wrong_kind(&self, keyword: &str, expected: &str, found: &Value, errors: &mut Errors) {
        errors.at(
            found.span(),
            format!(
                "`{keyword}` of {} must be {expected}, but is {}",
                self.layer,
                found.describe()
            ),
        );
    }
}

/// The keywords a positional argument can take: those before the regularizers and
/// constraints, which Keras users name (and whose order differs between Keras's layers).
fn positional<'k>(keywords: &'k [&'static str]) -> &'k [&'static str] {
    let held = |k: &&str| k.ends_with("_regularizer") || k.ends_with("_constraint");
    let end = keywords.iter().position(held).unwrap_or(keywords.len());
    &keywords[..end]
}

fn surplus_message(layer: &Ident, keywords: &[&str]) -> String {
    match keywords.len() {
        0 => format!("{layer} takes no positional arguments"),
        1 => format!("{layer} takes one positional argument, `{}`", keywords[0]),
        n => format!(
            "{layer} takes at most {n} positional arguments ({}); name the others",
            list(keywords.iter().copied())
        ),
    }
}

fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items
        .into_iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
