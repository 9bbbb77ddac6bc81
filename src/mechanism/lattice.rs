//! Mechanisms whose privacy loss takes finitely many values on a lattice (docs/math.md §16):
//! randomized response over k buckets (replace-one) and the discrete Laplace mechanism with an
//! integer sensitivity (add/remove).
//!
//! Both pairs are symmetric: the loss takes the values ℓ_j = h·(j − J/2), j = 0..=J, with
//! P-probabilities p_j, and its Q-law is the P-law of −L (q_j = p_{J−j} = p_j e^{ℓ_j}); the
//! swapped ordering has the same laws. [`CertifiedLattice`] holds h and the p_j as MPFR
//! intervals, [`Lattice`] their f64 midpoints; every accountant works from these.

use crate::cumulants::{cumulants_from_moments, CertifiedCumulants, Cumulants, MAX_ORDER};
use crate::error::{Error, Result};
use crate::precision::{Interval, Precision};
use rug::Float;

/// Largest integer sensitivity of the discrete Laplace mechanism (its loss has Δ + 1 atoms).
pub const MAX_SENSITIVITY: u64 = 1_000_000;

/// Largest number of buckets of randomized response (any k ≥ 2 gives three atoms; the cap only
/// keeps k exact in f64).
pub const MAX_BUCKETS: u64 = 1 << 52;

/// Randomized response over k buckets with noise parameter p: with probability 1 − p the true
/// bucket, else a uniformly random one (dp_accounting's `from_randomized_response`). Defined
/// under replace-one adjacency only.
///
/// Replace-one loss (docs/math.md §16.1): with α = 1 − p + p/k and β = p/k, L = −h with
/// P-probability α, +h with β and 0 with (k − 2)β, h = ln(α/β). p = 0 (k ≥ 2) is non-private;
/// k = 1 or p = 1 is a no-op.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RandomizedResponse {
    noise_parameter: f64,
    buckets: u64,
}

impl RandomizedResponse {
    /// # Errors
    /// `noise_parameter` must lie in [0, 1]; `buckets` in [1, 2^52].
    pub fn new(noise_parameter: f64, buckets: u64) -> Result<Self> {
        crate::error::Range::closed(0.0, 1.0).check("noise_parameter", noise_parameter)?;
        if !(1..=MAX_BUCKETS).contains(&buckets) {
            return Err(Error::invalid(
                "buckets",
                buckets,
                format!("must be an integer in [1, {MAX_BUCKETS}]"),
            ));
        }
        Ok(RandomizedResponse {
            noise_parameter,
            buckets,
        })
    }

    /// p.
    pub fn noise_parameter(&self) -> f64 {
        self.noise_parameter
    }

    /// k.
    pub fn buckets(&self) -> u64 {
        self.buckets
    }

    /// Whether the output does not depend on the input (k = 1 or p = 1).
    pub fn is_no_op(&self) -> bool {
        self.buckets == 1 || self.noise_parameter == 1.0
    }

    /// Whether the output reveals the input (p = 0 with k ≥ 2).
    pub fn is_non_private(&self) -> bool {
        self.buckets >= 2 && self.noise_parameter == 0.0
    }

    /// The certified loss law (p ∈ (0, 1), k ≥ 2; see the type docs).
    pub fn certified(&self, precision: Precision) -> CertifiedLattice {
        let wp = precision.0 + 64;
        let p = Interval::from_f64(Precision(wp), self.noise_parameter);
        let k = Interval::point(Float::with_val(wp, self.buckets));
        let one = Interval::from_f64(Precision(wp), 1.0);
        let beta = p
            .div(&k)
            .expect("invariant: k >= 1 is a positive exact interval");
        let alpha = one.sub(&p).add(&beta);
        let gamma = beta.mul(&Interval::point(Float::with_val(
            wp,
            self.buckets.saturating_sub(2),
        )));
        let h = alpha.ln().sub(&beta.ln());
        CertifiedLattice {
            h,
            p: vec![alpha, gamma, beta],
        }
    }
}

/// The discrete Laplace mechanism: P(x) ∝ e^{−a|x|} on the integers, integer sensitivity Δ
/// (add/remove; both orderings have the same loss laws).
///
/// Loss (docs/math.md §16.2): with r = e^{−a}, L = a(2j − Δ) for j = 0..=Δ with P-probabilities
/// 1/(1 + r) (j = 0), (1 − r)/(1 + r)·r^j (0 < j < Δ) and r^Δ/(1 + r) (j = Δ).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DiscreteLaplace {
    parameter: f64,
    sensitivity: u64,
}

impl DiscreteLaplace {
    /// # Errors
    /// `parameter` must be finite and > 0; `sensitivity` an integer in [1, 10⁶].
    pub fn new(parameter: f64, sensitivity: u64) -> Result<Self> {
        crate::error::Range::above(0.0).check("parameter", parameter)?;
        if !(1..=MAX_SENSITIVITY).contains(&sensitivity) {
            return Err(Error::invalid(
                "sensitivity",
                sensitivity,
                format!("must be an integer in [1, {MAX_SENSITIVITY}]"),
            ));
        }
        Ok(DiscreteLaplace {
            parameter,
            sensitivity,
        })
    }

