//! The transform M(z) = E_P[e^{zL}] of a pair of finite Gaussian mixtures with a common
//! variance (docs/math.md §17.9): the mixture of Gaussians and the replace-one
//! Poisson-subsampled Gaussian of docs/math.md §17.1, in either ordering.
//!
//! With r_s(x) = Σ_i w_i e^{m_i x − m_i²/2} the density ratio of side s to N(0, 1) and
//! ℓ_s = ln r_s, the loss is L = ℓ_Q − ℓ_P and
//!
//! ```text
//! M(ζ) = ∫ e^{ℓ_P(x) + ζL(x)} φ(x) dx = ∫ r_P^{1−ζ} r_Q^{ζ} φ dx,
//! ```
//!
//! evaluated by the trapezoid in x with the three certified error terms of docs/math.md §17.9
//! (the generalisation of §10.4): the strip bound (every r_s(x + ib) lies in a cone of half-angle
//! span_s·|b|/2 around the real axis, so |Im(ℓ_P − ℓ_Q)| ≤ D|b| and
//! ℓ_s(x) + ln cos(span_s·b/2) ≤ Re ℓ_s(x + ib) ≤ ℓ_s(x)), the truncation bound (a finite sum of
//! shifted Gaussians majorises r_P^{1−α}r_Q^{α}φ on the real line) and a running rounding bound.
//! The real-λ summaries (tilted moments, the total variation and split bounds of [`Decay`]) are
//! f64 trapezoid estimates with the same margins as the subsampled Gaussian's (docs/math.md §10.5).

use super::{
    logsumexp, Decay, MgfValue, RealSummary, Split, SumScheme, Trapezoid, Weights, C64,
    LN_SQRT_2PI, MAX_QUADRATURE_NODES, SPLITS, UNIT_ROUNDOFF,
};
use crate::cgf::{CgfValue, TiltedMoments};
use crate::mechanism::mixture::{MixtureLaw, MAX_COMPONENTS};
use crate::mechanism::{Direction, GaussianMixture};
use crate::special::normal;
use std::f64::consts::{LN_2, PI};

/// One side of the pair in the form the quadrature uses: ln weights and means.
#[derive(Debug, Clone, Copy)]
struct Comps {
    n: usize,
    lw: [f64; MAX_COMPONENTS],
    m: [f64; MAX_COMPONENTS],
}

impl Comps {
    fn new(it: impl Iterator<Item = (f64, f64)>) -> Comps {
        let mut c = Comps {
            n: 0,
            lw: [0.0; MAX_COMPONENTS],
            m: [0.0; MAX_COMPONENTS],
        };
        for (w, m) in it {
            c.lw[c.n] = w.ln();
            c.m[c.n] = m;
            c.n += 1;
        }
        c
    }

    fn iter(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        (0..self.n).map(|i| (self.lw[i], self.m[i]))
    }

    fn min_mean(&self) -> f64 {
        self.iter().map(|c| c.1).fold(f64::INFINITY, f64::min)
    }

    fn max_mean(&self) -> f64 {
        self.iter().map(|c| c.1).fold(f64::NEG_INFINITY, f64::max)
    }

    /// (ℓ(x), a bound on the absolute error of the computed ℓ, Σ_i post_i(x)·(m_i − c)).
    ///
    /// ℓ = top + ln1p(Σ_{i≠top} e^{e_i − top}) with e_i = ln w_i + m_i x − m_i²/2. Each e_i errs by
    /// ≤ 4u(|ln w_i| + |m_i x| + m_i²) (=: 4u·E_i); the differences e_i − top add u|e_i − top| ≤
    /// 2u·max E; the exponentials, the sum of at most K terms and ln1p add ≤ (K + 2)u (ln1p's
    /// argument error η relative changes it by ≤ η), the final addition u|ℓ|. Bound (2× slack on
    /// the E terms): u(10·max E + 2|ℓ| + 2K + 4).
    #[inline]
    fn eval(&self, x: f64, c: f64) -> (f64, f64, f64) {
        let mut top = f64::NEG_INFINITY;
        let mut itop = 0;
        let mut emax = 0.0f64;
        let mut es = [0.0; MAX_COMPONENTS];
        for i in 0..self.n {
            let (lw, m) = (self.lw[i], self.m[i]);
            let e = lw + m * x - 0.5 * m * m;
            es[i] = e;
            emax = emax.max(lw.abs() + (m * x).abs() + m * m);
            if e > top {
                top = e;
                itop = i;
            }
        }
        let (mut rest, mut post) = (0.0, self.m[itop] - c);
        for (i, &e) in es.iter().enumerate().take(self.n) {
            if i != itop {
                let v = (e - top).exp();
                rest += v;
                post += v * (self.m[i] - c);
            }
        }
        let l = top + rest.ln_1p();
        let err = UNIT_ROUNDOFF * (10.0 * emax + 2.0 * l.abs() + 2.0 * self.n as f64 + 4.0);
        (l, err, post / (1.0 + rest))
    }

