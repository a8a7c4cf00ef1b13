//! `SimpleRNN`, `LSTM` and `GRU(units, activation = tanh, recurrent_activation = sigmoid,
//! use_bias = true, kernel_initializer = glorot_uniform, recurrent_initializer =
//! orthogonal, bias_initializer = zeros, unit_forget_bias = true, dropout = 0,
//! recurrent_dropout = 0, return_sequences = false, return_state = false, go_backwards =
//! false, reset_after = true)`: Keras's recurrent layers on `[time, features]`, with
//! Keras's weights: `kernel` `[features, gates·units]`, `recurrent_kernel`
//! `[units, gates·units]`, `bias` (`[2, 3·units]` for a GRU with `reset_after`), gates
//! i, f, c, o (LSTM) and z, r, h (GRU). SimpleRNN has no `recurrent_activation`, only
//! LSTM has `unit_forget_bias`, only GRU `reset_after`.
//!
//! In the graph form, `return_state = true` makes a layer give its final states beside its
//! output, `let (output, h, c) = LSTM(32, return_state = true)(x);` (`(output, h)` for the
//! others), and `initial_state = [h, c]` (`[h]`) among the inputs of an application starts
//! it from given states: `LSTM(32)(x, initial_state = [h, c])`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::layers::activated::{activation_tokens, option};
use crate::layers::{Args, Buffer, Io, Layer, LayerKind, ParamSpec, ShapeError, krate, shape_str};
use crate::parse::LayerCall;

/// The three recurrent layers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Recurrent {
    SimpleRnn,
    Lstm,
    Gru,
}

struct Configured {
    cell: Recurrent,
    units: usize,
    activation: &'static str,
    recurrent_activation: &'static str,
    use_bias: bool,
    kernel_initializer: &'static str,
    recurrent_initializer: &'static str,
    bias_initializer: &'static str,
    unit_forget_bias: bool,
    reset_after: bool,
    dropout: f64,
    recurrent_dropout: f64,
    return_sequences: bool,
    /// Whether the layer gives its final states beside its output.
    return_state: bool,
    /// Whether this application starts from given states.
    initial_state: bool,
    go_backwards: bool,
    /// The input `[time, inputs]`.
    time: usize,
    inputs: usize,
}

impl Recurrent {
    /// `SimpleRNN`, `LSTM` or `GRU`.
    fn name(self) -> &'static str {
        match self {
            Recurrent::SimpleRnn => "SimpleRNN",
            Recurrent::Lstm => "LSTM",
            Recurrent::Gru => "GRU",
        }
    }

    /// The states the cell keeps, by name: `h`, and `c` for an LSTM.
    fn states(self) -> &'static [&'static str] {
        match self {
            Recurrent::Lstm => &["h", "c"],
            _ => &["h"],
        }
    }

    /// The output and the final states, by name: what `return_state = true` gives.
    fn output_and_states(self) -> &'static [&'static str] {
        match self {
            Recurrent::Lstm => &["output", "h", "c"],
            _ => &["output", "h"],
        }
    }
}

