use strata::prelude::*;

model! {
    struct Decoder: (x: [10, 8], h: [16]) -> [16] {
        LSTM(16)(x, initial_state = [h])
    }
}

fn main() {}
