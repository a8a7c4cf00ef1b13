//! The bodies of the `Model` methods: `prepare`, `initialize`, the forward passes, the
//! backward pass and `update_state_with`, written from the plan.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use crate::check::{BuiltNode, Weights};
use crate::graph::{NodeId, ValueId};
use crate::layers::{BufferKind, BufferLen, Io, IoBuffer, Mode, krate, option};
use crate::plan::{Field, FieldSize, GradPlace, Plan, Storage};

/// The code of one model's passes: the plan, and whether the code being written gives the
/// input's gradient to the caller's `input_grad` (for the layers before a model used as a
/// layer).
#[derive(Clone, Copy)]
pub struct Passes<'p, 'c, 'a> {
    plan: &'p Plan<'c, 'a>,
    input_grad: bool,
}

/// The workspace field of `field`.
pub fn field_ident(field: Field) -> Ident {
    match field {
        Field::Value(v) => format_ident!("a{}", v.index()),
        Field::Grad(v) => format_ident!("g{}", v.index()),
        Field::GradPart(v, slot) => format_ident!("g{}_{}", v.index(), slot),
        Field::Layer(id, j) => format_ident!("l{}_{}", id.value().index(), j),
        Field::WeightGrad(id, p) => format_ident!("s{}_{}", id.value().index(), p),
        Field::Output => format_ident!("out"),
    }
}

/// The gradient binding of parameter `p` in the backward pass.
fn weight_grad_ident(p: usize) -> Ident {
    format_ident!("dp{}", p)
}

impl<'p, 'c, 'a> Passes<'p, 'c, 'a> {
    pub fn new(plan: &'p Plan<'c, 'a>) -> Self {
        Passes {
            plan,
            input_grad: false,
        }
    }

    /// These passes, writing the input's gradient.
    fn with_input_grad(self) -> Self {
        Passes {
            input_grad: true,
            ..self
        }
    }

