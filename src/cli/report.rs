//! `ewtune report`: the main job. ε at the EW-Tune setting (docs/math.md §9) by every accountant,
//! side by side, on an embedded default configuration (or `--config FILE.toml`).

use crate::accountant::{build, AccountantConfig, AccountantKind, AccountantSettings, Report};
use crate::error::{Error, Result};
use crate::event::DpEvent;
use crate::mechanism::Adjacency;
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

/// Output format of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ReportFormat {
    /// Aligned table.
    #[default]
    Text,
    /// CSV rows.
    Csv,
    /// JSON array of rows.
    Json,
}

/// Arguments of `ewtune report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A TOML file overriding the embedded configuration (keys as in [`ReportConfig`]).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Also write the rows as CSV to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One fine-tuning task: a training-set size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    /// Name (SST-2, ...).
    pub name: String,
    /// Training examples N.
    pub train_size: u64,
}

/// The report's configuration. The embedded default is the EW-Tune setting: RoBERTa on GLUE,
/// batch 2000, 20 epochs, q = B/N, steps = epochs·⌊N/B⌋, δ ∈ {1e−5, 1e−6}.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportConfig {
    /// Tasks.
    pub tasks: Vec<Task>,
    /// Batch size B.
    pub batch_size: u64,
    /// Epochs.
    pub epochs: u64,
    /// δ values.
    pub deltas: Vec<f64>,
    /// σ values.
    pub sigmas: Vec<f64>,
    /// Adjacency (EW-Tune used `remove`).
    pub adjacency: String,
    /// Edgeworth orders to list.
    pub orders: Vec<u8>,
}

impl Default for ReportConfig {
    fn default() -> Self {
        let task = |n: &str, s| Task {
            name: n.into(),
            train_size: s,
        };
        ReportConfig {
            tasks: vec![
                task("SST-2", 67_349),
                task("QNLI", 104_743),
                task("QQP", 363_849),
                task("MNLI", 392_702),
            ],
            batch_size: 2000,
            epochs: 20,
            deltas: vec![1e-5, 1e-6],
            // EW-Tune's σ for SST-2 at δ = 1e−5 (0.7865), its MNLI σ at δ = 1e−6 (0.573) and the
            // PRV-calibrated one (0.607), and σ = 1.
            sigmas: vec![0.573, 0.607, 0.7865, 1.0],
            adjacency: "remove".into(),
            orders: vec![0, 1, 2, 3],
        }
    }
}

/// One row: one (task, δ, σ) and one method.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Task name.
    pub task: String,
    /// Sampling rate q = B/N.
    pub sampling_rate: f64,
    /// Steps.
    pub steps: u64,
    /// δ.
    pub delta: f64,
    /// σ.
    pub sigma: f64,
    /// Method label (`edgeworth-1`, `pld`, ...).
    pub method: String,
    /// The report.
    #[serde(flatten)]
    pub report: ReportCells,
}

/// The cells of a row taken from a [`Report`] (or an error).
#[derive(Debug, Clone, Serialize)]
pub struct ReportCells {
    /// ε (NaN when the method failed).
    pub epsilon: f64,
    /// Certified lower bound on ε.
    pub epsilon_lower: Option<f64>,
    /// Certified upper bound on ε.
    pub epsilon_upper: Option<f64>,
    /// Guarantee label, or `error`.
    pub guarantee: String,
    /// Adjacency covered.
    pub adjacency: String,
    /// Seconds taken.
    pub seconds: f64,
    /// Whether the method's value is valid (see `Report::valid`).
    pub valid: bool,
    /// Notes or the error message.
    pub notes: String,
}

impl ReportCells {
    fn from_report(r: &Report) -> Self {
        ReportCells {
            epsilon: r.epsilon,
            epsilon_lower: r.lower,
            epsilon_upper: r.upper,
            guarantee: if r.vacuous {
                format!("{} (vacuous)", r.guarantee.name())
            } else {
                r.guarantee.name().to_string()
            },
            adjacency: r.adjacency.name().to_string(),
            seconds: r.seconds,
            valid: r.valid,
            notes: r.notes.join("; "),
        }
    }
}

