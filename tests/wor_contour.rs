//! The contour accountant on fixed-size batches (docs/math.md §17.11): the half-line transform
//! of the symmetrised pair (§17.7), its certified ε bracket against our certified PLD bracket,
//! ≤ 1e−6 relative width, at or above the attained lower bound (max over orderings of the
//! composed Poisson pairs, §17.6), monotonicity, the refusal of mixed compositions, and the CLI.

mod common;

use common::pld;
use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;

use common::fixed_size_steps as wor;

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

/// Few steps (where the atom's power a^n is not small and the continuous part decays only like
/// 1/|t|): the bracket is still certified (overlaps the PLD bracket, at or above the attained
/// lower bound, and the exact one-step value at n = 1), possibly wider than asked (the node cap).
#[test]
fn few_steps_stay_certified() {
    for &(s, n, b) in &[(1.0, 60_000u64, 256u64), (2.0, 100, 50), (0.8, 1_000, 100)] {
        for steps in [1u64, 2, 10] {
            let e = wor(s, n, b, steps);
            let ours = eps_bracket(&contour(1e-9, &e), 1e-5);
            let theirs = eps_bracket(&pld(Adjacency::ReplaceOne, None, &e), 1e-5);
            assert!(
                overlap(ours, theirs, 1e-12),
                "σ={s} n={n} b={b} T={steps}: contour {ours:?}, pld {theirs:?}"
            );
            assert!(ours.1 - ours.0 <= 1e-3 * ours.1, "contour {ours:?}");
            let g = b as f64 / n as f64;
            let attained = eps_bracket(
                &pld(
                    Adjacency::AddRemove,
                    None,
                    &DpEvent::dpsgd(0.5 * s, g, steps),
                ),
                1e-5,
            );
            assert!(ours.1 >= attained.0, "{ours:?} below attained {attained:?}");
        }
    }
}

/// δ non-increasing in ε and ε non-decreasing in steps, compared through the certified
/// brackets (the lower end of the larger quantity against the upper end of the smaller);
/// lower ≤ upper.
#[test]
fn monotone_in_epsilon_and_steps() {
    for &(s, n, b) in &[(1.0, 60_000u64, 256u64), (1.5, 1_000, 100)] {
        let a = contour(1e-9, &wor(s, n, b, 500));
        let mut prev: Option<(f64, f64)> = None;
        for k in 0..12 {
            let eps = 0.5 + 0.75 * f64::from(k);
            let d = delta_bracket(&a, eps);
            assert!(d.0 <= d.1, "{d:?}");
            if let Some(p) = prev {
                assert!(d.0 <= p.1, "σ={s}: δ({eps}) = {d:?} above δ before {p:?}");
            }
            prev = Some(d);
        }
        let mut prev_eps: Option<(f64, f64)> = None;
        for steps in [50u64, 200, 1_000, 5_000] {
            let e = eps_bracket(&contour(1e-9, &wor(s, n, b, steps)), 1e-6);
            if let Some(p) = prev_eps {
                assert!(p.0 <= e.1, "σ={s}: ε at {steps} steps {e:?} below {p:?}");
            }
            prev_eps = Some(e);
        }
    }
}

/// Cost flat in steps: 10², 10⁴, 10⁶ steps all give a narrow certified bracket (timing is in
/// the bench, not asserted here).
#[test]
fn long_compositions_are_narrow() {
    for steps in [100u64, 10_000, 1_000_000] {
        let e = wor(2.0, 60_000, 256, steps);
        let ours = eps_bracket(&contour(1e-9, &e), 1e-6);
        assert!(
            ours.0 > 0.0 && ours.1 - ours.0 <= 1e-6 * ours.1,
            "T={steps}: {ours:?}"
        );
    }
}

/// A fixed-size-batch mechanism composed with any other mechanism is refused by the contour
/// (its atom split needs a homogeneous composition), naming the mechanism and the pld; the
/// pld accounts for it. Very small σ: certified or refused, never a panic.
#[test]
fn mixed_compositions_are_refused_by_name() {
    let mut a = ContourAccountant::new(ContourParams {
        adjacency: Adjacency::ReplaceOne,
        tolerance: 1e-9,
    })
    .expect("setup");
    a.compose(&wor(1.0, 1_000, 10, 100), 1).expect("compose");
    let err = a
        .compose(&DpEvent::Gaussian { sigma: 3.0 }, 1)
        .expect_err("mixed composition must be refused")
        .to_string();
    assert!(err.contains("homogeneous") && err.contains("pld"), "{err}");
    let mut b = ContourAccountant::new(ContourParams {
        adjacency: Adjacency::ReplaceOne,
        tolerance: 1e-9,
    })
    .expect("setup");
    b.compose(&DpEvent::Gaussian { sigma: 3.0 }, 1)
        .expect("compose");
    assert!(b.compose(&wor(1.0, 1_000, 10, 100), 1).is_err());
    // The same mechanism composed twice stays homogeneous.
    a.compose(&wor(1.0, 1_000, 10, 100), 1).expect("compose");
    let two = eps_bracket(&a, 1e-5);
    let once = eps_bracket(&contour(1e-9, &wor(1.0, 1_000, 10, 200)), 1e-5);
    assert!(overlap(two, once, 1e-12), "{two:?} vs {once:?}");
    for sigma in [0.05, 0.2] {
        match contour(1e-9, &wor(sigma, 1_000, 10, 100)).epsilon(1e-5) {
            Ok(r) => {
                let (lo, up) = (r.lower.expect("lower"), r.upper.expect("upper"));
                let p = eps_bracket(
                    &pld(Adjacency::ReplaceOne, None, &wor(sigma, 1_000, 10, 100)),
                    1e-5,
                );
                assert!(overlap((lo, up), p, 1e-12), "σ={sigma}: {lo} {up} vs {p:?}");
            }
            Err(e) => {
                let m = e.to_string();
                assert!(!m.is_empty() && !m.contains("panick"), "σ={sigma}: {m}");
            }
        }
    }
}

