//! Parameter sweeps: a TOML grid → jobs → rows (in parallel with rayon) → one CSV in a
//! deterministic order, plus a metadata JSON.
//!
//! * **Order.** Rows are numbered in the order [`SweepConfig::plan`] expands the grid (block,
//!   σ, steps, q, δ, ε, method); the CSV is always sorted by that number (`row` column), so
//!   the output does not depend on the thread count or scheduling.
//! * **Shards.** `shard = (i, n)` (1-based) computes the contiguous rows
//!   `[(i−1)·N/n, i·N/n)`; the shards' data rows concatenated in order are the full grid.
//! * **Resume.** Rows already in the output CSV (same `row`, `grid` and `method`) are not
//!   recomputed. The CSV is rewritten atomically (temporary file + rename) every couple of
//!   seconds, so an interrupted sweep leaves a valid CSV holding a subset of the rows, and a
//!   rerun produces the same file as an uninterrupted run. A metadata file with a different
//!   config hash refuses the resume.
//! * **Reproducibility.** Numbers are written with Rust's shortest round-trip formatting. The
//!   timing columns (`time_seconds`, `warm_time_seconds`) appear only with `timing = true`;
//!   they naturally differ between runs.
//!
//! Columns (snake_case, ε in nats): `row, grid, method, accountant, order, adjacency, query,
//! sigma, sampling_rate, steps, delta, log10_delta, target_epsilon, epsilon, epsilon_lower,
//! epsilon_upper, delta_lower, delta_upper, guarantee, vacuous, valid, monotone, iterations,
//! truth_accountant, truth_epsilon, truth_epsilon_lower, truth_epsilon_upper, truth_guarantee,
//! [time_seconds, warm_time_seconds,] notes`.

pub mod config;

pub use config::{
    Grid, Job, Method, Plan, SweepConfig, SweepQuery, Values, MAX_STEPS, SADDLEPOINT_KOLMOGOROV,
};

use crate::accountant::{build, Report};
use crate::calibrate::{calibrate, calibration_epsilon, CalibrationParams};
use crate::error::{Error, Result};
use crate::event::DpEvent;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// The CSV header for a sweep (with or without the timing columns) of DP-SGD rows.
pub fn header(timing: bool) -> Vec<&'static str> {
    header_for(timing, false)
}

/// The CSV header for a sweep; `events` adds the `event` column (a grid with event blocks,
/// [`config::Grid::event`]).
pub fn header_for(timing: bool, events: bool) -> Vec<&'static str> {
    let mut h = vec![
        "row",
        "grid",
        "method",
        "accountant",
        "order",
        "adjacency",
        "query",
    ];
    if events {
        h.push("event");
    }
    h.extend([
        "sigma",
        "sampling_rate",
        "steps",
        "delta",
        "log10_delta",
        "target_epsilon",
        "epsilon",
        "epsilon_lower",
        "epsilon_upper",
        "delta_lower",
        "delta_upper",
        "guarantee",
        "vacuous",
        "valid",
        "monotone",
        "iterations",
        "truth_accountant",
        "truth_epsilon",
        "truth_epsilon_lower",
        "truth_epsilon_upper",
        "truth_guarantee",
    ]);
    if timing {
        h.push("time_seconds");
        h.push("warm_time_seconds");
    }
    h.push("notes");
    h
}

