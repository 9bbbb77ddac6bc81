//! CLI tests that run the real `ewtune` binary.

use assert_cmd::Command;
use std::io::Write;

fn ewtune() -> Command {
    Command::cargo_bin("ewtune").unwrap()
}

fn json_out(args: &[&str]) -> serde_json::Value {
    let out = ewtune().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn epsilon_json_has_the_contract_fields() {
    let v = json_out(&[
        "epsilon",
        "--mechanism",
        "subsampled-gaussian",
        "--sigma",
        "0.8",
        "--sampling-rate",
        "0.01",
        "--steps",
        "100",
        "--delta",
        "0.015",
        "--adjacency",
        "remove",
        "--order",
        "1",
        "--format",
        "json",
    ]);
    for k in [
        "accountant",
        "epsilon",
        "delta",
        "guarantee",
        "adjacency",
        "order",
    ] {
        assert!(v.get(k).is_some(), "missing {k}: {v}");
    }
    assert_eq!(v["accountant"], "edgeworth");
    assert_eq!(v["guarantee"], "estimate");
    assert_eq!(v["adjacency"], "remove");
    // tests/reference/edgeworth_estimates.csv, ea:S1, 100 steps, order 1: 1e-8 absolute.
    let e = v["epsilon"].as_f64().unwrap();
    assert!((e - 0.218516255033342).abs() < 1e-8, "{e}");
}

#[test]
fn delta_of_gaussian_is_exact() {
    let v = json_out(&[
        "delta",
        "--mechanism",
        "gaussian",
        "--sigma",
        "1",
        "--epsilon",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(v["guarantee"], "exact");
    // MATH.md §2 check value, 1e-10 relative.
    let d = v["delta"].as_f64().unwrap();
    assert!((d - 1.2693673751e-01).abs() < 1e-10 * d, "{d}");
}

#[test]
fn cumulants_json_gives_enclosures_per_side() {
    let v = json_out(&[
        "cumulants",
        "--mechanism",
        "subsampled-gaussian",
        "--sigma",
        "0.8",
        "--sampling-rate",
        "0.01",
        "--adjacency",
        "remove",
        "--format",
        "json",
    ]);
    let p = &v["orderings"][0]["P"];
    assert_eq!(p.as_array().unwrap().len(), 6);
    let k1 = &p[0];
    let (lo, hi) = (k1["lower"].as_f64().unwrap(), k1["upper"].as_f64().unwrap());
    // MATH.md §2 table: κ1 = −1.671653048184515e−04 lies in the enclosure (f64 rounding outward).
    assert!(
        lo <= -1.671653048184515e-04 * (1.0 - 1e-15)
            && -1.671653048184515e-04 * (1.0 + 1e-15) <= hi
    );
    assert!(v["orderings"][0]["Q"].is_array());
}

#[test]
fn events_file_composes_heterogeneous_steps() {
    let dir = tempfile::tempdir().unwrap();
    let toml_path = dir.path().join("events.toml");
    let mut f = std::fs::File::create(&toml_path).unwrap();
    writeln!(
        f,
        "[[events]]\nmechanism = \"gaussian\"\nsigma = 2.0\ncount = 3\n\n[[events]]\nmechanism = \"gaussian\"\nsigma = 1.0\ncount = 1"
    )
    .unwrap();
    let v = json_out(&[
        "delta",
        "--events",
        toml_path.to_str().unwrap(),
        "--epsilon",
        "1",
        "--format",
        "json",
    ]);
    // 3 × σ=2 and 1 × σ=1: μ² = 3/4 + 1, exact Gaussian (1e-10 relative).
    let want = ewtune::edgeworth::gaussian_delta((1.75f64).sqrt(), 1.0);
    let d = v["delta"].as_f64().unwrap();
    assert!((d - want).abs() <= 1e-10 * want, "{d} vs {want}");
    let json_path = dir.path().join("events.json");
    std::fs::write(
        &json_path,
        r#"{"events": [{"mechanism": "subsampled-gaussian", "sigma": 0.8, "sampling_rate": 0.01, "count": 100}]}"#,
    )
    .unwrap();
    let v = json_out(&[
        "epsilon",
        "--events",
        json_path.to_str().unwrap(),
        "--delta",
        "0.015",
        "--adjacency",
        "remove",
        "--format",
        "json",
    ]);
    assert!((v["epsilon"].as_f64().unwrap() - 0.218516255033342).abs() < 1e-8);
}

#[test]
fn bad_input_exits_2_with_a_one_line_message_naming_the_flag() {
    let base = ["epsilon", "--mechanism", "subsampled-gaussian"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--sigma", "0", "--sampling-rate", "0.1", "--delta", "1e-5"],
            "--sigma",
        ),
        (
            vec!["--sigma", "-1", "--sampling-rate", "0.1", "--delta", "1e-5"],
            "--sigma",
        ),
        (
            vec![
                "--sigma",
                "NaN",
                "--sampling-rate",
                "0.1",
                "--delta",
                "1e-5",
            ],
            "--sigma",
        ),
        (
            vec!["--sigma", "1", "--sampling-rate", "1.5", "--delta", "1e-5"],
            "--sampling-rate",
        ),
        (
            vec!["--sigma", "1", "--sampling-rate", "0", "--delta", "1e-5"],
            "--sampling-rate",
        ),
        (
            vec!["--sigma", "1", "--sampling-rate", "0.1", "--delta", "1"],
            "--delta",
        ),
        (
            vec!["--sigma", "1", "--sampling-rate", "0.1", "--delta", "0"],
            "--delta",
        ),
        (
            vec!["--sigma", "1", "--sampling-rate", "0.1", "--delta", "inf"],
            "--delta",
        ),
        (
            vec![
                "--sigma",
                "1",
                "--sampling-rate",
                "0.1",
                "--delta",
                "1e-5",
                "--steps",
                "0",
            ],
            "--steps",
        ),
        (vec!["--sigma", "1", "--delta", "1e-5"], "--sampling-rate"),
        (
            vec![
                "--sigma",
                "1",
                "--sampling-rate",
                "0.1",
                "--delta",
                "1e-5",
                "--order",
                "7",
            ],
            "--order",
        ),
        (
            vec![
                "--sigma",
                "1",
                "--sampling-rate",
                "0.1",
                "--delta",
                "1e-5",
                "--adjacency",
                "x",
            ],
            "--adjacency",
        ),
        (
            vec![
                "--sigma",
                "1",
                "--sampling-rate",
                "0.1",
                "--delta",
                "1e-5",
                "--accountant",
                "x",
            ],
            "--accountant",
        ),
        (
            vec![
                "--sigma",
                "1",
                "--sampling-rate",
                "0.1",
                "--delta",
                "1e-5",
                "--precision",
                "8",
            ],
            "--precision",
        ),
        (vec!["--sigma", "1", "--sampling-rate", "0.1"], "--delta"),
    ];
    for (extra, flag) in cases {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(extra.iter());
        let out = ewtune().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(flag),
            "{args:?}: message does not name {flag}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // Negative ε for delta; unknown mechanism; missing events file; malformed events file.
    let out = ewtune()
        .args([
            "delta",
            "--mechanism",
            "gaussian",
            "--sigma",
            "1",
            "--epsilon",
            "-1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--epsilon"));
    let out = ewtune()
        .args([
            "epsilon",
            "--mechanism",
            "poisson",
            "--sigma",
            "1",
            "--delta",
            "0.1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = ewtune()
        .args([
            "epsilon",
            "--events",
            "/nonexistent/e.json",
            "--delta",
            "0.1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in [
        (
            "bad.json",
            "{\"events\": [{\"mechanism\": \"gaussian\", \"count\": 2}]}",
        ),
        ("bad2.json", "{not json"),
        (
            "bad3.toml",
            "[[events]]\nmechanism = \"laplace\"\nscale = -1\ncount = 1\n",
        ),
        ("bad4.json", "{\"events\": []}"),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        let out = ewtune()
            .args(["epsilon", "--events", p.to_str().unwrap(), "--delta", "0.1"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{name}: {err}");
    }
}

#[test]
fn report_runs_on_a_small_config() {
    // The embedded default (4 tasks x 2 deltas x 4 sigmas x every accountant) is the README's
    // main job; one task and one sigma keep this test short.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("report.toml");
    std::fs::write(
        &cfg,
        "tasks = [{ name = \"SST-2\", train_size = 67349 }]\ndeltas = [1e-5]\nsigmas = [0.7865]\n",
    )
    .unwrap();
    let out = ewtune()
        .args([
            "report",
            "--format",
            "csv",
            "--config",
            cfg.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("task,sampling_rate,steps,delta,log10_delta,sigma,method,epsilon"));
    // SST-2, δ = 1e-5, σ = 0.7865, order 1 (remove): 7.99289890103279 (reference, 1e-6 abs).
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("SST-2,") && l.contains(",1e-5,") && l.contains(",0.7865,edgeworth-1,")
        })
        .expect("SST-2 row");
    let eps: f64 = line.split(',').nth(7).unwrap().parse().unwrap();
    assert!((eps - 7.99289890103279).abs() < 1e-6, "{eps}");
}

#[test]
fn mechanism_is_inferred_from_the_flags_and_a_missing_one_exits_2() {
    // --sampling-rate implies the subsampled Gaussian: the same ε as the explicit form above.
    let v = json_out(&[
        "epsilon",
        "--sigma",
        "0.8",
        "--sampling-rate",
        "0.01",
        "--steps",
        "100",
        "--delta",
        "0.015",
        "--adjacency",
        "remove",
        "--format",
        "json",
    ]);
    let e = v["epsilon"].as_f64().unwrap();
    assert!((e - 0.218516255033342).abs() < 1e-8, "{e}");
    // --sigma alone is the Gaussian mechanism, whose δ(ε) is exact.
    let g = json_out(&[
        "delta",
        "--sigma",
        "1",
        "--epsilon",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(g["guarantee"], "exact", "{g}");
    // Nothing to infer from: exit 2 naming --mechanism.
    let out = ewtune()
        .args(["epsilon", "--delta", "1e-5", "--steps", "10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--mechanism"), "{err}");
}

#[test]
fn saddlepoint_adds_the_fourier_part_unless_kolmogorov_only() {
    // QQP (q = 2000/363849, 3620 steps), σ = 0.7, δ = 1e-5, remove: the Kolmogorov-distance
    // bracket is loose there (lower end 0), so the default adds the Fourier part and says so.
    let base = [
        "epsilon",
        "--accountant",
        "saddlepoint",
        "--sigma",
        "0.7",
        "--sampling-rate",
        "0.005496785",
        "--steps",
        "3620",
        "--delta",
        "1e-5",
        "--adjacency",
        "remove",
        "--format",
        "json",
    ];
    let with = json_out(&base);
    let mut args = base.to_vec();
    args.push("--kolmogorov-only");
    let without = json_out(&args);
    let notes = |v: &serde_json::Value| v["notes"].to_string();
    assert!(notes(&with).contains("Fourier part"), "{with}");
    assert!(!notes(&without).contains("Fourier part"), "{without}");
    let (lo, hi) = (
        with["lower"].as_f64().unwrap(),
        with["upper"].as_f64().unwrap(),
    );
    let (klo, khi) = (
        without["lower"].as_f64().unwrap(),
        without["upper"].as_f64().unwrap(),
    );
    // Both certified: they overlap; the intersection is inside the Kolmogorov bracket and
    // certified to ~1e-6 relative (the Fourier part's δ tolerance).
    assert!(klo <= lo && hi <= khi, "[{lo}, {hi}] vs [{klo}, {khi}]");
    assert!(hi - lo <= 1e-5 * hi, "[{lo}, {hi}]");
    assert!(
        khi > 1.03 * hi,
        "the Kolmogorov part alone is looser: {khi} vs {hi}"
    );
}
