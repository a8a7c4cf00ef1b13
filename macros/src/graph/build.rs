//! The graph builder: each statement of a body evaluated to values and layers, each
//! application of a layer a node.

use proc_macro2::Span;
use syn::Ident;

use super::nested::NestedBuild;
use super::{Graph, LayerDecl, LayerId, NestedId, Node, NodeId, Op, ValueId};
use crate::errors::{Errors, message};
use crate::layers::registry;
use crate::parse::{Arg, Block, LayerCall, ModelDef, Pattern, Statement, Value};
use crate::suggest::did_you_mean;

/// The keyword that gives a recurrent layer its initial states, among its inputs.
pub(super) const INITIAL_STATE: &str = "initial_state";

/// The graph of `def`, one of the models of `block`; `None` when a name does not resolve
/// or a value is left unused (every such error recorded).
pub fn build<'a>(def: &'a ModelDef, block: &'a Block, errors: &mut Errors) -> Option<Graph<'a>> {
    build_within(def, block, &[], errors)
}

/// [`build`] for a model used inside the models of `outer` (to refuse a model that
/// contains itself).
pub(super) fn build_within<'a>(
    def: &'a ModelDef,
    block: &'a Block,
    outer: &[String],
    errors: &mut Errors,
) -> Option<Graph<'a>> {
    let mut within = outer.to_vec();
    within.push(def.name.to_string());
    let mut builder = Builder {
        def,
        block,
        within,
        nested: Vec::new(),
        scope: Vec::new(),
        layers: Vec::new(),
        nodes: Vec::new(),
        value_names: vec![None],
        errors,
        failed: false,
    };
    builder.bind_inputs();
    let sequential = is_sequential(def);
    let outputs = if sequential {
        builder.chain().map(|output| vec![output])
    } else {
        builder.graph()
    };
    let outputs = outputs?;
    builder.check_every_value_used(&outputs);
    if builder.failed {
        return None;
    }
    Some(Graph {
        def,
        uses: &block.uses,
        layers: builder.layers,
        nested: builder.nested.into_iter().map(|n| n.info).collect(),
        nodes: builder.nodes,
        outputs,
        value_names: builder.value_names,
        sequential,
    })
}

/// Whether the body is a plain stack of layers on the one input: no `let`, and no
/// expression that names an input or applies a layer.
fn is_sequential(def: &ModelDef) -> bool {
    let inputs: Vec<String> = def.inputs.iter().map(|i| i.name.to_string()).collect();
    def.inputs.len() == 1
        && def.body.iter().all(|statement| match statement {
            Statement::Let { .. } | Statement::Tuple(..) => false,
            Statement::Expr(call) => {
                !mentions_value(call, &|name| inputs.iter().any(|i| i == name))
            }
        })
}

/// Whether `call` refers to a value: a name `is_value` accepts, an application, or an
/// argument that does.
fn mentions_value(call: &LayerCall, is_value: &dyn Fn(&str) -> bool) -> bool {
    is_value(&call.kind.to_string())
        || call.applied.is_some()
        || call.args.iter().any(|arg| match &arg.value {
            Value::Ident(name) => arg.key.is_none() && is_value(&name.to_string()),
            Value::Call(inner) => mentions_value(inner, is_value),
            _ => false,
        })
}

/// What a name or an expression stands for.
#[derive(Clone, Copy)]
pub(super) enum Target {
    Value(ValueId),
    Layer(LayerId),
    Model(NestedId),
}

pub(super) struct Binding {
    pub name: Ident,
    pub target: Target,
    pub is_input: bool,
    /// Whether a tuple pattern bound it (where `_` may stand instead).
    pub in_tuple: bool,
}

pub(super) struct Builder<'a, 'e> {
    pub def: &'a ModelDef,
    pub block: &'a Block,
    /// The models being built, outermost first, this one last.
    pub within: Vec<String>,
    pub nested: Vec<NestedBuild<'a>>,
    /// Every binding in order; a later one shadows an earlier one of the same name.
    pub scope: Vec<Binding>,
    pub layers: Vec<LayerDecl>,
    pub nodes: Vec<Node>,
    pub value_names: Vec<Option<String>>,
    pub errors: &'e mut Errors,
    pub failed: bool,
}

