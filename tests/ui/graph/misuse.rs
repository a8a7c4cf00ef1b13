use strata::prelude::*;

model! {
    struct CallsAValue: [8] -> [8] {
        let h = Dense(8)(input);
        h(input)
    }

    struct ConfiguresAnInput: [8] -> [8] {
        Dense(8)(input, units = 4)
    }

    struct LayerAsInput: [8] -> [8] {
        Add(input, Dense(8))
    }

    struct TwoInputsToDense: [8] -> [8] {
        Dense(8)(input, input)
    }

    struct LoneMerge: [8] -> [8] {
        Add(input)
    }

    struct MissingLet: [8] -> [8] {
        Dense(8)(input);
        Dense(8)(input)
    }
}

fn main() {}
