//! Stage 3: infers every value's shape and checks every argument. All compile errors about
//! a model come from here.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use crate::errors::{Errors, message};
use crate::graph::{Graph, INPUT, INPUT_LAYER, LayerDecl, Node, UNPACK, ValueId};
use crate::layers::foreign::{Foreign, ModelType};
use crate::layers::{self, Args, Layer, LayerKind, ParamSpec, ShapeError, shape_str};

/// A model whose every shape is known and every argument valid.
pub struct Checked<'a> {
    pub graph: Graph<'a>,
    /// One per layer of the graph, by index: a shared layer is one layer.
    pub layers: Vec<CheckedLayer>,
    /// One per node of the graph: the layer as configured for that application's shapes.
    pub nodes: Vec<Box<dyn Layer>>,
    /// The shape of every value, by [`ValueId`].
    pub shapes: Vec<Vec<usize>>,
    pub params: Vec<Param>,
    pub param_count: Size,
    pub trainable_count: Size,
    /// The full name of each nested model (`encoder`, `encoder/block`) and whether it
    /// trains, by index into the graph's nested models.
    pub nested: Vec<(String, bool)>,
}

impl Checked<'_> {
    /// The shape of each output, in declaration order.
    pub fn output_shapes(&self) -> Vec<Vec<usize>> {
        self.graph
            .outputs
            .iter()
            .map(|&v| self.shapes[v].clone())
            .collect()
    }
}

/// A layer with its name, configuration and parameters.
pub struct CheckedLayer {
    pub name: String,
    pub kind: String,
    pub trainable: bool,
    /// The node of its first application.
    pub first_use: usize,
    /// Indices into [`Checked::params`].
    pub params: std::ops::Range<usize>,
}

/// A parameter tensor, or a model of another block's parameters, at its place in the flat
/// buffer.
pub struct Param {
    /// `dense/kernel`; for a model, its layer's name (`encoder`).
    pub name: String,
    pub weights: Weights,
    pub offset: Size,
    pub len: Size,
    pub trainable: bool,
}

/// What a [`Param`] holds.
pub enum Weights {
    Tensor(ParamSpec),
    /// Every parameter of a model of another block, in its own layout.
    Model(ModelType),
}

/// A number of parameters known at compile time: a number, plus constants of the `Model`
/// impls of models of other blocks (`<Encoder<f32> as Model>::PARAM_COUNT`), which the
/// generated code adds up.
#[derive(Clone, Default)]
pub struct Size {
    literal: usize,
    constants: Vec<TokenStream>,
}

impl Size {
    /// The value of a constant expression.
    pub fn constant(tokens: TokenStream) -> Self {
        Size {
            literal: 0,
            constants: vec![tokens],
        }
    }
}

impl From<usize> for Size {
    fn from(literal: usize) -> Self {
        Size {
            literal,
            constants: Vec::new(),
        }
    }
}

impl std::ops::AddAssign<&Size> for Size {
    fn add_assign(&mut self, other: &Size) {
        self.literal += other.literal;
        self.constants.extend(other.constants.iter().cloned());
    }
}

impl std::ops::Add<&Size> for &Size {
    type Output = Size;
    fn add(self, other: &Size) -> Size {
        let mut sum = self.clone();
        sum += other;
        sum
    }
}

impl std::iter::Sum<Size> for Size {
    fn sum<I: Iterator<Item = Size>>(sizes: I) -> Size {
        sizes.fold(Size::default(), |mut sum, size| {
            sum += &size;
            sum
        })
    }
}