impl LayerKind for Recurrent {
    fn gives(&self, config: &LayerCall) -> &'static [&'static str] {
        let mut quiet = Errors::default();
        let args = Args::match_up(config, self.keywords(), &mut quiet);
        match args.boolean("return_state", &mut quiet) {
            Some(Some(true)) => self.output_and_states(),
            _ => &["output"],
        }
    }

    fn takes_initial_state(&self) -> bool {
        true
    }

    fn kind(&self) -> &'static str {
        self.name()
    }

    fn default_name(&self) -> &'static str {
        match self {
            Recurrent::SimpleRnn => "simple_rnn",
            Recurrent::Lstm => "lstm",
            Recurrent::Gru => "gru",
        }
    }

    fn keywords(&self) -> &'static [&'static str] {
        // Keras's order.
        match self {
            Recurrent::SimpleRnn => &[
                "units",
                "activation",
                "use_bias",
                "kernel_initializer",
                "recurrent_initializer",
                "bias_initializer",
                "dropout",
                "recurrent_dropout",
                "return_sequences",
                "return_state",
                "go_backwards",
            ],
            Recurrent::Lstm => &[
                "units",
                "activation",
                "recurrent_activation",
                "use_bias",
                "kernel_initializer",
                "recurrent_initializer",
                "bias_initializer",
                "unit_forget_bias",
                "dropout",
                "recurrent_dropout",
                "return_sequences",
                "return_state",
                "go_backwards",
            ],
            Recurrent::Gru => &[
                "units",
                "activation",
                "recurrent_activation",
                "use_bias",
                "kernel_initializer",
                "recurrent_initializer",
                "bias_initializer",
                "dropout",
                "recurrent_dropout",
                "return_sequences",
                "return_state",
                "go_backwards",
                "reset_after",
            ],
        }
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Layer>> {
        let kind = self.kind();
        let units = args.positive("units", errors);
        let activation = args.activation("activation", errors);
        let recurrent_activation = args.activation("recurrent_activation", errors);
        let use_bias = args.boolean("use_bias", errors);
        let kernel_initializer = args.initializer("kernel_initializer", errors);
        let recurrent_initializer = args.initializer("recurrent_initializer", errors);
        let bias_initializer = args.initializer("bias_initializer", errors);
        let unit_forget_bias = args.boolean("unit_forget_bias", errors);
        let dropout_what = format!("`dropout` of {kind}");
        let dropout = args.rate("dropout", &dropout_what, "input features", errors);
        let recurrent_what = format!("`recurrent_dropout` of {kind}");
        let recurrent_dropout =
            args.rate("recurrent_dropout", &recurrent_what, "state values", errors);
        let return_sequences = args.boolean("return_sequences", errors);
        let return_state = args.boolean("return_state", errors);
        let go_backwards = args.boolean("go_backwards", errors);
        let reset_after = args.boolean("reset_after", errors);
        let Some(units) = units? else {
            args.missing("units", &format!("{kind}(32)"), errors);
            return None;
        };
        let bias_initializer = bias_initializer?.unwrap_or("zeros");
        let unit_forget_bias = *self == Recurrent::Lstm && unit_forget_bias?.unwrap_or(true);
        if unit_forget_bias && !["zeros", "ones"].contains(&bias_initializer) {
            args.error_at(
                "bias_initializer",
                format!(
                    "with unit_forget_bias = true (the default) {kind} starts its forget \
                     gate's bias at one and the rest at zero, as Keras documents; pass \
                     unit_forget_bias = false to draw the whole bias from {bias_initializer}"
                ),
                errors,
            );
            return None;
        }
        Some(Box::new(Configured {
            cell: *self,
            units,
            activation: activation?.unwrap_or("tanh"),
            recurrent_activation: recurrent_activation?.unwrap_or("sigmoid"),
            use_bias: use_bias?.unwrap_or(true),
            kernel_initializer: kernel_initializer?.unwrap_or("glorot_uniform"),
            recurrent_initializer: recurrent_initializer?.unwrap_or("orthogonal"),
            bias_initializer,
            unit_forget_bias,
            reset_after: reset_after?.unwrap_or(true),
            dropout: dropout?.unwrap_or(0.0),
            recurrent_dropout: recurrent_dropout?.unwrap_or(0.0),
            return_sequences: return_sequences?.unwrap_or(false),
            return_state: return_state?.unwrap_or(false),
            initial_state: false,
            go_backwards: go_backwards?.unwrap_or(false),
            time: 0,
            inputs: 0,
        }))
    }
}

