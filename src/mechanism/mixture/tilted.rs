//! Certified tilted moments of a Gaussian-mixture pair at a real tilt (docs/math.md §17.12):
//! enclosures of
//!
//! ```text
//! E_P[e^{λL}(L − c)^k] = ∫ φ(x)·r_P(x)^{1−λ}·r_Q(x)^λ·(L(x) − c)^k dx,   k = 0..=kmax,
//! ```
//!
//! with r_s(x) = Σ_i w_i e^{m_i x − m_i²/2} the density ratio of side s to N(0, 1) and
//! L = ln r_Q − ln r_P, from which [`crate::cgf::cgf_certified`] forms K(λ), K'(λ), K''(λ) and
//! the third and fourth central moments of the tilted law (the saddle-point accountant's
//! Kolmogorov part).
//!
//! The line is cut at X0 < 0 < X1 where the closed-form tail bounds of §17.12 fall below the
//! target; [X0, X1] is split into panels, each integrated by the certified Clenshaw–Curtis
//! rule ([`CertifiedCc`], docs/math.md §15.4) with MPFR intervals, its error bounded through a
//! bound on |f_k| on the panel's Bernstein ellipse. The ellipse stays in the strip
//! |Im x| ≤ H where, with m̄_s and span_s the midpoint and the spread of side s's means,
//! e^{−i m̄_s y}·r_s(x + iy) lies in the cone of half-angle θ_s = span_s·H/2 < π/2 around the
//! positive axis: r_s has no zero there, ln r_s is analytic, and
//! cos θ_s·r_s(x) ≤ |r_s(x + iy)| ≤ r_s(x), |Im ln r_s(x + iy) − m̄_s y| ≤ θ_s.

use super::{MixtureLaw, Side};
use crate::error::{Error, Result};
use crate::precision::{pi, Interval, Precision};
use crate::special::quadrature::CertifiedCc;
use crate::special::sum::logsumexp;
use rayon::prelude::*;
use rug::float::Round;
use rug::Float;
use std::f64::consts::LN_2;

/// Most Clenshaw–Curtis panels of one enclosure (each [`CertifiedCc::POINTS`] evaluations of
/// every component); beyond it the call is refused.
pub const MAX_PANELS: usize = 1 << 12;

/// The strip's largest cone half-angle θ_s = span_s·H/2 (radians, below π/2).
const THETA_MAX: f64 = 1.0;

/// ln √(2π).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// What the caller knows of the result, used only to size the work (the enclosures hold
/// whatever these are): an estimate of ln E_P[e^{λL}] and of the tilted law's standard
/// deviation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// ≈ ln E_P[e^{λL}].
    pub ln_mgf: f64,
    /// ≈ the tilted standard deviation of L.
    pub sd: f64,
}

/// One request for tilted moments: E_P[e^{λL}(L − c)^k] for k = 0..=kmax, with the estimates
/// that size the work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TiltQuery {
    /// The tilt λ (exact).
    pub lambda: f64,
    /// The centre c (exact).
    pub center: f64,
    /// The highest moment order.
    pub kmax: usize,
    /// Estimates of M(λ) and the tilted spread (work only).
    pub scale: Scale,
}

impl Side {
    /// (largest mean, ln of its weight − its square/2): for x ≥ 0,
    /// top·x + a ≤ ln r(x) ≤ top·x.
    fn top_line(&self) -> (f64, f64) {
        let (w, m) = self.comps().fold(
            (0.0, f64::NEG_INFINITY),
            |acc, c| if c.1 > acc.1 { c } else { acc },
        );
        (m, w.ln() - 0.5 * m * m)
    }

    /// (mid-point, spread) of the means.
    fn mid_and_span(&self) -> (f64, f64) {
        let (lo, hi) = (self.min_mean(), self.max_mean());
        (0.5 * (lo + hi), hi - lo)
    }

    /// f64 bounds (lo, hi) on ln r(x) for x ∈ [a, b]: each component at the end that
    /// minimises (maximises) its exponent (a few ulp; callers add a margin).
    fn ln_ratio_range(&self, a: f64, b: f64) -> (f64, f64) {
        let ends = |pick_max: bool| {
            let terms: Vec<f64> = self
                .comps()
                .map(|(w, m)| {
                    let (ea, eb) = (m * a, m * b);
                    let e = if pick_max { ea.max(eb) } else { ea.min(eb) };
                    w.ln() + e - 0.5 * m * m
                })
                .collect();
            logsumexp(&terms)
        };
        (ends(false), ends(true))
    }

