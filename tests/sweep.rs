//! Sweeps: deterministic CSV, resume after interruption, shards concatenating to the grid.

use assert_cmd::Command;
use ewtune::accountant::FourierPart;
use ewtune::sweep::{run_sweep, Silent, SweepConfig, SweepParams};
use std::path::Path;

const CONFIG: &str = r#"
name = "mini"
query = "epsilon"
accountants = ["edgeworth"]
orders = [0, 1, 2]
adjacency = "remove"

[[grid]]
label = "A"
sigma = [0.8, 1.0]
sampling_rate = [0.01]
steps = { start = 10, stop = 1000, num = 4, log = true }
delta = [1e-5, 1e-6]

[[grid]]
label = "S3"
sigma = [0.8]
sampling_rate_scaling = 0.08
steps = [50000, 100000]
delta = [0.1]
"#;

fn params(
    dir: &Path,
    shard: Option<(u64, u64)>,
    threads: usize,
    limit: Option<u64>,
) -> SweepParams {
    SweepParams {
        config: SweepConfig::from_toml(CONFIG, "mini.toml").expect("config"),
        config_text: CONFIG.to_string(),
        out_dir: dir.to_path_buf(),
        name: "mini".into(),
        shard,
        threads: Some(threads),
        limit,
        command: "test".into(),
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).expect("csv")
}

