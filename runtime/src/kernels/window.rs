//! Sliding windows over a channels-last map, shared by convolutions and pooling: output
//! sizes and padding by Keras's (TensorFlow's) rules.

/// How a window treats the border of its input, as Keras's `padding` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// `"valid"`: only windows that fit inside the input.
    Valid,
    /// `"same"`: `ceil(input / stride)` windows, the input padded with zeros (half before,
    /// the odd one after).
    Same,
}

/// Windows along one axis: `(output size, padding before)`.
///
/// Keras's rule: `valid` gives `floor((input - span) / stride) + 1` windows (none when the
/// span `(window - 1)·dilation + 1` exceeds the input); `same` gives `ceil(input / stride)`
/// and pads `max((output - 1)·stride + span - input, 0)` cells, half of them before.
///
/// ```
/// use strata_runtime::kernels::{Padding, window_axis};
/// assert_eq!(window_axis(28, 3, 1, 1, Padding::Valid), (26, 0));
/// assert_eq!(window_axis(28, 3, 2, 2, Padding::Valid), (12, 0)); // span 5
/// assert_eq!(window_axis(5, 4, 2, 1, Padding::Same), (3, 1)); // pads 1 before, 2 after
/// ```
pub const fn window_axis(
    input: usize,
    window: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
) -> (usize, usize) {
    assert!(
        window > 0 && stride > 0 && dilation > 0,
        "window, stride and dilation must be positive"
    );
    let span = (window - 1) * dilation + 1;
    match padding {
        Padding::Valid if input < span => (0, 0),
        Padding::Valid => ((input - span) / stride + 1, 0),
        Padding::Same => {
            let output = input.div_ceil(stride);
            let covered = if output == 0 {
                0
            } else {
                (output - 1) * stride + span
            };
            (output, covered.saturating_sub(input) / 2)
        }
    }
}

/// A 2-D window sliding over one channels-last sample `[height, width, channels]`: a
/// convolution's receptive field or a pooling window. 1-D layers use height 1 (see
/// [`Window2d::along_steps`]).
///
/// ```
/// use strata_runtime::kernels::{Padding, Window2d};
/// const POOL: Window2d = Window2d::new([26, 26, 32], [2, 2], [2, 2], [1, 1], Padding::Valid);
/// assert_eq!(POOL.output_shape(), [13, 13, 32]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window2d {
    /// The sample's `[height, width, channels]`.
    pub input: [usize; 3],
    /// The window's `[height, width]` (a kernel size or pool size).
    pub window: [usize; 2],
    /// `[vertical, horizontal]` steps between windows.
    pub strides: [usize; 2],
    /// `[vertical, horizontal]` spacing between the window's taps (1: contiguous).
    pub dilation: [usize; 2],
    /// Valid or same.
    pub padding: Padding,
}

impl Window2d {
    /// A window over `input = [height, width, channels]`.
    pub const fn new(
        input: [usize; 3],
        window: [usize; 2],
        strides: [usize; 2],
        dilation: [usize; 2],
        padding: Padding,
    ) -> Self {
        Self {
            input,
            window,
            strides,
            dilation,
            padding,
        }
    }

    /// A pooling window: `pool_size` with `strides`, no dilation.
    pub const fn pooling(
        input: [usize; 3],
        pool_size: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    ) -> Self {
        Self::new(input, pool_size, strides, [1, 1], padding)
    }

    /// A 1-D window over `[steps, channels]`, as a 2-D window of height 1.
    ///
    /// ```
    /// use strata_runtime::kernels::{Padding, Window2d};
    /// let conv1d = Window2d::along_steps([100, 8], 5, 2, 1, Padding::Same);
    /// assert_eq!(conv1d.output_shape(), [1, 50, 8]);
    /// ```
    pub const fn along_steps(
        input: [usize; 2],
        window: usize,
        stride: usize,
        dilation: usize,
        padding: Padding,
    ) -> Self {
        Self::new(
            [1, input[0], input[1]],
            [1, window],
            [1, stride],
            [1, dilation],
            padding,
        )
    }

