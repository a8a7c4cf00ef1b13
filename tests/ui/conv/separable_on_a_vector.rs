use strata::prelude::*;

model! {
    struct Flat: [784] -> [10] {
        SeparableConv2D(32, kernel_size = 3, activation = relu),
        Flatten,
        Dense(10),
    }
}

fn main() {}
