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
use strata_vocabulary::{Activation, Initializer};

use crate::errors::Errors;
use crate::json::Json;
use crate::layers::activated::activation_tokens;
use crate::layers::penalties::{self, Held};
use crate::layers::{
    Args, Buffer, Built, Capabilities, Config, ConfigCapabilities, Inputs, Io, LayerKind, Mode,
    Output, RecurrentConfig, ShapeError, Weight, krate, option, shape_str,
};

/// The cache of every step's values, for the backward pass.
const CACHE: &str = "cache";

/// The three recurrent layers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Recurrent {
    SimpleRnn,
    Lstm,
    Gru,
}

#[derive(Clone)]
struct RnnConfig {
    cell: Recurrent,
    units: usize,
    activation: Activation,
    recurrent_activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    recurrent_initializer: Initializer,
    bias_initializer: Initializer,
    unit_forget_bias: bool,
    reset_after: bool,
    dropout: f64,
    recurrent_dropout: f64,
    return_sequences: bool,
    /// Whether the layer gives its final states beside its output.
    return_state: bool,
    go_backwards: bool,
    kernel: Held,
    recurrent: Held,
    bias: Held,
}

struct RnnLayer {
    config: RnnConfig,
    /// Whether this application starts from given states.
    initial_state: bool,
    /// The input `[time, inputs]`.
    time: usize,
    inputs: usize,
}

impl Recurrent {
    /// `SimpleRNN`, `LSTM` or `GRU`.
    fn kind(self) -> &'static str {
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
    fn name(&self) -> &'static str {
        self.kind()
    }

    fn default_name(&self) -> &'static str {
        match self {
            Recurrent::SimpleRnn => "simple_rnn",
            Recurrent::Lstm => "lstm",
            Recurrent::Gru => "gru",
        }
    }

    fn arguments(&self) -> &'static [&'static str] {
        // Keras's order.
        match self {
            Recurrent::SimpleRnn => &[
                "units",
                "activation",
                "use_bias",
                "kernel_initializer",
                "recurrent_initializer",
                "bias_initializer",
                "kernel_regularizer",
                "recurrent_regularizer",
                "bias_regularizer",
                "kernel_constraint",
                "recurrent_constraint",
                "bias_constraint",
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
                "kernel_regularizer",
                "recurrent_regularizer",
                "bias_regularizer",
                "kernel_constraint",
                "recurrent_constraint",
                "bias_constraint",
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
                "kernel_regularizer",
                "recurrent_regularizer",
                "bias_regularizer",
                "kernel_constraint",
                "recurrent_constraint",
                "bias_constraint",
                "dropout",
                "recurrent_dropout",
                "return_sequences",
                "return_state",
                "go_backwards",
                "reset_after",
            ],
        }
    }

    fn configure(&self, args: &Args, errors: &mut Errors) -> Option<Box<dyn Config>> {
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
        let kernel = Held::read(args, "kernel_regularizer", "kernel_constraint", errors);
        let recurrent = Held::read(
            args,
            "recurrent_regularizer",
            "recurrent_constraint",
            errors,
        );
        let bias = Held::read(args, "bias_regularizer", "bias_constraint", errors);
        let Some(units) = units? else {
            args.missing("units", &format!("{kind}(32)"), errors);
            return None;
        };
        let bias_initializer = bias_initializer?.unwrap_or(Initializer::Zeros);
        let unit_forget_bias = *self == Recurrent::Lstm && unit_forget_bias?.unwrap_or(true);
        if unit_forget_bias && ![Initializer::Zeros, Initializer::Ones].contains(&bias_initializer)
        {
            args.error_at(
                "bias_initializer",
                format!(
                    "with unit_forget_bias = true (the default) {kind} starts its forget \
                     gate's bias at one and the rest at zero, as Keras documents; pass \
                     unit_forget_bias = false to draw the whole bias from {}",
                    bias_initializer.name()
                ),
                errors,
            );
            return None;
        }
        Some(Box::new(RnnConfig {
            cell: *self,
            units,
            activation: activation?.unwrap_or(Activation::Tanh),
            recurrent_activation: recurrent_activation?.unwrap_or(Activation::Sigmoid),
            use_bias: use_bias?.unwrap_or(true),
            kernel_initializer: kernel_initializer?.unwrap_or(Initializer::GlorotUniform),
            recurrent_initializer: recurrent_initializer?.unwrap_or(Initializer::Orthogonal),
            bias_initializer,
            unit_forget_bias,
            reset_after: reset_after?.unwrap_or(true),
            dropout: dropout?.unwrap_or(0.0),
            recurrent_dropout: recurrent_dropout?.unwrap_or(0.0),
            return_sequences: return_sequences?.unwrap_or(false),
            return_state: return_state?.unwrap_or(false),
            go_backwards: go_backwards?.unwrap_or(false),
            kernel: kernel?,
            recurrent: recurrent?,
            bias: bias?,
        }))
    }
}

