use strata::prelude::*;

model! {
    struct Images: [28, 28, 1] -> [10] {
        Conv2D(32, kernel_size = 3, activation = relu),
        BatchNormalization(axis = 4),
        Flatten,
        Dense(10),
    }

    struct Vectors: [784] -> [10] {
        Dense(128, activation = relu),
        LayerNormalization(axis = -3),
        Dense(10),
    }
}

fn main() {}
