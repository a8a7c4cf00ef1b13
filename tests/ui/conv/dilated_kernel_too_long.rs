use strata::prelude::*;

model! {
    struct Dilated: [6, 2] -> [4] {
        Conv1D(4, kernel_size = 3, dilation_rate = 3),
        GlobalMaxPooling1D,
    }

    struct DilatedImage: [4, 4, 1] -> [4] {
        Conv2D(4, kernel_size = 3, dilation_rate = [1, 2]),
        GlobalMaxPooling2D,
    }
}

fn main() {}
