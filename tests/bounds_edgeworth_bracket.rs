//! The certified Edgeworth bracket (docs/math.md §5.4, "The δ bracket", intersected with the
//! tilted band of §5.5): contains the truth, is informative in the EA paper's large-m setting
//! and no wider than that paper's band there.

mod common;

use assert_cmd::Command;
use ewtune::accountant::{build, AccountantKind, AccountantSettings, Report};
use ewtune::edgeworth::gaussian_delta;
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;

fn query(
    kind: AccountantKind,
    ev: &DpEvent,
    f: impl Fn(&dyn ewtune::accountant::Accountant) -> Report,
) -> Report {
    let opts = AccountantSettings {
        adjacency: Adjacency::AddRemove,
        bracket: true,
        ..AccountantSettings::default()
    };
    let mut a = build(&opts.config(kind)).unwrap();
    a.compose(ev, 1).unwrap();
    f(a.as_ref())
}

#[test]
fn gaussian_delta_bracket_contains_the_exact_value() {
    // 10 000 Gaussian steps with μ_tot = 1 (σ = 100).
    let ev = DpEvent::SelfComposed {
        event: Box::new(DpEvent::Gaussian { sigma: 100.0 }),
        count: 10_000,
    };
    for e in [0.25, 0.5, 1.0] {
        let r = query(AccountantKind::Edgeworth, &ev, |a| a.delta(e).unwrap());
        // The tilted band of an exactly normal law is a few ulps wide; `gaussian_delta` is an
        // f64 evaluation (relative error well below 1e-14).
        let truth = gaussian_delta(1.0, e);
        assert!(
            r.lower.unwrap() <= truth * (1.0 + 1e-14) && truth * (1.0 - 1e-14) <= r.upper.unwrap(),
            "{e}: {r:?}"
        );
        assert_eq!(r.guarantee.name(), "bracket");
    }
}

#[test]
fn ea_large_m_bracket_is_informative_and_consistent_with_the_saddle_point_bracket() {
    // σ = 0.8, δ = 0.1, q = 0.08·sqrt(log m / m) (Wang et al., EA paper, large-m setting).
    for m in [100_000u64, 1_000_000] {
        let q = 0.08 * ((m as f64).ln() / m as f64).sqrt();
        let ev = DpEvent::dpsgd(0.8, q, m);
        let e = query(AccountantKind::Edgeworth, &ev, |a| a.epsilon(0.1).unwrap());
        let s = query(AccountantKind::Saddlepoint, &ev, |a| {
            a.epsilon(0.1).unwrap()
        });
        let (el, eu) = (e.lower.unwrap(), e.upper.unwrap());
        let (sl, su) = (s.lower.unwrap(), s.upper.unwrap());
        assert!(!e.vacuous && eu.is_finite(), "m={m}: {e:?}");
        // Both contain the truth, so they overlap; the estimate lies inside.
        assert!(el <= su && sl <= eu, "m={m}: [{el}, {eu}] vs [{sl}, {su}]");
        assert!(el <= e.epsilon && e.epsilon <= eu);
        if m == 1_000_000 {
            assert!(eu - el < 0.25 && el > 0.0, "m={m}: width {}", eu - el);
        }
    }
}

#[test]
fn ewtune_point_gets_its_upper_end_from_the_tilted_band() {
    // EW-Tune SST-2 point at δ = 1e-5: the untilted DGG band is vacuous there (Δ_Q > δ), the
    // tilted band (docs/math.md §5.5) is not; the truth is 8.2891179057 (contour, §10.10).
    let (q, steps) = (2000.0 / 67349.0, 660);
    let r = query(
        AccountantKind::Edgeworth,
        &DpEvent::dpsgd(0.7865, q, steps),
        |a| a.epsilon(1e-5).unwrap(),
    );
    let (lo, hi) = (r.lower.unwrap(), r.upper.unwrap());
    assert!(!r.vacuous && hi.is_finite(), "{r:?}");
    assert!(lo <= 8.2891179057 && 8.2891179058 <= hi, "{r:?}");
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("untilted order-1 series [0e0, inf]")
                && n.contains("upper end from the tilted band")),
        "{:?}",
        r.notes
    );
}

