//! Gaussian-mixture pairs (docs/math.md §17): the mixture of Gaussians and the replace-one
//! Poisson-subsampled Gaussian. Reductions to known mechanisms (the subsampled Gaussian, the
//! Gaussian at σ/2), an exact single-step δ(ε), dp_accounting 0.6.0 references
//! (tests/reference/mixture.csv, wor_rdp.csv), properties, and CLI refusals.

mod common;

use common::{mixture_of_gaussians_steps as mog, pld};
use ewtune::accountant::rdp::{RdpAccountant, RdpParams};
use ewtune::accountant::{Accountant, PldAccountant};
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction, GaussianMixture, Mechanism};
use ewtune::precision::Precision;
use ewtune::special::normal;
use proptest::prelude::*;

fn bracket(a: &PldAccountant, delta: f64) -> (f64, f64) {
    let r = a.epsilon(delta).expect("epsilon");
    (r.lower.expect("lower"), r.upper.expect("upper"))
}

fn overlap(a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
    a.0 <= b.1 * (1.0 + tol) + tol && b.0 <= a.1 * (1.0 + tol) + tol
}

/// c = {0, 1}, p = {1 − q, q} is the Poisson-subsampled Gaussian, both orderings: PLD brackets
/// overlap and certified cumulants intersect.
#[test]
fn two_point_mixture_is_the_subsampled_gaussian() {
    for &(s, q) in &[(1.0, 0.01), (0.8, 0.2), (2.0, 0.5)] {
        for steps in [1u64, 30] {
            let a = pld(
                Adjacency::AddRemove,
                None,
                &mog(s, &[0.0, 1.0], &[1.0 - q, q], steps),
            );
            let b = pld(Adjacency::AddRemove, None, &DpEvent::dpsgd(s, q, steps));
            for &d in &[1e-5, 1e-8] {
                let (x, y) = (bracket(&a, d), bracket(&b, d));
                assert!(
                    overlap(x, y, 1e-9),
                    "σ={s} q={q} n={steps} δ={d}: {x:?} vs {y:?}"
                );
            }
        }
        let m = Mechanism::GaussianMixture(
            GaussianMixture::mixture_of_gaussians(s, &[0.0, 1.0], &[1.0 - q, q]).expect("setup"),
        );
        let g = Mechanism::SubsampledGaussian(
            ewtune::mechanism::SubsampledGaussian::new(s, q).expect("setup"),
        );
        for dir in [Direction::Remove, Direction::Add] {
            let cm = m.certified_cumulants(dir, Precision(128)).expect("mixture");
            let cg = g
                .certified_cumulants(dir, Precision(128))
                .expect("subsampled");
            for j in 0..6 {
                for (u, v) in [(&cm.p[j], &cg.p[j]), (&cm.q[j], &cg.q[j])] {
                    assert!(
                        u.lo_f64() <= v.hi_f64() && v.lo_f64() <= u.hi_f64(),
                        "σ={s} q={q} {dir:?} κ{}: [{}, {}] vs [{}, {}]",
                        j + 1,
                        u.lo_f64(),
                        u.hi_f64(),
                        v.lo_f64(),
                        v.hi_f64()
                    );
                }
            }
        }
    }
}

/// Exact single-step δ(ε) of the replace-one pair in x-space: the loss is increasing, so the
/// positive part is x > x* with L(x*) = ε and δ = Q(x > x*) − e^ε P(x > x*) (closed form in Φ̄).
fn replace_one_delta(s: f64, q: f64, eps: f64) -> f64 {
    let mu = 1.0 / s;
    let ln_p = |x: f64| ((1.0 - q) * normal::pdf(x) + q * normal::pdf(x + mu)).ln();
    let ln_q = |x: f64| ((1.0 - q) * normal::pdf(x) + q * normal::pdf(x - mu)).ln();
    let (mut a, mut b) = (-50.0, 50.0);
    if ln_q(b) - ln_p(b) <= eps {
        return 0.0;
    }
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if ln_q(m) - ln_p(m) > eps {
            b = m
        } else {
            a = m
        }
    }
    let x = b;
    let sq = (1.0 - q) * normal::sf(x) + q * normal::sf(x - mu);
    let sp = (1.0 - q) * normal::sf(x) + q * normal::sf(x + mu);
    (sq - eps.exp() * sp).max(0.0)
}

