use strata::prelude::*;

model! {
    struct Decoder: (x: [10, 8], h: [16]) -> [16] {
        GRU(16, initial_state = [h])(x)
    }
}

fn main() {}
