//! `Dot(axes, normalize = false)`: the dot product of two values along an axis of each,
//! per sample, as Keras's (vectors, or matrices as in `batch_dot`). With `normalize`, the
//! cosine similarity.

use proc_macro2::TokenStream;
use quote::quote;

use super::{needs_inputs, sample_axis, shapes_str};
use crate::errors::Errors;
use crate::json::Json;
use crate::layers::{
    Args, Buffer, Built, Config, Inputs, Io, LayerKind, Mode, Output, ShapeError, krate, option,
    shape_str,
};

pub struct Dot;

/// The normalised inputs' buffers, with `normalize`.
const X_HAT: &str = "x_hat";
const Z_HAT: &str = "z_hat";

#[derive(Clone, Copy)]
struct DotConfig {
    /// Keras's axes of the two inputs (the batch axis counted as 0).
    axes: [i64; 2],
    normalize: bool,
}

struct DotLayer {
    config: DotConfig,
    output: Vec<usize>,
    /// Each input as `(rows, cols, contracted along the rows)`.
    sides: [(usize, usize, bool); 2],
    sizes: [usize; 2],
}

impl LayerKind for Dot {
    fn name(&self) -> &'static str {
        "Dot"
    }

    fn default_name(&self) -> &'static str {
        "dot"
    }

    fn arguments(&self) -> &'static [&'static str] {
        &["axes", "normalize"]
    }

    fn is_merge(&self) -> bool {
        true
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        let normalize = args.boolean("normalize", errors);
        let axes = match args.ints("axes", errors)? {
            None => {
                args.missing("axes", "Dot(axes = 1)(a, b)", errors);
                return None;
            }
            Some((values, span)) => match values[..] {
                [axis] => [axis, axis],
                [a, b] => [a, b],
                _ => {
                    errors.at(
                        span,
                        "`axes` of Dot is one axis or two, e.g. `axes = 1` or `axes = [2, 1]`",
                    );
                    return None;
                }
            },
        };
        Some(Box::new(DotConfig {
            axes,
            normalize: normalize?.unwrap_or(false),
        }))
    }
}

impl DotLayer {
    fn side(&self, i: usize) -> TokenStream {
        let k = krate();
        let (rows, cols, transposed) = self.sides[i];
        quote!(#k::kernels::DotSide { rows: #rows, cols: #cols, transposed: #transposed })
    }

    /// The kernel's arguments shared by forward and backward, up to the normalised values.
    fn common(&self, io: &Io) -> TokenStream {
        let (n, x, z) = (&io.n, &io.xs[0], &io.xs[1]);
        let (xs, zs, normalize) = (self.side(0), self.side(1), self.config.normalize);
        quote!(#n, #x, #xs, #z, #zs, #normalize)
    }
}

impl Config for DotConfig {
    fn label(&self) -> String {
        match self.axes {
            [a, b] if a == b => format!("Dot(axes = {a})"),
            [a, b] => format!("Dot(axes = [{a}, {b}])"),
        }
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let inputs = inputs.values;
        let (mut sides, mut sizes) = ([(0, 0, false); 2], [0; 2]);
        if inputs.len() != 2 {
            return Err(needs_inputs("Dot", true, inputs.len()));
        }
        let mut output = Vec::new();
        let mut contracted = [0; 2];
        for (i, shape) in inputs.iter().enumerate() {
            let axis = sample_axis("Dot", self.axes[i], shape.len())?;
            let (rows, cols, transposed) = match shape[..] {
                [len] => (len, 1, true),
                [rows, cols] => (rows, cols, axis == 0),
                _ => {
                    return Err(ShapeError::new(format!(
                        "Dot takes vectors or matrices per sample, but receives {}",
                        shape_str(shape)
                    ))
                    .help("Flatten or Reshape the values to one or two axes first"));
                }
            };
            contracted[i] = shape[axis];
            output.extend(
                shape
                    .iter()
                    .enumerate()
                    .filter(|&(a, _)| a != axis)
                    .map(|(_, &d)| d),
            );
            sides[i] = (rows, cols, transposed);
            sizes[i] = rows * cols;
        }
        if contracted[0] != contracted[1] {
            return Err(ShapeError::new(format!(
                "Dot multiplies along axes {} and {} of {}, which hold {} and {} values",
                self.axes[0],
                self.axes[1],
                shapes_str(inputs),
                contracted[0],
                contracted[1]
            ))
            .help("choose axes of equal length with `axes = [a, b]`"));
        }
        if output.is_empty() {
            output.push(1);
        }
        Ok(Box::new(DotLayer {
            config: *self,
            output,
            sides,
            sizes,
        }))
    }
}

impl Built for DotLayer {
    fn label(&self) -> String {
        self.config.label()
    }

    fn output(&self) -> Output {
        Output::One(self.output.clone())
    }

    fn buffers(&self) -> Vec<Buffer> {
        if self.config.normalize {
            vec![
                Buffer::floats(X_HAT, self.sizes[0]),
                Buffer::floats(Z_HAT, self.sizes[1]),
            ]
        } else {
            Vec::new()
        }
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        vec![
            ("axes", Json::ints(&self.config.axes)),
            ("normalize", Json::Bool(self.config.normalize)),
        ]
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let common = self.common(io);
        let y = &io.y;
        let (x_hat, z_hat) = match self.config.normalize {
            true => (io.buf(X_HAT).clone(), io.buf(Z_HAT).clone()),
            false => (quote!(&mut []), quote!(&mut [])),
        };
        quote! {
            #k::kernels::dot_forward(#common, #x_hat, #z_hat, #y);
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        if io.dxs.iter().all(Option::is_none) {
            return TokenStream::new();
        }
        let k = krate();
        let common = self.common(io);
        let dy = &io.dy;
        let (x_hat, z_hat) = match self.config.normalize {
            true => (io.buf_ref(X_HAT).clone(), io.buf_ref(Z_HAT).clone()),
            false => (quote!(&[]), quote!(&[])),
        };
        let (dx, dz) = (option(io.dxs[0].as_ref()), option(io.dxs[1].as_ref()));
        quote! {
            #k::kernels::dot_backward(#common, #x_hat, #z_hat, #dy, #dx, #dz);
        }
    }
}
