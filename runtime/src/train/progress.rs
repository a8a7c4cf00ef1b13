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
            if let Ok(style) = ProgressStyle::with_template("{pos}/{len} {bar:20} {msg}") {
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
            bar.set_message(format!("{} - {}", per_step(self.started, step + 1), logs()));
        }
    }

    pub fn epoch_end(&mut self, logs: &Logs) {
        if self.verbose == Verbose::Silent {
            return;
        }
        let elapsed = self.started.elapsed();
        let line = format!(
            "{steps}/{steps} {bar}{secs}s {per_step} - {logs}",
            steps = self.steps,
            bar = if self.verbose == Verbose::ProgressBar {
                "━━━━━━━━━━━━━━━━━━━━ "
            } else {
                "- "
            },
            secs = elapsed.as_secs(),
            per_step = per_step(self.started, self.steps),
        );
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }
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
