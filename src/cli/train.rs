//! `ewtune train`: DP-SGD on a head over fixed embeddings, from a TOML configuration.

use crate::harness::run::{self, Event, RunConfig, RunOptions, RunSummary};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

/// `ewtune train` arguments.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// The run configuration (TOML; see experiments/harness-accountants/).
    #[arg(long)]
    pub config: PathBuf,
    /// `--backend`, `--resume` and `--stop-after`.
    #[command(flatten)]
    pub options: RunOptions,
    /// Override output.dir.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override train.seed.
    #[arg(long, value_parser = crate::cli::args::integer::<u64>, allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// Override privacy.target_epsilon (σ is calibrated; clears privacy.sigma).
    #[arg(long, conflicts_with = "sigma", allow_hyphen_values = true)]
    pub target_epsilon: Option<f64>,
    /// Override privacy.delta.
    #[arg(long, allow_hyphen_values = true)]
    pub delta: Option<f64>,
    /// Override privacy.sigma (clears privacy.target_epsilon).
    #[arg(long, allow_hyphen_values = true)]
    pub sigma: Option<f64>,
    /// Override privacy.accountant (calibration and the per-step ε log).
    #[arg(long)]
    pub accountant: Option<String>,
    /// Override privacy.order (Edgeworth order).
    #[arg(long, value_parser = crate::cli::args::integer::<u8>, allow_hyphen_values = true)]
    pub order: Option<u8>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Run `ewtune train`.
///
/// # Errors
/// Configuration, data, backend or accountant failures.
pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    check_overrides(&a)?;
    let mut cfg = RunConfig::from_file(&a.config)?;
    let opts = a.options.clone();
    let quiet = a.quiet;
    apply_overrides(a, &mut cfg);
    let bar = progress_bar(quiet);
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
        Event::Note(n) => bar.suspend(|| eprintln!("note: {n}")),
    };
    let s = run::run(&cfg, &opts, &mut observe)?;
    bar.finish_and_clear();
    print_summary(&s);
    println!(
        "wrote           {}",
        cfg.output.dir.join("report.json").display()
    );
    Ok(())
}

/// The overrides are checked as flags (the configuration checks its own keys).
fn check_overrides(a: &TrainArgs) -> anyhow::Result<()> {
    if let Some(s) = a.sigma {
        crate::error::Range::above(0.0).check("sigma", s)?;
    }
    if let Some(e) = a.target_epsilon {
        crate::error::Range::above(0.0).check("target_epsilon", e)?;
    }
    if let Some(d) = a.delta {
        crate::accountant::check_delta(d)?;
    }
    Ok(())
}

/// The flags that override keys of the configuration, written into it.
fn apply_overrides(a: TrainArgs, cfg: &mut RunConfig) {
    if let Some(out) = a.out {
        cfg.output.dir = out;
    }
    if let Some(seed) = a.seed {
        cfg.train.seed = seed;
    }
    if let Some(e) = a.target_epsilon {
        cfg.privacy.target_epsilon = Some(e);
        cfg.privacy.sigma = None;
    }
    if let Some(s) = a.sigma {
        cfg.privacy.sigma = Some(s);
        cfg.privacy.target_epsilon = None;
    }
    if let Some(d) = a.delta {
        cfg.privacy.delta = d;
    }
    if let Some(acc) = a.accountant {
        cfg.privacy.accountant = acc;
    }
    if let Some(o) = a.order {
        cfg.privacy.order = o;
    }
}

/// The step bar on stderr (hidden with `--quiet`).
fn progress_bar(quiet: bool) -> ProgressBar {
    let bar = if quiet {
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
    bar
}

/// The run's summary on stdout: data, σ, accuracies and the ε of each accountant.
fn print_summary(s: &RunSummary) {
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
            "sigma           {:.6} (calibrated by {} to epsilon {} [{}{}] at delta {:e})",
            s.sigma,
            c.accountant,
            super::args::fmt_num(c.epsilon),
            c.guarantee.name(),
            if c.valid {
                ""
            } else {
                ", flagged invalid: see report.json"
            },
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
                "epsilon {:<10} {} [{}{}{}]",
                row.accountant,
                super::args::fmt_num(r.epsilon),
                r.guarantee.name(),
                if r.vacuous { ", vacuous" } else { "" },
                if r.valid {
                    ""
                } else {
                    ", invalid: see report.json notes"
                }
            ),
            (None, Some(e)) => println!(
                "epsilon {:<10} failed: {}",
                row.accountant,
                super::args::plain_text(e)
            ),
            _ => {}
        }
    }
    if s.stopped_early {
        println!("stopped early   resume with --resume");
    }
}

/// `ewtune harness-check` arguments (used by scripts/gpu-check.sh).
#[derive(Debug, Clone, Args)]
pub struct HarnessCheckArgs {
    /// Parity steps K (CPU vs CUDA).
    #[arg(long, value_parser = crate::cli::args::integer::<u64>, default_value_t = 50, allow_hyphen_values = true)]
    pub parity_steps: u64,
    /// Timed steps per throughput measurement.
    #[arg(long, value_parser = crate::cli::args::integer::<u64>, default_value_t = 30, allow_hyphen_values = true)]
    pub timed_steps: u64,
    /// Expected batch sizes to time.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "256,1024,4096",
        allow_hyphen_values = true
    )]
    pub batch: Vec<f64>,
    /// Also time the CPU backend (slow; smaller step count).
    #[arg(long)]
    pub cpu: bool,
    /// Write the JSON here (also printed).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Run `ewtune harness-check`: parity and throughput JSON.
///
/// # Errors
/// CUDA unavailable (the report then says so and the exit code is 1).
pub fn run_check(a: HarnessCheckArgs) -> anyhow::Result<()> {
    use crate::harness::check;
    use crate::harness::model::HeadKind;
    let mut doc = serde_json::Map::new();
    doc.insert("version".into(), env!("CARGO_PKG_VERSION").into());
    doc.insert(
        "command".into(),
        std::env::args().collect::<Vec<_>>().join(" ").into(),
    );
    let parity = check::parity(a.parity_steps);
    let mut failed = None;
    match &parity {
        Ok(p) => {
            doc.insert("parity".into(), serde_json::to_value(p)?);
        }
        Err(e) => {
            doc.insert("parity_error".into(), e.to_string().into());
            failed = Some(e.clone());
        }
    }
    let mut rows = Vec::new();
    let mut backends = vec!["cuda"];
    if a.cpu {
        backends.push("cpu");
    }
    for be in backends {
        for &b in &a.batch {
            for (kind, hidden) in [(HeadKind::Linear, 0), (HeadKind::Mlp, 512)] {
                let steps = if be == "cpu" {
                    a.timed_steps.min(10)
                } else {
                    a.timed_steps
                };
                match check::throughput(be, kind, hidden, b, steps) {
                    Ok(t) => {
                        eprintln!(
                            "{be:4} {kind:?} batch {b}: private {:.3} ms, non-private {:.3} ms, overhead {:.3}x",
                            t.private_step_seconds * 1e3,
                            t.nonprivate_step_seconds * 1e3,
                            t.overhead
                        );
                        rows.push(serde_json::to_value(t)?);
                    }
                    Err(e) => {
                        rows.push(serde_json::json!({"backend": be, "error": e.to_string()}));
                        failed.get_or_insert(e);
                    }
                }
            }
        }
    }
    doc.insert("throughput".into(), rows.into());
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(doc))?;
    println!("{text}");
    if let Some(p) = a.out {
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&p, &text)?;
    }
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
