//! Names the macro accepts for activations and initializers. The runtime's
//! `Activation::from_name` and `Initializer::from_name` accept the same names (a test in
//! the facade checks that they agree).

pub const ACTIVATIONS: &[&str] = &[
    "linear",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "sigmoid",
    "tanh",
    "softmax",
    "softplus",
    "silu",
    "swish",
];

pub const INITIALIZERS: &[&str] = &[
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_normal",
    "lecun_uniform",
    "zeros",
    "ones",
    "orthogonal",
    "uniform",
];

/// The runtime's enum variant for an activation name.
pub fn activation_variant(name: &str) -> &'static str {
    match name {
        "relu" => "Relu",
        "leaky_relu" => "LeakyRelu",
        "elu" => "Elu",
        "selu" => "Selu",
        "gelu" => "Gelu",
        "sigmoid" => "Sigmoid",
        "tanh" => "Tanh",
        "softmax" => "Softmax",
        "softplus" => "Softplus",
        "silu" | "swish" => "Silu",
        _ => "Linear",
    }
}

/// The runtime's enum variant for an initializer name.
pub fn initializer_variant(name: &str) -> &'static str {
    match name {
        "glorot_normal" => "GlorotNormal",
        "he_uniform" => "HeUniform",
        "he_normal" => "HeNormal",
        "lecun_normal" => "LecunNormal",
        "lecun_uniform" => "LecunUniform",
        "zeros" => "Zeros",
        "ones" => "Ones",
        "orthogonal" => "Orthogonal",
        "unit_forget_bias" => "UnitForgetBias",
        "uniform" => "Uniform",
        _ => "GlorotUniform",
    }
}
