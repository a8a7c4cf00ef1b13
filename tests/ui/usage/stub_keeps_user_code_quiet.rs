use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(128, activation = relu),
        Dense(12),
    }
}

// Only the model's own error is reported: the code that uses it still type-checks.
fn main() {
    let model = Net::new(Seed(1));
    let _logits: [f32; 10] = model.predict_one(&[0.0; 784]);
    model.summary();
}
