pub mod activation;
pub mod dense;
