//! Figures from sweep CSVs (plotters; PNG and SVG).
//!
//! One figure per value of the `panel_by` column (e.g. `grid`), one series per distinct value
//! of the `series_by` columns (e.g. `method`). Each series draws the estimate (`y`, default
//! `epsilon`) as a line with markers and, where the CSV has a certified bracket
//! (`<y>_lower`/`<y>_upper`), the bracket as a translucent band. A `truth_<y>` column, when
//! filled, is drawn as a dashed black line. Axes can be logarithmic; tick labels are plain
//! numbers in [1e-3, 1e4) and `1e5`-style outside.
//!
//! Text uses DejaVu Sans, compiled into the binary (the `dejavu` crate, through plotters'
//! `ab_glyph` feature): no system font library is needed. SVG text is emitted as `<text>`
//! elements with `font-family="sans-serif"`.

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Inputs of [`plot`].
#[derive(Debug, Clone, PartialEq)]
pub struct PlotParams {
    /// Sweep CSV files (rows are concatenated).
    pub csv: Vec<PathBuf>,
    /// x column (e.g. `steps`, `sigma`).
    pub x: String,
    /// y column (default `epsilon`); `<y>_lower`, `<y>_upper` and `truth_<y>` are used if present.
    pub y: String,
    /// Columns whose values name a series (default `method`).
    pub series_by: Vec<String>,
    /// Column whose values split figures (e.g. `grid`); `None` = one figure.
    pub panel_by: Option<String>,
    /// Keep only rows with these `column = value` pairs.
    pub filters: Vec<(String, String)>,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Output prefix: writes `<prefix>[-<panel>].png` and `.svg`.
    pub out_prefix: PathBuf,
    /// Title (the panel value is appended).
    pub title: String,
    /// Size in pixels.
    pub size: (u32, u32),
    /// Draw `<y>_lower`/`<y>_upper` as bands.
    pub bands: bool,
    /// Draw the line y = x (e.g. the true ε against the target ε: points above it violate).
    pub diagonal: bool,
}

impl Default for PlotParams {
    fn default() -> Self {
        PlotParams {
            csv: Vec::new(),
            x: "steps".into(),
            y: "epsilon".into(),
            series_by: vec!["method".into()],
            panel_by: None,
            filters: Vec::new(),
            log_x: true,
            log_y: false,
            out_prefix: PathBuf::from("figure"),
            title: String::new(),
            size: (1000, 700),
            bands: true,
            diagonal: false,
        }
    }
}

/// A point of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pt {
    x: f64,
    y: f64,
    lo: Option<f64>,
    hi: Option<f64>,
}

#[derive(Debug, Clone, Default)]
struct Panel {
    name: String,
    series: Vec<(String, Vec<Pt>)>,
    truth: Vec<(String, Vec<Pt>)>,
}

type Row = HashMap<String, String>;

fn read_rows(paths: &[PathBuf]) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    for p in paths {
        let mut rdr = csv::Reader::from_path(p).map_err(|e| Error::Io {
            path: p.display().to_string(),
            message: e.to_string(),
        })?;
        let head = rdr
            .headers()
            .map_err(|e| Error::Parse {
                path: p.display().to_string(),
                message: e.to_string(),
            })?
            .clone();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| Error::Parse {
                path: p.display().to_string(),
                message: e.to_string(),
            })?;
            out.push(
                head.iter()
                    .zip(rec.iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect(),
            );
        }
    }
    Ok(out)
}

fn val(r: &Row, k: &str) -> Option<f64> {
    r.get(k)
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

fn push(list: &mut Vec<(String, Vec<Pt>)>, key: String, pt: Pt) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, v)) => v.push(pt),
        None => list.push((key, vec![pt])),
    }
}

