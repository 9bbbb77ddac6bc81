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
//! inside the strip |Im t| < π where g is analytic (§15.6.2), and at |ζ| > 48 the piece of C
//! above a split point goes to a K-term boundary expansion with a certified remainder (§15.6.6);
//! the decay bound |C(α + iβ)| ≤ 2(ψ(ℓ₋) + ψ(ℓ₊))/|β| comes from one integration by parts
//! (§15.6.3); one step is a closed form in x-space (§15.6.5).

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
/// The expansion serves the part of the continuous law where c₀/(u|ζ|) ≤ 1/KAPPA
/// (u = q e^t); the rest, whose phase varies by at most about KAPPA, goes to the quadrature.
const KAPPA: f64 = 48.0;

/// The coefficients b̂_{k,j} (k ≤ [`EXP_TERMS`], j ≤ k + 1) of the derivatives of the
/// continuous part's density (docs/math.md §15.6.6): b̂_0 = (1, 1) and
/// b̂_{k+1,j} = (j + ½)b̂_{k,j} + (j − ½)b̂_{k,j−1}; all positive, each within 3(k + 1)u of its
/// exact value (sums of positive products by half-integers).
fn bhat() -> &'static [Vec<f64>] {
    static T: OnceLock<Vec<Vec<f64>>> = OnceLock::new();
    T.get_or_init(|| {
        let mut rows = vec![vec![1.0, 1.0]];
        for k in 0..EXP_TERMS {
            let b = &rows[k];
            let mut nb = vec![0.0; b.len() + 1];
            for (j, &v) in b.iter().enumerate() {
                nb[j] += (j as f64 + 0.5) * v;
                nb[j + 1] += (j as f64 + 0.5) * v;
            }
            rows.push(nb);
        }
        rows
    })
}

/// The time of one quadrature node of this transform in units of the work cap's x-node (the
/// subsampled Gaussian's batched node): about 4 (a node here costs log1p, expm1 and a complex
/// exponential; set from timings of the dp_accounting rows of tests/reference/subsampled_laplace.csv;
/// an estimate for the budget, never part of a bound).
const NODE_WEIGHT: f64 = 4.0;

type CostKey = (u64, u64, u64, u64, i64);

