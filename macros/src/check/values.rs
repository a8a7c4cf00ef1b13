//! Layers that give several values (a recurrent layer with `return_state = true`): their
//! value packs them, and only a tuple pattern of as many names may read it.

use proc_macro2::Span;

use super::configure::Configured;
use crate::errors::{Errors, message};
use crate::graph::{Graph, NodeId, Op, describe_call};
use crate::parse::LayerCall;

/// Reports every value of several used as one, and every tuple pattern that does not fit
/// what it unpacks; returns, by [`ValueId::index`], whether each value packs several
/// (which only the graph's unpacking may read).
///
/// [`ValueId::index`]: crate::graph::ValueId::index
pub fn check(graph: &Graph, layers: &[Option<Configured>], errors: &mut Errors) -> Vec<bool> {
    let gives = |node: NodeId| -> Option<&'static [&'static str]> {
        let layer = graph.layer_of(node)?;
        layers[layer.0].as_ref().map(|c| c.config.gives())
    };
    let mut packed = vec![false; graph.nodes.len() + 1];
    for id in graph.node_ids() {
        let node = graph.node(id);
        let gives = gives(id);
        let several = gives.filter(|g| g.len() > 1);
        packed[id.value().index()] = several.is_some();
        let described = describe(graph, id);
        match (several, &node.pattern) {
            (Some(gives), Some((names, span))) if gives.len() != names.len() => {
                pattern_misfit(&described, gives, names, *span, errors);
            }
            (Some(gives), None) => misused(graph, id, &described, gives, errors),
            (None, Some((names, span))) if gives.is_some() || !matches!(node.op, Op::Layer(_)) => {
                errors.at(
                    *span,
                    message(
                        format!(
                            "`{described}` gives one value, but the pattern takes {}",
                            names.len()
                        ),
                        &[],
                        Some(
                            "bind it to one name, `let name = ...;`; a recurrent layer gives \
                             its final states too with return_state = true"
                                .to_string(),
                        ),
                    ),
                );
            }
            _ => {}
        }
    }
    packed
}

/// How node `id`'s expression reads in a message: `LSTM(...)`, or an input's name.
fn describe(graph: &Graph, id: NodeId) -> String {
    let node = graph.node(id);
    match &node.op {
        Op::Layer(layer) => describe_call(&graph.layer(*layer).call),
        Op::Input(index) => graph.def.inputs[*index].name.to_string(),
        Op::Unpack { name, .. } => name.to_string(),
    }
}

fn pattern_misfit(
    described: &str,
    gives: &[&str],
    names: &[Option<syn::Ident>],
    span: Span,
    errors: &mut Errors,
) {
    let written: Vec<String> = names
        .iter()
        .map(|n| n.as_ref().map_or("_".to_string(), syn::Ident::to_string))
        .collect();
    errors.at(
        span,
        message(
            format!(
                "`{described}` gives {} values ({}), but the pattern `({})` takes {}",
                gives.len(),
                gives.join(", "),
                written.join(", "),
                names.len()
            ),
            &[],
            Some(format!(
                "name each of them in order, `_` for one you do not use: `let ({}) = ...;`",
                gives.join(", ")
            )),
        ),
    );
}

/// The value of node `id`, which packs several, used where one value is wanted: bound to
/// one name, as an input, as an output, or passed on in a stack of layers.
fn misused(graph: &Graph, id: NodeId, described: &str, gives: &[&str], errors: &mut Errors) {
    let value = id.value();
    let names = gives.join(", ");
    let span = graph.node(id).span;
    if graph.sequential {
        let call = graph.layer_of(id).map(|l| &graph.layer(l).call);
        let span = call
            .and_then(|call| keyword_value_span(call, "return_state"))
            .unwrap_or(span);
        let kind = call.map_or(described.to_string(), |c| c.kind.to_string());
        errors.at(
            span,
            message(
                format!(
                    "return_state = true makes {kind} give {} values ({names}), but a stack \
                     of layers passes one value from layer to layer",
                    gives.len()
                ),
                &[],
                Some(format!(
                    "write the model as a graph and bind each value: `let ({names}) = \
                     {kind}(..., return_state = true)(input);`, or remove return_state"
                )),
            ),
        );
        return;
    }
    let what = if graph.value_name(value).is_some() {
        "bound to one name".to_string()
    } else if let Some(consumer) = graph.nodes.iter().find(|n| n.inputs.contains(&value)) {
        let reader = match (&consumer.op, consumer.nested_input) {
            (_, Some((nested, _))) => graph.nested[nested.0].model.to_string(),
            (Op::Layer(layer), None) => graph.layer(*layer).call.kind.to_string(),
            _ => return,
        };
        format!("an input of {reader}")
    } else if graph.outputs.contains(&value) {
        "an output".to_string()
    } else {
        return;
    };
    errors.at(
        span,
        message(
            format!(
                "`{described}` gives {} values ({names}), which cannot be {what}",
                gives.len()
            ),
            &[],
            Some(format!(
                "bind them first, `let ({names}) = {described};`, then use each by name"
            )),
        ),
    );
}

/// Where the value of the keyword argument `keyword` of `call` is written, if it is.
pub fn keyword_value_span(call: &LayerCall, keyword: &str) -> Option<Span> {
    let arg = call
        .args
        .iter()
        .find(|arg| arg.key.as_ref().is_some_and(|key| key == keyword))?;
    Some(arg.value.span())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyword_is_found_by_name() {
        let call: LayerCall = syn::parse_quote!(LSTM(32, return_state = true));
        assert!(keyword_value_span(&call, "return_state").is_some());
        assert!(keyword_value_span(&call, "units").is_none());
    }
}
