//! Accountant benchmarks (criterion): `cargo bench --bench accountants`.
//!
//! For every `AccountantKind` (so new accountants are benchmarked automatically):
//! * `epsilon_warm/<kind>/<steps>`: ε(δ) on an already composed accountant (cached composition);
//! * `epsilon_cold/<kind>/<steps>`: build + compose + ε(δ) with fresh cumulants (σ is perturbed by
//!   1e-12 relative per iteration so the mechanism cache never hits);
//! * `calibrate/<kind>/<steps>`: σ calibration to 1e-4 relative, cold;
//! * `precision/edgeworth_cold/<bits>`: cold ε(δ) with cumulants at 53 (f64), 128, 256, 512 bits;
//! * `targets/*`: the core-issue targets (cached Edgeworth ε ≤ 20 µs; cold DP-SGD ε with f64
//!   cumulants ≤ 5 ms; certified 256-bit κ1..κ6 both sides ≤ 200 ms).
//!
//! Steps run over 1e2..1e7 (flat in steps for the Edgeworth family). The numbers are copied to
//! `results/bench/summary.csv` by `experiments/bench/run.sh`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ewtune::accountant::{build, AccountantKind, AccountantSettings};
use ewtune::calibrate::{calibrate, CalibrationParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction, Mechanism, SubsampledGaussian};
use ewtune::precision::Precision;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// q of the steps sweeps (1e2..1e7 steps stay in a meaningful ε range: ε ≈ 15 at 1e7 steps).
const Q: f64 = 0.001;
/// q of the core targets (1000 steps).
const Q_TARGET: f64 = 0.01;
const SIGMA: f64 = 1.0;
const DELTA: f64 = 1e-5;
const STEPS: [u64; 6] = [100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

fn options() -> AccountantSettings {
    AccountantSettings {
        adjacency: Adjacency::AddRemove,
        order: Some(1),
        precision: None,
        ..AccountantSettings::default()
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// σ perturbed per call (one counter for the whole run) so the cumulant cache never hits
/// (relative 1e-12 steps: the same numbers to the benchmark's resolution).
fn fresh_sigma() -> f64 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    SIGMA * (1.0 + 1e-12 * n as f64)
}

fn epsilon_warm(c: &mut Criterion) {
    let mut g = c.benchmark_group("epsilon_warm");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(200));
    for &kind in AccountantKind::ALL {
        for &m in &STEPS {
            let mut a = match build(&options().config(kind)) {
                Ok(a) => a,
                Err(_) => continue,
            };
            if a.compose(&DpEvent::dpsgd(SIGMA, Q, m), 1).is_err() || a.epsilon(DELTA).is_err() {
                continue; // not supported at this size: no number rather than a wrong one
            }
            g.bench_with_input(BenchmarkId::new(kind.name(), m), &m, |b, _| {
                b.iter(|| black_box(a.epsilon(black_box(DELTA))))
            });
        }
    }
    g.finish();
}

fn epsilon_cold(c: &mut Criterion) {
    let mut g = c.benchmark_group("epsilon_cold");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(200));
    for &kind in AccountantKind::ALL {
        for &m in &STEPS {
            let run = |s: f64| {
                let mut a = build(&options().config(kind))?;
                a.compose(&DpEvent::dpsgd(s, Q, m), 1)?;
                a.epsilon(DELTA)
            };
            if run(fresh_sigma()).is_err() {
                continue;
            }
            g.bench_with_input(BenchmarkId::new(kind.name(), m), &m, |b, _| {
                b.iter(|| black_box(run(fresh_sigma())))
            });
        }
    }
    g.finish();
}

fn calibration(c: &mut Criterion) {
    let mut g = c.benchmark_group("calibrate");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(200));
    for &kind in AccountantKind::ALL {
        for &m in &[100u64, 10_000, 1_000_000] {
            let params = |q: f64| CalibrationParams {
                accountant: options().config(kind),
                target_epsilon: 2.0,
                delta: DELTA,
                sampling_rate: Some(q),
                steps: Some(m),
                ..CalibrationParams::default()
            };
            // q perturbed per call: every calibration sees fresh mechanisms (cold cumulants).
            let fresh_q = || Q * (fresh_sigma() / SIGMA);
            if calibrate(&params(fresh_q())).is_err() {
                continue;
            }
            g.bench_with_input(BenchmarkId::new(kind.name(), m), &m, |b, _| {
                b.iter(|| black_box(calibrate(&params(fresh_q()))))
            });
        }
    }
    g.finish();
}

fn precision(c: &mut Criterion) {
    let mut g = c.benchmark_group("precision");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(200));
    for bits in [53u32, 128, 256, 512] {
        let opts = AccountantSettings {
            precision: if bits == 53 {
                None
            } else {
                Some(Precision::new(bits).expect("bits"))
            },
            ..options()
        };
        g.bench_with_input(BenchmarkId::new("edgeworth_cold", bits), &bits, |b, _| {
            b.iter(|| {
                let mut a = build(&opts.config(AccountantKind::Edgeworth)).expect("build");
                a.compose(&DpEvent::dpsgd(fresh_sigma(), Q, 1000), 1)
                    .expect("compose");
                black_box(a.epsilon(DELTA))
            })
        });
    }
    g.finish();
}

fn targets(c: &mut Criterion) {
    let mut g = c.benchmark_group("targets");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(200));
    // ε(δ) for a cached composition (Edgeworth): target ≤ 20 µs.
    let mut a = build(&options().config(AccountantKind::Edgeworth)).expect("build");
    a.compose(&DpEvent::dpsgd(SIGMA, Q_TARGET, 1000), 1)
        .expect("compose");
    g.bench_function("edgeworth_cached_epsilon", |b| {
        b.iter(|| black_box(a.epsilon(black_box(DELTA))))
    });
    // Cold ε(δ) for DP-SGD incl. f64 cumulants: target ≤ 5 ms.
    g.bench_function("edgeworth_cold_epsilon_f64", |b| {
        b.iter(|| {
            let mut a = build(&options().config(AccountantKind::Edgeworth)).expect("build");
            a.compose(&DpEvent::dpsgd(fresh_sigma(), Q_TARGET, 1000), 1)
                .expect("compose");
            black_box(a.epsilon(DELTA))
        })
    });
    // Certified 256-bit cumulants κ1..κ6, both sides (remove and add): target ≤ 200 ms.
    let p256 = Precision::new(256).expect("bits");
    g.bench_function("certified_cumulants_256_both_sides", |b| {
        b.iter(|| {
            let m = Mechanism::SubsampledGaussian(
                SubsampledGaussian::new(fresh_sigma(), Q_TARGET).expect("mechanism"),
            );
            let r = m
                .certified_cumulants(Direction::Remove, p256)
                .expect("remove");
            let a = m.certified_cumulants(Direction::Add, p256).expect("add");
            black_box((r, a))
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    targets,
    epsilon_warm,
    epsilon_cold,
    calibration,
    precision
);
criterion_main!(benches);
