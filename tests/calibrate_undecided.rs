//! Calibrations where the contour accountant cannot give its usual narrow bracket: a wide but
//! certified upper end still shows that a setting meets the target, and a setting the
//! accountant cannot decide is never reported as a certified miss ("no sigma meets").

use ewtune::accountant::contour::{ContourAccountant, ContourParams};
use ewtune::accountant::pld::{PldAccountant, PldParams};
use ewtune::accountant::{Accountant, AccountantConfig, Guarantee};
use ewtune::calibrate::{calibrate, CalibrationParams, Solve};
use ewtune::calibrate_lattice::calibrate_sigma;
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;
use ewtune::Error;

fn contour(tolerance: f64) -> AccountantConfig {
    AccountantConfig::Contour(ContourParams {
        adjacency: Adjacency::Remove,
        tolerance,
    })
}

fn pld_lower(sigma: f64, q: f64, steps: u64, delta: f64) -> f64 {
    let mut a = PldAccountant::new(PldParams {
        adjacency: Adjacency::Remove,
        ..PldParams::default()
    })
    .expect("pld");
    a.compose(&DpEvent::dpsgd(sigma, q, steps), 1).expect("pld");
    a.epsilon(delta).expect("pld").lower.expect("pld bracket")
}

/// Poisson sampling at q·n ≤ 3e−4 (q = 1e−5, 30 steps; q = 3e−6, 100 steps) and δ = 1e−10: at
/// σ = 1, where the calibration starts, the contour's certified bracket is far wider than its
/// width limit and a plain query refuses it. The calibration decides on the certified upper end
/// of the same contour returned wide, so it answers (it refused after ≈ 60 s, every σ from 1 to
/// 10⁴ counted as a miss), and its σ is certified: the contour's upper end at σ is ≤ the target.
/// At q = 1e−5 it is not absurdly conservative: PLD's certified lower end of ε at 0.8·σ exceeds
/// the target. At q = 3e−6 the brackets stay wide down to the answer (PLD certifies no upper end
/// at δ = 1e−10 there): the σ is certified but may be far above the least, and a note says so.
#[test]
fn a_wide_certified_upper_end_meets_the_target() {
    for (q, steps) in [(1e-5, 30u64), (3e-6, 100)] {
        let (target, delta) = (0.5, 1e-10);
        let mut plain = ContourAccountant::new(ContourParams {
            adjacency: Adjacency::Remove,
            tolerance: 1e-3,
        })
        .expect("contour");
        plain
            .compose(&DpEvent::dpsgd(1.0, q, steps), 1)
            .expect("compose");
        assert!(
            matches!(plain.epsilon(delta), Err(Error::NotCertified(_))),
            "q = {q}: the plain query at sigma = 1 is no longer refused; pick a harder setting"
        );
        let p = CalibrationParams {
            accountant: contour(1e-3),
            target_epsilon: target,
            delta,
            sampling_rate: Some(q),
            steps: Some(steps),
            rel_tol: 1e-2,
            envelope_points: 0,
            ..CalibrationParams::default()
        };
        let info = calibrate(&p).expect("calibrated");
        assert_eq!(info.guarantee, Guarantee::UpperBound);
        let up = info.report.upper.expect("bracket");
        assert!(up <= target, "q = {q}: upper end {up} above the target");
        // No certified lower end contradicts it.
        let lower = pld_lower(info.sigma, q, steps, delta);
        assert!(lower <= up, "q = {q}: PLD lower end {lower} above {up}");
        if q == 1e-5 {
            let below = pld_lower(0.8 * info.sigma, q, steps, delta);
            assert!(
                below > target,
                "sigma {} is more than 25% above the least sigma (PLD lower end {below} at 0.8 \
                 sigma)",
                info.sigma
            );
        } else {
            // Here the contour's brackets stay wide down to the answer: the σ is certified but
            // conservative, and the calibration says so.
            assert!(
                info.notes.iter().any(|n| n.contains("may lie well above")),
                "{:?}",
                info.notes
            );
        }
    }
}

