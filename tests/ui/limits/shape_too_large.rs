use strata::prelude::*;

model! {
    struct Cube: [4294967296, 4294967296, 65536] -> [10] {
        Flatten,
        Dense(10),
    }
}

fn main() {}
