//! Stage 4: a checked model -> its struct, workspace, constants and `Model` impl.
//!
//! The generated code owns the structure and calls the runtime's kernels for the
//! arithmetic: it holds no loops of its own.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use crate::graph::{INPUT, Node, UNPACK, ValueId};
use crate::layers::{Buffer, BufferLen, Io, MaxPooled, json_list, krate};
use crate::names;
use crate::parse::ModelDef;
use crate::shapes::{Checked, CheckedLayer, Param, Size, Weights};

/// The "node" of a use that is one of the model's several outputs.
const OUTPUT_USE: usize = usize::MAX;

/// Where a value lives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Storage {
    /// The model's input slice.
    Input,
    /// The activation buffer `a{v}` of value `v`.
    Own(ValueId),
}

/// The full expansion of a checked model.
pub fn model(checked: &Checked) -> TokenStream {
    let plan = Plan::new(checked);
    let def = checked.graph.def;
    let k = krate();
    let name = &def.name;
    let workspace = workspace_ident(def);
    let declarations = declarations(def, &plan.workspace_fields());
    let constants = constants(checked);
    let prepare = plan.prepare();
    let forward = plan.forward(false);
    let forward_train = plan.forward(true);
    let backward = plan.backward();
    let update_state = update_state(checked);
    let initialization = plan.initialization();
    let new = constructors(def);
    let output_shapes = checked.output_shapes();
    let predict_one = predict_one(def, &output_shapes);
    quote! {
        #declarations

        impl<F: #k::Float> #k::Model for #name<F> {
            type Float = F;
            type Workspace = #workspace<F>;
            #constants

            fn params(&self) -> &[F] {
                &self.params
            }

            fn params_mut(&mut self) -> &mut [F] {
                &mut self.params
            }

            fn prepare(ws: &mut Self::Workspace, batch: usize) {
                #prepare
            }

            #[allow(unused_variables)]
            fn initialize(params: &mut [F], rng: &mut #k::Rng) {
                #initialization
            }

            #[allow(unused_variables)]
            fn forward_with<'w>(
                params: &[F],
                ws: &'w mut Self::Workspace,
                input: &[F],
                n: usize,
            ) -> &'w [F] {
                #k::__private::check_batch(ws.capacity, n, input.len(), <Self as #k::Model>::INPUT_SIZE);
                #forward
            }

            #[allow(unused_variables)]
            fn forward_train_with<'w>(
                params: &[F],
                ws: &'w mut Self::Workspace,
                input: &[F],
                n: usize,
                rng: &mut #k::Rng,
            ) -> &'w [F] {
                #k::__private::check_batch(ws.capacity, n, input.len(), <Self as #k::Model>::INPUT_SIZE);
                #forward_train
            }

            #[allow(unused_variables, unused_mut)]
            fn backward_with(
                params: &[F],
                ws: &mut Self::Workspace,
                input: &[F],
                n: usize,
                output_grad: &[F],
                grads: &mut [F],
                mut input_grad: ::core::option::Option<&mut [F]>,
            ) {
                #backward
            }

            #update_state
        }

        #new
        #predict_one
    }
}

/// `Model::update_state`: each layer's update of its non-trainable state from the lanes of
/// a training step (BatchNormalization's moving statistics), with every parameter tensor
/// bound as `&mut [F]` and the buffers of a lane's workspace as in the training forward;
/// nothing when no layer has state, which keeps the trait's no-op.
fn update_state(checked: &Checked) -> TokenStream {
    let plan = Plan::new(checked);
    let param = |i: usize| format_ident!("p{}", i);
    let updates: TokenStream = checked
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let mut io = plan.io(i, true);
            io.params = plan
                .layer_params(i)
                .map(|p| {
                    let p = param(p);
                    quote!(&mut *#p)
                })
                .collect();
            node.update_state(&io)
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

/// What a model that failed its checks still gets, so that the user's code that uses it
/// does not bury the real error under secondary ones.
pub fn stub(def: &ModelDef) -> TokenStream {
    let k = krate();
    let name = &def.name;
    let workspace = workspace_ident(def);
    let declarations = declarations(def, &[]);
    let output_shapes: Vec<Vec<usize>> = match &def.outputs {
        Some(outputs) => outputs.iter().map(|o| o.shape.dims.clone()).collect(),
        None => vec![vec![1]],
    };
    let (input, output) = (def.packed_input_shape(), packed(&output_shapes));
    let (input_size, output_size) = (product(&input), product(&output));
    let inputs = tensor_infos(&input_entries(def));
    let outputs = tensor_infos(&output_entries(def, &output_shapes));
    let model_name = name.to_string();
    let new = constructors(def);
    let predict_one = predict_one(def, &output_shapes);
    quote! {
        #declarations

        impl<F: #k::Float> #k::Model for #name<F> {
            type Float = F;
            type Workspace = #workspace<F>;
            const NAME: &'static str = #model_name;
            const INPUT_SHAPE: &'static [usize] = &[#(#input),*];
            const OUTPUT_SHAPE: &'static [usize] = &[#(#output),*];
            const INPUT_SIZE: usize = #input_size;
            const OUTPUT_SIZE: usize = #output_size;
            const INPUTS: &'static [#k::TensorInfo] = #inputs;
            const OUTPUTS: &'static [#k::TensorInfo] = #outputs;
            const PARAM_COUNT: usize = 0;
            const TRAINABLE_PARAM_COUNT: usize = 0;
            const LAYERS: &'static [#k::LayerInfo] = &[];
            const PARAMS: &'static [#k::ParamInfo] = &[];
            const ARCHITECTURE_JSON: &'static str = "{}";
            fn params(&self) -> &[F] { &self.params }
            fn params_mut(&mut self) -> &mut [F] { &mut self.params }
            fn prepare(_: &mut Self::Workspace, _: usize) {}
            fn initialize(_: &mut [F], _: &mut #k::Rng) {}
            fn forward_with<'w>(_: &[F], _: &'w mut Self::Workspace, _: &[F], _: usize) -> &'w [F] {
                ::core::unimplemented!()
            }
            fn forward_train_with<'w>(_: &[F], _: &'w mut Self::Workspace, _: &[F], _: usize, _: &mut #k::Rng) -> &'w [F] {
                ::core::unimplemented!()
            }
            fn backward_with(
                _: &[F],
                _: &mut Self::Workspace,
                _: &[F],
                _: usize,
                _: &[F],
                _: &mut [F],
                _: ::core::option::Option<&mut [F]>,
            ) {
                ::core::unimplemented!()
            }
        }

        #new
        #predict_one
    }
}

