//! Truncated Poisson sampling of the Gaussian (docs/math.md §17.8): dp_accounting 0.6.0
//! references (tests/reference/truncated_poisson.csv), reductions to the plain Poisson-subsampled
//! Gaussian, monotonicity properties, refusals and the CLI.

mod common;

use common::{pld, truncated_poisson_steps as event};
use ewtune::accountant::rdp::{RdpAccountant, RdpParams};
use ewtune::accountant::{build, Accountant, AccountantConfig, AccountantKind, PldAccountant};
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Mechanism, TruncatedPoisson};
use proptest::prelude::*;

fn bracket(a: &PldAccountant, delta: f64) -> (f64, f64) {
    let r = a.epsilon(delta).expect("epsilon");
    (r.lower.expect("lower"), r.upper.expect("upper"))
}

fn overlap(a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
    a.0 <= b.1 * (1.0 + tol) + tol && b.0 <= a.1 * (1.0 + tol) + tol
}

/// Our certified PLD ε bracket overlaps dp_accounting's [optimistic, pessimistic] estimates on
/// every row (2e-3 relative: dp_accounting's own grid is 1e-4 and its weights are scipy
/// floats), and our RDP ε is never below our PLD lower end.
#[test]
fn pld_brackets_overlap_dp_accounting() {
    let rows = common::read_csv("truncated_poisson.csv");
    assert!(rows.len() >= 24, "{} rows", rows.len());
    for r in &rows {
        let num = |k: &str| r[k].parse::<f64>().expect("csv number");
        let int = |k: &str| r[k].parse::<u64>().expect("csv integer");
        let adj = if r["adjacency"] == "replace_one" {
            Adjacency::ReplaceOne
        } else {
            Adjacency::AddRemove
        };
        let (n, q, b, s) = (
            int("dataset_size"),
            num("sampling_rate"),
            int("max_batch_size"),
            num("sigma"),
        );
        // The certified weight encloses scipy's (tolerance 1e-12 relative: scipy's binomial
        // tail is a float incomplete beta).
        let t = TruncatedPoisson::new(n, q, b, s).expect("mechanism");
        let (lo, hi) = t.truncation_weight_bounds();
        let w = num("weight");
        assert!(
            lo <= w * (1.0 + 1e-12) && w <= hi * (1.0 + 1e-12),
            "{r:?}: t ∈ [{lo}, {hi}]"
        );
        let e = event(n, q, b, s, int("steps"));
        let delta = num("delta");
        let ours = bracket(&pld(adj, None, &e), delta);
        let theirs = (num("eps_optimistic"), num("eps_pessimistic"));
        assert!(ours.0 <= ours.1, "{r:?}: {ours:?}");
        assert!(
            overlap(ours, theirs, 2e-3),
            "{r:?}: ours {ours:?}, dp_accounting {theirs:?}"
        );
        let mut rdp = RdpAccountant::new(RdpParams {
            adjacency: adj,
            ..RdpParams::default()
        })
        .expect("setup");
        rdp.compose(&e, 1).expect("compose");
        let re = rdp.epsilon(delta).expect("rdp").epsilon;
        assert!(
            re >= ours.0 * (1.0 - 1e-9),
            "{r:?}: rdp {re} below {ours:?}"
        );
    }
}

/// B ≥ n never truncates: the plain Poisson-subsampled Gaussian. A weight t below 1e−40
/// (B far above n·q) gives the plain mechanism's bracket to 1e−9.
#[test]
fn no_or_negligible_truncation_is_the_plain_subsampled_gaussian() {
    let m = TruncatedPoisson::mechanism(500, 0.02, 500, 1.0).expect("mechanism");
    assert!(matches!(m, Mechanism::SubsampledGaussian(_)), "{m:?}");
    let t = TruncatedPoisson::new(1000, 0.001, 40, 1.0).expect("mechanism");
    assert!(t.truncation_weight() < 1e-40, "{}", t.truncation_weight());
    for adj in [Adjacency::AddRemove, Adjacency::ReplaceOne] {
        for steps in [1u64, 50] {
            let a = pld(adj, None, &event(1000, 0.001, 40, 1.0, steps));
            let b = pld(adj, None, &DpEvent::dpsgd(1.0, 0.001, steps));
            for &d in &[1e-5, 1e-8] {
                let (x, y) = (bracket(&a, d), bracket(&b, d));
                assert!(
                    overlap(x, y, 1e-9),
                    "{adj:?} n={steps} δ={d}: {x:?} vs {y:?}"
                );
            }
        }
    }
}

