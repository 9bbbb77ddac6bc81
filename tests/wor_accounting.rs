//! Fixed-size batches without replacement under replace-one (docs/math.md §17.6–§17.7): the
//! symmetrised pair's one-step profile is max(δ_remove, δ_add) (evaluated independently in
//! closed form), b = n is the Gaussian at σ/2, dp_accounting's WOR RDP
//! (tests/reference/wor_rdp.csv) is never below our certified ε, our upper end is never below
//! the attained lower bound (max over orderings of the composed Poisson pairs), monotonicity,
//! the saddle point's certified bracket (docs/math.md §17.13) against the closed form and the
//! contour, and the CLI.

mod common;

use common::pld;
use ewtune::accountant::rdp::{RdpAccountant, RdpParams};
use ewtune::accountant::{
    Accountant, ContourAccountant, ContourParams, PldAccountant, SaddlePointAccountant,
    SaddlePointParams,
};
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, WithoutReplacement};
use ewtune::pld::loss::LossLaw;
use ewtune::special::normal;
use proptest::prelude::*;

use common::fixed_size_steps as wor;

fn bracket(a: &PldAccountant, delta: f64) -> (f64, f64) {
    let r = a.epsilon(delta).expect("epsilon");
    (r.lower.expect("lower"), r.upper.expect("upper"))
}

/// δ of the remove ordering of the Poisson-subsampled Gaussian, shift μ, rate γ, by the
/// threshold x_ε = L⁻¹(ε) in closed form (docs/math.md §2.3): Q(x > x_ε) − e^ε P(x > x_ε).
fn delta_remove(g: f64, mu: f64, eps: f64) -> f64 {
    let u = eps.exp();
    if u - 1.0 + g <= 0.0 {
        return 1.0 - u;
    }
    let x = (((u - 1.0 + g) / g).ln() + 0.5 * mu * mu) / mu;
    (1.0 - g) * normal::sf(x) + g * normal::sf(x - mu) - u * normal::sf(x)
}

/// δ of the add ordering: P(L < −ε) − e^ε Q(L < −ε), i.e. x < x_{−ε}.
fn delta_add(g: f64, mu: f64, eps: f64) -> f64 {
    let u = (-eps).exp();
    if u - 1.0 + g <= 0.0 {
        return 0.0;
    }
    let x = (((u - 1.0 + g) / g).ln() + 0.5 * mu * mu) / mu;
    let q_below = (1.0 - g) * normal::cdf(x) + g * normal::cdf(x - mu);
    (normal::cdf(x) - eps.exp() * q_below).max(0.0)
}

/// Settings (σ, n, b) spanning small and large batch fractions and noise.
const SETTINGS: [(f64, u64, u64); 4] = [
    (1.0, 60_000, 256),
    (0.8, 1_000, 100),
    (2.0, 100, 50),
    (4.0, 10, 9),
];

/// One step: the symmetrised law's connect-the-dots pmf dominates max(δ_rem, δ_add) at every ε
/// (negative ones too) and is within the grid's O(h²) of it; the accountant's bracket contains
/// it; δ_rem ≥ δ_add for ε ≥ 0 and the reverse for ε < 0 (docs/math.md §17.7).
#[test]
fn one_step_profile_is_the_max_of_both_orderings() {
    for &(s, n, b) in &SETTINGS {
        let w = WithoutReplacement::new(s, b, n).expect("setup");
        let (g, mu) = (w.sampling_rate(), w.mu());
        let law = w.loss_law();
        assert!(matches!(law, LossLaw::WithoutReplacement { .. }));
        let h = 1e-3;
        let pmf = law.discretise_connect_dots(h, 1e-16).expect("ctd");
        let total: f64 = pmf.masses.iter().sum::<f64>() + pmf.inf_mass;
        assert!((total - 1.0).abs() < 1e-12, "{s} {n} {b}: mass {total}");
        let acc = pld(Adjacency::ReplaceOne, None, &wor(s, n, b, 1));
        for k in -40..=60 {
            let eps = k as f64 * 0.05;
            let (dr, da) = (delta_remove(g, mu, eps), delta_add(g, mu, eps));
            let truth = dr.max(da);
            if eps >= 0.0 {
                assert!(dr >= da - 1e-15, "{s} {n} {b} ε={eps}: rem {dr} < add {da}");
            } else {
                assert!(da >= dr - 1e-15, "{s} {n} {b} ε={eps}: add {da} < rem {dr}");
            }
            let ctd = pmf.delta_raw(eps);
            // Tolerance: the chord error of connect-the-dots, h²/8 per unit of curvature.
            assert!(
                ctd >= truth * (1.0 - 1e-9) - 1e-13 && ctd <= truth + 2e-6,
                "{s} {n} {b} ε={eps}: ctd {ctd:e} vs max(rem, add) {truth:e}"
            );
            if eps >= 0.0 && truth > 1e-12 {
                let r = acc.delta(eps).expect("delta");
                let (lo, up) = (r.lower.expect("lower"), r.upper.expect("upper"));
                assert!(
                    lo <= truth * (1.0 + 1e-9) && truth <= up * (1.0 + 1e-9),
                    "{s} {n} {b} ε={eps}: [{lo:e}, {up:e}] misses {truth:e}"
                );
            }
        }
    }
}