fn panels(rows: &[Row], p: &PlotParams) -> Result<Vec<Panel>> {
    let mut out: Vec<Panel> = Vec::new();
    let first = rows
        .first()
        .ok_or_else(|| Error::invalid("csv", "(empty)", "no rows to plot"))?;
    for col in [&p.x, &p.y]
        .into_iter()
        .chain(p.series_by.iter())
        .chain(p.panel_by.iter())
    {
        if !first.contains_key(col.as_str()) {
            let mut cols: Vec<&String> = first.keys().collect();
            cols.sort();
            return Err(Error::invalid(
                "column",
                col,
                format!(
                    "not in the CSV (columns: {})",
                    cols.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    let (lo_c, hi_c, truth_c) = (
        format!("{}_lower", p.y),
        format!("{}_upper", p.y),
        format!("truth_{}", p.y),
    );
    for r in rows {
        if p.filters.iter().any(|(k, v)| r.get(k) != Some(v)) {
            continue;
        }
        if r.get("guarantee").map(|g| g == "error").unwrap_or(false) {
            continue;
        }
        let Some(x) = val(r, &p.x) else { continue };
        let pname = p
            .panel_by
            .as_ref()
            .and_then(|c| r.get(c).cloned())
            .unwrap_or_default();
        let idx = match out.iter().position(|q| q.name == pname) {
            Some(i) => i,
            None => {
                out.push(Panel {
                    name: pname.clone(),
                    ..Panel::default()
                });
                out.len() - 1
            }
        };
        let key: Vec<String> = p
            .series_by
            .iter()
            .map(|c| {
                let v = r.get(c).cloned().unwrap_or_default();
                if c == "method" {
                    v
                } else {
                    format!("{c}={v}")
                }
            })
            .collect();
        if let Some(y) = val(r, &p.y) {
            let pt = Pt {
                x,
                y,
                lo: val(r, &lo_c),
                hi: val(r, &hi_c),
            };
            push(&mut out[idx].series, key.join(", "), pt);
        }
        if let Some(t) = val(r, &truth_c) {
            let others: Vec<String> = key
                .iter()
                .zip(&p.series_by)
                .filter(|(_, c)| c.as_str() != "method")
                .map(|(k, _)| k.clone())
                .collect();
            let name = r
                .get("truth_accountant")
                .cloned()
                .unwrap_or_else(|| "truth".into());
            let mut label = format!("truth ({name})");
            if !others.is_empty() {
                label = format!("{label}, {}", others.join(", "));
            }
            let pt = Pt {
                x,
                y: t,
                lo: val(r, &format!("truth_{}_lower", p.y)),
                hi: val(r, &format!("truth_{}_upper", p.y)),
            };
            push(&mut out[idx].truth, label, pt);
        }
    }
    for panel in &mut out {
        for (_, pts) in panel.series.iter_mut().chain(panel.truth.iter_mut()) {
            pts.sort_by(|a, b| a.x.total_cmp(&b.x));
            pts.dedup_by(|a, b| a.x == b.x && a.y == b.y);
        }
    }
    Ok(out)
}

/// Tick label: plain in [1e-3, 1e4), else `1e5` / `2.5e-4`.
pub fn tick_label(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-3..1e4).contains(&a) {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        let s = format!("{v:.1e}");
        s.replace(".0e", "e")
    }
}

/// Tick label on an axis: on a log axis only the ticks at 1, 2 and 5 × 10^k are labelled (the
/// others stay as grid lines), so the labels of a short log range do not run into each other.
pub fn axis_label(v: f64, log: bool) -> String {
    if log && v > 0.0 && v.is_finite() {
        let m = v / 10f64.powf(v.log10().floor());
        if ![1.0, 2.0, 5.0, 10.0]
            .iter()
            .any(|t| (m - t).abs() < 1e-6 * t)
        {
            return String::new();
        }
    }
    tick_label(v)
}

/// A y value in the axis's own coordinate: itself, or its logarithm on a log axis.
fn axis_coord(v: f64, log: bool) -> f64 {
    if log {
        v.max(f64::MIN_POSITIVE).ln()
    } else {
        v
    }
}

/// Whether two bands (x, lower, upper) are the same bracket to the plot's resolution: the same
/// x values, and ends within 1e-4 of the y range (in log space on a log axis), far below a pixel.
fn same_band(a: &[(f64, f64, f64)], b: &[(f64, f64, f64)], yr: (f64, f64), log: bool) -> bool {
    let f = |v: f64| axis_coord(v, log);
    let tol = 1e-4 * (f(yr.1) - f(yr.0)).abs();
    let close_y = |x: f64, y: f64| (f(x) - f(y)).abs() <= tol;
    let close_x = |x: f64, y: f64| (x - y).abs() <= 1e-12 * x.abs().max(y.abs());
    a.len() >= 2
        && a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(p, q)| close_x(p.0, q.0) && close_y(p.1, q.1) && close_y(p.2, q.2))
}

/// Whether a band is everywhere thinner than 0.4% of the y range (about two pixels of a
/// 600-pixel chart, under the 2-pixel line), measured in log space on a log axis.
fn band_is_thin(band: &[(f64, f64, f64)], yr: (f64, f64), log: bool) -> bool {
    let f = |v: f64| axis_coord(v, log);
    let span = (f(yr.1) - f(yr.0)).abs();
    span > 0.0
        && band
            .iter()
            .all(|&(_, l, h)| (f(h) - f(l)).abs() < 4e-3 * span)
}

fn range(vals: impl Iterator<Item = f64>, log: bool) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in vals {
        if v.is_finite() && (!log || v > 0.0) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() {
        return None;
    }
    if log {
        let (a, b) = (lo.log10(), hi.log10());
        let pad = ((b - a) * 0.04).max(0.05);
        Some((10f64.powf(a - pad), 10f64.powf(b + pad)))
    } else {
        let pad = ((hi - lo) * 0.04).max(1e-9 * hi.abs().max(1.0));
        Some((lo - pad, hi + pad))
    }
}

fn font_once() -> Result<()> {
    static INIT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *INIT.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::BackendUnavailable(
            "the embedded DejaVu font could not be loaded".into(),
        ))
    }
}

fn draw_err(e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: "figure".into(),
        message: e.to_string(),
    }
}

