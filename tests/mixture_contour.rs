//! The contour accountant on Gaussian-mixture pairs (docs/math.md §17.9): the two-component
//! mixture against the subsampled-Gaussian contour, certified brackets against dp_accounting
//! 0.6.0's PLD (tests/reference/mixture.csv) and our PLD, the exact single-step δ, and the CLI.

mod common;

use common::{mixture_of_gaussians_steps as mog, pld};
use ewtune::accountant::{Accountant, ContourAccountant, ContourParams, PldAccountant};
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;
use ewtune::special::normal;

fn contour(adjacency: Adjacency, tolerance: f64, e: &DpEvent) -> ContourAccountant {
    let mut a = ContourAccountant::new(ContourParams {
        adjacency,
        tolerance,
    })
    .expect("setup");
    a.compose(e, 1).expect("compose");
    a
}

fn eps_bracket(a: &dyn Accountant, delta: f64) -> (f64, f64) {
    let r = a.epsilon(delta).expect("epsilon");
    (r.lower.expect("lower"), r.upper.expect("upper"))
}

fn delta_bracket(a: &dyn Accountant, eps: f64) -> (f64, f64) {
    let r = a.delta(eps).expect("delta");
    (r.lower.expect("lower"), r.upper.expect("upper"))
}

fn overlap(a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
    a.0 <= b.1 * (1.0 + tol) + tol && b.0 <= a.1 * (1.0 + tol) + tol
}

/// c = {0, 1}, p = {1 − q, q} is the Poisson-subsampled Gaussian (both orderings): the contour
/// maps it to the subsampled transform (docs/math.md §17.9; the general mixture transform is
/// compared with it inside the library, transform::mixture's tests), so the brackets agree, at
/// 1, 10 and 1000 steps.
#[test]
fn two_component_mixture_reproduces_the_subsampled_contour() {
    for &(s, q) in &[(1.0, 0.01), (0.8, 0.2), (2.0, 0.5)] {
        for steps in [1u64, 10, 1000] {
            let a = contour(
                Adjacency::AddRemove,
                1e-10,
                &mog(s, &[0.0, 1.0], &[1.0 - q, q], steps),
            );
            let b = contour(Adjacency::AddRemove, 1e-10, &DpEvent::dpsgd(s, q, steps));
            for &d in &[1e-5, 1e-8] {
                let (x, y) = (eps_bracket(&a, d), eps_bracket(&b, d));
                assert!(
                    overlap(x, y, 0.0),
                    "σ={s} q={q} n={steps} δ={d}: {x:?} vs {y:?}"
                );
                assert!(
                    (x.1 - x.0) <= 1e-8 * x.1 && (x.0 - y.0).abs() <= 1e-8 * y.0,
                    "σ={s} q={q} n={steps} δ={d}: {x:?} vs {y:?}"
                );
            }
            let eps = 1.0;
            let (x, y) = (delta_bracket(&a, eps), delta_bracket(&b, eps));
            assert!(overlap(x, y, 0.0), "σ={s} q={q} n={steps}: {x:?} vs {y:?}");
        }
    }
}

/// Every row of tests/reference/mixture.csv: the contour's certified ε bracket overlaps
/// dp_accounting's [optimistic, pessimistic] (2e−3 relative for its 1e−4 grid) and our certified
/// PLD bracket (exactly: both are certified), and is at most 1e−6 wide relative.
#[test]
fn contour_brackets_overlap_dp_accounting_and_pld() {
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
        let ours = eps_bracket(&contour(adj, 1e-9, &e), delta);
        let theirs = (num("eps_optimistic"), num("eps_pessimistic"));
        assert!(
            overlap(ours, theirs, 2e-3),
            "{r:?}: contour {ours:?}, dp_accounting {theirs:?}"
        );
        let p: PldAccountant = pld(adj, None, &e);
        let pb = eps_bracket(&p, delta);
        assert!(
            overlap(ours, pb, 0.0),
            "{r:?}: contour {ours:?}, pld {pb:?}"
        );
        assert!(ours.1 - ours.0 <= 1e-6 * ours.1, "{r:?}: contour {ours:?}");
    }
}

/// The exact single-step δ(ε) of a pair with an increasing loss: δ = Q(X > x*) − e^ε P(X > x*),
/// L(x*) = ε, by bisection in x (independent of the library).
fn exact_single_step(p: &[(f64, f64)], q: &[(f64, f64)], eps: f64) -> f64 {
    let dens =
        |s: &[(f64, f64)], x: f64| s.iter().map(|(w, m)| w * normal::pdf(x - m)).sum::<f64>();
    let sf = |s: &[(f64, f64)], x: f64| s.iter().map(|(w, m)| w * normal::sf(x - m)).sum::<f64>();
    let l = |x: f64| dens(q, x).ln() - dens(p, x).ln();
    let (mut a, mut b) = (-30.0, 30.0);
    if l(b) <= eps {
        return 0.0;
    }
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if l(m) > eps {
            b = m
        } else {
            a = m
        }
    }
    (sf(q, b) - eps.exp() * sf(p, b)).max(0.0)
}

