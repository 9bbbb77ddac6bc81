use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction};
fn main() {
    for &b in &[0.5, 1.0, 2.0, 10.0] { for &k in &[1u64,2,10,100,1000] { for &d in &[1e-3, 1e-8] {
        let mut acc = ContourAccountant::new(ContourParams { adjacency: Adjacency::Remove, tolerance: 1e-9 }).unwrap();
        acc.compose(&DpEvent::SelfComposed{event: Box::new(DpEvent::Laplace{scale: b}), count: k}, 1).unwrap();
        let t = std::time::Instant::now();
        let (r, info) = acc.epsilon_bounds(Direction::Remove, d).unwrap();
        println!("b={b} k={k} d={d} eps {:.10} w {:.1e} {:?} {:.3}s", r.value, (r.upper-r.lower)/r.value, info.map(|i| (i.lambda, i.nodes, i.step)), t.elapsed().as_secs_f64());
    }}}
}
