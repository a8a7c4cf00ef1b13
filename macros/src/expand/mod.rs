//! Stage 5: a checked and planned model -> its struct, workspace, constants and `Model`
//! impl, as tokens.
//!
//! The generated code owns the structure and calls the runtime's kernels for the
//! arithmetic: it holds no loops of its own.

mod constants;
mod declarations;
mod passes;
mod penalties;

use proc_macro2::TokenStream;
use quote::quote;

use crate::layers::{Mode, krate};
use crate::parse::ModelDef;
use crate::plan::Plan;
use declarations::{constructors, declarations, predict_one, workspace_ident};
use passes::Passes;

/// The full expansion of a checked model, laid out by `plan`.
pub fn model(plan: &Plan) -> TokenStream {
    let checked = plan.checked();
    let passes = Passes::new(plan);
    let def = checked.graph.def;
    let k = krate();
    let name = &def.name;
    let workspace = workspace_ident(def);
    let declarations = declarations(def, &passes.workspace_fields());
    let constants = constants::constants(checked);
    let prepare = passes.prepare();
    let forward = passes.forward(Mode::Inference);
    let forward_train = passes.forward(Mode::Training);
    let backward = passes.backward();
    let update_state = passes.update_state();
    let initialization = passes.initialization();
    let weight_penalties = penalties::weight_methods(plan);
    let activity_penalties = penalties::activity_methods(plan);
    let new = constructors(def);
    let predict_one = predict_one(def, &checked.output_shapes());
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
            #weight_penalties
            #activity_penalties
        }

        #new
        #predict_one
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
    let signature = constants::signature(def, &output_shapes);
    let new = constructors(def);
    let predict_one = predict_one(def, &output_shapes);
    quote! {
        #declarations

        impl<F: #k::Float> #k::Model for #name<F> {
            type Float = F;
            type Workspace = #workspace<F>;
            #signature
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
