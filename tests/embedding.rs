//! Embedding on real data: Fashion-MNIST's pixels as tokens (16 grey levels), and the
//! checks every entry point makes on token ids.

use ndarray::Array2;
use strata::prelude::*;

model! {
    /// Each pixel's grey level (0 to 15) is a token with a learned vector.
    pub struct Levels: [784] of u8 -> [10] {
        Embedding(16, 2),
        Flatten,
        Dense(10),
    }
}

/// The dataset with each pixel rounded to one of 16 grey levels.
fn levels(data: &Dataset<f32>) -> Dataset<f32> {
    let x = data.x().mapv(|v| (v * 15.0).round()).into_dyn();
    Dataset::new(x, data.y().to_owned().into_dyn()).unwrap()
}

#[test]
fn an_embedding_of_grey_levels_learns_fashion_mnist() {
    let (train, test) = strata::datasets::fashion_mnist::load().unwrap();
    let mut trainer = Levels::new(Seed(3)).compile(
        Adam::new(1e-2),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy],
    );
    let names: Vec<&str> = Levels::<f32>::PARAMS.iter().map(|p| p.name).collect();
    assert_eq!(names[0], "embedding/embeddings");
    trainer
        .fit(&levels(&train), Fit::epochs(1).batch_size(64).verbose(0))
        .unwrap();
    let accuracy = trainer
        .evaluate(&levels(&test))
        .unwrap()
        .get("accuracy")
        .unwrap();
    assert!(accuracy >= 0.78, "test accuracy {accuracy}");
}

#[test]
fn ids_that_are_not_tokens_are_refused_before_any_step() {
    let mut trainer = Levels::new(Seed(3)).compile(
        Adam::new(1e-2),
        SparseCategoricalCrossentropy::from_logits(),
        [Accuracy],
    );
    let before = trainer.model().params().to_vec();
    let mut x = Array2::<f32>::zeros((4, 784));
    x[[2, 7]] = 16.0;
    let y = Array2::<f32>::zeros((4, 1));
    let data = Dataset::from_rows(x.clone(), y.clone()).unwrap();
    let error = trainer
        .fit(&data, Fit::epochs(1).verbose(0))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("sample 2 has 16 at position 7 of `input`")
            && error.contains("an integer from 0 to 15"),
        "{error}"
    );
    assert_eq!(trainer.model().params(), &before[..]);
    x[[2, 7]] = 0.5;
    let error = trainer
        .predict(x.view().into_dyn())
        .unwrap_err()
        .to_string();
    assert!(error.contains("sample 2 has 0.5 at position 7"), "{error}");
    let error = trainer
        .train_on_batch(x.view().into_dyn(), y.view().into_dyn())
        .unwrap_err()
        .to_string();
    assert!(error.contains("sample 2 has 0.5"), "{error}");
    x[[2, 7]] = 15.0;
    assert!(trainer.predict(x.view().into_dyn()).is_ok());
}