    /// `(output rows, padding above)`.
    pub const fn rows(&self) -> (usize, usize) {
        window_axis(
            self.input[0],
            self.window[0],
            self.strides[0],
            self.dilation[0],
            self.padding,
        )
    }

    /// `(output columns, padding on the left)`.
    pub const fn columns(&self) -> (usize, usize) {
        window_axis(
            self.input[1],
            self.window[1],
            self.strides[1],
            self.dilation[1],
            self.padding,
        )
    }

    /// `[output height, output width, channels]`: the shape a pooling layer produces.
    pub const fn output_shape(&self) -> [usize; 3] {
        [self.rows().0, self.columns().0, self.input[2]]
    }

    /// Output positions per sample: output height × output width.
    pub const fn positions(&self) -> usize {
        self.rows().0 * self.columns().0
    }

    /// Values in one input sample: height × width × channels.
    pub const fn input_len(&self) -> usize {
        self.input[0] * self.input[1] * self.input[2]
    }

    /// Values in one window across all channels: window height × width × channels, the
    /// length of an im2col row.
    pub const fn patch_len(&self) -> usize {
        self.window[0] * self.window[1] * self.input[2]
    }

    /// How many of window `position`'s cells lie inside the input (the rest is padding).
    pub(crate) fn real_cells(&self, position: usize) -> usize {
        let ((_, top), (out_columns, left)) = (self.rows(), self.columns());
        let (oy, ox) = (position / out_columns, position % out_columns);
        let real = |o, axis: usize, before| {
            (0..self.window[axis])
                .filter(|&k| {
                    tap(
                        o,
                        k,
                        self.strides[axis],
                        self.dilation[axis],
                        before,
                        self.input[axis],
                    )
                    .is_some()
                })
                .count()
        };
        real(oy, 0, top) * real(ox, 1, left)
    }

    /// Walks every window of one sample, the taps of each window in order, and calls
    /// `visit(position, patch_offset, input_offset, len)` for each run of `len` values:
    /// values `patch_offset..patch_offset + len` of window `position`'s patch (laid out
    /// `[window height, window width, channels]`, as an im2col row) are values
    /// `input_offset..input_offset + len` of the sample, or padding where `input_offset`
    /// is `None`. A run is one tap's channels, or a whole window row when its taps are
    /// contiguous in the input. Runs are multiples of `channels` long.
    ///
    /// im2col, its transpose, and pooling are this walk with different visits.
    #[inline]
    pub(crate) fn for_each_run(&self, mut visit: impl FnMut(usize, usize, Option<usize>, usize)) {
        let [height, width, channels] = self.input;
        let [window_height, window_width] = self.window;
        let ([sh, sw], [dh, dw]) = (self.strides, self.dilation);
        let ((out_rows, top), (out_columns, left)) = (self.rows(), self.columns());
        let row_run = window_width * channels;
        let interior = self.interior_columns();
        for oy in 0..out_rows {
            for ky in 0..window_height {
                let patch_offset = ky * row_run;
                let first_position = oy * out_columns;
                let Some(iy) = tap(oy, ky, sh, dh, top, height) else {
                    for position in first_position..first_position + out_columns {
                        visit(position, patch_offset, None, row_run);
                    }
                    continue;
                };
                let row_start = iy * width;
                let by_taps =
                    |ox: usize, visit: &mut dyn FnMut(usize, usize, Option<usize>, usize)| {
                        for kx in 0..window_width {
                            let input = tap(ox, kx, sw, dw, left, width)
                                .map(|ix| (row_start + ix) * channels);
                            visit(
                                first_position + ox,
                                patch_offset + kx * channels,
                                input,
                                channels,
                            );
                        }
                    };
                for ox in 0..interior.start {
                    by_taps(ox, &mut visit);
                }
                for ox in interior.clone() {
                    let input = (row_start + ox * sw - left) * channels;
                    visit(first_position + ox, patch_offset, Some(input), row_run);
                }
                for ox in interior.end..out_columns {
                    by_taps(ox, &mut visit);
                }
            }
        }
    }