macro_rules! draw_chart {
    ($root:expr, $panel:expr, $p:expr, $xr:expr, $yr:expr, $xspec:expr, $yspec:expr) => {{
        let root = $root;
        let panel: &Panel = $panel;
        let p: &PlotParams = $p;
        root.fill(&WHITE).map_err(draw_err)?;
        // The legend gets its own strip right of the chart, never over the data.
        let legend_w = legend_width(panel, p, root.dim_in_pixel().0);
        let (chart_area, legend_area) = root.split_horizontally(root.dim_in_pixel().0 - legend_w);
        let mut legend: Vec<(String, ShapeStyle, bool)> = Vec::new();
        let title = if panel.name.is_empty() {
            p.title.clone()
        } else if p.title.is_empty() {
            panel.name.clone()
        } else {
            format!("{}: {}", p.title, panel.name)
        };
        let mut chart = ChartBuilder::on(&chart_area)
            .caption(title, ("sans-serif", 26))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d($xspec, $yspec)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc(p.x.clone())
            .y_desc(p.y.clone())
            .x_label_formatter(&|v| axis_label(*v, p.log_x))
            .y_label_formatter(&|v| axis_label(*v, p.log_y))
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(draw_err)?;
        let ok_x = |v: f64| v.is_finite() && (!p.log_x || v > 0.0);
        let ok_y = |v: f64| v.is_finite() && (!p.log_y || v > 0.0);
        let clamp_y = |v: f64| v.clamp($yr.0, $yr.1);
        // The points a log axis can show, clamped into the y range.
        let visible = |pts: &[Pt]| -> Vec<(f64, f64)> {
            pts.iter()
                .filter(|q| ok_x(q.x) && ok_y(q.y))
                .map(|q| (q.x, clamp_y(q.y)))
                .collect()
        };
        // Bands already drawn (with their series' label): a bracket equal to one drawn before
        // at the plot's resolution (e.g. the DGG bracket every Edgeworth order shares up to
        // ~1e-10) is drawn once and named in the legend.
        let mut drawn: Vec<(&str, Vec<(f64, f64, f64)>)> = Vec::new();
        for (i, (label, pts)) in panel.series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            // Certified bracket as a band.
            let band: Vec<(f64, f64, f64)> = pts
                .iter()
                .filter(|_| p.bands)
                .filter_map(|q| match (q.lo, q.hi) {
                    (Some(l), Some(h)) if ok_x(q.x) && ok_y(l) && h.is_finite() => {
                        Some((q.x, clamp_y(l), clamp_y(h)))
                    }
                    _ => None,
                })
                .collect();
            let same_as = drawn
                .iter()
                .find(|(_, b)| same_band(b, &band, $yr, p.log_y))
                .map(|(l, _)| l.to_string());
            if band.len() >= 2 && same_as.is_none() {
                let mut poly: Vec<(f64, f64)> = band.iter().map(|&(x, l, _)| (x, l)).collect();
                poly.extend(band.iter().rev().map(|&(x, _, h)| (x, h)));
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        poly,
                        color.mix(0.18).filled(),
                    )))
                    .map_err(draw_err)?;
                drawn.push((label.as_str(), band.clone()));
            }
            let line = visible(pts);
            let style = ShapeStyle::from(&color).stroke_width(2);
            chart
                .draw_series(LineSeries::new(line.clone(), style))
                .map_err(draw_err)?;
            let label = if band.len() < 2 {
                label.clone()
            } else if band_is_thin(&band, $yr, p.log_y) {
                format!("{label} (bracket within the line)")
            } else if let Some(first) = same_as {
                format!("{label} (band: same bracket as {first})")
            } else {
                format!("{label} (band: certified bracket)")
            };
            legend.push((label, style, false));
            if line.len() <= 60 {
                chart
                    .draw_series(line.iter().map(|&c| Circle::new(c, 3, color.filled())))
                    .map_err(draw_err)?;
            }
        }
        for (label, pts) in &panel.truth {
            let line = visible(pts);
            let style = ShapeStyle::from(&BLACK).stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new(line, 8, 5, style))
                .map_err(draw_err)?;
            legend.push((label.clone(), style, true));
        }
        if p.diagonal {
            let (a, b) = ($xr.0.max($yr.0), $xr.1.min($yr.1));
            if a < b {
                let style = ShapeStyle::from(&RGBColor(90, 90, 90)).stroke_width(2);
                chart
                    .draw_series(DashedLineSeries::new(vec![(a, a), (b, b)], 4, 4, style))
                    .map_err(draw_err)?;
                legend.push(("y = x".to_string(), style, true));
            }
        }
        draw_legend(&legend_area, &legend)?;
        root.present().map_err(draw_err)?;
        Ok::<(), Error>(())
    }};
}

