//! Exact lattice composition for the lattice mechanisms (randomized response, discrete
//! Laplace): the n-fold Q-law on the lattice by binary powering with direct convolution of
//! positive arrays, its rounding tracked relatively and its truncation as dropped mass
//! (docs/math.md §16.5). A lattice law's transform does not decay along vertical lines, so the
//! contour's trapezoid bounds do not apply; this path replaces them.

use super::Enclosure;
use crate::error::{Error, Result};
use crate::event::Composition;
use crate::mechanism::lattice::CertifiedLattice;
use crate::precision::Precision;

const U: f64 = f64::EPSILON / 2.0;
/// Entries below this are dropped from the ends of every intermediate pmf (their mass is
/// carried in the bracket's upper end).
const DROP: f64 = 1e-280;
/// Most multiply-adds one composition may take; beyond it the call refuses up front.
pub(super) const WORK_BUDGET: f64 = 2e9;
/// The smallest positive subnormal: the absolute error of one underflowing product.
const TINY: f64 = f64::from_bits(1);

/// The n-fold Q-law of one lattice mechanism, with its error terms.
#[derive(Debug, Clone)]
pub(super) struct LatticeSum {
    /// Certified ends of the spacing h.
    h_lo: f64,
    h_hi: f64,
    /// x of entry 0: the loss of entry i is h·(x0 + i) (x0 a half-integer, exact).
    x0: f64,
    /// Computed Q-masses.
    masses: Vec<f64>,
    /// Relative error bound of the kept entries.
    rel: f64,
    /// Absolute (underflow) error bound on the total mass.
    abs: f64,
    /// Upper bound on the true mass dropped by truncation.
    dropped: f64,
    /// Certified upper end of the atoms' largest loss n·h·J/2 (δ is 0 beyond it when the law
    /// has no tail).
    full_max: f64,
}

/// A pmf on consecutive lattice indices starting at `first`.
#[derive(Debug, Clone)]
struct Pmf {
    first: u64,
    m: Vec<f64>,
    rel: f64,
    abs: f64,
    dropped: f64,
}

impl Pmf {
    fn conv(&self, other: &Pmf, work: &mut f64) -> Pmf {
        let (la, lb) = (self.m.len(), other.m.len());
        *work += (la * lb) as f64;
        let mut out = vec![0.0f64; la + lb - 1];
        for (i, &a) in self.m.iter().enumerate() {
            if a == 0.0 {
                continue;
            }
            for (o, &b) in out[i..i + lb].iter_mut().zip(&other.m) {
                *o += a * b;
            }
        }
        let terms = la.min(lb) as f64;
        let rel = (1.0 + self.rel) * (1.0 + other.rel) * (1.0 + 1.01 * (terms + 1.0) * U) - 1.0;
        let grow = 1.0 + self.rel.max(other.rel);
        let abs = (self.abs + other.abs) * grow + self.abs * other.abs + (la * lb) as f64 * TINY;
        let mut p = Pmf {
            first: self.first + other.first,
            m: out,
            rel,
            abs,
            dropped: self.dropped + other.dropped,
        };
        p.trim();
        p
    }

    /// Drop entries below [`DROP`] from both ends, adding their mass (rounded up, with the
    /// relative and absolute error of the entries) to `dropped`.
    fn trim(&mut self) {
        let lo = self
            .m
            .iter()
            .position(|&x| x >= DROP)
            .unwrap_or(self.m.len());
        let hi = self
            .m
            .iter()
            .rposition(|&x| x >= DROP)
            .map_or(lo, |i| i + 1);
        let cut: f64 = self.m[..lo].iter().chain(&self.m[hi..]).sum();
        let count = (self.m.len() - (hi - lo)) as f64;
        self.dropped += cut * (1.0 + 2.0 * self.rel + count * U) + count * TINY;
        self.m = self.m[lo..hi].to_vec();
        self.first += lo as u64;
        if self.m.is_empty() {
            // Everything dropped (cannot happen for a probability law); keep one zero entry.
            self.m.push(0.0);
        }
    }
}

