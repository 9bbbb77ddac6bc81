//! The command-line interface: clap structs and one function per subcommand. No numerics here:
//! every number comes from the library.

pub mod args;
pub mod calibrate;
pub mod compare;
pub mod cumulants;
pub mod edgeworth_bound;
pub mod plot;
pub mod query;
pub mod report;
pub mod sweep;
pub mod train;

use clap::{Parser, Subcommand};

/// ewtune: privacy accounting for DP training (Edgeworth, saddle-point, contour, PLD, RDP, GDP).
#[derive(Debug, Parser)]
#[command(name = "ewtune", version, about, long_about = None)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// ε for a given δ.
    Epsilon(query::EpsilonArgs),
    /// δ for a given ε.
    Delta(query::DeltaArgs),
    /// Cumulants κ1..κ6 of a mechanism's privacy loss, both sides, with certified enclosures.
    Cumulants(cumulants::CumulantsArgs),
    /// The Derumigny–Girard–Guyonvarch bound on the first-order Edgeworth error (docs/math.md §5).
    EdgeworthBound(edgeworth_bound::EdgeworthBoundArgs),
    /// The main job: the EW-Tune setting (four GLUE tasks, δ = 1e-5 and 1e-6) by every accountant.
    Report(report::ReportArgs),
    /// Every applicable accountant side by side (value, bracket, guarantee, adjacency, time).
    Compare(compare::CompareArgs),
    /// Calibrate: the smallest σ (or largest steps / sampling rate) meeting a target (ε, δ).
    Calibrate(calibrate::CalibrateArgs),
    /// Run a parameter grid from a config file, in parallel, to a CSV (resumable, shardable).
    Sweep(sweep::SweepArgs),
    /// Figures (PNG and SVG) from sweep CSVs.
    Plot(plot::PlotArgs),
    /// DP-SGD on a head over fixed embeddings, σ calibrated by an accountant (TOML config).
    Train(train::TrainArgs),
    /// CPU-vs-CUDA parity and private/non-private step throughput of the harness (GPU check).
    HarnessCheck(train::HarnessCheckArgs),
}

/// Run a parsed command; the binary maps errors to exit codes.
///
/// # Errors
/// Whatever the subcommand returns.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Epsilon(a) => query::run_epsilon(a),
        Command::Delta(a) => query::run_delta(a),
        Command::Cumulants(a) => cumulants::run(a),
        Command::EdgeworthBound(a) => edgeworth_bound::run(a),
        Command::Report(a) => report::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Calibrate(a) => calibrate::run(a),
        Command::Sweep(a) => sweep::run(a),
        Command::Plot(a) => plot::run(a),
        Command::Train(a) => train::run(a),
        Command::HarnessCheck(a) => train::run_check(a),
    }
}
