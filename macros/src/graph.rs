//! Stage 2: the AST -> a graph of layer applications.
//!
//! A sequential body (`Dense(128), Dense(10)`) is a chain: each layer applied to the
//! previous one's output. A graph body binds values and layers with `let` and ends with
//! the output: `let h = Dense(32)(input); Add(input, h)`. A name decides what an
//! expression is: `encode(a)` applies the layer bound to `encode`, `Flatten(h)` applies a
//! new Flatten to the value `h`, `Dense(10)` alone is a layer still to be applied.
//!
//! A layer that gives several values (`LSTM(32, return_state = true)`) makes one value
//! that packs them, which only a tuple pattern reads: `let (output, h, c) = ...;` applies
//! an internal `Unpack` layer for each name.

use proc_macro2::Span;
use syn::Ident;

use crate::errors::{Errors, message};
use crate::layers;
use crate::parse::{Arg, Block, LayerCall, ModelDef, Pattern, Statement, UseDecl, Value};
use crate::suggest::did_you_mean;

/// A value in the graph: `INPUT`, or the output of node `i` as `i + 1`.
pub type ValueId = usize;

/// The model's input: its packed row when it has several, each of which an `InputLayer`
/// node then cuts out.
pub const INPUT: ValueId = 0;

/// The kind of the layer that cuts one of several inputs out of the packed row.
pub const INPUT_LAYER: &str = "InputLayer";

/// The kind of the layer that cuts one of the values a layer of several gives out of the
/// value that packs them.
pub const UNPACK: &str = "Unpack";

/// The keyword that gives a recurrent layer its initial states, among its inputs.
const INITIAL_STATE: &str = "initial_state";

/// One model as a graph.
pub struct Graph<'a> {
    pub def: &'a ModelDef,
    /// The block's declarations of models of other blocks, which [`LayerDecl::foreign`]
    /// indexes.
    pub uses: &'a [UseDecl],
    /// Every layer, each with one set of weights, in the order they are written.
    pub layers: Vec<LayerDecl>,
    /// The models of the same block used as layers, whose layers are among [`Graph::layers`].
    pub nested: Vec<Nested>,
    /// Every application of a layer, in an order where a value is made before it is used.
    pub nodes: Vec<Node>,
    /// The model's outputs, in the order it declares them.
    pub outputs: Vec<ValueId>,
    /// The name a `let` gave each value, if any, by [`ValueId`].
    pub value_names: Vec<Option<String>>,
    /// Whether the body was written as a sequential stack.
    pub sequential: bool,
}

/// A layer as configured: its kind and its own arguments (not its inputs).
pub struct LayerDecl {
    pub call: LayerCall,
    /// The nodes that apply it, in order.
    pub uses: Vec<usize>,
    /// The nested model it belongs to, by index into [`Graph::nested`].
    pub nested: Option<usize>,
    /// For a model of another block used as a layer, its declaration, by index into
    /// [`Graph::uses`].
    pub foreign: Option<usize>,
}

/// A model of the same block used as a layer: `Encoder(trainable = false)`. Its layers are
/// copied into the graph, named under the nested model's name (`encoder/dense`); applied
/// twice, it is one set of weights, as any shared layer.
pub struct Nested {
    /// The model's name as written where it is used.
    pub model: Ident,
    /// Keras's default name for it: the model's name in snake case (`encoder`).
    pub default_name: String,
    /// `name = "..."`.
    pub name: Option<(String, Span)>,
    /// `trainable = false` freezes every layer of it.
    pub trainable: Option<bool>,
    /// Its declared input shape, checked against each value it is applied to.
    pub input: Vec<usize>,
    /// Each application: (the value it is applied to, where, its output value).
    pub applications: Vec<(ValueId, Span, ValueId)>,
    /// The nested model it is part of, for a model nested two levels down.
    pub parent: Option<usize>,
}

