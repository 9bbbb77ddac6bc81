//! `ewtune sweep`: run a grid from a config file to `results/<name>/<name>.csv`.

use crate::error::Error;
use crate::sweep::{parse_shard, run_sweep, Progress, SweepConfig, SweepParams, MAX_THREADS};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `ewtune sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The sweep configuration (TOML; see `experiments/*/config.toml`).
    #[arg(long)]
    pub config: PathBuf,
    /// Compute only shard i of n (1-based, contiguous rows); output `<name>.shard-i-of-n.csv`.
    #[arg(long)]
    pub shard: Option<String>,
    /// Worker threads, 1 to 1024 (default: all cores).
    #[arg(long, value_parser = crate::cli::args::integer::<i64>, allow_hyphen_values = true)]
    pub threads: Option<i64>,
    /// Output directory (default `results/<name>`).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Compute at most this many new rows (≥ 1), then stop (the CSV stays resumable).
    #[arg(long, value_parser = crate::cli::args::integer::<i64>, allow_hyphen_values = true)]
    pub limit: Option<i64>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Run `ewtune sweep`.
///
/// # Errors
/// Bad configuration or I/O failure.
pub fn run(a: SweepArgs) -> anyhow::Result<()> {
    let threads = match a.threads {
        Some(t) if !(1..=MAX_THREADS as i64).contains(&t) => {
            let why = format!("must be an integer in [1, {MAX_THREADS}]");
            return Err(Error::invalid("threads", t, why).into());
        }
        t => t.map(|t| t as usize),
    };
    let limit = match a.limit {
        Some(l) if l < 1 => {
            return Err(Error::invalid("limit", l, "must be an integer >= 1").into());
        }
        l => l.map(|l| l as u64),
    };
    let text = std::fs::read_to_string(&a.config).map_err(|e| Error::Io {
        path: a.config.display().to_string(),
        message: e.to_string(),
    })?;
    let config = SweepConfig::from_toml(&text, &a.config.display().to_string())?;
    let name = match &config.name {
        Some(n) => n.clone(),
        None => a
            .config
            .canonicalize()
            .ok()
            .and_then(|p| {
                p.parent()
                    .and_then(|d| d.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "sweep".into()),
    };
    if name.is_empty() || name.contains(['/', '\\']) {
        return Err(Error::invalid("name", &name, "must be a plain file stem").into());
    }
    let shard = a.shard.as_deref().map(parse_shard).transpose()?;
    let out_dir = a
        .out_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&name));
    let params = SweepParams {
        config,
        config_text: text,
        out_dir,
        name,
        shard,
        threads,
        limit,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let bar = Bar(if a.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(0)
    });
    let info = run_sweep(&params, &bar)?;
    eprintln!(
        "{}: {} rows ({} computed, {} resumed{}) in {:.2} s on {} threads; metadata {}",
        info.csv.display(),
        info.rows_total,
        info.rows_computed,
        info.rows_resumed,
        if info.complete {
            ""
        } else {
            ", INCOMPLETE: rerun to resume"
        },
        info.wall_seconds,
        info.threads,
        info.metadata.display()
    );
    Ok(())
}

/// The sweep's progress as an indicatif bar on stderr.
struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn start(&self, rows: u64) {
        self.0.set_length(rows);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} rows ({per_sec}, eta {eta})",
        ) {
            self.0.set_style(style.progress_chars("=> "));
        }
    }

    fn row_done(&self) {
        self.0.inc(1);
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