/// The methods listed: Edgeworth at each order, then every other accountant with defaults
/// (and the saddle-point accountant once more with its Kolmogorov-distance bracket alone).
fn methods(cfg: &ReportConfig, adjacency: Adjacency) -> Vec<(String, AccountantConfig)> {
    let base = AccountantSettings {
        adjacency,
        ..Default::default()
    };
    let mut v = Vec::new();
    for &o in &cfg.orders {
        let s = AccountantSettings {
            order: Some(o),
            ..base.clone()
        };
        v.push((
            format!("edgeworth-{o}"),
            s.config(AccountantKind::Edgeworth),
        ));
    }
    for &k in AccountantKind::ALL {
        if k == AccountantKind::Edgeworth {
            continue;
        }
        v.push((k.name().to_string(), base.config(k)));
        if k == AccountantKind::Saddlepoint {
            // Its own tilted bound too: the default bracket adds the Fourier part (as tight
            // as contour's) where the Kolmogorov-distance part is loose.
            let s = AccountantSettings {
                kolmogorov_only: true,
                ..base.clone()
            };
            v.push((
                crate::sweep::SADDLEPOINT_KOLMOGOROV.to_string(),
                s.config(k),
            ));
        }
    }
    v
}

/// Compute every row of the report (in parallel; rows in a fixed order).
///
/// # Errors
/// Invalid configuration values.
pub fn rows(cfg: &ReportConfig) -> Result<Vec<Row>> {
    let adjacency = Adjacency::parse(&cfg.adjacency)?;
    if cfg.batch_size == 0 || cfg.epochs == 0 {
        return Err(Error::invalid(
            "batch_size",
            cfg.batch_size,
            "batch_size and epochs must be >= 1",
        ));
    }
    let mut jobs = Vec::new();
    for t in &cfg.tasks {
        if t.train_size < cfg.batch_size {
            return Err(Error::invalid(
                "train_size",
                t.train_size,
                "must be >= batch_size",
            ));
        }
        let q = cfg.batch_size as f64 / t.train_size as f64;
        let steps = cfg.epochs * (t.train_size / cfg.batch_size);
        for &d in &cfg.deltas {
            crate::accountant::check_delta(d)?;
            for &s in &cfg.sigmas {
                crate::error::Range::above(0.0).check("sigma", s)?;
                for m in methods(cfg, adjacency) {
                    jobs.push((t.name.clone(), q, steps, d, s, m));
                }
            }
        }
    }
    Ok(jobs
        .into_par_iter()
        .map(|(task, q, steps, delta, sigma, (label, config))| {
            let start = Instant::now();
            let res = build(&config).and_then(|mut a| {
                a.compose(&DpEvent::dpsgd(sigma, q, steps), 1)?;
                a.epsilon(delta)
            });
            let cells = match res {
                Ok(mut r) => {
                    r.seconds = start.elapsed().as_secs_f64();
                    ReportCells::from_report(&r)
                }
                Err(e) => ReportCells {
                    epsilon: f64::NAN,
                    epsilon_lower: None,
                    epsilon_upper: None,
                    guarantee: "error".into(),
                    adjacency: adjacency.to_string(),
                    seconds: start.elapsed().as_secs_f64(),
                    valid: false,
                    notes: e.to_string(),
                },
            };
            Row {
                task,
                sampling_rate: q,
                steps,
                delta,
                sigma,
                method: label,
                report: cells,
            }
        })
        .collect())
}

fn cell(r: &ReportCells) -> String {
    let num = |x: f64| {
        if x.is_finite() {
            format!("{x:.4}")
        } else {
            "unbounded".to_string()
        }
    };
    let mut s = if r.epsilon.is_nan() {
        "error".to_string()
    } else {
        num(r.epsilon)
    };
    if let (Some(l), Some(u)) = (r.epsilon_lower, r.epsilon_upper) {
        s = format!("{s} [{},{}]", num(l), num(u));
    }
    if !r.valid && !r.epsilon.is_nan() {
        s.push('!');
    }
    s
}

