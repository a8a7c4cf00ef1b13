//! The arithmetic: forward and backward functions on slices, one file per layer family.
//!
//! STUB: being written.