/// One application of a layer to values.
pub struct Node {
    /// Index into [`Graph::layers`].
    pub layer: usize,
    pub inputs: Vec<ValueId>,
    /// Where the application is written, for errors.
    pub span: Span,
    /// The application of a nested model whose input this node reads, by index into
    /// [`Graph::nested`] and [`Nested::applications`].
    pub nested_input: Option<(usize, usize)>,
    /// With `initial_state = [...]`: how many of the inputs, the last ones, are the states
    /// it starts from, and where the keyword is written.
    pub initial_state: Option<(usize, Span)>,
}

impl Node {
    /// The inputs it reads, and the initial states it starts from.
    pub fn inputs_and_states(&self) -> (&[ValueId], &[ValueId]) {
        let states = self.initial_state.map_or(0, |(count, _)| count);
        self.inputs.split_at(self.inputs.len() - states)
    }

    /// The value node `index` produces.
    pub fn value(index: usize) -> ValueId {
        index + 1
    }
}

impl<'a> Graph<'a> {
    /// A graph with nothing in it, standing for a model nested two levels down (whose
    /// layers come with the model that contains it).
    fn empty(def: &'a ModelDef, uses: &'a [UseDecl]) -> Self {
        Graph {
            def,
            uses,
            layers: Vec::new(),
            nested: Vec::new(),
            nodes: Vec::new(),
            outputs: vec![INPUT],
            value_names: Vec::new(),
            sequential: true,
        }
    }

    /// The node that produces `value` (not the input).
    pub fn producer(&self, value: ValueId) -> &Node {
        &self.nodes[value - 1]
    }
}

/// The graph of `def`, one of the models of `block`; `None` when a name does not resolve
/// or a value is left unused (every such error recorded).
pub fn build<'a>(def: &'a ModelDef, block: &'a Block, errors: &mut Errors) -> Option<Graph<'a>> {
    build_within(def, block, &[], errors)
}

/// [`build`] for a model used inside the models of `outer` (to refuse a model that
/// contains itself).
fn build_within<'a>(
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
        reported: Vec::new(),
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

/// What a name is bound to.
#[derive(Clone, Copy)]
enum Target {
    Value(ValueId),
    Layer(usize),
    /// A nested model, by index into [`Graph::nested`].
    Model(usize),
}

/// The `name = "..."` (with its span) and `trainable = ...` given to a model used as a
/// layer.
type ModelConfig = (Option<(String, Span)>, Option<bool>);

/// A model used as a layer: one of the block, or one of another block that the block
/// declares with `use`, by index into [`Block::uses`].
#[derive(Clone, Copy)]
enum ModelRef<'a> {
    Block(&'a ModelDef),
    Foreign(usize),
}

struct Binding {
    name: Ident,
    target: Target,
    is_input: bool,
    /// Whether a tuple pattern bound it (where `_` may stand instead).
    in_tuple: bool,
}

struct Builder<'a, 'e> {
    def: &'a ModelDef,
    block: &'a Block,
    /// The models being built, outermost first, this one last.
    within: Vec<String>,
    nested: Vec<NestedBuild<'a>>,
    /// Every binding in order; a later one shadows an earlier one of the same name.
    scope: Vec<Binding>,
    layers: Vec<LayerDecl>,
    nodes: Vec<Node>,
    value_names: Vec<Option<String>>,
    /// Values of several whose misuse was reported once: later uses stay quiet.
    reported: Vec<ValueId>,
    errors: &'e mut Errors,
    failed: bool,
}

/// A nested model while the graph is built: its own graph, and where its layers start
/// among the builder's.
struct NestedBuild<'a> {
    info: Nested,
    graph: Graph<'a>,
    first_layer: usize,
}

