//! Layer names as Keras gives them: `dense`, `dense_1`, ... unless the user names a layer,
//! each unique in its model, a nested model's layers under its name (`encoder/dense`).

use std::collections::HashMap;

use proc_macro2::Span;

use crate::errors::Errors;
use crate::graph::Graph;

/// The names taken in one model, or in one nested model under its prefix.
#[derive(Default)]
pub struct Names {
    counts: HashMap<String, usize>,
    taken: Vec<String>,
    /// The full name of the nested model these names are under.
    pub prefix: Option<String>,
}

impl Names {
    /// Takes `name` for a name the model itself gives (an input's).
    pub fn reserve(&mut self, name: &str) {
        self.taken.push(name.to_string());
    }

    /// A fresh name, with the nested model's prefix.
    pub fn assign_full(
        &mut self,
        default: &str,
        given: Option<(String, Span)>,
        errors: &mut Errors,
    ) -> Option<String> {
        let name = self.assign(default, given, errors)?;
        Some(match &self.prefix {
            Some(prefix) => format!("{prefix}/{name}"),
            None => name,
        })
    }

    /// `given`, when it is a valid name not yet taken, or the next free default.
    pub fn assign(
        &mut self,
        default: &str,
        given: Option<(String, Span)>,
        errors: &mut Errors,
    ) -> Option<String> {
        let name = match given {
            Some((name, span)) => {
                if let Some(problem) = invalid(&name) {
                    errors.at(span, problem);
                    return None;
                }
                if self.taken.contains(&name) {
                    errors.at(
                        span,
                        format!("the layer name \"{name}\" is used twice; layer names are unique"),
                    );
                    return None;
                }
                name
            }
            None => loop {
                let count = self.counts.entry(default.to_string()).or_insert(0);
                let candidate = match *count {
                    0 => default.to_string(),
                    n => format!("{default}_{n}"),
                };
                *count += 1;
                if !self.taken.contains(&candidate) {
                    break candidate;
                }
            },
        };
        self.taken.push(name.clone());
        Some(name)
    }
}

/// What is wrong with a name the user gives a layer, if anything: Keras 3 refuses `/`,
/// which separates the parts of a weight's path (`encoder/dense/kernel`).
fn invalid(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some(
            "a layer name cannot be empty: it begins the names of the layer's weights \
             (`name/kernel`)"
                .to_string(),
        );
    }
    if name.contains('/') {
        return Some(format!(
            "a layer name cannot contain `/`, but \"{name}\" does: `/` separates the parts \
             of a weight's path (`encoder/dense/kernel`), and Keras refuses it too\n  = help: \
             use `_` instead, e.g. \"{}\"",
            name.replace('/', "_")
        ));
    }
    if name.chars().any(char::is_control) {
        return Some(format!(
            "a layer name cannot contain control characters, but {name:?} does"
        ));
    }
    None
}

/// The names of the model's layers (index 0) and of each nested model's (index `n + 1`),
/// each nested model named in the scope of the one that contains it; a model of several
/// inputs has its inputs' names taken, as Keras names its input layers after them.
pub fn scopes(graph: &Graph, errors: &mut Errors) -> Vec<Names> {
    let mut scopes = vec![Names::default()];
    if graph.def.inputs.len() > 1 {
        for input in &graph.def.inputs {
            scopes[0].reserve(&input.name.to_string());
        }
    }
    for nested in &graph.nested {
        let parent = nested.parent.map_or(0, |p| p.0 + 1);
        let name = scopes[parent]
            .assign(&nested.default_name, nested.name.clone(), errors)
            .unwrap_or_else(|| nested.default_name.clone());
        let prefix = match &scopes[parent].prefix {
            Some(outer) => format!("{outer}/{name}"),
            None => name,
        };
        scopes.push(Names {
            prefix: Some(prefix),
            ..Names::default()
        });
    }
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_count_up_and_skip_taken_names() {
        let mut names = Names::default();
        let mut errors = Errors::default();
        names.reserve("dense_1");
        let given = Some(("dense_2".to_string(), Span::call_site()));
        assert_eq!(
            names.assign("dense", given, &mut errors).as_deref(),
            Some("dense_2")
        );
        let assigned: Vec<_> = (0..3)
            .map(|_| names.assign("dense", None, &mut errors).unwrap())
            .collect();
        assert_eq!(assigned, ["dense", "dense_3", "dense_4"]);
        assert_eq!(errors.len(), 0);
    }

    #[test]
    fn slashes_and_empty_names_are_refused() {
        assert!(invalid("encoder/dense").unwrap().contains("encoder_dense"));
        assert!(invalid("").is_some());
        assert!(invalid("a\nb").is_some());
        assert_eq!(invalid("a \"quoted\" \\ name"), None);
    }
}
