use strata::prelude::*;

model! {
    struct Encoder: [20, 8] -> [16] {
        let (output, h) = LSTM(16)(input);
        Add(output, h)
    }
}

fn main() {}
