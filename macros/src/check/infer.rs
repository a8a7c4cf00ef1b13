//! Every node built on the shapes of its inputs, in graph order: the shape of every value.

use std::collections::HashMap;

use super::BuiltNode;
use super::configure::Configured;
use super::origin::{dedup, origin};
use super::tokens;
use crate::errors::{Errors, message};
use crate::graph::{Graph, NestedId, NodeId, Op, ValueId};
use crate::layers::{self, BufferLen, Built, Inputs, Output, ShapeError, shape_str};
use crate::size;

/// What inference knows: each node and each value's shape, `None` where an error (or an
/// error before it) left it unknown.
pub struct Inferred {
    pub nodes: Vec<Option<BuiltNode>>,
    pub shapes: Vec<Option<Vec<usize>>>,
}

/// Builds every node of `graph`; `packed` says which values pack several (read only by
/// unpacking: [`super::values`] reports any other use).
pub fn nodes(
    graph: &Graph,
    layers: &[Option<Configured>],
    packed: &[bool],
    errors: &mut Errors,
) -> Inferred {
    let mut inferring = Inferring {
        graph,
        layers,
        packed,
        nodes: Vec::new(),
        shapes: vec![Some(graph.def.packed_input_shape())],
        fitting: HashMap::new(),
        errors,
    };
    for id in graph.node_ids() {
        let (node, shape) = inferring.node(id).unzip();
        inferring.nodes.push(node);
        inferring.shapes.push(shape);
    }
    Inferred {
        nodes: inferring.nodes,
        shapes: inferring.shapes,
    }
}

struct Inferring<'g, 'a, 'e> {
    graph: &'g Graph<'a>,
    layers: &'g [Option<Configured>],
    packed: &'g [bool],
    nodes: Vec<Option<BuiltNode>>,
    shapes: Vec<Option<Vec<usize>>>,
    /// Whether each application of a nested model reads a value of its input's shape.
    fitting: HashMap<(NestedId, usize), bool>,
    errors: &'e mut Errors,
}

