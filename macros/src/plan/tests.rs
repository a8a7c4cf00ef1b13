//! The plan's decisions on small models, without writing any code.

use std::str::FromStr;

use proc_macro2::TokenStream;

use super::{Field, FieldSize, GradPlace, Plan, Storage, Use};
use crate::errors::Errors;
use crate::graph::{NodeId, ValueId};
use crate::layers::Mode;
use crate::parse::Block;

/// `test` on the plan of the first model of `source`.
fn with_plan(source: &str, test: impl FnOnce(&Plan)) {
    let block: Block = syn::parse2(TokenStream::from_str(source).unwrap()).unwrap();
    let mut errors = Errors::default();
    let graph = crate::graph::build(&block.models[0], &block, &mut errors).expect("a graph");
    let checked = crate::check::check(graph, &mut errors).expect("a checked model");
    assert_eq!(errors.len(), 0);
    test(&Plan::new(&checked));
}

fn node(index: usize) -> NodeId {
    NodeId(index)
}

fn value(index: usize) -> ValueId {
    node(index).value()
}

#[test]
fn a_reshape_shares_its_input_buffer_and_dropout_only_in_inference() {
    with_plan(
        "struct M: [4, 3] -> [12] { Dense(3), Flatten, Dropout(0.5), Dense(12) }",
        |plan| {
            assert!(plan.is_aliased(node(1), Mode::Inference));
            assert!(plan.is_aliased(node(1), Mode::Training));
            assert!(plan.is_aliased(node(2), Mode::Inference));
            assert!(!plan.is_aliased(node(2), Mode::Training));
            // The Flatten's value lives in the Dense's buffer; the Dropout's in its own in
            // training only.
            assert_eq!(
                plan.storage(value(1), Mode::Training),
                Storage::Own(value(0))
            );
            assert_eq!(
                plan.storage(value(2), Mode::Inference),
                Storage::Own(value(0))
            );
            assert_eq!(
                plan.storage(value(2), Mode::Training),
                Storage::Own(value(2))
            );
            let fields = plan.fields();
            assert!(!fields.iter().any(|(f, _)| *f == Field::Value(value(1))));
            assert!(fields.iter().any(|(f, _)| *f == Field::Value(value(2))));
        },
    );
}

#[test]
fn only_the_first_pass_through_reader_of_a_value_shares_it() {
    with_plan(
        "struct M: [6] -> [6] { let h = Dense(6)(input); Add(Flatten(h), Flatten(h)) }",
        |plan| {
            assert!(plan.is_aliased(node(1), Mode::Training));
            assert!(!plan.is_aliased(node(2), Mode::Training));
            // The alias goes first among its input's uses: its gradient is the input's.
            assert_eq!(plan.uses(value(0))[0], Use::Node(node(1), 0));
        },
    );
}

#[test]
fn a_convolution_read_only_by_a_max_pooling_pools_its_own_output() {
    with_plan(
        "struct M: [6, 6, 1] -> [12] { Conv2D(3, 3, activation = relu), MaxPooling2D(2), Flatten }",
        |plan| {
            assert_eq!(plan.pool_of(node(0)), Some(node(1)));
            assert!(plan.is_pooled(node(1)));
            // It keeps only the im2col columns of its buffers, and no gradient of its own.
            assert_eq!(plan.used_buffers(node(0)), 1);
            assert!(
                !plan
                    .fields()
                    .iter()
                    .any(|(f, _)| *f == Field::Grad(value(0)))
            );
        },
    );
    // A convolution whose activation does not commute with the maximum does not.
    with_plan(
        "struct M: [6, 6, 1] -> [12] { Conv2D(3, 3, activation = tanh), MaxPooling2D(2), Flatten }",
        |plan| assert_eq!(plan.pool_of(node(0)), None),
    );
    // Nor one whose output another layer reads.
    with_plan(
        "struct M: [6, 6, 1] -> [12] {
            let c = Conv2D(3, 3, activation = relu)(input);
            Add(Flatten(MaxPooling2D(2)(c)), Flatten(AveragePooling2D(2)(c)))
        }",
        |plan| assert_eq!(plan.pool_of(node(0)), None),
    );
}

#[test]
fn a_value_read_twice_sums_the_gradient_of_its_second_use_from_a_buffer_of_its_own() {
    with_plan(
        "struct M: [4] -> [4] { let h = Dense(4)(input); Add(h, Dense(4)(h)) }",
        |plan| {
            let h = value(0);
            // Read by the inner Dense (node 1) first, then by the Add (node 2).
            assert_eq!(plan.uses(h), [Use::Node(node(1), 0), Use::Node(node(2), 0)]);
            assert_eq!(
                plan.grad_slot(h, 0, false),
                Some(GradPlace::Field(Field::Grad(h)))
            );
            assert_eq!(
                plan.grad_slot(h, 1, false),
                Some(GradPlace::Field(Field::GradPart(h, 1)))
            );
            assert!(
                plan.fields()
                    .contains(&(Field::GradPart(h, 1), FieldSize::Floats(4)))
            );
            // The output's gradient is the caller's.
            assert_eq!(plan.grad(value(2)), Some(GradPlace::OutputGrad));
        },
    );
}

#[test]
fn a_shared_layer_adds_up_the_weight_gradients_of_its_applications() {
    with_plan(
        "struct M: [4] -> [4] { let d = Dense(4); Add(d(input), d(Activation(tanh)(input))) }",
        |plan| {
            // The first application (node 0) is not the last: it writes its kernel's and
            // bias's gradients to buffers of its own; the last writes them in place.
            assert!(!plan.is_last_use(node(0)));
            assert!(plan.is_last_use(node(2)));
            let weight_grads: Vec<Field> = plan
                .fields()
                .into_iter()
                .filter_map(|(f, _)| matches!(f, Field::WeightGrad(..)).then_some(f))
                .collect();
            assert_eq!(
                weight_grads,
                [Field::WeightGrad(node(0), 0), Field::WeightGrad(node(0), 1)]
            );
        },
    );
}

#[test]
fn several_outputs_are_packed_and_a_model_of_one_writes_none() {
    with_plan(
        "struct M: (x: [4]) -> (a: [2], b: [3]) { (Dense(2)(x), Dense(3)(x)) }",
        |plan| {
            assert!(plan.output_is_copied(Mode::Inference));
            assert!(
                plan.fields()
                    .contains(&(Field::Output, FieldSize::Floats(5)))
            );
            assert!(!plan.gives_input_grad());
            assert_eq!(plan.uses(value(0)), [Use::Output(0)]);
        },
    );
    with_plan("struct M: [4] -> [2] { Dense(2) }", |plan| {
        assert!(!plan.output_is_copied(Mode::Training));
        assert!(!plan.fields().iter().any(|(f, _)| *f == Field::Output));
        assert!(plan.gives_input_grad());
    });
}

#[test]
fn a_model_that_only_reshapes_copies_its_input_to_its_output() {
    with_plan("struct M: [2, 3] -> [6] { Flatten }", |plan| {
        assert_eq!(plan.storage(value(0), Mode::Inference), Storage::Input);
        assert!(plan.output_is_copied(Mode::Inference));
        assert_eq!(plan.output_grad_storage(), Some(Storage::Input));
    });
}
