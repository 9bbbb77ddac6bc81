//! The lattice part of a homogeneous Laplace or Poisson-subsampled Laplace composition, summed
//! exactly (docs/math.md §10.6, §15.6.4).

use super::*;

/// What the atoms-only part of a homogeneous composition is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum LatticeKind {
    /// n steps of Laplace: the atoms ±a.
    Laplace,
    /// n steps of a two-atom law: the subsampled Laplace's atoms in the ordering's z-variable
    /// (docs/math.md §15.6).
    Pair(AtomPair),
    /// The symmetrised fixed-size-batch pair: one atom of mass a at 0 (docs/math.md §17.11).
    AtZero,
}

/// A homogeneous composition whose atoms-only part is split off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Lattice {
    /// Laplace and the two-atom law: a = 1/b, the largest loss of one Laplace step; `AtZero`:
    /// the atom's mass (f64, within 16u of the exact mass).
    pub(super) a: f64,
    /// The number of steps.
    pub(super) n: f64,
    /// Which atoms.
    pub(super) kind: LatticeKind,
}

impl Lattice {
    /// The atoms-only measure's contribution to δ(ε), enclosed.
    pub(super) fn delta(&self, epsilon: f64) -> Enclosure {
        match self.kind {
            LatticeKind::Laplace => lattice_delta(self.a, self.n, epsilon),
            LatticeKind::Pair(p) => pair_lattice_delta(&p, self.n, epsilon),
            LatticeKind::AtZero => atom_at_zero_delta(self.a, self.n, epsilon),
        }
    }
}

/// The lattice part of an n-fold composition of a law with atoms m_hi at ℓ_hi and m_lo at ℓ_lo
/// (docs/math.md §15.6.4): Σ_j C(n,j) m_hi^j m_lo^{n−j} (e^{s_j} − e^ε)_+ with
/// s_j = jℓ_hi + (n−j)ℓ_lo, summed in log space. The computed s̃_j is within
/// d = n(err + 4u·max|ℓ|) of s_j, so each term lies between e^{s̃−d}(1 − e^{ε−s̃+d})_+ and
/// e^{s̃+d}(1 − e^{ε−s̃−d})_+ (both monotone in s); the rest of the rounding (lgamma, the
/// products, the masses' logarithms, the sums) is below
/// 64u(10 + n(|ln m_hi| + |ln m_lo| + |ℓ_hi| + |ℓ_lo|) + ε + max_j(|ln C| + |terms|)) + 2n·err,
/// applied outward.
pub(super) fn pair_lattice_delta(p: &AtomPair, n: f64, epsilon: f64) -> Enclosure {
    let nn = n as u64;
    let (lh, mh) = p.hi;
    let (ll, ml) = p.lo;
    let d = n * (p.err + 4.0 * UNIT_ROUNDOFF * lh.abs().max(ll.abs()));
    let mut ups = Vec::new();
    let mut lows = Vec::new();
    let mut vals = Vec::new();
    let mut worst: f64 = 0.0;
    for j in 0..=nn {
        let jf = j as f64;
        let s = jf * lh + (n - jf) * ll;
        if s + d <= epsilon {
            continue;
        }
        let lc = statrs::function::factorial::ln_binomial(nn, j);
        let lw = lc + jf * mh + (n - jf) * ml;
        worst = worst.max(lc.abs() + (jf * mh).abs() + ((n - jf) * ml).abs() + s.abs());
        ups.push(lw + s + d + (-(epsilon - s - d).exp_m1()).ln());
        if s > epsilon {
            vals.push(lw + s + (-(epsilon - s).exp_m1()).ln());
        }
        if s - d > epsilon {
            lows.push(lw + s - d + (-(epsilon - s + d).exp_m1()).ln());
        }
    }
    if ups.is_empty() {
        return Enclosure::ZERO;
    }
    let rel = 64.0
        * UNIT_ROUNDOFF
        * (10.0 + n * (mh.abs() + ml.abs() + lh.abs() + ll.abs()) + epsilon + worst)
        + 2.0 * n * p.err;
    let lse = |v: &[f64]| {
        if v.is_empty() {
            f64::NEG_INFINITY
        } else {
            logsumexp(v)
        }
    };
    Enclosure {
        lower: (lse(&lows) - rel).exp(),
        value: lse(&vals).exp(),
        upper: (lse(&ups) + rel).exp(),
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
