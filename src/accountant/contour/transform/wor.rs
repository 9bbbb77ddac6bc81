//! The contour transform of the symmetrised fixed-size-batch pair (docs/math.md §17.11).
//!
//! With (P, Q) the remove ordering of the Poisson-subsampled Gaussian at rate γ and shift μ
//! (P = N(0, 1), L(x) = ln(1 − γ + γe^{μx − μ²/2}), L > 0 ⇔ x > c = μ/2), the symmetrised law of
//! docs/math.md §17.7 has, under its P side, the law of L under P on x > c, the law of −L under
//! Q on x > c and an atom a = (1 − γ)(1 − 2Φ̄(c)) at 0. Since dQ = e^{L}dP,
//!
//! ```text
//! M(z) = E_{P_s}[e^{zℓ}] = a + H(z) + H(1 − z),   H(ζ) = ∫_c^∞ e^{ζL(x)} φ(x) dx.
//! ```
//!
//! H is a half-line integral with a cut at x = c. The substitution x = c + ln(1 + e^s) maps
//! (c, ∞) onto the whole s-line with an integrand analytic in the strip |Im s| < π/2 (and the
//! x-strip of docs/math.md §10.4) that decays like e^{s} to the left and like a Gaussian to the
//! right, so the trapezoid in s with the strip bound of Trefethen and Weideman applies
//! (docs/math.md §17.11 derives the strip majorant, the truncation and the rounding bounds).
//!
//! The continuous part C(z) = H(z) + H(1 − z) has a jump at ℓ = 0; its modulus decays only like
//! 1/|t| (one integration by parts in ℓ, docs/math.md §17.11), which the contour's atom split
//! M^n = a^n + (M^n − a^n) handles as for Laplace (docs/math.md §10.6).

use super::*;

/// The symmetrised pair at rate q ∈ (0, 1) and shift μ > 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorPair {
    /// γ = b/n.
    pub q: f64,
    /// μ = 2/σ.
    pub mu: f64,
}

/// softplus(s) = ln(1 + e^s), stably.
fn softplus(s: f64) -> f64 {
    if s > 0.0 {
        s + (-s).exp().ln_1p()
    } else {
        s.exp().ln_1p()
    }
}

/// ln σ(s) = −softplus(−s).
fn ln_sigmoid(s: f64) -> f64 {
    -softplus(-s)
}

/// One half-line evaluation: H(α + iβ_k) = e^{scale}·`sums[k]`, with absolute error bounds
/// e^{scale}·`errs[k]` (already including discretisation and truncation).
struct HalfLine {
    scale: f64,
    sums: Vec<C64>,
    errs: Vec<f64>,
}

/// The s-grid of one half-line quadrature: (a, h, s_lo, node count).
fn grid(q: f64, mu: f64, alpha: f64, beta_max: f64, tau: f64) -> (f64, f64, f64, usize) {
    let c0 = (1.0 / tau).ln() + 4.0f64.ln();
    let a = (PI / (2.0 * mu)).min(1.0).min((2.0 * c0).sqrt());
    let kappa = -(0.5 * a).cos().ln();
    let c_alpha = if alpha < 0.0 {
        -alpha * (-(0.5 * mu * a).cos().ln() + mu * kappa)
    } else {
        0.0
    };
    let denom = 0.5 * a * a + beta_max * mu * a + c_alpha + c0 + kappa;
    let h = 2.0 * PI * a / denom;
    let c = 0.5 * mu;
    let (_, hi) = node_range(q, mu, alpha.max(0.0), c0);
    let s_hi = ln_expm1((hi - c).max(1.0));
    let s_lo = -(c0 + 10.0);
    let n = ((s_hi - s_lo) / h).ceil() + 1.0;
    let n = if n.is_finite() && n < 1e12 {
        n as usize
    } else {
        usize::MAX
    };
    (a, h, s_lo, n)
}

