//! The words `model!` and the runtime share: the activations and initializers a layer can
//! name, as Keras names them. The macro checks a name against these lists and emits the
//! variant; the runtime computes with the same enums. One list serves both, so a name the
//! macro accepts is one the runtime knows.
#![forbid(unsafe_code)]

/// An activation, as named in Keras (`activation = relu`).
///
/// ```
/// use strata_vocabulary::Activation;
/// assert_eq!(Activation::from_name("relu"), Some(Activation::Relu));
/// assert_eq!(Activation::from_name("swish"), Some(Activation::Silu));
/// assert_eq!(Activation::Silu.name(), "silu");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `linear`: the identity.
    Linear,
    /// `relu`: `max(x, 0)`.
    Relu,
    /// `leaky_relu`: `x` if `x > 0`, else `0.2 x` (Keras 3's default negative slope).
    LeakyRelu,
    /// `elu`: `x` if `x > 0`, else `exp(x) - 1` (alpha 1).
    Elu,
    /// `selu`: `scale · elu(x, alpha)` with Keras's self-normalising constants.
    Selu,
    /// `gelu`: the exact `x · Φ(x) = 0.5 x (1 + erf(x/√2))` (Keras's `approximate=False`).
    Gelu,
    /// `sigmoid`: `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `tanh`.
    Tanh,
    /// `softmax` over the last axis.
    Softmax,
    /// `softplus`: `log(1 + exp(x))`.
    Softplus,
    /// `silu` (also `swish`): `x · sigmoid(x)`.
    Silu,
}

impl Activation {
    /// Every activation, in declaration order.
    pub const ALL: &'static [Activation] = &[
        Activation::Linear,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Elu,
        Activation::Selu,
        Activation::Gelu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax,
        Activation::Softplus,
        Activation::Silu,
    ];

    /// Other names Keras accepts for an activation.
    pub const ALIASES: &'static [(&'static str, Activation)] = &[("swish", Activation::Silu)];

    /// Keras's name for the activation.
    pub const fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Elu => "elu",
            Activation::Selu => "selu",
            Activation::Gelu => "gelu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::Softplus => "softplus",
            Activation::Silu => "silu",
        }
    }

    /// The variant's name in Rust (`LeakyRelu`), for code that names it.
    pub const fn variant(self) -> &'static str {
        match self {
            Activation::Linear => "Linear",
            Activation::Relu => "Relu",
            Activation::LeakyRelu => "LeakyRelu",
            Activation::Elu => "Elu",
            Activation::Selu => "Selu",
            Activation::Gelu => "Gelu",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::Softmax => "Softmax",
            Activation::Softplus => "Softplus",
            Activation::Silu => "Silu",
        }
    }

    /// The activation Keras calls `name`, by its name or an alias (`swish`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|act| act.name() == name)
            .or_else(|| {
                Self::ALIASES
                    .iter()
                    .find(|(alias, _)| *alias == name)
                    .map(|&(_, act)| act)
            })
    }

    /// Every name a user may write: the names, then the aliases.
    pub fn names() -> impl Iterator<Item = &'static str> + Clone {
        let aliases = Self::ALIASES.iter().map(|&(alias, _)| alias);
        Self::ALL.iter().map(|act| act.name()).chain(aliases)
    }
}