/// The single lattice part of `composition`, or why the exact path cannot take it.
pub(super) fn lattice_part(composition: &Composition) -> Option<Result<(CertifiedLattice, u64)>> {
    if !has_lattice_part(composition) {
        return None;
    }
    Some(match composition.parts.as_slice() {
        [(m, n)] => {
            // The exact path checks its work in [`LatticeSum::new`]; the Fourier path
            // (docs/math.md §16.8) has its own budget.
            let lat = m.lattice().expect("invariant: checked above");
            Ok((lat.certified(Precision(128)), *n))
        }
        _ => Err(Error::NotCertified(format!(
            "contour: exact lattice composition covers one lattice mechanism composed with itself; \
             this composition has {} different mechanisms ({}); the pld accountant covers mixtures",
            composition.parts.len(),
            composition.describe_parts()
        ))),
    })
}

/// Whether [`lattice_part`] would answer (some part is a lattice mechanism), without building
/// the certified law.
pub(super) fn has_lattice_part(composition: &Composition) -> bool {
    composition.parts.iter().any(|(m, _)| m.lattice().is_some())
}

/// The predicted multiply-adds of [`LatticeSum::new`] for `n` copies of `law` (checked
/// against [`WORK_BUDGET`] before anything is allocated there).
pub(super) fn predicted_work(law: &CertifiedLattice, n: u64) -> f64 {
    let top = law.top();
    let q: Vec<f64> = (0..=top).map(|j| law.p[top - j].mid_f64()).collect();
    predicted_work_of(&q, n).0
}

/// (predicted work, kept lattice width) for the Q-masses `q`.
fn predicted_work_of(q: &[f64], n: u64) -> (f64, f64) {
    let top = q.len() - 1;
    let mean: f64 = q.iter().enumerate().map(|(j, &p)| j as f64 * p).sum();
    let var: f64 = q
        .iter()
        .enumerate()
        .map(|(j, &p)| (j as f64 - mean).powi(2) * p)
        .sum();
    // Width kept after truncation at 1e-280 (≈ 36 standard deviations each side), or the
    // full support; binary powering costs about 3 final squarings.
    let nf = n as f64;
    let width =
        (2.0 * 40.0 * (var * nf).sqrt() + 2.0 * top as f64 + 1.0).min(nf * top as f64 + 1.0);
    let predicted = 3.0 * width * width + nf.log2().max(1.0) * (top as f64 + 1.0).powi(2);
    (predicted, width)
}

impl LatticeSum {
    /// Compose `n` copies (docs/math.md §16.5).
    ///
    /// # Errors
    /// [`Error::NotCertified`] when the predicted work exceeds [`WORK_BUDGET`] (checked before
    /// any allocation).
    pub(super) fn new(law: &CertifiedLattice, n: u64) -> Result<Self> {
        let top = law.top();
        let f = law.mid();
        // Q-mass of index j is p_{J−j}.
        let q: Vec<f64> = (0..=top).map(|j| f.p[top - j]).collect();
        let nf = n as f64;
        let (predicted, width) = predicted_work_of(&q, n);
        if predicted.is_nan() || predicted > WORK_BUDGET {
            return Err(Error::NotCertified(format!(
                "contour: exact lattice composition of {n} steps would take about {predicted:.2e} \
                 multiply-adds (lattice width {width:.0}), above the budget {WORK_BUDGET:.0e}; \
                 the pld accountant gives a certified bracket for long compositions"
            )));
        }
        // Midpoints are within u relative where normal and 2^−1074 absolute where subnormal or
        // zero; a law with a tail (the discrete Gaussian) has mass ≤ tail beyond each end, carried
        // as dropped mass (docs/math.md §16.7).
        let base = Pmf {
            first: 0,
            m: q,
            rel: 2.0 * U,
            abs: (top as f64 + 1.0) * TINY,
            dropped: 2.0 * law.tail * (1.0 + 4.0 * U),
        };
        let mut work = 0.0;
        let mut acc: Option<Pmf> = None;
        let mut pow = base;
        let mut k = n;
        while k > 0 {
            if k & 1 == 1 {
                acc = Some(match acc {
                    None => pow.clone(),
                    Some(a) => a.conv(&pow, &mut work),
                });
            }
            k >>= 1;
            if k > 0 {
                pow = pow.conv(&pow, &mut work);
            }
            if work > 2.0 * WORK_BUDGET {
                return Err(Error::NotCertified(format!(
                    "contour: exact lattice composition of {n} steps exceeded its work budget \
                     ({work:.2e} multiply-adds)"
                )));
            }
        }
        let acc = acc.ok_or_else(|| Error::Internal("lattice composition of 0 steps".into()))?;
        let x0 = acc.first as f64 - 0.5 * nf * top as f64;
        Ok(LatticeSum {
            h_lo: law.h.lo_f64(),
            h_hi: law.h.hi_f64(),
            x0,
            masses: acc.m,
            rel: acc.rel,
            abs: acc.abs,
            dropped: acc.dropped,
            full_max: 0.5 * nf * top as f64 * law.h.hi_f64() * (1.0 + 4.0 * U),
        })
    }

