//! Finding, downloading and loading data sets, against a mirror served on loopback by
//! each test, and against the real Fashion-MNIST files where Debian installed them.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use flate2::{Compression, write::GzEncoder};
use sha2::{Digest, Sha256};

use super::spec::{IdxFile, Spec, hex};
use super::{Source, fashion_mnist};
use crate::Error;
use crate::data::Dataset;

// ---- fixtures -------------------------------------------------------------------------

/// A directory of its own for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("strata-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn files(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.0.join(dir))
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A small data set of the MNIST kind: 6 training and 3 test images of 28 x 28, and the
/// IDX content of its four files.
struct Tiny {
    spec: &'static Spec,
    content: [Vec<u8>; 4],
}

const NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn tiny() -> Tiny {
    let images = |n: u8| -> Vec<u8> { (0..n).flat_map(|i| [i * 51; 784]).collect() };
    let content = [
        idx(&[6, 28, 28], &images(6)),
        idx(&[6], &[0, 1, 2, 3, 4, 5]),
        idx(&[3, 28, 28], &images(3)),
        idx(&[3], &[7, 8, 9]),
    ];
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let file = |i: usize| IdxFile {
        name: NAMES[i],
        sha256: leak(hex(&Sha256::digest(&content[i]))),
        len: content[i].len() as u64,
    };
    let spec = Box::leak(Box::new(Spec {
        name: "tiny-mnist",
        title: "Tiny-MNIST",
        url: "http://mirror.invalid/tiny/",
        debian_package: Some("dataset-tiny-mnist"),
        files: [file(0), file(1), file(2), file(3)],
    }));
    Tiny { spec, content }
}

impl Tiny {
    /// The published files, gzip-compressed, by name.
    fn published(&self) -> HashMap<String, Vec<u8>> {
        NAMES
            .iter()
            .zip(&self.content)
            .map(|(name, content)| (format!("{name}.gz"), gzip(content)))
            .collect()
    }

