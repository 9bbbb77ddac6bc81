//! Criterion benches of the PLD accountant (and RDP for scale) on DP-SGD settings.

use criterion::{criterion_group, criterion_main, Criterion};
use ewtune::accountant::rdp::{RdpAccountant, RdpParams};
use ewtune::accountant::{Accountant, PldAccountant, PldParams};
use ewtune::event::DpEvent;
use std::hint::black_box;

fn pld_epsilon(c: &mut Criterion) {
    let mut g = c.benchmark_group("pld_epsilon");
    g.sample_size(10);
    for &(q, sigma, steps) in &[(0.01, 0.8, 100u64), (0.01, 0.8, 1000), (0.1, 1.0, 10)] {
        g.bench_function(format!("q{q}_sigma{sigma}_steps{steps}_delta1e-5"), |b| {
            b.iter(|| {
                let mut a = PldAccountant::new(PldParams::default()).expect("valid params");
                a.compose(&DpEvent::dpsgd(sigma, q, steps), 1)
                    .expect("supported");
                black_box(a.epsilon(1e-5).expect("answer"))
            })
        });
    }
    g.finish();
}

fn rdp_epsilon(c: &mut Criterion) {
    c.bench_function("rdp_epsilon_q0.01_sigma0.8_steps1000", |b| {
        b.iter(|| {
            let mut a = RdpAccountant::new(RdpParams::default()).expect("valid params");
            a.compose(&DpEvent::dpsgd(0.8, 0.01, 1000), 1)
                .expect("supported");
            black_box(a.epsilon(1e-5).expect("answer"))
        })
    });
}

criterion_group!(benches, pld_epsilon, rdp_epsilon);
criterion_main!(benches);