impl<'a> Builder<'a, '_> {
    fn error(&mut self, span: Span, text: impl std::fmt::Display) {
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

    /// Binds each input's name: to the input itself, or, for several, to an `InputLayer`
    /// that cuts it out of the packed row.
    fn bind_inputs(&mut self) {
        let inputs = &self.def.inputs;
        if let [input] = &inputs[..] {
            self.value_names[INPUT] = Some(input.name.to_string());
            self.scope.push(Binding {
                name: input.name.clone(),
                target: Target::Value(INPUT),
                is_input: true,
                in_tuple: false,
            });
            return;
        }
        let total: usize = inputs
            .iter()
            .map(|i| i.shape.dims.iter().product::<usize>())
            .sum();
        let mut offset = 0;
        for input in inputs {
            let span = input.name.span();
            let int = |v: usize| Value::Int(v as i64, span);
            let arg = |key: &str, value: Value| Arg {
                key: Some(Ident::new(key, span)),
                value,
            };
            let shape = Value::List(input.shape.dims.iter().map(|&d| int(d)).collect(), span);
            let call = LayerCall {
                kind: Ident::new(INPUT_LAYER, span),
                args: vec![
                    arg("shape", shape),
                    arg("offset", int(offset)),
                    arg("total", int(total)),
                    arg("name", Value::Str(input.name.to_string(), span)),
                ],
                applied: None,
            };
            let layer = self.declare(&call, call.args.clone());
            let value = self.apply(layer, vec![INPUT], span);
            self.value_names[value] = Some(input.name.to_string());
            self.scope.push(Binding {
                name: input.name.clone(),
                target: Target::Value(value),
                is_input: true,
                in_tuple: false,
            });
            offset += input.shape.dims.iter().product::<usize>();
        }
    }

    /// Each statement applied to the previous one's output.
    fn chain(&mut self) -> Option<ValueId> {
        let mut value = INPUT;
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
                    let value = self.apply(layer, vec![value], call.kind.span());
                    self.refuse_several_in_chain(call, value)?;
                    value
                }
            };
        }
        Some(value)
    }

    /// A chain passes one value from layer to layer: a layer that gives several
    /// (`return_state = true`) belongs in the graph form.
    fn refuse_several_in_chain(&mut self, call: &LayerCall, value: ValueId) -> Option<()> {
        let gives = self.gives(value);
        if gives.len() == 1 {
            return Some(());
        }
        let span = keyword_value_span(call, "return_state").unwrap_or(call.kind.span());
        let names = gives.join(", ");
        let kind = &call.kind;
        self.error(
            span,
            message(
                format!(
                    "return_state = true makes {kind} give {} values ({names}), but a stack \
                     of layers passes one value from layer to layer",
                    gives.len()
                ),
                &[],
                Some(format!(
                    "write the model as a graph and bind each value: `let ({names}) = \
                     {kind}(..., return_state = true)(input);`, or remove return_state"
                )),
            ),
        );
        None
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
            if self.refuse_packed(v, value, "bound to one name").is_none() {
                return;
            }
            self.value_names[v] = Some(name.to_string());
        }
        self.bind(name, target, false);
    }

    fn bind(&mut self, name: &Ident, target: Target, in_tuple: bool) {
        self.scope.push(Binding {
            name: name.clone(),
            target,
            is_input: false,
            in_tuple,
        });
    }

    /// `let (output, _, c) = value;`: each named value of a layer that gives several,
    /// unpacked by a layer of its own.
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
        if !self.unpack(names, span, value, packed) {
            // Bound all the same, so that their uses add no errors of their own.
            self.reported.push(packed);
            for name in names.iter().flatten() {
                self.bind(name, Target::Value(packed), true);
            }
        }
    }

    /// Binds each of `names` to its value of `packed`, made by `value`, when the pattern
    /// fits; whether it did (errors recorded).
    fn unpack(
        &mut self,
        names: &[Option<Ident>],
        span: Span,
        value: &LayerCall,
        packed: ValueId,
    ) -> bool {
        let gives = self.gives(packed);
        let label = describe_call(value);
        if gives.len() == 1 {
            self.error(
                span,
                message(
                    format!(
                        "`{label}` gives one value, but the pattern takes {}",
                        names.len()
                    ),
                    &[],
                    Some(
                        "bind it to one name, `let name = ...;`; a recurrent layer gives its \
                         final states too with return_state = true"
                            .to_string(),
                    ),
                ),
            );
            return false;
        }
        if gives.len() != names.len() {
            let written: Vec<String> = names
                .iter()
                .map(|n| n.as_ref().map_or("_".to_string(), Ident::to_string))
                .collect();
            self.error(
                span,
                message(
                    format!(
                        "`{label}` gives {} values ({}), but the pattern `({})` takes {}",
                        gives.len(),
                        gives.join(", "),
                        written.join(", "),
                        names.len()
                    ),
                    &[],
                    Some(format!(
                        "name each of them in order, `_` for one you do not use: `let ({}) = \
                         ...;`",
                        gives.join(", ")
                    )),
                ),
            );
            return false;
        }
        if names.iter().all(Option::is_none) {
            self.error(
                span,
                "this pattern binds no value; name at least one, or remove it",
            );
            return false;
        }
        let producer = &self.nodes[packed - 1];
        let node_span = producer.span;
        for (index, (name, part)) in names.iter().zip(gives).enumerate() {
            let Some(name) = name else { continue };
            let call = LayerCall {
                kind: Ident::new(UNPACK, name.span()),
                args: vec![
                    int_arg("index", index, name.span()),
                    Arg {
                        key: Some(Ident::new("part", name.span())),
                        value: Value::Str(part.to_string(), name.span()),
                    },
                ],
                applied: None,
            };
            let layer = self.declare(&call, call.args.clone());
            let value = self.apply(layer, vec![packed], node_span);
            self.value_names[value] = Some(name.to_string());
            self.bind(name, Target::Value(value), true);
        }
        true
    }

    /// The names of the values the producer of `value` gives: one output, or several.
    fn gives(&self, value: ValueId) -> &'static [&'static str] {
        if value == INPUT {
            return &["output"];
        }
        let call = &self.layers[self.nodes[value - 1].layer].call;
        layers::lookup(&call.kind.to_string()).map_or(&["output"], |k| k.gives(call))
    }

    /// Refuses `value` where one value is wanted (`what`) when it packs several.
    fn refuse_packed(&mut self, value: ValueId, call: &LayerCall, what: &str) -> Option<()> {
        let gives = self.gives(value);
        if gives.len() == 1 {
            return Some(());
        }
        if self.reported.contains(&value) {
            return None;
        }
        let label = describe_call(call);
        self.error(
            call.kind.span(),
            message(
                format!(
                    "`{label}` gives {} values ({}), which cannot be {what}",
                    gives.len(),
                    gives.join(", ")
                ),
                &[],
                Some(format!(
                    "bind them first, `let ({}) = {label};`, then use each by name",
                    gives.join(", ")
                )),
            ),
        );
        None
    }

    /// An output expression's value.
    fn eval_output(&mut self, call: &LayerCall) -> Option<ValueId> {
        match self.eval(call)? {
            Target::Value(v) => {
                self.refuse_packed(v, call, "an output")?;
                Some(v)
            }
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

    fn latest_value_name(&self) -> String {
        self.scope
            .iter()
            .rev()
            .find(|b| matches!(b.target, Target::Value(_)))
            .map_or_else(|| "input".to_string(), |b| b.name.to_string())
    }

    /// What `call` stands for: a value (an application) or a layer (to be applied).
    fn eval(&mut self, call: &LayerCall) -> Option<Target> {
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
        if call.kind == INPUT_LAYER {
            self.error(
                call.kind.span(),
                "inputs are declared in the signature, e.g. `struct Net: (a: [20, 64], \
                 b: [20, 64]) -> [1]`, and used by name",
            );
            return None;
        }
        let is_merge = layers::lookup(&call.kind.to_string()).is_some_and(|k| k.is_merge());
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
        layer: usize,
        args: impl Iterator<Item = &'c Arg>,
        span: Span,
    ) -> Option<Target> {
        let (states, inputs): (Vec<&Arg>, Vec<&Arg>) =
            args.partition(|arg| is_keyword(arg, INITIAL_STATE));
        let kind = self.layers[layer].call.kind.clone();
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
                self.nodes[value - 1].initial_state = Some((count, keyword));
                value
            }
            None => self.apply(layer, inputs, span),
        };
        Some(Target::Value(value))
    }

    /// The values of `initial_state = [h, c]`, and where the keyword is, for a layer that
    /// starts from states.
    fn eval_initial_state(&mut self, arg: &Arg, layer: &Ident) -> Option<(Vec<ValueId>, Span)> {
        let key = arg.key.as_ref().expect("initial_state is a keyword");
        let takes = layers::lookup(&layer.to_string()).is_some_and(|k| k.takes_initial_state());
        if !takes {
            self.error(
                key.span(),
                format!(
                    "initial_state starts a recurrent layer (SimpleRNN, LSTM or GRU) from \
                     given states, but {layer} keeps no state"
                ),
            );
            return None;
        }
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
        let states = items.iter().map(|value| Arg {
            key: None,
            value: value.clone(),
        });
        let states: Vec<Arg> = states.collect();
        Some((self.eval_inputs(states.iter(), layer)?, key.span()))
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
    fn eval_inputs<'c>(
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
            Target::Value(v) => {
                let what = format!("an input of {layer}");
                self.refuse_packed(v, &call, &what)?;
                Some(v)
            }
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
    fn declare(&mut self, call: &LayerCall, config: Vec<Arg>) -> usize {
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
        self.layers.len() - 1
    }

    /// Applies `layer` to `inputs`; returns the output value.
    fn apply(&mut self, layer: usize, inputs: Vec<ValueId>, span: Span) -> ValueId {
        self.layers[layer].uses.push(self.nodes.len());
        self.nodes.push(Node {
            layer,
            inputs,
            span,
            nested_input: None,
            initial_state: None,
        });
        self.value_names.push(None);
        Node::value(self.nodes.len() - 1)
    }

    /// The model named `name`, if it is one: a model of the block, or one of another
    /// block that the block declares (unless a layer has its name, which the declaration's
    /// error then says).
    fn model_ref(&self, name: &Ident) -> Option<ModelRef<'a>> {
        let block: &'a Block = self.block;
        if let Some(def) = block.models.iter().find(|def| def.name == *name) {
            return Some(ModelRef::Block(def));
        }
        if layers::lookup(&name.to_string()).is_some() {
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
    fn declare_any_model(
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
                self.layers[layer].foreign = Some(index);
                Some(Target::Layer(layer))
            }
        }
    }

    /// Applies a model declared by [`Builder::declare_any_model`] to `input`.
    fn apply_any_model(&mut self, model: Target, input: ValueId, span: Span) -> ValueId {
        match model {
            Target::Model(model) => self.apply_model(model, input, span),
            Target::Layer(layer) => self.apply(layer, vec![input], span),
            Target::Value(_) => unreachable!("a model is declared as a model or a layer"),
        }
    }

    /// `Encoder(trainable = false)`, `Encoder(x)`, `Encoder(name = "enc")(x)`.
    fn eval_model(&mut self, call: &LayerCall, model: ModelRef<'a>) -> Option<Target> {
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
    fn eval_model_input<'c>(
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
    ) -> Option<usize> {
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
                nested: Some(layer.nested.map_or(index, |inner| inner + offset)),
                foreign: layer.foreign,
            });
        }
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
            graph,
            first_layer,
        });
        // Models nested in the nested model come along, under it.
        let inner: Vec<Nested> = self.nested[index]
            .graph
            .nested
            .iter()
            .map(|n| Nested {
                model: n.model.clone(),
                default_name: n.default_name.clone(),
                name: n.name.clone(),
                trainable: n.trainable,
                input: n.input.clone(),
                applications: Vec::new(),
                parent: Some(n.parent.map_or(index, |p| p + offset)),
            })
            .collect();
        for info in inner {
            self.nested.push(NestedBuild {
                info,
                graph: Graph::empty(def, &self.block.uses),
                first_layer,
            });
        }
        Some(index)
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
    fn apply_model(&mut self, model: usize, input: ValueId, span: Span) -> ValueId {
        let application = self.nested[model].info.applications.len();
        let first_layer = self.nested[model].first_layer;
        let template: Vec<(usize, Vec<ValueId>, Span)> = self.nested[model]
            .graph
            .nodes
            .iter()
            .map(|n| (n.layer, n.inputs.clone(), n.span))
            .collect();
        let mut values = vec![input];
        for (layer, inputs, node_span) in template {
            let reads_input = inputs.contains(&INPUT);
            let inputs = inputs.iter().map(|&v| values[v]).collect();
            let value = self.apply(first_layer + layer, inputs, node_span);
            if reads_input {
                self.nodes[value - 1].nested_input = Some((model, application));
            }
            values.push(value);
        }
        let output = values[self.nested[model].graph.outputs[0]];
        self.nested[model]
            .info
            .applications
            .push((input, span, output));
        output
    }

    /// Every input and every bound value reaches the output; every bound layer is applied.
    fn check_every_value_used(&mut self, outputs: &[ValueId]) {
        let mut live = vec![false; self.nodes.len() + 1];
        for &output in outputs {
            live[output] = true;
        }
        for index in (0..self.nodes.len()).rev() {
            if live[Node::value(index)] {
                for &input in &self.nodes[index].inputs {
                    live[input] = true;
                }
            }
        }
        let consumed = |value: ValueId| self.nodes.iter().any(|n| n.inputs.contains(&value));
        let mut reports = Vec::new();
        for binding in &self.scope {
            let name = &binding.name;
            match binding.target {
                Target::Value(v) if binding.is_input && !live[v] => reports.push((
                    name.span(),
                    format!(
                        "the input `{name}` is never used: no layer is applied to it on the \
                         way to the output"
                    ),
                )),
                Target::Value(v) if !live[v] && !consumed(v) => reports.push((
                    name.span(),
                    match binding.in_tuple {
                        true => format!(
                            "`{name}` is computed but never reaches the output; use it, or \
                             write `_` in its place"
                        ),
                        false => format!(
                            "`{name}` is computed but never reaches the output; use it, or \
                             remove this `let`"
                        ),
                    },
                )),
                Target::Model(model) if self.nested[model].info.applications.is_empty() => reports
                    .push((
                        name.span(),
                        format!(
                            "`{name}` is a model that is never applied; apply it to a value, \
                             as `{name}(x)`, or remove this `let`"
                        ),
                    )),
                Target::Layer(layer) if self.layers[layer].uses.is_empty() => reports.push((
                    name.span(),
                    format!(
                        "`{name}` is a layer that is never applied; apply it to a value, as \
                         `{name}(x)`, or remove this `let`"
                    ),
                )),
                _ => {}
            }
        }
        for (span, text) in reports {
            self.error(span, text);
        }
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

fn starts_uppercase(name: &Ident) -> bool {
    name.to_string()
        .starts_with(|c: char| c.is_ascii_uppercase())
}

/// Whether `arg` is the keyword argument `keyword = ...`.
fn is_keyword(arg: &Arg, keyword: &str) -> bool {
    arg.key.as_ref().is_some_and(|key| key == keyword)
}

/// Where the value of the keyword argument `keyword` of `call` is written, if it is.
pub fn keyword_value_span(call: &LayerCall, keyword: &str) -> Option<Span> {
    let arg = call.args.iter().find(|arg| is_keyword(arg, keyword))?;
    Some(arg.value.span())
}

/// The argument `key = value` for an integer `value`, written at `span`.
fn int_arg(key: &str, value: usize, span: Span) -> Arg {
    Arg {
        key: Some(Ident::new(key, span)),
        value: Value::Int(value as i64, span),
    }
}

/// `Dense(...)` or `Flatten`, as an expression reads in a message.
fn describe_call(call: &LayerCall) -> String {
    if call.args.is_empty() {
        call.kind.to_string()
    } else {
        format!("{}(...)", call.kind)
    }
}
