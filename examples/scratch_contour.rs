use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction};
fn main() {
    let args: Vec<f64> = std::env::args()
        .skip(1)
        .map(|s| s.parse().unwrap())
        .collect();
    let (q, sigma, steps, delta) = (args[0], args[1], args[2] as u64, args[3]);
    for dir in [Direction::Remove, Direction::Add] {
        let mut acc = ContourAccountant::new(ContourParams {
            adjacency: Adjacency::AddRemove,
            tolerance: 1e-9,
        })
        .unwrap();
        acc.compose(&DpEvent::dpsgd(sigma, q, steps), 1).unwrap();
        let t = std::time::Instant::now();
        let (b, info) = acc.epsilon_bounds(dir, delta).unwrap();
        println!(
            "{dir:?} eps {:.12} [{:.12}, {:.12}] relw {:.2e} {:?} {:.3}s",
            b.value,
            b.lower,
            b.upper,
            (b.upper - b.lower) / b.value,
            info,
            t.elapsed().as_secs_f64()
        );
        let t = std::time::Instant::now();
        let (d, info) = acc.delta_bounds(dir, b.value).unwrap();
        println!(
            "   delta {:.6e} [{:.6e}, {:.6e}] relw {:.2e} {:?} {:.3}s",
            d.value,
            d.lower,
            d.upper,
            (d.upper - d.lower) / d.value,
            info,
            t.elapsed().as_secs_f64()
        );
    }
}
