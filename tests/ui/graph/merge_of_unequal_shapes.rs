use strata::prelude::*;

model! {
    struct Block: [28, 28, 32] -> [26, 26, 32] {
        let h = Conv2D(32, kernel_size = 3, activation = relu)(input);
        Add(input, h)
    }
}

fn main() {}