    /// Gaussian terms (ln coefficient, slope) majorising r^s on the real line (docs/math.md §17.9):
    /// s ≥ 0: r^s ≤ max(1, K^{s−1})·Σ w_i^s e^{s(m_i x − m_i²/2)}; s < 0: r^s ≤ (w_j e^{m_j x −
    /// m_j²/2})^s for the component j with the largest (`right`) or smallest mean.
    fn power_terms(&self, s: f64, right: bool) -> Vec<(f64, f64)> {
        if s >= 0.0 {
            let ln_k = (s - 1.0).max(0.0) * (self.n as f64).ln();
            self.iter()
                .map(|(lw, m)| (ln_k + s * (lw - 0.5 * m * m), s * m))
                .collect()
        } else {
            let pick = self
                .iter()
                .fold(None::<(f64, f64)>, |best, c| match best {
                    Some(b) if (right && b.1 >= c.1) || (!right && b.1 <= c.1) => Some(b),
                    _ => Some(c),
                })
                .expect("invariant: a side has at least one component");
            vec![(s * (pick.0 - 0.5 * pick.1 * pick.1), s * pick.1)]
        }
    }
}

/// One ordering's pair (P, Q), L = ln dQ/dP non-decreasing in x (docs/math.md §17.1).
#[derive(Debug, Clone, Copy)]
pub struct MixturePair {
    p: Comps,
    q: Comps,
    /// max mean of P (≤ every mean of Q): the reference point of L' (no cancellation).
    c: f64,
    /// Spans (max − min mean) of P and Q.
    span_p: f64,
    span_q: f64,
    /// max(max m_Q − min m_P, max m_P − min m_Q): |Im(ℓ_P − ℓ_Q)(x + ib)| ≤ D|b|.
    d: f64,
}

/// A trapezoid's x-nodes for a mixture pair: L(x_j), the exponents s_j = ℓ_P + αL − x²/2 and
/// their largest value m, and per node (ℓ_P, its rounding bound, L's rounding bound, L').
struct XGrid {
    ls: Vec<f64>,
    ss: Vec<f64>,
    rest: Vec<(f64, f64, f64, f64)>,
    m: f64,
}

impl MixturePair {
    /// From one ordering's law.
    pub fn new(law: &MixtureLaw) -> MixturePair {
        let p = Comps::new(law.p_side().components());
        let q = Comps::new(law.q_side().components());
        let d = (q.max_mean() - p.min_mean())
            .abs()
            .max((p.max_mean() - q.min_mean()).abs());
        MixturePair {
            c: p.max_mean(),
            span_p: p.max_mean() - p.min_mean(),
            span_q: q.max_mean() - q.min_mean(),
            d,
            p,
            q,
        }
    }

    /// From a mechanism and an ordering.
    pub fn of(g: &GaussianMixture, direction: Direction) -> MixturePair {
        MixturePair::new(&g.law_for(direction))
    }

    /// Number of components on both sides (the cost of one x-node relative to the subsampled
    /// Gaussian's).
    fn weight(&self) -> f64 {
        (0.5 * (self.p.n + self.q.n) as f64).max(1.0)
    }

    /// Largest |mean| (for the domain check).
    pub fn max_abs_mean(&self) -> f64 {
        self.p
            .iter()
            .chain(self.q.iter())
            .map(|c| c.1.abs())
            .fold(0.0, f64::max)
    }

    /// (ℓ_P, L, δℓ_P, δL, L'(x)) at x.
    #[inline]
    fn node(&self, x: f64) -> (f64, f64, f64, f64, f64) {
        let (lp, ep, pp) = self.p.eval(x, self.c);
        let (lq, eq, pq) = self.q.eval(x, self.c);
        let l = lq - lp;
        // L' = Σβ_i(m'_i − c) + Σα_j(c − m_j), both sums ≥ 0 (docs/math.md §17.1).
        (lp, l, ep, ep + eq + UNIT_ROUNDOFF * l.abs(), pq - pp)
    }

