//! Measured bracket widths and timings of the contour accountant (experiments/contour/README.md).
//!
//! Run: `cargo run --release --example contour_results` (writes results/contour/).

use ewtune::accountant::{ContourAccountant, ContourParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction};
use std::io::Write;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let out = std::path::Path::new("results/contour");
    std::fs::create_dir_all(out)?;
    let started = Instant::now();
    let tolerance = 1e-9;
    // EW-Tune (docs/math.md §9): q = 2000/N, steps = 20·⌊N/2000⌋; σ: the SST-2 value 0.7865 and the
    // paper's MNLI δ = 1e−6 pair 0.573 (Edgeworth-calibrated) / 0.607 (PRV-calibrated).
    let tasks = [
        ("SST-2", 67_349u64),
        ("QNLI", 104_743),
        ("QQP", 363_849),
        ("MNLI", 392_702),
    ];
    let mut settings: Vec<(String, f64, f64, u64, f64)> = Vec::new();
    for (name, n) in tasks {
        let q = 2000.0 / n as f64;
        let steps = 20 * (n / 2000);
        for delta in [1e-5, 1e-6] {
            for sigma in [0.573, 0.607, 0.7865] {
                settings.push((format!("ewtune:{name}"), q, sigma, steps, delta));
            }
        }
    }
    // EA paper S1 (tests/reference/edgeworth_estimates.csv): q = 0.01, σ = 0.8, δ = 0.015.
    for steps in [100u64, 500, 2000] {
        settings.push(("ea:S1".into(), 0.01, 0.8, steps, 0.015));
    }
    let mut f = std::fs::File::create(out.join("widths.csv"))?;
    writeln!(
        f,
        "setting,q,sigma,steps,delta,ordering,eps_lower,eps_upper,rel_width,seconds"
    )?;
    let mut worst: f64 = 0.0;
    for (name, q, sigma, steps, delta) in &settings {
        let mut acc = ContourAccountant::new(ContourParams {
            adjacency: Adjacency::AddRemove,
            tolerance,
        })?;
        ewtune::accountant::Accountant::compose(&mut acc, &DpEvent::dpsgd(*sigma, *q, *steps), 1)?;
        for dir in [Direction::Remove, Direction::Add] {
            let t = Instant::now();
            let (b, _) = acc.epsilon_bounds(dir, *delta)?;
            let secs = t.elapsed().as_secs_f64();
            let w = (b.upper.unwrap() - b.lower.unwrap()) / b.value;
            worst = worst.max(w);
            writeln!(
                f,
                "{name},{q},{sigma},{steps},{delta},{},{:.15},{:.15},{w:.3e},{secs:.4}",
                dir.name(),
                b.lower.unwrap(),
                b.upper.unwrap()
            )?;
            println!("{name} q={q:.6} σ={sigma} steps={steps} δ={delta} {}: [{:.12}, {:.12}] width {w:.2e} ({secs:.3} s)", dir.name(), b.lower.unwrap(), b.upper.unwrap());
        }
    }
    // Cost against the number of steps (q = 0.01, σ = 1, δ = 1e−5, remove ordering).
    let mut g = std::fs::File::create(out.join("timing.csv"))?;
    writeln!(g, "steps,eps_lower,eps_upper,rel_width,nodes,seconds")?;
    for steps in [100u64, 1_000, 10_000, 100_000, 1_000_000, 10_000_000] {
        let mut acc = ContourAccountant::new(ContourParams {
            adjacency: Adjacency::Remove,
            tolerance: 1e-7,
        })?;
        ewtune::accountant::Accountant::compose(&mut acc, &DpEvent::dpsgd(1.0, 0.01, steps), 1)?;
        let t = Instant::now();
        let (b, info) = acc.epsilon_bounds(Direction::Remove, 1e-5)?;
        let secs = t.elapsed().as_secs_f64();
        let nodes = info.map_or(0, |i| i.nodes);
        let w = (b.upper.unwrap() - b.lower.unwrap()) / b.value;
        writeln!(
            g,
            "{steps},{:.15},{:.15},{w:.3e},{nodes},{secs:.4}",
            b.lower.unwrap(),
            b.upper.unwrap()
        )?;
        println!(
            "steps={steps}: [{:.12}, {:.12}] width {w:.2e}, {nodes} nodes, {secs:.3} s",
            b.lower.unwrap(),
            b.upper.unwrap()
        );
    }
    // Small q (nearly atomic PLLR): EA S2/S3 and EW-Tune MNLI/QQP, both orderings, tolerance
    // 1e−6 on δ.
    let mut k = std::fs::File::create(out.join("small_q.csv"))?;
    writeln!(
        k,
        "setting,q,sigma,steps,delta,ordering,eps_lower,eps_upper,rel_width,nodes,capped,seconds"
    )?;
    let s3 = |m: f64| 0.08 * (m.ln() / m).sqrt();
    let small: Vec<(&str, f64, f64, u64, f64)> = vec![
        ("ea:S2", 5e-4, 1.0, 200, 1e-5),
        ("ea:S3", s3(1e6), 0.8, 1_000_000, 0.1),
        ("ea:S3", s3(1e7), 0.8, 10_000_000, 0.1),
        (
            "ewtune:MNLI",
            2000.0 / 392_702.0,
            0.573,
            20 * (392_702 / 2000),
            1e-6,
        ),
        (
            "ewtune:MNLI",
            2000.0 / 392_702.0,
            0.573,
            20 * (392_702 / 2000),
            1e-5,
        ),
        (
            "ewtune:QQP",
            2000.0 / 363_849.0,
            0.573,
            20 * (363_849 / 2000),
            1e-6,
        ),
    ];
    for (name, q, sigma, steps, delta) in small {
        let mut acc = ContourAccountant::new(ContourParams {
            adjacency: Adjacency::AddRemove,
            tolerance: 1e-6,
        })?;
        ewtune::accountant::Accountant::compose(&mut acc, &DpEvent::dpsgd(sigma, q, steps), 1)?;
        for dir in [Direction::Remove, Direction::Add] {
            let t = Instant::now();
            let (b, info) = acc.epsilon_bounds(dir, delta)?;
            let secs = t.elapsed().as_secs_f64();
            let (nodes, capped) = info.map_or((0, false), |i| (i.nodes, i.capped));
            let w = (b.upper.unwrap() - b.lower.unwrap()) / b.value;
            writeln!(
                k,
                "{name},{q},{sigma},{steps},{delta},{},{:.15},{:.15},{w:.3e},{nodes},{capped},{secs:.4}",
                dir.name(),
                b.lower.unwrap(),
                b.upper.unwrap()
            )?;
            println!(
                "{name} q={q:.6} σ={sigma} steps={steps} δ={delta} {}: [{:.12}, {:.12}] width {w:.2e}, {nodes} nodes{} ({secs:.3} s)",
                dir.name(),
                b.lower.unwrap(),
                b.upper.unwrap(),
                if capped { ", capped" } else { "" }
            );
        }
    }
    let meta = serde_json::json!({
        "program": "examples/contour_results.rs",
        "command": "cargo run --release --example contour_results",
        "version": env!("CARGO_PKG_VERSION"),
        "tolerance_widths": tolerance,
        "tolerance_timing": 1e-7,
        "tolerance_small_q": 1e-6,
        "precision": "f64 with certified error terms",
        "worst_relative_width": worst,
        "wall_seconds": started.elapsed().as_secs_f64(),
    });
    std::fs::write(
        out.join("metadata.json"),
        serde_json::to_string_pretty(&meta)?,
    )?;
    println!("worst relative width {worst:.3e}");
    Ok(())
}
