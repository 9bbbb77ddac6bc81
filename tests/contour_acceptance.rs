//! Issue acceptance for the contour accountant at the EW-Tune settings (four GLUE tasks,
//! δ ∈ {1e-5, 1e-6}) and the EA paper's S1–S3: the certified ε bracket has relative width
//! ≤ 1e-6 and overlaps every other certified accountant's bracket (pld, the saddle-point
//! accountant's Kolmogorov-distance bracket) and lies below RDP's upper bound.

use ewtune::accountant::{build, AccountantKind, AccountantSettings, Report};
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;

fn run(kind: AccountantKind, options: AccountantSettings, event: &DpEvent, delta: f64) -> Report {
    let mut a = build(&options.config(kind)).expect("build");
    a.compose(event, 1).expect("compose");
    a.epsilon(delta).expect("epsilon")
}

fn bracket(r: &Report) -> (f64, f64) {
    (
        r.lower.expect("a certified lower end"),
        r.upper.expect("a certified upper end"),
    )
}

/// Relative δ tolerance that gives ≤ 1e-6 relative in ε at every setting below: the ε width is
/// about tolerance/((λ − 1)·ε), and (λ − 1)·ε ≥ 0.46 here (S2: ε = 0.033, λ ≈ 15).
const TOLERANCE: f64 = 1e-7;

fn check(label: &str, event: DpEvent, delta: f64) {
    let base = AccountantSettings {
        adjacency: Adjacency::AddRemove,
        ..AccountantSettings::default()
    };
    let c = run(
        AccountantKind::Contour,
        AccountantSettings {
            tolerance: Some(TOLERANCE),
            ..base.clone()
        },
        &event,
        delta,
    );
    let (lo, hi) = bracket(&c);
    assert!(lo > 0.0 && lo <= hi, "{label}: [{lo}, {hi}]");
    assert!(
        (hi - lo) / hi <= 1e-6,
        "{label}: relative width of [{lo}, {hi}]"
    );
    // Other certified accountants: their brackets must contain the truth, so they overlap ours
    // (a relative slack of 1e-12 for f64 printing/rounding of the ends).
    let slack = 1e-12 * hi;
    let pld = run(AccountantKind::Pld, base.clone(), &event, delta);
    let sk = run(
        AccountantKind::Saddlepoint,
        AccountantSettings {
            kolmogorov_only: true,
            ..base.clone()
        },
        &event,
        delta,
    );
    for (name, r) in [("pld", &pld), ("saddlepoint-kolmogorov", &sk)] {
        let (a, b) = bracket(r);
        assert!(
            a <= hi + slack && lo <= b + slack,
            "{label}: contour [{lo}, {hi}] vs {name} [{a}, {b}]"
        );
    }
    let rdp = run(AccountantKind::Rdp, base, &event, delta);
    assert!(lo <= rdp.epsilon + slack, "{label}: rdp {}", rdp.epsilon);
}

#[test]
fn ewtune_settings() {
    for n in [67349u64, 104743, 363849, 392702] {
        let q = 2000.0 / n as f64;
        let steps = 20 * (n / 2000);
        for delta in [1e-5, 1e-6] {
            for sigma in [0.573, 0.7865] {
                check(
                    &format!("N={n} sigma={sigma} delta={delta}"),
                    DpEvent::dpsgd(sigma, q, steps),
                    delta,
                );
            }
        }
    }
}

#[test]
fn ea_settings_s1_s2_s3() {
    // S1: q = 0.01, σ = 0.8, δ = 0.015; S2: q = 5e-4, σ = 1, δ = 1e-5, 200 steps;
    // S3: σ = 0.8, δ = 0.1, q = 0.08·sqrt(ln m / m), m steps.
    for steps in [100u64, 500, 2000] {
        check(
            &format!("S1 steps={steps}"),
            DpEvent::dpsgd(0.8, 0.01, steps),
            0.015,
        );
    }
    check("S2", DpEvent::dpsgd(1.0, 5e-4, 200), 1e-5);
    for m in [50_000u64, 1_000_000] {
        let q = 0.08 * ((m as f64).ln() / m as f64).sqrt();
        check(&format!("S3 m={m}"), DpEvent::dpsgd(0.8, q, m), 0.1);
    }
}
