//! The Poisson-subsampled Laplace mechanism, docs/math.md §15.5.
//!
//! Remove ordering: P = Lap(0, b), Q = (1 − q)Lap(0, b) + q·Lap(1, b). With a = 1/b and
//! ℓ(x) = (|x| − |x − 1|)/b ∈ [−a, a] the plain Laplace loss, the loss is
//! L = g(ℓ), g(t) = ln(1 − q + q e^t), increasing in t. Under P, ℓ has an atom ½ at −a, an atom
//! e^{−a}/2 at +a and the density ¼e^{−a/2}e^{−t/2} on (−a, a); E_Q[f(L)] = E_P[e^L f(L)].
//! The add ordering is the swapped pair (PLLR −L under Q), as for every mechanism here.
//! q = 1 is the Laplace mechanism exactly and is delegated to it.

use super::Laplace;
use crate::cumulants::{
    cumulants_from_moments, cumulants_from_moments_f64, CertifiedCumulants, Cumulants, MAX_ORDER,
};
use crate::error::{Error, Result};
use crate::precision::{Interval, Precision};
use crate::special::quadrature::{log1p_qexpm1, CertifiedCc};
use rayon::prelude::*;
use rug::Float;
use std::f64::consts::LN_2;

/// Most integrand evaluations of one [`SubsampledLaplace::certified_moments`] call (≈ 0.1 s at
/// 128 bits); beyond it the call refuses (large |λ|·a).
const CERT_NODE_BUDGET: usize = 1 << 16;

/// One x-panel of the certified continuous part, with ln of its per-moment error bounds.
struct CcPanel {
    lo: f64,
    hi: f64,
    ln_err: Vec<f64>,
}

/// Simpson panels (even) of the f64 estimates of the continuous part's moments.
const SIMPSON_N: usize = 4000;

/// Poisson-subsampled Laplace with scale b and sampling rate q ∈ (0, 1].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SubsampledLaplace {
    scale: f64,
    sampling_rate: f64,
}

impl SubsampledLaplace {
    /// # Errors
    /// `scale` must be finite and > 0; `sampling_rate` must lie in (0, 1].
    pub fn new(scale: f64, sampling_rate: f64) -> Result<Self> {
        crate::error::Range::above(0.0).check("scale", scale)?;
        crate::error::Range::left_open(0.0, 1.0).check("sampling_rate", sampling_rate)?;
        Ok(SubsampledLaplace {
            scale,
            sampling_rate,
        })
    }

    /// b.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// q.
    pub fn sampling_rate(&self) -> f64 {
        self.sampling_rate
    }

    /// a = 1/b, the plain Laplace mechanism's per-step ε.
    pub fn epsilon0(&self) -> f64 {
        1.0 / self.scale
    }

    /// The Laplace mechanism with the same scale (q = 1).
    pub fn laplace(&self) -> Laplace {
        Laplace::new(self.scale).expect("invariant: scale validated at construction")
    }

    /// g(t) = ln(1 − q + q e^t), the remove-ordering loss at plain Laplace loss t.
    pub fn loss_of(&self, t: f64) -> f64 {
        log1p_qexpm1(self.sampling_rate, t)
    }

    /// E_P[f(L, e^L)] for the remove ordering, f64 estimate: the two atoms exactly, the
    /// continuous part by composite Simpson on (−a, a).
    fn expect_p(&self, f: impl Fn(f64, f64) -> f64) -> f64 {
        let a = self.epsilon0();
        let q = self.sampling_rate;
        let at = |t: f64| {
            let l = self.loss_of(t);
            f(l, 1.0 - q + q * t.exp())
        };
        let atoms = 0.5 * at(-a) + 0.5 * (-a).exp() * at(a);
        let h = 2.0 * a / SIMPSON_N as f64;
        let mut s = 0.0;
        for i in 0..=SIMPSON_N {
            let t = -a + i as f64 * h;
            let w = crate::special::quadrature::simpson_weight(i, SIMPSON_N);
            s += w * at(t) * (-0.5 * (a + t)).exp();
        }
        atoms + 0.25 * s * h / 3.0
    }

