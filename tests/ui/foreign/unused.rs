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
    use encoders::Encoder: [8] -> [4];

    pub struct Classifier: [8] -> [2] {
        let encode = Encoder;
        Dense(2)(input)
    }

    pub struct Other: [8] -> [2] {
        Dense(2),
    }
}

model! {
    use encoders::Encoder: [8] -> [4];

    pub struct Plain: [8] -> [2] {
        Dense(2),
    }
}

fn main() {}
