//! `Bidirectional(layer, merge_mode = concat)`: a recurrent layer run over the sequence
//! twice, forwards and backwards (a copy with `go_backwards` flipped and weights of its
//! own), the two outputs merged (`concat`, `sum`, `mul`, `ave`) after the backward one is
//! put back in time order, as Keras's. The weights are Keras's:
//! `bidirectional/forward_lstm/kernel`, ..., `bidirectional/backward_lstm/kernel`, ...

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::errors::Errors;
use crate::layers::nested::Nested;
use crate::layers::{Args, Buffer, Io, Layer, LayerKind, ParamSpec, ShapeError, krate};

pub struct Bidirectional;

const MERGE_MODES: &[&str] = &["concat", "sum", "mul", "ave"];

struct Configured {
    nested: Nested,
    forward: Box<dyn Layer>,
    backward: Box<dyn Layer>,
    merge_mode: &'static str,
    /// Each direction's output: `steps` rows of `units` per sample (one row without
    /// `return_sequences`).
    steps: usize,
    units: usize,
    input_len: usize,
}

impl LayerKind for Bidirectional {
    fn kind(&self) -> &'static str {
        "Bidirectional"
    }

    fn default_name(&self) -> &'static str {
        "bidirectional"
    }

    fn keywords(&self) -> &'static [&'static str] {
        &["layer", "merge_mode"]
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let nested = Nested::read(args, "layer", "Bidirectional(LSTM(32))", errors);
        let merge_mode = args.choice("merge_mode", "merge mode", MERGE_MODES, errors);
        let mut nested = nested?;
        let forward = nested.configure(Some(errors))?;
        let mut backward = nested.configure(None)?;
        if !backward.reverse_time() {
            args.error_at(
                "layer",
                format!(
                    "Bidirectional runs a recurrent layer (SimpleRNN, LSTM or GRU) both ways \
                     along the sequence, but receives {}",
                    nested.kind()
                ),
                errors,
            );
            return None;
        }
        Some(Box::new(Configured {
            nested,
            forward,
            backward,
            merge_mode: merge_mode?.unwrap_or("concat"),
            steps: 0,
            units: 0,
            input_len: 0,
        }))
    }
}

/// The layer's own buffers, after its two copies': each copy's output and its gradient,
/// and the input's gradient through the backward copy.
#[derive(Clone, Copy)]
enum Own {
    Forward,
    Backward,
    ForwardGrad,
    BackwardGrad,
    InputGrad,
}

impl Configured {
    fn forward_name(&self) -> String {
        format!("forward_{}", self.nested.name)
    }

    fn backward_name(&self) -> String {
        format!("backward_{}", self.nested.name)
    }

    /// The index in the layer's buffers of its own buffer `own`.
    fn own(&self, own: Own) -> usize {
        self.forward.buffers().len() + self.backward.buffers().len() + own as usize
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

    /// `io` for each copy: its parameters and buffers, its output in the layer's own
    /// buffer, and (for backward) its output's gradient, and the input's gradient in the
    /// layer's own buffer for the backward copy.
    fn copies(&self, io: &Io) -> (Io, Io) {
        let params = self.forward.params().len();
        let buffers = self.forward.buffers().len();
        let own_buffers = self.own(Own::Forward);
        let at = |own: Own| self.own(own);
        let forward = Io {
            y: io.bufs[at(Own::Forward)].clone(),
            y_ref: io.bufs_ref[at(Own::Forward)].clone(),
            dy: io.bufs_ref[at(Own::ForwardGrad)].clone(),
            params: io.params[..params].to_vec(),
            grads: io.grads[..params].to_vec(),
            bufs: io.bufs[..buffers].to_vec(),
            bufs_ref: io.bufs_ref[..buffers].to_vec(),
            ..io.clone()
        };
        let backward = Io {
            y: io.bufs[at(Own::Backward)].clone(),
            y_ref: io.bufs_ref[at(Own::Backward)].clone(),
            dy: io.bufs_ref[at(Own::BackwardGrad)].clone(),
            dx: io.dx.as_ref().map(|_| io.bufs[at(Own::InputGrad)].clone()),
            params: io.params[params..].to_vec(),
            grads: io.grads[params..].to_vec(),
            bufs: io.bufs[buffers..own_buffers].to_vec(),
            bufs_ref: io.bufs_ref[buffers..own_buffers].to_vec(),
            ..io.clone()
        };
        (forward, backward)
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        format!("Bidirectional({})", self.forward.label())
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let mut output = self.forward.infer(input)?;
        self.backward.infer(input)?;
        self.steps = if output.len() == 2 { output[0] } else { 1 };
        let units = output.last_mut().expect("a recurrent output has an axis");
        self.units = *units;
        if self.merge_mode == "concat" {
            *units *= 2;
        }
        self.input_len = input.iter().product();
        Ok(output)
    }

    fn returns_sequences(&self) -> bool {
        self.forward.returns_sequences()
    }

    fn params(&self) -> Vec<ParamSpec> {
        let prefixed = |layer: &dyn Layer, name: String| {
            layer.params().into_iter().map(move |p| ParamSpec {
                suffix: format!("{name}/{}", p.suffix),
                ..p
            })
        };
        prefixed(&*self.forward, self.forward_name())
            .chain(prefixed(&*self.backward, self.backward_name()))
            .collect()
    }

    fn buffers(&self) -> Vec<Buffer> {
        let output = self.steps * self.units;
        let mut buffers = self.forward.buffers();
        buffers.extend(self.backward.buffers());
        buffers.extend([output; 4].map(Buffer::floats));
        buffers.push(Buffer::floats(self.input_len));
        buffers
    }

    fn config_json(&self) -> String {
        let forward = self.nested.json(&self.forward_name(), &*self.forward, true);
        let backward = self
            .nested
            .json(&self.backward_name(), &*self.backward, true);
        format!(
            r#""merge_mode": "{}", "layer": {forward}, "backward_layer": {backward}"#,
            self.merge_mode
        )
    }

    fn forward(&self, io: &Io, training: bool) -> TokenStream {
        let k = krate();
        let (forward_io, backward_io) = self.copies(io);
        let forward = self.forward.forward(&forward_io, training);
        let backward = self.backward.forward(&backward_io, training);
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
        let (dyf, dyb) = (
            &io.bufs[self.own(Own::ForwardGrad)],
            &io.bufs[self.own(Own::BackwardGrad)],
        );
        let forward = self.forward.backward(&forward_io);
        let backward = self.backward.backward(&backward_io);
        let input_grad = io.dx.as_ref().map(|dx| {
            let dxb = &io.bufs_ref[self.own(Own::InputGrad)];
            quote!(#k::kernels::bidirectional_input_grad(#dx, #dxb);)
        });
        quote! {
            #k::kernels::bidirectional_backward(#merge, #yf, #yb, #dy, #dyf, #dyb, #steps, #units);
            #forward
            #backward
            #input_grad
        }
    }
}
