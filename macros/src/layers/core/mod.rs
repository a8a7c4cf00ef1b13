pub mod activation;
pub mod dense;
pub mod embedding;
