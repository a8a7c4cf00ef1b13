use strata::prelude::*;

model! {
    struct Decoder: (x: [10, 8], state: [8]) -> [16] {
        let h = Dense(12)(state);
        GRU(16)(x, initial_state = [h])
    }
}

fn main() {}
