use ewtune::accountant::{ContourAccountant, ContourParams, Accountant};
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction};
fn main() {
    let steps: u64 = std::env::args().nth(1).unwrap().parse().unwrap();
    for &q in &[0.001, 0.004, 0.01, 0.0586, 0.1] { for &s in &[0.6, 0.8, 1.0, 1.5, 2.0, 4.0] {
        let mut acc = ContourAccountant::new(ContourParams { adjacency: Adjacency::AddRemove, tolerance: 1e-9 }).unwrap();
        acc.compose(&DpEvent::dpsgd(s, q, steps), 1).unwrap();
        for dir in [Direction::Remove, Direction::Add] {
            let t = std::time::Instant::now();
            let (r, info) = acc.epsilon_bounds(dir, 1e-5).unwrap();
            println!("q={q} s={s} {dir:?} eps {:.10} w {:.1e} {:?} {:.3}s", r.value, (r.upper-r.lower)/r.value, info.map(|i| (i.lambda, i.nodes, i.step)), t.elapsed().as_secs_f64());
        }
    }}
}
