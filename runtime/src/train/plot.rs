//! `History::plot`: the curves of a training run, drawn with plotters to an SVG or PNG file.

use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::History;
use crate::{Error, Result};

/// The size of one panel, in pixels.
const PANEL: (u32, u32) = (480, 360);
/// Panels side by side before a new row starts.
const COLUMNS: usize = 3;
/// The colours of the training and validation curves (matplotlib's first two).
const TRAINING: RGBColor = RGBColor(31, 119, 180);
const VALIDATION: RGBColor = RGBColor(255, 127, 14);
/// The font family every label uses; `register_font` backs it with DejaVu Sans.
const FONT: &str = "sans-serif";
/// Curves with at most this many points also get a marker on each point.
const MARKERS_UP_TO: usize = 50;

impl History {
    /// Draws one panel per logged quantity (`loss` first, then each metric, then
    /// `learning_rate`), each with its training curve and, when logged, its `val_` curve,
    /// against the epoch counted from 1, and writes it to `path`: an `.svg` or `.png` file,
    /// chosen by the extension.
    ///
    /// Non-finite values (NaN, infinities) leave a gap in their curve. The text is set in
    /// DejaVu Sans, shipped inside the binary, so that no system font is needed.
    ///
    /// ```
    /// use strata_runtime::train::History;
    /// // After `let history = trainer.fit(&train, Fit::epochs(5).validation_data(&test))?;`,
    /// // `history.plot("history.svg")?` writes the curves. A history with no epoch is an error:
    /// let err = History::default().plot("history.svg").unwrap_err();
    /// assert!(err.to_string().contains("no epoch"));
    /// ```
    pub fn plot(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let format = Format::of(path)?;
        if self.epoch.is_empty() {
            return Err(Error::invalid(
                "history",
                "it holds no epoch: plot the History that fit returns after at least one epoch",
            ));
        }
        let panels = self.panels();
        let columns = panels.len().min(COLUMNS);
        let rows = panels.len().div_ceil(COLUMNS);
        let size = (PANEL.0 * columns as u32, PANEL.1 * rows as u32);
        register_font()?;
        let drawing_failed = |e: &dyn std::fmt::Display| Error::Format {
            path: path.to_path_buf(),
            message: format!("could not draw the plot: {e}"),
        };
        let bytes = match format {
            Format::Svg => {
                let mut svg = String::new();
                {
                    let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                    self.draw(&root, &panels, columns)
                        .map_err(|e| drawing_failed(&e))?;
                    root.present().map_err(|e| drawing_failed(&e))?;
                }
                svg.into_bytes()
            }
            Format::Png => {
                let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
                {
                    let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
                    self.draw(&root, &panels, columns)
                        .map_err(|e| drawing_failed(&e))?;
                    root.present().map_err(|e| drawing_failed(&e))?;
                }
                encode_png(&rgb, size).map_err(|e| drawing_failed(&e))?
            }
        };
        write_atomically(path, &bytes)
    }