/// Shortest round-trip text of `x`, in exponent form below 1e-3 and from 1e7 on.
fn num(x: f64) -> String {
    if x != 0.0 && x.is_finite() && (x.abs() < 1e-3 || x.abs() >= 1e7) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

fn opt(x: Option<f64>) -> String {
    x.map(num).unwrap_or_default()
}

fn log10(x: f64) -> String {
    if x > 0.0 {
        num(x.log10())
    } else {
        String::new()
    }
}

fn guarantee_cell(r: &Report) -> String {
    if r.vacuous {
        format!("{} (vacuous)", r.guarantee.name())
    } else {
        r.guarantee.name().to_string()
    }
}

type TruthKey = (String, String, u64, u64, u64, u64);

/// The point (σ, q, steps, and the block's event template if any) and δ at which a row's truth
/// ε is evaluated: the row's own point, or the calibrated one.
#[derive(Debug, Clone, PartialEq)]
struct TruthPoint {
    sigma: Option<f64>,
    sampling_rate: Option<f64>,
    steps: u64,
    delta: f64,
    template: Option<Arc<serde_json::Value>>,
}

impl TruthPoint {
    fn event(&self) -> Result<DpEvent> {
        config::composed_event(
            self.template.as_deref(),
            self.sigma,
            self.sampling_rate,
            self.steps,
        )
    }
}

/// ε at (σ, q, steps, δ) by `t`, memoised for the process: every method of a grid point shares
/// the truth, and a method that is the truth accountant with the same options shares it too
/// (the value does not depend on which thread computes it first).
fn truth_epsilon(t: &Method, at: &TruthPoint) -> Result<Report> {
    static CACHE: OnceLock<Mutex<HashMap<TruthKey, Result<Report>>>> = OnceLock::new();
    let bits = |x: Option<f64>| x.map_or(u64::MAX, f64::to_bits);
    let key = (
        format!("{}:{:?}", t.label, t.config),
        at.template
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_default(),
        bits(at.sigma),
        bits(at.sampling_rate),
        at.steps,
        at.delta.to_bits(),
    );
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(r) = cache.lock().ok().and_then(|g| g.get(&key).cloned()) {
        return r;
    }
    let r = build(&t.config).and_then(|mut a| {
        a.compose(&at.event()?, 1)?;
        a.epsilon(at.delta)
    });
    if let Ok(mut g) = cache.lock() {
        g.insert(key, r.clone());
    }
    r
}

/// The cells of one row, by column name.
type Cells = BTreeMap<&'static str, String>;

/// Compute one row (never fails: an error becomes a row with guarantee `error`).
pub fn compute_row(plan: &Plan, job: &Job, timing: bool) -> Vec<String> {
    let m = &plan.methods[job.method];
    let start = Instant::now();
    let mut c = input_cells(plan, job, m);
    let mut notes: Vec<String> = Vec::new();
    let mut warm = None;
    // The point of the truth column: the row's own for ε rows, the calibrated one otherwise.
    let mut at = match (plan.query, job.steps, job.delta) {
        (SweepQuery::Epsilon, Some(steps), Some(delta)) => Some(TruthPoint {
            sigma: job.sigma,
            sampling_rate: job.sampling_rate,
            steps,
            delta,
            template: job.event.clone(),
        }),
        _ => None,
    };
    let res = match plan.query {
        SweepQuery::Epsilon | SweepQuery::Delta => {
            query_cells(plan, job, m, timing, &mut c, &mut notes, &mut warm)
        }
        SweepQuery::Calibrate => {
            calibrate_cells(plan, job, m, &mut c, &mut notes).map(|p| at = Some(p))
        }
    };
    if let Err(e) = res {
        c.insert("guarantee", "error".into());
        c.insert("valid", "false".into());
        notes.push(e.to_string());
    }
    let elapsed = start.elapsed().as_secs_f64();
    if let (Some(t), Some(at), true) = (&plan.truth, at, job.truth) {
        truth_cells(t, &at, &mut c, &mut notes);
    }
    if timing {
        c.insert("time_seconds", num(elapsed));
        c.insert("warm_time_seconds", opt(warm));
    }
    c.insert("notes", notes.join("; "));
    header_for(timing, plan.has_events())
        .iter()
        .map(|h| c.remove(h).unwrap_or_default())
        .collect()
}

/// The columns that describe the row's input.
fn input_cells(plan: &Plan, job: &Job, m: &Method) -> Cells {
    let mut c = Cells::new();
    c.insert("row", job.row.to_string());
    c.insert("grid", job.grid.clone());
    c.insert("method", m.label.clone());
    c.insert("accountant", m.kind.name().to_string());
    c.insert("order", m.order.map(|o| o.to_string()).unwrap_or_default());
    c.insert("adjacency", m.config.adjacency().name().to_string());
    c.insert("query", plan.query.name().to_string());
    if let Some(t) = &job.event {
        c.insert("event", t.to_string());
    }
    c.insert("sigma", opt(job.sigma));
    c.insert("sampling_rate", opt(job.sampling_rate));
    c.insert(
        "steps",
        job.steps.map(|s| s.to_string()).unwrap_or_default(),
    );
    c.insert("delta", opt(job.delta));
    c.insert("log10_delta", job.delta.map(log10).unwrap_or_default());
    c
}

/// An ε(δ) or δ(ε) row.
fn query_cells(
    plan: &Plan,
    job: &Job,
    m: &Method,
    timing: bool,
    c: &mut Cells,
    notes: &mut Vec<String>,
    warm: &mut Option<f64>,
) -> Result<()> {
    let point = TruthPoint {
        sigma: job.sigma,
        sampling_rate: job.sampling_rate,
        steps: job.steps.expect("invariant: plan checked steps"),
        delta: job.delta.unwrap_or(f64::NAN),
        template: job.event.clone(),
    };
    let mut a = build(&m.config)?;
    let r = if plan.query == SweepQuery::Epsilon {
        if timing {
            a.compose(&point.event()?, 1)?;
            a.epsilon(point.delta)?
        } else {
            // Shared with the truth column when the method is the truth accountant.
            truth_epsilon(m, &point)?
        }
    } else {
        a.compose(&point.event()?, 1)?;
        a.delta(job.epsilon.expect("invariant: delta query has epsilon"))?
    };
    if timing {
        let t = Instant::now();
        let _again = if plan.query == SweepQuery::Epsilon {
            a.epsilon(r.delta)
        } else {
            a.delta(r.epsilon)
        };
        *warm = Some(t.elapsed().as_secs_f64());
    }
    c.insert("epsilon", num(r.epsilon));
    c.insert("delta", num(r.delta));
    c.insert("log10_delta", log10(r.delta));
    let (lo, hi) = if plan.query == SweepQuery::Epsilon {
        ("epsilon_lower", "epsilon_upper")
    } else {
        ("delta_lower", "delta_upper")
    };
    c.insert(lo, opt(r.lower));
    c.insert(hi, opt(r.upper));
    c.insert("guarantee", guarantee_cell(&r));
    c.insert("vacuous", r.vacuous.to_string());
    c.insert("valid", r.valid.to_string());
    notes.extend(r.notes.iter().cloned());
    Ok(())
}

/// A calibration row; returns the calibrated point for the truth column.
fn calibrate_cells(
    plan: &Plan,
    job: &Job,
    m: &Method,
    c: &mut Cells,
    notes: &mut Vec<String>,
) -> Result<TruthPoint> {
    if let Some(t) = &job.event {
        return calibrate_event_cells(plan, job, m, t, c, notes);
    }
    let p = CalibrationParams {
        accountant: m.config.clone(),
        target_epsilon: job.epsilon.expect("invariant: calibrate has epsilon"),
        delta: job.delta.expect("invariant: calibrate has delta"),
        solve: plan.solve,
        sigma: job.sigma,
        sampling_rate: job.sampling_rate,
        steps: job.steps,
        rel_tol: plan.rel_tol,
        ..CalibrationParams::default()
    };
    let info = calibrate(&p)?;
    c.insert("sigma", num(info.sigma));
    c.insert("sampling_rate", num(info.sampling_rate));
    c.insert("steps", info.steps.to_string());
    c.insert("target_epsilon", num(info.target_epsilon));
    c.insert("epsilon", num(info.epsilon));
    c.insert("epsilon_lower", opt(info.report.lower));
    c.insert("epsilon_upper", opt(info.report.upper));
    c.insert("guarantee", info.guarantee.name().to_string());
    c.insert("vacuous", info.report.vacuous.to_string());
    c.insert("valid", info.report.valid.to_string());
    c.insert("monotone", info.monotone.to_string());
    c.insert("iterations", info.iterations.to_string());
    notes.extend(info.notes.iter().cloned());
    Ok(TruthPoint {
        sigma: Some(info.sigma),
        sampling_rate: Some(info.sampling_rate),
        steps: info.steps,
        delta: info.delta,
        template: None,
    })
}

/// A calibration row of an event block: the smallest σ for the block's event
/// ([`crate::calibrate_lattice::calibrate_sigma`]; the plan checked that the event has
/// `"$sigma"` and that σ is solved for).
fn calibrate_event_cells(
    plan: &Plan,
    job: &Job,
    m: &Method,
    template: &Arc<serde_json::Value>,
    c: &mut Cells,
    notes: &mut Vec<String>,
) -> Result<TruthPoint> {
    let steps = job.steps.expect("invariant: plan checked steps");
    let (target, delta) = (
        job.epsilon.expect("invariant: calibrate has epsilon"),
        job.delta.expect("invariant: calibrate has delta"),
    );
    let q = job.sampling_rate;
    let make = |s: f64| config::instantiate(template, Some(s), q);
    let cal = crate::calibrate_lattice::calibrate_sigma(
        &m.config,
        &make,
        steps,
        (target, delta, plan.rel_tol),
        job.sigma.unwrap_or(1.0),
        "sigma",
    )?;
    let r = &cal.report;
    c.insert("sigma", num(cal.sigma));
    c.insert("target_epsilon", num(target));
    c.insert("epsilon", num(r.epsilon));
    c.insert("epsilon_lower", opt(r.lower));
    c.insert("epsilon_upper", opt(r.upper));
    c.insert("guarantee", guarantee_cell(r));
    c.insert("vacuous", r.vacuous.to_string());
    c.insert("valid", r.valid.to_string());
    c.insert("iterations", cal.evaluations.to_string());
    notes.extend(r.notes.iter().cloned());
    notes.push(format!(
        "sigma bisected to the bracket [{}, {}] on the certified upper end of epsilon where \
         the accountant has one",
        num(cal.other_end),
        num(cal.sigma)
    ));
    Ok(TruthPoint {
        sigma: Some(cal.sigma),
        sampling_rate: q,
        steps,
        delta,
        template: Some(template.clone()),
    })
}

/// The truth columns: the truth accountant's ε at the row's point.
fn truth_cells(t: &Method, at: &TruthPoint, c: &mut Cells, notes: &mut Vec<String>) {
    c.insert("truth_accountant", t.label.clone());
    match truth_epsilon(t, at) {
        Ok(r) => {
            let (up, _) = calibration_epsilon(&r);
            c.insert("truth_epsilon", num(r.epsilon));
            c.insert("truth_epsilon_lower", opt(r.lower));
            c.insert(
                "truth_epsilon_upper",
                opt(r.upper.or(if up.is_finite() { Some(up) } else { None })),
            );
            c.insert("truth_guarantee", guarantee_cell(&r));
        }
        Err(e) => {
            c.insert("truth_guarantee", "error".into());
            notes.push(format!("truth: {e}"));
        }
    }
}

/// The most worker threads a sweep accepts.
pub const MAX_THREADS: usize = 1024;

/// The most rows one run may hold (those already in the CSV plus those it computes): the
/// CSV is kept in memory and rewritten atomically, about 1 kB a row. Larger grids run in
/// shards (`shard`) or pieces (`limit`).
pub const MAX_ROWS_PER_RUN: u64 = 2_000_000;

/// Options of [`run_sweep`].
#[derive(Debug, Clone)]
pub struct SweepParams {
    /// The parsed configuration.
    pub config: SweepConfig,
    /// The configuration's text (hashed into the metadata).
    pub config_text: String,
    /// Output directory (`results/<name>` by default).
    pub out_dir: PathBuf,
    /// Output stem (`<name>`).
    pub name: String,
    /// `(i, n)`, 1-based.
    pub shard: Option<(u64, u64)>,
    /// Worker threads, 1..=[`MAX_THREADS`] (`None` = rayon's default).
    pub threads: Option<usize>,
    /// Compute at most this many new rows (then stop, leaving a resumable CSV).
    pub limit: Option<u64>,
    /// The command line, recorded in the metadata.
    pub command: String,
}

/// Progress of a sweep, reported to whoever runs it (the CLI draws a bar).
pub trait Progress: Sync {
    /// The run will compute `rows` rows.
    fn start(&self, _rows: u64) {}
    /// One more row is done.
    fn row_done(&self) {}
    /// The run is over.
    fn finish(&self) {}
}

/// No progress reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}

/// What a sweep did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SweepInfo {
    /// The CSV written.
    pub csv: PathBuf,
    /// The metadata JSON written.
    pub metadata: PathBuf,
    /// Rows in this (shard of the) grid.
    pub rows_total: u64,
    /// Rows computed in this run.
    pub rows_computed: u64,
    /// Rows taken from the existing CSV.
    pub rows_resumed: u64,
    /// Whether every row of the shard is now in the CSV.
    pub complete: bool,
    /// Threads used.
    pub threads: usize,
    /// Wall-clock seconds of this run.
    pub wall_seconds: f64,
}