    /// The Gaussian majorant of r_P^{1−α}r_Q^{α}φ on the real line as terms
    /// (ln C_k, k): Σ_k C_k e^{kx}φ(x) = Σ_k C_k e^{k²/2}φ(x − k), for the right (`right`) or left
    /// tail.
    fn majorant(&self, alpha: f64, right: bool) -> Vec<(f64, f64)> {
        let tp = self.p.power_terms(1.0 - alpha, right);
        let tq = self.q.power_terms(alpha, right);
        let mut out = Vec::with_capacity(tp.len() * tq.len());
        for &(cp, kp) in &tp {
            for &(cq, kq) in &tq {
                out.push((cp + cq, kp + kq));
            }
        }
        out
    }

    /// ln of the bound on the omitted trapezoid nodes below `x0` and above `xn` (docs/math.md
    /// §17.9): each majorant term C e^{k²/2}φ(x − k) is decreasing beyond its centre k, so where
    /// x0 ≤ min k and xn ≥ max k the omitted nodes sum (times h) to at most the tail integrals;
    /// +∞ where the range does not cover the centres.
    fn ln_truncation(&self, alpha: f64, x0: f64, xn: f64) -> f64 {
        let mut terms = Vec::new();
        for (right, edge) in [(false, x0), (true, xn)] {
            for (c, k) in self.majorant(alpha, right) {
                if (right && edge < k) || (!right && edge > k) {
                    return f64::INFINITY;
                }
                let tail = if right {
                    normal::ln_sf(edge - k)
                } else {
                    normal::ln_cdf(edge - k)
                };
                terms.push(c + 0.5 * k * k + tail);
            }
        }
        let v = logsumexp(&terms);
        v + 1e-12 * (1.0 + v.abs())
    }

    /// The x-range [lo, hi] of the quadrature at real part α: every majorant centre k with
    /// `extra` nats of Gaussian tail beyond it, plus the majorant's over-count: the largest term's
    /// mass C e^{k²/2} against the lower bound of [`MixturePair::ln_f_lower`] (so that the
    /// truncation bound, which is always evaluated, is small relative to F(α)).
    fn node_range(&self, alpha: f64, extra: f64) -> (f64, f64) {
        let mut kmin = f64::INFINITY;
        let mut kmax = f64::NEG_INFINITY;
        let mut size = f64::NEG_INFINITY;
        for right in [false, true] {
            for (c, k) in self.majorant(alpha, right) {
                kmin = kmin.min(k);
                kmax = kmax.max(k);
                size = size.max(c + 0.5 * k * k);
            }
        }
        let over = (size - self.ln_f_lower(alpha)).clamp(0.0, 1e6);
        let t0 = (2.0 * (extra + over + 5.0)).sqrt() + 2.0;
        (kmin.min(0.0) - t0, kmax.max(0.0) + t0)
    }

    /// A lower bound on ln F(α), F(α) = ∫ r_P^{1−α} r_Q^{α} φ: 0 outside (0, 1) (F is log-convex
    /// with F(0) = F(1) = 1); inside, each of r_P, r_Q is at least one of its terms, so
    /// F(α) ≥ a_j^{1−α} b_i^{α} e^{−α(1−α)(m_j − m'_i)²/2} for every pair of components.
    fn ln_f_lower(&self, alpha: f64) -> f64 {
        if alpha <= 0.0 || alpha >= 1.0 {
            return 0.0;
        }
        let mut best = f64::NEG_INFINITY;
        for (lp, mp) in self.p.iter() {
            for (lq, mq) in self.q.iter() {
                let d = mp - mq;
                best =
                    best.max((1.0 - alpha) * lp + alpha * lq - 0.5 * alpha * (1.0 - alpha) * d * d);
            }
        }
        best
    }

    /// Strip half-width a and the ln of the strip majorant's factor without F(α):
    /// a ≤ π/(2·max(D, span_P, span_Q)) and ≤ √(2c) (docs/math.md §17.9).
    fn strip(&self, alpha: f64, c: f64) -> (f64, f64) {
        let spread = self.d.max(self.span_p).max(self.span_q);
        let a = if spread > 0.0 {
            (PI / (2.0 * spread)).min((2.0 * c).sqrt())
        } else {
            (2.0 * c).sqrt()
        };
        (a, self.ln_c_strip(alpha, a))
    }