    /// Writes the files into `dir`, compressed or not.
    fn write_to(&self, dir: &Path, compressed: bool, which: &[usize]) {
        std::fs::create_dir_all(dir).unwrap();
        for &i in which {
            let (name, bytes) = if compressed {
                (format!("{}.gz", NAMES[i]), gzip(&self.content[i]))
            } else {
                (NAMES[i].to_string(), self.content[i].clone())
            };
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

/// An HTTP mirror on 127.0.0.1 serving `files` by name, answering 404 for anything else,
/// and counting the requests.
struct Mirror {
    url: String,
    requests: Arc<AtomicUsize>,
}

impl Mirror {
    fn serve(files: HashMap<String, Vec<u8>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/data/", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let _ = respond(stream, &files);
            }
        });
        Mirror { url, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn respond(mut stream: TcpStream, files: &HashMap<String, Vec<u8>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("");
    let file = path.strip_prefix("/data/").and_then(|name| files.get(name));
    let (status, body) = match file {
        Some(body) => ("200 OK", body.as_slice()),
        None => ("404 Not Found", b"not found".as_slice()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

fn unavailable_message(result: crate::Result<(Dataset, Dataset)>) -> String {
    match result {
        Err(Error::DatasetUnavailable { message }) => {
            eprintln!("{message}");
            message
        }
        Err(other) => panic!("expected DatasetUnavailable, got {other}"),
        Ok(_) => panic!("expected DatasetUnavailable, got data"),
    }
}

fn no_partial_files(files: &[String]) -> bool {
    files.iter().all(|name| !name.ends_with(".part"))
}

// ---- finding --------------------------------------------------------------------------

#[test]
fn tiny_data_loads_scaled_to_unit_range_with_class_index_targets() {
    let tiny = tiny();
    let dir = TempDir::new("tiny-load");
    tiny.write_to(dir.path(), true, &[0, 1, 2, 3]);
    let (train, test) = tiny.spec.load_dir(dir.path()).unwrap();
    assert_eq!((train.len(), test.len()), (6, 3));
    assert_eq!(train.sample_shape(), &[28, 28]);
    assert_eq!(train.target_width(), 1);
    assert_eq!(train.sample(1)[0], 51.0 / 255.0);
    assert_eq!(train.sample(5)[783], 1.0);
    assert_eq!(test.y().column(0).to_vec(), [7.0, 8.0, 9.0]);
}

#[test]
fn first_place_holding_every_file_wins_and_uncompressed_files_count() {
    let tiny = tiny();
    let dir = TempDir::new("first-place");
    let (partial, full) = (dir.path().join("partial"), dir.path().join("full"));
    tiny.write_to(&partial, true, &[0, 1, 2]);
    tiny.write_to(&full, false, &[0, 1, 2, 3]);
    let source = Source::new()
        .search(dir.path().join("absent"))
        .search(&partial)
        .search(&full)
        .offline();
    let (train, test) = source.load(tiny.spec).unwrap();
    assert_eq!((train.len(), test.len()), (6, 3));
}

#[test]
fn found_file_with_wrong_checksum_is_refused_naming_it() {
    let tiny = tiny();
    let dir = TempDir::new("wrong-checksum");
    tiny.write_to(dir.path(), true, &[0, 1, 2, 3]);
    // Another label for the first test image: valid IDX, other data.
    std::fs::write(
        dir.path().join("t10k-labels-idx1-ubyte.gz"),
        gzip(&idx(&[3], &[1, 8, 9])),
    )
    .unwrap();
    let err = Source::new()
        .search(dir.path())
        .load(tiny.spec)
        .unwrap_err();
    let Error::Format { path, message } = &err else {
        panic!("expected a format error, got {err}");
    };
    assert!(path.ends_with("t10k-labels-idx1-ubyte.gz"), "{path:?}");
    assert!(
        message.contains("SHA-256") && message.contains("delete it"),
        "{message}"
    );
}

#[test]
fn load_from_a_directory_without_the_files_names_the_missing_ones() {
    let tiny = tiny();
    let dir = TempDir::new("load-from-missing");
    tiny.write_to(dir.path(), true, &[0, 2]);
    let message = unavailable_message(tiny.spec.load_dir(dir.path()));
    assert!(
        message.contains("missing train-labels-idx1-ubyte.gz, t10k-labels-idx1-ubyte.gz"),
        "{message}"
    );
    assert!(message.contains("does not hold Tiny-MNIST"), "{message}");
}

#[test]
fn unavailable_error_lists_every_place_searched_and_how_to_fix_it() {
    let tiny = tiny();
    let dir = TempDir::new("unavailable");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    tiny.write_to(&b, true, &[0]);
    let message = unavailable_message(
        Source::new()
            .search(&a)
            .search(&b)
            .offline()
            .load(tiny.spec),
    );
    assert!(
        message.starts_with("Tiny-MNIST is not on this machine"),
        "{message}"
    );
    assert!(message.contains("downloading is switched off"), "{message}");
    let a_line = format!("  - {}: no such directory", a.display());
    let b_line = format!("  - {}: missing train-labels-idx1-ubyte.gz,", b.display());
    assert!(message.contains(&a_line), "{message}");
    assert!(message.contains(&b_line), "{message}");
    assert!(message.find(&a_line) < message.find(&b_line), "{message}");
    assert!(
        message.contains("sudo apt install dataset-tiny-mnist"),
        "{message}"
    );
    assert!(message.contains("STRATA_DATA=DIR"), "{message}");
    assert!(
        message.contains("allow the download from http://mirror.invalid/tiny/"),
        "{message}"
    );
}

// ---- downloading ----------------------------------------------------------------------

#[test]
fn download_lands_verified_in_the_cache_and_loads() {
    let tiny = tiny();
    let mirror = Mirror::serve(tiny.published());
    let dir = TempDir::new("download-good");
    let cache = dir.path().join("cache");
    let source = Source::new().cache(&cache).download_from(&mirror.url);
    let (train, test) = source.load(tiny.spec).unwrap();
    assert_eq!((train.len(), test.len()), (6, 3));
    assert_eq!(mirror.requests(), 4);
    let mut expected: Vec<String> = NAMES.iter().map(|n| format!("{n}.gz")).collect();
    expected.sort();
    assert_eq!(dir.files("cache"), expected);
    // What landed is what was served.
    let served = tiny.published();
    for name in &expected {
        assert_eq!(std::fs::read(cache.join(name)).unwrap(), served[name]);
    }
    // Loading again reads the cache, and downloads nothing.
    let (again, _) = source.load(tiny.spec).unwrap();
    assert_eq!(again, train);
    assert_eq!(mirror.requests(), 4);
}

#[test]
fn only_the_files_missing_from_the_cache_are_downloaded() {
    let tiny = tiny();
    let mirror = Mirror::serve(tiny.published());
    let dir = TempDir::new("download-missing");
    let cache = dir.path().join("cache");
    tiny.write_to(&cache, false, &[0, 3]);
    let source = Source::new().cache(&cache).download_from(&mirror.url);
    let (train, test) = source.load(tiny.spec).unwrap();
    assert_eq!((train.len(), test.len()), (6, 3));
    assert_eq!(mirror.requests(), 2);
}

#[test]
fn download_with_a_bad_checksum_is_refused_and_leaves_no_file() {
    let tiny = tiny();
    let mut files = tiny.published();
    // One pixel changed: still a valid IDX file, but not the published data.
    let mut damaged = tiny.content[0].clone();
    damaged[1000] ^= 1;
    files.insert("train-images-idx3-ubyte.gz".into(), gzip(&damaged));
    let mirror = Mirror::serve(files);
    let dir = TempDir::new("download-bad-checksum");
    let source = Source::new()
        .search(dir.path().join("nowhere"))
        .cache(dir.path().join("cache"))
        .download_from(&mirror.url);
    let message = unavailable_message(source.load(tiny.spec));
    assert!(message.contains("downloading it failed"), "{message}");
    assert!(
        message.contains(&format!(
            "{}train-images-idx3-ubyte.gz was refused",
            mirror.url
        )),
        "{message}"
    );
    assert!(message.contains("SHA-256"), "{message}");
    assert!(message.contains("nowhere: no such directory"), "{message}");
    assert_eq!(dir.files("cache"), Vec::<String>::new());
}

#[test]
fn download_of_a_file_that_is_not_idx_is_refused_and_leaves_no_file() {
    let tiny = tiny();
    let mut files = tiny.published();
    files.insert(
        "train-labels-idx1-ubyte.gz".into(),
        b"<html>Service Unavailable</html>".to_vec(),
    );
    // A gzip stream cut short, as by a dropped connection.
    let whole = gzip(&tiny.content[2]);
    files.insert(
        "t10k-images-idx3-ubyte.gz".into(),
        whole[..whole.len() / 2].to_vec(),
    );
    let mirror = Mirror::serve(files);
    let dir = TempDir::new("download-not-idx");
    let source = Source::new()
        .cache(dir.path().join("cache"))
        .download_from(&mirror.url);
    let message = unavailable_message(source.load(tiny.spec));
    assert!(message.contains("not an IDX file"), "{message}");
    // The file verified before the failure stays; the refused one does not land.
    assert_eq!(dir.files("cache"), ["train-images-idx3-ubyte.gz"]);

    std::fs::write(
        dir.path().join("cache/train-labels-idx1-ubyte"),
        &tiny.content[1],
    )
    .unwrap();
    let message = unavailable_message(source.load(tiny.spec));
    assert!(message.contains("gzip"), "{message}");
    let files = dir.files("cache");
    assert!(no_partial_files(&files), "{files:?}");
    assert!(
        !files.iter().any(|f| f.starts_with("t10k-images")),
        "{files:?}"
    );
}

#[test]
fn download_of_a_missing_file_reports_http_404() {
    let tiny = tiny();
    let mut files = tiny.published();
    files.remove("t10k-labels-idx1-ubyte.gz");
    let mirror = Mirror::serve(files);
    let dir = TempDir::new("download-404");
    let source = Source::new()
        .cache(dir.path().join("cache"))
        .download_from(&mirror.url);
    let message = unavailable_message(source.load(tiny.spec));
    assert!(
        message.contains(&format!(
            "{}t10k-labels-idx1-ubyte.gz answered HTTP 404",
            mirror.url
        )),
        "{message}"
    );
    assert!(message.contains("To fix it"), "{message}");
    let files = dir.files("cache");
    assert!(no_partial_files(&files), "{files:?}");
    assert!(
        !files.iter().any(|f| f.starts_with("t10k-labels")),
        "{files:?}"
    );
}

#[test]
fn unreachable_mirror_is_a_clear_error() {
    let tiny = tiny();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The listener is closed: nothing answers on `port`.
    let url = format!("http://127.0.0.1:{port}/");
    let dir = TempDir::new("download-unreachable");
    let source = Source::new()
        .cache(dir.path().join("cache"))
        .download_from(&url);
    let message = unavailable_message(source.load(tiny.spec));
    assert!(
        message.contains(&format!("{url}train-images-idx3-ubyte.gz")),
        "{message}"
    );
    assert!(message.contains("downloading it failed"), "{message}");
    assert!(no_partial_files(&dir.files("cache")));
}

// ---- the real Fashion-MNIST -----------------------------------------------------------

const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Whether Debian's dataset-fashion-mnist is installed; the tests that read it say so
/// when it is not, and pass.
fn debian_files() -> bool {
    let there = fashion_mnist::SPEC.find_in(Path::new(DEBIAN_DIR)).is_ok();
    if !there {
        eprintln!("skipped: install dataset-fashion-mnist to run this test");
    }
    there
}

fn assert_is_fashion_mnist(train: &Dataset, test: &Dataset) {
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    for data in [train, test] {
        assert_eq!(data.sample_shape(), &[28, 28]);
        assert_eq!(data.sample_len(), 784);
        assert_eq!(data.target_width(), 1);
        let mut per_class = [0usize; 10];
        for &label in data.y() {
            assert!(
                label.fract() == 0.0 && (0.0..=9.0).contains(&label),
                "{label}"
            );
            per_class[label as usize] += 1;
        }
        // Fashion-MNIST is balanced: 6,000 and 1,000 images of each class.
        assert_eq!(per_class, [data.len() / 10; 10]);
        let (min, max) = data
            .x()
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        assert_eq!((min, max), (0.0, 1.0));
    }
    // Keras's first training label is 9 (an ankle boot), its first test label too.
    assert_eq!(train.y()[[0, 0]], 9.0);
    assert_eq!(test.y()[[0, 0]], 9.0);
}

#[test]
fn fashion_mnist_from_debian_has_60000_train_and_10000_test_images() {
    if debian_files() {
        let (train, test) = fashion_mnist::load_from(DEBIAN_DIR).unwrap();
        assert_is_fashion_mnist(&train, &test);
    }
}

#[test]
fn fashion_mnist_load_finds_it_on_this_machine() {
    if debian_files() {
        let (train, test) = fashion_mnist::load().unwrap();
        assert_is_fashion_mnist(&train, &test);
    }
}

#[test]
fn fashion_mnist_download_verifies_the_published_checksums() {
    if !debian_files() {
        return;
    }
    let files = NAMES
        .iter()
        .map(|name| {
            let file = format!("{name}.gz");
            let bytes = std::fs::read(Path::new(DEBIAN_DIR).join(&file)).unwrap();
            (file, bytes)
        })
        .collect();
    let mirror = Mirror::serve(files);
    let dir = TempDir::new("fashion-download");
    let source = Source::new()
        .cache(dir.path().join("fashion-mnist"))
        .download_from(&mirror.url);
    let (train, test) = fashion_mnist::load_with(&source).unwrap();
    assert_is_fashion_mnist(&train, &test);
    assert_eq!(mirror.requests(), 4);
    assert_eq!(dir.files("fashion-mnist").len(), 4);
}
