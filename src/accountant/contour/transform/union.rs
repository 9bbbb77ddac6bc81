//! The transform of a weighted disjoint union of pairs (docs/math.md §17.10): truncated Poisson
//! sampling (docs/math.md §17.8) is the union, with weights (t, 1 − t), of the replace-one
//! Poisson-subsampled Gaussian at σ/2 and the Poisson-subsampled Gaussian (σ, q).
//!
//! For pairs on disjoint spaces, M_U(z) = E_{P_U}[e^{zL}] = Σ_k w_k M_k(z) on the P side (the
//! side the contour uses, module docs of [`super`]) as on the Q side. Each M_k comes with its own
//! certified enclosure; the exact weights w_k are known only to lie within η_k of the f64 weights
//! w̃_k, which is carried as an error term. The decay bound, the strip bound, the CGF of the
//! saddle point, the Chernoff bound and the largest loss all follow from the components'
//! (docs/math.md §17.10 derives each).

use super::{Decay, DensityDecay, MgfValue, Split, Transform, C64, SPLITS, UNIT_ROUNDOFF};
use crate::cgf::CgfValue;
use crate::mechanism::truncated::{Component, TruncatedPoisson};
use crate::mechanism::Direction;

/// Target relative accuracy of the real-λ enclosures used for the tilted weights.
const TAU_REAL: f64 = 1e-17;

/// A weighted union of two component pairs in one ordering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Union {
    /// f64 weights w̃_k (≥ 0).
    w: [f64; 2],
    /// η_k ≥ |w_k − w̃_k|, the exact weight's distance (rounded up).
    eta: [f64; 2],
    /// The component pairs.
    parts: [Component; 2],
    /// The ordering (each component's transform is taken in it).
    direction: Direction,
}

/// ln of a sum of non-negative terms given as logs; +∞ if any is +∞ or NaN (no bound).
fn ln_sum(v: &[f64]) -> f64 {
    if v.iter().any(|x| x.is_nan() || *x == f64::INFINITY) {
        return f64::INFINITY;
    }
    super::logsumexp(v)
}

impl Union {
    /// From components with f64 weights and their error bounds: (w̃_k, η_k, pair_k).
    ///
    /// The caller guarantees w̃_k ≥ 0, η_k ≥ 0 finite and |w_k − w̃_k| ≤ η_k for the exact
    /// weights w_k of the union.
    pub fn new(parts: [(f64, f64, Component); 2], direction: Direction) -> Union {
        Union {
            w: [parts[0].0, parts[1].0],
            eta: [parts[0].1, parts[1].1],
            parts: [parts[0].2, parts[1].2],
            direction,
        }
    }

    /// The truncated-Poisson union of one ordering (docs/math.md §17.8, §17.10): weight t on the
    /// truncation component, 1 − t on the untruncated one. η_a from the certified enclosure
    /// [t_lo, t_hi] ∋ t around t_f; w̃_b = fl(1 − t_f) with η_b = η_a + 2u·w̃_b (the
    /// subtraction errs by at most u(1 − t_f)).
    pub fn truncated(t: &TruncatedPoisson, direction: Direction) -> Union {
        let u = UNIT_ROUNDOFF;
        let tf = t.truncation_weight();
        let (lo, hi) = t.truncation_weight_bounds();
        let eta_a = (hi - tf).max(tf - lo).max(0.0) * (1.0 + 4.0 * u);
        let wb = 1.0 - tf;
        let eta_b = eta_a * (1.0 + 4.0 * u) + 2.0 * u * wb;
        Union::new(
            [
                (tf, eta_a, t.truncated_component()),
                (wb, eta_b, t.untruncated_component()),
            ],
            direction,
        )
    }

    /// The components' transforms (never a union themselves).
    pub fn transforms(&self) -> [Transform; 2] {
        [
            Transform::new(&self.parts[0].mechanism(), self.direction),
            Transform::new(&self.parts[1].mechanism(), self.direction),
        ]
    }

