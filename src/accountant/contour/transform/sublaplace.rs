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

/// The most boundary terms K of the large-|ζ| expansion of C (docs/math.md §15.6.6).
const EXP_TERMS: usize = 48;

/// The boundary-term expansion of the continuous part at large |ζ| (docs/math.md §15.6.6).
/// In the loss variable ℓ, C(ζ) = ∫_{ℓ₋}^{ℓ₊} e^{ζℓ}φ(ℓ)dℓ with the density
/// φ = K₀(u^{−1/2} + c₀u^{−3/2}), u = e^ℓ − c₀, c₀ = 1 − q, K₀ = ¼e^{−a/2}√q, and K
/// integrations by parts give
/// C(ζ) = Σ_{k<K} (−1)^k [e^{ζℓ}φ^{(k)}(ℓ)]_{ℓ₋}^{ℓ₊} ζ^{−k−1} + (−1)^K ζ^{−K}∫e^{ζℓ}φ^{(K)}dℓ.
/// With d/dℓ = (c₀ + u)d/du, φ^{(k)} = (−1)^k K₀ Σ_j b_{k,j} u^{−1/2−j} with b_{k,j} ≥ 0, so
/// the k-th term at an end is ±e^{ζℓ + S_k}ζ^{−k−1}, S_k = ln|φ^{(k)}(ℓ)|, and the remainder is
/// at most |ζ|^{−K} max(e^{αℓ₋}, e^{αℓ₊}) K₀ Σ_j b_{K,j} B_j with
/// B_j ≥ ∫_{u₋}^{u₊} u^{−1/2−j}du/(c₀ + u).
#[derive(Debug, Clone)]
struct Expansion {
    /// ℓ₋, ℓ₊.
    ell: [f64; 2],
    /// Bound on the absolute error of each computed ℓ.
    ell_err: f64,
    /// S_0 at each end.
    s0: [f64; 2],
    /// e^{S_{k+1} − S_k} at each end, k < EXP_TERMS.
    ratio: [Vec<f64>; 2],
    /// Bound on the relative error of the computed e^{S_k} (built as e^{S_0}·Π ratios), k ≤
    /// EXP_TERMS, the larger of the two ends.
    s_err: Vec<f64>,
    /// ln(K₀ Σ_j b_{K,j} B_j) for K ≤ EXP_TERMS, rounded up.
    ln_d: Vec<f64>,
}

