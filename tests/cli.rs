//! CLI tests that run the real `ewtune` binary.

mod common;

use common::{ewtune, json_ok as json_out};
use std::io::Write;

/// PLD at δ = 1e-300: the truncated tail mass (counted at +∞) exceeds δ, so the upper end is
/// unbounded while the lower end is a number.
const PLD_TAIL_ABOVE_DELTA: [&str; 11] = [
    "epsilon",
    "--sigma",
    "1",
    "--sampling-rate",
    "0.01",
    "--steps",
    "10",
    "--delta",
    "1e-300",
    "--accountant",
    "pld",
];

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
    // docs/math.md §2 check value, 1e-10 relative.
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
    // docs/math.md §2 table: κ1 = −1.671653048184515e−04 lies in the enclosure (f64 rounding outward).
    assert!(
        lo <= -1.671653048184515e-04 * (1.0 - 1e-15)
            && -1.671653048184515e-04 * (1.0 + 1e-15) <= hi
    );
    assert!(v["orderings"][0]["Q"].is_array());
}

/// The 40-digit ends of the cumulant enclosures are rounded outward: for the Gaussian at σ = 3
/// the Q-side κ1 = 1/18 = 0.0555…5… lies in [lower_exact, upper_exact] (rounded to nearest, both
/// ends read 5.555…556e−2, above it). −0 is written as 0.
#[test]
fn cumulant_enclosure_digits_are_rounded_outward() {
    use rug::Float;
    let out = ewtune()
        .args(["cumulants", "--sigma", "3", "--format", "json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for neg_zero in ["-0.0,", "-0.0}", "\"-0\""] {
        assert!(!text.contains(neg_zero), "{text}");
    }
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let prec = 1000;
    let parse =
        |s: &serde_json::Value| Float::with_val(prec, Float::parse(s.as_str().unwrap()).unwrap());
    // κ1 of each side: ±μ²/2 = ±1/18 (the sign depends on the side), κ2 = μ² = 1/9.
    let exact = [
        Float::with_val(prec, 1) / 18u32,
        Float::with_val(prec, 1) / 9u32,
    ];
    for o in v["orderings"].as_array().unwrap() {
        for side in ["P", "Q"] {
            for (j, want) in exact.iter().enumerate() {
                let k = &o[side][j];
                let (lo, hi) = (parse(&k["lower_exact"]), parse(&k["upper_exact"]));
                let want = if lo < 0 { -want.clone() } else { want.clone() };
                assert!(lo <= want && want <= hi, "{side} kappa{}: {k}", j + 1);
            }
        }
    }
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

/// Events files: a UTF-8 byte-order mark is accepted; a count beyond 10¹⁵, or entries whose
/// counts of one mechanism add up beyond it, exit 2 naming the count (before, counts above
/// the `--steps` range were accepted and totals saturated at 2⁶⁴ − 1).
#[test]
fn events_file_counts_stay_in_range_and_a_bom_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let entry =
        |count: &str| format!(r#"{{"mechanism": "gaussian", "sigma": 1, "count": {count}}}"#);
    let one_entry = |count: &str| format!("{{\"events\": [{}]}}", entry(count));
    let cases = [
        (
            "bom.json",
            format!("\u{feff}{{\"events\": [{}]}}", entry("3")),
            0,
            "",
        ),
        ("one.json", one_entry("1000000000000001"), 2, "count"),
        (
            "two.json",
            format!(
                "{{\"events\": [{}, {}]}}",
                entry("600000000000000"),
                entry("600000000000000")
            ),
            2,
            "count",
        ),
        // A malformed file whose name is a non-finite word keeps its name in the message.
        ("inf.json", "{".to_string(), 2, "inf.json"),
        // A count written as an exact integer in floating form (json.dump of a float) is that
        // count; a fraction, a negative number, text or null is refused naming the field.
        ("float.json", one_entry("1e3"), 0, ""),
        (
            "frac.json",
            one_entry("2.5"),
            2,
            "count = 2.5: must be a non-negative integer",
        ),
        ("neg.json", one_entry("-4"), 2, "count = -4"),
        ("text.json", one_entry("\"10\""), 2, "not text"),
        ("null.json", one_entry("null"), 2, "count = null"),
        ("huge.json", one_entry("1e30"), 2, "count = 1e30"),
        (
            "wor.json",
            "{\"events\": [{\"mechanism\": \"sampled_without_replacement\", \"sigma\": 2, \
             \"count\": 10, \"dataset_size\": 1e4, \"batch_size\": 256.5}]}"
                .to_string(),
            2,
            "batch_size = 256.5",
        ),
    ];
    for (name, text, code, word) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let p = path.to_str().unwrap();
        let (got, _, err) = run(&[
            "epsilon",
            "--events",
            p,
            "--delta",
            "1e-5",
            "--accountant",
            "gdp",
        ]);
        assert_eq!(got, code, "{name}: {err}");
        assert!(err.contains(word), "{name}: {err}");
    }
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

/// Runs `args`; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = ewtune().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Replaces (or appends) `flag value` in a base command line.
fn with(base: &[&str], flag: &str, value: &str) -> Vec<String> {
    let mut v: Vec<String> = base.iter().map(|s| s.to_string()).collect();
    match v.iter().position(|a| a == flag) {
        Some(i) => v[i + 1] = value.to_string(),
        None => v.extend([flag.to_string(), value.to_string()]),
    }
    v
}

/// A small `train` configuration (synthetic data) in `dir`.
fn train_config(dir: &std::path::Path, data: &str) -> std::path::PathBuf {
    let path = dir.join("train.toml");
    let text = format!(
        "[data]\nsource = \"synthetic\"\n{data}\nclasses = 2\n\n[model]\nhead = \"linear\"\n\n\
         [train]\nsteps = 3\nsampling_rate = 0.1\nlr = 0.05\nclip_norm = 1.0\nseed = 1\n\n\
         [privacy]\nsigma = 1.0\ndelta = 1e-5\n\n[output]\ndir = \"{}\"\n",
        dir.join("run").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_numeric_flag_refuses_negative_nan_and_huge_values_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let sweep_cfg = dir.path().join("s.toml");
    std::fs::write(
        &sweep_cfg,
        "accountants = [\"gdp\"]\n[[grid]]\nsigma = [1.0]\nsampling_rate = [0.1]\nsteps = [10]\ndelta = [1e-5]\n",
    )
    .unwrap();
    let csv = dir.path().join("p.csv");
    std::fs::write(&csv, "steps,epsilon,method\n1,1.0,a\n10,2.0,a\n").unwrap();
    let train = train_config(dir.path(), "n = 50\ndim = 4");
    let (s, c, t) = (
        sweep_cfg.to_str().unwrap(),
        csv.to_str().unwrap(),
        train.to_str().unwrap(),
    );
    let out = dir.path().join("fig");
    let out = out.to_str().unwrap();
    let dpsgd = [
        "--sigma",
        "1",
        "--sampling-rate",
        "0.1",
        "--steps",
        "10",
        "--delta",
        "1e-5",
    ];
    let eps: Vec<&str> = ["epsilon"].into_iter().chain(dpsgd).collect();
    let del = [
        "delta",
        "--sigma",
        "1",
        "--sampling-rate",
        "0.1",
        "--epsilon",
        "1",
    ];
    let cal = [
        "calibrate",
        "--target-epsilon",
        "2",
        "--delta",
        "1e-5",
        "--sampling-rate",
        "0.1",
        "--steps",
        "10",
    ];
    let cum = ["cumulants", "--sigma", "1", "--sampling-rate", "0.1"];
    let bound = ["edgeworth-bound", "--n", "1000", "--k4", "9"];
    let sweep = ["sweep", "--config", s, "--out-dir", out, "--quiet"];
    let plot = ["plot", "--csv", c, "--out", out];
    let train = ["train", "--config", t, "--quiet", "--backend", "cpu"];
    let neg_nan = ["-1", "NaN"];
    // (command, flag, bad values besides -1 and NaN)
    let cases: Vec<(&[&str], &str, &[&str])> = vec![
        (&eps, "--sigma", &["inf"]),
        (&eps, "--sampling-rate", &["1e300"]),
        (
            &eps,
            "--steps",
            &["1e300", "99999999999999999999", "2000000000000000"],
        ),
        (&eps, "--delta", &["1e300"]),
        (&eps, "--order", &["1e300", "4"]),
        (&eps, "--precision", &["1e300", "99999999999"]),
        (&del, "--epsilon", &["inf"]),
        (&cal, "--target-epsilon", &["inf"]),
        (&cal, "--delta", &["1e300"]),
        (&cal, "--sampling-rate", &["1e300"]),
        (&cal, "--steps", &["1e300", "2000000000000000"]),
        (&cal, "--rel-tol", &["1e300"]),
        (&cum, "--max-order", &["1e300", "7"]),
        (&cum, "--precision", &["1e300"]),
        (&bound, "--n", &["inf"]),
        (&bound, "--k4", &["inf"]),
        (&bound, "--eta", &["1e300"]),
        (&sweep, "--threads", &["100000", "1e300"]),
        (&sweep, "--limit", &["1e300", "0"]),
        (&plot, "--width", &["100000", "1e300"]),
        (&plot, "--height", &["100000", "1e300"]),
        (&train, "--seed", &["1e300"]),
        (&train, "--stop-after", &["1e300"]),
        (&train, "--delta", &["1e300"]),
        (&train, "--sigma", &["inf"]),
        (&train, "--target-epsilon", &["inf"]),
    ];
    let contour_tol = [eps.clone(), vec!["--accountant", "contour"]].concat();
    let pld_budget = [eps.clone(), vec!["--accountant", "pld"]].concat();
    let mut all = cases;
    all.push((&contour_tol, "--tolerance", &["1e300"]));
    all.push((&pld_budget, "--grid-budget", &["1e300", "1"]));
    let lap = [
        "epsilon",
        "--mechanism",
        "laplace",
        "--scale",
        "1",
        "--delta",
        "1e-5",
    ];
    all.push((&lap, "--scale", &["inf"]));
    for (base, flag, more) in all {
        for bad in neg_nan.iter().chain(more.iter()) {
            let args = with(base, flag, bad);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, _, err) = run(&args);
            assert_eq!(code, 2, "{args:?}: exit {code}, stderr {err}");
            assert!(err.contains(flag), "{args:?}: {err} should name {flag}");
            assert!(!err.contains("panicked"), "{args:?}: {err}");
        }
    }
}

/// Whole-word `inf`, `-inf` or `NaN` in `text`.
fn has_nonfinite_word(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .find(|w| matches!(*w, "inf" | "NaN" | "nan" | "infinity"))
        .map(|w| format!("{w:?} in {text}"))
}

#[test]
fn text_output_never_prints_inf_or_nan() {
    let q = (2000.0f64 / 67349.0).to_string();
    let sst2 = [
        "--sigma",
        "0.7865",
        "--sampling-rate",
        q.as_str(),
        "--steps",
        "660",
        "--adjacency",
        "remove",
    ];
    let runs: Vec<Vec<&str>> = vec![
        // A vacuous Edgeworth bracket: its upper end is +∞.
        [&["epsilon"][..], &sst2, &["--delta", "1e-5", "--bracket"]].concat(),
        // δ = 0 exactly: log10 δ = −∞.
        vec![
            "delta",
            "--mechanism",
            "gaussian",
            "--sigma",
            "1",
            "--epsilon",
            "50",
            "--accountant",
            "gdp",
        ],
        // Every accountant side by side, δ = 0 for some.
        vec![
            "compare",
            "--mechanism",
            "gaussian",
            "--sigma",
            "1",
            "--epsilon",
            "50",
        ],
        // Enclosures far beyond the f64 range (the Laplace's were NaN below b ≈ 7e−10; a
        // Gaussian κ1 ≈ −5e614 printed NaN as its value).
        vec!["cumulants", "--scale", "1e-300"],
        vec!["cumulants", "--scale", "1e-9"],
        vec![
            "cumulants",
            "--sigma",
            "1e-300",
            "--steps",
            "1000000000000000",
        ],
        // A vacuous DGG bound reads "unbounded"; huge inputs print as 1e300, not 301 digits.
        vec!["edgeworth-bound", "--n", "1000", "--k4", "1e300"],
        "edgeworth-bound --n 1000 --k4 9 --eta 0.3333333333"
            .split(' ')
            .collect(),
        // Bad input echoes: the message must not say "inf" either.
        vec!["epsilon", "--sigma", "1", "--delta", "inf"],
        vec!["epsilon", "--sigma", "NaN", "--delta", "1e-5"],
        vec![
            "calibrate",
            "--target-epsilon",
            "inf",
            "--delta",
            "1e-5",
            "--sampling-rate",
            "0.1",
            "--steps",
            "10",
        ],
    ];
    for args in runs {
        let (code, out, err) = run(&args);
        assert!(code == 0 || code == 2, "{args:?}: exit {code}: {err}");
        for text in [&out, &err] {
            if let Some(w) = has_nonfinite_word(text) {
                panic!("{args:?}: {w}");
            }
        }
    }
    let (_, out, _) = run(&["edgeworth-bound", "--n", "1000", "--k4", "1e300"]);
    assert!(
        out.contains("unbounded (vacuous)") && out.contains("K4 = 1e300,"),
        "{out}"
    );
    let (_, out, _) = run(&[
        "cumulants",
        "--sigma",
        "1e-300",
        "--steps",
        "1000000000000000",
    ]);
    assert!(out.contains("-4.9999999999999997e614"), "{out}");
    // A vacuous bracket says so in words (PLD at δ = 1e-300: tail mass above δ).
    let (_, out, _) = run(&PLD_TAIL_ABOVE_DELTA);
    assert!(
        out.contains("bracket     [2.") && out.contains(", unbounded]"),
        "{out}"
    );
    // The Edgeworth bracket's note names the untilted band's unbounded end in words too.
    let (_, out, _) = run(&[&["epsilon"][..], &sst2, &["--delta", "1e-5", "--bracket"]].concat());
    assert!(out.contains("unbounded"), "{out}");
}

#[test]
fn json_keeps_infinite_values_as_strings_and_never_negative_zero() {
    let v = json_out(&[&PLD_TAIL_ABOVE_DELTA[..], &["--format", "json"]].concat());
    assert_eq!(v["upper"], "inf", "{v}");
    assert!(v["lower"].is_number(), "{v}");
    let out = ewtune()
        .args([
            "delta",
            "--mechanism",
            "gaussian",
            "--sigma",
            "1",
            "--epsilon",
            "50",
            "--accountant",
            "gdp",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("-0.0") && !text.contains(":-0,"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["delta"], 0.0);
    assert_eq!(v["log10_delta"], "-inf");
}

#[test]
fn flags_a_mechanism_or_accountant_does_not_take_are_refused_naming_them() {
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            vec![
                "epsilon",
                "--mechanism",
                "gaussian",
                "--sigma",
                "1",
                "--sampling-rate",
                "0.5",
                "--delta",
                "1e-5",
            ],
            &["--sampling-rate", "gaussian"],
        ),
        (
            vec![
                "epsilon",
                "--mechanism",
                "laplace",
                "--scale",
                "1",
                "--sigma",
                "1",
                "--delta",
                "1e-5",
            ],
            &["--sigma", "laplace"],
        ),
        (
            vec![
                "epsilon",
                "--sigma",
                "1",
                "--sampling-rate",
                "0.1",
                "--scale",
                "2",
                "--delta",
                "1e-5",
            ],
            &["--scale", "subsampled-gaussian"],
        ),
        (
            vec![
                "epsilon",
                "--sigma",
                "1",
                "--sampling-rate",
                "0.1",
                "--delta",
                "1e-5",
                "--accountant",
                "contour",
                "--order",
                "2",
            ],
            &["--order", "contour"],
        ),
        (
            vec![
                "epsilon",
                "--sigma",
                "1",
                "--sampling-rate",
                "0.1",
                "--delta",
                "1e-5",
                "--tolerance",
                "1e-3",
            ],
            &["--tolerance", "edgeworth"],
        ),
        (
            vec![
                "epsilon",
                "--sigma",
                "1",
                "--sampling-rate",
                "0.1",
                "--delta",
                "1e-5",
                "--accountant",
                "rdp",
                "--kolmogorov-only",
            ],
            &["--kolmogorov-only", "rdp"],
        ),
        (
            vec![
                "compare",
                "--sigma",
                "1",
                "--sampling-rate",
                "0.1",
                "--delta",
                "1e-5",
                "--accountant",
                "pld",
            ],
            &["--accountant"],
        ),
        (
            vec![
                "calibrate",
                "--mechanism",
                "laplace",
                "--scale",
                "1",
                "--target-epsilon",
                "1",
                "--delta",
                "1e-5",
                "--steps",
                "10",
            ],
            // Laplace calibrates its scale: without `--solve scale` the flag is named.
            &["--solve", "laplace", "scale"],
        ),
    ];
    for (args, words) in cases {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        for w in words {
            assert!(err.contains(w), "{args:?}: {err} should name {w}");
        }
    }
}

#[test]
fn calibrate_takes_the_mechanism_flags_epsilon_takes() {
    // The same flags as `epsilon`; gaussian is q = 1.
    let sub = json_out(&[
        "calibrate",
        "--mechanism",
        "subsampled-gaussian",
        "--sampling-rate",
        "0.01",
        "--steps",
        "100",
        "--target-epsilon",
        "2",
        "--delta",
        "1e-5",
        "--accountant",
        "gdp",
        "--format",
        "json",
    ]);
    let implied = json_out(&[
        "calibrate",
        "--sampling-rate",
        "0.01",
        "--steps",
        "100",
        "--target-epsilon",
        "2",
        "--delta",
        "1e-5",
        "--accountant",
        "gdp",
        "--format",
        "json",
    ]);
    assert_eq!(sub["sigma"], implied["sigma"]);
    let g = json_out(&[
        "calibrate",
        "--mechanism",
        "gaussian",
        "--steps",
        "1",
        "--target-epsilon",
        "1",
        "--delta",
        "1e-5",
        "--accountant",
        "gdp",
        "--format",
        "json",
    ]);
    assert_eq!(g["sampling_rate"], 1.0);
    // The σ it calibrated gives ε ≤ 1 for the Gaussian mechanism by `epsilon` too.
    let sigma = g["sigma"].as_f64().unwrap().to_string();
    let e = json_out(&[
        "epsilon",
        "--mechanism",
        "gaussian",
        "--sigma",
        &sigma,
        "--delta",
        "1e-5",
        "--accountant",
        "gdp",
        "--format",
        "json",
    ]);
    let eps = e["epsilon"].as_f64().unwrap();
    assert!(eps <= 1.0 + 1e-9 && eps > 0.999, "{eps}");
}

#[test]
fn pld_takes_the_tolerance_it_is_given() {
    // No silent replacement: a finer tolerance than the default gives a narrower bracket.
    let width = |extra: &[&str]| {
        let mut args = vec![
            "epsilon",
            "--sigma",
            "1",
            "--sampling-rate",
            "0.01",
            "--steps",
            "100",
            "--delta",
            "1e-5",
            "--accountant",
            "pld",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let v = json_out(&args);
        (v["upper"].as_f64().unwrap() - v["lower"].as_f64().unwrap())
            / v["epsilon"].as_f64().unwrap()
    };
    let default = width(&[]);
    let fine = width(&["--tolerance", "1e-4"]);
    assert!(fine < default / 5.0, "1e-4: {fine}, default: {default}");
    assert!(
        fine <= 1e-4 * 4.0,
        "relative width {fine} for tolerance 1e-4"
    );
}

#[test]
fn budgets_refuse_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    // A 10^5 x 10^5 x 10^5 grid (10^15 rows): with --limit 10 it computes 10 rows, without it
    // is refused at once.
    let cfg = dir.path().join("huge.toml");
    std::fs::write(
        &cfg,
        "name = \"huge\"\naccountants = [\"gdp\"]\n[[grid]]\nsigma = { start = 1, stop = 2, num = 100000 }\n\
         sampling_rate = { start = 0.001, stop = 0.01, num = 100000 }\n\
         steps = { start = 10, stop = 1000, num = 100000 }\ndelta = [1e-5]\n",
    )
    .unwrap();
    let (c, o) = (cfg.to_str().unwrap(), dir.path().to_str().unwrap());
    let (code, _, err) = run(&["sweep", "--config", c, "--out-dir", o, "--quiet"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("budget") || err.contains("rows"), "{err}");
    let (code, _, err) = run(&[
        "sweep",
        "--config",
        c,
        "--out-dir",
        o,
        "--quiet",
        "--limit",
        "10",
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(dir.path().join("huge.csv")).unwrap();
    assert_eq!(text.lines().count(), 11, "header + 10 rows");
    // Steps beyond 10^15 in a config are refused, not saturated.
    let big = dir.path().join("big.toml");
    std::fs::write(
        &big,
        "accountants = [\"gdp\"]\n[[grid]]\nsigma = [1.0]\nsampling_rate = [0.1]\nsteps = [1e30]\ndelta = [1e-5]\n",
    )
    .unwrap();
    let (code, _, err) = run(&[
        "sweep",
        "--config",
        big.to_str().unwrap(),
        "--out-dir",
        o,
        "--quiet",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("steps"), "{err}");
    // Training data of 10^11 examples or dimensions: refused before allocating, and a zero
    // dimension is blamed on `dim`.
    for (data, word) in [
        ("n = 100000000000\ndim = 4", "budget"),
        ("n = 50\ndim = 100000000000", "budget"),
        ("n = 50\ndim = 0", "dim"),
        ("n = 0\ndim = 4", "n"),
    ] {
        let t = train_config(dir.path(), data);
        let (code, _, err) = run(&[
            "train",
            "--config",
            t.to_str().unwrap(),
            "--quiet",
            "--backend",
            "cpu",
        ]);
        assert_eq!(code, 2, "{data}: {err}");
        assert!(err.contains(word), "{data}: {err} should say {word}");
    }
}

/// Output into a pipe whose reader has gone (`ewtune ... | head -3`) ends the process quietly
/// (SIGPIPE, status 141 in a shell), never with a panic and a backtrace (exit 101).
#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let bin = assert_cmd::cargo::cargo_bin("ewtune");
    // `true` exits at once; ewtune starts 0.3 s later and writes into a pipe with no reader.
    // Its stderr goes to fd 4, the script's stdout, with the pipeline's status after it.
    let script = format!(
        "exec 4>&1; (sleep 0.3; exec '{}' cumulants --sigma 1 2>&4) | true; \
         echo \"status ${{PIPESTATUS[0]}}\"",
        bin.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("bash runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("panicked"), "{text}");
    assert!(text.contains("status 141"), "{text}");
}

/// Non-finite words are rewritten in messages and text output, but not inside paths and file
/// names: `/tmp/infinite_nancy/inf.json` read `/tmp/infinite_nancy/∞.json` in an error.
#[test]
fn words_inside_paths_are_not_rewritten() {
    use ewtune::cli::args::{error_text, plain_text};
    assert_eq!(
        error_text("cannot parse /tmp/infinite_nancy/inf.json: x = inf"),
        "cannot parse /tmp/infinite_nancy/inf.json: x = ∞"
    );
    assert_eq!(
        error_text("nan.toml and nan."),
        "nan.toml and not-a-number."
    );
    assert_eq!(error_text(r"C:\data\inf.toml"), r"C:\data\inf.toml");
    assert_eq!(
        plain_text("bracket [2.27, inf]; -inf"),
        "bracket [2.27, unbounded]; -unbounded"
    );
    // The CLI's own message: `events_file_counts_stay_in_range_and_a_bom_is_accepted` parses
    // a malformed `inf.json`.
}

/// `calibrate` solves DP-SGD unless `--mechanism` says otherwise: `--sigma` without
/// `--sampling-rate` is refused with the way to ask for the Gaussian mechanism, which then
/// calibrates.
#[test]
fn calibrate_without_a_sampling_rate_says_how_to_ask_for_the_gaussian() {
    let base = [
        "calibrate",
        "--sigma",
        "1",
        "--steps",
        "100",
        "--target-epsilon",
        "1",
    ];
    let (code, _, err) = run(&[&base[..], &["--delta", "1e-5"]].concat());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--mechanism gaussian"), "{err}");
    let (code, out, err) =
        run(&[&base[..], &["--delta", "1e-5", "--mechanism", "gaussian"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sigma"), "{out}");
}

/// The text output keeps the 40 outward-rounded digits of each enclosure end (the long-number
/// compaction of notes shortened them to the nearest f64, which is not outward).
#[test]
fn cumulant_text_keeps_the_enclosure_digits() {
    let (code, out, err) = run(&["cumulants", "--sigma", "3"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "[5.555555555555555555555555555555555555555e-2, 5.555555555555555555555555555555555555556e-2]"
        ),
        "{out}"
    );
}

/// Integer flags take digits or an exact integer in exponent form (`--steps 1e3` is 1000
/// steps, as `--delta 1e-5` is a number); a fraction or a word is refused naming the flag, and
/// the flag's own range check still applies (`1e16` steps).
#[test]
fn integer_flags_take_exponent_forms_of_exact_integers() {
    let base = ["epsilon", "--sigma", "1", "--sampling-rate", "0.1"];
    let answer = |steps: &str, precision: &str| {
        let mut args = base.to_vec();
        args.extend([
            "--steps",
            steps,
            "--precision",
            precision,
            "--delta",
            "1e-5",
            "--format",
            "json",
        ]);
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{args:?}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["epsilon"].as_f64().unwrap()
    };
    assert_eq!(answer("1e3", "1.28e2"), answer("1000", "128"));
    assert_eq!(answer("2.5E2", "128"), answer("250", "128"));
    for (bad, says) in [
        ("1.5", "must be an integer"),
        ("1e-3", "must be an integer"),
        ("ten", "must be an integer"),
        ("1e16", "[1, 1e15]"),
        ("1e30", "at most"),
    ] {
        let mut args = base.to_vec();
        args.extend(["--steps", bad, "--delta", "1e-5"]);
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(
            err.contains("--steps") && err.contains(says),
            "{bad}: {err}"
        );
    }
    let (code, _, err) = run(&[
        "epsilon",
        "--sigma",
        "1",
        "--sampling",
        "without-replacement",
        "--dataset-size",
        "-5",
        "--batch-size",
        "2",
        "--adjacency",
        "replace-one",
        "--delta",
        "1e-5",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--dataset-size") && err.contains("non-negative"),
        "{err}"
    );
}