    /// An enclosure of ln r(x) at an interval x.
    fn ln_ratio_interval(&self, x: &Interval, wp: Precision) -> Interval {
        let half = Float::with_val(8, 0.5);
        let mut acc = Interval::zero(wp);
        for (w, m) in self.comps() {
            let mf = Interval::from_f64(wp, m);
            let e = mf.mul(x).sub(&mf.mul(&mf).scale_nonneg(&half)).exp();
            acc.add_assign(&e.scale_nonneg(&Float::with_val(64, w)));
        }
        acc.ln()
    }
}

impl MixtureLaw {
    /// Certified enclosures of E_P[e^{λL}(L − c)^k], k = 0..=kmax (module docs; docs/math.md
    /// §17.12), with relative width about 2^−bits of the moments' scale.
    ///
    /// # Guarantee
    /// Each interval contains the exact integral for the pair as stored (weights and means as
    /// exact f64), given correctly rounded MPFR elementary functions; `scale` only sizes the
    /// work.
    ///
    /// # Errors
    /// [`Error::NotCertified`] when more than [`MAX_PANELS`] panels would be needed or no
    /// finite cut of the line is found; [`Error::PrecisionExhausted`] for a non-finite
    /// enclosure.
    pub fn certified_tilted_moments(
        &self,
        query: &TiltQuery,
        precision: Precision,
    ) -> Result<Vec<Interval>> {
        let plan = self.tilted_plan(query, None, precision)?;
        let wp = Precision(precision.bits() + 32);
        let lam = Interval::from_f64(wp, query.lambda);
        let one_minus = Interval::from_f64(wp, 1.0).sub(&lam);
        let c = Interval::from_f64(wp, query.center);
        let ln_norm = ln_sqrt_2pi(wp);
        let half = Float::with_val(8, 0.5);
        let row = |x: &Interval| -> Vec<Interval> {
            let lp = self.p.ln_ratio_interval(x, wp);
            let lq = self.q.ln_ratio_interval(x, wp);
            let log_f = one_minus
                .mul(&lp)
                .add(&lam.mul(&lq))
                .sub(&x.powi(2).scale_nonneg(&half))
                .sub(&ln_norm);
            powers_row(log_f.exp(), &lq.sub(&lp).sub(&c), query.kmax)
        };
        plan.integrate(wp, row)
            .ok_or_else(|| Error::PrecisionExhausted {
                what: format!(
                    "certified tilted moments of the mixture pair at lambda = {}",
                    query.lambda
                ),
                bits: precision.bits(),
            })
    }

    /// Whether [`MixtureLaw::certified_tilted_moments`] with these arguments stays within
    /// [`MAX_PANELS`], decided by its f64 plan alone (no MPFR work).
    ///
    /// # Errors
    /// The refusal that call would return for its plan.
    pub fn check_tilted_work(&self, query: &TiltQuery, precision: Precision) -> Result<()> {
        self.tilted_work(query, precision).map(|_| ())
    }

    /// The node evaluations of [`MixtureLaw::certified_tilted_moments`] with these arguments
    /// (its panels times [`CertifiedCc::POINTS`]), from its f64 plan alone (no MPFR work).
    ///
    /// # Errors
    /// The refusal that call would return for its plan.
    pub fn tilted_work(&self, query: &TiltQuery, precision: Precision) -> Result<f64> {
        self.tilted_plan(query, None, precision)
            .map(|plan| plan.node_evaluations())
    }

