//! One DP-SGD step, backend-independent pieces: the step parameters, the optimizer update rule
//! applied per coordinate, Poisson sampling, and the [`Backend`] trait.
//!
//! A step on a Poisson batch B (each example kept independently with probability q) computes
//!
//! ĝ = ( Σ_{b∈B} c_b ∇θ_b + σ C ξ_t ) / (q N),  c_b = min(1, C / (‖∇θ_b‖ + 10⁻⁶)),
//!
//! with ξ_t ~ N(0, I) drawn by Philox from `(seed, t, coordinate)`, then an SGD or Adam update.
//! Dividing by the *expected* batch size qN (not |B|) keeps the sensitivity of the released sum
//! equal to C, as the subsampled-Gaussian accountants assume. The non-private switch runs the
//! same code with σ = 0 and C = ∞ (c_b = 1).
//!
//! # References
//! M. Abadi et al., "Deep learning with differential privacy", CCS 2016 (Algorithm 1);
//! D. P. Kingma, J. Ba, "Adam", ICLR 2015 (Algorithm 1).

use crate::error::{Error, Result};
use crate::harness::philox::{self, Domain};
use serde::{Deserialize, Serialize};

/// The optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Optimizer {
    /// θ ← θ − lr·ĝ.
    Sgd {
        /// Learning rate.
        lr: f64,
    },
    /// Adam with bias correction.
    Adam {
        /// Learning rate.
        lr: f64,
        /// First-moment decay β1.
        beta1: f64,
        /// Second-moment decay β2.
        beta2: f64,
        /// ε in the denominator.
        eps: f64,
    },
}

impl Optimizer {
    /// Validate the hyper-parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `lr`, `beta1`, `beta2` or `eps`.
    pub fn validate(&self) -> Result<()> {
        let c = self.at_step(0);
        if c.adam {
            crate::error::Range::right_open(0.0, 1.0).check("beta1", c.beta1)?;
            crate::error::Range::right_open(0.0, 1.0).check("beta2", c.beta2)?;
            crate::error::Range::above(0.0).check("eps", c.eps)?;
        }
        crate::error::Range::above(0.0).check("lr", c.lr)?;
        Ok(())
    }

    /// The scalars of the update at step `step` (0-based), shared by the CPU update and the CUDA
    /// kernel's arguments: Adam's bias corrections 1 − β^t with t = step + 1; for SGD β1 = β2 = 0,
    /// eps = 1 and corrections 1 (unused).
    pub fn at_step(&self, step: u64) -> OptimizerStep {
        match *self {
            Optimizer::Sgd { lr } => OptimizerStep {
                adam: false,
                lr,
                beta1: 0.0,
                beta2: 0.0,
                eps: 1.0,
                bias1: 1.0,
                bias2: 1.0,
            },
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => {
                let t = (step + 1) as i32;
                OptimizerStep {
                    adam: true,
                    lr,
                    beta1,
                    beta2,
                    eps,
                    bias1: 1.0 - beta1.powi(t),
                    bias2: 1.0 - beta2.powi(t),
                }
            }
        }
    }

    /// Whether the optimizer keeps moment vectors.
    pub fn has_moments(&self) -> bool {
        matches!(self, Optimizer::Adam { .. })
    }
}

/// The optimizer's scalars at one step ([`Optimizer::at_step`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimizerStep {
    /// Adam (moments kept) rather than SGD.
    pub adam: bool,
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay β1 (0 for SGD).
    pub beta1: f64,
    /// Second-moment decay β2 (0 for SGD).
    pub beta2: f64,
    /// ε in Adam's denominator (1 for SGD).
    pub eps: f64,
    /// 1 − β1^t (1 for SGD).
    pub bias1: f64,
    /// 1 − β2^t (1 for SGD).
    pub bias2: f64,
}

/// Everything a backend needs for step `step` (0-based).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepParams {
    /// Step index t (the noise counter; Adam uses t + 1 for bias correction).
    pub step: u64,
    /// Run seed (Philox key).
    pub seed: u64,
    /// Clipping norm C (∞ disables clipping).
    pub clip: f64,
    /// Noise standard deviation per coordinate, σ·C (0 disables noise).
    pub noise_std: f64,
    /// The divisor qN (expected batch size).
    pub denominator: f64,
    /// The optimizer.
    pub optimizer: Optimizer,
}

