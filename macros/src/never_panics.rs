//! The macro never panics: the whole pipeline, driven as a library on token streams, over
//! model blocks mutated from every block the repository writes (the compile-fail cases, the
//! tests, the examples, the benches, the fixtures), with layer names, argument names and
//! integer-limit numbers put in wrong places.
//!
//! `cargo test --release -p strata-macros never_panics` runs a bounded number in CI;
//! `STRATA_MUTATIONS=1000000 cargo test --release -p strata-macros -- --ignored
//! a_million_mutated_blocks --nocapture` runs a million and prints the count.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

use crate::layers::registry::REGISTRY;

/// Inputs that once made the macro panic, kept so that they never do again.
const REGRESSIONS: &[&str] = &[
    // The graph's own operations named as layers.
    "struct A: [20, 8] -> [16] { LSTM(16), Unpack(index = 0, part = \"h\") }",
    "struct A: [8] -> [8] { InputLayer(shape = [8], offset = 0, total = 8) }",
    "struct A: (a: [8], b: [8]) -> [8] { let c = InputLayer(shape = [8])(a); Add(c, b) }",
    // Products of dimensions past usize.
    "struct A: [4294967296, 4294967296, 65536] -> [10] { Flatten, Dense(10) }",
    "struct A: [1099511627776] -> [10] { Dense(1099511627776), Dense(10) }",
    "struct A: [1073741823, 1073741823, 1] -> [1] { ZeroPadding2D(1073741824), Flatten, Dense(1) }",
    // Literals past their argument's type.
    "struct A: [8] -> [8] { Dense(99999999999999999999999999) }",
    "struct A: [8] -> [8] { Dropout(1e400), Dense(8) }",
    "struct A: [8, 4] -> [8, 4] { LayerNormalization(axis = 99999999999999999999) }",
    // A tuple pattern on the model's input.
    "struct A: [8] -> [8] { let (a, b) = input; Add(a, b) }",
    // Unpacking what gives one value, and what gives fewer than the pattern takes.
    "struct A: [8] -> [8] { let (a, b) = Dense(8)(input); Add(a, b) }",
    "struct A: [4, 8] -> [8] { let (a, b, c, d) = LSTM(8, return_state = true)(input); Add(a, d) }",
    // A recurrent layer on a huge vector: its help once searched every divisor.
    "struct A: [1152921504606846975] -> [8] { LSTM(8) }",
    "struct A: [1152921504606846975] -> [8] { Conv2D(8, 3) }",
];

/// A deterministic generator (splitmix64): the same seed, the same mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Every `model! { ... }` body in `tokens`, at any depth.
fn model_blocks(tokens: TokenStream, blocks: &mut Vec<TokenStream>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        if let TokenTree::Group(group) = tree {
            let is_model = i >= 2
                && matches!(&trees[i - 2], TokenTree::Ident(id) if id == "model")
                && matches!(&trees[i - 1], TokenTree::Punct(p) if p.as_char() == '!');
            if is_model {
                blocks.push(group.stream());
            } else {
                model_blocks(group.stream(), blocks);
            }
        }
    }
}

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.ends_with("target") {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// Every model block the repository writes, and the regression cases.
fn corpus() -> Vec<TokenStream> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in [
        "tests",
        "examples",
        "benches",
        "fixtures",
        "src",
        "runtime/src",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    let mut blocks = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if let Ok(tokens) = TokenStream::from_str(&text) {
            model_blocks(tokens, &mut blocks);
        }
    }
    for case in REGRESSIONS {
        blocks.push(TokenStream::from_str(case).expect("a regression case tokenizes"));
    }
    blocks
}

/// Tokens a mutation puts in wrong places: every layer name, every argument name, numbers
/// at the integer and float limits, and the words and punctuation of the syntax.
fn vocabulary() -> Vec<TokenTree> {
    let span = Span::call_site();
    let mut words: Vec<String> = REGISTRY.iter().map(|k| k.name().to_string()).collect();
    for kind in REGISTRY {
        words.extend(kind.arguments().iter().map(|a| a.to_string()));
    }
    words.extend(
        [
            "name",
            "trainable",
            "initial_state",
            "input",
            "relu",
            "softmax",
            "same",
            "valid",
            "let",
            "struct",
            "pub",
            "use",
            "of",
            "u8",
            "u32",
            "true",
            "false",
            "_",
            "x",
            "h",
            "Unpack",
            "InputLayer",
            "Encoder",
            "self",
        ]
        .map(String::from),
    );
    let mut tokens: Vec<TokenTree> = words
        .iter()
        .filter_map(|w| match w.as_str() {
            "_" => Some(TokenTree::Ident(Ident::new("_", span))),
            w => TokenStream::from_str(w).ok()?.into_iter().next(),
        })
        .collect();
    let numbers = [
        "0",
        "1",
        "2",
        "3",
        "7",
        "255",
        "256",
        "65536",
        "2147483647",
        "2147483648",
        "4294967295",
        "4294967296",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "1152921504606846975",
        "1152921504606846976",
        "340282366920938463463374607431768211455",
        "99999999999999999999999999999999999999999999",
        "0.0",
        "0.5",
        "1.0",
        "1e400",
        "1e-400",
        "\"\"",
        "\"a/b\"",
        "\"x\\\"y\"",
    ];
    tokens.extend(
        numbers
            .iter()
            .filter_map(|n| TokenStream::from_str(n).ok()?.into_iter().next()),
    );
    for c in ['-', ',', ';', '=', ':', '!', '<', '>', '.'] {
        tokens.push(TokenTree::Punct(Punct::new(c, Spacing::Alone)));
    }
    for delimiter in [Delimiter::Parenthesis, Delimiter::Bracket, Delimiter::Brace] {
        tokens.push(TokenTree::Group(Group::new(delimiter, TokenStream::new())));
    }
    tokens.push(TokenTree::Literal(Literal::usize_unsuffixed(usize::MAX)));
    tokens
}

