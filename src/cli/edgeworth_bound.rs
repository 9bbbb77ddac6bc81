//! `ewtune edgeworth-bound`: the Derumigny–Girard–Guyonvarch bound on the first-order
//! Edgeworth error of a standardised sum (docs/math.md §5).

use super::args::{fmt_num, Format};
use crate::bounds::dgg::check_eta;
use crate::bounds::{dgg_bound, dgg_bound_optimized, DggInputs, DggSetup, DEFAULT_ETA};
use crate::error::Error;
use clap::Args;

/// Arguments of `ewtune edgeworth-bound`.
#[derive(Debug, Args)]
pub struct EdgeworthBoundArgs {
    /// Number of summands n ≥ 1.
    #[arg(long, allow_hyphen_values = true)]
    pub n: f64,
    /// Upper bound on the average standardised fourth moment K4 (≥ 1; 9 covers most laws).
    #[arg(long, allow_hyphen_values = true)]
    pub k4: f64,
    /// Upper bound on K3 (default K4^{3/4}).
    #[arg(long, allow_hyphen_values = true)]
    pub k3: Option<f64>,
    /// Bound on |λ3|, the average skewness (default 0.621·K3).
    #[arg(long, allow_hyphen_values = true)]
    pub lambda3: Option<f64>,
    /// Upper bound on K̃3 (default K3 + 1 for iid, 2·K3 otherwise).
    #[arg(long, allow_hyphen_values = true)]
    pub k3_tilde: Option<f64>,
    /// The free parameter η ∈ (0, 1/3) (default 0.1; ignored with --optimize-eta).
    #[arg(long, allow_hyphen_values = true)]
    pub eta: Option<f64>,
    /// Minimise the bound over η.
    #[arg(long)]
    pub optimize_eta: bool,
    /// Summands not identically distributed (Theorem A.2 instead of A.3).
    #[arg(long)]
    pub inid: bool,
    /// Summands unskewed (E X_i³ = 0).
    #[arg(long)]
    pub unskewed: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Run `ewtune edgeworth-bound`.
///
/// # Errors
/// Bad input (exit 2).
pub fn run(a: EdgeworthBoundArgs) -> anyhow::Result<()> {
    let iid = !a.inid;
    let setup = DggSetup {
        iid,
        unskewed: a.unskewed,
    };
    let mut inputs = DggInputs::from_k4(a.n, a.k4, iid)?;
    if let Some(k3) = a.k3 {
        inputs.k3 = k3;
        if a.k3_tilde.is_none() {
            inputs.k3_tilde = if iid { k3 + 1.0 } else { 2.0 * k3 };
        }
        if a.lambda3.is_none() {
            inputs.lambda3 = DggInputs::from_k4(a.n, 1.0, iid)?.lambda3 * k3;
        }
    }
    if let Some(l) = a.lambda3 {
        inputs.lambda3 = l.abs();
    }
    if let Some(k) = a.k3_tilde {
        inputs.k3_tilde = k;
    }
    inputs.validate()?;
    let b = if a.optimize_eta {
        if a.eta.is_some() {
            return Err(Error::invalid("eta", "(given)", "conflicts with --optimize-eta").into());
        }
        dgg_bound_optimized(setup, &inputs)?
    } else {
        dgg_bound(setup, &inputs, check_eta(a.eta.unwrap_or(DEFAULT_ETA))?)?
    };
    match a.format {
        Format::Json => {
            let v = serde_json::json!({
                "bound": num(b.edgeworth),
                "bound_berry_esseen": num(b.berry_esseen),
                "guarantee": "upper_bound",
                "vacuous": b.vacuous,
                "eta": b.eta,
                "setup": { "iid": iid, "unskewed": a.unskewed, "continuity": false },
                "inputs": inputs,
            });
            println!("{v}");
        }
        Format::Text => {
            let bound = |x: f64| {
                if x.is_finite() {
                    format!("{x:.15e}")
                } else {
                    fmt_num(x)
                }
            };
            let input = |x: f64| crate::mechanism::compact(&x.to_string());
            println!(
                "DGG bound on sup|P(S_n<=x) - Edgeworth_1(x)| ({}, {}, no continuity, eta = {}): {}{}",
                if iid { "iid" } else { "inid" },
                if a.unskewed { "unskewed" } else { "skewed" },
                b.eta,
                bound(b.edgeworth),
                if b.vacuous { " (vacuous)" } else { "" }
            );
            println!(
                "Berry-Esseen-type bound on sup|P(S_n<=x) - Phi(x)|: {}",
                bound(b.berry_esseen)
            );
            println!(
                "inputs: n = {}, K4 = {}, K3 = {}, |lambda3| = {}, K3~ = {}",
                input(inputs.n),
                input(inputs.k4),
                input(inputs.k3),
                input(inputs.lambda3),
                input(inputs.k3_tilde)
            );
        }
    }
    Ok(())
}

fn num(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::json!(x)
    } else {
        serde_json::Value::String(format!("{x}"))
    }
}
