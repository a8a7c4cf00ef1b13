//! Stage 4: a checked model -> its struct, workspace, constants and `Model` impl.
//!
//! The generated code owns the structure and calls the runtime's kernels for the
//! arithmetic: it holds no loops of its own.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, format_ident, quote};

use crate::graph::{INPUT, Node, ValueId};
use crate::layers::{Buffer, BufferLen, Io, json_list, krate};
use crate::names;
use crate::parse::ModelDef;
use crate::shapes::Checked;

/// Where a value lives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Storage {
    /// The model's input slice.
    Input,
    /// The activation buffer `a{v}` of value `v`.
    Own(ValueId),
}

/// The full expansion of a checked model.
pub fn model(checked: &Checked) -> TokenStream {
    let plan = Plan::new(checked);
    let def = checked.graph.def;
    let k = krate();
    let name = &def.name;
    let workspace = workspace_ident(def);
    let declarations = declarations(def, &plan.workspace_fields());
    let constants = constants(checked);
    let prepare = plan.prepare();
    let forward = plan.forward(false);
    let forward_train = plan.forward(true);
    let backward = plan.backward();
    let update_state = update_state(checked);
    let new = constructors(def, &plan.initialization());
    let predict_one = predict_one(def, checked.shapes[checked.graph.output].as_slice());
    quote! {
        #declarations

        impl<F: #k::Float> #k::Model for #name<F> {
            type Float = F;
            type Workspace = #workspace<F>;
            #constants

            fn params(&self) -> &[F] {
                &self.params
            }

            fn params_mut(&mut self) -> &mut [F] {
                &mut self.params
            }

            fn prepare(ws: &mut Self::Workspace, batch: usize) {
                #prepare
            }

            #[allow(unused_variables)]
            fn forward<'w>(&self, ws: &'w mut Self::Workspace, input: &[F], n: usize) -> &'w [F] {
                #k::__private::check_batch(ws.capacity, n, input.len(), <Self as #k::Model>::INPUT_SIZE);
                #forward
            }

            #[allow(unused_variables)]
            fn forward_train<'w>(
                &self,
                ws: &'w mut Self::Workspace,
                input: &[F],
                n: usize,
                rng: &mut #k::Rng,
            ) -> &'w [F] {
                #k::__private::check_batch(ws.capacity, n, input.len(), <Self as #k::Model>::INPUT_SIZE);
                #forward_train
            }

            #[allow(unused_variables)]
            fn backward(
                &self,
                ws: &mut Self::Workspace,
                input: &[F],
                n: usize,
                output_grad: &[F],
                grads: &mut [F],
            ) {
                #backward
            }

            #update_state
        }

        #new
        #predict_one
    }
}

/// `Model::update_state`: each layer's update of its non-trainable state from the lanes of
/// a training step (BatchNormalization's moving statistics), with every parameter tensor
/// bound as `&mut [F]` and the buffers of a lane's workspace as in the training forward;
/// nothing when no layer has state, which keeps the trait's no-op.
fn update_state(checked: &Checked) -> TokenStream {
    let plan = Plan::new(checked);
    let param = |i: usize| format_ident!("p{}", i);
    let updates: TokenStream = checked
        .layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let mut io = plan.io(i, true);
            io.params = layer
                .params
                .clone()
                .map(|p| param(p).into_token_stream())
                .collect();
            layer.layer.update_state(&io)
        })
        .collect();
    if updates.is_empty() {
        return TokenStream::new();
    }
    let k = krate();
    let params = (0..checked.params.len()).map(param);
    let lens = checked.params.iter().map(|p| p.len);
    quote! {
        #[allow(unused_variables)]
        fn update_state<'w>(
            &mut self,
            lanes: impl ::core::iter::Iterator<Item = (&'w Self::Workspace, usize)> + ::core::clone::Clone,
        ) {
            let [#(#params),*] = #k::__private::split_mut(&mut self.params, [#(#lens),*]);
            #updates
        }
    }
}