#[test]
fn replace_one_single_step_brackets_contain_the_exact_delta() {
    for &(s, q) in &[(1.0, 0.05), (0.5, 0.3), (2.0, 0.9)] {
        let acc = pld(Adjacency::ReplaceOne, Some(1e-3), &DpEvent::dpsgd(s, q, 1));
        for &eps in &[0.0, 0.01, 0.1, 0.5, 2.0] {
            let exact = replace_one_delta(s, q, eps);
            let r = acc.delta(eps).expect("delta");
            let (lo, up) = (r.lower.expect("lower"), r.upper.expect("upper"));
            assert!(
                lo <= exact + 1e-12 && exact <= up + 1e-12,
                "σ={s} q={q} ε={eps}: exact {exact:e} outside [{lo:e}, {up:e}]"
            );
        }
    }
}

/// q → 1 is the Gaussian at σ/2 (q = 1 itself is mapped to it exactly); q = 1 is refused by the
/// mixture's own constructor, naming the parameter.
#[test]
fn replace_one_near_one_is_the_half_sigma_gaussian() {
    for &s in &[0.7, 2.0] {
        let near = pld(
            Adjacency::ReplaceOne,
            None,
            &DpEvent::dpsgd(s, 1.0 - 1e-9, 20),
        );
        let gauss = pld(
            Adjacency::AddRemove,
            None,
            &DpEvent::SelfComposed {
                event: Box::new(DpEvent::Gaussian { sigma: 0.5 * s }),
                count: 20,
            },
        );
        let (x, y) = (bracket(&near, 1e-5), bracket(&gauss, 1e-5));
        assert!(overlap(x, y, 1e-6), "σ={s}: {x:?} vs {y:?}");
        let one = pld(Adjacency::ReplaceOne, None, &DpEvent::dpsgd(s, 1.0, 20));
        assert_eq!(bracket(&one, 1e-5), y);
    }
    let err = GaussianMixture::replace_one_poisson(1.0, 1.0).unwrap_err();
    assert!(err.to_string().contains("sampling_rate"), "{err}");
}

