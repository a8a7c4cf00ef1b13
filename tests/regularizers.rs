//! Regularizers and constraints as Keras's: the penalty is part of the loss `fit`
//! minimises and reports, its gradient part of the weights' (or the activations'), and the
//! constraints hold after every step.

use ndarray::Array2;
use strata::prelude::*;
use strata::{Model, Rng};

model! {
    struct Plain: [6] -> [3] {
        Dense(5, activation = tanh),
        Dense(3),
    }

    struct Regularized: [6] -> [3] {
        Dense(5, activation = tanh, kernel_regularizer = L2(0.01), bias_regularizer = L1(0.02)),
        Dense(3, kernel_regularizer = L1L2(l1 = 0.003, l2 = 0.004), activity_regularizer = L2(0.05)),
    }

    /// Keras's strings, with their default factor 0.01.
    struct Named: [6] -> [3] {
        Dense(5, activation = tanh, kernel_regularizer = "l2"),
        Dense(3, kernel_regularizer = "l1_l2", bias_regularizer = l1),
    }

    /// An activity regularizer on a hidden layer and regularizers on every kind of weight.
    struct Everywhere: [6, 4] -> [2] {
        Conv1D(3, 2, activation = tanh, kernel_regularizer = L2(0.01), activity_regularizer = L1(0.01)),
        LSTM(3, kernel_regularizer = L2(0.02), recurrent_regularizer = L1(0.01), bias_regularizer = L2(0.03)),
        Dense(2, activity_regularizer = L2(0.1)),
    }

    struct Constrained: [6] -> [3] {
        Dense(5, activation = tanh, kernel_constraint = MaxNorm(0.5), bias_constraint = NonNeg),
        Dense(4, kernel_constraint = MinMaxNorm(min_value = 0.2, max_value = 0.3, rate = 1.0)),
        Dense(3, kernel_constraint = UnitNorm(axis = 0)),
    }
}

fn data(samples: usize) -> Dataset<f64> {
    let mut rng = Seed(5).rng();
    use rand::Rng as _;
    let x = Array2::from_shape_fn((samples, 6), |_| rng.random_range(-1.0..1.0)).into_dyn();
    let y = Array2::from_shape_fn((samples, 3), |(i, j)| ((i + j) % 3) as f64 - 1.0).into_dyn();
    Dataset::new(x, y).unwrap()
}

/// The derivative of `f` in each of `values`, by central differences.
fn numeric_gradient(values: &mut [f64], mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-6;
    (0..values.len())
        .map(|i| {
            let original = values[i];
            values[i] = original + h;
            let up = f(values);
            values[i] = original - h;
            let down = f(values);
            values[i] = original;
            (up - down) / (2.0 * h)
        })
        .collect()
}

fn assert_close(what: &str, analytic: &[f64], numeric: &[f64]) {
    for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        assert!(
            (a - n).abs() <= 1e-6 * (1.0 + a.abs().max(n.abs())),
            "{what} {i}: analytic {a}, finite differences {n}"
        );
    }
}

#[test]
fn the_weights_penalty_gradient_matches_finite_differences() {
    let mut params = Regularized::<f64>::seeded(Seed(1)).params().to_vec();
    // Away from the kink of l1 at 0 (the biases start there).
    for (i, p) in params.iter_mut().enumerate() {
        *p += 0.01 * (i as f64 % 7.0 - 3.0) + 0.001;
    }
    let mut grads = vec![0.0; params.len()];
    Regularized::<f64>::weight_penalty(&params, Some(&mut grads));
    let numeric = numeric_gradient(&mut params, |p| Regularized::<f64>::weight_penalty(p, None));
    assert_close("parameter", &grads, &numeric);
    assert!(grads.iter().any(|&g| g != 0.0));
}

