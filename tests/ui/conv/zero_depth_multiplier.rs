use strata::prelude::*;

model! {
    struct Zero: [28, 28, 1] -> [10] {
        DepthwiseConv2D(3, depth_multiplier = 0),
        SeparableConv2D(8, kernel_size = 3, strides = 0, depth_multiplier = 0),
        Flatten,
        Dense(10),
    }
}

fn main() {}
