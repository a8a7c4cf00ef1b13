use strata::prelude::*;

model! {
    struct Dimension: [99999999999999999999999] -> [10] {
        Dense(10),
    }
}

fn main() {}