    /// a.
    pub fn parameter(&self) -> f64 {
        self.parameter
    }

    /// Δ.
    pub fn sensitivity(&self) -> u64 {
        self.sensitivity
    }

    /// The certified loss law (see the type docs).
    pub fn certified(&self, precision: Precision) -> CertifiedLattice {
        let wp = precision.0 + 64;
        let a = Interval::from_f64(Precision(wp), self.parameter);
        let r = a.neg().exp();
        let one = Interval::from_f64(Precision(wp), 1.0);
        let onepr = one.add(&r);
        let d = self.sensitivity;
        let first = one
            .div(&onepr)
            .expect("invariant: 1 + e^{-a} > 0 is a positive interval");
        let c = one.sub(&r).mul(&first);
        let mut p = Vec::with_capacity(d as usize + 1);
        p.push(first.clone());
        let mut rj = one.clone();
        for _ in 1..d {
            rj = rj.mul(&r);
            p.push(c.mul(&rj));
        }
        p.push(rj.mul(&r).mul(&first));
        CertifiedLattice {
            h: a.scale_nonneg(&Float::with_val(wp, 2)),
            p,
        }
    }
}

/// A lattice mechanism (both are symmetric pairs; see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatticeMechanism {
    /// Randomized response.
    RandomizedResponse(RandomizedResponse),
    /// Discrete Laplace.
    DiscreteLaplace(DiscreteLaplace),
}

impl LatticeMechanism {
    /// The certified law at `precision` (64 guard bits are added).
    pub fn certified(&self, precision: Precision) -> CertifiedLattice {
        match self {
            LatticeMechanism::RandomizedResponse(r) => r.certified(precision),
            LatticeMechanism::DiscreteLaplace(d) => d.certified(precision),
        }
    }

    /// The f64 law (midpoints of a 128-bit enclosure).
    pub fn law(&self) -> Lattice {
        self.certified(Precision(128)).mid()
    }
}

/// Certified lattice loss: ℓ_j = h·(j − J/2), J = p.len() − 1, P-probabilities p_j (Q: p_{J−j}).
#[derive(Debug, Clone)]
pub struct CertifiedLattice {
    /// The spacing h > 0.
    pub h: Interval,
    /// P-probabilities p_0..p_J.
    pub p: Vec<Interval>,
}

impl CertifiedLattice {
    /// J.
    pub fn top(&self) -> usize {
        self.p.len() - 1
    }

    /// ℓ_j = h·(2j − J)/2 (exact scalars).
    pub fn atom(&self, j: usize) -> Interval {
        let two_j = 2 * j as i64 - self.top() as i64;
        let s = Float::with_val(self.h.prec(), two_j.unsigned_abs()) / 2u32;
        let v = self.h.scale_nonneg(&s);
        if two_j < 0 {
            v.neg()
        } else {
            v
        }
    }

    /// f64 midpoints.
    pub fn mid(&self) -> Lattice {
        Lattice {
            h: self.h.mid_f64(),
            p: self.p.iter().map(|x| x.mid_f64()).collect(),
        }
    }

    /// M_k = E_P[e^{λL}(L − c)^k] for k = 0..=kmax (λ, c exact f64).
    pub fn tilted_moments(&self, lambda: f64, center: f64, kmax: usize) -> Vec<Interval> {
        let prec = Precision(self.h.prec());
        let lam = Interval::from_f64(prec, lambda);
        let c = Interval::from_f64(prec, center);
        let mut row = vec![Interval::zero(prec); kmax + 1];
        for (j, pj) in self.p.iter().enumerate() {
            if pj.hi.is_zero() {
                continue;
            }
            let l = self.atom(j);
            let w = pj.mul(&lam.mul(&l).exp());
            let d = l.sub(&c);
            let mut t = w;
            for m in row.iter_mut() {
                m.add_assign(&t);
                t = t.mul(&d);
            }
        }
        row
    }

    /// Certified cumulants κ1..κ6 of the remove ordering (P side; Q side κ_j^Q = (−1)^j κ_j^P).
    pub fn cumulants(&self, precision: Precision) -> CertifiedCumulants {
        let moments = self.tilted_moments(0.0, 0.0, MAX_ORDER);
        let p = cumulants_from_moments(&moments, 0.0, MAX_ORDER)
            .expect("invariant: MAX_ORDER + 1 moments were computed");
        let q = p
            .iter()
            .enumerate()
            .map(|(j, x)| if j % 2 == 0 { x.neg() } else { x.clone() })
            .collect();
        CertifiedCumulants { p, q, precision }
    }
}

