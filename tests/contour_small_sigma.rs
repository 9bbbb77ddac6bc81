//! Contour at small σ: the add ordering skipped where the remove ordering decides ε
//! (docs/math.md §15.1.5), and calibration targets the contour cannot certify refused up front.

use assert_cmd::Command;
use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction};

fn eps(adjacency: Adjacency, sigma: f64, q: f64, m: u64, delta: f64) -> ewtune::Result<(f64, f64)> {
    let mut a = ContourAccountant::new(ContourParams {
        adjacency,
        tolerance: 1e-9,
    })?;
    a.compose(&DpEvent::dpsgd(sigma, q, m), 1)?;
    let r = a.epsilon(delta)?;
    Ok((r.lower.unwrap(), r.upper.unwrap()))
}

/// Over small and moderate σ, two q and two step counts: the add-remove bracket is the remove
/// ordering's exactly wherever the add ordering was not inverted, and that happens only where the
/// remove lower end is at or above the add ordering's largest loss n·ln(1/(1 − q)). Where the add
/// ordering is inverted on its own, its certified upper end never exceeds that largest loss.
#[test]
fn add_ordering_is_skipped_only_where_the_remove_ordering_decides() {
    let delta = 1e-5;
    let mut skipped = 0;
    let mut inverted = 0;
    for &(q, m) in &[(0.01_f64, 100u64), (0.002, 1000u64)] {
        let s_max = m as f64 * -(-q).ln_1p();
        for &sigma in &[0.0625, 0.25, 0.6, 1.5] {
            let mut acc = ContourAccountant::new(ContourParams {
                adjacency: Adjacency::AddRemove,
                tolerance: 1e-9,
            })
            .unwrap();
            acc.compose(&DpEvent::dpsgd(sigma, q, m), 1).unwrap();
            let r = acc.epsilon(delta).unwrap();
            let (lo, up) = (r.lower.unwrap(), r.upper.unwrap());
            let (rlo, rup) = eps(Adjacency::Remove, sigma, q, m, delta).unwrap();
            let skip = r.notes.iter().any(|n| n.contains("not inverted"));
            let add = r
                .orderings
                .iter()
                .find(|o| o.direction == Direction::Add)
                .unwrap();
            if skip {
                skipped += 1;
                assert!(rlo >= s_max, "sigma {sigma} q {q}: skipped below S_max");
                assert_eq!((lo, up), (rlo, rup), "sigma {sigma} q {q} m {m}");
                assert!(add.upper.unwrap() >= s_max * (1.0 - 1e-12));
            } else {
                inverted += 1;
                assert!(rlo < s_max, "sigma {sigma} q {q}: not skipped above S_max");
                // The combined bracket is the max of the two orderings' brackets.
                let a_up = add.upper.unwrap();
                assert!(
                    a_up <= s_max * (1.0 + 1e-12),
                    "sigma {sigma}: add {a_up} > {s_max}"
                );
                assert!(lo >= rlo && up >= rup && up == rup.max(a_up));
            }
        }
    }
    assert!(
        skipped >= 2 && inverted >= 2,
        "{skipped} skipped, {inverted} inverted"
    );
}

/// An add-ordering ε query alone: its certified upper end never passes the largest loss (δ is
/// exactly 0 there), or the call refuses; never an ε above it.
#[test]
fn add_ordering_upper_end_stays_at_or_below_the_largest_loss() {
    let (q, m) = (0.01_f64, 100u64);
    let s_max = m as f64 * -(-q).ln_1p();
    for &sigma in &[0.25, 0.5, 1.0] {
        match eps(Adjacency::Add, sigma, q, m, 1e-5) {
            Ok((lo, up)) => assert!(lo <= up && up <= s_max * (1.0 + 1e-12), "sigma {sigma}"),
            Err(e) => assert!(!e.is_usage(), "sigma {sigma}: {e}"),
        }
    }
}

