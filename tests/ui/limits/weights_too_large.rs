use strata::prelude::*;

model! {
    // A kernel of 2^40 x 2^40 values: more than any buffer holds.
    struct Huge: [1099511627776] -> [10] {
        Dense(1099511627776),
        Dense(10),
    }
}

fn main() {}
