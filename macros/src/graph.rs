//! Stage 2: the AST -> a graph of layer applications. A sequential body is a chain.

use crate::parse::{LayerCall, ModelDef};

/// A value in the graph: `INPUT`, or the output of node `i` as `i + 1`.
pub type ValueId = usize;

/// The model's input.
pub const INPUT: ValueId = 0;

/// One model as a graph.
pub struct Graph<'a> {
    pub def: &'a ModelDef,
    pub nodes: Vec<Node<'a>>,
    pub output: ValueId,
}

/// One application of a layer to values.
pub struct Node<'a> {
    pub call: &'a LayerCall,
    pub inputs: Vec<ValueId>,
}

impl Node<'_> {
    /// The value this node produces.
    pub fn value(index: usize) -> ValueId {
        index + 1
    }
}

/// The graph of `def`: each layer applied to the previous one's output.
pub fn build(def: &ModelDef) -> Graph<'_> {
    let nodes = def
        .layers
        .iter()
        .enumerate()
        .map(|(i, call)| Node {
            call,
            inputs: vec![if i == 0 { INPUT } else { Node::value(i - 1) }],
        })
        .collect::<Vec<_>>();
    let output = if nodes.is_empty() {
        INPUT
    } else {
        Node::value(nodes.len() - 1)
    };
    Graph { def, nodes, output }
}
