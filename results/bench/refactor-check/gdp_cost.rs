//! Instruction-count probe for results/bench/refactor-check/README.md ("GDP: instruction counts").
//! Copy into examples/ of a checkout, `cargo build --release --example gdp_cost`, then
//! `valgrind --tool=callgrind ./gdp_cost <calls> <steps>`: GDP ε(δ = 1e-5) `calls` times on a
//! composed accountant (the `epsilon_warm/gdp/<steps>` bench case).
use ewtune::accountant::{Accountant, GdpAccountant};
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;
use std::hint::black_box;

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).map(|s| s.parse().unwrap()).collect();
    let (calls, steps) = (args[0], args[1]);
    let mut a = GdpAccountant::new(Adjacency::AddRemove);
    a.compose(&DpEvent::dpsgd(1.0, 0.001, steps), 1).unwrap();
    let mut s = 0.0;
    for _ in 0..calls {
        s += black_box(a.epsilon(black_box(1e-5)).unwrap()).epsilon;
    }
    println!("{s:.12}");
}
