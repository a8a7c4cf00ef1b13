use strata::prelude::*;

model! {
    struct Net: [20] of f32 -> [1] {
        Embedding(1000, 8),
        Flatten,
        Dense(1),
    }
}

fn main() {}
