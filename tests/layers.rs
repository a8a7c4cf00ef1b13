//! Every layer kind through the layer harness, from this one place: its output shape, its
//! weights' names, shapes and count as Keras's, its summary row and config, its gradients
//! by finite differences, a batch against its samples, f32 against f64, and a weights
//! round trip. A kind without a case here fails the coverage test.

use strata::Seed;
use strata::layer_test::{LayerReport, LayerTest};
use strata::prelude::*;

const KERNEL: &[&str] = &[
    "activation",
    "use_bias",
    "kernel_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "bias_constraint",
];

fn keys(own: &[&'static str], shared: &[&'static str]) -> Vec<&'static str> {
    own.iter().chain(shared).copied().collect()
}

fn conv_keys() -> Vec<&'static str> {
    keys(CONV, KERNEL)
}

const BIAS: &[&str] = &[
    "activation",
    "use_bias",
    "bias_initializer",
    "bias_regularizer",
    "bias_constraint",
];

fn depthwise_keys() -> Vec<&'static str> {
    let own = [
        "depth_multiplier",
        "depthwise_initializer",
        "depthwise_regularizer",
        "depthwise_constraint",
    ];
    keys(&own, &keys(WINDOW, BIAS))
}

fn separable_keys() -> Vec<&'static str> {
    let own = [
        "filters",
        "pointwise_initializer",
        "pointwise_regularizer",
        "pointwise_constraint",
    ];
    keys(&own, &depthwise_keys())
}

fn batch_norm_keys() -> Vec<&'static str> {
    let own = [
        "momentum",
        "moving_mean_initializer",
        "moving_variance_initializer",
        "synchronized",
    ];
    keys(&own, NORM)
}

fn lstm_keys() -> Vec<&'static str> {
    keys(&["recurrent_activation", "unit_forget_bias"], RNN)
}

fn gru_keys() -> Vec<&'static str> {
    keys(&["recurrent_activation", "reset_after"], RNN)
}

const CONV: &[&str] = &[
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "data_format",
    "dilation_rate",
    "groups",
];
const WINDOW: &[&str] = &[
    "kernel_size",
    "strides",
    "padding",
    "data_format",
    "dilation_rate",
];
const POOL: &[&str] = &["pool_size", "padding", "strides", "data_format"];
const GLOBAL_POOL: &[&str] = &["data_format", "keepdims"];
const NORM: &[&str] = &[
    "axis",
    "epsilon",
    "center",
    "scale",
    "beta_initializer",
    "gamma_initializer",
];
const RNN: &[&str] = &[
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "zero_output_for_mask",
    "units",
    "activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "dropout",
    "recurrent_dropout",
    "seed",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
];