    /// (α − 1)₊·|ln cos(span_P·a/2)| + (−α)₊·|ln cos(span_Q·a/2)|.
    fn ln_c_strip(&self, alpha: f64, a: f64) -> f64 {
        let lc = |span: f64| -(0.5 * span * a).cos().ln();
        (alpha - 1.0).max(0.0) * lc(self.span_p) + (-alpha).max(0.0) * lc(self.span_q)
    }

    /// The nodes x_j = lo + jh, j < n, of a trapezoid at real part α (see [`XGrid`]).
    fn x_grid(&self, alpha: f64, lo: f64, h: f64, n: usize) -> XGrid {
        let mut g = XGrid {
            ls: Vec::with_capacity(n),
            ss: Vec::with_capacity(n),
            rest: Vec::with_capacity(n),
            m: f64::NEG_INFINITY,
        };
        for j in 0..n {
            let x = lo + j as f64 * h;
            let (lp, l, ep, el, dl) = self.node(x);
            let s = lp + alpha * l - 0.5 * x * x;
            g.m = g.m.max(s);
            g.ls.push(l);
            g.ss.push(s);
            g.rest.push((lp, ep, el, dl));
        }
        g
    }

    /// ln M̃(α + iβ_k) with certified error bounds for several β_k on one x-grid
    /// (docs/math.md §17.9; `scheme` as in [`super::subsampled_mgf_windowed`]).
    pub fn mgf_batch(
        &self,
        alpha: f64,
        betas: &[f64],
        tau: f64,
        scheme: SumScheme,
    ) -> Vec<MgfValue> {
        let u = UNIT_ROUNDOFF;
        let beta_max = betas.iter().fold(0.0f64, |m, b| m.max(b.abs()));
        let c = (1.0 / tau).ln() + 4.0f64.ln();
        let (a, c_strip) = self.strip(alpha, c);
        let denom = 0.5 * a * a + beta_max * self.d * a + c_strip + c;
        let h = 2.0 * PI * a / denom;
        let (lo, hi) = self.node_range(alpha, c);
        let nf = ((hi - lo) / h).ceil() + 1.0;
        if nf.is_nan() || nf > MAX_QUADRATURE_NODES {
            // No enclosure within the node budget (the contour checks `cost` first).
            return super::no_enclosure(betas.len());
        }
        let n = nf as usize;
        let XGrid { ls, ss, rest, m } = self.x_grid(alpha, lo, h, n);
        let mut weights = Weights::with_capacity(n);
        for j in 0..n {
            let x = lo + j as f64 * h;
            let e = ss[j] - m;
            let (lp, ep, el, _) = rest[j];
            let l = ls[j];
            // Exponent ℓ_P + αL − x²/2 − m and phase βL: the ζ-independent part
            // u(8 + x² + 2|ℓ_P| + |e|) + δℓ_P, and per |ζ|: 2u|L| + δL.
            weights.push(
                e.exp(),
                l.abs(),
                u * (8.0 + x * x + 2.0 * lp.abs() + e.abs()) + ep,
                2.0 * u * l.abs() + el,
            );
        }
        let ln_trunc = self.ln_truncation(alpha, lo, lo + (n - 1) as f64 * h);
        let grid = Trapezoid { m, h, a, ln_trunc };
        // 2M/(e^{2πa/h} − 1), M = e^{a²/2 + |β|Da + c_strip}·2F(α).
        weights.mgf_values(&ls, alpha, betas, scheme, grid, |beta, ln_f_re| {
            LN_2 + 0.5 * a * a + beta.abs() * self.d * a + c_strip + LN_2 + ln_f_re
        })
    }

    /// ln M̃(z) with a certified error bound (docs/math.md §17.9).
    pub fn ln_mgf(&self, z: C64, tau: f64) -> MgfValue {
        self.mgf_batch(z.re, &[z.im], tau, SumScheme::DIRECT)[0]
    }

