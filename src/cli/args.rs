//! Argument groups shared by several subcommands.

use crate::accountant::{AccountantKind, AccountantOptions, Report};
use crate::error::{Error, Result};
use crate::event::DpEvent;
use crate::mechanism::{Adjacency, Gaussian, Laplace, Mechanism, SubsampledGaussian};
use crate::precision::Precision;
use clap::{Args, ValueEnum};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Mechanism names on the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MechanismName {
    /// Gaussian mechanism (`--sigma`).
    Gaussian,
    /// Laplace mechanism (`--scale`).
    Laplace,
    /// Poisson-subsampled Gaussian, one DP-SGD step (`--sigma`, `--sampling-rate`).
    SubsampledGaussian,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document.
    Json,
}

/// What is being accounted for: one mechanism repeated `--steps` times, or an events file.
#[derive(Debug, Clone, Args)]
pub struct MechanismArgs {
    /// The mechanism. When omitted it is inferred from the flags given: `--sampling-rate` →
    /// subsampled-gaussian, else `--sigma` → gaussian, else `--scale` → laplace.
    #[arg(long, value_enum)]
    pub mechanism: Option<MechanismName>,
    /// Noise multiplier σ > 0 (gaussian, subsampled-gaussian).
    #[arg(long, allow_negative_numbers = true)]
    pub sigma: Option<f64>,
    /// Poisson sampling rate q ∈ (0, 1] (subsampled-gaussian).
    #[arg(long, allow_negative_numbers = true)]
    pub sampling_rate: Option<f64>,
    /// Laplace scale b > 0 (laplace).
    #[arg(long, allow_negative_numbers = true)]
    pub scale: Option<f64>,
    /// Number of compositions (≥ 1).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub steps: i64,
    /// A JSON or TOML file listing (mechanism, count) entries; replaces the mechanism flags.
    #[arg(long, conflicts_with_all = ["mechanism", "sigma", "sampling_rate", "scale"])]
    pub events: Option<PathBuf>,
}

fn need(v: Option<f64>, flag: &'static str, mech: &str) -> Result<f64> {
    v.ok_or_else(|| {
        Error::invalid(
            flag,
            "(missing)",
            format!("is required for --mechanism {mech}"),
        )
    })
}

impl MechanismArgs {
    /// The single mechanism (errors name the missing flag).
    ///
    /// # Errors
    /// Missing or invalid flags.
    pub fn mechanism(&self) -> Result<Mechanism> {
        let name = match self.mechanism {
            Some(name) => name,
            None if self.sampling_rate.is_some() => MechanismName::SubsampledGaussian,
            None if self.sigma.is_some() && self.scale.is_none() => MechanismName::Gaussian,
            None if self.scale.is_some() && self.sigma.is_none() => MechanismName::Laplace,
            None => {
                return Err(Error::invalid(
                    "mechanism",
                    "(missing)",
                    "give --mechanism gaussian|laplace|subsampled-gaussian (or --sigma, \
                     --sampling-rate, --scale to infer it), or --events",
                ))
            }
        };
        mechanism_from(name, self.sigma, self.sampling_rate, self.scale)
    }

    /// The steps count as u64 ≥ 1.
    ///
    /// # Errors
    /// `steps` < 1.
    pub fn steps(&self) -> Result<u64> {
        if self.steps < 1 {
            return Err(Error::invalid(
                "steps",
                self.steps,
                "must be an integer >= 1",
            ));
        }
        Ok(self.steps as u64)
    }

    /// The event to compose (once).
    ///
    /// # Errors
    /// Missing/invalid flags, unreadable or malformed events file.
    pub fn event(&self) -> Result<DpEvent> {
        if let Some(path) = &self.events {
            return read_events(path);
        }
        let m = self.mechanism()?;
        let steps = self.steps()?;
        Ok(DpEvent::SelfComposed {
            event: Box::new(DpEvent::from(m)),
            count: steps,
        })
    }
}

