//! Calibration: the EW-Tune acceptance point, steps / sampling-rate solves, certified
//! calibration, errors, and the CLI's JSON contract.

use assert_cmd::Command;
use ewtune::accountant::{AccountantConfig, AccountantKind, AccountantSettings, Guarantee};
use ewtune::calibrate::{calibrate, dpsgd_epsilon, CalibrationParams, Solve};
use ewtune::mechanism::Adjacency;
use ewtune::Error;

const SST2_Q: f64 = 2000.0 / 67349.0;

fn ew1_remove() -> AccountantSettings {
    AccountantSettings {
        adjacency: Adjacency::Remove,
        order: Some(1),
        ..AccountantSettings::default()
    }
}

fn eps_at(sigma: f64, q: f64, steps: u64) -> f64 {
    dpsgd_epsilon(
        &ew1_remove().config(AccountantKind::Edgeworth),
        sigma,
        q,
        steps,
        1e-5,
    )
    .expect("epsilon")
    .epsilon
}

/// Independent root of ε(σ) = 8 by plain bisection to 1e-12 on [0.5, 1].
fn sst2_root() -> f64 {
    let (mut lo, mut hi) = (0.5, 1.0);
    assert!(eps_at(lo, SST2_Q, 660) > 8.0 && eps_at(hi, SST2_Q, 660) < 8.0);
    while hi - lo > 1e-12 {
        let mid = 0.5 * (lo + hi);
        if eps_at(mid, SST2_Q, 660) > 8.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

#[test]
fn ew_tune_sst2_sigma_within_1e4_of_root() {
    let p = CalibrationParams {
        accountant: ew1_remove().config(AccountantKind::Edgeworth),
        target_epsilon: 8.0,
        delta: 1e-5,
        solve: Solve::Sigma,
        sampling_rate: Some(SST2_Q),
        steps: Some(660),
        ..CalibrationParams::default()
    };
    let info = calibrate(&p).expect("calibrates");
    let root = sst2_root();
    // Acceptance: within 1e-4 (absolute) of the root; and on the feasible side.
    assert!(
        (info.sigma - root).abs() <= 1e-4,
        "sigma {} vs root {root}",
        info.sigma
    );
    assert!(
        info.sigma >= root - 1e-12,
        "returned sigma is on the feasible side"
    );
    assert!(info.epsilon <= 8.0);
    assert_eq!(info.guarantee, Guarantee::Estimate);
    assert!(info.monotone);
    // EW-Tune's descending scan on a 0.0005 grid stopped at 0.7865: the root lies in
    // (0.7860, 0.7865].
    assert!(root > 0.7860 && root <= 0.7865, "root {root}");
    assert!(info.iterations > 0 && info.iterations < 60);
}

#[test]
fn steps_solve_is_the_largest_feasible_count() {
    let p = CalibrationParams {
        accountant: ew1_remove().config(AccountantKind::Edgeworth),
        target_epsilon: 8.0,
        delta: 1e-5,
        solve: Solve::Steps,
        sigma: Some(0.8),
        sampling_rate: Some(SST2_Q),
        ..CalibrationParams::default()
    };
    let info = calibrate(&p).expect("calibrates");
    let m = info.steps;
    assert!(m > 1);
    assert!(eps_at(0.8, SST2_Q, m) <= 8.0, "m feasible");
    assert!(eps_at(0.8, SST2_Q, m + 1) > 8.0, "m + 1 infeasible");
    assert_eq!(info.epsilon, eps_at(0.8, SST2_Q, m));
}

#[test]
fn sampling_rate_solve_within_tolerance() {
    let p = CalibrationParams {
        accountant: ew1_remove().config(AccountantKind::Edgeworth),
        target_epsilon: 2.0,
        delta: 1e-6,
        solve: Solve::SamplingRate,
        sigma: Some(1.0),
        steps: Some(1000),
        rel_tol: 1e-6,
        ..CalibrationParams::default()
    };
    let info = calibrate(&p).expect("calibrates");
    let q = info.sampling_rate;
    let e = |q: f64| {
        dpsgd_epsilon(
            &ew1_remove().config(AccountantKind::Edgeworth),
            1.0,
            q,
            1000,
            1e-6,
        )
        .expect("eps")
        .epsilon
    };
    assert!(e(q) <= 2.0, "feasible");
    // rel_tol 1e-6 on q: 2e-6 larger is infeasible.
    assert!(e(q * (1.0 + 2e-6)) > 2.0, "within rel_tol of the crossing");
}

#[test]
fn sampling_rate_one_when_target_is_loose() {
    let p = CalibrationParams {
        accountant: ew1_remove().config(AccountantKind::Edgeworth),
        target_epsilon: 1000.0,
        delta: 1e-5,
        solve: Solve::SamplingRate,
        sigma: Some(5.0),
        steps: Some(10),
        ..CalibrationParams::default()
    };
    let info = calibrate(&p).expect("calibrates");
    assert_eq!(info.sampling_rate, 1.0);
    assert!(info.notes.iter().any(|n| n.contains("sampling_rate = 1")));
}

#[test]
fn bad_input_is_an_error_naming_the_parameter() {
    let base = CalibrationParams {
        accountant: ew1_remove().config(AccountantKind::Edgeworth),
        target_epsilon: 8.0,
        delta: 1e-5,
        sampling_rate: Some(SST2_Q),
        steps: Some(660),
        ..CalibrationParams::default()
    };
    let name = |p: &CalibrationParams| match calibrate(p) {
        Err(Error::InvalidParameter { name, .. }) => name,
        other => panic!("expected InvalidParameter, got {other:?}"),
    };
    assert_eq!(
        name(&CalibrationParams {
            target_epsilon: -1.0,
            ..base.clone()
        }),
        "target_epsilon"
    );
    assert_eq!(
        name(&CalibrationParams {
            target_epsilon: f64::NAN,
            ..base.clone()
        }),
        "target_epsilon"
    );
    assert_eq!(
        name(&CalibrationParams {
            delta: 1.5,
            ..base.clone()
        }),
        "delta"
    );
    assert_eq!(
        name(&CalibrationParams {
            rel_tol: 0.0,
            ..base.clone()
        }),
        "rel_tol"
    );
    assert_eq!(
        name(&CalibrationParams {
            steps: None,
            ..base.clone()
        }),
        "steps"
    );
    assert_eq!(
        name(&CalibrationParams {
            sampling_rate: Some(0.0),
            ..base.clone()
        }),
        "sampling_rate"
    );
    assert_eq!(
        name(&CalibrationParams {
            solve: Solve::Steps,
            sigma: None,
            ..base.clone()
        }),
        "sigma"
    );
    assert_eq!(
        name(&CalibrationParams {
            accountant: AccountantSettings {
                order: Some(7),
                ..ew1_remove()
            }
            .config(AccountantKind::Edgeworth),
            ..base.clone()
        }),
        "order"
    );
}

#[test]
fn unreachable_target_is_no_solution() {
    // One step at q = 1 with σ ≥ 1e4 gives ε ≈ 5e-4 > 1e-9: no σ in range reaches it.
    let p = CalibrationParams {
        accountant: ew1_remove().config(AccountantKind::Edgeworth),
        target_epsilon: 1e-9,
        delta: 1e-5,
        sampling_rate: Some(1.0),
        steps: Some(1),
        ..CalibrationParams::default()
    };
    assert!(matches!(calibrate(&p), Err(Error::NoSolution(_))));
}

#[test]
fn certified_accountant_calibrates_on_the_upper_end() {
    // Generic over every kind: when an accountant reports a certified bracket or upper bound,
    // the calibrated sigma must satisfy epsilon_upper(sigma) <= target and say upper_bound.
    for &kind in AccountantKind::ALL {
        let options = AccountantSettings {
            adjacency: Adjacency::Remove,
            bracket: true,
            ..AccountantSettings::default()
        };
        let p = CalibrationParams {
            accountant: options.clone().config(kind),
            target_epsilon: 2.0,
            delta: 1e-5,
            sampling_rate: Some(0.01),
            steps: Some(100),
            // Coarse (1e-2, no envelope scan): the test is about which end is used, not accuracy,
            // and must stay fast for the slower certified accountants.
            rel_tol: 1e-2,
            envelope_points: 0,
            ..CalibrationParams::default()
        };
        let info = match calibrate(&p) {
            Ok(i) => i,
            Err(e) => {
                // An accountant that cannot handle the setting must say so with a typed error.
                assert!(!e.to_string().is_empty());
                continue;
            }
        };
        let r = dpsgd_epsilon(&options.config(kind), info.sigma, 0.01, 100, 1e-5).expect("eps");
        let (used, certified) = ewtune::calibrate::calibration_epsilon(&r);
        assert!(used <= 2.0, "{}: {used} > target", kind.name());
        if certified {
            assert_eq!(info.guarantee, Guarantee::UpperBound, "{}", kind.name());
        } else {
            assert_ne!(info.guarantee, Guarantee::UpperBound, "{}", kind.name());
        }
    }
}

#[test]
fn cli_json_has_the_solved_value_under_its_name() {
    let out = Command::cargo_bin("ewtune")
        .expect("binary")
        .args([
            "calibrate",
            "--target-epsilon",
            "8",
            "--delta",
            "1e-5",
            "--sampling-rate",
            &SST2_Q.to_string(),
            "--steps",
            "660",
            "--accountant",
            "edgeworth",
            "--order",
            "1",
            "--adjacency",
            "remove",
            "--precision",
            "53",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let s = v["sigma"].as_f64().expect("sigma");
    assert!((s - 0.78619).abs() < 1e-4, "sigma {s}");
    assert!(v["epsilon"].as_f64().expect("epsilon") <= 8.0);
    assert_eq!(v["accountant"], "edgeworth");
    assert_eq!(v["guarantee"], "estimate");
    assert!(v["iterations"].as_u64().expect("iterations") > 0);
    assert!(v["seconds"].as_f64().expect("seconds") >= 0.0);

    let out = Command::cargo_bin("ewtune")
        .expect("binary")
        .args([
            "calibrate",
            "--target-epsilon",
            "8",
            "--delta",
            "1e-5",
            "--sigma",
            "0.8",
            "--sampling-rate",
            "0.03",
            "--solve",
            "steps",
            "--adjacency",
            "remove",
            "--precision",
            "53",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["steps"].as_u64().expect("steps") > 100);
    assert_eq!(v["solve"], "steps");

    // Bad input: exit code 2 and the flag named.
    let out = Command::cargo_bin("ewtune")
        .expect("binary")
        .args([
            "calibrate",
            "--target-epsilon",
            "-3",
            "--delta",
            "1e-5",
            "--steps",
            "10",
            "--sampling-rate",
            "0.1",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--target-epsilon"));
}

/// The secant steps of the bracket search (docs/math.md §8): over targets, sampling rates and
/// two certified accountants, the calibration returns a bracket [infeasible, feasible] within
/// the tolerance whose ends an independent evaluation puts on their sides, in at most 10
/// evaluations (bisection and the envelope grid took 23 at these settings).
#[test]
fn secant_calibration_keeps_a_two_sided_bracket_in_few_evaluations() {
    let rdp = AccountantSettings::default().config(AccountantKind::Rdp);
    let contour = AccountantSettings::default().config(AccountantKind::Contour);
    let mut cases: Vec<(&AccountantConfig, f64, f64, u64)> = Vec::new();
    for &target in &[0.3, 1.0, 4.0, 12.0] {
        for &(q, steps) in &[(0.001, 10_000u64), (0.01, 1000), (0.2, 50)] {
            cases.push((&rdp, target, q, steps));
        }
    }
    cases.push((&contour, 1.0, 2000.0 / 392_702.0, 3920));
    cases.push((&contour, 8.0, 0.004, 10_000));
    for (acc, target, q, steps) in cases {
        let what = format!("{acc:?} target {target} q {q} steps {steps}");
        let p = CalibrationParams {
            accountant: acc.clone(),
            target_epsilon: target,
            delta: 1e-6,
            sampling_rate: Some(q),
            steps: Some(steps),
            ..CalibrationParams::default()
        };
        let info = calibrate(&p).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(info.guarantee, Guarantee::UpperBound, "{what}");
        assert!(
            info.evaluations <= 10,
            "{what}: {} evaluations",
            info.evaluations
        );
        let (bad, good) = (
            info.bracket.0.expect("infeasible end"),
            info.bracket.1.expect("feasible end"),
        );
        assert_eq!(good, info.sigma, "{what}");
        assert!(
            bad < good && good / bad - 1.0 <= 1e-4,
            "{what}: [{bad}, {good}]"
        );
        let up = |s: f64| {
            let r = dpsgd_epsilon(acc, s, q, steps, 1e-6).expect("epsilon");
            ewtune::calibrate::calibration_epsilon(&r).0
        };
        assert!(up(good) <= target, "{what}: feasible end {good}");
        assert!(up(bad) > target, "{what}: infeasible end {bad}");
    }
}