    /// Estimated x-nodes of one evaluation at α + iβ (scaled by the component count).
    pub fn cost(&self, alpha: f64, beta: f64) -> f64 {
        let c = (1.0 / 1e-17f64).ln() + 4.0f64.ln();
        let (a, c_strip) = self.strip(alpha, c);
        let h = 2.0 * PI * a / (0.5 * a * a + beta.abs() * self.d * a + c_strip + c);
        let (lo, hi) = self.node_range(alpha, c);
        let n = (hi - lo) / h * self.weight();
        if n.is_nan() {
            f64::INFINITY
        } else {
            n
        }
    }

    /// Step of the real-λ summaries at α (≤ 0.02, resolving the tilted density).
    fn real_step(&self, alpha: f64) -> f64 {
        let d = self.d.max(self.span_p).max(self.span_q);
        (0.5 / (1.0 + alpha.abs() * d * d).sqrt()).min(0.02)
    }

    /// Estimated x-nodes of the real-λ summaries at α.
    pub fn real_cost(&self, alpha: f64) -> f64 {
        let (lo, hi) = self.node_range(alpha, 40.0);
        let n = (hi - lo) / self.real_step(alpha) * self.weight();
        if n.is_nan() {
            f64::INFINITY
        } else {
            n
        }
    }

    /// f64 trapezoid summaries of the tilted law of L at real α (as the subsampled Gaussian's,
    /// docs/math.md §10.5): ln F(α), mean, central moments, E|L|, TV of the tilted density of L
    /// (as a function of x: g = e^{ℓ_P + αL}φ/L') and the split bounds.
    fn real(&self, alpha: f64, h: f64, with_tv: bool) -> RealSummary {
        let (lo, hi) = self.node_range(alpha, 40.0);
        // Beyond the node budget (the contour checks `real_cost` first) the summaries are NaN
        // and infinite, which the contour refuses.
        let nf = ((hi - lo) / h).ceil() + 1.0;
        if nf.is_nan() || nf > MAX_QUADRATURE_NODES {
            return RealSummary {
                ln_f: f64::NAN,
                moments: TiltedMoments::NAN,
                tv: f64::INFINITY,
                splits: [Split::UNUSED; SPLITS],
            };
        }
        let n = nf as usize;
        let XGrid { ls, ss, rest, m } = self.x_grid(alpha, lo, h, n);
        let ws: Vec<f64> = ss.iter().map(|s| (s - m).exp()).collect();
        let tot: f64 = ws.iter().sum();
        let mean = ws.iter().zip(&ls).map(|(w, l)| w * l).sum::<f64>() / tot;
        let (mut var, mut mu3, mut mu4, mut rho3, mut mean_abs) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (w, l) in ws.iter().zip(&ls) {
            let d = l - mean;
            var += w * d * d;
            mu3 += w * d * d * d;
            mu4 += w * d * d * d * d;
            rho3 += w * d.abs() * d * d;
            mean_abs += w * l.abs();
        }
        let ln_f = m + (tot * h).ln() - LN_SQRT_2PI;
        let mut tv = f64::INFINITY;
        let mut splits = [Split::UNUSED; SPLITS];
        if with_tv {
            // g_j relative to the mass scale e^m; L' > 0 (docs/math.md §17.1).
            let gs: Vec<f64> = ss
                .iter()
                .zip(&rest)
                .map(|(s, &(_, _, _, dl))| (s - m - dl.ln()).exp())
                .collect();
            (tv, splits) = super::tv_and_splits(&gs, &ws, &ls, tot, h);
        }
        RealSummary {
            ln_f,
            moments: TiltedMoments {
                mean,
                central: [var / tot, mu3 / tot, mu4 / tot],
                abs3: rho3 / tot,
                mean_abs: mean_abs / tot,
            },
            tv,
            splits,
        }
    }

    /// K(λ) and the tilted moments at real λ (f64 trapezoid, step 0.05·(resolution)).
    pub fn cgf(&self, lambda: f64) -> CgfValue {
        let h = (2.5 * self.real_step(lambda)).min(0.05);
        let s = self.real(lambda, h, false);
        s.moments.cgf(lambda, false, s.ln_f)
    }

    /// The decay bound of |M(λ + it)|/M(λ) ([`Decay::Density`], margins as docs/math.md §10.5).
    pub fn decay(&self, lambda: f64) -> Decay {
        self.real(lambda, self.real_step(lambda), true).decay()
    }

    /// An upper bound on E_λ|L| (relative margin 1e−2).
    pub fn tilted_abs_mean(&self, lambda: f64) -> f64 {
        self.real(lambda, self.real_step(lambda), false)
            .moments
            .mean_abs
            * 1.01
    }

