//! Cost of the saddle-point accountant (estimate + certified bracket) against the number of
//! steps: flat from 10^2 to 10^7 (the CGF of the composition is n·K(λ)). Two groups: the
//! default (Fourier part added where the Kolmogorov-distance bracket is loose) and
//! `--kolmogorov-only`. A third group, `saddlepoint_vs_contour_mnli`, times ε(δ = 1e-5) at the
//! EW-Tune MNLI setting (σ 0.7, q 2000/392702, 3920 steps, add-remove, default settings) for the
//! saddle point (256-bit cumulants, as the CLI) and the contour side by side (issue #12 item 15: goal ≤ 10× the contour).
//!
//! Run: `cargo bench --bench saddlepoint` (or `-- saddlepoint_vs_contour_mnli`).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ewtune::accountant::{build, AccountantKind, AccountantSettings};
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;
use ewtune::precision::Precision;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    for (group, kolmogorov_only) in [
        ("saddlepoint_epsilon_bracket", false),
        ("saddlepoint_kolmogorov_only", true),
    ] {
        let mut g = c.benchmark_group(group);
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(8));
        for exp in 2..=7u32 {
            let steps = 10u64.pow(exp);
            g.bench_with_input(BenchmarkId::from_parameter(steps), &steps, |b, &steps| {
                b.iter(|| {
                    let opts = AccountantSettings {
                        adjacency: Adjacency::Remove,
                        kolmogorov_only,
                        ..AccountantSettings::default()
                    };
                    let mut a = build(&opts.config(AccountantKind::Saddlepoint)).expect("build");
                    a.compose(&DpEvent::dpsgd(1.0, 0.001, steps), 1)
                        .expect("compose");
                    a.epsilon(1e-5).expect("epsilon")
                })
            });
        }
        g.finish();
    }

    let mut g = c.benchmark_group("saddlepoint_vs_contour_mnli");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for kind in [AccountantKind::Saddlepoint, AccountantKind::Contour] {
        g.bench_function(format!("{kind:?}"), |b| {
            b.iter(|| {
                // As the CLI: 256-bit certified cumulants.
                let opts = AccountantSettings {
                    precision: Some(Precision::DEFAULT),
                    ..AccountantSettings::default()
                };
                let mut a = build(&opts.config(kind)).expect("build");
                a.compose(&DpEvent::dpsgd(0.7, 2000.0 / 392_702.0, 3920), 1)
                    .expect("compose");
                a.epsilon(1e-5).expect("epsilon")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
