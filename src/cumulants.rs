//! Cumulants of privacy-loss variables on both sides, and their composition.
//!
//! Cumulants add over independent summands, so any composition, homogeneous or not, is one sum
//! per side: K_j = Σ_i n_i κ_j^{(i)} (docs/math.md §3). This is why the Edgeworth accountant's cost
//! does not grow with the number of steps.

use crate::error::{Error, Result};
use crate::precision::{Interval, Precision};
use rug::Float;
use std::ops::{Add, AddAssign};

/// Highest cumulant order computed (κ1..κ6).
pub const MAX_ORDER: usize = 6;

/// f64 cumulants κ1..κ6 of the PLLR under P (`p`) and under Q (`q`); index j−1 holds κ_j.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Cumulants {
    /// P side: X = L(ω), ω ~ P.
    pub p: [f64; MAX_ORDER],
    /// Q side: Y = L(ω), ω ~ Q.
    pub q: [f64; MAX_ORDER],
}

impl Cumulants {
    /// All zero (the empty composition).
    pub const ZERO: Cumulants = Cumulants {
        p: [0.0; MAX_ORDER],
        q: [0.0; MAX_ORDER],
    };

    /// The cumulants of the `count`-fold composition.
    pub fn times(&self, count: u64) -> Cumulants {
        let n = count as f64;
        Cumulants {
            p: self.p.map(|v| v * n),
            q: self.q.map(|v| v * n),
        }
    }

    /// The swapped pair (Q, P) with PLLR −L: the add ordering from the remove one
    /// (κ_j^{P'} = (−1)^j κ_j^{Q}, κ_j^{Q'} = (−1)^j κ_j^{P}; docs/math.md §1).
    pub fn swapped(&self) -> Cumulants {
        let flip = |a: &[f64; MAX_ORDER]| {
            let mut o = *a;
            for (j, v) in o.iter_mut().enumerate() {
                if j % 2 == 0 {
                    *v = -*v; // odd order j+1
                }
            }
            o
        };
        Cumulants {
            p: flip(&self.q),
            q: flip(&self.p),
        }
    }

    /// Sets one side (0: P, 1: Q) from power moments `m` about `center`
    /// ([`cumulants_from_moments_f64`] to order [`MAX_ORDER`]).
    pub fn set_from_moments(&mut self, side: usize, m: &[f64], center: f64) {
        let k = cumulants_from_moments_f64(m, center, MAX_ORDER);
        if side == 0 {
            self.p.copy_from_slice(&k);
        } else {
            self.q.copy_from_slice(&k);
        }
    }
}

impl Add for Cumulants {
    type Output = Cumulants;
    fn add(mut self, o: Cumulants) -> Cumulants {
        self += o;
        self
    }
}

impl AddAssign for Cumulants {
    fn add_assign(&mut self, o: Cumulants) {
        for j in 0..MAX_ORDER {
            self.p[j] += o.p[j];
            self.q[j] += o.q[j];
        }
    }
}

/// Certified enclosures of κ1..κ6 on both sides.
#[derive(Debug, Clone)]
pub struct CertifiedCumulants {
    /// P side, index j−1 holds κ_j.
    pub p: Vec<Interval>,
    /// Q side.
    pub q: Vec<Interval>,
    /// Working precision of the enclosures.
    pub precision: Precision,
}

impl CertifiedCumulants {
    /// Test helper: assert that each f64 cumulant of `e` lies in its enclosure, widened by
    /// rel·(|κ| + abs) (the f64 estimate's own error); `what` names the case in the message.
    #[cfg(test)]
    pub(crate) fn assert_encloses(&self, e: &Cumulants, rel: f64, abs: f64, what: &str) {
        for j in 0..MAX_ORDER {
            for (iv, v) in [(&self.p[j], e.p[j]), (&self.q[j], e.q[j])] {
                let tol = rel * (v.abs() + abs);
                assert!(
                    iv.lo_f64() <= v + tol && v - tol <= iv.hi_f64(),
                    "{what} κ{}: {v} outside [{}, {}]",
                    j + 1,
                    iv.lo_f64(),
                    iv.hi_f64()
                );
            }
        }
    }

    /// Midpoints as f64 cumulants.
    pub fn mid(&self) -> Cumulants {
        let mut c = Cumulants::ZERO;
        for j in 0..MAX_ORDER {
            c.p[j] = self.p[j].mid_f64();
            c.q[j] = self.q[j].mid_f64();
        }
        c
    }

    /// The add ordering from the remove ordering (exact sign flips).
    pub fn swapped(&self) -> CertifiedCumulants {
        let flip = |v: &[Interval]| {
            v.iter()
                .enumerate()
                .map(|(j, x)| if j % 2 == 0 { x.neg() } else { x.clone() })
                .collect::<Vec<_>>()
        };
        CertifiedCumulants {
            p: flip(&self.q),
            q: flip(&self.p),
            precision: self.precision,
        }
    }