    /// The output columns whose window row lies inside the input with contiguous taps
    /// (no dilation): their taps along a row are one run.
    fn interior_columns(&self) -> std::ops::Range<usize> {
        let ((out_columns, left), width) = (self.columns(), self.input[1]);
        let (stride, span) = (self.strides[1], self.window[1]);
        if self.dilation[1] != 1 || width + left < span {
            return 0..0;
        }
        let first = left.div_ceil(stride);
        let end = ((width + left - span) / stride + 1).min(out_columns);
        first.min(end)..end
    }
}

/// The input index that tap `k` of output `o` reads along one axis, or `None` in the
/// padding.
#[inline(always)]
fn tap(
    o: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    before: usize,
    size: usize,
) -> Option<usize> {
    let i = (o * stride + k * dilation).checked_sub(before)?;
    (i < size).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keras's documented formulas, written independently: valid
    /// `floor((in - (k-1)·d - 1) / s) + 1`, same `ceil(in / s)` (Keras docs,
    /// `conv_utils.conv_output_length`).
    fn keras_output_length(input: usize, k: usize, s: usize, d: usize, p: Padding) -> usize {
        let dilated = (k as i64 - 1) * d as i64 + 1;
        let length = match p {
            Padding::Valid => input as i64 - dilated + 1,
            Padding::Same => input as i64,
        };
        if length <= 0 {
            0
        } else {
            ((length + s as i64 - 1) / s as i64) as usize
        }
    }

    #[test]
    fn output_sizes_match_keras_formulas() {
        for input in 1..20 {
            for window in 1..6 {
                for stride in 1..4 {
                    for dilation in 1..4 {
                        for padding in [Padding::Valid, Padding::Same] {
                            let (out, _) = window_axis(input, window, stride, dilation, padding);
                            let want =
                                keras_output_length(input, window, stride, dilation, padding);
                            assert_eq!(
                                out, want,
                                "in {input} k {window} s {stride} d {dilation} {padding:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn same_padding_puts_the_odd_cell_after() {
        // TensorFlow: in 5, k 4, s 2 -> out 3, pad_total (3-1)·2 + 4 - 5 = 3: 1 before.
        assert_eq!(window_axis(5, 4, 2, 1, Padding::Same), (3, 1));
        // in 6, k 2, s 2 -> out 3, pad_total 0.
        assert_eq!(window_axis(6, 2, 2, 1, Padding::Same), (3, 0));
        // in 28, k 3, s 1 -> pad_total 2: 1 before.
        assert_eq!(window_axis(28, 3, 1, 1, Padding::Same), (28, 1));
        // in 7, k 3, d 2 (span 5), s 1 -> pad_total 4: 2 before.
        assert_eq!(window_axis(7, 3, 1, 2, Padding::Same), (7, 2));
        // in 4, k 2, s 1 -> pad_total 1: 0 before, 1 after.
        assert_eq!(window_axis(4, 2, 1, 1, Padding::Same), (4, 0));
    }

    #[test]
    fn the_issue_network_shapes() {
        let conv1 = Window2d::new([28, 28, 1], [3, 3], [1, 1], [1, 1], Padding::Valid);
        assert_eq!(conv1.output_shape(), [26, 26, 1]);
        assert_eq!(conv1.patch_len(), 9);
        let pool1 = Window2d::new([26, 26, 32], [2, 2], [2, 2], [1, 1], Padding::Valid);
        assert_eq!(pool1.output_shape(), [13, 13, 32]);
        let conv2 = Window2d::new([13, 13, 32], [3, 3], [1, 1], [1, 1], Padding::Valid);
        assert_eq!(conv2.output_shape(), [11, 11, 32]);
        let pool2 = Window2d::new([11, 11, 64], [2, 2], [2, 2], [1, 1], Padding::Valid);
        assert_eq!(pool2.output_shape(), [5, 5, 64]);
    }
}
