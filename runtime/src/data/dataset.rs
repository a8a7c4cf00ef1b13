use ndarray::{Array2, ArrayD, ArrayView1, ArrayView2, ArrayViewD, Axis, Ix2, concatenate, s};

use super::{Batches, shuffle::fisher_yates};
use crate::{Error, Float, Result, Seed};

/// Samples `x` and targets `y`, one row each per sample.
///
/// A sample keeps its shape (`[28, 28]` for an image) for checking; it is stored flat,
/// row-major, as a model reads it. Targets are class indices (one value per sample) or
/// vectors (one-hot classes, regression targets).
///
/// ```
/// use ndarray::{array, Array};
/// use strata_runtime::data::Dataset;
/// let x = Array::from_shape_vec((2, 2, 2), vec![0.0f32; 8]).unwrap().into_dyn();
/// let y = array![1.0f32, 0.0].into_dyn();
/// let data = Dataset::new(x, y).unwrap();
/// assert_eq!(data.len(), 2);
/// assert_eq!(data.sample_shape(), &[2, 2]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<F = f32> {
    x: Array2<F>,
    y: Array2<F>,
    sample_shape: Vec<usize>,
}

impl<F: Float> Dataset<F> {
    /// A dataset of `x`, shaped `[samples, ...sample shape]`, and `y`, shaped `[samples]`
    /// (class indices or scalars) or `[samples, width]`.
    ///
    /// A dataset with no samples can be built (an empty selection is not an error), but
    /// [`batches`](Self::batches) refuses it with [`Error::EmptyDataset`].
    ///
    /// ```
    /// use ndarray::{Array1, Array3};
    /// use strata_runtime::data::Dataset;
    /// let empty = Dataset::new(
    ///     Array3::<f32>::zeros((0, 28, 28)).into_dyn(),
    ///     Array1::<f32>::zeros(0).into_dyn(),
    /// )
    /// .unwrap();
    /// assert!(empty.is_empty());
    /// assert_eq!(empty.sample_shape(), &[28, 28]);
    /// ```
    pub fn new(x: ArrayD<F>, y: ArrayD<F>) -> Result<Self> {
        if x.ndim() == 0 || y.ndim() == 0 {
            return Err(Error::invalid(
                "dataset",
                "x and y need a first axis that counts samples; wrap a single sample with \
                 insert_axis(Axis(0))",
            ));
        }
        let (x_len, y_len) = (x.len_of(Axis(0)), y.len_of(Axis(0)));
        if x_len != y_len {
            return Err(Error::LengthMismatch {
                what: "dataset",
                x_len,
                y_len,
            });
        }
        let sample_shape = x.shape()[1..].to_vec();
        let x = flatten_rows(x);
        let y = flatten_rows(y);
        Ok(Dataset { x, y, sample_shape })
    }

