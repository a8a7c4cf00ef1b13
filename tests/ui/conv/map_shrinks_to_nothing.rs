use strata::prelude::*;

model! {
    struct Shrinking: [8, 8, 3] -> [10] {
        Conv2D(16, kernel_size = 1),
        MaxPooling2D(2),
        AveragePooling2D(2),
        MaxPooling2D(2),
        MaxPooling2D(2),
        MaxPooling2D(2),
        Flatten,
        Dense(10),
    }
}

fn main() {}
