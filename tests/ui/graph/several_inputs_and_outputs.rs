use strata::prelude::*;

model! {
    struct IgnoresAnInput: (a: [8], b: [8]) -> [1] {
        Dense(1)(a)
    }

    struct TooFewOutputs: (x: [8]) -> (logits: [10], embedding: [4]) {
        let embedding = Dense(4)(x);
        Dense(10)(embedding)
    }

    struct WrongOutputShape: (x: [8]) -> (logits: [10], embedding: [4]) {
        let embedding = Dense(5)(x);
        (Dense(10)(embedding), embedding)
    }

    struct SequentialOnTwo: (a: [8], b: [8]) -> [1] {
        Dense(1),
    }
}

model! {
    struct Unnamed: ([8], [8]) -> [1] {
        Dense(1),
    }
}

fn main() {}
