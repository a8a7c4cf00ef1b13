use strata::prelude::*;

model! {
    struct Arguments: [28, 28, 1] -> [10] {
        Conv2D(32),
        Conv2D(32, kernel_size = [3, 3, 3]),
        Conv2D(32, kernel_size = 3, padding = sane),
        MaxPooling2D(pool_size = 2.5),
        ZeroPadding2D([[1, 2], [-1, 0]]),
        UpSampling2D(size = 2, interpolation = bilinear),
        Flatten,
        Dense(10),
    }
}

fn main() {}