/// Width of the legend strip: enough for the longest label, at most half the figure.
fn legend_width(panel: &Panel, p: &PlotParams, width: u32) -> u32 {
    let longest = panel
        .series
        .iter()
        .chain(panel.truth.iter())
        .map(|(l, pts)| {
            let band = p.bands
                && pts
                    .iter()
                    .filter(|q| q.lo.is_some() && q.hi.is_some())
                    .count()
                    >= 2;
            l.chars().count() + if band { 40 } else { 0 }
        })
        .max()
        .unwrap_or(0);
    // DejaVu Sans at 15 px: about 8 px a character, plus the line sample and margins.
    ((longest as u32) * 8 + 70).min(width / 2)
}

/// The legend: one line sample (dashed for truth and reference lines) and label per entry.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, ShapeStyle, bool)],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let font = ("sans-serif", 15).into_font().color(&BLACK);
    for (i, (label, style, dashed)) in entries.iter().enumerate() {
        let y = 60 + 22 * i as i32;
        if *dashed {
            for k in 0..3 {
                let x0 = 8 + 11 * k;
                area.draw(&PathElement::new(vec![(x0, y), (x0 + 7, y)], *style))
                    .map_err(draw_err)?;
            }
        } else {
            area.draw(&PathElement::new(vec![(8, y), (38, y)], *style))
                .map_err(draw_err)?;
        }
        area.draw(&Text::new(label.clone(), (46, y - 8), font.clone()))
            .map_err(draw_err)?;
    }
    Ok(())
}

