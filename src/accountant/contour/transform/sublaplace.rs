//! The transform of the Poisson-subsampled Laplace loss (docs/math.md §15.6).
//!
//! With a = 1/b, w(t) = 1 − q + q e^t and g(t) = ln w(t), the remove ordering's loss is L = g(t)
//! with t the plain Laplace loss, whose P-law is an atom ½ at −a, an atom e^{−a}/2 at a and the
//! density ¼e^{−a/2}e^{−t/2} on (−a, a) (docs/math.md §15.5). Hence, for complex ζ,
//!
//! ```text
//! F(ζ) = E_P[e^{ζL}] = A(ζ) + C(ζ),
//! A(ζ) = ½e^{ζℓ₋} + ½e^{−a}e^{ζℓ₊},   ℓ± = g(±a),
//! C(ζ) = ¼e^{−a/2} ∫_{−a}^{a} e^{ζg(t) − t/2} dt,
//! ```
//!
//! and M_remove(z) = F(z), M_add(z) = F(1 − z). A is a closed form; C is the (N+1)-point
//! Clenshaw–Curtis rule with the Bernstein-ellipse bound of docs/math.md §15.4, the ellipse chosen
//! inside the strip |Im t| < π where g is analytic (§15.6.2); the decay bound
//! |C(α + iβ)| ≤ 2(φ(ℓ₋) + φ(ℓ₊))/|β| comes from one integration by parts (§15.6.3).

use super::{logsumexp, MgfValue, C64, UNIT_ROUNDOFF};
use crate::special::quadrature::log1p_qexpm1;
use crate::special::sum::Neumaier;
use std::f64::consts::{LN_2, PI};
use std::sync::OnceLock;

/// Smallest and largest Clenshaw–Curtis degree (powers of two in between).
const CC_MIN_LOG2: u32 = 4;
const CC_MAX_LOG2: u32 = 13;
/// The largest degree N (N + 1 nodes).
pub const CC_MAX: usize = 1 << CC_MAX_LOG2;
/// Degree of the f64 real-λ estimates.
const CC_REAL: usize = 256;
/// Bound on the absolute error of each computed node x̃_j = cos(jπ/N) (π rounded, the argument
/// rounded, cos faithful: 6πu + u ≤ 20u).
const NODE_ERR: f64 = 20.0 * UNIT_ROUNDOFF;
/// Bound on the absolute error of each computed weight (docs/math.md §15.6.2: ≤ 6u for N ≥ 16).
const WEIGHT_ERR: f64 = 8.0 * UNIT_ROUNDOFF;

/// The (N+1)-point Clenshaw–Curtis rule on [−1, 1].
struct CcRule {
    x: Vec<f64>,
    w: Vec<f64>,
}

const RULE_INIT: OnceLock<CcRule> = OnceLock::new();
static RULES: [OnceLock<CcRule>; (CC_MAX_LOG2 + 1) as usize] =
    [RULE_INIT; (CC_MAX_LOG2 + 1) as usize];

/// The rule of degree n = 2^k (cached): nodes cos(jπ/n), weights of Trefethen's `clencurt`
/// (docs/math.md §15.4), computed from one table of cos(mπ/n), m < 2n.
fn cc_rule(n: usize) -> &'static CcRule {
    let k = n.trailing_zeros() as usize;
    debug_assert!(n.is_power_of_two() && k <= CC_MAX_LOG2 as usize);
    RULES[k].get_or_init(|| {
        let nf = n as f64;
        let cos_t: Vec<f64> = (0..2 * n).map(|m| (PI * m as f64 / nf).cos()).collect();
        let x: Vec<f64> = cos_t[..=n].to_vec();
        let mut w = vec![0.0; n + 1];
        let end = 1.0 / (nf * nf - 1.0);
        w[0] = end;
        w[n] = end;
        for (j, wj) in w.iter_mut().enumerate().take(n).skip(1) {
            let mut v = 1.0;
            for kk in 1..n / 2 {
                let m = (2 * kk * j) % (2 * n);
                v -= 2.0 * cos_t[m] / (4.0 * (kk * kk) as f64 - 1.0);
            }
            v -= if j % 2 == 0 { end } else { -end };
            *wj = 2.0 * v / nf;
        }
        CcRule { x, w }
    })
}