/// Render rows as a wide text table: one line per (task, δ, σ), one column per method.
pub fn table(rows: &[Row]) -> String {
    let mut methods: Vec<String> = Vec::new();
    for r in rows {
        if !methods.contains(&r.method) {
            methods.push(r.method.clone());
        }
    }
    let mut out = String::new();
    let mut header = format!(
        "{:<6} {:>8} {:>5} {:>6} {:>7}",
        "task", "q", "steps", "delta", "sigma"
    );
    for m in &methods {
        header.push_str(&format!(" {:>14}", m));
    }
    out.push_str(&header);
    out.push('\n');
    let mut i = 0;
    while i < rows.len() {
        let r0 = &rows[i];
        let mut line = format!(
            "{:<6} {:>8.6} {:>5} {:>6.0e} {:>7}",
            r0.task, r0.sampling_rate, r0.steps, r0.delta, r0.sigma
        );
        let mut j = i;
        while j < rows.len()
            && rows[j].task == r0.task
            && rows[j].delta == r0.delta
            && rows[j].sigma == r0.sigma
        {
            line.push_str(&format!(" {:>14}", cell(&rows[j].report)));
            j += 1;
        }
        out.push_str(&line);
        out.push('\n');
        i = j;
    }
    let kinds: Vec<String> = rows
        .iter()
        .take(methods.len())
        .map(|r| format!("{} = {}", r.method, r.report.guarantee))
        .collect();
    out.push_str(&format!("guarantees: {}\n", kinds.join(", ")));
    out.push_str("[a,b] = certified bracket on epsilon; ! = approximation invalid at that point (negative truncated series)\n");
    out
}

/// One CSV line of the report.
#[derive(Debug, Serialize)]
struct CsvRow<'a> {
    task: &'a str,
    sampling_rate: f64,
    steps: u64,
    delta: String,
    log10_delta: f64,
    sigma: f64,
    method: &'a str,
    epsilon: f64,
    epsilon_lower: Option<f64>,
    epsilon_upper: Option<f64>,
    guarantee: &'a str,
    adjacency: &'a str,
    valid: bool,
    seconds: String,
    notes: &'a str,
}

impl<'a> CsvRow<'a> {
    fn new(r: &'a Row) -> Self {
        let c = &r.report;
        CsvRow {
            task: &r.task,
            sampling_rate: r.sampling_rate,
            steps: r.steps,
            delta: format!("{:e}", r.delta),
            log10_delta: r.delta.log10(),
            sigma: r.sigma,
            method: &r.method,
            epsilon: c.epsilon,
            epsilon_lower: c.epsilon_lower,
            epsilon_upper: c.epsilon_upper,
            guarantee: &c.guarantee,
            adjacency: &c.adjacency,
            valid: c.valid,
            seconds: format!("{:.6}", c.seconds),
            notes: &c.notes,
        }
    }
}

/// Write rows as CSV (an infinite ε is written `inf`, a failed one `NaN`, as Rust and
/// pandas spell them).
///
/// # Errors
/// [`Error::Io`] on write failure.
pub fn write_csv<W: std::io::Write>(rows: &[Row], w: W) -> Result<()> {
    let io = |e: csv::Error| Error::Io {
        path: "csv output".into(),
        message: e.to_string(),
    };
    let mut wtr = csv::Writer::from_writer(w);
    for r in rows {
        wtr.serialize(CsvRow::new(r)).map_err(io)?;
    }
    wtr.flush().map_err(|e| Error::Io {
        path: "csv output".into(),
        message: e.to_string(),
    })?;
    Ok(())
}

/// Run `ewtune report`.
///
/// # Errors
/// Bad configuration or I/O failure.
pub fn run(a: ReportArgs) -> anyhow::Result<()> {
    let cfg = match &a.config {
        None => ReportConfig::default(),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Error::Io {
                path: p.display().to_string(),
                message: e.to_string(),
            })?;
            toml::from_str(&text).map_err(|e| Error::Parse {
                path: p.display().to_string(),
                message: e.to_string(),
            })?
        }
    };
    let start = Instant::now();
    eprintln!(
        "ewtune report: {} tasks x {} deltas x {} sigmas ...",
        cfg.tasks.len(),
        cfg.deltas.len(),
        cfg.sigmas.len()
    );
    let rows = rows(&cfg)?;
    match a.format {
        ReportFormat::Text => {
            println!(
                "EW-Tune setting: batch {}, {} epochs, adjacency {}; epsilon by each method",
                cfg.batch_size, cfg.epochs, cfg.adjacency
            );
            print!("{}", table(&rows));
        }
        ReportFormat::Csv => write_csv(&rows, std::io::stdout())?,
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
    }
    if let Some(p) = &a.out {
        let f = std::fs::File::create(p).map_err(|e| Error::Io {
            path: p.display().to_string(),
            message: e.to_string(),
        })?;
        write_csv(&rows, f)?;
    }
    eprintln!("done in {:.2} s", start.elapsed().as_secs_f64());
    Ok(())
}
