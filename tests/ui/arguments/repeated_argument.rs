use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(128, activation = relu, activation = tanh),
        Dense(10),
    }
}

fn main() {}
