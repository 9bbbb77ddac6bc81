//! The contour accountant on the Poisson-subsampled Laplace mechanism (docs/math.md §15.6):
//! one step against an exact x-space closed form, the ε brackets against dp_accounting 0.6.0's
//! PLD rows (tests/reference/subsampled_laplace.csv) and our PLD bracket, q = 1 against the
//! plain Laplace contour, width ≤ 1e−6 relative, monotonicity in ε, steps, q and the scale, and
//! the refusals, and few-step queries at extreme parameters answering or refusing.

mod common;

use common::{pld, read_csv, subsampled_laplace_exact_delta, subsampled_laplace_steps as event};
use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;
use ewtune::Error;

const TOL: f64 = 1e-7;

fn contour(adjacency: Adjacency, e: &DpEvent) -> ContourAccountant {
    let mut a = ContourAccountant::new(ContourParams {
        adjacency,
        tolerance: TOL,
    })
    .expect("test setup");
    a.compose(e, 1).expect("test setup");
    a
}

fn ends(r: &ewtune::accountant::Report) -> (f64, f64) {
    (
        r.lower.expect("certified lower end"),
        r.upper.expect("certified upper end"),
    )
}

/// One step, both orderings, a grid of (b, q, ε): the certified bracket contains the exact δ
/// (to its f64 rounding, 1e−12 relative) and is at most 1e−6 wide (relative).
#[test]
fn one_step_brackets_contain_the_exact_delta() {
    for &b in &[0.4, 1.0, 3.0] {
        for &q in &[0.01, 0.2, 0.7] {
            for (adj, add) in [(Adjacency::Remove, false), (Adjacency::Add, true)] {
                let acc = contour(adj, &event(b, q, 1));
                for &eps in &[0.0, 0.003, 0.05, 0.3, 1.0] {
                    let want = subsampled_laplace_exact_delta(b, q, eps, add);
                    let r = acc.delta(eps).expect("certified");
                    let (lo, up) = ends(&r);
                    let slack = 1e-12 * want + 1e-300;
                    assert!(
                        lo <= want + slack && want <= up + slack,
                        "b {b} q {q} add {add} eps {eps}: [{lo:e}, {up:e}] vs {want:e}"
                    );
                    if want > 0.0 {
                        assert!(
                            up - lo <= 1e-6 * want,
                            "b {b} q {q} add {add} eps {eps}: [{lo:e}, {up:e}]"
                        );
                    } else {
                        assert_eq!(up, 0.0, "b {b} q {q} add {add} eps {eps}");
                    }
                }
            }
        }
    }
}

/// Every dp_accounting row (add-remove, 1–1000 steps, δ ∈ {1e−5, 1e−6}): the certified ε
/// bracket overlaps dp_accounting's [optimistic, pessimistic] (which brackets the true ε up to
/// its own f64 rounding, 1e−9 relative here) and is at most 1e−6 wide (relative).
#[test]
fn epsilon_brackets_overlap_dp_accounting_rows() {
    for row in read_csv("subsampled_laplace.csv") {
        let f = |k: &str| row[k].parse::<f64>().expect("csv number");
        let (b, q, steps, delta) = (f("scale"), f("sampling_rate"), f("steps"), f("delta"));
        let (opt, pess) = (f("eps_optimistic"), f("eps_pessimistic"));
        let acc = contour(Adjacency::AddRemove, &event(b, q, steps as u64));
        let r = acc.epsilon(delta).expect("certified");
        let (lo, up) = ends(&r);
        assert!(
            lo <= pess * (1.0 + 1e-9) && opt * (1.0 - 1e-9) <= up,
            "b {b} q {q} n {steps} delta {delta}: [{lo}, {up}] vs dp_accounting [{opt}, {pess}]"
        );
        assert!(
            up - lo <= 1e-6 * up,
            "b {b} q {q} n {steps} delta {delta}: [{lo}, {up}]"
        );
    }
}

