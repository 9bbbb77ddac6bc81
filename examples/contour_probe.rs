//! Probe one DP-SGD setting with the contour accountant: `cargo run --release --example
//! contour_probe -- Q SIGMA STEPS DELTA [TOLERANCE]` prints both orderings' ε brackets, nodes and seconds.

use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction};

fn main() -> anyhow::Result<()> {
    let a: Vec<f64> = std::env::args()
        .skip(1)
        .map(|s| s.parse::<f64>())
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(
        a.len() == 4 || a.len() == 5,
        "usage: contour_probe Q SIGMA STEPS DELTA [TOLERANCE]"
    );
    let mut acc = ContourAccountant::new(ContourParams {
        adjacency: Adjacency::AddRemove,
        tolerance: a.get(4).copied().unwrap_or(1e-9),
    })?;
    acc.compose(&DpEvent::dpsgd(a[1], a[0], a[2] as u64), 1)?;
    for dir in [Direction::Remove, Direction::Add] {
        let t = std::time::Instant::now();
        let (b, info) = acc.epsilon_bounds(dir, a[3])?;
        println!(
            "{}: [{:.12}, {:.12}] width {:.2e} {:?} {:.3} s",
            dir.name(),
            b.lower.unwrap(),
            b.upper.unwrap(),
            (b.upper.unwrap() - b.lower.unwrap()) / b.value,
            info,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
