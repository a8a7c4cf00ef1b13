use strata::prelude::*;

model! {
    struct Encoder: [20, 64] -> [32] {
        LSTM(32, return_state = true),
    }
}

fn main() {}
