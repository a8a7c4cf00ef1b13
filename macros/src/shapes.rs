//! Stage 3: infers every value's shape and checks every argument. All compile errors about
//! a model come from here.

use std::collections::HashMap;

use crate::errors::{Errors, message};
use crate::graph::{Graph, INPUT, Node, ValueId};
use crate::layers::{self, Args, Layer, ParamSpec, shape_str};

/// A model whose every shape is known and every argument valid.
pub struct Checked<'a> {
    pub graph: Graph<'a>,
    pub layers: Vec<CheckedLayer>,
    /// The shape of every value, by [`ValueId`].
    pub shapes: Vec<Vec<usize>>,
    pub params: Vec<Param>,
    pub param_count: usize,
    pub trainable_count: usize,
}

/// A layer with its name, configuration and parameters.
pub struct CheckedLayer {
    pub name: String,
    pub kind: &'static str,
    pub layer: Box<dyn Layer>,
    pub trainable: bool,
    /// Indices into [`Checked::params`].
    pub params: std::ops::Range<usize>,
}

/// A parameter tensor at its place in the flat buffer.
pub struct Param {
    pub name: String,
    pub spec: ParamSpec,
    pub offset: usize,
    pub len: usize,
    pub trainable: bool,
}

/// Checks `graph`; `None` when anything is wrong (every independent error is recorded).
pub fn check<'a>(graph: Graph<'a>, errors: &mut Errors) -> Option<Checked<'a>> {
    let errors_before = errors.len();
    let mut shapes: Vec<Option<Vec<usize>>> = vec![Some(graph.def.input.dims.clone())];
    let mut layers_out: Vec<Option<CheckedLayer>> = Vec::new();
    let mut names = Names::default();
    for (index, node) in graph.nodes.iter().enumerate() {
        let configured = configure(node, &mut names, errors);
        let input_shapes: Option<Vec<Vec<usize>>> =
            node.inputs.iter().map(|&v| shapes[v].clone()).collect();
        let output = match (configured, input_shapes) {
            (Some(mut layer), Some(inputs)) => match layer.layer.infer(&inputs[0]) {
                Ok(shape) => {
                    layers_out.push(Some(layer));
                    Some(shape)
                }
                Err(e) => {
                    let notes = vec![origin(&graph, node.inputs[0], &inputs[0], &layers_out)];
                    errors.at(node.call.kind.span(), message(e.headline, &notes, e.help));
                    layers_out.push(None);
                    None
                }
            },
            _ => {
                layers_out.push(None);
                None
            }
        };
        debug_assert_eq!(shapes.len(), Node::value(index));
        shapes.push(output);
    }
    let shapes: Vec<Vec<usize>> = shapes.into_iter().collect::<Option<_>>()?;
    if errors.len() > errors_before {
        return None;
    }
    check_declared_output(&graph, &shapes, &layers_out, errors)?;
    let mut layers_out: Vec<CheckedLayer> = layers_out.into_iter().collect::<Option<_>>()?;
    let (params, param_count, trainable_count) = lay_out_params(&mut layers_out);
    Some(Checked {
        graph,
        layers: layers_out,
        shapes,
        params,
        param_count,
        trainable_count,
    })
}

/// Reads the layer's kind and arguments.
fn configure(node: &Node, names: &mut Names, errors: &mut Errors) -> Option<CheckedLayer> {
    let kind = layers::resolve(&node.call.kind, errors)?;
    let args = Args::match_up(node.call, kind.keywords(), errors);
    let name = args.string("name", errors);
    let trainable = args.boolean("trainable", errors);
    let layer = kind.configure(&args, errors);
    let name = names.assign(kind.default_name(), name?, errors)?;
    Some(CheckedLayer {
        name,
        kind: kind.kind(),
        layer: layer?,
        trainable: trainable?.unwrap_or(true),
        params: 0..0,
    })
}

/// Keras-style unique layer names: `dense`, `dense_1`, ... unless the user names a layer.
#[derive(Default)]
struct Names {
    counts: HashMap<&'static str, usize>,
    taken: Vec<String>,
}