/// Calibration with the contour accountant to a target above 10⁴ (the largest ε it certifies) is
/// a usage error naming target_epsilon, for every solved parameter, before any evaluation.
#[test]
fn contour_calibration_target_above_its_range_is_refused() {
    let cases: [&[&str]; 3] = [
        &["--sampling-rate", "0.01", "--steps", "100"],
        &[
            "--solve",
            "steps",
            "--sigma",
            "0.05",
            "--sampling-rate",
            "0.01",
        ],
        &[
            "--solve",
            "sampling-rate",
            "--sigma",
            "0.05",
            "--steps",
            "100",
        ],
    ];
    for target in ["1e6", "10000.5"] {
        for rest in cases {
            let out = Command::cargo_bin("ewtune")
                .unwrap()
                .args(["calibrate", "--accountant", "contour", "--delta", "1e-5"])
                .args(["--target-epsilon", target])
                .args(rest)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{target} {rest:?}: {err}");
            assert!(
                err.contains("target_epsilon") || err.contains("target-epsilon"),
                "{err}"
            );
        }
    }
    // At the limit itself the search runs (and answers or refuses; not a usage error).
    let out = Command::cargo_bin("ewtune")
        .unwrap()
        .args(["calibrate", "--accountant", "contour", "--delta", "1e-5"])
        .args([
            "--target-epsilon",
            "8",
            "--sampling-rate",
            "0.01",
            "--steps",
            "100",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Far below the transform's quadrature range (σ from 1e−6 down to 1e−100, where one real-λ
/// summary of the subsampled Gaussian would need 10¹² to 10²⁰⁰ x-nodes) every ordering and both
/// queries refuse as a limit of the method, naming the node count, before anything is built:
/// the ε query's fallback guess used to build that quadrature at λ = 1 and abort on the
/// allocation (σ = 1e−10) or on an integer overflow counting its nodes (σ = 1e−100).
#[test]
fn far_below_the_quadrature_range_every_query_refuses_without_aborting() {
    for &sigma in &[1e-6, 1e-10, 1e-20, 1e-100] {
        for &q in &[1e-6, 0.01, 0.5] {
            for adjacency in [Adjacency::Remove, Adjacency::Add, Adjacency::AddRemove] {
                let mut a = ContourAccountant::new(ContourParams {
                    adjacency,
                    tolerance: 1e-9,
                })
                .unwrap();
                a.compose(&DpEvent::dpsgd(sigma, q, 10), 1).unwrap();
                for r in [a.epsilon(1e-5), a.delta(1.0)] {
                    match r {
                        Err(ewtune::Error::NotCertified(m)) => assert!(
                            m.contains("x-nodes") || m.contains("largest epsilon"),
                            "σ={sigma} q={q} {adjacency:?}: {m}"
                        ),
                        // A δ query may be decided without any quadrature (ε at or above the
                        // add ordering's largest loss): then it is exact and certified.
                        Ok(r) => assert!(
                            r.lower.is_some() && r.upper.is_some(),
                            "σ={sigma} q={q} {adjacency:?}: {r:?}"
                        ),
                        Err(e) => panic!("σ={sigma} q={q} {adjacency:?}: {e}"),
                    }
                }
            }
        }
    }
}

/// δ near 1 (ε far below the bulk of the loss: σ = 0.0052 and 0.01, q = 0.38 and 0.01, 1 000 and
/// 31 823 steps, ε = 0.0037 and 1; docs/math.md §15.1.6): the contour and the saddle-point
/// accountant answer with the complement bound's lower end where it is within their width, and
/// every bracket overlaps pld's (at its finest default grid). Before, the contour refused every
/// one ("an error term ... is not finite") and the saddle-point accountant took up to 20 s to
/// refuse ("precision exhausted"). Where δ is within 10⁻⁹ of 1 both answer [≥ 1 − 10⁻⁹, 1], the
/// saddle-point accountant without its tilted representation.
#[test]
fn near_one_delta_queries_are_answered_by_the_complement() {
    use ewtune::accountant::{PldAccountant, PldParams, SaddlePointAccountant, SaddlePointParams};
    let mut answered_near_one = 0;
    for (sigma, q, steps) in [
        (0.0052, 0.38, 31_823u64),
        (0.0052, 0.38, 1000),
        (0.01, 0.38, 1000),
        (0.01, 0.01, 31_823),
        (0.01, 0.01, 1000),
    ] {
        let event = DpEvent::dpsgd(sigma, q, steps);
        let mut pld = PldAccountant::new(PldParams::default()).expect("pld");
        pld.compose(&event, 1).expect("pld");
        for eps in [0.0037, 1.0] {
            let tag = format!("sigma={sigma} q={q} n={steps} eps={eps}");
            let p = pld.delta(eps).ok();
            let mut contour = ContourAccountant::new(ContourParams {
                adjacency: Adjacency::AddRemove,
                tolerance: 1e-9,
            })
            .expect("contour");
            contour.compose(&event, 1).expect("contour");
            let c = contour
                .delta(eps)
                .unwrap_or_else(|e| panic!("{tag}: contour {e}"));
            let (lo, up) = (c.lower.expect("lower"), c.upper.expect("upper"));
            assert!(
                lo > 0.99 && up <= 1.0 && lo <= up,
                "{tag}: contour [{lo}, {up}]"
            );
            if let Some(p) = &p {
                let (plo, pup) = (p.lower.expect("pld lower"), p.upper.expect("pld upper"));
                assert!(
                    lo <= pup && plo <= up,
                    "{tag}: contour [{lo}, {up}], pld [{plo}, {pup}]"
                );
            }
            if q == 0.38 || steps == 31_823 {
                assert!(lo >= 1.0 - 1e-9, "{tag}: contour lower end {lo}");
                let mut sp = SaddlePointAccountant::new(SaddlePointParams {
                    adjacency: Adjacency::AddRemove,
                    bracket: true,
                    ..SaddlePointParams::default()
                })
                .expect("saddlepoint");
                sp.compose(&event, 1).expect("saddlepoint");
                let s = sp
                    .delta(eps)
                    .unwrap_or_else(|e| panic!("{tag}: saddlepoint {e}"));
                let (slo, sup) = (s.lower.expect("lower"), s.upper.expect("upper"));
                assert!(
                    slo >= 1.0 - 1e-9 && sup <= 1.0,
                    "{tag}: saddlepoint [{slo}, {sup}]"
                );
                assert!(
                    s.notes.iter().any(|n| n.contains("complement bound")),
                    "{tag}: {:?}",
                    s.notes
                );
                answered_near_one += 1;
            }
        }
    }
    assert!(answered_near_one >= 8);
}