/// What a model that failed its checks still gets, so that the user's code that uses it
/// does not bury the real error under secondary ones.
pub fn stub(def: &ModelDef) -> TokenStream {
    let k = krate();
    let name = &def.name;
    let workspace = workspace_ident(def);
    let declarations = declarations(def, &[]);
    let input = &def.input.dims;
    let output = def.output.as_ref().map_or(vec![1], |o| o.dims.clone());
    let (input_size, output_size) = (product(input), product(&output));
    let model_name = name.to_string();
    let new = constructors(def, &TokenStream::new());
    let predict_one = predict_one(def, &output);
    quote! {
        #declarations

        impl<F: #k::Float> #k::Model for #name<F> {
            type Float = F;
            type Workspace = #workspace<F>;
            const NAME: &'static str = #model_name;
            const INPUT_SHAPE: &'static [usize] = &[#(#input),*];
            const OUTPUT_SHAPE: &'static [usize] = &[#(#output),*];
            const INPUT_SIZE: usize = #input_size;
            const OUTPUT_SIZE: usize = #output_size;
            const PARAM_COUNT: usize = 0;
            const TRAINABLE_PARAM_COUNT: usize = 0;
            const LAYERS: &'static [#k::LayerInfo] = &[];
            const PARAMS: &'static [#k::ParamInfo] = &[];
            const ARCHITECTURE_JSON: &'static str = "{}";
            fn params(&self) -> &[F] { &self.params }
            fn params_mut(&mut self) -> &mut [F] { &mut self.params }
            fn prepare(_: &mut Self::Workspace, _: usize) {}
            fn forward<'w>(&self, _: &'w mut Self::Workspace, _: &[F], _: usize) -> &'w [F] {
                ::core::unimplemented!()
            }
            fn forward_train<'w>(&self, _: &'w mut Self::Workspace, _: &[F], _: usize, _: &mut #k::Rng) -> &'w [F] {
                ::core::unimplemented!()
            }
            fn backward(&self, _: &mut Self::Workspace, _: &[F], _: usize, _: &[F], _: &mut [F]) {
                ::core::unimplemented!()
            }
        }

        #new
        #predict_one
    }
}

fn workspace_ident(def: &ModelDef) -> Ident {
    format_ident!("{}Workspace", def.name)
}

fn product(dims: &[usize]) -> usize {
    dims.iter().product()
}

/// The model's struct and its workspace's.
fn declarations(def: &ModelDef, fields: &[(Ident, bool)]) -> TokenStream {
    let k = krate();
    let ModelDef {
        attrs, vis, name, ..
    } = def;
    let workspace = workspace_ident(def);
    let name_str = name.to_string();
    let workspace_doc = format!("Activations and caches of [`{name}`] for one batch size.");
    let fields = fields.iter().map(|(field, indices)| {
        if *indices {
            quote!(#field: ::std::vec::Vec<u32>)
        } else {
            quote!(#field: ::std::vec::Vec<F>)
        }
    });
    quote! {
        #(#attrs)*
        #vis struct #name<F: #k::Float = f32> {
            params: ::std::vec::Vec<F>,
            scratch: ::std::sync::Mutex<#workspace<F>>,
        }

        #[doc = #workspace_doc]
        #[doc(hidden)]
        #[derive(Default)]
        #vis struct #workspace<F> {
            capacity: usize,
            #(#fields,)*
            float: ::core::marker::PhantomData<F>,
        }

        impl<F: #k::Float> ::core::clone::Clone for #name<F> {
            fn clone(&self) -> Self {
                Self {
                    params: self.params.clone(),
                    scratch: ::core::default::Default::default(),
                }
            }
        }

        impl<F: #k::Float> ::core::fmt::Debug for #name<F> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name_str)
                    .field("params", &self.params.len())
                    .finish_non_exhaustive()
            }
        }
    }
}