impl Names {
    fn assign(
        &mut self,
        default: &'static str,
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
                let count = self.counts.entry(default).or_insert(0);
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
/// at line 8" when the model has several layers of that kind.
fn origin(
    graph: &Graph,
    value: ValueId,
    shape: &[usize],
    layers: &[Option<CheckedLayer>],
) -> String {
    if value == INPUT {
        return format!("{} is the model's input", shape_str(shape));
    }
    let node = &graph.nodes[value - 1];
    let label = match layers.get(value - 1) {
        Some(Some(layer)) => layer.layer.label(),
        _ => node.call.kind.to_string(),
    };
    let same_kind = |n: &&Node| n.call.kind == node.call.kind;
    let label = match graph.nodes.iter().filter(same_kind).count() {
        1 => label,
        _ => {
            let nth = graph.nodes[..value].iter().filter(same_kind).count();
            format!("the {} {label}", ordinal(nth))
        }
    };
    format!(
        "{} is the output of {label} at line {}",
        shape_str(shape),
        node.call.kind.span().start().line
    )
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
    layers: &[Option<CheckedLayer>],
    errors: &mut Errors,
) -> Option<()> {
    let Some(declared) = &graph.def.output else {
        return Some(());
    };
    let inferred = &shapes[graph.output];
    if &declared.dims == inferred {
        return Some(());
    }
    let mut notes = vec![origin(graph, graph.output, inferred, layers)];
    let last_input = graph.nodes.last().map(|node| &shapes[node.inputs[0]]);
    let sequence = returned_sequence(graph, shapes, layers);
    let help = match (layers.last(), declared.dims.as_slice(), last_input) {
        (_, [_], _) if let Some((note, help)) = sequence => {
            notes.push(note);
            help
        }
        (Some(Some(last)), [_], Some(input)) if last.kind == "Dense" && input.len() > 1 => format!(
            "{} acts on the last axis of its input {} and keeps the others: put Flatten \
             (or a global pooling layer) before it to give it one vector per sample",
            last.layer.label(),
            shape_str(input)
        ),
        (Some(Some(last)), [units], _) if last.kind == "Dense" => format!(
            "make the last layer Dense({units}), or declare the output as {}",
            shape_str(inferred)
        ),
        _ => format!("declare the output as {}", shape_str(inferred)),
    };
    errors.at(
        declared.span,
        message(
            format!(
                "the model declares its output as {}, but its layers produce {}",
                shape_str(&declared.dims),
                shape_str(inferred)
            ),
            &notes,
            Some(help),
        ),
    );
    None
}

/// When the output keeps the time axis of a layer that returned sequences on request (an
/// RNN's `return_sequences = true`): a note that says which, and the fix.
fn returned_sequence(
    graph: &Graph,
    shapes: &[Vec<usize>],
    layers: &[Option<CheckedLayer>],
) -> Option<(String, String)> {
    let output = &shapes[graph.output];
    let mut value = graph.output;
    while value != INPUT && shapes[value].len() == output.len() && shapes[value][0] == output[0] {
        let Some(layer) = &layers[value - 1] else {
            return None;
        };
        if layer.layer.returns_sequences() {
            let line = graph.nodes[value - 1].call.kind.span().start().line;
            let after = match value == graph.output {
                true => String::new(),
                false => format!(", and the layers after it keep its {} steps", output[0]),
            };
            let note = format!(
                "{} at line {line} returns the whole sequence {}{after}",
                layer.layer.label(),
                shape_str(&shapes[value]),
            );
            let help = format!(
                "remove return_sequences = true at line {line} to pass on only the last step, \
                 or reduce the steps before the output, e.g. with GlobalAveragePooling1D"
            );
            return Some((note, help));
        }
        value = graph.nodes[value - 1].inputs[0];
    }
    None
}

/// Places every parameter tensor in the flat buffer, in layer order.
fn lay_out_params(layers: &mut [CheckedLayer]) -> (Vec<Param>, usize, usize) {
    let mut params = Vec::new();
    let (mut offset, mut trainable_count) = (0, 0);
    for layer in layers {
        let first = params.len();
        for spec in layer.layer.params() {
            let len: usize = spec.shape.iter().product();
            if layer.trainable {
                trainable_count += len;
            }
            params.push(Param {
                name: format!("{}/{}", layer.name, spec.suffix),
                spec,
                offset,
                len,
                trainable: layer.trainable,
            });
            offset += len;
        }
        layer.params = first..params.len();
    }
    (params, offset, trainable_count)
}