/// The CLI answers `--sampling without-replacement --accountant contour` with a certified
/// bracket (exit 0) and calibrates σ with it; `compare` lists the contour's answer.
#[test]
fn cli_contour_answers_and_calibrates() {
    let base = [
        "--mechanism",
        "gaussian",
        "--sampling",
        "without-replacement",
        "--dataset-size",
        "60000",
        "--batch-size",
        "256",
        "--steps",
        "1000",
        "--adjacency",
        "replace-one",
        "--accountant",
        "contour",
        "--delta",
        "1e-5",
        "--format",
        "json",
    ];
    let mut args = vec!["epsilon", "--sigma", "1.0"];
    args.extend_from_slice(&base);
    let v = common::json_ok(&args);
    let eps = v["epsilon"].as_f64().expect("epsilon");
    assert!((eps - 7.5734197982).abs() < 1e-6, "{v}");
    let mut args = vec!["calibrate", "--solve", "sigma", "--target-epsilon", "8"];
    args.extend_from_slice(&base);
    let v = common::json_ok(&args);
    let sigma = v["sigma"].as_f64().expect("sigma");
    assert!(sigma > 0.9 && sigma < 1.0, "{v}");
    // The σ found meets the target by the contour's certified upper end.
    let up = eps_bracket(&contour(1e-9, &wor(sigma, 60_000, 256, 1_000)), 1e-5).1;
    assert!(up <= 8.0 * (1.0 + 1e-9), "σ = {sigma}: upper {up}");
}

/// Every row of tests/reference/wor_rdp.csv (dp_accounting 0.6.0's RDP for
/// SampledWithoutReplacementDpEvent, σ relative to the replace-one sensitivity, so ours is 2σ,
/// docs/math.md §17.6): the contour's certified ε bracket (capped brackets included, at few
/// steps) lies at or below dp_accounting's RDP upper bound and overlaps our certified PLD bracket.
#[test]
fn contour_is_below_dp_accounting_wor_rdp_on_every_row() {
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
        let ours = eps_bracket(&contour(1e-9, &e), delta);
        let theirs = num("eps_rdp");
        assert!(
            ours.1 <= theirs * (1.0 + 1e-9),
            "{r:?}: contour {ours:?} above RDP {theirs}"
        );
        let p = eps_bracket(&pld(Adjacency::ReplaceOne, None, &e), delta);
        assert!(
            overlap(ours, p, 1e-12),
            "{r:?}: contour {ours:?}, pld {p:?}"
        );
    }
}

/// Large σ and tiny δ, where the saddle point's λ exceeds what the transform's quadrature can
/// afford (λ is then held below it): every answer is within the width limit (1e−3 relative at
/// this tolerance) and above the attained lower bound, or the call refuses and says why; never
/// a wide bracket returned as if it met the tolerance. The first row returned [0.0108, 0.0977]
/// before, the fifth [0.0706, 0.479] (docs/math.md §15.1.4).
#[test]
fn lambda_held_below_the_saddle_is_narrow_or_refused() {
    let rows: [(f64, u64, u64, u64, f64); 6] = [
        (131.255, 25_479, 154, 146, 6.396e-128),
        (876.11, 2_625, 1, 8_947_857, 2.142e-161),
        (100.0, 10_000, 100, 100, 1e-100),
        (30.0, 60_000, 256, 1_000, 1e-200),
        (10.0, 1_000, 10, 10, 1e-60),
        (1000.0, 100, 1, 1_000_000, 1e-300),
    ];
    for &(s, n, b, steps, delta) in &rows {
        let a = contour(1e-7, &wor(s, n, b, steps));
        match a.epsilon(delta) {
            Ok(r) => {
                let (lo, up) = (r.lower.expect("lower"), r.upper.expect("upper"));
                assert!(
                    up - lo <= a.capped_width_limit() * up,
                    "σ={s} n={n} b={b} T={steps} δ={delta}: [{lo:e}, {up:e}] returned"
                );
                // The attained lower bound (max over orderings of the composed Poisson pairs at
                // σ/2, docs/math.md §17.6), by the add-remove contour where it answers.
                let mut poisson = ContourAccountant::new(ContourParams {
                    adjacency: Adjacency::AddRemove,
                    tolerance: 1e-7,
                })
                .expect("setup");
                poisson
                    .compose(&DpEvent::dpsgd(0.5 * s, b as f64 / n as f64, steps), 1)
                    .expect("compose");
                let attained = poisson
                    .epsilon(delta)
                    .map_or(0.0, |r| r.lower.unwrap_or(0.0));
                assert!(up >= attained * (1.0 - 1e-9), "{up} < attained {attained}");
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("held below the saddle point")
                        || msg.contains("capped by the work limit")
                        || msg.contains("large against delta")
                        || msg.contains("budget"),
                    "σ={s} n={n} b={b} T={steps} δ={delta}: unexpected refusal {msg}"
                );
            }
        }
    }
}
