use strata::prelude::*;

model! {
    struct Images: [784] -> [10] {
        Reshape([28, 28, 2]),
        Flatten,
        Dense(10),
    }
}

fn main() {}