    /// Whether component k takes part: a positive weight or a positive weight error.
    fn active(&self, k: usize) -> bool {
        self.w[k] > 0.0 || self.eta[k] > 0.0
    }

    /// ln M̃_U(z) = ln Σ_k w̃_k M̃_k(z) with its certified error bound (docs/math.md §17.10):
    /// Σ w̃_k e_k (the components' errors) + Σ η_k(|M̃_k| + e_k) (the weights; |M_k| ≤
    /// |M̃_k| + e_k) + the rounding of the sum and of its logarithm.
    pub fn combine(&self, vals: [MgfValue; 2]) -> MgfValue {
        let u = UNIT_ROUNDOFF;
        let bad = MgfValue {
            ln: C64::new(f64::NAN, 0.0),
            ln_err: f64::INFINITY,
        };
        let mut m = f64::NEG_INFINITY;
        for (k, v) in vals.iter().enumerate() {
            if !self.active(k) {
                continue;
            }
            if v.ln.re.is_nan() || v.ln.im.is_nan() || v.ln_err.is_nan() || v.ln.re == f64::INFINITY
            {
                return bad;
            }
            if self.w[k] > 0.0 {
                m = m.max(self.w[k].ln() + v.ln.re);
            }
        }
        let mut sum = C64::new(0.0, 0.0);
        // Rounding of the terms relative to e^m (docs/math.md §17.10).
        let mut round_rel = 0.0;
        let mut abs_terms = 0.0;
        let mut errs: Vec<f64> = Vec::with_capacity(6);
        for (k, v) in vals.iter().enumerate() {
            if !self.active(k) {
                continue;
            }
            if self.w[k] > 0.0 {
                let lw = self.w[k].ln();
                let c = C64::new(lw - m, 0.0) + v.ln;
                let term = c.exp();
                sum += term;
                abs_terms += term.norm();
                let arg = lw.abs() + v.ln.norm() + m.abs();
                round_rel += term.norm() * u * (20.0 + 4.0 * arg) + f64::MIN_POSITIVE;
                errs.push(lw + v.ln_err);
            }
            if self.eta[k] > 0.0 {
                errs.push(self.eta[k].ln() + ln_sum(&[v.ln.re, v.ln_err]));
            }
        }
        if m == f64::NEG_INFINITY {
            // No positive weight: M̃_U = 0, the whole value is the weight error.
            return MgfValue {
                ln: C64::new(f64::NEG_INFINITY, 0.0),
                ln_err: ln_sum(&errs),
            };
        }
        let ln = sum.ln() + m;
        if ln.re.is_nan() || ln.im.is_nan() {
            return bad;
        }
        // The sum of two complex terms (≤ 4u Σ|terms|), and the logarithm and the shift by m
        // (relative ≤ u(16 + 4(|ln sum| + |m|)) of |M̃_U|).
        errs.push(m + (round_rel + 4.0 * u * abs_terms).ln());
        errs.push(ln.re + (u * (16.0 + 4.0 * (ln.norm() + m.abs()))).ln());
        MgfValue {
            ln,
            ln_err: ln_sum(&errs),
        }
    }

    /// ln M̃_U(z) with its certified error bound.
    pub fn ln_mgf(&self, z: C64, tau: f64) -> MgfValue {
        let [a, b] = self.transforms();
        self.combine([a.ln_mgf(z, tau), b.ln_mgf(z, tau)])
    }

    /// [`Union::combine`] point by point: the components' values at the same points (as
    /// [`Transform::ln_mgf_batch`] gives them) to the union's.
    pub fn combine_batch(&self, [va, vb]: [Vec<MgfValue>; 2]) -> Vec<MgfValue> {
        va.into_iter()
            .zip(vb)
            .map(|(x, y)| self.combine([x, y]))
            .collect()
    }

