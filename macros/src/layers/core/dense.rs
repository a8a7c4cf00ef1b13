//! `Dense(units, activation, use_bias, kernel_initializer, bias_initializer)`: a fully
//! connected layer on the last axis, as Keras's.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::activated::Activated;
use crate::layers::kernel::KernelArgs;
use crate::layers::{
    Args, Buffer, Built, Capabilities, Config, Inputs, Io, LayerKind, Mode, Output, ShapeError,
    Weight, krate, option,
};

pub struct Dense;

#[derive(Clone)]
struct DenseConfig {
    units: usize,
    kernel: KernelArgs,
}

struct DenseLayer {
    config: DenseConfig,
    /// Values in the last axis of the input.
    inputs: usize,
    /// The input's leading axes, which the output keeps.
    leading: Vec<usize>,
}

impl LayerKind for Dense {
    fn name(&self) -> &'static str {
        "Dense"
    }

    fn default_name(&self) -> &'static str {
        "dense"
    }

    fn arguments(&self) -> &'static [&'static str] {
        &[
            "units",
            "activation",
            "use_bias",
            "kernel_initializer",
            "bias_initializer",
            "kernel_regularizer",
            "bias_regularizer",
            "kernel_constraint",
            "bias_constraint",
        ]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        let units = args.positive("units", errors);
        let kernel = KernelArgs::read(args, errors);
        let Some(units) = units? else {
            args.missing("units", "Dense(128)", errors);
            return None;
        };
        Some(Box::new(DenseConfig {
            units,
            kernel: kernel?,
        }))
    }
}

impl Config for DenseConfig {
    fn label(&self) -> String {
        format!("Dense({})", self.units)
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.label())?;
        let (&last, leading) = input
            .split_last()
            .ok_or_else(|| ShapeError::new("Dense needs an input with at least one axis"))?;
        Ok(Box::new(DenseLayer {
            config: self.clone(),
            inputs: last,
            leading: leading.to_vec(),
        }))
    }
}

impl DenseLayer {
    /// Rows per sample: the product of the input's leading axes.
    fn rows(&self) -> usize {
        self.leading.iter().product()
    }

    fn activated(&self) -> Activated {
        self.config.kernel.activated(self.config.units)
    }
}

impl Built for DenseLayer {
    fn label(&self) -> String {
        self.config.label()
    }

    fn output(&self) -> Output {
        Output::One([&self.leading[..], &[self.config.units]].concat())
    }

    fn weights(&self) -> Vec<Weight> {
        self.config
            .kernel
            .weights(vec![self.inputs, self.config.units])
    }

    fn buffers(&self) -> Vec<Buffer> {
        let len = self.rows().saturating_mul(self.config.units);
        self.activated().buffers(len)
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        let mut config = vec![("units", Json::from(self.config.units))];
        config.extend(self.config.kernel.config());
        config
    }

    fn forward(&self, io: &Io, _mode: Mode) -> TokenStream {
        let k = krate();
        let (n, x) = (&io.n, io.x());
        let (rows, inputs, units) = (self.rows(), self.inputs, self.config.units);
        let kernel = &io.params[0];
        let bias = option(io.params.get(1));
        self.activated().forward(io, |z| {
            quote! {
                #k::kernels::dense_forward(#x, #kernel, #bias, #z, #n * #rows, #inputs, #units);
            }
        })
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let k = krate();
        let (n, x) = (&io.n, io.x());
        let (rows, inputs, units) = (self.rows(), self.inputs, self.config.units);
        let kernel = &io.params[0];
        let dx = option(io.dx());
        let (dkernel, dbias) = (option(io.grad(0)), option(io.grad(1)));
        self.activated().backward(io, |dz| {
            quote! {
                #k::kernels::dense_backward(#x, #kernel, #dz, #dx, #dkernel, #dbias, #n * #rows, #inputs, #units);
            }
        })
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            product_bound: true,
            ..Capabilities::default()
        }
    }
}