impl Configured {
    fn kind(&self) -> &'static str {
        self.cell.name()
    }

    /// The output's shape: every step's state, or the last one's.
    fn output_shape(&self) -> Vec<usize> {
        if self.return_sequences {
            vec![self.time, self.units]
        } else {
            vec![self.units]
        }
    }

    /// The lengths of the output and of each state per sample: how the packed output of
    /// `return_state` splits.
    fn part_lens(&self) -> Vec<usize> {
        let parts = self.parts();
        parts.iter().map(|shape| shape.iter().product()).collect()
    }

    /// The `States` of `h` and, for an LSTM, `c`, as code, from the expressions of
    /// `states` (`States` or `StatesMut`).
    fn states_code(&self, kind: TokenStream, states: &[TokenStream]) -> TokenStream {
        let k = krate();
        let h = &states[0];
        let c = option(states.get(1));
        quote!(#k::kernels::#kind { h: #h, c: #c })
    }

    /// Columns of the kernels.
    fn gates(&self) -> usize {
        let blocks = match self.cell {
            Recurrent::SimpleRnn => 1,
            Recurrent::Lstm => 4,
            Recurrent::Gru => 3,
        };
        blocks * self.units
    }

    /// The runtime's `Recurrence`, as an expression.
    fn recurrence(&self) -> TokenStream {
        let k = krate();
        let activation = activation_tokens(self.activation);
        let recurrent_activation = activation_tokens(self.recurrent_activation);
        let cell = match self.cell {
            Recurrent::SimpleRnn => {
                quote!(#k::kernels::Cell::SimpleRnn { activation: #activation })
            }
            Recurrent::Lstm => quote! {
                #k::kernels::Cell::Lstm {
                    activation: #activation,
                    recurrent_activation: #recurrent_activation,
                }
            },
            Recurrent::Gru => {
                let reset_after = self.reset_after;
                quote! {
                    #k::kernels::Cell::Gru {
                        activation: #activation,
                        recurrent_activation: #recurrent_activation,
                        reset_after: #reset_after,
                    }
                }
            }
        };
        let (time, inputs, units) = (self.time, self.inputs, self.units);
        let (return_sequences, go_backwards) = (self.return_sequences, self.go_backwards);
        let initial_state = self.initial_state;
        let (dropout, recurrent_dropout) = (self.dropout, self.recurrent_dropout);
        quote! {
            #k::kernels::Recurrence {
                cell: #cell,
                time: #time,
                inputs: #inputs,
                units: #units,
                return_sequences: #return_sequences,
                go_backwards: #go_backwards,
                initial_state: #initial_state,
                dropout: #dropout,
                recurrent_dropout: #recurrent_dropout,
            }
        }
    }

    /// `code` with `RECURRENCE` in scope.
    fn with_recurrence(&self, code: TokenStream) -> TokenStream {
        let k = krate();
        let recurrence = self.recurrence();
        quote! {
            {
                const RECURRENCE: #k::kernels::Recurrence = #recurrence;
                #code
            }
        }
    }

    fn weights(&self, io: &Io) -> TokenStream {
        let k = krate();
        let (kernel, recurrent) = (&io.params[0], &io.params[1]);
        let bias = option(io.params.get(2));
        quote! {
            #k::kernels::RecurrentWeights { kernel: #kernel, recurrent_kernel: #recurrent, bias: #bias }
        }
    }

    /// The help for an input that is not `[time, features]`.
    fn reshape_help(&self, input: &[usize]) -> String {
        let kind = self.kind();
        match input {
            &[n] => {
                // The divisor nearest to √n: 784 reads as 28 steps of 28.
                let steps = (1..=n)
                    .rev()
                    .find(|d| n % d == 0 && d * d <= n)
                    .unwrap_or(1);
                let (time, features) = if steps == 1 {
                    (n, 1)
                } else {
                    (steps, n / steps)
                };
                format!(
                    "to read the vector as a sequence, put Reshape({}) before {kind} ({time} \
                     steps of {features} features); {kind} belongs before Dense, which makes \
                     vectors",
                    shape_str(&[time, features])
                )
            }
            [time, rest @ ..] => format!(
                "to read the input as a sequence of {time} steps, put Reshape({}) before \
                 {kind}",
                shape_str(&[*time, rest.iter().product()])
            ),
            [] => String::new(),
        }
    }
}

impl Layer for Configured {
    fn label(&self) -> String {
        let sequences = match self.return_sequences {
            true => ", return_sequences = true",
            false => "",
        };
        let state = match self.return_state {
            true => ", return_state = true",
            false => "",
        };
        format!("{}({}{sequences}{state})", self.kind(), self.units)
    }