/// How a parameter tensor starts, as named in Keras (`kernel_initializer = he_normal`).
///
/// The random ones are Keras's `VarianceScaling` variants: the variance is
/// `scale / n`, where `n` is `fan_in`, or the mean of `fan_in` and `fan_out` for the
/// Glorot pair (each at least 1). The `_normal` ones draw from a normal truncated at two
/// standard deviations, widened by Keras's 1/0.8796... so that the variance is still
/// `scale / n`.
///
/// ```
/// use strata_vocabulary::Initializer;
/// assert_eq!(Initializer::from_name("he_normal"), Some(Initializer::HeNormal));
/// assert_eq!(Initializer::from_name("unit_forget_bias"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Initializer {
    /// `glorot_uniform` (Keras's default for kernels): uniform on ±√(6 / (fan_in + fan_out)).
    GlorotUniform,
    /// `glorot_normal`: truncated normal, variance 2 / (fan_in + fan_out).
    GlorotNormal,
    /// `he_uniform`: uniform on ±√(6 / fan_in).
    HeUniform,
    /// `he_normal`: truncated normal, variance 2 / fan_in.
    HeNormal,
    /// `lecun_normal`: truncated normal, variance 1 / fan_in.
    LecunNormal,
    /// `lecun_uniform`: uniform on ±√(3 / fan_in).
    LecunUniform,
    /// `zeros` (Keras's default for biases).
    Zeros,
    /// `ones`.
    Ones,
    /// `orthogonal` (Keras's default for recurrent kernels): a matrix with orthonormal rows
    /// or columns, whichever are fewer, drawn uniformly (the Q of the QR decomposition of a
    /// standard normal matrix, signs fixed so that R's diagonal is positive). The matrix
    /// is `fan_in × (len / fan_in)`: a Dense or recurrent kernel `[in, out]` as it is, a
    /// convolution's `[kh, kw, in, out]` as `[kh·kw·in, out]`, as Keras flattens it.
    Orthogonal,
    /// Keras's LSTM bias with `unit_forget_bias`: zeros, except ones over the second
    /// quarter, the forget gate's (gate order i, f, c, o). Not a name users write: LSTM
    /// picks it.
    UnitForgetBias,
    /// `uniform` (Keras's default for Embedding): uniform on ±0.05, whatever the fans.
    Uniform,
}

impl Initializer {
    /// Every initializer a user can name, in declaration order.
    pub const ALL: &'static [Initializer] = &[
        Initializer::GlorotUniform,
        Initializer::GlorotNormal,
        Initializer::HeUniform,
        Initializer::HeNormal,
        Initializer::LecunNormal,
        Initializer::LecunUniform,
        Initializer::Zeros,
        Initializer::Ones,
        Initializer::Orthogonal,
        Initializer::Uniform,
    ];

    /// Keras's name for the initializer.
    pub const fn name(self) -> &'static str {
        match self {
            Initializer::GlorotUniform => "glorot_uniform",
            Initializer::GlorotNormal => "glorot_normal",
            Initializer::HeUniform => "he_uniform",
            Initializer::HeNormal => "he_normal",
            Initializer::LecunNormal => "lecun_normal",
            Initializer::LecunUniform => "lecun_uniform",
            Initializer::Zeros => "zeros",
            Initializer::Ones => "ones",
            Initializer::Orthogonal => "orthogonal",
            Initializer::UnitForgetBias => "unit_forget_bias",
            Initializer::Uniform => "uniform",
        }
    }

    /// The variant's name in Rust (`GlorotUniform`), for code that names it.
    pub const fn variant(self) -> &'static str {
        match self {
            Initializer::GlorotUniform => "GlorotUniform",
            Initializer::GlorotNormal => "GlorotNormal",
            Initializer::HeUniform => "HeUniform",
            Initializer::HeNormal => "HeNormal",
            Initializer::LecunNormal => "LecunNormal",
            Initializer::LecunUniform => "LecunUniform",
            Initializer::Zeros => "Zeros",
            Initializer::Ones => "Ones",
            Initializer::Orthogonal => "Orthogonal",
            Initializer::UnitForgetBias => "UnitForgetBias",
            Initializer::Uniform => "Uniform",
        }
    }

    /// The initializer Keras calls `name`, among those a user can name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|init| init.name() == name)
    }

    /// Every name a user may write.
    pub fn names() -> impl Iterator<Item = &'static str> + Clone {
        Self::ALL.iter().map(|init| init.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_activation_is_found_by_its_name_and_its_variant_is_its_rust_name() {
        for &act in Activation::ALL {
            assert_eq!(Activation::from_name(act.name()), Some(act));
            assert_eq!(format!("{act:?}"), act.variant());
        }
        assert_eq!(Activation::from_name("Relu"), None);
        assert_eq!(Activation::names().count(), Activation::ALL.len() + 1);
    }

    #[test]
    fn every_initializer_is_found_by_its_name_and_its_variant_is_its_rust_name() {
        for &init in Initializer::ALL {
            assert_eq!(Initializer::from_name(init.name()), Some(init));
            assert_eq!(format!("{init:?}"), init.variant());
        }
        let unit = Initializer::UnitForgetBias;
        assert_eq!(format!("{unit:?}"), unit.variant());
        assert_eq!(Initializer::from_name("GlorotUniform"), None);
    }
}
