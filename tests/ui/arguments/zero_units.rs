use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(0, activation = relu),
        Dense(10),
    }
}

fn main() {}