fn workspace_ident(def: &ModelDef) -> Ident {
    format_ident!("{}Workspace", def.name)
}

fn product(dims: &[usize]) -> usize {
    dims.iter().product()
}

/// The model's struct and its workspace's.
fn declarations(def: &ModelDef, fields: &[(Ident, TokenStream)]) -> TokenStream {
    let k = krate();
    let ModelDef {
        attrs, vis, name, ..
    } = def;
    let workspace = workspace_ident(def);
    let name_str = name.to_string();
    let workspace_doc = format!("Activations and caches of [`{name}`] for one batch size.");
    let fields = fields.iter().map(|(field, ty)| quote!(#field: #ty));
    quote! {
        #(#attrs)*
        #vis struct #name<F: #k::Float = f32> {
            params: #k::AlignedVec<F>,
            scratch: ::std::sync::Mutex<#workspace<F>>,
        }

        #[doc = #workspace_doc]
        #[doc(hidden)]
        #[derive(Default)]
        #vis struct #workspace<F: #k::Float> {
            capacity: usize,
            #(#fields,)*
            float: ::core::marker::PhantomData<F>,
        }

        impl<F: #k::Float> ::core::clone::Clone for #name<F> {
            fn clone(&self) -> Self {
                Self {
                    params: self.params.clone(),
                    scratch: ::core::default::Default::default(),
                }
            }
        }

        impl<F: #k::Float> ::core::fmt::Debug for #name<F> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name_str)
                    .field("params", &self.params.len())
                    .finish_non_exhaustive()
            }
        }
    }
}

/// `new` (for `f32`, so that `Mlp::new(seed)` needs no annotation) and `seeded` (any float).
fn constructors(def: &ModelDef) -> TokenStream {
    let k = krate();
    let name = &def.name;
    let vis = &def.vis;
    let new_doc =
        format!("A new `{name}` in `f32`, its weights drawn from their initializers with `seed`.");
    quote! {
        impl #name<f32> {
            #[doc = #new_doc]
            #vis fn new(seed: impl ::core::convert::Into<#k::Seed>) -> Self {
                Self::seeded(seed)
            }
        }

        impl<F: #k::Float> #name<F> {
            /// A new model in the float type `F`, its weights drawn with `seed`.
            #vis fn seeded(seed: impl ::core::convert::Into<#k::Seed>) -> Self {
                let mut rng = ::core::convert::Into::<#k::Seed>::into(seed).rng();
                let mut params = #k::AlignedVec::from_elem(F::default(), <Self as #k::Model>::PARAM_COUNT);
                <Self as #k::Model>::initialize(&mut params, &mut rng);
                Self {
                    params,
                    scratch: ::core::default::Default::default(),
                }
            }
        }
    }
}

/// The shape of the packed row of `shapes`: the one shape, or `[total]` for several.
fn packed(shapes: &[Vec<usize>]) -> Vec<usize> {
    match shapes {
        [one] => one.clone(),
        many => vec![many.iter().map(|s| product(s)).sum()],
    }
}

/// Each input's name and shape.
fn input_entries(def: &ModelDef) -> Vec<(String, Vec<usize>)> {
    def.inputs
        .iter()
        .map(|i| (i.name.to_string(), i.shape.dims.clone()))
        .collect()
}

/// Each output's name (`output` for an unnamed one) and shape.
fn output_entries(def: &ModelDef, shapes: &[Vec<usize>]) -> Vec<(String, Vec<usize>)> {
    shapes
        .iter()
        .enumerate()
        .map(|(k, shape)| {
            let name = def
                .outputs
                .as_ref()
                .and_then(|o| o.get(k)?.name.as_ref())
                .map_or_else(|| "output".to_string(), Ident::to_string);
            (name, shape.clone())
        })
        .collect()
}

/// `predict_one(&[F; IN]) -> [F; OUT]`, for a model of one 1-D input and one 1-D output.
fn predict_one(def: &ModelDef, outputs: &[Vec<usize>]) -> TokenStream {
    let ([input], [output]) = (&def.inputs[..], outputs) else {
        return TokenStream::new();
    };
    let ([input], [output]) = (input.shape.dims.as_slice(), output.as_slice()) else {
        return TokenStream::new();
    };
    let k = krate();
    let name = &def.name;
    let vis = &def.vis;
    quote! {
        impl<F: #k::Float> #name<F> {
            /// The model's output for one sample. A wrongly sized array does not compile.
            #vis fn predict_one(&self, x: &[F; #input]) -> [F; #output] {
                let mut y = [F::default(); #output];
                #k::__private::predict_one(self, &self.scratch, x, &mut y);
                y
            }
        }
    }
}