    /// K_U(λ) and the tilted moments of the union (f64 estimates): with π_k = w̃_k M_k(λ)/M_U(λ)
    /// the tilted law is the π-mixture of the components' tilted laws, whose central moments
    /// follow from the components' about the common mean.
    pub fn cgf(&self, lambda: f64) -> CgfValue {
        let [a, b] = self.transforms();
        let cs = [a.cgf(lambda), b.cgf(lambda)];
        let lps: Vec<f64> = (0..2)
            .map(|k| {
                if self.w[k] > 0.0 {
                    self.w[k].ln() + cs[k].k
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect();
        let kk = super::logsumexp(&lps);
        let pi: Vec<f64> = lps.iter().map(|l| (l - kk).exp()).collect();
        let mean: f64 = (0..2)
            .filter(|&k| pi[k] > 0.0)
            .map(|k| pi[k] * cs[k].mean)
            .sum();
        let (mut var, mut mu3, mut mu4) = (0.0, 0.0, 0.0);
        for k in (0..2).filter(|&k| pi[k] > 0.0) {
            let c = &cs[k];
            let d = c.mean - mean;
            var += pi[k] * (c.var + d * d);
            mu3 += pi[k] * (c.mu3 + 3.0 * c.var * d + d * d * d);
            mu4 += pi[k] * (c.mu4 + 4.0 * c.mu3 * d + 6.0 * c.var * d * d + d * d * d * d);
        }
        CgfValue {
            lambda,
            k: kk,
            mean,
            var,
            mu3,
            mu4,
        }
    }

    /// An upper bound on ln M_U(λ): ln Σ (w̃_k + η_k)·M_k^up(λ), rounded up (+∞ where a
    /// component has none).
    pub fn ln_mgf_upper(&self, lambda: f64) -> f64 {
        let ts = self.transforms();
        let v: Vec<f64> = (0..2)
            .filter(|&k| self.active(k))
            .map(|k| {
                ((self.w[k] + self.eta[k]) * (1.0 + UNIT_ROUNDOFF)).ln()
                    + ts[k].ln_mgf_upper(lambda)
            })
            .collect();
        let s = ln_sum(&v);
        if s.is_nan() {
            f64::INFINITY
        } else {
            s + 8.0 * UNIT_ROUNDOFF * (1.0 + s.abs())
        }
    }

    /// Bounds on the tilted weights π_k = w_k M_k(λ)/M_U(λ) at real λ from the certified
    /// enclosures: (π_lo, π_up, π̂); None where the enclosures do not bound M_U(λ) away from 0.
    fn tilted_weights(&self, lambda: f64) -> Option<([f64; 2], [f64; 2], [f64; 2])> {
        let ts = self.transforms();
        let z = C64::new(lambda, 0.0);
        let mut lo = [f64::NEG_INFINITY; 2];
        let mut up = [f64::NEG_INFINITY; 2];
        let mut mid = [f64::NEG_INFINITY; 2];
        for k in 0..2 {
            if !self.active(k) {
                continue;
            }
            let v = ts[k].ln_mgf(z, TAU_REAL);
            if v.ln.re.is_nan() || v.ln_err.is_nan() || v.ln_err == f64::INFINITY {
                return None;
            }
            let rel = (v.ln_err - v.ln.re).exp();
            up[k] = ((self.w[k] + self.eta[k]) * (1.0 + rel)).ln() + v.ln.re;
            let wl = self.w[k] - self.eta[k];
            if wl > 0.0 && rel < 1.0 {
                lo[k] = (wl * (1.0 - rel)).ln() + v.ln.re;
            }
            if self.w[k] > 0.0 {
                mid[k] = self.w[k].ln() + v.ln.re;
            }
        }
        let (tot_lo, tot_up, tot_mid) = (
            super::logsumexp(&lo),
            super::logsumexp(&up),
            super::logsumexp(&mid),
        );
        if !tot_lo.is_finite() || !tot_up.is_finite() {
            return None;
        }
        // Each quotient of rounded logs: a relative margin 1e−12 (far above the rounding).
        let f = |x: f64, t: f64, s: f64| ((x - t).exp() * s).min(1.0);
        // An upper weight that underflows is kept at the smallest normal number (above it).
        let fu = |k: usize, x: f64| {
            if self.active(k) {
                f(x, tot_lo, 1.0 + 1e-12).max(f64::MIN_POSITIVE)
            } else {
                0.0
            }
        };
        Some((
            [f(lo[0], tot_up, 1.0 - 1e-12), f(lo[1], tot_up, 1.0 - 1e-12)],
            [fu(0, up[0]), fu(1, up[1])],
            [f(mid[0], tot_mid, 1.0), f(mid[1], tot_mid, 1.0)],
        ))
    }

    /// The decay bound of |M_U(λ + it)|/M_U(λ) (docs/math.md §17.10): the union's tilted law is
    /// the π-mixture of the components' tilted laws, so |φ_U(t)| ≤ Σ π_k|φ_k(t)|; its
    /// [`Decay::Density`] parameters are the components' combined: TV and the split pairs
    /// (p, C) summed with weights π_k^up, the variance from the law of total variance (with
    /// weights π_k^lo) and the third absolute central moment by Minkowski's inequality. A
    /// Gaussian component enters with its exact TV, moments and split pair (0, 1/(μ√e)). Where
    /// the tilted weights cannot be bounded the bound is 1 (no decay; the contour then cannot
    /// truncate and refuses or caps).
    pub fn decay(&self, lambda: f64) -> Decay {
        let trivial = Decay::Density(DensityDecay {
            var_lo: 0.0,
            rho3_hi: f64::INFINITY,
            tv_hi: f64::INFINITY,
            splits: [Split::UNUSED; SPLITS],
        });
        let Some((pi_lo, pi_up, pi_mid)) = self.tilted_weights(lambda) else {
            return trivial;
        };
        let ts = self.transforms();
        let mut parts = Vec::with_capacity(2);
        for k in 0..2 {
            if !self.active(k) {
                continue;
            }
            let Some(p) = density_params(&ts[k].decay(lambda)) else {
                return trivial;
            };
            parts.push((k, p, ts[k].cgf(lambda).mean));
        }
        let mean: f64 = parts.iter().map(|(k, _, m)| pi_mid[*k] * m).sum();
        let mut var_lo = 0.0;
        let mut rho3_hi = 0.0;
        let mut tv_hi = 0.0;
        // Slot j: |φ_U| ≤ Σ π_k (p_kj·m_kj(t) + C_kj/|t|) ≤ (Σ π_k p_kj)·max_k m_kj(t) + ..., and
        // the third-moment bound with the smallest variance and the largest third moment of the
        // components that have mass below their cut is at least each m_kj (its variance
        // enclosure contains theirs).
        let mut splits = [Split::new(0.0, 0.0, f64::INFINITY, 0.0); SPLITS];
        for (k, p, m) in &parts {
            let d = (m - mean).abs();
            var_lo += pi_lo[*k] * (p.var_lo + (1.0 - 1e-3) * d * d);
            rho3_hi += pi_up[*k] * (p.rho3_hi.cbrt() * (1.0 + 1e-12) + d).powi(3);
            tv_hi += pi_up[*k] * p.tv_hi;
            for (s, q) in splits.iter_mut().zip(&p.splits) {
                s.p += pi_up[*k] * q.p;
                s.c += pi_up[*k] * q.c;
                if q.p > 0.0 {
                    s.var_lo = s.var_lo.min(q.var_lo);
                    s.rho3_hi = s.rho3_hi.max(q.rho3_hi);
                }
            }
        }
        for s in splits.iter_mut() {
            s.p = (s.p * (1.0 + 1e-12)).min(1.0);
            s.c *= 1.0 + 1e-12;
            *s = if !(s.p.is_finite() && s.c.is_finite()) {
                Split::UNUSED
            } else if !(s.var_lo.is_finite() && s.rho3_hi >= 0.0) {
                Split::new(s.p, s.c, 0.0, f64::INFINITY)
            } else {
                // The slot's moments were combined in place: its Lyapunov end anew.
                Split::new(s.p, s.c, s.var_lo, s.rho3_hi)
            };
        }
        Decay::Density(DensityDecay {
            var_lo: if var_lo.is_finite() { var_lo } else { 0.0 },
            rho3_hi: if rho3_hi.is_nan() {
                f64::INFINITY
            } else {
                rho3_hi * (1.0 + 1e-3)
            },
            tv_hi: if tv_hi.is_nan() {
                f64::INFINITY
            } else {
                tv_hi * (1.0 + 1e-12)
            },
            splits,
        })
    }

    /// An upper bound on E_λ|L| under the union's tilted law: Σ π_k^up E_{λ,k}|L| (a Gaussian
    /// component: |mean| + μ ≥ E|N(mean, μ²)|).
    pub fn tilted_abs_mean(&self, lambda: f64) -> Option<f64> {
        let (_, pi_up, _) = self.tilted_weights(lambda)?;
        let ts = self.transforms();
        let mut s = 0.0;
        for k in (0..2).filter(|&k| self.active(k)) {
            let a = match ts[k] {
                Transform::Gaussian { mu } => {
                    (ts[k].cgf(lambda).mean.abs() + mu.abs()) * (1.0 + 1e-9)
                }
                t => t.tilted_abs_mean(lambda)?,
            };
            s += pi_up[k] * a;
        }
        (s.is_finite()).then_some(s * (1.0 + 1e-12))
    }

    /// Estimated x-nodes of one evaluation at λ + it (both components).
    pub fn cost(&self, lambda: f64, t: f64) -> f64 {
        self.transforms().iter().map(|x| x.cost(lambda, t)).sum()
    }

    /// Estimated x-nodes of the real-λ summaries (the components' and the real enclosures of
    /// the tilted weights).
    pub fn real_cost(&self, lambda: f64) -> f64 {
        self.transforms()
            .iter()
            .map(|x| x.real_cost(lambda) + x.cost(lambda, 0.0))
            .sum()
    }

    /// The one-step δ bracket: δ_U(ε) = Σ w_k δ_k(ε) (docs/math.md §17.8), the lower end with
    /// weights (w̃_k − η_k)₊, the upper with w̃_k + η_k; None unless every active component has
    /// its own bracket.
    pub fn single_step_delta(&self, epsilon: f64) -> Option<(f64, f64, f64)> {
        let ts = self.transforms();
        let (mut lo, mut val, mut up) = (0.0, 0.0, 0.0);
        for k in (0..2).filter(|&k| self.active(k)) {
            let (l, v, h) = ts[k].single_step_delta(epsilon)?;
            lo += (self.w[k] - self.eta[k]).max(0.0) * l;
            val += self.w[k] * v;
            up += (self.w[k] + self.eta[k]) * h;
        }
        let u = UNIT_ROUNDOFF;
        let (lo, up) = (
            (lo * (1.0 - 8.0 * u)).max(0.0),
            (up * (1.0 + 8.0 * u)).min(1.0),
        );
        Some((lo, val.clamp(lo, up), up))
    }

    /// sup L of the union: the largest of the active components' (None if one is unbounded).
    pub fn loss_max(&self) -> Option<f64> {
        let ts = self.transforms();
        (0..2)
            .filter(|&k| self.active(k))
            .map(|k| ts[k].loss_max())
            .try_fold(f64::NEG_INFINITY, |acc, m| m.map(|m| acc.max(m)))
    }

    /// Whether every component's transform is representable in f64, and what failed.
    pub fn domain(&self) -> (bool, String) {
        for t in self.transforms() {
            let (ok, what) = match t {
                Transform::Gaussian { mu } => ((mu * mu).is_normal(), format!("mu = {mu:e}")),
                Transform::Subsampled { mu, .. } => {
                    ((mu * mu).is_finite(), format!("mu^2 = {:e}", mu * mu))
                }
                Transform::Mixture { ref law } => {
                    let m = super::MixturePair::new(law).max_abs_mean();
                    (
                        (m * m).is_finite(),
                        format!("the largest mixture mean's square = {:e}", m * m),
                    )
                }
                _ => (false, "an unsupported union component".to_string()),
            };
            if !ok {
                return (false, format!("the union's component with {what}"));
            }
        }
        let ok = self
            .w
            .iter()
            .chain(&self.eta)
            .all(|x| x.is_finite() && *x >= 0.0);
        (ok, format!("union weights {:?} ± {:?}", self.w, self.eta))
    }
}

/// A component's decay as density parameters: a Gaussian tilted law N(m, μ²) has variance μ²,
/// E|Y − m|³ = 2√(2/π)μ³ < 1.6μ³, density TV 2/(μ√(2π)) and |φ(t)| = e^{−t²μ²/2} ≤
/// 1/(μ√e·t) (the split pair (0, 1/(μ√e))). None for the Laplace, two-atom and atom-at-zero bounds (not
/// union components).
fn density_params(d: &Decay) -> Option<DensityDecay> {
    match *d {
        Decay::Density(d) => Some(d),
        Decay::Gaussian { mu2 } => {
            let s = mu2.sqrt();
            let up = 1.0 + 1e-12;
            Some(DensityDecay {
                var_lo: mu2 * (1.0 - 1e-12),
                rho3_hi: 1.6 * mu2 * s * up,
                tv_hi: 2.0 / (s * (2.0 * std::f64::consts::PI).sqrt()) * up,
                splits: [Split::new(
                    0.0,
                    up / (s * std::f64::consts::E.sqrt()),
                    0.0,
                    f64::INFINITY,
                ); SPLITS],
            })
        }
        Decay::Laplace { .. } | Decay::AtomAtZero { .. } | Decay::TwoAtoms { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanism::GaussianMixture;

    fn unions() -> Vec<Union> {
        let mut out = Vec::new();
        for &(n, q, b, s) in &[
            (1000u64, 0.05, 40u64, 2.0),
            (60_000, 256.0 / 60_000.0, 270, 1.0),
            (10_000, 0.01, 100, 0.8),
        ] {
            let t = TruncatedPoisson::new(n, q, b, s).expect("test setup");
            for dir in [Direction::Remove, Direction::Add] {
                out.push(Union::truncated(&t, dir));
                out.push(Union::truncated(&t.replace_one(), dir));
            }
        }
        out
    }

    /// M_U(0) = M_U(1) = 1 (P_U and Q_U are probability laws) within the certified error, and
    /// at complex z the union's enclosure overlaps the weighted sum of independent enclosures of
    /// the components (the Poisson-subsampled component through the general mixture
    /// quadrature of docs/math.md §17.9 instead of its own).
    #[test]
    fn union_matches_an_independent_weighted_sum() {
        for un in unions() {
            for z in [0.0, 1.0] {
                let v = un.ln_mgf(C64::new(z, 0.0), 1e-17);
                assert!(
                    (v.ln.exp() - 1.0).norm() <= v.ln_err.exp() + 1e-14,
                    "{un:?} z={z}: {v:?}"
                );
            }
            let indep: Vec<Transform> = un
                .parts
                .iter()
                .map(|c| Transform::Mixture {
                    law: c.law(un.direction),
                })
                .collect();
            for &(lam, t) in &[(2.0, 0.0), (3.5, 2.0), (6.0, 17.0), (1.5, 120.0)] {
                let z = C64::new(lam, t);
                let v = un.ln_mgf(z, 1e-17);
                let (mut sum, mut err) = (C64::new(0.0, 0.0), 0.0);
                for k in 0..2 {
                    let c = indep[k].ln_mgf(z, 1e-17);
                    sum += c.ln.exp() * un.w[k];
                    err += c.ln_err.exp() * (un.w[k] + un.eta[k]) + un.eta[k] * c.ln.exp().norm();
                }
                let diff = (v.ln.exp() - sum).norm();
                let bound = v.ln_err.exp() + err + 1e-15 * sum.norm();
                assert!(diff <= bound, "{un:?} z={z}: {diff:e} > {bound:e}");
                let scale = un.ln_mgf(C64::new(lam, 0.0), 1e-17).ln.re.exp();
                assert!(v.ln_err.exp() <= 1e-11 * scale, "{z}: {v:?}");
            }
        }
    }

    /// The union's decay bound holds on a grid of t (the certified |M_U(λ + it)| over M_U(λ),
    /// below the bound times 1 + 1e−9).
    #[test]
    fn union_decay_bound_holds() {
        for un in unions().into_iter().step_by(3) {
            for lam in [2.0, 6.0] {
                let d = un.decay(lam);
                let m0 = un.ln_mgf(C64::new(lam, 0.0), 1e-17).ln.re;
                for k in 1..120 {
                    let tt = k as f64 * 0.53;
                    let v = un.ln_mgf(C64::new(lam, tt), 1e-17);
                    let ratio = (v.ln.re - m0).exp() + (v.ln_err - m0).exp();
                    assert!(
                        ratio <= d.bound(tt) * (1.0 + 1e-9) + 1e-15,
                        "{un:?} λ={lam} t={tt}: {ratio} > {}",
                        d.bound(tt)
                    );
                }
                let slope = un.tilted_abs_mean(lam).expect("slope");
                assert!(slope.is_finite() && slope > 0.0);
            }
        }
    }

    /// The union's split bounds (components' conditional moments combined by the smallest
    /// variance and the largest third moment) hold for rarely sampled truncated Poisson unions on
    /// a log grid of t up to ~10⁴.
    #[test]
    fn union_split_moment_bounds_hold_at_small_q() {
        let unions = [(1000u64, 0.001, 40u64, 1.0), (100_000, 1e-4, 30, 1.5)]
            .into_iter()
            .flat_map(|(n, q, b, s)| {
                let t = TruncatedPoisson::new(n, q, b, s).expect("test setup");
                [Direction::Remove, Direction::Add]
                    .into_iter()
                    .flat_map(move |dir| {
                        [
                            Union::truncated(&t, dir),
                            Union::truncated(&t.replace_one(), dir),
                        ]
                    })
            });
        crate::accountant::contour::transform::tests::assert_decays_on_log_grids(
            unions,
            &[3.0, 10.0],
            (1..120).step_by(3),
            200,
        );
    }

    /// The union's CGF: K(λ) agrees with the certified ln M_U(λ), K' with a central difference,
    /// and the Chernoff upper bound lies above the enclosure's lower end.
    #[test]
    fn union_cgf_is_consistent() {
        for un in unions() {
            for lam in [1.5, 3.0, 8.0] {
                let c = un.cgf(lam);
                let v = un.ln_mgf(C64::new(lam, 0.0), 1e-17);
                assert!(
                    (c.k - v.ln.re).abs() <= 1e-8 * (1.0 + v.ln.re.abs()),
                    "{c:?} {v:?}"
                );
                let h = 1e-4;
                let d = (un.cgf(lam + h).k - un.cgf(lam - h).k) / (2.0 * h);
                assert!(
                    (d - c.mean).abs() <= 1e-5 * (1.0 + d.abs()),
                    "{lam}: {d} vs {c:?}"
                );
                let d2 = (un.cgf(lam + h).mean - un.cgf(lam - h).mean) / (2.0 * h);
                assert!(
                    (d2 - c.var).abs() <= 1e-4 * (1.0 + d2.abs()),
                    "{lam}: {d2} vs {c:?}"
                );
                // Both are upper bounds on M_U(λ): the Chernoff one is above the enclosure's
                // lower end and close to it.
                let up = un.ln_mgf_upper(lam);
                let lo = (v.ln.re.exp() - v.ln_err.exp()).ln();
                assert!(
                    up >= lo && up - lo <= 1e-8 * (1.0 + lo.abs()),
                    "{lam}: {up} vs {lo}"
                );
            }
        }
    }

    /// The weight error is carried: weights (1, 0) with no error give the first component's
    /// enclosure; a weight error η on the zero weight adds at least η·|M_b| to the bound; a
    /// NaN component leaves no bound (+∞), never a number.
    #[test]
    fn weight_error_and_bad_components() {
        let a = Component::Mixture(GaussianMixture::replace_one_poisson(0.5, 0.3).expect("setup"));
        let b = Component::Subsampled(
            crate::mechanism::SubsampledGaussian::new(1.0, 0.05).expect("setup"),
        );
        let z = C64::new(3.0, 1.5);
        let only_a = Union::new([(1.0, 0.0, a), (0.0, 0.0, b)], Direction::Remove);
        let ta = Transform::new(&a.mechanism(), Direction::Remove);
        let (va, vu) = (ta.ln_mgf(z, 1e-17), only_a.ln_mgf(z, 1e-17));
        assert!((va.ln.exp() - vu.ln.exp()).norm() <= 1e-14 * va.ln.exp().norm());
        assert!(vu.ln_err >= va.ln_err);
        let eta = 1e-6;
        let slack = Union::new([(1.0, 0.0, a), (0.0, eta, b)], Direction::Remove);
        let vb = Transform::new(&b.mechanism(), Direction::Remove).ln_mgf(z, 1e-17);
        let vs = slack.ln_mgf(z, 1e-17);
        assert!(vs.ln_err.exp() >= eta * vb.ln.exp().norm(), "{vs:?}");
        let bad = MgfValue {
            ln: C64::new(f64::NAN, 0.0),
            ln_err: f64::INFINITY,
        };
        let v = slack.combine([va, bad]);
        assert_eq!(v.ln_err, f64::INFINITY);
        let only = Union::new([(1.0, 0.0, a), (0.0, 0.0, b)], Direction::Remove);
        assert_eq!(only.combine([va, bad]).ln_err, va.ln_err.max(vu.ln_err));
    }

    /// The one-step bracket is the weighted sum of the components' (both exact) and the
    /// largest loss is the larger of the components' (add ordering: bounded; remove: not).
    #[test]
    fn single_step_and_largest_loss() {
        let t = TruncatedPoisson::new(1000, 0.05, 40, 2.0).expect("setup");
        let un = Union::truncated(&t, Direction::Add);
        let [ta, tb] = un.transforms();
        for eps in [0.05, 0.3, 1.0] {
            let (l, v, h) = un.single_step_delta(eps).expect("bracket");
            let a = ta.single_step_delta(eps).expect("a");
            let b = tb.single_step_delta(eps).expect("b");
            let want = un.w[0] * a.1 + un.w[1] * b.1;
            assert!(
                l <= want && want <= h && l <= v && v <= h,
                "{eps}: {l} {v} {h} {want}"
            );
            assert!(h - l <= 1e-9 * h.max(1e-300) + 1e-300, "{eps}: {l} {h}");
        }
        // The replace-one component's loss is unbounded above: no largest loss in either
        // ordering.
        assert_eq!(un.loss_max(), None);
        assert_eq!(Union::truncated(&t, Direction::Remove).loss_max(), None);
        let add_only = Union::new(
            [
                (0.7, 0.0, t.untruncated_component()),
                (0.3, 0.0, t.untruncated_component()),
            ],
            Direction::Add,
        );
        let m = tb.loss_max().expect("add ordering bounded");
        assert_eq!(add_only.loss_max(), Some(m));
    }
}
