use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(activation = relu),
        Dense(10),
    }
}

fn main() {}
