//! Pairs of finite Gaussian mixtures with a common variance, docs/math.md §17.
//!
//! Every mechanism here is a pair (P, Q) of mixtures of unit-variance normal laws on the real
//! line (means in units of the noise σ): dp_accounting's mixture of Gaussians (P = N(0, 1),
//! Q = Σ p_i N(c_i/σ, 1)) and the replace-one Poisson-subsampled Gaussian
//! (P = (1 − q)N(0, 1) + qN(−1/σ, 1), Q = its mirror). The privacy loss
//! L(x) = ln q(x) − ln p(x) is non-decreasing in x whenever every mean of P lies at or below
//! every mean of Q (docs/math.md §17.1), which holds for both orderings after a reflection;
//! that monotonicity gives certified panel bounds on the moments (κ1..κ6), the RDP moments and
//! the PLD's CDF by inversion.

use super::intern;
use crate::cumulants::{
    add_powers, cumulants_from_moments, CertifiedCumulants, Cumulants, MAX_ORDER,
};
use crate::error::{Error, Result};
use crate::precision::{opposite, Interval, Precision};
use rayon::prelude::*;
use rug::float::Round;
use rug::ops::{DivAssignRound, MulAssignRound, SubAssignRound};
use rug::Float;

mod tilted;
pub(crate) use tilted::{symmetrised_tilted_moments, symmetrised_work};
pub use tilted::{Scale as TiltScale, TiltQuery, MAX_PANELS as MAX_TILTED_PANELS};

/// Most components of a `mixture-of-gaussians` (`--sensitivities`).
pub const MAX_COMPONENTS: usize = 16;

/// Panels of the certified moment enclosures in the core [min mean − 6, max mean + 6]
/// (docs/math.md §17.2).
const CERT_CORE_PANELS: usize = 1 << 15;

/// Panels of the certified moment enclosures in each outer stretch (6 to R beyond the means).
const CERT_OUTER_PANELS: usize = 1 << 10;

/// Working precision (bits) of the panel enclosures: their width is set by the panels (first
/// order in the panel width, ~1e−4 relative), far above this rounding, so a higher precision
/// would only cost time (MPFR's erfc slows down sharply with the precision).
const CERT_BITS: u32 = 96;

/// Half-width R (in noise units) beyond the extreme means where the certified moment panels
/// stop and the tail bound of docs/math.md §17.2 takes over.
const TAIL_R: f64 = 15.0;

/// One side of a pair: weights (summing to 1) and unit-variance means, distinct means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Side {
    n: usize,
    w: [f64; MAX_COMPONENTS],
    m: [f64; MAX_COMPONENTS],
}

impl Side {
    /// From (weight, mean) pairs: zero weights dropped, equal means merged, weights normalised
    /// by their sum.
    fn new(parts: &[(f64, f64)]) -> Side {
        let mut s = Side {
            n: 0,
            w: [0.0; MAX_COMPONENTS],
            m: [0.0; MAX_COMPONENTS],
        };
        let total: f64 = parts.iter().map(|p| p.0).sum();
        for &(w, m) in parts {
            if w <= 0.0 {
                continue;
            }
            if let Some(i) = (0..s.n).find(|&i| s.m[i] == m) {
                s.w[i] += w / total;
            } else {
                s.w[s.n] = w / total;
                s.m[s.n] = m;
                s.n += 1;
            }
        }
        s
    }

    fn comps(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        (0..self.n).map(|i| (self.w[i], self.m[i]))
    }

    /// The (weight, mean) components (the contour's transform, docs/math.md §17.9).
    pub fn components(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.comps()
    }

    fn reflected(&self) -> Side {
        let mut s = *self;
        for i in 0..s.n {
            s.m[i] = -s.m[i];
        }
        s
    }

    pub(crate) fn min_mean(&self) -> f64 {
        self.comps().map(|c| c.1).fold(f64::INFINITY, f64::min)
    }

    pub(crate) fn max_mean(&self) -> f64 {
        self.comps().map(|c| c.1).fold(f64::NEG_INFINITY, f64::max)
    }

    /// ln Σ w_i e^{m_i x − m_i²/2} (the density ratio to N(0, 1) at x), f64 log-sum-exp.
    fn ln_ratio(&self, x: f64) -> f64 {
        let top = self
            .comps()
            .map(|(w, m)| w.ln() + m * x - 0.5 * m * m)
            .fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = self
            .comps()
            .map(|(w, m)| (w.ln() + m * x - 0.5 * m * m - top).exp())
            .sum();
        top + s.ln()
    }

    /// Density Σ w_i φ(x − m_i).
    fn density(&self, x: f64) -> f64 {
        self.comps()
            .map(|(w, m)| w * crate::special::normal::pdf(x - m))
            .sum()
    }

    /// Mass of (a, b] (a few ulp relative).
    pub(crate) fn mass(&self, a: f64, b: f64) -> f64 {
        self.comps()
            .map(|(w, m)| w * crate::pld::loss::normal_mass(a - m, b - m))
            .sum()
    }

    /// ln of the mass of (a, b], also where it underflows.
    pub(crate) fn ln_mass(&self, a: f64, b: f64) -> f64 {
        self.comps()
            .map(|(w, m)| w.ln() + crate::pld::loss::ln_normal_mass(a - m, b - m))
            .fold(f64::NEG_INFINITY, ln_add)
    }

    /// (F, S) = (mass of (−∞, x], mass of (x, ∞)).
    pub(crate) fn cdf_sf(&self, x: f64) -> (f64, f64) {
        use crate::special::normal;
        self.comps().fold((0.0, 0.0), |(f, s), (w, m)| {
            (f + w * normal::cdf(x - m), s + w * normal::sf(x - m))
        })
    }

    /// A_s = M²/2 − ln max w with M = max |m|: |ln ratio(x)| ≤ M|x| + A_s (docs/math.md §17.2).
    fn reach(&self) -> (f64, f64) {
        let big = self.comps().map(|c| c.1.abs()).fold(0.0, f64::max);
        let wmax = self.comps().map(|c| c.0).fold(0.0, f64::max);
        (big, 0.5 * big * big - wmax.ln())
    }
}

/// One ordering of a Gaussian-mixture pair, reflected if needed so that its privacy loss
/// L(x) = ln q(x)/p(x) is non-decreasing in x (every mean of P ≤ every mean of Q).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixtureLaw {
    /// P (the law the loss is measured against).
    p: Side,
    /// Q.
    q: Side,
}

impl MixtureLaw {
    fn new(p: Side, q: Side) -> MixtureLaw {
        debug_assert!(p.max_mean() <= q.min_mean());
        MixtureLaw { p, q }
    }

    /// A pair whose loss need not be non-decreasing: only for the half-line integrals of the
    /// symmetrised fixed-size-batch pair (docs/math.md §17.13, the swapped unreflected pair
    /// (Q0, P0) on [c0, ∞)), whose plans bound each panel through the ranges of both sides'
    /// log-ratios and their tail lines, never through the order of the means. Every other use
    /// goes through [`MixtureLaw::new`], which checks the orientation.
    fn unoriented(p: Side, q: Side) -> MixtureLaw {
        MixtureLaw { p, q }
    }

