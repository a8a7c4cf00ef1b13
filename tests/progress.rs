//! What `fit` prints when its output is not a terminal (a log file, a pipe): clean lines,
//! one per epoch, as Keras 3 prints them, and no control characters.
//!
//! The parent test runs the child test below in a new process with its output piped, so
//! that the child's stdout is really not a terminal.

use ndarray::Array2;
use std::process::Command;
use strata::prelude::*;

model! {
    struct Tiny: [8] -> [3] {
        Dense(4, activation = relu),
        Dense(3),
    }
}

const VERBOSE: &str = "STRATA_TEST_PROGRESS_VERBOSE";

/// Fits a tiny model for two epochs with validation, at the verbosity the parent asks for.
#[test]
#[ignore = "run by prints_clean_keras_lines_when_not_on_a_terminal"]
fn child_fits_at_the_requested_verbosity() {
    let Ok(level) = std::env::var(VERBOSE) else {
        return;
    };
    let x = Array2::from_shape_fn((40, 8), |(i, j)| ((i + j) % 5) as f32 / 5.0);
    let y = Array2::from_shape_fn((40, 1), |(i, _)| (i % 3) as f32);
    let data = Dataset::from_rows(x, y).unwrap();
    let mut trainer = Tiny::new(Seed(1)).compile(
        Adam::new(1e-2),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy::new()],
    );
    let verbose: u8 = level.parse().unwrap();
    println!("<<fit");
    let fit = Fit::epochs(2)
        .batch_size(16)
        .validation_split(0.25)
        .verbose(verbose);
    trainer.fit(&data, fit).unwrap();
    println!("fit>>");
}

/// What the child printed between its markers, with every number written as `N`.
fn child_output(verbose: u8) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_fits_at_the_requested_verbosity",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(VERBOSE, verbose.to_string())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        !stdout.chars().any(|c| c.is_control() && c != '\n'),
        "control characters in {stdout:?}"
    );
    let start = stdout.find("<<fit\n").unwrap() + "<<fit\n".len();
    let end = stdout.find("fit>>").unwrap();
    numbers_as_n(&stdout[start..end])
}

/// `938/938 - 2s - 3ms/step - loss: 0.4996` becomes `N/N - Ns - Nms/step - loss: N`.
fn numbers_as_n(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|c| c.is_ascii_digit() || *c == '.' || *c == 'e' || *c == '-')
            {
                chars.next();
            }
            out.push('N');
        } else {
            out.push(c);
        }
    }
    out.replace("Nus/step", "Nms/step")
}

#[test]
fn prints_clean_keras_lines_when_not_on_a_terminal() {
    let logs = "accuracy: N - loss: N - val_accuracy: N - val_loss: N";
    assert_eq!(
        child_output(1),
        format!(
            "Epoch N/N\nN/N ━━━━━━━━━━━━━━━━━━━━ Ns Nms/step - {logs}\n\
             Epoch N/N\nN/N ━━━━━━━━━━━━━━━━━━━━ Ns Nms/step - {logs}\n"
        )
    );
    assert_eq!(
        child_output(2),
        format!(
            "Epoch N/N\nN/N - Ns - Nms/step - {logs}\n\
             Epoch N/N\nN/N - Ns - Nms/step - {logs}\n"
        )
    );
    assert_eq!(child_output(0), "");
}
