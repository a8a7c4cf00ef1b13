use strata::prelude::*;

model! {
    struct Similarity: [8] -> [1] {
        let a = Dense(4)(input);
        Dot(axes = 1)(a, input)
    }

    struct NoAxes: [8] -> [1] {
        Dot(input, input)
    }
}

fn main() {}
