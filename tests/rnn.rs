//! The recurrent layers: Keras's names, shapes, parameter counts, initial weights and
//! config; forward values against a step-by-step reference of Keras's equations, from
//! given initial states and with the final states returned; inference against the training
//! forward pass; a weights round trip; training on real Fashion-MNIST, and a
//! sequence-to-sequence model on a copy task.

mod common;

use rand::Rng as _;
use strata::prelude::*;

model! {
    /// The issue's row reader: 28 steps of 28 pixels.
    pub struct RowReader: [28, 28] -> [10] {
        LSTM(128),
        Dense(10),
    }

    /// The issue's stack.
    pub struct Stacked: [20, 64] -> [1] {
        LSTM(32, return_sequences = true),
        GRU(32),
        Dense(1, activation = sigmoid),
    }

    /// Every layer's non-default arguments, for their config and layouts.
    struct Others: [6, 5] -> [3] {
        SimpleRNN(4, activation = relu, use_bias = false, return_sequences = true, go_backwards = true),
        LSTM(3, unit_forget_bias = false, dropout = 0.25, recurrent_dropout = 0.5, return_sequences = true),
        GRU(2, reset_after = false, recurrent_activation = tanh, return_sequences = true),
        LSTM(3, recurrent_initializer = glorot_uniform, name = "last"),
    }

    struct SimpleSequences: [5, 3] -> [5, 4] {
        SimpleRNN(4, return_sequences = true),
    }

    struct LstmBackwards: [5, 3] -> [4] {
        LSTM(4, go_backwards = true),
    }

    struct LstmSequences: [5, 3] -> [5, 4] {
        LSTM(4, return_sequences = true),
    }

    struct GruSequences: [5, 3] -> [5, 4] {
        GRU(4, return_sequences = true, go_backwards = true),
    }

    struct GruResetBefore: [5, 3] -> [4] {
        GRU(4, reset_after = false),
    }

    struct BidirectionalGru: [5, 3] -> [5, 8] {
        Bidirectional(GRU(4, return_sequences = true)),
    }

    /// The wrappers, for their names and config.
    struct Wrapped: [10, 6] -> [10, 4] {
        Bidirectional(LSTM(8, return_sequences = true, name = "encoder"), merge_mode = sum),
        TimeDistributed(Dense(4, activation = relu)),
    }
}

fn param<'m, M: Model>(model: &'m M, name: &str) -> &'m [M::Float] {
    let p = M::PARAMS.iter().find(|p| p.name == name).expect(name);
    &model.params()[p.offset..p.offset + p.len]
}

#[test]
fn lstm_starts_with_an_orthogonal_recurrent_kernel_and_its_forget_bias_at_one() {
    let model = Stacked::<f64>::seeded(Seed(3));
    let bias = param(&model, "lstm/bias");
    assert!(bias[..32].iter().all(|&b| b == 0.0));
    assert!(bias[32..64].iter().all(|&b| b == 1.0));
    assert!(bias[64..].iter().all(|&b| b == 0.0));
    assert!(param(&model, "gru/bias").iter().all(|&b| b == 0.0));
    // [32, 128]: orthonormal rows.
    let recurrent = param(&model, "lstm/recurrent_kernel");
    for a in 0..32 {
        for b in 0..32 {
            let dot: f64 = (0..128)
                .map(|k| recurrent[a * 128 + k] * recurrent[b * 128 + k])
                .sum();
            let want = if a == b { 1.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-12, "rows {a} and {b}: {dot}");
        }
    }
    let other = Others::<f64>::seeded(Seed(3));
    assert!(param(&other, "lstm/bias").iter().all(|&b| b == 0.0));
}

