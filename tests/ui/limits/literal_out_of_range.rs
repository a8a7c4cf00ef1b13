use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(99999999999999999999999999),
        Dropout(1e400),
        Conv2D(32, kernel_size = -3),
        Dense(10),
    }

    struct Axis: [8, 4] -> [8, 4] {
        LayerNormalization(axis = 99999999999999999999),
    }
}

fn main() {}
