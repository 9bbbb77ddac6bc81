//! Privacy bookkeeping for a training run: ε spent after t steps by an accountant, σ
//! calibrated to a target (ε, δ) by bisection, and the final report by every accountant.
//!
//! A run of T steps of Poisson rate q and noise multiplier σ is the event
//! `DpEvent::dpsgd(σ, q, T)` (T-fold composition of the Poisson-subsampled Gaussian).

use crate::accountant::{build, AccountantKind, AccountantOptions, Guarantee, Report};
use crate::error::{Error, Result};
use crate::event::DpEvent;
use serde::Serialize;

/// ε after `steps` steps (δ given) by the accountant `kind`.
///
/// # Guarantee
/// Whatever the accountant's report says (`report.guarantee`).
///
/// # Errors
/// Invalid parameters, or the accountant's failure.
pub fn epsilon_spent(
    kind: AccountantKind,
    options: &AccountantOptions,
    sigma: f64,
    sampling_rate: f64,
    steps: u64,
    delta: f64,
) -> Result<Report> {
    let mut acc = build(kind, options)?;
    acc.compose(&DpEvent::dpsgd(sigma, sampling_rate, steps.max(1)), 1)?;
    acc.epsilon(delta)
}

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

/// The smallest σ (to relative accuracy `rel_tol`) whose ε(δ) by `kind` is ≤ `target_epsilon`.
///
/// ε is non-increasing in σ. The search doubles σ from 1 until ε ≤ target, halves down to find
/// ε > target (an accountant error at small σ counts as ε > target), then bisects in ln σ and
/// returns the upper end of the bracket, so ε(σ) ≤ target holds for the accountant used.
///
/// # Guarantee
/// ε(σ) ≤ target *as computed by the accountant*; for an estimate accountant this is an
/// estimate of the true ε.
///
/// # Errors
/// Invalid targets, [`Error::NoSolution`] when σ = 2¹² does not reach the target.
pub fn calibrate_sigma(
    kind: AccountantKind,
    options: &AccountantOptions,
    target_epsilon: f64,
    delta: f64,
    sampling_rate: f64,
    steps: u64,
    rel_tol: f64,
) -> Result<Calibration> {
    crate::error::check_range(
        "target_epsilon",
        target_epsilon,
        0.0,
        true,
        f64::INFINITY,
        true,
    )?;
    crate::accountant::check_delta(delta)?;
    crate::error::check_range("sampling_rate", sampling_rate, 0.0, true, 1.0, false)?;
    let eps = |s: f64| -> f64 {
        match epsilon_spent(kind, options, s, sampling_rate, steps, delta) {
            Ok(r) if r.epsilon.is_finite() => r.epsilon,
            _ => f64::INFINITY,
        }
    };
    let mut hi = 1.0;
    let mut iterations = 0;
    while eps(hi) > target_epsilon {
        hi *= 2.0;
        iterations += 1;
        if hi > 4096.0 {
            return Err(Error::NoSolution(format!(
                "{} needs sigma > 4096 for epsilon <= {target_epsilon} at delta {delta}, q {sampling_rate}, {steps} steps",
                kind.name()
            )));
        }
    }
    let mut lo = hi / 2.0;
    while eps(lo) <= target_epsilon {
        hi = lo;
        lo /= 2.0;
        iterations += 1;
        if lo < 1e-3 {
            break;
        }
    }
    while hi / lo - 1.0 > rel_tol && iterations < 200 {
        let mid = (lo * hi).sqrt();
        if eps(mid) <= target_epsilon {
            hi = mid;
        } else {
            lo = mid;
        }
        iterations += 1;
    }
    let r = epsilon_spent(kind, options, hi, sampling_rate, steps, delta)?;
    Ok(Calibration {
        accountant: kind.name().to_string(),
        sigma: hi,
        epsilon: r.epsilon,
        guarantee: r.guarantee,
        valid: r.valid,
        notes: r.notes,
        iterations,
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
    options: &AccountantOptions,
    sigma: f64,
    sampling_rate: f64,
    steps: u64,
    delta: f64,
) -> Vec<EpsilonRow> {
    AccountantKind::ALL
        .iter()
        .map(|&k| {
            let t0 = std::time::Instant::now();
            match epsilon_spent(k, options, sigma, sampling_rate, steps, delta) {
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