    fn infer(&mut self, input: &[usize]) -> Result<Vec<usize>, ShapeError> {
        let &[time, inputs] = input else {
            return Err(ShapeError::new(format!(
                "{} needs a 2-D input [time, features], but receives {}",
                self.kind(),
                shape_str(input)
            ))
            .help(self.reshape_help(input)));
        };
        self.time = time;
        self.inputs = inputs;
        let parts = self.parts();
        Ok(match &parts[..] {
            [] => self.output_shape(),
            // The output and the final states, packed.
            parts => vec![parts.iter().map(|p| p.iter().product::<usize>()).sum()],
        })
    }

    fn start_from(&mut self, shapes: &[Vec<usize>]) -> Result<(), ShapeError> {
        let (label, units) = (self.label(), self.units);
        let states = self.cell.states();
        let names = format!("[{}]", states.join(", "));
        let each = shape_str(&[units]);
        let help = || format!("give initial_state = {names}, each {each}");
        if shapes.len() != states.len() {
            let count = match states.len() {
                1 => "one state".to_string(),
                n => format!("{n} states"),
            };
            return Err(ShapeError::new(format!(
                "{label} starts from {count}, {names}, each {each}, but initial_state gives {}",
                shapes.len()
            ))
            .help(help()));
        }
        if let Some((name, shape)) = states.iter().zip(shapes).find(|(_, s)| **s != [units]) {
            return Err(ShapeError::new(format!(
                "{label} keeps its state {name} as {each} (its units), but initial_state gives \
                 {}",
                shape_str(shape)
            ))
            .help(help()));
        }
        self.initial_state = true;
        Ok(())
    }

    fn parts(&self) -> Vec<Vec<usize>> {
        if !self.return_state {
            return Vec::new();
        }
        let states = self.cell.states().iter().map(|_| vec![self.units]);
        std::iter::once(self.output_shape()).chain(states).collect()
    }

    fn returns_sequences(&self) -> bool {
        self.return_sequences
    }

    fn reverse_time(&mut self) -> bool {
        self.go_backwards = !self.go_backwards;
        true
    }

    fn params(&self) -> Vec<ParamSpec> {
        let (inputs, units, gates) = (self.inputs, self.units, self.gates());
        let mut params = vec![
            ParamSpec {
                suffix: "kernel".into(),
                shape: vec![inputs, gates],
                initializer: self.kernel_initializer,
                fan_in: inputs,
                fan_out: gates,
                trainable: true,
            },
            ParamSpec {
                suffix: "recurrent_kernel".into(),
                shape: vec![units, gates],
                initializer: self.recurrent_initializer,
                fan_in: units,
                fan_out: gates,
                trainable: true,
            },
        ];
        if self.use_bias {
            let gru_after = self.cell == Recurrent::Gru && self.reset_after;
            let shape = if gru_after {
                vec![2, gates]
            } else {
                vec![gates]
            };
            let forget_at_one = self.unit_forget_bias && self.bias_initializer == "zeros";
            params.push(ParamSpec {
                suffix: "bias".into(),
                shape,
                initializer: if forget_at_one {
                    "unit_forget_bias"
                } else {
                    self.bias_initializer
                },
                fan_in: gates,
                fan_out: gates,
                trainable: true,
            });
        }
        params
    }

    fn buffers(&self) -> Vec<Buffer> {
        vec![Buffer::scratch(
            self.with_recurrence(quote!(RECURRENCE.cache_len(batch))),
        )]
    }

