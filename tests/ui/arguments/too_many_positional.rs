use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(128, relu, true, glorot_uniform, zeros, 3),
        Dense(10),
    }
}

fn main() {}