    /// Certified ends of the loss of entry i: (lower, upper).
    fn loss(&self, i: usize) -> (f64, f64) {
        let x = self.x0 + i as f64;
        let (a, b) = if x >= 0.0 {
            (x * self.h_lo, x * self.h_hi)
        } else {
            (x * self.h_hi, x * self.h_lo)
        };
        (a - 2.0 * U * a.abs(), b + 2.0 * U * b.abs())
    }

    /// δ(ε) = Σ_s Q(s)(1 − e^{ε−s})₊, certified (docs/math.md §16.5).
    pub(super) fn delta(&self, epsilon: f64) -> Enclosure {
        let (mut lo, mut hi, mut mid) = (0.0, 0.0, 0.0);
        for (i, &m) in self.masses.iter().enumerate() {
            let (s_lo, s_hi) = self.loss(i);
            if s_hi <= epsilon {
                continue;
            }
            let w_hi = (-(epsilon - s_hi).exp_m1() * (1.0 + 4.0 * U)).min(1.0);
            hi += m * w_hi;
            if s_lo > epsilon {
                let w_lo = (-(epsilon - s_lo).exp_m1() * (1.0 - 4.0 * U)).max(0.0);
                lo += m * w_lo;
                mid += m * 0.5 * (w_lo + w_hi);
            }
        }
        let l = self.masses.len() as f64 + 2.0;
        let lower = ((lo - self.abs) / (1.0 + self.rel) * (1.0 - l * U)).max(0.0);
        let upper = ((hi + self.abs) / (1.0 - self.rel) * (1.0 + l * U) + self.dropped).min(1.0);
        Enclosure {
            lower,
            value: mid.clamp(lower, upper),
            upper,
        }
    }

    /// ε(δ) by bisection of the certified δ ends (δ(ε) is non-increasing): the upper end is an
    /// ε whose certified δ upper end is ≤ δ (or the largest loss of the full support, where δ is
    /// exactly 0), the lower end one whose certified δ lower end is > δ (or 0).
    pub(super) fn epsilon(&self, delta: f64) -> Enclosure {
        let top = self.full_max;
        let upper = if self.delta(0.0).upper <= delta {
            0.0
        } else if self.delta(top).upper > delta {
            // Only with a tail (its mass is carried at every ε): no certified upper end.
            f64::INFINITY
        } else {
            bisect(0.0, top, |e| self.delta(e).upper <= delta).1
        };
        let lower = if self.delta(0.0).lower <= delta {
            0.0
        } else {
            bisect(0.0, top, |e| self.delta(e).lower <= delta).0
        };
        Enclosure {
            lower,
            value: 0.5 * (lower + upper),
            upper: upper.max(lower),
        }
    }
}

/// Bisection of [a, b] for the boundary of `ok` (false at a, assumed true at b): the final
/// (a, b) with `ok` false at a (or a the start) and true at b (or b the end); 200 halvings.
fn bisect(mut a: f64, mut b: f64, ok: impl Fn(f64) -> bool) -> (f64, f64) {
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if m <= a || m >= b {
            break;
        }
        if ok(m) {
            b = m
        } else {
            a = m
        }
    }
    (a, b)
}