/// H(α + iβ_k) for the β_k of `betas` on one s-grid (docs/math.md §17.11); `scheme` as in
/// [`subsampled_mgf_windowed`].
fn halfline(q: f64, mu: f64, alpha: f64, betas: &[f64], tau: f64, scheme: SumScheme) -> HalfLine {
    let u = UNIT_ROUNDOFF;
    let beta_max = betas.iter().fold(0.0f64, |m, b| m.max(b.abs()));
    let (a, h, s_lo, n) = grid(q, mu, alpha, beta_max, tau);
    if n as f64 > super::MAX_QUADRATURE_NODES {
        // No enclosure within the node budget (the contour checks `cost` first): NaN sums with
        // infinite error bounds, which every caller treats as not certified.
        return HalfLine {
            scale: 0.0,
            sums: vec![C64::new(f64::NAN, 0.0); betas.len()],
            errs: vec![f64::INFINITY; betas.len()],
        };
    }
    let c = 0.5 * mu;
    let kappa = -(0.5 * a).cos().ln();
    let c_alpha = if alpha < 0.0 {
        -alpha * (-(0.5 * mu * a).cos().ln() + mu * kappa)
    } else {
        0.0
    };
    // Pass 1: L, exponents.
    let mut ls = Vec::with_capacity(n);
    let mut es = Vec::with_capacity(n);
    let mut m = f64::NEG_INFINITY;
    for j in 0..n {
        let s = s_lo + j as f64 * h;
        let sp = softplus(s);
        let x = c + sp;
        let l = log1p_qexpm1(q, mu * sp);
        let e = alpha * l - 0.5 * x * x + ln_sigmoid(s);
        m = m.max(e);
        ls.push(l);
        es.push(e);
    }
    // Pass 2: weights and the β-independent parts of the rounding bound (docs/math.md §17.11).
    let mut weights = Weights::with_capacity(n);
    let mut j_sum = 0.0;
    for (j, (&l, &e)) in ls.iter().zip(&es).enumerate() {
        let s = s_lo + j as f64 * h;
        let sp = softplus(s);
        let x = c + sp;
        let w = (e - m).exp();
        let ds = 4.0 * u * (s_lo.abs() + s.abs());
        let dsp = u * (4.0 * sp + s.abs() + 3.0);
        let dx = u * x + dsp;
        let dw = u * mu * sp + mu * dsp;
        let dl = 4.0 * u * l + dw;
        // L ≥ 0 here (x ≥ c = μ/2), so |L| = L.
        weights.push(
            w,
            l,
            u * (16.0 + 2.0 * x * x + s.abs()) + x * dx + ds * (x + 1.0),
            2.0 * u * l + dl + ds * mu,
        );
        j_sum += w * (kappa * x).exp();
    }
    let scale = m + h.ln() - LN_SQRT_2PI;
    // Truncation (absolute, in units of e^{scale}): left, e^{s_lo}e^{α₊L(x(s_lo))}φ(c); right,
    // ∫_{x_N}^∞ of the real-line majorant over σ(s_N).
    let s_n = s_lo + (n.saturating_sub(1)) as f64 * h;
    let x_n = c + softplus(s_n);
    let ln_left =
        s_lo + alpha.max(0.0) * log1p_qexpm1(q, mu * softplus(s_lo)) - 0.5 * c * c + -LN_SQRT_2PI;
    let ln_right = if alpha >= 0.0 {
        let ln_c = (alpha - 1.0).max(0.0) * LN_2;
        let comp = alpha * q.ln() + 0.5 * alpha * (alpha - 1.0) * mu * mu;
        ln_c + logsumexp(&[normal::ln_sf(x_n), comp + normal::ln_sf(x_n - alpha * mu)])
    } else {
        normal::ln_sf(x_n)
    } - ln_sigmoid(s_n);
    let ln_trunc = logsumexp(&[ln_left, ln_right]) + 1e-12;
    let ln_e = ln_expm1(2.0 * PI * a / h);
    let sums = weights.phase_sums(&ls, alpha, betas, scheme);
    let ln_j = j_sum.ln() + scale;
    let mut out_sums = Vec::with_capacity(betas.len());
    let mut out_errs = Vec::with_capacity(betas.len());
    for (&beta, (sum, r)) in betas.iter().zip(sums) {
        let round = r + 16.0 * u * sum.norm();
        // Discretisation: 2M/(e^{2πa/h} − 1), M = e^{a²/2 + |β|μa + c_α}/cos(a/2)·2J.
        let ln_disc =
            LN_2 + 0.5 * a * a + beta.abs() * mu * a + c_alpha + kappa + LN_2 + ln_j - ln_e;
        let extra = logsumexp(&[ln_disc, ln_trunc]) - scale;
        out_sums.push(sum);
        out_errs.push(round + extra.exp());
    }
    HalfLine {
        scale,
        sums: out_sums,
        errs: out_errs,
    }
}

/// Real-λ summaries of the tilted symmetrised law (f64 estimates, docs/math.md §17.11).
#[derive(Debug, Clone, Copy)]
pub(super) struct WorReal {
    /// ln M(λ).
    pub(super) ln_m: f64,
    /// The tilted law's moments.
    pub(super) moments: TiltedMoments,
    /// K₁ + K₂ with |H(λ + it)| ≤ K₁/|t|, |H(1 − λ − it)| ≤ K₂/|t| (absolute).
    pub(super) k_cont: f64,
}

