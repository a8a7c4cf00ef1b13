//! Inputs of token ids (`[20] of u32`): they go to layers that read ids, such layers read
//! nothing else, and the ids' type holds every id the layer knows.

use super::BuiltNode;
use super::origin::origin;
use crate::errors::{Errors, message};
use crate::graph::{Graph, NodeId, Op, ValueId};
use crate::layers::shape_str;

/// The input whose token ids `value` holds, if it holds any: an input declared `of u32`,
/// itself or as cut out of the packed row.
pub fn ids_input(graph: &Graph, value: ValueId) -> Option<usize> {
    let inputs = &graph.def.inputs;
    let index = match value.producer() {
        None if inputs.len() == 1 => 0,
        None => return None,
        Some(node) => match graph.node(node).op {
            Op::Input(index) => index,
            _ => return None,
        },
    };
    inputs[index].ids.as_ref().map(|_| index)
}

/// Whether the layer of node `id`, which reads token ids when `reads_ids` says how many
/// it knows, and its inputs agree on ids; each disagreement reported.
pub fn fit(
    graph: &Graph,
    id: NodeId,
    label: &str,
    reads_ids: Option<usize>,
    shapes: &[Option<Vec<usize>>],
    nodes: &[Option<BuiltNode>],
    errors: &mut Errors,
) -> bool {
    let node = graph.node(id);
    let mut fits = true;
    for &value in &node.inputs {
        let input = ids_input(graph, value).map(|i| &graph.def.inputs[i]);
        let shape = shapes[value.index()].clone().unwrap_or_default();
        let note = || vec![origin(graph, value, &shape, nodes)];
        let problem = match (input, reads_ids) {
            (Some(input), None) => {
                let ids = input
                    .ids
                    .as_ref()
                    .map(|t| t.name.to_string())
                    .unwrap_or_default();
                Some(message(
                    format!(
                        "{label} receives `{}`, which holds token ids ({ids}): only an \
                         Embedding reads them",
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
                    "{label} reads token ids, but receives numbers {}",
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
                            "{label} knows {known} ids, but `{}` holds them as {}, which holds \
                             only 0 to {}",
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
