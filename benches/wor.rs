//! ε(δ) by the contour accountant for fixed-size batches without replacement (the half-line
//! transform of the symmetrised pair, docs/math.md §17.11). Run: `cargo bench --bench wor`.
//!
//! - `wor_contour/STEPS`: σ = 1, batch 256 of 60000 records, replace-one, δ = 1e−6, tolerance
//!   1e−7 on δ, 10², 10⁴, 10⁶ steps (cost independent of the number of steps).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("wor_contour");
    g.sample_size(10);
    for steps in [100u64, 10_000, 1_000_000] {
        let ev = DpEvent::SelfComposed {
            event: Box::new(DpEvent::SampledWithoutReplacement {
                source_dataset_size: 60_000,
                sample_size: 256,
                event: Box::new(DpEvent::Gaussian { sigma: 1.0 }),
            }),
            count: steps,
        };
        let mut acc = ContourAccountant::new(ContourParams {
            adjacency: Adjacency::ReplaceOne,
            tolerance: 1e-7,
        })
        .expect("valid tolerance");
        acc.compose(&ev, 1).expect("valid event");
        g.bench_with_input(BenchmarkId::from_parameter(steps), &steps, |b, _| {
            b.iter(|| black_box(acc.epsilon(1e-6).expect("epsilon")))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
