use strata::prelude::*;

model! {
    pub struct Encoder: [8] -> [4] {
        Dense(4),
    }

    pub struct TwoHeads: (x: [8]) -> (a: [4], b: [4]) {
        (Dense(4)(x), Dense(4)(x))
    }

    struct InputTwice: [8] -> [4] {
        Encoder(input)(input)
    }

    struct TwoValues: (a: [8], b: [8]) -> [4] {
        Encoder(a, b)
    }

    struct UsesTwoHeads: [8] -> [4] {
        TwoHeads,
    }

    struct TupleFirst: (x: [8]) -> (a: [4], b: [4]) {
        (Dense(4)(x), Dense(4)(x));
        let h = Dense(4)(x);
        (h, h)
    }

    struct TupleForOne: [8] -> [4] {
        let h = Dense(4)(input);
        (h, h)
    }
}

fn main() {}
