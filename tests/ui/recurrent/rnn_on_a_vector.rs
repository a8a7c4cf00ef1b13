use strata::prelude::*;

model! {
    struct Pixels: [784] -> [10] {
        LSTM(128),
        Dense(10),
    }

    struct AfterDense: [64] -> [1] {
        Dense(30, activation = relu),
        SimpleRNN(8),
        Dense(1),
    }
}

fn main() {}
