//! A model of another block or crate used as a layer, through the signature the block
//! declares for it:
//!
//! ```text
//! model! {
//!     use encoders::Encoder: [784] -> [32];
//!     pub struct Classifier: [784] -> [10] { Encoder(trainable = false), Dense(10) }
//! }
//! ```
//!
//! The macro cannot see its layers, so it trusts the declared signature for the shapes,
//! and the code it emits asserts at compile time, in a `const`, that the model has it. The
//! model's parameters are one range of the using model's buffer, in the model's own
//! layout (so that a trained `Encoder`'s `params()` copy into it); its workspace is a
//! field of the using model's; its passes are its own `Model` methods (`forward_with`,
//! `backward_with`, ...) on that range.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Ident;

use crate::errors::{Errors, message};
use crate::json::Json;
use crate::layers::registry::lookup;
use crate::layers::{
    Args, Buffer, BufferKind, BufferLen, Built, Capabilities, Config, Inputs, Io, LayerKind, Mode,
    Output, ShapeError, UpdatesState, krate, model_misfit, option,
};
use crate::parse::{Block, UseDecl, path_str};

/// The buffer that holds the model's own workspace.
const WORKSPACE: &str = "workspace";

/// The type of a model of another block, by the path its `use` declaration gives.
#[derive(Clone)]
pub struct ModelType {
    path: syn::Path,
}

impl ModelType {
    /// `<encoders::Encoder<F> as Model>`: the model in the using model's float type.
    pub fn in_f(&self) -> TokenStream {
        let (k, path) = (krate(), &self.path);
        quote!(<#path<F> as #k::Model>)
    }

    /// `<encoders::Encoder<f32> as Model>::NAME`: a constant of the model's `Model` impl.
    /// A model's layout does not depend on its float type, and the items that build the
    /// using model's tables are outside its generics: the model's default `f32` names it.
    pub fn constant(&self, name: &str) -> TokenStream {
        let (k, path) = (krate(), &self.path);
        let name = Ident::new(name, proc_macro2::Span::call_site());
        quote!(<#path<f32> as #k::Model>::#name)
    }
}

/// The kind of layer a `use` declaration makes: the model by its last name.
pub struct Foreign<'a> {
    decl: &'a UseDecl,
    kind: String,
    default_name: String,
}

impl<'a> Foreign<'a> {
    pub fn new(decl: &'a UseDecl) -> Self {
        let kind = decl.name.to_string();
        Foreign {
            decl,
            default_name: crate::graph::snake_case(&kind),
            kind,
        }
    }
}

impl LayerKind for Foreign<'_> {
    fn name(&self) -> &str {
        &self.kind
    }

    fn default_name(&self) -> &str {
        &self.default_name
    }

    /// Only the arguments every layer takes, `name` and `trainable`.
    fn arguments(&self) -> &'static [&'static str] {
        &[]
    }

    fn configure(&self, args: &Args, _errors: &mut Errors) -> Option<Box<dyn Config>> {
        Some(Box::new(ForeignModel {
            trainable: args.trainable(),
            model: ModelType {
                path: self.decl.path.clone(),
            },
            name: self.kind.clone(),
            path: path_str(&self.decl.path),
            input: self.decl.input.dims.clone(),
            output: self.decl.output.dims.clone(),
        }))
    }
}

#[derive(Clone)]
struct ForeignModel {
    model: ModelType,
    /// `Encoder`.
    name: String,
    /// `encoders::Encoder`.
    path: String,
    input: Vec<usize>,
    output: Vec<usize>,
    /// `false` when declared `trainable = false`: then its state (BatchNormalization's
    /// moving statistics) stays as it is too, and every parameter of it with it.
    trainable: bool,
}

impl Config for ForeignModel {
    fn label(&self) -> String {
        self.name.clone()
    }

    fn build(&self, inputs: &Inputs) -> Result<Box<dyn Built>, ShapeError> {
        let input = inputs.single(&self.name)?;
        if input != self.input {
            let fix = format!("change {}'s input and its `use` declaration", self.name);
            return Err(model_misfit(&self.name, &self.input, input, &fix));
        }
        Ok(Box::new(self.clone()))
    }
}

impl Built for ForeignModel {
    fn label(&self) -> String {
        self.name.clone()
    }

    fn output(&self) -> Output {
        Output::One(self.output.clone())
    }

    fn buffers(&self) -> Vec<Buffer> {
        vec![Buffer {
            name: WORKSPACE.to_string(),
            kind: BufferKind::Workspace(self.model.clone()),
            len: BufferLen::PerSample(0),
        }]
    }

