//! Issue #12 item 7: valid inputs over σ ∈ [1e-3, 1e4] × q ∈ [1e-6, 1] give finite answers or
//! a clear refusal, never an `InvalidParameter` (bad input) for a valid query, never NaN.

use ewtune::accountant::{
    Accountant, EdgeworthAccountant, EdgeworthParams, SaddlePointAccountant, SaddlePointParams,
};
use ewtune::error::Error;
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction, Mechanism, SubsampledGaussian};
use ewtune::precision::Precision;

const SIGMAS: [f64; 8] = [1e-3, 3e-3, 1e-2, 0.1, 1.0, 10.0, 1e2, 1e4];
const RATES: [f64; 5] = [1e-6, 1e-3, 0.1, 0.5, 1.0];

fn mech(sigma: f64, q: f64) -> Mechanism {
    Mechanism::SubsampledGaussian(SubsampledGaussian::new(sigma, q).expect("valid"))
}

#[test]
fn f64_cumulants_are_finite_over_the_class() {
    for &sigma in &SIGMAS {
        for &q in &RATES {
            for dir in [Direction::Remove, Direction::Add] {
                let c = mech(sigma, q).cumulants(dir);
                for (j, v) in c.p.iter().chain(&c.q).enumerate() {
                    assert!(v.is_finite(), "σ={sigma} q={q} {dir:?}: κ[{j}] = {v}");
                }
                // κ2 ≥ 0 on both sides up to rounding (at σ ≤ 0.01 the P side of the remove
                // ordering is ln(1 − q) up to e^{−μ²/8}: its true κ2 is below 1e−40).
                for k in [&c.p, &c.q] {
                    assert!(
                        k[1] >= -1e-12 * (1.0 + k[0] * k[0]),
                        "σ={sigma} q={q}: {c:?}"
                    );
                }
            }
        }
    }
}

/// For μ = 1/σ ≥ 100 the two mixture components are separated by ≥ 50 standard deviations:
/// under Q, L = ln q + μ²/2 + μZ with probability q and ln(1 − q) otherwise, up to terms far
/// below 1e−15 relative; so κ1 = q·a + (1−q)·b and κ2 = qμ² + q(1−q)(a − b)², a = ln q + μ²/2,
/// b = ln(1 − q).
#[test]
fn separated_mixture_limit_of_the_q_side() {
    for &(sigma, q) in &[(1e-2f64, 0.5f64), (1e-3, 0.5), (3e-3, 0.1), (1e-2, 1e-3)] {
        let mu: f64 = 1.0 / sigma;
        let a = q.ln() + mu * mu / 2.0;
        let b = (-q).ln_1p();
        let k1 = q * a + (1.0 - q) * b;
        let k2 = q * mu * mu + q * (1.0 - q) * (a - b) * (a - b);
        let c = mech(sigma, q).cumulants(Direction::Remove);
        // Tolerance 1e-8 relative (the f64 trapezoid's accuracy is ~1e-12 of ∫|g|).
        assert!(
            (c.q[0] / k1 - 1.0).abs() < 1e-8,
            "σ={sigma} q={q}: κ1 {} vs {k1}",
            c.q[0]
        );
        assert!(
            (c.q[1] / k2 - 1.0).abs() < 1e-8,
            "σ={sigma} q={q}: κ2 {} vs {k2}",
            c.q[1]
        );
        // P side: L = ln(1 − q) almost surely (the other component has P-mass Φ̄(μ/2)).
        assert!(
            (c.p[0] / b - 1.0).abs() < 1e-8,
            "σ={sigma} q={q}: κ1_P {}",
            c.p[0]
        );
    }
}

#[test]
fn certified_cumulants_answer_or_refuse_on_budget() {
    // Cheap points answer with enclosures containing the f64 values; σ = 1e-3 (q < 1) needs
    // ~1e8 node evaluations and is refused before any MPFR work, as a budget, not as bad input.
    for &(sigma, q) in &[(0.1, 0.5), (1.0, 1e-6), (1e4, 1e-3), (1e-3, 1.0)] {
        let m = mech(sigma, q);
        let c = m
            .certified_cumulants(Direction::Remove, Precision(128))
            .unwrap_or_else(|e| panic!("σ={sigma} q={q}: {e}"));
        let f = m.cumulants(Direction::Remove);
        for j in 0..2 {
            let (lo, hi) = (c.q[j].lo_f64(), c.q[j].hi_f64());
            let slack = 1e-9 * f.q[j].abs();
            assert!(
                lo - slack <= f.q[j] && f.q[j] <= hi + slack,
                "σ={sigma} q={q} κ{}",
                j + 1
            );
        }
    }
    for &(sigma, q) in &[(1e-3, 0.5), (1e-3, 1e-6)] {
        let t = std::time::Instant::now();
        let e = mech(sigma, q)
            .certified_cumulants(Direction::Remove, Precision(128))
            .expect_err("over budget");
        // A limit of the method, not of the input: exit 1, never reported as bad input.
        assert!(matches!(e, Error::NotCertified(_)), "σ={sigma} q={q}: {e}");
        assert!(!e.is_usage(), "σ={sigma} q={q}: {e}");
        assert!(
            t.elapsed().as_secs_f64() < 30.0,
            "refused before the MPFR work"
        );
    }
}

