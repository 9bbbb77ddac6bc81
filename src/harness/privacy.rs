//! Privacy bookkeeping for a training run: ε spent after t steps by an accountant, σ
//! calibrated to a target (ε, δ) by bisection, and the final report by every accountant.
//!
//! A run of T steps of Poisson rate q and noise multiplier σ is the event
//! `DpEvent::dpsgd(σ, q, T)` (T-fold composition of the Poisson-subsampled Gaussian).

use crate::accountant::{AccountantConfig, AccountantKind, AccountantSettings, Guarantee, Report};
use crate::calibrate::dpsgd_epsilon;
use crate::error::Result;
use serde::Serialize;

/// Result of [`calibrate_sigma`].
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    /// The accountant used.
    pub accountant: String,
    /// The calibrated noise multiplier (the upper end of the final bracket: ε(σ) ≤ target).
    pub sigma: f64,
    /// ε reported at `sigma`.
    pub epsilon: f64,
    /// What that ε guarantees.
    pub guarantee: Guarantee,
    /// False when the accountant flags its answer at `sigma` as invalid (e.g. a truncated
    /// Edgeworth series with a negative survival function there); `notes` say why.
    pub valid: bool,
    /// The accountant's notes at `sigma`.
    pub notes: Vec<String>,
    /// Bisection iterations.
    pub iterations: usize,
}

/// The smallest σ (to relative accuracy `rel_tol`) whose ε(δ) by `config` is ≤ `target_epsilon`,
/// found by [`crate::calibrate::calibrate`] (bracket and bisection on the monotone envelope;
/// certified accountants are calibrated on their certified upper end), with the accountant's
/// full report at that σ.
///
/// # Guarantee
/// ε(σ) ≤ target *as computed by the accountant*; for an estimate accountant this is an
/// estimate of the true ε.
///
/// # Errors
/// Invalid targets; [`crate::Error::NoSolution`] when no σ in the search range reaches the target.
pub fn calibrate_sigma(
    config: &AccountantConfig,
    target_epsilon: f64,
    delta: f64,
    sampling_rate: f64,
    steps: u64,
    rel_tol: f64,
) -> Result<Calibration> {
    let info = crate::calibrate::calibrate(&crate::calibrate::CalibrationParams {
        accountant: config.clone(),
        target_epsilon,
        delta,
        sampling_rate: Some(sampling_rate),
        steps: Some(steps),
        rel_tol,
        ..crate::calibrate::CalibrationParams::default()
    })?;
    let r = dpsgd_epsilon(config, info.sigma, sampling_rate, steps.max(1), delta)?;
    let mut notes = info.notes;
    notes.extend(r.notes);
    Ok(Calibration {
        accountant: config.kind().name().to_string(),
        sigma: info.sigma,
        epsilon: r.epsilon,
        guarantee: r.guarantee,
        valid: r.valid,
        notes,
        iterations: info.iterations,
    })
}

/// One row of the final privacy report.
#[derive(Debug, Clone, Serialize)]
pub struct EpsilonRow {
    /// Accountant name.
    pub accountant: String,
    /// The report, or the error text when the accountant failed.
    pub report: Option<Report>,
    /// Error text.
    pub error: Option<String>,
}

/// ε(δ) for the run by every accountant in [`AccountantKind::ALL`].
pub fn epsilon_all(
    settings: &AccountantSettings,
    sigma: f64,
    sampling_rate: f64,
    steps: u64,
    delta: f64,
) -> Vec<EpsilonRow> {
    AccountantKind::ALL
        .iter()
        .map(|&k| {
            let t0 = std::time::Instant::now();
            match dpsgd_epsilon(
                &settings.config(k),
                sigma,
                sampling_rate,
                steps.max(1),
                delta,
            ) {
                Ok(mut r) => {
                    r.seconds = t0.elapsed().as_secs_f64();
                    EpsilonRow {
                        accountant: k.name().into(),
                        report: Some(r),
                        error: None,
                    }
                }
                Err(e) => EpsilonRow {
                    accountant: k.name().into(),
                    report: None,
                    error: Some(e.to_string()),
                },
            }
        })
        .collect()
}