thread_local! {
    /// The last expansion built on this thread, keyed by the bits of (q, a).
    static EXPANSION: std::cell::RefCell<Option<((u64, u64), std::rc::Rc<Expansion>)>> =
        const { std::cell::RefCell::new(None) };
}

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
    /// accuracy of the continuous part (relative to the atoms' A(Re ζ)): by the boundary
    /// expansion where K ≤ 48 terms meet it (large |ζ|, docs/math.md §15.6.6), else by the
    /// Clenshaw–Curtis rule.
    pub fn ln_mgf(&self, zeta: C64, tau: f64) -> MgfValue {
        let u = UNIT_ROUNDOFF;
        let a = self.a;
        let (alpha, beta) = (zeta.re, zeta.im);
        let (lm, lp) = self.ends();
        let atoms = self.ln_atoms(zeta);
        let ln_a_real = logsumexp(&[alpha * lm - LN_2, alpha * lp - a - LN_2]);
        let ln_target = tau.ln() + ln_a_real;
        let ex = self.expansion();
        if let Some((k, ln_rem)) = Self::expansion_terms(&ex, zeta, ln_target) {
            let sc = atoms.ln.re.max(ln_a_real);
            let (c, c_err) = Self::cont_by_expansion(&ex, zeta, k, ln_rem, sc);
            let a_s = (atoms.ln - sc).exp();
            let total = a_s + c;
            let err_s =
                (atoms.ln_err - sc).exp() + c_err + 4.0 * u * (a_s.norm() + c.norm());
            return MgfValue {
                ln: total.ln() + sc,
                ln_err: err_s.ln() + sc,
            };
        }
        let (n, ln_qerr) = self.choose(alpha, beta.abs(), ln_target);
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

    /// The expansion of C for this pair (cached per thread).
    fn expansion(&self) -> std::rc::Rc<Expansion> {
        let key = (self.q.to_bits(), self.a.to_bits());
        EXPANSION.with(|c| {
            if let Some((k, e)) = c.borrow().as_ref() {
                if *k == key {
                    return e.clone();
                }
            }
            let e = std::rc::Rc::new(self.build_expansion());
            *c.borrow_mut() = Some((key, e.clone()));
            e
        })
    }

    /// Build the tables of [`Expansion`]. Rounding: every b_{k,j} is a sum of positive terms
    /// (≤ 3u relative per derivative), ln u± = ln q ± a is within 2u(|ln q| + a) of the truth,
    /// and each log-sum-exp adds ≤ 4u(|S| + ln(k + 2) + 1); each ratio adds u(|ΔS| + 2).
    fn build_expansion(&self) -> Expansion {
        let u = UNIT_ROUNDOFF;
        let (q, a) = (self.q, self.a);
        let c0 = 1.0 - q;
        let ln_c0 = (-q).ln_1p();
        let ln_q = q.ln();
        let ln_k0 = -2.0 * LN_2 - 0.5 * a + 0.5 * ln_q;
        let ln_u = [ln_q - a, ln_q + a];
        let d_ln_u = 2.0 * u * (ln_q.abs() + a + 1.0);
        // ln B_j: via du/(c₀ + u) ≤ du/u, or ≤ du/c₀.
        let ln_b = |j: usize| -> f64 {
            let jf = j as f64;
            let via_u = -(0.5 + jf) * ln_u[0] - (0.5 + jf).ln();
            let via_c0 = if j == 0 {
                0.5 * ln_u[1] + LN_2 - ln_c0
            } else {
                (0.5 - jf) * ln_u[0] - (jf - 0.5).ln() - ln_c0
            };
            via_u.min(via_c0) + (jf + 1.0) * d_ln_u
        };
        let mut b: Vec<f64> = vec![1.0, c0];
        let mut s: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut s_abs_err = Vec::new();
        let mut ln_d = Vec::new();
        for k in 0..=EXP_TERMS {
            let kf = k as f64;
            let mut worst: f64 = 0.0;
            for e in 0..2 {
                let terms: Vec<f64> = b
                    .iter()
                    .enumerate()
                    .filter(|(_, &v)| v > 0.0)
                    .map(|(j, &v)| v.ln() - j as f64 * ln_u[e])
                    .collect();
                let sk = ln_k0 - 0.5 * ln_u[e] + logsumexp(&terms);
                let mags = terms.iter().fold(0.0f64, |m, t| m.max(t.abs()));
                worst = worst.max(
                    (kf + 2.0) * (3.0 * u + d_ln_u)
                        + 4.0 * u * (sk.abs() + mags + ln_k0.abs() + (kf + 2.0).ln() + 2.0),
                );
                s[e].push(sk);
            }
            s_abs_err.push(worst);
            let terms: Vec<f64> = b
                .iter()
                .enumerate()
                .filter(|(_, &v)| v > 0.0)
                .map(|(j, &v)| v.ln() + ln_b(j))
                .collect();
            let d = ln_k0 + logsumexp(&terms);
            ln_d.push(d + worst + 1e-9 * (1.0 + d.abs()));
            let mut nb = vec![0.0; b.len() + 1];
            for (j, &v) in b.iter().enumerate() {
                let sj = 0.5 + j as f64;
                nb[j] += sj * v;
                nb[j + 1] += c0 * sj * v;
            }
            b = nb;
        }
        let ratio = [0, 1].map(|e| {
            (0..EXP_TERMS)
                .map(|k| (s[e][k + 1] - s[e][k]).exp())
                .collect::<Vec<f64>>()
        });
        // e^{S_k} is e^{S_0}·Π_{i<k} ratio_i: the S errors of both ends plus each ratio's.
        let mut s_err = Vec::with_capacity(EXP_TERMS + 1);
        let mut acc = 0.0;
        for k in 0..=EXP_TERMS {
            if k > 0 {
                let ds = (s[0][k] - s[0][k - 1])
                    .abs()
                    .max((s[1][k] - s[1][k - 1]).abs());
                acc += u * (ds + 2.0) + s_abs_err[k] + s_abs_err[k - 1];
            }
            s_err.push(1.01 * (acc + s_abs_err[0]));
        }
        let (lm, lp) = self.ends();
        Expansion {
            ell: [lm, lp],
            ell_err: self.atoms(false).err,
            s0: [s[0][0], s[1][0]],
            ratio,
            s_err,
            ln_d,
        }
    }

    /// The number K of expansion terms that meets ln_target at ζ (the remainder bound alone),
    /// and ln of that remainder bound; None when no K ≤ [`EXP_TERMS`] does.
    fn expansion_terms(ex: &Expansion, zeta: C64, ln_target: f64) -> Option<(usize, f64)> {
        let zn = zeta.norm();
        if !(zn > 1.0) || !zn.is_finite() {
            return None;
        }
        let ln_z = zn.ln();
        let alpha = zeta.re;
        let ln_e = (alpha * ex.ell[0]).max(alpha * ex.ell[1]) + ex.ell_err * alpha.abs();
        (1..=EXP_TERMS)
            .map(|k| (k, ex.ln_d[k] + ln_e - k as f64 * ln_z))
            .find(|&(_, r)| r <= ln_target)
            .map(|(k, r)| (k, r + 1e-9 * (1.0 + r.abs())))
    }

    /// C(ζ)e^{−sc} by K terms of the expansion and a bound on its absolute error (scaled
    /// alike): the remainder, each term's rounding (ℓ's error times |ζ|, the exponent's
    /// rounding, the S_k error, ≤ 8u(k + 2) for the k products by 1/ζ and the ratios) and the
    /// plain sum's 2Ku relative.
    fn cont_by_expansion(ex: &Expansion, zeta: C64, k: usize, ln_rem: f64, sc: f64) -> (C64, f64) {
        let u = UNIT_ROUNDOFF;
        let zn = zeta.norm();
        let w = zeta.inv();
        let mut sum = C64::new(0.0, 0.0);
        let mut abs = 0.0;
        let mut err = 0.0;
        for e in 0..2 {
            let sign = if e == 1 { 1.0 } else { -1.0 };
            let x = zeta * ex.ell[e] + (ex.s0[e] - sc);
            let common = zn * ex.ell_err
                + 8.0 * u * (zn * ex.ell[e].abs() + ex.s0[e].abs() + sc.abs() + 4.0);
            let mut term = x.exp() * w;
            for kk in 0..k {
                let tn = term.norm();
                sum += term * sign;
                abs += tn;
                err += tn * (1.01 * common + ex.s_err[kk] + 8.0 * u * (kk as f64 + 2.0));
                if kk + 1 < k {
                    term *= w * ex.ratio[e][kk];
                }
            }
        }
        err += 2.0 * k as f64 * u * abs * 1.01 + (ln_rem - sc).exp();
        (sum, err)
    }

    /// The exact δ(ε) of one step of one ordering, enclosed (docs/math.md §15.6.5): with
    /// R = 1 + (e^ε − 1)/q, remove δ = q(1 − √(R e^{−a})) for R < e^a (else 0); with
    /// R' = 1 + (e^{−ε} − 1)/q, add δ = q e^{ε−a} v(v − 1), v = √(R' e^a), for R' > e^{−a}
    /// (else 0). Both are monotone in ln R, so the enclosure evaluates them at the ends of an
    /// interval holding ln R: x̃ = expm1(±ε)/q is within 3u|x| of x and 1 + x̃ is rounded, so
    /// R lies within 4.5u|x̃| + 2u of the computed 1 + x̃; the end points' subtraction and
    /// logarithm add u(|ln R| + 2) absolute, applied outward; the final products and
    /// exponentials add at most 8u relative, applied outward. Returns (lower, value, upper).
    pub fn single_step_delta(&self, epsilon: f64, add: bool) -> (f64, f64, f64) {
        let u = UNIT_ROUNDOFF;
        let (q, a) = (self.q, self.a);
        let x = if add { (-epsilon).exp_m1() } else { epsilon.exp_m1() } / q;
        let r = 1.0 + x;
        let dr = 4.5 * u * x.abs() + 2.0 * u;
        let ln_r = |v: f64| if v > 0.0 { v.ln() } else { f64::NEG_INFINITY };
        let ln_mid = x.ln_1p();
        let ln_lo = ln_r(r - dr) - u * (ln_r(r - dr).abs() + 2.0);
        let ln_hi = ln_r(r + dr) + u * (ln_r(r + dr).abs() + 2.0);
        let f = |l: f64| -> f64 {
            if add {
                // w = ½(ln R' + a) ≥ 0 where δ > 0.
                let w = 0.5 * (l + a);
                if w.is_nan() || w <= 0.0 {
                    0.0
                } else {
                    q * (epsilon - a + w).exp() * w.exp_m1()
                }
            } else {
                let v = 0.5 * (l - a);
                if v >= 0.0 {
                    0.0
                } else {
                    -q * v.exp_m1()
                }
            }
        };
        let (at_lo, at_hi) = if add { (ln_lo, ln_hi) } else { (ln_hi, ln_lo) };
        // Each f evaluation: ≤ 4 roundings of the exponent (|ε| + a + |w| ≤ 2(ε + a + |l|)
        // absolute, times u) and 3u for the products and expm1.
        let slack = |l: f64| {
            let s = 4.0 * u * (epsilon + a + l.abs().min(1e300) + 1.0);
            (1.0 + s) * (1.0 + 8.0 * u)
        };
        let lower = (f(at_lo) / slack(at_lo)).max(0.0);
        let upper = (f(at_hi) * slack(at_hi)).min(1.0);
        let value = f(ln_mid).clamp(lower, upper);
        (lower, value, upper)
    }

    /// The number of integrand evaluations of [`SubLaplace::ln_mgf`] at ζ (N + 1, or about K/4
    /// where the expansion serves).
    pub fn cost(&self, zeta: C64, tau: f64) -> f64 {
        let (lm, lp) = self.ends();
        let ln_a_real = logsumexp(&[zeta.re * lm - LN_2, zeta.re * lp - self.a - LN_2]);
        let ln_target = tau.ln() + ln_a_real;
        // An expansion term costs about a quarter of a quadrature node.
        if let Some((k, _)) = Self::expansion_terms(&self.expansion(), zeta, ln_target) {
            return 1.0 + k as f64 / 4.0;
        }
        let (n, _) = self.choose(zeta.re, zeta.im.abs(), ln_target);
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
