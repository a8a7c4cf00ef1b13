use strata::prelude::*;

model! {
    struct Small: [16, 16, 1] -> [10] {
        Conv2D(32, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Conv2D(64, kernel_size = 3, activation = relu),
        MaxPooling2D(2),
        Conv2D(64, kernel_size = 3, activation = relu),
        Flatten,
        Dense(10),
    }
}

fn main() {}
