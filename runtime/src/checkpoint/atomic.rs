//! Atomic file writes: a file is either the old one or the complete new one, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// Writes the file at `path` atomically: `write` fills a temporary file in the same
/// directory, which is flushed to disk, renamed over `path`, and the directory flushed in
/// turn.
///
/// A process killed at any moment, a full disk or an error from `write` leaves `path` as
/// it was (the old file, or no file); on an error the temporary file is removed. Only a
/// process killed mid-write can leave a temporary file behind, named
/// `.{file name}.tmp-{process id}-{n}`, next to `path`.
///
/// ```
/// use std::io::Write;
/// use strata_runtime::checkpoint::write_atomically;
///
/// let path = std::env::temp_dir().join(format!("strata-doc-{}.txt", std::process::id()));
/// write_atomically(&path, |file| file.write_all(b"first"))?;
/// write_atomically(&path, |file| file.write_all(b"second"))?;
/// assert_eq!(std::fs::read(&path).unwrap(), b"second");
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), strata_runtime::Error>(())
/// ```
pub fn write_atomically(
    path: impl AsRef<Path>,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let path = path.as_ref();
    let (dir, temp) = temporary_path(path)?;
    if path.is_dir() {
        return Err(Error::io(
            path,
            io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory; give a file path inside it, such as `dir/model.safetensors`",
            ),
        ));
    }
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .map_err(|e| cannot_create(path, &dir, e))?;
    if let Err(e) = fill(file, write) {
        // The temporary file is ours and incomplete: nothing else can want it.
        let _ = fs::remove_file(&temp);
        return Err(Error::io(path, e));
    }
    if let Err(e) = fs::rename(&temp, path) {
        let _ = fs::remove_file(&temp);
        return Err(Error::io(path, e));
    }
    sync_dir(&dir).map_err(|e| Error::io(&dir, e))
}

/// The directory of `path` and a temporary file name in it that no other write uses.
fn temporary_path(path: &Path) -> Result<(PathBuf, PathBuf)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let Some(name) = path.file_name() else {
        return Err(Error::io(
            path,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "names no file; give a file path, such as `weights/model.safetensors`",
            ),
        ));
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".tmp-{}-{n}", std::process::id()));
    let temp = dir.join(temp_name);
    Ok((dir, temp))
}

/// Runs `write` on `file` through a buffer, then flushes everything to the disk.
fn fill(file: File, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut buffered = BufWriter::with_capacity(1 << 20, file);
    write(&mut buffered)?;
    let file = buffered
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    file.sync_all()
}

/// Why the temporary file could not be created, with the fix.
fn cannot_create(path: &Path, dir: &Path, e: io::Error) -> Error {
    let hint = match e.kind() {
        io::ErrorKind::NotFound => "the directory does not exist: create it first".to_string(),
        io::ErrorKind::PermissionDenied => {
            "the directory is not writable: choose another one or change its permissions"
                .to_string()
        }
        _ => "check that the directory exists and is writable".to_string(),
    };
    Error::io(
        path,
        io::Error::new(
            e.kind(),
            format!("cannot create a file in {}: {e}; {hint}", dir.display()),
        ),
    )
}

/// Flushes a directory's entries to the disk, so that a rename in it survives a crash.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir)?.sync_all() {
        // Some file systems cannot flush a directory; the rename is then as durable as
        // they make it.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Directories cannot be opened as files here; the rename is as durable as the system
/// makes it.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "strata-atomic-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writing_over_a_file_replaces_it_and_leaves_nothing_else() {
        let dir = scratch_dir("replace");
        let path = dir.join("weights.bin");
        write_atomically(&path, |f| f.write_all(b"old")).unwrap();
        write_atomically(&path, |f| f.write_all(b"new contents")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new contents");
        assert_eq!(entries(&dir), ["weights.bin"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failing_writer_leaves_the_old_file_and_no_temporary_file() {
        let dir = scratch_dir("failing");
        let path = dir.join("weights.bin");
        fs::write(&path, b"old").unwrap();
        let error = write_atomically(&path, |f| {
            f.write_all(&[7; 3 << 20])?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(error.to_string().contains("disk full"), "{error}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(entries(&dir), ["weights.bin"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_an_error_that_says_to_create_it() {
        let dir = scratch_dir("missing");
        let error = write_atomically(dir.join("no/such/dir/w.bin"), |f| f.write_all(b"x"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("does not exist: create it first"), "{error}");
        assert!(entries(&dir).is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_directory_as_the_path_is_an_error_and_stays_as_it_was() {
        let dir = scratch_dir("is-dir");
        fs::create_dir(dir.join("sub")).unwrap();
        fs::write(dir.join("sub/keep"), b"keep").unwrap();
        let error = write_atomically(dir.join("sub"), |f| f.write_all(b"x"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("is a directory"), "{error}");
        assert_eq!(entries(&dir), ["sub"]);
        assert_eq!(fs::read(dir.join("sub/keep")).unwrap(), b"keep");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn temporary_names_are_hidden_siblings_and_never_repeat() {
        let (dir, a) = temporary_path(Path::new("out/model.safetensors")).unwrap();
        let (_, b) = temporary_path(Path::new("out/model.safetensors")).unwrap();
        assert_eq!(dir, Path::new("out"));
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(".model.safetensors.tmp-"), "{name}");
        assert_eq!(
            temporary_path(Path::new("w.bin")).unwrap().0,
            Path::new(".")
        );
        assert!(temporary_path(Path::new("/")).is_err());
    }
}
