//! Lattice mechanisms (randomized response, discrete Laplace) and replace-one adjacency
//! (docs/math.md §16): exact oracles, refusals, properties and the CLI.

use ewtune::accountant::{
    build, Accountant, AccountantConfig, AccountantKind, ContourAccountant, ContourParams,
};
use ewtune::error::Error;
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;
use proptest::prelude::*;
use std::process::Command;

mod lattice_oracle;
use lattice_oracle::{dlap_law, oracle_delta, rr_law};

fn self_composed(event: DpEvent, count: u64) -> DpEvent {
    DpEvent::SelfComposed {
        event: Box::new(event),
        count,
    }
}

fn rr(p: f64, k: u64, n: u64) -> DpEvent {
    let event = DpEvent::RandomizedResponse {
        noise_parameter: p,
        buckets: k,
    };
    self_composed(event, n)
}

fn dlap(a: f64, d: u64, n: u64) -> DpEvent {
    let event = DpEvent::DiscreteLaplace {
        parameter: a,
        sensitivity: d,
    };
    self_composed(event, n)
}

fn accountant(kind: AccountantKind, adjacency: Adjacency, event: &DpEvent) -> Box<dyn Accountant> {
    let mut a = build(&AccountantConfig::default_for(kind, adjacency)).expect("test setup");
    a.compose(event, 1).expect("test setup");
    a
}

/// Relative tolerance of the f64 oracle (log-gamma sums of ≤ 10⁴ terms).
const ORACLE_TOL: f64 = 1e-9;