/// Our certified PLD ε bracket overlaps dp_accounting's [optimistic, pessimistic] estimates on
/// every row (2e-3 relative for dp_accounting's own 1e-4 grid), and our RDP is never below our
/// PLD lower end.
#[test]
fn pld_brackets_overlap_dp_accounting() {
    let rows = common::read_csv("mixture.csv");
    assert!(rows.len() >= 40, "{} rows", rows.len());
    for r in &rows {
        let num = |k: &str| r[k].parse::<f64>().expect("csv number");
        let list = |k: &str| -> Vec<f64> {
            r[k].split(';')
                .map(|v| v.parse().expect("csv number"))
                .collect()
        };
        let (s, steps, delta) = (num("sigma"), num("steps") as u64, num("delta"));
        let (e, adj) = if r["kind"] == "mog" {
            let (c, p) = (list("sensitivities"), list("probabilities"));
            (mog(s, &c, &p, steps), Adjacency::AddRemove)
        } else {
            (
                DpEvent::dpsgd(s, num("sampling_rate"), steps),
                Adjacency::ReplaceOne,
            )
        };
        let ours = bracket(&pld(adj, None, &e), delta);
        let theirs = (num("eps_optimistic"), num("eps_pessimistic"));
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

/// Fixed-size batches without replacement under replace-one: the tight pair of docs/math.md
/// §17.6 is (P, (1 − γ)P + γQ) for the base mechanism's replace-one pair (P, Q), both
/// orderings. dp_accounting's WOR RDP (Wang, Balle and Kasiviswanathan 2019, Thm 27) takes σ
/// relative to the replace-one sensitivity, i.e. base pair N(0, σ²) vs N(1, σ²), so in its
/// convention the tight pair is the add/remove subsampled Gaussian at σ and γ = b/n (at σ/2 in
/// ours, where clipping to norm 1 gives replacement sensitivity 2). Its certified ε (PLD upper
/// end) is never above dp_accounting's RDP ε (a valid but looser bound) on any row.
#[test]
fn without_replacement_tight_pair_is_below_dp_accounting_rdp() {
    let rows = common::read_csv("wor_rdp.csv");
    assert!(rows.len() >= 16);
    for r in &rows {
        let num = |k: &str| r[k].parse::<f64>().expect("csv number");
        let (s, n, b) = (num("sigma"), num("dataset_size"), num("batch_size"));
        let e = DpEvent::dpsgd(s, b / n, num("steps") as u64);
        let (_, up) = bracket(&pld(Adjacency::AddRemove, None, &e), num("delta"));
        let theirs = num("eps_rdp");
        assert!(
            up <= theirs * (1.0 + 1e-9),
            "{r:?}: ours {up} above RDP {theirs}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// Mixture of Gaussians: δ non-increasing in ε, ε non-increasing in σ and non-decreasing
    /// in steps, lower ≤ upper.
    #[test]
    fn mixture_is_monotone(s in 0.6f64..3.0, p2 in 0.01f64..0.3, steps in 1u64..40,
                           e1 in 0.1f64..2.0, de in 0.05f64..1.0) {
        let (c, p) = ([0.0, 1.0, 2.0], [1.0 - 0.1 - p2, 0.1, p2]);
        let a = pld(Adjacency::AddRemove, None, &mog(s, &c, &p, steps));
        let d1 = a.delta(e1).expect("delta");
        let d2 = a.delta(e1 + de).expect("delta");
        prop_assert!(d1.lower.unwrap() <= d1.upper.unwrap());
        prop_assert!(d2.lower.unwrap() <= d1.upper.unwrap());
        let (lo, up) = bracket(&a, 1e-5);
        prop_assert!(lo <= up);
        let louder = bracket(&pld(Adjacency::AddRemove, None, &mog(1.3 * s, &c, &p, steps)), 1e-5);
        prop_assert!(louder.0 <= up);
        let longer = bracket(&pld(Adjacency::AddRemove, None, &mog(s, &c, &p, steps + 5)), 1e-5);
        prop_assert!(lo <= longer.1);
    }

    /// Replace-one subsampled Gaussian: ε non-decreasing in the sampling rate and steps,
    /// non-increasing in σ.
    #[test]
    fn replace_one_is_monotone(s in 0.6f64..3.0, q in 0.005f64..0.5, steps in 1u64..40) {
        let at = |s: f64, q: f64, n: u64| {
            bracket(&pld(Adjacency::ReplaceOne, None, &DpEvent::dpsgd(s, q, n)), 1e-5)
        };
        let base = at(s, q, steps);
        prop_assert!(base.0 <= base.1);
        prop_assert!(base.0 <= at(s, (1.5 * q).min(0.99), steps).1);
        prop_assert!(base.0 <= at(s, q, steps + 5).1);
        prop_assert!(at(1.3 * s, q, steps).0 <= base.1);
    }
}

#[test]
fn cli_flags_and_refusals() {
    let ok = common::json_ok(&[
        "epsilon",
        "--mechanism",
        "mixture-of-gaussians",
        "--sigma",
        "1",
        "--sensitivities",
        "0,1,2",
        "--probabilities",
        "0.6,0.3,0.1",
        "--steps",
        "10",
        "--delta",
        "1e-5",
        "--accountant",
        "pld",
        "--format",
        "json",
    ]);
    assert!(ok["epsilon"].as_f64().expect("epsilon") > 0.0, "{ok}");
    let bad: &[(&[&str], &str, i32)] = &[
        (
            &["--sensitivities", "0,1", "--probabilities", "0.5,0.4"],
            "probabilities",
            2,
        ),
        (
            &["--sensitivities", "0,-1", "--probabilities", "0.5,0.5"],
            "sensitivities",
            2,
        ),
        (
            &["--sensitivities", "0,1", "--probabilities", "0.5"],
            "probabilities",
            2,
        ),
        (
            &["--sensitivities", "0,x", "--probabilities", "0.5,0.5"],
            "sensitivities",
            2,
        ),
        (&["--probabilities", "1"], "sensitivities", 2),
        (
            &[
                "--sensitivities",
                "0,1",
                "--probabilities",
                "0.5,0.5",
                "--accountant",
                "gdp",
            ],
            "contour, pld, rdp, edgeworth and saddlepoint",
            2,
        ),
        (
            &[
                "--sensitivities",
                "0,1",
                "--probabilities",
                "0.5,0.5",
                "--adjacency",
                "replace-one",
                "--accountant",
                "pld",
            ],
            "replace-one",
            2,
        ),
    ];
    for (extra, needle, code) in bad {
        let mut args = vec![
            "epsilon",
            "--mechanism",
            "mixture-of-gaussians",
            "--sigma",
            "1",
            "--delta",
            "1e-5",
        ];
        args.extend_from_slice(extra);
        let out = common::ewtune().args(&args).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // Sensitivities on another mechanism are refused by name.
    let out = common::ewtune()
        .args([
            "epsilon",
            "--sigma",
            "1",
            "--sensitivities",
            "1",
            "--delta",
            "1e-5",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    // The replace-one subsampled Gaussian runs (no longer refused at q < 1).
    let r = common::json_ok(&[
        "epsilon",
        "--sigma",
        "1",
        "--sampling-rate",
        "0.01",
        "--adjacency",
        "replace-one",
        "--steps",
        "100",
        "--delta",
        "1e-5",
        "--accountant",
        "pld",
        "--format",
        "json",
    ]);
    assert!(r["epsilon"].as_f64().expect("epsilon") > 0.0);
}

/// `calibrate --solve sigma` for a mixture of Gaussians (pld, certified): the answer meets the
/// target and the other end of the final bracket does not; other `--solve` values exit 2.
#[test]
fn cli_calibrates_the_mixture_sigma() {
    let (c, p) = ([0.0, 1.0, 2.0], [0.6, 0.3, 0.1]);
    let v = common::json_ok(&[
        "calibrate",
        "--mechanism",
        "mixture-of-gaussians",
        "--sensitivities",
        "0,1,2",
        "--probabilities",
        "0.6,0.3,0.1",
        "--steps",
        "20",
        "--target-epsilon",
        "2",
        "--delta",
        "1e-5",
        "--accountant",
        "pld",
        "--format",
        "json",
    ]);
    let s = v["sigma"].as_f64().expect("sigma");
    let other = v["other_end"].as_f64().expect("other end");
    assert!(other < s && s - other <= 2e-4 * s, "{v}");
    let up = |sigma: f64| {
        bracket(
            &pld(Adjacency::AddRemove, None, &mog(sigma, &c, &p, 20)),
            1e-5,
        )
        .1
    };
    assert!(up(s) <= 2.0, "{}", up(s));
    assert!(up(other) > 2.0, "{}", up(other));
    let out = common::ewtune()
        .args([
            "calibrate",
            "--mechanism",
            "mixture-of-gaussians",
            "--sensitivities",
            "0,1,2",
            "--probabilities",
            "0.6,0.3,0.1",
            "--target-epsilon",
            "2",
            "--delta",
            "1e-5",
            "--solve",
            "steps",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--solve sigma"));
}
