use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(128),
        BatchNormalization(momentum = 1.5, epsilon = 0),
        LayerNormalization(axis = [1, 2]),
        BatchNormalization(moving_variance_initializer = one),
        Dense(10),
    }
}

fn main() {}