/// One step: the contour's δ bracket contains the exact δ (both orderings of a three-component
/// mixture, and the replace-one pair) and is narrow.
#[test]
fn single_step_brackets_contain_the_exact_delta() {
    let (s, c, pr) = (1.0, [0.0, 1.0, 2.0], [0.6, 0.3, 0.1]);
    let q: Vec<(f64, f64)> = c.iter().zip(&pr).map(|(c, p)| (*p, c / s)).collect();
    let p = vec![(1.0, 0.0)];
    let q_reflected: Vec<(f64, f64)> = q.iter().map(|(w, m)| (*w, -m)).collect();
    let rem = contour(Adjacency::Remove, 1e-10, &mog(s, &c, &pr, 1));
    let add = contour(Adjacency::Add, 1e-10, &mog(s, &c, &pr, 1));
    let (sr, qr) = (0.8, 0.1);
    let ro_p = vec![(1.0 - qr, 0.0), (qr, -1.0 / sr)];
    let ro_q = vec![(1.0 - qr, 0.0), (qr, 1.0 / sr)];
    let ro = contour(Adjacency::ReplaceOne, 1e-10, &DpEvent::dpsgd(sr, qr, 1));
    for eps in [0.0, 0.05, 0.5, 1.5, 3.0] {
        for (acc, want) in [
            (&rem, exact_single_step(&p, &q, eps)),
            // The add ordering (P, Q) = (Q_remove, P_remove), reflected x → −x so that its
            // loss increases.
            (&add, exact_single_step(&q_reflected, &p, eps)),
            (&ro, exact_single_step(&ro_p, &ro_q, eps)),
        ] {
            let b = delta_bracket(acc, eps);
            assert!(
                b.0 <= want * (1.0 + 1e-12) + 1e-15 && want <= b.1 * (1.0 + 1e-12) + 1e-15,
                "ε={eps}: exact {want:e} outside {b:?}"
            );
            assert!(
                b.1 - b.0 <= 1e-9 * want.max(1e-300) + 1e-15,
                "ε={eps}: {b:?}"
            );
        }
    }
}

/// δ non-increasing in ε and ε non-decreasing in steps (certified ends) for a mixture.
#[test]
fn contour_is_monotone() {
    let (c, p) = ([0.0, 0.5, 1.0], [0.5, 0.3, 0.2]);
    let mut prev = (0.0, 0.0);
    for steps in [5u64, 50, 500] {
        let a = contour(Adjacency::AddRemove, 1e-9, &mog(0.9, &c, &p, steps));
        let e = eps_bracket(&a, 1e-6);
        assert!(
            e.0 >= prev.0 * (1.0 - 1e-9) && e.0 <= e.1,
            "{steps}: {e:?} after {prev:?}"
        );
        prev = e;
        let mut last = f64::INFINITY;
        for eps in [0.1, 0.5, 1.0, 2.0, 4.0] {
            let d = delta_bracket(&a, eps);
            assert!(d.0 <= last, "{steps} ε={eps}: {d:?} above {last}");
            last = d.1;
        }
    }
}

/// The CLI answers a mixture of Gaussians with the contour (exit 0, a certified bracket).
#[test]
fn cli_contour_answers_mixtures() {
    let v = common::json_ok(&[
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
        "100",
        "--delta",
        "1e-5",
        "--accountant",
        "contour",
        "--format",
        "json",
    ]);
    let e = v["epsilon"].as_f64().expect("epsilon");
    assert!(e > 0.0 && e.is_finite(), "{v}");
}

/// Where the quadrature cannot be afforded (means c/σ in the thousands) the contour refuses
/// with an error naming the cause, never a number, a panic or a hang.
#[test]
fn extreme_sigma_is_refused_not_answered() {
    let a = contour(
        Adjacency::AddRemove,
        1e-9,
        &mog(1e-3, &[0.0, 1.0, 2.0], &[0.6, 0.3, 0.1], 5),
    );
    for r in [a.epsilon(1e-6).err(), a.delta(1.0).err()] {
        let m = r.expect("refused").to_string();
        assert!(
            m.contains("contour") && (m.contains("budget") || m.contains("certif")),
            "{m}"
        );
    }
}
