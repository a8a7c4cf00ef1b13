use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(128, kernel_initializer = glorot),
        Dense(10),
    }
}

fn main() {}
