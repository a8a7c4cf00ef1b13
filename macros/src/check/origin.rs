//! Where a value comes from, as the notes of an error tell it.

use super::BuiltNode;
use crate::graph::{Graph, NodeId, Op, ValueId};
use crate::layers::shape_str;

/// The nodes built so far, or all of them.
pub trait Built {
    fn built(&self, id: NodeId) -> Option<&BuiltNode>;
}

impl Built for [Option<BuiltNode>] {
    fn built(&self, id: NodeId) -> Option<&BuiltNode> {
        self.get(id.index())?.as_ref()
    }
}

impl Built for [BuiltNode] {
    fn built(&self, id: NodeId) -> Option<&BuiltNode> {
        self.get(id.index())
    }
}

/// "[128] is the output of Dense(128) at line 6", or "... of the second MaxPooling2D(2)
/// at line 8" when the model has several layers of that kind; "`h`, ..." when a `let`
/// named the value.
pub fn origin(
    graph: &Graph,
    value: ValueId,
    shape: &[usize],
    nodes: &(impl Built + ?Sized),
) -> String {
    let input_name = |value: ValueId| graph.value_name(value).unwrap_or("input").to_string();
    let Some(id) = value.producer() else {
        return match graph.def.inputs[..] {
            [ref only] if !only.named => format!("{} is the model's input", shape_str(shape)),
            _ => format!("{} is the input `{}`", shape_str(shape), input_name(value)),
        };
    };
    let (made_by, part) = match &graph.node(id).op {
        Op::Input(_) => {
            return format!("{} is the input `{}`", shape_str(shape), input_name(value));
        }
        // An unpacked value is told as the part of the layer that gives it.
        Op::Unpack { .. } => {
            let part = match nodes.built(id) {
                Some(BuiltNode::Unpack { part, .. }) => part.to_string(),
                _ => "value".to_string(),
            };
            let packed = graph.node(id).inputs[0];
            match packed.producer() {
                Some(producer) => (producer, part),
                None => return format!("{} is the model's input", shape_str(shape)),
            }
        }
        Op::Layer(_) => (id, "output".to_string()),
    };
    let subject = match graph.value_name(value) {
        Some(name) => format!("{} is `{name}`,", shape_str(shape)),
        None => format!("{} is", shape_str(shape)),
    };
    let line = graph.node(made_by).span.start().line;
    format!(
        "{subject} the {part} of {} at line {line}",
        label(graph, made_by, nodes)
    )
}

/// How the layer of node `id` reads in a note: `Dense(128)`, or `the second Dense(128)`
/// when the model applies several layers of its kind.
fn label(graph: &Graph, id: NodeId, nodes: &(impl Built + ?Sized)) -> String {
    let Some(layer) = graph.layer_of(id) else {
        return "the input".to_string();
    };
    let kind = &graph.layer(layer).call.kind;
    let label = match nodes.built(id) {
        Some(BuiltNode::Layer(built)) => built.label(),
        _ => kind.to_string(),
    };
    let same_kind = |n: &NodeId| {
        graph
            .layer_of(*n)
            .is_some_and(|l| graph.layer(l).call.kind == *kind)
    };
    match graph.node_ids().filter(same_kind).count() {
        1 => label,
        _ => {
            let nth = graph
                .node_ids()
                .take(id.index() + 1)
                .filter(same_kind)
                .count();
            format!("the {} {label}", ordinal(nth))
        }
    }
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

/// `notes` without repeats, in order.
pub fn dedup(mut notes: Vec<String>) -> Vec<String> {
    let mut seen = Vec::new();
    notes.retain(|n| {
        let fresh = !seen.contains(n);
        seen.push(n.clone());
        fresh
    });
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_are_words_up_to_nine() {
        assert_eq!(ordinal(2), "second");
        assert_eq!(ordinal(10), "10th");
        assert_eq!(ordinal(0), "0th");
    }
}
