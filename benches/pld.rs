//! Criterion benches of the PLD accountant (and RDP for scale) on DP-SGD settings:
//! connect-the-dots (the default) against the round-up discretisation, add-remove adjacency
//! unless named. Results: `results/pld-vs-dp-accounting/criterion.csv` (see the experiment's
//! README for the command).

use criterion::{criterion_group, criterion_main, Criterion};
use ewtune::accountant::pld::Discretisation;
use ewtune::accountant::rdp::{RdpAccountant, RdpParams};
use ewtune::accountant::{Accountant, PldAccountant, PldParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;
use std::hint::black_box;
use std::time::Duration;

fn run(q: f64, sigma: f64, steps: u64, delta: f64, adjacency: Adjacency, d: Discretisation) {
    let mut a = PldAccountant::new(PldParams {
        adjacency,
        discretisation: d,
        ..PldParams::default()
    })
    .expect("valid params");
    a.compose(&DpEvent::dpsgd(sigma, q, steps), 1)
        .expect("supported");
    black_box(a.epsilon(delta).expect("answer"));
}

fn pld_epsilon(c: &mut Criterion) {
    let mut g = c.benchmark_group("pld_epsilon");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    let settings: [(&str, f64, f64, u64, f64, Adjacency); 5] = [
        (
            "q0.1_sigma1_steps10_d1e-5",
            0.1,
            1.0,
            10,
            1e-5,
            Adjacency::AddRemove,
        ),
        (
            "q0.01_sigma0.8_steps100_d1e-5",
            0.01,
            0.8,
            100,
            1e-5,
            Adjacency::AddRemove,
        ),
        (
            "sst2_q0.029696_sigma0.7865_steps660_d1e-5",
            0.029696,
            0.7865,
            660,
            1e-5,
            Adjacency::AddRemove,
        ),
        (
            "q0.01_sigma0.8_steps1000_d1e-5",
            0.01,
            0.8,
            1000,
            1e-5,
            Adjacency::AddRemove,
        ),
        (
            "mnli_remove_q0.005093_sigma0.573_steps3920_d1e-6",
            2000.0 / 392_702.0,
            0.573,
            3920,
            1e-6,
            Adjacency::Remove,
        ),
    ];
    for (name, q, sigma, steps, delta, adj) in settings {
        g.bench_function(format!("connect_dots/{name}"), |b| {
            b.iter(|| run(q, sigma, steps, delta, adj, Discretisation::Auto))
        });
    }
    // The round-up discretisation needs a grid ~steps/√steps finer: two settings only.
    for (name, q, sigma, steps, delta, adj) in &settings[1..4] {
        if *steps > 700 {
            continue;
        }
        g.bench_function(format!("round_up/{name}"), |b| {
            b.iter(|| run(*q, *sigma, *steps, *delta, *adj, Discretisation::RoundUp))
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