    /// A dataset for a model of several inputs or outputs, as Keras's
    /// `fit([x_a, x_b], {"logits": y_1, "embedding": y_2})`: each sample's row holds its
    /// part of every array of `inputs` in turn, flattened, and its target row its part of
    /// every array of `targets` in turn. Give the inputs in the order the model declares
    /// them, and the targets of the outputs that have a loss in the model's output order,
    /// each as its loss reads them (one class index per sample for sparse categorical
    /// crossentropy): the packed rows a model of several inputs reads and
    /// [`Losses`](crate::loss::Losses) reads.
    ///
    /// Every array's first axis counts the samples. Fails, naming the array and both
    /// lengths, if they do not all have as many, and if `inputs` or `targets` is empty.
    /// The sample shape is that of the single input, or `[total values]` for several.
    ///
    /// ```
    /// use ndarray::{array, Array3};
    /// use strata_runtime::data::Dataset;
    ///
    /// let a = Array3::<f32>::zeros((2, 3, 4)); // two samples of a [3, 4] input
    /// let b = array![[1.0f32, 2.0], [3.0, 4.0]]; // and of a [2] input
    /// let labels = array![7.0f32, 1.0]; // one class index per sample for `logits`
    /// let embeddings = array![[0.5f32; 3], [0.25; 3]]; // 3 targets for `embedding`
    /// let data = Dataset::packed(
    ///     &[a.view().into_dyn(), b.view().into_dyn()],
    ///     &[labels.view().into_dyn(), embeddings.view().into_dyn()],
    /// )?;
    /// assert_eq!((data.sample_len(), data.target_width()), (14, 4));
    /// assert_eq!(data.sample(1).slice(ndarray::s![12..]), array![3.0, 4.0]);
    /// assert_eq!(data.y().row(1), array![1.0, 0.25, 0.25, 0.25]);
    /// # Ok::<(), strata_runtime::Error>(())
    /// ```
    pub fn packed(inputs: &[ArrayViewD<'_, F>], targets: &[ArrayViewD<'_, F>]) -> Result<Self> {
        let samples = packed_samples(inputs, targets)?;
        let x = pack_rows(inputs, samples);
        let y = pack_rows(targets, samples);
        let sample_shape = match inputs {
            [single] => single.shape()[1..].to_vec(),
            _ => vec![x.ncols()],
        };
        Ok(Dataset { x, y, sample_shape })
    }

    /// A dataset from arrays already flat: one row per sample.
    pub fn from_rows(x: Array2<F>, y: Array2<F>) -> Result<Self> {
        let width = x.ncols();
        let mut data = Self::new(x.into_dyn(), y.into_dyn())?;
        data.sample_shape = vec![width];
        Ok(data)
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape of one sample.
    pub fn sample_shape(&self) -> &[usize] {
        &self.sample_shape
    }

    /// The number of values in one sample.
    pub fn sample_len(&self) -> usize {
        self.x.ncols()
    }

    /// The number of target values per sample (1 for class indices).
    pub fn target_width(&self) -> usize {
        self.y.ncols()
    }

    /// The samples, one flat row each.
    pub fn x(&self) -> ArrayView2<'_, F> {
        self.x.view()
    }