    /// The cut [X0, X1] with its tail bounds and the panels with their error bounds; with
    /// `from`, the integral over [from, ∞) only (X0 = from, no left tail).
    fn tilted_plan(
        &self,
        query: &TiltQuery,
        from: Option<f64>,
        precision: Precision,
    ) -> Result<TiltedPlan> {
        let TiltQuery {
            lambda,
            center,
            kmax,
            scale,
        } = *query;
        let refuse = |why: String| {
            Error::NotCertified(format!(
                "certified tilted moments of the mixture pair at lambda = {lambda}: {why}"
            ))
        };
        if !(scale.ln_mgf.is_finite() && scale.sd.is_finite() && center.is_finite()) {
            return Err(refuse(format!(
                "the f64 estimates are not finite (ln M = {}, sd = {}, centre = {center})",
                scale.ln_mgf, scale.sd
            )));
        }
        let spread = scale.sd.max(1e-8 * (1.0 + center.abs()));
        let ln_target: Vec<f64> = (0..=kmax)
            .map(|k| {
                scale.ln_mgf + k as f64 * spread.ln() - (f64::from(precision.bits()) + 8.0) * LN_2
            })
            .collect();
        // The cut: each tail at most 1/16 of the target.
        let reflected = MixtureLaw {
            p: self.p.reflected(),
            q: self.q.reflected(),
        };
        let mut x1 = self.tail_cut(lambda, center, kmax, &ln_target)?;
        let x0 = match from {
            // A later right cut only lowers its tail bound.
            Some(a) => {
                x1 = x1.max(a + 1.0);
                a
            }
            None => -reflected.tail_cut(lambda, center, kmax, &ln_target)?,
        };
        let ln_tails: Vec<f64> = (0..=kmax)
            .map(|k| {
                let (r, l) = (
                    self.ln_right_tail(lambda, center, k as u32, x1),
                    if from.is_some() {
                        f64::NEG_INFINITY
                    } else {
                        reflected.ln_right_tail(lambda, center, k as u32, -x0)
                    },
                );
                let (hi, lo) = if r >= l { (r, l) } else { (l, r) };
                hi + (lo - hi).exp().ln_1p()
            })
            .collect();
        // The strip: θ_s ≤ THETA_MAX, and the ellipse's reach beyond a panel costs at most
        // a factor ≈ e^{20} through the tilt.
        let span = self.p.mid_and_span().1.max(self.q.mid_and_span().1);
        let big = self
            .p
            .comps()
            .chain(self.q.comps())
            .map(|c| c.1.abs())
            .fold(0.0, f64::max);
        let mut height = 1.0f64;
        if span > 0.0 {
            height = height.min(2.0 * THETA_MAX / span);
        }
        height = height.min(20.0 / ((1.0 + lambda.abs()) * big.max(1e-300)));
        let cc = CertifiedCc::new(Precision(64));
        let bound = |lo: f64, hi: f64| -> Vec<f64> {
            self.ellipse_ln_errors(&cc, lambda, center, kmax, height, lo, hi)
        };
        // Start from panels at most 1 wide, bisect until every bound meets its target.
        let first = ((x1 - x0).ceil() as usize).max(1);
        if first > MAX_PANELS {
            return Err(refuse(format!(
                "the line must be cut at [{x0}, {x1}], more than {MAX_PANELS} panels"
            )));
        }
        let w = (x1 - x0) / first as f64;
        let mut todo: Vec<(f64, f64)> = (0..first)
            .map(|i| {
                let a = x0 + i as f64 * w;
                let b = if i + 1 == first {
                    x1
                } else {
                    x0 + (i + 1) as f64 * w
                };
                (a, b)
            })
            .collect();
        let mut panels = Vec::new();
        while let Some((lo, hi)) = todo.pop() {
            let ln_err = bound(lo, hi);
            let ok = ln_err.iter().zip(&ln_target).all(|(e, t)| e <= t);
            let mid = 0.5 * (lo + hi);
            if ok || !(lo < mid && mid < hi) {
                if !ln_err
                    .iter()
                    .all(|e| e.is_finite() || *e == f64::NEG_INFINITY)
                {
                    return Err(Error::PrecisionExhausted {
                        what: format!(
                            "the quadrature error bound of the mixture pair at lambda = {lambda}"
                        ),
                        bits: precision.bits(),
                    });
                }
                panels.push(Panel { lo, hi, ln_err });
            } else {
                todo.push((lo, mid));
                todo.push((mid, hi));
            }
            if panels.len() + todo.len() > MAX_PANELS {
                return Err(refuse(format!(
                    "more than {MAX_PANELS} Clenshaw-Curtis panels ({} node evaluations) would be \
                     needed",
                    MAX_PANELS * CertifiedCc::POINTS
                )));
            }
        }
        Ok(TiltedPlan { panels, ln_tails })
    }

