//! The constants of a model's `Model` impl: its signature, counts, layer table, weight
//! table and architecture.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::check::{Checked, Param, Size, Weights, ids_input};
use crate::describe::{self, Row, packed};
use crate::graph::NodeId;
use crate::layers::krate;
use crate::parse::ModelDef;

/// The constants every model has, its checks passed or not: its name, and the shapes of
/// its inputs and outputs (`output_shapes`, the inferred ones or, for a model with errors,
/// the declared ones).
pub fn signature(def: &ModelDef, output_shapes: &[Vec<usize>]) -> TokenStream {
    let k = krate();
    let (input, output) = (def.packed_input_shape(), packed(output_shapes));
    let input_size: usize = input.iter().product();
    let output_size: usize = output.iter().product();
    let inputs = tensor_infos(&input_entries(def));
    let outputs = tensor_infos(&output_entries(def, output_shapes));
    let model_name = def.name.to_string();
    quote! {
        const NAME: &'static str = #model_name;
        const INPUT_SHAPE: &'static [usize] = &[#(#input),*];
        const OUTPUT_SHAPE: &'static [usize] = &[#(#output),*];
        const INPUT_SIZE: usize = #input_size;
        const OUTPUT_SIZE: usize = #output_size;
        const INPUTS: &'static [#k::TensorInfo] = #inputs;
        const OUTPUTS: &'static [#k::TensorInfo] = #outputs;
    }
}

/// The constants of a checked model's `Model` impl.
pub fn constants(checked: &Checked) -> TokenStream {
    let k = krate();
    let def = checked.graph.def;
    let signature = signature(def, &checked.output_shapes());
    let (param_count, trainable_count) = (&checked.param_count, &checked.trainable_count);
    let token_inputs = token_inputs(checked);
    let layers = describe::rows(checked).into_iter().map(|row| {
        let Row {
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
    let json = describe::architecture(checked).to_string();
    let product_bound = product_bound(checked);
    quote! {
        #signature
        #token_inputs
        const PARAM_COUNT: usize = #param_count;
        const TRAINABLE_PARAM_COUNT: usize = #trainable_count;
        const LAYERS: &'static [#k::LayerInfo] = &[#(#layers),*];
        const PARAMS: &'static [#k::ParamInfo] = #params;
        const ARCHITECTURE_JSON: &'static str = #json;
        const PRODUCT_BOUND: bool = #product_bound;
    }
}

/// Whether every layer's work is a matrix product or a pass over its values, so that a
/// training step is best split inside its products (a model of another block says
/// nothing of its own layers here: it counts as other work).
fn product_bound(checked: &Checked) -> bool {
    checked.graph.node_ids().all(|id| match checked.built(id) {
        Some(layer) => layer.capabilities().product_bound,
        None => true,
    })
}

/// How many token ids the layer of node `id` knows, if it reads them.
fn layer_reads_ids(checked: &Checked, id: NodeId) -> Option<usize> {
    checked.layer(checked.graph.layer_of(id)?).reads_token_ids
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
            Weights::Tensor(weight) => tensor(p, &weight.shape),
            Weights::Model(_) => unreachable!("no model among them"),
        });
        return quote!(&[#(#entries),*]);
    }
    let (mut names, mut steps, mut pending) = (TokenStream::new(), TokenStream::new(), vec![]);
    let mut len = Size::default();
    for (i, p) in params.iter().enumerate() {
        let model = match &p.weights {
            Weights::Tensor(weight) => {
                pending.push(tensor(p, &weight.shape));
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
        let len: usize = shape.iter().product();
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
        let len = input.shape.len();
        let limit = graph
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| node.inputs.iter().any(|&v| ids_input(graph, v) == Some(i)))
            .filter_map(|(n, _)| layer_reads_ids(checked, NodeId(n)))
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
