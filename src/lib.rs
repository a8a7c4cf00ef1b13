pub use strata_runtime::*;
