//! Each layer configured once from its arguments, named, and marked trainable or frozen.

use proc_macro2::Span;

use super::names::Names;
use crate::errors::Errors;
use crate::graph::{Graph, LayerDecl};
use crate::layers::foreign::Foreign;
use crate::layers::penalties::Regularizer;
use crate::layers::{Args, Config, LayerKind, registry};

/// A layer configured from its arguments.
pub struct Configured {
    /// Its kind as written: `Dense`.
    pub kind: String,
    pub config: Box<dyn Config>,
    /// Its unique name, under its nested model's (`encoder/dense`).
    pub name: String,
    /// `false` with `trainable = false`, or inside a frozen nested model.
    pub trainable: bool,
    /// `activity_regularizer`: a penalty on the layer's outputs.
    pub activity: Option<Regularizer>,
}

/// Every layer of `graph` configured, by index; `None` for a layer with an error (every
/// error recorded).
pub fn layers(graph: &Graph, scopes: &mut [Names], errors: &mut Errors) -> Vec<Option<Configured>> {
    let frozen = frozen_by_nesting(graph);
    let foreign: Vec<Foreign> = graph.uses.iter().map(Foreign::new).collect();
    graph
        .layers
        .iter()
        .map(|decl| {
            let kind = match decl.foreign {
                Some(index) => Some(&foreign[index] as &dyn LayerKind),
                None => registry::resolve(&decl.call.kind, errors),
            }?;
            let scope = decl.nested.map_or(0, |n| n.0 + 1);
            let in_frozen_model = decl.nested.is_some_and(|n| frozen[n.0]);
            configure(kind, decl, in_frozen_model, &mut scopes[scope], errors)
        })
        .collect()
}

/// Whether each nested model is frozen, by its own `trainable = false` or a container's.
pub fn frozen_by_nesting(graph: &Graph) -> Vec<bool> {
    let mut frozen: Vec<bool> = Vec::new();
    for nested in &graph.nested {
        let inherited = nested.parent.is_some_and(|p| frozen[p.0]);
        frozen.push(inherited || nested.trainable == Some(false));
    }
    frozen
}

/// Reads the layer's arguments for its `kind`: its config, its name and its flag.
fn configure(
    kind: &dyn LayerKind,
    decl: &LayerDecl,
    in_frozen_model: bool,
    names: &mut Names,
    errors: &mut Errors,
) -> Option<Configured> {
    let args =
        Args::match_up(&decl.call, kind.arguments(), errors).in_frozen_model(in_frozen_model);
    let name: Option<Option<(String, Span)>> = args.string("name", errors);
    let trainable = args.boolean("trainable", errors);
    let activity = args.regularizer("activity_regularizer", errors);
    let config = kind.configure(&args, errors);
    let name = names.assign_full(kind.default_name(), name?, errors)?;
    Some(Configured {
        kind: kind.name().to_string(),
        config: config?,
        name,
        trainable: trainable?.unwrap_or(true) && !in_frozen_model,
        activity: activity?,
    })
}
