//! Criterion bench of ε(δ = 1e-5) for the Poisson-subsampled Laplace (b = 1, q = 0.01) by the
//! accountants that support it: contour (certified, flat in steps: 10²..10⁶), PLD and RDP
//! (10²..10⁴). Run: `cargo bench --bench subsampled_laplace -- subsampled_laplace`.

use criterion::{criterion_group, criterion_main, Criterion};
use ewtune::accountant::rdp::{RdpAccountant, RdpParams};
use ewtune::accountant::{Accountant, ContourAccountant, ContourParams, PldAccountant, PldParams};
use ewtune::event::DpEvent;
use std::hint::black_box;
use std::time::Duration;

fn event(steps: u64) -> DpEvent {
    DpEvent::SelfComposed {
        event: Box::new(DpEvent::PoissonSampled {
            sampling_rate: 0.01,
            event: Box::new(DpEvent::Laplace { scale: 1.0 }),
        }),
        count: steps,
    }
}

fn subsampled_laplace(c: &mut Criterion) {
    let mut g = c.benchmark_group("subsampled_laplace");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    for steps in [100u64, 10_000, 1_000_000] {
        g.bench_function(format!("contour_steps{steps}"), |b| {
            b.iter(|| {
                let mut a = ContourAccountant::new(ContourParams::default()).expect("valid params");
                a.compose(&event(steps), 1).expect("supported");
                black_box(a.epsilon(1e-5).expect("certified"))
            })
        });
    }
    for steps in [100u64, 1_000, 10_000] {
        g.bench_function(format!("pld_steps{steps}"), |b| {
            b.iter(|| {
                let mut a = PldAccountant::new(PldParams {
                    tolerance: 0.05,
                    ..PldParams::default()
                })
                .expect("valid params");
                a.compose(&event(steps), 1).expect("supported");
                black_box(a.epsilon(1e-5).expect("answer"))
            })
        });
        g.bench_function(format!("rdp_steps{steps}"), |b| {
            b.iter(|| {
                let mut a = RdpAccountant::new(RdpParams::default()).expect("valid params");
                a.compose(&event(steps), 1).expect("supported");
                black_box(a.epsilon(1e-5).expect("answer"))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, subsampled_laplace);
criterion_main!(benches);
