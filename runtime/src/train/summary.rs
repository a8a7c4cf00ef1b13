//! Keras's `summary()` table.

use crate::{LayerInfo, ParamInfo};

const WIDTHS: [usize; 3] = [33, 24, 15];

/// The table Keras 3 prints for a model: layer name and type, output shape (with the batch
/// as `None`), parameters; then the totals, of `params`: all of them, the trainable ones
/// and the others (a frozen layer's, BatchNormalization's moving statistics).
pub fn render(
    name: &str,
    layers: &[LayerInfo],
    params: &[ParamInfo],
    bytes_per_param: usize,
) -> String {
    let mut out = format!("Model: \"{name}\"\n");
    out += &rule('┏', '━', '┳', '┓');
    out += &row('┃', ["Layer (type)", "Output Shape", "Param #"]);
    out += &rule('┡', '━', '╇', '┩');
    for (i, layer) in layers.iter().enumerate() {
        if i > 0 {
            out += &rule('├', '─', '┼', '┤');
        }
        out += &row(
            '│',
            [
                &format!("{} ({})", layer.name, layer.kind),
                &output_shapes(layer),
                &thousands(layer.params),
            ],
        );
    }
    out += &rule('└', '─', '┴', '┘');
    let total: usize = params.iter().map(|p| p.len).sum();
    let trainable: usize = params.iter().filter(|p| p.trainable).map(|p| p.len).sum();
    for (label, count) in [
        ("Total", total),
        ("Trainable", trainable),
        ("Non-trainable", total - trainable),
    ] {
        out += &format!(
            " {label} params: {} ({})\n",
            thousands(count),
            size(count * bytes_per_param)
        );
    }
    out
}

fn rule(left: char, fill: char, cross: char, right: char) -> String {
    let cells: Vec<String> = WIDTHS.iter().map(|&w| fill.to_string().repeat(w)).collect();
    format!("{left}{}{right}\n", cells.join(&cross.to_string()))
}

/// A row of the table, each cell wrapped onto as many lines as it needs, as Keras wraps
/// `batch_normalization (BatchNormalization)` after the layer's name.
fn row(border: char, cells: [&str; 3]) -> String {
    let [wa, wb, wc] = WIDTHS.map(|w| w - 2);
    let [a, b, c] = [(cells[0], wa), (cells[1], wb), (cells[2], wc)].map(|(t, w)| wrap(t, w));
    let height = a.len().max(b.len()).max(c.len());
    let line = |cell: &[String], i: usize| cell.get(i).cloned().unwrap_or_default();
    (0..height)
        .map(|i| {
            let (a, b, c) = (line(&a, i), line(&b, i), line(&c, i));
            format!("{border} {a:<wa$} {border} {b:<wb$} {border} {c:>wc$} {border}\n")
        })
        .collect()
}

/// `text` in lines of at most `width` characters, broken at spaces (a word longer than a
/// line is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        let chars: Vec<char> = word.chars().collect();
        for piece in chars.chunks(width.max(1)) {
            let piece: String = piece.iter().collect();
            match lines.last_mut() {
                Some(line) if line.chars().count() + 1 + piece.chars().count() <= width => {
                    line.push(' ');
                    line.push_str(&piece);
                }
                _ => lines.push(piece),
            }
        }
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// The output shape, or, for a layer of several outputs, the list of them, as Keras
/// prints it: `[(None, 32), (None, 32), (None, 32)]`.
fn output_shapes(layer: &LayerInfo) -> String {
    if layer.output_shapes.is_empty() {
        return batch_shape(layer.output_shape);
    }
    let shapes: Vec<String> = layer.output_shapes.iter().map(|s| batch_shape(s)).collect();
    format!("[{}]", shapes.join(", "))
}

/// `(None, 28, 28, 1)`.
fn batch_shape(shape: &[usize]) -> String {
    let dims: Vec<String> = std::iter::once("None".to_string())
        .chain(shape.iter().map(usize::to_string))
        .collect();
    format!("({})", dims.join(", "))
}

/// `118,282`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `462.04 KB`, as Keras writes sizes.
fn size(bytes: usize) -> String {
    let b = bytes as f64;
    match bytes {
        0..1024 => format!("{b:.2} B"),
        1024..1_048_576 => format!("{:.2} KB", b / 1024.0),
        _ => format!("{:.2} MB", b / 1_048_576.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_keras_columns_and_totals() {
        let layers = [
            LayerInfo {
                name: "dense",
                kind: "Dense",
                output_shape: &[128],
                output_shapes: &[],
                params: 100_480,
                trainable: true,
            },
            LayerInfo {
                name: "dense_1",
                kind: "Dense",
                output_shape: &[10],
                output_shapes: &[],
                params: 1_290,
                trainable: false,
            },
        ];
        let param = |name, len, trainable| ParamInfo {
            name,
            shape: &[],
            offset: 0,
            len,
            trainable,
        };
        let params = [
            param("dense/kernel", 100_352, true),
            param("dense/bias", 128, true),
            param("dense_1/kernel", 1_280, false),
            param("dense_1/bias", 10, false),
        ];
        let table = render("Mlp", &layers, &params, 4);
        assert!(table.starts_with("Model: \"Mlp\"\n"));
        assert!(table.contains(
            "│ dense (Dense)                   │ (None, 128)            │       100,480 │"
        ));
        assert!(table.contains(" Total params: 101,770 (397.54 KB)\n"));
        assert!(table.contains(" Trainable params: 100,480 (392.50 KB)\n"));
        assert!(table.contains(" Non-trainable params: 1,290 (5.04 KB)\n"));
    }

    #[test]
    fn a_layer_of_several_outputs_lists_their_shapes() {
        let lstm = LayerInfo {
            name: "lstm",
            kind: "LSTM",
            output_shape: &[20, 32],
            output_shapes: &[&[20, 32], &[32], &[32]],
            params: 12_416,
            trainable: true,
        };
        assert_eq!(
            output_shapes(&lstm),
            "[(None, 20, 32), (None, 32), (None, 32)]"
        );
    }

    #[test]
    fn a_long_layer_name_wraps_after_the_name_as_keras_does() {
        let cells = [
            "batch_normalization (BatchNormalization)",
            "(None, 128)",
            "512",
        ];
        assert_eq!(
            row('│', cells),
            "│ batch_normalization             │ (None, 128)            │           512 │\n\
             │ (BatchNormalization)            │                        │               │\n"
        );
        assert_eq!(wrap("", 5), [""]);
        assert_eq!(wrap("abcdefgh ij", 5), ["abcde", "fgh", "ij"]);
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
