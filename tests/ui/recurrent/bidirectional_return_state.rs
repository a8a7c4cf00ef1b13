use strata::prelude::*;

model! {
    struct Encoder: [20, 8] -> [32] {
        Bidirectional(LSTM(16, return_state = true)),
    }
}

fn main() {}
