use strata::prelude::*;

mod encoders {
    use strata::prelude::*;

    model! {
        pub struct Encoder: [784] -> [32] {
            Dense(32),
        }
    }
}

model! {
    use encoders::Encoder: [784] -> [32];

    pub struct Images: [28, 28] -> [10] {
        Encoder,
        Dense(10),
    }

    pub struct Twin: (a: [784], b: [392]) -> [1] {
        let encode = Encoder;
        let d = Subtract(encode(a), encode(b));
        Dense(1)(d)
    }

    pub struct Options: [784] -> [10] {
        Encoder(units = 3),
        Dense(10),
    }
}

fn main() {}
