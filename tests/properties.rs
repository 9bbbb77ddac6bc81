//! Property tests (proptest) of the Edgeworth accountant and the certified cumulants.

use ewtune::accountant::{Accountant, EdgeworthAccountant, EdgeworthParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction, Mechanism, SubsampledGaussian};
use ewtune::precision::Precision;
use proptest::prelude::*;

fn acc(sigma: f64, q: f64, steps: u64, order: u8, adjacency: Adjacency) -> EdgeworthAccountant {
    let mut a = EdgeworthAccountant::new(EdgeworthParams {
        order,
        adjacency,
        precision: None,
        bracket: false,
    })
    .unwrap();
    a.compose(&DpEvent::dpsgd(sigma, q, steps), 1).unwrap();
    a
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// ε(δ(ε)) = ε wherever δ̃ is valid and monotone up to ε (tolerance 1e-7 relative);
    /// otherwise ε(δ(ε)) ≤ ε (the first crossing can only come earlier).
    #[test]
    fn epsilon_delta_round_trip(
        sigma in 0.6f64..4.0, q in 1e-3f64..0.3, steps in 10u64..3000,
        order in 0u8..=3, eps in 0.2f64..8.0,
    ) {
        let a = acc(sigma, q, steps, order, Adjacency::Remove);
        let d = a.delta(eps).unwrap();
        prop_assume!(d.valid && d.delta > 1e-200 && d.delta < 0.5);
        let e = a.epsilon(d.delta).unwrap();
        let monotone = !e.notes.iter().any(|n| n.contains("not monotone"));
        if monotone && e.valid {
            prop_assert!((e.epsilon - eps).abs() <= 1e-7 * eps.max(1.0),
                "round trip {} -> {:e} -> {}", eps, d.delta, e.epsilon);
        } else {
            prop_assert!(e.epsilon <= eps * (1.0 + 1e-7));
        }
    }

    /// δ̃ is non-increasing in ε where the order-0 and order-1 series are valid, for DP-SGD
    /// settings with at least 100 steps (relative slack 1e-12).
    #[test]
    fn delta_non_increasing_in_epsilon(
        sigma in 0.6f64..4.0, q in 1e-3f64..0.2, steps in 100u64..5000, order in 0u8..=1,
        e1 in 0.05f64..10.0, de in 0.0f64..2.0,
    ) {
        let a = acc(sigma, q, steps, order, Adjacency::AddRemove);
        let d1 = a.delta(e1).unwrap();
        let d2 = a.delta(e1 + de).unwrap();
        prop_assume!(d1.valid && d2.valid && d2.delta > 0.0);
        prop_assert!(d2.delta <= d1.delta * (1.0 + 1e-12), "{} at {} vs {} at {}", d1.delta, e1, d2.delta, e1 + de);
    }

    /// ε is non-increasing in σ and non-decreasing in steps and q (order 1, remove ordering,
    /// valid region; slack 1e-9 relative).
    #[test]
    fn epsilon_monotone_in_parameters(
        sigma in 0.6f64..3.0, q in 2e-3f64..0.1, steps in 100u64..3000,
        ds in 0.0f64..0.5, dq in 0.0f64..0.05, dn in 0u64..2000,
    ) {
        let delta = 1e-5;
        let base = acc(sigma, q, steps, 1, Adjacency::Remove).epsilon(delta).unwrap();
        let more_noise = acc(sigma + ds, q, steps, 1, Adjacency::Remove).epsilon(delta).unwrap();
        let more_steps = acc(sigma, q, steps + dn, 1, Adjacency::Remove).epsilon(delta).unwrap();
        let more_q = acc(sigma, q + dq, steps, 1, Adjacency::Remove).epsilon(delta).unwrap();
        prop_assume!(base.valid && more_noise.valid && more_steps.valid && more_q.valid);
        let slack = 1e-9 * base.epsilon.max(1e-3);
        prop_assert!(more_noise.epsilon <= base.epsilon + slack);
        prop_assert!(more_steps.epsilon >= base.epsilon - slack);
        prop_assert!(more_q.epsilon >= base.epsilon - slack);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// Certified cumulants at P and P+64 bits overlap, and ε from them agrees to 1e-12.
    #[test]
    fn precision_p_and_p_plus_64_agree(
        sigma in 0.5f64..10.0, q in 1e-4f64..1.0, bits in 96u32..320,
    ) {
        let m = Mechanism::SubsampledGaussian(SubsampledGaussian::new(sigma, q).unwrap());
        let a = m.certified_cumulants(Direction::Remove, Precision(bits)).unwrap();
        let b = m.certified_cumulants(Direction::Remove, Precision(bits + 64)).unwrap();
        for j in 0..6 {
            for (x, y) in [(&a.p[j], &b.p[j]), (&a.q[j], &b.q[j])] {
                prop_assert!(x.lo <= y.hi && y.lo <= x.hi, "κ{} enclosures disjoint", j + 1);
                prop_assert!(x.contains_interval(y) || x.rel_width() > y.rel_width(),
                    "the higher precision is not tighter for κ{}", j + 1);
            }
        }
        let eps = |p: u32| {
            let mut acc = EdgeworthAccountant::new(EdgeworthParams {
                order: 1, adjacency: Adjacency::Remove, precision: Some(Precision(p)), bracket: false,
            }).unwrap();
            acc.compose(&DpEvent::dpsgd(sigma, q, 500), 1).unwrap();
            acc.epsilon(1e-5).unwrap().epsilon
        };
        let (e1, e2) = (eps(bits), eps(bits + 64));
        prop_assert!((e1 - e2).abs() <= 1e-12 * e1.max(1.0), "{} vs {}", e1, e2);
    }
}
