//! Stage 3: the graph's meaning. Configures every layer from its arguments, names it,
//! builds it on the shapes of each application, checks what layers that give several
//! values, read token ids or start from states need, checks the declared outputs and
//! every size, and lays out the parameters. Every error about what a model means (not
//! how it is written) comes from here.

mod configure;
mod infer;
mod layout;
mod names;
mod origin;
mod output;
mod tokens;
mod values;

pub use layout::{Param, Size, Weights};
pub use tokens::ids_input;
pub use values::keyword_value_span;

use crate::errors::Errors;
use crate::graph::{Graph, LayerId, NodeId, ValueId};
use crate::layers::Built;
use crate::layers::penalties::Regularizer;

/// A model whose every shape is known and every argument valid.
pub struct Checked<'a> {
    pub graph: Graph<'a>,
    /// One per layer of the graph: a shared layer is one layer.
    pub layers: Vec<CheckedLayer>,
    /// One per node of the graph: what it does, built for its input shapes.
    pub nodes: Vec<BuiltNode>,
    /// The shape of every value, by [`ValueId::index`].
    pub shapes: Vec<Vec<usize>>,
    pub params: Vec<Param>,
    pub param_count: Size,
    pub trainable_count: Size,
    /// The full name of each nested model (`encoder`, `encoder/block`) and whether it
    /// trains, by index into the graph's nested models.
    pub nested: Vec<(String, bool)>,
}

impl Checked<'_> {
    pub fn shape(&self, value: ValueId) -> &[usize] {
        &self.shapes[value.index()]
    }

    /// Values per sample of `value`.
    pub fn size(&self, value: ValueId) -> usize {
        self.shape(value).iter().product()
    }

    pub fn node(&self, node: NodeId) -> &BuiltNode {
        &self.nodes[node.index()]
    }

    pub fn layer(&self, layer: LayerId) -> &CheckedLayer {
        &self.layers[layer.0]
    }

    /// The built layer node `node` applies, if it applies one.
    pub fn built(&self, node: NodeId) -> Option<&dyn Built> {
        match self.node(node) {
            BuiltNode::Layer(layer) => Some(&**layer),
            _ => None,
        }
    }

    /// The shape of each output, in declaration order.
    pub fn output_shapes(&self) -> Vec<Vec<usize>> {
        self.graph
            .outputs
            .iter()
            .map(|&v| self.shape(v).to_vec())
            .collect()
    }

    /// The parameters of the layer node `node` applies, by index into [`Checked::params`].
    pub fn node_params(&self, node: NodeId) -> std::ops::Range<usize> {
        match self.graph.layer_of(node) {
            Some(layer) => self.layer(layer).params.clone(),
            None => 0..0,
        }
    }
}

/// A layer with its name, kind, flag and parameters.
pub struct CheckedLayer {
    pub name: String,
    pub kind: String,
    pub trainable: bool,
    /// The node of its first application.
    pub first_use: NodeId,
    /// Indices into [`Checked::params`].
    pub params: std::ops::Range<usize>,
    /// For a layer that reads token ids, how many it knows.
    pub reads_token_ids: Option<usize>,
    /// `activity_regularizer`: a penalty on the layer's outputs.
    pub activity: Option<Regularizer>,
}

/// What a node does, ready to be planned and emitted.
pub enum BuiltNode {
    /// A layer built for this application's inputs.
    Layer(Box<dyn Built>),
    /// One of several inputs, at `offset` in the packed row of `total` values.
    Input { offset: usize, total: usize },
    /// One of the values a layer gives, `part` by name, after `offset` values per sample
    /// of the values before it.
    Unpack { part: &'static str, offset: usize },
}

/// Checks `graph`; `None` when anything is wrong (every independent error is recorded).
pub fn check<'a>(graph: Graph<'a>, errors: &mut Errors) -> Option<Checked<'a>> {
    let errors_before = errors.len();
    let mut scopes = names::scopes(&graph, errors);
    let configured = configure::layers(&graph, &mut scopes, errors);
    let packed = values::check(&graph, &configured, errors);
    let inferred = infer::nodes(&graph, &configured, &packed, errors);
    if errors.len() > errors_before {
        return None;
    }
    let shapes: Vec<Vec<usize>> = inferred.shapes.into_iter().collect::<Option<_>>()?;
    let nodes: Vec<BuiltNode> = inferred.nodes.into_iter().collect::<Option<_>>()?;
    output::check_declared(&graph, &shapes, &nodes, errors)?;
    let mut layers: Vec<CheckedLayer> = configured
        .into_iter()
        .zip(&graph.layers)
        .map(|(c, decl)| {
            let c = c?;
            Some(CheckedLayer {
                reads_token_ids: c.config.capabilities().reads_token_ids,
                activity: c.activity,
                name: c.name,
                kind: c.kind,
                trainable: c.trainable,
                first_use: *decl.uses.first()?,
                params: 0..0,
            })
        })
        .collect::<Option<_>>()?;
    let (params, param_count, trainable_count) =
        layout::params(&graph, &mut layers, &nodes, errors)?;
    let frozen = configure::frozen_by_nesting(&graph);
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
