use strata::prelude::*;

model! {
    struct Net: [16] -> [16] {
        let hidden = Dense(16, activation = relu)(input);
        Add(input, hiden)
    }
}

fn main() {}
