use strata::prelude::*;

model! {
    pub struct Encoder: [784] -> [32] {
        Dense(32),
    }

    pub struct Classifier: [28, 28] -> [10] {
        Encoder(trainable = false),
        Dense(10),
    }

    pub struct Options: [784] -> [32] {
        Encoder(units = 3),
    }

    pub struct Loop: [4] -> [4] {
        Again,
    }

    pub struct Again: [4] -> [4] {
        Loop,
    }
}

fn main() {}
