//! The contour accountant on truncated Poisson sampling (docs/math.md §17.8, §17.10: the
//! weighted union of the replace-one subsampled Gaussian at σ/2 and the subsampled Gaussian):
//! certified brackets against dp_accounting 0.6.0's PLD (tests/reference/truncated_poisson.csv)
//! and our certified PLD, the untruncated limit, monotonicity, a refusal and the CLI.

mod common;

use common::{pld, truncated_poisson_steps as event};
use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
use ewtune::error::Error;
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Mechanism, TruncatedPoisson};

fn contour(adjacency: Adjacency, e: &DpEvent) -> ContourAccountant {
    let mut a = ContourAccountant::new(ContourParams {
        adjacency,
        ..ContourParams::default()
    })
    .expect("setup");
    a.compose(e, 1).expect("compose");
    a
}

/// (lower, upper, capped) of the ε bracket.
fn eps_bracket(a: &dyn Accountant, delta: f64) -> (f64, f64, bool) {
    let r = a.epsilon(delta).expect("epsilon");
    let capped = r.notes.iter().any(|n| n.contains("capped"));
    (r.lower.expect("lower"), r.upper.expect("upper"), capped)
}

fn delta_bracket(a: &dyn Accountant, eps: f64) -> (f64, f64) {
    let r = a.delta(eps).expect("delta");
    (r.lower.expect("lower"), r.upper.expect("upper"))
}

fn overlap(a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
    a.0 <= b.1 * (1.0 + tol) + tol && b.0 <= a.1 * (1.0 + tol) + tol
}

/// A spread of rows of tests/reference/truncated_poisson.csv (both adjacencies, t from 0.004 to
/// 0.94, 1 to 1000 steps): the contour's certified ε bracket overlaps dp_accounting's
/// [optimistic, pessimistic] PLD estimates (2e-3 relative, the policy of tests/truncated.rs:
/// their grid is 1e-4 and their weights scipy floats) and our certified PLD bracket (no
/// tolerance: both are certified for the same pair), and is at most 1e-6 wide relative where
/// not capped.
#[test]
fn reference_rows_overlap_dp_accounting_and_pld() {
    let rows = common::read_csv("truncated_poisson.csv");
    let picked: Vec<_> = rows
        .iter()
        .filter(|r| {
            let steps = r["steps"].as_str();
            let delta = r["delta"].as_str();
            let adj = r["adjacency"].as_str();
            let b = r["max_batch_size"].as_str();
            match (adj, b) {
                ("add_remove", "40") => steps == "1000" && delta == "1e-05",
                ("add_remove", "100") => steps == "10" && delta == "1e-06",
                ("add_remove", "270") => steps == "100" && delta == "1e-05",
                ("add_remove", "300") => steps == "1" && delta == "1e-05",
                ("replace_one", "40") => steps == "10" && delta == "1e-05",
                ("replace_one", "270") => steps == "1000" && delta == "1e-06",
                _ => false,
            }
        })
        .collect();
    assert_eq!(picked.len(), 6, "rows picked");
    for r in picked {
        let num = |k: &str| r[k].parse::<f64>().expect("csv number");
        let int = |k: &str| r[k].parse::<u64>().expect("csv integer");
        let adj = if r["adjacency"] == "replace_one" {
            Adjacency::ReplaceOne
        } else {
            Adjacency::AddRemove
        };
        let e = event(
            int("dataset_size"),
            num("sampling_rate"),
            int("max_batch_size"),
            num("sigma"),
            int("steps"),
        );
        let delta = num("delta");
        let c = eps_bracket(&contour(adj, &e), delta);
        let ours = (c.0, c.1);
        let theirs = (num("eps_optimistic"), num("eps_pessimistic"));
        assert!(c.0 <= c.1, "{r:?}: {c:?}");
        assert!(
            overlap(ours, theirs, 2e-3),
            "{r:?}: contour {c:?}, dp_accounting {theirs:?}"
        );
        let p = eps_bracket(&pld(adj, None, &e), delta);
        assert!(
            overlap(ours, (p.0, p.1), 0.0),
            "{r:?}: contour {c:?}, pld {p:?}"
        );
        if !c.2 {
            assert!(c.1 - c.0 <= 1e-6 * c.1, "{r:?}: width {c:?}");
        }
    }
}