/// The machine, for metadata: logical CPUs and the CPU model (Linux `/proc/cpuinfo`).
pub fn machine() -> serde_json::Value {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    serde_json::json!({ "logical_cpus": cpus, "cpu_model": model, "os": std::env::consts::OS })
}

/// FNV-1a 64-bit hash (hex), to tell configurations apart in the metadata.
pub fn fnv1a64(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn io_err(path: &Path, e: impl ToString) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Parse `i/n` (1 ≤ i ≤ n).
///
/// # Errors
/// [`Error::InvalidParameter`] naming `shard`.
pub fn parse_shard(s: &str) -> Result<(u64, u64)> {
    let bad = || Error::invalid("shard", s, "must be i/n with 1 <= i <= n (e.g. 2/4)");
    let (a, b) = s.split_once('/').ok_or_else(bad)?;
    let i: u64 = a.trim().parse().map_err(|_| bad())?;
    let n: u64 = b.trim().parse().map_err(|_| bad())?;
    if n == 0 || i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The rows `[lo, hi)` of shard `(i, n)` of `total` rows.
pub fn shard_range(total: u64, shard: Option<(u64, u64)>) -> (u64, u64) {
    let part = |k: u64, n: u64| (u128::from(k) * u128::from(total) / u128::from(n)) as u64;
    match shard {
        None => (0, total),
        Some((i, n)) => (part(i - 1, n), part(i, n)),
    }
}

/// The rows already in the output CSV (within `range`), checked against the plan.
fn read_existing(
    path: &Path,
    header: &[&str],
    plan: &Plan,
    range: (u64, u64),
) -> Result<BTreeMap<u64, Vec<String>>> {
    let mut rows = BTreeMap::new();
    if !path.exists() {
        return Ok(rows);
    }
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| io_err(path, e))?;
    let h = rdr.headers().map_err(|e| io_err(path, e))?.clone();
    if h.iter().collect::<Vec<_>>() != header {
        return Err(Error::Parse {
            path: path.display().to_string(),
            message: "the existing CSV has different columns (another config or version); move it away to start afresh".into(),
        });
    }
    for rec in rdr.records() {
        // A damaged record (cannot happen with the atomic writes, but be safe) is recomputed.
        let Ok(rec) = rec else { continue };
        if rec.len() != header.len() {
            continue;
        }
        let Ok(i) = rec[0].parse::<u64>() else {
            continue;
        };
        if i < range.0 || i >= range.1 {
            continue;
        }
        let job = plan.job(i);
        if rec[1] != job.grid || rec[2] != plan.methods[job.method].label {
            return Err(Error::Parse {
                path: path.display().to_string(),
                message: format!(
                    "row {i} does not match the configuration (grid/method differ); move the CSV away to start afresh"
                ),
            });
        }
        rows.insert(i, rec.iter().map(str::to_string).collect());
    }
    Ok(rows)
}

/// Write the CSV to a temporary file and rename it over `path`: a reader (or a resume after a
/// kill) sees the old file or the new one, never a torn one.
fn write_atomic(path: &Path, header: &[&str], rows: &BTreeMap<u64, Vec<String>>) -> Result<()> {
    let tmp = path.with_extension("csv.tmp");
    {
        let f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        let mut w = csv::Writer::from_writer(std::io::BufWriter::new(f));
        w.write_record(header).map_err(|e| io_err(&tmp, e))?;
        for r in rows.values() {
            w.write_record(r).map_err(|e| io_err(&tmp, e))?;
        }
        w.flush().map_err(|e| io_err(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
}

/// The output files of a run.
struct Outputs {
    csv: PathBuf,
    meta: PathBuf,
    hash: String,
}

impl Outputs {
    fn new(p: &SweepParams) -> Result<Self> {
        std::fs::create_dir_all(&p.out_dir).map_err(|e| io_err(&p.out_dir, e))?;
        let stem = match p.shard {
            None => p.name.clone(),
            Some((i, n)) => format!("{}.shard-{i}-of-{n}", p.name),
        };
        Ok(Outputs {
            csv: p.out_dir.join(format!("{stem}.csv")),
            meta: p.out_dir.join(format!("{stem}.json")),
            hash: fnv1a64(&p.config_text),
        })
    }

    /// Refuse to resume results of another configuration.
    fn check_same_config(&self) -> Result<()> {
        if !(self.csv.exists() && self.meta.exists()) {
            return Ok(());
        }
        let text = std::fs::read_to_string(&self.meta).map_err(|e| io_err(&self.meta, e))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Parse {
            path: self.meta.display().to_string(),
            message: e.to_string(),
        })?;
        if v["config_hash"].as_str() != Some(self.hash.as_str()) {
            return Err(Error::Parse {
                path: self.meta.display().to_string(),
                message: "the existing results come from a different configuration (config_hash differs); move them away to start afresh".into(),
            });
        }
        Ok(())
    }
}

/// What the metadata file records about the run so far.
struct RunState {
    threads: usize,
    rows_total: u64,
    rows_in_csv: u64,
    rows_computed: u64,
    rows_resumed: u64,
    complete: bool,
    wall: f64,
}

fn write_meta(p: &SweepParams, plan: &Plan, out: &Outputs, st: &RunState) -> Result<()> {
    let meta = serde_json::json!({
        "ewtune_version": env!("CARGO_PKG_VERSION"),
        "command": p.command,
        "config_hash": out.hash,
        "config_hash_algorithm": "fnv1a64 of the config file text",
        "config": p.config_text,
        "name": p.name,
        "query": plan.query.name(),
        "methods": plan.methods.iter().map(|m| m.label.clone()).collect::<Vec<_>>(),
        "truth": plan.truth.as_ref().map(|t| t.label.clone()),
        "precision_bits": p.config.precision,
        "precision": if p.config.precision == 53 { "f64".to_string() } else { format!("MPFR {} bits (certified cumulants)", p.config.precision) },
        "threads": st.threads,
        "machine": machine(),
        "shard": p.shard.map(|(i, n)| format!("{i}/{n}")),
        "rows_total": st.rows_total,
        "rows_in_csv": st.rows_in_csv,
        "rows_computed_this_run": st.rows_computed,
        "rows_resumed": st.rows_resumed,
        "complete": st.complete,
        "wall_seconds_this_run": st.wall,
        "finished_unix_seconds": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    });
    let text = serde_json::to_string_pretty(&meta).expect("invariant: json serialises");
    std::fs::write(&out.meta, text + "\n").map_err(|e| io_err(&out.meta, e))
}

/// The worker pool, with the thread count checked before anything runs.
fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        if !(1..=MAX_THREADS).contains(&t) {
            return Err(Error::invalid(
                "threads",
                t,
                format!("must lie in [1, {MAX_THREADS}]"),
            ));
        }
        b = b.num_threads(t);
    }
    b.build()
        .map_err(|e| Error::Internal(format!("could not start the worker threads: {e}")))
}

/// How many rows this run computes: the missing rows of the range, at most `limit`, checked
/// against [`MAX_ROWS_PER_RUN`] before anything is allocated.
fn rows_to_compute(range: (u64, u64), resumed: u64, limit: Option<u64>) -> Result<u64> {
    let missing = (range.1 - range.0).saturating_sub(resumed);
    let todo = limit.map_or(missing, |l| l.min(missing));
    let held = resumed.saturating_add(todo);
    if held > MAX_ROWS_PER_RUN {
        return Err(Error::BudgetExceeded {
            what: "sweep rows held by one run (the CSV is rewritten from memory)".into(),
            needed: format!("{held} rows ({resumed} in the CSV + {todo} to compute)"),
            budget: format!(
                "{MAX_ROWS_PER_RUN} rows; run it in pieces with --limit or --shard i/n"
            ),
        });
    }
    Ok(todo)
}

/// Run a sweep: compute the missing rows of the (shard of the) grid and write the CSV and the
/// metadata JSON. The CSV (header and any resumed rows) is written before the first row is
/// computed and rewritten atomically every couple of seconds, so a run killed at any point
/// leaves a valid CSV to resume from. Rows do not depend on the thread count or on resumption.
///
/// # Errors
/// Invalid configuration or thread count, a run over [`MAX_ROWS_PER_RUN`], an existing
/// output from another configuration, or I/O failure. (Accountant failures become rows with
/// guarantee `error`.)
pub fn run_sweep(p: &SweepParams, progress: &dyn Progress) -> Result<SweepInfo> {
    let start = Instant::now();
    let pool = thread_pool(p.threads)?;
    let plan = p.config.plan()?;
    let timing = p.config.timing;
    let head = header_for(timing, plan.has_events());
    let range = shard_range(plan.len(), p.shard);
    let out = Outputs::new(p)?;
    out.check_same_config()?;
    let mut rows = read_existing(&out.csv, &head, &plan, range)?;
    let resumed = rows.len() as u64;
    let todo = rows_to_compute(range, resumed, p.limit)?;
    let mut st = RunState {
        threads: pool.current_num_threads(),
        rows_total: range.1 - range.0,
        rows_in_csv: resumed,
        rows_computed: 0,
        rows_resumed: resumed,
        complete: resumed == range.1 - range.0,
        wall: 0.0,
    };
    write_atomic(&out.csv, &head, &rows)?;
    write_meta(p, &plan, &out, &st)?;
    progress.start(todo);
    let chunk = (st.threads * 16).max(64);
    let mut pending = plan
        .jobs(range.0, range.1)
        .filter(|j| !rows.contains_key(&j.row))
        .take(todo as usize)
        .collect::<Vec<Job>>()
        .into_iter();
    let mut last_save = Instant::now();
    loop {
        let part: Vec<Job> = pending.by_ref().take(chunk).collect();
        if part.is_empty() {
            break;
        }
        let new: Vec<Vec<String>> = pool.install(|| {
            part.par_iter()
                .map(|j| {
                    let r = compute_row(&plan, j, timing);
                    progress.row_done();
                    r
                })
                .collect()
        });
        for (j, r) in part.iter().zip(new) {
            rows.insert(j.row, r);
        }
        st.rows_computed += part.len() as u64;
        if last_save.elapsed().as_secs_f64() > 2.0 {
            st.rows_in_csv = rows.len() as u64;
            st.wall = start.elapsed().as_secs_f64();
            write_atomic(&out.csv, &head, &rows)?;
            write_meta(p, &plan, &out, &st)?;
            last_save = Instant::now();
        }
    }
    progress.finish();
    write_atomic(&out.csv, &head, &rows)?;
    st.rows_in_csv = rows.len() as u64;
    st.complete = st.rows_in_csv == st.rows_total;
    st.wall = start.elapsed().as_secs_f64();
    write_meta(p, &plan, &out, &st)?;
    Ok(SweepInfo {
        csv: out.csv,
        metadata: out.meta,
        rows_total: st.rows_total,
        rows_computed: st.rows_computed,
        rows_resumed: resumed,
        complete: st.complete,
        threads: st.threads,
        wall_seconds: st.wall,
    })
}