    /// The swapped ordering, reflected x → −x to keep the loss non-decreasing.
    pub fn swapped(&self) -> MixtureLaw {
        MixtureLaw::new(self.q.reflected(), self.p.reflected())
    }

    /// P.
    pub fn p_side(&self) -> &Side {
        &self.p
    }

    /// Q.
    pub fn q_side(&self) -> &Side {
        &self.q
    }

    /// L(x) in f64.
    pub fn loss(&self, x: f64) -> f64 {
        self.q.ln_ratio(x) - self.p.ln_ratio(x)
    }

    /// An upper bound on dL/dx: max mean of Q − min mean of P (L' is a difference of two
    /// posterior means, docs/math.md §17.1).
    pub fn slope(&self) -> f64 {
        self.q.max_mean() - self.p.min_mean()
    }

    /// (inf L, sup L): the limits at ∓∞ (finite when the extreme means coincide).
    pub fn range(&self) -> (f64, f64) {
        let end = |pm: f64, qm: f64| {
            if pm == qm {
                let wq = self.q.comps().find(|c| c.1 == qm).map_or(0.0, |c| c.0);
                let wp = self.p.comps().find(|c| c.1 == pm).map_or(0.0, |c| c.0);
                Some(wq.ln() - wp.ln())
            } else {
                None
            }
        };
        (
            end(self.p.min_mean(), self.q.min_mean()).unwrap_or(f64::NEG_INFINITY),
            end(self.p.max_mean(), self.q.max_mean()).unwrap_or(f64::INFINITY),
        )
    }

    /// x(ℓ) with L(x) = ℓ to a relative 1e−15 in x, by safeguarded Newton steps inside a
    /// bracket (bisection where a step leaves it); −∞ when ℓ ≤ inf L, +∞ when ℓ ≥ sup L.
    pub fn x_of(&self, l: f64) -> f64 {
        let (lo_l, hi_l) = self.range();
        if l.is_nan() || l <= lo_l {
            return f64::NEG_INFINITY;
        }
        if l >= hi_l {
            return f64::INFINITY;
        }
        let (mut a, mut b) = (-1.0f64, 1.0f64);
        let mut guard = 0;
        while self.loss(a) > l && guard < 2000 {
            a *= 2.0;
            guard += 1;
        }
        while self.loss(b) <= l && guard < 4000 {
            b *= 2.0;
            guard += 1;
        }
        self.refine(l, a, b, 0.5 * (a + b))
    }

    /// x(ℓ) as [`MixtureLaw::x_of`] (the same stopping rule, so the same accuracy), warm-started
    /// from x0 = x(ℓ0) for some ℓ0 ≤ ℓ: the discretisation of a loss law evaluates x(ℓ) at
    /// increasing grid boundaries, and a bracket [x0, x0 + s] found from one Newton step at x0
    /// needs a few steps instead of the cold bracket's dozens. Falls back to the cold start
    /// where x0 is not a valid lower end (L(x0) > ℓ, or x0 not finite). Deterministic: the
    /// result depends only on (ℓ, x0).
    pub fn x_of_from(&self, l: f64, x0: f64) -> f64 {
        let (lo_l, hi_l) = self.range();
        if l.is_nan() || l <= lo_l {
            return f64::NEG_INFINITY;
        }
        if l >= hi_l {
            return f64::INFINITY;
        }
        if !x0.is_finite() {
            return self.x_of(l);
        }
        let (l0, d) = self.loss_and_slope(x0);
        if l0 > l {
            return self.x_of(l);
        }
        let floor = 1e-12 * (1.0 + x0.abs());
        let newton = if d > 0.0 { (l - l0) / d } else { f64::NAN };
        let mut step = if newton.is_finite() {
            (2.0 * newton).max(floor)
        } else {
            1.0
        };
        let mut b = x0 + step;
        let mut guard = 0;
        while self.loss(b) <= l {
            guard += 1;
            if guard > 2000 || !b.is_finite() {
                return self.x_of(l);
            }
            step *= 2.0;
            b = x0 + step;
        }
        let start = x0 + newton;
        let start = if start > x0 && start < b {
            start
        } else {
            0.5 * (x0 + b)
        };
        self.refine(l, x0, b, start)
    }

    /// Safeguarded Newton for L(x) = ℓ inside a bracket [a, b] with L(a) ≤ ℓ < L(b), from x,
    /// to a relative 1e−15 in x.
    fn refine(&self, l: f64, mut a: f64, mut b: f64, mut x: f64) -> f64 {
        for _ in 0..200 {
            let (lx, d) = self.loss_and_slope(x);
            if lx <= l {
                a = x;
            } else {
                b = x;
            }
            if b - a <= 1e-15 * (1.0 + a.abs().max(b.abs())) {
                break;
            }
            let newton = x - (lx - l) / d;
            let next = if d > 0.0 && newton > a && newton < b {
                newton
            } else {
                0.5 * (a + b)
            };
            if (next - x).abs() <= 1e-15 * (1.0 + x.abs()) {
                x = next;
                break;
            }
            x = next;
        }
        x
    }

    /// (L(x), L'(x)) with L' the difference of the posterior means (docs/math.md §17.1).
    fn loss_and_slope(&self, x: f64) -> (f64, f64) {
        let side = |s: &Side| {
            let top = s
                .comps()
                .map(|(w, m)| w.ln() + m * x - 0.5 * m * m)
                .fold(f64::NEG_INFINITY, f64::max);
            let (mut sum, mut mean) = (0.0, 0.0);
            for (w, m) in s.comps() {
                let e = (w.ln() + m * x - 0.5 * m * m - top).exp();
                sum += e;
                mean += e * m;
            }
            (top + sum.ln(), mean / sum)
        };
        let ((lq, mq), (lp, mp)) = (side(&self.q), side(&self.p));
        (lq - lp, mq - mp)
    }

    /// Extreme means (min over both sides, max over both sides).
    fn mean_span(&self) -> (f64, f64) {
        (
            self.p.min_mean().min(self.q.min_mean()),
            self.p.max_mean().max(self.q.max_mean()),
        )
    }