impl RnnConfig {
    fn kind(&self) -> &'static str {
        self.cell.kind()
    }
}

impl Config for RnnConfig {
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

    fn gives(&self) -> &'static [&'static str] {
        match self.return_state {
            true => self.cell.output_and_states(),
            false => &["output"],
        }
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.label())?;
        let &[time, features] = input else {
            return Err(ShapeError::new(format!(
                "{} needs a 2-D input [time, features], but receives {}",
                self.kind(),
                shape_str(input)
            ))
            .help(self.reshape_help(input)));
        };
        Ok(Box::new(RnnLayer {
            config: self.clone(),
            initial_state: !inputs.states.is_empty(),
            time,
            inputs: features,
        }))
    }

    fn capabilities(&self) -> ConfigCapabilities<'_> {
        ConfigCapabilities {
            recurrent: Some(self),
            ..ConfigCapabilities::default()
        }
    }
}

impl RecurrentConfig for RnnConfig {
    fn check_states(&self, shapes: &[Vec<usize>]) -> Result<(), ShapeError> {
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
        Ok(())
    }

    fn reversed(&self) -> Box<dyn Config> {
        Box::new(RnnConfig {
            go_backwards: !self.go_backwards,
            ..self.clone()
        })
    }
}

impl RnnLayer {
    /// The output's shape: every step's state, or the last one's.
    fn output_shape(&self) -> Vec<usize> {
        if self.config.return_sequences {
            vec![self.time, self.config.units]
        } else {
            vec![self.config.units]
        }
    }

    /// The output and, with `return_state`, the final states.
    fn parts(&self) -> Vec<Vec<usize>> {
        let states = self
            .config
            .cell
            .states()
            .iter()
            .map(|_| vec![self.config.units]);
        std::iter::once(self.output_shape()).chain(states).collect()
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
        let blocks = match self.config.cell {
            Recurrent::SimpleRnn => 1,
            Recurrent::Lstm => 4,
            Recurrent::Gru => 3,
        };
        self.config.units.saturating_mul(blocks)
    }

    /// The runtime's `Recurrence`, as an expression.
    fn recurrence(&self) -> TokenStream {
        let k = krate();
        let config = &self.config;
        let activation = activation_tokens(config.activation);
        let recurrent_activation = activation_tokens(config.recurrent_activation);
        let cell = match config.cell {
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
                let reset_after = config.reset_after;
                quote! {
                    #k::kernels::Cell::Gru {
                        activation: #activation,
                        recurrent_activation: #recurrent_activation,
                        reset_after: #reset_after,
                    }
                }
            }
        };
        let (time, inputs, units) = (self.time, self.inputs, config.units);
        let (return_sequences, go_backwards) = (config.return_sequences, config.go_backwards);
        let initial_state = self.initial_state;
        let (dropout, recurrent_dropout) = (config.dropout, config.recurrent_dropout);
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

    /// The runtime's `RecurrentWeights` of the layer's tensors.
    fn weight_code(&self, io: &Io) -> TokenStream {
        let k = krate();
        let (kernel, recurrent) = (&io.params[0], &io.params[1]);
        let bias = option(io.params.get(2));
        quote! {
            #k::kernels::RecurrentWeights { kernel: #kernel, recurrent_kernel: #recurrent, bias: #bias }
        }
    }
}

