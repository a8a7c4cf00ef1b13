//! The `Model` methods of regularizers and constraints: the weights' penalty and its
//! gradient, the activity penalty, and the constraints after each step. A model without
//! any keeps the trait's no-ops.

use proc_macro2::TokenStream;
use quote::quote;

use crate::check::{Param, Weights};
use crate::layers::Mode;
use crate::plan::{Field, Plan, Storage};

use super::passes::field_ident;

/// The workspace field that holds the activity gradient's scale.
pub fn activity_scale_field(plan: &Plan) -> Option<(proc_macro2::Ident, TokenStream)> {
    let any = plan
        .checked()
        .graph
        .node_ids()
        .any(|id| plan.activity(id).is_some());
    any.then(|| (quote::format_ident!("activity_scale"), quote!(f64)))
}

/// `weight_penalty` and `apply_constraints`.
pub fn weight_methods(plan: &Plan) -> TokenStream {
    let params = &plan.checked().params;
    let range = |p: &Param| {
        let (start, end) = (&p.offset, &p.offset + &p.len);
        quote!(#start..#end)
    };
    let mut penalties = TokenStream::new();
    let mut constraints = TokenStream::new();
    for p in params.iter().filter(|p| p.trainable) {
        let range = range(p);
        match &p.weights {
            Weights::Tensor(weight) => {
                if let Some(regularizer) = &weight.regularizer {
                    let reg = regularizer.tokens();
                    penalties.extend(quote! {
                        penalty += #reg.penalty(&params[#range]);
                        if let ::core::option::Option::Some(grads) = grads.as_deref_mut() {
                            #reg.add_gradient(&params[#range], &mut grads[#range], 1.0);
                        }
                    });
                }
                if let Some(constraint) = &weight.constraint {
                    let (constraint, shape) =
                        (constraint.tokens(weight.shape.len()), &weight.shape);
                    constraints.extend(quote! {
                        #constraint.apply(&mut params[#range], &[#(#shape),*]);
                    });
                }
            }
            Weights::Model(model) => {
                let model = model.in_f();
                penalties.extend(quote! {
                    penalty += #model::weight_penalty(
                        &params[#range],
                        grads.as_deref_mut().map(|grads| &mut grads[#range]),
                    );
                });
                constraints.extend(quote!(#model::apply_constraints(&mut params[#range]);));
            }
        }
    }
    let mut code = TokenStream::new();
    if !penalties.is_empty() {
        code.extend(quote! {
            #[allow(unused_mut)]
            fn weight_penalty(params: &[F], mut grads: ::core::option::Option<&mut [F]>) -> f64 {
                let mut penalty = 0.0;
                #penalties
                penalty
            }
        });
    }
    if !constraints.is_empty() {
        code.extend(quote! {
            fn apply_constraints(params: &mut [F]) {
                #constraints
            }
        });
    }
    code
}

/// `activity_penalty` and `set_activity_scale`.
pub fn activity_methods(plan: &Plan) -> TokenStream {
    let checked = plan.checked();
    let mut modes = [TokenStream::new(), TokenStream::new()];
    for id in checked.graph.node_ids() {
        let Some(regularizer) = plan.activity(id) else {
            continue;
        };
        let reg = regularizer.tokens();
        let len = checked.size(id.value());
        for (i, mode) in Mode::BOTH.into_iter().enumerate() {
            let value = match plan.storage(id.value(), mode) {
                Storage::Own(s) => {
                    let field = field_ident(Field::Value(s));
                    quote!(&ws.#field[..n * #len])
                }
                Storage::Input => continue,
            };
            modes[i].extend(quote!(penalty += #reg.penalty(#value);));
        }
    }
    let [inference, training] = modes;
    if inference.is_empty() && training.is_empty() {
        return TokenStream::new();
    }
    quote! {
        #[allow(unused_variables)]
        fn activity_penalty(ws: &Self::Workspace, n: usize, training: bool) -> f64 {
            let mut penalty = 0.0;
            if training {
                #training
            } else {
                #inference
            }
            penalty
        }

        fn set_activity_scale(ws: &mut Self::Workspace, scale: f64) {
            ws.activity_scale = scale;
        }
    }
}

/// In the backward pass of node `id`, once its output's gradient is whole: the activity
/// regularizer's gradient added to it (after the caller's `output_grad` is copied in,
/// for the model's output).
pub fn activity_gradient(plan: &Plan, id: crate::graph::NodeId) -> TokenStream {
    let Some(regularizer) = plan.activity(id) else {
        return TokenStream::new();
    };
    let Storage::Own(s) = plan.storage(id.value(), Mode::Training) else {
        return TokenStream::new();
    };
    let (value, grad) = (field_ident(Field::Value(s)), field_ident(Field::Grad(s)));
    let len = plan.checked().size(s);
    let reg = regularizer.tokens();
    let copy = plan
        .copies_output_grad(id)
        .then(|| quote!(ws.#grad[..n * #len].copy_from_slice(output_grad);));
    quote! {
        #copy
        #reg.add_gradient(&ws.#value[..n * #len], &mut ws.#grad[..n * #len], ws.activity_scale);
    }
}