    /// f64 cumulants of the remove ordering (estimates: Simpson with 4000 panels, relative
    /// error ~1e−10 for a ≤ 10; the certified path refuses, see
    /// [`SubsampledLaplace::certified_cumulants`]).
    pub fn cumulants_f64(&self) -> Cumulants {
        if self.sampling_rate == 1.0 {
            return self.laplace().cumulants_f64();
        }
        let mean_p = self.expect_p(|l, _| l);
        let mean_q = self.expect_p(|l, e| e * l);
        let mut c = Cumulants::ZERO;
        for (slot, center, tilt) in [(&mut c.p, mean_p, false), (&mut c.q, mean_q, true)] {
            let m: Vec<f64> = (0..=MAX_ORDER as i32)
                .map(|k| self.expect_p(|l, e| (l - center).powi(k) * if tilt { e } else { 1.0 }))
                .collect();
            slot.copy_from_slice(&cumulants_from_moments_f64(&m, center, MAX_ORDER));
        }
        c.p[0] = mean_p;
        c.q[0] = mean_q;
        c
    }

    /// Certified cumulants of the remove ordering: q = 1 delegates to the Laplace mechanism;
    /// for q < 1 from [`SubsampledLaplace::certified_moments`] about the f64 means (P: λ = 0,
    /// Q: λ = 1), as narrow as the requested precision (Clenshaw–Curtis panels with the ellipse
    /// bound, docs/math.md §15.5).
    ///
    /// # Errors
    /// [`Error::PrecisionExhausted`] if an enclosure is not finite (a = 1/b beyond ~700);
    /// [`Error::NotCertified`] beyond the panel budget.
    pub fn certified_cumulants(&self, precision: Precision) -> Result<CertifiedCumulants> {
        if self.sampling_rate == 1.0 {
            return Ok(self.laplace().certified_cumulants(precision));
        }
        let est = self.cumulants_f64();
        let mp = self.certified_moments(0.0, est.p[0], MAX_ORDER, precision)?;
        let mq = self.certified_moments(1.0, est.q[0], MAX_ORDER, precision)?;
        let p = cumulants_from_moments(&mp, est.p[0], MAX_ORDER)?;
        let q = cumulants_from_moments(&mq, est.q[0], MAX_ORDER)?;
        Ok(CertifiedCumulants { p, q, precision })
    }

    /// Certified enclosures of E_P[w^λ (L − c)^k], k = 0..=kmax, w = e^L = 1 − q + q e^t
    /// (docs/math.md §15.5): the atoms in interval arithmetic; the continuous part over
    /// x ∈ (0, 1) (t = (2x − 1)a, P-density (a/2)e^{−ax}) by certified Clenshaw–Curtis panels
    /// ([`CertifiedCc`]) with exact binary ends, split until each panel's ellipse bound is below
    /// 2^{−(bits + 8)} of the moments' scale. The ellipse around a panel reaches
    /// |Im t| ≤ min(1.4, 40/(1 + |λ|)) < π/2, where Re w > 0 (so ln w is analytic), and there
    /// |e^{−ax}| ≤ e^{−a·Re x}, |w| ∈ [1 − q + q e^{Re t}cos(Im t), 1 − q + q e^{Re t}],
    /// |arg w| ≤ q e^{Re t}|sin Im t|/(1 − q + q e^{Re t}cos(Im t)), which bound the integrand.
    ///
    /// # Errors
    /// [`Error::PrecisionExhausted`] for a non-finite enclosure; [`Error::NotCertified`] when
    /// the panels would need more than `CERT_NODE_BUDGET` evaluations (very large |λ|·a).
    pub fn certified_moments(
        &self,
        lambda: f64,
        center: f64,
        kmax: usize,
        precision: Precision,
    ) -> Result<Vec<Interval>> {
        let wp = Precision(precision.bits() + 32);
        let a = Interval::recip_of(wp.0, self.scale);
        let q = Interval::from_f64(wp, self.sampling_rate);
        let one = Interval::from_f64(wp, 1.0);
        let one_minus_q = one.sub(&q);
        let c = Interval::from_f64(wp, center);
        let half = Float::with_val(wp.0, 0.5);
        // Enclosures of (w^λ (L − c)^k)_k for t in the interval `t`.
        let row = |t: &Interval| -> Vec<Interval> {
            let w = one_minus_q.add(&t.exp().mul(&q));
            let l = w.ln();
            let tilt = if lambda == 0.0 {
                one.clone()
            } else if lambda > 0.0 {
                l.scale_nonneg(&Float::with_val(wp.0, lambda)).exp()
            } else {
                l.neg().scale_nonneg(&Float::with_val(wp.0, -lambda)).exp()
            };
            let d = l.sub(&c);
            let mut out = Vec::with_capacity(kmax + 1);
            let mut p = tilt;
            out.push(p.clone());
            for _ in 0..kmax {
                p = p.mul(&d);
                out.push(p.clone());
            }
            out
        };
        let mut acc = vec![Interval::zero(wp); kmax + 1];
        // Atoms: ½ at t = −a, ½e^{−a} at t = a.
        let half_iv = Interval::from_f64(wp, 0.5);
        let e_a = a.neg().exp().scale_nonneg(&half);
        for (r, mass) in [(row(&a.neg()), &half_iv), (row(&a), &e_a)] {
            for (slot, v) in acc.iter_mut().zip(&r) {
                slot.add_assign(&v.mul(mass));
            }
        }
        // The continuous part: f_k(x) = (a/2)e^{−ax}·row_k(t(x)) on certified panels.
        let panels = self.cc_panels(lambda, center, kmax, precision)?;
        let cc = CertifiedCc::new(wp);
        let f = |x: &Interval| -> Vec<Interval> {
            let two_x = x.scale_nonneg(&Float::with_val(wp.0, 2));
            let t = a.mul(&two_x.sub(&one));
            let dens = a.mul(x).neg().exp().mul(&a).scale_nonneg(&half);
            row(&t).iter().map(|v| v.mul(&dens)).collect()
        };
        let parts: Vec<Vec<Interval>> = panels
            .par_iter()
            .map(|p| cc.integrate(p.lo, p.hi, f, &p.ln_err))
            .collect();
        for part in parts {
            for (slot, v) in acc.iter_mut().zip(&part) {
                slot.add_assign(v);
            }
        }
        if acc.iter().any(|v| !v.lo.is_finite() || !v.hi.is_finite()) {
            return Err(Error::PrecisionExhausted {
                what: format!(
                    "certified moments of {} at lambda = {lambda}",
                    self.describe()
                ),
                bits: precision.bits(),
            });
        }
        Ok(acc)
    }