impl RnnConfig {
    /// The help for an input that is not `[time, features]`.
    fn reshape_help(&self, input: &[usize]) -> String {
        let kind = self.kind();
        match input {
            &[n] => {
                // The divisor nearest to √n: 784 reads as 28 steps of 28 (looked for only
                // among sizes small enough to search).
                let steps = (1..=n.isqrt())
                    .rev()
                    .take(1 << 20)
                    .find(|d| n % d == 0)
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

impl Built for RnnLayer {
    fn label(&self) -> String {
        self.config.label()
    }

    fn output(&self) -> Output {
        match self.config.return_state {
            // The output and the final states, packed.
            true => Output::Several(self.parts()),
            false => Output::One(self.output_shape()),
        }
    }

    fn weights(&self) -> Vec<Weight> {
        let config = &self.config;
        let (inputs, units, gates) = (self.inputs, config.units, self.gates());
        let kernel = Weight::new("kernel", vec![inputs, gates], config.kernel_initializer);
        let recurrent = Weight::new(
            "recurrent_kernel",
            vec![units, gates],
            config.recurrent_initializer,
        );
        let mut weights = vec![config.kernel.hold(kernel), config.recurrent.hold(recurrent)];
        if config.use_bias {
            let gru_after = config.cell == Recurrent::Gru && config.reset_after;
            let shape = if gru_after {
                vec![2, gates]
            } else {
                vec![gates]
            };
            let forget_at_one =
                config.unit_forget_bias && config.bias_initializer == Initializer::Zeros;
            let initializer = if forget_at_one {
                Initializer::UnitForgetBias
            } else {
                config.bias_initializer
            };
            let bias = Weight::new("bias", shape, initializer).fans(gates, gates);
            weights.push(config.bias.hold(bias));
        }
        weights
    }

    fn buffers(&self) -> Vec<Buffer> {
        vec![Buffer::scratch(
            CACHE,
            self.with_recurrence(quote!(RECURRENCE.cache_len(batch))),
        )]
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        let c = &self.config;
        let mut config = vec![
            ("return_sequences", Json::Bool(c.return_sequences)),
            ("return_state", Json::Bool(c.return_state)),
            ("go_backwards", Json::Bool(c.go_backwards)),
            ("stateful", Json::Bool(false)),
            ("unroll", Json::Bool(false)),
            ("zero_output_for_mask", Json::Bool(false)),
            ("units", Json::from(c.units)),
            ("activation", Json::str(c.activation.name())),
        ];
        if c.cell != Recurrent::SimpleRnn {
            config.push((
                "recurrent_activation",
                Json::str(c.recurrent_activation.name()),
            ));
        }
        config.extend([
            ("use_bias", Json::Bool(c.use_bias)),
            ("kernel_initializer", Json::str(c.kernel_initializer.name())),
            (
                "recurrent_initializer",
                Json::str(c.recurrent_initializer.name()),
            ),
            ("bias_initializer", Json::str(c.bias_initializer.name())),
        ]);
        if c.cell == Recurrent::Lstm {
            config.push(("unit_forget_bias", Json::Bool(c.unit_forget_bias)));
        }
        config.extend(penalties::config(&[&c.kernel, &c.recurrent, &c.bias]));
        config.extend([
            ("dropout", Json::from(c.dropout)),
            ("recurrent_dropout", Json::from(c.recurrent_dropout)),
        ]);
        if c.cell == Recurrent::Gru {
            config.push(("reset_after", Json::Bool(c.reset_after)));
        }
        config.push(("seed", Json::Null));
        config
    }

    fn forward(&self, io: &Io, mode: Mode) -> TokenStream {
        let k = krate();
        let (n, x, cache) = (&io.n, io.x(), io.buf(CACHE));
        let weights = self.weight_code(io);
        let rng = &io.rng;
        // Training keeps every step's values for the backward pass; inference (no
        // generator) only what the next step reads.
        let training = match mode {
            Mode::Training => quote!(::core::option::Option::Some(&mut *#rng)),
            Mode::Inference => quote!(::core::option::Option::None),
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
        if io.needs_no_backward() {
            return TokenStream::new();
        }
        let k = krate();
        let (n, cache) = (&io.n, io.buf(CACHE));
        let weights = self.weight_code(io);
        let dx = option(io.dx());
        let (dkernel, drecurrent, dbias) =
            (option(io.grad(0)), option(io.grad(1)), option(io.grad(2)));
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

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            returns_sequences: self.config.return_sequences,
            ..Capabilities::default()
        }
    }
}

impl RnnLayer {
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
        if !self.config.return_state {
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
