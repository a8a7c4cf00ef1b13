use strata::prelude::*;

model! {
    struct Unpacks: [20, 8] -> [16] {
        LSTM(16),
        Unpack(index = 0, part = "h"),
    }

    struct Inputs: (a: [8], b: [8]) -> [8] {
        let c = InputLayer(shape = [8], offset = 0, total = 16)(a);
        Add(c, b)
    }
}

fn main() {}
