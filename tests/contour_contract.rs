//! Contour accountant: heterogeneous compositions, orderings, properties and the CLI.

use assert_cmd::Command;
use ewtune::accountant::{Accountant, ContourAccountant, ContourParams, Guarantee};
use ewtune::edgeworth::gaussian_delta;
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction};

fn acc(adjacency: Adjacency, tolerance: f64) -> ContourAccountant {
    ContourAccountant::new(ContourParams {
        adjacency,
        tolerance,
    })
    .unwrap()
}

/// Gaussians with different σ compose to μ_tot² = Σ n_i μ_i² (docs/math.md §2); the heterogeneous
/// product of transforms must reproduce it (tolerance 1e−12 relative).
#[test]
fn heterogeneous_gaussians_compose_exactly() {
    let mut a = acc(Adjacency::AddRemove, 1e-13);
    a.compose(&DpEvent::Gaussian { sigma: 2.0 }, 30).unwrap();
    a.compose(&DpEvent::Gaussian { sigma: 5.0 }, 200).unwrap();
    let mu = (30.0f64 / 4.0 + 200.0 / 25.0).sqrt();
    for eps in [0.5, 2.0, 8.0] {
        let r = a.delta(eps).unwrap();
        let want = gaussian_delta(mu, eps);
        assert_eq!(r.guarantee, Guarantee::Bracket);
        assert!(
            (r.delta - want).abs() <= 1e-12 * want,
            "{eps}: {} {want}",
            r.delta
        );
        assert!(
            r.lower.unwrap() <= want * (1.0 + 1e-14) && want <= r.upper.unwrap() * (1.0 + 1e-14)
        );
    }
}

/// A mixed composition (DP-SGD phases with different q, σ plus a Gaussian release) is bracketed,
/// and its bracket sits between the brackets of the phases alone (δ grows with composition).
#[test]
fn mixed_composition_is_bracketed_and_monotone() {
    let mut a = acc(Adjacency::AddRemove, 1e-9);
    a.compose(&DpEvent::dpsgd(0.9, 0.02, 500), 1).unwrap();
    let one = a.epsilon(1e-5).unwrap();
    a.compose(&DpEvent::dpsgd(1.2, 0.05, 300), 1).unwrap();
    a.compose(&DpEvent::Gaussian { sigma: 10.0 }, 1).unwrap();
    let both = a.epsilon(1e-5).unwrap();
    assert!(both.lower.unwrap() > one.upper.unwrap(), "{one:?} {both:?}");
    let w = (both.upper.unwrap() - both.lower.unwrap()) / both.epsilon;
    assert!(w <= 1e-6, "relative width {w}");
    // ε(δ) and δ(ε) agree: δ at the ε bracket ends straddles the target.
    let lo = a.delta(both.lower.unwrap()).unwrap();
    let up = a.delta(both.upper.unwrap()).unwrap();
    assert!(lo.upper.unwrap() > 1e-5 && up.lower.unwrap() <= 1e-5 * (1.0 + 1e-8));
}

/// Add-remove is the maximum of the orderings; for DP-SGD the remove ordering dominates.
#[test]
fn add_remove_is_the_max_of_both_orderings() {
    let mut a = acc(Adjacency::AddRemove, 1e-9);
    a.compose(&DpEvent::dpsgd(1.0, 0.05, 200), 1).unwrap();
    let (rem, _) = a.epsilon_bounds(Direction::Remove, 1e-6).unwrap();
    let (add, _) = a.epsilon_bounds(Direction::Add, 1e-6).unwrap();
    let r = a.epsilon(1e-6).unwrap();
    assert_eq!(r.upper.unwrap(), rem.upper.unwrap().max(add.upper.unwrap()));
    assert!(rem.lower.unwrap() > add.upper.unwrap());
    // δ(ε) is non-increasing in ε (certified: δ_up(ε2) < δ_low(ε1) for ε2 well above ε1).
    let d1 = a.delta(1.0).unwrap();
    let d2 = a.delta(1.1).unwrap();
    assert!(d2.upper.unwrap() < d1.lower.unwrap());
}

#[test]
fn rejects_bad_tolerance() {
    let e = ContourAccountant::new(ContourParams {
        adjacency: Adjacency::Remove,
        tolerance: 0.0,
    })
    .unwrap_err();
    assert!(e.to_string().contains("tolerance"), "{e}");
}

#[test]
fn cli_epsilon_with_contour_gives_a_json_bracket() {
    let out = Command::cargo_bin("ewtune")
        .unwrap()
        .args([
            "epsilon",
            "--mechanism",
            "subsampled-gaussian",
            "--sigma",
            "0.7865",
            "--sampling-rate",
            "0.029696060817532554",
            "--steps",
            "660",
            "--delta",
            "1e-5",
            "--accountant",
            "contour",
            "--adjacency",
            "remove",
            "--tolerance",
            "1e-9",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["accountant"], "contour");
    assert_eq!(v["guarantee"], "bracket");
    let (lo, up) = (v["lower"].as_f64().unwrap(), v["upper"].as_f64().unwrap());
    // SST-2 point: 8.28912 (docs/math.md §10.10), bracket ≤ 1e−9 relative.
    assert!(
        lo <= 8.2891180 && up >= 8.2891179 && (up - lo) / lo <= 1e-9,
        "[{lo}, {up}]"
    );
}