impl ToTokens for Size {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let literal = self.literal;
        tokens.extend(match &self.constants[..] {
            [] => quote!(#literal),
            constants => quote!((#literal #(+ #constants)*)),
        });
    }
}

/// A layer's name and flags, read once from its arguments.
struct Declared<'k> {
    kind: &'k dyn LayerKind,
    name: String,
    trainable: bool,
}

/// Checks `graph`; `None` when anything is wrong (every independent error is recorded).
pub fn check<'a>(graph: Graph<'a>, errors: &mut Errors) -> Option<Checked<'a>> {
    let errors_before = errors.len();
    let mut scopes = name_scopes(&graph, errors);
    let frozen = frozen_by_nesting(&graph);
    let foreign: Vec<Foreign> = graph.uses.iter().map(Foreign::new).collect();
    let mut declared: Vec<Option<Declared>> = Vec::new();
    let mut first_instances: Vec<Option<Box<dyn Layer>>> = Vec::new();
    for decl in &graph.layers {
        let scope = decl.nested.map_or(0, |n| n + 1);
        let kind = match decl.foreign {
            Some(index) => Some(&foreign[index] as &dyn LayerKind),
            None => layers::resolve(&decl.call.kind, errors),
        };
        let in_frozen_model = decl.nested.is_some_and(|n| frozen[n]);
        let configured = kind
            .and_then(|kind| configure(kind, decl, in_frozen_model, &mut scopes[scope], errors));
        match configured {
            Some((mut d, instance)) => {
                d.trainable &= !in_frozen_model;
                declared.push(Some(d));
                first_instances.push(Some(instance));
            }
            None => {
                declared.push(None);
                first_instances.push(None);
            }
        }
    }
    let mut shapes: Vec<Option<Vec<usize>>> = vec![Some(graph.def.packed_input_shape())];
    let mut fitting: HashMap<(usize, usize), bool> = HashMap::new();
    let mut nodes: Vec<Option<Box<dyn Layer>>> = Vec::new();
    for (index, node) in graph.nodes.iter().enumerate() {
        let decl = &graph.layers[node.layer];
        let instance = match (&declared[node.layer], first_instances[node.layer].take()) {
            (_, Some(first)) => Some(first),
            (Some(d), None) => {
                let mut quiet = Errors::default();
                let args = Args::match_up(&decl.call, d.kind.keywords(), &mut quiet)
                    .in_frozen_model(decl.nested.is_some_and(|n| frozen[n]));
                d.kind.configure(&args, &mut quiet)
            }
            (None, None) => None,
        };
        let fits = node.nested_input.is_none_or(|(m, a)| {
            nested_input_fits(&graph, m, a, &shapes, &nodes, &mut fitting, errors)
        });
        let inputs: Option<Vec<Vec<usize>>> = node
            .inputs
            .iter()
            .map(|&v| shapes[v].clone().filter(|_| fits))
            .collect();
        let ids_ok = instance
            .as_deref()
            .is_none_or(|layer| ids_fit(&graph, index, layer, &shapes, &nodes, errors));
        let inputs = inputs.filter(|_| ids_ok);
        let output = match (instance, inputs) {
            (Some(mut layer), Some(inputs)) => {
                match infer_node(&graph, index, &mut *layer, &inputs, &nodes) {
                    Ok(shape) => {
                        let shared_ok =
                            check_shared_weights(&graph, index, &*layer, &nodes, &inputs, errors);
                        nodes.push(shared_ok.then_some(layer));
                        shared_ok.then_some(shape)
                    }
                    Err((span, e, values)) => {
                        let notes: Vec<String> = values
                            .iter()
                            .map(|&v| {
                                origin(&graph, v, shapes[v].as_deref().unwrap_or_default(), &nodes)
                            })
                            .collect();
                        errors.at(span, message(e.headline, &dedup(notes), e.help));
                        nodes.push(None);
                        None
                    }
                }
            }
            _ => {
                nodes.push(None);
                None
            }
        };
        debug_assert_eq!(shapes.len(), Node::value(index));
        shapes.push(output);
    }
    if errors.len() > errors_before {
        return None;
    }
    let shapes: Vec<Vec<usize>> = shapes.into_iter().collect::<Option<_>>()?;
    check_declared_output(&graph, &shapes, &nodes, errors)?;
    let nodes: Vec<Box<dyn Layer>> = nodes.into_iter().collect::<Option<_>>()?;
    let mut layers: Vec<CheckedLayer> = declared
        .into_iter()
        .zip(&graph.layers)
        .map(|(d, decl)| {
            let d = d?;
            Some(CheckedLayer {
                name: d.name,
                kind: d.kind.kind().to_string(),
                trainable: d.trainable,
                first_use: *decl.uses.first()?,
                params: 0..0,
            })
        })
        .collect::<Option<_>>()?;
    let (params, param_count, trainable_count) = lay_out_params(&mut layers, &nodes);
    let nested = scopes
        .into_iter()
        .skip(1)
        .zip(frozen)
        .map(|(scope, frozen)| (scope.prefix.unwrap_or_default(), !frozen))
        .collect();
    Some(Checked {
        nested,
        graph,
        layers,
        nodes,
        shapes,
        params,
        param_count,
        trainable_count,
    })
}

/// What went wrong with a node's inputs: where to say it, what, and the values whose
/// origins explain it.
type NodeError = (proc_macro2::Span, ShapeError, Vec<ValueId>);