    /// f64 cumulants κ1..κ6 under P and under Q (trapezoid on a fine grid; an estimate).
    pub fn cumulants_f64(&self) -> Cumulants {
        let (lo, hi) = self.mean_span();
        // Strip of analyticity of L: the mixture sums may vanish at |Im x| ≈ π/spread.
        let spread = (hi - lo).max(1e-3);
        let h = (0.02f64).min(0.1 * std::f64::consts::PI / spread);
        let (a, b) = (lo - 40.0, hi + 40.0);
        let n = ((b - a) / h).ceil().min(4e6) as usize;
        let h = (b - a) / n as f64;
        let xs: Vec<(f64, f64, f64, f64)> = (0..=n)
            .map(|i| {
                let x = a + i as f64 * h;
                (x, self.loss(x), self.p.density(x), self.q.density(x))
            })
            .collect();
        let mean = |side: usize| {
            xs.iter()
                .map(|t| t.1 * if side == 0 { t.2 } else { t.3 })
                .sum::<f64>()
                * h
        };
        let (mp, mq) = (mean(0), mean(1));
        let mut c = Cumulants::ZERO;
        for (side, center) in [(0usize, mp), (1, mq)] {
            let mut m = vec![0.0; MAX_ORDER + 1];
            for t in &xs {
                let d = t.1 - center;
                let w = if side == 0 { t.2 } else { t.3 } * h;
                add_powers(&mut m, d, w);
            }
            m[1] = 0.0;
            c.set_from_moments(side, &m, center);
        }
        c
    }

    /// Certified κ1..κ6 under P and Q: panel enclosures of E[(L − c)^k] on
    /// [min mean − R, max mean + R] (L monotone, so its range on a panel is its end values;
    /// panel masses by MPFR erfc) plus the tail bound of docs/math.md §17.2.
    ///
    /// # Errors
    /// [`Error::PrecisionExhausted`] if an enclosure is not finite.
    pub fn certified_cumulants(&self, precision: Precision) -> Result<CertifiedCumulants> {
        let est = self.cumulants_f64();
        let centers = [est.p[0], est.q[0]];
        if !centers.iter().all(|c| c.is_finite()) {
            return Err(Error::Internal(format!(
                "the f64 mean of the mixture pair {self:?} is not finite"
            )));
        }
        let wp = Precision(CERT_BITS);
        let (lo, hi) = self.mean_span();
        let (x0, x1) = (lo - TAIL_R, hi + TAIL_R);
        // Nodes: the f64 values below, taken as exact binary numbers (the panels need only cover
        // [x0, x1] without gaps, not be equal); fine in the core, coarse outside.
        let mut nodes = Vec::with_capacity(CERT_CORE_PANELS + 2 * CERT_OUTER_PANELS + 1);
        for (a, b, k) in [
            (x0, lo - 6.0, CERT_OUTER_PANELS),
            (lo - 6.0, hi + 6.0, CERT_CORE_PANELS),
            (hi + 6.0, x1, CERT_OUTER_PANELS),
        ] {
            let h = (b - a) / k as f64;
            nodes.extend((0..k).map(|i| a + i as f64 * h));
        }
        nodes.push(x1);
        let n = nodes.len() - 1;
        let kmax = MAX_ORDER;
        let evals: Vec<(Interval, [Interval; 2])> = nodes
            .par_iter()
            .map(|&xf| {
                let x = Float::with_val(wp.bits(), xf);
                (
                    self.loss_iv(&x, wp),
                    [cdf_iv(&self.p, &x, wp), cdf_iv(&self.q, &x, wp)],
                )
            })
            .collect();
        let zero = Interval::zero(wp);
        let mut out: [Vec<Interval>; 2] = [vec![zero.clone(); kmax + 1], vec![zero; kmax + 1]];
        for side in 0..2 {
            let c = Interval::from_f64(wp, centers[side]);
            let parts: Vec<Vec<Interval>> = (0..n)
                .collect::<Vec<_>>()
                .par_chunks(n / 64)
                .map(|idx| {
                    let mut sum = vec![Interval::zero(wp); kmax + 1];
                    for &i in idx {
                        let (l0, f0) = (&evals[i].0, &evals[i].1[side]);
                        let (l1, f1) = (&evals[i + 1].0, &evals[i + 1].1[side]);
                        let d = Interval::new(l0.lo.clone(), l1.hi.clone()).sub(&c);
                        let mass = nonneg(&f1.sub(f0));
                        let mut pw = mass.clone();
                        for slot in sum.iter_mut().skip(1) {
                            pw = pw.mul(&d);
                            slot.add_assign(&pw);
                        }
                    }
                    sum
                })
                .collect();
            for part in parts {
                for (slot, v) in out[side].iter_mut().zip(&part) {
                    slot.add_assign(v);
                }
            }
            for (k, slot) in out[side].iter_mut().enumerate().skip(1) {
                let t = self.ln_tail_bound(k as u32, centers[side], side);
                let mut e = Float::with_val(wp.bits(), t);
                e.exp_round(Round::Up);
                *slot = slot.widen(&e);
            }
        }
        let bad = out
            .iter()
            .flatten()
            .any(|v| !v.lo.is_finite() || !v.hi.is_finite());
        if bad {
            return Err(Error::PrecisionExhausted {
                what: format!("certified moments of the mixture pair {self:?}"),
                bits: precision.bits(),
            });
        }
        let p = cumulants_from_moments(&out[0], centers[0], kmax)?;
        let q = cumulants_from_moments(&out[1], centers[1], kmax)?;
        Ok(CertifiedCumulants { p, q, precision })
    }

    /// An enclosure of L(x) at an exact x (MPFR, directed rounding).
    fn loss_iv(&self, x: &Float, wp: Precision) -> Interval {
        ln_ratio_iv(&self.q, x, wp).sub(&ln_ratio_iv(&self.p, x, wp))
    }

    /// ln of a bound on ∫_{x ∉ [x0, x1]} |L − c|^k d(side), k ≥ 1 (docs/math.md §17.2):
    /// 4·(C/R + B)^k·R^{k−1}·φ(R) with B = M_P + M_Q, C = A_P + A_Q + |c| + B·max|mean|,
    /// inflated by 1e−6 relative for its own f64 rounding.
    fn ln_tail_bound(&self, k: u32, c: f64, _side: usize) -> f64 {
        let (mp, ap) = self.p.reach();
        let (mq, aq) = self.q.reach();
        let b = mp + mq;
        let big = mp.max(mq);
        let cc = ap + aq + c.abs() + b * big;
        let r = TAIL_R;
        let k = f64::from(k);
        let v = 4f64.ln()
            + k * (cc / r + b).ln()
            + (k - 1.0) * r.ln()
            + crate::special::normal::ln_pdf(r);
        v + 1e-6 * (1.0 + v.abs())
    }