impl WorPair {
    /// The atom a = (1 − γ)(1 − 2Φ̄(μ/2)) (f64; |ã − a| ≤ 16u, docs/math.md §17.11).
    pub fn atom(&self) -> f64 {
        crate::mechanism::without_replacement::atom(self.q, self.mu)
    }

    /// ln M̃(λ + it_k) with error bounds (docs/math.md §17.11).
    pub fn mgf_batch(&self, lambda: f64, ts: &[f64], tau: f64, scheme: SumScheme) -> Vec<MgfValue> {
        let u = UNIT_ROUNDOFF;
        let neg: Vec<f64> = ts.iter().map(|t| -t).collect();
        let h1 = halfline(self.q, self.mu, lambda, ts, tau, scheme);
        let h2 = halfline(self.q, self.mu, 1.0 - lambda, &neg, tau, scheme);
        let at = self.atom();
        let ln_at = at.ln();
        let top = h1.scale.max(h2.scale).max(ln_at);
        let (f1, f2, fa) = (
            (h1.scale - top).exp(),
            (h2.scale - top).exp(),
            (ln_at - top).exp(),
        );
        (0..ts.len())
            .map(|k| {
                let v = h1.sums[k] * f1 + h2.sums[k] * f2 + C64::new(fa, 0.0);
                let mags = h1.sums[k].norm() * f1 + h2.sums[k].norm() * f2 + fa;
                let err = h1.errs[k] * f1
                    + h2.errs[k] * f2
                    + 16.0 * u * (-top).exp()
                    + 4.0 * u * mags
                    + 16.0 * u * v.norm();
                MgfValue {
                    ln: v.ln() + top,
                    ln_err: err.ln() + top,
                }
            })
            .collect()
    }

    /// ln M̃(z) with its error bound.
    pub fn ln_mgf(&self, z: C64, tau: f64) -> MgfValue {
        self.mgf_batch(z.re, &[z.im], tau, SumScheme::DIRECT)[0]
    }

    /// Estimated node count of one evaluation at λ + it (both half-lines).
    pub fn cost(&self, lambda: f64, t: f64) -> f64 {
        let (_, _, _, n1) = grid(self.q, self.mu, lambda, t.abs(), 1e-17);
        let (_, _, _, n2) = grid(self.q, self.mu, 1.0 - lambda, t.abs(), 1e-17);
        n1 as f64 + n2 as f64
    }

    /// The s-step of the real summaries at λ: fine enough for the TV estimate (f changes by
    /// < 3% per node) with `with_tv`, else the moments' step of docs/math.md §10.5.
    fn real_step(&self, lambda: f64, with_tv: bool) -> f64 {
        if with_tv {
            let (_, hi) = node_range(self.q, self.mu, lambda.max(0.0), 40.0);
            (0.03 / (lambda.abs() * self.mu + hi.abs() + 2.0 * self.mu + 1.0)).min(0.02)
        } else {
            (0.5 / (1.0 + lambda.abs() * self.mu * self.mu).sqrt()).min(0.02)
        }
    }

    /// Node count of the real summaries at λ.
    pub fn real_cost(&self, lambda: f64) -> f64 {
        let (_, hi) = node_range(self.q, self.mu, lambda.max(0.0), 40.0);
        let s_hi = ln_expm1((hi - 0.5 * self.mu).max(1.0));
        let n = 2.0 * (s_hi + 40.0) / self.real_step(lambda, true);
        if n.is_finite() {
            n
        } else {
            f64::INFINITY
        }
    }

