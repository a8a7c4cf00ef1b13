use strata::prelude::*;

model! {
    struct RowReader: [28, 28] -> [10] {
        LSTM(64, return_sequences = true),
        Dense(10),
    }

    struct BothWays: [20, 8] -> [1] {
        Bidirectional(GRU(16, return_sequences = true)),
        TimeDistributed(Dense(4)),
        Dense(1),
    }
}

fn main() {}
