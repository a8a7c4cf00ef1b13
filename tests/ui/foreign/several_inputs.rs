use strata::prelude::*;

mod encoders {
    use strata::prelude::*;

    model! {
        pub struct Pair: (a: [4], b: [4]) -> [4] {
            Add(a, b)
        }
    }
}

model! {
    use encoders::Pair: (a: [4], b: [4]) -> [4];

    pub struct Net: [4] -> [4] {
        Dense(4),
    }
}

fn main() {}
