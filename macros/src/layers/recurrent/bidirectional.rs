//! `Bidirectional(layer, merge_mode = concat)`: a recurrent layer run over the sequence
//! twice, forwards and backwards (a copy with `go_backwards` flipped and weights of its
//! own), the two outputs merged (`concat`, `sum`, `mul`, `ave`) after the backward one is
//! put back in time order, as Keras's. The weights are Keras's:
//! `bidirectional/forward_lstm/kernel`, ..., `bidirectional/backward_lstm/kernel`, ...

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::nested::{self, Wrapped};
use crate::layers::{
    Args, Buffer, Built, Capabilities, Config, Inputs, Io, LayerKind, Mode, Output, ShapeError,
    Weight, krate,
};

pub struct Bidirectional;

const MERGE_MODES: &[&str] = &["concat", "sum", "mul", "ave"];

/// The layer's own buffers, besides its two copies' (`forward/...`, `backward/...`): each
/// copy's output and its gradient, and the input's gradient through the backward copy.
const FORWARD_OUTPUT: &str = "forward_output";
const BACKWARD_OUTPUT: &str = "backward_output";
const FORWARD_GRAD: &str = "forward_grad";
const BACKWARD_GRAD: &str = "backward_grad";
const INPUT_GRAD: &str = "input_grad";

struct BidirectionalConfig {
    wrapped: Wrapped,
    /// The wrapped layer reading the sequence from its end.
    reversed: Box<dyn Config>,
    merge_mode: &'static str,
}

struct BidirectionalLayer {
    kind: &'static str,
    name: String,
    forward: Box<dyn Built>,
    backward: Box<dyn Built>,
    merge_mode: &'static str,
    /// Each direction's output: `steps` rows of `units` per sample (one row without
    /// `return_sequences`).
    steps: usize,
    units: usize,
    input_len: usize,
    output: Vec<usize>,
}

impl LayerKind for Bidirectional {
    fn name(&self) -> &'static str {
        "Bidirectional"
    }

    fn default_name(&self) -> &'static str {
        "bidirectional"
    }

    fn arguments(&self) -> &'static [&'static str] {
        &["layer", "merge_mode"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
        let wrapped = Wrapped::read(args, "layer", "Bidirectional(LSTM(32))", errors);
        let merge_mode = args.choice("merge_mode", "merge mode", MERGE_MODES, errors);
        let wrapped = wrapped?;
        let Some(recurrent) = wrapped.config.capabilities().recurrent else {
            args.error_at(
                "layer",
                format!(
                    "Bidirectional runs a recurrent layer (SimpleRNN, LSTM or GRU) both ways \
                     along the sequence, but receives {}",
                    wrapped.kind
                ),
                errors,
            );
            return None;
        };
        let reversed = recurrent.reversed();
        Some(Box::new(BidirectionalConfig {
            wrapped,
            reversed,
            merge_mode: merge_mode?.unwrap_or("concat"),
        }))
    }
}

impl Config for BidirectionalConfig {
    fn label(&self) -> String {
        format!("Bidirectional({})", self.wrapped.config.label())
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.label())?;
        let forward = self.wrapped.config.build(inputs)?;
        let backward = self.reversed.build(inputs)?;
        let Output::One(mut output) = forward.output() else {
            return Err(ShapeError::new("Bidirectional passes on one value"));
        };
        let steps = if output.len() == 2 { output[0] } else { 1 };
        let Some(units) = output.last_mut() else {
            return Err(ShapeError::new(
                "Bidirectional's layer gives an empty shape",
            ));
        };
        let unit_count = *units;
        if self.merge_mode == "concat" {
            *units = units.saturating_mul(2);
        }
        Ok(Box::new(BidirectionalLayer {
            kind: self.wrapped.kind,
            name: self.wrapped.name.clone(),
            forward,
            backward,
            merge_mode: self.merge_mode,
            steps,
            units: unit_count,
            input_len: input.iter().product(),
            output,
        }))
    }
}

impl BidirectionalLayer {
    fn forward_name(&self) -> String {
        format!("forward_{}", self.name)
    }

    fn backward_name(&self) -> String {
        format!("backward_{}", self.name)
    }

