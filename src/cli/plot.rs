//! `ewtune plot`.
use clap::Args;
/// Arguments of `ewtune plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {}
/// Run.
///
/// # Errors
/// None yet.
pub fn run(_a: PlotArgs) -> anyhow::Result<()> { Ok(()) }