/// At σ = 10⁴ (the end of the search range), q = 1.2e−6, 712 steps, δ = 4.7e−253, the contour's
/// certified bracket on ε is [1.5e−9, 1.28e−3]: its upper end misses the target 1.09e−3 but the
/// truth may not. The calibration says that nothing was certified (it said "no sigma meets").
/// Two targets around the bracket's lower end fix the class: below it the miss is certified.
#[test]
fn an_undecided_end_of_the_range_is_not_a_certified_miss() {
    let p = |target: f64| CalibrationParams {
        accountant: contour(1e-9),
        target_epsilon: target,
        delta: 4.65899e-253,
        solve: Solve::Sigma,
        sigma: Some(5000.0),
        sampling_rate: Some(1.2079e-6),
        steps: Some(712),
        ..CalibrationParams::default()
    };
    match calibrate(&p(1.09059e-3)) {
        Err(Error::NotCertified(m)) => {
            assert!(
                m.contains("was certified") && m.contains("contains the target"),
                "{m}"
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    match calibrate(&p(1e-9)) {
        Err(Error::NoSolution(m)) => assert!(m.contains("meets"), "{m}"),
        other => panic!("expected no solution, got {other:?}"),
    }
}

/// The per-event calibration (truncated Poisson, q ≈ 8e−7, B = 3, 11 204 steps): from σ = 300
/// up to 10⁴ the contour refuses (its upper bound on δ stays above δ), so the end of the range
/// is a failure, not a miss: refused as not certified, naming the accountant's reason (it said
/// "no sigma in [0.001, 10000] meets").
#[test]
fn a_failed_end_of_the_range_is_not_a_certified_miss() {
    let event = |sigma: f64| -> ewtune::Result<DpEvent> {
        Ok(DpEvent::TruncatedSubsampledGaussian {
            dataset_size: 337_488,
            sampling_probability: 7.9723e-7,
            truncated_batch_size: 3,
            noise_multiplier: sigma,
        })
    };
    let r = calibrate_sigma(
        &contour(1e-9),
        &event,
        11_204,
        (8.19041, 3.97479e-8, 1e-4),
        300.0,
        "sigma",
    );
    match r {
        Err(Error::NotCertified(m)) => {
            assert!(m.contains("was certified") && m.contains("contour"), "{m}")
        }
        other => panic!("expected a refusal, got {:?}", other.map(|c| c.sigma)),
    }
}

/// The per-event calibration prints the ε it decided on, the certified upper end (it printed
/// the bracket's midpoint, which is far below the upper end when the bracket is wide), and the
/// bracket itself in text.
#[test]
fn the_per_event_calibration_prints_the_upper_end_it_decided_on() {
    let args: Vec<&str> = "calibrate --mechanism laplace --adjacency remove --steps 10 \
                           --target-epsilon 1 --delta 1e-5 --accountant contour --solve scale"
        .split_whitespace()
        .collect();
    let out = assert_cmd::Command::cargo_bin("ewtune")
        .expect("binary")
        .args(&args)
        .args(["--format", "json"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let up = j["report"]["upper"].as_f64().expect("upper");
    assert_eq!(j["epsilon"].as_f64(), Some(up));
    assert!(up <= 1.0);
    let text = assert_cmd::Command::cargo_bin("ewtune")
        .expect("binary")
        .args(&args)
        .output()
        .expect("run");
    let s = String::from_utf8_lossy(&text.stdout);
    assert!(
        s.lines().any(|l| l.starts_with("bracket ")),
        "no bracket line in\n{s}"
    );
}

/// Solving for steps with pld where the next step count's bracket is vacuous ([0.635, ∞] at 12
/// steps: the grid's tail mass exceeds δ = 1e−12): the answer (11 steps) meets the target, and a
/// note says that 12 steps was not decided, so the largest step count may lie above it. Before,
/// the answer came with no note, as if 12 steps were a certified miss (contour's calibration
/// gives 220 steps).
#[test]
fn an_undecided_neighbour_of_the_answer_is_said_in_the_notes() {
    let info = calibrate(&CalibrationParams {
        accountant: AccountantConfig::Pld(PldParams::default()),
        target_epsilon: 2.547061173943486,
        delta: 1.0167438876321625e-12,
        solve: Solve::Steps,
        sigma: Some(4.758683170852639),
        sampling_rate: Some(0.11425706275907055),
        steps: None,
        ..CalibrationParams::default()
    })
    .expect("a calibration");
    assert!(info.epsilon <= 2.547061173943486);
    let (_, Some(next)) = info.bracket else {
        panic!("an infeasible end: {:?}", info.bracket)
    };
    assert!(
        info.notes
            .iter()
            .any(|n| n.contains(&format!("at steps = {next}")) && n.contains("may lie above")),
        "{:?}",
        info.notes
    );
}

/// A grid over its budget at a point the search chose is a failure at that point, not bad
/// input. DP-SGD solved for steps with pld (q = 3.7e−5, σ = 0.624, add ordering, target 0.05,
/// δ = 7e−12): the first point, 1 000 steps, needs ~5·10⁷ grid points; fewer steps fit. The
/// calibration answers with a certified step count and says that 1 000 steps failed (it ended
/// with the budget error, exit 2, before).
#[test]
fn a_grid_over_budget_at_a_searched_point_counts_as_a_miss() {
    let (target, delta) = (0.0500094, 7.02306e-12);
    let info = calibrate(&CalibrationParams {
        accountant: AccountantConfig::Pld(PldParams {
            adjacency: Adjacency::Add,
            ..PldParams::default()
        }),
        target_epsilon: target,
        delta,
        solve: Solve::Steps,
        sigma: Some(0.623977),
        sampling_rate: Some(3.68165e-5),
        steps: None,
        ..CalibrationParams::default()
    })
    .expect("a certified step count");
    assert_eq!(info.guarantee, Guarantee::UpperBound);
    assert!(info.report.upper.expect("bracket") <= target);
    assert!(
        info.notes
            .iter()
            .any(|n| n.contains("counted as not meeting") && n.contains("budget")),
        "{:?}",
        info.notes
    );
}

/// The per-event search (`calibrate_sigma`) with an event that fails on the grid budget below
/// σ = 2, as PLD's grid does at small σ: the search answers above it, certified, and a note
/// says that the σ below the answer gave no answer (it ended with the budget error after the
/// points before had been evaluated). Where no σ fits, the first budget error is the answer.
#[test]
fn the_per_event_search_counts_a_grid_over_budget_as_a_miss() {
    let over = |sigma: f64| Error::BudgetExceeded {
        what: format!("test grid at sigma = {sigma}"),
        needed: "2 points".into(),
        budget: "1 point".into(),
    };
    let event = |sigma: f64| -> ewtune::Result<DpEvent> {
        if sigma < 2.0 {
            Err(over(sigma))
        } else {
            Ok(DpEvent::Gaussian { sigma })
        }
    };
    // Target 10 at 10 steps: the least σ is ≈ 1.58, inside the failing range.
    let c = calibrate_sigma(&contour(1e-9), &event, 10, (10.0, 1e-5, 1e-4), 3.0, "sigma")
        .expect("answered above the failing range");
    assert!(
        c.sigma >= 2.0 && c.sigma <= 2.0 * (1.0 + 2e-4),
        "{}",
        c.sigma
    );
    assert!(c.report.upper.expect("bracket") <= 10.0);
    assert!(
        c.report
            .notes
            .iter()
            .any(|n| n.contains("gave no answer") && n.contains("may lie below")),
        "{:?}",
        c.report.notes
    );
    let never = |sigma: f64| -> ewtune::Result<DpEvent> { Err(over(sigma)) };
    match calibrate_sigma(&contour(1e-9), &never, 10, (10.0, 1e-5, 1e-4), 1.0, "sigma") {
        Err(Error::BudgetExceeded { what, .. }) => assert!(what.ends_with("sigma = 1"), "{what}"),
        other => panic!(
            "expected the first budget error, got {:?}",
            other.map(|c| c.sigma)
        ),
    }
}
