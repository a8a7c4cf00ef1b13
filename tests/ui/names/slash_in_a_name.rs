use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(128, name = "encoder/dense"),
        Dense(64, name = ""),
        Dense(10, name = "a \"quoted\" \\ name"),
    }
}

fn main() {}
