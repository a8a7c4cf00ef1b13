use strata::prelude::*;

model! {
    struct Grayscale: [28, 28] -> [10] {
        MaxPooling2D(2),
        Flatten,
        Dense(10),
    }

    struct Image: [28, 28, 1] -> [10] {
        Conv1D(16, kernel_size = 5),
        GlobalAveragePooling1D,
        Dense(10),
    }

    struct Vector: [100] -> [10] {
        GlobalMaxPooling1D,
        Dense(10),
    }
}

fn main() {}