/// The Poisson-subsampled Laplace pair (remove ordering's P-law of the plain loss t), a = 1/b.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubLaplace {
    /// Sampling rate q ∈ (0, 1).
    pub q: f64,
    /// a = 1/b.
    pub a: f64,
}

/// The atoms of F in one ordering's z-variable: A(z) = Σ m_i e^{zℓ_i}, with ℓ_hi > ℓ_lo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AtomPair {
    /// (ℓ, ln m) of the larger loss.
    pub hi: (f64, f64),
    /// (ℓ, ln m) of the smaller loss.
    pub lo: (f64, f64),
    /// Bound on the absolute error of each ℓ and each ln m.
    pub err: f64,
}

/// Real-λ f64 estimates: ln F(α) and the tilted moments of L (mean, variance, μ₃, μ₄).
#[derive(Debug, Clone, Copy)]
pub struct RealMoments {
    /// ln F(α).
    pub ln_f: f64,
    /// E_α[L].
    pub mean: f64,
    /// Var_α[L].
    pub var: f64,
    /// E_α[(L − mean)³].
    pub mu3: f64,
    /// E_α[(L − mean)⁴].
    pub mu4: f64,
}

impl SubLaplace {
    /// g(t) = ln(1 − q + q e^t).
    pub fn g(&self, t: f64) -> f64 {
        log1p_qexpm1(self.q, t)
    }

    /// A bound on the absolute error of the computed g(t): log1p of q·expm1(t) with 3u relative
    /// error in its argument x moves g by ≤ 3u|x/(1 + x)| = 3u|1 − e^{−g}| ≤ 3u|g|e^{max(0, −g)},
    /// plus 2u|g| for log1p and the log-add-exp branch.
    fn g_err(g: f64) -> f64 {
        UNIT_ROUNDOFF * ((2.0 + 3.0 * (-g).max(0.0).exp()) * g.abs() + 1e-300)
    }

    /// (ℓ₋, ℓ₊) = (g(−a), g(a)).
    pub fn ends(&self) -> (f64, f64) {
        (self.g(-self.a), self.g(self.a))
    }

    /// The atoms in the z-variable of one ordering: remove (ℓ₋, ½), (ℓ₊, e^{−a}/2); add
    /// (F(1 − z): e^{(1−z)ℓ} = e^{ℓ}e^{−zℓ}) (−ℓ₋, ½e^{ℓ₋}), (−ℓ₊, ½e^{−a + ℓ₊}).
    pub fn atoms(&self, add: bool) -> AtomPair {
        let (lm, lp) = self.ends();
        let err = 2.0 * (Self::g_err(lm) + Self::g_err(lp))
            + 4.0 * UNIT_ROUNDOFF * (self.a + LN_2 + lm.abs() + lp.abs());
        if add {
            AtomPair {
                hi: (-lm, lm - LN_2),
                lo: (-lp, lp - self.a - LN_2),
                err,
            }
        } else {
            AtomPair {
                hi: (lp, -self.a - LN_2),
                lo: (lm, -LN_2),
                err,
            }
        }
    }

    /// The largest loss of an ordering: remove ℓ₊ = g(a), add −ℓ₋ = −g(−a), rounded up.
    pub fn loss_max(&self, add: bool) -> f64 {
        let (lm, lp) = self.ends();
        let m = if add { -lm } else { lp };
        m + Self::g_err(m) * 2.0 + 4.0 * UNIT_ROUNDOFF * m.abs()
    }

    /// ln of the prefactor of the ∫_{−1}^{1}: C(ζ) = (a/4)e^{−a/2}∫_{−1}^{1} e^{ζg(ax) − ax/2}dx.
    fn ln_pref(&self) -> f64 {
        (0.25 * self.a).ln() - 0.5 * self.a
    }

    /// ln of an upper bound on sup |e^{ζg(t) − t/2}| over the rectangle [−R, R] × [−S, S],
    /// R = √(a² + S²) (docs/math.md §15.6.2), with ρ = S/a + √(1 + (S/a)²).
    fn ln_ellipse_max(&self, alpha: f64, beta_abs: f64, s: f64) -> (f64, f64) {
        let a = self.a;
        let rho = s / a + (1.0 + (s / a) * (s / a)).sqrt();
        let r = (a * a + s * s).sqrt();
        let (gr, gmr) = (self.g(r), self.g(-r));
        // g'(R) = q e^R / w(R) = q e^{R − g(R)} (≤ 1).
        let gp = (self.q * (r - gr).exp()).min(1.0);
        let cs = (0.5 * s).cos();
        let gamma = (gp / cs).min(1.0);
        let neg = if alpha < 0.0 { -alpha * -cs.ln() } else { 0.0 };
        let ln_m = (alpha * gr).max(alpha * gmr) + 0.5 * r + neg + beta_abs * s * gamma;
        (ln_m, rho)
    }