/// b = n: every record is in every batch; the pair is the Gaussian at σ/2 exactly (the
/// accountant maps it so), and its bracket holds the exact composed Gaussian ε.
#[test]
fn full_batch_is_the_gaussian_at_half_sigma() {
    for &(s, n, steps) in &[(1.0, 10u64, 1u64), (2.0, 500, 30), (4.0, 1, 1000)] {
        let a = pld(Adjacency::ReplaceOne, None, &wor(s, n, n, steps));
        let gauss = pld(
            Adjacency::AddRemove,
            None,
            &DpEvent::SelfComposed {
                event: Box::new(DpEvent::Gaussian { sigma: 0.5 * s }),
                count: steps,
            },
        );
        let mu = 2.0 * (steps as f64).sqrt() / s;
        for eps in [0.0, 0.5, 2.0] {
            let exact = ewtune::edgeworth::gaussian_delta(mu, eps);
            let r = a.delta(eps).expect("delta");
            let g = gauss.delta(eps).expect("delta");
            assert_eq!(r.upper, g.upper, "σ={s} n={n}");
            assert!(
                r.lower.expect("lower") <= exact * (1.0 + 1e-12)
                    && exact <= r.upper.expect("upper") * (1.0 + 1e-12),
                "σ={s}: {r:?} vs {exact}"
            );
        }
    }
}

/// dp_accounting's RDP for SampledWithoutReplacementDpEvent (Wang, Balle, Kasiviswanathan
/// 2019, Thm 27) takes σ relative to the replace-one sensitivity (docs/math.md §17.6): ours is
/// 2σ. Our certified ε (the PLD upper end) and our RDP ε are never above theirs (tolerance
/// 1e-9 relative for the CSV's rounding), and our RDP ε is never below our certified lower end.
#[test]
fn below_dp_accounting_wor_rdp_on_every_row() {
    let rows = common::read_csv("wor_rdp.csv");
    assert!(rows.len() >= 16);
    for r in &rows {
        let num = |k: &str| r[k].parse::<f64>().expect("csv number");
        let (s, n, b) = (
            2.0 * num("sigma"),
            num("dataset_size") as u64,
            num("batch_size") as u64,
        );
        let (steps, delta) = (num("steps") as u64, num("delta"));
        let e = wor(s, n, b, steps);
        let (lo, up) = bracket(&pld(Adjacency::ReplaceOne, None, &e), delta);
        let theirs = num("eps_rdp");
        assert!(
            up <= theirs * (1.0 + 1e-9),
            "{r:?}: ours {up} above RDP {theirs}"
        );
        let mut rdp = RdpAccountant::new(RdpParams {
            adjacency: Adjacency::ReplaceOne,
            ..RdpParams::default()
        })
        .expect("setup");
        rdp.compose(&e, 1).expect("compose");
        let re = rdp.epsilon(delta).expect("rdp").epsilon;
        assert!(
            re >= lo,
            "{r:?}: rdp {re} below the certified lower end {lo}"
        );
        assert!(
            re <= theirs * (1.0 + 1e-9),
            "{r:?}: our RDP {re} above theirs {theirs}"
        );
    }
}

