use strata::prelude::*;

model! {
    /// Keras's axis for channels-first maps.
    struct ChannelsFirst: [28, 28, 1] -> [10] {
        Conv2D(32, kernel_size = 3),
        BatchNormalization(axis = 1),
        Flatten,
        Dense(10),
    }

    /// The batch axis.
    struct Batch: [784] -> [10] {
        Dense(128),
        LayerNormalization(axis = 0),
        Dense(10),
    }
}

fn main() {}
