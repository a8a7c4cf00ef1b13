//! What a checked model says about itself: the rows `summary()` prints and the
//! architecture as Keras's `get_config` gives it.

use crate::check::{BuiltNode, Checked, CheckedLayer, Size};
use crate::graph::{NestedId, Op, ValueId};
use crate::json::Json;
use crate::layers::Output;

/// One row of `summary()`.
pub struct Row {
    pub name: String,
    pub kind: String,
    pub shape: Vec<usize>,
    /// Each value's shape, for a layer that gives several.
    pub parts: Vec<Vec<usize>>,
    pub params: Size,
    pub trainable: bool,
}

/// The output shape of `layer`'s first application, and each value's when it gives
/// several (then the first of them, its output, is the output shape).
fn layer_shapes(checked: &Checked, layer: &CheckedLayer) -> (Vec<usize>, Vec<Vec<usize>>) {
    match checked.built(layer.first_use).map(|l| l.output()) {
        Some(Output::Several(parts)) => (parts[0].clone(), parts),
        _ => (checked.shape(layer.first_use.value()).to_vec(), Vec::new()),
    }
}

/// A row per input of several (as Keras shows a functional model's input layers), per
/// layer, and one per nested model standing for all of its layers, in the order they run.
pub fn rows(checked: &Checked) -> Vec<Row> {
    let graph = &checked.graph;
    let outermost = |mut n: NestedId| {
        while let Some(parent) = graph.nested[n.0].parent {
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
    // Each row with its first application: Keras lists a graph's layers in the order
    // they run.
    let mut rows: Vec<(usize, Row)> = Vec::new();
    for id in graph.node_ids() {
        if let Op::Input(index) = graph.node(id).op {
            let input = &graph.def.inputs[index];
            rows.push((
                id.index(),
                Row {
                    name: input.name.to_string(),
                    kind: "InputLayer".to_string(),
                    shape: input.shape.dims.clone(),
                    parts: Vec::new(),
                    params: Size::default(),
                    trainable: true,
                },
            ));
        }
    }
    let mut row_of_nested: Vec<Option<usize>> = vec![None; graph.nested.len()];
    for (layer, decl) in checked.layers.iter().zip(&graph.layers) {
        let first = layer.first_use.index();
        let Some(n) = decl.nested.map(outermost) else {
            let (shape, parts) = layer_shapes(checked, layer);
            let row = Row {
                name: layer.name.clone(),
                kind: layer.kind.clone(),
                shape,
                parts,
                params: param_sum(layer),
                trainable: layer.trainable,
            };
            rows.push((first, row));
            continue;
        };
        let row = *row_of_nested[n.0].get_or_insert_with(|| {
            let (name, trainable) = checked.nested[n.0].clone();
            let nested = &graph.nested[n.0];
            let output = nested
                .applications
                .first()
                .map_or(ValueId::INPUT, |a| a.output);
            let row = Row {
                name,
                kind: nested.model.to_string(),
                shape: checked.shape(output).to_vec(),
                parts: Vec::new(),
                params: Size::default(),
                trainable,
            };
            rows.push((first, row));
            rows.len() - 1
        });
        rows[row].1.params += &param_sum(layer);
        rows[row].0 = rows[row].0.min(first);
    }
    rows.sort_by_key(|(first, _)| *first);
    rows.into_iter().map(|(_, row)| row).collect()
}

/// The architecture as Keras's `get_config` would give it: a `Sequential` for a stack of
/// layers, a `Functional` (each layer with the layers it is applied to) for a graph.
pub fn architecture(checked: &Checked) -> Json {
    let def = checked.graph.def;
    let graph = &checked.graph;
    // The layer a value comes from, by name: an unpacked value comes from the layer that
    // gives it.
    let source = |v: ValueId| -> Json {
        let mut value = v;
        loop {
            let Some(id) = value.producer() else {
                return Json::str(def.inputs[0].name.to_string());
            };
            match &graph.node(id).op {
                Op::Unpack { .. } => value = graph.node(id).inputs[0],
                Op::Input(index) => return Json::str(def.inputs[*index].name.to_string()),
                Op::Layer(layer) => return Json::str(checked.layer(*layer).name.clone()),
            }
        }
    };
    let mut layers: Vec<Json> = Vec::new();
    for id in graph.node_ids() {
        if let (Op::Input(index), BuiltNode::Input { .. }) = (&graph.node(id).op, checked.node(id))
        {
            let input = &def.inputs[*index];
            let config = Json::object([
                ("name", Json::str(input.name.to_string())),
                ("trainable", Json::Bool(true)),
                ("batch_shape", Json::sizes(&input.shape.dims)),
            ]);
            layers.push(Json::object([
                ("class_name", Json::str("InputLayer")),
                ("config", config),
                ("output_shape", Json::sizes(&input.shape.dims)),
                ("inbound_nodes", Json::List(Vec::new())),
            ]));
        }
    }
    for (layer, decl) in checked.layers.iter().zip(&graph.layers) {
        let built = checked
            .built(layer.first_use)
            .expect("a layer's first use applies it");
        let mut config = vec![
            ("name".to_string(), Json::str(layer.name.clone())),
            ("trainable".to_string(), Json::Bool(layer.trainable)),
        ];
        config.extend(built.config().into_iter().map(|(k, v)| (k.to_string(), v)));
        if let Some(activity) = &layer.activity {
            config.push(("activity_regularizer".to_string(), activity.json()));
        }
        let output_shape = match layer_shapes(checked, layer) {
            (shape, parts) if parts.is_empty() => Json::sizes(&shape),
            (_, parts) => Json::List(parts.iter().map(|p| Json::sizes(p)).collect()),
        };
        let mut members = vec![
            ("class_name".to_string(), Json::str(layer.kind.clone())),
            ("config".to_string(), Json::Object(config)),
            ("output_shape".to_string(), output_shape),
        ];
        if !graph.sequential {
            let calls = decl
                .uses
                .iter()
                .map(|&node| {
                    Json::List(graph.node(node).inputs.iter().map(|&v| source(v)).collect())
                })
                .collect();
            members.push(("inbound_nodes".to_string(), Json::List(calls)));
        }
        layers.push(Json::Object(members));
    }
    let output_shapes = checked.output_shapes();
    let mut members = vec![
        (
            "class_name",
            Json::str(if graph.sequential {
                "Sequential"
            } else {
                "Functional"
            }),
        ),
        ("name", Json::str(def.name.to_string())),
        ("input_shape", Json::sizes(&def.packed_input_shape())),
        ("output_shape", Json::sizes(&packed(&output_shapes))),
        ("layers", Json::List(layers)),
    ];
    if !graph.sequential {
        let names = graph.outputs.iter().map(|&v| source(v)).collect();
        members.push(("output_layers", Json::List(names)));
    }
    Json::object(members)
}

/// The shape of the packed row of `shapes`: the one shape, or `[total]` for several.
pub fn packed(shapes: &[Vec<usize>]) -> Vec<usize> {
    match shapes {
        [one] => one.clone(),
        many => vec![many.iter().map(|s| s.iter().product::<usize>()).sum()],
    }
}
