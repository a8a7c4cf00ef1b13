//! `Dense(units, activation, use_bias, kernel_initializer, bias_initializer)`: a fully
//! connected layer on the last axis, as Keras's.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::activated::{Activated, option};
use crate::layers::kernel::KernelArgs;
use crate::layers::{Args, Buffer, Io, Layer, LayerKind, ParamSpec, ShapeError, krate};

pub struct Dense;

struct Configured {
    units: usize,
    kernel: KernelArgs,
    /// Values in the last axis of the input.
    inputs: usize,
    /// Rows per sample: the product of the input's leading axes.
    rows_per_sample: usize,
}

impl LayerKind for Dense {
    fn kind(&self) -> &'static str {
        "Dense"
    }

    fn default_name(&self) -> &'static str {
        "dense"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &[
            "units",
            "activation",
            "use_bias",
            "kernel_initializer",
            "bias_initializer",
        ]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let units = args.positive("units", errors);
        let kernel = KernelArgs::read(args, errors);
        let Some(units) = units? else {
            args.missing("units", "Dense(128)", errors);
            return None;
        };
        Some(Box::new(Configured {
            units,
            kernel: kernel?,
            inputs: 0,
            rows_per_sample: 0,
        }))
    }
}

impl Configured {
    fn activated(&self) -> Activated {
        self.kernel.activated(self.units, 0)
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        format!("Dense({})", self.units)
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let (&inputs, leading) = input
            .split_last()
            .ok_or_else(|| ShapeError::new("Dense needs an input with at least one axis"))?;
        self.inputs = inputs;
        self.rows_per_sample = leading.iter().product();
        let mut output = leading.to_vec();
        output.push(self.units);
        Ok(output)
    }

    fn params(&self) -> Vec<ParamSpec> {
        let (inputs, units) = (self.inputs, self.units);
        self.kernel.params(vec![inputs, units], inputs, units)
    }

    fn buffers(&self) -> Vec<Buffer> {
        self.activated().buffers(self.rows_per_sample * self.units)
    }

    fn config_json(&self) -> String {
        format!(r#""units": {}, {}"#, self.units, self.kernel.config_json())
    }

    fn forward(&self, io: &Io, _training: bool) -> TokenStream {
        let k = krate();
        let (n, x) = (&io.n, &io.x);
        let (rows, inputs, units) = (self.rows_per_sample, self.inputs, self.units);
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
        let (n, x) = (&io.n, &io.x);
        let (rows, inputs, units) = (self.rows_per_sample, self.inputs, self.units);
        let kernel = &io.params[0];
        let dx = option(io.dx.as_ref());
        let dkernel = option(io.grads[0].as_ref());
        let dbias = option(io.grads.get(1).and_then(Option::as_ref));
        self.activated().backward(io, |dz| {
            quote! {
                #k::kernels::dense_backward(#x, #kernel, #dz, #dx, #dkernel, #dbias, #n * #rows, #inputs, #units);
            }
        })
    }
}
