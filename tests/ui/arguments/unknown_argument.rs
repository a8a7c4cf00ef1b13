use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(128, activaton = relu),
        Dense(10),
    }
}

fn main() {}
