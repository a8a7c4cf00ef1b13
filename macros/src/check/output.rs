//! The outputs the signature declares against the shapes the layers produce.

use super::BuiltNode;
use super::origin::origin;
use crate::errors::{Errors, message};
use crate::graph::{Graph, ValueId};
use crate::layers::shape_str;

/// Every declared output has the shape its layers produce; each that has not is reported
/// with the likely fix.
pub fn check_declared(
    graph: &Graph,
    shapes: &[Vec<usize>],
    nodes: &[BuiltNode],
    errors: &mut Errors,
) -> Option<()> {
    let Some(declared) = &graph.def.outputs else {
        return Some(());
    };
    let mut fits = true;
    for (output, &value) in declared.iter().zip(&graph.outputs) {
        let inferred = &shapes[value.index()];
        if output.shape.dims == *inferred {
            continue;
        }
        fits = false;
        let mut notes = vec![origin(graph, value, inferred, nodes)];
        let sequence = returned_sequence(graph, value, shapes, nodes);
        let help = match (sequence, output.shape.dims.as_slice()) {
            (Some((note, help)), [_]) => {
                notes.push(note);
                help
            }
            (_, dims) => dense_help(graph, value, shapes, nodes, dims)
                .unwrap_or_else(|| format!("declare the output as {}", shape_str(inferred))),
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

/// When the last layer is a Dense: the help that says how to make it give `declared`.
fn dense_help(
    graph: &Graph,
    value: ValueId,
    shapes: &[Vec<usize>],
    nodes: &[BuiltNode],
    declared: &[usize],
) -> Option<String> {
    let id = value.producer()?;
    let layer = graph.layer_of(id)?;
    if graph.layer(layer).call.kind != "Dense" {
        return None;
    }
    let input = &shapes[graph.node(id).inputs.first()?.index()];
    let BuiltNode::Layer(built) = &nodes[id.index()] else {
        return None;
    };
    match declared {
        [_] if input.len() > 1 => Some(format!(
            "{} acts on the last axis of its input {} and keeps the others: put Flatten (or \
             a global pooling layer) before it to give it one vector per sample",
            built.label(),
            shape_str(input)
        )),
        [units] => Some(format!(
            "make the last layer Dense({units}), or declare the output as {}",
            shape_str(&shapes[value.index()])
        )),
        _ => None,
    }
}

/// When output `output` keeps the time axis of a layer that returned sequences on request
/// (an RNN's `return_sequences = true`): a note that says which, and the fix.
fn returned_sequence(
    graph: &Graph,
    output: ValueId,
    shapes: &[Vec<usize>],
    nodes: &[BuiltNode],
) -> Option<(String, String)> {
    let shape = &shapes[output.index()];
    let mut value = output;
    while let Some(id) = value.producer()
        && shapes[value.index()].len() == shape.len()
        && shapes[value.index()][0] == shape[0]
    {
        let BuiltNode::Layer(layer) = &nodes[id.index()] else {
            return None;
        };
        let node = graph.node(id);
        if layer.capabilities().returns_sequences {
            let line = node.span.start().line;
            let after = match value == output {
                true => String::new(),
                false => format!(", and the layers after it keep its {} steps", shape[0]),
            };
            let note = format!(
                "{} at line {line} returns the whole sequence {}{after}",
                layer.label(),
                shape_str(&shapes[value.index()]),
            );
            let help = format!(
                "remove return_sequences = true at line {line} to pass on only the last step, \
                 or reduce the steps before the output, e.g. with GlobalAveragePooling1D"
            );
            return Some((note, help));
        }
        value = *node.inputs.first()?;
    }
    None
}
