use strata::prelude::*;

model! {
    struct Image: [28, 28, 1] -> [10] {
        GRU(64),
        Dense(10),
    }
}

fn main() {}
