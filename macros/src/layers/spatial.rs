//! Channels-last maps and the windows that slide over them, shared by convolutions and
//! pooling: the rank check with its hints, Keras's output sizes, the check that a window
//! fits, and the runtime's `Window2d` in emitted code.
//!
//! As in the runtime, a 1-D layer is a 2-D layer of height 1: `[steps, channels]` is the
//! map `[1, steps, channels]`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::{Args, ShapeError, krate, shape_str};

/// Keras's `padding` of convolutions and pooling.
pub const PADDINGS: &[&str] = &["valid", "same"];

/// `input` as a map `[height, width, channels]` for a layer of `rank` 1 or 2, or why it
/// is not one, with how to make it one.
pub fn map(kind: &str, rank: usize, input: &[usize]) -> Result<[usize; 3], ShapeError> {
    match (rank, input) {
        (1, &[steps, channels]) => return Ok([1, steps, channels]),
        (2, &[height, width, channels]) => return Ok([height, width, channels]),
        _ => {}
    }
    let (expected, counterpart) = if rank == 1 {
        ("a 2-D input [steps, channels]", kind.replace("1D", "2D"))
    } else {
        (
            "a 3-D input [height, width, channels]",
            kind.replace("2D", "1D"),
        )
    };
    let total: usize = input.iter().product();
    let help = match (rank, input) {
        (2, &[n]) => {
            let side = Some(n.isqrt()).filter(|s| s * s == n);
            let target = side.map_or("[height, width, channels]".to_string(), |s| {
                shape_str(&[s, s, 1])
            });
            format!(
                "to treat the vector as an image, put Reshape({target}) before {kind}; \
                 {kind} belongs before Flatten and Dense, which make vectors"
            )
        }
        (2, &[steps, channels]) => format!(
            "for a sequence use {counterpart}; to treat the input as a one-channel image, \
             put Reshape({}) before {kind}",
            shape_str(&[steps, channels, 1])
        ),
        (1, &[n]) => format!(
            "to treat the vector as a sequence, put Reshape({}) before {kind}; {kind} \
             belongs before Flatten and Dense, which make vectors",
            shape_str(&[n, 1])
        ),
        (1, &[height, width, channels]) => format!(
            "for an image use {counterpart}; to read its rows as one sequence, put \
             Reshape({}) before {kind}",
            shape_str(&[height * width, channels])
        ),
        _ => format!(
            "put a Reshape before {kind} whose target holds the same {total} values in \
             {}",
            if rank == 1 { "2 axes" } else { "3 axes" }
        ),
    };
    Err(ShapeError::new(format!(
        "{kind} needs {expected}, but receives {}",
        shape_str(input)
    ))
    .help(help))
}

/// The layer's output shape for a map of `height, width, channels`: `[steps, channels]`
/// for a 1-D layer.
pub fn unmap(rank: usize, [height, width, channels]: [usize; 3]) -> Vec<usize> {
    if rank == 1 {
        vec![width, channels]
    } else {
        vec![height, width, channels]
    }
}

/// A window's sizes as the user wrote them: `[3, 3]` in 2-D, `[3]` in 1-D.
pub fn user_dims(rank: usize, dims: [usize; 2]) -> Vec<usize> {
    dims[2 - rank..].to_vec()
}

/// `3x3`, or `3` in 1-D.
fn extent(rank: usize, dims: [usize; 2]) -> String {
    user_dims(rank, dims)
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("x")
}

/// A window sliding over a map: a convolution's kernel or a pooling window.
#[derive(Clone)]
pub struct Window {
    /// `kernel` or `window`, as messages call it.
    pub what: &'static str,
    /// 1 or 2.
    pub rank: usize,
    /// `[height, width]` (height 1 in 1-D).
    pub size: [usize; 2],
    pub strides: [usize; 2],
    pub dilation: [usize; 2],
    /// `same` padding, else `valid`.
    pub same: bool,
}