/// f64 lattice loss (see [`CertifiedLattice`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Lattice {
    /// h.
    pub h: f64,
    /// P-probabilities.
    pub p: Vec<f64>,
}

impl Lattice {
    /// J.
    pub fn top(&self) -> usize {
        self.p.len() - 1
    }

    /// ℓ_j.
    pub fn atom(&self, j: usize) -> f64 {
        self.h * (j as f64 - 0.5 * self.top() as f64)
    }

    /// f64 cumulants from the certified ones.
    pub fn cumulants_f64(m: &LatticeMechanism) -> Cumulants {
        m.certified(Precision(128)).cumulants(Precision(128)).mid()
    }

    /// K(λ) = ln E_P[e^{λL}] and the tilted law's mean, variance, third and fourth central
    /// moments, in f64 (log-sum-exp weights, two passes).
    pub fn tilted(&self, lambda: f64) -> [f64; 5] {
        let lw: Vec<f64> = (0..=self.top())
            .map(|j| {
                if self.p[j] > 0.0 {
                    self.p[j].ln() + lambda * self.atom(j)
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect();
        let mx = lw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = lw.iter().map(|x| (x - mx).exp()).collect();
        let s: f64 = w.iter().sum();
        let mean = (0..=self.top()).map(|j| w[j] * self.atom(j)).sum::<f64>() / s;
        let mut c = [0.0f64; 3];
        for j in 0..=self.top() {
            let d = self.atom(j) - mean;
            c[0] += w[j] * d * d;
            c[1] += w[j] * d * d * d;
            c[2] += w[j] * d * d * d * d;
        }
        // With two or more atoms the variance is positive; where the f64 weights of all but one
        // atom underflow (very large |λ|) it is below the f64 range and is returned as the
        // smallest positive normal, so that callers dividing by it see a tiny, not a zero, value.
        let atoms = self.p.iter().filter(|&&p| p > 0.0).count();
        let var = if atoms >= 2 {
            (c[0] / s).max(f64::MIN_POSITIVE)
        } else {
            c[0] / s
        };
        [mx + s.ln(), mean, var, c[1] / s, c[2] / s]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_sum_to_one_and_q_is_the_mirror() {
        let laws = [
            LatticeMechanism::RandomizedResponse(RandomizedResponse::new(0.3, 5).expect("setup")),
            LatticeMechanism::RandomizedResponse(RandomizedResponse::new(0.9, 2).expect("setup")),
            LatticeMechanism::DiscreteLaplace(DiscreteLaplace::new(0.7, 1).expect("setup")),
            LatticeMechanism::DiscreteLaplace(DiscreteLaplace::new(0.05, 7).expect("setup")),
        ];
        for m in laws {
            let c = m.certified(Precision(128));
            let mut s = Interval::zero(Precision(192));
            for p in &c.p {
                s.add_assign(p);
            }
            assert!(s.contains(&Float::with_val(192, 1)), "{m:?}: {s:?}");
            // q_j = p_j e^{ℓ_j} must enclose p_{J−j}.
            for j in 0..=c.top() {
                let q = c.p[j].mul(&c.atom(j).exp());
                let mirror = &c.p[c.top() - j];
                assert!(
                    q.lo <= mirror.hi && mirror.lo <= q.hi,
                    "{m:?} j={j}: {q:?} vs {mirror:?}"
                );
            }
        }
    }

    #[test]
    fn rejects_bad_parameters_naming_them() {
        for (p, k, name) in [(-0.1, 3, "noise_parameter"), (1.5, 3, "noise_parameter")] {
            let e = RandomizedResponse::new(p, k).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
        let e = RandomizedResponse::new(0.5, 0).unwrap_err();
        assert!(e.to_string().contains("buckets"), "{e}");
        let e = DiscreteLaplace::new(0.0, 1).unwrap_err();
        assert!(e.to_string().contains("parameter"), "{e}");
        let e = DiscreteLaplace::new(1.0, 0).unwrap_err();
        assert!(e.to_string().contains("sensitivity"), "{e}");
    }

    #[test]
    fn rr_cumulants_match_the_three_point_law() {
        // κ1 = (β − α)h, κ2 = (α + β)h² − κ1² for the three-point law.
        let (p, k) = (0.4_f64, 4u64);
        let beta = p / k as f64;
        let alpha = 1.0 - p + beta;
        let h = (alpha / beta).ln();
        let m = LatticeMechanism::RandomizedResponse(RandomizedResponse::new(p, k).expect("s"));
        let c = Lattice::cumulants_f64(&m);
        let k1 = (beta - alpha) * h;
        let k2 = (alpha + beta) * h * h - k1 * k1;
        assert!((c.p[0] - k1).abs() <= 1e-14 * k1.abs(), "{} {k1}", c.p[0]);
        assert!((c.p[1] - k2).abs() <= 1e-14 * k2, "{} {k2}", c.p[1]);
        assert!((c.q[0] + k1).abs() <= 1e-14 * k1.abs());
    }
}
