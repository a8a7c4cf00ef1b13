use strata::prelude::*;

model! {
    struct Flat: [784] -> [10] {
        Conv2D(32, kernel_size = 3, activation = relu),
        Flatten,
        Dense(10),
    }

    struct AfterDense: [784] -> [10] {
        Dense(128, activation = relu),
        Conv2D(32, kernel_size = 3),
        Flatten,
        Dense(10),
    }
}

fn main() {}