    /// The x-panels of [`SubsampledLaplace::certified_moments`] with their error bounds: bisect
    /// [0, 1] until every panel's bound is below the target, within the node budget.
    fn cc_panels(
        &self,
        lambda: f64,
        center: f64,
        kmax: usize,
        precision: Precision,
    ) -> Result<Vec<CcPanel>> {
        let (a, q) = (1.0 / self.scale, self.sampling_rate);
        let cc = CertifiedCc::new(Precision(64));
        let height = (40.0 / (1.0 + lambda.abs())).min(1.4);
        let g = |t: f64| log1p_qexpm1(q, t);
        let ln_tilt = |t: f64| lambda * g(t);
        // The moments' scale: the atoms' mass (a lower bound on the k = 0 moment) and the
        // largest |L − c| over the support (L is increasing in t).
        let ln_atoms = ln_add(ln_tilt(-a) - LN_2, ln_tilt(a) - a - LN_2);
        let spread = (g(-a) - center)
            .abs()
            .max((g(a) - center).abs())
            .max(1e-300);
        let ln_target =
            |k: usize| ln_atoms + k as f64 * spread.ln() - (precision.bits() as f64 + 8.0) * LN_2;
        let bound = |lo: f64, hi: f64| -> Vec<f64> {
            let r = 0.5 * (hi - lo);
            let gamma = 0.5 * (hi + lo);
            // In t the ellipse has half-axes 2a·(rα, rβ); its height is `height`.
            let (rho, reach) = CertifiedCc::rho_for_height(2.0 * a * r, height);
            let re_lo = (2.0 * gamma - 1.0) * a - reach;
            let re_hi = (2.0 * gamma - 1.0) * a + reach;
            let x_lo = gamma - reach / (2.0 * a);
            // ln W_hi and ln W_lo without cancellation (q may be tiny): a few ulp relative.
            let ln_w_hi = g(re_hi);
            let ln_w_lo = (q * (re_lo.exp() * height.cos() - 1.0)).ln_1p();
            let w_lo = ln_w_lo.exp();
            let arg = (q * re_hi.exp() * height.sin() / w_lo).min(std::f64::consts::FRAC_PI_2);
            let dev = (ln_w_hi - center).abs().max((ln_w_lo - center).abs()) * (1.0 + 1e-12)
                + arg * (1.0 + 1e-12)
                + 1e-15 * (center.abs() + ln_w_hi.abs() + ln_w_lo.abs());
            let ln_w = if lambda >= 0.0 { ln_w_hi } else { ln_w_lo };
            let ln_dens = (0.5 * a).ln() - a * x_lo;
            (0..=kmax)
                .map(|k| {
                    let ln_m = ln_dens + lambda * ln_w + k as f64 * dev.max(1e-300).ln();
                    let ln_m = ln_m + 1e-9 * (1.0 + ln_m.abs());
                    cc.ln_error(r, rho, ln_m)
                })
                .collect()
        };
        let budget = CERT_NODE_BUDGET / CertifiedCc::POINTS;
        let mut todo = vec![(0.0f64, 1.0f64)];
        let mut done = Vec::new();
        while let Some((lo, hi)) = todo.pop() {
            let ln_err = bound(lo, hi);
            let ok = ln_err.iter().enumerate().all(|(k, &e)| e <= ln_target(k));
            if ok || hi - lo <= f64::EPSILON {
                if !ln_err
                    .iter()
                    .all(|e| e.is_finite() || *e == f64::NEG_INFINITY)
                {
                    return Err(Error::PrecisionExhausted {
                        what: format!(
                            "the quadrature error bound of {} at lambda = {lambda}",
                            self.describe()
                        ),
                        bits: precision.bits(),
                    });
                }
                done.push(CcPanel { lo, hi, ln_err });
            } else {
                let mid = 0.5 * (lo + hi);
                todo.push((lo, mid));
                todo.push((mid, hi));
            }
            if done.len() + todo.len() > budget {
                return Err(Error::NotCertified(format!(
                    "certified moments of {} at lambda = {lambda} would need more than {budget} \
                     Clenshaw-Curtis panels ({CERT_NODE_BUDGET} node evaluations)",
                    self.describe()
                )));
            }
        }
        Ok(done)
    }

