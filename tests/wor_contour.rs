//! The contour accountant on fixed-size batches (docs/math.md §17.11): the half-line transform
//! of the symmetrised pair (§17.7), its certified ε bracket against our certified PLD bracket,
//! ≤ 1e−6 relative width, at or above the attained lower bound (max over orderings of the
//! composed Poisson pairs, §17.6), monotonicity, the refusal of mixed compositions, and the CLI.

mod common;

use common::pld;
use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;

fn wor(sigma: f64, n: u64, b: u64, steps: u64) -> DpEvent {
    DpEvent::SelfComposed {
        event: Box::new(DpEvent::SampledWithoutReplacement {
            source_dataset_size: n,
            sample_size: b,
            event: Box::new(DpEvent::Gaussian { sigma }),
        }),
        count: steps,
    }
}

fn contour(tolerance: f64, e: &DpEvent) -> ContourAccountant {
    let mut a = ContourAccountant::new(ContourParams {
        adjacency: Adjacency::ReplaceOne,
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

/// (σ, n, b, steps, δ): small and large batch fractions, noise, step counts, δ = 1e−5, 1e−6.
const ROWS: [(f64, u64, u64, u64, f64); 8] = [
    (1.0, 60_000, 256, 1_000, 1e-5),
    (1.0, 60_000, 256, 10_000, 1e-6),
    (0.8, 1_000, 100, 300, 1e-5),
    (2.0, 100, 50, 100, 1e-6),
    (1.5, 10_000, 100, 3_000, 1e-5),
    (4.0, 10, 9, 1_000, 1e-6),
    (0.7, 50_000, 500, 2_000, 1e-5),
    (3.0, 1_000, 10, 100_000, 1e-6),
];

/// Every row: the contour's certified ε bracket overlaps the certified PLD bracket, is ≤ 1e−6
/// relative wide, and its upper end is ≥ the attained lower bound (the max over orderings of
/// the composed Poisson pairs at σ/2, a valid lower bound on the truth, docs/math.md §17.6).
#[test]
fn contour_overlaps_pld_and_is_narrow() {
    for &(s, n, b, steps, delta) in &ROWS {
        let e = wor(s, n, b, steps);
        let t0 = std::time::Instant::now();
        let ours = eps_bracket(&contour(1e-9, &e), delta);
        let took = t0.elapsed();
        let theirs = eps_bracket(&pld(Adjacency::ReplaceOne, None, &e), delta);
        eprintln!(
            "σ={s} n={n} b={b} T={steps} δ={delta}: contour {ours:?} ({took:?}) pld {theirs:?}"
        );
        assert!(
            overlap(ours, theirs, 1e-12),
            "σ={s} n={n} b={b} T={steps} δ={delta}: contour {ours:?}, pld {theirs:?}"
        );
        assert!(ours.1 - ours.0 <= 1e-6 * ours.1, "contour {ours:?}");
        let g = b as f64 / n as f64;
        let attained = eps_bracket(
            &pld(
                Adjacency::AddRemove,
                None,
                &DpEvent::dpsgd(0.5 * s, g, steps),
            ),
            delta,
        );
        assert!(
            ours.1 >= attained.0,
            "σ={s} n={n} b={b} T={steps}: contour {ours:?} below attained {attained:?}"
        );
    }
}