/// One of Keras's cells, for the reference.
#[derive(Clone, Copy, Debug)]
enum Cell {
    SimpleRnn,
    Lstm,
    GruResetAfter,
    GruResetBefore,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// What the reference computes: the output, and the final states `h` and `c` (an LSTM's;
/// zeros for the others).
struct Run {
    output: Vec<f64>,
    h: Vec<f64>,
    c: Vec<f64>,
}

/// Keras's equations, one sample, one step at a time, in the plainest loops: the run on
/// `x` (`[time, inputs]`) from the states `[h, c]` (empty for zeros) given the layer's
/// weights.
#[allow(clippy::too_many_arguments)]
fn reference(
    cell: Cell,
    x: &[f64],
    inputs: usize,
    units: usize,
    [kernel, recurrent, bias]: [&[f64]; 3],
    initial: [&[f64]; 2],
    go_backwards: bool,
    return_sequences: bool,
) -> Run {
    let time = x.len() / inputs;
    let gates = kernel.len() / inputs;
    let state = |given: &[f64]| match given {
        [] => vec![0.0; units],
        given => given.to_vec(),
    };
    let (mut h, mut c) = (state(initial[0]), state(initial[1]));
    let mut outputs = Vec::new();
    for step in 0..time {
        let t = if go_backwards { time - 1 - step } else { step };
        let xt = &x[t * inputs..(t + 1) * inputs];
        // Column `g` of xₜ·kernel and of v·recurrent_kernel.
        let xk = |g: usize| {
            (0..inputs)
                .map(|i| xt[i] * kernel[i * gates + g])
                .sum::<f64>()
        };
        let vr = |v: &[f64], g: usize| {
            (0..units)
                .map(|j| v[j] * recurrent[j * gates + g])
                .sum::<f64>()
        };
        let mut next = vec![0.0; units];
        match cell {
            Cell::SimpleRnn => {
                for u in 0..units {
                    next[u] = (xk(u) + vr(&h, u) + bias[u]).tanh();
                }
            }
            Cell::Lstm => {
                for u in 0..units {
                    let gate =
                        |k: usize| xk(k * units + u) + vr(&h, k * units + u) + bias[k * units + u];
                    let (i, f) = (sigmoid(gate(0)), sigmoid(gate(1)));
                    let (g, o) = (gate(2).tanh(), sigmoid(gate(3)));
                    c[u] = f * c[u] + i * g;
                    next[u] = o * c[u].tanh();
                }
            }
            Cell::GruResetAfter => {
                let (input_bias, recurrent_bias) = bias.split_at(gates);
                for u in 0..units {
                    let x_part = |k: usize| xk(k * units + u) + input_bias[k * units + u];
                    let h_part = |k: usize| vr(&h, k * units + u) + recurrent_bias[k * units + u];
                    let z = sigmoid(x_part(0) + h_part(0));
                    let r = sigmoid(x_part(1) + h_part(1));
                    let candidate = (x_part(2) + r * h_part(2)).tanh();
                    next[u] = z * h[u] + (1.0 - z) * candidate;
                }
            }
            Cell::GruResetBefore => {
                let z: Vec<f64> = (0..units)
                    .map(|u| sigmoid(xk(u) + vr(&h, u) + bias[u]))
                    .collect();
                let r: Vec<f64> = (0..units)
                    .map(|u| sigmoid(xk(units + u) + vr(&h, units + u) + bias[units + u]))
                    .collect();
                let reset: Vec<f64> = (0..units).map(|j| r[j] * h[j]).collect();
                for u in 0..units {
                    let g = 2 * units + u;
                    let candidate = (xk(g) + vr(&reset, g) + bias[g]).tanh();
                    next[u] = z[u] * h[u] + (1.0 - z[u]) * candidate;
                }
            }
        }
        h = next;
        if return_sequences {
            outputs.extend_from_slice(&h);
        }
    }
    let output = if return_sequences { outputs } else { h.clone() };
    Run { output, h, c }
}

/// The recurrent layer `layer` of `model` as Keras's equations run it on `x`.
fn layer_reference<M: Model<Float = f64>>(
    model: &M,
    layer: (Cell, &str),
    x: &[f64],
    go_backwards: bool,
    return_sequences: bool,
) -> Vec<f64> {
    let inputs = M::INPUT_SHAPE[1];
    let run = run_reference(model, layer, (x, inputs), [&[], &[]], go_backwards);
    run(return_sequences).output
}

/// The recurrent layer `layer` of `model` as Keras's equations run it on `x` of `inputs`
/// features from the states `initial`, with or without sequences.
fn run_reference<'a, M: Model<Float = f64>>(
    model: &'a M,
    (cell, layer): (Cell, &'a str),
    (x, inputs): (&'a [f64], usize),
    initial: [&'a [f64]; 2],
    go_backwards: bool,
) -> impl Fn(bool) -> Run + 'a {
    let weight = move |suffix: &str| param(model, &format!("{layer}/{suffix}"));
    let units = M::PARAMS
        .iter()
        .find(|p| p.name == format!("{layer}/recurrent_kernel"))
        .expect(layer)
        .shape[0];
    move |return_sequences| {
        let weights = ["kernel", "recurrent_kernel", "bias"].map(weight);
        reference(
            cell,
            x,
            inputs,
            units,
            weights,
            initial,
            go_backwards,
            return_sequences,
        )
    }
}

/// `model` with random weights on a batch of random sequences: each sample's output
/// against `expected(model, sample)`.
fn assert_forward_matches<M: Model<Float = f64>>(
    mut model: M,
    expected: impl Fn(&M, &[f64]) -> Vec<f64>,
) {
    let mut rng = Seed(21).rng();
    for p in model.params_mut() {
        *p = rng.random_range(-0.6..0.6);
    }
    let batch = 3;
    let input: Vec<f64> = (0..batch * M::INPUT_SIZE)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let mut ws = M::Workspace::default();
    M::prepare(&mut ws, batch);
    let output = model.forward(&mut ws, &input, batch).to_vec();
    let samples = input.chunks_exact(M::INPUT_SIZE);
    for (b, (x, got)) in samples.zip(output.chunks_exact(M::OUTPUT_SIZE)).enumerate() {
        let want = expected(&model, x);
        assert_eq!(got.len(), want.len());
        for (i, (&got, &want)) in got.iter().zip(&want).enumerate() {
            assert!(
                (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
                "{}: sample {b}, value {i}: {got} but Keras's equations give {want}",
                M::NAME
            );
        }
    }
}

#[test]
fn forward_equals_keras_equations_step_by_step() {
    let seed = Seed(1);
    let (simple, lstm) = ((Cell::SimpleRnn, "simple_rnn"), (Cell::Lstm, "lstm"));
    let (after, before) = ((Cell::GruResetAfter, "gru"), (Cell::GruResetBefore, "gru"));
    assert_forward_matches(SimpleSequences::seeded(seed), |m, x| {
        layer_reference(m, simple, x, false, true)
    });
    assert_forward_matches(LstmBackwards::seeded(seed), |m, x| {
        layer_reference(m, lstm, x, true, false)
    });
    assert_forward_matches(LstmSequences::seeded(seed), |m, x| {
        layer_reference(m, lstm, x, false, true)
    });
    assert_forward_matches(GruSequences::seeded(seed), |m, x| {
        layer_reference(m, after, x, true, true)
    });
    assert_forward_matches(GruResetBefore::seeded(seed), |m, x| {
        layer_reference(m, before, x, false, false)
    });
}

model! {
    /// Each cell from given states, giving its final states: the packed input row is
    /// `[x (5·3), h0 (4), c0 (4)]`, the output row `[output, h, c]`.
    struct LstmFromStates: (x: [5, 3], h0: [4], c0: [4]) -> (seq: [5, 4], h: [4], c: [4]) {
        let lstm = LSTM(4, return_sequences = true, return_state = true);
        let (seq, h, c) = lstm(x, initial_state = [h0, c0]);
        (seq, h, c)
    }

    struct LstmLastFromStates: (x: [5, 3], h0: [4], c0: [4]) -> (last: [4], h: [4], c: [4]) {
        let (last, h, c) = LSTM(4, go_backwards = true, return_state = true)(x, initial_state = [h0, c0]);
        (last, h, c)
    }

    struct GruFromState: (x: [5, 3], h0: [4]) -> (seq: [5, 4], h: [4]) {
        let (seq, h) = GRU(4, return_sequences = true, go_backwards = true, return_state = true)(x, initial_state = [h0]);
        (seq, h)
    }

    struct GruBeforeFromState: (x: [5, 3], h0: [4]) -> (last: [4], h: [4]) {
        let (last, h) = GRU(4, reset_after = false, return_state = true)(x, initial_state = [h0]);
        (last, h)
    }

    struct SimpleFromState: (x: [5, 3], h0: [4]) -> (seq: [5, 4], h: [4]) {
        let (seq, h) = SimpleRNN(4, return_sequences = true, return_state = true)(x, initial_state = [h0]);
        (seq, h)
    }
}

/// The expected output row of a `*FromState(s)` model for `sample`: the reference run
/// from the sample's states, then its final states.
fn from_states<M: Model<Float = f64>>(
    model: &M,
    layer: (Cell, &str),
    sample: &[f64],
    (go_backwards, return_sequences): (bool, bool),
) -> Vec<f64> {
    let (x, states) = sample.split_at(5 * 3);
    let (h0, c0) = states.split_at(4);
    let run = run_reference(model, layer, (x, 3), [h0, c0], go_backwards)(return_sequences);
    let c = if c0.is_empty() { &[][..] } else { &run.c };
    [&run.output[..], &run.h, c].concat()
}

#[test]
fn initial_states_start_the_run_and_returned_states_are_its_final_ones() {
    let seed = Seed(5);
    let lstm = (Cell::Lstm, "lstm");
    let (after, before) = ((Cell::GruResetAfter, "gru"), (Cell::GruResetBefore, "gru"));
    let simple = (Cell::SimpleRnn, "simple_rnn");
    assert_forward_matches(LstmFromStates::seeded(seed), |m, x| {
        from_states(m, lstm, x, (false, true))
    });
    assert_forward_matches(LstmLastFromStates::seeded(seed), |m, x| {
        from_states(m, lstm, x, (true, false))
    });
    assert_forward_matches(GruFromState::seeded(seed), |m, x| {
        from_states(m, after, x, (true, true))
    });
    assert_forward_matches(GruBeforeFromState::seeded(seed), |m, x| {
        from_states(m, before, x, (false, false))
    });
    assert_forward_matches(SimpleFromState::seeded(seed), |m, x| {
        from_states(m, simple, x, (false, true))
    });
}

#[test]
fn bidirectional_concatenates_forward_and_time_reversed_backward_runs() {
    assert_forward_matches(BidirectionalGru::seeded(Seed(2)), |m, x| {
        let forward = (Cell::GruResetAfter, "bidirectional/forward_gru");
        let backward = (Cell::GruResetAfter, "bidirectional/backward_gru");
        let forward = layer_reference(m, forward, x, false, true);
        let backward = layer_reference(m, backward, x, true, true);
        let (time, units) = (5, 4);
        (0..time)
            .flat_map(|t| {
                let f = &forward[t * units..(t + 1) * units];
                let b = &backward[(time - 1 - t) * units..(time - t) * units];
                f.iter().chain(b).copied().collect::<Vec<_>>()
            })
            .collect()
    });
}

model! {
    /// Every cell in every mode: each in Bidirectional, forwards and backwards, with and
    /// without sequences, from given initial states, returning its final states.
    struct EveryMode: (x: [11, 3], h0: [6], c0: [6]) -> (seq: [11, 6], last: [6], h: [6], c: [6]) {
        let lstms = Bidirectional(LSTM(5, return_sequences = true))(x);
        let grus = Bidirectional(GRU(3, reset_after = false, return_sequences = true), merge_mode = sum)(lstms);
        let rnns = Bidirectional(SimpleRNN(3, return_sequences = true))(grus);
        let (seq, g) = GRU(6, go_backwards = true, return_sequences = true, return_state = true)(rnns, initial_state = [h0]);
        let s = SimpleRNN(6, go_backwards = true)(seq, initial_state = [g]);
        let (last, h, c) = LSTM(6, return_state = true)(seq, initial_state = [s, c0]);
        (seq, last, h, c)
    }
}

/// `Model::forward` (inference, which keeps no step's values) and `Model::forward_train`
/// (which keeps every step's for the backward pass) of `batch` random samples, each on a
/// fresh workspace, and inference again on the workspace training left.
fn inference_and_training<F: Float>(batch: usize) -> [Vec<u64>; 3]
where
    EveryMode<F>: Model<Float = F>,
{
    type M<F> = EveryMode<F>;
    let model = M::<F>::seeded(Seed(9));
    let mut rng = Seed(10).rng();
    let input: Vec<F> = (0..batch * M::<F>::INPUT_SIZE)
        .map(|_| F::of(rng.random_range(-1.0..1.0)))
        .collect();
    let workspace = || {
        let mut ws = <M<F> as Model>::Workspace::default();
        M::<F>::prepare(&mut ws, batch);
        ws
    };
    let bits = |values: &[F]| values.iter().map(|v| v.as_f64().to_bits()).collect();
    let (mut fresh, mut trained) = (workspace(), workspace());
    let inference = bits(model.forward(&mut fresh, &input, batch));
    let training = bits(model.forward_train(&mut trained, &input, batch, &mut Seed(11).rng()));
    let after_training = bits(model.forward(&mut trained, &input, batch));
    [inference, training, after_training]
}

#[test]
fn inference_equals_the_training_forward_pass_bit_for_bit() {
    for batch in [37, 1] {
        let [inference, training, after_training] = inference_and_training::<f32>(batch);
        assert_eq!(inference, training, "f32, batch {batch}");
        assert_eq!(
            after_training, training,
            "f32, batch {batch}, after training"
        );
    }
    let [inference, training, _] = inference_and_training::<f64>(37);
    assert_eq!(inference, training, "f64");
}

#[test]
fn fashion_mnist_row_reader_reaches_080_test_accuracy_after_one_epoch() {
    let accuracy = common::fashion_mnist_accuracy_after_one_epoch(RowReader::new(Seed(42)));
    assert!(accuracy >= 0.80, "test accuracy {accuracy} after one epoch");
}

model! {
    /// The issue's sequence-to-sequence model: the encoder's final states start the decoder.
    pub struct Seq2Seq: (source: [12, 16], target: [10, 16]) -> [10, 16] {
        let (_, h, c) = LSTM(32, return_state = true)(source);
        let decoded = LSTM(32, return_sequences = true)(target, initial_state = [h, c]);
        TimeDistributed(Dense(16))(decoded)
    }

    pub struct States: [20, 8] -> (seq: [20, 16], last: [16]) {
        let (seq, h) = GRU(16, return_sequences = true, return_state = true)(input);
        (seq, h)
    }

    /// A copy task's model: the decoder, from the encoder's states, reads the source
    /// shifted by one step and writes it back.
    struct Copy: (source: [6, 4], target: [6, 4]) -> [6, 4] {
        let (_, h, c) = LSTM(24, return_state = true)(source);
        let decoded = LSTM(24, return_sequences = true)(target, initial_state = [h, c]);
        TimeDistributed(Dense(4))(decoded)
    }
}

#[test]
fn a_layer_of_several_values_lists_their_shapes_and_its_readers_name_it() {
    type Row = (&'static str, &'static [usize], &'static [&'static [usize]]);
    let layers: Vec<Row> = Seq2Seq::<f32>::LAYERS
        .iter()
        .map(|l| (l.name, l.output_shape, l.output_shapes))
        .collect();
    assert_eq!(
        layers,
        [
            ("source", &[12, 16][..], &[][..]),
            ("target", &[10, 16][..], &[][..]),
            ("lstm", &[32][..], &[&[32][..], &[32], &[32]][..]),
            ("lstm_1", &[10, 32][..], &[][..]),
            ("time_distributed", &[10, 16][..], &[][..]),
        ]
    );
    // Keras's: 4·32·(16 + 32 + 1) twice, and 16·(32 + 1).
    assert_eq!(Seq2Seq::<f32>::PARAM_COUNT, 2 * 6_272 + 528);
    let summary = Seq2Seq::new(Seed(1)).summary_string();
    // The list wraps in its column, as Keras's does.
    assert!(summary.contains("│ [(None, 32), (None,    │"), "{summary}");
    assert!(summary.contains("│ 32), (None, 32)]       │"), "{summary}");
    let json = Seq2Seq::<f32>::ARCHITECTURE_JSON;
    for part in [
        r#""name": "lstm", "trainable": true, "return_sequences": false, "return_state": true"#,
        r#""output_shape": [[32], [32], [32]], "inbound_nodes": [["source"]]"#,
        r#""inbound_nodes": [["target", "lstm", "lstm"]]"#,
    ] {
        assert!(json.contains(part), "{part}\nnot in\n{json}");
    }
    assert!(!json.contains("Unpack"), "{json}");
    let outputs: Vec<&[usize]> = States::<f32>::OUTPUTS.iter().map(|o| o.shape).collect();
    assert_eq!(outputs, [&[20, 16][..], &[16]]);
}

#[test]
fn seq2seq_learns_to_copy_a_sequence_from_the_encoders_states() {
    let (samples, time, features) = (256, 6, 4);
    let mut rng = Seed(3).rng();
    let source = ndarray::Array3::from_shape_fn((samples, time, features), |_| {
        rng.random_range(-1.0f32..1.0)
    });
    // The decoder reads the source one step late (zeros first): teacher forcing.
    let target = ndarray::Array3::from_shape_fn((samples, time, features), |(b, t, f)| {
        if t == 0 { 0.0 } else { source[[b, t - 1, f]] }
    });
    let flat =
        |a: &ndarray::Array3<f32>| a.to_shape((samples, time * features)).unwrap().to_owned();
    let x = ndarray::concatenate![ndarray::Axis(1), flat(&source), flat(&target)];
    let data = Dataset::from_rows(x, flat(&source)).unwrap();
    let mut trainer = Copy::new(Seed(4)).compile(Adam::new(1e-2), MeanSquaredError::new(), ());
    let fit = Fit::epochs(60).batch_size(32).verbose(Verbose::Silent);
    let history = trainer.fit(&data, fit).unwrap();
    let loss = history.get("loss").unwrap();
    let (first, last) = (loss[0], loss[loss.len() - 1]);
    eprintln!("copy task: loss {first:.4} after the first epoch, {last:.4} after the last");
    assert!(last < 0.3 * first, "the loss went from {first} to {last}");
}
