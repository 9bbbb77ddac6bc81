//! `ewtune train`: DP-SGD on a head over fixed embeddings, from a TOML configuration.

use crate::harness::run::{self, BackendChoice, Event, RunConfig, RunOptions};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

/// Backend names on the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// CUDA when available, else the CPU (with a message).
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA or fail.
    Cuda,
}

/// `ewtune train` arguments.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// The run configuration (TOML; see experiments/harness-accountants/).
    #[arg(long)]
    pub config: PathBuf,
    /// Compute backend.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendArg,
    /// Continue from the checkpoint in the run directory.
    #[arg(long)]
    pub resume: bool,
    /// Stop after this many steps in total, with a checkpoint (resume later with --resume).
    #[arg(long)]
    pub stop_after: Option<u64>,
    /// Override output.dir.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override train.seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Run `ewtune train`.
///
/// # Errors
/// Configuration, data, backend or accountant failures.
pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    let mut cfg = RunConfig::from_file(&a.config)?;
    if let Some(out) = a.out {
        cfg.output.dir = out;
    }
    if let Some(seed) = a.seed {
        cfg.train.seed = seed;
    }
    let opts = RunOptions {
        backend: match a.backend {
            BackendArg::Auto => BackendChoice::Auto,
            BackendArg::Cpu => BackendChoice::Cpu,
            BackendArg::Cuda => BackendChoice::Cuda,
        },
        resume: a.resume,
        stop_after: a.stop_after,
    };
    let bar = if a.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps {elapsed_precise} eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut observe = |e: Event<'_>| match e {
        Event::Start { start, end, .. } => {
            bar.set_length(end);
            bar.set_position(start);
        }
        Event::Step(r) => {
            bar.set_position(r.step + 1);
            let eps = r
                .epsilon
                .map(|e| format!(" eps {e:.3}"))
                .unwrap_or_default();
            let loss = r
                .loss
                .map(|l| format!("loss {l:.4}"))
                .unwrap_or_else(|| "loss -".into());
            bar.set_message(format!("{loss}{eps}"));
        }
        Event::Note(n) => bar.println(format!("note: {n}")),
    };
    let s = run::run(&cfg, &opts, &mut observe)?;
    bar.finish_and_clear();
    println!("backend         {}", s.backend);
    println!("examples        {} train, {} test", s.n_train, s.n_test);
    println!(
        "steps           {} (q = {:.6}, expected batch {:.1})",
        s.steps,
        s.sampling_rate,
        s.sampling_rate * s.n_train as f64
    );
    if let Some(c) = &s.calibration {
        println!(
            "sigma           {:.6} (calibrated by {} to epsilon {:.4} [{}] at delta {:e})",
            s.sigma,
            c.accountant,
            c.epsilon,
            c.guarantee.name(),
            s.delta
        );
    } else {
        println!("sigma           {}", s.sigma);
    }
    println!("train accuracy  {:.4}", s.train_accuracy);
    println!("test accuracy   {:.4}", s.test_accuracy);
    for row in &s.epsilon {
        match (&row.report, &row.error) {
            (Some(r), _) => println!(
                "epsilon {:<10} {:.4} [{}{}{}]",
                row.accountant,
                r.epsilon,
                r.guarantee.name(),
                if r.vacuous { ", vacuous" } else { "" },
                if r.valid {
                    ""
                } else {
                    ", invalid: see report.json notes"
                }
            ),
            (None, Some(e)) => println!("epsilon {:<10} failed: {e}", row.accountant),
            _ => {}
        }
    }
    if s.stopped_early {
        println!("stopped early   resume with --resume");
    }
    println!(
        "wrote           {}",
        cfg.output.dir.join("report.json").display()
    );
    Ok(())
}
