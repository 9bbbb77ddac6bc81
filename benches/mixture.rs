//! ε(δ) by the contour accountant for the Gaussian-mixture pairs (docs/math.md §17.9). Run:
//! `cargo bench --bench mixture`.
//!
//! - `mixture_contour/mog/STEPS`: mixture of Gaussians σ = 1, c = (0, 1, 2),
//!   p = (0.99, 0.008, 0.002), δ = 1e−6, add-remove (both orderings), tolerance 1e−7 on δ,
//!   10²…10⁷ steps (cost independent of the number of steps).
//! - `mixture_contour/replace_one/STEPS`: Poisson-subsampled Gaussian under replace-one
//!   (dp_accounting's pair (1 − q)N(0) + qN(∓1)), σ = 1.2, q = 0.01, δ = 1e−6, 10²…10⁶ steps.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;
use std::hint::black_box;

fn accountant(adjacency: Adjacency, event: &DpEvent) -> ContourAccountant {
    let mut acc = ContourAccountant::new(ContourParams {
        adjacency,
        tolerance: 1e-7,
    })
    .expect("valid tolerance");
    acc.compose(event, 1).expect("valid event");
    acc
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("mixture_contour");
    g.sample_size(10);
    for steps in [100u64, 10_000, 1_000_000, 10_000_000] {
        let ev = DpEvent::SelfComposed {
            event: Box::new(DpEvent::MixtureOfGaussians {
                sigma: 1.0,
                sensitivities: vec![0.0, 1.0, 2.0],
                probabilities: vec![0.99, 0.008, 0.002],
            }),
            count: steps,
        };
        let acc = accountant(Adjacency::AddRemove, &ev);
        g.bench_with_input(BenchmarkId::new("mog", steps), &steps, |b, _| {
            b.iter(|| black_box(acc.epsilon(1e-6).expect("epsilon")))
        });
    }
    for steps in [100u64, 10_000, 1_000_000] {
        let acc = accountant(Adjacency::ReplaceOne, &DpEvent::dpsgd(1.2, 0.01, steps));
        g.bench_with_input(BenchmarkId::new("replace_one", steps), &steps, |b, _| {
            b.iter(|| black_box(acc.epsilon(1e-6).expect("epsilon")))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
