//! `ewtune calibrate`: the smallest σ (or largest steps / sampling rate) meeting (ε, δ).

use super::args::{fmt_num, AccountantArgs, Format};
use crate::calibrate::{calibrate, CalibrationInfo, CalibrationParams, Solve};
use clap::Args;

/// Arguments of `ewtune calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Target ε > 0.
    #[arg(long, allow_negative_numbers = true)]
    pub target_epsilon: f64,
    /// δ ∈ (0, 1).
    #[arg(long, allow_negative_numbers = true)]
    pub delta: f64,
    /// Noise multiplier σ > 0 (required unless --solve sigma, where it is the starting point).
    #[arg(long, allow_negative_numbers = true)]
    pub sigma: Option<f64>,
    /// Poisson sampling rate q ∈ (0, 1] (required unless --solve sampling-rate).
    #[arg(long, allow_negative_numbers = true)]
    pub sampling_rate: Option<f64>,
    /// Number of DP-SGD steps ≥ 1 (required unless --solve steps).
    #[arg(long, allow_negative_numbers = true)]
    pub steps: Option<i64>,
    /// What to solve for: sigma (smallest), steps (largest) or sampling-rate (largest).
    #[arg(long, default_value = "sigma")]
    pub solve: String,
    /// Relative tolerance on σ or q (steps are solved exactly).
    #[arg(long, default_value_t = 1e-4, allow_negative_numbers = true)]
    pub rel_tol: f64,
    /// Accountant options.
    #[command(flatten)]
    pub accountant: AccountantArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

impl CalibrateArgs {
    /// The library parameters.
    ///
    /// # Errors
    /// Invalid flags.
    pub fn params(&self) -> crate::Result<CalibrationParams> {
        let steps = match self.steps {
            None => None,
            Some(s) if s >= 1 => Some(s as u64),
            Some(s) => return Err(crate::Error::invalid("steps", s, "must be an integer >= 1")),
        };
        Ok(CalibrationParams {
            accountant: self.accountant.kind()?,
            options: self.accountant.options()?,
            target_epsilon: self.target_epsilon,
            delta: self.delta,
            solve: Solve::parse(&self.solve)?,
            sigma: self.sigma,
            sampling_rate: self.sampling_rate,
            steps,
            rel_tol: self.rel_tol,
            ..CalibrationParams::default()
        })
    }
}

/// The answer as JSON: the solved value under its own name plus the context.
pub fn info_json(info: &CalibrationInfo) -> serde_json::Value {
    let mut v = serde_json::json!({
        "solve": info.solve.name(),
        "sigma": info.sigma,
        "steps": info.steps,
        "sampling_rate": info.sampling_rate,
        "target_epsilon": info.target_epsilon,
        "delta": info.delta,
        "log10_delta": info.delta.log10(),
        "epsilon": info.epsilon,
        "accountant": info.accountant,
        "order": info.report.order,
        "adjacency": info.report.adjacency.name(),
        "guarantee": info.guarantee.name(),
        "iterations": info.iterations,
        "evaluations": info.evaluations,
        "monotone": info.monotone,
        "bracket": [info.bracket.0, info.bracket.1],
        "notes": info.notes,
        "report": super::args::report_json(&info.report),
        "seconds": info.seconds,
    });
    v["value"] = v[info.solve.name()].clone();
    v
}

/// The answer as text.
pub fn info_text(info: &CalibrationInfo) -> String {
    let mut s = String::new();
    let kind = match info.report.order {
        Some(o) => format!("{} (order {o})", info.accountant),
        None => info.accountant.clone(),
    };
    s.push_str(&format!("accountant      {kind}\n"));
    s.push_str(&format!(
        "adjacency       {}\n",
        info.report.adjacency.name()
    ));
    s.push_str(&format!("solved for      {}\n", info.solve.name()));
    s.push_str(&format!("sigma           {}\n", fmt_num(info.sigma)));
    s.push_str(&format!(
        "sampling_rate   {}\n",
        fmt_num(info.sampling_rate)
    ));
    s.push_str(&format!("steps           {}\n", info.steps));
    s.push_str(&format!("delta           {}\n", fmt_num(info.delta)));
    s.push_str(&format!(
        "epsilon         {}  (target {})\n",
        fmt_num(info.epsilon),
        fmt_num(info.target_epsilon)
    ));
    s.push_str(&format!("guarantee       {}\n", info.guarantee.name()));
    s.push_str(&format!(
        "iterations      {} ({} evaluations)\n",
        info.iterations, info.evaluations
    ));
    for n in &info.notes {
        s.push_str(&format!("note            {n}\n"));
    }
    s.push_str(&format!("seconds         {:.6}\n", info.seconds));
    s
}

/// Run `ewtune calibrate`.
///
/// # Errors
/// Bad input or a failed computation.
pub fn run(a: CalibrateArgs) -> anyhow::Result<()> {
    let info = calibrate(&a.params()?)?;
    match a.format {
        Format::Json => println!("{}", info_json(&info)),
        Format::Text => print!("{}", info_text(&info)),
    }
    Ok(())
}
