//! Weight initializers, seeded and reproducible.
//!
//! STUB: being written.
