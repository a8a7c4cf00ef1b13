//! Stage 4: where every value, gradient and buffer lives, decided without writing code.
//!
//! A layer that passes its input through unchanged (Flatten, Reshape, Dropout in
//! inference) shares its input's buffer when it is the first such reader of it. A layer
//! whose output only a max pooling reads, and that can pool its own output, does so (the
//! pooling node then emits nothing). A value's gradient is the sum over its uses: its
//! first use writes the value's gradient buffer, every other use a buffer of its own,
//! added in once every use has run backward, before the value's producer does. A shared
//! layer's weight gradients are summed the same way.

#[cfg(test)]
mod tests;

use crate::check::{BuiltNode, Checked};
use crate::graph::{NodeId, ValueId};
use crate::layers::Mode;
use crate::layers::penalties::Regularizer;

/// One reading of a value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Use {
    /// Input `position` of a node.
    Node(NodeId, usize),
    /// Output `k` of a model of several outputs.
    Output(usize),
}

/// Where a value lives.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Storage {
    /// The model's input slice.
    Input,
    /// The activation buffer of this value.
    Own(ValueId),
}

/// A buffer of the workspace, by what it holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Field {
    /// A value's activations.
    Value(ValueId),
    /// A value's gradient, written by its first use.
    Grad(ValueId),
    /// A later use's part of a value's gradient.
    GradPart(ValueId, usize),
    /// A node's layer's buffer, by its position among the layer's buffers.
    Layer(NodeId, usize),
    /// A shared layer's weight gradient from one of its applications other than the last,
    /// by index into the model's parameters.
    WeightGrad(NodeId, usize),
    /// The packed row of several outputs (or a copy of the input the model only reshapes).
    Output,
}

/// How large a [`Field`] is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FieldSize {
    /// This many floats per sample.
    Floats(usize),
    /// As the node's layer declares its buffer.
    LayerBuffer,
    /// As many floats as the parameter of the [`Field::WeightGrad`].
    Weights,
}

/// Where a gradient is read or written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GradPlace {
    /// The caller's `input_grad`.
    InputGrad,
    /// The caller's `output_grad`.
    OutputGrad,
    Field(Field),
}

/// The decisions for one checked model.
pub struct Plan<'c, 'a> {
    checked: &'c Checked<'a>,
    /// For every value, its uses; the first one writes the value's own gradient buffer.
    uses: Vec<Vec<Use>>,
    /// For every node, whether it shares its input's buffer, in inference and training.
    aliased: Vec<[bool; 2]>,
    /// For every node, the node of the max pooling it does itself.
    pools: Vec<Option<NodeId>>,
    /// For every node, whether it is a max pooling that the layer it reads does.
    pooled: Vec<bool>,
}

impl<'c, 'a> Plan<'c, 'a> {
    pub fn new(checked: &'c Checked<'a>) -> Self {
        let graph = &checked.graph;
        let mut uses = vec![Vec::new(); graph.nodes.len() + 1];
        for id in graph.node_ids() {
            for (position, &input) in graph.node(id).inputs.iter().enumerate() {
                uses[input.index()].push(Use::Node(id, position));
            }
        }
        if graph.outputs.len() > 1 {
            for (k, &output) in graph.outputs.iter().enumerate() {
                uses[output.index()].push(Use::Output(k));
            }
        }
        let aliased = aliases(checked, &uses);
        // An alias's gradient is its input's, so it goes first among the input's uses.
        for value_uses in &mut uses {
            let alias = value_uses
                .iter()
                .position(|u| matches!(u, Use::Node(id, _) if aliased[id.index()][1]));
            if let Some(at) = alias {
                let alias = value_uses.remove(at);
                value_uses.insert(0, alias);
            }
        }
        let mut plan = Plan {
            checked,
            uses,
            aliased,
            pools: vec![None; graph.nodes.len()],
            pooled: vec![false; graph.nodes.len()],
        };
        for id in graph.node_ids() {
            if let Some(pool) = plan.pool_to_fuse(id) {
                plan.pools[id.index()] = Some(pool);
                plan.pooled[pool.index()] = true;
            }
        }
        plan
    }

    pub fn checked(&self) -> &'c Checked<'a> {
        self.checked
    }

    /// The uses of `value`, the one that writes its gradient buffer first.
    pub fn uses(&self, value: ValueId) -> &[Use] {
        &self.uses[value.index()]
    }

    /// The max pooling node `id` does itself, if any.
    pub fn pool_of(&self, id: NodeId) -> Option<NodeId> {
        self.pools[id.index()]
    }

    /// Whether node `id` is a max pooling that the layer before it does.
    pub fn is_pooled(&self, id: NodeId) -> bool {
        self.pooled[id.index()]
    }

    /// Whether node `id` shares its input's buffer in `mode`.
    pub fn is_aliased(&self, id: NodeId, mode: Mode) -> bool {
        self.aliased[id.index()][usize::from(mode.is_training())]
    }