thread_local! {
    /// Memoised [`SubLaplace::cost`] estimates.
    static COST_MEMO: std::cell::RefCell<std::collections::HashMap<CostKey, f64>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The end data of one expansion piece [t_lo, a] (docs/math.md §15.6.6): ln c₀, ln K₀, ln u at
/// both ends (u = q e^t), the bound on each ln u's error, ℓ at both ends and its error bound.
struct PieceEnds {
    ln_c0: f64,
    ln_k0: f64,
    ln_u: [f64; 2],
    d_ln_u: f64,
    ell: [f64; 2],
    ell_err: [f64; 2],
}

/// The (N+1)-point Clenshaw–Curtis rule on [−1, 1].
struct CcRule {
    x: Vec<f64>,
    w: Vec<f64>,
}

static RULES: [OnceLock<CcRule>; (CC_MAX_LOG2 + 1) as usize] =
    [const { OnceLock::new() }; (CC_MAX_LOG2 + 1) as usize];

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
    /// E_α(L).
    pub mean: f64,
    /// Var_α(L).
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

    /// ln of the prefactor of the ∫_{−1}^{1} over a piece [t0, t1] = [c − h, c + h] of the
    /// continuous part: ¼e^{−a/2}∫_{t0}^{t1} e^{ζg(t) − t/2}dt = (h/4)e^{−a/2}∫_{−1}^{1}….
    fn ln_pref(&self, h: f64) -> f64 {
        (0.25 * h).ln() - 0.5 * self.a
    }

    /// ln of an upper bound on sup |e^{ζg(t) − t/2}| over the rectangle [c − R, c + R] × [−S, S],
    /// R = √(h² + S²), which holds the Bernstein ellipse of [c − h, c + h] with semi-minor axis
    /// S (docs/math.md §15.6.2), and that ellipse's ρ = S/h + √(1 + (S/h)²).
    fn ln_ellipse_max(&self, alpha: f64, beta_abs: f64, s: f64, c: f64, h: f64) -> (f64, f64) {
        let rho = s / h + (1.0 + (s / h) * (s / h)).sqrt();
        let r = (h * h + s * s).sqrt();
        let (gr, gmr) = (self.g(c + r), self.g(c - r));
        // g'(c + R) = q e^{c+R} / w(c + R) = q e^{c + R − g(c + R)} (≤ 1), the largest g' there.
        let gp = (self.q * (c + r - gr).exp()).min(1.0);
        let cs = (0.5 * s).cos();
        let gamma = (gp / cs).min(1.0);
        let neg = if alpha < 0.0 { -alpha * -cs.ln() } else { 0.0 };
        let ln_m = (alpha * gr).max(alpha * gmr) + 0.5 * (r - c) + neg + beta_abs * s * gamma;
        (ln_m, rho)
    }

    /// ln of the Clenshaw–Curtis error bound for the piece [c − h, c + h] at degree n and strip
    /// half-width s: (h/4)e^{−a/2}·2M(W + 2/(n(n+2)))ρ^{−n}/(ρ − 1) (docs/math.md §15.4),
    /// W ≤ 2 + 8u(n+1), with a relative margin 1e−6 on the logarithm for its own f64
    /// evaluation.
    fn ln_cc_error(&self, alpha: f64, beta_abs: f64, n: usize, s: f64, c: f64, h: f64) -> f64 {
        let (ln_m, rho) = self.ln_ellipse_max(alpha, beta_abs, s, c, h);
        let nf = n as f64;
        let w = 2.0 + 8.0 * UNIT_ROUNDOFF * (nf + 1.0) + 2.0 / (nf * (nf + 2.0));
        let v = self.ln_pref(h) + LN_2 + ln_m + w.ln() - nf * rho.ln() - (rho - 1.0).ln();
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
    /// error over the piece [t0, t1] at ζ = α ± iβ, aiming at ln_target (the smallest N that
    /// meets it, or [`CC_MAX`]).
    pub fn choose(
        &self,
        alpha: f64,
        beta_abs: f64,
        ln_target: f64,
        t0: f64,
        t1: f64,
    ) -> (usize, f64) {
        let (c, h) = (0.5 * (t0 + t1), 0.5 * (t1 - t0));
        let best_at = |n: usize| {
            Self::strip_widths()
                .map(|s| self.ln_cc_error(alpha, beta_abs, n, s, c, h))
                .fold(f64::INFINITY, f64::min)
        };
        // Continuous estimate of the degree for each strip (the bound is ~ K ρ^{−n}).
        let need = Self::strip_widths()
            .map(|s| {
                let e1 = self.ln_cc_error(alpha, beta_abs, 1, s, c, h);
                let (_, rho) = self.ln_ellipse_max(alpha, beta_abs, s, c, h);
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

    /// ln F(ζ) with a bound on |F̃ − F| (docs/math.md §15.6.2, §15.6.6); `tau` the target
    /// relative accuracy of the continuous part (relative to the atoms' A(Re ζ)). At large |ζ|
    /// the upper piece of the continuous part, t ∈ [t_s, a], goes to the boundary expansion and
    /// the rest to the Clenshaw–Curtis rule (`SubLaplace::split_point`).
    pub fn ln_mgf(&self, zeta: C64, tau: f64) -> MgfValue {
        let u = UNIT_ROUNDOFF;
        let a = self.a;
        let (lm, lp) = self.ends();
        let atoms = self.ln_atoms(zeta);
        let ln_a_real = logsumexp(&[zeta.re * lm - LN_2, zeta.re * lp - a - LN_2]);
        let ln_target = tau.ln() + ln_a_real - LN_2;
        let mut parts: Vec<(C64, f64, f64)> = Vec::with_capacity(2);
        let mut cc_hi = a;
        if let Some(ts) = self.split_point(zeta.norm()) {
            if let Some((v, e, s, _)) = self.expansion_piece(zeta, ts, ln_target) {
                parts.push((v, e, s));
                cc_hi = ts;
            }
        }
        if cc_hi > -a {
            let (v, e, s, _) = self.cc_piece(zeta, -a, cc_hi, ln_target);
            parts.push((v, e, s));
        }
        let sc = parts.iter().fold(atoms.ln.re, |m, p| m.max(p.2));
        let a_s = (atoms.ln - sc).exp();
        let mut total = a_s;
        let mut err_s = (atoms.ln_err - sc).exp() + 8.0 * u * a_s.norm();
        for &(v, e, s) in &parts {
            let f = (s - sc).exp();
            let c_s = v * f;
            total += c_s;
            err_s += e * f * (1.0 + 4.0 * u) + 8.0 * u * c_s.norm();
        }
        MgfValue {
            ln: total.ln() + sc,
            ln_err: err_s.ln() + sc,
        }
    }

    /// Where the expansion takes over at |ζ| = zn: the split point t_s with
    /// c₀/(q e^{t_s}·zn) = 1/KAPPA, clamped to −a (the whole continuous part by the expansion);
    /// None where t_s ≥ a (the whole part by the quadrature).
    fn split_point(&self, zn: f64) -> Option<f64> {
        if zn.is_nan() || zn <= KAPPA || !zn.is_finite() {
            return None;
        }
        let ts = (-self.q).ln_1p() + KAPPA.ln() - zn.ln() - self.q.ln();
        if ts >= self.a * (1.0 - 1e-3) {
            None
        } else {
            Some(ts.max(-self.a))
        }
    }

    /// The continuous part over t ∈ [t_lo, a] by K boundary terms of the expansion, K the
    /// smallest meeting ln_target by the remainder bound (docs/math.md §15.6.6): returns
    /// (value·e^{−s}, bound on its absolute error·e^{−s}, s, K), or None when no K ≤
    /// [`EXP_TERMS`] meets it. Rounding: ℓ's error times |ζ|, the exponent's (8u of its
    /// magnitudes), b̂'s 3(k + 1)u and ≤ 4u per complex product (≤ 2k + 4 of them per term) and
    /// the plain sum; products that underflow are at most 1e−300 each, counted.
    fn expansion_piece(
        &self,
        zeta: C64,
        t_lo: f64,
        ln_target: f64,
    ) -> Option<(C64, f64, f64, usize)> {
        let (kk, ln_rem) = self.expansion_terms(zeta, t_lo, ln_target)?;
        self.expansion_sum(zeta, t_lo, kk, ln_rem)
    }

    /// The end data of the expansion's piece [t_lo, a] (docs/math.md §15.6.6).
    fn piece_ends(&self, t_lo: f64) -> PieceEnds {
        let u = UNIT_ROUNDOFF;
        let (q, a) = (self.q, self.a);
        let ln_q = q.ln();
        let ell = [self.g(t_lo), self.g(a)];
        PieceEnds {
            ln_c0: (-q).ln_1p(),
            ln_k0: -2.0 * LN_2 - 0.5 * a + 0.5 * ln_q,
            ln_u: [ln_q + t_lo, ln_q + a],
            d_ln_u: 2.0 * u * (ln_q.abs() + a + t_lo.abs() + 1.0),
            ell,
            ell_err: [
                2.0 * Self::g_err(ell[0]) + 4.0 * u * (a + t_lo.abs()),
                2.0 * Self::g_err(ell[1]) + 4.0 * u * a,
            ],
        }
    }

    /// The number K of expansion terms whose remainder bound meets ln_target over
    /// [t_lo, a], and ln of that bound (see [`SubLaplace::expansion_piece`]).
    fn expansion_terms(&self, zeta: C64, t_lo: f64, ln_target: f64) -> Option<(usize, f64)> {
        let u = UNIT_ROUNDOFF;
        let zn = zeta.norm();
        let alpha = zeta.re;
        let pe = self.piece_ends(t_lo);
        // ρ = y/|ζ| at the lower end, y = c₀/u.
        let rho = (pe.ln_c0 - pe.ln_u[0] - zn.ln() + pe.d_ln_u).exp() * (1.0 + 4.0 * u);
        if rho.is_nan() || rho >= 1.0 {
            return None;
        }
        let b = bhat();
        let tiny = 1e-300;
        // Remainder of K terms (docs/math.md §15.6.6): K₀ max(e^{αℓ}) u_lo^{−1/2} |ζ|^{−K}
        // Σ_j b̂_{K,j} min(y^j/(j + ½), y^{j−1}/(j − ½)) (j ≥ 1), the j = 0 term
        // min(2, 2√(u_lo u₊)/c₀); every power rounded up and floored at 1e−300.
        let inv_z = 1.0 / zn * (1.0 + 2.0 * u);
        let mut pr = vec![1.0f64; EXP_TERMS + 3];
        let mut iz = vec![1.0f64; EXP_TERMS + 3];
        for i in 1..EXP_TERMS + 3 {
            pr[i] = (pr[i - 1] * rho * (1.0 + 2.0 * u)).max(tiny);
            iz[i] = (iz[i - 1] * inv_z * (1.0 + 2.0 * u)).max(tiny);
        }
        let j0 = (2.0f64).min(2.0 * (0.5 * (pe.ln_u[1] + pe.ln_u[0]) - pe.ln_c0 + pe.d_ln_u).exp());
        let ln_e = (alpha * pe.ell[0]).max(alpha * pe.ell[1])
            + alpha.abs() * pe.ell_err[0].max(pe.ell_err[1]);
        let ln_pre = pe.ln_k0 - 0.5 * pe.ln_u[0] + 0.5 * pe.d_ln_u + ln_e;
        let mut found = None;
        for k in 1..=EXP_TERMS {
            let row = &b[k];
            let mut d = row[0] * j0 * iz[k];
            for (j, &bj) in row.iter().enumerate().skip(1) {
                let jf = j as f64;
                // ρ^j|ζ|^{j−K} = pr[j]·iz[K − j] (j ≤ K) or pr[K + 1]·|ζ| (j = K + 1).
                let via_u = if j <= k {
                    pr[j] * iz[k - j]
                } else {
                    pr[j] * zn
                } / (jf + 0.5);
                let via_c0 = pr[j - 1] * iz[k + 1 - j] / (jf - 0.5);
                d += bj * via_u.min(via_c0);
            }
            let d = d * (1.0 + 8.0 * (k as f64 + 4.0) * u);
            let ln_rem = ln_pre + d.ln();
            if ln_rem <= ln_target {
                found = Some((k, ln_rem + 1e-9 * (1.0 + ln_rem.abs())));
                break;
            }
        }
        found
    }

    /// The K-term sum of [`SubLaplace::expansion_piece`] with its error bound.
    fn expansion_sum(
        &self,
        zeta: C64,
        t_lo: f64,
        kk: usize,
        ln_rem: f64,
    ) -> Option<(C64, f64, f64, usize)> {
        let u = UNIT_ROUNDOFF;
        let zn = zeta.norm();
        let PieceEnds {
            ln_c0,
            ln_k0,
            ln_u,
            d_ln_u,
            ell,
            ell_err,
        } = self.piece_ends(t_lo);
        let inv_z = 1.0 / zn * (1.0 + 2.0 * u);
        let b = bhat();
        let tiny = 1e-300;
        // The terms: T_k = w Σ_j b̂_{k,j} (y w)^j w^{k−j} (j ≤ k) + w b̂_{k,k+1}(y w)^{k+1} ζ,
        // w = 1/ζ, times e^{ζℓ}K₀u^{−1/2}, the upper end minus the lower.
        let w = zeta.inv();
        let mut wk = vec![C64::new(1.0, 0.0); kk + 2];
        let mut wm = vec![1.0f64; kk + 2];
        for i in 1..kk + 2 {
            wk[i] = wk[i - 1] * w;
            wm[i] = wm[i - 1] * inv_z * (1.0 + 2.0 * u);
        }
        let pre: Vec<C64> = (0..2)
            .map(|e| zeta * ell[e] + (ln_k0 - 0.5 * ln_u[e]))
            .collect();
        let s = pre[0].re.max(pre[1].re);
        let mut sum = C64::new(0.0, 0.0);
        let mut err = 0.0;
        for e in 0..2 {
            let y = (ln_c0 - ln_u[e]).exp();
            let yw = w * y;
            let mut pw = vec![C64::new(1.0, 0.0); kk + 2];
            // Moduli of the powers, rounded up (for the error bound).
            let ywm = y / zn * (1.0 + 4.0 * u);
            let mut pm = vec![1.0f64; kk + 2];
            for i in 1..kk + 2 {
                pw[i] = pw[i - 1] * yw;
                pm[i] = pm[i - 1] * ywm * (1.0 + 2.0 * u);
            }
            let mut inner = C64::new(0.0, 0.0);
            let mut mags = 0.0;
            let mut rel_mags = 0.0;
            for (k, row) in b.iter().enumerate().take(kk) {
                let mut t = C64::new(0.0, 0.0);
                let mut tm = 0.0;
                for (j, &bj) in row.iter().enumerate() {
                    let (v, vm) = if j <= k {
                        (pw[j] * wk[k - j], pm[j] * wm[k - j])
                    } else {
                        (pw[j] * zeta, pm[j] * zn * (1.0 + 2.0 * u))
                    };
                    t += v * bj;
                    tm += bj * (vm + tiny);
                }
                inner += t;
                mags += tm;
                rel_mags +=
                    tm * (3.0 * (k as f64 + 1.0) + 8.0 * (k as f64 + 2.0) + 2.0 * kk as f64);
            }
            let f = (pre[e] - s).exp() * w;
            let fa = f.norm();
            let sign = if e == 1 { 1.0 } else { -1.0 };
            sum += f * inner * sign;
            // ℓ's error times |ζ|; the exponent's rounding; ln y, ln u within d_ln_u + 2u|·|,
            // raised to powers ≤ K + 1.
            let common = zn * ell_err[e]
                + 8.0 * u * (zn * ell[e].abs() + ln_k0.abs() + ln_u[e].abs() + s.abs() + 4.0)
                + (kk as f64 + 2.0) * (d_ln_u + 2.0 * u * (ln_c0 - ln_u[e]).abs());
            err += fa * 1.01 * (mags * common + u * rel_mags + 8.0 * u * mags);
        }
        err += (ln_rem - s).exp();
        Some((sum, err, s, kk))
    }

    /// The continuous part over t ∈ [t0, t1] by the (N + 1)-point Clenshaw–Curtis rule, N the
    /// smallest meeting ln_target (or [`CC_MAX`]): returns (value·e^{−s}, bound on its absolute
    /// error·e^{−s}, s, N) (docs/math.md §15.6.2).
    fn cc_piece(&self, zeta: C64, t0: f64, t1: f64, ln_target: f64) -> (C64, f64, f64, usize) {
        let u = UNIT_ROUNDOFF;

        let (alpha, beta) = (zeta.re, zeta.im);
        let (n, ln_qerr) = self.choose(alpha, beta.abs(), ln_target, t0, t1);
        let rule = cc_rule(n);
        let (c, h) = (0.5 * (t0 + t1), 0.5 * (t1 - t0));
        let (g0, g1) = (self.g(t0), self.g(t1));
        // The largest value of αg(t) − t/2 on [t0, t1] (convex for α ≥ 0, decreasing for α < 0).
        let m = (alpha * g0 - 0.5 * t0).max(alpha * g1 - 0.5 * t1);
        let zn = zeta.norm();
        let (mut s_re, mut s_im) = (Neumaier::default(), Neumaier::default());
        let mut abs = 0.0;
        let mut err = 0.0;
        // A node t̃ = c + h·x̃ is within (NODE_ERR + 2u)(h + |c|) of c + h·x.
        let node_err = 1.01 * (NODE_ERR + 2.0 * u) * (h + c.abs());
        for (&x, &w) in rule.x.iter().zip(&rule.w) {
            let t = c + h * x;
            let g = self.g(t);
            let e = zeta * g - 0.5 * t - m;
            // |e^e| = e^{Re e}: one exponential and one sincos, no hypot.
            let fa = e.re.exp();
            let (sn, cs) = e.im.sin_cos();
            let f = C64::new(fa * cs, fa * sn);
            s_re.add(w * f.re);
            s_im.add(w * f.im);
            abs += w * fa;
            // Relative error of f̃: the error of g times |ζ|, the exponent's rounding, and the
            // node's position error (|f'| ≤ |f|(|ζ|g' + ½) ≤ |f|(|ζ| + 1)).
            let rel = zn * Self::g_err(g)
                + 4.0 * u * (zn * g.abs() + t.abs() + m.abs() + 4.0)
                + node_err * (zn + 1.0);
            err += w * fa * rel + WEIGHT_ERR * fa;
        }
        let q = C64::new(s_re.sum(), s_im.sum());
        // The sum is scaled by (h/4)e^{−a/2 + m}. The rule's end points c ± h may differ from
        // t0, t1 by 2u(|t0| + |t1|), where |e^{ζg − t/2 − m}| ≤ 1 + 1e−6: in the scaled sum
        // (per unit of x, t = c + hx) that is 2u(|t0| + |t1|)(1 + 1e−6)/h.
        let s = self.ln_pref(h) + m;
        let end_err = 2.0 * u * (t0.abs() + t1.abs()) * (1.0 + 1e-6) / h;
        let q_err =
            (err + 3.0 * u * abs * (1.0 + 1e-6) + end_err) * (1.0 + 4.0 * u) + (ln_qerr - s).exp();
        (q, q_err, s, n)
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
        let x = if add {
            (-epsilon).exp_m1()
        } else {
            epsilon.exp_m1()
        } / q;
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
        // max then min (not clamp): never panics, even on a NaN end.
        let value = f(ln_mid).max(lower).min(upper);
        (lower, value, upper)
    }

    /// The work of one [`SubLaplace::ln_mgf`] at ζ in the work cap's units (quadrature nodes
    /// times `NODE_WEIGHT`, the expansion's products counted alike); an estimate for the
    /// budget, never for a bound.
    pub fn cost(&self, zeta: C64, tau: f64) -> f64 {
        // |β| rounded up to a power of 1.01: nearby nodes share one estimate (memoised per
        // thread), so the work cap's pass over every node stays cheap.
        let bucket = (zeta.im.abs().max(1e-3).ln() / 1.01f64.ln()).ceil() as i64;
        let key = (
            self.q.to_bits(),
            self.a.to_bits(),
            zeta.re.to_bits(),
            tau.to_bits(),
            bucket,
        );
        if let Some(c) = COST_MEMO.with(|m| m.borrow().get(&key).copied()) {
            return c;
        }
        let beta = 1.01f64.powi(bucket as i32);
        let c = self.cost_at(C64::new(zeta.re, beta), tau);
        COST_MEMO.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() > 200_000 {
                m.clear();
            }
            m.insert(key, c);
        });
        c
    }

    /// [`SubLaplace::cost`] at one ζ, in units of the subsampled Gaussian's batched x-node: a
    /// quadrature node here (log1p, expm1 and a complex exponential) takes about
    /// [`NODE_WEIGHT`] of those.
    fn cost_at(&self, zeta: C64, tau: f64) -> f64 {
        let a = self.a;
        let (lm, lp) = self.ends();
        let ln_a_real = logsumexp(&[zeta.re * lm - LN_2, zeta.re * lp - a - LN_2]);
        let ln_target = tau.ln() + ln_a_real - LN_2;
        let mut cost = 0.0;
        let mut cc_hi = a;
        if let Some(ts) = self.split_point(zeta.norm()) {
            // Its K²/2 products cost about K²/16 quadrature nodes.
            if let Some((k, _)) = self.expansion_terms(zeta, ts, ln_target) {
                cost += 1.0 + (k * k) as f64 / 16.0;
                cc_hi = ts;
            }
        }
        if cc_hi > -a {
            let (n, _) = self.choose(zeta.re, zeta.im.abs(), ln_target, -a, cc_hi);
            cost += (n + 1) as f64;
        }
        cost * NODE_WEIGHT
    }

    /// f64 estimates of ln F(α) and the α-tilted moments of L (the degree-256 rule and the
    /// atoms): for the saddle point and the step only, never for a bound.
    pub fn real_moments(&self, alpha: f64) -> RealMoments {
        let a = self.a;
        let (lm, lp) = self.ends();
        let rule = cc_rule(CC_REAL);
        let m = (alpha * lm + 0.5 * a).max(alpha * lp - 0.5 * a);
        let ln_c = self.ln_pref(a) + m;
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

    /// The split evaluation (boundary expansion above t_s, quadrature below) against the
    /// quadrature over the whole continuous part, at |ζ| from 60 to 3·10⁴, where both apply:
    /// the two values differ by no more than the sum of their error bounds, the expansion's
    /// own bound is small, and enough pairs are compared with a small quadrature bound too.
    #[test]
    fn boundary_expansion_agrees_with_the_quadrature() {
        let mut used = 0;
        let mut checked = 0;
        for (q, b) in [
            (0.05, 0.25),
            (0.01, 1.0),
            (0.3, 0.5),
            (0.9, 2.0),
            (0.001, 0.1),
        ] {
            let s = SubLaplace { q, a: 1.0 / b };
            for alpha in [-2.0, 0.5, 3.0, 40.0] {
                for beta in [60.0, 300.0, 2000.0, 30000.0] {
                    let z = C64::new(alpha, beta);
                    let (lm, lp) = s.ends();
                    let ln_a = logsumexp(&[alpha * lm - LN_2, alpha * lp - s.a - LN_2]);
                    let target = (1e-15f64).ln() + ln_a;
                    if let Some(ts) = s.split_point(z.norm()) {
                        if let Some((v, e, sc, _)) = s.expansion_piece(z, ts, target) {
                            used += 1;
                            let (v2, e2, sc2, _) = s.cc_piece(z, ts, s.a, target);
                            let got = v * sc.exp();
                            let want = v2 * sc2.exp();
                            let tol = e * sc.exp() + e2 * sc2.exp();
                            assert!(
                                (got - want).norm() <= tol * 1.0000001,
                                "q {q} b {b} z {z}: {got} vs {want}, bounds {} {}",
                                e * sc.exp(),
                                e2 * sc2.exp()
                            );
                            let own = e * sc.exp();
                            assert!(
                                own <= 1e-9 * (ln_a.exp() + got.norm()),
                                "q {q} b {b} z {z}: {own:e}"
                            );
                            if e2 * sc2.exp() <= 1e-6 * (ln_a.exp() + want.norm()) {
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(used >= 20 && checked >= 10, "{used} {checked}");
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