    /// ln of the Clenshaw–Curtis error bound for C at degree n and strip half-width s:
    /// (a/4)e^{−a/2}·2M(W + 2/(n(n+2)))ρ^{−n}/(ρ − 1) (docs/math.md §15.4), W ≤ 2 + 8u(n+1),
    /// with a relative margin 1e−6 on the logarithm for its own f64 evaluation.
    fn ln_cc_error(&self, alpha: f64, beta_abs: f64, n: usize, s: f64) -> f64 {
        let (ln_m, rho) = self.ln_ellipse_max(alpha, beta_abs, s);
        let nf = n as f64;
        let w = 2.0 + 8.0 * UNIT_ROUNDOFF * (nf + 1.0) + 2.0 / (nf * (nf + 2.0));
        let v = self.ln_pref() + LN_2 + ln_m + w.ln() - nf * rho.ln() - (rho - 1.0).ln();
        if v.is_nan() {
            f64::INFINITY
        } else {
            v + 1e-6 * (1.0 + v.abs())
        }
    }

    /// The strip half-widths tried: geometric from 10⁻⁴ to 3 (< π).
    fn strip_widths() -> impl Iterator<Item = f64> {
        (0..=28).map(|i| 3.0 * (1e-4f64 / 3.0).powf(i as f64 / 28.0))
    }

    /// The degree N (a power of two in [16, [`CC_MAX`]]) and ln of the certified quadrature
    /// error at ζ = α ± iβ, aiming at ln_target (the smallest N that meets it, or [`CC_MAX`]).
    pub fn choose(&self, alpha: f64, beta_abs: f64, ln_target: f64) -> (usize, f64) {
        let best_at = |n: usize| {
            Self::strip_widths()
                .map(|s| self.ln_cc_error(alpha, beta_abs, n, s))
                .fold(f64::INFINITY, f64::min)
        };
        // Continuous estimate of the degree for each strip (the bound is ~ K ρ^{−n}).
        let need = Self::strip_widths()
            .map(|s| {
                let e1 = self.ln_cc_error(alpha, beta_abs, 1, s);
                let (_, rho) = self.ln_ellipse_max(alpha, beta_abs, s);
                1.0 + (e1 - ln_target).max(0.0) / rho.ln()
            })
            .fold(f64::INFINITY, f64::min);
        let mut k = CC_MIN_LOG2;
        while k < CC_MAX_LOG2 && ((1usize << k) as f64) < need {
            k += 1;
        }
        loop {
            let n = 1usize << k;
            let e = best_at(n);
            if e <= ln_target || k == CC_MAX_LOG2 {
                return (n, e);
            }
            k += 1;
        }
    }

    /// The atom part ln A(ζ) with an error bound (absolute): each term's relative error is
    /// ≤ |ζ|·err(ℓ) + u(8 + 4|ζ||ℓ| + 4a), and the sum and logarithm add 4u.
    pub fn ln_atoms(&self, zeta: C64) -> MgfValue {
        let u = UNIT_ROUNDOFF;
        let (lm, lp) = self.ends();
        let p1 = zeta * lm - LN_2;
        let p2 = zeta * lp - self.a - LN_2;
        let sc = p1.re.max(p2.re);
        let s = (p1 - sc).exp() + (p2 - sc).exp();
        let mags = (p1.re - sc).exp() + (p2.re - sc).exp();
        let zn = zeta.norm();
        let rel = zn * 2.0 * (Self::g_err(lm) + Self::g_err(lp))
            + u * (12.0 + 4.0 * zn * (lm.abs() + lp.abs()) + 4.0 * self.a);
        MgfValue {
            ln: s.ln() + sc,
            ln_err: sc + (mags * rel).ln(),
        }
    }