/// The constants of the `Model` impl.
fn constants(checked: &Checked) -> TokenStream {
    let k = krate();
    let def = checked.graph.def;
    let output_shapes = checked.output_shapes();
    let (input, output) = (def.packed_input_shape(), packed(&output_shapes));
    let (input_size, output_size) = (product(&input), product(&output));
    let (param_count, trainable_count) = (&checked.param_count, &checked.trainable_count);
    let inputs = tensor_infos(&input_entries(def));
    let outputs = tensor_infos(&output_entries(def, &output_shapes));
    let token_inputs = token_inputs(checked);
    let model_name = def.name.to_string();
    let layers = summary_rows(checked).into_iter().map(|row| {
        let SummaryRow {
            name,
            kind,
            shape,
            parts,
            params,
            trainable,
        } = row;
        let parts = parts.iter().map(|part| quote!(&[#(#part),*]));
        quote! {
            #k::LayerInfo {
                name: #name,
                kind: #kind,
                output_shape: &[#(#shape),*],
                output_shapes: &[#(#parts),*],
                params: #params,
                trainable: #trainable,
            }
        }
    });
    let params = param_table(checked);
    let json = architecture_json(checked);
    quote! {
        const NAME: &'static str = #model_name;
        const INPUT_SHAPE: &'static [usize] = &[#(#input),*];
        const OUTPUT_SHAPE: &'static [usize] = &[#(#output),*];
        const INPUT_SIZE: usize = #input_size;
        const OUTPUT_SIZE: usize = #output_size;
        const INPUTS: &'static [#k::TensorInfo] = #inputs;
        const OUTPUTS: &'static [#k::TensorInfo] = #outputs;
        #token_inputs
        const PARAM_COUNT: usize = #param_count;
        const TRAINABLE_PARAM_COUNT: usize = #trainable_count;
        const LAYERS: &'static [#k::LayerInfo] = &[#(#layers),*];
        const PARAMS: &'static [#k::ParamInfo] = #params;
        const ARCHITECTURE_JSON: &'static str = #json;
    }
}

/// The value of `PARAMS`: every parameter tensor, literally, unless the model uses a model
/// of another block, whose own table is then renamed under its layer's name and moved to
/// its range by const evaluation (see the runtime's `__private::foreign` for why).
fn param_table(checked: &Checked) -> TokenStream {
    let k = krate();
    let tensor = |p: &Param, shape: &[usize]| {
        let (name, offset, len, trainable) = (&p.name, &p.offset, &p.len, p.trainable);
        quote! {
            #k::ParamInfo {
                name: #name,
                shape: &[#(#shape),*],
                offset: #offset,
                len: #len,
                trainable: #trainable,
            }
        }
    };
    let params = &checked.params;
    if params
        .iter()
        .all(|p| !matches!(p.weights, Weights::Model(_)))
    {
        let entries = params.iter().map(|p| match &p.weights {
            Weights::Tensor(spec) => tensor(p, &spec.shape),
            Weights::Model(_) => unreachable!("no model among them"),
        });
        return quote!(&[#(#entries),*]);
    }
    let (mut names, mut steps, mut pending) = (TokenStream::new(), TokenStream::new(), vec![]);
    let mut len = Size::default();
    for (i, p) in params.iter().enumerate() {
        let model = match &p.weights {
            Weights::Tensor(spec) => {
                pending.push(tensor(p, &spec.shape));
                len += &Size::from(1);
                continue;
            }
            Weights::Model(model) => model,
        };
        steps.extend(place_tensors(&mut pending));
        let (table, prefix) = (model.constant("PARAMS"), &p.name);
        let (offset, trainable) = (&p.offset, p.trainable);
        let model_names = format_ident!("NAMES_{}", i);
        names.extend(quote! {
            const #model_names: [
                #k::__private::ConstStr<{ #k::__private::prefixed_len(#prefix, #table) }>;
                #table.len()
            ] = #k::__private::prefixed_names(#prefix, #table);
        });
        steps.extend(quote! {
            at = #k::__private::place_model(&mut table, at, &#model_names, #table, #offset, #trainable);
        });
        len += &Size::constant(quote!(#table.len()));
    }
    steps.extend(place_tensors(&mut pending));
    quote! {{
        #names
        const TABLE: [#k::ParamInfo; #len] = {
            let mut table = [#k::__private::EMPTY_PARAM; #len];
            let mut at = 0;
            #steps
            ::core::assert!(at == table.len());
            table
        };
        &TABLE
    }}
}

/// The step of [`param_table`] that places the tensors `pending` (if any).
fn place_tensors(pending: &mut Vec<TokenStream>) -> TokenStream {
    if pending.is_empty() {
        return TokenStream::new();
    }
    let k = krate();
    let entries = std::mem::take(pending);
    quote!(at = #k::__private::place(&mut table, at, &[#(#entries),*]);)
}

/// `&[TensorInfo { .. }, ..]` for the named shapes, packed in order.
fn tensor_infos(entries: &[(String, Vec<usize>)]) -> TokenStream {
    let k = krate();
    let mut offset = 0;
    let infos = entries.iter().map(|(name, shape)| {
        let len = product(shape);
        let info = quote! {
            #k::TensorInfo { name: #name, shape: &[#(#shape),*], offset: #offset, len: #len }
        };
        offset += len;
        info
    });
    quote!(&[#(#infos),*])
}

/// `const TOKEN_INPUTS`, for a model with inputs of token ids.
fn token_inputs(checked: &Checked) -> TokenStream {
    let k = krate();
    let graph = &checked.graph;
    let mut offset = 0;
    let mut entries = Vec::new();
    for (i, input) in graph.def.inputs.iter().enumerate() {
        let len = product(&input.shape.dims);
        let limit = graph
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| {
                node.inputs
                    .iter()
                    .any(|&v| crate::shapes::ids_input(graph, v) == Some(i))
            })
            .filter_map(|(n, _)| checked.nodes[n].reads_ids())
            .min();
        if let Some(limit) = limit {
            let name = input.name.to_string();
            entries.push(quote! {
                #k::TokenInput { name: #name, offset: #offset, len: #len, limit: #limit }
            });
        }
        offset += len;
    }
    if entries.is_empty() {
        return TokenStream::new();
    }
    quote!(const TOKEN_INPUTS: &'static [#k::TokenInput] = &[#(#entries),*];)
}

/// One row of `summary()`.
struct SummaryRow {
    name: String,
    kind: String,
    shape: Vec<usize>,
    /// Each value's shape, for a layer that gives several.
    parts: Vec<Vec<usize>>,
    params: Size,
    trainable: bool,
}

/// The output shape of `layer`'s first application, and each value's when it gives
/// several (then the first of them, its output, is the output shape).
fn layer_shapes(checked: &Checked, layer: &CheckedLayer) -> (Vec<usize>, Vec<Vec<usize>>) {
    let parts = checked.nodes[layer.first_use].parts();
    match parts.first() {
        Some(output) => (output.clone(), parts),
        None => (checked.shapes[Node::value(layer.first_use)].clone(), parts),
    }
}

/// A row per layer, and one per nested model standing for all of its layers, as Keras
/// shows a model used as a layer.
fn summary_rows(checked: &Checked) -> Vec<SummaryRow> {
    let graph = &checked.graph;
    let outermost = |mut n: usize| {
        while let Some(parent) = graph.nested[n].parent {
            n = parent;
        }
        n
    };
    let param_sum = |layer: &CheckedLayer| -> Size {
        checked.params[layer.params.clone()]
            .iter()
            .map(|p| p.len.clone())
            .sum()
    };
    let mut rows: Vec<SummaryRow> = Vec::new();
    // Each row's first application: Keras lists a graph's layers in the order they run.
    let mut first_uses: Vec<usize> = Vec::new();
    let mut row_of_nested: Vec<Option<usize>> = vec![None; graph.nested.len()];
    for (layer, decl) in checked.layers.iter().zip(&graph.layers) {
        if layer.kind == UNPACK {
            continue;
        }
        let Some(n) = decl.nested.map(outermost) else {
            first_uses.push(layer.first_use);
            let (shape, parts) = layer_shapes(checked, layer);
            rows.push(SummaryRow {
                name: layer.name.clone(),
                kind: layer.kind.to_string(),
                shape,
                parts,
                params: param_sum(layer),
                trainable: layer.trainable,
            });
            continue;
        };
        let row = *row_of_nested[n].get_or_insert_with(|| {
            let (name, trainable) = checked.nested[n].clone();
            let nested = &graph.nested[n];
            let output = nested.applications.first().map_or(INPUT, |a| a.2);
            rows.push(SummaryRow {
                name,
                kind: nested.model.to_string(),
                shape: checked.shapes[output].clone(),
                parts: Vec::new(),
                params: Size::default(),
                trainable,
            });
            first_uses.push(layer.first_use);
            rows.len() - 1
        });
        rows[row].params += &param_sum(layer);
        first_uses[row] = first_uses[row].min(layer.first_use);
    }
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&row| first_uses[row]);
    let mut rows: Vec<Option<SummaryRow>> = rows.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|row| rows[row].take())
        .collect()
}

/// The architecture as Keras's `get_config` would give it: a `Sequential` for a stack of
/// layers, a `Functional` (each layer with the layers it is applied to) for a graph.
fn architecture_json(checked: &Checked) -> String {
    let def = checked.graph.def;
    let graph = &checked.graph;
    // An unpacked value comes from the layer that gives it.
    let made_by = |v: ValueId| match v {
        INPUT => INPUT,
        v if checked.layers[graph.producer(v).layer].kind == UNPACK => graph.producer(v).inputs[0],
        v => v,
    };
    let value_source = |v: ValueId| match made_by(v) {
        INPUT => def.inputs[0].name.to_string(),
        v => checked.layers[graph.producer(v).layer].name.clone(),
    };
    let layers: Vec<String> = checked
        .layers
        .iter()
        .enumerate()
        .filter(|(_, layer)| layer.kind != UNPACK)
        .map(|(l, layer)| {
            let config = checked.nodes[layer.first_use].config_json();
            let sep = if config.is_empty() { "" } else { ", " };
            let inbound = if graph.sequential {
                String::new()
            } else {
                let calls: Vec<String> = graph.layers[l]
                    .uses
                    .iter()
                    .map(|&node| {
                        let sources: Vec<String> = graph.nodes[node]
                            .inputs
                            .iter()
                            .map(|&v| format!(r#""{}""#, value_source(v)))
                            .collect();
                        format!("[{}]", sources.join(", "))
                    })
                    .collect();
                format!(r#", "inbound_nodes": [{}]"#, calls.join(", "))
            };
            let output_shape = match layer_shapes(checked, layer) {
                (shape, parts) if parts.is_empty() => json_list(&shape),
                (_, parts) => {
                    let shapes: Vec<String> = parts.iter().map(|p| json_list(p)).collect();
                    format!("[{}]", shapes.join(", "))
                }
            };
            format!(
                r#"{{"class_name": "{}", "config": {{"name": "{}", "trainable": {}{sep}{config}}}, "output_shape": {output_shape}{inbound}}}"#,
                layer.kind, layer.name, layer.trainable,
            )
        })
        .collect();
    let class = if graph.sequential {
        "Sequential"
    } else {
        "Functional"
    };
    let output_layers = if graph.sequential {
        String::new()
    } else {
        let names: Vec<String> = graph
            .outputs
            .iter()
            .map(|&v| format!(r#""{}""#, value_source(v)))
            .collect();
        format!(r#", "output_layers": [{}]"#, names.join(", "))
    };
    let output_shapes = checked.output_shapes();
    format!(
        r#"{{"class_name": "{class}", "name": "{}", "input_shape": {}, "output_shape": {}, "layers": [{}]{output_layers}}}"#,
        def.name,
        json_list(&def.packed_input_shape()),
        json_list(&packed(&output_shapes)),
        layers.join(", ")
    )
}

/// Whether a frozen parameter still receives gradients: a model of another block writes
/// all of its own, frozen or not, to its range of the gradients (which the optimizer then
/// skips).
fn has_grads(param: &Param) -> bool {
    matches!(param.weights, Weights::Model(_))
}

/// Where every value and buffer lives, and the code that moves between them.
///
/// A value's gradient is the sum over its uses. Its first use (in the order of
/// [`Plan::uses`]) writes the value's gradient buffer; every other use writes a buffer of
/// its own, added in once every use has run backward, before the value's producer does.
/// A shared layer's parameter gradients are summed the same way.
#[derive(Clone)]
struct Plan<'c, 'a> {
    checked: &'c Checked<'a>,
    /// For every value, the (node, input position) pairs that read it, the first one
    /// writing the value's own gradient buffer.
    uses: Vec<Vec<(usize, usize)>>,
    /// For every node, whether it is an alias of its input (no copy), in inference and in
    /// training.
    aliased: Vec<[bool; 2]>,
    /// Whether the code being planned writes the gradient of the input to `input_grad`
    /// (`&mut [F]`), for the layers before a model used as a layer.
    input_grad: bool,
    /// For every node, the node of the max pooling it does itself (a convolution or a relu
    /// whose output only that pooling reads).
    pools: Vec<Option<usize>>,
    /// For every node, whether it is a max pooling that the layer it reads does.
    pooled: Vec<bool>,
}

impl Plan<'_, '_> {
    fn new<'c, 'a>(checked: &'c Checked<'a>) -> Plan<'c, 'a> {
        let graph = &checked.graph;
        let mut uses = vec![Vec::new(); graph.nodes.len() + 1];
        for (index, node) in graph.nodes.iter().enumerate() {
            for (position, &input) in node.inputs.iter().enumerate() {
                uses[input].push((index, position));
            }
        }
        if graph.outputs.len() > 1 {
            for (k, &output) in graph.outputs.iter().enumerate() {
                uses[output].push((OUTPUT_USE, k));
            }
        }
        // A layer that passes its input through unchanged (Flatten, Reshape, Dropout in
        // inference) shares its input's buffer when it is the only such reader of it; its
        // gradient is then its input's, so it goes first among the input's uses.
        let mut aliased = vec![[false; 2]; graph.nodes.len()];
        for (index, node) in graph.nodes.iter().enumerate() {
            for training in [false, true] {
                let layer = &checked.nodes[index];
                let [input] = node.inputs[..] else { continue };
                let first_alias = uses[input]
                    .iter()
                    .find(|&&(i, _)| i != OUTPUT_USE && checked.nodes[i].is_alias(training))
                    .map(|&(i, _)| i);
                aliased[index][usize::from(training)] =
                    layer.is_alias(training) && first_alias == Some(index);
            }
        }
        for value_uses in &mut uses {
            if let Some(at) = value_uses
                .iter()
                .position(|&(i, _)| i != OUTPUT_USE && aliased[i][1])
            {
                let alias = value_uses.remove(at);
                value_uses.insert(0, alias);
            }
        }
        let mut plan = Plan {
            checked,
            uses,
            aliased,
            input_grad: false,
            pools: vec![None; graph.nodes.len()],
            pooled: vec![false; graph.nodes.len()],
        };
        for index in 0..graph.nodes.len() {
            if let Some(pool) = plan.pool_to_fuse(index) {
                plan.pools[index] = Some(pool);
                plan.pooled[pool] = true;
            }
        }
        plan
    }

    /// The max pooling that node `index` can do itself: the only reader of its output,
    /// which is no output of the model, when its layer can pool its own output.
    fn pool_to_fuse(&self, index: usize) -> Option<usize> {
        let v = Node::value(index);
        let &[(pool, 0)] = &self.uses[v][..] else {
            return None;
        };
        if pool == OUTPUT_USE || self.outputs().contains(&v) || self.nodes()[pool].inputs.len() != 1
        {
            return None;
        }
        self.max_pooled(index, pool, true).map(|_| pool)
    }

    /// The passes of node `index` fused with the max pooling at node `pool`, if its layer
    /// can do them.
    fn max_pooled(&self, index: usize, pool: usize, training: bool) -> Option<MaxPooled> {
        let window = self.checked.nodes[pool].max_pool_window()?;
        let (io, pool_io) = (self.io(index, training), self.io(pool, training));
        self.checked.nodes[index].max_pooled(&io, &window, &pool_io)
    }

    /// This plan, for code that writes the gradient of the input.
    fn with_input_grad(&self) -> Self {
        Plan {
            input_grad: true,
            ..self.clone()
        }
    }

    /// Whether the model gives the gradient of its input when asked: when it has one
    /// input and one output, as a model used as a layer has.
    fn gives_input_grad(&self) -> bool {
        self.checked.graph.def.inputs.len() == 1 && self.single_output().is_some()
    }

    /// Whether the backward pass of node `index` reads or writes the input's gradient.
    fn touches_input_grad(&self, index: usize) -> bool {
        let node = &self.nodes()[index];
        std::iter::once(Node::value(index))
            .chain(node.inputs.iter().copied())
            .any(|v| self.storage(v, true) == Storage::Input)
    }

    fn nodes(&self) -> &[Node] {
        &self.checked.graph.nodes
    }

    fn outputs(&self) -> &[ValueId] {
        &self.checked.graph.outputs
    }

    /// The one output, when the model has one (its gradient is the caller's
    /// `output_grad` and its value may be the caller's `input`).
    fn single_output(&self) -> Option<ValueId> {
        match self.outputs() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// The width of the packed output row.
    fn output_width(&self) -> usize {
        self.outputs().iter().map(|&v| self.size(v)).sum()
    }

    /// Values per sample of value `v`.
    fn size(&self, v: ValueId) -> usize {
        product(&self.checked.shapes[v])
    }

    fn storage(&self, v: ValueId, training: bool) -> Storage {
        if v == INPUT {
            return Storage::Input;
        }
        let index = v - 1;
        if self.aliased[index][usize::from(training)] {
            self.storage(self.nodes()[index].inputs[0], training)
        } else {
            Storage::Own(v)
        }
    }

    /// Whether value `v` needs a buffer of its own in either mode.
    fn has_buffer(&self, v: ValueId) -> bool {
        self.storage(v, false) == Storage::Own(v) || self.storage(v, true) == Storage::Own(v)
    }

    /// Whether the output must be copied to `out`: several outputs are packed there, and
    /// a model that only reshapes copies its input.
    fn output_is_copied(&self, training: bool) -> bool {
        self.single_output()
            .is_none_or(|output| self.storage(output, training) == Storage::Input)
    }

    /// The storage of the one output in training, whose gradient is `output_grad`.
    fn output_grad_storage(&self) -> Option<Storage> {
        self.single_output()
            .map(|output| self.storage(output, true))
    }

    /// Each workspace field and its type.
    fn workspace_fields(&self) -> Vec<(Ident, TokenStream)> {
        let k = krate();
        self.buffers()
            .into_iter()
            .map(|(field, buffer)| {
                let ty = match buffer {
                    Buffer::Values { indices: true, .. } => quote!(#k::AlignedVec<u32>),
                    Buffer::Values { indices: false, .. } => quote!(#k::AlignedVec<F>),
                    Buffer::Workspace(model) => {
                        let model = model.in_f();
                        quote!(#model::Workspace)
                    }
                };
                (field, ty)
            })
            .collect()
    }

    /// Whether value `v` needs a gradient: it is not the input, or the model gives its
    /// input's gradient.
    fn needs_grad(&self, v: ValueId) -> bool {
        self.storage(v, true) != Storage::Input || self.gives_input_grad()
    }

    /// The nodes after the first that apply the same layer as node `index`, in backward
    /// order: the use run first in backward writes the gradients, the others add to them.
    fn is_last_use(&self, index: usize) -> bool {
        let layer = &self.checked.graph.layers[self.nodes()[index].layer];
        layer.uses.last() == Some(&index)
    }

    /// Every workspace buffer: values, gradients, the layers' own buffers.
    fn buffers(&self) -> Vec<(Ident, Buffer)> {
        let mut buffers = Vec::new();
        for v in 1..=self.nodes().len() {
            let index = v - 1;
            // A node that pools its own output keeps its output a chunk at a time in its
            // value's buffer, and uses only its layer's first few buffers.
            let fused = self.pools[index].map(|pool| self.fused_max_pool(index, pool, true));
            if self.has_buffer(v) {
                buffers.push((format_ident!("a{}", v), Buffer::floats(self.size(v))));
                if self.output_grad_storage() != Some(Storage::Own(v)) && fused.is_none() {
                    buffers.push((format_ident!("g{}", v), Buffer::floats(self.size(v))));
                }
            }
            let layer_buffers = self.checked.nodes[index].buffers().into_iter().enumerate();
            let used = fused.map_or(usize::MAX, |fused| fused.buffers);
            for (j, buffer) in layer_buffers.take(used) {
                buffers.push((format_ident!("l{}_{}", v, j), buffer));
            }
            if !self.is_last_use(index) {
                for p in self
                    .layer_params(index)
                    .filter(|&p| self.checked.params[p].trainable)
                {
                    let len = &self.checked.params[p].len;
                    buffers.push((format_ident!("s{}_{}", v, p), Buffer::scratch(quote!(#len))));
                }
            }
        }
        for v in 0..=self.nodes().len() {
            if self.needs_grad(v) {
                for slot in 1..self.uses[v].len() {
                    buffers.push((
                        format_ident!("g{}_{}", v, slot),
                        Buffer::floats(self.size(v)),
                    ));
                }
            }
        }
        if self.output_is_copied(false) || self.output_is_copied(true) {
            buffers.push((format_ident!("out"), Buffer::floats(self.output_width())));
        }
        buffers
    }

    fn layer_params(&self, index: usize) -> std::ops::Range<usize> {
        self.checked.layers[self.nodes()[index].layer]
            .params
            .clone()
    }

    fn prepare(&self) -> TokenStream {
        let resizes = self
            .buffers()
            .into_iter()
            .map(|(field, buffer)| match buffer {
                Buffer::Values { len, .. } => {
                    let len = match len {
                        BufferLen::PerSample(len) => quote!(batch * #len),
                        BufferLen::Batch(len) => len,
                    };
                    quote!(ws.#field.resize(#len, ::core::default::Default::default());)
                }
                Buffer::Workspace(model) => {
                    let model = model.in_f();
                    quote!(#model::prepare(&mut ws.#field, batch);)
                }
            });
        quote! {
            if ws.capacity < batch {
                #(#resizes)*
                ws.capacity = batch;
            }
        }
    }

    /// `&[F]` of value `v`.
    fn value(&self, v: ValueId, training: bool) -> TokenStream {
        match self.storage(v, training) {
            Storage::Input => quote!(input),
            Storage::Own(s) => {
                let (field, len) = (format_ident!("a{}", s), self.size(s));
                quote!(&ws.#field[..n * #len])
            }
        }
    }

    /// `&[F]` of the gradient of value `v` (training storage), once every use has added
    /// its part.
    fn grad(&self, v: ValueId) -> Option<TokenStream> {
        match self.storage(v, true) {
            Storage::Input => None,
            s if Some(s) == self.output_grad_storage() => Some(quote!(output_grad)),
            Storage::Own(s) => {
                let (field, len) = (format_ident!("g{}", s), self.size(s));
                Some(quote!(&ws.#field[..n * #len]))
            }
        }
    }

    /// `&mut [F]` where the use of value `v` at `slot` writes its part of the gradient.
    fn grad_slot(&self, v: ValueId, slot: usize) -> Option<TokenStream> {
        let len = self.size(v);
        match (self.storage(v, true), slot) {
            (Storage::Input, 0) if self.input_grad => Some(quote!(&mut input_grad[..n * #len])),
            (Storage::Input, _) if !self.input_grad => None,
            (Storage::Own(s), 0) => {
                let field = format_ident!("g{}", s);
                Some(quote!(&mut ws.#field[..n * #len]))
            }
            (_, slot) => {
                let field = format_ident!("g{}_{}", v, slot);
                Some(quote!(&mut ws.#field[..n * #len]))
            }
        }
    }

    /// The gradient the input at `position` of node `index` receives.
    fn input_grad(&self, index: usize, position: usize) -> Option<TokenStream> {
        let v = self.nodes()[index].inputs[position];
        let slot = self.uses[v]
            .iter()
            .position(|&u| u == (index, position))
            .expect("every input of a node is one of its uses");
        self.grad_slot(v, slot)
    }

    fn io(&self, index: usize, training: bool) -> Io {
        let v = Node::value(index);
        let node = &self.nodes()[index];
        let (field, len) = (format_ident!("a{}", v), self.size(v));
        let params = &self.checked.params[self.layer_params(index)];
        let buffers = self.checked.nodes[index].buffers();
        let buf = |mutable: bool| {
            buffers
                .iter()
                .enumerate()
                .map(|(j, buffer)| {
                    let field = format_ident!("l{}_{}", v, j);
                    let place = match buffer {
                        Buffer::Values {
                            len: BufferLen::PerSample(len),
                            ..
                        } => quote!(ws.#field[..n * #len]),
                        Buffer::Values { .. } => quote!(ws.#field[..]),
                        Buffer::Workspace(_) => quote!(ws.#field),
                    };
                    if mutable {
                        quote!(&mut #place)
                    } else {
                        quote!(&#place)
                    }
                })
                .collect()
        };
        let xs: Vec<TokenStream> = node
            .inputs
            .iter()
            .map(|&input| self.value(input, training))
            .collect();
        let dxs: Vec<Option<TokenStream>> = (0..node.inputs.len())
            .map(|position| self.input_grad(index, position))
            .collect();
        let last_use = self.is_last_use(index);
        Io {
            n: quote!(n),
            x: xs[0].clone(),
            xs,
            y: quote!(&mut ws.#field[..n * #len]),
            y_ref: quote!(&ws.#field[..n * #len]),
            dy: self.grad(v).unwrap_or_default(),
            dx: dxs[0].clone(),
            dxs,
            params: params
                .iter()
                .map(|p| {
                    let (start, end) = (&p.offset, &p.offset + &p.len);
                    quote!(&params[#start..#end])
                })
                .collect(),
            grads: self
                .layer_params(index)
                .map(|i| {
                    let (dp, s) = (format_ident!("dp{}", i), format_ident!("s{}_{}", v, i));
                    match (self.checked.params[i].trainable, last_use) {
                        (true, true) => Some(quote!(&mut *#dp)),
                        (true, false) => Some(quote!(&mut ws.#s[..])),
                        (false, _) if has_grads(&self.checked.params[i]) => Some(quote!(&mut *#dp)),
                        (false, _) => None,
                    }
                })
                .collect(),
            bufs: buf(true),
            bufs_ref: buf(false),
            rng: quote!(rng),
        }
    }

    fn forward(&self, training: bool) -> TokenStream {
        let mut code: TokenStream = (0..self.nodes().len())
            .map(|i| {
                let layer = &self.checked.nodes[i];
                let io = self.io(i, training);
                if self.pooled[i] {
                    TokenStream::new()
                } else if let Some(pool) = self.pools[i] {
                    self.fused_max_pool(i, pool, training).forward
                } else if layer.is_alias(training) && !self.aliased[i][usize::from(training)] {
                    let (x, y) = (&io.x, &io.y);
                    quote!(<[F]>::copy_from_slice(#y, #x);)
                } else {
                    layer.forward(&io, training)
                }
            })
            .collect();
        let k = krate();
        let width = self.output_width();
        if self.output_is_copied(training) {
            let values = self.outputs().iter().map(|&v| self.value(v, training));
            let lens = self.outputs().iter().map(|&v| self.size(v));
            code.extend(quote! {
                #k::kernels::concatenate_forward(&[#(#values),*], &[#(#lens),*], n, &mut ws.out[..n * #width]);
                &ws.out[..n * #width]
            });
        } else {
            code.extend(self.value(self.outputs()[0], training));
        }
        code
    }

    fn backward(&self) -> TokenStream {
        let k = krate();
        let params = &self.checked.params;
        let mut code = TokenStream::new();
        if !params.is_empty() {
            let bindings = params.iter().enumerate().map(|(i, p)| {
                if p.trainable || has_grads(p) {
                    format_ident!("dp{}", i)
                } else {
                    Ident::new("_", Span::call_site())
                }
            });
            let lens = params.iter().map(|p| &p.len);
            code.extend(quote! {
                let [#(#bindings),*] = #k::__private::split_mut(grads, [#(#lens),*]);
            });
        }
        code.extend(self.unpack_output_grad());
        if !self.gives_input_grad() {
            code.extend(quote! {
                ::core::assert!(
                    input_grad.is_none(),
                    "a model of several inputs or outputs gives no input gradient"
                );
            });
        }
        let with_input_grad = self.with_input_grad();
        code.extend(with_input_grad.when_input_grad(with_input_grad.output_is_input_grad()));
        for index in (0..self.nodes().len()).rev() {
            let node = self.node_backward(index);
            if self.gives_input_grad() && self.touches_input_grad(index) {
                let with = with_input_grad.node_backward(index);
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
        code.extend(with_input_grad.when_input_grad(with_input_grad.sum_uses(INPUT)));
        code
    }

    /// `code` run with `input_grad` bound to the input's gradient, when the caller asks for
    /// it (nothing when `code` is empty or the model gives no input gradient).
    fn when_input_grad(&self, code: TokenStream) -> TokenStream {
        if code.is_empty() || !self.gives_input_grad() {
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
        if self.output_grad_storage() != Some(Storage::Input) {
            return TokenStream::new();
        }
        let len = self.size(self.outputs()[0]);
        quote!(input_grad[..n * #len].copy_from_slice(output_grad);)
    }

    /// The backward pass of node `index`: its value's gradient summed over its uses, its
    /// layer's backward, and a shared layer's parameter gradients added up.
    fn node_backward(&self, index: usize) -> TokenStream {
        let k = krate();
        let params = &self.checked.params;
        let v = Node::value(index);
        let mut code = self.sum_uses(v);
        let io = self.io(index, true);
        let layer = &self.checked.nodes[index];
        if self.pooled[index] {
            // The layer it reads takes the gradient back through it.
        } else if let Some(pool) = self.pools[index] {
            code.extend(self.fused_max_pool(index, pool, true).backward);
        } else if layer.is_alias(true) && !self.aliased[index][1] {
            if let Some(dx) = &io.dx {
                let dy = &io.dy;
                code.extend(quote!(<[F]>::copy_from_slice(#dx, #dy);));
            }
        } else {
            code.extend(layer.backward(&io));
        }
        if !self.is_last_use(index) {
            for i in self.layer_params(index).filter(|&i| params[i].trainable) {
                let (dp, s) = (format_ident!("dp{}", i), format_ident!("s{}_{}", v, i));
                code.extend(quote!(#k::kernels::accumulate(&mut *#dp, &ws.#s[..]);));
            }
        }
        code
    }

    /// The passes of node `index` fused with the max pooling at node `pool`.
    fn fused_max_pool(&self, index: usize, pool: usize, training: bool) -> MaxPooled {
        self.max_pooled(index, pool, training)
            .expect("a node fused with its pooling could fuse it when planned")
    }

    /// Hands each of several outputs its part of `output_grad`.
    fn unpack_output_grad(&self) -> TokenStream {
        if self.single_output().is_some() {
            return TokenStream::new();
        }
        let k = krate();
        let lens = self.outputs().iter().map(|&v| self.size(v));
        let grads = self.outputs().iter().enumerate().map(|(k, &v)| {
            let slot = self.uses[v]
                .iter()
                .position(|&u| u == (OUTPUT_USE, k))
                .expect("each output is a use of its value");
            let grad = self.grad_slot(v, slot);
            crate::layers::option(grad.as_ref())
        });
        quote! {
            #k::kernels::concatenate_backward(output_grad, &[#(#lens),*], n, &mut [#(#grads),*]);
        }
    }

    /// Adds the gradients of value `v`'s later uses into its gradient buffer (into
    /// `input_grad` for the input, when asked for).
    fn sum_uses(&self, v: ValueId) -> TokenStream {
        let k = krate();
        let target = match self.storage(v, true) {
            Storage::Own(s) => {
                let field = format_ident!("g{}", s);
                quote!(ws.#field)
            }
            Storage::Input if self.input_grad => quote!(input_grad),
            Storage::Input => return TokenStream::new(),
        };
        let len = self.size(v);
        (1..self.uses[v].len())
            .map(|slot| {
                let part = format_ident!("g{}_{}", v, slot);
                quote! {
                    #k::kernels::accumulate(&mut #target[..n * #len], &ws.#part[..n * #len]);
                }
            })
            .collect()
    }

    /// Draws every parameter from its initializer, in layer order; a model of another
    /// block draws its own, from the same generator.
    fn initialization(&self) -> TokenStream {
        let k = krate();
        self.checked
            .params
            .iter()
            .map(|p| {
                let (start, end) = (&p.offset, &p.offset + &p.len);
                let params = quote!(&mut params[#start..#end]);
                match &p.weights {
                    Weights::Tensor(spec) => {
                        let init = Ident::new(
                            names::initializer_variant(spec.initializer),
                            Span::call_site(),
                        );
                        let (fan_in, fan_out) = (spec.fan_in, spec.fan_out);
                        quote! {
                            #k::init::Initializer::#init.fill(#params, #fan_in, #fan_out, &mut *rng);
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
}
