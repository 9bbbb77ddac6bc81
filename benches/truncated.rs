//! ε(δ) by the contour accountant for truncated Poisson sampling (docs/math.md §17.8, §17.10:
//! the weighted union of the replace-one subsampled Gaussian at σ/2 and the subsampled
//! Gaussian). Run: `cargo bench --bench truncated`.
//!
//! - `truncated_contour/add_remove/STEPS`: n = 60000, q = 256/60000, B = 270 (t ≈ 0.198),
//!   σ = 1, δ = 1e−5, add-remove (both orderings), tolerance 1e−7 on δ, 10², 10⁴, 10⁶ steps
//!   (the cost should not depend on the number of steps).
//! - `truncated_contour/replace_one/STEPS`: the same under replace-one adjacency.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;
use std::hint::black_box;

fn event(steps: u64) -> DpEvent {
    DpEvent::SelfComposed {
        event: Box::new(DpEvent::TruncatedSubsampledGaussian {
            dataset_size: 60_000,
            sampling_probability: 256.0 / 60_000.0,
            truncated_batch_size: 270,
            noise_multiplier: 1.0,
        }),
        count: steps,
    }
}

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
    let mut g = c.benchmark_group("truncated_contour");
    g.sample_size(10);
    for (name, adjacency) in [
        ("add_remove", Adjacency::AddRemove),
        ("replace_one", Adjacency::ReplaceOne),
    ] {
        for steps in [100u64, 10_000, 1_000_000] {
            let acc = accountant(adjacency, &event(steps));
            g.bench_with_input(BenchmarkId::new(name, steps), &steps, |b, _| {
                b.iter(|| black_box(acc.epsilon(1e-5).expect("epsilon")))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
