use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(128, name = "hidden"),
        Dense(10, name = "hidden"),
    }
}

fn main() {}
