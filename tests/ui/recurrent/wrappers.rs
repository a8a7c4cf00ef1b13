use strata::prelude::*;

model! {
    struct NotRecurrent: [10, 6] -> [16] {
        Bidirectional(Dense(8)),
    }

    struct Misspelled: [10, 6] -> [16] {
        Bidirectional(LTSM(8), merge_mode = concatenate),
    }

    struct NotALayer: [10, 6] -> [16] {
        Bidirectional(8),
    }

    struct Flat: [60] -> [10] {
        TimeDistributed(Dense(10)),
    }

    struct FrozenInside: [10, 6] -> [10, 4] {
        TimeDistributed(Dense(4, trainable = false)),
    }
}

fn main() {}