/// Our PLD bracket (grid 1e−4) and the contour's overlap on δ(ε), several compositions and both
/// orderings.
#[test]
fn delta_brackets_overlap_the_pld_bracket() {
    for &(b, q, n, eps) in &[
        (1.0, 0.1, 50u64, 1.0),
        (0.5, 0.02, 200, 0.8),
        (2.0, 0.5, 30, 1.5),
    ] {
        for adj in [Adjacency::Remove, Adjacency::Add] {
            let e = event(b, q, n);
            let c = contour(adj, &e).delta(eps).expect("certified");
            let p = pld(adj, Some(1e-4), &e).delta(eps).expect("pld");
            let (cl, cu) = ends(&c);
            let (pl, pu) = ends(&p);
            assert!(
                cl <= pu && pl <= cu,
                "b {b} q {q} n {n} {adj:?}: contour [{cl:e}, {cu:e}] pld [{pl:e}, {pu:e}]"
            );
            assert!(
                cu - cl <= 1e-6 * cu,
                "b {b} q {q} n {n} {adj:?}: [{cl:e}, {cu:e}]"
            );
        }
    }
}

/// q = 1 is the Laplace mechanism: the same brackets as the plain Laplace contour; q = 1 − 1e−9
/// goes through the subsampled transform and lands within 1e−6 of it.
#[test]
fn sampling_rate_one_is_the_laplace_contour() {
    for &(b, n) in &[(1.0, 10u64), (4.0, 300)] {
        let lap = DpEvent::SelfComposed {
            event: Box::new(DpEvent::Laplace { scale: b }),
            count: n,
        };
        let want = contour(Adjacency::AddRemove, &lap)
            .epsilon(1e-6)
            .expect("certified");
        let got = contour(Adjacency::AddRemove, &event(b, 1.0, n))
            .epsilon(1e-6)
            .expect("certified");
        assert_eq!(ends(&got), ends(&want));
        let near = contour(Adjacency::AddRemove, &event(b, 1.0 - 1e-9, n))
            .epsilon(1e-6)
            .expect("certified");
        let (nl, nu) = ends(&near);
        let (wl, wu) = ends(&want);
        assert!(
            nl <= wu * (1.0 + 1e-6) && wl <= nu * (1.0 + 1e-6),
            "{near:?} {want:?}"
        );
        assert!(nu <= wu * (1.0 + 1e-6), "{nu} {wu}");
    }
}

/// δ non-increasing in ε; ε non-decreasing in steps and q, non-increasing in the scale (each
/// checked on certified ends: the larger quantity's upper end is at least the smaller one's
/// lower end).
#[test]
fn monotone_in_epsilon_steps_rate_and_scale() {
    let acc = contour(Adjacency::AddRemove, &event(1.0, 0.05, 500));
    let mut prev_lo = f64::INFINITY;
    for eps in [0.2, 0.5, 1.0, 2.0, 4.0] {
        let (lo, up) = ends(&acc.delta(eps).expect("certified"));
        assert!(lo <= prev_lo, "eps {eps}");
        assert!(up <= prev_lo.max(up), "eps {eps}");
        prev_lo = lo;
    }
    let eps_of = |b: f64, q: f64, n: u64| {
        ends(
            &contour(Adjacency::AddRemove, &event(b, q, n))
                .epsilon(1e-5)
                .expect("certified"),
        )
    };
    let mut prev = (0.0, 0.0);
    for n in [10u64, 100, 1000, 5000] {
        let cur = eps_of(1.0, 0.05, n);
        assert!(cur.1 >= prev.0, "steps {n}: {cur:?} after {prev:?}");
        prev = cur;
    }
    let mut prev = (0.0, 0.0);
    for q in [0.01, 0.05, 0.2, 0.6] {
        let cur = eps_of(1.0, q, 100);
        assert!(cur.1 >= prev.0, "q {q}: {cur:?} after {prev:?}");
        prev = cur;
    }
    let mut prev = (f64::INFINITY, f64::INFINITY);
    for b in [0.5, 1.0, 2.0, 8.0] {
        let cur = eps_of(b, 0.05, 100);
        assert!(cur.0 <= prev.1, "b {b}: {cur:?} after {prev:?}");
        prev = cur;
    }
}

