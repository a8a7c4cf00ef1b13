//! Where a data set is looked for, and where it is downloaded from and to.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::download;
use super::spec::Spec;
use crate::data::Dataset;
use crate::{Error, Result};

/// Where a data set is looked for, in order, and where it is downloaded from and to if it
/// is found nowhere.
///
/// Each data set's `source()` gives the standard one; build another to search your own
/// directories, or to download from a mirror:
///
/// ```no_run
/// use strata_runtime::datasets::{fashion_mnist, Source};
/// let source = Source::new()
///     .search("/data/fashion-mnist")
///     .cache("/scratch/fashion-mnist")
///     .download_from("https://mirror.example.org/fashion-mnist/");
/// let (train, test) = fashion_mnist::load_with(&source)?;
/// # Ok::<(), strata_runtime::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Source {
    search: Vec<Place>,
    cache: Option<PathBuf>,
    url: Option<String>,
    /// Why there is no cache directory, for the message when nothing is found.
    no_cache: Option<String>,
}

/// A directory searched, and how to name it in messages; without a directory, the label
/// says why the place is not there.
#[derive(Clone, Debug)]
struct Place {
    dir: Option<PathBuf>,
    label: String,
}

impl Source {
    /// A source that searches nowhere and downloads nothing; add to it with
    /// [`search`](Self::search), [`cache`](Self::cache) and
    /// [`download_from`](Self::download_from).
    ///
    /// ```
    /// use strata_runtime::datasets::{mnist, Source};
    /// let err = mnist::load_with(&Source::new()).unwrap_err();
    /// assert!(err.to_string().contains("MNIST"));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Also looks in `dir`, after the directories already given, for the data set's files
    /// (compressed or not, directly in `dir`).
    pub fn search(mut self, dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        self.search.push(Place {
            label: dir.display().to_string(),
            dir: Some(dir),
        });
        self
    }