    /// An upper bound on ln E_P[e^{λL}] for λ ≥ 0 (docs/math.md §17.3): panels on which
    /// e^{λL} is bounded by its right end value (L non-decreasing), P-masses of the panels, the
    /// left tail bounded by e^{λL(x0)}·P(x < x0), the right tail through the slope bound
    /// L(x) ≤ L(x1) + S(x − x1); inflated by 1e−9 relative for the f64 rounding.
    pub fn ln_moment_upper(&self, lambda: f64) -> f64 {
        let lambda = lambda.max(0.0);
        let (lo, hi) = self.mean_span();
        let s = self.slope();
        let r = 12.0;
        let x0 = lo - r;
        let x1 = hi + r + lambda * s;
        // Each panel over-counts by at most a factor e^{λS·h}: h·λS ≤ 0.005 where affordable.
        let n = ((x1 - x0) * (1.0 + lambda * s) / 0.005)
            .ceil()
            .clamp(2048.0, 32_768.0) as usize;
        let h = (x1 - x0) / n as f64;
        let node = |i: usize| if i == n { x1 } else { x0 + i as f64 * h };
        let head = lambda * self.loss(x0) + self.p.ln_mass(f64::NEG_INFINITY, x0);
        // Terms in parallel, summed in index order: the same bits on every run and thread
        // count (a parallel reduce would associate the sum as the work was split).
        let terms: Vec<f64> = (1..=n)
            .into_par_iter()
            .map(|i| self.p.ln_mass(node(i - 1), node(i)) + lambda * self.loss(node(i)))
            .collect();
        let mut acc = terms.into_iter().fold(f64::NEG_INFINITY, ln_add);
        acc = ln_add(acc, head);
        // Right tail: Σ_i w_i e^{λ(L(x1) − S x1)} ∫_{x1}^∞ e^{λSx} φ(x − m_i) dx
        //   = Σ_i w_i e^{λL(x1) + λS(m_i − x1) + λ²S²/2} Φ̄(x1 − m_i − λS).
        let l1 = self.loss(x1);
        for (w, m) in self.p.comps() {
            let ls = lambda * s;
            let t = w.ln()
                + lambda * l1
                + ls * (m - x1)
                + 0.5 * ls * ls
                + crate::special::normal::ln_sf(x1 - m - ls);
            acc = ln_add(acc, t);
        }
        acc + 1e-9 * (1.0 + acc.abs())
    }

    /// A lower bound on ln E_P[e^{λL}] for λ ≥ 0, about 16 times cheaper than
    /// [`MixtureLaw::ln_moment_upper`] (docs/math.md §17.3): the same panels on [x0, x1] but at
    /// most 2048 of them, e^{λL} bounded below by its left-end value (L non-decreasing), the
    /// tails left out (they are ≥ 0); deflated by 1e−9 relative for the f64 rounding. It lets
    /// the RDP accountant skip the orders that cannot attain its minimum.
    pub fn ln_moment_lower(&self, lambda: f64) -> f64 {
        self.ln_moment_lower_many(&[lambda])[0]
    }

    /// [`MixtureLaw::ln_moment_lower`] at each λ of `lambdas`, the orders sharing panels: the
    /// λ are grouped from the largest down, each group spanning a ratio of at most
    /// [`LOWER_GROUP_RATIO`], and every λ of a group uses the panels laid out for the group's
    /// largest λ. Any panels on any [x0, x1] give a lower bound (left-end values of the
    /// non-decreasing e^{λL} on each panel, the tails left out), and those of a larger λ reach
    /// farther with panels no wider relative to 1/(λS); so each value is a valid lower bound,
    /// and the P-masses and losses of a group's panels are computed once for all its λ.
    pub fn ln_moment_lower_many(&self, lambdas: &[f64]) -> Vec<f64> {
        let lambdas: Vec<f64> = lambdas.iter().map(|l| l.max(0.0)).collect();
        let mut idx: Vec<usize> = (0..lambdas.len()).collect();
        idx.sort_by(|&a, &b| lambdas[b].total_cmp(&lambdas[a]));
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for i in idx {
            match groups.last_mut() {
                Some(g) if lambdas[g[0]] <= LOWER_GROUP_RATIO * lambdas[i] => g.push(i),
                _ => groups.push(vec![i]),
            }
        }
        let mut out = vec![f64::NAN; lambdas.len()];
        for g in groups {
            let panels = self.lower_panels(lambdas[g[0]]);
            for i in g {
                let lambda = lambdas[i];
                let acc = panels
                    .iter()
                    .map(|&(ln_mass, loss)| ln_mass + lambda * loss)
                    .fold(f64::NEG_INFINITY, ln_add);
                out[i] = acc - 1e-9 * (1.0 + acc.abs());
            }
        }
        out
    }

    /// The panels of [`MixtureLaw::ln_moment_lower`] laid out for `lambda`: (ln P-mass, L at the
    /// left end) of each, in index order (computed in parallel, the same bits on every run).
    fn lower_panels(&self, lambda: f64) -> Vec<(f64, f64)> {
        let (lo, hi) = self.mean_span();
        let s = self.slope();
        let x0 = lo - 12.0;
        let x1 = hi + 12.0 + lambda * s;
        // Each panel under-counts by at most a factor e^{−λS·h}: h·λS ≤ 0.05 where affordable.
        let n = ((x1 - x0) * (1.0 + lambda * s) / 0.05)
            .ceil()
            .clamp(256.0, 2048.0) as usize;
        let h = (x1 - x0) / n as f64;
        let node = |i: usize| if i == n { x1 } else { x0 + i as f64 * h };
        (1..=n)
            .into_par_iter()
            .map(|i| (self.p.ln_mass(node(i - 1), node(i)), self.loss(node(i - 1))))
            .collect()
    }

    /// RDP of order α > 1 of this ordering and its swap: max(D_α(Q‖P), D_α(P‖Q)), upper bounds.
    pub fn rdp(&self, alpha: f64) -> f64 {
        let fwd = self.ln_moment_upper(alpha);
        let back = self.swapped().ln_moment_upper(alpha);
        fwd.max(back).max(0.0) / (alpha - 1.0)
    }

    /// A lower bound on [`MixtureLaw::rdp`] (the exact max(D_α(Q‖P), D_α(P‖Q)) is above it),
    /// from [`MixtureLaw::ln_moment_lower`].
    pub fn rdp_lower(&self, alpha: f64) -> f64 {
        self.rdp_lower_many(&[alpha])[0]
    }

    /// [`MixtureLaw::rdp_lower`] at each order of `alphas` (shared panels,
    /// [`MixtureLaw::ln_moment_lower_many`]).
    pub fn rdp_lower_many(&self, alphas: &[f64]) -> Vec<f64> {
        let fwd = self.ln_moment_lower_many(alphas);
        let back = self.swapped().ln_moment_lower_many(alphas);
        alphas
            .iter()
            .zip(fwd.iter().zip(&back))
            .map(|(&a, (&f, &b))| f.max(b).max(0.0) / (a - 1.0))
            .collect()
    }

    /// [`MixtureLaw::rdp`] of a pair whose swap is itself (the replace-one Poisson pair, whose
    /// swapped and reflected sides are the same components): one ordering's moment.
    fn rdp_symmetric(&self, alpha: f64) -> f64 {
        self.ln_moment_upper(alpha).max(0.0) / (alpha - 1.0)
    }

    /// [`MixtureLaw::rdp_lower`] of a pair whose swap is itself, at each order of `alphas`.
    fn rdp_lower_symmetric_many(&self, alphas: &[f64]) -> Vec<f64> {
        alphas
            .iter()
            .zip(self.ln_moment_lower_many(alphas))
            .map(|(&a, l)| l.max(0.0) / (a - 1.0))
            .collect()
    }
}

