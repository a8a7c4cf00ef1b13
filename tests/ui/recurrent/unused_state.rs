use strata::prelude::*;

model! {
    struct Encoder: [20, 8] -> [16] {
        let (output, h, c) = LSTM(16, return_state = true)(input);
        Add(output, h)
    }
}

fn main() {}
