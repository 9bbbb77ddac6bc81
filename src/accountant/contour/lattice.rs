//! The lattice part of a homogeneous Laplace composition, summed exactly.

use super::*;

/// A homogeneous Laplace composition whose lattice part is split off: n steps, a = 1/b.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Lattice {
    /// a = 1/b, the largest loss of one step.
    pub(super) a: f64,
    /// The number of steps.
    pub(super) n: f64,
}

/// The lattice part of an n-fold Laplace composition (a = 1/b): the atoms-only measure gives
/// Σ_{j} C(n,j) 2^{−n} e^{−ja} (e^{(2j−n)a} − e^ε)_+, summed in log space; the relative rounding
/// error of ln C(n,j) (lgamma), the products and the sum is below 64u(10 + n(ln 2 + a) + ε +
/// ln C(n,j)) — applied outward.
pub(super) fn lattice_delta(a: f64, n: f64, epsilon: f64) -> Enclosure {
    let nn = n as u64;
    let mut terms = Vec::new();
    let mut worst: f64 = 0.0;
    for j in 0..=nn {
        let s = (2.0 * j as f64 - n) * a;
        if s <= epsilon {
            continue;
        }
        let lc = statrs::function::factorial::ln_binomial(nn, j);
        let lt =
            lc - n * std::f64::consts::LN_2 - j as f64 * a + s + (-(epsilon - s).exp_m1()).ln();
        worst = worst.max(lc.abs() + (j as f64 * a).abs() + s.abs());
        terms.push(lt);
    }
    if terms.is_empty() {
        return Enclosure {
            lower: 0.0,
            value: 0.0,
            upper: 0.0,
        };
    }
    let v = logsumexp(&terms);
    let rel = 64.0 * UNIT_ROUNDOFF * (10.0 + n * (std::f64::consts::LN_2 + a) + epsilon + worst);
    Enclosure {
        lower: (v - rel).exp(),
        value: v.exp(),
        upper: (v + rel).exp(),
    }
}
