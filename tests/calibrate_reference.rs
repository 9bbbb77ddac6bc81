//! Calibration through the PLD accountant against dp_accounting (tests/reference/dpsgd_eps.csv):
//! dp_accounting's PLD gives ε at a fixed σ; calibrating σ back to that ε (same q, steps, δ,
//! add-remove adjacency) must recover σ to 1e-3 relative (issue 6 acceptance).
//!
//! Active only in builds that have the `pld` accountant (`AccountantKind::parse("pld")`); in a
//! build without it the test checks that the name is rejected with a typed error and stops.

/// Writes past libtest's output capture, so a skip message shows in a plain `cargo test` run.
macro_rules! visible {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

mod common;

use ewtune::accountant::{AccountantKind, AccountantSettings};
use ewtune::calibrate::{calibrate, CalibrationParams};
use ewtune::mechanism::Adjacency;

#[test]
fn pld_calibration_recovers_dp_accounting_sigma() {
    let kind = match AccountantKind::parse("pld") {
        Ok(k) => k,
        Err(e) => {
            assert!(e.to_string().contains("accountant"));
            visible!("no pld accountant in this build: skipped");
            return;
        }
    };
    let rows = common::read_csv("dpsgd_eps.csv");
    let mut checked = 0;
    for r in &rows {
        let steps: u64 = r["steps"].parse().expect("steps");
        let q: f64 = r["q"].parse().expect("q");
        let sigma: f64 = r["sigma"].parse().expect("sigma");
        // A handful of informative rows: 1000 steps, q ∈ {0.01, 0.1}, σ ∈ {0.8, 1, 1.5}.
        if steps != 1000
            || !(q == 0.01 || q == 0.1)
            || !(sigma == 0.8 || sigma == 1.0 || sigma == 1.5)
        {
            continue;
        }
        if r.get("status_pld").map(|s| s != "ok").unwrap_or(false) {
            continue;
        }
        let delta: f64 = r["delta"].parse().expect("delta");
        let eps: f64 = r["eps_pld"].parse().expect("eps_pld");
        let info = calibrate(&CalibrationParams {
            // Calibration on a certified accountant uses its upper end. The connect-the-dots
            // upper end sits within ~0.01% of dp_accounting's (also connect-the-dots) ε; PLD
            // tolerance 1e-3 (its finest from the shared options) keeps the FFT error term at
            // δ = 1e-6 small too (measured 2026-11-28: σ within 4.7e-5 relative, 6 s).
            accountant: AccountantSettings {
                adjacency: Adjacency::AddRemove,
                tolerance: Some(1e-3),
                ..AccountantSettings::default()
            }
            .config(kind),
            target_epsilon: eps,
            delta,
            sampling_rate: Some(q),
            steps: Some(steps),
            rel_tol: 1e-5,
            ..CalibrationParams::default()
        })
        .expect("calibrates");
        let rel = (info.sigma / sigma - 1.0).abs();
        visible!(
            "q={q} sigma={sigma} delta={delta}: calibrated {} (rel {rel:.2e})",
            info.sigma
        );
        // Tolerance: 1e-3 relative on σ (acceptance criterion of issue 6).
        assert!(
            rel <= 1e-3,
            "q={q} sigma={sigma} delta={delta}: calibrated {} (rel {rel:e})",
            info.sigma
        );
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} reference rows used");
}