/// More truncation (B below n·q) costs privacy: ε above the plain subsampled Gaussian's, and
/// the weight t is then close to 1.
#[test]
fn heavy_truncation_costs_more_than_plain_poisson() {
    let t = TruncatedPoisson::new(1000, 0.05, 30, 2.0).expect("mechanism");
    assert!(t.truncation_weight() > 0.99, "{}", t.truncation_weight());
    let ours = bracket(
        &pld(Adjacency::AddRemove, None, &event(1000, 0.05, 30, 2.0, 20)),
        1e-5,
    );
    let plain = bracket(
        &pld(Adjacency::AddRemove, None, &DpEvent::dpsgd(2.0, 0.05, 20)),
        1e-5,
    );
    assert!(ours.0 > plain.1, "{ours:?} vs {plain:?}");
}

/// Gdp refuses the mechanism by name, listing what works (the contour:
/// tests/truncated_contour.rs; the saddle point: tests/mixture_saddlepoint.rs); edgeworth
/// gives an estimate.
#[test]
fn unsupported_accountants_refuse_by_name() {
    let e = event(60_000, 256.0 / 60_000.0, 270, 1.0, 100);
    let cfg = AccountantConfig::default_for(AccountantKind::Gdp, Adjacency::AddRemove);
    let mut a = build(&cfg).expect("build");
    let err = a.compose(&e, 1).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("truncated-poisson")
            && msg.contains("contour, pld, rdp, edgeworth and saddlepoint"),
        "{msg}"
    );
    let cfg = AccountantConfig::default_for(AccountantKind::Edgeworth, Adjacency::AddRemove);
    let mut a = build(&cfg).expect("build");
    a.compose(&e, 1).expect("edgeworth composes");
    let est = a.epsilon(1e-5).expect("edgeworth estimate").epsilon;
    assert!(est.is_finite() && est > 0.0, "{est}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    /// ε non-increasing in σ and in B, non-decreasing in steps and in q; δ non-increasing in
    /// ε; lower ≤ upper.
    #[test]
    fn epsilon_is_monotone(s in 0.7f64..2.5, q in 0.005f64..0.05, extra in 0.0f64..3.0,
                           steps in 1u64..20, e1 in 0.2f64..2.0) {
        let n = 4000u64;
        let mean = n as f64 * q;
        let b = (mean + extra * mean.sqrt()).ceil() as u64;
        let at = |s: f64, q: f64, b: u64, k: u64| {
            bracket(&pld(Adjacency::AddRemove, None, &event(n, q, b, s, k)), 1e-5)
        };
        let base = at(s, q, b, steps);
        prop_assert!(base.0 <= base.1);
        prop_assert!(at(1.3 * s, q, b, steps).0 <= base.1);
        prop_assert!(at(s, q, b + 1 + b / 10, steps).0 <= base.1);
        prop_assert!(base.0 <= at(s, q, b, steps + 5).1);
        prop_assert!(base.0 <= at(s, 1.3 * q, b, steps).1);
        let a = pld(Adjacency::AddRemove, None, &event(n, q, b, s, steps));
        let (d1, d2) = (a.delta(e1).expect("delta"), a.delta(e1 + 0.3).expect("delta"));
        prop_assert!(d1.lower.unwrap() <= d1.upper.unwrap());
        prop_assert!(d2.lower.unwrap() <= d1.upper.unwrap());
    }
}