impl StepParams {
    /// Check the combination (a finite noise needs a finite C; denominators are positive).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `clip_norm`, `noise_std` or `denominator`.
    pub fn validate(&self) -> Result<()> {
        if self.clip.is_nan() || self.clip <= 0.0 {
            return Err(Error::invalid(
                "clip_norm",
                self.clip,
                "must be > 0 (inf disables clipping)",
            ));
        }
        crate::error::Range::at_least(0.0).check("noise_std", self.noise_std)?;
        if self.noise_std > 0.0 && self.clip.is_infinite() {
            return Err(Error::invalid(
                "clip_norm",
                self.clip,
                "noise needs a finite clipping norm (the sensitivity)",
            ));
        }
        crate::error::Range::above(0.0).check("denominator", self.denominator)?;
        self.optimizer.validate()
    }
}

/// What a step reports.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct StepStats {
    /// Realised Poisson batch size |B|.
    pub batch_size: usize,
    /// Mean cross-entropy over the batch before the update (NaN for an empty batch).
    pub loss: f64,
    /// Mean per-example gradient norm ‖∇θ_b‖ (NaN when clipping is off or the batch is empty).
    pub mean_norm: f64,
    /// Fraction of examples with c_b < 1.
    pub frac_clipped: f64,
}

/// Parameters and optimizer moments: everything that changes during a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrainState {
    /// Steps completed.
    pub steps_done: u64,
    /// Flat parameters.
    pub params: Vec<f64>,
    /// Adam first moments (empty for SGD).
    pub m: Vec<f64>,
    /// Adam second moments (empty for SGD).
    pub v: Vec<f64>,
}

impl TrainState {
    /// A fresh state.
    pub fn new(params: Vec<f64>, optimizer: &Optimizer) -> Self {
        let n = if optimizer.has_moments() {
            params.len()
        } else {
            0
        };
        TrainState {
            steps_done: 0,
            params,
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }
}

/// A compute backend for DP-SGD steps on resident embeddings.
pub trait Backend {
    /// `cpu` or `cuda`.
    fn name(&self) -> &'static str;
    /// Run one step on the examples `batch` (indices into the resident training set).
    ///
    /// # Errors
    /// Invalid step parameters, or a device failure.
    fn step(&mut self, batch: &[u32], params: &StepParams) -> Result<StepStats>;
    /// Copy the current state out.
    ///
    /// # Errors
    /// A device failure.
    fn state(&self) -> Result<TrainState>;
    /// Replace the state (resume).
    ///
    /// # Errors
    /// Wrong sizes, or a device failure.
    fn load_state(&mut self, state: &TrainState) -> Result<()>;
}

/// Coordinate update: `sum` is Σ c_b ∇θ_b at coordinate `index`; the noisy mean is formed and the
/// optimizer applied in place. The CUDA kernel `noise_update` is a copy of this function.
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn update_coordinate(
    index: u64,
    sum: f64,
    p: &StepParams,
    theta: &mut f64,
    m: Option<&mut f64>,
    v: Option<&mut f64>,
) {
    let noise = if p.noise_std > 0.0 {
        p.noise_std * philox::gaussian(p.seed, index, p.step, Domain::Noise)
    } else {
        0.0
    };
    let g = (sum + noise) / p.denominator;
    let c = p.optimizer.at_step(p.step);
    if !c.adam {
        *theta -= c.lr * g;
        return;
    }
    let (Some(m), Some(v)) = (m, v) else {
        return; // invariant: callers pass moments for Adam
    };
    *m = c.beta1 * *m + (1.0 - c.beta1) * g;
    *v = c.beta2 * *v + (1.0 - c.beta2) * g * g;
    let mhat = *m / c.bias1;
    let vhat = *v / c.bias2;
    *theta -= c.lr * mhat / (vhat.sqrt() + c.eps);
}

/// The Poisson batch of step `step`: example i is kept iff u(seed, i, step) < q, with u the
/// Philox uniform of the `Sampling` domain (independent across examples and steps).
pub fn poisson_batch(seed: u64, step: u64, n: usize, sampling_rate: f64) -> Vec<u32> {
    (0..n as u64)
        .filter(|&i| philox::uniform(seed, i, step, Domain::Sampling) < sampling_rate)
        .map(|i| i as u32)
        .collect()
}
