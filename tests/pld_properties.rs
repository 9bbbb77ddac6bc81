//! Property tests: bracket order and monotonicity of the PLD and RDP accountants.

use ewtune::accountant::rdp::{RdpAccountant, RdpParams};
use ewtune::accountant::{Accountant, PldAccountant, PldParams};
use ewtune::event::DpEvent;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// On a fixed grid the certified δ curves are non-increasing in ε and ordered.
    #[test]
    fn pld_delta_bracket_is_ordered_and_monotone(
        sigma in 0.7f64..3.0, q in 0.005f64..0.3, steps in 1u64..40, e1 in 0.05f64..2.0, de in 0.01f64..1.0,
    ) {
        let mut a = PldAccountant::new(PldParams { grid_spacing: Some(1e-3), ..PldParams::default() }).unwrap();
        a.compose(&DpEvent::dpsgd(sigma, q, steps), 1).unwrap();
        let r1 = a.delta(e1).unwrap();
        let r2 = a.delta(e1 + de).unwrap();
        let (l1, u1) = (r1.lower.unwrap(), r1.upper.unwrap());
        let (l2, u2) = (r2.lower.unwrap(), r2.upper.unwrap());
        prop_assert!(l1 <= u1 && l2 <= u2);
        prop_assert!(u2 <= u1, "upper not monotone: {} then {}", u1, u2);
        prop_assert!(l2 <= l1, "lower not monotone: {} then {}", l1, l2);
    }

    /// ε brackets are ordered and non-increasing in δ; more steps never lower ε.
    #[test]
    fn pld_epsilon_bracket_is_ordered_and_monotone(
        sigma in 0.8f64..3.0, q in 0.01f64..0.2, steps in 1u64..30, ld in 3.0f64..8.0,
    ) {
        let delta = 10f64.powf(-ld);
        let mut a = PldAccountant::new(PldParams { grid_spacing: Some(1e-3), ..PldParams::default() }).unwrap();
        a.compose(&DpEvent::dpsgd(sigma, q, steps), 1).unwrap();
        let r = a.epsilon(delta).unwrap();
        let r_bigger_delta = a.epsilon(delta * 10.0).unwrap();
        prop_assert!(r.lower.unwrap() <= r.upper.unwrap());
        prop_assert!(r_bigger_delta.upper.unwrap() <= r.upper.unwrap());
        let mut b = PldAccountant::new(PldParams { grid_spacing: Some(1e-3), ..PldParams::default() }).unwrap();
        b.compose(&DpEvent::dpsgd(sigma, q, steps + 5), 1).unwrap();
        prop_assert!(b.epsilon(delta).unwrap().upper.unwrap() >= r.lower.unwrap());
    }

    /// RDP: ε non-increasing in δ and in σ.
    #[test]
    fn rdp_is_monotone(sigma in 0.6f64..4.0, q in 0.001f64..0.5, steps in 1u64..2000, ld in 2.0f64..10.0) {
        let delta = 10f64.powf(-ld);
        let eps = |s: f64, d: f64| {
            let mut a = RdpAccountant::new(RdpParams::default()).unwrap();
            a.compose(&DpEvent::dpsgd(s, q, steps), 1).unwrap();
            a.epsilon(d).unwrap().epsilon
        };
        let e = eps(sigma, delta);
        prop_assert!(eps(sigma, delta * 2.0) <= e * (1.0 + 1e-12));
        prop_assert!(eps(sigma * 1.1, delta) <= e * (1.0 + 1e-12));
    }
}
