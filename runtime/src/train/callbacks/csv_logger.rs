//! Keras's `CSVLogger`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use super::{Callback, Training};
use crate::train::Logs;
use crate::{Error, Float, Result};

/// Writes each epoch's logs as a row of a CSV file, as Keras's `CSVLogger`: a header
/// `epoch,<the first epoch's log names, sorted>`, then one row per epoch (`NA` for a value
/// an epoch did not log), flushed as it is written.
///
/// ```no_run
/// use strata_runtime::train::CSVLogger;
/// let log = CSVLogger::new("training.csv").append(true);
/// ```
#[derive(Debug)]
pub struct CSVLogger {
    path: PathBuf,
    separator: char,
    append: bool,
    file: Option<File>,
    /// The columns after `epoch`: the first epoch's log names, sorted.
    keys: Option<Vec<String>>,
    header_pending: bool,
}

impl CSVLogger {
    /// Logs to `path`, replacing the file.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CSVLogger {
            path: path.into(),
            separator: ',',
            append: false,
            file: None,
            keys: None,
            header_pending: false,
        }
    }

    /// The separator between values (`,` by default).
    #[must_use]
    pub fn separator(mut self, separator: char) -> Self {
        self.separator = separator;
        self
    }

    /// Adds rows to an existing file instead of replacing it (no second header).
    #[must_use]
    pub fn append(mut self, append: bool) -> Self {
        self.append = append;
        self
    }

    /// Whether the file already starts with a line (a header) worth keeping.
    fn has_header(&self) -> bool {
        let Ok(file) = File::open(&self.path) else {
            return false;
        };
        let mut first = String::new();
        BufReader::new(file)
            .read_line(&mut first)
            .is_ok_and(|n| n > 0)
    }

    fn write_row(&mut self, fields: &[String]) -> Result<()> {
        let line = fields.join(self.separator.encode_utf8(&mut [0; 4]));
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        writeln!(file, "{line}")
            .and_then(|()| file.flush())
            .map_err(|e| Error::io(&self.path, e))
    }
}

impl<F: Float> Callback<F> for CSVLogger {
    fn on_train_begin(&mut self, _: &mut dyn Training<F>) -> Result<()> {
        let keep_header = self.append && self.has_header();
        let file = OpenOptions::new()
            .create(true)
            .append(self.append)
            .write(true)
            .truncate(!self.append)
            .open(&self.path)
            .map_err(|e| Error::io(&self.path, e))?;
        self.file = Some(file);
        self.keys = None;
        self.header_pending = !keep_header;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        _: &mut dyn Training<F>,
    ) -> Result<()> {
        let keys = self.keys.get_or_insert_with(|| {
            let mut keys: Vec<String> = logs.iter().map(|(name, _)| name.to_string()).collect();
            keys.sort();
            keys
        });
        let header: Vec<String> = std::iter::once("epoch".to_string())
            .chain(keys.iter().cloned())
            .collect();
        let row: Vec<String> = std::iter::once(epoch.to_string())
            .chain(keys.iter().map(|key| {
                logs.get(key)
                    .map_or_else(|| "NA".to_string(), |value| value.to_string())
            }))
            .collect();
        if std::mem::take(&mut self.header_pending) {
            self.write_row(&header)?;
        }
        self.write_row(&row)
    }

    fn on_train_end(&mut self, _: &Logs, _: &mut dyn Training<F>) -> Result<()> {
        self.file = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::callbacks::testing::FakeRun;

    fn epoch_logs(loss: f64, accuracy: f64) -> Logs {
        let mut logs = Logs::default();
        logs.push("loss", loss);
        logs.push("accuracy", accuracy);
        logs
    }

    fn train(logger: &mut CSVLogger, epochs: &[(f64, f64)]) {
        let mut fake = FakeRun::new(0.1);
        Callback::<f32>::on_train_begin(logger, &mut fake).unwrap();
        for (epoch, &(loss, accuracy)) in epochs.iter().enumerate() {
            let mut logs = epoch_logs(loss, accuracy);
            logger.on_epoch_end(epoch, &mut logs, &mut fake).unwrap();
        }
        Callback::<f32>::on_train_end(logger, &Logs::default(), &mut fake).unwrap();
    }

    #[test]
    fn writes_a_header_and_a_row_per_epoch_with_sorted_keys() {
        let dir = std::env::temp_dir().join(format!("strata-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.csv");
        train(&mut CSVLogger::new(&path), &[(0.5, 0.8), (0.25, 0.9)]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "epoch,accuracy,loss\n0,0.8,0.5\n1,0.9,0.25\n");

        train(&mut CSVLogger::new(&path).append(true), &[(0.125, 0.95)]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "epoch,accuracy,loss\n0,0.8,0.5\n1,0.9,0.25\n0,0.95,0.125\n"
        );

        train(&mut CSVLogger::new(&path).separator(';'), &[(1.5, 0.0)]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "epoch;accuracy;loss\n0;0;1.5\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_path_is_an_error_naming_it() {
        let mut logger = CSVLogger::new("/nonexistent-dir/log.csv");
        let error = Callback::<f32>::on_train_begin(&mut logger, &mut FakeRun::new(0.1));
        assert!(
            error
                .unwrap_err()
                .to_string()
                .contains("/nonexistent-dir/log.csv")
        );
    }
}
