use strata::prelude::*;

model! {
    struct RowReader: [28, 28] -> [10] {
        LSTM(64, return_sequences = true),
        Dense(10),
    }
}

fn main() {}
