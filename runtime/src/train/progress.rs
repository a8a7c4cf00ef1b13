//! Keras's progress output.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Logs, Verbose};

/// How often the bar's message is refreshed: formatting the logs on every step would cost
/// more than a small model's step.
const REFRESH: Duration = Duration::from_millis(100);

pub(crate) struct Progress {
    verbose: Verbose,
    bar: Option<ProgressBar>,
    steps: usize,
    started: Instant,
    refreshed: Instant,
}

impl Progress {
    pub fn new(verbose: Verbose) -> Self {
        let now = Instant::now();
        Progress {
            verbose,
            bar: None,
            steps: 0,
            started: now,
            refreshed: now,
        }
    }

    pub fn epoch_begin(&mut self, epoch: usize, epochs: usize, steps: usize) {
        self.steps = steps;
        self.started = Instant::now();
        if self.verbose == Verbose::Silent {
            return;
        }
        println!("Epoch {}/{epochs}", epoch + 1);
        if self.verbose == Verbose::ProgressBar && std::io::stdout().is_terminal() {
            let bar = ProgressBar::with_draw_target(
                Some(steps as u64),
                ProgressDrawTarget::stdout_with_hz(10),
            );
            // Keras's live line: steps, bar, time left, time per step, running metrics.
            let template = "{pos}/{len} {bar:20} {eta} {msg}";
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("━━ "));
            }
            self.bar = Some(bar);
        }
    }

    /// After step `step` (0-based); `logs` is called only when the bar shows them.
    pub fn step(&mut self, step: usize, logs: impl FnOnce() -> Logs) {
        let Some(bar) = &self.bar else {
            return;
        };
        bar.set_position(step as u64 + 1);
        if self.refreshed.elapsed() >= REFRESH {
            self.refreshed = Instant::now();
            let logs = keras_logs(&logs());
            bar.set_message(format!("{}{logs}", per_step(self.started, step + 1)));
        }
    }

    pub fn epoch_end(&mut self, logs: &Logs) {
        if self.verbose == Verbose::Silent {
            return;
        }
        let line = epoch_line(
            self.verbose,
            self.steps,
            self.started.elapsed(),
            &per_step(self.started, self.steps),
            logs,
        );
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }
}

/// The line that ends an epoch, as Keras 3 prints it:
/// `938/938 ━━━━━━━━━━━━━━━━━━━━ 2s 2ms/step - accuracy: 0.8240 - loss: 0.4996` with a
/// progress bar, `938/938 - 2s - 2ms/step - accuracy: ...` with one line per epoch.
fn epoch_line(
    verbose: Verbose,
    steps: usize,
    elapsed: Duration,
    per_step: &str,
    logs: &Logs,
) -> String {
    let secs = elapsed.as_secs_f64().round();
    let logs = keras_logs(logs);
    match verbose {
        Verbose::ProgressBar => format!("{steps}/{steps} {BAR} {secs}s {per_step}{logs}"),
        _ => format!("{steps}/{steps} - {secs}s - {per_step}{logs}"),
    }
}

/// The full bar of a finished epoch.
const BAR: &str = "━━━━━━━━━━━━━━━━━━━━";

/// ` - accuracy: 0.8240 - loss: 0.4996`: sorted by name and formatted as Keras 3 does
/// (four decimals, or four significant digits in scientific notation for values of at
/// most 1e-3).
fn keras_logs(logs: &Logs) -> String {
    let mut entries: Vec<(&str, f64)> = logs.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
        .iter()
        .map(|(name, value)| {
            if value.abs() > 1e-3 || !value.is_finite() {
                format!(" - {name}: {value:.4}")
            } else {
                format!(" - {name}: {value:.4e}")
            }
        })
        .collect()
}

/// `2ms/step`, as Keras writes it.
fn per_step(started: Instant, steps: usize) -> String {
    let per = started.elapsed().as_secs_f64() / steps.max(1) as f64;
    if per >= 1.0 {
        format!("{per:.0}s/step")
    } else if per >= 1e-3 {
        format!("{:.0}ms/step", per * 1e3)
    } else {
        format!("{:.0}us/step", per * 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs() -> Logs {
        let mut logs = Logs::default();
        logs.push("loss", 0.49961);
        logs.push("accuracy", 0.824);
        logs.push("val_loss", 0.0001234);
        logs
    }

    #[test]
    fn epoch_lines_read_as_keras_3_prints_them() {
        let elapsed = Duration::from_millis(2_400);
        assert_eq!(
            epoch_line(Verbose::ProgressBar, 938, elapsed, "3ms/step", &logs()),
            "938/938 ━━━━━━━━━━━━━━━━━━━━ 2s 3ms/step - accuracy: 0.8240 - loss: 0.4996 \
             - val_loss: 1.2340e-4"
        );
        assert_eq!(
            epoch_line(Verbose::OneLinePerEpoch, 938, elapsed, "3ms/step", &logs()),
            "938/938 - 2s - 3ms/step - accuracy: 0.8240 - loss: 0.4996 - val_loss: 1.2340e-4"
        );
    }
}
