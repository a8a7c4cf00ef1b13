use std::fmt;

/// Named values of one step, epoch or evaluation: `loss`, then the metrics, in order.
///
/// ```
/// use strata_runtime::train::Logs;
/// let mut logs = Logs::default();
/// logs.push("loss", 0.25);
/// assert_eq!(logs.get("loss"), Some(0.25));
/// assert_eq!(logs.to_string(), "loss: 0.2500");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logs {
    entries: Vec<(String, f64)>,
}

impl Logs {
    /// Adds (or replaces) `name`. Replacing allocates nothing, so that logs kept across
    /// steps cost no allocation per step.
    pub fn push(&mut self, name: impl AsRef<str> + Into<String>, value: f64) {
        match self.entries.iter_mut().find(|(n, _)| n == name.as_ref()) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name.into(), value)),
        }
    }

    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, v)| v)
    }

    /// Every `(name, value)`, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), *v))
    }
}

impl fmt::Display for Logs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(" - ")?;
            }
            write!(f, "{name}: {value:.4}")?;
        }
        Ok(())
    }
}

/// What `fit` returns: every logged value per epoch, as Keras's `History.history`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The epochs recorded (0-based).
    pub epoch: Vec<usize>,
    series: Vec<(String, Vec<f64>)>,
}

impl History {
    /// The values of `name` (`"loss"`, `"val_accuracy"`, ...), one per epoch in which
    /// it was logged.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.series
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The last value of `name`.
    pub fn last(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|v| v.last().copied())
    }

    /// The names logged.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.series.iter().map(|(n, _)| n.as_str())
    }

    /// A history of these epochs and named series (each as long as `epoch`).
    pub(crate) fn from_parts(epoch: Vec<usize>, series: Vec<(String, Vec<f64>)>) -> Self {
        History { epoch, series }
    }

    pub(crate) fn record(&mut self, epoch: usize, logs: &Logs) {
        self.epoch.push(epoch);
        for (name, value) in logs.iter() {
            match self.series.iter_mut().find(|(n, _)| n == name) {
                Some((_, values)) => values.push(value),
                None => self.series.push((name.to_string(), vec![value])),
            }
        }
    }
}