/// An enclosure of ln Σ w_i e^{m_i x − m_i²/2} (weights and means as exact f64).
fn ln_ratio_iv(s: &Side, x: &Float, wp: Precision) -> Interval {
    let mut acc = Interval::zero(wp);
    for (w, m) in s.comps() {
        let mf = Interval::from_f64(wp, m);
        let xm = mf.mul(&Interval::point(x.clone()));
        let half_m2 = mf.mul(&mf).scale_nonneg(&Float::with_val(8, 0.5));
        let e = xm.sub(&half_m2).exp();
        acc.add_assign(&e.scale_nonneg(&Float::with_val(64, w)));
    }
    acc.ln()
}

/// The orders of one group of [`MixtureLaw::ln_moment_lower_many`] span at most this ratio.
pub const LOWER_GROUP_RATIO: f64 = 1.25;

/// |x − m| from which [`cdf_iv`] takes Φ(x − m) = Φ̄(m − x) from the Mills ratio's continued
/// fraction ([`crate::special::normal::phi_bar`]) instead of MPFR's erfc: at 96 bits erfc is the
/// faster of the two below about there and far slower beyond (it goes through erf with the
/// extra precision the tiny result needs). Measured (CPU seconds of `ewtune cumulants` for three
/// mixtures, σ = 0.116, 0.3, 1): erfc only 28.8, 17.4, 11.0; from 5: 11.5, 14.0, 17.7; from 10:
/// 7.7, 9.2, 8.9; from 15: 9.6, 10.8, 9.7; from 20: 19.8, 12.1, 10.0.
const CDF_MILLS_FROM: f64 = 10.0;

/// An enclosure of Σ w_i Φ(x − m_i) at an exact x, Φ(z) = erfc(−z/√2)/2 with directed
/// rounding (Φ is increasing, erfc decreasing); Φ̄(m − x) by the Mills ratio from
/// |x − m| = [`CDF_MILLS_FROM`] on.
fn cdf_iv(s: &Side, x: &Float, wp: Precision) -> Interval {
    let xf = x.to_f64();
    let bits = wp.bits();
    let mut acc = Interval::zero(wp);
    let mut r2_down = Float::with_val(bits, 2);
    r2_down.sqrt_round(Round::Down);
    let mut r2_up = Float::with_val(bits, 2);
    r2_up.sqrt_round(Round::Up);
    // Φ(x − m) with x − m rounded `dir`, t = (m − x)/√2 rounded the opposite way, erfc
    // rounded `dir` again: a lower (Down) or upper (Up) bound.
    let phi = |m: f64, dir: Round| {
        let anti = opposite(dir);
        let mut u = Float::with_val(bits, m);
        u.sub_assign_round(x, anti);
        // u/√2 rounded `anti`: a divisor that moves the quotient in that direction.
        let larger = (anti == Round::Up) == u.is_sign_negative();
        u.div_assign_round(if larger { &r2_up } else { &r2_down }, anti);
        u.erfc_round(dir);
        u.mul_assign_round(Float::with_val(8, 0.5), dir);
        u
    };
    for (w, m) in s.comps() {
        let v = if (m - xf).abs() >= CDF_MILLS_FROM {
            let u = Interval::from_f64(wp, m).sub(&Interval::point(x.clone()));
            crate::special::normal::phi_bar(&u)
        } else {
            Interval::new(phi(m, Round::Down), phi(m, Round::Up))
        };
        acc.add_assign(&v.scale_nonneg(&Float::with_val(64, w)));
    }
    acc
}

/// The interval with its lower end raised to 0 (a mass is non-negative).
fn nonneg(v: &Interval) -> Interval {
    if v.lo.is_sign_negative() {
        let z = Float::new(v.lo.prec());
        Interval::new(z, v.hi.clone().max(&Float::new(v.lo.prec())))
    } else {
        v.clone()
    }
}

fn ln_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// The Gaussian-mixture mechanisms (one Rust type for every pair of docs/math.md §17).
// The mixture's lists are stored inline (a few hundred bytes) so that the type, like every
// mechanism, is `Copy`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GaussianMixture {
    /// dp_accounting's `MixtureOfGaussiansDpEvent`: N(0, σ²) against Σ p_i N(c_i, σ²)
    /// (add/remove, both orderings).
    MixtureOfGaussians {
        /// σ.
        sigma: f64,
        /// Number of components.
        len: usize,
        /// c_i ≥ 0.
        sensitivities: [f64; MAX_COMPONENTS],
        /// p_i ≥ 0, Σ p_i = 1.
        probabilities: [f64; MAX_COMPONENTS],
    },
    /// Poisson-subsampled Gaussian under replace-one: (1 − q)N(0, σ²) + qN(−1, σ²) against
    /// (1 − q)N(0, σ²) + qN(1, σ²) (symmetric).
    ReplaceOnePoisson {
        /// σ.
        sigma: f64,
        /// q ∈ (0, 1).
        sampling_rate: f64,
    },
    /// Fixed-size batches without replacement under replace-one (docs/math.md §17.6–§17.7):
    /// accounted by the symmetrised pair built from the Poisson-subsampled Gaussian at σ/2
    /// and γ = b/n (symmetric).
    WithoutReplacement(super::without_replacement::WithoutReplacement),
}

/// A [`GaussianMixture`] with its component lists as slices ([`GaussianMixture::view`]).
/// Serialises as its parameters with the pair's name in `pair`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "pair", rename_all = "kebab-case")]
pub enum View<'a> {
    /// N(0, σ²) against Σ p_i N(c_i, σ²).
    MixtureOfGaussians {
        /// σ.
        sigma: f64,
        /// c_i.
        sensitivities: &'a [f64],
        /// p_i.
        probabilities: &'a [f64],
    },
    /// The replace-one Poisson-subsampled Gaussian.
    ReplaceOnePoisson {
        /// σ.
        sigma: f64,
        /// q.
        sampling_rate: f64,
    },
    /// Fixed-size batches without replacement (replace-one).
    WithoutReplacement(super::without_replacement::WithoutReplacement),
}

impl serde::Serialize for GaussianMixture {
    /// The parameters of [`GaussianMixture::view`], tagged with the pair's name (`pair`).
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&self.view(), s)
    }
}

