pub mod activation;
pub mod dense;
pub mod embedding;
pub mod input;
pub mod unpack;