impl<'a> Builder<'a, '_> {
    pub(super) fn error(&mut self, span: Span, text: impl std::fmt::Display) {
        self.errors.at(span, text);
        self.failed = true;
    }

    fn lookup(&self, name: &Ident) -> Option<Target> {
        self.scope
            .iter()
            .rev()
            .find(|b| b.name == *name)
            .map(|b| b.target)
    }

    fn is_value_name(&self, name: &str) -> bool {
        self.scope
            .iter()
            .rev()
            .find(|b| b.name == name)
            .is_some_and(|b| matches!(b.target, Target::Value(_)))
    }

    /// Binds each input's name: to the input itself, or, for several, to the node that
    /// cuts it out of the packed row.
    fn bind_inputs(&mut self) {
        let def = self.def;
        for (index, input) in def.inputs.iter().enumerate() {
            let value = match def.inputs.len() {
                1 => ValueId::INPUT,
                _ => self.push(Op::Input(index), vec![ValueId::INPUT], input.name.span()),
            };
            self.value_names[value.index()] = Some(input.name.to_string());
            self.scope.push(Binding {
                name: input.name.clone(),
                target: Target::Value(value),
                is_input: true,
                in_tuple: false,
            });
        }
    }

    /// Each statement applied to the previous one's output.
    fn chain(&mut self) -> Option<ValueId> {
        let mut value = ValueId::INPUT;
        for statement in &self.def.body {
            let Statement::Expr(call) = statement else {
                unreachable!("a sequential body has no `let`")
            };
            value = match self.model_ref(&call.kind) {
                Some(model) => {
                    let model = self.declare_any_model(call, model, call.args.clone())?;
                    self.apply_any_model(model, value, call.kind.span())
                }
                None => {
                    let layer = self.declare(call, call.args.clone());
                    self.apply(layer, vec![value], call.kind.span())
                }
            };
        }
        Some(value)
    }

    /// `let` statements, then the output expression, or a tuple of them.
    fn graph(&mut self) -> Option<Vec<ValueId>> {
        let body = &self.def.body;
        let mut output = None;
        for (index, statement) in body.iter().enumerate() {
            let last = index + 1 == body.len();
            match statement {
                Statement::Let { pattern, value } => {
                    if last {
                        let (span, names) = match pattern {
                            Pattern::Name(name) => (name.span(), format!("`{name}`")),
                            Pattern::Tuple(_, span) => (*span, "them".to_string()),
                        };
                        self.error(
                            span,
                            format!(
                                "a graph body ends with its output: add {names} (or the \
                                 expression that makes the output) after this `let`"
                            ),
                        );
                    }
                    match pattern {
                        Pattern::Name(name) => self.bind_let(name, value),
                        Pattern::Tuple(names, span) => self.bind_tuple(names, *span, value),
                    }
                }
                Statement::Tuple(values, span) if last => {
                    let outputs: Vec<Option<ValueId>> =
                        values.iter().map(|call| self.eval_output(call)).collect();
                    output = outputs.into_iter().collect::<Option<Vec<_>>>();
                    self.check_output_count(output.as_ref().map_or(0, Vec::len), *span);
                }
                Statement::Tuple(_, span) => {
                    self.error(
                        *span,
                        "a tuple of outputs ends a graph body; nothing can follow it",
                    );
                }
                Statement::Expr(call) if last => {
                    output = self.eval_output(call).map(|v| vec![v]);
                    self.check_output_count(1, call.kind.span());
                }
                Statement::Expr(call) => {
                    self.eval(call);
                    self.error(
                        call.kind.span(),
                        "in a graph body every statement but the last binds a value: \
                         write `let name = ...;`",
                    );
                }
            }
        }
        output
    }

    /// `let name = value;`
    fn bind_let(&mut self, name: &Ident, value: &LayerCall) {
        let Some(target) = self.eval(value) else {
            return;
        };
        if let Target::Value(v) = target {
            self.value_names[v.index()] = Some(name.to_string());
        }
        self.bind(name, target, false);
    }

    pub(super) fn bind(&mut self, name: &Ident, target: Target, in_tuple: bool) {
        self.scope.push(Binding {
            name: name.clone(),
            target,
            is_input: false,
            in_tuple,
        });
    }

    /// `let (output, _, c) = value;`: each named value of a layer that gives several, cut
    /// out by a node of its own. How many values the layer gives is the check stage's to
    /// compare with the pattern.
    fn bind_tuple(&mut self, names: &[Option<Ident>], span: Span, value: &LayerCall) {
        let Some(target) = self.eval(value) else {
            return;
        };
        let Target::Value(packed) = target else {
            let what = describe_call(value);
            self.error(
                span,
                format!("`{what}` is a layer, not a value: a tuple pattern binds values"),
            );
            return;
        };
        if names.iter().all(Option::is_none) {
            self.error(
                span,
                "this pattern binds no value; name at least one, or remove it",
            );
            return;
        }
        let Some(producer) = packed.producer() else {
            self.error(
                span,
                format!(
                    "`{}` is the model's input, one value: bind it to one name",
                    describe_call(value)
                ),
            );
            return;
        };
        self.nodes[producer.index()].pattern = Some((names.to_vec(), span));
        let node_span = self.nodes[producer.index()].span;
        for (index, name) in names.iter().enumerate() {
            let Some(name) = name else { continue };
            let op = Op::Unpack {
                index,
                name: name.clone(),
            };
            let value = self.push(op, vec![packed], node_span);
            self.value_names[value.index()] = Some(name.to_string());
            self.bind(name, Target::Value(value), true);
        }
    }

    /// An output expression's value.
    fn eval_output(&mut self, call: &LayerCall) -> Option<ValueId> {
        match self.eval(call)? {
            Target::Value(v) => Some(v),
            Target::Layer(_) | Target::Model(_) => {
                let what = describe_call(call);
                self.error(
                    call.kind.span(),
                    message(
                        format!(
                            "the model's output must be a value, but `{what}` is a \
                             layer that is not applied to anything"
                        ),
                        &[],
                        Some(match &self.def.inputs[..] {
                            [_] => format!(
                                "apply it to a value, e.g. `{what}({})`",
                                self.latest_value_name()
                            ),
                            inputs => format!(
                                "a model of several inputs is written as a graph: apply each \
                                 layer to values by name, e.g. `{what}(Concatenate({}))`",
                                inputs
                                    .iter()
                                    .map(|i| i.name.to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        }),
                    ),
                );
                None
            }
        }
    }

    /// The body makes as many outputs as the signature declares.
    fn check_output_count(&mut self, made: usize, span: Span) {
        let Some(declared) = &self.def.outputs else {
            return;
        };
        if declared.len() == made {
            return;
        }
        let names: Vec<String> = declared
            .iter()
            .filter_map(|o| o.name.as_ref().map(Ident::to_string))
            .collect();
        let text = match (declared.len(), made) {
            (1, _) => format!(
                "the model declares one output, but its body ends with {made}; end it with \
                 one value, or declare each output by name, e.g. `-> (a: [..], b: [..])`"
            ),
            (n, 1) => format!(
                "the model declares {n} outputs, but its body ends with one value; end it \
                 with all of them in order: `({})`",
                names.join(", ")
            ),
            (n, _) => format!(
                "the model declares {n} outputs ({}), but its body ends with {made}",
                names.join(", ")
            ),
        };
        self.error(span, text);
    }

    pub(super) fn latest_value_name(&self) -> String {
        self.scope
            .iter()
            .rev()
            .find(|b| matches!(b.target, Target::Value(_)))
            .map_or_else(|| "input".to_string(), |b| b.name.to_string())
    }

    /// What `call` stands for: a value (an application) or a layer (to be applied).
    pub(super) fn eval(&mut self, call: &LayerCall) -> Option<Target> {
        if let Some(target) = self.lookup(&call.kind) {
            return self.eval_bound(call, target);
        }
        if !starts_uppercase(&call.kind) {
            self.unknown_name(&call.kind);
            return None;
        }
        if let Some(model) = self.model_ref(&call.kind) {
            return self.eval_model(call, model);
        }
        let is_merge = registry::lookup(&call.kind.to_string()).is_some_and(|k| k.is_merge());
        let mut inputs = Vec::new();
        let mut config = Vec::new();
        for arg in &call.args {
            if arg.key.is_none() && (is_merge || self.is_value_arg(&arg.value)) {
                inputs.push(arg);
            } else {
                config.push(arg);
            }
        }
        // `initial_state` goes with the inputs, wherever they are.
        let states = config.iter().position(|arg| is_keyword(arg, INITIAL_STATE));
        if let Some(states) = states {
            if call.applied.is_some() || inputs.is_empty() {
                let key = config[states].key.as_ref().map(Ident::span);
                let kind = &call.kind;
                self.error(
                    key.unwrap_or(kind.span()),
                    format!(
                        "initial_state is given with the inputs, not the layer's arguments: \
                         `{kind}(...)(x, initial_state = [...])`"
                    ),
                );
                return None;
            }
            inputs.push(config.remove(states));
        }
        let config = config.into_iter().cloned().collect();
        let layer = self.declare(call, config);
        let span = call.kind.span();
        match &call.applied {
            Some((applied, applied_span)) => {
                if !inputs.is_empty() {
                    self.error(
                        *applied_span,
                        format!(
                            "{} already has its inputs in its first parentheses; give them \
                             once",
                            call.kind
                        ),
                    );
                    return None;
                }
                self.apply_to(layer, applied.iter(), span)
            }
            None if inputs.is_empty() => Some(Target::Layer(layer)),
            None => self.apply_to(layer, inputs.into_iter(), span),
        }
    }

    /// Applies `layer` to the values of `args`, and to the initial states of an
    /// `initial_state = [...]` among them.
    fn apply_to<'c>(
        &mut self,
        layer: LayerId,
        args: impl Iterator<Item = &'c Arg>,
        span: Span,
    ) -> Option<Target> {
        let (states, inputs): (Vec<&Arg>, Vec<&Arg>) =
            args.partition(|arg| is_keyword(arg, INITIAL_STATE));
        let kind = self.layers[layer.0].call.kind.clone();
        let inputs = self.eval_inputs(inputs.into_iter(), &kind);
        let states = match states.first() {
            Some(arg) => Some(self.eval_initial_state(arg, &kind)?),
            None => None,
        };
        let mut inputs = inputs?;
        let value = match states {
            Some((states, keyword)) => {
                let count = states.len();
                inputs.extend(states);
                let value = self.apply(layer, inputs, span);
                self.node_mut(value).initial_state = Some((count, keyword));
                value
            }
            None => self.apply(layer, inputs, span),
        };
        Some(Target::Value(value))
    }

    /// The node that produces `value`, which is not the input.
    pub(super) fn node_mut(&mut self, value: ValueId) -> &mut Node {
        let node = value.producer().expect("a node's value");
        &mut self.nodes[node.index()]
    }

    /// The values of `initial_state = [h, c]`, and where the keyword is.
    fn eval_initial_state(&mut self, arg: &Arg, layer: &Ident) -> Option<(Vec<ValueId>, Span)> {
        let key = arg.key.as_ref().map_or(layer.span(), Ident::span);
        let Value::List(items, _) = &arg.value else {
            self.error(
                arg.value.span(),
                format!(
                    "initial_state is a list of values, `initial_state = [h, c]` for an LSTM \
                     and `[h]` for the others, not {}",
                    arg.value.describe()
                ),
            );
            return None;
        };
        let states: Vec<Arg> = items
            .iter()
            .map(|value| Arg {
                key: None,
                value: value.clone(),
            })
            .collect();
        Some((self.eval_inputs(states.iter(), layer)?, key))
    }

    /// `h`, `encode`, `encode(a)`.
    fn eval_bound(&mut self, call: &LayerCall, target: Target) -> Option<Target> {
        let name = &call.kind;
        match target {
            Target::Value(_) if call.args.is_empty() && call.applied.is_none() => Some(target),
            Target::Value(_) => {
                self.error(
                    name.span(),
                    format!("`{name}` is a value, not a layer: it cannot be applied to inputs"),
                );
                None
            }
            Target::Layer(_) | Target::Model(_) if call.args.is_empty() => Some(target),
            Target::Model(model) => {
                if let Some((_, span)) = &call.applied {
                    self.error(
                        *span,
                        format!("`{name}` is a model: apply it once, as `{name}(x)`"),
                    );
                    return None;
                }
                let input = self.eval_model_input(call.args.iter(), name)?;
                Some(Target::Value(self.apply_model(model, input, name.span())))
            }
            Target::Layer(layer) => {
                if let Some((_, span)) = &call.applied {
                    self.error(
                        *span,
                        format!("`{name}` is a layer: apply it once, as `{name}(x)`"),
                    );
                    return None;
                }
                self.apply_to(layer, call.args.iter(), name.span())
            }
        }
    }

    /// Whether a positional argument is an input rather than configuration.
    fn is_value_arg(&self, value: &Value) -> bool {
        match value {
            Value::Ident(name) => self.lookup(name).is_some(),
            Value::Call(call) => mentions_value(call, &|name| self.is_value_name(name)),
            _ => false,
        }
    }

    /// The values of a layer's inputs; keyword arguments are not inputs.
    pub(super) fn eval_inputs<'c>(
        &mut self,
        args: impl Iterator<Item = &'c Arg>,
        layer: &Ident,
    ) -> Option<Vec<ValueId>> {
        let mut values = Some(Vec::new());
        for arg in args {
            let value = self.eval_input(arg, layer);
            values = values.zip(value).map(|(mut all, v)| {
                all.push(v);
                all
            });
        }
        values
    }

    fn eval_input(&mut self, arg: &Arg, layer: &Ident) -> Option<ValueId> {
        if let Some(key) = arg.key.as_ref().filter(|_| is_keyword(arg, INITIAL_STATE)) {
            self.error(
                key.span(),
                format!(
                    "initial_state starts a recurrent layer (SimpleRNN, LSTM or GRU) from \
                     given states; {layer} takes none"
                ),
            );
            return None;
        }
        if let Some(key) = &arg.key {
            self.error(
                key.span(),
                format!(
                    "`{key} = ...` configures a layer, but these are the inputs {layer} is \
                     applied to; configure it in its first parentheses, e.g. \
                     `{layer}({key} = ...)(x)`"
                ),
            );
            return None;
        }
        let call = match &arg.value {
            Value::Ident(name) => LayerCall {
                kind: name.clone(),
                args: Vec::new(),
                applied: None,
            },
            Value::Call(call) => (**call).clone(),
            other => {
                self.error(
                    other.span(),
                    format!("{layer} is applied to values, not to {}", other.describe()),
                );
                return None;
            }
        };
        match self.eval(&call)? {
            Target::Value(v) => Some(v),
            Target::Layer(_) | Target::Model(_) => {
                let what = describe_call(&call);
                self.error(
                    call.kind.span(),
                    format!(
                        "`{what}` is a layer, not a value: apply it to something, e.g. \
                         `{what}({})`",
                        self.latest_value_name()
                    ),
                );
                None
            }
        }
    }

    fn unknown_name(&mut self, name: &Ident) {
        let typed = name.to_string();
        let names: Vec<String> = self.scope.iter().map(|b| b.name.to_string()).collect();
        let suggestion = did_you_mean(&typed, names.iter().map(String::as_str));
        let mut known: Vec<&str> = names.iter().map(String::as_str).collect();
        known.dedup();
        self.error(
            name.span(),
            message(
                format!("unknown variable `{typed}`{suggestion}"),
                &[format!(
                    "the names in scope here are {}",
                    known
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )],
                None,
            ),
        );
    }

    /// A new layer from `call`'s kind and the arguments that configure it.
    pub(super) fn declare(&mut self, call: &LayerCall, config: Vec<Arg>) -> LayerId {
        self.layers.push(LayerDecl {
            call: LayerCall {
                kind: call.kind.clone(),
                args: config,
                applied: None,
            },
            uses: Vec::new(),
            nested: None,
            foreign: None,
        });
        LayerId(self.layers.len() - 1)
    }

    /// Applies `layer` to `inputs`; returns the output value.
    pub(super) fn apply(&mut self, layer: LayerId, inputs: Vec<ValueId>, span: Span) -> ValueId {
        self.layers[layer.0].uses.push(NodeId(self.nodes.len()));
        self.push(Op::Layer(layer), inputs, span)
    }

    /// A new node doing `op` on `inputs`; returns its value.
    pub(super) fn push(&mut self, op: Op, inputs: Vec<ValueId>, span: Span) -> ValueId {
        self.nodes.push(Node {
            op,
            inputs,
            span,
            nested_input: None,
            initial_state: None,
            pattern: None,
        });
        self.value_names.push(None);
        NodeId(self.nodes.len() - 1).value()
    }
}

fn starts_uppercase(name: &Ident) -> bool {
    name.to_string()
        .starts_with(|c: char| c.is_ascii_uppercase())
}

/// Whether `arg` is the keyword argument `keyword = ...`.
fn is_keyword(arg: &Arg, keyword: &str) -> bool {
    arg.key.as_ref().is_some_and(|key| key == keyword)
}

/// `Dense(...)` or `Flatten`, as an expression reads in a message.
pub fn describe_call(call: &LayerCall) -> String {
    if call.args.is_empty() {
        call.kind.to_string()
    } else {
        format!("{}(...)", call.kind)
    }
}
