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
    Grid, Job, Method, Plan, SweepConfig, SweepQuery, Values, SADDLEPOINT_KOLMOGOROV,
};

use crate::accountant::{build, Report};
use crate::calibrate::{calibrate, calibration_epsilon, CalibrationParams};
use crate::error::{Error, Result};
use crate::event::DpEvent;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// The CSV header for a sweep (with or without the timing columns).
pub fn header(timing: bool) -> Vec<&'static str> {
    let mut h = vec![
        "row",
        "grid",
        "method",
        "accountant",
        "order",
        "adjacency",
        "query",
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
    ];
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

type TruthKey = (String, u64, u64, u64, u64);

/// ε at (σ, q, steps, δ) by `t`, memoised for the process: every method of a grid point shares
/// the truth, and a method that is the truth accountant with the same options shares it too
/// (the value does not depend on which thread computes it first).
fn truth_epsilon(t: &Method, sigma: f64, q: f64, steps: u64, delta: f64) -> Result<Report> {
    static CACHE: OnceLock<Mutex<HashMap<TruthKey, Result<Report>>>> = OnceLock::new();
    let key = (
        format!("{}:{:?}", t.label, t.options),
        sigma.to_bits(),
        q.to_bits(),
        steps,
        delta.to_bits(),
    );
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(r) = cache.lock().ok().and_then(|g| g.get(&key).cloned()) {
        return r;
    }
    let r = build(t.kind, &t.options).and_then(|mut a| {
        a.compose(&DpEvent::dpsgd(sigma, q, steps), 1)?;
        a.epsilon(delta)
    });
    if let Ok(mut g) = cache.lock() {
        g.insert(key, r.clone());
    }
    r
}