#[test]
fn cli_epsilon_delta_compare_and_refusals() {
    let base = [
        "--sampling",
        "truncated-poisson",
        "--sigma",
        "1",
        "--sampling-rate",
        "0.004266666666666667",
        "--dataset-size",
        "60000",
        "--max-batch-size",
        "270",
        "--steps",
        "100",
    ];
    let mut args = vec!["epsilon"];
    args.extend_from_slice(&base);
    args.extend_from_slice(&["--delta", "1e-5", "--accountant", "pld", "--format", "json"]);
    let ok = common::json_ok(&args);
    let eps = ok["epsilon"].as_f64().expect("epsilon");
    // dp_accounting (tests/reference/truncated_poisson.csv): [3.35678, 3.36178].
    assert!(eps > 3.3 && eps < 3.45, "{ok}");
    let mut args = vec!["delta"];
    args.extend_from_slice(&base);
    args.extend_from_slice(&[
        "--epsilon",
        "3.4",
        "--accountant",
        "rdp",
        "--format",
        "json",
    ]);
    let ok = common::json_ok(&args);
    assert!(ok["delta"].as_f64().expect("delta") > 0.0, "{ok}");
    let mut args = vec!["compare"];
    args.extend_from_slice(&base);
    args.extend_from_slice(&["--delta", "1e-5"]);
    let out = common::ewtune().args(&args).output().expect("run");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("pld"), "{text}");
    // The saddle point answers with a certified bracket (docs/math.md §17.12).
    assert!(
        text.lines()
            .any(|l| l.starts_with("saddlepoint") && l.contains("bracket")),
        "{text}"
    );
    let bad: &[(&[&str], &str, i32)] = &[
        (&["--dataset-size", "0"], "dataset-size", 2),
        (&["--max-batch-size", "0"], "max-batch-size", 2),
        (&["--sampling-rate", "1.5"], "sampling-rate", 2),
        (&["--sigma", "-1"], "sigma", 2),
        (&["--mechanism", "laplace", "--scale", "1"], "sampling", 2),
        (&["--accountant", "gdp"], "truncated-poisson", 2),
    ];
    for (extra, needle, code) in bad {
        let mut args = vec!["epsilon"];
        // The later flag wins where it repeats one in `base`.
        let mut merged: Vec<&str> = base.to_vec();
        let mut i = 0;
        while i < extra.len() {
            if let Some(pos) = merged.iter().position(|a| *a == extra[i]) {
                merged[pos + 1] = extra[i + 1];
            } else {
                merged.extend_from_slice(&extra[i..i + 2]);
            }
            i += 2;
        }
        if extra[0] == "--mechanism" {
            merged.retain(|a| *a != "--sigma");
            let p = merged.iter().position(|a| *a == "1").expect("sigma value");
            merged.remove(p);
        }
        args.extend(merged);
        args.extend_from_slice(&["--delta", "1e-5"]);
        let out = common::ewtune().args(&args).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // A missing flag is named.
    let out = common::ewtune()
        .args([
            "epsilon",
            "--sampling",
            "truncated-poisson",
            "--sigma",
            "1",
            "--sampling-rate",
            "0.01",
            "--dataset-size",
            "1000",
            "--delta",
            "1e-5",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("max-batch-size"));
    // --max-batch-size without truncated-poisson is refused.
    let out = common::ewtune()
        .args([
            "epsilon",
            "--sigma",
            "1",
            "--sampling-rate",
            "0.01",
            "--max-batch-size",
            "10",
            "--delta",
            "1e-5",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("max-batch-size"));
}

/// Events files: a `truncated_subsampled_gaussian` entry with dp_accounting's field names.
#[test]
fn events_file_takes_dp_accounting_field_names() {
    let dir = std::env::temp_dir().join(format!("ewtune-truncated-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let path = dir.join("events.json");
    std::fs::write(
        &path,
        r#"{"events": [{"mechanism": "truncated_subsampled_gaussian", "dataset_size": 60000,
            "sampling_probability": 0.004266666666666667, "truncated_batch_size": 270,
            "noise_multiplier": 1.0, "count": 100}]}"#,
    )
    .expect("write");
    let ok = common::json_ok(&[
        "epsilon",
        "--events",
        path.to_str().expect("path"),
        "--delta",
        "1e-5",
        "--accountant",
        "pld",
        "--format",
        "json",
    ]);
    let eps = ok["epsilon"].as_f64().expect("epsilon");
    assert!(eps > 3.3 && eps < 3.45, "{ok}");
    let json = serde_json::to_string(&event(60_000, 0.01, 700, 1.0, 3)).expect("json");
    assert!(
        json.contains("\"type\":\"truncated_subsampled_gaussian\""),
        "{json}"
    );
    let back: DpEvent = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, event(60_000, 0.01, 700, 1.0, 3));
    std::fs::remove_dir_all(&dir).ok();
}

/// `calibrate --solve sigma --sampling truncated-poisson`: the certified ε at the answer meets
/// the target, the other end of the final bracket does not, and the truncated σ is at least
/// the plain Poisson one (truncation only adds the σ/2 component).
#[test]
fn cli_calibrate_sigma() {
    let common_args = [
        "calibrate",
        "--target-epsilon",
        "2",
        "--delta",
        "1e-5",
        "--steps",
        "10",
        "--sampling-rate",
        "0.05",
        "--accountant",
        "pld",
        "--rel-tol",
        "0.01",
        "--format",
        "json",
    ];
    let mut args = common_args.to_vec();
    args.extend_from_slice(&[
        "--sampling",
        "truncated-poisson",
        "--dataset-size",
        "1000",
        "--max-batch-size",
        "55",
    ]);
    let out = common::json_ok(&args);
    let sigma = out["sigma"].as_f64().expect("sigma");
    let other = out["other_end"].as_f64().expect("other end");
    assert!(
        out["report"]["upper"].as_f64().expect("upper") <= 2.0,
        "{out}"
    );
    assert!(other < sigma && sigma <= other * 1.0101, "{out}");
    let t = TruncatedPoisson::new(1000, 0.05, 55, other).expect("mechanism");
    let at_other = bracket(
        &pld(
            Adjacency::AddRemove,
            None,
            &event(1000, 0.05, 55, t.sigma(), 10),
        ),
        1e-5,
    );
    assert!(at_other.1 > 2.0, "{at_other:?} at σ = {other}");
    let plain = common::json_ok(&common_args);
    let plain_sigma = plain["sigma"].as_f64().expect("sigma");
    assert!(
        sigma >= plain_sigma * 0.99,
        "{sigma} vs plain {plain_sigma}"
    );
    let mut bad = args.clone();
    bad.extend_from_slice(&["--solve", "steps"]);
    let out = common::ewtune().args(&bad).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("solve"));
}