    /// The first X1 on the grid max(α, 0) + 1 + j/4 (α the tail's Gaussian shift) at which
    /// every right-tail bound is at most 1/16 of its target.
    fn tail_cut(&self, lambda: f64, center: f64, kmax: usize, ln_target: &[f64]) -> Result<f64> {
        let (alpha, _, _, _) = self.tail_line(lambda, center);
        let mut x = alpha.max(0.0) + 1.0;
        for _ in 0..40_000 {
            let ok = (0..=kmax).all(|k| {
                self.ln_right_tail(lambda, center, k as u32, x) <= ln_target[k] - 4.0 * LN_2
            });
            if ok {
                return Ok(x);
            }
            x += 0.25;
        }
        Err(Error::NotCertified(format!(
            "certified tilted moments of the mixture pair at lambda = {lambda}: no cut of the \
             line below x = {x} meets the tail target"
        )))
    }

    /// (α, β, A, B) of the right tail (docs/math.md §17.12): for x ≥ 0,
    /// (1 − λ)ln r_P + λ ln r_Q ≤ αx + β and |L − c| ≤ A + Bx.
    fn tail_line(&self, lambda: f64, center: f64) -> (f64, f64, f64, f64) {
        let (tp, ap) = self.p.top_line();
        let (tq, aq) = self.q.top_line();
        let s = 1.0 - lambda;
        let alpha = s * tp + lambda * tq;
        let beta =
            if s < 0.0 { s * ap } else { 0.0 } + if lambda < 0.0 { lambda * aq } else { 0.0 };
        (
            alpha,
            beta,
            ap.abs() + aq.abs() + center.abs(),
            (tq - tp).abs(),
        )
    }

    /// ln of an upper bound on ∫_{x1}^∞ |f_k| (x1 > max(0, α)): with y0 = x1 − α,
    /// e^{β + α²/2}·(|A + Bα|/y0 + B)^k·I_k(y0), I_k(y0) = ∫_{y0}^∞ y^k φ(y) dy from
    /// I_0 ≤ φ(y0)/y0, I_1 = φ(y0), I_k = y0^{k−1}φ(y0) + (k − 1)I_{k−2}; inflated by 1e−6
    /// relative for the f64 evaluation.
    fn ln_right_tail(&self, lambda: f64, center: f64, k: u32, x1: f64) -> f64 {
        let (alpha, beta, a, b) = self.tail_line(lambda, center);
        let y0 = x1 - alpha;
        if !(y0 > 0.0 && x1 >= 0.0) {
            return f64::INFINITY;
        }
        let ln_phi = -0.5 * y0 * y0 - LN_SQRT_2PI;
        // ln I_j for j = 0..=k by the recursion, in log space.
        let mut ln_i = [ln_phi - y0.ln(), ln_phi];
        for j in 2..=k {
            let first = f64::from(j - 1) * y0.ln() + ln_phi;
            let second = f64::from(j - 1).ln() + ln_i[(j % 2) as usize];
            let (hi, lo) = if first >= second {
                (first, second)
            } else {
                (second, first)
            };
            ln_i[(j % 2) as usize] = hi + (lo - hi).exp().ln_1p();
        }
        let slope = (a + b * alpha).abs() / y0 + b;
        let poly = if k == 0 {
            0.0
        } else {
            f64::from(k) * slope.ln()
        };
        let v = beta + 0.5 * alpha * alpha + poly + ln_i[(k % 2) as usize];
        v + 1e-6 * (1.0 + v.abs())
    }