/// Compute one row (never fails: an error becomes a row with guarantee `error`).
pub fn compute_row(plan: &Plan, job: &Job, timing: bool) -> Vec<String> {
    let m = &plan.methods[job.method];
    let start = Instant::now();
    let mut c: BTreeMap<&'static str, String> = BTreeMap::new();
    c.insert("row", job.row.to_string());
    c.insert("grid", job.grid.clone());
    c.insert("method", m.label.clone());
    c.insert("accountant", m.kind.name().to_string());
    c.insert("order", m.order.map(|o| o.to_string()).unwrap_or_default());
    c.insert("adjacency", m.options.adjacency.name().to_string());
    c.insert("query", plan.query.name().to_string());
    c.insert("sigma", opt(job.sigma));
    c.insert("sampling_rate", opt(job.sampling_rate));
    c.insert(
        "steps",
        job.steps.map(|s| s.to_string()).unwrap_or_default(),
    );
    c.insert("delta", opt(job.delta));
    c.insert("log10_delta", job.delta.map(log10).unwrap_or_default());
    let mut notes: Vec<String> = Vec::new();
    let mut warm = None;
    // (σ, q, steps) at which the truth is evaluated, and δ.
    let mut at: Option<(f64, f64, u64, f64)> = None;
    let res: Result<()> = (|| {
        match plan.query {
            SweepQuery::Epsilon | SweepQuery::Delta => {
                let (s, q, n) = (
                    job.sigma.expect("invariant: plan checked sigma"),
                    job.sampling_rate.expect("invariant: plan checked q"),
                    job.steps.expect("invariant: plan checked steps"),
                );
                let mut a = build(m.kind, &m.options)?;
                let r = if plan.query == SweepQuery::Epsilon && !timing {
                    // Shared with the truth column when the method is the truth accountant.
                    let d = job.delta.expect("invariant: epsilon query has delta");
                    at = Some((s, q, n, d));
                    truth_epsilon(m, s, q, n, d)?
                } else if plan.query == SweepQuery::Epsilon {
                    a.compose(&DpEvent::dpsgd(s, q, n), 1)?;
                    let d = job.delta.expect("invariant: epsilon query has delta");
                    at = Some((s, q, n, d));
                    a.epsilon(d)?
                } else {
                    a.compose(&DpEvent::dpsgd(s, q, n), 1)?;
                    a.delta(job.epsilon.expect("invariant: delta query has epsilon"))?
                };
                if timing {
                    let t = Instant::now();
                    let _again = if plan.query == SweepQuery::Epsilon {
                        a.epsilon(r.delta)
                    } else {
                        a.delta(r.epsilon)
                    };
                    warm = Some(t.elapsed().as_secs_f64());
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
            }
            SweepQuery::Calibrate => {
                let p = CalibrationParams {
                    accountant: m.kind,
                    options: m.options.clone(),
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
                at = Some((info.sigma, info.sampling_rate, info.steps, info.delta));
                notes.extend(info.notes.iter().cloned());
            }
        }
        Ok(())
    })();
    if let Err(e) = res {
        c.insert("guarantee", "error".into());
        c.insert("valid", "false".into());
        notes.push(e.to_string());
    }
    let elapsed = start.elapsed().as_secs_f64();
    if let (Some(t), Some((s, q, n, d)), true) = (&plan.truth, at, job.truth) {
        c.insert("truth_accountant", t.label.clone());
        let tr = truth_epsilon(t, s, q, n, d);
        match tr {
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
    if timing {
        c.insert("time_seconds", num(elapsed));
        c.insert("warm_time_seconds", opt(warm));
    }
    c.insert("notes", notes.join("; "));
    header(timing)
        .iter()
        .map(|h| c.remove(h).unwrap_or_default())
        .collect()
}

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
    pub shard: Option<(usize, usize)>,
    /// Worker threads (`None` = rayon's default).
    pub threads: Option<usize>,
    /// Compute at most this many new rows (then stop, leaving a resumable CSV).
    pub limit: Option<usize>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// The command line, recorded in the metadata.
    pub command: String,
}

/// What a sweep did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SweepInfo {
    /// The CSV written.
    pub csv: PathBuf,
    /// The metadata JSON written.
    pub metadata: PathBuf,
    /// Rows in this (shard of the) grid.
    pub rows_total: usize,
    /// Rows computed in this run.
    pub rows_computed: usize,
    /// Rows taken from the existing CSV.
    pub rows_resumed: usize,
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
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let bad = || Error::invalid("shard", s, "must be i/n with 1 <= i <= n (e.g. 2/4)");
    let (a, b) = s.split_once('/').ok_or_else(bad)?;
    let i: usize = a.trim().parse().map_err(|_| bad())?;
    let n: usize = b.trim().parse().map_err(|_| bad())?;
    if n == 0 || i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The rows `[lo, hi)` of shard `(i, n)` of `total` rows.
pub fn shard_range(total: usize, shard: Option<(usize, usize)>) -> (usize, usize) {
    match shard {
        None => (0, total),
        Some((i, n)) => ((i - 1) * total / n, i * total / n),
    }
}

fn read_existing(
    path: &Path,
    header: &[&str],
    plan: &Plan,
    range: (usize, usize),
) -> Result<BTreeMap<usize, Vec<String>>> {
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
        let Ok(i) = rec[0].parse::<usize>() else {
            continue;
        };
        if i < range.0 || i >= range.1 {
            continue;
        }
        let job = &plan.jobs[i];
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

fn write_atomic(path: &Path, header: &[&str], rows: &BTreeMap<usize, Vec<String>>) -> Result<()> {
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

/// Run a sweep: compute the missing rows of the (shard of the) grid and write the CSV and the
/// metadata JSON.
///
/// # Errors
/// Invalid configuration, an existing output from another configuration, or I/O failure.
/// (Accountant failures become rows with guarantee `error`.)
pub fn run_sweep(p: &SweepParams) -> Result<SweepInfo> {
    let start = Instant::now();
    let plan = p.config.plan()?;
    let timing = p.config.timing;
    let head = header(timing);
    let range = shard_range(plan.jobs.len(), p.shard);
    std::fs::create_dir_all(&p.out_dir).map_err(|e| io_err(&p.out_dir, e))?;
    let stem = match p.shard {
        None => p.name.clone(),
        Some((i, n)) => format!("{}.shard-{i}-of-{n}", p.name),
    };
    let csv_path = p.out_dir.join(format!("{stem}.csv"));
    let meta_path = p.out_dir.join(format!("{stem}.json"));
    let hash = fnv1a64(&p.config_text);
    if csv_path.exists() && meta_path.exists() {
        let text = std::fs::read_to_string(&meta_path).map_err(|e| io_err(&meta_path, e))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Parse {
            path: meta_path.display().to_string(),
            message: e.to_string(),
        })?;
        if v["config_hash"].as_str() != Some(hash.as_str()) {
            return Err(Error::Parse {
                path: meta_path.display().to_string(),
                message: "the existing results come from a different configuration (config_hash differs); move them away to start afresh".into(),
            });
        }
    }
    let mut rows = read_existing(&csv_path, &head, &plan, range)?;
    let resumed = rows.len();
    let mut todo: Vec<&Job> = plan.jobs[range.0..range.1]
        .iter()
        .filter(|j| !rows.contains_key(&j.row))
        .collect();
    if let Some(l) = p.limit {
        todo.truncate(l);
    }
    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(t) = p.threads {
            if t == 0 {
                return Err(Error::invalid("threads", 0, "must be >= 1"));
            }
            b = b.num_threads(t);
        }
        b.build()
            .map_err(|e| Error::invalid("threads", format!("{:?}", p.threads), e.to_string()))?
    };
    let threads = pool.current_num_threads();
    let bar = if p.progress {
        let b = indicatif::ProgressBar::new(todo.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} rows ({per_sec}, eta {eta})",
        ) {
            b.set_style(style.progress_chars("=> "));
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let computed = todo.len();
    let chunk = (threads * 16).max(64);
    let mut last_save = Instant::now();
    let write_meta = |complete: bool,
                      rows_computed: usize,
                      rows_total: usize,
                      wall: f64|
     -> Result<()> {
        let meta = serde_json::json!({
            "ewtune_version": env!("CARGO_PKG_VERSION"),
            "command": p.command,
            "config_hash": hash,
            "config_hash_algorithm": "fnv1a64 of the config file text",
            "config": p.config_text,
            "name": p.name,
            "query": plan.query.name(),
            "methods": plan.methods.iter().map(|m| m.label.clone()).collect::<Vec<_>>(),
            "truth": plan.truth.as_ref().map(|t| t.label.clone()),
            "precision_bits": p.config.precision,
            "precision": if p.config.precision == 53 { "f64".to_string() } else { format!("MPFR {} bits (certified cumulants)", p.config.precision) },
            "threads": threads,
            "machine": machine(),
            "shard": p.shard.map(|(i, n)| format!("{i}/{n}")),
            "rows_total": rows_total,
            "rows_in_csv": rows_total.min(rows_computed + resumed),
            "rows_computed_this_run": rows_computed,
            "rows_resumed": resumed,
            "complete": complete,
            "wall_seconds_this_run": wall,
            "finished_unix_seconds": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        });
        let text = serde_json::to_string_pretty(&meta).expect("invariant: json serialises");
        std::fs::write(&meta_path, text + "\n").map_err(|e| io_err(&meta_path, e))
    };
    let total = range.1 - range.0;
    let mut done = 0usize;
    for part in todo.chunks(chunk) {
        let new: Vec<Vec<String>> = pool.install(|| {
            part.par_iter()
                .map(|j| {
                    let r = compute_row(&plan, j, timing);
                    bar.inc(1);
                    r
                })
                .collect()
        });
        for (j, r) in part.iter().zip(new) {
            rows.insert(j.row, r);
        }
        done += part.len();
        if last_save.elapsed().as_secs_f64() > 2.0 {
            write_atomic(&csv_path, &head, &rows)?;
            write_meta(false, done, total, start.elapsed().as_secs_f64())?;
            last_save = Instant::now();
        }
    }
    bar.finish_and_clear();
    write_atomic(&csv_path, &head, &rows)?;
    let complete = rows.len() == total;
    let wall = start.elapsed().as_secs_f64();
    write_meta(complete, computed, total, wall)?;
    Ok(SweepInfo {
        csv: csv_path,
        metadata: meta_path,
        rows_total: total,
        rows_computed: computed,
        rows_resumed: resumed,
        complete,
        threads,
        wall_seconds: wall,
    })
}
