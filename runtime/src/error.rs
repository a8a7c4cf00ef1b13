use std::path::PathBuf;

/// Every way a call into strata can fail on a user's input or environment.
///
/// Each message names the problem, the values involved, and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Samples whose shape does not match what the model takes or gives.
    #[error(
        "{what}: each sample has shape {found:?} ({found_len} values), but the model expects \
         {expected:?} ({expected_len} values); reshape the data so that every sample holds \
         {expected_len} values"
    )]
    ShapeMismatch {
        what: &'static str,
        expected: Vec<usize>,
        expected_len: usize,
        found: Vec<usize>,
        found_len: usize,
    },
    /// Two arrays that must have one row per sample have different lengths.
    #[error("{what}: x has {x_len} samples but y has {y_len}; give one label row per sample")]
    LengthMismatch {
        what: &'static str,
        x_len: usize,
        y_len: usize,
    },
    /// A class label that is not an integer in `0..classes`.
    #[error(
        "label {label} of sample {sample} is not a class index in 0..{classes}: \
         {loss} expects integer labels below the model's {classes} outputs{hint}"
    )]
    LabelOutOfRange {
        loss: &'static str,
        sample: usize,
        label: f64,
        classes: usize,
        hint: &'static str,
    },
    /// Targets whose width does not fit the loss or metric.
    #[error("{what}: {message}")]
    BadTargets { what: &'static str, message: String },
    /// A dataset with no samples where samples are needed.
    #[error("{what} is empty: give it at least one sample")]
    EmptyDataset { what: &'static str },
    /// An argument outside the values it can take.
    #[error("invalid {name}: {message}")]
    InvalidArgument { name: &'static str, message: String },
    /// The loss became NaN or infinite during training.
    #[error(
        "the loss became {value} at epoch {epoch}, step {step}: lower the learning rate, \
         clip gradients (clipnorm), or check the data for NaN or huge values"
    )]
    NonFiniteLoss {
        value: f64,
        epoch: usize,
        step: usize,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file that does not hold what its format promises.
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    /// A data set found nowhere and not downloadable.
    #[error("{message}")]
    DatasetUnavailable { message: String },
    /// A layer that the layer harness ([`crate::layer_test`]) finds wrong: each problem
    /// names the check, the weight or value, and what was expected.
    #[error("{layer} fails its layer test:\n  - {}", .problems.join("\n  - "))]
    LayerTest {
        layer: String,
        problems: Vec<String>,
    },
}

/// `Result` with [`Error`] as its error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::InvalidArgument`] for `name`.
    pub fn invalid(name: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            name,
            message: message.into(),
        }
    }

    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
