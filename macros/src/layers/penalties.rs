//! Keras's regularizers and constraints as layer arguments: `kernel_regularizer =
//! L2(1e-4)`, `"l1_l2"`, `kernel_constraint = MaxNorm(2.0)`, `NonNeg`, ...

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::{Args, krate};
use crate::parse::{LayerCall, Value};
use crate::suggest::did_you_mean;

/// `l1 · Σ|w| + l2 · Σw²`.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Regularizer {
    pub l1: f64,
    pub l2: f64,
}

/// Keras's default factor of a regularizer named by a string (`"l2"`).
const DEFAULT_FACTOR: f64 = 0.01;

const REGULARIZERS: &[&str] = &["L1", "L2", "L1L2", "l1", "l2", "l1_l2"];
const CONSTRAINTS: &[&str] = &[
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "max_norm",
    "min_max_norm",
    "non_neg",
    "unit_norm",
];

impl Regularizer {
    /// Keras's serialization: `{"module": "keras.regularizers", "class_name": "L2", ...}`.
    pub fn json(&self) -> Json {
        let (class, config) = match (self.l1, self.l2) {
            (l1, 0.0) => ("L1", vec![("l1", Json::from(l1))]),
            (0.0, l2) => ("L2", vec![("l2", Json::from(l2))]),
            (l1, l2) => ("L1L2", vec![("l1", Json::from(l1)), ("l2", Json::from(l2))]),
        };
        keras_object("keras.regularizers", class, Json::object(config))
    }

    /// The runtime's `Regularizer`, as an expression.
    pub fn tokens(&self) -> TokenStream {
        let (k, l1, l2) = (krate(), self.l1, self.l2);
        quote!(#k::regularizers::Regularizer { l1: #l1, l2: #l2 })
    }
}

/// A constraint on a weight after each optimizer step.
#[derive(Clone, PartialEq, Debug)]
pub enum Constraint {
    MaxNorm {
        max_value: f64,
        axes: Vec<i64>,
    },
    MinMaxNorm {
        min_value: f64,
        max_value: f64,
        rate: f64,
        axes: Vec<i64>,
    },
    NonNeg,
    UnitNorm {
        axes: Vec<i64>,
    },
}

impl Constraint {
    /// The axes its norms reduce, as written.
    pub fn axes(&self) -> &[i64] {
        match self {
            Constraint::MaxNorm { axes, .. }
            | Constraint::MinMaxNorm { axes, .. }
            | Constraint::UnitNorm { axes } => axes,
            Constraint::NonNeg => &[],
        }
    }

    /// Keras's serialization.
    pub fn json(&self) -> Json {
        let axis = |axes: &[i64]| match axes {
            [one] => Json::from(*one),
            many => Json::ints(many),
        };
        let (class, config) = match self {
            Constraint::MaxNorm { max_value, axes } => (
                "MaxNorm",
                Json::object([("max_value", Json::from(*max_value)), ("axis", axis(axes))]),
            ),
            Constraint::MinMaxNorm {
                min_value,
                max_value,
                rate,
                axes,
            } => (
                "MinMaxNorm",
                Json::object([
                    ("min_value", Json::from(*min_value)),
                    ("max_value", Json::from(*max_value)),
                    ("rate", Json::from(*rate)),
                    ("axis", axis(axes)),
                ]),
            ),
            Constraint::NonNeg => ("NonNeg", Json::object(Vec::<(&str, Json)>::new())),
            Constraint::UnitNorm { axes } => ("UnitNorm", Json::object([("axis", axis(axes))])),
        };
        keras_object("keras.constraints", class, config)
    }

