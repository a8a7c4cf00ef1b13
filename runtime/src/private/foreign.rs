//! Const helpers for a model of another block used as a layer: the using model's
//! parameter table, built from the other model's at compile time, and the check of the
//! signature the using block declares for it.
//!
//! Why in consts: [`Model::PARAMS`](crate::Model::PARAMS) is a constant that checkpoints,
//! freezing and `summary()` read. The using model's table holds the other model's entries
//! renamed under the layer's name (`encoder/dense/kernel`), and those names exist only in
//! the other model's constants, which the macro cannot see: only const evaluation can read
//! them. A const cannot allocate a `String`, so each name is built in a fixed-capacity byte
//! buffer ([`ConstStr`]) whose capacity, also computed in a const, fits the longest name;
//! the buffers live in a `const` item of the generated code, so that the table's
//! `&'static str` names point into them. (A prefix field in `ParamInfo` would make every
//! reader of names join them; a `LazyLock` table would turn `PARAMS` from a constant into a
//! function for every model.)

use crate::model::{ParamInfo, TensorInfo};

/// A string built in a const: up to `CAP` bytes.
pub struct ConstStr<const CAP: usize> {
    bytes: [u8; CAP],
    len: usize,
}

impl<const CAP: usize> ConstStr<CAP> {
    /// The empty string.
    pub const EMPTY: Self = ConstStr {
        bytes: [0; CAP],
        len: 0,
    };

    /// This string followed by `text`.
    pub const fn push(mut self, text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            self.bytes[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    /// This string followed by `n` in decimal.
    pub const fn push_usize(mut self, n: usize) -> Self {
        let mut divisor = 1;
        while n / divisor >= 10 {
            divisor *= 10;
        }
        while divisor > 0 {
            self.bytes[self.len] = b'0' + (n / divisor % 10) as u8;
            self.len += 1;
            divisor /= 10;
        }
        self
    }

    /// This string followed by `shape` as the macro writes it: `[28, 28, 1]`.
    const fn push_shape(mut self, shape: &[usize]) -> Self {
        self = self.push("[");
        let mut i = 0;
        while i < shape.len() {
            if i > 0 {
                self = self.push(", ");
            }
            self = self.push_usize(shape[i]);
            i += 1;
        }
        self.push("]")
    }

    /// This string followed by `parts` as a signature writes them: `[784]` for one,
    /// `(a: [392], b: [392])` for several.
    const fn push_tensors(mut self, parts: &[TensorInfo]) -> Self {
        if let [one] = parts {
            return self.push_shape(one.shape);
        }
        self = self.push("(");
        let mut i = 0;
        while i < parts.len() {
            if i > 0 {
                self = self.push(", ");
            }
            self = self
                .push(parts[i].name)
                .push(": ")
                .push_shape(parts[i].shape);
            i += 1;
        }
        self.push(")")
    }

    /// The text.
    pub const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.bytes.split_at(self.len).0) {
            Ok(text) => text,
            Err(_) => panic!("a ConstStr holds the bytes of whole strings"),
        }
    }
}

/// Digits of `n` in decimal.
const fn digits(mut n: usize) -> usize {
    let mut count = 1;
    while n >= 10 {
        n /= 10;
        count += 1;
    }
    count
}

/// The length of `shape` written as `[28, 28, 1]`.
const fn shape_len(shape: &[usize]) -> usize {
    let mut len = 2;
    let mut i = 0;
    while i < shape.len() {
        len += digits(shape[i]) + if i > 0 { 2 } else { 0 };
        i += 1;
    }
    len
}

/// The length of `parts` written as [`ConstStr::push_tensors`] writes them.
const fn tensors_len(parts: &[TensorInfo]) -> usize {
    if let [one] = parts {
        return shape_len(one.shape);
    }
    let mut len = 2;
    let mut i = 0;
    while i < parts.len() {
        len += parts[i].name.len() + 2 + shape_len(parts[i].shape) + if i > 0 { 2 } else { 0 };
        i += 1;
    }
    len
}

const SEVERAL: &str = " (a model used as a layer has one input and one output)";

/// The capacity [`signature_message`] needs.
pub const fn signature_message_len(
    before: &str,
    inputs: &[TensorInfo],
    outputs: &[TensorInfo],
    after: &str,
) -> usize {
    before.len() + tensors_len(inputs) + 4 + tensors_len(outputs) + after.len() + SEVERAL.len()
}

/// `before`, the signature `inputs -> outputs`, `after`, and a reminder when there are
/// several inputs or outputs.
pub const fn signature_message<const CAP: usize>(
    before: &str,
    inputs: &[TensorInfo],
    outputs: &[TensorInfo],
    after: &str,
) -> ConstStr<CAP> {
    let text = ConstStr::EMPTY
        .push(before)
        .push_tensors(inputs)
        .push(" -> ")
        .push_tensors(outputs)
        .push(after);
    match (inputs, outputs) {
        ([_], [_]) => text,
        _ => text.push(SEVERAL),
    }
}

