//! The JSON of `ARCHITECTURE_JSON`, built as values and written once, so that every string
//! in it (a layer's name among them) is escaped.

use std::fmt::{self, Display, Write};

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i128),
    /// A finite number.
    Float(f64),
    Str(String),
    List(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// A string value.
    pub fn str(text: impl Into<String>) -> Json {
        Json::Str(text.into())
    }

    /// A list of integers: a shape, a kernel size.
    pub fn ints<I: Into<i128> + Copy>(values: &[I]) -> Json {
        Json::List(values.iter().map(|&v| Json::Int(v.into())).collect())
    }

    /// A list of sizes.
    pub fn sizes(values: &[usize]) -> Json {
        Json::List(values.iter().map(|&v| Json::Int(v as i128)).collect())
    }

    /// An object of these members.
    pub fn object<K: Into<String>>(members: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Object(members.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}

impl From<usize> for Json {
    fn from(n: usize) -> Json {
        Json::Int(n as i128)
    }
}

impl From<i64> for Json {
    fn from(n: i64) -> Json {
        Json::Int(n.into())
    }
}

impl From<f64> for Json {
    fn from(f: f64) -> Json {
        Json::Float(f)
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.to_string())
    }
}

impl Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Int(i) => write!(f, "{i}"),
            // Rust's shortest round-trip form, which is valid JSON for a finite number
            // (`0.001`, `1e-7`, `0.0`).
            Json::Float(x) if x.is_finite() => write!(f, "{x:?}"),
            Json::Float(_) => f.write_str("null"),
            Json::Str(s) => write_string(f, s),
            Json::List(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_char(']')
            }
            Json::Object(members) => {
                f.write_char('{')?;
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_string(f, key)?;
                    write!(f, ": {value}")?;
                }
                f.write_char('}')
            }
        }
    }
}

/// `text` as a JSON string: quoted, with quotes, backslashes and control characters escaped.
fn write_string(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let name = Json::str("a \"quoted\" \\ name\n\u{1}");
        assert_eq!(name.to_string(), r#""a \"quoted\" \\ name\n\u0001""#);
    }

    #[test]
    fn values_are_written_as_keras_writes_them() {
        let config = Json::object([
            ("units", Json::from(128usize)),
            ("rate", Json::from(0.5)),
            ("epsilon", Json::from(1e-7)),
            ("shape", Json::sizes(&[28, 28, 1])),
            ("seed", Json::Null),
        ]);
        assert_eq!(
            config.to_string(),
            r#"{"units": 128, "rate": 0.5, "epsilon": 1e-7, "shape": [28, 28, 1], "seed": null}"#
        );
    }
}
