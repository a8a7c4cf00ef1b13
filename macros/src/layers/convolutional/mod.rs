pub mod conv;
pub mod depthwise;
pub mod separable;