/// Build a mechanism from its CLI name and flags.
///
/// # Errors
/// Missing or invalid parameters, named by flag.
pub fn mechanism_from(
    name: MechanismName,
    sigma: Option<f64>,
    sampling_rate: Option<f64>,
    scale: Option<f64>,
) -> Result<Mechanism> {
    Ok(match name {
        MechanismName::Gaussian => {
            Mechanism::Gaussian(Gaussian::new(need(sigma, "sigma", "gaussian")?)?)
        }
        MechanismName::Laplace => {
            Mechanism::Laplace(Laplace::new(need(scale, "scale", "laplace")?)?)
        }
        MechanismName::SubsampledGaussian => {
            Mechanism::SubsampledGaussian(SubsampledGaussian::new(
                need(sigma, "sigma", "subsampled-gaussian")?,
                need(sampling_rate, "sampling_rate", "subsampled-gaussian")?,
            )?)
        }
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsFile {
    events: Vec<EventEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventEntry {
    mechanism: String,
    sigma: Option<f64>,
    sampling_rate: Option<f64>,
    scale: Option<f64>,
    count: u64,
}

/// Read an events file: `{"events": [{"mechanism": "subsampled-gaussian", "sigma": 0.8,
/// "sampling_rate": 0.01, "count": 1000}, ...]}` in JSON, or the same as TOML
/// `[[events]]` tables. The format is chosen by extension (`.toml`, else JSON).
///
/// # Errors
/// [`Error::Io`] when unreadable, [`Error::Parse`] when malformed (naming the entry).
pub fn read_events(path: &Path) -> Result<DpEvent> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let parse_err = |m: String| Error::Parse {
        path: path.display().to_string(),
        message: m,
    };
    let file: EventsFile = if path.extension().and_then(|e| e.to_str()) == Some("toml") {
        toml::from_str(&text).map_err(|e| parse_err(e.to_string()))?
    } else {
        serde_json::from_str(&text).map_err(|e| parse_err(e.to_string()))?
    };
    if file.events.is_empty() {
        return Err(parse_err("the events list is empty".into()));
    }
    let mut events = Vec::new();
    for (i, e) in file.events.iter().enumerate() {
        let name = match e.mechanism.as_str() {
            "gaussian" => MechanismName::Gaussian,
            "laplace" => MechanismName::Laplace,
            "subsampled-gaussian" => MechanismName::SubsampledGaussian,
            other => {
                return Err(parse_err(format!(
                "events[{i}]: unknown mechanism {other:?} (gaussian, laplace, subsampled-gaussian)"
            )))
            }
        };
        if e.count == 0 {
            return Err(parse_err(format!("events[{i}]: count must be >= 1")));
        }
        let m = mechanism_from(name, e.sigma, e.sampling_rate, e.scale)
            .map_err(|err| parse_err(format!("events[{i}]: {err}")))?;
        events.push(DpEvent::SelfComposed {
            event: Box::new(DpEvent::from(m)),
            count: e.count,
        });
    }
    Ok(DpEvent::Composed { events })
}

/// Accountant selection and options.
#[derive(Debug, Clone, Args)]
pub struct AccountantArgs {
    /// Accountant: edgeworth (and the others listed by `ewtune compare`).
    #[arg(long, default_value = "edgeworth")]
    pub accountant: String,
    /// Edgeworth order 0–3 (0 = CLT).
    #[arg(long, default_value_t = 1)]
    pub order: u8,
    /// Adjacency: add-remove (max of both orderings), remove or add.
    #[arg(long, default_value = "add-remove")]
    pub adjacency: String,
    /// MPFR precision in bits for certified cumulants; 53 selects the fast f64 path.
    #[arg(long, default_value_t = 256)]
    pub precision: u32,
    /// Requested relative accuracy for accountants that can trade it for time.
    #[arg(long, default_value_t = 1e-9)]
    pub tolerance: f64,
    /// Add the certified Edgeworth error bracket (lower/upper).
    #[arg(long)]
    pub bracket: bool,
    /// Most grid points the PLD accountant may use per distribution (memory ≈ 40 bytes each).
    #[arg(long, default_value_t = crate::accountant::pld::DEFAULT_MAX_GRID_POINTS)]
    pub grid_budget: usize,
    /// Saddle-point accountant: the Kolmogorov-distance (Berry–Esseen / DGG) bracket alone,
    /// without the Fourier part added where that bracket is loose.
    #[arg(long)]
    pub kolmogorov_only: bool,
}

impl AccountantArgs {
    /// The accountant kind.
    ///
    /// # Errors
    /// Unknown name.
    pub fn kind(&self) -> Result<AccountantKind> {
        AccountantKind::parse(&self.accountant)
    }

    /// Options for [`crate::accountant::build`].
    ///
    /// # Errors
    /// Invalid adjacency, precision or tolerance.
    pub fn options(&self) -> Result<AccountantOptions> {
        let precision = if self.precision == 53 {
            None
        } else {
            Some(Precision::new(self.precision)?)
        };
        crate::error::Range::left_open(0.0, 0.1).check("tolerance", self.tolerance)?;
        if self.order > 3 {
            return Err(Error::invalid("order", self.order, "must be 0, 1, 2 or 3"));
        }
        Ok(AccountantOptions {
            adjacency: Adjacency::parse(&self.adjacency)?,
            order: self.order,
            precision,
            tolerance: self.tolerance,
            bracket: self.bracket,
            grid_budget: self.grid_budget,
            kolmogorov_only: self.kolmogorov_only,
        })
    }
}

/// Print one report as text or JSON.
pub fn print_report(r: &Report, format: Format) {
    match format {
        Format::Json => println!("{}", report_json(r)),
        Format::Text => print!("{}", report_text(r)),
    }
}

/// A report as a JSON value (non-finite numbers become strings "inf"/"-inf"/"nan").
pub fn report_json(r: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(r).expect("invariant: Report serialises");
    fix_nonfinite(&mut v, r);
    v
}

fn fix_nonfinite(v: &mut serde_json::Value, r: &Report) {
    let pairs = [
        ("epsilon", r.epsilon),
        ("delta", r.delta),
        ("log10_delta", r.log10_delta),
    ];
    for (k, x) in pairs {
        if !x.is_finite() {
            v[k] = serde_json::Value::String(format!("{x}"));
        }
    }
}

/// A report as aligned text.
pub fn report_text(r: &Report) -> String {
    let mut s = String::new();
    let kind = match r.order {
        Some(o) => format!("{} (order {o})", r.accountant),
        None => r.accountant.clone(),
    };
    s.push_str(&format!("accountant  {kind}\n"));
    s.push_str(&format!(
        "guarantee   {}{}\n",
        r.guarantee.name(),
        if r.vacuous { " (vacuous)" } else { "" }
    ));
    s.push_str(&format!("adjacency   {}\n", r.adjacency.name()));
    s.push_str(&format!("epsilon     {}\n", fmt_num(r.epsilon)));
    s.push_str(&format!(
        "delta       {}  (log10 {})\n",
        fmt_num(r.delta),
        fmt_num(r.log10_delta)
    ));
    if r.lower.is_some() || r.upper.is_some() {
        s.push_str(&format!(
            "bracket     [{}, {}]\n",
            r.lower.map(fmt_num).unwrap_or_else(|| "-".into()),
            r.upper.map(fmt_num).unwrap_or_else(|| "-".into())
        ));
    }
    for o in &r.orderings {
        s.push_str(&format!(
            "  {:<8}  {}\n",
            o.direction.name(),
            fmt_num(o.value)
        ));
    }
    if !r.valid {
        s.push_str("WARNING     the approximation is invalid at this point (see notes)\n");
    }
    for n in &r.notes {
        s.push_str(&format!("note        {n}\n"));
    }
    if r.seconds > 0.0 {
        s.push_str(&format!("seconds     {:.6}\n", r.seconds));
    }
    s
}

/// Format a number compactly with enough digits.
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x != 0.0 && (x.abs() < 1e-4 || x.abs() >= 1e6) {
        format!("{x:.10e}")
    } else {
        format!("{x:.10}")
    }
}