#[test]
fn edgeworth_epsilon_is_finite_or_a_computation_refusal() {
    for &sigma in &SIGMAS {
        for &q in &RATES {
            let mut a = EdgeworthAccountant::new(EdgeworthParams::default()).expect("valid");
            a.compose(&DpEvent::dpsgd(sigma, q, 1000), 1)
                .expect("composes");
            match a.epsilon(1e-5) {
                Ok(r) => assert!(
                    r.epsilon.is_finite() && r.epsilon >= 0.0,
                    "σ={sigma} q={q}: {r:?}"
                ),
                Err(e) => assert!(!e.is_usage(), "σ={sigma} q={q}: bad-input error {e}"),
            }
        }
    }
}

#[test]
fn edgeworth_with_certified_cumulants_falls_back_past_the_budget() {
    // The query: σ = 0.003 (certified quadrature over budget), q = 0.5, 1000 steps.
    let mut a = EdgeworthAccountant::new(EdgeworthParams {
        precision: Some(Precision(256)),
        ..EdgeworthParams::default()
    })
    .expect("valid");
    a.compose(&DpEvent::dpsgd(3e-3, 0.5, 1000), 1)
        .expect("composes");
    match a.epsilon(1e-5) {
        Ok(r) => {
            assert!(r.epsilon.is_finite(), "{r:?}");
            assert!(
                r.notes.iter().any(|n| n.contains("f64 quadrature")),
                "{:?}",
                r.notes
            );
        }
        Err(e) => assert!(!e.is_usage(), "bad-input error {e}"),
    }
}

#[test]
fn saddlepoint_small_sigma_answers_or_refuses_as_a_computation_limit() {
    // σ ≤ 1e-4: the remove ordering's f64 CGF is out of range already at the smallest tilt, so
    // the query is refused at once (before, the add ordering ran for minutes beside it, then an
    // internal error). σ = 1e-3, q = 0.5: the certified quadrature is over its work limit, a
    // refusal (exit 1), not "resource budget exceeded" reported as bad input (exit 2).
    // σ ≈ 2e-3 under add-remove: the saddle tilt's certified totals are over the work limit,
    // found in the f64 phase before either ordering's MPFR work (it used to take 100 s).
    let cases = [
        (1e-4, 0.5, 10, Adjacency::AddRemove),
        (1e-4, 1e-2, 10, Adjacency::AddRemove),
        (1e-5, 1e-3, 10, Adjacency::AddRemove),
        (1e-6, 1e-6, 10, Adjacency::Remove),
        (1e-3, 0.5, 10, Adjacency::Remove),
        (1.9812e-3, 2.2445e-3, 5408, Adjacency::AddRemove),
    ];
    for (sigma, q, steps, adjacency) in cases {
        let mut a = SaddlePointAccountant::new(SaddlePointParams {
            adjacency,
            ..SaddlePointParams::default()
        })
        .expect("valid");
        a.compose(&DpEvent::dpsgd(sigma, q, steps), 1)
            .expect("composes");
        for r in [a.epsilon(1e-5), a.epsilon(6.24e-9), a.delta(10.0)] {
            match r {
                Ok(r) => {
                    let (lo, hi) = (r.lower.expect("lower"), r.upper.expect("upper"));
                    assert!(lo <= hi && lo >= 0.0, "σ={sigma} q={q}: {r:?}");
                }
                Err(e) => assert!(
                    matches!(e, Error::NotCertified(_)),
                    "σ={sigma} q={q} {adjacency:?}: {e}"
                ),
            }
        }
    }
}

/// Below the f64 cumulant quadrature's range (σ ≲ 2e-4, where its step ~σ/12 over two windows
/// of fixed width needs more than 2e7 node evaluations) and down to σ = 1e-320 (μ = 1/σ not
/// finite), the Edgeworth accountant refuses at once as a limit of the method, with either
/// cumulant path (before, σ = 1e-4 ran for minutes and σ = 1e-320 never ended).
#[test]
fn edgeworth_refuses_below_its_quadrature_range_without_hanging() {
    for sigma in [1e-4, 1e-7, 1e-300, 1e-320] {
        for precision in [None, Some(Precision(256))] {
            let mut a = EdgeworthAccountant::new(EdgeworthParams {
                precision,
                ..EdgeworthParams::default()
            })
            .expect("valid");
            let r = a
                .compose(&DpEvent::dpsgd(sigma, 0.01, 1000), 1)
                .and_then(|_| a.epsilon(1e-5));
            match r {
                Err(Error::NotCertified(m)) => {
                    assert!(m.contains("node evaluations"), "σ={sigma}: {m}")
                }
                other => panic!("σ={sigma}, {precision:?}: expected a refusal, got {other:?}"),
            }
        }
    }
}
