//! Every input and every bound value reaches an output; every bound layer is applied.

use super::ValueId;
use super::build::{Builder, Target};

impl Builder<'_, '_> {
    /// Reports each input, value, layer or model that a `let` or the signature binds and
    /// that does not lead to `outputs`.
    pub(super) fn check_every_value_used(&mut self, outputs: &[ValueId]) {
        let mut live = vec![false; self.nodes.len() + 1];
        for &output in outputs {
            live[output.index()] = true;
        }
        for (index, node) in self.nodes.iter().enumerate().rev() {
            if live[index + 1] {
                for &input in &node.inputs {
                    live[input.index()] = true;
                }
            }
        }
        let consumed = |value: ValueId| self.nodes.iter().any(|n| n.inputs.contains(&value));
        let mut reports = Vec::new();
        for binding in &self.scope {
            let name = &binding.name;
            let text = match binding.target {
                Target::Value(v) if binding.is_input && !live[v.index()] => format!(
                    "the input `{name}` is never used: no layer is applied to it on the way \
                     to the output"
                ),
                Target::Value(v) if !live[v.index()] && !consumed(v) => match binding.in_tuple {
                    true => format!(
                        "`{name}` is computed but never reaches the output; use it, or write \
                         `_` in its place"
                    ),
                    false => format!(
                        "`{name}` is computed but never reaches the output; use it, or remove \
                         this `let`"
                    ),
                },
                Target::Model(model) if self.nested[model.0].info.applications.is_empty() => {
                    format!(
                        "`{name}` is a model that is never applied; apply it to a value, as \
                         `{name}(x)`, or remove this `let`"
                    )
                }
                Target::Layer(layer) if self.layers[layer.0].uses.is_empty() => format!(
                    "`{name}` is a layer that is never applied; apply it to a value, as \
                     `{name}(x)`, or remove this `let`"
                ),
                _ => continue,
            };
            reports.push((name.span(), text));
        }
        for (span, text) in reports {
            self.error(span, text);
        }
    }
}
