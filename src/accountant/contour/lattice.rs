//! The lattice part of a homogeneous Laplace composition, summed exactly.

use super::*;

/// A homogeneous composition whose atoms-only part is split off: n steps of Laplace (a = 1/b),
/// or of the symmetrised fixed-size-batch pair (`at_zero`: one atom of mass a at 0,
/// docs/math.md §17.11).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Lattice {
    /// Laplace: a = 1/b, the largest loss of one step; `at_zero`: the atom's mass (f64, within
    /// 16u of the exact mass).
    pub(super) a: f64,
    /// The number of steps.
    pub(super) n: f64,
    /// The atoms-only measure is the single atom a^n at S = 0.
    pub(super) at_zero: bool,
}

impl Lattice {
    /// The atoms-only measure's contribution to δ(ε).
    pub(super) fn delta(&self, epsilon: f64) -> Enclosure {
        if self.at_zero {
            atom_at_zero_delta(self.a, self.n, epsilon)
        } else {
            lattice_delta(self.a, self.n, epsilon)
        }
    }
}

/// The atom a^n at S = 0 contributes E[(e^0 − e^ε)₊]·a^n = a^n(1 − e^ε)₊: 0 for ε ≥ 0
/// (docs/math.md §17.11); below, with a ∈ [ã − 16u, ã + 16u] and the f64 rounding of the power
/// and the product (≤ 64u(1 + n·|ln ã| + |ε|) relative), applied outward.
pub(super) fn atom_at_zero_delta(a: f64, n: f64, epsilon: f64) -> Enclosure {
    if epsilon >= 0.0 {
        return Enclosure {
            lower: 0.0,
            value: 0.0,
            upper: 0.0,
        };
    }
    let u = UNIT_ROUNDOFF;
    let k = -epsilon.exp_m1();
    let rel = 64.0 * u * (1.0 + n * a.ln().abs() + epsilon.abs());
    let lo = (n * (a - 16.0 * u).max(0.0).ln()).exp() * k * (1.0 - rel);
    let hi = (n * (a + 16.0 * u).ln()).exp() * k * (1.0 + rel);
    Enclosure {
        lower: lo.max(0.0),
        value: (n * a.ln()).exp() * k,
        upper: hi.min(1.0),
    }
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