/// B ≥ n never truncates (t = 0): the mechanism is the plain Poisson-subsampled Gaussian and
/// the bracket is the plain contour's, bit for bit. A weight t below 1e−30 gives the plain
/// bracket to 1e−9 relative (the union's extra component and its weight error are negligible).
#[test]
fn no_truncation_is_the_plain_subsampled_contour() {
    let m = TruncatedPoisson::mechanism(500, 0.02, 500, 1.0).expect("mechanism");
    assert!(matches!(m, Mechanism::SubsampledGaussian(_)), "{m:?}");
    for adj in [Adjacency::AddRemove, Adjacency::ReplaceOne] {
        let a = contour(adj, &event(500, 0.02, 500, 1.0, 100));
        let b = contour(adj, &DpEvent::dpsgd(1.0, 0.02, 100));
        let (x, y) = (eps_bracket(&a, 1e-5), eps_bracket(&b, 1e-5));
        assert_eq!((x.0, x.1), (y.0, y.1), "{adj:?}");
    }
    let t = TruncatedPoisson::new(2000, 0.01, 100, 1.0).expect("mechanism");
    assert!(t.truncation_weight() < 1e-30, "{}", t.truncation_weight());
    for adj in [Adjacency::AddRemove, Adjacency::ReplaceOne] {
        let a = contour(adj, &event(2000, 0.01, 100, 1.0, 1000));
        let b = contour(adj, &DpEvent::dpsgd(1.0, 0.01, 1000));
        let (x, y) = (eps_bracket(&a, 1e-5), eps_bracket(&b, 1e-5));
        assert!(
            overlap((x.0, x.1), (y.0, y.1), 0.0) && (x.1 - y.1).abs() <= 1e-9 * y.1,
            "{adj:?}: {x:?} vs {y:?}"
        );
    }
}

/// A truncation component whose weight is negligible against δ (Σ T·t_hi ≤ 1e−6·δ) is not
/// inverted: the untruncated part's contour plus the slack S = Σ T·t_hi (docs/math.md §17.10).
/// Rarely sampled few-step configurations, which the whole union's contour refused (its
/// transform is dominated at large λ by the tiny-weight component at σ/2), are certified,
/// inside our certified PLD bracket and within 1e−9 of the plain subsampled contour, with the
/// note naming the slack; a configuration whose truncation is not negligible keeps the union.
#[test]
fn negligible_truncation_is_a_delta_slack_on_the_untruncated_contour() {
    let rare = [
        (1000u64, 0.001, 40u64, 1.0, 50u64, Adjacency::AddRemove),
        (1000, 0.001, 40, 1.0, 50, Adjacency::ReplaceOne),
        (5000, 0.002, 60, 1.2, 300, Adjacency::AddRemove),
    ];
    for &(n, q, b, sigma, steps, adj) in &rare {
        let e = event(n, q, b, sigma, steps);
        let a = contour(adj, &e);
        let r = a.epsilon(1e-5).expect("certified");
        assert!(
            r.notes.iter().any(|x| x.contains("not inverted")),
            "{n} {q} {b}: {:?}",
            r.notes
        );
        let x = (r.lower.expect("lower"), r.upper.expect("upper"));
        let plain = contour(adj, &DpEvent::dpsgd(sigma, q, steps));
        let y = eps_bracket(&plain, 1e-5);
        assert!(
            (x.0 - y.0).abs() <= 1e-9 * y.1 && (x.1 - y.1).abs() <= 1e-9 * y.1,
            "{n} {q} {b} {adj:?}: {x:?} vs plain {y:?}"
        );
        let p = eps_bracket(&pld(adj, None, &e), 1e-5);
        assert!(
            overlap(x, (p.0, p.1), 0.0),
            "{n} {q} {b} {adj:?}: {x:?} vs pld {p:?}"
        );
        // δ at the ε found: the bracket holds δ = 1e-5 (ε's bracket is certified both ways).
        let d = delta_bracket(&a, x.1);
        assert!(
            d.0 <= 1e-5 * (1.0 + 1e-6) && d.1 <= d.0 * (1.0 + 1e-6),
            "{d:?}"
        );
    }
    // The same ε through the union (t ≈ 1e-13: S = 1000·t is not ≤ 1e-6·δ): no note.
    let e = event(1000, 0.01, 40, 1.0, 1000);
    let r = contour(Adjacency::AddRemove, &e)
        .epsilon(1e-5)
        .expect("certified");
    assert!(
        !r.notes.iter().any(|x| x.contains("not inverted")),
        "{:?}",
        r.notes
    );
}

