use strata::prelude::*;

mod encoders {
    use strata::prelude::*;

    model! {
        pub struct Encoder: [784] -> [16] {
            Dense(16),
        }

        pub struct Pair: (a: [392], b: [392]) -> [32] {
            Dense(32)(Concatenate(a, b))
        }
    }
}

model! {
    use encoders::Encoder: [784] -> [32];
    use encoders::Pair: [784] -> [32];

    pub struct Classifier: [784] -> [10] {
        Encoder(trainable = false),
        Dense(10),
    }

    pub struct Paired: [784] -> [10] {
        Pair,
        Dense(10),
    }
}

fn main() {}
