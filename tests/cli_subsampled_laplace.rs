//! CLI tests of `--mechanism subsampled-laplace` and the `--sampling` axis.

mod common;

use common::{ewtune, json_ok};

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

/// The `upper` end reported for `epsilon` with BASE and the space-separated `flags`.
fn upper(flags: &str) -> f64 {
    let a = with(&flags.split_whitespace().collect::<Vec<_>>());
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    json_ok(&a)["upper"].as_f64().unwrap()
}

const NAMED: &str = "--mechanism subsampled-laplace --scale 1 --sampling-rate 0.1 --accountant pld";

#[test]
fn the_four_spellings_of_a_subsampled_laplace_agree() {
    let named = upper(NAMED);
    for other in [
        "--scale 1 --sampling-rate 0.1 --accountant pld",
        "--mechanism laplace --sampling poisson --scale 1 --sampling-rate 0.1 --accountant pld",
        "--scale 1 --sampling poisson --sampling-rate 0.1 --accountant pld",
    ] {
        assert_eq!(named, upper(other), "{other}");
    }
    // Smaller than the plain Laplace mechanism's ε.
    let plain = upper("--mechanism laplace --scale 1 --accountant pld");
    assert!(named < plain, "{named} vs {plain}");
    // RDP is an upper bound above the PLD value.
    let rdp =
        upper("--mechanism subsampled-laplace --scale 1 --sampling-rate 0.1 --accountant rdp");
    assert!(rdp >= named * 0.99, "{rdp} vs {named}");
}

#[test]
fn sampling_poisson_turns_gaussian_into_subsampled_gaussian() {
    assert_eq!(
        upper("--mechanism gaussian --sampling poisson --sigma 1 --sampling-rate 0.1 --accountant pld"),
        upper("--mechanism subsampled-gaussian --sigma 1 --sampling-rate 0.1 --accountant pld")
    );
    assert_eq!(
        upper("--mechanism gaussian --sampling none --sigma 1 --accountant pld"),
        upper("--mechanism gaussian --sigma 1 --accountant pld")
    );
}

#[test]
fn refusals_name_the_flag_or_the_accountant() {
    const SL: [&str; 2] = ["--mechanism", "subsampled-laplace"];
    let mut cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec![
                "--sampling",
                "truncated-poisson",
                "--mechanism",
                "gaussian",
                "--sigma",
                "1",
            ],
            vec!["sampling-rate", "truncated-poisson"],
        ),
        (
            vec!["--sampling", "without-replacement", "--scale", "1"],
            vec!["sampling", "gaussian only"],
        ),
        (
            [
                &SL[..],
                &[
                    "--scale",
                    "1",
                    "--sampling-rate",
                    "0.1",
                    "--sampling",
                    "none",
                ],
            ]
            .concat(),
            vec!["sampling", "subsampled-laplace"],
        ),
        (
            [&SL[..], &["--scale", "1", "--sampling-rate", "1.5"]].concat(),
            vec!["sampling"],
        ),
        (
            [&SL[..], &["--scale", "-1", "--sampling-rate", "0.5"]].concat(),
            vec!["scale"],
        ),
        (
            [&SL[..], &["--sampling-rate", "0.5"]].concat(),
            vec!["scale", "subsampled-laplace"],
        ),
        (
            [
                &SL[..],
                &["--scale", "1", "--sigma", "1", "--sampling-rate", "0.5"],
            ]
            .concat(),
            vec!["sigma", "subsampled-laplace"],
        ),
    ];
    // The contour and the saddle point take it (tests/subsampled_laplace_contour.rs,
    // tests/subsampled_laplace_saddlepoint.rs); gdp refuses it by name.
    cases.push((
        [
            &SL[..],
            &[
                "--scale",
                "1",
                "--sampling-rate",
                "0.1",
                "--accountant",
                "gdp",
            ],
        ]
        .concat(),
        vec!["gdp", "subsampled-laplace", "pld"],
    ));
    for (extra, needles) in cases {
        let a = with(&extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        fails(&a, 2, &needles);
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
    let flags = upper(NAMED);
    assert_eq!(from_file, flags);
    std::fs::remove_dir_all(&dir).ok();
}

/// `calibrate --solve scale` (subsampled-laplace by contour, laplace by pld): the returned scale
/// meets the target on the accountant's certified upper end, the other end of the final
/// bracket does not and lies within the relative tolerance below it; a wrong `--solve` and
/// `--solve scale` for a Gaussian are refused naming `solve`.
#[test]
fn calibrate_solves_the_scale() {
    for (mech, acc) in [
        (
            "--mechanism subsampled-laplace --sampling-rate 0.02",
            "contour",
        ),
        ("--mechanism laplace", "pld"),
    ] {
        let args: Vec<String> = format!(
            "calibrate {mech} --steps 200 --target-epsilon 2 --delta 1e-6 --solve scale \
             --accountant {acc} --format json"
        )
        .split_whitespace()
        .map(String::from)
        .collect();
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = json_ok(&a);
        let (b, other) = (
            v["scale"].as_f64().unwrap(),
            v["other_end"].as_f64().unwrap(),
        );
        assert!(
            other < b && b / other - 1.0 <= 1.01e-4,
            "{mech}: {b} {other}"
        );
        let eps_up = |scale: f64| {
            let args: Vec<String> = format!(
                "epsilon {mech} --scale {scale} --steps 200 --delta 1e-6 --accountant {acc} \
                 --format json"
            )
            .split_whitespace()
            .map(String::from)
            .collect();
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            json_ok(&a)["upper"].as_f64().unwrap()
        };
        assert!(eps_up(b) <= 2.0, "{mech}: {}", eps_up(b));
        assert!(eps_up(other) > 2.0, "{mech}: {}", eps_up(other));
    }
    fails(
        &[
            "calibrate",
            "--mechanism",
            "subsampled-laplace",
            "--sampling-rate",
            "0.1",
            "--steps",
            "10",
            "--target-epsilon",
            "1",
            "--delta",
            "1e-5",
        ],
        2,
        &["solve", "scale"],
    );
    fails(
        &[
            "calibrate",
            "--mechanism",
            "gaussian",
            "--sigma",
            "1",
            "--steps",
            "10",
            "--target-epsilon",
            "1",
            "--delta",
            "1e-5",
            "--solve",
            "scale",
        ],
        2,
        &["solve", "laplace"],
    );
}
