use strata::prelude::*;

model! {
    struct Small: [8, 8, 3] -> [10] {
        DepthwiseConv2D(3, depth_multiplier = 2, activation = relu),
        MaxPooling2D(2),
        DepthwiseConv2D(kernel_size = [2, 5]),
        Flatten,
        Dense(10),
    }
}

fn main() {}
