use strata::prelude::*;

model! {
    // The input fits, but the padded map does not.
    struct Padded: [1073741823, 1073741823, 1] -> [10] {
        ZeroPadding2D(1073741824),
        Flatten,
        Dense(10),
    }
}

fn main() {}