    /// ln E_P[e^{iℓ}] of the plain Laplace loss at integer i ≥ 0 (exact closed form,
    /// docs/math.md §15.5).
    fn ln_laplace_mgf(&self, i: u64) -> f64 {
        if i <= 1 {
            return 0.0;
        }
        // K(i) = (i − 1)·D_i of the Laplace pair.
        let x = i as f64;
        (x - 1.0) * laplace_rdp(&self.laplace(), x)
    }

    /// ln E_P[(dQ/dP)^α] at integer α ≥ 0 by the binomial expansion
    /// Σ_i C(α, i)(1 − q)^{α−i} q^i E_P[e^{iℓ}] (all terms positive; f64 log-sum-exp).
    pub fn ln_moment_int(&self, alpha: u64) -> f64 {
        let q = self.sampling_rate;
        let (lq, l1q) = (q.ln(), (-q).ln_1p());
        let mut acc = f64::NEG_INFINITY;
        let mut ln_binom = 0.0;
        for i in 0..=alpha {
            if i > 0 {
                ln_binom += ((alpha - i + 1) as f64).ln() - (i as f64).ln();
            }
            let rest = if alpha == i {
                0.0
            } else {
                (alpha - i) as f64 * l1q
            };
            let term = ln_binom + rest + i as f64 * lq + self.ln_laplace_mgf(i);
            acc = ln_add(acc, term);
        }
        acc
    }

    /// The mechanism as messages name it (`subsampled-laplace(scale=1e-300, ...)`, long numbers
    /// in exponent form: [`super::Mechanism::describe`]).
    fn describe(&self) -> String {
        super::Mechanism::SubsampledLaplace(*self).describe()
    }