/// `new` (for `f32`, so that `Mlp::new(seed)` needs no annotation) and `seeded` (any float).
fn constructors(def: &ModelDef, initialization: &TokenStream) -> TokenStream {
    let k = krate();
    let name = &def.name;
    let vis = &def.vis;
    let new_doc =
        format!("A new `{name}` in `f32`, its weights drawn from their initializers with `seed`.");
    quote! {
        impl #name<f32> {
            #[doc = #new_doc]
            #vis fn new(seed: impl ::core::convert::Into<#k::Seed>) -> Self {
                Self::seeded(seed)
            }
        }

        impl<F: #k::Float> #name<F> {
            /// A new model in the float type `F`, its weights drawn with `seed`.
            #[allow(unused_variables, unused_mut)]
            #vis fn seeded(seed: impl ::core::convert::Into<#k::Seed>) -> Self {
                let mut rng = ::core::convert::Into::<#k::Seed>::into(seed).rng();
                let mut params = ::std::vec![F::default(); <Self as #k::Model>::PARAM_COUNT];
                #initialization
                Self {
                    params,
                    scratch: ::core::default::Default::default(),
                }
            }
        }
    }
}

/// `predict_one(&[F; IN]) -> [F; OUT]`, for a model whose input and output are 1-D.
fn predict_one(def: &ModelDef, output: &[usize]) -> TokenStream {
    let ([input], [output]) = (def.input.dims.as_slice(), output) else {
        return TokenStream::new();
    };
    let k = krate();
    let name = &def.name;
    let vis = &def.vis;
    quote! {
        impl<F: #k::Float> #name<F> {
            /// The model's output for one sample. A wrongly sized array does not compile.
            #vis fn predict_one(&self, x: &[F; #input]) -> [F; #output] {
                let mut y = [F::default(); #output];
                #k::__private::predict_one(self, &self.scratch, x, &mut y);
                y
            }
        }
    }
}

/// The constants of the `Model` impl.
fn constants(checked: &Checked) -> TokenStream {
    let k = krate();
    let def = checked.graph.def;
    let input = &def.input.dims;
    let output = &checked.shapes[checked.graph.output];
    let (input_size, output_size) = (product(input), product(output));
    let (param_count, trainable_count) = (checked.param_count, checked.trainable_count);
    let model_name = def.name.to_string();
    let layers = checked.layers.iter().enumerate().map(|(i, layer)| {
        let name = &layer.name;
        let kind = layer.kind;
        let shape = &checked.shapes[Node::value(i)];
        let params: usize = checked.params[layer.params.clone()]
            .iter()
            .map(|p| p.len)
            .sum();
        let trainable = layer.trainable;
        quote! {
            #k::LayerInfo {
                name: #name,
                kind: #kind,
                output_shape: &[#(#shape),*],
                params: #params,
                trainable: #trainable,
            }
        }
    });
    let params = checked.params.iter().map(|p| {
        let (name, shape, offset, len, trainable) =
            (&p.name, &p.spec.shape, p.offset, p.len, p.trainable);
        quote! {
            #k::ParamInfo {
                name: #name,
                shape: &[#(#shape),*],
                offset: #offset,
                len: #len,
                trainable: #trainable,
            }
        }
    });
    let json = architecture_json(checked);
    quote! {
        const NAME: &'static str = #model_name;
        const INPUT_SHAPE: &'static [usize] = &[#(#input),*];
        const OUTPUT_SHAPE: &'static [usize] = &[#(#output),*];
        const INPUT_SIZE: usize = #input_size;
        const OUTPUT_SIZE: usize = #output_size;
        const PARAM_COUNT: usize = #param_count;
        const TRAINABLE_PARAM_COUNT: usize = #trainable_count;
        const LAYERS: &'static [#k::LayerInfo] = &[#(#layers),*];
        const PARAMS: &'static [#k::ParamInfo] = &[#(#params),*];
        const ARCHITECTURE_JSON: &'static str = #json;
    }
}

/// The architecture as Keras's `get_config` would give it.
fn architecture_json(checked: &Checked) -> String {
    let def = checked.graph.def;
    let layers: Vec<String> = checked
        .layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let config = layer.layer.config_json();
            let sep = if config.is_empty() { "" } else { ", " };
            format!(
                r#"{{"class_name": "{}", "config": {{"name": "{}", "trainable": {}{sep}{config}}}, "output_shape": {}}}"#,
                layer.kind,
                layer.name,
                layer.trainable,
                json_list(&checked.shapes[Node::value(i)])
            )
        })
        .collect();
    format!(
        r#"{{"class_name": "Sequential", "name": "{}", "input_shape": {}, "output_shape": {}, "layers": [{}]}}"#,
        def.name,
        json_list(&def.input.dims),
        json_list(&checked.shapes[checked.graph.output]),
        layers.join(", ")
    )
}