    /// sup L where finite (the largest means of P and Q coincide: sup L = ln w_Q − ln w_P of
    /// that component), rounded up.
    pub fn loss_max(&self) -> Option<f64> {
        let (mp, mq) = (self.p.max_mean(), self.q.max_mean());
        if mp != mq {
            return None;
        }
        let lw = |s: &Comps, mm: f64| s.iter().find(|c| c.1 == mm).map(|c| c.0);
        let (lp, lq) = (lw(&self.p, mp)?, lw(&self.q, mq)?);
        let v = lq - lp;
        Some(v + 4.0 * UNIT_ROUNDOFF * (1.0 + lp.abs() + lq.abs() + v.abs()))
    }

    /// ℓ values and the error bound of L at x (for the single-step bracket).
    fn loss_with_err(&self, x: f64) -> (f64, f64) {
        let (_, l, _, el, _) = self.node(x);
        (l, el)
    }

    /// Q(X > c) − e^ε P(X > c) and the bound on its rounding (each Φ̄ to a few ulp).
    fn cut_delta(&self, c: f64, epsilon: f64) -> (f64, f64) {
        let sf = |s: &Comps| -> f64 {
            s.iter()
                .map(|(lw, m)| lw.exp() * normal::sf(c - m))
                .sum::<f64>()
        };
        let pos = sf(&self.q);
        let neg = epsilon.exp() * sf(&self.p);
        (
            pos - neg,
            64.0 * UNIT_ROUNDOFF * (pos + neg) * (1.0 + epsilon),
        )
    }

    /// The exact δ(ε) of one step, bracketed (docs/math.md §17.9): D(c) = Q(X > c) − e^ε P(X > c)
    /// is maximised at the root x* of L(x) = ε (D'(c) = p(c)(e^ε − e^{L(c)})), so D(c) ≤ δ for
    /// every c; with c_lo < x* certified by L̃(c_lo) + δL < ε and x* < c_hi by L̃(c_hi) − δL > ε,
    /// δ − D(c_lo) = ∫_{c_lo}^{x*} p(e^ε − e^L) ≤ (c_hi − c_lo)·p_max·e^ε(1 − e^{L(c_lo) − ε}),
    /// p_max ≤ 1/√(2π) < 0.4. None where no such bracket is found (the contour is used).
    pub fn single_step_delta(&self, epsilon: f64, law: &MixtureLaw) -> Option<(f64, f64, f64)> {
        let x = law.x_of(epsilon);
        if !x.is_finite() {
            return None;
        }
        let mut d = 1e-12 * (1.0 + x.abs());
        for _ in 0..40 {
            let (c_lo, c_hi) = (x - d, x + d);
            let (l_lo, e_lo) = self.loss_with_err(c_lo);
            let (l_hi, e_hi) = self.loss_with_err(c_hi);
            if l_lo + e_lo < epsilon && l_hi - e_hi > epsilon {
                let (v_lo, r_lo) = self.cut_delta(c_lo, epsilon);
                let (v_x, r_x) = self.cut_delta(x, epsilon);
                let gap = (epsilon - l_lo + e_lo).max(0.0);
                let excess = (c_hi - c_lo) * 0.4 * epsilon.exp() * (-(-gap).exp_m1());
                let lower = (v_lo - r_lo).max(v_x - r_x).max(0.0);
                let upper = (v_lo + r_lo + excess * (1.0 + 1e-12)).min(1.0);
                let value = v_x.clamp(lower, upper);
                return Some((lower, value, upper));
            }
            d *= 4.0;
        }
        None
    }
}

/// A certified enclosure of ln M(z), M(z) = E_P[e^{zL}], of one ordering of a Gaussian-mixture
/// pair (P, Q the ordering's laws, L = ln dQ/dP; the add ordering is the swapped pair,
/// [`GaussianMixture::law_for`]): |M̃ − M| ≤ e^{ln_err} (docs/math.md §17.9). For a composition
/// that mixes several pairs (e.g. a weighted union), the per-pair transforms multiply.
///
/// `tau` is the target relative accuracy of the discretisation and truncation terms (1e−17
/// makes rounding dominate).
pub fn mixture_ln_mgf(g: &GaussianMixture, direction: Direction, z: C64, tau: f64) -> MgfValue {
    MixturePair::of(g, direction).ln_mgf(z, tau)
}