const fn same_shape(a: &[usize], b: &[usize]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether a model of `inputs` and `outputs` is one of one `input` and one `output`.
pub const fn has_signature(
    inputs: &[TensorInfo],
    outputs: &[TensorInfo],
    input: &[usize],
    output: &[usize],
) -> bool {
    match (inputs, outputs) {
        ([i], [o]) => same_shape(i.shape, input) && same_shape(o.shape, output),
        _ => false,
    }
}

/// The capacity the names of `params` need under `prefix/`.
pub const fn prefixed_len(prefix: &str, params: &[ParamInfo]) -> usize {
    let mut longest = 0;
    let mut i = 0;
    while i < params.len() {
        if params[i].name.len() > longest {
            longest = params[i].name.len();
        }
        i += 1;
    }
    prefix.len() + 1 + longest
}

/// The names of `params` under `prefix/`: `encoder/dense/kernel`.
pub const fn prefixed_names<const N: usize, const CAP: usize>(
    prefix: &str,
    params: &[ParamInfo],
) -> [ConstStr<CAP>; N] {
    let mut names = [const { ConstStr::EMPTY }; N];
    let mut i = 0;
    while i < N {
        names[i] = ConstStr::EMPTY.push(prefix).push("/").push(params[i].name);
        i += 1;
    }
    names
}

/// A placeholder entry of a table being built.
pub const EMPTY_PARAM: ParamInfo = ParamInfo {
    name: "",
    shape: &[],
    offset: 0,
    len: 0,
    trainable: false,
};

/// Copies `entries` into `table` from `at`; returns where the next entry goes.
pub const fn place(table: &mut [ParamInfo], mut at: usize, entries: &[ParamInfo]) -> usize {
    let mut i = 0;
    while i < entries.len() {
        table[at] = entries[i];
        at += 1;
        i += 1;
    }
    at
}

/// Places a model's `params` into `table` from `at`, each named from `names`, moved by
/// `offset` (where the model's parameters start in the using model's buffer) and
/// trainable only when `trainable` too; returns where the next entry goes.
pub const fn place_model<const CAP: usize>(
    table: &mut [ParamInfo],
    mut at: usize,
    names: &'static [ConstStr<CAP>],
    params: &[ParamInfo],
    offset: usize,
    trainable: bool,
) -> usize {
    let mut i = 0;
    while i < params.len() {
        table[at] = ParamInfo {
            name: names[i].as_str(),
            offset: offset + params[i].offset,
            trainable: trainable && params[i].trainable,
            ..params[i]
        };
        at += 1;
        i += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    const INNER: &[ParamInfo] = &[
        ParamInfo {
            name: "dense/kernel",
            shape: &[3, 2],
            offset: 0,
            len: 6,
            trainable: true,
        },
        ParamInfo {
            name: "batch_normalization/moving_mean",
            shape: &[2],
            offset: 6,
            len: 2,
            trainable: false,
        },
    ];

    #[test]
    fn a_model_placed_in_a_table_is_renamed_and_moved() {
        const NAMES: [ConstStr<{ prefixed_len("encoder", INNER) }>; 2] =
            prefixed_names("encoder", INNER);
        const TABLE: [ParamInfo; 3] = {
            let mut table = [EMPTY_PARAM; 3];
            let head = ParamInfo {
                name: "dense/bias",
                offset: 0,
                len: 1,
                shape: &[1],
                trainable: true,
            };
            let at = place(&mut table, 0, &[head]);
            place_model(&mut table, at, &NAMES, INNER, 1, true);
            table
        };
        let names: Vec<_> = TABLE
            .iter()
            .map(|p| (p.name, p.offset, p.trainable))
            .collect();
        assert_eq!(
            names,
            [
                ("dense/bias", 0, true),
                ("encoder/dense/kernel", 1, true),
                ("encoder/batch_normalization/moving_mean", 7, false)
            ]
        );
    }

    #[test]
    fn a_signature_message_writes_the_real_signature() {
        let one = |name, shape| TensorInfo {
            name,
            shape,
            offset: 0,
            len: 0,
        };
        let (inputs, outputs) = ([one("input", &[28, 28, 1])], [one("output", &[10])]);
        const N: usize = 200;
        let message: ConstStr<N> = signature_message("is `", &inputs, &outputs, "`");
        assert_eq!(message.as_str(), "is `[28, 28, 1] -> [10]`");
        assert!(signature_message_len("is `", &inputs, &outputs, "`") >= message.len);
        let two = [one("a", &[392]), one("b", &[392])];
        let message: ConstStr<N> = signature_message("", &two, &outputs, "");
        assert_eq!(
            message.as_str(),
            format!("(a: [392], b: [392]) -> [10]{SEVERAL}")
        );
        assert_eq!(signature_message_len("", &two, &outputs, ""), message.len);
        assert!(has_signature(&inputs, &outputs, &[28, 28, 1], &[10]));
        assert!(!has_signature(&inputs, &outputs, &[784], &[10]));
        assert!(!has_signature(&two, &outputs, &[392], &[10]));
        assert_eq!(
            ConstStr::<25>::EMPTY
                .push_usize(0)
                .push_usize(1_234_567)
                .as_str(),
            "01234567"
        );
    }
}