/// Where every value and buffer lives, and the code that moves between them.
struct Plan<'c, 'a> {
    checked: &'c Checked<'a>,
}

impl Plan<'_, '_> {
    fn new<'c, 'a>(checked: &'c Checked<'a>) -> Plan<'c, 'a> {
        Plan { checked }
    }

    fn nodes(&self) -> &[Node<'_>] {
        &self.checked.graph.nodes
    }

    fn output(&self) -> ValueId {
        self.checked.graph.output
    }

    /// Values per sample of value `v`.
    fn size(&self, v: ValueId) -> usize {
        product(&self.checked.shapes[v])
    }

    fn storage(&self, v: ValueId, training: bool) -> Storage {
        if v == INPUT {
            return Storage::Input;
        }
        let node = &self.nodes()[v - 1];
        if self.checked.layers[v - 1].layer.is_alias(training) {
            self.storage(node.inputs[0], training)
        } else {
            Storage::Own(v)
        }
    }

    /// Whether value `v` needs a buffer of its own in either mode.
    fn has_buffer(&self, v: ValueId) -> bool {
        self.storage(v, false) == Storage::Own(v) || self.storage(v, true) == Storage::Own(v)
    }

    /// Whether the output must be copied out of the input (a model that only reshapes).
    fn output_is_input(&self, training: bool) -> bool {
        self.storage(self.output(), training) == Storage::Input
    }

    /// Each workspace field, and whether it holds `u32` indices rather than floats.
    fn workspace_fields(&self) -> Vec<(Ident, bool)> {
        self.buffers()
            .into_iter()
            .map(|(field, buffer)| (field, buffer.indices))
            .collect()
    }

    /// Every workspace buffer: values, gradients, the layers' own buffers.
    fn buffers(&self) -> Vec<(Ident, Buffer)> {
        let mut buffers = Vec::new();
        for v in 1..=self.nodes().len() {
            if self.has_buffer(v) {
                buffers.push((format_ident!("a{}", v), Buffer::floats(self.size(v))));
                if self.storage(self.output(), true) != Storage::Own(v) {
                    buffers.push((format_ident!("g{}", v), Buffer::floats(self.size(v))));
                }
            }
            for (j, buffer) in self.checked.layers[v - 1]
                .layer
                .buffers()
                .into_iter()
                .enumerate()
            {
                buffers.push((format_ident!("l{}_{}", v, j), buffer));
            }
        }
        if self.output_is_input(false) || self.output_is_input(true) {
            buffers.push((
                format_ident!("out"),
                Buffer::floats(self.size(self.output())),
            ));
        }
        buffers
    }

