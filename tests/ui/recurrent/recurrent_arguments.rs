use strata::prelude::*;

model! {
    struct Rates: [20, 8] -> [4] {
        LSTM(16, dropout = 1.5, recurrent_dropout = -0.1, return_sequences = true),
        GRU(4),
    }

    struct Forget: [20, 8] -> [16] {
        LSTM(16, bias_initializer = he_normal),
    }

    struct Misplaced: [20, 8] -> [4] {
        SimpleRNN(8, recurrent_activation = sigmoid, return_sequences = true),
        LSTM(4, reset_after = false),
    }
}

fn main() {}