    /// ln of the certified Clenshaw–Curtis error bound of each f_k on the panel [lo, hi]
    /// (ellipse of height `height`; bounds of module docs and docs/math.md §17.12), inflated
    /// by 1e−9 relative for the f64 evaluation.
    #[allow(clippy::too_many_arguments)]
    fn ellipse_ln_errors(
        &self,
        cc: &CertifiedCc,
        lambda: f64,
        center: f64,
        kmax: usize,
        height: f64,
        lo: f64,
        hi: f64,
    ) -> Vec<f64> {
        let r = 0.5 * (hi - lo);
        let gamma = 0.5 * (hi + lo);
        let (rho, reach) = CertifiedCc::rho_for_height(r, height);
        let (xa, xb) = (gamma - reach, gamma + reach);
        // Per side: (ln|r| lower, ln|r| upper, θ).
        let side = |s: &Side| {
            let (lo_l, hi_l) = s.ln_ratio_range(xa, xb);
            let theta = 0.5 * s.mid_and_span().1 * height;
            (lo_l + theta.cos().ln(), hi_l, theta)
        };
        let (p_lo, p_hi, p_th) = side(&self.p);
        let (q_lo, q_hi, q_th) = side(&self.q);
        let s = 1.0 - lambda;
        let tilt = s * if s >= 0.0 { p_hi } else { p_lo }
            + lambda * if lambda >= 0.0 { q_hi } else { q_lo };
        let near = 0.0f64.clamp(xa, xb);
        let ln_gauss = -0.5 * near * near + 0.5 * height * height - LN_SQRT_2PI;
        let re = (q_lo - p_hi - center)
            .abs()
            .max((q_hi - p_lo - center).abs());
        let (mp, _) = self.p.mid_and_span();
        let (mq, _) = self.q.mid_and_span();
        let im = (mq - mp).abs() * height + p_th + q_th;
        let dev = (re + im) * (1.0 + 1e-12);
        (0..=kmax)
            .map(|k| {
                let ln_m = ln_gauss + tilt + k as f64 * dev.max(1e-300).ln();
                let ln_m = ln_m + 1e-9 * (1.0 + ln_m.abs());
                cc.ln_error(r, rho, ln_m)
            })
            .collect()
    }
}

/// The panels and tail bounds of one enclosure.
struct TiltedPlan {
    panels: Vec<Panel>,
    /// ln of the bound on both tails together, per k.
    ln_tails: Vec<f64>,
}

impl TiltedPlan {
    /// The integrand evaluations of [`TiltedPlan::integrate`].
    fn node_evaluations(&self) -> f64 {
        (self.panels.len() * CertifiedCc::POINTS) as f64
    }

    /// Σ over the panels of the certified Clenshaw–Curtis integrals of `row` (the integrands
    /// f_0..f_kmax at an interval x), widened by the tail bounds; `None` if an enclosure is not
    /// finite.
    fn integrate(
        &self,
        wp: Precision,
        row: impl Fn(&Interval) -> Vec<Interval> + Sync,
    ) -> Option<Vec<Interval>> {
        let cc = CertifiedCc::new(wp);
        let parts: Vec<Vec<Interval>> = self
            .panels
            .par_iter()
            .map(|p| cc.integrate(p.lo, p.hi, &row, &p.ln_err))
            .collect();
        let mut acc = vec![Interval::zero(wp); self.ln_tails.len()];
        for part in parts {
            for (slot, v) in acc.iter_mut().zip(&part) {
                slot.add_assign(v);
            }
        }
        for (slot, &t) in acc.iter_mut().zip(&self.ln_tails) {
            let mut e = Float::with_val(wp.bits(), t);
            e.exp_round(Round::Up);
            *slot = slot.widen(&e);
        }
        acc.iter()
            .all(|v| v.lo.is_finite() && v.hi.is_finite())
            .then_some(acc)
    }
}

/// ln √(2π) as an interval.
fn ln_sqrt_2pi(wp: Precision) -> Interval {
    let mut lo = Float::with_val(wp.bits(), 2);
    lo *= pi(wp, Round::Down);
    let mut hi = Float::with_val(wp.bits(), 2);
    hi *= pi(wp, Round::Up);
    Interval::new(lo, hi)
        .ln()
        .scale_nonneg(&Float::with_val(8, 0.5))
}

/// [p, p·d, …, p·d^kmax].
fn powers_row(mut p: Interval, d: &Interval, kmax: usize) -> Vec<Interval> {
    let mut out = Vec::with_capacity(kmax + 1);
    out.push(p.clone());
    for _ in 0..kmax {
        p = p.mul(d);
        out.push(p.clone());
    }
    out
}