    fn prepare(&self) -> TokenStream {
        let resizes = self.buffers().into_iter().map(|(field, buffer)| {
            let len = match buffer.len {
                BufferLen::PerSample(len) => quote!(batch * #len),
                BufferLen::Batch(len) => len,
            };
            quote!(ws.#field.resize(#len, ::core::default::Default::default());)
        });
        quote! {
            if ws.capacity < batch {
                #(#resizes)*
                ws.capacity = batch;
            }
        }
    }

    /// `&[F]` of value `v`.
    fn value(&self, v: ValueId, training: bool) -> TokenStream {
        match self.storage(v, training) {
            Storage::Input => quote!(input),
            Storage::Own(s) => {
                let (field, len) = (format_ident!("a{}", s), self.size(s));
                quote!(&ws.#field[..n * #len])
            }
        }
    }

    /// `&[F]` of the gradient of value `v` (training storage).
    fn grad(&self, v: ValueId) -> Option<TokenStream> {
        match self.storage(v, true) {
            Storage::Input => None,
            s if s == self.storage(self.output(), true) => Some(quote!(output_grad)),
            Storage::Own(s) => {
                let (field, len) = (format_ident!("g{}", s), self.size(s));
                Some(quote!(&ws.#field[..n * #len]))
            }
        }
    }

    fn grad_mut(&self, v: ValueId) -> Option<TokenStream> {
        match self.storage(v, true) {
            Storage::Input => None,
            Storage::Own(s) => {
                let (field, len) = (format_ident!("g{}", s), self.size(s));
                Some(quote!(&mut ws.#field[..n * #len]))
            }
        }
    }

    fn io(&self, index: usize, training: bool) -> Io {
        let v = Node::value(index);
        let node = &self.nodes()[index];
        let layer = &self.checked.layers[index];
        let (field, len) = (format_ident!("a{}", v), self.size(v));
        let params = &self.checked.params[layer.params.clone()];
        let buffers = layer.layer.buffers();
        let buf = |mutable: bool| {
            buffers
                .iter()
                .enumerate()
                .map(|(j, buffer)| {
                    let field = format_ident!("l{}_{}", v, j);
                    let range = match buffer.len {
                        BufferLen::PerSample(len) => quote!(..n * #len),
                        BufferLen::Batch(_) => quote!(..),
                    };
                    if mutable {
                        quote!(&mut ws.#field[#range])
                    } else {
                        quote!(&ws.#field[#range])
                    }
                })
                .collect()
        };
        Io {
            n: quote!(n),
            x: self.value(node.inputs[0], training),
            y: quote!(&mut ws.#field[..n * #len]),
            y_ref: quote!(&ws.#field[..n * #len]),
            dy: self.grad(v).unwrap_or_default(),
            dx: self.grad_mut(node.inputs[0]),
            params: params
                .iter()
                .map(|p| {
                    let (start, end) = (p.offset, p.offset + p.len);
                    quote!(&self.params[#start..#end])
                })
                .collect(),
            grads: layer
                .params
                .clone()
                .map(|i| {
                    let p = &self.checked.params[i];
                    p.trainable.then(|| {
                        let g = format_ident!("dp{}", i);
                        quote!(#g)
                    })
                })
                .collect(),
            bufs: buf(true),
            bufs_ref: buf(false),
            rng: quote!(rng),
        }
    }

    fn forward(&self, training: bool) -> TokenStream {
        let mut code: TokenStream = (0..self.nodes().len())
            .map(|i| {
                self.checked.layers[i]
                    .layer
                    .forward(&self.io(i, training), training)
            })
            .collect();
        let size = self.size(self.output());
        if self.output_is_input(training) {
            code.extend(quote! {
                ws.out[..n * #size].copy_from_slice(input);
                &ws.out[..n * #size]
            });
        } else {
            let out = self.value(self.output(), training);
            code.extend(out);
        }
        code
    }

    fn backward(&self) -> TokenStream {
        let params = &self.checked.params;
        let mut code = TokenStream::new();
        if !params.is_empty() {
            let bindings = params.iter().enumerate().map(|(i, p)| {
                if p.trainable {
                    format_ident!("dp{}", i)
                } else {
                    Ident::new("_", Span::call_site())
                }
            });
            let lens = params.iter().map(|p| p.len);
            let k = krate();
            code.extend(quote! {
                let [#(#bindings),*] = #k::__private::split_mut(grads, [#(#lens),*]);
            });
        }
        for i in (0..self.nodes().len()).rev() {
            code.extend(self.checked.layers[i].layer.backward(&self.io(i, true)));
        }
        code
    }

    /// Draws every parameter from its initializer, in layer order.
    fn initialization(&self) -> TokenStream {
        let k = krate();
        self.checked
            .params
            .iter()
            .map(|p| {
                let init = Ident::new(
                    names::initializer_variant(p.spec.initializer),
                    Span::call_site(),
                );
                let (start, end) = (p.offset, p.offset + p.len);
                let (fan_in, fan_out) = (p.spec.fan_in, p.spec.fan_out);
                quote! {
                    #k::init::Initializer::#init.fill(&mut params[#start..#end], #fan_in, #fan_out, &mut rng);
                }
            })
            .collect()
    }
}