model! {
    struct DenseCase: [2, 3] -> [2, 4] { Dense(4, activation = tanh) }
    struct EmbeddingCase: [5] of u32 -> [5, 3] { Embedding(10, 3) }
    struct ActivationCase: [2, 3] -> [2, 3] { Activation(gelu) }
    struct SoftmaxCase: [2, 3] -> [2, 3] { Softmax }
    struct Conv1DCase: [8, 2] -> [4, 3] {
        Conv1D(3, 3, strides = 2, padding = same, activation = relu)
    }
    struct Conv2DCase: [6, 6, 2] -> [4, 3, 3] {
        Conv2D(3, kernel_size = [3, 2], strides = [1, 2], activation = elu)
    }
    /// A convolution read only by a max pooling pools its own output.
    struct Conv2DPooledCase: [7, 7, 2] -> [2, 2, 3] {
        Conv2D(3, kernel_size = 3, dilation_rate = 1, activation = relu),
        MaxPooling2D(2),
    }
    struct DepthwiseConv1DCase: [8, 2] -> [6, 4] { DepthwiseConv1D(3, depth_multiplier = 2) }
    struct DepthwiseConv2DCase: [5, 5, 2] -> [3, 3, 4] {
        DepthwiseConv2D(3, depth_multiplier = 2, activation = tanh)
    }
    /// Every argument away from its default.
    struct DepthwiseConv2DArgumentsCase: [4, 3, 3] -> [4, 2, 6] {
        DepthwiseConv2D([2, 3], strides = [1, 2], padding = same, depth_multiplier = 2,
            dilation_rate = 1, activation = relu, use_bias = false,
            depthwise_initializer = he_normal)
    }
    struct SeparableConv2DArgumentsCase: [4, 2, 6] -> [2, 2, 4] {
        SeparableConv2D(4, [3, 1], strides = 1, padding = valid, dilation_rate = [1, 1],
            depth_multiplier = 3, activation = tanh, depthwise_initializer = lecun_normal,
            pointwise_initializer = orthogonal, bias_initializer = ones)
    }
    struct SeparableConv1DCase: [8, 2] -> [8, 3] { SeparableConv1D(3, 3, padding = same) }
    struct SeparableConv2DCase: [5, 5, 2] -> [3, 3, 3] {
        SeparableConv2D(3, kernel_size = 3, depth_multiplier = 2, activation = sigmoid)
    }
    struct MaxPooling1DCase: [8, 2] -> [4, 2] { MaxPooling1D(2) }
    struct MaxPooling2DCase: [5, 4, 2] -> [3, 2, 2] { MaxPooling2D(2, padding = same) }
    /// A relu read only by a max pooling: the pooling of its input, then the relu.
    struct ReluPooledCase: [4, 4, 2] -> [2, 2, 2] { Activation(relu), MaxPooling2D(2) }
    struct AveragePooling1DCase: [8, 2] -> [8, 2] {
        AveragePooling1D(pool_size = 3, strides = 1, padding = same)
    }
    struct AveragePooling2DCase: [4, 6, 2] -> [4, 3, 2] {
        AveragePooling2D([2, 3], strides = [1, 2], padding = same)
    }
    struct GlobalMaxPooling1DCase: [5, 3] -> [3] { GlobalMaxPooling1D }
    struct GlobalMaxPooling2DCase: [3, 4, 2] -> [2] { GlobalMaxPooling2D }
    struct GlobalAveragePooling1DCase: [5, 3] -> [3] { GlobalAveragePooling1D }
    struct GlobalAveragePooling2DCase: [3, 4, 2] -> [2] { GlobalAveragePooling2D }
    struct BatchNormalizationCase: [4, 3] -> [4, 3] { BatchNormalization(momentum = 0.9) }
    /// The channels' axis counted with the batch, as Keras counts it.
    struct BatchNormalizationAxisCase: [2, 2, 3] -> [2, 2, 3] { BatchNormalization(axis = 3) }
    /// Frozen, BatchNormalization normalizes by its moving statistics: its inference mode.
    struct FrozenBatchNormalizationCase: [4, 3] -> [4, 3] {
        BatchNormalization(trainable = false, center = false)
    }
    struct LayerNormalizationCase: [4, 3] -> [4, 3] { LayerNormalization(epsilon = 1e-6) }
    struct LayerNormalizationScaleCase: [6] -> [6] { LayerNormalization(epsilon = 1e-5, center = false) }
    struct DropoutCase: [6] -> [6] { Dropout(0.5) }
    struct FlattenCase: [2, 3] -> [6] { Flatten }
    struct ReshapeCase: [6] -> [3, 2] { Reshape([-1, 2]) }
    struct ZeroPadding2DCase: [3, 3, 2] -> [4, 6, 2] { ZeroPadding2D([[1, 0], [2, 1]]) }
    struct UpSampling2DCase: [2, 3, 2] -> [4, 3, 2] { UpSampling2D([2, 1]) }
    struct AddCase: [4] -> [4] { Add(input, Activation(tanh)(input)) }
    struct SubtractCase: [4] -> [4] { Subtract(input, Activation(tanh)(input)) }
    struct MultiplyCase: [4] -> [4] { Multiply(input, Activation(tanh)(input)) }
    struct AverageCase: [4] -> [4] { Average(input, Activation(tanh)(input), input) }
    struct MaximumCase: [4] -> [4] { Maximum(input, Activation(tanh)(input)) }
    struct MinimumCase: [4] -> [4] { Minimum(input, Activation(tanh)(input)) }
    struct ConcatenateCase: [2, 3] -> [4, 3] {
        Concatenate(axis = 1)(input, Activation(tanh)(input))
    }
    struct DotCase: [3, 2] -> [2, 2] { Dot(axes = 1)(input, Activation(tanh)(input)) }
    struct CosineCase: [4] -> [1] {
        Dot(axes = 1, normalize = true)(input, Activation(tanh)(Dense(4)(input)))
    }
    struct SimpleRNNCase: [4, 3] -> [5] { SimpleRNN(5, go_backwards = true) }
    struct SimpleRNNArgumentsCase: [4, 3] -> [4, 4] {
        SimpleRNN(4, activation = relu, use_bias = false, return_sequences = true)
    }
    /// Dropout on the inputs and on the state: one mask for the gradient check.
    struct LSTMDropoutCase: [4, 3] -> [3] {
        LSTM(3, unit_forget_bias = false, dropout = 0.25, recurrent_dropout = 0.5,
            recurrent_initializer = glorot_uniform, name = "last")
    }
    struct LSTMCase: [4, 3] -> [4, 5] { LSTM(5, return_sequences = true) }
    /// An LSTM that gives its final states beside its output.
    struct LSTMStatesCase: [4, 3] -> [15] {
        let (output, h, c) = LSTM(5, return_state = true)(input);
        Concatenate(output, h, c)
    }
    struct GRUCase: [4, 3] -> [5] { GRU(5) }
    struct GRUBeforeCase: [4, 3] -> [5] {
        GRU(5, reset_after = false, recurrent_activation = tanh)
    }
    struct TimeDistributedCase: [4, 3] -> [4, 2] { TimeDistributed(Dense(2, activation = tanh)) }
    struct BidirectionalCase: [4, 3] -> [4] { Bidirectional(LSTM(2)) }
    struct BidirectionalSumCase: [4, 3] -> [4, 2] {
        Bidirectional(GRU(2, return_sequences = true, name = "encoder"), merge_mode = sum)
    }
}

