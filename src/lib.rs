//! # ewtune: privacy accounting for differentially private training
//!
//! DP-SGD (per-sample clipping plus Gaussian noise) must report an (ε, δ) guarantee for
//! thousands of composed steps. This crate computes it several ways and says what each number
//! is: a fast **estimate**, a certified **bound** or **bracket**, or an **exact** value.
//!
//! ## Architecture (one module per mathematical concept)
//! The accounting library (every module but the last three) builds without default features;
//! the application sits behind the default feature `cli`.
//! - [`error`]: the one [`Error`] type (bad input, unsupported event, not certified, budget
//!   exceeded, internal failure) and [`error::Range`] for parameter checks.
//! - [`precision`]: [`precision::Precision`] (bits, passed explicitly) and MPFR
//!   [`precision::Interval`]s with outward rounding.
//! - [`special`]: normal tails in log space, Hermite polynomials, root finding, compensated
//!   summation, and the certified (MPFR) real quadrature of the privacy losses' moments (the
//!   complex transforms of the contour live in [`accountant::contour`]).
//! - [`mechanism`]: privacy-loss variables (Gaussian, Laplace, Poisson-subsampled Gaussian and
//!   Laplace, randomized response, discrete Laplace and Gaussian, mixtures of Gaussians,
//!   truncated Poisson and fixed-size batches) in their adjacency orderings, with f64 and
//!   certified cumulants κ1..κ6 on both sides.
//! - [`cumulants`]: per-side cumulants; composition is addition.
//! - [`cgf`]: the cumulant generating function of the privacy loss and its tilted moments.
//! - [`event`]: the DP-event vocabulary (as in Google's dp_accounting) and its flattening.
//! - [`edgeworth`]: the Edgeworth series of orders 0–3 and δ̃(ε).
//! - [`bounds`]: certified error terms (Derumigny–Girard–Guyonvarch, Berry–Esseen).
//! - [`pld`]: discretised privacy-loss distributions composed by FFT.
//! - [`accountant`]: the [`accountant::Accountant`] trait, [`accountant::Report`] with its
//!   [`accountant::Guarantee`] label, the accountants, and [`accountant::AccountantConfig`]
//!   (each accountant's typed parameters) for [`accountant::build`].
//! - [`calibrate`]: the smallest σ (or largest steps / sampling rate) meeting a target (ε, δ).
//! - [`calibrate_lattice`]: the noise knob of the other mechanisms (randomized response's p, the
//!   discrete Laplace's a, the σ of the discrete Gaussian or a mixture of Gaussians).
//! - [`sweep`]: parameter grids → rows (rayon) → one deterministic, resumable CSV.
//! - [`plot`] (feature `cli`): figures (PNG and SVG) from sweep CSVs.
//! - [`harness`] (feature `cli`): DP-SGD on a head over fixed embeddings, σ calibrated by the
//!   accountants (CPU; CUDA with feature `cuda`; the MiniLM encoder with feature `encoder`).
//! - [`cli`] (feature `cli`): the `ewtune` command line (no numerics there).

//! ## Example
//! ```
//! use ewtune::accountant::{Accountant, EdgeworthAccountant, EdgeworthParams, Guarantee};
//! use ewtune::event::DpEvent;
//! use ewtune::mechanism::Adjacency;
//!
//! // EW-Tune's SST-2 point: q = 2000/67349, σ = 0.7865, 660 steps, δ = 1e-5, remove ordering.
//! let mut acc = EdgeworthAccountant::new(EdgeworthParams {
//!     order: 1,
//!     adjacency: Adjacency::Remove,
//!     ..Default::default()
//! })?;
//! acc.compose(&DpEvent::dpsgd(0.7865, 2000.0 / 67349.0, 660), 1)?;
//! let r = acc.epsilon(1e-5)?;
//! assert_eq!(r.guarantee, Guarantee::Estimate); // an estimate, not a bound
//! assert!((r.epsilon - 7.9929).abs() < 1e-3); // the true ε is ≈ 8.29
//! # Ok::<(), ewtune::Error>(())
//! ```
//!
//! ## Conventions
//! - Natural logarithms; sensitivity 1; σ is the noise multiplier, q the Poisson rate.
//! - The *remove* ordering is the pair (P, Q) = (without, with) the record, PLLR L = log dQ/dP;
//!   the *add* ordering is the swapped pair. `add-remove` adjacency (the default) is the
//!   maximum over both; every [`accountant::Report`] says which ordering(s) it covers.
//! - δ(ε) = E_P[(e^S − e^ε)_+] (hockey-stick divergence of the composed pair); ε(δ) is the
//!   smallest ε ≥ 0 with δ(ε) ≤ δ. Tails are carried as `log10_delta` beside `delta`.
//!
//! ## Precision policy
//! Two concrete paths: f64 for speed (sweeps, plots) and MPFR (rug) at an explicit
//! [`precision::Precision`] for certified results. Anything returned as a bound is computed
//! with directed rounding (or an explicit documented margin) in the safe direction.
//!
//! ## Features
//! | feature | default | what it adds |
//! |---|---|---|
//! | `cli` | on | the application: the `ewtune` binary (clap), [`plot`] (plotters), progress bars (indicatif), TOML configs, the EW-Tune report and the [`harness`]. Without it (`--no-default-features`) the crate is the accounting library alone |
//! | `cuda` | off | (implies `cli`) CUDA kernels for the DP-SGD harness through cudarc (dynamic loading, NVRTC at run time; nothing CUDA is needed to build) |
//! | `encoder` | off | (implies `cli`) the all-MiniLM-L6-v2 sentence encoder for the harness (candle, tokenizers) |

// Numerical loops index several arrays in step; iterator chains would hide the formulas.
#![allow(clippy::needless_range_loop)]
#![warn(missing_docs)]

pub mod accountant;
pub mod bounds;
pub mod calibrate;
// Lattice mechanisms' noise knob (docs/math.md §16).
pub mod calibrate_lattice;
pub mod cgf;
#[cfg(feature = "cli")]
pub mod cli;
pub mod cumulants;
pub mod edgeworth;
pub mod error;
pub mod event;
#[cfg(feature = "cli")]
pub mod harness;
pub mod mechanism;
pub mod pld;
#[cfg(feature = "cli")]
pub mod plot;
pub mod precision;
pub mod special;
pub mod sweep;

pub use error::{Error, Result};
