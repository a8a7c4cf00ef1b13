use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dence(128, activation = relu),
        Dense(10),
    }
}

fn main() {}
