//! The flat parameter buffer: every weight tensor at its offset, in layer order, and the
//! counts the model's constants give.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use super::{BuiltNode, CheckedLayer};
use crate::errors::{Errors, message};
use crate::graph::Graph;
use crate::layers::Weight;
use crate::layers::foreign::ModelType;
use crate::size;

/// A weight tensor, or a model of another block's parameters, at its place in the flat
/// buffer.
pub struct Param {
    /// `dense/kernel`; for a model, its layer's name (`encoder`).
    pub name: String,
    pub weights: Weights,
    pub offset: Size,
    pub len: Size,
    pub trainable: bool,
}

/// What a [`Param`] holds.
pub enum Weights {
    Tensor(Weight),
    /// Every parameter of a model of another block, in its own layout.
    Model(ModelType),
}

impl Param {
    /// Whether a frozen parameter still receives gradients: a model of another block
    /// writes all of its own, frozen or not, to its range of the gradients (which the
    /// optimizer then skips).
    pub fn has_grads(&self) -> bool {
        self.trainable || matches!(self.weights, Weights::Model(_))
    }
}

/// A number of parameters known at compile time: a number, plus constants of the `Model`
/// impls of models of other blocks (`<Encoder<f32> as Model>::PARAM_COUNT`), which the
/// generated code adds up.
#[derive(Clone, Default)]
pub struct Size {
    literal: u128,
    constants: Vec<TokenStream>,
}

impl Size {
    /// The value of a constant expression.
    pub fn constant(tokens: TokenStream) -> Self {
        Size {
            literal: 0,
            constants: vec![tokens],
        }
    }

    /// The part of the size known here.
    pub fn literal(&self) -> u128 {
        self.literal
    }
}

impl From<usize> for Size {
    fn from(literal: usize) -> Self {
        Size {
            literal: literal as u128,
            constants: Vec::new(),
        }
    }
}

impl std::ops::AddAssign<&Size> for Size {
    fn add_assign(&mut self, other: &Size) {
        self.literal = self.literal.saturating_add(other.literal);
        self.constants.extend(other.constants.iter().cloned());
    }
}

impl std::ops::Add<&Size> for &Size {
    type Output = Size;
    fn add(self, other: &Size) -> Size {
        let mut sum = self.clone();
        sum += other;
        sum
    }
}

impl std::iter::Sum<Size> for Size {
    fn sum<I: Iterator<Item = Size>>(sizes: I) -> Size {
        sizes.fold(Size::default(), |mut sum, size| {
            sum += &size;
            sum
        })
    }
}

impl ToTokens for Size {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        // Checked to fit a usize when laid out.
        let literal = self.literal as usize;
        tokens.extend(match &self.constants[..] {
            [] => quote!(#literal),
            constants => quote!((#literal #(+ #constants)*)),
        });
    }
}

/// Places every weight tensor in the flat buffer, in layer order; `None` when the model
/// would need more parameters than a buffer holds (reported at the model's name). A
/// tensor is trainable when its layer is and it is not state. A model of another block
/// takes one range, as many as its own parameter count.
pub fn params(
    graph: &Graph,
    layers: &mut [CheckedLayer],
    nodes: &[BuiltNode],
    errors: &mut Errors,
) -> Option<(Vec<Param>, Size, Size)> {
    let mut params = Vec::new();
    let (mut offset, mut trainable_count) = (Size::default(), Size::default());
    for layer in layers {
        let first = params.len();
        let BuiltNode::Layer(built) = &nodes[layer.first_use.index()] else {
            continue;
        };
        let tensors = built.weights().into_iter().map(|weight| {
            let len = Size::from(size::product(&weight.shape) as usize);
            let trainable = layer.trainable && weight.trainable;
            let name = format!("{}/{}", layer.name, weight.name);
            (name, Weights::Tensor(weight), len, trainable)
        });
        let model = built.capabilities().model.map(|model| {
            let len = Size::constant(model.constant("PARAM_COUNT"));
            (
                layer.name.clone(),
                Weights::Model(model.clone()),
                len,
                layer.trainable,
            )
        });
        for (name, weights, len, trainable) in tensors.chain(model).collect::<Vec<_>>() {
            if trainable {
                trainable_count += &match &weights {
                    Weights::Model(model) => {
                        Size::constant(model.constant("TRAINABLE_PARAM_COUNT"))
                    }
                    Weights::Tensor(_) => len.clone(),
                };
            }
            params.push(Param {
                name,
                weights,
                offset: offset.clone(),
                len: len.clone(),
                trainable,
            });
            offset += &len;
        }
        layer.params = first..params.len();
    }
    if size::fits(offset.literal()).is_none() {
        errors.at(
            graph.def.name.span(),
            message(
                format!(
                    "{} would need {} parameters, {}",
                    graph.def.name,
                    size::count_str(offset.literal()),
                    size::limit_str()
                ),
                &[],
                Some("make its layers smaller".to_string()),
            ),
        );
        return None;
    }
    Some((params, offset, trainable_count))
}