/// δ non-increasing in ε and ε non-decreasing in steps (certified ends compared across a few
/// points; lower ≤ upper everywhere), for a heavily and a lightly truncated configuration.
#[test]
fn delta_decreases_in_epsilon_and_epsilon_grows_with_steps() {
    for &(n, q, b, s) in &[
        (1000u64, 0.05, 40u64, 2.0),
        (60_000, 256.0 / 60_000.0, 270, 1.0),
    ] {
        let a = contour(Adjacency::AddRemove, &event(n, q, b, s, 50));
        let mut prev: Option<(f64, f64)> = None;
        for eps in [0.25, 0.5, 1.0, 2.0] {
            let d = delta_bracket(&a, eps);
            assert!(d.0 <= d.1, "{n} ε={eps}: {d:?}");
            if let Some(p) = prev {
                assert!(d.0 <= p.1, "{n} ε={eps}: {d:?} after {p:?}");
            }
            prev = Some(d);
        }
        let mut prev: Option<(f64, f64, bool)> = None;
        for steps in [1u64, 10, 100, 1000] {
            let e = eps_bracket(
                &contour(Adjacency::AddRemove, &event(n, q, b, s, steps)),
                1e-5,
            );
            assert!(e.0 <= e.1, "{n} steps={steps}: {e:?}");
            if let Some(p) = prev {
                assert!(p.0 <= e.1, "{n} steps={steps}: {e:?} after {p:?}");
            }
            prev = Some(e);
        }
    }
}

/// A noise multiplier so small that the transforms' means (1/σ, 4/σ) square to +∞: no
/// certified transform exists, so the contour refuses (NotCertified, naming the component),
/// never a number.
#[test]
fn unrepresentable_transform_is_refused() {
    let e = event(1000, 0.05, 40, 1e-160, 10);
    let a = contour(Adjacency::AddRemove, &e);
    match a.epsilon(1e-5) {
        Err(Error::NotCertified(msg)) => assert!(msg.contains("contour"), "{msg}"),
        other => panic!("expected NotCertified, got {other:?}"),
    }
    match a.delta(1.0) {
        Err(Error::NotCertified(msg)) => assert!(msg.contains("contour"), "{msg}"),
        other => panic!("expected NotCertified, got {other:?}"),
    }
}

/// The CLI: `--sampling truncated-poisson --accountant contour` answers with a certified ε
/// inside dp_accounting's range, `compare` lists contour, and `calibrate --solve sigma` with
/// the contour gives a σ whose certified ε meets the target.
#[test]
fn cli_epsilon_compare_and_calibrate() {
    let base = [
        "--sampling",
        "truncated-poisson",
        "--sampling-rate",
        "0.004266666666666667",
        "--dataset-size",
        "60000",
        "--max-batch-size",
        "270",
        "--steps",
        "100",
    ];
    let mut args = vec!["epsilon", "--sigma", "1"];
    args.extend_from_slice(&base);
    args.extend_from_slice(&[
        "--delta",
        "1e-5",
        "--accountant",
        "contour",
        "--format",
        "json",
    ]);
    let ok = common::json_ok(&args);
    let eps = ok["epsilon"].as_f64().expect("epsilon");
    // dp_accounting (tests/reference/truncated_poisson.csv): [3.35678, 3.36178].
    assert!(eps > 3.35 && eps < 3.37, "{ok}");
    let mut args = vec!["compare", "--sigma", "1"];
    args.extend_from_slice(&base);
    args.extend_from_slice(&["--delta", "1e-5"]);
    let out = common::ewtune().args(&args).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("contour"))
        .unwrap_or_else(|| panic!("no contour line: {text}"));
    assert!(!line.contains("unsupported"), "{line}");
    let mut args = vec![
        "calibrate",
        "--target-epsilon",
        "2",
        "--delta",
        "1e-5",
        "--accountant",
        "contour",
        "--rel-tol",
        "0.01",
        "--format",
        "json",
    ];
    args.extend_from_slice(&base);
    let out = common::json_ok(&args);
    let sigma = out["sigma"].as_f64().expect("sigma");
    assert!(
        out["report"]["upper"].as_f64().expect("upper") <= 2.0,
        "{out}"
    );
    let e = event(60_000, 256.0 / 60_000.0, 270, sigma, 100);
    let c = eps_bracket(&contour(Adjacency::AddRemove, &e), 1e-5);
    assert!(c.1 <= 2.0, "{c:?} at σ = {sigma}");
}