/// Certified enclosures of E_{P*}[e^{λL}(L − c)^k], k = 0..=kmax, for the symmetrised pair
/// (P*, Q*) of fixed-size batches at rate γ and shift μ (docs/math.md §17.13): with
/// P0 = N(0, 1), Q0 = (1 − γ)N(0, 1) + γN(μ, 1), L0 = ln(dQ0/dP0) and c0 = μ/2,
///
/// ```text
/// E_{P*}[e^{λL}(L − c)^k] = a·(−c)^k + ∫_{c0}^∞ φ e^{λL0}(L0 − c)^k + ∫_{c0}^∞ φ e^{(1−λ)L0}(−L0 − c)^k
/// ```
///
/// with a = (1 − γ)(Φ(c0) − Φ(−c0)), the atom at L = 0. The two integrals are the (P0, Q0)
/// pair's and the swapped (Q0, P0) pair's integrands of [`MixtureLaw::certified_tilted_moments`]
/// on [c0, ∞), each on its own panels; the integrands are evaluated with the exact weight
/// 1 − γ (an MPFR enclosure), the work sized by the f64 pair.
///
/// # Errors
/// As [`MixtureLaw::certified_tilted_moments`].
pub(crate) fn symmetrised_tilted_moments(
    gamma: f64,
    mu: f64,
    query: &TiltQuery,
    precision: Precision,
) -> Result<Vec<Interval>> {
    let wp = Precision(precision.bits() + 32);
    let (plans, c0) = symmetrised_plans(gamma, mu, query, precision)?;
    let lam = Interval::from_f64(wp, query.lambda);
    let one_minus = Interval::from_f64(wp, 1.0).sub(&lam);
    let c = Interval::from_f64(wp, query.center);
    let ln_norm = ln_sqrt_2pi(wp);
    let half = Float::with_val(8, 0.5);
    let g = Interval::from_f64(wp, gamma);
    let w0 = Interval::from_f64(wp, 1.0).sub(&g);
    let m = Interval::from_f64(wp, mu);
    let shift = m.mul(&m).scale_nonneg(&half);
    // ln r_Q0(x) = ln((1 − γ) + γ e^{μx − μ²/2}) and the Gaussian weight.
    let base = |x: &Interval| {
        let lr = w0.add(&g.mul(&m.mul(x).sub(&shift).exp())).ln();
        let gauss = x.powi(2).scale_nonneg(&half).add(&ln_norm);
        (lr, gauss)
    };
    let fail = || Error::PrecisionExhausted {
        what: format!(
            "certified tilted moments of the fixed-size-batch pair at lambda = {}",
            query.lambda
        ),
        bits: precision.bits(),
    };
    let pos = plans[0]
        .integrate(wp, |x| {
            let (lr, gauss) = base(x);
            powers_row(lam.mul(&lr).sub(&gauss).exp(), &lr.sub(&c), query.kmax)
        })
        .ok_or_else(fail)?;
    let neg = plans[1]
        .integrate(wp, |x| {
            let (lr, gauss) = base(x);
            powers_row(
                one_minus.mul(&lr).sub(&gauss).exp(),
                &lr.neg().sub(&c),
                query.kmax,
            )
        })
        .ok_or_else(fail)?;
    let unit = Side::new(&[(1.0, 0.0)]);
    let x = Float::with_val(wp.bits(), c0);
    let inner = super::cdf_iv(&unit, &x, wp).sub(&super::cdf_iv(&unit, &(-x.clone()), wp));
    let atom = w0.mul(&super::nonneg(&inner));
    let row = powers_row(atom, &c.neg(), query.kmax);
    Ok(row
        .iter()
        .zip(pos.iter().zip(&neg))
        .map(|(a, (p, n))| a.add(p).add(n))
        .collect())
}

/// The plans of [`symmetrised_tilted_moments`] (the (P0, Q0) pair and the swapped one on
/// [c0, ∞)) and c0 = μ/2, sized by the f64 pair.
fn symmetrised_plans(
    gamma: f64,
    mu: f64,
    query: &TiltQuery,
    precision: Precision,
) -> Result<([TiltedPlan; 2], f64)> {
    let c0 = 0.5 * mu;
    let p0 = Side::new(&[(1.0, 0.0)]);
    let q0 = Side::new(&[(1.0 - gamma, 0.0), (gamma, mu)]);
    let pos = MixtureLaw::new(p0, q0).tilted_plan(query, Some(c0), precision)?;
    let neg = MixtureLaw::unoriented(q0, p0).tilted_plan(query, Some(c0), precision)?;
    Ok(([pos, neg], c0))
}

