//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

/// The shared reference folder (../shared/reference from the repository root), or the copy
/// pointed to by EWTUNE_REFERENCE_DIR.
pub fn reference_dir() -> PathBuf {
    if let Ok(d) = std::env::var("EWTUNE_REFERENCE_DIR") {
        return PathBuf::from(d);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let local = root.join("tests/reference");
    if local.exists() {
        return local;
    }
    root.join("../shared/reference")
}

/// Rows of a reference CSV as maps from column name to text.
pub fn read_csv(name: &str) -> Vec<HashMap<String, String>> {
    let path = reference_dir().join(name);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let headers = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Relative difference |a − b| / |b|.
pub fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// The `ewtune` binary of this build.
pub fn ewtune() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("ewtune").unwrap()
}

/// Run `ewtune` with `args`, require success and parse its stdout as JSON.
pub fn json_ok(args: &[&str]) -> serde_json::Value {
    let out = ewtune().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A PLD accountant (default parameters but the adjacency and an optional fixed grid spacing)
/// with `e` composed once.
pub fn pld(
    adjacency: ewtune::mechanism::Adjacency,
    grid: Option<f64>,
    e: &ewtune::event::DpEvent,
) -> ewtune::accountant::PldAccountant {
    use ewtune::accountant::{Accountant, PldAccountant, PldParams};
    let mut a = PldAccountant::new(PldParams {
        adjacency,
        grid_spacing: grid,
        ..PldParams::default()
    })
    .expect("test setup");
    a.compose(e, 1).expect("test setup");
    a
}
