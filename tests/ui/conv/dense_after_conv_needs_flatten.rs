use strata::prelude::*;

model! {
    struct NoFlatten: [28, 28, 1] -> [10] {
        Conv2D(32, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Dense(10),
    }
}

fn main() {}