    /// The targets, one row each.
    pub fn y(&self) -> ArrayView2<'_, F> {
        self.y.view()
    }

    /// Sample `i`, flat.
    pub fn sample(&self, i: usize) -> ArrayView1<'_, F> {
        self.x.row(i)
    }

    /// Copies the samples and targets at `indices`, in order, into `x_out` and `y_out`
    /// (row-major, one row per index). Allocates nothing.
    pub fn gather_into(&self, indices: &[usize], x_out: &mut [F], y_out: &mut [F]) {
        gather_rows(&self.x, indices, x_out);
        gather_rows(&self.y, indices, y_out);
    }

    /// The samples at `indices`, as a new dataset.
    pub fn select(&self, indices: &[usize]) -> Self {
        Dataset {
            x: self.x.select(Axis(0), indices),
            y: self.y.select(Axis(0), indices),
            sample_shape: self.sample_shape.clone(),
        }
    }

    /// The samples in an order drawn from `seed`: the same seed gives the same order on
    /// every platform. The order is [`permutation(len, seed)`](super::permutation).
    ///
    /// ```
    /// use ndarray::{array, Array1};
    /// use strata_runtime::{data::Dataset, Seed};
    /// let x = Array1::from_iter((0..5).map(|i| i as f32)).into_dyn();
    /// let data = Dataset::new(x.clone(), x).unwrap();
    /// let a = data.shuffled(Seed(1));
    /// assert_eq!(a, data.shuffled(Seed(1)));
    /// assert_eq!(a.x(), a.y()); // each sample keeps its target
    /// ```
    pub fn shuffled(&self, seed: Seed) -> Self {
        let mut data = self.clone();
        data.shuffle(seed);
        data
    }

    /// Shuffles the samples in place, as [`shuffled`](Self::shuffled) does.
    ///
    /// ```
    /// use ndarray::Array1;
    /// use strata_runtime::{data::Dataset, Seed};
    /// let x = Array1::from_iter((0..5).map(|i| i as f32)).into_dyn();
    /// let mut data = Dataset::new(x.clone(), x).unwrap();
    /// let copy = data.shuffled(Seed(3));
    /// data.shuffle(Seed(3));
    /// assert_eq!(data, copy);
    /// ```
    pub fn shuffle(&mut self, seed: Seed) {
        let mut rng = seed.rng();
        let (x, y) = (&mut self.x, &mut self.y);
        fisher_yates(x.nrows(), &mut rng, |i, j| {
            swap_rows(x, i, j);
            swap_rows(y, i, j);
        });
    }

    /// Splits off the last `fraction` of the samples, as Keras's `validation_split`:
    /// the first part holds the first `floor(len * (1 - fraction))` samples, the second
    /// the rest, both in their current order. Split before shuffling to keep the same
    /// validation samples from run to run.
    ///
    /// Fails if `fraction` is not strictly between 0 and 1, or if either part would be
    /// empty.
    ///
    /// ```
    /// use ndarray::Array1;
    /// use strata_runtime::data::Dataset;
    /// let x = Array1::from_iter((0..10).map(|i| i as f32)).into_dyn();
    /// let data = Dataset::new(x.clone(), x).unwrap();
    /// let (train, validation) = data.split(0.2).unwrap();
    /// assert_eq!((train.len(), validation.len()), (8, 2));
    /// assert_eq!(validation.sample(0)[0], 8.0);
    /// assert!(data.split(1.0).is_err());
    /// ```
    pub fn split(&self, fraction: f64) -> Result<(Self, Self)> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(Error::invalid(
                "split fraction",
                format!(
                    "{fraction} is not strictly between 0 and 1; give the fraction of samples \
                     to split off, such as 0.2"
                ),
            ));
        }
        let len = self.len();
        let at = (len as f64 * (1.0 - fraction)).floor() as usize;
        if at == 0 || at == len {
            let (empty, other) = if at == 0 {
                ("first", len)
            } else {
                ("second", 0)
            };
            return Err(Error::invalid(
                "split fraction",
                format!(
                    "splitting {len} samples at {fraction} leaves the {empty} part empty \
                     ({at} and {other} samples); use a fraction nearer 0.5 or more samples"
                ),
            ));
        }
        Ok((self.rows(0, at), self.rows(at, len)))
    }

    /// The samples in order, `batch_size` at a time, each batch as flat `(x, y)` views;
    /// the last batch holds the remainder and may be smaller.
    ///
    /// Fails for a `batch_size` of 0 and, with [`Error::EmptyDataset`], for a dataset
    /// without samples.
    ///
    /// ```
    /// use ndarray::Array1;
    /// use strata_runtime::data::Dataset;
    /// let x = Array1::from_iter((0..5).map(|i| i as f32)).into_dyn();
    /// let data = Dataset::new(x.clone(), x).unwrap();
    /// let sizes: Vec<usize> = data.batches(2).unwrap().map(|(x, _)| x.nrows()).collect();
    /// assert_eq!(sizes, [2, 2, 1]);
    /// assert!(data.batches(0).is_err());
    /// ```
    pub fn batches(&self, batch_size: usize) -> Result<Batches<'_, F>> {
        if batch_size == 0 {
            return Err(Error::invalid(
                "batch_size",
                "0 samples per batch; give at least 1, such as 32",
            ));
        }
        if self.is_empty() {
            return Err(Error::EmptyDataset {
                what: "the dataset",
            });
        }
        Ok(Batches::new(self.x.view(), self.y.view(), batch_size))
    }

    /// The dataset with every value converted to another float type, as for a gradient
    /// check in `f64`.
    ///
    /// ```
    /// use ndarray::array;
    /// use strata_runtime::data::Dataset;
    /// let data = Dataset::new(array![[0.5f32]].into_dyn(), array![1.0f32].into_dyn()).unwrap();
    /// let wide: Dataset<f64> = data.cast();
    /// assert_eq!(wide.sample(0)[0], 0.5);
    /// ```
    pub fn cast<G: Float>(&self) -> Dataset<G> {
        Dataset {
            x: self.x.mapv(|v| G::of(v.as_f64())),
            y: self.y.mapv(|v| G::of(v.as_f64())),
            sample_shape: self.sample_shape.clone(),
        }
    }

    /// The first `n` samples, or all of them if there are fewer, as Keras's `take`.
    ///
    /// ```
    /// use ndarray::Array1;
    /// use strata_runtime::data::Dataset;
    /// let x = Array1::from_iter((0..5).map(|i| i as f32)).into_dyn();
    /// let data = Dataset::new(x.clone(), x).unwrap();
    /// assert_eq!(data.take(3).len(), 3);
    /// assert_eq!(data.take(9).len(), 5);
    /// ```
    pub fn take(&self, n: usize) -> Self {
        self.rows(0, n.min(self.len()))
    }

    /// The samples of `self` followed by those of `other`.
    ///
    /// Fails if the two hold samples of different shapes or targets of different widths.
    ///
    /// ```
    /// use ndarray::Array1;
    /// use strata_runtime::data::Dataset;
    /// let x = Array1::from_iter((0..5).map(|i| i as f32)).into_dyn();
    /// let data = Dataset::new(x.clone(), x).unwrap();
    /// let (a, b) = data.split(0.4).unwrap();
    /// assert_eq!(a.concat(&b).unwrap(), data);
    /// ```
    pub fn concat(&self, other: &Self) -> Result<Self> {
        if self.sample_shape != other.sample_shape || self.target_width() != other.target_width() {
            return Err(Error::invalid(
                "concat",
                format!(
                    "the first dataset's samples have shape {:?} with {} target values each, \
                     the second's {:?} with {}; only datasets of the same shapes join",
                    self.sample_shape,
                    self.target_width(),
                    other.sample_shape,
                    other.target_width()
                ),
            ));
        }
        let join = |a: &Array2<F>, b: &Array2<F>| {
            concatenate(Axis(0), &[a.view(), b.view()]).expect("equal row widths")
        };
        Ok(Dataset {
            x: join(&self.x, &other.x),
            y: join(&self.y, &other.y),
            sample_shape: self.sample_shape.clone(),
        })
    }

    /// Samples `start..end`, copied.
    fn rows(&self, start: usize, end: usize) -> Self {
        Dataset {
            x: self.x.slice(ndarray::s![start..end, ..]).to_owned(),
            y: self.y.slice(ndarray::s![start..end, ..]).to_owned(),
            sample_shape: self.sample_shape.clone(),
        }
    }
}

