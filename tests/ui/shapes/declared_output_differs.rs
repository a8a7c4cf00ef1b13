use strata::prelude::*;

model! {
    struct Classifier: [784] -> [10] {
        Dense(128, activation = relu),
        Dense(12),
    }
}

fn main() {}
