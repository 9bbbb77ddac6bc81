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

/// Exact single-step δ(ε) of one ordering of the Poisson-subsampled Laplace (scale b, rate q),
/// computed in x-space (independent of the loss-space laws the PLD and contour accountants use): with p(x) the Lap(0, b) density and p1 that of Lap(1, b),
/// remove: ∫ (m(x) − e^ε p(x))₊ dx, add: ∫ (p(x) − e^ε m(x))₊ dx, m = (1 − q)p + q·p1. The ratio
/// m/p is constant on x ≤ 0 and x ≥ 1 and monotone on (0, 1), so each piece is a closed form.
pub fn subsampled_laplace_exact_delta(b: f64, q: f64, eps: f64, add: bool) -> f64 {
    let a = 1.0 / b;
    let ee = eps.exp();
    // Masses of p and p1 on x ≤ 0, (0, x), x ≥ 1.
    let p_le0 = 0.5;
    let p_ge1 = 0.5 * (-a).exp();
    let p1_le0 = 0.5 * (-a).exp();
    let p1_ge1 = 0.5;
    let p_0x = |x: f64| 0.5 * (1.0 - (-a * x).exp());
    let p1_0x = |x: f64| 0.5 * ((-a * (1.0 - x)).exp() - (-a).exp());
    // On (0, 1): r(x) = m/p = 1 − q + q e^{(2x − 1)a}, increasing.
    let r = |x: f64| 1.0 - q + q * ((2.0 * x - 1.0) * a).exp();
    // Region where the integrand is positive: remove r > e^ε (x > x*), add 1 > e^ε r (x < x*).
    let (mut d, target) = (0.0, if add { 1.0 / ee } else { ee });
    // Atoms-like regions.
    let (r_lo, r_hi) = (r(0.0), r(1.0));
    let part = |pm: f64, p1m: f64| {
        let m = (1.0 - q) * pm + q * p1m;
        if add {
            (pm - ee * m).max(0.0)
        } else {
            (m - ee * pm).max(0.0)
        }
    };
    d += part(p_le0, p1_le0);
    d += part(p_ge1, p1_ge1);
    // Crossing point of r(x) = target in (0, 1), clamped.
    let xs = if target <= r_lo {
        0.0
    } else if target >= r_hi {
        1.0
    } else {
        (((target - (1.0 - q)) / q).ln() / a + 1.0) / 2.0
    };
    // remove: integrate over (xs, 1); add: over (0, xs).
    let (pm, p1m) = if add {
        (p_0x(xs), p1_0x(xs))
    } else {
        (p_0x(1.0) - p_0x(xs), p1_0x(1.0) - p1_0x(xs))
    };
    let m = (1.0 - q) * pm + q * p1m;
    d += if add { pm - ee * m } else { m - ee * pm }.max(0.0);
    d
}

/// `steps` compositions of the Laplace mechanism (scale b) on a Poisson sample at rate q.
pub fn subsampled_laplace_steps(scale: f64, q: f64, steps: u64) -> ewtune::event::DpEvent {
    use ewtune::event::DpEvent;
    DpEvent::SelfComposed {
        event: Box::new(DpEvent::PoissonSampled {
            sampling_rate: q,
            event: Box::new(DpEvent::Laplace { scale }),
        }),
        count: steps,
    }
}

/// `steps` compositions of dp_accounting's mixture of Gaussians: N(0, σ²) against
/// Σ p_i N(c_i, σ²).
pub fn mixture_of_gaussians_steps(
    sigma: f64,
    c: &[f64],
    p: &[f64],
    steps: u64,
) -> ewtune::event::DpEvent {
    use ewtune::event::DpEvent;
    DpEvent::SelfComposed {
        event: Box::new(DpEvent::MixtureOfGaussians {
            sigma,
            sensitivities: c.to_vec(),
            probabilities: p.to_vec(),
        }),
        count: steps,
    }
}

/// `steps` compositions of truncated Poisson sampling of the Gaussian (dataset size n, rate q,
/// batches cut to at most B records, noise multiplier σ).
pub fn truncated_poisson_steps(
    n: u64,
    q: f64,
    b: u64,
    sigma: f64,
    steps: u64,
) -> ewtune::event::DpEvent {
    use ewtune::event::DpEvent;
    DpEvent::SelfComposed {
        event: Box::new(DpEvent::TruncatedSubsampledGaussian {
            dataset_size: n,
            sampling_probability: q,
            truncated_batch_size: b,
            noise_multiplier: sigma,
        }),
        count: steps,
    }
}

/// `steps` fixed-size batches: b records drawn without replacement from n, then the Gaussian
/// with noise multiplier σ (replace-one adjacency).
pub fn fixed_size_steps(sigma: f64, n: u64, b: u64, steps: u64) -> ewtune::event::DpEvent {
    use ewtune::event::DpEvent;
    DpEvent::SelfComposed {
        event: Box::new(DpEvent::SampledWithoutReplacement {
            source_dataset_size: n,
            sample_size: b,
            event: Box::new(DpEvent::Gaussian { sigma }),
        }),
        count: steps,
    }
}
