//! Fashion-MNIST: 70,000 grey 28 x 28 images of clothes in 10 classes, as Keras's
//! `keras.datasets.fashion_mnist`.
//!
//! [`load`] looks in `$STRATA_DATA/fashion-mnist/`, then in the user's cache
//! (`$XDG_CACHE_HOME/strata/datasets/fashion-mnist/` or
//! `~/.cache/strata/datasets/fashion-mnist/`), then in `/usr/share/datasets/fashion-mnist/`
//! (Debian's package `dataset-fashion-mnist`), and otherwise downloads the files from
//! Keras's mirror into the cache. Every file is checked against the SHA-256 of the
//! published data before it is used.

use std::path::Path;

use super::Source;
use super::spec::{IdxFile, Spec};
use crate::Result;
use crate::data::Dataset;

/// The names of the 10 classes, indexed by label.
///
/// ```
/// use strata_runtime::datasets::fashion_mnist::CLASS_NAMES;
/// assert_eq!(CLASS_NAMES[9], "Ankle boot");
/// ```
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

pub(crate) static SPEC: Spec = Spec {
    name: "fashion-mnist",
    title: "Fashion-MNIST",
    url: "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    debian_package: Some("dataset-fashion-mnist"),
    // SHA-256 of the decompressed files, computed from Debian's dataset-fashion-mnist
    // (0.0~git20200523.55506a9-1); they match the content of Zalando's published files.
    files: [
        IdxFile {
            name: "train-images-idx3-ubyte",
            sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            len: 47_040_016,
        },
        IdxFile {
            name: "train-labels-idx1-ubyte",
            sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            len: 60_008,
        },
        IdxFile {
            name: "t10k-images-idx3-ubyte",
            sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            len: 7_840_016,
        },
        IdxFile {
            name: "t10k-labels-idx1-ubyte",
            sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            len: 10_008,
        },
    ],
};

/// The training set (60,000 samples) and the test set (10,000), found or downloaded as
/// the [module](self) says.
///
/// Each sample is an image of shape `[28, 28]` with pixels scaled to `[0, 1]`; each
/// target is the class index `0..10` (see [`CLASS_NAMES`]) as one `f32`, ready for
/// `SparseCategoricalCrossentropy`.
///
/// Fails with [`Error::DatasetUnavailable`](crate::Error::DatasetUnavailable), listing
/// every place searched and how to fix it, if the data is nowhere and cannot be
/// downloaded; with [`Error::Format`](crate::Error::Format) if a file found is damaged.
///
/// ```no_run
/// let (train, test) = strata_runtime::datasets::fashion_mnist::load()?;
/// assert_eq!((train.len(), test.len()), (60_000, 10_000));
/// assert_eq!(train.sample_shape(), &[28, 28]);
/// # Ok::<(), strata_runtime::Error>(())
/// ```
pub fn load() -> Result<(Dataset, Dataset)> {
    load_with(&source())
}

/// The training and test sets from the four files in `dir` (compressed or not), and
/// from nowhere else.
///
/// ```no_run
/// use strata_runtime::datasets::fashion_mnist;
/// let (train, test) = fashion_mnist::load_from("/usr/share/datasets/fashion-mnist")?;
/// # Ok::<(), strata_runtime::Error>(())
/// ```
pub fn load_from(dir: impl AsRef<Path>) -> Result<(Dataset, Dataset)> {
    SPEC.load_dir(dir.as_ref())
}

/// The training and test sets, found or downloaded as `source` says.
///
/// ```no_run
/// use strata_runtime::datasets::fashion_mnist;
/// // The standard places, but never the network.
/// let (train, test) = fashion_mnist::load_with(&fashion_mnist::source().offline())?;
/// # Ok::<(), strata_runtime::Error>(())
/// ```
pub fn load_with(source: &Source) -> Result<(Dataset, Dataset)> {
    source.load(&SPEC)
}

/// The standard [`Source`] that [`load`] uses, read from the environment now.
///
/// ```
/// let source = strata_runtime::datasets::fashion_mnist::source();
/// assert!(format!("{source:?}").contains("/usr/share/datasets/fashion-mnist"));
/// ```
pub fn source() -> Source {
    Source::standard(&SPEC, |key| std::env::var_os(key))
}
