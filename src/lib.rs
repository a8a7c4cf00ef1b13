//! strata: Keras-like deep learning for Rust, with models written as macro blocks whose
//! every shape is checked at compile time.
//!
//! ```
//! use strata::prelude::*;
//!
//! model! {
//!     /// A small classifier.
//!     pub struct Tiny: [4] -> [3] {
//!         Dense(8, activation = relu),
//!         Dense(3),
//!     }
//! }
//!
//! let model = Tiny::new(Seed(42));
//! assert_eq!(Tiny::<f32>::PARAM_COUNT, 4 * 8 + 8 + 8 * 3 + 3);
//! let logits = model.predict_one(&[0.1, 0.2, 0.3, 0.4]);
//! assert_eq!(logits.len(), 3);
//! ```

#[doc(hidden)]
pub use strata_macros::layer_kinds as __layer_kinds;
pub use strata_macros::model;
pub use strata_runtime::*;

/// Everything a training script needs, in one import: the macro, the model trait, data,
/// optimizers, losses (and [`Losses`](loss::Losses), a loss per output), the
/// classification metrics (and [`OutputMetric`](metrics::OutputMetric), a metric on one
/// output) and `fit`'s settings. (The metrics that share a loss's name, such as
/// `metrics::MeanSquaredError`, stay in [`metrics`].)
pub mod prelude {
    pub use crate::model;
    pub use strata_runtime::data::Dataset;
    pub use strata_runtime::loss::{
        BinaryCrossentropy, CategoricalCrossentropy, Huber, Losses, MeanAbsoluteError,
        MeanSquaredError, Reduction, SparseCategoricalCrossentropy,
    };
    pub use strata_runtime::metrics::{
        AUC, Accuracy, BinaryAccuracy, CategoricalAccuracy, F1Score, FBetaScore, OutputMetric,
        Precision, Recall, SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
        TopKCategoricalAccuracy,
    };
    pub use strata_runtime::optim::{Adagrad, Adam, AdamW, Optimizer, RMSprop, SGD};
    pub use strata_runtime::train::{Fit, History, Parallelism, Trainer, Verbose};
    pub use strata_runtime::{Error, Float, Model, Seed};
}