/// The node evaluations of [`symmetrised_tilted_moments`] (both plans), from its f64 plans
/// alone.
///
/// # Errors
/// The refusal that call would return for its plans.
pub(crate) fn symmetrised_work(
    gamma: f64,
    mu: f64,
    query: &TiltQuery,
    precision: Precision,
) -> Result<f64> {
    symmetrised_plans(gamma, mu, query, precision)
        .map(|(plans, _)| plans.iter().map(TiltedPlan::node_evaluations).sum())
}

/// A Clenshaw–Curtis panel [lo, hi] with the ln of its error bound per k.
struct Panel {
    lo: f64,
    hi: f64,
    ln_err: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accountant::contour::transform::Transform;
    use crate::mechanism::{Direction, GaussianMixture, Mechanism};

    fn query(lambda: f64, center: f64, kmax: usize, scale: Scale) -> TiltQuery {
        TiltQuery {
            lambda,
            center,
            kmax,
            scale,
        }
    }

    fn mog(sigma: f64, c: &[f64], p: &[f64]) -> GaussianMixture {
        GaussianMixture::mixture_of_gaussians(sigma, c, p).expect("test setup")
    }

    /// E_{N(0,1)}[(Σ p_i e^{m_i x − m_i²/2})^n] = Σ over n-tuples of Π p·e^{Σ_{a<b} m_a m_b}
    /// (integer n ≥ 0), in 256-bit MPFR.
    fn integer_oracle(m: &[f64], p: &[f64], n: u32) -> Float {
        let k = m.len();
        let mut total = Float::with_val(256, 0);
        let mut idx = vec![0usize; n as usize];
        loop {
            let mut w = Float::with_val(256, 1);
            let mut e = Float::with_val(256, 0);
            for a in 0..idx.len() {
                w *= p[idx[a]];
                for b in a + 1..idx.len() {
                    e += Float::with_val(256, m[idx[a]]) * m[idx[b]];
                }
            }
            total += w * e.exp();
            let mut pos = 0;
            loop {
                if pos == idx.len() {
                    return total;
                }
                idx[pos] += 1;
                if idx[pos] < k {
                    break;
                }
                idx[pos] = 0;
                pos += 1;
            }
            if idx.is_empty() {
                return total;
            }
        }
    }

    fn scale_of(mech: &Mechanism, dir: Direction, lambda: f64) -> (f64, Scale) {
        let est = Transform::new(mech, dir).cgf(lambda);
        (
            est.mean,
            Scale {
                ln_mgf: est.k,
                sd: est.var.sqrt(),
            },
        )
    }

    #[test]
    fn integer_tilts_enclose_the_closed_form_to_working_precision() {
        for (sigma, c, p) in [
            (1.0, vec![0.0, 1.0, 2.0], vec![0.6, 0.3, 0.1]),
            (0.7, vec![1.0, 3.0], vec![0.5, 0.5]),
            (2.0, vec![0.0, 1.0], vec![0.99, 0.01]),
        ] {
            let g = mog(sigma, &c, &p);
            let law = g.law();
            let mech = Mechanism::GaussianMixture(g);
            for n in 0..=3u32 {
                let lambda = f64::from(n);
                let (_, scale) = scale_of(&mech, Direction::Remove, lambda);
                let row = law
                    .certified_tilted_moments(&query(lambda, 0.0, 2, scale), Precision(128))
                    .expect("certified");
                // The pair as stored: weights normalised by their f64 sum.
                let (means, weights): (Vec<f64>, Vec<f64>) =
                    law.q_side().components().map(|(w, m)| (m, w)).unzip();
                let exact = integer_oracle(&means, &weights, n);
                assert!(
                    row[0].contains(&exact),
                    "sigma {sigma} n {n}: {row:?} vs {exact}"
                );
                assert!(
                    row[0].rel_width() < 1e-30,
                    "sigma {sigma} n {n}: {}",
                    row[0].rel_width()
                );
            }
        }
    }

