//! `ewtune sweep`: run a grid from a config file to `results/<name>/<name>.csv`.

use crate::error::Error;
use crate::sweep::{parse_shard, run_sweep, SweepConfig, SweepParams};
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
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Output directory (default `results/<name>`).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Compute at most this many new rows, then stop (the CSV stays resumable).
    #[arg(long)]
    pub limit: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Run `ewtune sweep`.
///
/// # Errors
/// Bad configuration or I/O failure.
pub fn run(a: SweepArgs) -> anyhow::Result<()> {
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
        threads: a.threads,
        limit: a.limit,
        progress: !a.quiet,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let info = run_sweep(&params)?;
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