impl GaussianMixture {
    /// The mixture of Gaussians N(0, σ²) vs Σ p_i N(c_i, σ²).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `sigma` (finite, > 0), `sensitivities` (finite,
    /// ≥ 0, at least one > 0 with p > 0, at most [`MAX_COMPONENTS`], same length as
    /// `probabilities`) or `probabilities` (≥ 0, summing to 1 within 1e−12).
    pub fn mixture_of_gaussians(
        sigma: f64,
        sensitivities: &[f64],
        probabilities: &[f64],
    ) -> Result<Self> {
        crate::error::Range::above(0.0).check("sigma", sigma)?;
        let list = |v: &[f64]| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        if sensitivities.is_empty() || sensitivities.len() > MAX_COMPONENTS {
            return Err(Error::invalid(
                "sensitivities",
                list(sensitivities),
                format!("must list 1 to {MAX_COMPONENTS} values"),
            ));
        }
        if probabilities.len() != sensitivities.len() {
            return Err(Error::invalid(
                "probabilities",
                list(probabilities),
                format!(
                    "must list as many values as sensitivities ({})",
                    sensitivities.len()
                ),
            ));
        }
        if let Some(c) = sensitivities
            .iter()
            .find(|c| !(c.is_finite() && **c >= 0.0))
        {
            return Err(Error::invalid(
                "sensitivities",
                c,
                "each must be finite and >= 0 (as in dp_accounting)",
            ));
        }
        if let Some(p) = probabilities
            .iter()
            .find(|p| !(p.is_finite() && **p >= 0.0 && **p <= 1.0))
        {
            return Err(Error::invalid(
                "probabilities",
                p,
                "each must lie in [0, 1]",
            ));
        }
        let total: f64 = probabilities.iter().sum();
        if (total - 1.0).abs() > 1e-12 {
            return Err(Error::invalid(
                "probabilities",
                list(probabilities),
                format!("must sum to 1 within 1e-12 (they sum to {total})"),
            ));
        }
        if !sensitivities
            .iter()
            .zip(probabilities)
            .any(|(c, p)| *c > 0.0 && *p > 0.0)
        {
            return Err(Error::invalid(
                "sensitivities",
                list(sensitivities),
                "need at least one value > 0 with a probability > 0",
            ));
        }
        let mut c = [0.0; MAX_COMPONENTS];
        let mut p = [0.0; MAX_COMPONENTS];
        c[..sensitivities.len()].copy_from_slice(sensitivities);
        p[..probabilities.len()].copy_from_slice(probabilities);
        Ok(GaussianMixture::MixtureOfGaussians {
            sigma,
            len: sensitivities.len(),
            sensitivities: c,
            probabilities: p,
        })
    }

    /// The Poisson-subsampled Gaussian under replace-one adjacency.
    ///
    /// # Errors
    /// `sigma` finite and > 0, `sampling_rate` in (0, 1) (q = 1 is the Gaussian at σ/2).
    pub fn replace_one_poisson(sigma: f64, sampling_rate: f64) -> Result<Self> {
        crate::error::Range::above(0.0).check("sigma", sigma)?;
        crate::error::Range::open(0.0, 1.0).check("sampling_rate", sampling_rate)?;
        Ok(GaussianMixture::ReplaceOnePoisson {
            sigma,
            sampling_rate,
        })
    }

    /// σ.
    pub fn sigma(&self) -> f64 {
        match *self {
            GaussianMixture::MixtureOfGaussians { sigma, .. }
            | GaussianMixture::ReplaceOnePoisson { sigma, .. } => sigma,
            GaussianMixture::WithoutReplacement(w) => w.sigma(),
        }
    }