    /// The real-λ summaries: moments of the tilted law (the atom, +L on x > c weighted by
    /// e^{λL}φ, −L on x > c weighted by e^{(1−λ)L}φ) by the trapezoid in s, and the 1/|t|
    /// constants K₁, K₂ = f(c) + 1.1·TV(f) + 2f(end) with f = e^{αL}φ/L' (docs/math.md §17.11).
    pub(super) fn real(&self, lambda: f64, with_tv: bool) -> WorReal {
        let (q, mu) = (self.q, self.mu);
        let c = 0.5 * mu;
        let hs = self.real_step(lambda, with_tv);
        let (_, hi) = node_range(q, mu, lambda.max(0.0), 40.0);
        let s_hi = ln_expm1((hi - c).max(1.0));
        let s_lo = -40.0;
        let n = ((s_hi - s_lo) / hs).ceil() as usize + 1;
        let logit = q.ln() - (-q).ln_1p();
        // Per node: (value ℓ, ln weight, ln f) for both parts.
        let mut pts: Vec<(f64, f64, f64, f64, f64)> = Vec::with_capacity(n);
        let mut m = self.atom().ln();
        for j in 0..n {
            let s = s_lo + j as f64 * hs;
            let sp = softplus(s);
            let x = c + sp;
            let l = log1p_qexpm1(q, mu * sp);
            let base = -0.5 * x * x - LN_SQRT_2PI;
            let lw1 = lambda * l + base + ln_sigmoid(s) + hs.ln();
            let lw2 = (1.0 - lambda) * l + base + ln_sigmoid(s) + hs.ln();
            // ln L'(x) = ln μ − softplus(−(w + logit q)), w = μ(x − c).
            let ln_lp = mu.ln() - softplus(-(mu * sp + logit));
            let lf1 = lambda * l + base - ln_lp;
            let lf2 = (1.0 - lambda) * l + base - ln_lp;
            m = m.max(lw1).max(lw2);
            pts.push((l, lw1, lw2, lf1, lf2));
        }
        let at = self.atom();
        let wa = (at.ln() - m).exp();
        let mut tot = wa;
        let mut m1 = 0.0;
        for &(l, lw1, lw2, _, _) in &pts {
            let (w1, w2) = ((lw1 - m).exp(), (lw2 - m).exp());
            tot += w1 + w2;
            m1 += (w1 - w2) * l;
        }
        let mean = m1 / tot;
        let (mut var, mut mu3, mut mu4, mut rho3, mut mabs) = (0.0, 0.0, 0.0, 0.0, 0.0);
        let mut acc = |v: f64, w: f64| {
            let d = v - mean;
            var += w * d * d;
            mu3 += w * d * d * d;
            mu4 += w * d * d * d * d;
            rho3 += w * (d * d * d).abs();
            mabs += w * v.abs();
        };
        acc(0.0, wa);
        for &(l, lw1, lw2, _, _) in &pts {
            acc(l, (lw1 - m).exp());
            acc(-l, (lw2 - m).exp());
        }
        let ln_m = m + tot.ln();
        // TV constants (absolute): f at c (L'(c) = μq, L(c) = 0), variation, twice the end.
        let tv = |pick: fn(&(f64, f64, f64, f64, f64)) -> f64| -> f64 {
            let f0 = (-0.5 * c * c - LN_SQRT_2PI).exp() / (mu * q);
            let mut prev = f0;
            let mut var = 0.0;
            for p in &pts {
                let f = pick(p).exp();
                var += (f - prev).abs();
                prev = f;
            }
            f0 + 1.1 * var + 2.0 * prev
        };
        let k_cont = if with_tv {
            tv(|p| p.3) + tv(|p| p.4)
        } else {
            f64::INFINITY
        };
        WorReal {
            ln_m,
            moments: TiltedMoments {
                mean,
                central: [var / tot, mu3 / tot, mu4 / tot],
                abs3: rho3 / tot,
                mean_abs: mabs / tot,
            },
            k_cont,
        }
    }

    /// The decay bound of |M(λ + it)|/M(λ) (docs/math.md §17.11): the atom a/M(λ), the
    /// continuous part ≤ (K₁ + K₂)/(M(λ)|t|), and the third-moment bound of the whole law.
    pub fn decay(&self, lambda: f64) -> Decay {
        let r = self.real(lambda, true);
        let m_lo = r.ln_m.exp() * (1.0 - 1e-9);
        Decay::AtomAtZero {
            atom: (self.atom() + 16.0 * UNIT_ROUNDOFF) / m_lo,
            cont: r.k_cont * 1.01 / m_lo,
            var_lo: r.moments.central[0] * (1.0 - 1e-3),
            rho3_hi: r.moments.abs3 * (1.0 + 1e-3),
        }
    }

    /// f64 estimates of K(λ) and the tilted moments.
    pub fn cgf(&self, lambda: f64) -> CgfValue {
        let r = self.real(lambda, false);
        r.moments.cgf(lambda, false, r.ln_m)
    }

    /// An upper bound on E_λ|ℓ| (relative margin 1e−2).
    pub fn tilted_abs_mean(&self, lambda: f64) -> f64 {
        self.real(lambda, false).moments.mean_abs * 1.01
    }

