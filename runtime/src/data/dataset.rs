use ndarray::{Array2, ArrayD, ArrayView1, ArrayView2, Axis, Ix2};

use crate::{Error, Float, Result};

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

    pub(crate) fn parts(&self) -> (&Array2<F>, &Array2<F>, &[usize]) {
        (&self.x, &self.y, &self.sample_shape)
    }

    pub(crate) fn from_parts(x: Array2<F>, y: Array2<F>, sample_shape: Vec<usize>) -> Self {
        Dataset { x, y, sample_shape }
    }
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
