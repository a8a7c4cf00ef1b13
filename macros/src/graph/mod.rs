//! Stage 2: the AST -> a graph of layer applications.
//!
//! A sequential body (`Dense(128), Dense(10)`) is a chain: each layer applied to the
//! previous one's output. A graph body binds values and layers with `let` and ends with
//! the output: `let h = Dense(32)(input); Add(input, h)`. A name decides what an
//! expression is: `encode(a)` applies the layer bound to `encode`, `Flatten(h)` applies a
//! new Flatten to the value `h`, `Dense(10)` alone is a layer still to be applied.
//!
//! The graph is the model's structure and nothing of its meaning: which layer is applied
//! to which values. Its errors are those of structure (an unknown name, a value applied
//! as a layer, a value that never reaches the output); what a layer makes of its inputs
//! is the check stage's.
//!
//! Besides applications of layers, the graph has two operations of its own ([`Op`]): one
//! of several inputs cut out of the packed input row, and one of the values of a layer
//! that gives several cut out of the value that packs them (`let (output, h, c) = ...;`).

mod build;
mod nested;
mod usage;

use proc_macro2::Span;
use syn::Ident;

pub use build::{build, describe_call};
pub use nested::{called_names, snake_case};

use crate::parse::{LayerCall, ModelDef, UseDecl};

/// A value of the graph: the model's (packed) input, or the output of a node.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ValueId(usize);

impl ValueId {
    /// The model's input: its packed row when it has several, each of which an
    /// [`Op::Input`] node then cuts out.
    pub const INPUT: ValueId = ValueId(0);

    /// The value node `node` produces.
    pub fn of(node: NodeId) -> ValueId {
        ValueId(node.0 + 1)
    }

    /// The node that produces this value; `None` for the input.
    pub fn producer(self) -> Option<NodeId> {
        self.0.checked_sub(1).map(NodeId)
    }

    /// Its index among the graph's values (the input first, then each node's output).
    pub fn index(self) -> usize {
        self.0
    }

    /// Every value of a graph of `nodes` nodes, the input first.
    pub fn all(nodes: usize) -> impl DoubleEndedIterator<Item = ValueId> {
        (0..=nodes).map(ValueId)
    }
}

/// A node of the graph, by its index in [`Graph::nodes`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct NodeId(pub usize);

impl NodeId {
    pub fn index(self) -> usize {
        self.0
    }

    /// Its output value.
    pub fn value(self) -> ValueId {
        ValueId::of(self)
    }
}

/// A layer, by its index in [`Graph::layers`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct LayerId(pub usize);

/// A nested model, by its index in [`Graph::nested`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct NestedId(pub usize);

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
    /// Every operation, in an order where a value is made before it is used.
    pub nodes: Vec<Node>,
    /// The model's outputs, in the order it declares them.
    pub outputs: Vec<ValueId>,
    /// The name a `let` (or the signature) gave each value, if any, by [`ValueId::index`].
    pub value_names: Vec<Option<String>>,
    /// Whether the body was written as a sequential stack.
    pub sequential: bool,
}

impl Graph<'_> {
    pub fn node(&self, node: NodeId) -> &Node {
        &self.nodes[node.0]
    }

    pub fn layer(&self, layer: LayerId) -> &LayerDecl {
        &self.layers[layer.0]
    }

    /// Every node with its id.
    pub fn node_ids(&self) -> impl DoubleEndedIterator<Item = NodeId> + use<> {
        (0..self.nodes.len()).map(NodeId)
    }

    /// Every value, the input first.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = ValueId> + use<> {
        ValueId::all(self.nodes.len())
    }

    /// The layer node `node` applies, if it applies one.
    pub fn layer_of(&self, node: NodeId) -> Option<LayerId> {
        match self.node(node).op {
            Op::Layer(layer) => Some(layer),
            _ => None,
        }
    }

    /// The name the user gave `value`, if any.
    pub fn value_name(&self, value: ValueId) -> Option<&str> {
        self.value_names[value.index()].as_deref()
    }
}

/// A layer as written: its kind and its own arguments (not its inputs).
pub struct LayerDecl {
    pub call: LayerCall,
    /// The nodes that apply it, in order.
    pub uses: Vec<NodeId>,
    /// The nested model it belongs to.
    pub nested: Option<NestedId>,
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
    /// Each application.
    pub applications: Vec<Application>,
    /// The nested model it is part of, for a model nested two levels down.
    pub parent: Option<NestedId>,
}

/// One application of a nested model.
#[derive(Clone, Copy)]
pub struct Application {
    /// The value it is applied to.
    pub input: ValueId,
    /// Where it is written.
    pub span: Span,
    /// Its output.
    pub output: ValueId,
}

/// What a node does.
#[derive(Clone)]
pub enum Op {
    /// Applies a layer (one set of weights, perhaps shared with other nodes).
    Layer(LayerId),
    /// Cuts input `index` of the model's several inputs out of the packed input row.
    Input(usize),
    /// Cuts value `index` (bound to `name`) out of the values its input packs.
    Unpack { index: usize, name: Ident },
}

/// One operation on values.
pub struct Node {
    pub op: Op,
    pub inputs: Vec<ValueId>,
    /// Where it is written, for errors.
    pub span: Span,
    /// The application of a nested model whose input this node reads.
    pub nested_input: Option<(NestedId, usize)>,
    /// With `initial_state = [...]`: how many of the inputs, the last ones, are the states
    /// it starts from, and where the keyword is written.
    pub initial_state: Option<(usize, Span)>,
    /// When a tuple pattern unpacks this node's value, `let (output, _, c) = ...;`: how
    /// many values the pattern takes, and where it is written.
    pub pattern: Option<(Vec<Option<Ident>>, Span)>,
}

impl Node {
    /// The inputs it reads, and the initial states it starts from.
    pub fn inputs_and_states(&self) -> (&[ValueId], &[ValueId]) {
        let states = self.initial_state.map_or(0, |(count, _)| count);
        self.inputs
            .split_at(self.inputs.len().saturating_sub(states))
    }
}