/// The output shape of node `index` for `inputs`, the shapes of its inputs: an `Unpack`
/// takes the part it cuts out of the values its input packs; a layer given initial states
/// is started from them before it infers its output from the other inputs.
fn infer_node(
    graph: &Graph,
    index: usize,
    layer: &mut dyn Layer,
    inputs: &[Vec<usize>],
    nodes: &[Option<Box<dyn Layer>>],
) -> Result<Vec<usize>, NodeError> {
    let node = &graph.nodes[index];
    if graph.layers[node.layer].call.kind == UNPACK {
        let packed = nodes[node.inputs[0] - 1].as_deref();
        let parts = packed.expect("a packed value was inferred").parts();
        return layer
            .infer_all(&parts)
            .map_err(|e| (node.span, e, Vec::new()));
    }
    let (values, states) = node.inputs_and_states();
    let (inputs, state_shapes) = inputs.split_at(values.len());
    if let Some((_, keyword)) = node.initial_state {
        layer
            .start_from(state_shapes)
            .map_err(|e| (keyword, e, states.to_vec()))?;
    }
    layer
        .infer_all(inputs)
        .map_err(|e| (node.span, e, values.to_vec()))
}

fn dedup(mut notes: Vec<String>) -> Vec<String> {
    let mut seen = Vec::new();
    notes.retain(|n| {
        let fresh = !seen.contains(n);
        seen.push(n.clone());
        fresh
    });
    notes
}

/// The input whose token ids value `value` holds, if it holds any: an input declared
/// `of u32`, itself or as cut out of the packed row.
pub fn ids_input(graph: &Graph, value: ValueId) -> Option<usize> {
    let inputs = &graph.def.inputs;
    let index = match (value, inputs.len()) {
        (INPUT, 1) => 0,
        (INPUT, _) => return None,
        (v, n) if n > 1 && v <= n => v - 1,
        _ => return None,
    };
    inputs[index].ids.as_ref().map(|_| index)
}

/// Token ids go to Embedding, Embedding reads token ids, and the ids' type can hold every
/// id the Embedding knows.
fn ids_fit(
    graph: &Graph,
    index: usize,
    layer: &dyn Layer,
    shapes: &[Option<Vec<usize>>],
    nodes: &[Option<Box<dyn Layer>>],
    errors: &mut Errors,
) -> bool {
    let node = &graph.nodes[index];
    if graph.layers[node.layer].call.kind == INPUT_LAYER {
        return true;
    }
    let mut fits = true;
    for &value in &node.inputs {
        let input = ids_input(graph, value).map(|i| &graph.def.inputs[i]);
        let shape = shapes[value].clone().unwrap_or_default();
        let note = || vec![origin(graph, value, &shape, nodes)];
        let problem = match (input, layer.reads_ids()) {
            (Some(input), None) => {
                let ids = input
                    .ids
                    .as_ref()
                    .map(|t| t.name.to_string())
                    .unwrap_or_default();
                Some(message(
                    format!(
                        "{} receives `{}`, which holds token ids ({ids}): only an Embedding \
                         reads them",
                        layer.label(),
                        input.name
                    ),
                    &note(),
                    Some(format!(
                        "put an Embedding first, e.g. `Embedding(10000, 64)`, or declare \
                         `{}` without `of {ids}` to read it as numbers",
                        input.name
                    )),
                ))
            }
            (None, Some(_)) => Some(message(
                format!(
                    "{} reads token ids, but receives numbers {}",
                    layer.label(),
                    shape_str(&shape)
                ),
                &note(),
                Some(
                    "an Embedding comes first, on an input declared as ids, e.g. \
                     `struct Net: [20] of u32 -> [1]`"
                        .to_string(),
                ),
            )),
            (Some(input), Some(known)) => input.ids.as_ref().and_then(|ids| {
                (known as u128 > ids.capacity).then(|| {
                    message(
                        format!(
                            "{} knows {known} ids, but `{}` holds them as {}, which holds only \
                             0 to {}",
                            layer.label(),
                            input.name,
                            ids.name,
                            ids.capacity - 1
                        ),
                        &[],
                        Some(format!(
                            "declare `{}` with a wider type, e.g. `of u32`",
                            input.name
                        )),
                    )
                })
            }),
            (None, None) => None,
        };
        if let Some(text) = problem {
            errors.at(node.span, text);
            fits = false;
        }
    }
    fits
}

