use strata::prelude::*;

model! {
    struct Towers: [8] -> [4] {
        let shared = Dense(4);
        let a = shared(input);
        let b = shared(Dense(6)(input));
        Add(a, b)
    }
}

fn main() {}
