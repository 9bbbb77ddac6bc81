//! `ewtune epsilon` and `ewtune delta`.

use super::args::{print_report, AccountantArgs, Format, MechanismArgs};
use crate::accountant::{build, Report};
use clap::Args;
use std::time::Instant;

/// Arguments of `ewtune epsilon`.
#[derive(Debug, Args)]
pub struct EpsilonArgs {
    /// What is composed.
    #[command(flatten)]
    pub mechanism: MechanismArgs,
    /// Target δ ∈ (0, 1).
    #[arg(long, allow_hyphen_values = true)]
    pub delta: f64,
    /// Accountant options.
    #[command(flatten)]
    pub accountant: AccountantArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Arguments of `ewtune delta`.
#[derive(Debug, Args)]
pub struct DeltaArgs {
    /// What is composed.
    #[command(flatten)]
    pub mechanism: MechanismArgs,
    /// ε ≥ 0.
    #[arg(long, allow_hyphen_values = true)]
    pub epsilon: f64,
    /// Accountant options.
    #[command(flatten)]
    pub accountant: AccountantArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

fn compute(
    mech: &MechanismArgs,
    acc: &AccountantArgs,
    f: impl FnOnce(&dyn crate::accountant::Accountant) -> crate::Result<Report>,
) -> anyhow::Result<Report> {
    let event = mech.event()?;
    let config = acc.config()?;
    let start = Instant::now();
    let mut a = build(&config)?;
    a.compose(&event, 1)?;
    let mut r = f(a.as_ref())?;
    r.seconds = start.elapsed().as_secs_f64();
    Ok(r)
}

/// Run `ewtune epsilon`.
///
/// # Errors
/// Bad input or a failed computation.
pub fn run_epsilon(a: EpsilonArgs) -> anyhow::Result<()> {
    crate::accountant::check_delta(a.delta)?;
    let r = compute(&a.mechanism, &a.accountant, |acc| acc.epsilon(a.delta))?;
    print_report(&r, a.format);
    Ok(())
}

/// Run `ewtune delta`.
///
/// # Errors
/// Bad input or a failed computation.
pub fn run_delta(a: DeltaArgs) -> anyhow::Result<()> {
    crate::accountant::check_epsilon(a.epsilon)?;
    let r = compute(&a.mechanism, &a.accountant, |acc| acc.delta(a.epsilon))?;
    print_report(&r, a.format);
    Ok(())
}