/// One case: the kind it covers and the harness's run.
struct Case {
    kind: &'static str,
    model: &'static str,
    run: fn() -> strata::Result<LayerReport>,
}

/// A case running `$test` on `$model` in f64 and f32.
macro_rules! case {
    ($kind:literal, $model:ident, $test:expr) => {
        Case {
            kind: $kind,
            model: stringify!($model),
            run: || {
                $test.run(
                    $model::<f64>::seeded(Seed(1)),
                    $model::<f32>::seeded(Seed(1)),
                )
            },
        }
    };
}

fn cases() -> Vec<Case> {
    vec![
        case!(
            "Dense",
            DenseCase,
            LayerTest::new("Dense")
                .output_shape(&[2, 4])
                .weights(&[("kernel", &[3, 4]), ("bias", &[4])])
                .config_keys(&keys(&["units"], KERNEL))
                .config_values(&[("units", "4"), ("activation", r#""tanh""#)])
        ),
        case!(
            "Embedding",
            EmbeddingCase,
            LayerTest::new("Embedding")
                .output_shape(&[5, 3])
                .weights(&[("embeddings", &[10, 3])])
                .config_keys(&[
                    "input_dim",
                    "output_dim",
                    "embeddings_initializer",
                    "embeddings_regularizer",
                    "embeddings_constraint",
                    "mask_zero",
                ])
                .config_values(&[("embeddings_initializer", r#""uniform""#)])
        ),
        case!(
            "Activation",
            ActivationCase,
            LayerTest::new("Activation")
                .output_shape(&[2, 3])
                .weights(&[])
                .config_keys(&["activation"])
        ),
        case!(
            "Softmax",
            SoftmaxCase,
            LayerTest::new("Softmax")
                .output_shape(&[2, 3])
                .weights(&[])
                .config_keys(&["axis"])
                .config_values(&[("axis", "-1")])
        ),
        case!(
            "Conv1D",
            Conv1DCase,
            LayerTest::new("Conv1D")
                .output_shape(&[4, 3])
                .weights(&[("kernel", &[3, 2, 3]), ("bias", &[3])])
                .config_keys(&conv_keys())
                .config_values(&[
                    ("kernel_size", "[3]"),
                    ("strides", "[2]"),
                    ("padding", r#""same""#),
                    ("dilation_rate", "[1]"),
                ])
        ),
        case!(
            "Conv2D",
            Conv2DCase,
            LayerTest::new("Conv2D")
                .output_shape(&[4, 3, 3])
                .weights(&[("kernel", &[3, 2, 2, 3]), ("bias", &[3])])
                .config_keys(&conv_keys())
                .config_values(&[
                    ("kernel_size", "[3, 2]"),
                    ("strides", "[1, 2]"),
                    ("padding", r#""valid""#),
                    ("data_format", r#""channels_last""#),
                    ("dilation_rate", "[1, 1]"),
                    ("groups", "1"),
                    ("activation", r#""elu""#),
                    ("use_bias", "true"),
                    ("kernel_initializer", r#""glorot_uniform""#),
                    ("bias_initializer", r#""zeros""#),
                ])
        ),
        case!(
            "Conv2D",
            Conv2DPooledCase,
            LayerTest::new("Conv2D")
                .output_shape(&[5, 5, 3])
                .weights(&[("kernel", &[3, 3, 2, 3]), ("bias", &[3])])
                .config_keys(&conv_keys())
        ),
        case!(
            "DepthwiseConv1D",
            DepthwiseConv1DCase,
            LayerTest::new("DepthwiseConv1D")
                .output_shape(&[6, 4])
                .weights(&[("depthwise_kernel", &[3, 2, 2]), ("bias", &[4])])
                .config_keys(&depthwise_keys())
        ),
        case!(
            "DepthwiseConv2D",
            DepthwiseConv2DCase,
            LayerTest::new("DepthwiseConv2D")
                .output_shape(&[3, 3, 4])
                .weights(&[("depthwise_kernel", &[3, 3, 2, 2]), ("bias", &[4])])
                .config_keys(&depthwise_keys())
                .config_values(&[("depth_multiplier", "2")])
        ),
        case!(
            "DepthwiseConv2D",
            DepthwiseConv2DArgumentsCase,
            LayerTest::new("DepthwiseConv2D")
                .output_shape(&[4, 2, 6])
                .weights(&[("depthwise_kernel", &[2, 3, 3, 2])])
                .config_values(&[
                    ("depth_multiplier", "2"),
                    ("kernel_size", "[2, 3]"),
                    ("strides", "[1, 2]"),
                    ("padding", r#""same""#),
                    ("activation", r#""relu""#),
                    ("use_bias", "false"),
                    ("depthwise_initializer", r#""he_normal""#),
                ])
        ),
        case!(
            "SeparableConv1D",
            SeparableConv1DCase,
            LayerTest::new("SeparableConv1D")
                .output_shape(&[8, 3])
                .weights(&[
                    ("depthwise_kernel", &[3, 2, 1]),
                    ("pointwise_kernel", &[1, 2, 3]),
                    ("bias", &[3])
                ])
                .config_keys(&separable_keys())
        ),
        case!(
            "SeparableConv2D",
            SeparableConv2DCase,
            LayerTest::new("SeparableConv2D")
                .output_shape(&[3, 3, 3])
                .weights(&[
                    ("depthwise_kernel", &[3, 3, 2, 2]),
                    ("pointwise_kernel", &[1, 1, 4, 3]),
                    ("bias", &[3])
                ])
                .config_keys(&separable_keys())
        ),
        case!(
            "SeparableConv2D",
            SeparableConv2DArgumentsCase,
            LayerTest::new("SeparableConv2D")
                .output_shape(&[2, 2, 4])
                .weights(&[
                    ("depthwise_kernel", &[3, 1, 6, 3]),
                    ("pointwise_kernel", &[1, 1, 18, 4]),
                    ("bias", &[4])
                ])
                .config_values(&[
                    ("depth_multiplier", "3"),
                    ("filters", "4"),
                    ("kernel_size", "[3, 1]"),
                    ("activation", r#""tanh""#),
                    ("depthwise_initializer", r#""lecun_normal""#),
                    ("pointwise_initializer", r#""orthogonal""#),
                    ("bias_initializer", r#""ones""#),
                ])
        ),
        case!(
            "MaxPooling1D",
            MaxPooling1DCase,
            LayerTest::new("MaxPooling1D")
                .output_shape(&[4, 2])
                .weights(&[])
                .config_keys(POOL)
                .config_values(&[
                    ("pool_size", "[2]"),
                    ("strides", "[2]"),
                    ("padding", r#""valid""#)
                ])
        ),
        case!(
            "MaxPooling2D",
            MaxPooling2DCase,
            LayerTest::new("MaxPooling2D")
                .output_shape(&[3, 2, 2])
                .weights(&[])
                .config_keys(POOL)
                .config_values(&[
                    ("pool_size", "[2, 2]"),
                    ("strides", "[2, 2]"),
                    ("padding", r#""same""#)
                ])
        ),
        case!(
            "MaxPooling2D",
            ReluPooledCase,
            LayerTest::new("MaxPooling2D")
                .output_shape(&[2, 2, 2])
                .weights(&[])
                .config_keys(POOL)
        ),
        case!(
            "AveragePooling1D",
            AveragePooling1DCase,
            LayerTest::new("AveragePooling1D")
                .output_shape(&[8, 2])
                .weights(&[])
                .config_keys(POOL)
                .config_values(&[("pool_size", "[3]"), ("strides", "[1]")])
        ),
        case!(
            "AveragePooling2D",
            AveragePooling2DCase,
            LayerTest::new("AveragePooling2D")
                .output_shape(&[4, 3, 2])
                .weights(&[])
                .config_keys(POOL)
                .config_values(&[("pool_size", "[2, 3]"), ("strides", "[1, 2]")])
        ),
        case!(
            "GlobalMaxPooling1D",
            GlobalMaxPooling1DCase,
            LayerTest::new("GlobalMaxPooling1D")
                .output_shape(&[3])
                .weights(&[])
                .config_keys(GLOBAL_POOL)
        ),
        case!(
            "GlobalMaxPooling2D",
            GlobalMaxPooling2DCase,
            LayerTest::new("GlobalMaxPooling2D")
                .output_shape(&[2])
                .weights(&[])
                .config_keys(GLOBAL_POOL)
                .config_values(&[("data_format", r#""channels_last""#), ("keepdims", "false")])
        ),
        case!(
            "GlobalAveragePooling1D",
            GlobalAveragePooling1DCase,
            LayerTest::new("GlobalAveragePooling1D")
                .output_shape(&[3])
                .weights(&[])
                .config_keys(GLOBAL_POOL)
        ),
        case!(
            "GlobalAveragePooling2D",
            GlobalAveragePooling2DCase,
            LayerTest::new("GlobalAveragePooling2D")
                .output_shape(&[2])
                .weights(&[])
                .config_keys(GLOBAL_POOL)
        ),
        case!(
            "BatchNormalization",
            BatchNormalizationCase,
            LayerTest::new("BatchNormalization")
                .output_shape(&[4, 3])
                .weights(&[
                    ("gamma", &[3]),
                    ("beta", &[3]),
                    ("moving_mean", &[3]),
                    ("moving_variance", &[3])
                ])
                .config_keys(&batch_norm_keys())
                .config_values(&[
                    ("axis", "-1"),
                    ("momentum", "0.9"),
                    ("epsilon", "0.001"),
                    ("center", "true"),
                    ("scale", "true"),
                    ("beta_initializer", r#""zeros""#),
                    ("gamma_initializer", r#""ones""#),
                    ("moving_mean_initializer", r#""zeros""#),
                    ("moving_variance_initializer", r#""ones""#),
                    ("synchronized", "false"),
                ])
                .differs_in_training()
                .batch_is_not_samples()
        ),
        case!(
            "BatchNormalization",
            BatchNormalizationAxisCase,
            LayerTest::new("BatchNormalization")
                .output_shape(&[2, 2, 3])
                .config_values(&[("axis", "3"), ("momentum", "0.99")])
                .differs_in_training()
                .batch_is_not_samples()
        ),
        case!(
            "BatchNormalization",
            FrozenBatchNormalizationCase,
            LayerTest::new("BatchNormalization")
                .output_shape(&[4, 3])
                .weights(&[
                    ("gamma", &[3]),
                    ("moving_mean", &[3]),
                    ("moving_variance", &[3])
                ])
                .config_keys(&batch_norm_keys())
                .config_values(&[("trainable", "false"), ("center", "false")])
        ),
        case!(
            "LayerNormalization",
            LayerNormalizationCase,
            LayerTest::new("LayerNormalization")
                .output_shape(&[4, 3])
                .weights(&[("gamma", &[3]), ("beta", &[3])])
                .config_keys(&keys(&["rms_scaling"], NORM))
                .config_values(&[
                    ("axis", "[-1]"),
                    ("epsilon", "1e-6"),
                    ("rms_scaling", "false")
                ])
        ),
        case!(
            "LayerNormalization",
            LayerNormalizationScaleCase,
            LayerTest::new("LayerNormalization")
                .output_shape(&[6])
                .weights(&[("gamma", &[6])])
                .config_values(&[("epsilon", "1e-5"), ("center", "false"), ("scale", "true")])
        ),
        case!(
            "Dropout",
            DropoutCase,
            LayerTest::new("Dropout")
                .output_shape(&[6])
                .weights(&[])
                .config_keys(&["rate"])
                .config_values(&[("rate", "0.5")])
                .differs_in_training()
        ),
        case!(
            "Flatten",
            FlattenCase,
            LayerTest::new("Flatten")
                .output_shape(&[6])
                .weights(&[])
                .config_keys(&["data_format"])
        ),
        case!(
            "Reshape",
            ReshapeCase,
            LayerTest::new("Reshape")
                .output_shape(&[3, 2])
                .weights(&[])
                .config_keys(&["target_shape"])
                .config_values(&[("target_shape", "[3, 2]")])
        ),
        case!(
            "ZeroPadding2D",
            ZeroPadding2DCase,
            LayerTest::new("ZeroPadding2D")
                .output_shape(&[4, 6, 2])
                .weights(&[])
                .config_keys(&["padding", "data_format"])
                .config_values(&[("padding", "[[1, 0], [2, 1]]")])
        ),
        case!(
            "UpSampling2D",
            UpSampling2DCase,
            LayerTest::new("UpSampling2D")
                .output_shape(&[4, 3, 2])
                .weights(&[])
                .config_keys(&["size", "data_format", "interpolation"])
                .config_values(&[("size", "[2, 1]")])
        ),
        case!(
            "Add",
            AddCase,
            LayerTest::new("Add")
                .output_shape(&[4])
                .weights(&[])
                .config_keys(&[])
        ),
        case!(
            "Subtract",
            SubtractCase,
            LayerTest::new("Subtract")
                .output_shape(&[4])
                .weights(&[])
                .config_keys(&[])
        ),
        case!(
            "Multiply",
            MultiplyCase,
            LayerTest::new("Multiply")
                .output_shape(&[4])
                .weights(&[])
                .config_keys(&[])
        ),
        case!(
            "Average",
            AverageCase,
            LayerTest::new("Average")
                .output_shape(&[4])
                .weights(&[])
                .config_keys(&[])
        ),
        case!(
            "Maximum",
            MaximumCase,
            LayerTest::new("Maximum")
                .output_shape(&[4])
                .weights(&[])
                .config_keys(&[])
        ),
        case!(
            "Minimum",
            MinimumCase,
            LayerTest::new("Minimum")
                .output_shape(&[4])
                .weights(&[])
                .config_keys(&[])
        ),
        case!(
            "Concatenate",
            ConcatenateCase,
            LayerTest::new("Concatenate")
                .output_shape(&[4, 3])
                .weights(&[])
                .config_keys(&["axis"])
                .config_values(&[("axis", "1")])
        ),
        case!(
            "Dot",
            DotCase,
            LayerTest::new("Dot")
                .output_shape(&[2, 2])
                .weights(&[])
                .config_keys(&["axes", "normalize"])
                .config_values(&[("axes", "[1, 1]")])
        ),
        case!(
            "Dot",
            CosineCase,
            LayerTest::new("Dot")
                .output_shape(&[1])
                .weights(&[])
                .config_keys(&["axes", "normalize"])
                .config_values(&[("normalize", "true")])
        ),
        case!(
            "SimpleRNN",
            SimpleRNNCase,
            LayerTest::new("SimpleRNN")
                .output_shape(&[5])
                .weights(&[
                    ("kernel", &[3, 5]),
                    ("recurrent_kernel", &[5, 5]),
                    ("bias", &[5])
                ])
                .config_keys(RNN)
                .config_values(&[("go_backwards", "true"), ("activation", r#""tanh""#)])
        ),
        case!(
            "SimpleRNN",
            SimpleRNNArgumentsCase,
            LayerTest::new("SimpleRNN")
                .output_shape(&[4, 4])
                .weights(&[("kernel", &[3, 4]), ("recurrent_kernel", &[4, 4])])
                .config_keys(RNN)
                .config_values(&[
                    ("return_sequences", "true"),
                    ("activation", r#""relu""#),
                    ("use_bias", "false"),
                    ("stateful", "false"),
                    ("unroll", "false"),
                    ("zero_output_for_mask", "false"),
                    ("seed", "null"),
                ])
        ),
        case!(
            "LSTM",
            LSTMDropoutCase,
            LayerTest::new("LSTM")
                .output_shape(&[3])
                .weights(&[
                    ("kernel", &[3, 12]),
                    ("recurrent_kernel", &[3, 12]),
                    ("bias", &[12])
                ])
                .config_keys(&lstm_keys())
                .config_values(&[
                    ("name", r#""last""#),
                    ("unit_forget_bias", "false"),
                    ("dropout", "0.25"),
                    ("recurrent_dropout", "0.5"),
                    ("recurrent_initializer", r#""glorot_uniform""#),
                ])
                .differs_in_training()
                .batch_is_not_samples()
        ),
        case!(
            "LSTM",
            LSTMCase,
            LayerTest::new("LSTM")
                .output_shape(&[4, 5])
                .weights(&[
                    ("kernel", &[3, 20]),
                    ("recurrent_kernel", &[5, 20]),
                    ("bias", &[20])
                ])
                .config_keys(&lstm_keys())
                .config_values(&[
                    ("recurrent_initializer", r#""orthogonal""#),
                    ("unit_forget_bias", "true")
                ])
        ),
        case!(
            "LSTM",
            LSTMStatesCase,
            LayerTest::new("LSTM")
                .output_shape(&[5])
                .weights(&[
                    ("kernel", &[3, 20]),
                    ("recurrent_kernel", &[5, 20]),
                    ("bias", &[20])
                ])
                .config_keys(&lstm_keys())
                .config_values(&[("return_state", "true")])
        ),
        case!(
            "GRU",
            GRUCase,
            LayerTest::new("GRU")
                .output_shape(&[5])
                .weights(&[
                    ("kernel", &[3, 15]),
                    ("recurrent_kernel", &[5, 15]),
                    ("bias", &[2, 15])
                ])
                .config_keys(&gru_keys())
                .config_values(&[("reset_after", "true")])
        ),
        case!(
            "GRU",
            GRUBeforeCase,
            LayerTest::new("GRU")
                .output_shape(&[5])
                .weights(&[
                    ("kernel", &[3, 15]),
                    ("recurrent_kernel", &[5, 15]),
                    ("bias", &[15])
                ])
                .config_keys(&gru_keys())
                .config_values(&[
                    ("reset_after", "false"),
                    ("recurrent_activation", r#""tanh""#)
                ])
        ),
        case!(
            "TimeDistributed",
            TimeDistributedCase,
            LayerTest::new("TimeDistributed")
                .output_shape(&[4, 2])
                .weights(&[("dense/kernel", &[3, 2]), ("dense/bias", &[2])])
                .config_keys(&["layer"])
                .config_values(&[
                    ("/layer/class_name", r#""Dense""#),
                    ("/layer/config/name", r#""dense""#),
                    ("/layer/config/units", "2"),
                    ("/layer/config/activation", r#""tanh""#),
                ])
        ),
        case!(
            "Bidirectional",
            BidirectionalCase,
            LayerTest::new("Bidirectional")
                .output_shape(&[4])
                .weights(&[
                    ("forward_lstm/kernel", &[3, 8]),
                    ("forward_lstm/recurrent_kernel", &[2, 8]),
                    ("forward_lstm/bias", &[8]),
                    ("backward_lstm/kernel", &[3, 8]),
                    ("backward_lstm/recurrent_kernel", &[2, 8]),
                    ("backward_lstm/bias", &[8]),
                ])
                .config_keys(&["merge_mode", "layer", "backward_layer"])
                .config_values(&[
                    ("merge_mode", r#""concat""#),
                    ("/layer/class_name", r#""LSTM""#),
                    ("/layer/config/name", r#""forward_lstm""#),
                    ("/layer/config/go_backwards", "false"),
                    ("/backward_layer/config/name", r#""backward_lstm""#),
                    ("/backward_layer/config/go_backwards", "true"),
                ])
        ),
        case!(
            "Bidirectional",
            BidirectionalSumCase,
            LayerTest::new("Bidirectional")
                .output_shape(&[4, 2])
                .weights(&[
                    ("forward_encoder/kernel", &[3, 6]),
                    ("forward_encoder/recurrent_kernel", &[2, 6]),
                    ("forward_encoder/bias", &[2, 6]),
                    ("backward_encoder/kernel", &[3, 6]),
                    ("backward_encoder/recurrent_kernel", &[2, 6]),
                    ("backward_encoder/bias", &[2, 6]),
                ])
                .config_values(&[
                    ("merge_mode", r#""sum""#),
                    ("/layer/config/return_sequences", "true"),
                    ("/backward_layer/config/go_backwards", "true"),
                ])
        ),
    ]
}

#[test]
fn every_layer_case_passes_the_harness() {
    let mut failures = Vec::new();
    for case in cases() {
        match (case.run)() {
            Ok(report) => eprintln!(
                "{}: worst gradient error {:.1e}, f32 {:.1e}",
                case.model,
                report.worst_gradient_error(),
                report.f32_error
            ),
            Err(e) => failures.push(format!("{}: {e}", case.model)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_layer_kind_has_a_case() {
    let covered: Vec<&str> = cases().iter().map(|c| c.kind).collect();
    let missing: Vec<&str> = strata::__layer_kinds!()
        .iter()
        .copied()
        .filter(|kind| !covered.contains(kind))
        .collect();
    assert!(
        missing.is_empty(),
        "layer kinds without a harness case: {missing:?}"
    );
}

model! {
    struct Plain: [3] -> [2] { Dense(2, activation = tanh) }
}

/// `Plain` with a backward pass that doubles the kernel's gradient: the harness must name
/// the kernel and where it is wrong.
#[derive(Clone, Debug)]
struct Broken<F: strata::Float>(Plain<F>);

impl<F: strata::Float> Model for Broken<F> {
    type Float = F;
    type Workspace = <Plain<F> as Model>::Workspace;
    const NAME: &'static str = "Broken";
    const INPUT_SHAPE: &'static [usize] = <Plain<F> as Model>::INPUT_SHAPE;
    const OUTPUT_SHAPE: &'static [usize] = <Plain<F> as Model>::OUTPUT_SHAPE;
    const INPUT_SIZE: usize = <Plain<F> as Model>::INPUT_SIZE;
    const OUTPUT_SIZE: usize = <Plain<F> as Model>::OUTPUT_SIZE;
    const INPUTS: &'static [strata::TensorInfo] = <Plain<F> as Model>::INPUTS;
    const OUTPUTS: &'static [strata::TensorInfo] = <Plain<F> as Model>::OUTPUTS;
    const PARAM_COUNT: usize = <Plain<F> as Model>::PARAM_COUNT;
    const TRAINABLE_PARAM_COUNT: usize = <Plain<F> as Model>::TRAINABLE_PARAM_COUNT;
    const LAYERS: &'static [strata::LayerInfo] = <Plain<F> as Model>::LAYERS;
    const PARAMS: &'static [strata::ParamInfo] = <Plain<F> as Model>::PARAMS;
    const ARCHITECTURE_JSON: &'static str = <Plain<F> as Model>::ARCHITECTURE_JSON;

    fn params(&self) -> &[F] {
        self.0.params()
    }
    fn params_mut(&mut self) -> &mut [F] {
        self.0.params_mut()
    }
    fn prepare(ws: &mut Self::Workspace, batch: usize) {
        Plain::<F>::prepare(ws, batch)
    }
    fn initialize(params: &mut [F], rng: &mut strata::Rng) {
        Plain::<F>::initialize(params, rng)
    }
    fn forward_with<'w>(p: &[F], ws: &'w mut Self::Workspace, x: &[F], n: usize) -> &'w [F] {
        Plain::<F>::forward_with(p, ws, x, n)
    }
    fn forward_train_with<'w>(
        p: &[F],
        ws: &'w mut Self::Workspace,
        x: &[F],
        n: usize,
        rng: &mut strata::Rng,
    ) -> &'w [F] {
        Plain::<F>::forward_train_with(p, ws, x, n, rng)
    }
    fn backward_with(
        p: &[F],
        ws: &mut Self::Workspace,
        x: &[F],
        n: usize,
        dy: &[F],
        grads: &mut [F],
        dx: Option<&mut [F]>,
    ) {
        Plain::<F>::backward_with(p, ws, x, n, dy, grads, dx);
        for g in &mut grads[..6] {
            *g *= F::of(2.0);
        }
    }
}

#[test]
fn a_wrong_backward_is_named_weight_by_weight_with_its_worst_element() {
    let error = LayerTest::new("Dense")
        .run(
            Broken::<f64>(Plain::seeded(Seed(1))),
            Broken::<f32>(Plain::seeded(Seed(1))),
        )
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("the gradient of dense/kernel at "),
        "{error}"
    );
    assert!(!error.contains("dense/bias"), "{error}");
    let report = LayerTest::new("Dense")
        .run(Plain::<f64>::seeded(Seed(1)), Plain::<f32>::seeded(Seed(1)))
        .unwrap();
    let names: Vec<&str> = report.gradients.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["dense/kernel", "dense/bias", "input"]);
}

#[test]
fn a_wrong_expectation_fails_with_every_problem_named() {
    let error = LayerTest::new("Dense")
        .output_shape(&[3])
        .weights(&[("kernel", &[2, 3])])
        .config_keys(&["units"])
        .config_values(&[("units", "3"), ("/kernel_initializer", r#""he_normal""#)])
        .run(Plain::<f64>::seeded(Seed(1)), Plain::<f32>::seeded(Seed(1)))
        .unwrap_err()
        .to_string();
    for problem in [
        "output shape is [2]",
        "the weights are",
        "the config has the keys",
        "the config's units is 2",
        r#"the config's /kernel_initializer is "glorot_uniform""#,
    ] {
        assert!(error.contains(problem), "{problem} not in {error}");
    }
}