    /// The activity regularizer on node `id`'s output, if its layer has one.
    pub fn activity(&self, id: NodeId) -> Option<&'c Regularizer> {
        let checked = self.checked;
        let layer = checked.graph.layer_of(id)?;
        checked.layer(layer).activity.as_ref()
    }

    /// The max pooling that node `id` can do itself: the only reader of its output,
    /// which is no output of the model, when its layer can pool its own output (and its
    /// output is whole for an activity regularizer to read).
    fn pool_to_fuse(&self, id: NodeId) -> Option<NodeId> {
        if self.activity(id).is_some() {
            return None;
        }
        let &[Use::Node(pool, 0)] = self.uses(id.value()) else {
            return None;
        };
        let graph = &self.checked.graph;
        if graph.outputs.contains(&id.value()) || graph.node(pool).inputs.len() != 1 {
            return None;
        }
        let pooling = self.checked.built(pool)?.capabilities().max_pool.is_some();
        let layer = self.checked.built(id)?;
        let fuses = layer
            .capabilities()
            .pools_own_output?
            .fused_buffers()
            .is_some();
        (pooling && fuses).then_some(pool)
    }

    /// How many of node `id`'s layer buffers its passes use: all, or the first few when
    /// it pools its own output.
    pub fn used_buffers(&self, id: NodeId) -> usize {
        let fused = self.pool_of(id).and_then(|_| {
            let layer = self.checked.built(id)?;
            layer.capabilities().pools_own_output?.fused_buffers()
        });
        let all = self.checked.built(id).map_or(0, |l| l.buffers().len());
        fused.map_or(all, |used| used.min(all))
    }

    /// The one output, when the model has one (its gradient is the caller's
    /// `output_grad` and its value may be the caller's `input`).
    pub fn single_output(&self) -> Option<ValueId> {
        match self.checked.graph.outputs[..] {
            [one] => Some(one),
            _ => None,
        }
    }

    /// The width of the packed output row.
    pub fn output_width(&self) -> usize {
        let outputs = &self.checked.graph.outputs;
        outputs.iter().map(|&v| self.checked.size(v)).sum()
    }

    /// Whether the model gives the gradient of its input when asked: when it has one
    /// input and one output, as a model used as a layer has.
    pub fn gives_input_grad(&self) -> bool {
        self.checked.graph.def.inputs.len() == 1 && self.single_output().is_some()
    }

    pub fn storage(&self, v: ValueId, mode: Mode) -> Storage {
        match v.producer() {
            None => Storage::Input,
            Some(id) if self.is_aliased(id, mode) => {
                self.storage(self.checked.graph.node(id).inputs[0], mode)
            }
            Some(_) => Storage::Own(v),
        }
    }

    /// Whether value `v` needs a buffer of its own in either mode.
    fn has_buffer(&self, v: ValueId) -> bool {
        Mode::BOTH
            .iter()
            .any(|&mode| self.storage(v, mode) == Storage::Own(v))
    }

    /// Whether the output must be copied to [`Field::Output`]: several outputs are packed
    /// there, and a model that only reshapes copies its input.
    pub fn output_is_copied(&self, mode: Mode) -> bool {
        self.single_output()
            .is_none_or(|output| self.storage(output, mode) == Storage::Input)
    }

    /// The storage of the one output in training, whose gradient is `output_grad`.
    pub fn output_grad_storage(&self) -> Option<Storage> {
        self.single_output()
            .map(|output| self.storage(output, Mode::Training))
    }

    /// Whether value `v` needs a gradient: it is not the input, or the model gives its
    /// input's gradient.
    fn needs_grad(&self, v: ValueId) -> bool {
        self.storage(v, Mode::Training) != Storage::Input || self.gives_input_grad()
    }

    /// Whether node `id` is the last application of its layer: in backward order the
    /// first, which writes the weight gradients while the others add to them.
    pub fn is_last_use(&self, id: NodeId) -> bool {
        let graph = &self.checked.graph;
        graph
            .layer_of(id)
            .is_none_or(|layer| graph.layer(layer).uses.last() == Some(&id))
    }

    /// The gradient of value `v`, once every use has added its part: `None` for the
    /// input (whose gradient the caller's `input_grad` holds, when asked for).
    pub fn grad(&self, v: ValueId) -> Option<GradPlace> {
        match self.storage(v, Mode::Training) {
            Storage::Input => None,
            // The output's gradient is the caller's, unless an activity regularizer adds
            // to it.
            s if Some(s) == self.output_grad_storage() && !self.activity_on(s) => {
                Some(GradPlace::OutputGrad)
            }
            Storage::Own(s) => Some(GradPlace::Field(Field::Grad(s))),
        }
    }

    /// Whether the value stored as `storage` is the output of a node with an activity
    /// regularizer.
    fn activity_on(&self, storage: Storage) -> bool {
        match storage {
            Storage::Own(v) => v.producer().is_some_and(|id| self.activity(id).is_some()),
            Storage::Input => false,
        }
    }

    /// Whether the output's gradient is first copied from the caller's `output_grad` into
    /// the output's own gradient buffer (for its activity regularizer to add to it).
    pub fn copies_output_grad(&self, id: NodeId) -> bool {
        let own = Storage::Own(id.value());
        self.output_grad_storage() == Some(own) && self.activity_on(own)
    }

    /// Where the use of value `v` at `slot` writes its part of the gradient; with
    /// `input_grad`, the code writes the input's gradient to the caller's `input_grad`.
    pub fn grad_slot(&self, v: ValueId, slot: usize, input_grad: bool) -> Option<GradPlace> {
        match (self.storage(v, Mode::Training), slot) {
            (Storage::Input, 0) if input_grad => Some(GradPlace::InputGrad),
            (Storage::Input, _) if !input_grad => None,
            (Storage::Own(s), 0) => Some(GradPlace::Field(Field::Grad(s))),
            (_, slot) => Some(GradPlace::Field(Field::GradPart(v, slot))),
        }
    }

    /// The gradient that input `position` of node `id` receives.
    pub fn input_grad(&self, id: NodeId, position: usize, input_grad: bool) -> Option<GradPlace> {
        let v = self.checked.graph.node(id).inputs[position];
        let slot = self
            .uses(v)
            .iter()
            .position(|&u| u == Use::Node(id, position))
            .expect("every input of a node is one of its uses");
        self.grad_slot(v, slot, input_grad)
    }

    /// The slot of output `k` among its value's uses.
    pub fn output_slot(&self, k: usize) -> usize {
        let v = self.checked.graph.outputs[k];
        self.uses(v)
            .iter()
            .position(|&u| u == Use::Output(k))
            .expect("each output is a use of its value")
    }

    /// Whether the backward pass of node `id` reads or writes the input's gradient.
    pub fn touches_input_grad(&self, id: NodeId) -> bool {
        let node = self.checked.graph.node(id);
        std::iter::once(id.value())
            .chain(node.inputs.iter().copied())
            .any(|v| self.storage(v, Mode::Training) == Storage::Input)
    }

    /// Whether weight `param` of node `id`'s layer gets a gradient buffer of the node's
    /// own, to add to the others' (a shared layer's application other than its last).
    pub fn has_weight_grad_buffer(&self, id: NodeId, param: usize) -> bool {
        !self.is_last_use(id) && self.checked.params[param].trainable
    }

    /// Every workspace buffer: values, gradients, the layers' own buffers, in order.
    pub fn fields(&self) -> Vec<(Field, FieldSize)> {
        let checked = self.checked;
        let mut fields = Vec::new();
        for id in checked.graph.node_ids() {
            let v = id.value();
            let size = checked.size(v);
            // A node that pools its own output keeps its output a chunk at a time in its
            // value's buffer, and has no gradient of its own.
            let fused = self.pool_of(id).is_some();
            if self.has_buffer(v) {
                fields.push((Field::Value(v), FieldSize::Floats(size)));
                let output = self.output_grad_storage() == Some(Storage::Own(v));
                if (!output || self.copies_output_grad(id)) && !fused {
                    fields.push((Field::Grad(v), FieldSize::Floats(size)));
                }
            }
            for j in 0..self.used_buffers(id) {
                fields.push((Field::Layer(id, j), FieldSize::LayerBuffer));
            }
            for p in checked.node_params(id) {
                if self.has_weight_grad_buffer(id, p) {
                    fields.push((Field::WeightGrad(id, p), FieldSize::Weights));
                }
            }
        }
        for v in checked.graph.values() {
            if self.needs_grad(v) {
                for slot in 1..self.uses(v).len() {
                    let size = checked.size(v);
                    fields.push((Field::GradPart(v, slot), FieldSize::Floats(size)));
                }
            }
        }
        if Mode::BOTH.iter().any(|&mode| self.output_is_copied(mode)) {
            fields.push((Field::Output, FieldSize::Floats(self.output_width())));
        }
        fields
    }
}

/// For every node, whether it shares its input's buffer in each mode: a layer that
/// passes its input through, when it is the first such reader of its one input.
fn aliases(checked: &Checked, uses: &[Vec<Use>]) -> Vec<[bool; 2]> {
    // An output an activity regularizer reads is a buffer of its own.
    let regularized = |id: NodeId| {
        let layer = checked.graph.layer_of(id);
        layer.is_some_and(|l| checked.layer(l).activity.is_some())
    };
    let passes = |id: NodeId, mode: Mode| match checked.node(id) {
        BuiltNode::Layer(layer) if !regularized(id) => {
            layer.capabilities().passes_input.in_mode(mode)
        }
        _ => false,
    };
    let graph = &checked.graph;
    graph
        .node_ids()
        .map(|id| {
            Mode::BOTH.map(|mode| {
                let [input] = graph.node(id).inputs[..] else {
                    return false;
                };
                let first = uses[input.index()].iter().find_map(|u| match u {
                    Use::Node(reader, _) if passes(*reader, mode) => Some(*reader),
                    _ => None,
                });
                passes(id, mode) && first == Some(id)
            })
        })
        .collect()
}
