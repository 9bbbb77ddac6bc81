//! CLI tests of `--mechanism subsampled-laplace` and the `--sampling` axis.

use assert_cmd::Command;

fn ewtune() -> Command {
    Command::cargo_bin("ewtune").unwrap()
}

fn json_ok(args: &[&str]) -> serde_json::Value {
    let out = ewtune().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fails(args: &[&str], code: i32, needles: &[&str]) {
    let out = ewtune().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {n:?} not in {err}");
    }
}

const BASE: [&str; 7] = [
    "epsilon", "--steps", "50", "--delta", "1e-5", "--format", "json",
];

fn with(extra: &[&str]) -> Vec<String> {
    BASE.iter().chain(extra).map(|s| s.to_string()).collect()
}

fn upper(args: &[String]) -> f64 {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    json_ok(&a)["upper"].as_f64().unwrap()
}

#[test]
fn the_four_spellings_of_a_subsampled_laplace_agree() {
    let named = upper(&with(&[
        "--mechanism",
        "subsampled-laplace",
        "--scale",
        "1",
        "--sampling-rate",
        "0.1",
        "--accountant",
        "pld",
    ]));
    let inferred = upper(&with(&[
        "--scale",
        "1",
        "--sampling-rate",
        "0.1",
        "--accountant",
        "pld",
    ]));
    let axis = upper(&with(&[
        "--mechanism",
        "laplace",
        "--sampling",
        "poisson",
        "--scale",
        "1",
        "--sampling-rate",
        "0.1",
        "--accountant",
        "pld",
    ]));
    let axis_inferred = upper(&with(&[
        "--scale",
        "1",
        "--sampling",
        "poisson",
        "--sampling-rate",
        "0.1",
        "--accountant",
        "pld",
    ]));
    assert_eq!(named, inferred);
    assert_eq!(named, axis);
    assert_eq!(named, axis_inferred);
    // Smaller than the plain Laplace mechanism's ε.
    let plain = upper(&with(&[
        "--mechanism",
        "laplace",
        "--scale",
        "1",
        "--accountant",
        "pld",
    ]));
    assert!(named < plain, "{named} vs {plain}");
    // RDP is an upper bound above the PLD value.
    let rdp = upper(&with(&[
        "--mechanism",
        "subsampled-laplace",
        "--scale",
        "1",
        "--sampling-rate",
        "0.1",
        "--accountant",
        "rdp",
    ]));
    assert!(rdp >= named * 0.99, "{rdp} vs {named}");
}

#[test]
fn sampling_poisson_turns_gaussian_into_subsampled_gaussian() {
    let a = upper(&with(&[
        "--mechanism",
        "gaussian",
        "--sampling",
        "poisson",
        "--sigma",
        "1",
        "--sampling-rate",
        "0.1",
        "--accountant",
        "pld",
    ]));
    let b = upper(&with(&[
        "--mechanism",
        "subsampled-gaussian",
        "--sigma",
        "1",
        "--sampling-rate",
        "0.1",
        "--accountant",
        "pld",
    ]));
    assert_eq!(a, b);
    let none = upper(&with(&[
        "--mechanism",
        "gaussian",
        "--sampling",
        "none",
        "--sigma",
        "1",
        "--accountant",
        "pld",
    ]));
    let plain = upper(&with(&[
        "--mechanism",
        "gaussian",
        "--sigma",
        "1",
        "--accountant",
        "pld",
    ]));
    assert_eq!(none, plain);
}

#[test]
fn refusals_name_the_flag_or_the_accountant() {
    let s = |v: &[&str]| with(v);
    for kind in ["truncated-poisson", "without-replacement"] {
        let a = s(&[
            "--mechanism",
            "gaussian",
            "--sigma",
            "1",
            "--sampling-rate",
            "0.1",
            "--sampling",
            kind,
        ]);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        fails(&a, 2, &["sampling", "not yet supported"]);
    }
    let a = s(&[
        "--mechanism",
        "subsampled-laplace",
        "--scale",
        "1",
        "--sampling-rate",
        "0.1",
        "--sampling",
        "none",
    ]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    fails(&a, 2, &["sampling", "subsampled-laplace"]);
    let a = s(&[
        "--mechanism",
        "subsampled-laplace",
        "--scale",
        "1",
        "--sampling-rate",
        "1.5",
    ]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    fails(&a, 2, &["sampling"]);
    let a = s(&[
        "--mechanism",
        "subsampled-laplace",
        "--scale",
        "-1",
        "--sampling-rate",
        "0.5",
    ]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    fails(&a, 2, &["scale"]);
    let a = s(&[
        "--mechanism",
        "subsampled-laplace",
        "--sampling-rate",
        "0.5",
    ]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    fails(&a, 2, &["scale", "subsampled-laplace"]);
    let a = s(&[
        "--mechanism",
        "subsampled-laplace",
        "--scale",
        "1",
        "--sigma",
        "1",
        "--sampling-rate",
        "0.5",
    ]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    fails(&a, 2, &["sigma", "subsampled-laplace"]);
    for acc in ["contour", "edgeworth", "saddlepoint", "gdp"] {
        let a = s(&[
            "--mechanism",
            "subsampled-laplace",
            "--scale",
            "1",
            "--sampling-rate",
            "0.1",
            "--accountant",
            acc,
        ]);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        fails(&a, 2, &[acc, "subsampled-laplace", "pld"]);
    }
}

#[test]
fn events_files_take_subsampled_laplace() {
    let dir = std::env::temp_dir().join(format!("ewtune-sl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.json");
    std::fs::write(
        &path,
        r#"{"events": [{"mechanism": "subsampled-laplace", "scale": 1.0, "sampling_rate": 0.1, "count": 50}]}"#,
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let from_file = json_ok(&[
        "epsilon",
        "--events",
        p,
        "--delta",
        "1e-5",
        "--format",
        "json",
        "--accountant",
        "pld",
    ])["upper"]
        .as_f64()
        .unwrap();
    let flags = upper(&with(&[
        "--mechanism",
        "subsampled-laplace",
        "--scale",
        "1",
        "--sampling-rate",
        "0.1",
        "--accountant",
        "pld",
    ]));
    assert_eq!(from_file, flags);
    std::fs::remove_dir_all(&dir).ok();
}