    /// ln F(ζ) with a bound on |F̃ − F| (docs/math.md §15.6.2); `tau` the target relative
    /// accuracy of the quadrature (relative to the atoms' A(Re ζ)).
    pub fn ln_mgf(&self, zeta: C64, tau: f64) -> MgfValue {
        let u = UNIT_ROUNDOFF;
        let a = self.a;
        let (alpha, beta) = (zeta.re, zeta.im);
        let (lm, lp) = self.ends();
        let atoms = self.ln_atoms(zeta);
        let ln_a_real = logsumexp(&[alpha * lm - LN_2, alpha * lp - a - LN_2]);
        let (n, ln_qerr) = self.choose(alpha, beta.abs(), tau.ln() + ln_a_real);
        let rule = cc_rule(n);
        // The largest value of αg(t) − t/2 on [−a, a] (convex for α ≥ 0, decreasing for α < 0).
        let m = (alpha * lm + 0.5 * a).max(alpha * lp - 0.5 * a);
        let zn = zeta.norm();
        let (mut s_re, mut s_im) = (Neumaier::default(), Neumaier::default());
        let mut abs = 0.0;
        let mut err = 0.0;
        for (&x, &w) in rule.x.iter().zip(&rule.w) {
            let t = a * x;
            let g = self.g(t);
            let e = zeta * g - 0.5 * t - m;
            let f = e.exp();
            let fa = f.norm();
            s_re.add(w * f.re);
            s_im.add(w * f.im);
            abs += w * fa;
            // Relative error of f̃: the error of g times |ζ|, the exponent's rounding, and the
            // node's position error (|f'| ≤ |f|(|ζ|g' + ½) ≤ |f|(|ζ| + 1)).
            let rel = zn * Self::g_err(g)
                + 4.0 * u * (zn * g.abs() + t.abs() + m.abs() + 4.0)
                + 1.01 * (NODE_ERR + u) * a * (zn + 1.0);
            err += w * fa * rel + WEIGHT_ERR * fa;
        }
        let q = C64::new(s_re.sum(), s_im.sum());
        let q_err = err + 3.0 * u * abs * (1.0 + 1e-6);
        let ln_c_scale = self.ln_pref() + m;
        let sc = atoms.ln.re.max(ln_c_scale);
        let a_s = (atoms.ln - sc).exp();
        let c_s = q * (ln_c_scale - sc).exp();
        let total = a_s + c_s;
        let err_s = (atoms.ln_err - sc).exp()
            + q_err * (ln_c_scale - sc).exp() * (1.0 + 4.0 * u)
            + (ln_qerr - sc).exp()
            + 8.0 * u * (a_s.norm() + c_s.norm());
        MgfValue {
            ln: total.ln() + sc,
            ln_err: err_s.ln() + sc,
        }
    }

    /// The number of integrand evaluations of [`SubLaplace::ln_mgf`] at ζ (N + 1).
    pub fn cost(&self, zeta: C64, tau: f64) -> f64 {
        let (lm, lp) = self.ends();
        let ln_a_real = logsumexp(&[zeta.re * lm - LN_2, zeta.re * lp - self.a - LN_2]);
        let (n, _) = self.choose(zeta.re, zeta.im.abs(), tau.ln() + ln_a_real);
        (n + 1) as f64
    }

    /// f64 estimates of ln F(α) and the α-tilted moments of L (the degree-256 rule and the
    /// atoms): for the saddle point and the step only, never for a bound.
    pub fn real_moments(&self, alpha: f64) -> RealMoments {
        let a = self.a;
        let (lm, lp) = self.ends();
        let rule = cc_rule(CC_REAL);
        let m = (alpha * lm + 0.5 * a).max(alpha * lp - 0.5 * a);
        let ln_c = self.ln_pref() + m;
        let mut pts: Vec<(f64, f64)> = Vec::with_capacity(CC_REAL + 3);
        let p1 = alpha * lm - LN_2;
        let p2 = alpha * lp - a - LN_2;
        let sc = p1.max(p2).max(ln_c);
        pts.push((lm, (p1 - sc).exp()));
        pts.push((lp, (p2 - sc).exp()));
        let cf = (ln_c - sc).exp();
        for (&x, &w) in rule.x.iter().zip(&rule.w) {
            let t = a * x;
            let g = self.g(t);
            pts.push((g, cf * w * (alpha * g - 0.5 * t - m).exp()));
        }
        let tot: f64 = pts.iter().map(|p| p.1).sum();
        let mean = pts.iter().map(|p| p.0 * p.1).sum::<f64>() / tot;
        let mom = |k: i32| pts.iter().map(|p| (p.0 - mean).powi(k) * p.1).sum::<f64>() / tot;
        RealMoments {
            ln_f: tot.ln() + sc,
            mean,
            var: mom(2),
            mu3: mom(3),
            mu4: mom(4),
        }
    }

