//! DP-SGD harness step benchmarks (criterion): `cargo bench --bench harness`.
//!
//! `cpu_step/<head>/<private|nonprivate>`: one CPU step (rayon) on 384-d synthetic embeddings,
//! expected batch 256 of n = 8,192, linear head and MLP (hidden 256). `private` = ghost norms,
//! flat clipping (C = 1), Philox noise (σ = 1); `nonprivate` = the same code path with σ = 0,
//! C = ∞ (no norms, no noise). The GPU counterpart is `ewtune harness-check`
//! (scripts/gpu-check.sh).

use criterion::{criterion_group, criterion_main, Criterion};
use ewtune::harness::cpu::CpuBackend;
use ewtune::harness::data;
use ewtune::harness::dpsgd::{poisson_batch, Backend, Optimizer, StepParams, TrainState};
use ewtune::harness::model::{Head, HeadKind};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let n = 8192;
    let d = data::synthetic(n, 384, 2, 2.0, 1).expect("data");
    let q = 256.0 / n as f64;
    let batch = poisson_batch(0, 0, n, q);
    let mut g = c.benchmark_group("cpu_step");
    g.measurement_time(Duration::from_secs(5)).sample_size(20);
    for (kind, name) in [(HeadKind::Linear, "linear"), (HeadKind::Mlp, "mlp")] {
        let head = Head::new(kind, 384, 256, 2).expect("head");
        let opt = Optimizer::Sgd { lr: 0.1 };
        for private in [true, false] {
            let mut b = CpuBackend::new(
                head,
                d.x.clone(),
                d.y.clone(),
                TrainState::new(head.init(0), &opt),
            )
            .expect("backend");
            let mut t = 0u64;
            let label = format!("{name}/{}", if private { "private" } else { "nonprivate" });
            g.bench_function(label, |bench| {
                bench.iter(|| {
                    let p = StepParams {
                        step: t,
                        seed: 0,
                        clip: if private { 1.0 } else { f64::INFINITY },
                        noise_std: if private { 1.0 } else { 0.0 },
                        denominator: q * n as f64,
                        optimizer: opt,
                    };
                    t += 1;
                    b.step(&batch, &p).expect("step")
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
