use strata::prelude::*;

model! {
    struct Zeros: [28, 28, 1] -> [10] {
        Conv2D(8, kernel_size = 3, strides = 0),
        MaxPooling2D(pool_size = [2, 0]),
        Conv2D(8, kernel_size = 3, dilation_rate = [1, 0]),
        Conv1D(8, kernel_size = 0),
        Flatten,
        Dense(10),
    }
}

fn main() {}