    /// The panels to draw: each quantity's name, its training series and its `val_` series,
    /// `loss` first and `learning_rate` last. A `val_` series without a training one gets a
    /// panel of its own.
    fn panels(&self) -> Vec<Panel<'_>> {
        let rank = |name: &str| match name {
            "loss" => 0,
            "learning_rate" | "lr" => 2,
            _ => 1,
        };
        let mut names: Vec<&str> = Vec::new();
        for key in self.keys() {
            let quantity = key.strip_prefix("val_").unwrap_or(key);
            if !names.contains(&quantity) {
                names.push(quantity);
            }
        }
        names.sort_by_key(|name| rank(name));
        names
            .into_iter()
            .map(|name| Panel {
                name,
                training: self.get(name),
                validation: self.get(&format!("val_{name}")),
            })
            .collect()
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        panels: &[Panel<'_>],
        columns: usize,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let rows = panels.len().div_ceil(columns);
        for (panel, area) in panels.iter().zip(root.split_evenly((rows, columns))) {
            self.draw_panel(&area, panel)?;
        }
        Ok(())
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &Panel<'_>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let curves: Vec<_> = [
            ("training", TRAINING, panel.training),
            ("validation", VALIDATION, panel.validation),
        ]
        .into_iter()
        .filter_map(|(label, color, values)| Some((label, color, self.points(values?))))
        .collect();
        let first = self.epoch[0] + 1;
        let last = self.epoch[self.epoch.len() - 1] + 1;
        let x_range = if first < last {
            first..last
        } else {
            first - 1..last + 1
        };
        let y_range = y_range(curves.iter().flat_map(|(_, _, points)| points).map(|p| p.1));
        // The legend goes in the corner the curves leave free: a loss ends low, an accuracy high.
        let ends_high = curves
            .first()
            .and_then(|(_, _, points)| points.iter().rev().find(|p| p.1.is_finite()))
            .is_some_and(|p| p.1 > (y_range.start + y_range.end) / 2.0);
        let legend_corner = if ends_high {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperRight
        };
        let mut chart = ChartBuilder::on(area)
            .caption(panel.name, (FONT, 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range, y_range)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_labels(10)
            .y_labels(6)
            .max_light_lines(1)
            .label_style((FONT, 13))
            .draw()?;
        for (label, color, points) in &curves {
            let style = color.stroke_width(2);
            for run in points.split(|p| !p.1.is_finite()).filter(|r| r.len() > 1) {
                chart.draw_series(LineSeries::new(run.iter().copied(), style))?;
            }
            let finite = points.iter().filter(|p| p.1.is_finite());
            if points.len() <= MARKERS_UP_TO {
                chart.draw_series(finite.map(|&p| Circle::new(p, 3, color.filled())))?;
            }
            chart
                .draw_series(std::iter::empty::<Circle<(usize, f64), u32>>())?
                .label(*label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
        }
        chart
            .configure_series_labels()
            .position(legend_corner)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.4))
            .draw()
    }

    /// `values` against the epochs (counted from 1) in which they were logged. A series
    /// shorter than the history was logged every `validation_freq` epochs: its points go to
    /// the epochs `fit` validates on, for the smallest frequency that gives its length.
    fn points(&self, values: &[f64]) -> Vec<(usize, f64)> {
        let epochs: Vec<usize> = self.epoch.iter().map(|e| e + 1).collect();
        let logged = if values.len() >= epochs.len() {
            epochs
        } else {
            (1..=epochs.len())
                .map(|freq| epochs.iter().copied().filter(|e| e % freq == 0).collect())
                .find(|logged: &Vec<usize>| logged.len() == values.len())
                .unwrap_or_else(|| epochs[epochs.len() - values.len()..].to_vec())
        };
        logged.into_iter().zip(values.iter().copied()).collect()
    }
}

/// One quantity's panel.
struct Panel<'a> {
    name: &'a str,
    training: Option<&'a [f64]>,
    validation: Option<&'a [f64]>,
}

/// The file formats `plot` writes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    Svg,
    Png,
}

impl Format {
    fn of(path: &Path) -> Result<Format> {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match extension.to_ascii_lowercase().as_str() {
            "svg" => Ok(Format::Svg),
            "png" => Ok(Format::Png),
            _ => Err(Error::invalid(
                "path",
                format!(
                    "{} does not end in .svg or .png, the formats History::plot writes; \
                     name the file e.g. history.svg",
                    path.display()
                ),
            )),
        }
    }
}

/// The span of the finite `values` with a 5% margin on each side; a flat series gets a band
/// around its value, and no finite value at all gives `0..1`.
fn y_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (low, high) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if low > high {
        return 0.0..1.0;
    }
    let margin = if high > low {
        (high - low) * 0.05
    } else if low != 0.0 {
        low.abs() * 0.05
    } else {
        0.1
    };
    let (below, above) = (low - margin, high + margin);
    if below.is_finite() && above.is_finite() {
        below..above
    } else {
        low..high
    }
}