#[test]
fn grid_size_and_columns() {
    let d = tempfile::tempdir().expect("tmp");
    let info = run_sweep(&params(d.path(), None, 2, None), &Silent).expect("sweep");
    // A: 2 σ × 4 steps × 2 δ × 3 orders = 48; S3: 2 steps × 1 δ × 3 orders = 6.
    assert_eq!(info.rows_total, 54);
    assert!(info.complete);
    let text = read(&info.csv);
    let mut lines = text.lines();
    let head = lines.next().expect("header");
    assert!(head.starts_with("row,grid,method,accountant,order,adjacency,query,sigma,sampling_rate,steps,delta,log10_delta"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 54);
    for (i, r) in rows.iter().enumerate() {
        assert!(r.starts_with(&format!("{i},")), "row {i} in order");
    }
    // S3's q = 0.08·sqrt(ln m / m) at m = 50000 (relative 1e-15).
    let s3: Vec<&str> = rows[48].split(',').collect();
    let q: f64 = s3[8].parse().expect("q");
    let m = 50000f64;
    assert!((q / (0.08 * (m.ln() / m).sqrt()) - 1.0).abs() < 1e-15);
    let meta: serde_json::Value = serde_json::from_str(&read(&info.metadata)).expect("json");
    assert_eq!(meta["complete"], true);
    assert_eq!(meta["threads"], 2);
    assert!(meta["config_hash"].as_str().expect("hash").len() == 16);
}

#[test]
fn interrupted_then_resumed_equals_uninterrupted() {
    let full = tempfile::tempdir().expect("tmp");
    let a = run_sweep(&params(full.path(), None, 2, None), &Silent).expect("sweep");
    let part = tempfile::tempdir().expect("tmp");
    let b1 = run_sweep(&params(part.path(), None, 1, Some(7)), &Silent).expect("first part");
    assert!(!b1.complete);
    assert_eq!(b1.rows_computed, 7);
    let b2 = run_sweep(&params(part.path(), None, 2, Some(20)), &Silent).expect("second part");
    assert_eq!(b2.rows_resumed, 7);
    assert_eq!(b2.rows_computed, 20);
    let b3 = run_sweep(&params(part.path(), None, 2, None), &Silent).expect("rest");
    assert_eq!(b3.rows_resumed, 27);
    assert!(b3.complete);
    assert_eq!(read(&a.csv), read(&b3.csv), "same bytes");
    // Rerunning a complete sweep computes nothing.
    let b4 = run_sweep(&params(part.path(), None, 2, None), &Silent).expect("noop");
    assert_eq!(b4.rows_computed, 0);
    assert_eq!(read(&a.csv), read(&b4.csv));
}

#[test]
fn shards_concatenate_to_the_full_grid() {
    let full = tempfile::tempdir().expect("tmp");
    let a = run_sweep(&params(full.path(), None, 2, None), &Silent).expect("sweep");
    let sh = tempfile::tempdir().expect("tmp");
    let mut cat = String::new();
    for i in 1..=5 {
        let info = run_sweep(&params(sh.path(), Some((i, 5)), 1, None), &Silent).expect("shard");
        assert!(info
            .csv
            .to_string_lossy()
            .ends_with(&format!("mini.shard-{i}-of-5.csv")));
        let text = read(&info.csv);
        let mut lines = text.lines();
        let head = lines.next().expect("header");
        if i == 1 {
            cat.push_str(head);
            cat.push('\n');
        }
        for l in lines {
            cat.push_str(l);
            cat.push('\n');
        }
    }
    assert_eq!(read(&a.csv), cat);
}

#[test]
fn a_different_config_refuses_to_resume() {
    let d = tempfile::tempdir().expect("tmp");
    run_sweep(&params(d.path(), None, 1, Some(3)), &Silent).expect("part");
    let mut p = params(d.path(), None, 1, None);
    p.config_text.push_str("\n# changed\n");
    assert!(run_sweep(&p, &Silent).is_err());
}

#[test]
fn bad_configs_are_errors() {
    for (bad, what) in [
        ("query = \"epsilon\"\n[[grid]]\nsigma=[1.0]\nsampling_rate=[0.1]\nsteps=[10]\n", "delta"),
        ("accountants = [\"nope\"]\n[[grid]]\nsigma=[1.0]\nsampling_rate=[0.1]\nsteps=[10]\ndelta=[1e-5]\n", "accountant"),
        ("[[grid]]\nsigma=[-1.0]\nsampling_rate=[0.1]\nsteps=[10]\ndelta=[1e-5]\n", "sigma"),
        ("[[grid]]\nsigma=[1.0]\nsampling_rate=[1.5]\nsteps=[10]\ndelta=[1e-5]\n", "sampling_rate"),
        ("[[grid]]\nsigma=[1.0]\nsampling_rate=[0.1]\nsteps=[10]\ndelta=[2.0]\n", "delta"),
    ] {
        let cfg = SweepConfig::from_toml(bad, "bad.toml").expect("parses");
        let e = cfg.plan().expect_err("invalid");
        assert!(e.to_string().contains(what), "{e} should name {what}");
    }
    assert!(SweepConfig::from_toml("unknown_key = 1\n", "bad.toml").is_err());
}

#[test]
fn calibrate_query_rows_and_cli() {
    let cfg = r#"
name = "cal"
query = "calibrate"
accountants = ["edgeworth"]
orders = [1]
adjacency = "remove"
[[grid]]
label = "SST-2"
train_size = 67349
batch_size = 2000
epochs = 20
delta = [1e-5]
epsilon = [8.0]
"#;
    let d = tempfile::tempdir().expect("tmp");
    let path = d.path().join("cal.toml");
    std::fs::write(&path, cfg).expect("write");
    let out = Command::cargo_bin("ewtune")
        .expect("bin")
        .args([
            "sweep",
            "--config",
            path.to_str().expect("utf8"),
            "--out-dir",
            d.path().to_str().expect("utf8"),
            "--threads",
            "1",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rdr = csv::Reader::from_path(d.path().join("cal.csv")).expect("csv");
    let head = rdr.headers().expect("h").clone();
    let rec = rdr.records().next().expect("row").expect("ok");
    let col = |n: &str| rec[head.iter().position(|h| h == n).expect("column")].to_string();
    assert_eq!(col("steps"), "660");
    let sigma: f64 = col("sigma").parse().expect("sigma");
    // Same point as the calibrate acceptance test: root in (0.7860, 0.7865].
    assert!(sigma > 0.7860 && sigma < 0.7866, "sigma {sigma}");
    assert!(col("epsilon").parse::<f64>().expect("eps") <= 8.0);
    assert_eq!(col("target_epsilon"), "8");
}

#[test]
fn block_accountant_filter_and_truth_switch() {
    let cfg = r#"
accountants = ["all"]
orders = [0, 1]
truth = ["no-such-accountant"]
[[grid]]
label = "all"
sigma = [1.0]
sampling_rate = [0.01]
steps = [10]
delta = [1e-5]
[[grid]]
label = "ew-only"
accountants = ["edgeworth"]
truth = false
sigma = [1.0]
sampling_rate = [0.01]
steps = [10]
delta = [1e-5]
"#;
    let plan = SweepConfig::from_toml(cfg, "c.toml")
        .expect("config")
        .plan()
        .expect("plan");
    let n_all = plan.methods.len();
    assert!(n_all >= 2);
    let jobs: Vec<_> = plan.jobs(0, plan.len()).collect();
    let ew: Vec<_> = jobs.iter().filter(|j| j.grid == "ew-only").collect();
    assert_eq!(ew.len(), 2, "edgeworth orders 0 and 1 only");
    assert!(ew
        .iter()
        .all(|j| plan.methods[j.method].kind.name() == "edgeworth" && !j.truth));
    assert_eq!(plan.len(), n_all as u64 + 2);
    assert!(plan.truth.is_none(), "an unknown truth name is skipped");
    let bad = cfg.replace("accountants = [\"edgeworth\"]", "accountants = [\"nope\"]");
    assert!(SweepConfig::from_toml(&bad, "c.toml")
        .expect("config")
        .plan()
        .is_err());
}

#[test]
fn saddlepoint_kolmogorov_is_its_own_method() {
    let cfg = r#"
accountants = ["saddlepoint", "saddlepoint-kolmogorov"]
[[grid]]
label = "a"
sigma = [1.0]
sampling_rate = [0.01]
steps = [10]
delta = [1e-5]
[[grid]]
label = "k-only"
accountants = ["saddlepoint-kolmogorov"]
sigma = [1.0]
sampling_rate = [0.01]
steps = [10]
delta = [1e-5]
"#;
    let plan = SweepConfig::from_toml(cfg, "c.toml")
        .expect("config")
        .plan()
        .expect("plan");
    let labels: Vec<_> = plan.methods.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(labels, ["saddlepoint", "saddlepoint-kolmogorov"]);
    let fourier = |m: &ewtune::sweep::Method| match &m.config {
        ewtune::accountant::AccountantConfig::Saddlepoint(p) => p.fourier,
        other => panic!("not a saddle-point method: {other:?}"),
    };
    assert_eq!(fourier(&plan.methods[0]), FourierPart::WhenLoose);
    assert_eq!(fourier(&plan.methods[1]), FourierPart::Off);
    let k: Vec<_> = plan
        .jobs(0, plan.len())
        .filter(|j| j.grid == "k-only")
        .collect();
    assert_eq!(k.len(), 1);
    assert_eq!(plan.methods[k[0].method].label, "saddlepoint-kolmogorov");
}

/// Every accountant (and both queries' columns) on a small grid, with the truth column.
const ALL: &str = r#"
name = "all"
query = "epsilon"
accountants = ["all", "saddlepoint-kolmogorov"]
orders = [0, 1]
adjacency = "add-remove"
truth = ["contour"]

[[grid]]
label = "A"
sigma = [0.9, 1.3]
sampling_rate = [0.02]
steps = [20, 300]
delta = [1e-5]
"#;

fn all_params(dir: &Path, threads: usize, limit: Option<u64>) -> SweepParams {
    SweepParams {
        config: SweepConfig::from_toml(ALL, "all.toml").expect("config"),
        config_text: ALL.to_string(),
        out_dir: dir.to_path_buf(),
        name: "all".into(),
        shard: None,
        threads: Some(threads),
        limit,
        command: "test".into(),
    }
}

#[test]
fn every_accountant_gives_the_same_bytes_for_any_thread_count_and_resumption() {
    let one = tempfile::tempdir().expect("tmp");
    let a = run_sweep(&all_params(one.path(), 1, None), &Silent).expect("1 thread");
    let two = tempfile::tempdir().expect("tmp");
    let b = run_sweep(&all_params(two.path(), 2, None), &Silent).expect("2 threads");
    assert_eq!(read(&a.csv), read(&b.csv), "1 and 2 threads");
    let part = tempfile::tempdir().expect("tmp");
    let mut resumed = 0;
    for limit in [3, 5, 100] {
        let c = run_sweep(&all_params(part.path(), 2, Some(limit)), &Silent).expect("part");
        resumed = c.rows_resumed;
    }
    assert!(resumed > 0);
    assert_eq!(
        read(&a.csv),
        read(&part.path().join("all.csv")),
        "resumed in pieces"
    );
    // No row failed: the comparison is between numbers.
    assert!(!read(&a.csv).contains(",error,"), "{}", read(&a.csv));
}

/// Checks, when the first row is about to be computed, that the CSV is already on disk with
/// its header (a kill at that moment leaves a file to resume from).
struct HeaderOnDisk(std::path::PathBuf, std::sync::atomic::AtomicBool);

impl ewtune::sweep::Progress for HeaderOnDisk {
    fn start(&self, rows: u64) {
        assert!(rows > 0);
        let text = std::fs::read_to_string(&self.0).expect("the CSV exists before any row");
        assert!(text.starts_with("row,grid,method,"), "{text}");
        self.1.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn the_csv_is_on_disk_before_the_first_row() {
    let d = tempfile::tempdir().expect("tmp");
    let probe = HeaderOnDisk(d.path().join("mini.csv"), false.into());
    run_sweep(&params(d.path(), None, 1, Some(2)), &probe).expect("sweep");
    assert!(
        probe.1.load(std::sync::atomic::Ordering::SeqCst),
        "start was called"
    );
}

#[test]
fn thread_counts_and_grid_sizes_are_checked_before_running() {
    let d = tempfile::tempdir().expect("tmp");
    for t in [0, ewtune::sweep::MAX_THREADS + 1] {
        let e = run_sweep(&params(d.path(), None, t, None), &Silent).expect_err("threads");
        assert!(e.to_string().contains("threads"), "{e}");
        assert!(e.is_usage(), "{e}");
    }
    assert!(!d.path().join("mini.csv").exists(), "nothing written");
    // 10^6 x 10^6 x 10^6 rows: refused without --limit, 4 rows with it.
    let huge = "name = \"huge\"\naccountants = [\"gdp\"]\n[[grid]]\n\
        sigma = { start = 1, stop = 2, num = 1000000 }\n\
        sampling_rate = { start = 0.001, stop = 0.01, num = 1000000 }\n\
        steps = { start = 10, stop = 1000, num = 1000000 }\ndelta = [1e-5]\n";
    let mut p = params(d.path(), None, 1, None);
    p.config = SweepConfig::from_toml(huge, "huge.toml").expect("config");
    p.config_text = huge.into();
    p.name = "huge".into();
    let e = run_sweep(&p, &Silent).expect_err("over budget");
    assert!(matches!(e, ewtune::Error::BudgetExceeded { .. }), "{e}");
    p.limit = Some(4);
    let info = run_sweep(&p, &Silent).expect("4 rows");
    assert_eq!(info.rows_total, 1_000_000_000_000_000_000);
    assert_eq!(info.rows_computed, 4);
    // Steps are integers in [1, 10^15]: 1e30 is refused, not saturated.
    let cfg = CONFIG.replace("steps = [50000, 100000]", "steps = [1e30]");
    let e = SweepConfig::from_toml(&cfg, "c.toml")
        .expect("config")
        .plan()
        .expect_err("steps");
    assert!(e.to_string().contains("steps"), "{e}");
}

/// Rows of a grid block with its own event (`event = {...}` with "$sigma"), for ε and calibrate
/// queries: an `event` column appears, each ε equals the accountant's on the same event, ε
/// falls with σ, and the calibrated σ meets the target while the other end of its bracket
/// does not (pld, certified). Bad event blocks fail at plan time naming the key.
#[test]
fn event_blocks_sweep_any_mechanism() {
    use ewtune::accountant::{build, AccountantConfig, AccountantKind};
    use ewtune::event::DpEvent;
    use ewtune::mechanism::Adjacency;
    let mog = r#"event = { type = "mixture_of_gaussians", sigma = "$sigma", sensitivities = [0, 1, 2], probabilities = [0.6, 0.3, 0.1] }"#;
    let run = |cfg: &str| {
        let d = tempfile::tempdir().expect("tmp");
        let c = SweepConfig::from_toml(cfg, "ev.toml").expect("config");
        let p = SweepParams {
            config: c,
            config_text: cfg.to_string(),
            out_dir: d.path().to_path_buf(),
            name: "ev".into(),
            shard: None,
            threads: Some(1),
            limit: None,
            command: "test".into(),
        };
        let info = run_sweep(&p, &Silent).expect("sweep");
        let mut rdr = csv::Reader::from_path(&info.csv).expect("csv");
        let head = rdr.headers().expect("h").clone();
        let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("row")).collect();
        (head, rows)
    };
    let eps_cfg = format!(
        "query = \"epsilon\"\naccountants = [\"pld\"]\n[[grid]]\nlabel = \"mog\"\nsigma = [1.0, 2.0]\nsteps = [10]\ndelta = [1e-5]\n{mog}\n"
    );
    let (head, rows) = run(&eps_cfg);
    let col = |r: &csv::StringRecord, n: &str| {
        r[head.iter().position(|h| h == n).expect("column")].to_string()
    };
    assert_eq!(rows.len(), 2);
    assert!(col(&rows[0], "event").contains("mixture_of_gaussians"));
    assert_eq!(col(&rows[0], "sampling_rate"), "");
    let cfg = AccountantConfig::default_for(AccountantKind::Pld, Adjacency::AddRemove);
    let direct = |sigma: f64| {
        let mut a = build(&cfg).expect("pld");
        let e = DpEvent::MixtureOfGaussians {
            sigma,
            sensitivities: vec![0.0, 1.0, 2.0],
            probabilities: vec![0.6, 0.3, 0.1],
        };
        a.compose(&e, 10).expect("compose");
        a.epsilon(1e-5).expect("epsilon")
    };
    let e: Vec<f64> = rows
        .iter()
        .map(|r| col(r, "epsilon").parse().expect("eps"))
        .collect();
    assert_eq!(e[0], direct(1.0).epsilon);
    assert_eq!(e[1], direct(2.0).epsilon);
    assert!(e[1] < e[0], "{e:?}");
    let cal_cfg = format!(
        "query = \"calibrate\"\naccountants = [\"pld\"]\n[[grid]]\nlabel = \"mog\"\nsteps = [10]\ndelta = [1e-5]\nepsilon = [2.0]\n{mog}\n"
    );
    let (head, rows) = run(&cal_cfg);
    let col = |r: &csv::StringRecord, n: &str| {
        r[head.iter().position(|h| h == n).expect("column")].to_string()
    };
    let s: f64 = col(&rows[0], "sigma").parse().expect("sigma");
    assert!(direct(s).upper.expect("certified") <= 2.0);
    assert!(direct(s * (1.0 - 2e-4)).upper.expect("certified") > 2.0);
    assert_eq!(col(&rows[0], "guarantee"), "bracket");
    for (bad, what) in [
        // "$sigma" without sigma values.
        (
            format!("[[grid]]\nsteps=[10]\ndelta=[1e-5]\n{mog}\n"),
            "sigma",
        ),
        // Not a DP event.
        (
            "[[grid]]\nsteps=[10]\ndelta=[1e-5]\nevent = { type = \"nope\" }\n".to_string(),
            "event",
        ),
        // A bad parameter inside the event.
        (
            "[[grid]]\nsigma=[1.0]\nsteps=[10]\ndelta=[1e-5]\nevent = { type = \"gaussian\", sigma = -1.0 }\n".to_string(),
            "sigma",
        ),
        // Calibration needs "$sigma".
        (
            "query = \"calibrate\"\n[[grid]]\nsteps=[10]\ndelta=[1e-5]\nepsilon=[1.0]\nevent = { type = \"laplace\", scale = 1.0 }\n".to_string(),
            "event",
        ),
    ] {
        let cfg = SweepConfig::from_toml(&bad, "bad.toml").expect("parses");
        let e = cfg.plan().expect_err("invalid");
        assert!(e.to_string().contains(what), "{e} should name {what}");
    }
}
