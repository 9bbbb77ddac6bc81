//! ε(δ) by the contour accountant against the number of steps (q = 0.01, σ = 1, δ = 1e−5,
//! remove ordering, tolerance 1e−7 on δ). Run: `cargo bench --bench contour`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("contour_epsilon");
    g.sample_size(10);
    for steps in [100u64, 1_000, 10_000, 100_000, 1_000_000, 10_000_000] {
        let mut acc = ContourAccountant::new(ContourParams {
            adjacency: Adjacency::Remove,
            tolerance: 1e-7,
        })
        .expect("valid tolerance");
        acc.compose(&DpEvent::dpsgd(1.0, 0.01, steps), 1)
            .expect("valid event");
        g.bench_with_input(BenchmarkId::from_parameter(steps), &steps, |b, _| {
            b.iter(|| {
                black_box(
                    acc.epsilon_bounds(Direction::Remove, 1e-5)
                        .expect("epsilon"),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
