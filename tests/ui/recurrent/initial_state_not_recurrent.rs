use strata::prelude::*;

model! {
    struct Decoder: (x: [8], h: [16]) -> [16] {
        Dense(16)(x, initial_state = [h])
    }
}

fn main() {}
