//! Freezing and unfreezing layers by name while training, as setting Keras's
//! `layer.trainable`.

use crate::loss::Loss;
use crate::model::{Model, ParamInfo};
use crate::optim::Optimizer;
use crate::train::Trainer;
use crate::{Error, Result};

/// Whether `param` belongs to the layer or nested model `name` (`dense_1`, `encoder`,
/// `encoder/dense`).
fn belongs_to(param: &ParamInfo, name: &str) -> bool {
    param
        .name
        .strip_prefix(name)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The ranges of the parameters the optimizer updates: trainable in the model's
/// definition and not frozen since.
pub(crate) fn trainable_ranges(
    params: &[ParamInfo],
    frozen: &[bool],
) -> Vec<std::ops::Range<usize>> {
    params
        .iter()
        .zip(frozen)
        .filter(|(p, frozen)| p.trainable && !**frozen)
        .map(|(p, _)| p.offset..p.offset + p.len)
        .collect()
}

impl<M, O, L> Trainer<M, O, L>
where
    M: Model,
    O: Optimizer<M::Float>,
    L: Loss<M::Float>,
{
    /// Freezes (`false`) or unfreezes (`true`) the layer or nested model `name`, as
    /// setting Keras's `layer.trainable`: from the next step, the optimizer leaves a frozen
    /// layer's parameters bit for bit as they are (its moments too), and
    /// [`Trainer::summary_string`] counts them as non-trainable. A nested model's layers
    /// are named under it, `encoder/dense`, and `"encoder"` freezes all of them.
    ///
    /// A layer declared `trainable = false` in `model!` computes no gradients and stays
    /// frozen: unfreezing it is an error. To freeze a layer for a while, declare it
    /// trainable and freeze it here.
    ///
    /// ```
    /// # extern crate strata_runtime as strata;
    /// # use strata_macros::model;
    /// use strata::{Model, Seed, loss::MeanSquaredError, optim::SGD};
    ///
    /// model! { pub struct Net: [4] -> [2] { Dense(3), Dense(2) } }
    ///
    /// let mut trainer = Net::new(Seed(1)).compile(SGD::new(0.1), MeanSquaredError::new(), ());
    /// trainer.set_trainable("dense", false)?;
    /// assert_eq!(trainer.trainable_param_count(), 3 * 2 + 2);
    /// assert!(trainer.set_trainable("dense_9", false).is_err());
    /// # Ok::<(), strata::Error>(())
    /// ```
    pub fn set_trainable(&mut self, name: &str, trainable: bool) -> Result<()> {
        let owned: Vec<usize> = (0..M::PARAMS.len())
            .filter(|&i| belongs_to(&M::PARAMS[i], name))
            .collect();
        if owned.is_empty() {
            return Err(Error::invalid(
                "trainable",
                format!(
                    "{} has no layer with parameters named \"{name}\"; the names are {}",
                    M::NAME,
                    layer_names(M::PARAMS).join(", ")
                ),
            ));
        }
        // Declared frozen when none of its parameters trains: some never do, such as
        // BatchNormalization's moving statistics, and do not freeze their layer.
        if trainable && owned.iter().all(|&i| !M::PARAMS[i].trainable) {
            return Err(Error::invalid(
                "trainable",
                format!(
                    "{name} is declared `trainable = false` in the model, so its gradients \
                     are never computed; declare it trainable and freeze it with \
                     set_trainable(\"{name}\", false) to unfreeze it later",
                ),
            ));
        }
        for i in owned {
            self.frozen[i] = !trainable;
        }
        self.trainable = trainable_ranges(M::PARAMS, &self.frozen);
        Ok(())
    }

    /// How many parameters the optimizer updates now.
    pub fn trainable_param_count(&self) -> usize {
        self.trainable.iter().map(|r| r.len()).sum()
    }

    /// The model's summary as [`Model::summary_string`], with the layers frozen by
    /// [`Trainer::set_trainable`] counted as non-trainable.
    pub fn summary_string(&self) -> String {
        let params: Vec<ParamInfo> = M::PARAMS
            .iter()
            .zip(&self.frozen)
            .map(|(param, frozen)| ParamInfo {
                trainable: param.trainable && !frozen,
                ..*param
            })
            .collect();
        crate::train::summary::render(M::NAME, M::LAYERS, &params, std::mem::size_of::<M::Float>())
    }

    /// Prints [`Trainer::summary_string`].
    pub fn summary(&self) {
        print!("{}", self.summary_string());
    }
}

/// `"dense"`, `"encoder/dense"`, ...: each layer that owns parameters, in order.
fn layer_names(params: &[ParamInfo]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in params {
        let layer = p.name.rsplit_once('/').map_or(p.name, |(layer, _)| layer);
        let quoted = format!("\"{layer}\"");
        if !names.contains(&quoted) {
            names.push(quoted);
        }
    }
    names
}