    fn config(&self) -> Vec<(&'static str, Json)> {
        vec![("model", Json::str(self.path.clone()))]
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            model: Some(&self.model),
            state: self.trainable.then_some(self as &dyn UpdatesState),
            ..Capabilities::default()
        }
    }

    fn forward(&self, io: &Io, mode: Mode) -> TokenStream {
        let model = self.model.in_f();
        let (n, x, y, params, ws) = (&io.n, io.x(), &io.y, &io.params[0], io.buf(WORKSPACE));
        let output = if mode.is_training() {
            let rng = &io.rng;
            quote!(#model::forward_train_with(#params, #ws, #x, #n, #rng))
        } else {
            quote!(#model::forward_with(#params, #ws, #x, #n))
        };
        quote!(<[F]>::copy_from_slice(#y, #output);)
    }

    /// The model's parameter gradients go to its range of the using model's gradients
    /// even when it is frozen: the optimizer skips them, and a model's backward always
    /// writes them.
    fn backward(&self, io: &Io) -> TokenStream {
        let model = self.model.in_f();
        let (n, x, dy, params) = (&io.n, io.x(), &io.dy, &io.params[0]);
        let ws = io.buf(WORKSPACE);
        let grads = io
            .grad(0)
            .expect("a model used as a layer always has its gradients' range");
        let dx = option(io.dx());
        quote! {
            #model::backward_with(#params, #ws, #x, #n, #dy, #grads, #dx);
        }
    }
}

impl UpdatesState for ForeignModel {
    fn update_state(&self, io: &Io) -> TokenStream {
        let model = self.model.in_f();
        let (params, ws) = (&io.params[0], io.buf_ref(WORKSPACE));
        quote! {
            #model::update_state_with(#params, lanes.clone().map(|(ws, n)| (#ws, n)));
        }
    }
}

/// Each declaration names a model once, neither a model of the block nor a layer, and
/// some model of the block uses it.
pub fn check_declarations(block: &Block, errors: &mut Errors) {
    for (index, decl) in block.uses.iter().enumerate() {
        let name = &decl.name;
        let elsewhere = format!(
            "import it under another name outside the block (`use {} as Other{name};`) and \
             declare that",
            path_str(&decl.path)
        );
        let problem = if block.uses[..index].iter().any(|d| d.name == *name) {
            Some(format!(
                "`{name}` is declared twice in this block; keep one `use` declaration"
            ))
        } else if block.models.iter().any(|m| m.name == *name) {
            Some(message(
                format!("`{name}` is both a model of this block and declared by `use`"),
                &[],
                Some(elsewhere),
            ))
        } else if lookup(&name.to_string()).is_some() {
            Some(message(
                format!("`{name}` is a layer of strata, so a model cannot take its name"),
                &[],
                Some(elsewhere),
            ))
        } else if users(block, name).is_empty() {
            Some(format!(
                "`{name}` is declared but no model of this block uses it; use it as a layer \
                 (`{name}` in a stack, `{name}(x)` in a graph), or remove this `use`"
            ))
        } else {
            None
        };
        if let Some(text) = problem {
            errors.at(name.span(), text);
        }
    }
}

/// The models of the block that name `name` in their bodies.
fn users(block: &Block, name: &Ident) -> Vec<String> {
    block
        .models
        .iter()
        .filter(|def| crate::graph::called_names(def).contains(name))
        .map(|def| format!("`{}`", def.name))
        .collect()
}

/// For each declaration, a `const` that fails to compile, naming the model, its declared
/// and its real signatures, when the model does not have the declared signature. (A const
/// panic formats only strings: the real signature is written by a const function.)
pub fn assertions(block: &Block) -> TokenStream {
    let k = krate();
    block
        .uses
        .iter()
        .map(|decl| {
            let model = ModelType {
                path: decl.path.clone(),
            };
            let (inputs, outputs) = (model.constant("INPUTS"), model.constant("OUTPUTS"));
            let (input, output) = (&decl.input.dims, &decl.output.dims);
            let for_models = match users(block, &decl.name)[..] {
                [] => String::new(),
                ref users => format!(" for {}", users.join(", ")),
            };
            let before = format!(
                "strata: `{}` is declared `{}`{for_models}, but its own signature is `",
                path_str(&decl.path),
                decl.signature()
            );
            let after = "`; fix the `use` declaration";
            let panic = quote_spanned! {decl.name.span()=>
                ::core::panic!("{}", MESSAGE.as_str())
            };
            quote! {
                const _: () = {
                    if !#k::__private::has_signature(#inputs, #outputs, &[#(#input),*], &[#(#output),*]) {
                        const MESSAGE: #k::__private::ConstStr<
                            { #k::__private::signature_message_len(#before, #inputs, #outputs, #after) },
                        > = #k::__private::signature_message(#before, #inputs, #outputs, #after);
                        #panic
                    }
                };
            }
        })
        .collect()
}
