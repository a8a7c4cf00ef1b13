use strata::prelude::*;

model! {
    // Each kernel fits in a buffer, but together they need more parameters than one holds.
    struct Wide: [1073741824] -> [1] {
        Dense(536870912),
        Dense(1073741824),
        Dense(1),
    }
}

fn main() {}
