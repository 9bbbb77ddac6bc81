//! Measure the certified brackets of the saddle-point and Edgeworth accountants on the reference
//! settings and write them to results/bounds/ (see experiments/bounds/README.md).
//!
//! Usage: `cargo run --release --example bounds_sweep [-- OUT_DIR [SECTIONS]]` (default
//! results/bounds, all sections; SECTIONS a comma list of dpsgd, laplace, ewtune, large_m, cost).

use ewtune::accountant::{
    build, Accountant, AccountantKind, AccountantSettings, FourierPart, Report,
    SaddlePointAccountant, SaddlePointParams,
};
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let headers = rdr.headers().expect("headers").clone();
    rdr.records()
        .map(|r| {
            let r = r.expect("record");
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn run(
    kind: AccountantKind,
    adjacency: Adjacency,
    bracket: bool,
    event: &DpEvent,
    delta: f64,
) -> (Report, f64) {
    let opts = AccountantSettings {
        adjacency,
        bracket,
        ..AccountantSettings::default()
    };
    let t = Instant::now();
    let mut a = build(&opts.config(kind)).expect("build");
    a.compose(event, 1).expect("compose");
    let r = a.epsilon(delta).expect("epsilon");
    (r, t.elapsed().as_secs_f64())
}

/// The saddle-point bracket of an adjacency (max over its orderings of each end) with its
/// Kolmogorov-distance and Fourier parts.
struct Saddle {
    estimate: f64,
    lower: f64,
    upper: f64,
    k_lower: f64,
    k_upper: f64,
    f_lower: f64,
    f_upper: f64,
    seconds: f64,
}

fn saddle(adjacency: Adjacency, event: &DpEvent, delta: f64) -> Saddle {
    let t = Instant::now();
    let mut a = SaddlePointAccountant::new(SaddlePointParams {
        adjacency,
        // Both certified parts are recorded on every row (by default the accountant adds the
        // Fourier part only where the Kolmogorov part is loose).
        fourier: FourierPart::Always,
        ..SaddlePointParams::default()
    })
    .expect("build");
    a.compose(event, 1).expect("compose");
    let mut s = Saddle {
        estimate: 0.0,
        lower: 0.0,
        upper: 0.0,
        k_lower: 0.0,
        k_upper: 0.0,
        f_lower: 0.0,
        f_upper: 0.0,
        seconds: 0.0,
    };
    for &dir in adjacency.directions() {
        let b = a.epsilon_bracket(dir, delta).expect("epsilon bracket");
        let end = |x: Option<f64>| x.unwrap_or(f64::NAN);
        s.estimate = s.estimate.max(b.estimate);
        s.lower = s.lower.max(end(b.bracket.lower));
        s.upper = s.upper.max(end(b.bracket.upper));
        s.k_lower = s.k_lower.max(end(b.kolmogorov.lower));
        s.k_upper = s.k_upper.max(end(b.kolmogorov.upper));
        let (fl, fu) = b
            .fourier
            .and_then(|f| f.ok())
            .map_or((f64::NAN, f64::NAN), |f| (end(f.lower), end(f.upper)));
        s.f_lower = s.f_lower.max(fl);
        s.f_upper = s.f_upper.max(fu);
    }
    s.seconds = t.elapsed().as_secs_f64();
    s
}

fn f(x: Option<f64>) -> String {
    match x {
        Some(v) => format!("{v}"),
        None => String::new(),
    }
}

/// (accountant, estimate, lower, upper, seconds): the saddle-point bracket, its
/// Kolmogorov-distance part alone, and the Edgeworth bracket (add-remove).
fn rows_of(ev: &DpEvent, delta: f64) -> Vec<(&'static str, f64, f64, f64, f64)> {
    let sp = saddle(Adjacency::AddRemove, ev, delta);
    let (rep, secs) = run(
        AccountantKind::Edgeworth,
        Adjacency::AddRemove,
        true,
        ev,
        delta,
    );
    vec![
        ("saddlepoint", sp.estimate, sp.lower, sp.upper, sp.seconds),
        (
            "saddlepoint-kolmogorov",
            sp.estimate,
            sp.k_lower,
            sp.k_upper,
            sp.seconds,
        ),
        (
            "edgeworth",
            rep.epsilon,
            rep.lower.unwrap_or(0.0),
            rep.upper.unwrap_or(f64::INFINITY),
            secs,
        ),
    ]
}

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "results/bounds".into()),
    );
    fs::create_dir_all(&out).expect("mkdir");
    let reference = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference");
    let start = Instant::now();
    let sections = std::env::args().nth(2).unwrap_or_else(|| "all".into());
    let want = |name: &str| sections == "all" || sections.split(',').any(|s| s == name);

    let mut violations = 0;
    let mut lviol = 0;
    let mut worst_k: f64 = 0.0;
    // 1. DP-SGD reference grid (add-remove): truth bracket [eps_pld_optimistic, eps_pld].
    if want("dpsgd") {
        let mut w = fs::File::create(out.join("dpsgd_brackets.csv")).expect("create");
        writeln!(w, "accountant,q,sigma,steps,delta,eps_pld_optimistic,eps_pld,estimate,lower,upper,upper_over_pld,violation,vacuous,seconds").unwrap();
        for r in read_csv(&reference.join("dpsgd_eps.csv")) {
            if r["setting"] != "grid" {
                continue;
            }
            let q: f64 = r["q"].parse().unwrap();
            let sigma: f64 = r["sigma"].parse().unwrap();
            let steps: u64 = r["steps"].parse().unwrap();
            let delta: f64 = r["delta"].parse().unwrap();
            let lo_t: f64 = r["eps_pld_optimistic"].parse().unwrap();
            let hi_t: f64 = r["eps_pld"].parse().unwrap();
            let ev = DpEvent::dpsgd(sigma, q, steps);
            for (name, est, lo, hi, secs) in rows_of(&ev, delta) {
                let viol = hi < lo_t * (1.0 - 1e-9) || lo > hi_t * (1.0 + 1e-9);
                violations += viol as usize;
                writeln!(
                    w,
                    "{name},{q},{sigma},{steps},{delta},{lo_t},{hi_t},{est},{lo},{hi},{},{viol},{},{secs:.4}",
                    hi / hi_t - 1.0,
                    !hi.is_finite()
                )
                .unwrap();
            }
        }
        println!("dpsgd: {violations} violations");
    }

    // 2. Laplace, exact truth.
    if want("laplace") {
        let mut w = fs::File::create(out.join("laplace_brackets.csv")).expect("create");
        writeln!(
            w,
            "accountant,b,k,delta,eps_exact,estimate,lower,upper,violation,vacuous,seconds"
        )
        .unwrap();
        for r in read_csv(&reference.join("laplace_eps.csv")) {
            let b: f64 = r["b"].parse().unwrap();
            let k: u64 = r["k"].parse().unwrap();
            let delta: f64 = r["delta"].parse().unwrap();
            let Ok(exact) = r["eps_exact"].parse::<f64>() else {
                continue;
            };
            let ev = DpEvent::SelfComposed {
                event: Box::new(DpEvent::Laplace { scale: b }),
                count: k,
            };
            for (name, est, lo, hi, secs) in rows_of(&ev, delta) {
                let viol = hi < exact * (1.0 - 1e-9) || lo > exact * (1.0 + 1e-9);
                lviol += viol as usize;
                writeln!(
                    w,
                    "{name},{b},{k},{delta},{exact},{est},{lo},{hi},{viol},{},{secs:.4}",
                    !hi.is_finite()
                )
                .unwrap();
            }
        }
        println!("laplace: {lviol} violations");
    }

    // 3. EW-Tune setting (docs/math.md §9).
    if want("ewtune") {
        let mut w = fs::File::create(out.join("ewtune_saddlepoint.csv")).expect("create");
        writeln!(w, "task,n_train,q,steps,sigma,delta,adjacency,estimate,lower,upper,kolmogorov_lower,kolmogorov_upper,fourier_lower,fourier_upper,upper_over_truth,kolmogorov_upper_over_truth,seconds").unwrap();
        let tasks = [
            ("SST-2", 67349u64),
            ("QNLI", 104743),
            ("QQP", 363849),
            ("MNLI", 392702),
        ];
        for (task, n) in tasks {
            let q = 2000.0 / n as f64;
            let steps = 20 * (n / 2000);
            for sigma in [0.5, 0.6, 0.7, 0.7865, 0.8, 0.9, 1.0] {
                for delta in [1e-5, 1e-6] {
                    for adj in [Adjacency::Remove, Adjacency::AddRemove] {
                        let ev = DpEvent::dpsgd(sigma, q, steps);
                        let sp = saddle(adj, &ev, delta);
                        // The truth lies in the Fourier bracket (width ~1e-7 relative): compare
                        // with its lower end, so the reported excess is an upper bound.
                        let over = sp.upper / sp.f_lower - 1.0;
                        let k_over = sp.k_upper / sp.f_lower - 1.0;
                        worst_k = worst_k.max(k_over);
                        writeln!(
                            w,
                            "{task},{n},{q},{steps},{sigma},{delta},{},{},{},{},{},{},{},{},{over},{k_over},{:.4}",
                            adj.name(),
                            sp.estimate,
                            sp.lower,
                            sp.upper,
                            sp.k_lower,
                            sp.k_upper,
                            sp.f_lower,
                            sp.f_upper,
                            sp.seconds
                        )
                        .unwrap();
                    }
                }
            }
        }
        println!("ewtune: worst kolmogorov upper over truth {worst_k:.4}");
    }

    // 4. The EA paper's large-m setting: σ = 0.8, δ = 0.1, q = 0.08·sqrt(log m / m).
    if want("large_m") {
        let mut w = fs::File::create(out.join("ea_large_m.csv")).expect("create");
        writeln!(
            w,
            "m,q,accountant,estimate,lower,upper,width,vacuous,seconds"
        )
        .unwrap();
        for m in [50_000u64, 100_000, 200_000, 500_000, 1_000_000] {
            let q = 0.08 * ((m as f64).ln() / m as f64).sqrt();
            let ev = DpEvent::dpsgd(0.8, q, m);
            for kind in [AccountantKind::Edgeworth, AccountantKind::Saddlepoint] {
                let (rep, secs) = run(kind, Adjacency::AddRemove, true, &ev, 0.1);
                let (lo, hi) = (rep.lower.unwrap_or(0.0), rep.upper.unwrap_or(f64::INFINITY));
                writeln!(
                    w,
                    "{m},{q},{},{},{lo},{hi},{},{},{secs:.4}",
                    kind.name(),
                    rep.epsilon,
                    hi - lo,
                    rep.vacuous
                )
                .unwrap();
            }
        }
    }

    // 5. Cost against the number of steps (wall seconds of one ε query with its bracket, remove
    // ordering, σ = 1, q = 0.001, δ = 1e-5; also measured by `cargo bench --bench saddlepoint`).
    if want("cost") {
        let mut w = fs::File::create(out.join("cost_vs_steps.csv")).expect("create");
        writeln!(w, "accountant,steps,epsilon,lower,upper,seconds").unwrap();
        for exp in 2..=7u32 {
            let steps = 10u64.pow(exp);
            let ev = DpEvent::dpsgd(1.0, 0.001, steps);
            for kind in [AccountantKind::Saddlepoint, AccountantKind::Edgeworth] {
                let (rep, secs) = run(kind, Adjacency::Remove, true, &ev, 1e-5);
                writeln!(
                    w,
                    "{},{steps},{},{},{},{secs:.4}",
                    kind.name(),
                    rep.epsilon,
                    f(rep.lower),
                    f(rep.upper)
                )
                .unwrap();
            }
        }
    }

    let meta = serde_json::json!({
        "program": "examples/bounds_sweep.rs",
        "command": "cargo run --release --example bounds_sweep",
        "version": env!("CARGO_PKG_VERSION"),
        "precision_bits": 128,
        "edgeworth_bracket_precision_bits": 128,
        "dpsgd_violations": violations,
        "laplace_violations": lviol,
        "sections": sections,
        "ewtune_worst_kolmogorov_upper_over_truth": worst_k,
        "wall_seconds": start.elapsed().as_secs_f64(),
    });
    fs::write(
        out.join("metadata.json"),
        serde_json::to_string_pretty(&meta).unwrap(),
    )
    .unwrap();
    println!(
        "wrote {} in {:.1}s",
        out.display(),
        start.elapsed().as_secs_f64()
    );
}
