//! MNIST: 70,000 grey 28 x 28 images of handwritten digits, as Keras's
//! `keras.datasets.mnist`.
//!
//! [`load`] looks in `$STRATA_DATA/mnist/`, then in the user's cache
//! (`$XDG_CACHE_HOME/strata/datasets/mnist/` or `~/.cache/strata/datasets/mnist/`), then
//! in `/usr/share/datasets/mnist/`, and otherwise downloads the files into the cache.
//! Every file is checked against the SHA-256 of the published data before it is used.
//!
//! Keras downloads MNIST as one `mnist.npz`; strata downloads the four original IDX files
//! from TensorFlow's mirror of them (`storage.googleapis.com/cvdf-datasets/mnist/`), so
//! that one reader serves MNIST and Fashion-MNIST. The data is the same.

use std::path::Path;

use super::Source;
use super::spec::{IdxFile, Spec};
use crate::Result;
use crate::data::Dataset;

pub(crate) static SPEC: Spec = Spec {
    name: "mnist",
    title: "MNIST",
    url: "https://storage.googleapis.com/cvdf-datasets/mnist/",
    debian_package: None,
    // SHA-256 of the decompressed files, as published alongside the checksums of the
    // compressed ones (train-images-idx3-ubyte.gz: 440fcabf...3523609, the hash that
    // TensorFlow Datasets and torchvision's mirrors list).
    files: [
        IdxFile {
            name: "train-images-idx3-ubyte",
            sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            len: 47_040_016,
        },
        IdxFile {
            name: "train-labels-idx1-ubyte",
            sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            len: 60_008,
        },
        IdxFile {
            name: "t10k-images-idx3-ubyte",
            sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            len: 7_840_016,
        },
        IdxFile {
            name: "t10k-labels-idx1-ubyte",
            sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            len: 10_008,
        },
    ],
};

/// The training set (60,000 samples) and the test set (10,000), found or downloaded as
/// the [module](self) says.
///
/// Each sample is an image of shape `[28, 28]` with pixels scaled to `[0, 1]`; each
/// target is the digit `0..10` as one `f32`, ready for `SparseCategoricalCrossentropy`.
///
/// Fails with [`Error::DatasetUnavailable`](crate::Error::DatasetUnavailable), listing
/// every place searched and how to fix it, if the data is nowhere and cannot be
/// downloaded; with [`Error::Format`](crate::Error::Format) if a file found is damaged.
///
/// ```no_run
/// let (train, test) = strata_runtime::datasets::mnist::load()?;
/// assert_eq!((train.len(), test.len()), (60_000, 10_000));
/// # Ok::<(), strata_runtime::Error>(())
/// ```
pub fn load() -> Result<(Dataset, Dataset)> {
    load_with(&source())
}

/// The training and test sets from the four files in `dir` (compressed or not), and
/// from nowhere else.
///
/// ```no_run
/// let (train, test) = strata_runtime::datasets::mnist::load_from("data/mnist")?;
/// # Ok::<(), strata_runtime::Error>(())
/// ```
pub fn load_from(dir: impl AsRef<Path>) -> Result<(Dataset, Dataset)> {
    SPEC.load_dir(dir.as_ref())
}

/// The training and test sets, found or downloaded as `source` says.
///
/// ```no_run
/// use strata_runtime::datasets::{mnist, Source};
/// let source = Source::new().cache("data/mnist").download_from("https://my.mirror/mnist/");
/// let (train, test) = mnist::load_with(&source)?;
/// # Ok::<(), strata_runtime::Error>(())
/// ```
pub fn load_with(source: &Source) -> Result<(Dataset, Dataset)> {
    source.load(&SPEC)
}

/// The standard [`Source`] that [`load`] uses, read from the environment now.
///
/// ```
/// let source = strata_runtime::datasets::mnist::source();
/// assert!(format!("{source:?}").contains("cvdf-datasets/mnist"));
/// ```
pub fn source() -> Source {
    Source::standard(&SPEC, |key| std::env::var_os(key))
}