impl Window {
    /// The window of a layer of `rank` from the user's sizes (1 for the height in 1-D).
    pub fn new(
        what: &'static str,
        rank: usize,
        size: &[usize],
        strides: &[usize],
        dilation: &[usize],
        padding: &str,
    ) -> Self {
        let pad = |dims: &[usize]| match *dims {
            [width] => [1, width],
            [height, width, ..] => [height, width],
            [] => [1, 1],
        };
        Window {
            what,
            rank,
            size: pad(size),
            strides: pad(strides),
            dilation: pad(dilation),
            same: padding == "same",
        }
    }

    /// The span of the window along each axis: `(size - 1)·dilation + 1`.
    fn span(&self) -> [usize; 2] {
        [0, 1].map(|axis| {
            (self.size[axis] - 1)
                .saturating_mul(self.dilation[axis])
                .saturating_add(1)
        })
    }

    /// The output's `[height, width]` over `map` by Keras's rules, or, when the window
    /// does not fit a valid-padded map, which layer it is and what to change.
    pub fn output(&self, label: &str, map: [usize; 3]) -> Result<[usize; 2], ShapeError> {
        let span = self.span();
        let input = [map[0], map[1]];
        if self.same {
            return Ok([0, 1].map(|axis| input[axis].div_ceil(self.strides[axis])));
        }
        if span[0] <= input[0] && span[1] <= input[1] {
            return Ok([0, 1].map(|axis| (input[axis] - span[axis]) / self.strides[axis] + 1));
        }
        let (rank, what) = (self.rank, self.what);
        let (size, map_size) = (extent(rank, self.size), extent(rank, input));
        let window = if rank == 1 {
            format!("{size}-step {what}")
        } else {
            format!("{size} {what}")
        };
        let map_size = if rank == 1 {
            format!("{map_size} steps")
        } else {
            format!("{map_size} map")
        };
        let headline = if self.dilation == [1, 1] {
            let larger = if rank == 1 { "longer" } else { "larger" };
            format!("{label}: its {window} is {larger} than the {map_size} it receives")
        } else {
            let span = extent(rank, span);
            let span = if rank == 1 {
                format!("{span} steps")
            } else {
                span
            };
            format!(
                "{label}: its {window} dilated by {} spans {span}, more than the {map_size} \
                 it receives",
                extent(rank, self.dilation)
            )
        };
        let smaller = if what == "kernel" {
            "kernel_size"
        } else {
            "pool_size"
        };
        Err(ShapeError::new(headline).help(format!(
            "with padding = valid every window must fit inside the input: use padding = same, \
             a smaller {smaller}, or downsample less before it"
        )))
    }

    /// The runtime's `Window2d` over `map`, as an expression.
    pub fn tokens(&self, map: [usize; 3]) -> TokenStream {
        let k = krate();
        let map = map_tokens(map);
        let ([wh, ww], [sh, sw], [dh, dw]) = (self.size, self.strides, self.dilation);
        let padding = if self.same {
            quote!(#k::kernels::Padding::Same)
        } else {
            quote!(#k::kernels::Padding::Valid)
        };
        quote!(#k::kernels::Window2d::new(#map, [#wh, #ww], [#sh, #sw], [#dh, #dw], #padding))
    }

    /// `"valid"` or `"same"`.
    pub fn padding(&self) -> &'static str {
        if self.same { "same" } else { "valid" }
    }
}

/// A window's sizes (`kernel_size`, `strides`, ...): one positive integer for every axis,
/// or a list of `rank` of them.
pub fn dims(
    args: &Args,
    rank: usize,
    keyword: &str,
    errors: &mut Errors,
) -> Option<Option<Vec<usize>>> {
    let dims = if rank == 1 {
        args.positive_tuple::<1>(keyword, errors)?
            .map(|d| d.to_vec())
    } else {
        args.positive_tuple::<2>(keyword, errors)?
            .map(|d| d.to_vec())
    };
    Some(dims)
}

/// `3` when every axis is 3, else `[3, 5]`.
pub fn dims_str(dims: &[usize]) -> String {
    match dims {
        [first, rest @ ..] if rest.iter().all(|d| d == first) => first.to_string(),
        _ => shape_str(dims),
    }
}

/// A map's `[height, width, channels]` as an array expression.
pub fn map_tokens(map: [usize; 3]) -> TokenStream {
    quote!([#(#map),*])
}
