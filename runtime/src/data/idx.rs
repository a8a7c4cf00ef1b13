//! The IDX format of MNIST and Fashion-MNIST.
//!
//! STUB: being written.