#[test]
fn cli_bracket_flag_adds_lower_and_upper() {
    let out = Command::cargo_bin("ewtune")
        .unwrap()
        .args([
            "epsilon",
            "--mechanism",
            "subsampled-gaussian",
            "--sigma",
            "0.8",
        ])
        .args([
            "--sampling-rate",
            "0.0003",
            "--steps",
            "1000000",
            "--delta",
            "0.1",
        ])
        .args(["--accountant", "edgeworth", "--bracket", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["guarantee"], "bracket");
    let (lo, hi) = (v["lower"].as_f64().unwrap(), v["upper"].as_f64().unwrap());
    let e = v["epsilon"].as_f64().unwrap();
    assert!(lo <= e && e <= hi && lo > 0.0, "{v}");
}

/// One ordering's certified ε bracket from `kind` (Edgeworth with `--bracket`).
fn remove_epsilon(kind: AccountantKind, ev: &DpEvent, delta: f64) -> Report {
    let opts = AccountantSettings {
        adjacency: Adjacency::Remove,
        bracket: kind == AccountantKind::Edgeworth,
        ..AccountantSettings::default()
    };
    let mut a = build(&opts.config(kind)).unwrap();
    a.compose(ev, 1).unwrap();
    a.epsilon(delta).unwrap()
}

#[test]
fn ea_s3_bracket_contains_the_contour_value_and_is_no_wider_than_the_papers_band() {
    // EA S3 (σ = 0.8, δ = 0.1, q = 0.08·sqrt(ln m / m), remove adjacency). The reported bracket
    // is the intersection of the untilted DGG band (§5.4, with the certified E|X|³ and E|X| of
    // §15.4 and η optimised: [0.194, 0.638] at m = 2e5) and the tilted band (§5.5). The EA
    // paper's band: [0.163, 0.537] at m = 5e4, [0.278, 0.432] at m = 2e5.
    for (m, paper) in [(50_000u64, (0.163, 0.537)), (200_000, (0.278, 0.432))] {
        let q = 0.08 * ((m as f64).ln() / m as f64).sqrt();
        let ev = DpEvent::dpsgd(0.8, q, m);
        let e = remove_epsilon(AccountantKind::Edgeworth, &ev, 0.1);
        let c = remove_epsilon(AccountantKind::Contour, &ev, 0.1);
        let (el, eu) = (e.lower.unwrap(), e.upper.unwrap());
        let (cl, cu) = (c.lower.unwrap(), c.upper.unwrap());
        assert!(
            el <= cl && cu <= eu,
            "m={m}: [{el}, {eu}] vs contour [{cl}, {cu}]"
        );
        assert!(
            paper.0 <= el && eu <= paper.1,
            "m={m}: [{el}, {eu}] is wider than the paper's {paper:?}"
        );
        assert!(el <= e.epsilon && e.epsilon <= eu, "{e:?}");
        assert!(
            e.notes.iter().any(|n| n.contains("exponentially tilted")),
            "{:?}",
            e.notes
        );
    }
}

#[test]
fn bracket_contains_the_contour_value_across_dpsgd_settings() {
    // The class: σ from 0.6 to 2, q from 1e-3 to 0.05, 10^2 to 10^5 steps, δ = 0.1 and 1e-5.
    // The intersection of two certified bands must hold the truth (contour's bracket) or be
    // vacuous; never exclude it.
    for &(sigma, q, steps) in &[
        (0.6, 0.05, 100u64),
        (1.0, 0.01, 1_000),
        (2.0, 0.001, 100_000),
        (0.8, 0.004, 10_000),
    ] {
        let ev = DpEvent::dpsgd(sigma, q, steps);
        for delta in [0.1, 1e-5] {
            let e = remove_epsilon(AccountantKind::Edgeworth, &ev, delta);
            let c = remove_epsilon(AccountantKind::Contour, &ev, delta);
            let (el, eu) = (e.lower.unwrap(), e.upper.unwrap());
            let (cl, cu) = (c.lower.unwrap(), c.upper.unwrap());
            assert!(
                el <= cl && cu <= eu,
                "sigma={sigma} q={q} steps={steps} delta={delta}: [{el}, {eu}] vs contour [{cl}, {cu}]"
            );
            let d = query(AccountantKind::Edgeworth, &ev, |a| a.delta(cl).unwrap());
            let truth = query(AccountantKind::Contour, &ev, |a| a.delta(cl).unwrap());
            assert!(
                d.lower.unwrap() <= truth.upper.unwrap()
                    && truth.lower.unwrap() <= d.upper.unwrap(),
                "delta at {cl}: {d:?} vs {truth:?}"
            );
        }
    }
}
