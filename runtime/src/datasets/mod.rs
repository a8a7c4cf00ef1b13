//! Real data sets, found on disk or downloaded, as Keras's `keras.datasets`.
//!
//! STUB: being written.