/// Long compositions: 10⁴ steps (lattice part summed) and 2·10⁵ (no lattice split: the atoms'
/// n-th power bounds the integrand) give brackets ≤ 1e−6 wide, ordered in n.
#[test]
fn long_compositions_are_certified_and_ordered() {
    let e4 = ends(
        &contour(Adjacency::AddRemove, &event(2.0, 0.01, 10_000))
            .epsilon(1e-6)
            .expect("certified"),
    );
    let e5 = ends(
        &contour(Adjacency::AddRemove, &event(2.0, 0.01, 200_000))
            .epsilon(1e-6)
            .expect("certified"),
    );
    assert!(e4.1 - e4.0 <= 1e-6 * e4.1, "{e4:?}");
    assert!(e5.1 - e5.0 <= 1e-6 * e5.1, "{e5:?}");
    assert!(e5.0 >= e4.1, "{e4:?} {e5:?}");
}

/// δ is exactly 0 at and above the largest loss of both orderings; a = 1/b above 300 is refused
/// with NotCertified (its transform overflows f64), never a number.
#[test]
fn largest_loss_and_refusals() {
    let (b, q) = (1.0f64, 0.3f64);
    let remove_max = (1.0 - q + q * (1.0 / b).exp()).ln();
    let add_max = -(1.0 - q + q * (-1.0 / b).exp()).ln();
    let acc = contour(Adjacency::AddRemove, &event(b, q, 1));
    let r = acc
        .delta(remove_max.max(add_max) * (1.0 + 1e-12))
        .expect("exact");
    assert_eq!(ends(&r), (0.0, 0.0));
    let acc = contour(Adjacency::AddRemove, &event(1.0 / 400.0, 0.3, 10));
    match acc.epsilon(1e-6) {
        Err(Error::NotCertified(msg)) => assert!(msg.contains("a = 1/b"), "{msg}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Few steps at large a = 1/b, q near 0 and near 1, tiny δ: the continuous part's mass near ℓ₋
/// is a spike no affordable node count resolves. Each query either answers with a bracket
/// that holds our PLD's (where pld answers) or is refused as not certified, never another error
/// (the short-composition work cap, docs/math.md §15.6.6, keeps each to seconds).
#[test]
fn few_steps_at_extreme_parameters_answer_or_refuse() {
    // (b, q, steps, δ for an ε query, ε for a δ query).
    type Case = (f64, f64, u64, Option<f64>, Option<f64>);
    let cases: [Case; 6] = [
        (0.01022, 0.003118, 39, None, Some(0.00152595)),
        (0.05039, 3.261e-8, 81, Some(1.2163e-90), None),
        (0.03901, 0.9997, 61, None, Some(0.681509)),
        (0.01847, 0.4675, 57, Some(6.83827e-121), None),
        (0.25, 1.0 - 1e-9, 3, Some(1e-5), None),
        (100.0, 1e-9, 2, None, Some(1e-12)),
    ];
    for (b, q, n, delta, eps) in cases {
        let e = event(b, q, n);
        let acc = contour(Adjacency::AddRemove, &e);
        let got = match (delta, eps) {
            (Some(d), _) => acc.epsilon(d),
            (_, Some(x)) => acc.delta(x),
            _ => unreachable!(),
        };
        match got {
            Ok(r) => {
                let (lo, up) = ends(&r);
                assert!(lo <= up, "b {b} q {q} n {n}: [{lo}, {up}]");
                if let Some(x) = eps {
                    if let Ok(p) = pld(Adjacency::AddRemove, Some(1e-3), &e).delta(x) {
                        let (pl, pu) = ends(&p);
                        assert!(
                            lo <= pu && pl <= up,
                            "b {b} q {q} n {n}: [{lo:e}, {up:e}] vs pld [{pl:e}, {pu:e}]"
                        );
                    }
                }
            }
            Err(Error::NotCertified(_)) => {}
            Err(other) => panic!("b {b} q {q} n {n}: {other:?}"),
        }
    }
}