    /// ln of φ(ℓ₋) + φ(ℓ₊), the α-tilted density of L (per unit ℓ) at the two ends of the
    /// continuous part: φ(ℓ(t)) = (e^{−a/2}/(4q)) w(t)^{α+1} e^{−3t/2} (docs/math.md §15.6.3).
    pub fn ln_end_densities(&self, alpha: f64) -> f64 {
        let a = self.a;
        let (lm, lp) = self.ends();
        let c = -(4.0 * self.q).ln();
        logsumexp(&[
            a + c + (alpha + 1.0) * lm,
            -2.0 * a + c + (alpha + 1.0) * lp,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule integrates polynomials up to degree N exactly and its weights sum to 2.
    #[test]
    fn clenshaw_curtis_weights_are_exact_on_polynomials() {
        for n in [16usize, 64, 1024] {
            let r = cc_rule(n);
            let s: f64 = r.w.iter().sum();
            assert!((s - 2.0).abs() < 1e-13, "{n}: {s}");
            assert!(r.w.iter().all(|&w| w > 0.0));
            for k in [2, 4, 10] {
                let v: f64 = r.x.iter().zip(&r.w).map(|(x, w)| w * x.powi(k)).sum();
                let want = 2.0 / (k as f64 + 1.0);
                assert!((v - want).abs() < 1e-13, "{n} {k}: {v}");
            }
        }
    }

    /// F(0) = 1 and F(1) = E_P[dQ/dP] = 1 (both orderings' normalisations) within the bound, and
    /// F at complex ζ against a brute-force fine midpoint sum of the law.
    #[test]
    fn transform_matches_its_normalisations_and_a_brute_force_sum() {
        for (q, b) in [(0.01, 1.0), (0.3, 0.5), (0.9, 2.0), (0.05, 0.1)] {
            let s = SubLaplace { q, a: 1.0 / b };
            for z in [0.0, 1.0] {
                let v = s.ln_mgf(C64::new(z, 0.0), 1e-17);
                let err = (v.ln.exp() - 1.0).norm();
                assert!(err <= v.ln_err.exp() + 1e-15, "{q} {b} {z}: {v:?}");
                assert!(v.ln_err.exp() < 1e-12, "{q} {b} {z}: {v:?}");
            }
            for zeta in [
                C64::new(2.5, 3.0),
                C64::new(-1.5, 40.0),
                C64::new(4.0, -7.0),
            ] {
                let v = s.ln_mgf(zeta, 1e-17);
                let a = s.a;
                let (lm, lp) = s.ends();
                let k = 200_000;
                let h = 2.0 * a / k as f64;
                let mut c = C64::new(0.0, 0.0);
                for i in 0..k {
                    let t = -a + (i as f64 + 0.5) * h;
                    c += (zeta * s.g(t) - 0.5 * t).exp() * h;
                }
                let want = (zeta * lm).exp() * 0.5
                    + (zeta * lp).exp() * (0.5 * (-a).exp())
                    + c * (0.25 * (-0.5 * a).exp());
                let got = v.ln.exp();
                assert!(
                    (got - want).norm() <= 1e-5 * want.norm(),
                    "{q} {b} {zeta}: {got} {want}"
                );
            }
        }
    }

    /// |C(α + iβ)| ≤ 2(φ₋ + φ₊)/|β| on a grid (C = F − A from the certified values).
    #[test]
    fn continuous_part_decay_bound_holds() {
        for (q, b) in [(0.01, 1.0), (0.3, 0.5), (0.9, 2.0)] {
            let s = SubLaplace { q, a: 1.0 / b };
            for alpha in [-3.0, -0.5, 1.5, 6.0] {
                let k = 2.0 * s.ln_end_densities(alpha).exp();
                for beta in [1.0, 10.0, 100.0, 1000.0] {
                    let z = C64::new(alpha, beta);
                    let f = s.ln_mgf(z, 1e-17);
                    let at = s.ln_atoms(z);
                    let c = (f.ln.exp() - at.ln.exp()).norm();
                    assert!(
                        c <= k / beta * (1.0 + 1e-6) + 1e-12 * f.ln.re.exp(),
                        "{q} {b} {alpha} {beta}: {c} {}",
                        k / beta
                    );
                }
            }
        }
    }
}