impl Inferring<'_, '_, '_> {
    /// Node `id` built, and its value's shape.
    fn node(&mut self, id: NodeId) -> Option<(BuiltNode, Vec<usize>)> {
        let graph = self.graph;
        let node = graph.node(id);
        if let Some((nested, application)) = node.nested_input
            && !self.nested_input_fits(nested, application)
        {
            return None;
        }
        match &node.op {
            Op::Input(index) => {
                let shape = graph.def.inputs[*index].shape.dims.clone();
                let offset = graph.def.inputs[..*index]
                    .iter()
                    .map(|i| i.shape.len())
                    .sum();
                let total = graph.def.packed_input_shape()[0];
                Some((BuiltNode::Input { offset, total }, shape))
            }
            Op::Unpack { index, .. } => self.unpack(id, *index),
            Op::Layer(layer) => {
                let configured = self.layers[layer.0].as_ref()?;
                let inputs = self.input_shapes(id)?;
                let built = self.build(id, configured, &inputs)?;
                let shape = match built.output() {
                    Output::One(shape) => shape,
                    Output::Several(parts) => {
                        vec![parts.iter().map(|p| size::product(p)).sum::<u128>() as usize]
                    }
                };
                self.check_sizes(id, &*built, &shape)?;
                self.check_shared_weights(id, &*built, &inputs)?;
                Some((BuiltNode::Layer(built), shape))
            }
        }
    }

    /// The shapes of node `id`'s inputs, when every one is known and none packs several.
    fn input_shapes(&self, id: NodeId) -> Option<Vec<Vec<usize>>> {
        self.graph
            .node(id)
            .inputs
            .iter()
            .map(|v| {
                let shape = self.shapes[v.index()].clone();
                shape.filter(|_| !self.packed[v.index()])
            })
            .collect()
    }

    /// Value `index` of the values node `id`'s input packs.
    fn unpack(&self, id: NodeId, index: usize) -> Option<(BuiltNode, Vec<usize>)> {
        let packed = self.graph.node(id).inputs[0];
        let producer = packed.producer()?;
        let Some(BuiltNode::Layer(layer)) = &self.nodes[producer.index()] else {
            return None;
        };
        let Output::Several(parts) = layer.output() else {
            return None;
        };
        let shape = parts.get(index)?.clone();
        let layer_id = self.graph.layer_of(producer)?;
        let part = *self.layers[layer_id.0]
            .as_ref()?
            .config
            .gives()
            .get(index)?;
        let offset = parts[..index]
            .iter()
            .map(|p| p.iter().product::<usize>())
            .sum();
        Some((BuiltNode::Unpack { part, offset }, shape))
    }

    /// The layer of node `id` built on `inputs` (its values, then its initial states), or
    /// `None` with the error recorded.
    fn build(
        &mut self,
        id: NodeId,
        configured: &Configured,
        inputs: &[Vec<usize>],
    ) -> Option<Box<dyn Built>> {
        let node = self.graph.node(id);
        let config = &*configured.config;
        let label = config.label();
        let capabilities = config.capabilities();
        let ids_fit = tokens::fit(
            self.graph,
            id,
            &label,
            capabilities.reads_token_ids,
            &self.shapes,
            &self.nodes,
            self.errors,
        );
        if !ids_fit {
            return None;
        }
        let (values, states) = node.inputs_and_states();
        let (value_shapes, state_shapes) = inputs.split_at(values.len());
        if let Some((_, keyword)) = node.initial_state {
            let Some(recurrent) = capabilities.recurrent else {
                let e = ShapeError::new(format!(
                    "initial_state starts a recurrent layer (SimpleRNN, LSTM or GRU) from \
                     given states, but {} keeps no state",
                    configured.kind
                ));
                self.report(keyword, e, &[]);
                return None;
            };
            if let Err(e) = recurrent.check_states(state_shapes) {
                self.report(keyword, e, states);
                return None;
            }
        }
        let inputs = Inputs {
            values: value_shapes,
            states: state_shapes,
        };
        match config.build(&inputs) {
            Ok(built) => Some(built),
            Err(e) => {
                self.report(node.span, e, values);
                None
            }
        }
    }

    /// Records `e` at `span`, with notes on where `values` come from.
    fn report(&mut self, span: proc_macro2::Span, e: ShapeError, values: &[ValueId]) {
        let notes: Vec<String> = values
            .iter()
            .map(|&v| {
                let shape = self.shapes[v.index()].clone().unwrap_or_default();
                origin(self.graph, v, &shape, &self.nodes[..])
            })
            .collect();
        self.errors
            .at(span, message(e.headline, &dedup(notes), e.help));
    }

    /// Every size the built layer of node `id` needs fits in one buffer: its output, its
    /// weights and its buffers per sample.
    fn check_sizes(&mut self, id: NodeId, built: &dyn Built, output: &[usize]) -> Option<()> {
        let label = built.label();
        let outputs = match built.output() {
            Output::One(shape) => vec![shape],
            Output::Several(parts) => parts,
        };
        let mut problems = Vec::new();
        let total: u128 = outputs.iter().map(|shape| size::product(shape)).sum();
        if size::fits(total).is_none() || size::len(output).is_none() {
            problems.push(format!(
                "{label} gives {} values per sample, {}",
                size::count_str(total),
                size::limit_str()
            ));
        }
        for weight in built.weights() {
            let rank = weight.shape.len() as i64;
            let axes = weight.constraint.as_ref().map_or(&[][..], |c| c.axes());
            if let Some(axis) = axes.iter().find(|&&a| a < -rank || a >= rank) {
                let text = format!(
                    "the constraint of the {} of {label} reduces axis {axis}, but {} has axes 0 \
                     to {}",
                    weight.name,
                    shape_str(&weight.shape),
                    rank - 1
                );
                let help = format!("give `axis` from 0 to {} (or -1 to -{rank})", rank - 1);
                self.errors
                    .at(self.graph.node(id).span, message(text, &[], Some(help)));
                return None;
            }
            let len = size::product(&weight.shape);
            if size::fits(len).is_none() {
                problems.push(format!(
                    "the {} of {label}, {}, would hold {} values, {}",
                    weight.name,
                    shape_str(&weight.shape),
                    size::count_str(len),
                    size::limit_str()
                ));
            }
        }
        for buffer in built.buffers() {
            if let BufferLen::PerSample(len) = buffer.len
                && size::fits(len as u128).is_none()
            {
                problems.push(format!(
                    "{label} would need {len} values per sample for its {}, {}",
                    buffer.name,
                    size::limit_str()
                ));
            }
        }
        let span = self.graph.node(id).span;
        for problem in &problems {
            self.errors.at(
                span,
                message(
                    problem.clone(),
                    &[],
                    Some("make the layer or its input smaller".to_string()),
                ),
            );
        }
        problems.is_empty().then_some(())
    }

    /// A shared layer's later application must need the same weights as its first.
    fn check_shared_weights(
        &mut self,
        id: NodeId,
        built: &dyn Built,
        inputs: &[Vec<usize>],
    ) -> Option<()> {
        let graph = self.graph;
        let layer = graph.layer_of(id)?;
        let first = graph.layer(layer).uses[0];
        if first == id {
            return Some(());
        }
        let Some(Some(BuiltNode::Layer(first_layer))) = self.nodes.get(first.index()) else {
            return Some(());
        };
        let shapes = |l: &dyn Built| -> Vec<(String, Vec<usize>)> {
            l.weights().into_iter().map(|w| (w.name, w.shape)).collect()
        };
        let (want, have) = (shapes(&**first_layer), shapes(built));
        if want == have {
            return Some(());
        }
        let differing = want
            .iter()
            .zip(&have)
            .find(|(w, h)| w != h)
            .map(|((name, w), (_, h))| {
                format!(
                    "its {name} is {} for its first input, but this input needs {}",
                    shape_str(w),
                    shape_str(h)
                )
            })
            .unwrap_or_default();
        let text = message(
            format!(
                "{} is shared, and one set of weights cannot serve this input {}",
                built.label(),
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
                    graph.node(first).span.start().line
                ),
            ],
            Some("apply a shared layer only to inputs of the same shape, or use two layers".into()),
        );
        self.errors.at(graph.node(id).span, text);
        None
    }

    /// Whether the value that application `application` of nested model `nested` reads
    /// has the model's input shape; reports it once when it has not.
    fn nested_input_fits(&mut self, nested: NestedId, application: usize) -> bool {
        if let Some(&fits) = self.fitting.get(&(nested, application)) {
            return fits;
        }
        let graph = self.graph;
        let model = &graph.nested[nested.0];
        let applied = model.applications[application];
        let fits = match &self.shapes[applied.input.index()] {
            Some(shape) if *shape != model.input => {
                let name = model.model.to_string();
                let fix = format!("change {name}'s input");
                let misfit = layers::model_misfit(&name, &model.input, shape, &fix);
                let note = origin(graph, applied.input, shape, &self.nodes[..]);
                self.errors
                    .at(applied.span, message(misfit.headline, &[note], misfit.help));
                false
            }
            _ => true,
        };
        self.fitting.insert((nested, application), fits);
        fits
    }
}
