//! Whole-model gradient checks: the backward code `model!` emits, against central finite
//! differences of the forward code it emits, in f64.

use strata::prelude::*;
use strata::{Model, Rng};

model! {
    /// Every activation, Dense on a rank-2 input, Reshape, Flatten, Dropout and Softmax.
    struct EveryLayer: [6] -> [4] {
        Dense(5, activation = tanh),
        Dropout(0.3),
        Dense(6, activation = leaky_relu),
        Reshape([3, 2]),
        Dense(4, activation = elu),
        Dense(4, activation = selu, use_bias = false),
        Flatten,
        Dense(5, activation = gelu, kernel_initializer = he_normal, bias_initializer = ones),
        Activation(sigmoid),
        Dense(5, activation = softplus),
        Dense(5, activation = silu),
        Dense(5, activation = relu, kernel_initializer = lecun_normal),
        Dense(4, activation = softmax),
        Activation(linear),
        Softmax,
    }

    struct Mlp: [8] -> [3] {
        Dense(7, activation = relu),
        Dropout(0.2),
        Dense(3),
    }

    /// Conv2D valid, same (asymmetric kernel), strided, dilated and pointwise, each with an
    /// activation; ZeroPadding2D, UpSampling2D, both 2-D poolings and a global one.
    struct Images: [7, 7, 2] -> [3] {
        Conv2D(3, kernel_size = 3, activation = tanh),
        Conv2D(4, kernel_size = [2, 3], padding = same, activation = elu),
        Conv2D(4, kernel_size = 3, strides = 2, padding = same, activation = sigmoid),
        ZeroPadding2D([[1, 0], [2, 1]]),
        Conv2D(3, kernel_size = 2, dilation_rate = 2, activation = softplus, use_bias = false),
        UpSampling2D([2, 1]),
        MaxPooling2D(2, strides = 1),
        AveragePooling2D(2, padding = same),
        Conv2D(5, kernel_size = 1, activation = gelu),
        GlobalAveragePooling2D,
        Dense(3),
    }

    /// Conv2D(relu) and Conv2D(linear) each read only by a max pooling, which they do
    /// themselves a chunk at a time.
    struct PooledImages: [9, 9, 2] -> [3] {
        Conv2D(4, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Conv2D(3, kernel_size = 2),
        MaxPooling2D(2, strides = 1, padding = same),
        Flatten,
        Dense(3),
    }

    /// A relu read only by a max pooling pools its own input (after BatchNormalization,
    /// in training).
    struct PooledRelu: [8, 8, 2] -> [3] {
        Conv2D(3, kernel_size = 3, use_bias = false),
        BatchNormalization,
        Activation(relu),
        MaxPooling2D(2, strides = 1),
        Flatten,
        Dense(3),
    }

    /// Conv1D(relu) pooling its own output.
    struct PooledSequence: [12, 2] -> [2] {
        Conv1D(3, kernel_size = 3, activation = relu),
        MaxPooling1D(2),
        Flatten,
        Dense(2),
    }

    /// Strided valid Conv2D, same-padded max pooling, GlobalMaxPooling2D.
    struct MaxImages: [8, 8, 1] -> [2] {
        Conv2D(4, kernel_size = 3, strides = 2, activation = tanh),
        MaxPooling2D(2, padding = same),
        ZeroPadding2D(1),
        Conv2D(3, kernel_size = 2, strides = [1, 2], activation = silu),
        GlobalMaxPooling2D,
        Dense(2),
    }

    /// Conv1D valid, dilated same, strided same; both 1-D poolings; GlobalMaxPooling1D.
    struct Sequence: [10, 3] -> [2] {
        Conv1D(4, 3, activation = tanh),
        Conv1D(4, 2, dilation_rate = 2, padding = same, activation = sigmoid),
        MaxPooling1D(2),
        Conv1D(3, kernel_size = 3, strides = 2, padding = same, activation = elu),
        AveragePooling1D(2, strides = 1, padding = same),
        GlobalMaxPooling1D,
        Dense(2),
    }

    /// Every cell over several steps returning sequences, forwards and backwards in time,
    /// with input and recurrent dropout, and GRU with its reset gate before the product.
    struct Sequences: [5, 3] -> [5, 2] {
        SimpleRNN(4, return_sequences = true, dropout = 0.2),
        LSTM(4, return_sequences = true, go_backwards = true, recurrent_dropout = 0.3),
        GRU(3, return_sequences = true),
        GRU(4, return_sequences = true, reset_after = false, go_backwards = true),
        Dense(2),
    }

    /// LSTM's last step, after a backwards SimpleRNN.
    struct LstmLast: [4, 3] -> [2] {
        SimpleRNN(4, return_sequences = true, go_backwards = true, recurrent_dropout = 0.2),
        LSTM(3, dropout = 0.25),
        Dense(2),
    }

    /// GRU's last step, backwards, after an LSTM.
    struct GruLast: [4, 3] -> [2] {
        LSTM(4, return_sequences = true, activation = elu),
        GRU(3, go_backwards = true, recurrent_dropout = 0.3),
        Dense(2),
    }

    /// SimpleRNN's last step, backwards, after a GRU reset before its product.
    struct SimpleLast: [4, 3] -> [2] {
        GRU(4, return_sequences = true, reset_after = false, dropout = 0.2),
        SimpleRNN(3, go_backwards = true),
        Dense(2),
    }

    /// Bidirectional in every merge mode, over sequences and last steps, and
    /// TimeDistributed.
    struct Wrappers: [5, 3] -> [2] {
        Bidirectional(LSTM(3, return_sequences = true)),
        Bidirectional(GRU(2, return_sequences = true, go_backwards = true), merge_mode = mul),
        TimeDistributed(Dense(4, activation = tanh)),
        Bidirectional(SimpleRNN(3, return_sequences = true, dropout = 0.2), merge_mode = ave),
        Bidirectional(LSTM(2), merge_mode = sum),
        Dense(2),
    }

    /// DepthwiseConv2D with depth_multiplier 2, same padding (non-square kernel) and an
    /// activation; a strided, activated SeparableConv2D; a dilated DepthwiseConv2D
    /// without bias; a SeparableConv2D with depth_multiplier 2 and no bias.
    struct Separable: [7, 7, 2] -> [3] {
        DepthwiseConv2D([3, 2], depth_multiplier = 2, padding = same, activation = tanh),
        SeparableConv2D(3, kernel_size = 3, strides = 2, activation = elu),
        DepthwiseConv2D(2, dilation_rate = 2, padding = same, use_bias = false),
        SeparableConv2D(4, 2, depth_multiplier = 2, use_bias = false, activation = sigmoid),
        Flatten,
        Dense(3),
    }

    /// DepthwiseConv1D and SeparableConv1D.
    struct SeparableSequence: [9, 2] -> [2] {
        DepthwiseConv1D(3, depth_multiplier = 3, activation = softplus),
        SeparableConv1D(3, kernel_size = 2, strides = 2, padding = same, activation = tanh),
        GlobalAveragePooling1D,
        Dense(2),
    }

    /// Average pooling in 1-D, a pointwise Conv1D, GlobalAveragePooling1D.
    struct AverageSequence: [9, 2] -> [2] {
        Conv1D(3, kernel_size = 2, activation = softplus),
        AveragePooling1D(2),
        Conv1D(3, kernel_size = 1),
        GlobalAveragePooling1D,
        Dense(2),
    }
}

model! {
    /// BatchNormalization in training after Dense, with and without center and scale, a
    /// frozen one (inference mode), and LayerNormalization with and without them.
    struct NormalizedVectors: [6] -> [3] {
        Dense(5, activation = tanh),
        BatchNormalization,
        Dense(4, activation = elu),
        BatchNormalization(center = false, scale = false, momentum = 0.9),
        Dense(4, activation = tanh),
        BatchNormalization(trainable = false, gamma_initializer = glorot_uniform),
        LayerNormalization,
        Dense(5, activation = sigmoid),
        LayerNormalization(center = false, epsilon = 0.01),
        Dense(3),
    }

    /// BatchNormalization after Conv2D on a [h, w, c] map (batch statistics over the batch
    /// and every position), with center or scale off; LayerNormalization over channels.
    struct NormalizedImages: [5, 5, 2] -> [2] {
        Conv2D(3, kernel_size = 2, use_bias = false),
        BatchNormalization(axis = 3),
        Activation(tanh),
        Conv2D(4, kernel_size = 2, padding = same),
        BatchNormalization(center = false, beta_initializer = ones),
        Activation(elu),
        Conv2D(3, kernel_size = 2, strides = 2),
        BatchNormalization(scale = false, epsilon = 0.1),
        LayerNormalization(scale = false),
        GlobalAveragePooling2D,
        Dense(2),
    }
}

/// `sum(weights * forward_train(params))` with a fixed dropout stream.
fn weighted_output<M: Model<Float = f64>>(
    model: &M,
    ws: &mut M::Workspace,
    input: &[f64],
    batch: usize,
    weights: &[f64],
) -> f64 {
    let mut rng: Rng = Seed(7).rng();
    let out = model.forward_train(ws, input, batch, &mut rng);
    out.iter().zip(weights).map(|(o, w)| o * w).sum()
}

fn check_model_gradient<M: Model<Float = f64>>(model: M) {
    use rand::Rng as _;
    let mut rng = Seed(11).rng();
    let input: Vec<f64> = (0..3 * M::INPUT_SIZE)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    check_model_gradient_at(model, &input);
}

/// [`check_model_gradient`] at a given batch of 3 inputs.
fn check_model_gradient_at<M: Model<Float = f64>>(mut model: M, input: &[f64]) {
    use rand::Rng as _;
    let batch = 3;
    let mut rng = Seed(12).rng();
    let weights: Vec<f64> = (0..batch * M::OUTPUT_SIZE)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let mut ws = M::Workspace::default();
    M::prepare(&mut ws, batch);

    weighted_output(&model, &mut ws, input, batch, &weights);
    // NaN where backward must write: every trainable parameter's gradient.
    let mut grads = vec![f64::NAN; M::PARAM_COUNT];
    model.backward(&mut ws, input, batch, &weights, &mut grads);

    assert_parameter_gradients(&mut model, &grads, |model| {
        weighted_output(model, &mut ws, input, batch, &weights)
    });
}

/// Checks `grads` against central finite differences of `objective` in every trainable
/// parameter of `model` (a frozen layer's parameters and BatchNormalization's moving
/// statistics have no gradient).
fn assert_parameter_gradients<M: Model<Float = f64>>(
    model: &mut M,
    grads: &[f64],
    mut objective: impl FnMut(&M) -> f64,
) {
    for param in M::PARAMS.iter().filter(|p| p.trainable) {
        let range = param.offset..param.offset + param.len;
        for (i, &analytic) in range.clone().zip(&grads[range]) {
            let original = model.params()[i];
            let moved = |delta| {
                model.params_mut()[i] = original + delta;
                objective(model)
            };
            assert_derivative(analytic, moved, || {
                format!("{}: parameter {i} ({})", M::NAME, param.name)
            });
            model.params_mut()[i] = original;
        }
    }
}

/// The input gradient `backward_with` gives, against central finite differences of the
/// training forward in each input value.
fn check_input_gradient<M: Model<Float = f64>>(model: M) {
    use rand::Rng as _;
    let batch = 3;
    let mut rng = Seed(13).rng();
    let mut input: Vec<f64> = (0..batch * M::INPUT_SIZE)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let weights: Vec<f64> = (0..batch * M::OUTPUT_SIZE)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let mut ws = M::Workspace::default();
    M::prepare(&mut ws, batch);
    weighted_output(&model, &mut ws, &input, batch, &weights);
    let mut grads = vec![0.0; M::PARAM_COUNT];
    let mut input_grad = vec![f64::NAN; input.len()];
    M::backward_with(
        model.params(),
        &mut ws,
        &input,
        batch,
        &weights,
        &mut grads,
        Some(&mut input_grad),
    );
    for (i, &analytic) in input_grad.iter().enumerate() {
        let original = input[i];
        let moved = |delta| {
            input[i] = original + delta;
            weighted_output(&model, &mut ws, &input, batch, &weights)
        };
        assert_derivative(analytic, moved, || format!("{}: input {i}", M::NAME));
        input[i] = original;
    }
}

/// Asserts that `analytic` is the derivative at 0 of `moved`, the weighted output with
/// one value moved by its argument, by central differences; `what` names the value.
fn assert_derivative(analytic: f64, mut moved: impl FnMut(f64) -> f64, what: impl Fn() -> String) {
    let eps = 1e-6;
    let numeric = (moved(eps) - moved(-eps)) / (2.0 * eps);
    let tolerance = 1e-6 * (1.0 + numeric.abs().max(analytic.abs()));
    assert!(
        (numeric - analytic).abs() <= tolerance,
        "{}: backward gives {analytic}, finite differences {numeric}",
        what()
    );
}

model! {
    /// The input flattened (an alias of it) and read twice, and read once more as it is.
    struct ReadsItsInputThrice: [2, 3] -> [3] {
        let flat = Flatten(input);
        let a = Dense(3, activation = tanh)(flat);
        let b = Dense(3)(flat);
        let c = Flatten(Dense(1)(input));
        Add(Multiply(a, b), Dense(3)(c))
    }

    /// Nothing but a reshape: the input's gradient is the output's.
    struct OnlyReshapes: [2, 3] -> [6] {
        Flatten,
    }
}

/// A model of a block of its own, which the next block uses as a layer.
mod parts {
    use strata::prelude::*;

    model! {
        pub struct Inner: [5] -> [4] {
            Dense(6, activation = tanh),
            BatchNormalization,
            Dense(4, activation = elu),
        }
    }
}

model! {
    use parts::Inner: [5] -> [4];

    /// A model of another block after a Dense, whose gradient comes back through it;
    /// once trainable, once frozen.
    struct ThroughForeign: [3] -> [2] {
        Dense(5, activation = tanh),
        Inner,
        Dense(5, activation = sigmoid),
        Inner(trainable = false),
        Dense(2),
    }

    /// The design's twin: one model of another block applied to two values, one of them
    /// made by a Dense. Its weights' gradient is the sum over both uses.
    struct ForeignTwin: (a: [5], b: [3]) -> [1] {
        let encode = Inner;
        let d = Subtract(encode(a), encode(Dense(5, activation = tanh)(b)));
        Dense(1, activation = sigmoid)(d)
    }
}

#[test]
fn a_model_of_another_block_backward_matches_finite_differences() {
    check_model_gradient(ThroughForeign::<f64>::seeded(Seed(53)));
    check_input_gradient(ThroughForeign::<f64>::seeded(Seed(53)));
    check_model_gradient(ForeignTwin::<f64>::seeded(Seed(59)));
    // The frozen one's weights are not among those checked: only the first's and the
    // Dense layers' train.
    let inner = <parts::Inner<f64> as Model>::TRAINABLE_PARAM_COUNT;
    assert_eq!(
        ThroughForeign::<f64>::TRAINABLE_PARAM_COUNT,
        (3 * 5 + 5) + inner + (4 * 5 + 5) + (4 * 2 + 2)
    );
}

#[test]
fn the_input_gradient_matches_finite_differences() {
    check_input_gradient(Mlp::<f64>::seeded(Seed(5)));
    check_input_gradient(EveryLayer::<f64>::seeded(Seed(3)));
    check_input_gradient(Residual::<f64>::seeded(Seed(29)));
    check_input_gradient(NestedTwice::<f64>::seeded(Seed(41)));
    check_input_gradient(ReadsItsInputThrice::<f64>::seeded(Seed(43)));
    check_input_gradient(OnlyReshapes::<f64>::seeded(Seed(47)));
    check_input_gradient(Images::<f64>::seeded(Seed(13)));
    check_input_gradient(Sequences::<f64>::seeded(Seed(29)));
}

#[test]
#[should_panic(expected = "several inputs or outputs gives no input gradient")]
fn a_model_of_several_inputs_gives_no_input_gradient() {
    let model = TwoTowers::<f64>::seeded(Seed(43));
    let mut ws = <TwoTowers<f64> as Model>::Workspace::default();
    TwoTowers::<f64>::prepare(&mut ws, 1);
    let input = vec![0.5; TwoTowers::<f64>::INPUT_SIZE];
    model.forward_train(&mut ws, &input, 1, &mut Seed(1).rng());
    let mut grads = vec![0.0; TwoTowers::<f64>::PARAM_COUNT];
    let mut input_grad = vec![0.0; input.len()];
    let output_grad = vec![1.0; TwoTowers::<f64>::OUTPUT_SIZE];
    TwoTowers::<f64>::backward_with(
        model.params(),
        &mut ws,
        &input,
        1,
        &output_grad,
        &mut grads,
        Some(&mut input_grad),
    );
}

#[test]
fn every_layer_backward_matches_finite_differences() {
    check_model_gradient(EveryLayer::<f64>::seeded(Seed(3)));
}

#[test]
fn mlp_backward_matches_finite_differences() {
    check_model_gradient(Mlp::<f64>::seeded(Seed(5)));
}

#[test]
fn conv2d_and_2d_pooling_backward_matches_finite_differences() {
    check_model_gradient(Images::<f64>::seeded(Seed(13)));
    check_model_gradient(MaxImages::<f64>::seeded(Seed(17)));
}

#[test]
fn a_convolution_pooling_its_own_output_backward_matches_finite_differences() {
    check_model_gradient(PooledImages::<f64>::seeded(Seed(29)));
    check_model_gradient(PooledSequence::<f64>::seeded(Seed(31)));
    check_input_gradient(PooledImages::<f64>::seeded(Seed(37)));
    check_model_gradient(PooledRelu::<f64>::seeded(Seed(41)));
    check_input_gradient(PooledRelu::<f64>::seeded(Seed(43)));
}

#[test]
fn conv1d_and_1d_pooling_backward_matches_finite_differences() {
    check_model_gradient(Sequence::<f64>::seeded(Seed(19)));
    check_model_gradient(AverageSequence::<f64>::seeded(Seed(23)));
}

#[test]
fn depthwise_and_separable_conv_backward_matches_finite_differences() {
    check_model_gradient(Separable::<f64>::seeded(Seed(41)));
    check_input_gradient(Separable::<f64>::seeded(Seed(43)));
    check_model_gradient(SeparableSequence::<f64>::seeded(Seed(47)));
}

#[test]
fn batch_and_layer_normalization_backward_matches_finite_differences_in_training() {
    check_model_gradient(NormalizedVectors::<f64>::seeded(Seed(29)));
    check_model_gradient(NormalizedImages::<f64>::seeded(Seed(31)));
}

#[test]
fn recurrent_backward_through_time_matches_finite_differences() {
    check_model_gradient(Sequences::<f64>::seeded(Seed(29)));
    check_model_gradient(LstmLast::<f64>::seeded(Seed(31)));
    check_model_gradient(GruLast::<f64>::seeded(Seed(37)));
    check_model_gradient(SimpleLast::<f64>::seeded(Seed(41)));
}

#[test]
fn bidirectional_and_time_distributed_backward_matches_finite_differences() {
    check_model_gradient(Wrappers::<f64>::seeded(Seed(43)));
}

#[test]
fn predict_one_equals_the_batched_forward() {
    let model = Mlp::<f64>::seeded(Seed(1));
    let input: Vec<f64> = (0..16).map(|i| f64::from(i) / 16.0 - 0.5).collect();
    let mut ws = <Mlp<f64> as Model>::Workspace::default();
    Mlp::<f64>::prepare(&mut ws, 2);
    let inference = model.forward(&mut ws, &input, 2).to_vec();
    let single = model.predict_one(&input[..8].try_into().unwrap());
    // The batch-1 product sums in another order than the batched one: equal up to rounding.
    for (batched, one) in inference[..3].iter().zip(single) {
        approx::assert_relative_eq!(*batched, one, max_relative = 1e-12);
    }
}

model! {
    /// Residual blocks: `h` is read twice, its gradient the sum of both uses.
    struct Residual: [6] -> [6] {
        let h = Dense(6, activation = tanh)(input);
        let r = Dense(6, activation = tanh)(h);
        let r = Dense(6)(r);
        let h = Activation(sigmoid)(Add(h, r));
        Add(input, Dense(6)(h))
    }

    /// One Dense applied twice: one set of weights, their gradient summed over both uses.
    struct SharedTwice: [5] -> [5] {
        let shared = Dense(5, activation = tanh);
        let once = shared(input);
        shared(once)
    }

    /// Every merge: a value read by several layers, an alias (Flatten) beside other readers,
    /// a shared layer on two branches, Concatenate along the middle axis, Dot of matrices.
    struct Merges: (x: [4, 3]) -> [4] {
        let a = Dense(3, activation = tanh)(x);
        let b = Dense(3, activation = sigmoid)(x);
        let same = Dense(3, activation = elu);
        let sa = same(a);
        let sb = same(b);
        let sum = Add(sa, sb, x);
        let diff = Subtract(sa, b);
        let product = Multiply(a, b, diff);
        let mean = Average(sum, product);
        let high = Maximum(mean, a, sb);
        let low = Minimum(high, diff);
        let joined = Concatenate(low, a, axis = 1);
        let flat = Flatten(joined);
        let wide = Dense(8, activation = tanh)(Flatten(x));
        let both = Concatenate(flat, wide);
        let g = Dense(4)(both);
        let m = Dot(axes = 2)(Dense(2)(joined), Dense(2)(x));
        let cosine = Dot(axes = [1, 1], normalize = true)(g, Dense(4)(g));
        Add(g, Dense(4)(Flatten(m)), Dense(4)(cosine))
    }
}

model! {
    struct Inner: [5] -> [5] {
        let h = Dense(5, activation = tanh)(input);
        Add(input, h)
    }

    /// A nested model applied twice (one set of weights) and a second instance of it.
    struct NestedTwice: [5] -> [3] {
        let inner = Inner;
        let a = inner(input);
        let b = Inner(a);
        Dense(3)(Multiply(a, inner(b)))
    }
}

model! {
    /// Two inputs, a layer shared by both, and two outputs, one of which also feeds the
    /// other: its gradient is its own output's plus what flows back through the other.
    struct TwoTowers: (a: [6], b: [3, 2]) -> (score: [2], embedding: [3]) {
        let shared = Dense(3, activation = tanh);
        let ea = shared(a);
        let eb = shared(Reshape([6])(b));
        let embedding = Add(ea, eb);
        let score = Dense(2)(Concatenate(embedding, ea));
        (score, embedding)
    }
}

model! {
    /// One LSTM read on two sequences (the design's Siamese), and a BatchNormalization in
    /// a graph: the recurrent weights' gradient is the sum over both uses.
    struct SharedLstm: (a: [5, 3], b: [5, 3]) -> [1] {
        let lstm = LSTM(4);
        let both = Concatenate(lstm(a), lstm(b));
        Dense(1)(BatchNormalization()(both))
    }
}

model! {
    /// Token ids into a shared Embedding, on two inputs, then an LSTM.
    struct Tokens: (words: [5] of u32, tags: [5] of u8) -> [2] {
        let embed = Embedding(12, 3);
        let both = Concatenate(embed(words), embed(tags));
        Dense(2)(LSTM(4)(both))
    }
}

#[test]
fn embedding_backward_matches_finite_differences() {
    // Ids repeat within and across samples, so that rows gather several gradients.
    let input: Vec<f64> = (0..3 * 10).map(|i| ((i * 7) % 12) as f64).collect();
    check_model_gradient_at(Tokens::<f64>::seeded(Seed(53)), &input);
    let tokens = Tokens::<f64>::TOKEN_INPUTS;
    assert_eq!(
        (tokens[1].name, tokens[1].offset, tokens[1].limit),
        ("tags", 5, 12)
    );
}

#[test]
fn a_shared_lstm_backward_matches_finite_differences() {
    check_model_gradient(SharedLstm::<f64>::seeded(Seed(47)));
}

#[test]
fn several_inputs_and_outputs_backward_matches_finite_differences() {
    check_model_gradient(TwoTowers::<f64>::seeded(Seed(43)));
    assert_eq!(TwoTowers::<f64>::INPUT_SIZE, 12);
    assert_eq!(TwoTowers::<f64>::OUTPUT_SIZE, 5);
    let outputs: Vec<(&str, usize)> = TwoTowers::<f64>::OUTPUTS
        .iter()
        .map(|o| (o.name, o.offset))
        .collect();
    assert_eq!(outputs, [("score", 0), ("embedding", 2)]);
    let inputs: Vec<(&str, usize)> = TwoTowers::<f64>::INPUTS
        .iter()
        .map(|o| (o.name, o.offset))
        .collect();
    assert_eq!(inputs, [("a", 0), ("b", 6)]);
}

#[test]
fn nested_models_backward_matches_finite_differences() {
    check_model_gradient(NestedTwice::<f64>::seeded(Seed(41)));
    assert_eq!(NestedTwice::<f64>::PARAM_COUNT, 2 * (5 * 5 + 5) + 5 * 3 + 3);
}

#[test]
fn residual_block_backward_matches_finite_differences() {
    check_model_gradient(Residual::<f64>::seeded(Seed(29)));
}

#[test]
fn shared_layer_backward_matches_finite_differences() {
    check_model_gradient(SharedTwice::<f64>::seeded(Seed(31)));
    assert_eq!(SharedTwice::<f64>::PARAM_COUNT, 5 * 5 + 5);
}

#[test]
fn every_merge_layer_backward_matches_finite_differences() {
    check_model_gradient(Merges::<f64>::seeded(Seed(37)));
}

model! {
    /// LSTM's final states as outputs beside its sequence: the gradients of h and c join
    /// backpropagation through time at the last step.
    struct LstmStates: [4, 3] -> (seq: [4, 3], h: [3], c: [3]) {
        let (seq, h, c) = LSTM(3, return_sequences = true, return_state = true)(input);
        (seq, h, c)
    }

    /// GRU's last output and final state (equal, read twice), backwards in time.
    struct GruStates: [4, 3] -> (last: [3], h: [3]) {
        let (last, h) = GRU(3, return_state = true, go_backwards = true)(input);
        (last, Dense(3)(h))
    }

    /// SimpleRNN's final state alone, after a GRU reset before its product.
    struct SimpleStates: [4, 3] -> [2] {
        let seq = GRU(4, return_sequences = true, reset_after = false)(input);
        let (_, h) = SimpleRNN(3, return_sequences = true, return_state = true)(seq);
        Dense(2)(h)
    }

    /// The encoder's final states start the decoder: the encoder trains through them.
    struct Seq2Seq: (source: [4, 3], target: [3, 3]) -> [3, 3] {
        let (_, h, c) = LSTM(4, return_state = true)(source);
        let decoded = LSTM(4, return_sequences = true)(target, initial_state = [h, c]);
        TimeDistributed(Dense(3))(decoded)
    }

    /// The same with the decoder's last step, read backwards, and GRUs; the encoder's
    /// state also feeds the output, and a SimpleRNN starts from a Dense of it.
    struct Seq2SeqLast: (source: [4, 3], target: [3, 3]) -> [2] {
        let (_, h) = GRU(4, return_sequences = true, return_state = true)(source);
        let decoded = GRU(4, go_backwards = true)(target, initial_state = [h]);
        let other = SimpleRNN(2)(target, initial_state = [Dense(2, activation = tanh)(h)]);
        Add(Dense(2)(Concatenate(decoded, h)), other)
    }
}

#[test]
fn returned_states_backward_matches_finite_differences() {
    check_model_gradient(LstmStates::<f64>::seeded(Seed(59)));
    check_model_gradient(GruStates::<f64>::seeded(Seed(61)));
    check_model_gradient(SimpleStates::<f64>::seeded(Seed(67)));
}

#[test]
fn initial_states_from_an_encoder_backward_matches_finite_differences() {
    check_model_gradient(Seq2Seq::<f64>::seeded(Seed(71)));
    check_model_gradient(Seq2SeqLast::<f64>::seeded(Seed(73)));
}

/// The loss a two-output model trains on, `1.0 · score_loss + 0.5 · embedding_loss`
/// (Keras's `loss_weights`), and the gradient the trainer gets for it (the losses'
/// gradient with respect to the packed outputs, back through the model), against central
/// finite differences of that loss in every parameter.
#[test]
fn a_two_output_model_with_loss_weights_backward_matches_finite_differences() {
    use rand::Rng as _;
    use strata::loss::Loss;
    type M = TwoTowers<f64>;
    let mut model = M::seeded(Seed(43));
    let mut losses = Losses::new()
        .output("score", SparseCategoricalCrossentropy::from_logits(), 1.0)
        .output("embedding", MeanSquaredError::new(), 0.5);
    losses.bind_outputs(M::OUTPUTS);
    let batch = 3;
    let mut rng = Seed(14).rng();
    let input: Vec<f64> = (0..batch * M::INPUT_SIZE)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    // Each target row: the score's class, then the embedding's three values.
    let y_true: Vec<f64> = (0..batch)
        .flat_map(|row| [(row % 2) as f64, 0.3, -0.2, 0.1])
        .collect();
    let mut ws = <M as Model>::Workspace::default();
    M::prepare(&mut ws, batch);
    let loss_and_grad = |model: &M, ws: &mut <M as Model>::Workspace| {
        let out = model
            .forward_train(ws, &input, batch, &mut Seed(7).rng())
            .to_vec();
        let mut output_grad = vec![0.0; out.len()];
        let loss = losses.sum_and_grad(&out, &y_true, batch, 1.0, &mut output_grad);
        (loss, output_grad)
    };

    let (loss, output_grad) = loss_and_grad(&model, &mut ws);
    let by_hand = {
        let out = model.forward_train(&mut ws, &input, batch, &mut Seed(7).rng());
        let (score, embedding) = (
            SparseCategoricalCrossentropy::from_logits(),
            MeanSquaredError::new(),
        );
        let rows = |width, from, values: &[f64]| -> Vec<f64> {
            values
                .chunks(values.len() / batch)
                .flat_map(|row| row[from..from + width].to_vec())
                .collect()
        };
        let (s, e) = (rows(2, 0, out), rows(3, 2, out));
        let (s_true, e_true) = (rows(1, 0, &y_true), rows(3, 1, &y_true));
        let mut scratch = vec![0.0; 3 * batch];
        score.sum_and_grad(&s, &s_true, batch, 1.0, &mut scratch[..2 * batch])
            + 0.5 * embedding.sum_and_grad(&e, &e_true, batch, 1.0, &mut scratch)
    };
    assert!((loss - by_hand).abs() < 1e-12, "{loss} != {by_hand}");
    let mut grads = vec![f64::NAN; M::PARAM_COUNT];
    model.backward(&mut ws, &input, batch, &output_grad, &mut grads);

    assert_parameter_gradients(&mut model, &grads, |model| loss_and_grad(model, &mut ws).0);
}
