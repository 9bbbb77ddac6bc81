//! The command-line interface: clap structs and one function per subcommand. No numerics here:
//! every number comes from the library.

pub mod args;
pub mod cumulants;
pub mod query;
pub mod report;
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
    /// The main job: the EW-Tune setting (four GLUE tasks, δ = 1e-5 and 1e-6) by every accountant.
    Report(report::ReportArgs),
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
        Command::Report(a) => report::run(a),
        Command::Train(a) => train::run(a),
        Command::HarnessCheck(a) => train::run_check(a),
    }
}
