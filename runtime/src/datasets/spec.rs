//! What a data set of four IDX files is: its files, their checksums, and how they become
//! a training and a test [`Dataset`].

use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use sha2::{Digest, Sha256};

use crate::data::{Dataset, idx};
use crate::{Error, Result};

/// A data set published as four IDX files, as MNIST and Fashion-MNIST are.
#[derive(Debug)]
pub(crate) struct Spec {
    /// The directory name the files are found under: `fashion-mnist`.
    pub(crate) name: &'static str,
    /// The name people know: `Fashion-MNIST`.
    pub(crate) title: &'static str,
    /// Where the files are downloaded from: the URL each file's published name is
    /// appended to.
    pub(crate) url: &'static str,
    /// The Debian package that installs the files in `/usr/share/datasets/<name>`.
    pub(crate) debian_package: Option<&'static str>,
    /// Training images and labels, then test images and labels.
    pub(crate) files: [IdxFile; 4],
}

/// One file of a [`Spec`].
#[derive(Debug)]
pub(crate) struct IdxFile {
    /// The name without `.gz`: `train-images-idx3-ubyte`. It is published as
    /// `<name>.gz`, and found as that or uncompressed.
    pub(crate) name: &'static str,
    /// The SHA-256 of the IDX content (after decompression, if compressed), in hex. It
    /// does not depend on how, or whether, the file was compressed: Debian's copies, for
    /// one, are compressed again and differ from the published `.gz` files byte for byte,
    /// but not in content.
    pub(crate) sha256: &'static str,
    /// The length of the IDX content in bytes.
    pub(crate) len: u64,
}

impl IdxFile {
    /// The name the file is published under.
    pub(crate) fn published_name(&self) -> String {
        format!("{}.gz", self.name)
    }

    /// The file in `dir`, compressed or not, if it is there.
    pub(crate) fn find_in(&self, dir: &Path) -> Option<PathBuf> {
        [self.published_name(), self.name.to_string()]
            .into_iter()
            .map(|name| dir.join(name))
            .find(|path| path.is_file())
    }

    /// Reads the file at `path` and checks its content against the checksum; `fix` ends
    /// the message if it does not match.
    pub(crate) fn read_verified(&self, path: &Path, title: &str, fix: &str) -> Result<ArrayD<u8>> {
        let mut hasher = Sha256::new();
        let array = idx::read_idx_hashed(path, Some(&mut hasher))?;
        let found = hex(&hasher.finalize());
        if found != self.sha256 {
            return Err(Error::Format {
                path: path.to_path_buf(),
                message: format!(
                    "this is not {title}'s {}: the SHA-256 of its content is {found}, but the \
                     published file's is {}; {fix}",
                    self.name, self.sha256
                ),
            });
        }
        Ok(array)
    }
}

impl Spec {
    /// The files of the data set in `dir`, or a sentence saying which are missing.
    pub(crate) fn find_in(&self, dir: &Path) -> Result<[PathBuf; 4], String> {
        if !dir.is_dir() {
            return Err("no such directory".into());
        }
        let found = self.files.each_ref().map(|file| file.find_in(dir));
        if let [Some(a), Some(b), Some(c), Some(d)] = found {
            return Ok([a, b, c, d]);
        }
        let missing: Vec<String> = self
            .files
            .iter()
            .zip(&found)
            .filter(|(_, path)| path.is_none())
            .map(|(file, _)| file.published_name())
            .collect();
        Err(format!("missing {}", missing.join(", ")))
    }

    /// The training and test sets from the four files in `dir`, and nowhere else.
    pub(crate) fn load_dir(&self, dir: &Path) -> Result<(Dataset, Dataset)> {
        let paths = self.find_in(dir).map_err(|why| Error::DatasetUnavailable {
            message: format!(
                "{} does not hold {}: {why}; it needs the files {} (compressed or not)",
                dir.display(),
                self.title,
                self.file_list()
            ),
        })?;
        self.load_files(&paths)
    }

    /// The training and test sets from the four files at `paths`, each checked against
    /// its checksum.
    pub(crate) fn load_files(&self, paths: &[PathBuf; 4]) -> Result<(Dataset, Dataset)> {
        let fix = "the file is damaged or holds other data: delete it, or replace it with \
                   the published file";
        let read = |i: usize| self.files[i].read_verified(&paths[i], self.title, fix);
        let ((train_x, train_y), (test_x, test_y)) = rayon::join(
            || rayon::join(|| read(0), || read(1)),
            || rayon::join(|| read(2), || read(3)),
        );
        let train = images_and_labels(train_x?, train_y?, &paths[1])?;
        let test = images_and_labels(test_x?, test_y?, &paths[3])?;
        Ok((train, test))
    }

    /// The file names, for messages: `a.gz, b.gz, c.gz and d.gz`.
    pub(crate) fn file_list(&self) -> String {
        let names: Vec<String> = self.files.iter().map(IdxFile::published_name).collect();
        format!("{} and {}", names[..3].join(", "), names[3])
    }
}

/// Images scaled to `[0, 1]` and labels as class indices, as one dataset.
fn images_and_labels(
    images: ArrayD<u8>,
    labels: ArrayD<u8>,
    labels_path: &Path,
) -> Result<Dataset> {
    if images.ndim() < 2 || labels.ndim() != 1 || labels.len() != images.shape()[0] {
        return Err(Error::Format {
            path: labels_path.to_path_buf(),
            message: format!(
                "labels of shape {:?} do not fit images of shape {:?}: expected one label \
                 per image",
                labels.shape(),
                images.shape()
            ),
        });
    }
    let x = images.mapv(|pixel| f32::from(pixel) / 255.0);
    let y = labels.mapv(f32::from);
    Dataset::new(x, y)
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
