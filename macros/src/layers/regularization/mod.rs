pub mod dropout;
