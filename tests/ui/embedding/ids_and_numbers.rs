use strata::prelude::*;

model! {
    struct OnNumbers: [20] -> [1] {
        Embedding(1000, 8),
        Flatten,
        Dense(1),
    }

    struct IdsToDense: [20] of u32 -> [1] {
        Dense(1),
    }

    struct TooNarrow: (words: [20] of u8) -> [1] {
        let e = Embedding(1000, 8)(words);
        Dense(1)(Flatten(e))
    }
}

fn main() {}
