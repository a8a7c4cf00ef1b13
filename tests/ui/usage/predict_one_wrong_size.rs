use strata::prelude::*;

model! {
    struct Net: [784] -> [10] {
        Dense(128, activation = relu),
        Dense(10),
    }
}

fn main() {
    let model = Net::new(Seed(1));
    let image = [0.0f32; 28 * 27];
    let _logits: [f32; 10] = model.predict_one(&image);
}