/// `Σ w · forward_train(x)` plus the activity penalty scaled as the trainer scales it,
/// and its gradient by the model's backward pass.
fn objective<M: Model<Float = f64>>(model: &M, x: &[f64], w: &[f64], batch: usize) -> f64 {
    let mut ws = M::Workspace::default();
    M::prepare(&mut ws, batch);
    let scale = 1.0 / batch as f64;
    M::set_activity_scale(&mut ws, scale);
    let out = model.forward_train(&mut ws, x, batch, &mut Seed(3).rng());
    let weighted: f64 = out.iter().zip(w).map(|(o, w)| o * w).sum();
    weighted + scale * M::activity_penalty(&ws, batch, true)
}

fn check_activity_gradient<M: Model<Float = f64> + Clone>(mut model: M) {
    use rand::Rng as _;
    let batch = 3;
    let mut rng: Rng = Seed(9).rng();
    let x: Vec<f64> = (0..batch * M::INPUT_SIZE)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let w: Vec<f64> = (0..batch * M::OUTPUT_SIZE)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let mut ws = M::Workspace::default();
    M::prepare(&mut ws, batch);
    M::set_activity_scale(&mut ws, 1.0 / batch as f64);
    model.forward_train(&mut ws, &x, batch, &mut Seed(3).rng());
    let mut grads = vec![0.0; M::PARAM_COUNT];
    model.backward(&mut ws, &x, batch, &w, &mut grads);
    let mut params = model.params().to_vec();
    let numeric = numeric_gradient(&mut params, |p| {
        model.params_mut().copy_from_slice(p);
        objective(&model, &x, &w, batch)
    });
    assert_close(M::NAME, &grads, &numeric);
}

#[test]
fn the_activity_penalty_gradient_matches_finite_differences() {
    check_activity_gradient(Regularized::<f64>::seeded(Seed(2)));
    check_activity_gradient(Everywhere::<f64>::seeded(Seed(3)));
}

#[test]
fn a_regularized_loss_is_the_plain_loss_plus_the_penalty_computed_by_hand() {
    let data = data(8);
    let regularized = Regularized::<f64>::seeded(Seed(4));
    let mut plain = Plain::<f64>::seeded(Seed(0));
    plain.params_mut().copy_from_slice(regularized.params());
    let p = regularized.params();
    let (k1, b1, k2) = (&p[..30], &p[30..35], &p[35..50]);
    let square = |w: &[f64]| w.iter().map(|v| v * v).sum::<f64>();
    let abs = |w: &[f64]| w.iter().map(|v| v.abs()).sum::<f64>();
    let weights = 0.01 * square(k1) + 0.02 * abs(b1) + 0.003 * abs(k2) + 0.004 * square(k2);
    // The activity penalty on the output, over the batch's size.
    let outputs = plain.predict_batch(&data);
    let activity = 0.05 * square(&outputs) / data.len() as f64;
    let evaluate = |loss: f64| loss;
    let mut trainer =
        regularized.compile(SGD::new(0.0), MeanSquaredError::new(), [Accuracy::new()]);
    let mut plain_trainer =
        plain.compile(SGD::new(0.0), MeanSquaredError::new(), [Accuracy::new()]);
    let with = trainer.evaluate(&data).unwrap().get("loss").unwrap();
    let without = plain_trainer.evaluate(&data).unwrap().get("loss").unwrap();
    let want = without + weights + activity;
    assert!(
        (evaluate(with) - want).abs() < 1e-12,
        "{with} != {without} + {weights} + {activity}"
    );
    // fit reports the same loss for a step that moves nothing (SGD at rate 0).
    let fit = Fit::epochs(1)
        .batch_size(8)
        .verbose(Verbose::Silent)
        .shuffle(false);
    let history = trainer.fit(&data, fit).unwrap();
    let reported = history.get("loss").unwrap()[0];
    assert!(
        (reported - want).abs() < 1e-12,
        "fit reports {reported}, not {want}"
    );
}

trait PredictBatch {
    fn predict_batch(&self, data: &Dataset<f64>) -> Vec<f64>;
}

impl PredictBatch for Plain<f64> {
    fn predict_batch(&self, data: &Dataset<f64>) -> Vec<f64> {
        let x = data.x().to_owned();
        let mut ws = <Plain<f64> as Model>::Workspace::default();
        Plain::<f64>::prepare(&mut ws, data.len());
        self.forward(&mut ws, x.as_slice().unwrap(), data.len())
            .to_vec()
    }
}