    /// The runtime's `Constraint` on a weight of `rank` axes, as an expression (the axes
    /// checked to be in range).
    pub fn tokens(&self, rank: usize) -> TokenStream {
        let k = krate();
        let axes = |axes: &[i64]| {
            let axes = axes
                .iter()
                .map(|&a| if a < 0 { a + rank as i64 } else { a } as usize);
            quote!(&[#(#axes),*])
        };
        match self {
            Constraint::MaxNorm { max_value, axes: a } => {
                let axes = axes(a);
                quote!(#k::constraints::Constraint::MaxNorm { max_value: #max_value, axes: #axes })
            }
            Constraint::MinMaxNorm {
                min_value,
                max_value,
                rate,
                axes: a,
            } => {
                let axes = axes(a);
                quote! {
                    #k::constraints::Constraint::MinMaxNorm {
                        min_value: #min_value, max_value: #max_value, rate: #rate, axes: #axes,
                    }
                }
            }
            Constraint::NonNeg => quote!(#k::constraints::Constraint::NonNeg),
            Constraint::UnitNorm { axes: a } => {
                let axes = axes(a);
                quote!(#k::constraints::Constraint::UnitNorm { axes: #axes })
            }
        }
    }
}

/// `{"module": module, "class_name": class, "config": config, "registered_name": null}`.
fn keras_object(module: &str, class: &str, config: Json) -> Json {
    Json::object([
        ("module", Json::str(module)),
        ("class_name", Json::str(class)),
        ("config", config),
        ("registered_name", Json::Null),
    ])
}

/// A regularizer or constraint as written: its name, and its own arguments.
fn named(value: &Value) -> Option<(String, &[crate::parse::Arg])> {
    match value {
        Value::Ident(name) => Some((name.to_string(), &[])),
        Value::Str(name, _) => Some((name.clone(), &[])),
        Value::Call(call) => {
            let LayerCall { kind, args, .. } = &**call;
            Some((kind.to_string(), args))
        }
        _ => None,
    }
}

impl Args<'_> {
    /// A regularizer: `L1(0.01)`, `L2(l2 = 1e-4)`, `L1L2(l1 = .., l2 = ..)` or Keras's
    /// strings `"l1"`, `"l2"`, `"l1_l2"` (factor 0.01); `None` with an error when wrong.
    pub fn regularizer(&self, keyword: &str, errors: &mut Errors) -> Option<Option<Regularizer>> {
        let Some(value) = self.value(keyword) else {
            return Some(None);
        };
        let Some((name, args)) = named(value) else {
            self.wrong_kind(keyword, "a regularizer, e.g. `L2(1e-4)`", value, errors);
            return None;
        };
        let factors: &[&str] = match name.as_str() {
            "L1" | "l1" => &["l1"],
            "L2" | "l2" => &["l2"],
            "L1L2" | "l1_l2" => &["l1", "l2"],
            _ => {
                self.unknown(keyword, "regularizer", &name, value, REGULARIZERS, errors);
                return None;
            }
        };
        let mut found = [None, None];
        let read = self.factor_args(keyword, &name, args, factors, errors)?;
        for (slot, factor) in factors.iter().zip(read) {
            let index = usize::from(*slot == "l2");
            found[index] = Some(factor.unwrap_or(DEFAULT_FACTOR));
        }
        Some(Some(Regularizer {
            l1: found[0].unwrap_or(0.0),
            l2: found[1].unwrap_or(0.0),
        }))
    }

    /// A constraint: `MaxNorm(2.0)`, `MaxNorm(max_value = 2, axis = 0)`, `MinMaxNorm(...)`,
    /// `NonNeg`, `UnitNorm(axis = [0, 1, 2])` or their snake-case strings.
    pub fn constraint(&self, keyword: &str, errors: &mut Errors) -> Option<Option<Constraint>> {
        let Some(value) = self.value(keyword) else {
            return Some(None);
        };
        let Some((name, args)) = named(value) else {
            self.wrong_kind(keyword, "a constraint, e.g. `MaxNorm(2.0)`", value, errors);
            return None;
        };
        let (names, defaults): (&[&str], &[f64]) = match name.as_str() {
            "MaxNorm" | "max_norm" => (&["max_value", "axis"], &[2.0, 0.0]),
            "MinMaxNorm" | "min_max_norm" => (
                &["min_value", "max_value", "rate", "axis"],
                &[0.0, 1.0, 1.0, 0.0],
            ),
            "NonNeg" | "non_neg" => (&[], &[]),
            "UnitNorm" | "unit_norm" => (&["axis"], &[0.0]),
            _ => {
                self.unknown(keyword, "constraint", &name, value, CONSTRAINTS, errors);
                return None;
            }
        };
        let axis_at = names.iter().position(|&n| n == "axis");
        let numbers: Vec<&str> = names.iter().copied().filter(|&n| n != "axis").collect();
        let read = self.factor_args(keyword, &name, &without(args, "axis"), &numbers, errors)?;
        let number = |i: usize| {
            read[i].unwrap_or(defaults[names.iter().position(|&n| n == numbers[i]).unwrap_or(0)])
        };
        let axes = match axis_at {
            Some(_) => self.constraint_axes(keyword, args, errors)?,
            None => Vec::new(),
        };
        if names.contains(&"min_value") && !(number(0) <= number(1) && number(2) <= 1.0) {
            errors.at(
                value.span(),
                format!(
                    "MinMaxNorm (the {keyword} of {}) needs min_value <= max_value and a rate \
                     from 0 to 1, but has min_value = {}, max_value = {}, rate = {}",
                    self.layer_name(),
                    number(0),
                    number(1),
                    number(2)
                ),
            );
            return None;
        }
        Some(Some(match name.as_str() {
            "MaxNorm" | "max_norm" => Constraint::MaxNorm {
                max_value: number(0),
                axes,
            },
            "MinMaxNorm" | "min_max_norm" => Constraint::MinMaxNorm {
                min_value: number(0),
                max_value: number(1),
                rate: number(2),
                axes,
            },
            "NonNeg" | "non_neg" => Constraint::NonNeg,
            _ => Constraint::UnitNorm { axes },
        }))
    }

    /// The `axis` of a constraint: one integer or a list, 0 by default.
    fn constraint_axes(
        &self,
        keyword: &str,
        args: &[crate::parse::Arg],
        errors: &mut Errors,
    ) -> Option<Vec<i64>> {
        let Some(arg) = args
            .iter()
            .find(|a| a.key.as_ref().is_some_and(|k| k == "axis"))
        else {
            return Some(vec![0]);
        };
        let ints = |v: &Value| match v {
            Value::Int(lit) => lit.within(-64, 64).map(|i| i as i64),
            _ => None,
        };
        let axes = match &arg.value {
            Value::List(items, _) => items.iter().map(ints).collect::<Option<Vec<_>>>(),
            one => ints(one).map(|a| vec![a]),
        };
        if axes.is_none() {
            errors.at(
                arg.value.span(),
                format!(
                    "the `axis` of {keyword} of {} is an axis of the weight or a list of them, \
                     e.g. `axis = 0` or `axis = [0, 1, 2]`",
                    self.layer_name()
                ),
            );
        }
        axes
    }

    /// The numbers `names` of a regularizer or constraint `name` (positional in that order,
    /// or by keyword), each finite and not negative.
    fn factor_args(
        &self,
        keyword: &str,
        name: &str,
        args: &[crate::parse::Arg],
        names: &[&str],
        errors: &mut Errors,
    ) -> Option<Vec<Option<f64>>> {
        let mut found = vec![None; names.len()];
        let mut ok = true;
        for (position, arg) in args.iter().enumerate() {
            let slot = match &arg.key {
                Some(key) => names.iter().position(|n| key == n),
                None => (position < names.len()).then_some(position),
            };
            let Some(slot) = slot else {
                let at = arg.key.as_ref().map_or(arg.value.span(), syn::Ident::span);
                let takes = match names {
                    [] => "no arguments".to_string(),
                    names => names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                errors.at(
                    at,
                    format!(
                        "{name} (the {keyword} of {}) takes {takes}",
                        self.layer_name()
                    ),
                );
                ok = false;
                continue;
            };
            let number = match &arg.value {
                Value::Float(f, _) => Some(*f),
                Value::Int(lit) => lit.value.map(|i| i as f64),
                _ => None,
            };
            match number {
                Some(n) if n.is_finite() && n >= 0.0 => found[slot] = Some(n),
                _ => {
                    errors.at(
                        arg.value.span(),
                        format!(
                            "`{}` of {name} (the {keyword} of {}) must be a finite number, 0 or \
                             more, but is {}",
                            names[slot],
                            self.layer_name(),
                            arg.value.describe()
                        ),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(found)
    }

    /// The error of a regularizer or constraint `name` that Keras does not have.
    fn unknown(
        &self,
        keyword: &str,
        what: &str,
        name: &str,
        value: &Value,
        known: &[&str],
        errors: &mut Errors,
    ) {
        errors.at(
            value.span(),
            format!(
                "unknown {what} `{name}` for {keyword} of {}{}\n  = note: the {what}s are {}",
                self.layer_name(),
                did_you_mean(name, known.iter().copied()),
                known
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
}

/// `args` without the keyword argument `keyword`.
fn without(args: &[crate::parse::Arg], keyword: &str) -> Vec<crate::parse::Arg> {
    args.iter()
        .filter(|a| a.key.as_ref().is_none_or(|k| k != keyword))
        .cloned()
        .collect()
}

/// The regularizer or constraint of a weight as JSON: its serialization, or `null`.
pub fn json_or_null<T>(value: &Option<T>, json: impl Fn(&T) -> Json) -> Json {
    value.as_ref().map_or(Json::Null, json)
}

/// A weight's regularizer and constraint, from its two arguments
/// (`kernel_regularizer`, `kernel_constraint`).
#[derive(Clone, Default, PartialEq, Debug)]
pub struct Held {
    pub regularizer: Option<Regularizer>,
    pub constraint: Option<Constraint>,
    keys: (&'static str, &'static str),
}

impl Held {
    /// Reads the arguments `regularizer` and `constraint`; `None` when either is wrong.
    pub fn read(
        args: &Args,
        regularizer: &'static str,
        constraint: &'static str,
        errors: &mut Errors,
    ) -> Option<Self> {
        let reg = args.regularizer(regularizer, errors);
        let con = args.constraint(constraint, errors);
        Some(Held {
            regularizer: reg?,
            constraint: con?,
            keys: (regularizer, constraint),
        })
    }

    /// `weight` held by these.
    pub fn hold(&self, weight: crate::layers::Weight) -> crate::layers::Weight {
        weight.held(self.regularizer, self.constraint.clone())
    }

    /// The regularizer's config member, Keras's serialization or `null`.
    pub fn regularizer_config(&self) -> (&'static str, Json) {
        (
            self.keys.0,
            json_or_null(&self.regularizer, Regularizer::json),
        )
    }

    /// The constraint's config member.
    pub fn constraint_config(&self) -> (&'static str, Json) {
        (
            self.keys.1,
            json_or_null(&self.constraint, Constraint::json),
        )
    }
}

/// The config members of weights' regularizers then constraints, in Keras's order:
/// `kernel_regularizer`, `bias_regularizer`, `kernel_constraint`, `bias_constraint`.
pub fn config(held: &[&Held]) -> Vec<(&'static str, Json)> {
    let regularizers = held.iter().map(|h| h.regularizer_config());
    let constraints = held.iter().map(|h| h.constraint_config());
    regularizers.chain(constraints).collect()
}