    /// An upper bound on ln E_P[(dQ/dP)^λ] for real λ: the atoms exactly, the continuous part
    /// by panels on which w^λ (w = 1 − q + q e^t, monotone) is bounded by its larger end value
    /// and e^{−t/2} is integrated exactly; inflated by 1e−9 relative for the f64 rounding
    /// (docs/math.md §15.5).
    pub fn ln_moment_upper(&self, lambda: f64) -> f64 {
        let a = self.epsilon0();
        let ln_w = |t: f64| self.loss_of(t);
        let n = (400.0 * a * (lambda.abs() + 1.0))
            .ceil()
            .clamp(256.0, 100_000.0) as usize;
        let h = 2.0 * a / n as f64;
        // ¼e^{−a/2}∫_{t0}^{t0+h} e^{−t/2} dt = ½e^{−(a+t0)/2}(1 − e^{−h/2}).
        let ln_panel = |t0: f64| (0.5f64).ln() - 0.5 * (a + t0) + (-(-0.5 * h).exp_m1()).ln();
        let mut acc = ln_add(
            (0.5f64).ln() + lambda * ln_w(-a),
            (0.5f64).ln() - a + lambda * ln_w(a),
        );
        for i in 0..n {
            let t0 = -a + i as f64 * h;
            let t1 = if i + 1 == n { a } else { t0 + h };
            let top = (lambda * ln_w(t0)).max(lambda * ln_w(t1));
            acc = ln_add(acc, ln_panel(t0) + top);
        }
        acc + 1e-9 * (1.0 + acc.abs())
    }

    /// RDP of order α > 1 covering both orderings: max(D_α(Q‖P), D_α(P‖Q)), with
    /// D_α(Q‖P) = ln E_P[w^α]/(α − 1) (exact binomial sum at integer α, else the panel upper
    /// bound) and D_α(P‖Q) = ln E_P[w^{1−α}]/(α − 1) (panel upper bound).
    pub fn rdp(&self, alpha: f64) -> f64 {
        if self.sampling_rate == 1.0 {
            return laplace_rdp(&self.laplace(), alpha);
        }
        let remove = if alpha.fract() == 0.0 && alpha <= 1e5 {
            self.ln_moment_int(alpha as u64)
        } else {
            self.ln_moment_upper(alpha)
        };
        let add = self.ln_moment_upper(1.0 - alpha);
        // Pure DP bounds every order: D_α ≤ ε₀, the largest |loss| (docs/math.md §15.5). It is
        // also the answer where the panels overflow (a = 1/b near the f64 range made them NaN,
        // which `max` turned into an RDP of 0 and an ε of 0 for b = 1e−308).
        let eps0 = self.max_abs_loss();
        if remove.is_nan() || add.is_nan() {
            return eps0;
        }
        (remove.max(add).max(0.0) / (alpha - 1.0)).min(eps0)
    }

    /// The largest |privacy loss| of either ordering, ε₀ = max(g(a), −g(−a)) with
    /// g(t) = ln(1 − q + q·e^t): the mechanism is ε₀-DP (+∞ where a = 1/b overflows).
    pub fn max_abs_loss(&self) -> f64 {
        let (a, q) = (self.epsilon0(), self.sampling_rate);
        // g(a) = a + ln q + ln(1 + (1 − q)e^{−a}/q), without overflow.
        let top = a + q.ln() + ((1.0 - q) * (-a).exp() / q).ln_1p();
        // −g(−a) = −ln(1 − q(1 − e^{−a})).
        let bottom = -(-q * -(-a).exp_m1()).ln_1p();
        top.max(bottom)
    }
}

/// RDP of the Laplace mechanism at order α > 1 (the RDP accountant's closed form).
fn laplace_rdp(l: &Laplace, alpha: f64) -> f64 {
    crate::accountant::rdp::rdp(&super::Mechanism::Laplace(*l), alpha)
        .expect("invariant: the Laplace RDP is a closed form")
}