    /// The exact one-step δ(ε): the remove ordering's for ε ≥ 0, the add ordering's below
    /// (docs/math.md §17.7).
    pub fn single_step_delta(&self, epsilon: f64) -> Option<(f64, f64, f64)> {
        Transform::Subsampled {
            q: self.q,
            mu: self.mu,
            add: epsilon < 0.0,
        }
        .single_step_delta(epsilon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// M(0) = M(1) = 1 (both sides of the pair are probability laws: a + Φ̄(c) + Q(x > c) = 1),
    /// within the certified error, and that error is tiny, over a grid of (q, μ).
    #[test]
    fn total_mass_is_one() {
        for &q in &[1e-3, 0.01, 0.2, 0.9] {
            for &mu in &[0.3, 1.0, 2.0, 5.0] {
                let p = WorPair { q, mu };
                for k in 0..=1u32 {
                    let v = p.ln_mgf(C64::new(f64::from(k), 0.0), 1e-17);
                    let m = v.ln.re.exp();
                    assert!(v.ln_err.exp() <= 1e-12, "q={q} mu={mu} k={k}: {v:?}");
                    assert!(
                        (m - 1.0).abs() <= v.ln_err.exp() + 1e-14,
                        "q={q} mu={mu} k={k}: M = {m}"
                    );
                }
            }
        }
    }

    /// The half-line part at integer α against its binomial closed form, within the bound.
    #[test]
    fn halfline_matches_binomial_closed_form() {
        for &q in &[1e-3, 0.05, 0.5] {
            for &mu in &[0.4, 1.5, 4.0] {
                for k in 0..=5u32 {
                    let hl = halfline(q, mu, f64::from(k), &[0.0], 1e-17, SumScheme::DIRECT);
                    let v = hl.sums[0].re * hl.scale.exp();
                    let err = hl.errs[0] * hl.scale.exp();
                    // H at integer real ζ = k ≥ 0 in closed form.
                    let exact =
                        crate::mechanism::without_replacement::positive_part_exact(q, mu, k);
                    assert!(
                        (v - exact).abs() <= err + 4e-15 * exact,
                        "q={q} mu={mu} k={k}: {v} vs {exact} (err {err})"
                    );
                    assert!(err <= 1e-11 * exact, "{err} vs {exact}");
                }
            }
        }
    }

    /// Complex ζ: H(ζ) against an independent brute-force composite Simpson rule in x on
    /// [c, c + α₊μ + 40] (2·10⁶ panels), within the certified error plus Simpson's own.
    #[test]
    fn halfline_matches_brute_force_at_complex_points() {
        for &(q, mu) in &[(0.01f64, 2.0f64), (0.2, 0.7), (0.5, 3.0)] {
            for &(alpha, beta) in &[(1.5f64, 3.0f64), (-0.5, -7.0), (3.0, 40.0), (0.2, 0.5)] {
                let hl = halfline(q, mu, alpha, &[beta], 1e-17, SumScheme::DIRECT);
                let v = hl.sums[0] * hl.scale.exp();
                let err = hl.errs[0] * hl.scale.exp();
                let c = 0.5 * mu;
                let hi = c + alpha.max(0.0) * mu + 40.0;
                let n = 2_000_000usize;
                let dx = (hi - c) / n as f64;
                let mut s = C64::new(0.0, 0.0);
                for i in 0..=n {
                    let x = c + i as f64 * dx;
                    let l = log1p_qexpm1(q, mu * (x - c));
                    let w = crate::special::quadrature::simpson_weight(i, n);
                    let g = (C64::new(alpha, beta) * l).exp() * normal::pdf(x);
                    s += g * w;
                }
                let brute = s * (dx / 3.0);
                assert!(
                    (v - brute).norm() <= err + 1e-10 * brute.norm().max(1e-3),
                    "q={q} mu={mu} ζ={alpha}+{beta}i: {v} vs {brute} (err {err})"
                );
            }
        }
    }

    /// The decay bound holds: |M̃(λ + it)| ≤ M(λ)·bound(t) (within the certified error) on a grid.
    #[test]
    fn decay_bound_holds() {
        for &(q, mu, lambda) in &[(0.01f64, 2.0f64, 3.0f64), (0.2, 1.0, 1.5), (0.5, 4.0, 1.2)] {
            let p = WorPair { q, mu };
            let d = p.decay(lambda);
            let m = p.ln_mgf(C64::new(lambda, 0.0), 1e-17).ln.re.exp();
            for i in 0..200 {
                let t = 0.05 * f64::from(i) * (1.0 + f64::from(i) / 10.0);
                let v = p.ln_mgf(C64::new(lambda, t), 1e-17);
                let ratio = (v.ln.re.exp() - v.ln_err.exp()) / m;
                assert!(
                    ratio <= d.bound(t) * (1.0 + 1e-9),
                    "q={q} mu={mu} λ={lambda} t={t}: {ratio} > {}",
                    d.bound(t)
                );
            }
        }
    }
}
