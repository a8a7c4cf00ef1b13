use strata::prelude::*;

model! {
    struct Join: [10, 4] -> [10, 12] {
        let a = Dense(8)(input);
        let b = MaxPooling1D(2)(input);
        Concatenate(a, b)
    }

    struct BadAxis: [10, 4] -> [10, 8] {
        let a = Dense(4)(input);
        Concatenate(a, input, axis = 3)
    }

    struct BatchAxis: [10, 4] -> [20, 4] {
        Concatenate(input, input, axis = 0)
    }
}

fn main() {}
