//! Downloads into the cache: each file verified before it lands, and landed atomically.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::spec::{IdxFile, Spec};

/// The files of `spec` in `cache`, downloading from `url` those that are missing.
///
/// Returns why it failed, for the caller's message. A file that fails leaves nothing in
/// `cache`; the files verified before it stay.
pub(crate) fn missing_files(spec: &Spec, cache: &Path, url: &str) -> Result<[PathBuf; 4], String> {
    fs::create_dir_all(cache)
        .map_err(|e| format!("cannot create the cache directory {}: {e}", cache.display()))?;
    let agent = agent();
    let mut paths = Vec::with_capacity(spec.files.len());
    for file in &spec.files {
        let path = match file.find_in(cache) {
            Some(path) => path,
            None => fetch(&agent, spec, file, cache, url)?,
        };
        paths.push(path);
    }
    Ok(paths.try_into().expect("four files"))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("strata/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Downloads `file` into `cache` through a temporary file, verified, then renamed.
fn fetch(
    agent: &ureq::Agent,
    spec: &Spec,
    file: &IdxFile,
    cache: &Path,
    url: &str,
) -> Result<PathBuf, String> {
    let name = file.published_name();
    let url = format!("{url}{name}");
    let target = cache.join(&name);
    eprintln!("Downloading {url}");
    let response = agent.get(&url).call().map_err(|e| match e {
        ureq::Error::StatusCode(status) => format!(
            "{url} answered HTTP {status}{}",
            match status {
                404 => " (not found): the mirror does not hold this file",
                _ => "",
            }
        ),
        e => format!("{url}: {e}"),
    })?;
    // A compressed file is barely longer than its content, even if incompressible.
    let limit = file.len + file.len / 16 + (1 << 16);
    let mut body = response
        .into_body()
        .into_with_config()
        .limit(limit)
        .reader();

    let temp = TempFile::new(cache, &name);
    let written = File::create(&temp.path).and_then(|out| {
        let mut out = BufWriter::new(out);
        io::copy(&mut body, &mut out)?;
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()
    });
    if let Err(e) = written {
        return Err(format!(
            "{url}: {e} (while downloading to {})",
            temp.path.display()
        ));
    }
    let fix = "the download is damaged, or the mirror serves other data";
    if let Err(e) = file.read_verified(&temp.path, spec.title, fix) {
        let why = match e {
            crate::Error::Format { message, .. } => message,
            e => e.to_string(),
        };
        return Err(format!(
            "the file from {url} was refused and not kept: {why}"
        ));
    }
    temp.persist(&target)
        .map_err(|e| format!("cannot move the download into {}: {e}", target.display()))?;
    Ok(target)
}

/// A file in the directory of its destination, removed on drop unless persisted.
struct TempFile {
    path: PathBuf,
    kept: bool,
}

impl TempFile {
    fn new(dir: &Path, name: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".{name}.{}-{n}.part", std::process::id()));
        TempFile { path, kept: false }
    }

    /// Renames the file to `target`, atomically, and syncs the directory.
    fn persist(mut self, target: &Path) -> io::Result<()> {
        fs::rename(&self.path, target)?;
        self.kept = true;
        if let Some(dir) = target.parent() {
            // Makes the rename durable where directories can be synced (not on Windows).
            let _ = File::open(dir).and_then(|dir| dir.sync_all());
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.path);
        }
    }
}