    /// Downloads into `dir`, creating it if needed. Files already there are used and not
    /// downloaded again; a download lands there only once its checksum is verified.
    pub fn cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache = Some(dir.into());
        self.no_cache = None;
        self
    }

    /// Downloads each file from `base_url` followed by its published name
    /// (`train-images-idx3-ubyte.gz`, ...). Takes effect with a [`cache`](Self::cache)
    /// to download into.
    pub fn download_from(mut self, base_url: impl Into<String>) -> Self {
        let mut url = base_url.into();
        if !url.ends_with('/') {
            url.push('/');
        }
        self.url = Some(url);
        self
    }

    /// Never downloads: only the searched directories and the cache are used.
    pub fn offline(mut self) -> Self {
        self.url = None;
        self
    }

    /// The standard source of `spec`, from the environment `var`: `$STRATA_DATA/<name>`,
    /// the user's cache, Debian's `/usr/share/datasets/<name>`, then a download into the
    /// cache.
    pub(crate) fn standard(spec: &Spec, var: impl Fn(&str) -> Option<OsString>) -> Self {
        let var = |key: &str| var(key).filter(|value| !value.is_empty());
        let name = spec.name;
        let mut source = Source::new();
        source.search.push(match var("STRATA_DATA") {
            Some(root) => {
                let dir = Path::new(&root).join(name);
                Place {
                    label: format!("$STRATA_DATA/{name} ({})", dir.display()),
                    dir: Some(dir),
                }
            }
            None => Place {
                label: format!("$STRATA_DATA/{name}: STRATA_DATA is not set"),
                dir: None,
            },
        });
        let cache_root = var("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute())
            .or_else(|| var("HOME").map(|home| Path::new(&home).join(".cache")));
        match cache_root {
            Some(root) => {
                let dir = root.join("strata").join("datasets").join(name);
                source = source.search(&dir).cache(dir);
            }
            None => {
                let why = "the user's cache: neither XDG_CACHE_HOME nor HOME is set";
                source.search.push(Place {
                    label: why.into(),
                    dir: None,
                });
                source.no_cache = Some(why.into());
            }
        }
        source
            .search(Path::new("/usr/share/datasets").join(name))
            .download_from(spec.url)
    }

    /// The training and test sets of `spec`, from the first place that holds all its
    /// files, or else downloaded.
    pub(crate) fn load(&self, spec: &Spec) -> Result<(Dataset, Dataset)> {
        let paths = self.find_or_download(spec)?;
        spec.load_files(&paths)
    }

    fn find_or_download(&self, spec: &Spec) -> Result<[PathBuf; 4]> {
        let mut searched = Vec::new();
        for place in &self.search {
            let Some(dir) = &place.dir else {
                searched.push(place.label.clone());
                continue;
            };
            match spec.find_in(dir) {
                Ok(paths) => return Ok(paths),
                Err(why) => searched.push(format!("{}: {why}", place.label)),
            }
        }
        let failure = match (&self.cache, &self.url) {
            (Some(cache), Some(url)) => match download::missing_files(spec, cache, url) {
                Ok(paths) => return Ok(paths),
                Err(why) => format!("downloading it failed: {why}"),
            },
            (None, Some(_)) => format!(
                "it cannot be downloaded without a directory to download into ({})",
                self.no_cache
                    .as_deref()
                    .unwrap_or("no cache directory was given")
            ),
            (Some(cache), None) => {
                if !self
                    .search
                    .iter()
                    .any(|place| place.dir.as_ref() == Some(cache))
                {
                    match spec.find_in(cache) {
                        Ok(paths) => return Ok(paths),
                        Err(why) => searched.push(format!("{}: {why}", cache.display())),
                    }
                }
                "downloading is switched off".into()
            }
            (None, None) => "downloading is switched off".into(),
        };
        Err(self.unavailable(spec, &searched, &failure))
    }

    fn unavailable(&self, spec: &Spec, searched: &[String], failure: &str) -> Error {
        let mut message = format!("{} is not on this machine, and {failure}.\n", spec.title);
        message.push_str("Searched, in order:\n");
        if searched.is_empty() {
            message.push_str("  (no directories)\n");
        }
        for line in searched {
            let _ = writeln!(message, "  - {line}");
        }
        message.push_str("To fix it, do one of:\n");
        if let Some(package) = spec.debian_package {
            let _ = writeln!(
                message,
                "  - install Debian's package {package} (sudo apt install {package})"
            );
        }
        let _ = writeln!(
            message,
            "  - put the files {} (compressed or not) in a directory DIR/{} and set \
             STRATA_DATA=DIR",
            spec.file_list(),
            spec.name
        );
        let needs = match (&self.url, &self.cache) {
            (None, _) => "a Source that is not offline, with a cache directory".to_string(),
            (Some(_), Some(cache)) => format!("network access, and a writable {}", cache.display()),
            (Some(_), None) => match &self.no_cache {
                Some(_) => "network access, and a cache: set HOME or XDG_CACHE_HOME".into(),
                None => "network access, and a cache directory: Source::cache".into(),
            },
        };
        let _ = write!(
            message,
            "  - allow the download from {} ({needs})",
            self.url.as_deref().unwrap_or(spec.url)
        );
        Error::DatasetUnavailable { message }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::datasets::fashion_mnist;

    fn standard(env: &[(&str, &str)]) -> Source {
        let env: HashMap<&str, &str> = env.iter().copied().collect();
        Source::standard(&fashion_mnist::SPEC, |key| env.get(key).map(OsString::from))
    }

    fn searched(source: &Source) -> Vec<Option<PathBuf>> {
        source
            .search
            .iter()
            .map(|place| place.dir.clone())
            .collect()
    }

    #[test]
    fn standard_source_searches_strata_data_then_the_cache_then_debian() {
        let source = standard(&[("STRATA_DATA", "/data"), ("HOME", "/home/ada")]);
        let cache = PathBuf::from("/home/ada/.cache/strata/datasets/fashion-mnist");
        assert_eq!(
            searched(&source),
            [
                Some("/data/fashion-mnist".into()),
                Some(cache.clone()),
                Some("/usr/share/datasets/fashion-mnist".into()),
            ]
        );
        assert_eq!(source.cache, Some(cache));
        assert_eq!(source.url.as_deref(), Some(fashion_mnist::SPEC.url));
    }

    #[test]
    fn standard_source_prefers_an_absolute_xdg_cache_home() {
        let source = standard(&[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/ada")]);
        let cache = PathBuf::from("/xdg/strata/datasets/fashion-mnist");
        assert_eq!(source.cache.as_ref(), Some(&cache));
        // The XDG specification says to ignore a relative path.
        let source = standard(&[("XDG_CACHE_HOME", "xdg"), ("HOME", "/home/ada")]);
        let cache = PathBuf::from("/home/ada/.cache/strata/datasets/fashion-mnist");
        assert_eq!(source.cache.as_ref(), Some(&cache));
    }

    #[test]
    fn standard_source_without_environment_says_what_is_missing() {
        let source = standard(&[("STRATA_DATA", "")]);
        assert_eq!(
            searched(&source),
            [None, None, Some("/usr/share/datasets/fashion-mnist".into())]
        );
        assert!(source.search[0].label.contains("STRATA_DATA is not set"));
        assert!(
            source.search[1]
                .label
                .contains("neither XDG_CACHE_HOME nor HOME")
        );
        assert_eq!(source.cache, None);
    }

    #[test]
    fn download_needs_a_cache_directory() {
        let source = Source::new().download_from("http://127.0.0.1:9/");
        let err = source.load(&fashion_mnist::SPEC).unwrap_err().to_string();
        assert!(
            err.contains("without a directory to download into"),
            "{err}"
        );
    }

    #[test]
    fn download_url_gets_a_trailing_slash() {
        let source = Source::new().download_from("https://mirror.example.org/data");
        assert_eq!(
            source.url.as_deref(),
            Some("https://mirror.example.org/data/")
        );
        assert_eq!(source.offline().url, None);
    }
}
