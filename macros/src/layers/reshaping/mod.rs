pub mod flatten;
pub mod reshape;
pub mod up_sampling2d;
pub mod zero_padding2d;