/// The number of samples of the arrays given to [`Dataset::packed`], which must agree.
fn packed_samples<F>(inputs: &[ArrayViewD<'_, F>], targets: &[ArrayViewD<'_, F>]) -> Result<usize> {
    for (what, count) in [("inputs", inputs.len()), ("targets", targets.len())] {
        if count == 0 {
            return Err(Error::invalid(
                "dataset",
                format!("no {what}: give Dataset::packed at least one array of {what}"),
            ));
        }
    }
    let inputs = inputs
        .iter()
        .enumerate()
        .map(|(i, a)| ("inputs", i, a.shape()));
    let targets = targets
        .iter()
        .enumerate()
        .map(|(i, a)| ("targets", i, a.shape()));
    let mut first: Option<(String, usize)> = None;
    for (what, i, shape) in inputs.chain(targets) {
        let Some(&len) = shape.first() else {
            return Err(Error::invalid(
                "dataset",
                format!(
                    "{what}[{i}] has no axes: every array needs a first axis that counts \
                     samples; wrap a single sample with insert_axis(Axis(0))"
                ),
            ));
        };
        match &first {
            None => first = Some((format!("{what}[{i}]"), len)),
            Some((name, samples)) if len != *samples => {
                return Err(Error::invalid(
                    "dataset",
                    format!(
                        "{what}[{i}] has {len} samples but {name} has {samples}; give every \
                         input and target array one row per sample, in the same order"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(first.map_or(0, |(_, samples)| samples))
}

/// `arrays`, `samples` rows each, side by side, each sample's part flattened.
fn pack_rows<F: Float>(arrays: &[ArrayViewD<'_, F>], samples: usize) -> Array2<F> {
    let widths: Vec<usize> = arrays
        .iter()
        .map(|a| a.shape()[1..].iter().product())
        .collect();
    let mut rows = Array2::zeros((samples, widths.iter().sum()));
    let mut offset = 0;
    for (array, width) in arrays.iter().zip(widths) {
        let part = array
            .to_shape((samples, width))
            .expect("an array of `samples` rows of `width` values");
        rows.slice_mut(s![.., offset..offset + width]).assign(&part);
        offset += width;
    }
    rows
}

fn flatten_rows<F: Float>(a: ArrayD<F>) -> Array2<F> {
    let rows = a.len_of(Axis(0));
    let width = a.shape()[1..].iter().product::<usize>();
    let a = if a.is_standard_layout() {
        a
    } else {
        a.as_standard_layout().into_owned()
    };
    a.into_shape_with_order((rows, width))
        .expect("a standard-layout array reshapes to its own element count")
        .into_dimensionality::<Ix2>()
        .expect("two axes")
}

fn gather_rows<F: Float>(from: &Array2<F>, indices: &[usize], out: &mut [F]) {
    let width = from.ncols();
    let flat = from
        .as_slice()
        .expect("dataset arrays are kept in standard layout");
    for (dst, &i) in out.chunks_exact_mut(width).zip(indices) {
        dst.copy_from_slice(&flat[i * width..(i + 1) * width]);
    }
}

fn swap_rows<F: Float>(a: &mut Array2<F>, i: usize, j: usize) {
    if i == j {
        return;
    }
    let width = a.ncols();
    let (low, high) = (i.min(j), i.max(j));
    let flat = a
        .as_slice_mut()
        .expect("dataset arrays are kept in standard layout");
    let (head, tail) = flat.split_at_mut(high * width);
    head[low * width..(low + 1) * width].swap_with_slice(&mut tail[..width]);
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array2, Array3};

    use super::*;
    use crate::data::permutation;

    /// Sample `i` is `[i, i + 0.5]`, its target `i`: every row says where it came from.
    fn numbered(len: usize) -> Dataset<f64> {
        let x = Array2::from_shape_fn((len, 2), |(i, j)| i as f64 + j as f64 * 0.5);
        let y = Array1::from_iter((0..len).map(|i| i as f64));
        Dataset::new(x.into_dyn(), y.into_dyn()).unwrap()
    }

    fn origins(data: &Dataset<f64>) -> Vec<usize> {
        data.y().column(0).iter().map(|&v| v as usize).collect()
    }

    #[test]
    fn shuffled_is_a_reproducible_permutation_that_keeps_pairs() {
        let data = numbered(100);
        let a = data.shuffled(Seed(7));
        assert_eq!(a, data.shuffled(Seed(7)));
        assert_ne!(a, data.shuffled(Seed(8)));
        let mut order = origins(&a);
        assert_ne!(order, (0..100).collect::<Vec<_>>());
        for (row, &i) in a.x().rows().into_iter().zip(&order) {
            assert_eq!(row.to_vec(), [i as f64, i as f64 + 0.5]);
        }
        order.sort_unstable();
        assert_eq!(order, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn shuffled_order_is_the_published_permutation() {
        let data = numbered(50);
        let perm = permutation(50, Seed(11));
        assert_eq!(data.shuffled(Seed(11)), data.select(&perm));
        assert_eq!(origins(&data.shuffled(Seed(11))), perm);
    }

    #[test]
    fn shuffle_in_place_equals_shuffled() {
        let mut data = numbered(33);
        let copy = data.shuffled(Seed(5));
        data.shuffle(Seed(5));
        assert_eq!(data, copy);
    }

    #[test]
    fn shuffle_of_empty_and_single_sample_datasets_is_identity() {
        let mut empty = numbered(0);
        empty.shuffle(Seed(1));
        assert!(empty.is_empty());
        let one = numbered(1);
        assert_eq!(one.shuffled(Seed(1)), one);
    }

    #[test]
    fn split_takes_the_last_fraction_as_keras_validation_split() {
        let data = numbered(10);
        let (train, validation) = data.split(0.25).unwrap();
        // Keras: split_at = floor(10 * 0.75) = 7.
        assert_eq!(origins(&train), (0..7).collect::<Vec<_>>());
        assert_eq!(origins(&validation), (7..10).collect::<Vec<_>>());
        assert_eq!(train.sample_shape(), data.sample_shape());
    }

    #[test]
    fn split_refuses_fractions_outside_the_open_unit_interval() {
        let data = numbered(10);
        for fraction in [0.0, 1.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
            let err = data.split(fraction).unwrap_err();
            assert!(
                matches!(err, Error::InvalidArgument { .. }),
                "{fraction}: {err}"
            );
            assert!(err.to_string().contains("between 0 and 1"), "{err}");
        }
    }

    #[test]
    fn split_refuses_to_leave_a_part_empty() {
        // As in Keras, the second part gets floor(len * fraction) samples or one more:
        // it is empty only for a fraction too small to change 1 - fraction.
        let err = numbered(3).split(1e-20).unwrap_err().to_string();
        assert!(err.contains("second part empty"), "{err}");
        assert_eq!(numbered(3).split(0.1).unwrap().1.len(), 1);
        let err = numbered(3).split(0.9).unwrap_err().to_string();
        assert!(err.contains("first part empty"), "{err}");
        let err = numbered(0).split(0.5).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
    }

    #[test]
    fn batches_cover_every_sample_in_order_with_a_smaller_last_batch() {
        let data = numbered(10);
        let batches = data.batches(4).unwrap();
        assert_eq!(batches.len(), 3);
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        for (x, y) in batches {
            assert_eq!(x.nrows(), y.nrows());
            assert_eq!(x.ncols(), 2);
            sizes.push(x.nrows());
            for (row, target) in x.rows().into_iter().zip(y.column(0)) {
                assert_eq!(row[0], *target);
                seen.push(*target as usize);
            }
        }
        assert_eq!(sizes, [4, 4, 2]);
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn batches_report_their_exact_count() {
        let data = numbered(8);
        let mut batches = data.batches(3).unwrap();
        assert_eq!(batches.size_hint(), (3, Some(3)));
        batches.next();
        assert_eq!(batches.len(), 2);
        assert_eq!(data.batches(8).unwrap().count(), 1);
        assert_eq!(data.batches(100).unwrap().count(), 1);
        assert_eq!(data.batches(1).unwrap().count(), 8);
    }

    #[test]
    fn batches_refuse_zero_batch_size() {
        let err = numbered(4).batches(0).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidArgument {
                name: "batch_size",
                ..
            }
        ));
    }

    #[test]
    fn empty_dataset_is_constructible_but_refused_for_batches() {
        let empty = Dataset::new(
            Array3::<f32>::zeros((0, 28, 28)).into_dyn(),
            Array1::<f32>::zeros(0).into_dyn(),
        )
        .unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.sample_len(), 784);
        let err = empty.batches(32).unwrap_err();
        assert!(matches!(err, Error::EmptyDataset { .. }), "{err}");
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[test]
    fn new_refuses_mismatched_lengths() {
        let err = Dataset::new(
            Array2::<f32>::zeros((3, 2)).into_dyn(),
            Array1::<f32>::zeros(4).into_dyn(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            Error::LengthMismatch {
                x_len: 3,
                y_len: 4,
                ..
            }
        ));
    }

    #[test]
    fn packed_rows_hold_every_array_in_turn_and_split_back() {
        let a = Array3::from_shape_fn((3, 2, 2), |(i, j, k)| (100 * i + 10 * j + k) as f64);
        // Not in standard layout: packed as its logical order says.
        let b = Array2::from_shape_fn((2, 3), |(j, i)| (1000 + 10 * i + j) as f64);
        let b = b.t();
        let labels = Array1::from_iter((0..3).map(|i| i as f64));
        let targets = Array2::from_shape_fn((3, 2), |(i, j)| -((10 * i + j) as f64));
        let data = Dataset::packed(
            &[a.view().into_dyn(), b.into_dyn()],
            &[labels.view().into_dyn(), targets.view().into_dyn()],
        )
        .unwrap();
        assert_eq!((data.len(), data.sample_shape()), (3, &[6][..]));
        assert_eq!(data.target_width(), 3);
        let x = data.x();
        let back = x
            .slice(s![.., 0..4])
            .to_shape((3, 2, 2))
            .unwrap()
            .to_owned();
        assert_eq!(back, a);
        assert_eq!(x.slice(s![.., 4..6]), b);
        assert_eq!(data.y().column(0), labels);
        assert_eq!(data.y().slice(s![.., 1..]), targets);
        // One input keeps its sample shape, as Dataset::new.
        let single = Dataset::packed(&[a.view().into_dyn()], &[labels.view().into_dyn()]).unwrap();
        let new = Dataset::new(a.clone().into_dyn(), labels.clone().into_dyn()).unwrap();
        assert_eq!(single, new);
    }

    #[test]
    fn packed_refuses_arrays_of_other_lengths_naming_them() {
        let three = Array2::<f32>::zeros((3, 2));
        let four = Array1::<f32>::zeros(4);
        let error = |inputs: &[ArrayViewD<'_, f32>], targets: &[ArrayViewD<'_, f32>]| {
            Dataset::packed(inputs, targets).unwrap_err().to_string()
        };
        let message = error(
            &[three.view().into_dyn(), four.view().into_dyn()],
            &[three.view().into_dyn()],
        );
        assert!(
            message.contains("inputs[1] has 4 samples but inputs[0] has 3"),
            "{message}"
        );
        let message = error(
            &[three.view().into_dyn()],
            &[three.view().into_dyn(), four.view().into_dyn()],
        );
        assert!(
            message.contains("targets[1] has 4 samples but inputs[0] has 3"),
            "{message}"
        );
        let message = error(&[], &[three.view().into_dyn()]);
        assert!(message.contains("no inputs"), "{message}");
        let message = error(&[three.view().into_dyn()], &[]);
        assert!(message.contains("no targets"), "{message}");
        let scalar = ndarray::arr0(1.0f32).into_dyn();
        let message = error(&[three.view().into_dyn()], &[scalar.view()]);
        assert!(message.contains("targets[0] has no axes"), "{message}");
    }

    #[test]
    fn cast_converts_every_value() {
        let data = numbered(4);
        let narrow: Dataset<f32> = data.cast();
        assert_eq!(narrow.sample_shape(), data.sample_shape());
        assert_eq!(narrow.sample(3).to_vec(), [3.0f32, 3.5]);
        assert_eq!(narrow.cast::<f64>(), data);
    }

    #[test]
    fn take_keeps_the_first_samples() {
        let data = numbered(6);
        assert_eq!(origins(&data.take(2)), [0, 1]);
        assert_eq!(data.take(0).len(), 0);
        assert_eq!(data.take(60), data);
    }

    #[test]
    fn concat_undoes_split_and_refuses_other_shapes() {
        let data = numbered(9);
        let (a, b) = data.split(0.3).unwrap();
        assert_eq!(a.concat(&b).unwrap(), data);
        let other = Dataset::new(
            Array2::<f64>::zeros((2, 3)).into_dyn(),
            Array1::<f64>::zeros(2).into_dyn(),
        )
        .unwrap();
        let err = data.concat(&other).unwrap_err().to_string();
        assert!(err.contains("[2]") && err.contains("[3]"), "{err}");
    }
}
