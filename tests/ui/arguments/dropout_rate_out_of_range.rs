use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(128, activation = relu),
        Dropout(1.5),
        Dense(10),
    }
}

fn main() {}