/// The max over orderings of the composed remove/add Poisson pairs at (σ/2, b/n) is attained
/// by a real pair of datasets (docs/math.md §17.6), so its certified lower end is a lower bound
/// on the truth: our certified upper end is never below it, and at one step (where the max of
/// the orderings is the truth) the two brackets overlap.
#[test]
fn upper_is_above_the_attained_lower_bound() {
    for &(s, n, b) in &SETTINGS {
        for steps in [1u64, 10, 300] {
            let g = b as f64 / n as f64;
            let ours = bracket(
                &pld(Adjacency::ReplaceOne, None, &wor(s, n, b, steps)),
                1e-5,
            );
            let poisson = if g < 1.0 {
                DpEvent::dpsgd(0.5 * s, g, steps)
            } else {
                unreachable!("settings have b < n")
            };
            let attained = bracket(&pld(Adjacency::AddRemove, None, &poisson), 1e-5);
            assert!(
                ours.1 >= attained.0,
                "σ={s} n={n} b={b} T={steps}: ours {ours:?} below attained {attained:?}"
            );
            if steps == 1 {
                assert!(
                    ours.0 <= attained.1 * (1.0 + 1e-9) && attained.0 <= ours.1 * (1.0 + 1e-9),
                    "one step: {ours:?} vs {attained:?}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// ε non-increasing in σ, non-decreasing in steps and in b (compared through the certified
    /// brackets: the lower end of the larger setting against the upper end of the smaller);
    /// δ non-increasing in ε; lower ≤ upper.
    #[test]
    fn monotone_in_sigma_steps_and_batch(s in 0.7f64..4.0, b in 1u64..400, steps in 1u64..200,
                                         e1 in 0.05f64..2.0, de in 0.05f64..1.0) {
        let n = 1000u64;
        let at = |s: f64, b: u64, t: u64| {
            bracket(&pld(Adjacency::ReplaceOne, None, &wor(s, n, b, t)), 1e-5)
        };
        let base = at(s, b, steps);
        prop_assert!(base.0 <= base.1);
        prop_assert!(at(1.25 * s, b, steps).0 <= base.1);
        prop_assert!(base.0 <= at(s, b, steps + 20).1);
        prop_assert!(base.0 <= at(s, b + 50, steps).1);
        let a = pld(Adjacency::ReplaceOne, None, &wor(s, n, b, steps));
        let d1 = a.delta(e1).expect("delta");
        let d2 = a.delta(e1 + de).expect("delta");
        prop_assert!(d1.lower.expect("lower") <= d1.upper.expect("upper"));
        prop_assert!(d2.lower.expect("lower") <= d1.upper.expect("upper"));
    }
}

fn saddle(e: &DpEvent) -> SaddlePointAccountant {
    let mut a = SaddlePointAccountant::new(SaddlePointParams {
        adjacency: Adjacency::ReplaceOne,
        ..SaddlePointParams::default()
    })
    .expect("setup");
    a.compose(e, 1).expect("compose");
    a
}

/// One step: the saddle point's certified δ(ε) bracket (certified moments of the symmetrised
/// pair, docs/math.md §17.13) contains the closed-form profile max(δ_remove, δ_add) for every
/// setting at ε = 0.1, 1, 3 (the closed form's f64 error allowed for by 1e−10 relative).
#[test]
fn saddle_point_one_step_brackets_hold_the_closed_form() {
    for (s, n, b) in SETTINGS {
        let (g, mu) = (b as f64 / n as f64, 2.0 / s);
        let a = saddle(&wor(s, n, b, 1));
        for eps in [0.1, 1.0, 3.0] {
            let exact = delta_remove(g, mu, eps).max(delta_add(g, mu, eps));
            let r = a.delta(eps).expect("delta");
            let (lo, up) = (r.lower.expect("lower"), r.upper.expect("upper"));
            let slack = 1e-10 * exact + 1e-300;
            assert!(
                lo <= exact + slack && exact <= up + slack,
                "σ {s} n {n} b {b} ε {eps}: [{lo:e}, {up:e}] vs exact {exact:e}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// The saddle point on fixed-size batches: its ε bracket overlaps the contour's, is
    /// non-increasing in σ and non-decreasing in steps (through the certified ends).
    #[test]
    fn saddle_point_brackets_agree_with_the_contour_and_are_monotone(
        s in 0.8f64..4.0, b in 1u64..400, steps in 1u64..300) {
        let n = 1000u64;
        let ends = |e: &DpEvent| {
            let r = saddle(e).epsilon(1e-5).expect("saddlepoint epsilon");
            (r.lower.unwrap_or(0.0), r.upper.expect("upper"))
        };
        let base = ends(&wor(s, n, b, steps));
        prop_assert!(base.0 <= base.1);
        let mut c = ContourAccountant::new(ContourParams {
            adjacency: Adjacency::ReplaceOne,
            ..ContourParams::default()
        })
        .expect("setup");
        c.compose(&wor(s, n, b, steps), 1).expect("compose");
        if let Ok(r) = c.epsilon(1e-5) {
            let (clo, chi) = (r.lower.expect("lower"), r.upper.expect("upper"));
            prop_assert!(base.0 <= chi * (1.0 + 1e-12) && clo <= base.1 * (1.0 + 1e-12),
                "[{}, {}] vs contour [{clo}, {chi}]", base.0, base.1);
        }
        prop_assert!(ends(&wor(1.25 * s, n, b, steps)).0 <= base.1);
        prop_assert!(base.0 <= ends(&wor(s, n, b, steps + 20)).1);
    }
}

/// RDP of the symmetrised pair: non-increasing in σ, non-decreasing in b, and b = n is the
/// Gaussian at σ/2 (α·(2/σ)²/2 per step).
#[test]
fn rdp_is_monotone_and_reduces_to_the_gaussian() {
    let curve = |s: f64, n: u64, b: u64| {
        let mut a = RdpAccountant::new(RdpParams {
            adjacency: Adjacency::ReplaceOne,
            orders: vec![1.5, 2.0, 8.0, 32.0],
            ..RdpParams::default()
        })
        .expect("setup");
        a.compose(&wor(s, n, b, 1), 1).expect("compose");
        a.curve().values.clone()
    };
    let base = curve(1.5, 1000, 40);
    let louder = curve(2.0, 1000, 40);
    let bigger = curve(1.5, 1000, 80);
    for i in 0..base.len() {
        assert!(louder[i].1 <= base[i].1, "{louder:?} vs {base:?}");
        assert!(bigger[i].1 >= base[i].1, "{bigger:?} vs {base:?}");
    }
    for (alpha, r) in curve(1.5, 10, 10) {
        let exact = alpha * (2.0f64 / 1.5).powi(2) / 2.0;
        assert!(
            (r - exact).abs() <= 1e-12 * exact,
            "α={alpha}: {r} vs {exact}"
        );
    }
}

/// Events round-trip through JSON under dp_accounting's field names.
#[test]
fn event_json_uses_dp_accountings_names() {
    let e = wor(1.0, 60_000, 256, 3);
    let s = serde_json::to_string(&e).expect("json");
    assert!(s.contains("\"sampled_without_replacement\""), "{s}");
    assert!(s.contains("\"source_dataset_size\":60000"), "{s}");
    assert!(s.contains("\"sample_size\":256"), "{s}");
    assert_eq!(serde_json::from_str::<DpEvent>(&s).expect("parse"), e);
    // A Laplace inside is refused by name.
    let bad = DpEvent::SampledWithoutReplacement {
        source_dataset_size: 10,
        sample_size: 2,
        event: Box::new(DpEvent::Laplace { scale: 1.0 }),
    };
    let mut a = PldAccountant::new(ewtune::accountant::PldParams {
        adjacency: Adjacency::ReplaceOne,
        ..Default::default()
    })
    .expect("setup");
    let err = a.compose(&bad, 1).unwrap_err();
    assert!(err.to_string().contains("Laplace"), "{err}");
    let too_big = wor(1.0, 10, 11, 1);
    let err = a.compose(&too_big, 1).unwrap_err();
    assert!(err.to_string().contains("batch_size"), "{err}");
}

const WOR_ARGS: [(&str, &str); 7] = [
    ("--sampling", "without-replacement"),
    ("--sigma", "1"),
    ("--dataset-size", "60000"),
    ("--batch-size", "256"),
    ("--steps", "100"),
    ("--accountant", "pld"),
    ("--adjacency", "replace-one"),
];

/// `sub` with [`WOR_ARGS`], each flag replaced by its value in `over` if given there, then the
/// flags of `over` not in [`WOR_ARGS`] and `tail`.
fn wor_cli<'a>(sub: &'a str, over: &[(&'a str, &'a str)], tail: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![sub];
    for (f, v) in WOR_ARGS {
        let v = over.iter().find(|o| o.0 == f).map_or(v, |o| o.1);
        if !v.is_empty() {
            args.extend_from_slice(&[f, v]);
        }
    }
    for (f, v) in over {
        if !WOR_ARGS.iter().any(|w| w.0 == *f) {
            args.extend_from_slice(&[f, v]);
        }
    }
    args.extend_from_slice(tail);
    args
}

#[test]
fn cli_runs_and_refuses_by_name() {
    let v = common::json_ok(&wor_cli(
        "epsilon",
        &[],
        &["--delta", "1e-5", "--format", "json"],
    ));
    assert!(v["epsilon"].as_f64().expect("epsilon") > 0.0, "{v}");
    let v = common::json_ok(&wor_cli(
        "delta",
        &[("--accountant", "rdp")],
        &["--epsilon", "1", "--format", "json"],
    ));
    assert!(v["delta"].as_f64().expect("delta") > 0.0, "{v}");
    // The saddle point (certified bracket) and edgeworth (estimate) answer too, through the
    // certified moments of the symmetrised pair (docs/math.md §17.13).
    for acc in ["saddlepoint", "edgeworth"] {
        let v = common::json_ok(&wor_cli(
            "epsilon",
            &[("--accountant", acc)],
            &["--delta", "1e-5", "--format", "json"],
        ));
        assert!(v["epsilon"].as_f64().expect("epsilon") > 0.0, "{acc}: {v}");
    }
    // compare runs every accountant: all but gdp answer, gdp refuses by name.
    let out = common::ewtune()
        .args(wor_cli(
            "compare",
            &[("--accountant", "")],
            &["--delta", "1e-5"],
        ))
        .output()
        .expect("run");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["pld", "rdp", "contour", "saddlepoint", "edgeworth"] {
        assert!(all.contains(name), "{name}: {all}");
    }
    assert!(
        all.contains("saddlepoint, edgeworth and rdp"),
        "gdp's refusal: {all}"
    );
    let bad: &[(&[(&str, &str)], &str)] = &[
        (&[("--adjacency", "")], "adjacency"),
        (&[("--adjacency", "add-remove")], "replace-one"),
        (&[("--adjacency", "remove")], "replace-one"),
        (&[("--accountant", "gdp")], "saddlepoint, edgeworth and rdp"),
        (&[("--batch-size", "60001")], "batch-size"),
        (&[("--batch-size", "0")], "batch-size"),
        (&[("--dataset-size", "0")], "dataset-size"),
        (&[("--dataset-size", "-5")], "dataset-size"),
        (&[("--dataset-size", "")], "dataset-size"),
        (&[("--batch-size", "")], "batch-size"),
        (&[("--sampling-rate", "0.01")], "sampling-rate"),
        (&[("--mechanism", "laplace")], "sampling"),
        (&[("--scale", "1")], "scale"),
        (&[("--sigma", "-1")], "sigma"),
        (&[("--sampling", "")], "batch-size"),
        (&[("--sampling", ""), ("--batch-size", "")], "dataset-size"),
    ];
    for (over, needle) in bad {
        let args = wor_cli("epsilon", over, &["--delta", "1e-5"]);
        let out = common::ewtune().args(&args).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// `calibrate --solve sigma`: the σ returned meets the target by the accountant's certified
/// upper end, and σ·(1 − 2·rel_tol) does not.
#[test]
fn cli_calibrates_sigma() {
    let v = common::json_ok(&[
        "calibrate",
        "--sampling",
        "without-replacement",
        "--dataset-size",
        "60000",
        "--batch-size",
        "256",
        "--steps",
        "1000",
        "--target-epsilon",
        "2",
        "--delta",
        "1e-5",
        "--accountant",
        "pld",
        "--adjacency",
        "replace-one",
        "--rel-tol",
        "1e-3",
        "--format",
        "json",
    ]);
    let sigma = v["sigma"].as_f64().expect("sigma");
    let at = |s: f64| {
        bracket(
            &pld(Adjacency::ReplaceOne, None, &wor(s, 60_000, 256, 1000)),
            1e-5,
        )
        .1
    };
    assert!(at(sigma) <= 2.0, "{v}");
    assert!(at(sigma * (1.0 - 2e-3)) > 2.0, "{v}");
}

/// An events-file entry `sampled_without_replacement` (dp_accounting's field names or the CLI's)
/// gives the same certified bracket as the flags; a `batch_size` on another entry, a missing
/// field or a field that does not apply is a parse error naming it (exit 2).
#[test]
fn events_file_entries_match_the_flags() {
    let d = tempfile::tempdir().expect("tmp");
    let json = d.path().join("wor.json");
    std::fs::write(
        &json,
        r#"{"events": [{"mechanism": "sampled_without_replacement", "sigma": 1.0,
            "source_dataset_size": 60000, "sample_size": 256, "count": 100}]}"#,
    )
    .expect("write");
    let toml = d.path().join("wor.toml");
    std::fs::write(
        &toml,
        "[[events]]\nmechanism = \"sampled-without-replacement\"\nsigma = 1.0\n\
         dataset_size = 60000\nbatch_size = 256\ncount = 100\n",
    )
    .expect("write");
    let tail = [
        "--delta",
        "1e-5",
        "--accountant",
        "pld",
        "--adjacency",
        "replace-one",
        "--format",
        "json",
    ];
    let flags = {
        let mut a = vec![
            "epsilon",
            "--sigma",
            "1",
            "--sampling",
            "without-replacement",
            "--dataset-size",
            "60000",
            "--batch-size",
            "256",
            "--steps",
            "100",
        ];
        a.extend_from_slice(&tail);
        common::json_ok(&a)
    };
    for f in [&json, &toml] {
        let mut a = vec!["epsilon", "--events", f.to_str().expect("utf8")];
        a.extend_from_slice(&tail);
        let v = common::json_ok(&a);
        assert_eq!(v["lower"], flags["lower"], "{v}");
        assert_eq!(v["upper"], flags["upper"], "{v}");
    }
    for (entry, needle) in [
        (
            r#"{"mechanism": "gaussian", "sigma": 1.0, "batch_size": 256, "count": 10}"#,
            "batch_size",
        ),
        (
            r#"{"mechanism": "sampled_without_replacement", "sigma": 1.0, "dataset_size": 100, "count": 10}"#,
            "batch_size",
        ),
        (
            r#"{"mechanism": "sampled_without_replacement", "sigma": 1.0, "dataset_size": 100, "batch_size": 10, "sampling_rate": 0.1, "count": 10}"#,
            "sampling_rate",
        ),
        (
            r#"{"mechanism": "sampled_without_replacement", "sigma": 1.0, "dataset_size": 100, "batch_size": 200, "count": 10}"#,
            "batch_size",
        ),
    ] {
        let p = d.path().join("bad.json");
        std::fs::write(&p, format!(r#"{{"events": [{entry}]}}"#)).expect("write");
        let out = common::ewtune()
            .args(["epsilon", "--events", p.to_str().expect("utf8")])
            .args(tail)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{entry}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{entry}: {err}");
    }
}