fn render<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    panel: &Panel,
    p: &PlotParams,
    xr: (f64, f64),
    yr: (f64, f64),
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    match (p.log_x, p.log_y) {
        (true, true) => draw_chart!(
            root,
            panel,
            p,
            xr,
            yr,
            (xr.0..xr.1).log_scale(),
            (yr.0..yr.1).log_scale()
        ),
        (true, false) => draw_chart!(root, panel, p, xr, yr, (xr.0..xr.1).log_scale(), yr.0..yr.1),
        (false, true) => draw_chart!(root, panel, p, xr, yr, xr.0..xr.1, (yr.0..yr.1).log_scale()),
        (false, false) => draw_chart!(root, panel, p, xr, yr, xr.0..xr.1, yr.0..yr.1),
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Largest figure side in pixels (a PNG's bitmap is width × height × 3 bytes: 300 MB at the
/// limit).
pub const MAX_SIDE: u32 = 10_000;

/// Refuse sizes plotters cannot draw (too small for the labels) or that would allocate a huge
/// bitmap.
fn check_size((width, height): (u32, u32)) -> Result<()> {
    if !(200..=MAX_SIDE).contains(&width) {
        let why = format!("must be an integer in [200, {MAX_SIDE}] pixels");
        return Err(Error::invalid("width", width, why));
    }
    if !(150..=MAX_SIDE).contains(&height) {
        let why = format!("must be an integer in [150, {MAX_SIDE}] pixels");
        return Err(Error::invalid("height", height, why));
    }
    Ok(())
}

/// Draw the figures; returns the files written (PNG and SVG per panel).
///
/// # Errors
/// Unreadable CSV, unknown columns, nothing to plot, or a drawing/I/O failure.
pub fn plot(p: &PlotParams) -> Result<Vec<PathBuf>> {
    if p.csv.is_empty() {
        return Err(Error::invalid("csv", "(none)", "give at least one CSV"));
    }
    check_size(p.size)?;
    font_once()?;
    let rows = read_rows(&p.csv)?;
    let panels = panels(&rows, p)?;
    let mut written = Vec::new();
    if let Some(dir) = p.out_prefix.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| Error::Io {
                path: dir.display().to_string(),
                message: e.to_string(),
            })?;
        }
    }
    for panel in &panels {
        let all = panel
            .series
            .iter()
            .chain(panel.truth.iter())
            .flat_map(|(_, v)| v.iter());
        let xr = range(all.clone().map(|q| q.x), p.log_x);
        // The y range follows the estimates and the truth; bracket ends widen it only when they
        // are within one data span of it (a near-vacuous bracket is clipped at the frame).
        let core = range(all.clone().map(|q| q.y), p.log_y);
        let yr = core.and_then(|(a, b)| {
            let near = |v: f64| {
                if p.log_y {
                    v > 0.0 && v >= a * a / b && v <= b * b / a
                } else {
                    v >= a - (b - a) && v <= b + (b - a)
                }
            };
            range(
                all.flat_map(|q| [Some(q.y), q.lo, q.hi])
                    .flatten()
                    .filter(|&v| near(v)),
                p.log_y,
            )
        });
        let (Some(xr), Some(yr)) = (xr, yr) else {
            continue;
        };
        let stem = if panel.name.is_empty() {
            p.out_prefix.clone()
        } else {
            let base = p
                .out_prefix
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            p.out_prefix
                .with_file_name(format!("{base}-{}", slug(&panel.name)))
        };
        let png = with_ext(&stem, "png");
        let svg = with_ext(&stem, "svg");
        render(
            BitMapBackend::new(&png, p.size).into_drawing_area(),
            panel,
            p,
            xr,
            yr,
        )?;
        render(
            SVGBackend::new(&svg, p.size).into_drawing_area(),
            panel,
            p,
            xr,
            yr,
        )?;
        written.push(png);
        written.push(svg);
    }
    if written.is_empty() {
        return Err(Error::invalid(
            "csv",
            p.csv
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(","),
            "no plottable rows (check --where filters and the x/y columns)",
        ));
    }
    Ok(written)
}

fn with_ext(stem: &Path, ext: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_readable() {
        assert_eq!(tick_label(100.0), "100");
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(100000.0), "1e5");
        assert_eq!(tick_label(2.5e-4), "2.5e-4");
        assert_eq!(tick_label(0.0), "0");
    }

    #[test]
    fn log_axes_label_one_two_five_only() {
        assert_eq!(axis_label(1e5, true), "1e5");
        assert_eq!(axis_label(2e5, true), "2e5");
        assert_eq!(axis_label(5e5, true), "5e5");
        assert_eq!(axis_label(1e6, true), "1e6");
        assert_eq!(axis_label(3e5, true), "");
        assert_eq!(axis_label(7e5, true), "");
        assert_eq!(axis_label(0.3, false), "0.3");
    }

    #[test]
    fn identical_and_thin_bands_are_recognised() {
        let a = vec![(1.0, 0.1, 0.9), (2.0, 0.2, 0.8)];
        let mut b = a.clone();
        let yr = (0.0, 1.0);
        assert!(same_band(&a, &b, yr, false));
        b[1].2 = 0.8 + 1e-9;
        assert!(
            same_band(&a, &b, yr, false),
            "equal to the plot's resolution"
        );
        b[1].2 = 0.81;
        assert!(!same_band(&a, &b, yr, false));
        assert!(
            !same_band(&a[..1], &b[..1], yr, false),
            "a single point is no band"
        );
        let thin = vec![(1.0, 0.3, 0.3 + 1e-8), (2.0, 0.35, 0.35 + 1e-8)];
        assert!(band_is_thin(&thin, (0.0, 1.0), false));
        assert!(!band_is_thin(&a, (0.0, 1.0), false));
        assert!(band_is_thin(&[(1.0, 1e-5, 1.0001e-5)], (1e-8, 1.0), true));
    }

    #[test]
    fn log_range_pads_in_log_space() {
        let (a, b) = range([10.0, 1000.0, -1.0].into_iter(), true).expect("range");
        assert!(a < 10.0 && a > 5.0 && b > 1000.0 && b < 2000.0);
        assert!(range([0.0, -1.0].into_iter(), true).is_none());
    }
}
