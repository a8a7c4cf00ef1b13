use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(128, use_bias = "yes"),
        Dropout(relu),
        Dense(10),
    }
}

fn main() {}
