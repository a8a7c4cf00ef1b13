use strata::prelude::*;

model! {
    struct Encoder: [20, 8] -> [4] {
        Dense(4)(GRU(16, return_state = true)(input))
    }
}

fn main() {}