#[test]
fn contour_and_pld_brackets_contain_the_exact_composition() {
    type Case = (&'static str, DpEvent, Adjacency, (Vec<f64>, f64), u64);
    let mut cases: Vec<Case> = Vec::new();
    for &n in &[1u64, 2, 10, 100] {
        for (p, k) in [(0.3, 5), (0.6, 2)] {
            cases.push(("rr", rr(p, k, n), Adjacency::ReplaceOne, rr_law(p, k), n));
        }
        for (a, d) in [(0.4, 1), (0.25, 2)] {
            let law = dlap_law(a, d);
            cases.push(("dlap", dlap(a, d, n), Adjacency::AddRemove, law, n));
        }
    }
    for (name, ev, adj, (q, h), n) in cases {
        let top = h * 0.5 * (q.len() - 1) as f64 * n as f64;
        for frac in [0.0, 0.1, 0.3, 0.6] {
            let eps = frac * top;
            let exact = oracle_delta(&q, h, n, eps);
            for kind in [AccountantKind::Contour, AccountantKind::Pld] {
                if kind == AccountantKind::Pld && exact > 0.5 {
                    // Near δ = 1 the PLD bracket is vacuous and its lower end can exceed 1 (a
                    // PLD issue shared with the Laplace mechanism, reported separately).
                    continue;
                }
                let r = accountant(kind, adj, &ev).delta(eps).expect("answer");
                let (lo, up) = (r.lower.expect("lower"), r.upper.expect("upper"));
                assert!(
                    lo <= exact * (1.0 + ORACLE_TOL) && exact * (1.0 - ORACLE_TOL) <= up,
                    "{name} n={n} eps={eps} {kind}: [{lo:e}, {up:e}] vs exact {exact:e}"
                );
                if kind == AccountantKind::Contour && exact > 1e-300 {
                    assert!(up - lo <= 1e-9 * exact, "{name} n={n}: width {}", up - lo);
                }
            }
            // RDP is an upper bound on ε; on δ its δ is an upper bound.
            let r = accountant(AccountantKind::Rdp, adj, &ev)
                .delta(eps)
                .expect("rdp");
            assert!(
                r.delta >= exact * (1.0 - ORACLE_TOL),
                "{name} rdp {} < {exact}",
                r.delta
            );
        }
    }
}

#[test]
fn saddlepoint_bracket_contains_the_exact_delta() {
    let (q, h) = rr_law(0.4, 3);
    let exact = oracle_delta(&q, h, 50, 20.0);
    let r = accountant(
        AccountantKind::Saddlepoint,
        Adjacency::ReplaceOne,
        &rr(0.4, 3, 50),
    )
    .delta(20.0)
    .expect("answer");
    let (lo, up) = (r.lower.expect("lo"), r.upper.expect("up"));
    assert!(lo <= exact * (1.0 + ORACLE_TOL) && exact * (1.0 - ORACLE_TOL) <= up);
    // ε(δ): the saddle point's certified bracket overlaps the contour's exact one, also where the
    // tilted law concentrates on the top atom (ε near the largest loss).
    for (p, k, n) in [(0.4, 3, 50), (0.5, 4, 100)] {
        let ev = rr(p, k, n);
        let s = accountant(AccountantKind::Saddlepoint, Adjacency::ReplaceOne, &ev)
            .epsilon(1e-5)
            .expect("saddlepoint epsilon");
        let c = accountant(AccountantKind::Contour, Adjacency::ReplaceOne, &ev)
            .epsilon(1e-5)
            .expect("contour epsilon");
        assert!(
            s.lower.expect("l") <= c.upper.expect("u")
                && c.lower.expect("l") <= s.upper.expect("u"),
            "p={p} k={k} n={n}: saddlepoint {:?} vs contour {:?}",
            (s.lower, s.upper),
            (c.lower, c.upper)
        );
    }
}

#[test]
fn contour_epsilon_inverts_the_exact_delta() {
    for (ev, adj) in [
        (rr(0.5, 4, 100), Adjacency::ReplaceOne),
        (dlap(0.3, 2, 50), Adjacency::AddRemove),
    ] {
        for delta in [1e-5, 1e-6] {
            let r = accountant(AccountantKind::Contour, adj, &ev)
                .epsilon(delta)
                .expect("eps");
            let (lo, up) = (r.lower.expect("lo"), r.upper.expect("up"));
            assert!(lo <= up && up - lo <= 1e-6 * up, "[{lo}, {up}]");
            let c = accountant(AccountantKind::Contour, adj, &ev);
            // δ at the upper end is ≤ δ, at the lower end ≥ δ (certified ends).
            assert!(c.delta(up).expect("d").lower.expect("l") <= delta);
            assert!(c.delta(lo).expect("d").upper.expect("u") >= delta);
        }
    }
}

#[test]
fn long_compositions_contour_against_pld_and_refusal_over_budget() {
    let ev = rr(0.5, 4, 100_000);
    let c = accountant(AccountantKind::Contour, Adjacency::ReplaceOne, &ev)
        .epsilon(1e-6)
        .expect("contour at 1e5");
    let p = accountant(AccountantKind::Pld, Adjacency::ReplaceOne, &ev)
        .epsilon(1e-6)
        .expect("pld at 1e5");
    assert!(
        c.lower.expect("l") <= p.upper.expect("u") && p.lower.expect("l") <= c.upper.expect("u"),
        "contour {:?} vs pld {:?}",
        (c.lower, c.upper),
        (p.lower, p.upper)
    );
    let r = accountant(AccountantKind::Rdp, Adjacency::ReplaceOne, &ev)
        .epsilon(1e-6)
        .expect("rdp at 1e5");
    assert!(c.lower.expect("l") <= r.epsilon);
    // 10⁷ steps: over the exact composition's work budget; the periodic inversion
    // (docs/math.md §16.8) answers, narrow and above the 10⁵-step answer.
    let big = rr(0.5, 4, 10_000_000);
    let b = accountant(AccountantKind::Contour, Adjacency::ReplaceOne, &big)
        .epsilon(1e-6)
        .expect("contour at 1e7");
    let (bl, bu) = (b.lower.expect("l"), b.upper.expect("u"));
    assert!(bl <= bu && bu - bl <= 1e-6 * bu, "[{bl}, {bu}]");
    assert!(bu >= c.lower.expect("l"), "{bu} below the 1e5 answer");
}

#[test]
fn replace_one_gaussian_is_the_gaussian_with_half_sigma() {
    for kind in [
        AccountantKind::Gdp,
        AccountantKind::Contour,
        AccountantKind::Pld,
    ] {
        let a = accountant(
            kind,
            Adjacency::ReplaceOne,
            &DpEvent::SelfComposed {
                event: Box::new(DpEvent::Gaussian { sigma: 3.0 }),
                count: 20,
            },
        )
        .delta(2.0)
        .expect("replace-one");
        let b = accountant(
            kind,
            Adjacency::AddRemove,
            &DpEvent::SelfComposed {
                event: Box::new(DpEvent::Gaussian { sigma: 1.5 }),
                count: 20,
            },
        )
        .delta(2.0)
        .expect("add-remove");
        assert!(
            (a.delta - b.delta).abs() <= 1e-12 * b.delta,
            "{kind}: {} vs {}",
            a.delta,
            b.delta
        );
        assert_eq!(a.adjacency, Adjacency::ReplaceOne);
    }
}

#[test]
fn unsupported_relations_are_refused_by_every_accountant() {
    let laplace = DpEvent::Laplace { scale: 1.0 };
    // The subsampled Gaussian (q < 1) under replace-one is supported since issue #15 (its
    // Gaussian-mixture pair, docs/math.md §17; tests/mixture.rs).
    let cases = [
        (laplace, Adjacency::ReplaceOne),
        (dlap(1.0, 1, 3), Adjacency::ReplaceOne),
        (rr(0.5, 3, 3), Adjacency::AddRemove),
        (rr(0.5, 3, 3), Adjacency::Remove),
    ];
    for kind in AccountantKind::ALL.iter().copied() {
        for (ev, adj) in &cases {
            let mut a = build(&AccountantConfig::default_for(kind, *adj)).expect("setup");
            match a.compose(ev, 1) {
                Err(e @ Error::UnsupportedEvent { .. }) => {
                    assert!(e.to_string().contains("adjacency"), "{e}");
                    assert!(e.is_usage());
                }
                other => panic!("{kind} {adj} {ev:?}: expected a refusal, got {other:?}"),
            }
        }
    }
    // GDP refuses the lattice mechanisms under their own relations.
    let mut g = build(&AccountantConfig::default_for(
        AccountantKind::Gdp,
        Adjacency::ReplaceOne,
    ))
    .expect("setup");
    assert!(g.compose(&rr(0.5, 3, 3), 1).is_err());
}

#[test]
fn randomized_response_edge_cases_are_exact() {
    for (p, k, eps_want) in [(0.0, 3, f64::INFINITY), (1.0, 3, 0.0), (0.4, 1, 0.0)] {
        let r = accountant(AccountantKind::Contour, Adjacency::ReplaceOne, &rr(p, k, 5))
            .epsilon(1e-5)
            .expect("edge case");
        assert_eq!(r.epsilon, eps_want, "p={p} k={k}");
    }
}

/// The contour's certified ends for RR at n steps.
fn rr_delta(p: f64, k: u64, n: u64, eps: f64) -> (f64, f64) {
    let mut c = ContourAccountant::new(ContourParams {
        adjacency: Adjacency::ReplaceOne,
        tolerance: 1e-9,
    })
    .expect("setup");
    c.compose(&rr(p, k, n), 1).expect("setup");
    let r = c.delta(eps).expect("delta");
    (r.lower.expect("l"), r.upper.expect("u"))
}

fn dlap_eps(a: f64, d: u64, n: u64, delta: f64) -> (f64, f64) {
    let r = accountant(
        AccountantKind::Contour,
        Adjacency::AddRemove,
        &dlap(a, d, n),
    )
    .epsilon(delta)
    .expect("eps");
    (r.lower.expect("l"), r.upper.expect("u"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// δ non-increasing in ε, lower ≤ upper (certified ends compared across the two points).
    #[test]
    fn delta_non_increasing_in_epsilon(p in 0.05f64..0.95, k in 2u64..10, n in 1u64..200,
                                       e in 0.0f64..5.0, de in 0.0f64..2.0) {
        let (lo1, up1) = rr_delta(p, k, n, e);
        let (lo2, up2) = rr_delta(p, k, n, e + de);
        prop_assert!(lo1 <= up1 && lo2 <= up2);
        prop_assert!(lo2 <= up1);
    }

    /// ε non-increasing in the noise (RR: p up), non-decreasing in steps.
    #[test]
    fn rr_epsilon_monotone(p in 0.05f64..0.9, dp in 0.0f64..0.09, k in 2u64..10, n in 1u64..150,
                           dn in 0u64..50) {
        let e = |p: f64, n: u64| {
            let r = accountant(AccountantKind::Contour, Adjacency::ReplaceOne, &rr(p, k, n))
                .epsilon(1e-5).expect("eps");
            (r.lower.expect("l"), r.upper.expect("u"))
        };
        let base = e(p, n);
        let noisier = e(p + dp, n);
        let longer = e(p, n + dn);
        prop_assert!(noisier.0 <= base.1);
        prop_assert!(base.0 <= longer.1);
    }

    /// Discrete Laplace: ε non-increasing in the noise (a down), non-decreasing in steps and Δ.
    #[test]
    fn dlap_epsilon_monotone(a in 0.05f64..1.5, f in 0.5f64..1.0, d in 1u64..4, n in 1u64..80,
                             dn in 0u64..30) {
        let base = dlap_eps(a, d, n, 1e-6);
        let noisier = dlap_eps(a * f, d, n, 1e-6);
        let longer = dlap_eps(a, d, n + dn, 1e-6);
        let wider = dlap_eps(a, d + 1, n, 1e-6);
        prop_assert!(base.0 <= base.1);
        prop_assert!(noisier.0 <= base.1);
        prop_assert!(base.0 <= longer.1);
        prop_assert!(base.0 <= wider.1);
    }
}

fn ewtune(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_ewtune"))
        .args(args)
        .output()
        .expect("run ewtune");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// ε of 100 steps of RR(p = 0.5, k = 4), replace-one, by the contour, as JSON.
const RR_CONTOUR_JSON: &[&str] = &[
    "epsilon",
    "--mechanism",
    "randomized-response",
    "--noise-parameter",
    "0.5",
    "--buckets",
    "4",
    "--steps",
    "100",
    "--delta",
    "1e-5",
    "--adjacency",
    "replace-one",
    "--accountant",
    "contour",
    "--format",
    "json",
];

#[test]
fn cli_answers_and_refuses_by_flag() {
    let (rc, out, err) = ewtune(RR_CONTOUR_JSON);
    assert_eq!(rc, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["adjacency"], "replace-one");
    let (rc, _, err) = ewtune(&[
        "delta",
        "--mechanism",
        "discrete-laplace",
        "--parameter",
        "0.3",
        "--sensitivity",
        "2",
        "--steps",
        "10",
        "--epsilon",
        "1",
        "--accountant",
        "pld",
    ]);
    assert_eq!(rc, 0, "{err}");
    let bad: &[(&[&str], &str)] = &[
        (
            &[
                "--noise-parameter",
                "1.5",
                "--buckets",
                "3",
                "--adjacency",
                "replace-one",
            ],
            "noise-parameter",
        ),
        (
            &[
                "--noise-parameter",
                "0.5",
                "--buckets",
                "0",
                "--adjacency",
                "replace-one",
            ],
            "buckets",
        ),
        (
            &[
                "--noise-parameter",
                "0.5",
                "--buckets",
                "2.5",
                "--adjacency",
                "replace-one",
            ],
            "buckets",
        ),
        (&["--noise-parameter", "0.5", "--buckets", "3"], "adjacency"),
        (
            &["--mechanism", "discrete-laplace", "--parameter", "-1"],
            "parameter",
        ),
        (
            &[
                "--mechanism",
                "discrete-laplace",
                "--parameter",
                "1",
                "--sensitivity",
                "1.5",
            ],
            "sensitivity",
        ),
        (
            &[
                "--mechanism",
                "discrete-laplace",
                "--parameter",
                "1",
                "--adjacency",
                "replace-one",
            ],
            "adjacency",
        ),
        (
            &[
                "--mechanism",
                "laplace",
                "--scale",
                "1",
                "--adjacency",
                "replace-one",
            ],
            "adjacency",
        ),
        (
            &["--mechanism", "gaussian", "--sigma", "1", "--buckets", "3"],
            "buckets",
        ),
    ];
    for (flags, name) in bad {
        let mut args = vec!["epsilon", "--delta", "1e-5", "--accountant", "pld"];
        args.extend_from_slice(flags);
        let (rc, _, err) = ewtune(&args);
        assert_eq!(rc, 2, "{args:?}: {err}");
        assert!(err.contains(name), "{args:?}: {err}");
    }
}

#[test]
fn cli_events_file_takes_snake_case_keys() {
    let dir = std::env::temp_dir().join(format!("ewtune-lattice-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let path = dir.join("events.json");
    let file = path.to_str().expect("utf8");
    // ε(1e-5) of the events file `body` with the extra flags.
    let with_events = |body: &str, extra: &[&str]| {
        std::fs::write(&path, body).expect("write");
        let mut args = vec!["epsilon", "--events", file, "--delta", "1e-5"];
        args.extend_from_slice(extra);
        ewtune(&args)
    };
    let (rc, out, err) = with_events(
        r#"{"events": [{"mechanism": "randomized-response", "noise_parameter": 0.5, "buckets": 4, "count": 100}]}"#,
        &[
            "--adjacency",
            "replace-one",
            "--accountant",
            "contour",
            "--format",
            "json",
        ],
    );
    assert_eq!(rc, 0, "{err}");
    let (rc2, out2, _) = ewtune(RR_CONTOUR_JSON);
    assert_eq!(rc2, 0);
    let a: serde_json::Value = serde_json::from_str(&out).expect("json");
    let b: serde_json::Value = serde_json::from_str(&out2).expect("json");
    assert_eq!(a["epsilon"], b["epsilon"]);
    let (rc, _, err) = with_events(
        r#"{"events": [{"mechanism": "discrete-laplace", "parameter": 0.5, "sensitivity": 1.5, "count": 3}]}"#,
        &[],
    );
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("sensitivity"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cli_calibrates_the_noise_knob_in_the_right_direction() {
    let run = |mech: &[&str], solve: &str, adjacency: &str| {
        let mut args = vec![
            "calibrate",
            "--steps",
            "50",
            "--target-epsilon",
            "3",
            "--delta",
            "1e-5",
            "--accountant",
            "contour",
            "--format",
            "json",
            "--solve",
            solve,
            "--adjacency",
            adjacency,
        ];
        args.extend_from_slice(mech);
        let (rc, out, err) = ewtune(&args);
        assert_eq!(rc, 0, "{args:?}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        v["value"].as_f64().expect("value")
    };
    let rr = |k: &'static str| {
        run(
            &["--mechanism", "randomized-response", "--buckets", k],
            "noise-parameter",
            "replace-one",
        )
    };
    let dl = |d: &'static str| {
        run(
            &["--mechanism", "discrete-laplace", "--sensitivity", d],
            "parameter",
            "add-remove",
        )
    };
    let (p, a) = (rr("4"), dl("1"));
    assert!(p > 0.0 && p < 1.0 && a > 0.0, "p = {p}, a = {a}");
    // The solved knobs meet the target: ε at (p, a) is ≤ 3, at a little less noise above it.
    // The certified upper end of ε(1e-5) after 50 steps, by the contour.
    let eps = |mech: &[&str]| {
        let mut args = vec![
            "epsilon",
            "--steps",
            "50",
            "--delta",
            "1e-5",
            "--accountant",
            "contour",
            "--format",
            "json",
        ];
        args.extend_from_slice(mech);
        let (rc, out, err) = ewtune(&args);
        assert_eq!(rc, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        v["upper"].as_f64().expect("upper")
    };
    let rr_eps = |p: f64| {
        let p = p.to_string();
        let mech = ["--mechanism", "randomized-response", "--buckets", "4"];
        eps(&[
            &mech[..],
            &["--noise-parameter", &p, "--adjacency", "replace-one"],
        ]
        .concat())
    };
    let dl_eps = |a: f64| {
        let a = a.to_string();
        eps(&["--mechanism", "discrete-laplace", "--parameter", &a])
    };
    assert!(rr_eps(p) <= 3.0 && rr_eps(p * 0.99) > 3.0);
    assert!(dl_eps(a) <= 3.0 && dl_eps(a * 1.01) > 3.0);
    // The other knob's --solve is refused, naming the flag.
    let (rc, _, err) = ewtune(&[
        "calibrate",
        "--mechanism",
        "discrete-laplace",
        "--steps",
        "5",
        "--target-epsilon",
        "1",
        "--delta",
        "1e-5",
        "--solve",
        "noise-parameter",
    ]);
    assert_eq!(rc, 2);
    assert!(err.contains("solve"), "{err}");
}