/// Backs the `sans-serif` family with DejaVu Sans, once per process.
fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if registered {
        Ok(())
    } else {
        Err(Error::invalid(
            "font",
            "the embedded DejaVu Sans font could not be loaded; this is a bug in strata, \
             please report it",
        ))
    }
}

fn encode_png(rgb: &[u8], (width, height): (u32, u32)) -> Result<Vec<u8>, png::EncodingError> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(bytes)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it, so that `path` never
/// holds half an image.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            Error::io(path, e)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Logs;

    fn history(columns: &[(&str, &[f64])]) -> History {
        let mut history = History::default();
        let epochs = columns.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
        for epoch in 0..epochs {
            let mut logs = Logs::default();
            for (name, values) in columns {
                if let Some(&value) = values.get(epoch) {
                    logs.push(*name, value);
                }
            }
            history.record(epoch, &logs);
        }
        history
    }

    fn temp_dir(test: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("strata-plot-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn plot_svg(history: &History, test: &str) -> String {
        let dir = temp_dir(test);
        history.plot(dir.join("history.svg")).unwrap();
        let svg = std::fs::read_to_string(dir.join("history.svg")).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        svg
    }

    /// The `(x, y)` points of every `<polyline>` drawn in `color`.
    fn polylines(svg: &str, color: RGBColor) -> Vec<Vec<(f64, f64)>> {
        let stroke = format!("stroke=\"#{:02X}{:02X}{:02X}\"", color.0, color.1, color.2);
        svg.split("<polyline")
            .skip(1)
            .map(|rest| &rest[..rest.find("/>").unwrap()])
            .filter(|element| element.contains(&stroke))
            .map(|element| {
                let start = element.find("points=\"").unwrap() + "points=\"".len();
                let points = &element[start..];
                points[..points.find('"').unwrap()]
                    .split_whitespace()
                    .map(|point| {
                        let (x, y) = point.split_once(',').unwrap();
                        (x.parse().unwrap(), y.parse().unwrap())
                    })
                    .collect()
            })
            .collect()
    }

    /// The curves: polylines with more than the legend's two points.
    fn curves(svg: &str, color: RGBColor) -> Vec<Vec<(f64, f64)>> {
        let mut lines = polylines(svg, color);
        lines.retain(|points| !is_legend_sample(points));
        lines
    }

    fn is_legend_sample(points: &[(f64, f64)]) -> bool {
        points.len() == 2 && points[0].1 == points[1].1 && points[1].0 - points[0].0 == 20.0
    }

    fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text")
            .skip(1)
            .map(|rest| {
                let body = &rest[rest.find('>').unwrap() + 1..];
                body[..body.find("</text>").unwrap()].trim()
            })
            .collect()
    }

    #[test]
    fn svg_draws_one_curve_per_series_that_follows_the_values() {
        let loss = [0.9, 0.6, 0.45, 0.4, 0.38];
        let accuracy = [0.6, 0.7, 0.75, 0.8, 0.82];
        let history = history(&[
            ("loss", &loss),
            ("accuracy", &accuracy),
            ("val_loss", &[1.0, 0.7, 0.6, 0.62, 0.65]),
            ("val_accuracy", &[0.55, 0.66, 0.7, 0.71, 0.7]),
        ]);
        let svg = plot_svg(&history, "curves");
        assert!(svg.trim_start().starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.trim_end().ends_with("</svg>"));

        let training = curves(&svg, TRAINING);
        let validation = curves(&svg, VALIDATION);
        assert_eq!(training.len(), 2, "a training curve per panel");
        assert_eq!(validation.len(), 2, "a validation curve per panel");
        for curve in training.iter().chain(&validation) {
            assert_eq!(curve.len(), loss.len(), "a point per epoch: {curve:?}");
            assert!(curve.windows(2).all(|w| w[0].0 < w[1].0), "epochs go right");
        }
        // Panels are drawn left to right: loss, then accuracy.
        let (loss_curve, accuracy_curve) = (&training[0], &training[1]);
        assert!(loss_curve[0].0 < accuracy_curve[0].0);
        // A falling loss goes down the image (SVG's y grows downwards), a rising accuracy up.
        assert!(
            loss_curve.windows(2).all(|w| w[0].1 < w[1].1),
            "{loss_curve:?}"
        );
        assert!(accuracy_curve.windows(2).all(|w| w[0].1 > w[1].1));
        // Equal steps in value are equal steps in pixels.
        let (top, bottom) = (loss_curve[0].1, loss_curve[4].1);
        let expected = top + (bottom - top) * (loss[0] - loss[2]) / (loss[0] - loss[4]);
        assert!((loss_curve[2].1 - expected).abs() <= 1.0, "{loss_curve:?}");
        // The validation loss turns back up after epoch 3.
        let val_loss = &validation[0];
        assert!(val_loss[2].1 > val_loss[3].1 && val_loss[3].1 > val_loss[4].1);

        let texts = texts(&svg);
        for text in ["loss", "accuracy", "epoch", "training", "validation"] {
            assert!(texts.contains(&text), "no text {text:?} in {texts:?}");
        }
        assert_eq!(texts.iter().filter(|t| **t == "training").count(), 2);
        assert!(
            texts.contains(&"1") && texts.contains(&"5"),
            "epochs count from 1"
        );
    }

    #[test]
    fn panels_put_loss_first_and_learning_rate_last() {
        let history = history(&[
            ("accuracy", &[0.5, 0.6]),
            ("learning_rate", &[0.1, 0.05]),
            ("loss", &[1.0, 0.5]),
        ]);
        let names: Vec<&str> = history.panels().iter().map(|p| p.name).collect();
        assert_eq!(names, ["loss", "accuracy", "learning_rate"]);
        let svg = plot_svg(&history, "order");
        let training = curves(&svg, TRAINING);
        assert_eq!(training.len(), 3);
        assert!(training[0][0].0 < training[1][0].0 && training[1][0].0 < training[2][0].0);
        assert!(curves(&svg, VALIDATION).is_empty(), "nothing to validate");
        let texts = texts(&svg);
        assert!(texts.contains(&"learning_rate"));
        assert!(
            !texts.contains(&"validation"),
            "no validation legend without val_"
        );
    }

    #[test]
    fn flat_single_epoch_and_non_finite_series_still_draw() {
        let flat = history(&[("loss", &[0.5, 0.5, 0.5])]);
        let svg = plot_svg(&flat, "flat");
        let curve = &curves(&svg, TRAINING)[0];
        assert_eq!(curve.len(), 3);
        assert!(curve.iter().all(|p| p.1 == curve[0].1), "a flat line");

        let one = history(&[("loss", &[0.5]), ("val_loss", &[0.7])]);
        let svg = plot_svg(&one, "one");
        let circles = svg.matches("<circle").count();
        assert_eq!(circles, 2, "one marker per series");

        let broken = history(&[("loss", &[1.0, f64::NAN, 0.5, f64::INFINITY, 0.2, 0.1])]);
        let svg = plot_svg(&broken, "nan");
        let runs: Vec<usize> = curves(&svg, TRAINING).iter().map(Vec::len).collect();
        // Lone finite points get only a marker; a line joins each run of finite values.
        assert_eq!(runs, [2]);
        assert_eq!(
            svg.matches("<circle").count(),
            4,
            "a marker per finite value"
        );
        assert!(!svg.contains("NaN"));

        let all_nan = history(&[("loss", &[f64::NAN, f64::NAN])]);
        plot_svg(&all_nan, "all-nan");
    }

    #[test]
    fn a_validation_series_logged_every_few_epochs_sits_on_its_epochs() {
        let history = history(&[("loss", &[1.0, 0.8, 0.6, 0.5])]);
        let every_second = history.points(&[0.9, 0.7]);
        assert_eq!(every_second, [(2, 0.9), (4, 0.7)]);
        let every = history.points(&[0.9, 0.8, 0.7, 0.6]);
        assert_eq!(every.iter().map(|p| p.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
    }

    #[test]
    fn y_range_has_a_margin_and_copes_with_flat_and_empty_series() {
        let range = y_range([1.0, 2.0].into_iter());
        assert!((range.start - 0.95).abs() < 1e-12 && (range.end - 2.05).abs() < 1e-12);
        let flat = y_range([0.5, 0.5].into_iter());
        assert!(flat.start < 0.5 && flat.end > 0.5);
        let zero = y_range([0.0].into_iter());
        assert!(zero.start < 0.0 && zero.end > 0.0);
        assert_eq!(y_range([f64::NAN].into_iter()), 0.0..1.0);
        let huge = y_range([-f64::MAX, f64::MAX].into_iter());
        assert!(huge.start.is_finite() && huge.end.is_finite());
    }

    #[test]
    fn png_is_a_valid_image_with_both_curves_in_their_panels() {
        let history = history(&[
            ("loss", &[0.9, 0.6, 0.45, 0.4]),
            ("accuracy", &[0.6, 0.7, 0.75, 0.8]),
            ("val_loss", &[1.0, 0.7, 0.6, 0.62]),
            ("val_accuracy", &[0.55, 0.66, 0.7, 0.71]),
        ]);
        let dir = temp_dir("png");
        history.plot(dir.join("history.PNG")).unwrap();
        let file = std::fs::read(dir.join("history.PNG")).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(file))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((info.width, info.height), (2 * PANEL.0, PANEL.1));
        assert_eq!(info.color_type, png::ColorType::Rgb);

        let count = |color: RGBColor, columns: Range<u32>| {
            let mut n = 0;
            for y in 0..info.height {
                for x in columns.clone() {
                    let i = (y * info.width + x) as usize * 3;
                    n += usize::from(pixels[i..i + 3] == [color.0, color.1, color.2]);
                }
            }
            n
        };
        for panel in 0..2 {
            let columns = panel * PANEL.0..(panel + 1) * PANEL.0;
            for color in [TRAINING, VALIDATION] {
                let n = count(color, columns.clone());
                assert!(n > 200, "panel {panel}: {n} pixels of {color:?}");
            }
        }
        let white = count(WHITE, 0..info.width);
        assert!(
            white > (info.width * info.height / 2) as usize,
            "a white background"
        );
        let dark = pixels
            .chunks(3)
            .filter(|p| p.iter().all(|&c| c < 80))
            .count();
        assert!(dark > 500, "text and axes in black: {dark} dark pixels");
    }

    #[test]
    fn unsupported_extensions_and_empty_histories_are_errors_that_name_the_fix() {
        let history = history(&[("loss", &[1.0])]);
        let dir = temp_dir("errors");
        for name in ["history.jpg", "history", "history.svg.txt"] {
            let err = history.plot(dir.join(name)).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { name: "path", .. }));
            let message = err.to_string();
            assert!(
                message.contains(".svg") && message.contains(".png"),
                "{message}"
            );
            assert!(!dir.join(name).exists());
        }
        let err = History::default().plot(dir.join("empty.svg")).unwrap_err();
        assert!(err.to_string().contains("no epoch"), "{err}");
        assert!(!dir.join("empty.svg").exists(), "no empty image");

        let missing = dir.join("no such folder").join("history.svg");
        let err = history.plot(&missing).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert!(
            leftovers.is_empty(),
            "no temporary file left: {leftovers:?}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