#[test]
fn keras_strings_take_the_default_factor() {
    let json = Named::<f32>::ARCHITECTURE_JSON;
    for member in [
        r#""kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01}, "registered_name": null}"#,
        r#""kernel_regularizer": {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.01}, "registered_name": null}"#,
        r#""bias_regularizer": {"module": "keras.regularizers", "class_name": "L1", "config": {"l1": 0.01}, "registered_name": null}"#,
        r#""kernel_constraint": null"#,
    ] {
        assert!(json.contains(member), "{member}\nnot in\n{json}");
    }
    let json = Regularized::<f32>::ARCHITECTURE_JSON;
    assert!(json.contains(r#""activity_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.05}"#), "{json}");
    let json = Constrained::<f32>::ARCHITECTURE_JSON;
    assert!(json.contains(r#""kernel_constraint": {"module": "keras.constraints", "class_name": "MaxNorm", "config": {"max_value": 0.5, "axis": 0}, "registered_name": null}"#), "{json}");
}

fn kernel_norm<M: Model<Float = f64>>(model: &M) -> f64 {
    let kernel = &M::PARAMS[0];
    let values = &model.params()[kernel.offset..kernel.offset + kernel.len];
    values.iter().map(|v| v * v).sum::<f64>().sqrt()
}

#[test]
fn training_with_l2_leaves_a_smaller_kernel_than_without() {
    model! {
        struct Free: [6] -> [3] { Dense(16, activation = tanh), Dense(3) }
        struct Decayed: [6] -> [3] { Dense(16, activation = tanh, kernel_regularizer = L2(0.05)), Dense(3) }
    }
    let data = data(64);
    let fit = || Fit::epochs(30).batch_size(16).verbose(Verbose::Silent);
    let mut free =
        Free::<f64>::seeded(Seed(6)).compile(Adam::new(1e-2), MeanSquaredError::new(), ());
    let decayed = Decayed::<f64>::seeded(Seed(6));
    assert_eq!(decayed.params(), free.model().params());
    let mut decayed = decayed.compile(Adam::new(1e-2), MeanSquaredError::new(), ());
    free.fit(&data, fit()).unwrap();
    decayed.fit(&data, fit()).unwrap();
    let (free, decayed) = (kernel_norm(free.model()), kernel_norm(decayed.model()));
    assert!(
        decayed < 0.8 * free,
        "kernel norm {decayed} with L2, {free} without"
    );
}

/// The norm of each column (unit) of a `[rows, columns]` kernel at `offset`.
fn column_norms(params: &[f64], offset: usize, rows: usize, columns: usize) -> Vec<f64> {
    (0..columns)
        .map(|c| {
            (0..rows)
                .map(|r| params[offset + r * columns + c].powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect()
}

#[test]
fn constraints_hold_after_every_step() {
    let mut trainer =
        Constrained::<f64>::seeded(Seed(7)).compile(Adam::new(5e-2), MeanSquaredError::new(), ());
    for _ in 0..3 {
        trainer
            .fit(
                &data(32),
                Fit::epochs(1).batch_size(8).verbose(Verbose::Silent),
            )
            .unwrap();
        let p = trainer.model().params();
        let layout = Constrained::<f64>::PARAMS;
        assert!(
            column_norms(p, layout[0].offset, 6, 5)
                .iter()
                .all(|&n| n <= 0.5 + 1e-9)
        );
        let bias = &p[layout[1].offset..layout[1].offset + 5];
        assert!(bias.iter().all(|&b| b >= 0.0), "{bias:?}");
        let norms = column_norms(p, layout[2].offset, 5, 4);
        assert!(
            norms
                .iter()
                .all(|&n| (0.2 - 1e-6..=0.3 + 1e-6).contains(&n)),
            "{norms:?}"
        );
        let norms = column_norms(p, layout[4].offset, 4, 3);
        assert!(norms.iter().all(|&n| (n - 1.0).abs() < 1e-6), "{norms:?}");
    }
}
