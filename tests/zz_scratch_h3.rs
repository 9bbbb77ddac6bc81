use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction};
fn event(scale: f64, q: f64, steps: u64) -> DpEvent {
    DpEvent::SelfComposed { event: Box::new(DpEvent::PoissonSampled { sampling_rate: q, event: Box::new(DpEvent::Laplace { scale }) }), count: steps }
}
#[test]
fn scratch() {
    let args: Vec<f64> = std::env::var("H3").unwrap().split(',').map(|s| s.parse().unwrap()).collect();
    let (b, q, n, eps, dir) = (args[0], args[1], args[2] as u64, args[3], args[4]);
    let mut a = ContourAccountant::new(ContourParams { adjacency: Adjacency::AddRemove, tolerance: 1e-7 }).unwrap();
    a.compose(&event(b, q, n), 1).unwrap();
    let d = if dir > 0.0 { Direction::Add } else { Direction::Remove };
    let t = std::time::Instant::now();
    if eps > 0.0 || args.len() < 6 {
        let r = a.delta_bounds(d, eps);
        eprintln!("delta {:?} {:?}", r, t.elapsed());
    } else {
        let r = a.epsilon_bounds(d, args[5]);
        eprintln!("eps {:?} {:?}", r, t.elapsed());
    }
}