    /// The pair with the component lists as slices.
    pub fn view(&self) -> View<'_> {
        match self {
            GaussianMixture::MixtureOfGaussians {
                sigma,
                len,
                sensitivities,
                probabilities,
            } => View::MixtureOfGaussians {
                sigma: *sigma,
                sensitivities: &sensitivities[..*len],
                probabilities: &probabilities[..*len],
            },
            GaussianMixture::ReplaceOnePoisson {
                sigma,
                sampling_rate,
            } => View::ReplaceOnePoisson {
                sigma: *sigma,
                sampling_rate: *sampling_rate,
            },
            GaussianMixture::WithoutReplacement(w) => View::WithoutReplacement(*w),
        }
    }

    /// (σ, sensitivities, probabilities) of a mixture of Gaussians, `None` for the others.
    pub fn lists(&self) -> Option<(f64, &[f64], &[f64])> {
        match self.view() {
            View::MixtureOfGaussians {
                sigma,
                sensitivities,
                probabilities,
            } => Some((sigma, sensitivities, probabilities)),
            View::ReplaceOnePoisson { .. } | View::WithoutReplacement(_) => None,
        }
    }

    /// A short description.
    pub fn describe(&self) -> String {
        match self.view() {
            View::MixtureOfGaussians {
                sigma,
                sensitivities: c,
                probabilities: p,
            } => format!(
                "mixture-of-gaussians(sigma={sigma}, sensitivities={c:?}, probabilities={p:?})"
            ),
            View::ReplaceOnePoisson {
                sigma,
                sampling_rate,
            } => format!(
                "subsampled-gaussian(sigma={sigma}, sampling_rate={sampling_rate}, adjacency=replace-one)"
            ),
            View::WithoutReplacement(w) => w.describe(),
        }
    }

    /// The remove ordering's pair (P, Q), with a non-decreasing loss. For fixed-size batches
    /// this is the remove ordering of the Poisson-subsampled Gaussian at σ/2 and γ = b/n, from
    /// which the symmetrised pair is built (docs/math.md §17.7); that pair is what is accounted
    /// for ([`GaussianMixture::loss_law`], [`GaussianMixture::rdp`]), not this one.
    pub fn law(&self) -> MixtureLaw {
        match self.view() {
            View::MixtureOfGaussians {
                sigma,
                sensitivities: c,
                probabilities: p,
            } => {
                let q: Vec<(f64, f64)> = p.iter().zip(c).map(|(p, c)| (*p, c / sigma)).collect();
                MixtureLaw::new(Side::new(&[(1.0, 0.0)]), Side::new(&q))
            }
            View::ReplaceOnePoisson {
                sigma,
                sampling_rate,
            } => {
                let (q, mu) = (sampling_rate, 1.0 / sigma);
                MixtureLaw::new(
                    Side::new(&[(1.0 - q, 0.0), (q, -mu)]),
                    Side::new(&[(1.0 - q, 0.0), (q, mu)]),
                )
            }
            View::WithoutReplacement(w) => {
                let (q, mu) = (w.sampling_rate(), w.mu());
                MixtureLaw::new(
                    Side::new(&[(1.0, 0.0)]),
                    Side::new(&[(1.0 - q, 0.0), (q, mu)]),
                )
            }
        }
    }

    /// The PLD law of one ordering (docs/math.md §17.4; fixed-size batches: the symmetrised
    /// law of §17.7, the same for both orderings).
    pub fn loss_law(&self, direction: super::Direction) -> crate::pld::loss::LossLaw {
        match self {
            GaussianMixture::WithoutReplacement(w) => w.loss_law(),
            _ => crate::pld::loss::LossLaw::Mixture(self.law_for(direction)),
        }
    }

    /// f64 cumulants κ1..κ6 of the remove ordering (an estimate).
    pub fn cumulants_f64(&self) -> Cumulants {
        match self {
            GaussianMixture::WithoutReplacement(w) => w.cumulants_f64(),
            _ => self.law().cumulants_f64(),
        }
    }

    /// Certified κ1..κ6 of the remove ordering (fixed-size batches: of the symmetrised pair,
    /// [`WithoutReplacement::certified_cumulants`](super::without_replacement::WithoutReplacement::certified_cumulants)).
    ///
    /// # Errors
    /// As [`MixtureLaw::certified_cumulants`] or the symmetrised pair's.
    pub fn certified_cumulants(&self, precision: Precision) -> Result<CertifiedCumulants> {
        match self {
            GaussianMixture::WithoutReplacement(w) => w.certified_cumulants(precision),
            _ => self.law().certified_cumulants(precision),
        }
    }

    /// The law of one ordering (the add ordering is the swapped, reflected pair).
    pub fn law_for(&self, direction: super::Direction) -> MixtureLaw {
        match direction {
            super::Direction::Remove => self.law(),
            super::Direction::Add => self.law().swapped(),
        }
    }

    /// Whether both orderings have the same loss law.
    pub fn is_symmetric(&self) -> bool {
        matches!(
            self,
            GaussianMixture::ReplaceOnePoisson { .. } | GaussianMixture::WithoutReplacement(_)
        )
    }

    /// RDP of order α > 1 covering both orderings (fixed-size batches: of the symmetrised
    /// pair, docs/math.md §17.7).
    pub fn rdp(&self, alpha: f64) -> f64 {
        match self {
            GaussianMixture::WithoutReplacement(w) => w.rdp(alpha),
            GaussianMixture::ReplaceOnePoisson { .. } => self.law().rdp_symmetric(alpha),
            GaussianMixture::MixtureOfGaussians { .. } => self.law().rdp(alpha),
        }
    }

    /// A lower bound on [`GaussianMixture::rdp`] at a fraction of its cost (None for fixed-size
    /// batches, whose RDP has no such bound here): the RDP accountant skips the orders whose
    /// lower bound already loses (docs/math.md §17.3).
    pub fn rdp_lower(&self, alpha: f64) -> Option<f64> {
        self.rdp_lower_many(&[alpha]).map(|v| v[0])
    }

    /// [`GaussianMixture::rdp_lower`] at each order of `alphas`, the orders sharing panels
    /// ([`MixtureLaw::ln_moment_lower_many`]): a few panel sums for a whole list of orders.
    pub fn rdp_lower_many(&self, alphas: &[f64]) -> Option<Vec<f64>> {
        match self {
            GaussianMixture::WithoutReplacement(_) => None,
            GaussianMixture::ReplaceOnePoisson { .. } => {
                Some(self.law().rdp_lower_symmetric_many(alphas))
            }
            GaussianMixture::MixtureOfGaussians { .. } => Some(self.law().rdp_lower_many(alphas)),
        }
    }

    /// The same mechanism with noise multiplier `sigma` (for calibration).
    ///
    /// # Errors
    /// `sigma` not finite and > 0.
    pub fn with_sigma(&self, sigma: f64) -> Result<Self> {
        match self.view() {
            View::MixtureOfGaussians {
                sensitivities,
                probabilities,
                ..
            } => Self::mixture_of_gaussians(sigma, sensitivities, probabilities),
            View::ReplaceOnePoisson { sampling_rate, .. } => {
                Self::replace_one_poisson(sigma, sampling_rate)
            }
            View::WithoutReplacement(w) => {
                Ok(GaussianMixture::WithoutReplacement(w.with_sigma(sigma)?))
            }
        }
    }

    /// The cumulant-cache key: tag 8 for replace-one (σ, q bits), tag 9 for fixed-size batches
    /// (σ bits, (b, n) interned), tag 7 for a mixture of Gaussians with its parameters interned
    /// (an exact, collision-free index). Tag 10 is truncated Poisson's.
    pub(crate) fn key(&self) -> (u8, u64, u64) {
        match self {
            GaussianMixture::ReplaceOnePoisson {
                sigma,
                sampling_rate,
            } => (8, sigma.to_bits(), sampling_rate.to_bits()),
            GaussianMixture::WithoutReplacement(w) => (
                9,
                w.sigma().to_bits(),
                intern(vec![w.batch_size(), w.dataset_size()]),
            ),
            GaussianMixture::MixtureOfGaussians { .. } => {
                let (sigma, c, p) = self.lists().expect("invariant: a mixture of Gaussians");
                let mut bits = vec![sigma.to_bits()];
                bits.extend(c.iter().chain(p).map(|v| v.to_bits()));
                (7, intern(bits), 0)
            }
        }
    }
}

/// Refuse a composition holding a Gaussian-mixture pair in an accountant that needs a Gaussian
/// limit (gdp): not implemented for these pairs.
///
/// # Errors
/// [`Error::UnsupportedEvent`] naming the accountant, the mechanism and the accountants that do
/// support it.
pub fn refuse_in(accountant: &'static str, added: &crate::event::Composition) -> Result<()> {
    for (m, _) in &added.parts {
        if let super::Mechanism::GaussianMixture(g) = m {
            if let GaussianMixture::WithoutReplacement(_) = g {
                return super::without_replacement::refuse_in(accountant, added);
            }
            return Err(Error::UnsupportedEvent {
                accountant,
                event: g.describe(),
                reason: "the GDP/CLT accountant covers Gaussian and Poisson-subsampled Gaussian \
                         mechanisms (add/remove) only; the contour, pld, rdp, edgeworth and \
                         saddlepoint accountants support it"
                    .into(),
            });
        }
    }
    Ok(())
}

