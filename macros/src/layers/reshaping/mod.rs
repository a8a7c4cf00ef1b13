pub mod flatten;
pub mod reshape;
