//! `ewtune plot`: figures (PNG and SVG) from sweep CSVs.

use crate::error::Error;
use crate::plot::{plot, PlotParams};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `ewtune plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Sweep CSV file(s).
    #[arg(long, required = true)]
    pub csv: Vec<PathBuf>,
    /// x column (e.g. steps, sigma).
    #[arg(long, default_value = "steps")]
    pub x: String,
    /// y column (its `_lower`/`_upper` columns are drawn as a band, `truth_<y>` dashed).
    #[arg(long, default_value = "epsilon")]
    pub y: String,
    /// Comma-separated columns naming a series.
    #[arg(long, default_value = "method", value_delimiter = ',')]
    pub series_by: Vec<String>,
    /// Column splitting figures (one figure per value).
    #[arg(long)]
    pub panel_by: Option<String>,
    /// Keep only rows with COLUMN=VALUE (repeatable).
    #[arg(long = "where")]
    pub filters: Vec<String>,
    /// Linear x axis (default logarithmic).
    #[arg(long)]
    pub linear_x: bool,
    /// Logarithmic y axis (default linear).
    #[arg(long)]
    pub log_y: bool,
    /// Do not draw `<y>_lower`/`<y>_upper` as bands.
    #[arg(long)]
    pub no_bands: bool,
    /// Draw the line y = x (e.g. the true ε against the target ε; points above it violate).
    #[arg(long)]
    pub diagonal: bool,
    /// Output prefix: writes PREFIX[-PANEL].png and .svg.
    #[arg(long)]
    pub out: PathBuf,
    /// Figure title.
    #[arg(long, default_value = "")]
    pub title: String,
    /// Width in pixels, 200 to 10000.
    #[arg(long, value_parser = crate::cli::args::integer::<i64>, default_value_t = 1000, allow_hyphen_values = true)]
    pub width: i64,
    /// Height in pixels, 150 to 10000.
    #[arg(long, value_parser = crate::cli::args::integer::<i64>, default_value_t = 700, allow_hyphen_values = true)]
    pub height: i64,
}

/// Run `ewtune plot`.
///
/// # Errors
/// Bad arguments, unreadable CSV or a drawing failure.
pub fn run(a: PlotArgs) -> anyhow::Result<()> {
    let mut filters = Vec::new();
    for f in &a.filters {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| Error::invalid("where", f, "must be COLUMN=VALUE"))?;
        filters.push((k.to_string(), v.to_string()));
    }
    // The library checks the range; here only what fits no pixel count at all.
    let side = |name: &'static str, v: i64, min: u32| {
        u32::try_from(v).map_err(|_| {
            let why = format!(
                "must be an integer in [{min}, {}] pixels",
                crate::plot::MAX_SIDE
            );
            Error::invalid(name, v, why)
        })
    };
    let size = (side("width", a.width, 200)?, side("height", a.height, 150)?);
    let files = plot(&PlotParams {
        csv: a.csv,
        x: a.x,
        y: a.y,
        series_by: a.series_by,
        panel_by: a.panel_by,
        filters,
        log_x: !a.linear_x,
        log_y: a.log_y,
        out_prefix: a.out,
        title: a.title,
        size,
        bands: !a.no_bands,
        diagonal: a.diagonal,
    })?;
    for f in files {
        println!("{}", f.display());
    }
    Ok(())
}