fn ln_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_rate_one_is_the_laplace_mechanism() {
        for &b in &[0.3, 1.0, 5.0] {
            let s = SubsampledLaplace::new(b, 1.0).expect("test setup");
            let l = Laplace::new(b).expect("test setup");
            assert_eq!(s.cumulants_f64(), l.cumulants_f64());
            for &alpha in &[1.5, 2.0, 8.0, 64.0] {
                let want = laplace_rdp(&l, alpha);
                assert_eq!(s.rdp(alpha), want);
            }
        }
    }

    #[test]
    fn certified_moments_are_tight_and_enclose_the_closed_form() {
        // At integer λ, E_P[w^λ] has the binomial closed form (ln_moment_int, f64: ~1e−14);
        // the enclosures are ≤ 2^−100 wide relative to the moments' scale at 128 bits, for
        // both signs of λ, also at a = 20 (b = 0.05) and λ = 200.
        for &(b, q) in &[(0.5, 0.1), (1.0, 0.01), (3.0, 0.5), (0.05, 0.3)] {
            let s = SubsampledLaplace::new(b, q).expect("test setup");
            for lambda in [-3.0, 0.0, 1.0, 2.0, 5.0, 200.0] {
                let center = s.loss_of(0.0);
                let m = s
                    .certified_moments(lambda, center, 4, Precision(128))
                    .expect("certified");
                let scale = m[0].hi_f64();
                for (k, v) in m.iter().enumerate() {
                    let w = v.width_f64();
                    let spread = (s.loss_of(s.epsilon0()) - center)
                        .abs()
                        .max((s.loss_of(-s.epsilon0()) - center).abs());
                    assert!(
                        w <= 2f64.powi(-100) * scale * spread.powi(k as i32),
                        "b={b} q={q} λ={lambda} k={k}: width {w:e} of {v:?}"
                    );
                }
                if lambda >= 1.0 && lambda.fract() == 0.0 && lambda <= 5.0 {
                    let exact = s.ln_moment_int(lambda as u64).exp();
                    let (lo, hi) = (m[0].lo_f64(), m[0].hi_f64());
                    assert!(
                        lo <= exact * (1.0 + 1e-13) && exact <= hi * (1.0 + 1e-13),
                        "b={b} q={q} λ={lambda}: [{lo}, {hi}] vs {exact}"
                    );
                }
            }
        }
    }

    #[test]
    fn integer_moments_match_the_panel_bound_from_above() {
        for &(b, q) in &[(0.5, 0.1), (1.0, 0.01), (3.0, 0.5), (0.2, 0.3)] {
            let s = SubsampledLaplace::new(b, q).expect("test setup");
            for alpha in [2u64, 3, 5, 16] {
                let exact = s.ln_moment_int(alpha);
                let up = s.ln_moment_upper(alpha as f64);
                assert!(up >= exact, "b={b} q={q} α={alpha}: {up} < {exact}");
                assert!(
                    up - exact <= 0.01 * (1.0 + exact.abs()),
                    "b={b} q={q} α={alpha}: {up} vs {exact}"
                );
            }
            // K(0) = K(1) = 0.
            assert!(s.ln_moment_int(1).abs() < 1e-15);
            assert!(s.ln_moment_upper(1.0) >= -1e-12);
            assert!(s.ln_moment_upper(0.0) >= -1e-12);
        }
    }

    #[test]
    fn cumulants_are_consistent() {
        for &(b, q) in &[(0.5, 0.1), (1.0, 0.01), (3.0, 0.5)] {
            let s = SubsampledLaplace::new(b, q).expect("test setup");
            let c = s.cumulants_f64();
            // E_P[e^L] = 1 and KL ≥ 0 in both directions.
            let mass = s.expect_p(|_, e| e);
            assert!((mass - 1.0).abs() < 1e-10, "{mass}");
            assert!(c.p[0] < 0.0 && c.q[0] > 0.0, "{c:?}");
            assert!(c.p[1] > 0.0 && c.q[1] > 0.0);
            // |L| ≤ max(|g(−a)|, g(a)).
            let bound = s.loss_of(-1.0 / b).abs().max(s.loss_of(1.0 / b));
            assert!(c.p[0].abs() <= bound && c.p[1] <= bound * bound);
            // Small q: the loss shrinks like q.
            let small = SubsampledLaplace::new(b, q * 1e-3).expect("test setup");
            assert!(small.cumulants_f64().p[1] < 1e-5 * c.p[1]);
        }
    }

    #[test]
    fn certified_cumulants_enclose_the_f64_estimates() {
        for &(b, q) in &[(0.5, 0.1), (1.0, 0.01), (3.0, 0.5)] {
            let s = SubsampledLaplace::new(b, q).expect("test setup");
            let c = s.certified_cumulants(Precision(128)).expect("certified");
            c.assert_encloses(&s.cumulants_f64(), 1e-9, 1e-6, &format!("b={b} q={q}"));
            // As narrow as the precision: relative width of every κ below 2^-100.
            for k in c.p.iter().chain(&c.q) {
                assert!(k.rel_width() < 2f64.powi(-100), "{}", k.rel_width());
            }
            // Mass: E_P[1] and E_P[w] enclose 1.
            let m = s.certified_moments(1.0, 0.0, 0, Precision(128)).expect("m");
            assert!(m[0].lo_f64() <= 1.0 && 1.0 <= m[0].hi_f64());
        }
    }
}
