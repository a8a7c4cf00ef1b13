use strata::prelude::*;

model! {
    struct Net: [28, 28, 1] -> [10] {
        Conv2D(8, 3, kernel_constraint = MaxNorm(2.0, axis = 4)),
        Conv2D(8, 3, kernel_constraint = MinMaxNorm(min_value = 2.0, max_value = 1.0)),
        Conv2D(8, 3, bias_constraint = MaxNorm(-1.0)),
        Flatten,
        Dense(10, kernel_constraint = NonNegative),
    }
}

fn main() {}
