use strata::prelude::*;

mod encoders {
    use strata::prelude::*;

    model! {
        pub struct Encoder: [8] -> [4] {
            Dense(4),
        }

        pub struct Decoder: [4] -> [8] {
            Dense(8),
        }
    }

    model! {
        pub struct Dense: [4] -> [4] {
            Activation(relu),
        }
    }
}

model! {
    use encoders::Encoder: [8] -> [4];
    use encoders::Encoder: [8] -> [4];
    use encoders::Decoder: [4] -> [8];
    use encoders::Dense: [4] -> [4];

    pub struct Decoder: [4] -> [8] {
        Dense(8),
    }

    pub struct AutoEncoder: [8] -> [8] {
        Encoder,
        Decoder,
    }
}

fn main() {}