    #[test]
    fn tilted_moments_agree_with_the_f64_summaries_both_orderings() {
        let cases = [
            Mechanism::GaussianMixture(mog(1.0, &[0.0, 1.0, 2.0], &[0.6, 0.3, 0.1])),
            Mechanism::GaussianMixture(
                GaussianMixture::replace_one_poisson(0.8, 0.01).expect("test setup"),
            ),
            Mechanism::GaussianMixture(mog(3.0, &[0.5, 1.0], &[0.2, 0.8])),
        ];
        for mech in &cases {
            let Mechanism::GaussianMixture(g) = mech else {
                unreachable!()
            };
            for dir in [Direction::Remove, Direction::Add] {
                for &lambda in &[-0.7, 0.25, 1.0, 2.5, 8.0] {
                    let est = Transform::new(mech, dir).cgf(lambda);
                    let (center, scale) = scale_of(mech, dir, lambda);
                    let row = g
                        .law_for(dir)
                        .certified_tilted_moments(&query(lambda, center, 4, scale), Precision(64))
                        .expect("certified");
                    let m0 = row[0].mid_f64();
                    let k = m0.ln();
                    let mean = center + row[1].mid_f64() / m0;
                    let var = row[2].mid_f64() / m0 - (mean - center).powi(2);
                    let ctx = format!("{} {dir:?} lambda {lambda}", g.describe());
                    assert!(
                        (k - est.k).abs() <= 1e-9 * (1.0 + est.k.abs()),
                        "{ctx}: K {k} vs {}",
                        est.k
                    );
                    assert!(
                        (mean - est.mean).abs() <= 1e-8 * (1.0 + est.mean.abs()),
                        "{ctx}: K' {mean} vs {}",
                        est.mean
                    );
                    assert!(
                        (var - est.var).abs() <= 1e-7 * est.var,
                        "{ctx}: K'' {var} vs {}",
                        est.var
                    );
                    // Widths relative to the moments' scale M·sd^k (odd moments about the
                    // tilted mean are far below it).
                    for (k, v) in row.iter().enumerate() {
                        let ln_w = v.width_f64().ln();
                        let ln_scale = scale.ln_mgf + k as f64 * scale.sd.ln();
                        assert!(ln_w <= ln_scale - 60.0 * LN_2, "{ctx}: k {k} {v:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_unit_masses_are_enclosed() {
        // λ = 0 and λ = 1 integrate the densities of P and Q: mass 1 exactly.
        let g = GaussianMixture::replace_one_poisson(0.5, 0.3).expect("test setup");
        let mech = Mechanism::GaussianMixture(g);
        for lambda in [0.0, 1.0] {
            let (_, scale) = scale_of(&mech, Direction::Remove, lambda);
            let row = g
                .law()
                .certified_tilted_moments(&query(lambda, 0.0, 0, scale), Precision(96))
                .expect("certified");
            // The stored weights are normalised by their f64 sum: mass Σ w_i (≈ 1 to an ulp).
            let side = if lambda == 0.0 {
                *g.law().p_side()
            } else {
                *g.law().q_side()
            };
            let mass = side
                .components()
                .fold(Float::with_val(256, 0), |acc, (w, _)| acc + w);
            assert!(row[0].contains(&mass), "{row:?} vs {mass}");
            assert!((mass.to_f64() - 1.0).abs() < 1e-15);
        }
    }

    #[test]
    fn far_apart_means_are_refused_within_the_panel_limit() {
        // Means 1000 apart: the strip is 2e−3 high and the tilted integrand reaches x ≈ 3000.
        let g = mog(1e-3, &[0.0, 1.0], &[0.5, 0.5]);
        let mech = Mechanism::GaussianMixture(g);
        let (center, scale) = scale_of(&mech, Direction::Remove, 3.0);
        let law = g.law();
        for r in [
            law.check_tilted_work(&query(3.0, center, 4, scale), Precision(64)),
            law.certified_tilted_moments(&query(3.0, center, 4, scale), Precision(64))
                .map(|_| ()),
        ] {
            match r {
                Err(Error::NotCertified(msg)) => assert!(msg.contains("panels"), "{msg}"),
                Err(e) => panic!("expected a refusal, got {e}"),
                Ok(()) => panic!("expected a refusal"),
            }
        }
    }
}
