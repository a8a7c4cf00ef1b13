//! Models used as layers: a model of the same block, whose layers are copied into the
//! graph under its name, or a model of another block, one layer through its declared
//! signature.

use proc_macro2::Span;
use syn::Ident;

use super::build::{Builder, Target, build_within};
use super::{Application, Graph, LayerDecl, LayerId, Nested, NestedId, Op, ValueId};
use crate::errors::Errors;
use crate::layers::registry;
use crate::parse::{Arg, Block, LayerCall, ModelDef, Statement, Value};

/// A nested model while the graph is built: its own graph, and where its layers start
/// among the builder's.
pub(super) struct NestedBuild<'a> {
    pub info: Nested,
    pub graph: Option<Graph<'a>>,
    pub first_layer: usize,
}

/// The `name = "..."` (with its span) and `trainable = ...` given to a model used as a
/// layer.
type ModelConfig = (Option<(String, Span)>, Option<bool>);

/// A model used as a layer: one of the block, or one of another block that the block
/// declares with `use`, by index into [`Block::uses`].
#[derive(Clone, Copy)]
pub(super) enum ModelRef<'a> {
    Block(&'a ModelDef),
    Foreign(usize),
}

impl<'a> Builder<'a, '_> {
    /// The model named `name`, if it is one: a model of the block, or one of another
    /// block that the block declares (unless a layer has its name, which the declaration's
    /// error then says).
    pub(super) fn model_ref(&self, name: &Ident) -> Option<ModelRef<'a>> {
        let block: &'a Block = self.block;
        if let Some(def) = block.models.iter().find(|def| def.name == *name) {
            return Some(ModelRef::Block(def));
        }
        if registry::lookup(&name.to_string()).is_some() {
            return None;
        }
        block
            .uses
            .iter()
            .position(|decl| decl.name == *name)
            .map(ModelRef::Foreign)
    }

    /// A model used as a layer, configured by `config`: a nested model, or a layer for a
    /// model of another block.
    pub(super) fn declare_any_model(
        &mut self,
        call: &LayerCall,
        model: ModelRef<'a>,
        config: Vec<Arg>,
    ) -> Option<Target> {
        match model {
            ModelRef::Block(def) => self.declare_model(call, def, config).map(Target::Model),
            ModelRef::Foreign(index) => {
                self.model_config(&call.kind, &config)?;
                let layer = self.declare(call, config);
                self.layers[layer.0].foreign = Some(index);
                Some(Target::Layer(layer))
            }
        }
    }

    /// Applies a model declared by [`Builder::declare_any_model`] to `input`.
    pub(super) fn apply_any_model(&mut self, model: Target, input: ValueId, span: Span) -> ValueId {
        match model {
            Target::Model(model) => self.apply_model(model, input, span),
            Target::Layer(layer) => self.apply(layer, vec![input], span),
            Target::Value(_) => unreachable!("a model is declared as a model or a layer"),
        }
    }

    /// `Encoder(trainable = false)`, `Encoder(x)`, `Encoder(name = "enc")(x)`.
    pub(super) fn eval_model(&mut self, call: &LayerCall, model: ModelRef<'a>) -> Option<Target> {
        let (inputs, config): (Vec<&Arg>, Vec<&Arg>) =
            call.args.iter().partition(|arg| arg.key.is_none());
        let config = config.into_iter().cloned().collect();
        let model = self.declare_any_model(call, model, config)?;
        let input = match &call.applied {
            Some((applied, _)) if inputs.is_empty() => applied.iter().collect(),
            Some((_, span)) => {
                self.error(
                    *span,
                    format!(
                        "{} already has its input in its first parentheses",
                        call.kind
                    ),
                );
                return None;
            }
            None if inputs.is_empty() => return Some(model),
            None => inputs,
        };
        let input = self.eval_model_input(input.into_iter(), &call.kind)?;
        Some(Target::Value(self.apply_any_model(
            model,
            input,
            call.kind.span(),
        )))
    }

    /// The one value a nested model is applied to.
    pub(super) fn eval_model_input<'c>(
        &mut self,
        args: impl Iterator<Item = &'c Arg>,
        model: &Ident,
    ) -> Option<ValueId> {
        let values = self.eval_inputs(args, model)?;
        match values[..] {
            [value] => Some(value),
            _ => {
                self.error(
                    model.span(),
                    format!(
                        "{model} is a model of one input, but is applied to {} values",
                        values.len()
                    ),
                );
                None
            }
        }
    }

    /// Copies `def`'s layers into this graph, under one name; `config` may set `name` and
    /// `trainable`.
    fn declare_model(
        &mut self,
        call: &LayerCall,
        def: &'a ModelDef,
        config: Vec<Arg>,
    ) -> Option<NestedId> {
        let model = &call.kind;
        if let Some(path) = self.path_back(def, &mut Vec::new()) {
            let chain = self.within.iter().chain(&path).cloned().collect::<Vec<_>>();
            self.error(
                model.span(),
                format!(
                    "a model cannot contain itself, but {} contains {}",
                    chain[0],
                    chain[1..].join(", which contains ")
                ),
            );
            return None;
        }
        if def.inputs.len() > 1 || def.outputs.as_ref().is_some_and(|o| o.len() > 1) {
            self.error(
                model.span(),
                format!(
                    "{model} has several inputs or outputs; a model used as a layer has one \
                     of each"
                ),
            );
            return None;
        }
        let (name, trainable) = self.model_config(model, &config)?;
        // The nested model reports its own errors where it is defined.
        let graph = build_within(def, self.block, &self.within, &mut Errors::default());
        let Some(graph) = graph else {
            self.failed = true;
            return None;
        };
        let first_layer = self.layers.len();
        let index = self.nested.len();
        let offset = index + 1;
        for layer in &graph.layers {
            self.layers.push(LayerDecl {
                call: layer.call.clone(),
                uses: Vec::new(),
                nested: Some(NestedId(
                    layer.nested.map_or(index, |inner| inner.0 + offset),
                )),
                foreign: layer.foreign,
            });
        }
        // Models nested in the nested model come along, under it.
        let inner: Vec<Nested> = graph
            .nested
            .iter()
            .map(|n| Nested {
                model: n.model.clone(),
                default_name: n.default_name.clone(),
                name: n.name.clone(),
                trainable: n.trainable,
                input: n.input.clone(),
                applications: Vec::new(),
                parent: Some(NestedId(n.parent.map_or(index, |p| p.0 + offset))),
            })
            .collect();
        self.nested.push(NestedBuild {
            info: Nested {
                model: model.clone(),
                default_name: snake_case(&model.to_string()),
                name,
                trainable,
                input: def.inputs[0].shape.dims.clone(),
                applications: Vec::new(),
                parent: None,
            },
            graph: Some(graph),
            first_layer,
        });
        for info in inner {
            self.nested.push(NestedBuild {
                info,
                graph: None,
                first_layer,
            });
        }
        Some(NestedId(index))
    }

    /// The `name = "..."` and `trainable = ...` of a model used as a layer, which takes no
    /// other argument.
    fn model_config(&mut self, model: &Ident, config: &[Arg]) -> Option<ModelConfig> {
        let (mut name, mut trainable) = (None, None);
        for arg in config {
            let key = arg.key.as_ref().map(Ident::to_string);
            match (key.as_deref(), &arg.value) {
                (Some("name"), Value::Str(text, span)) => name = Some((text.clone(), *span)),
                (Some("trainable"), Value::Bool(flag, _)) => trainable = Some(*flag),
                _ => {
                    let span = arg.key.as_ref().map_or(arg.value.span(), Ident::span);
                    self.error(
                        span,
                        format!(
                            "{model} is a model used as a layer: it takes `name = \"...\"` and \
                             `trainable = true|false`, and the value it is applied to"
                        ),
                    );
                    return None;
                }
            }
        }
        Some((name, trainable))
    }

    /// The models from `def` down to one being built, if `def` leads back to one.
    fn path_back(&self, def: &'a ModelDef, seen: &mut Vec<String>) -> Option<Vec<String>> {
        let name = def.name.to_string();
        if self.within.contains(&name) {
            return Some(vec![name]);
        }
        if seen.contains(&name) {
            return None;
        }
        seen.push(name.clone());
        for kind in called_names(def) {
            if let Some(inner) = self.block.models.iter().find(|d| d.name == kind)
                && let Some(mut path) = self.path_back(inner, seen)
            {
                path.insert(0, name);
                return Some(path);
            }
        }
        None
    }

    /// Applies nested model `model` to `input`: its nodes again, on this graph's values.
    pub(super) fn apply_model(&mut self, model: NestedId, input: ValueId, span: Span) -> ValueId {
        let nested = &self.nested[model.0];
        let application = nested.info.applications.len();
        let first_layer = nested.first_layer;
        let Some(graph) = &nested.graph else {
            unreachable!("a model applied here is declared here, with its graph")
        };
        let template: Vec<_> = graph
            .nodes
            .iter()
            .map(|n| (n.op.clone(), n.inputs.clone(), n.span, n.pattern.clone()))
            .collect();
        let template_output = graph.outputs[0];
        let mut values = vec![input];
        for (op, inputs, node_span, pattern) in template {
            let reads_input = inputs.contains(&ValueId::INPUT);
            let inputs = inputs.iter().map(|&v| values[v.index()]).collect();
            let value = match op {
                Op::Layer(layer) => self.apply(LayerId(first_layer + layer.0), inputs, node_span),
                op => self.push(op, inputs, node_span),
            };
            let node = self.node_mut(value);
            node.pattern = pattern;
            if reads_input {
                node.nested_input = Some((model, application));
            }
            values.push(value);
        }
        let output = values[template_output.index()];
        self.nested[model.0].info.applications.push(Application {
            input,
            span,
            output,
        });
        output
    }
}

/// Every name the body of `def` calls or reads.
pub fn called_names(def: &ModelDef) -> Vec<Ident> {
    let mut called = Vec::new();
    for statement in &def.body {
        match statement {
            Statement::Let { value: call, .. } | Statement::Expr(call) => {
                collect_kinds(call, &mut called);
            }
            Statement::Tuple(calls, _) => {
                for call in calls {
                    collect_kinds(call, &mut called);
                }
            }
        }
    }
    called
}

/// Every name called in `call`, its arguments and its inputs.
fn collect_kinds(call: &LayerCall, kinds: &mut Vec<Ident>) {
    kinds.push(call.kind.clone());
    let applied = call.applied.iter().flat_map(|(args, _)| args);
    for arg in call.args.iter().chain(applied) {
        match &arg.value {
            Value::Call(inner) => collect_kinds(inner, kinds),
            Value::Ident(name) => kinds.push(name.clone()),
            Value::List(items, _) => {
                for item in items {
                    if let Value::Ident(name) = item {
                        kinds.push(name.clone());
                    }
                }
            }
            _ => {}
        }
    }
}

/// `ResBlock` -> `res_block`, as Keras names a model by its class.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