/// A shared layer's later application must need the same weights as its first.
fn check_shared_weights(
    graph: &Graph,
    index: usize,
    layer: &dyn Layer,
    nodes: &[Option<Box<dyn Layer>>],
    inputs: &[Vec<usize>],
    errors: &mut Errors,
) -> bool {
    let node = &graph.nodes[index];
    let first = graph.layers[node.layer].uses[0];
    if first == index {
        return true;
    }
    let Some(Some(first_layer)) = nodes.get(first) else {
        return true;
    };
    let shapes = |l: &dyn Layer| -> Vec<(String, Vec<usize>)> {
        l.params()
            .into_iter()
            .map(|p| (p.suffix, p.shape))
            .collect()
    };
    let (want, have) = (shapes(&**first_layer), shapes(layer));
    if want == have {
        return true;
    }
    let differing = want
        .iter()
        .zip(&have)
        .find(|(w, h)| w != h)
        .map(|((suffix, w), (_, h))| {
            format!(
                "its {suffix} is {} for its first input, but this input needs {}",
                shape_str(w),
                shape_str(h)
            )
        })
        .unwrap_or_default();
    errors.at(
        node.span,
        message(
            format!(
                "{} is shared, and one set of weights cannot serve this input {}",
                layer.label(),
                inputs
                    .iter()
                    .map(|s| shape_str(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            &[
                differing,
                format!(
                    "its first application is at line {}",
                    graph.nodes[first].span.start().line
                ),
            ],
            Some("apply a shared layer only to inputs of the same shape, or use two layers".into()),
        ),
    );
    false
}

/// Reads the layer's arguments for its `kind`, and configures its first application.
fn configure<'k>(
    kind: &'k dyn LayerKind,
    decl: &LayerDecl,
    in_frozen_model: bool,
    names: &mut Names,
    errors: &mut Errors,
) -> Option<(Declared<'k>, Box<dyn Layer>)> {
    let call = &decl.call;
    let args = Args::match_up(call, kind.keywords(), errors).in_frozen_model(in_frozen_model);
    let name = args.string("name", errors);
    let trainable = args.boolean("trainable", errors);
    let layer = kind.configure(&args, errors);
    let name = names.assign_full(kind.default_name(), name?, errors)?;
    Some((
        Declared {
            kind,
            name,
            trainable: trainable?.unwrap_or(true),
        },
        layer?,
    ))
}

/// The names of the model's layers (index 0) and of each nested model's (index `n + 1`),
/// each nested model named in the scope of the one that contains it. A layer of a nested
/// model is named under it: `encoder/dense`.
fn name_scopes(graph: &Graph, errors: &mut Errors) -> Vec<Names> {
    let mut scopes = vec![Names::default()];
    for nested in &graph.nested {
        let parent = nested.parent.map_or(0, |p| p + 1);
        let name = scopes[parent]
            .assign(&nested.default_name, nested.name.clone(), errors)
            .unwrap_or_else(|| nested.default_name.clone());
        let prefix = match &scopes[parent].prefix {
            Some(outer) => format!("{outer}/{name}"),
            None => name,
        };
        scopes.push(Names {
            prefix: Some(prefix),
            ..Names::default()
        });
    }
    scopes
}

/// Whether each nested model is frozen, by its own `trainable = false` or a container's.
fn frozen_by_nesting(graph: &Graph) -> Vec<bool> {
    let mut frozen: Vec<bool> = Vec::new();
    for nested in &graph.nested {
        let inherited = nested.parent.is_some_and(|p| frozen[p]);
        frozen.push(inherited || nested.trainable == Some(false));
    }
    frozen
}

/// Whether the value that application `a` of nested model `m` reads has the model's input
/// shape; reports it once when it has not.
fn nested_input_fits(
    graph: &Graph,
    m: usize,
    a: usize,
    shapes: &[Option<Vec<usize>>],
    nodes: &[Option<Box<dyn Layer>>],
    fitting: &mut HashMap<(usize, usize), bool>,
    errors: &mut Errors,
) -> bool {
    if let Some(&fits) = fitting.get(&(m, a)) {
        return fits;
    }
    let nested = &graph.nested[m];
    let (value, span, _) = nested.applications[a];
    let fits = match &shapes[value] {
        Some(shape) if *shape != nested.input => {
            let model = nested.model.to_string();
            let fix = format!("change {model}'s input");
            let misfit = layers::model_misfit(&model, &nested.input, shape, &fix);
            errors.at(
                span,
                message(
                    misfit.headline,
                    &[origin(graph, value, shape, nodes)],
                    misfit.help,
                ),
            );
            false
        }
        _ => true,
    };
    fitting.insert((m, a), fits);
    fits
}

/// Keras-style unique layer names: `dense`, `dense_1`, ... unless the user names a layer.
#[derive(Default)]
struct Names {
    counts: HashMap<String, usize>,
    taken: Vec<String>,
    /// The name of the nested model these names are under.
    prefix: Option<String>,
}

impl Names {
    /// A fresh name, with the nested model's prefix.
    fn assign_full(
        &mut self,
        default: &str,
        given: Option<(String, proc_macro2::Span)>,
        errors: &mut Errors,
    ) -> Option<String> {
        let name = self.assign(default, given, errors)?;
        Some(match &self.prefix {
            Some(prefix) => format!("{prefix}/{name}"),
            None => name,
        })
    }

    fn assign(
        &mut self,
        default: &str,
        given: Option<(String, proc_macro2::Span)>,
        errors: &mut Errors,
    ) -> Option<String> {
        let name = match given {
            Some((name, span)) => {
                if self.taken.contains(&name) {
                    errors.at(
                        span,
                        format!("the layer name \"{name}\" is used twice; layer names are unique"),
                    );
                    return None;
                }
                name
            }
            None => loop {
                let count = self.counts.entry(default.to_string()).or_insert(0);
                let candidate = match *count {
                    0 => default.to_string(),
                    n => format!("{default}_{n}"),
                };
                *count += 1;
                if !self.taken.contains(&candidate) {
                    break candidate;
                }
            },
        };
        self.taken.push(name.clone());
        Some(name)
    }
}

/// "[128] is the output of Dense(128) at line 6", or "... of the second MaxPooling2D(2)
/// at line 8" when the model has several layers of that kind; "`h`, ..." when a `let`
/// named the value.
fn origin(
    graph: &Graph,
    value: ValueId,
    shape: &[usize],
    nodes: &[Option<Box<dyn Layer>>],
) -> String {
    let index = value.wrapping_sub(1);
    let kind = (value != INPUT).then(|| &graph.layers[graph.producer(value).layer].call.kind);
    if value == INPUT || kind.is_some_and(|k| k == INPUT_LAYER) {
        let input = graph.value_names[value].as_deref().unwrap_or("input");
        return match graph.def.inputs[..] {
            [ref only] if !only.named => format!("{} is the model's input", shape_str(shape)),
            _ => format!("{} is the input `{input}`", shape_str(shape)),
        };
    }
    // An unpacked value is told as the part of the layer that gives it.
    let (made_by, part) = match kind {
        Some(kind) if kind == UNPACK => {
            let part = nodes
                .get(index)
                .and_then(Option::as_deref)
                .map(|l| l.label());
            (graph.producer(value).inputs[0], part)
        }
        _ => (value, None),
    };
    let (node, index) = (graph.producer(made_by), made_by - 1);
    let kind = &graph.layers[node.layer].call.kind;
    let label = match nodes.get(index) {
        Some(Some(layer)) => layer.label(),
        _ => kind.to_string(),
    };
    let same_kind = |n: &&crate::graph::Node| graph.layers[n.layer].call.kind == *kind;
    let label = match graph.nodes.iter().filter(same_kind).count() {
        1 => label,
        _ => {
            let nth = graph.nodes[..=index].iter().filter(same_kind).count();
            format!("the {} {label}", ordinal(nth))
        }
    };
    let part = part.unwrap_or_else(|| "output".to_string());
    let subject = match &graph.value_names[value] {
        Some(name) => format!("{} is `{name}`,", shape_str(shape)),
        None => format!("{} is", shape_str(shape)),
    };
    let line = node.span.start().line;
    format!("{subject} the {part} of {label} at line {line}")
}

/// `first`, `second`, ... `10th`.
fn ordinal(n: usize) -> String {
    const WORDS: [&str; 9] = [
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    ];
    match WORDS.get(n.wrapping_sub(1)) {
        Some(word) => word.to_string(),
        None => format!("{n}th"),
    }
}

fn check_declared_output(
    graph: &Graph,
    shapes: &[Vec<usize>],
    nodes: &[Option<Box<dyn Layer>>],
    errors: &mut Errors,
) -> Option<()> {
    let Some(declared) = &graph.def.outputs else {
        return Some(());
    };
    let mut fits = true;
    for (output, &value) in declared.iter().zip(&graph.outputs) {
        let inferred = &shapes[value];
        if output.shape.dims == *inferred {
            continue;
        }
        fits = false;
        let mut notes = vec![origin(graph, value, inferred, nodes)];
        let sequence = returned_sequence(graph, value, shapes, nodes);
        let last = (value != INPUT).then(|| {
            let node = graph.producer(value);
            (
                graph.layers[node.layer].call.kind.to_string(),
                nodes[value - 1].as_deref(),
                &shapes[node.inputs[0]],
            )
        });
        let help = match (last, output.shape.dims.as_slice()) {
            (_, [_]) if let Some((note, help)) = sequence => {
                notes.push(note);
                help
            }
            (Some((kind, Some(layer), input)), [_]) if kind == "Dense" && input.len() > 1 => {
                format!(
                    "{} acts on the last axis of its input {} and keeps the others: put \
                     Flatten (or a global pooling layer) before it to give it one vector per \
                     sample",
                    layer.label(),
                    shape_str(input)
                )
            }
            (Some((kind, _, _)), [units]) if kind == "Dense" => format!(
                "make the last layer Dense({units}), or declare the output as {}",
                shape_str(inferred)
            ),
            _ => format!("declare the output as {}", shape_str(inferred)),
        };
        let what = match &output.name {
            Some(name) => format!("its output `{name}`"),
            None => "its output".to_string(),
        };
        errors.at(
            output.shape.span,
            message(
                format!(
                    "the model declares {what} as {}, but its layers produce {}",
                    shape_str(&output.shape.dims),
                    shape_str(inferred)
                ),
                &notes,
                Some(help),
            ),
        );
    }
    fits.then_some(())
}

/// When output `output` keeps the time axis of a layer that returned sequences on request
/// (an RNN's `return_sequences = true`): a note that says which, and the fix.
fn returned_sequence(
    graph: &Graph,
    output: ValueId,
    shapes: &[Vec<usize>],
    nodes: &[Option<Box<dyn Layer>>],
) -> Option<(String, String)> {
    let shape = &shapes[output];
    let mut value = output;
    while value != INPUT && shapes[value].len() == shape.len() && shapes[value][0] == shape[0] {
        let layer = nodes[value - 1].as_deref()?;
        let node = graph.producer(value);
        if layer.returns_sequences() {
            let line = node.span.start().line;
            let after = match value == output {
                true => String::new(),
                false => format!(", and the layers after it keep its {} steps", shape[0]),
            };
            let note = format!(
                "{} at line {line} returns the whole sequence {}{after}",
                layer.label(),
                shape_str(&shapes[value]),
            );
            let help = format!(
                "remove return_sequences = true at line {line} to pass on only the last step, \
                 or reduce the steps before the output, e.g. with GlobalAveragePooling1D"
            );
            return Some((note, help));
        }
        value = node.inputs[0];
    }
    None
}

/// Places every parameter tensor in the flat buffer, in layer order. A tensor is trainable
/// when its layer is and it is not state (BatchNormalization's moving statistics). A
/// model of another block takes one range, as many as its own parameter count.
fn lay_out_params(
    layers: &mut [CheckedLayer],
    nodes: &[Box<dyn Layer>],
) -> (Vec<Param>, Size, Size) {
    let mut params = Vec::new();
    let (mut offset, mut trainable_count) = (Size::default(), Size::default());
    for layer in layers {
        let first = params.len();
        let node = &nodes[layer.first_use];
        let tensors = node.params().into_iter().map(|spec| {
            let len = Size::from(spec.shape.iter().product::<usize>());
            let trainable = layer.trainable && spec.trainable;
            let name = format!("{}/{}", layer.name, spec.suffix);
            (
                name,
                Weights::Tensor(spec),
                len.clone(),
                trainable.then_some(len),
            )
        });
        let model = node.foreign_model().map(|model| {
            let len = Size::constant(model.constant("PARAM_COUNT"));
            let trainable = Size::constant(model.constant("TRAINABLE_PARAM_COUNT"));
            let weights = Weights::Model(model.clone());
            (
                layer.name.clone(),
                weights,
                len,
                layer.trainable.then_some(trainable),
            )
        });
        for (name, weights, len, trainable) in tensors.chain(model) {
            if let Some(trainable) = &trainable {
                trainable_count += trainable;
            }
            params.push(Param {
                name,
                weights,
                offset: offset.clone(),
                len: len.clone(),
                trainable: trainable.is_some(),
            });
            offset += &len;
        }
        layer.params = first..params.len();
    }
    (params, offset, trainable_count)
}