/// Test fixture: the three-component mixture N(0, σ²) vs 0.6·N(0, σ²) + 0.3·N(1, σ²) +
/// 0.1·N(2, σ²) at `sigma` and the replace-one Poisson pair at (σ, q) = `replace_one`.
#[cfg(test)]
pub(crate) fn test_mixtures(sigma: f64, replace_one: (f64, f64)) -> Vec<GaussianMixture> {
    [
        GaussianMixture::mixture_of_gaussians(sigma, &[0.0, 1.0, 2.0], &[0.6, 0.3, 0.1]),
        GaussianMixture::replace_one_poisson(replace_one.0, replace_one.1),
    ]
    .into_iter()
    .map(|m| m.expect("test setup"))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The serialised form: the parameters after the pair's name, in this order.
    #[test]
    fn serialises_as_tagged_parameters() {
        let json = |g: Result<GaussianMixture>| {
            serde_json::to_string(&g.expect("test setup")).expect("serialises")
        };
        assert_eq!(
            json(GaussianMixture::mixture_of_gaussians(
                0.8,
                &[0.0, 1.5],
                &[0.25, 0.75]
            )),
            r#"{"pair":"mixture-of-gaussians","sigma":0.8,"sensitivities":[0.0,1.5],"probabilities":[0.25,0.75]}"#
        );
        assert_eq!(
            json(GaussianMixture::replace_one_poisson(1.3, 0.05)),
            r#"{"pair":"replace-one-poisson","sigma":1.3,"sampling_rate":0.05}"#
        );
        let w = super::super::without_replacement::WithoutReplacement::new(2.5, 10, 1000)
            .map(GaussianMixture::WithoutReplacement);
        assert_eq!(
            json(w),
            r#"{"pair":"without-replacement","sigma":2.5,"batch_size":10,"dataset_size":1000}"#
        );
    }

    #[test]
    fn loss_is_monotone_and_inverse_round_trips() {
        let mogs = [
            GaussianMixture::mixture_of_gaussians(0.8, &[0.0, 1.0, 2.0], &[0.6, 0.3, 0.1]),
            GaussianMixture::replace_one_poisson(1.3, 0.05),
            GaussianMixture::mixture_of_gaussians(2.0, &[1.0], &[1.0]),
        ];
        for m in mogs {
            let m = m.expect("test setup");
            for law in [m.law(), m.law().swapped()] {
                let mut prev = f64::NEG_INFINITY;
                for i in -400..=400 {
                    let x = i as f64 * 0.05;
                    let l = law.loss(x);
                    assert!(l >= prev - 1e-12, "{m:?}: not monotone at {x}");
                    prev = l;
                    let back = law.x_of(l);
                    assert!((law.loss(back) - l).abs() < 1e-9 * (1.0 + l.abs()), "{x}");
                }
            }
        }
    }

    #[test]
    fn warm_started_inverse_matches_the_cold_one() {
        // Walking a grid upwards from the previous inverse (as the PLD discretisation does)
        // gives the cold inverse's root: the same x where L is not flat, else an x whose loss
        // is ℓ to rounding; starts that are not below the root fall back to the cold start.
        let mogs = [
            GaussianMixture::mixture_of_gaussians(0.8, &[0.0, 1.0, 2.0], &[0.6, 0.3, 0.1]),
            GaussianMixture::replace_one_poisson(1.3, 0.05),
            GaussianMixture::replace_one_poisson(0.5, 1e-4),
            GaussianMixture::mixture_of_gaussians(2.0, &[1.0], &[1.0]),
        ];
        for m in mogs {
            let m = m.expect("test setup");
            for law in [m.law(), m.law().swapped()] {
                let (lo, hi) = (law.loss(-12.0), law.loss(12.0));
                let mut x = f64::NEG_INFINITY;
                for i in 0..=2000 {
                    let l = lo + (hi - lo) * i as f64 / 2000.0;
                    x = law.x_of_from(l, x);
                    let cold = law.x_of(l);
                    let same = (x - cold).abs() <= 1e-12 * (1.0 + cold.abs());
                    let root = (law.loss(x) - l).abs() <= 1e-13 * (1.0 + l.abs());
                    assert!(same || root, "{m:?} at ℓ = {l}: {x} vs {cold}");
                }
                // A start above the root.
                let l = 0.5 * (lo + hi);
                let cold = law.x_of(l);
                assert_eq!(law.x_of_from(l, cold + 1.0), cold);
            }
        }
    }

    #[test]
    fn single_component_is_the_gaussian() {
        // Σ p N(c) with one component c = 1: the Gaussian mechanism with μ = 1/σ.
        for &s in &[0.5, 1.0, 3.0] {
            let m = GaussianMixture::mixture_of_gaussians(s, &[1.0], &[1.0]).expect("setup");
            let c = m.law().cumulants_f64();
            let mu = 1.0 / s;
            assert!(
                (c.p[0] + 0.5 * mu * mu).abs() < 1e-10 * (1.0 + mu * mu),
                "{c:?}"
            );
            assert!((c.p[1] - mu * mu).abs() < 1e-10 * mu * mu);
            assert!(c.p[2].abs() < 1e-9 * mu * mu);
            let r = m.rdp(4.0);
            let exact = 4.0 / (2.0 * s * s);
            assert!(r >= exact && r <= exact * 1.01 + 1e-9, "{r} vs {exact}");
        }
    }

    #[test]
    fn certified_cumulants_enclose_the_f64_estimates() {
        for m in super::test_mixtures(1.0, (0.9, 0.1)) {
            let law = m.law();
            let c = law.certified_cumulants(Precision(128)).expect("certified");
            c.assert_encloses(&law.cumulants_f64(), 1e-9, 1e-9, &format!("{m:?}"));
            assert!(c.p[1].rel_width() < 1e-2, "{}", c.p[1].rel_width());
        }
    }

    /// Σ w_iΦ(x − m_i) is enclosed on both sides of the switch to the Mills ratio
    /// ([`CDF_MILLS_FROM`]) and far in both tails, against MPFR's erfc at 300 bits.
    #[test]
    fn cdf_enclosure_holds_on_both_sides_of_the_mills_switch() {
        let side = Side::new(&[(0.3, 0.0), (0.7, 2.5)]);
        let wp = Precision(CERT_BITS);
        for x in [
            -41.0, -20.0, -10.5, -9.5, -7.5, 0.0, 1.3, 9.5, 10.5, 12.5, 13.0, 30.0,
        ] {
            let got = cdf_iv(&side, &Float::with_val(wp.bits(), x), wp);
            let mut want = Float::with_val(300, 0);
            for (w, m) in side.comps() {
                let z = Float::with_val(300, m - x) / Float::with_val(300, 2).sqrt();
                want += Float::with_val(300, z.erfc()) * Float::with_val(300, w) / 2u32;
            }
            assert!(
                got.lo <= want && want <= got.hi,
                "x = {x}: {got:?} vs {want}"
            );
            assert!(
                got.rel_width() < 1e-20,
                "x = {x}: width {}",
                got.rel_width()
            );
        }
    }

    /// Lower bounds from panels shared by the orders (`rdp_lower_many`): below the RDP value at
    /// every default order, equal to the per-order bound at a group's largest order, and within
    /// a small factor of the per-order bound elsewhere (the shared panels are at most 1.25× wider
    /// in units of 1/(λS)).
    #[test]
    fn shared_panel_lower_bounds_stay_below_the_value() {
        let orders = crate::accountant::rdp::RdpParams::default_orders();
        let mut cases = test_mixtures(1.3, (0.9, 0.05));
        cases.extend(test_mixtures(4.0, (3.0, 0.2)));
        for g in cases {
            let many = g.rdp_lower_many(&orders).expect("has a lower bound");
            let last = *orders.last().expect("orders");
            for (&a, &lower) in orders.iter().zip(&many) {
                let value = g.rdp(a);
                let single = g.rdp_lower(a).expect("has a lower bound");
                assert!(lower <= value, "{g:?} α={a}: {lower} > {value}");
                assert!(lower >= 0.0 && lower.is_finite(), "{g:?} α={a}: {lower}");
                // (α − 1)·RDP is ln of the moment: compare the moments' logarithms.
                let gap = (a - 1.0) * (single - lower);
                assert!(
                    gap <= 0.05 * (1.0 + (a - 1.0) * single),
                    "{g:?} α={a}: {single} vs {lower}"
                );
                if a == last {
                    assert_eq!(lower, single, "{g:?}: the largest order heads its group");
                }
            }
        }
    }
}
