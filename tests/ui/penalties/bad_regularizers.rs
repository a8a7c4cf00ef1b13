use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(128, kernel_regularizer = L2(-0.01)),
        Dense(64, bias_regularizer = L1L2(l1 = 0.01, l2 = 1e999)),
        Dense(32, kernel_regularizer = L3(0.01)),
        Dense(32, kernel_regularizer = "l3"),
        Dense(16, activity_regularizer = L2(0.01, 0.02)),
        Dense(10, kernel_regularizer = 0.01),
    }
}

fn main() {}