#[cfg(test)]
mod tests {
    use super::super::{subsampled_mgf, Transform};
    use super::*;
    use crate::mechanism::{Mechanism, SubsampledGaussian};

    /// With p = (1 − q, q), c = (0, 1) the pair is the Poisson-subsampled Gaussian: both
    /// enclosures of the same M(z) must overlap, in both orderings, at real and complex z.
    #[test]
    fn two_components_reproduce_the_subsampled_transform() {
        for &(q, sigma) in &[(0.01, 0.8), (0.0297, 0.7865), (0.2, 1.5)] {
            let g = GaussianMixture::mixture_of_gaussians(sigma, &[0.0, 1.0], &[1.0 - q, q])
                .expect("test setup");
            let mu = 1.0 / sigma;
            for dir in [Direction::Remove, Direction::Add] {
                let sub = Transform::new(
                    &Mechanism::SubsampledGaussian(
                        SubsampledGaussian::new(sigma, q).expect("test setup"),
                    ),
                    dir,
                );
                for &(lam, t) in &[(2.0, 0.0), (3.5, 2.0), (8.0, 25.0), (1.5, 300.0)] {
                    let z = C64::new(lam, t);
                    let a = mixture_ln_mgf(&g, dir, z, 1e-17);
                    let b = sub.ln_mgf(z, 1e-17);
                    let diff = (a.ln.exp() - b.ln.exp()).norm();
                    let bound = a.ln_err.exp() + b.ln_err.exp();
                    assert!(diff <= bound, "{dir:?} q={q} z={z}: {diff:e} > {bound:e}");
                    let scale =
                        b.ln.re
                            .exp()
                            .max(subsampled_mgf(q, mu, C64::new(lam, 0.0), 1e-17).ln.re.exp());
                    assert!(a.ln_err.exp() <= 1e-11 * scale, "{dir:?} z={z}: {a:?}");
                }
            }
        }
    }

    /// The whole contour through the general mixture transform against the subsampled
    /// Gaussian's (the dispatch maps this pair to the latter, so the general path is forced
    /// here): at one λ and ε the two certified δ brackets overlap and agree to 1e−9 relative.
    #[test]
    fn generic_contour_reproduces_the_subsampled_contour() {
        use crate::accountant::contour::plan::{Factor, Plan};
        let plan = |t: Transform, n: f64| Plan {
            factors: vec![Factor { t, n }],
            lattice: None,
            loss_max: t.loss_max().map(|m| m * n * (1.0 + 12.0 * UNIT_ROUNDOFF)),
        };
        for &(q, sigma, n) in &[(0.01, 1.0, 100.0), (0.2, 0.8, 10.0), (0.5, 2.0, 1000.0)] {
            let g = GaussianMixture::mixture_of_gaussians(sigma, &[0.0, 1.0], &[1.0 - q, q])
                .expect("test setup");
            for dir in [Direction::Remove, Direction::Add] {
                let sub = plan(
                    Transform::Subsampled {
                        q,
                        mu: 1.0 / sigma,
                        add: dir == Direction::Add,
                    },
                    n,
                );
                let mix = plan(
                    Transform::Mixture {
                        law: g.law_for(dir),
                    },
                    n,
                );
                let eps = sub.epsilon_guess(1e-6).expect("test setup");
                let lam = sub.saddle(eps).expect("test setup");
                let a = sub.build(lam, eps, 1e-10).expect("test setup").bounds(eps);
                let b = mix.build(lam, eps, 1e-10).expect("test setup").bounds(eps);
                assert!(
                    a.lower <= b.upper && b.lower <= a.upper,
                    "q={q} n={n} {dir:?}: {a:?} vs {b:?}"
                );
                assert!(
                    (b.upper - b.lower) <= 1e-9 * b.value
                        && (a.value - b.value).abs() <= 1e-9 * a.value,
                    "q={q} n={n} {dir:?}: {a:?} vs {b:?}"
                );
            }
        }
    }

