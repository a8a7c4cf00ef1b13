use strata::prelude::*;

mod encoders {
    use strata::prelude::*;

    model! {
        pub struct Encoder: [8] -> [4] {
            Dense(4),
        }
    }
}

model! {
    use encoders::Encodr: [8] -> [4];

    pub struct Classifier: [8] -> [2] {
        Encodr,
        Dense(2),
    }
}

fn main() {}