    /// Each workspace field and its type.
    pub fn workspace_fields(&self) -> Vec<(Ident, TokenStream)> {
        let k = krate();
        let activity = super::penalties::activity_scale_field(self.plan);
        self.plan
            .fields()
            .into_iter()
            .map(|(field, size)| {
                let ty = match self.field_kind(field, size) {
                    BufferKind::Indices => quote!(#k::AlignedVec<u32>),
                    BufferKind::Floats => quote!(#k::AlignedVec<F>),
                    BufferKind::Workspace(model) => {
                        let model = model.in_f();
                        quote!(#model::Workspace)
                    }
                };
                (field_ident(field), ty)
            })
            .chain(activity)
            .collect()
    }

    /// What `field` holds.
    fn field_kind(&self, field: Field, size: FieldSize) -> BufferKind {
        match (field, size) {
            (Field::Layer(id, j), FieldSize::LayerBuffer) => self.layer_buffer(id, j).0,
            _ => BufferKind::Floats,
        }
    }

    /// Buffer `j` of node `id`'s layer: what it holds and how long it is.
    fn layer_buffer(&self, id: NodeId, j: usize) -> (BufferKind, BufferLen) {
        let buffer = self
            .plan
            .checked()
            .built(id)
            .and_then(|layer| layer.buffers().into_iter().nth(j))
            .expect("a planned layer buffer is one of the layer's");
        (buffer.kind, buffer.len)
    }

    /// `Model::prepare`: every buffer sized for `batch` samples, when it grows.
    pub fn prepare(&self) -> TokenStream {
        let resizes = self.plan.fields().into_iter().map(|(field, size)| {
            let ident = field_ident(field);
            let len = match size {
                FieldSize::Floats(len) => quote!(batch * #len),
                FieldSize::Weights => {
                    let Field::WeightGrad(_, p) = field else {
                        unreachable!("only a weight gradient is sized by its weight")
                    };
                    let len = &self.plan.checked().params[p].len;
                    quote!(#len)
                }
                FieldSize::LayerBuffer => {
                    let Field::Layer(id, j) = field else {
                        unreachable!("only a layer's buffer is sized by its layer")
                    };
                    match self.layer_buffer(id, j) {
                        (BufferKind::Workspace(model), _) => {
                            let model = model.in_f();
                            return quote!(#model::prepare(&mut ws.#ident, batch););
                        }
                        (_, BufferLen::PerSample(len)) => quote!(batch * #len),
                        (_, BufferLen::Batch(len)) => len,
                    }
                }
            };
            quote!(ws.#ident.resize(#len, ::core::default::Default::default());)
        });
        quote! {
            if ws.capacity < batch {
                #(#resizes)*
                ws.capacity = batch;
            }
        }
    }

    /// `&[F]` of value `v`.
    fn value(&self, v: ValueId, mode: Mode) -> TokenStream {
        match self.plan.storage(v, mode) {
            Storage::Input => quote!(input),
            Storage::Own(s) => {
                let (field, len) = (field_ident(Field::Value(s)), self.size(s));
                quote!(&ws.#field[..n * #len])
            }
        }
    }

    fn size(&self, v: ValueId) -> usize {
        self.plan.checked().size(v)
    }

    /// A gradient place as `&[F]` (`shared`) or `&mut [F]` of `len` values per sample.
    fn grad_place(&self, place: GradPlace, len: usize, shared: bool) -> TokenStream {
        match (place, shared) {
            (GradPlace::InputGrad, _) => quote!(&mut input_grad[..n * #len]),
            (GradPlace::OutputGrad, _) => quote!(output_grad),
            (GradPlace::Field(field), true) => {
                let field = field_ident(field);
                quote!(&ws.#field[..n * #len])
            }
            (GradPlace::Field(field), false) => {
                let field = field_ident(field);
                quote!(&mut ws.#field[..n * #len])
            }
        }
    }

    /// The expressions node `id`'s layer reads and writes in `mode`.
    fn io(&self, id: NodeId, mode: Mode) -> Io {
        let plan = self.plan;
        let checked = plan.checked();
        let v = id.value();
        let node = checked.graph.node(id);
        let (field, len) = (field_ident(Field::Value(v)), self.size(v));
        let params = checked.node_params(id);
        let buffers = checked.built(id).map(|l| l.buffers()).unwrap_or_default();
        let buffers = buffers
            .into_iter()
            .enumerate()
            .map(|(j, buffer)| {
                let field = field_ident(Field::Layer(id, j));
                let place = match buffer.len {
                    _ if matches!(buffer.kind, BufferKind::Workspace(_)) => quote!(ws.#field),
                    BufferLen::PerSample(len) => quote!(ws.#field[..n * #len]),
                    BufferLen::Batch(_) => quote!(ws.#field[..]),
                };
                IoBuffer {
                    name: buffer.name,
                    place: quote!(&mut #place),
                    shared: quote!(&#place),
                }
            })
            .collect();
        let last_use = plan.is_last_use(id);
        Io {
            n: quote!(n),
            xs: node
                .inputs
                .iter()
                .map(|&input| self.value(input, mode))
                .collect(),
            y: quote!(&mut ws.#field[..n * #len]),
            y_ref: quote!(&ws.#field[..n * #len]),
            dy: plan
                .grad(v)
                .map(|place| self.grad_place(place, len, true))
                .unwrap_or_default(),
            dxs: (0..node.inputs.len())
                .map(|position| {
                    let place = plan.input_grad(id, position, self.input_grad)?;
                    Some(self.grad_place(place, self.size(node.inputs[position]), false))
                })
                .collect(),
            params: checked.params[params.clone()]
                .iter()
                .map(|p| {
                    let (start, end) = (&p.offset, &p.offset + &p.len);
                    quote!(&params[#start..#end])
                })
                .collect(),
            grads: params
                .map(|p| {
                    let param = &checked.params[p];
                    let dp = weight_grad_ident(p);
                    match (param.trainable, last_use) {
                        (true, false) => {
                            let s = field_ident(Field::WeightGrad(id, p));
                            Some(quote!(&mut ws.#s[..]))
                        }
                        _ if param.has_grads() => Some(quote!(&mut *#dp)),
                        _ => None,
                    }
                })
                .collect(),
            buffers,
            rng: quote!(rng),
        }
    }

    /// The forward pass in `mode`, ending with the output.
    pub fn forward(&self, mode: Mode) -> TokenStream {
        let plan = self.plan;
        let checked = plan.checked();
        let mut code: TokenStream = checked
            .graph
            .node_ids()
            .map(|id| self.node_forward(id, mode))
            .collect();
        let k = krate();
        let width = plan.output_width();
        let outputs = &checked.graph.outputs;
        if plan.output_is_copied(mode) {
            let values = outputs.iter().map(|&v| self.value(v, mode));
            let lens = outputs.iter().map(|&v| self.size(v));
            code.extend(quote! {
                #k::kernels::concatenate_forward(&[#(#values),*], &[#(#lens),*], n, &mut ws.out[..n * #width]);
                &ws.out[..n * #width]
            });
        } else {
            code.extend(self.value(outputs[0], mode));
        }
        code
    }

    /// Node `id`'s forward pass in `mode`.
    fn node_forward(&self, id: NodeId, mode: Mode) -> TokenStream {
        let plan = self.plan;
        let k = krate();
        let io = self.io(id, mode);
        match plan.checked().node(id) {
            _ if plan.is_pooled(id) => TokenStream::new(),
            BuiltNode::Input { offset, total, .. } => {
                let (x, y) = (io.x(), &io.y);
                quote!(#k::kernels::column_slice(#x, #total, #offset, #y);)
            }
            BuiltNode::Unpack { offset, .. } => {
                let (x, y) = (io.x(), &io.y);
                quote!(#k::kernels::unpack_forward(#x, n * #offset, #y);)
            }
            BuiltNode::Layer(layer) => {
                if let Some(pool) = plan.pool_of(id) {
                    self.fused(id, pool, mode).forward
                } else if layer.capabilities().passes_input.in_mode(mode) {
                    if plan.is_aliased(id, mode) {
                        TokenStream::new()
                    } else {
                        let (x, y) = (io.x(), &io.y);
                        quote!(<[F]>::copy_from_slice(#y, #x);)
                    }
                } else {
                    layer.forward(&io, mode)
                }
            }
        }
    }

    /// The passes of node `id` fused with the max pooling at node `pool`.
    fn fused(&self, id: NodeId, pool: NodeId, mode: Mode) -> crate::layers::Fused {
        let checked = self.plan.checked();
        let window = checked
            .built(pool)
            .and_then(|p| p.capabilities().max_pool.map(|m| m.window()))
            .expect("a fused pooling is a max pooling");
        let layer = checked.built(id).expect("a fused node is a layer");
        let fuses = layer
            .capabilities()
            .pools_own_output
            .expect("a fused node pools its own output");
        fuses.pooled(&self.io(id, mode), &window, &self.io(pool, mode))
    }

    /// The backward pass: every node in reverse order, with the gradients of a value
    /// summed over its uses before its producer runs.
    pub fn backward(&self) -> TokenStream {
        let plan = self.plan;
        let checked = plan.checked();
        let k = krate();
        let params = &checked.params;
        let mut code = TokenStream::new();
        if !params.is_empty() {
            let bindings = params.iter().enumerate().map(|(i, p)| match p.has_grads() {
                true => weight_grad_ident(i),
                false => Ident::new("_", Span::call_site()),
            });
            let lens = params.iter().map(|p| &p.len);
            code.extend(quote! {
                let [#(#bindings),*] = #k::__private::split_mut(grads, [#(#lens),*]);
            });
        }
        code.extend(self.unpack_output_grad());
        if !plan.gives_input_grad() {
            code.extend(quote! {
                ::core::assert!(
                    input_grad.is_none(),
                    "a model of several inputs or outputs gives no input gradient"
                );
            });
        }
        let with = self.with_input_grad();
        code.extend(with.when_input_grad(with.output_is_input_grad()));
        for id in checked.graph.node_ids().rev() {
            let node = self.node_backward(id);
            if plan.gives_input_grad() && plan.touches_input_grad(id) {
                let with = with.node_backward(id);
                code.extend(quote! {
                    match input_grad.as_deref_mut() {
                        ::core::option::Option::Some(input_grad) => { #with }
                        ::core::option::Option::None => { #node }
                    }
                });
            } else {
                code.extend(node);
            }
        }
        code.extend(with.when_input_grad(with.sum_uses(ValueId::INPUT)));
        code
    }

    /// `code` run with `input_grad` bound to the input's gradient, when the caller asks for
    /// it (nothing when `code` is empty or the model gives no input gradient).
    fn when_input_grad(&self, code: TokenStream) -> TokenStream {
        if code.is_empty() || !self.plan.gives_input_grad() {
            return TokenStream::new();
        }
        quote! {
            if let ::core::option::Option::Some(input_grad) = input_grad.as_deref_mut() {
                #code
            }
        }
    }

    /// The input's gradient when the output is the input itself (a model that only
    /// reshapes): the output's.
    fn output_is_input_grad(&self) -> TokenStream {
        if self.plan.output_grad_storage() != Some(Storage::Input) {
            return TokenStream::new();
        }
        let len = self.size(self.plan.checked().graph.outputs[0]);
        quote!(input_grad[..n * #len].copy_from_slice(output_grad);)
    }

    /// The backward pass of node `id`: its value's gradient summed over its uses, its
    /// layer's backward, and a shared layer's weight gradients added up.
    fn node_backward(&self, id: NodeId) -> TokenStream {
        let plan = self.plan;
        let checked = plan.checked();
        let k = krate();
        let mut code = self.sum_uses(id.value());
        code.extend(super::penalties::activity_gradient(plan, id));
        let io = self.io(id, Mode::Training);
        match checked.node(id) {
            // The layer it reads takes the gradient back through it.
            _ if plan.is_pooled(id) => {}
            // The packed row has no gradient.
            BuiltNode::Input { .. } => {}
            BuiltNode::Unpack { offset, .. } => {
                if let Some(dx) = io.dx() {
                    let dy = &io.dy;
                    code.extend(quote!(#k::kernels::unpack_backward(#dy, n * #offset, #dx);));
                }
            }
            BuiltNode::Layer(layer) => {
                if let Some(pool) = plan.pool_of(id) {
                    code.extend(self.fused(id, pool, Mode::Training).backward);
                } else if layer.capabilities().passes_input.in_mode(Mode::Training) {
                    if let (false, Some(dx)) = (plan.is_aliased(id, Mode::Training), io.dx()) {
                        let dy = &io.dy;
                        code.extend(quote!(<[F]>::copy_from_slice(#dx, #dy);));
                    }
                } else {
                    code.extend(layer.backward(&io));
                }
            }
        }
        for p in checked.node_params(id) {
            if plan.has_weight_grad_buffer(id, p) {
                let (dp, s) = (weight_grad_ident(p), field_ident(Field::WeightGrad(id, p)));
                code.extend(quote!(#k::kernels::accumulate(&mut *#dp, &ws.#s[..]);));
            }
        }
        code
    }

    /// Hands each of several outputs its part of `output_grad`.
    fn unpack_output_grad(&self) -> TokenStream {
        let plan = self.plan;
        if plan.single_output().is_some() {
            return TokenStream::new();
        }
        let k = krate();
        let outputs = &plan.checked().graph.outputs;
        let lens = outputs.iter().map(|&v| self.size(v));
        let grads = outputs.iter().enumerate().map(|(k, &v)| {
            let place = plan.grad_slot(v, plan.output_slot(k), self.input_grad);
            option(
                place
                    .map(|p| self.grad_place(p, self.size(v), false))
                    .as_ref(),
            )
        });
        quote! {
            #k::kernels::concatenate_backward(output_grad, &[#(#lens),*], n, &mut [#(#grads),*]);
        }
    }

    /// Adds the gradients of value `v`'s later uses into its gradient buffer (into
    /// `input_grad` for the input, when asked for).
    fn sum_uses(&self, v: ValueId) -> TokenStream {
        let k = krate();
        let target = match self.plan.storage(v, Mode::Training) {
            Storage::Own(s) => {
                let field = field_ident(Field::Grad(s));
                quote!(ws.#field)
            }
            Storage::Input if self.input_grad => quote!(input_grad),
            Storage::Input => return TokenStream::new(),
        };
        let len = self.size(v);
        (1..self.plan.uses(v).len())
            .map(|slot| {
                let part = field_ident(Field::GradPart(v, slot));
                quote! {
                    #k::kernels::accumulate(&mut #target[..n * #len], &ws.#part[..n * #len]);
                }
            })
            .collect()
    }

    /// Draws every parameter from its initializer, in layer order; a model of another
    /// block draws its own, from the same generator.
    pub fn initialization(&self) -> TokenStream {
        let k = krate();
        self.plan
            .checked()
            .params
            .iter()
            .map(|p| {
                let (start, end) = (&p.offset, &p.offset + &p.len);
                let params = quote!(&mut params[#start..#end]);
                match &p.weights {
                    Weights::Tensor(weight) => {
                        let init = Ident::new(weight.initializer.variant(), Span::call_site());
                        let (fan_in, fan_out) = (weight.fan_in, weight.fan_out);
                        quote! {
                            #k::init::Fill::fill(#k::init::Initializer::#init, #params, #fan_in, #fan_out, &mut *rng);
                        }
                    }
                    Weights::Model(model) => {
                        let model = model.in_f();
                        quote!(#model::initialize(#params, &mut *rng);)
                    }
                }
            })
            .collect()
    }

    /// `Model::update_state_with`: each layer's update of its non-trainable state from the
    /// lanes of a training step, with every parameter tensor bound as `&mut [F]` and the
    /// buffers of a lane's workspace as in the training forward; nothing when no layer has
    /// state, which keeps the trait's no-op.
    pub fn update_state(&self) -> TokenStream {
        let checked = self.plan.checked();
        let param = |i: usize| format_ident!("p{}", i);
        let updates: TokenStream = checked
            .graph
            .node_ids()
            .filter_map(|id| {
                let layer = checked.built(id)?;
                let state = layer.capabilities().state?;
                let mut io = self.io(id, Mode::Training);
                io.params = checked
                    .node_params(id)
                    .map(|p| {
                        let p = param(p);
                        quote!(&mut *#p)
                    })
                    .collect();
                Some(state.update_state(&io))
            })
            .collect();
        if updates.is_empty() {
            return TokenStream::new();
        }
        let k = krate();
        let params = (0..checked.params.len()).map(param);
        let lens = checked.params.iter().map(|p| &p.len);
        quote! {
            #[allow(unused_variables)]
            fn update_state_with<'w>(
                params: &mut [F],
                lanes: impl ::core::iter::Iterator<Item = (&'w Self::Workspace, usize)> + ::core::clone::Clone,
            ) {
                let [#(#params),*] = #k::__private::split_mut(params, [#(#lens),*]);
                #updates
            }
        }
    }
}