    /// The runtime's `Merge`, as code.
    fn merge(&self) -> TokenStream {
        let k = krate();
        let variant = match self.merge_mode {
            "sum" => "Sum",
            "mul" => "Mul",
            "ave" => "Ave",
            _ => "Concat",
        };
        let variant = Ident::new(variant, Span::call_site());
        quote!(#k::kernels::Merge::#variant)
    }

    /// `io` for each copy: its weights and buffers, its output in the layer's own buffer,
    /// its output's gradient, and, for the backward copy, the input's gradient in the
    /// layer's own buffer.
    fn copies(&self, io: &Io) -> (Io, Io) {
        let weights = self.forward.weights().len();
        let forward = Io {
            y: io.buf(FORWARD_OUTPUT).clone(),
            y_ref: io.buf_ref(FORWARD_OUTPUT).clone(),
            dy: io.buf_ref(FORWARD_GRAD).clone(),
            params: io.params[..weights].to_vec(),
            grads: io.grads[..weights].to_vec(),
            ..io.within("forward")
        };
        let mut dxs = io.dxs.clone();
        if let Some(dx) = dxs.first_mut() {
            *dx = dx.as_ref().map(|_| io.buf(INPUT_GRAD).clone());
        }
        let backward = Io {
            y: io.buf(BACKWARD_OUTPUT).clone(),
            y_ref: io.buf_ref(BACKWARD_OUTPUT).clone(),
            dy: io.buf_ref(BACKWARD_GRAD).clone(),
            dxs,
            params: io.params[weights..].to_vec(),
            grads: io.grads[weights..].to_vec(),
            ..io.within("backward")
        };
        (forward, backward)
    }
}

impl Built for BidirectionalLayer {
    fn label(&self) -> String {
        format!("Bidirectional({})", self.forward.label())
    }

    fn output(&self) -> Output {
        Output::One(self.output.clone())
    }

    fn weights(&self) -> Vec<Weight> {
        let (forward, backward) = (self.forward_name(), self.backward_name());
        let forward = self
            .forward
            .weights()
            .into_iter()
            .map(|w| w.prefixed(&forward));
        let backward = self
            .backward
            .weights()
            .into_iter()
            .map(|w| w.prefixed(&backward));
        forward.chain(backward).collect()
    }

    fn buffers(&self) -> Vec<Buffer> {
        let output = self.steps.saturating_mul(self.units);
        let forward = self
            .forward
            .buffers()
            .into_iter()
            .map(|b| b.prefixed("forward"));
        let backward = self
            .backward
            .buffers()
            .into_iter()
            .map(|b| b.prefixed("backward"));
        let own = [FORWARD_OUTPUT, BACKWARD_OUTPUT, FORWARD_GRAD, BACKWARD_GRAD]
            .map(|name| Buffer::floats(name, output));
        forward
            .chain(backward)
            .chain(own)
            .chain([Buffer::floats(INPUT_GRAD, self.input_len)])
            .collect()
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        let forward = nested::json(self.kind, &self.forward_name(), &*self.forward);
        let backward = nested::json(self.kind, &self.backward_name(), &*self.backward);
        vec![
            ("merge_mode", Json::str(self.merge_mode)),
            ("layer", forward),
            ("backward_layer", backward),
        ]
    }

    fn forward(&self, io: &Io, mode: Mode) -> TokenStream {
        let k = krate();
        let (forward_io, backward_io) = self.copies(io);
        let forward = self.forward.forward(&forward_io, mode);
        let backward = self.backward.forward(&backward_io, mode);
        let (merge, steps, units) = (self.merge(), self.steps, self.units);
        let (yf, yb, y) = (&forward_io.y_ref, &backward_io.y_ref, &io.y);
        quote! {
            #forward
            #backward
            #k::kernels::bidirectional_forward(#merge, #yf, #yb, #y, #steps, #units);
        }
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let k = krate();
        let (forward_io, backward_io) = self.copies(io);
        let (merge, steps, units) = (self.merge(), self.steps, self.units);
        let (yf, yb, dy) = (&forward_io.y_ref, &backward_io.y_ref, &io.dy);
        let (dyf, dyb) = (io.buf(FORWARD_GRAD), io.buf(BACKWARD_GRAD));
        let forward = self.forward.backward(&forward_io);
        let backward = self.backward.backward(&backward_io);
        let input_grad = io.dx().map(|dx| {
            let dxb = io.buf_ref(INPUT_GRAD);
            quote!(#k::kernels::bidirectional_input_grad(#dx, #dxb);)
        });
        quote! {
            #k::kernels::bidirectional_backward(#merge, #yf, #yb, #dy, #dyf, #dyb, #steps, #units);
            #forward
            #backward
            #input_grad
        }
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            returns_sequences: self.forward.capabilities().returns_sequences,
            ..Capabilities::default()
        }
    }
}