/// `tokens` with one random change at a random depth: a token inserted, deleted,
/// duplicated, swapped with a neighbour, or replaced by one of `vocabulary`.
fn mutate(tokens: &TokenStream, vocabulary: &[TokenTree], rng: &mut Rng) -> TokenStream {
    let mut trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let groups: Vec<usize> = (0..trees.len())
        .filter(|&i| matches!(trees[i], TokenTree::Group(_)))
        .collect();
    // Descend into a group about half the time, when there is one.
    if !groups.is_empty() && rng.below(2) == 0 {
        let at = *rng.pick(&groups);
        if let TokenTree::Group(group) = &trees[at] {
            let inner = mutate(&group.stream(), vocabulary, rng);
            trees[at] = TokenTree::Group(Group::new(group.delimiter(), inner));
        }
        return trees.into_iter().collect();
    }
    let len = trees.len();
    match rng.below(5) {
        0 => trees.insert(rng.below(len + 1), rng.pick(vocabulary).clone()),
        1 if len > 0 => {
            trees.remove(rng.below(len));
        }
        2 if len > 0 => {
            let at = rng.below(len);
            let copy = trees[at].clone();
            trees.insert(at, copy);
        }
        3 if len > 1 => {
            let at = rng.below(len - 1);
            trees.swap(at, at + 1);
        }
        _ if len > 0 => trees[rng.below(len)] = rng.pick(vocabulary).clone(),
        _ => trees.push(rng.pick(vocabulary).clone()),
    }
    trees.into_iter().collect()
}

/// Runs `count` mutated blocks (each from 1 to 4 mutations of a corpus block) through the
/// macro on `threads` threads; returns how many ran and the inputs that panicked.
fn run(count: usize, threads: usize, seed: u64) -> (usize, Vec<String>) {
    let corpus: Vec<String> = corpus().iter().map(TokenStream::to_string).collect();
    assert!(corpus.len() > 100, "the corpus has {} blocks", corpus.len());
    let panics = Mutex::new(Vec::new());
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let ran: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (corpus, panics) = (&corpus, &panics);
                scope.spawn(move || {
                    let vocabulary = vocabulary();
                    let mut rng = Rng(seed ^ (t as u64).wrapping_mul(0x1234_5678_9abc_def1));
                    let share = count / threads + usize::from(t < count % threads);
                    for i in 0..share {
                        // Every block as written first, then mutations of them.
                        let base = TokenStream::from_str(&corpus[(i * threads + t) % corpus.len()])
                            .expect("a corpus block tokenizes");
                        let mut block = base;
                        if i * threads + t >= corpus.len() {
                            for _ in 0..=rng.below(4) {
                                block = mutate(&block, &vocabulary, &mut rng);
                            }
                        }
                        let text = block.to_string();
                        let outcome =
                            panic::catch_unwind(AssertUnwindSafe(|| crate::expand_block(block)));
                        if outcome.is_err() {
                            panics.lock().unwrap().push(text);
                        }
                    }
                    share
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    panic::set_hook(previous);
    (ran, panics.into_inner().unwrap())
}

fn assert_no_panics(count: usize, threads: usize) {
    let (ran, panics) = run(count, threads, 0x5eed);
    eprintln!(
        "{ran} model blocks through the macro, {} panics",
        panics.len()
    );
    assert!(
        panics.is_empty(),
        "{} of {ran} blocks panicked the macro; the first:\n{}",
        panics.len(),
        panics
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn no_mutated_block_panics_the_macro() {
    assert_no_panics(20_000, 2);
}

#[test]
#[ignore = "a million blocks take minutes; run it with --ignored"]
fn a_million_mutated_blocks() {
    let count = std::env::var("STRATA_MUTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    assert_no_panics(count, 2);
}

#[test]
fn the_corpus_holds_every_compile_fail_case_and_the_regressions() {
    let corpus = corpus();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/ui");
    let mut cases = Vec::new();
    rust_files(&root, &mut cases);
    assert!(cases.len() >= 60, "{} compile-fail cases", cases.len());
    assert!(corpus.len() >= cases.len() + REGRESSIONS.len());
}

#[test]
fn the_macro_is_built_with_overflow_checks() {
    // An unchecked size would wrap silently without them, and no mutation would find it.
    let max = std::hint::black_box(u8::MAX);
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let wrapped = panic::catch_unwind(|| max + std::hint::black_box(1));
    panic::set_hook(previous);
    assert!(
        wrapped.is_err(),
        "the macro crate is built without overflow checks"
    );
}
