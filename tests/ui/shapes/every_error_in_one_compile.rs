use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(0),
        Dropout(-0.1),
        Activation(sofmax),
        Dense(10),
    }

    struct Other: [784] -> [10] {
        Reshape([27, 28]),
        Dense(10),
    }
}

fn main() {}