    /// Enclosures of the `count`-fold composition.
    pub fn times(&self, count: u64) -> CertifiedCumulants {
        let n = Float::with_val(64, count);
        CertifiedCumulants {
            p: self.p.iter().map(|x| x.scale_nonneg(&n)).collect(),
            q: self.q.iter().map(|x| x.scale_nonneg(&n)).collect(),
            precision: self.precision,
        }
    }

    /// Sum of two enclosures (composition).
    pub fn plus(&self, o: &CertifiedCumulants) -> CertifiedCumulants {
        CertifiedCumulants {
            p: self.p.iter().zip(&o.p).map(|(a, b)| a.add(b)).collect(),
            q: self.q.iter().zip(&o.q).map(|(a, b)| a.add(b)).collect(),
            precision: self.precision.min(o.precision),
        }
    }

    /// Largest relative width over κ1..κ_upto on both sides (∞ for an enclosure of 0).
    pub fn max_rel_width(&self, upto: usize) -> f64 {
        self.p[..upto]
            .iter()
            .chain(&self.q[..upto])
            .map(|x| x.rel_width())
            .fold(0.0, f64::max)
    }
}

/// Cumulants from moments about a centre c: `m[k]` encloses E[(X − c)^k] for k = 1..=n
/// (`m[0]` is ignored and taken as exactly 1). Returns κ_1..κ_n of X (κ_1 includes c).
///
/// κ_n = m_n − Σ_{k=1}^{n−1} C(n−1, k−1) κ_k m_{n−k} (docs/math.md §3), applied to X − c, whose
/// cumulants equal those of X except κ_1 (shifted by c).
///
/// # Errors
/// [`Error::InvalidParameter`] when fewer than n + 1 moments are given.
pub fn cumulants_from_moments(m: &[Interval], center: f64, n: usize) -> Result<Vec<Interval>> {
    if m.len() < n + 1 {
        return Err(Error::invalid(
            "moments",
            m.len(),
            format!("need {} moments", n + 1),
        ));
    }
    let prec = crate::precision::Precision(m[1].prec());
    let mut one_based = Vec::with_capacity(n + 1);
    one_based.push(Interval::from_f64(prec, 1.0));
    one_based.extend(m[1..=n].iter().cloned());
    let mut kappa: Vec<Interval> = Vec::with_capacity(n);
    for order in 1..=n {
        let mut k = one_based[order].clone();
        for j in 1..order {
            let c = binom(order - 1, j - 1);
            let term = kappa[j - 1]
                .mul(&one_based[order - j])
                .scale_nonneg(&Float::with_val(64, c));
            k = k.sub(&term);
        }
        kappa.push(k);
    }
    kappa[0] = kappa[0].add(&Interval::from_f64(prec, center));
    Ok(kappa)
}

/// Same recursion in f64 (central moments in, cumulants out; `m[0]` ignored).
pub fn cumulants_from_moments_f64(m: &[f64], center: f64, n: usize) -> Vec<f64> {
    let mut mm = vec![1.0];
    mm.extend_from_slice(&m[1..=n]);
    let mut kappa: Vec<f64> = Vec::with_capacity(n);
    for order in 1..=n {
        let mut k = mm[order];
        for j in 1..order {
            k -= binom(order - 1, j - 1) as f64 * kappa[j - 1] * mm[order - j];
        }
        kappa.push(k);
    }
    kappa[0] += center;
    kappa
}

/// Adds w·d^k to `m[k]` for every k: one point's term of the power moments about a centre
/// at distance d (for [`cumulants_from_moments_f64`]).
pub fn add_powers(m: &mut [f64], d: f64, w: f64) {
    let mut pw = w;
    for slot in m.iter_mut() {
        *slot += pw;
        pw *= d;
    }
}

fn binom(n: usize, k: usize) -> u64 {
    let mut r = 1u64;
    for i in 0..k {
        r = r * (n - i) as u64 / (i as u64 + 1);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_to_cumulants_standard_normal_shifted() {
        // N(2, 1) about c = 2: central moments 0, 1, 0, 3, 0, 15.
        let m = [1.0, 0.0, 1.0, 0.0, 3.0, 0.0, 15.0];
        let k = cumulants_from_moments_f64(&m, 2.0, 6);
        let want = [2.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        for j in 0..6 {
            assert!((k[j] - want[j]).abs() < 1e-14, "κ{} = {}", j + 1, k[j]);
        }
        let p = Precision(128);
        let mi: Vec<Interval> = m.iter().map(|&v| Interval::from_f64(p, v)).collect();
        let ki = cumulants_from_moments(&mi, 2.0, 6).expect("test setup");
        for j in 0..6 {
            assert!(ki[j].contains(&Float::with_val(128, want[j])));
        }
    }

    #[test]
    fn swap_flips_odd_orders() {
        let c = Cumulants {
            p: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            q: [-1.0, 2.5, 3.5, 4.5, 5.5, 6.5],
        };
        let s = c.swapped();
        assert_eq!(s.p, [1.0, 2.5, -3.5, 4.5, -5.5, 6.5]);
        assert_eq!(s.q, [-1.0, 2.0, -3.0, 4.0, -5.0, 6.0]);
        assert_eq!(s.swapped(), c);
        assert_eq!(c.times(3).p[1], 6.0);
    }
}