    /// A three-component mixture and the replace-one pair against a brute-force trapezoid (fine
    /// fixed step, wide range), through the public [`mixture_ln_mgf`].
    #[test]
    fn three_components_match_a_fine_reference() {
        let ms = crate::mechanism::mixture::test_mixtures(0.9, (0.7, 0.05));
        for (g, dir) in ms
            .iter()
            .flat_map(|g| [(g, Direction::Remove), (g, Direction::Add)])
        {
            let pair = MixturePair::of(g, dir);
            for &(lam, t) in &[(2.0, 0.0), (4.0, 3.0), (6.0, 17.0)] {
                let z = C64::new(lam, t);
                let v = mixture_ln_mgf(g, dir, z, 1e-17);
                let (dx, lo, hi) = (2e-4, -25.0, 40.0);
                let mut s = C64::new(0.0, 0.0);
                let n = ((hi - lo) / dx) as usize;
                for j in 0..=n {
                    let x = lo + j as f64 * dx;
                    let (lp, l, _, _, _) = pair.node(x);
                    s += (z * l + lp - 0.5 * x * x - LN_SQRT_2PI).exp();
                }
                let r = s * dx;
                let scale = pair.ln_mgf(C64::new(lam, 0.0), 1e-17).ln.re.exp();
                let diff = (v.ln.exp() - r).norm();
                assert!(
                    diff <= v.ln_err.exp() + 1e-12 * scale,
                    "{dir:?} {z}: {diff:e}"
                );
                assert!(v.ln_err.exp() <= 1e-11 * scale);
            }
            // M(0) = M(1) = 1 (P and Q are probability laws).
            for z in [0.0, 1.0] {
                let v = pair.ln_mgf(C64::new(z, 0.0), 1e-17);
                assert!((v.ln.exp() - 1.0).norm() <= v.ln_err.exp() + 1e-14, "{v:?}");
            }
        }
    }

    /// The decay bound of a mixture holds on a grid of t (the transform's modulus, with its
    /// error bound, below the bound times 1 + 1e−9).
    #[test]
    fn decay_bounds_hold_for_mixtures() {
        for g in crate::mechanism::mixture::test_mixtures(0.9, (0.8, 0.05)) {
            for dir in [Direction::Remove, Direction::Add] {
                let pair = MixturePair::of(&g, dir);
                let lam = 4.0;
                let d = pair.decay(lam);
                let f = |z: C64| pair.ln_mgf(z, 1e-17);
                let what = format!("{g:?} {dir:?}");
                super::super::tests::assert_decay_on_grid(f, &d, lam, 0.41, 150, &what);
            }
        }
    }

    /// The split bounds with conditional moments hold for rarely sampled replace-one pairs (a
    /// spike of width ~q below the cut) on a log grid of t up to ~2·10⁴, both orderings.
    #[test]
    fn split_moment_bounds_hold_for_rare_replace_one_pairs() {
        let pairs = [(0.8, 1e-4), (1.5, 1e-4), (1.0, 1e-3)]
            .into_iter()
            .flat_map(|(sigma, q)| {
                let g = GaussianMixture::replace_one_poisson(sigma, q).expect("test setup");
                [Direction::Remove, Direction::Add].map(|dir| MixturePair::of(&g, dir))
            });
        super::super::tests::assert_decays_on_log_grids(
            pairs,
            &[3.0, 15.0],
            (1..130).step_by(3),
            200,
        );
    }

    /// The single-step bracket equals the subsampled Gaussian's closed form for two components.
    #[test]
    fn single_step_matches_the_subsampled_closed_form() {
        let (q, sigma) = (0.05, 0.9);
        let g = GaussianMixture::mixture_of_gaussians(sigma, &[0.0, 1.0], &[1.0 - q, q])
            .expect("test setup");
        for dir in [Direction::Remove, Direction::Add] {
            let sub = Transform::new(
                &Mechanism::SubsampledGaussian(
                    SubsampledGaussian::new(sigma, q).expect("test setup"),
                ),
                dir,
            );
            let law = g.law_for(dir);
            let pair = MixturePair::new(&law);
            for eps in [0.01, 0.03, 0.3, 1.0, 2.5] {
                let Some(want) = sub.single_step_delta(eps) else {
                    panic!("closed form")
                };
                if want.1 == 0.0 {
                    continue;
                }
                let got = pair.single_step_delta(eps, &law).expect("bracket");
                assert!(
                    got.0 <= want.2 && want.0 <= got.2,
                    "{dir:?} {eps}: {got:?} {want:?}"
                );
                assert!(got.2 - got.0 <= 1e-9 * got.1, "{dir:?} {eps}: {got:?}");
            }
        }
    }
}
