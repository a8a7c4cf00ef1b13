use strata::prelude::*;

model! {
    struct Siamese: (a: [8]) -> [1] {
        let encode = Dense(4);
        let unused = Dense(4);
        let ea = encode(a);
        let skipped = Dense(2)(ea);
        Dense(1)(ea)
    }

    struct OutputIsALayer: [4] -> [4] {
        let constant = Dense(4);
        constant
    }
}

fn main() {}