    fn config_json(&self) -> String {
        let mut config = format!(
            r#""return_sequences": {}, "return_state": {}, "go_backwards": {}, "stateful": false, "unroll": false, "zero_output_for_mask": false, "units": {}, "activation": "{}", "#,
            self.return_sequences,
            self.return_state,
            self.go_backwards,
            self.units,
            self.activation
        );
        if self.cell != Recurrent::SimpleRnn {
            config += &format!(
                r#""recurrent_activation": "{}", "#,
                self.recurrent_activation
            );
        }
        config += &format!(
            r#""use_bias": {}, "kernel_initializer": "{}", "recurrent_initializer": "{}", "bias_initializer": "{}", "#,
            self.use_bias,
            self.kernel_initializer,
            self.recurrent_initializer,
            self.bias_initializer
        );
        if self.cell == Recurrent::Lstm {
            config += &format!(r#""unit_forget_bias": {}, "#, self.unit_forget_bias);
        }
        config += &format!(
            r#""dropout": {:?}, "recurrent_dropout": {:?}, "#,
            self.dropout, self.recurrent_dropout
        );
        if self.cell == Recurrent::Gru {
            config += &format!(r#""reset_after": {}, "#, self.reset_after);
        }
        config + r#""seed": null"#
    }

    fn forward(&self, io: &Io, training: bool) -> TokenStream {
        let k = krate();
        let (n, x, cache) = (&io.n, &io.xs[0], &io.bufs[0]);
        let weights = self.weights(io);
        let rng = &io.rng;
        // Training keeps every step's values for the backward pass; inference (no
        // generator) only what the next step reads.
        let training = if training {
            quote!(::core::option::Option::Some(&mut *#rng))
        } else {
            quote!(::core::option::Option::None)
        };
        let initial = option(
            self.initial_state
                .then(|| self.states_code(quote!(States), &io.xs[1..]))
                .as_ref(),
        );
        let (split, y, last) = self.split_output(n, &io.y, [quote!(split_mut), quote!(StatesMut)]);
        self.with_recurrence(quote! {
            #split
            #k::kernels::recurrent_forward(
                &RECURRENCE,
                #n,
                #x,
                #weights,
                #y,
                #k::kernels::RunStates { initial: #initial, last: #last },
                #cache,
                #training,
            );
        })
    }

    fn backward(&self, io: &Io) -> TokenStream {
        let states_need_none = io.dxs.iter().skip(1).all(Option::is_none);
        if io.dx.is_none() && states_need_none && io.grads.iter().all(Option::is_none) {
            return TokenStream::new();
        }
        let k = krate();
        let (n, cache) = (&io.n, &io.bufs[0]);
        let weights = self.weights(io);
        let dx = option(io.dx.as_ref());
        let grad = |i: usize| option(io.grads.get(i).and_then(Option::as_ref));
        let (dkernel, drecurrent, dbias) = (grad(0), grad(1), grad(2));
        let state_grad = |i: usize| option(io.dxs.get(i).and_then(Option::as_ref));
        let (dh0, dc0) = (state_grad(1), state_grad(2));
        let (split, dy, dlast) = self.split_output(n, &io.dy, [quote!(split), quote!(States)]);
        self.with_recurrence(quote! {
            #split
            #k::kernels::recurrent_backward(
                &RECURRENCE,
                #n,
                #weights,
                #dy,
                #dx,
                #k::kernels::RecurrentGrads {
                    kernel: #dkernel,
                    recurrent_kernel: #drecurrent,
                    bias: #dbias,
                },
                #k::kernels::RunStateGrads { last: #dlast, initial_h: #dh0, initial_c: #dc0 },
                #cache,
            );
        })
    }
}

impl Configured {
    /// With `return_state`, the code that splits the packed `output` of `n` samples (or
    /// its gradient) with `split` into the output and the final states, then these two as
    /// expressions (the states as `Option<kind>`); without, `output` and `None`.
    fn split_output(
        &self,
        n: &TokenStream,
        output: &TokenStream,
        [split, kind]: [TokenStream; 2],
    ) -> (TokenStream, TokenStream, TokenStream) {
        let none = quote!(::core::option::Option::None);
        if !self.return_state {
            return (TokenStream::new(), output.clone(), none);
        }
        let k = krate();
        let lens = self.part_lens();
        let names: Vec<TokenStream> = ["__output", "__h", "__c"][..lens.len()]
            .iter()
            .map(|name| {
                let ident = proc_macro2::Ident::new(name, proc_macro2::Span::call_site());
                quote!(#ident)
            })
            .collect();
        let code = quote! {
            let [#(#names),*] = #k::__private::#split(#output, [#(#lens),*].map(|len| #n * len));
        };
        let states = self.states_code(kind, &names[1..]);
        (
            code,
            names[0].clone(),
            quote!(::core::option::Option::Some(#states)),
        )
    }
}
