//! Fixed-size batches: the Gaussian mechanism on a batch of b records drawn without replacement
//! from n, under replace-one adjacency (docs/math.md §17.6–§17.7).
//!
//! The pair accounted for is the *symmetrised* pair of docs/math.md §17.7: with (P, Q) the remove
//! ordering of the Poisson-subsampled Gaussian at noise σ/2 and rate γ = b/n (P = N(0, 1),
//! Q = (1 − γ)N(0, 1) + γN(μ, 1), μ = 2/σ, loss L(x) increasing, L > 0 ⇔ x > c = μ/2), the
//! symmetrised Q-side loss law is
//!
//! - on ℓ > 0 the law of L(x), x ~ Q, restricted to x > c;
//! - on ℓ < 0 the law of −L(x), x ~ P, restricted to x > c (the add ordering's law on ℓ < 0);
//! - an atom at ℓ = 0 of mass (1 − γ)(1 − 2Φ̄(c)).
//!
//! Its privacy profile is max(δ_remove, δ_add) at every ε, it is the trade-off function C_p(f)
//! of Dong, Roth and Su (JRSS-B 2022, Theorem 4.2), and its T-fold composition bounds T
//! adaptively composed fixed-size-batch steps. The maximum over orderings of the *composed*
//! remove and add pairs is attained by a real pair of datasets (docs/math.md §17.6) and is a
//! lower bound only.

use super::check_count;
use crate::cumulants::{
    add_powers, cumulants_from_moments, CertifiedCumulants, Cumulants, MAX_ORDER,
};
use crate::error::{Error, Result};
use crate::pld::loss::l_of;
use crate::precision::{Interval, Precision};
use crate::special::normal;

/// Largest `dataset_size` (n ≤ 2^53 keeps b/n and every count exact in f64).
pub const MAX_DATASET_SIZE: u64 = 1 << 53;

/// Most panels of one RDP moment bound (docs/math.md §17.7).
const RDP_MAX_PANELS: usize = 1 << 16;

/// Target growth of ln r per RDP panel (the panel over-count is at most e^{this} where the
/// panel budget allows it).
const RDP_PANEL_GROWTH: f64 = 0.02;

/// b records drawn without replacement from n, then the Gaussian mechanism with noise
/// multiplier σ on their clipped sum (replace-one adjacency; docs/math.md §17.6–§17.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WithoutReplacement {
    sigma_bits: u64,
    batch_size: u64,
    dataset_size: u64,
}

impl serde::Serialize for WithoutReplacement {
    /// `sigma`, `batch_size`, `dataset_size`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("WithoutReplacement", 3)?;
        st.serialize_field("sigma", &self.sigma())?;
        st.serialize_field("batch_size", &self.batch_size)?;
        st.serialize_field("dataset_size", &self.dataset_size)?;
        st.end()
    }
}

impl WithoutReplacement {
    /// A fixed-size-batch Gaussian.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `sigma` (finite, > 0), `dataset_size` (an integer in
    /// [1, 2^53]) or `batch_size` (an integer in [1, dataset_size]).
    pub fn new(sigma: f64, batch_size: u64, dataset_size: u64) -> Result<Self> {
        crate::error::Range::above(0.0).check("sigma", sigma)?;
        check_count(
            "dataset_size",
            dataset_size,
            MAX_DATASET_SIZE,
            MAX_DATASET_SIZE,
        )?;
        check_count(
            "batch_size",
            batch_size,
            dataset_size,
            format_args!("dataset_size = {dataset_size}"),
        )?;
        Ok(WithoutReplacement {
            sigma_bits: sigma.to_bits(),
            batch_size,
            dataset_size,
        })
    }

    /// σ (noise multiplier relative to the clipping norm; replace-one sensitivity 2).
    pub fn sigma(&self) -> f64 {
        f64::from_bits(self.sigma_bits)
    }

    /// b.
    pub fn batch_size(&self) -> u64 {
        self.batch_size
    }

    /// n.
    pub fn dataset_size(&self) -> u64 {
        self.dataset_size
    }

    /// γ = b/n (rounded to nearest; the pair accounted for uses this f64 value).
    pub fn sampling_rate(&self) -> f64 {
        self.batch_size as f64 / self.dataset_size as f64
    }

    /// μ = 2/σ: the base pair's mean shift in noise units (replace-one sensitivity 2).
    pub fn mu(&self) -> f64 {
        2.0 / self.sigma()
    }

    /// b = n: every record is used and the pair is the Gaussian at σ/2.
    pub fn is_full_batch(&self) -> bool {
        self.batch_size == self.dataset_size
    }

    /// The same mechanism with another σ (for calibration).
    ///
    /// # Errors
    /// As [`WithoutReplacement::new`].
    pub fn with_sigma(&self, sigma: f64) -> Result<Self> {
        Self::new(sigma, self.batch_size, self.dataset_size)
    }

    /// A short description.
    pub fn describe(&self) -> String {
        format!(
            "gaussian(sigma={}) on fixed-size batches without replacement (batch_size={}, \
             dataset_size={}, adjacency=replace-one)",
            self.sigma(),
            self.batch_size,
            self.dataset_size
        )
    }

    /// The atom of the symmetrised law at ℓ = 0: (1 − γ)(1 − 2Φ̄(μ/2)) (docs/math.md §17.7).
    pub fn atom(&self) -> f64 {
        atom(self.sampling_rate(), self.mu())
    }

    /// The Q-side PLD law of the symmetrised pair (both orderings: the pair is symmetric).
    pub fn loss_law(&self) -> crate::pld::loss::LossLaw {
        crate::pld::loss::LossLaw::WithoutReplacement {
            q: self.sampling_rate(),
            mu: self.mu(),
        }
    }

    /// f64 cumulants κ1..κ6 of the symmetrised loss under P and under Q (trapezoid; an
    /// estimate, used to size grids).
    pub fn cumulants_f64(&self) -> Cumulants {
        let (q, mu) = (self.sampling_rate(), self.mu());
        let c = 0.5 * mu;
        let a = atom(q, mu);
        // x from c to c + μ + 40 (the Q-side component N(μ, 1) is then 40 deviations in).
        let n = 80_000usize;
        let h = (mu + 40.0) / n as f64;
        let pts: Vec<(f64, f64, f64)> = (0..=n)
            .map(|i| {
                let x = c + i as f64 * h;
                let w = if i == 0 || i == n { 0.5 * h } else { h };
                let l = l_of(q, mu, x);
                let fp = normal::pdf(x);
                let fq = (1.0 - q) * fp + q * normal::pdf(x - mu);
                (l, w * fp, w * fq)
            })
            .collect();
        let mut out = Cumulants::ZERO;
        // Side 0 (P): +L with P-weight, −L with Q-weight; side 1 (Q): +L with Q, −L with P.
        for side in 0..2 {
            let terms = |f: &mut dyn FnMut(f64, f64)| {
                f(0.0, a);
                for &(l, wp, wq) in &pts {
                    let (wpos, wneg) = if side == 0 { (wp, wq) } else { (wq, wp) };
                    f(l, wpos);
                    f(-l, wneg);
                }
            };
            let (mut m0, mut m1) = (0.0, 0.0);
            terms(&mut |l, w| {
                m0 += w;
                m1 += w * l;
            });
            let mean = m1 / m0;
            let mut m = vec![0.0; MAX_ORDER + 1];
            terms(&mut |l, w| {
                add_powers(&mut m, l - mean, w / m0);
            });
            m[1] = 0.0;
            out.set_from_moments(side, &m, mean);
        }
        out
    }

    /// Certified enclosures of E_{P*}[e^{λL}(L − c)^k], k = 0..=kmax, for the symmetrised pair
    /// (both orderings: it is symmetric): the atom at 0 and two certified Clenshaw–Curtis
    /// integrals on [μ/2, ∞) (docs/math.md §17.13).
    ///
    /// # Guarantee
    /// Each interval contains the exact value for γ = b/n as stored and μ = 2/σ, given correctly
    /// rounded MPFR elementary functions; `query.scale` only sizes the work.
    ///
    /// # Errors
    /// [`Error::NotCertified`] when an integral needs more than
    /// [`crate::mechanism::mixture::MAX_TILTED_PANELS`] panels; [`Error::PrecisionExhausted`]
    /// for a non-finite enclosure.
    pub fn certified_tilted_moments(
        &self,
        query: &crate::mechanism::mixture::TiltQuery,
        precision: Precision,
    ) -> Result<Vec<Interval>> {
        crate::mechanism::mixture::symmetrised_tilted_moments(
            self.sampling_rate(),
            self.mu(),
            query,
            precision,
        )
    }

    /// Whether [`WithoutReplacement::certified_tilted_moments`] stays within its panel budget,
    /// decided by its f64 plans alone (no MPFR work).
    ///
    /// # Errors
    /// The refusal that call would return.
    pub fn check_tilted_work(
        &self,
        query: &crate::mechanism::mixture::TiltQuery,
        precision: Precision,
    ) -> Result<()> {
        self.tilted_work(query, precision).map(|_| ())
    }

    /// The node evaluations of [`WithoutReplacement::certified_tilted_moments`], from its f64
    /// plans alone (no MPFR work).
    ///
    /// # Errors
    /// The refusal that call would return.
    pub fn tilted_work(
        &self,
        query: &crate::mechanism::mixture::TiltQuery,
        precision: Precision,
    ) -> Result<f64> {
        crate::mechanism::mixture::symmetrised_work(
            self.sampling_rate(),
            self.mu(),
            query,
            precision,
        )
    }

    /// Certified κ1..κ6 of the symmetrised loss under P* and under Q*: the moments about the
    /// f64 means of [`WithoutReplacement::cumulants_f64`] at tilts 0 (E_{P*}) and 1
    /// (E_{P*}[e^{L}·] = E_{Q*}) by [`WithoutReplacement::certified_tilted_moments`], turned
    /// into cumulants (docs/math.md §3, §17.13).
    ///
    /// # Errors
    /// As [`WithoutReplacement::certified_tilted_moments`].
    pub fn certified_cumulants(&self, precision: Precision) -> Result<CertifiedCumulants> {
        let est = self.cumulants_f64();
        let side = |lambda: f64, mean: f64, var: f64| -> Result<Vec<Interval>> {
            let query = crate::mechanism::mixture::TiltQuery {
                lambda,
                center: mean,
                kmax: MAX_ORDER,
                scale: crate::mechanism::mixture::TiltScale {
                    ln_mgf: 0.0,
                    sd: var.max(0.0).sqrt(),
                },
            };
            let row = self.certified_tilted_moments(&query, precision)?;
            cumulants_from_moments(&row, mean, MAX_ORDER)
        };
        Ok(CertifiedCumulants {
            p: side(0.0, est.p[0], est.p[1])?,
            q: side(1.0, est.q[0], est.q[1])?,
            precision,
        })
    }

    /// An upper bound on the Rényi divergence of order α > 1 of the symmetrised pair (both
    /// orderings: it is symmetric), docs/math.md §17.7:
    /// D_α = ln A/(α − 1), A − 1 = ∫_c^∞ r(γ(e^{μ(x − c)} − 1)) φ(x) dx with
    /// r(y) = (1 + y)^α + (1 + y)^{1−α} − 2 − y ≥ 0 increasing, bounded panel by panel by its
    /// right-end value times the panel's normal mass, plus a tail bound, plus the f64 rounding.
    pub fn rdp(&self, alpha: f64) -> f64 {
        rdp_upper(self.sampling_rate(), self.mu(), alpha)
    }
}

/// (1 − γ)(1 − 2Φ̄(μ/2)) (docs/math.md §17.7).
pub(crate) fn atom(q: f64, mu: f64) -> f64 {
    ((1.0 - q) * (1.0 - 2.0 * normal::sf(0.5 * mu))).max(0.0)
}

/// r(y) = (1 + y)^α + (1 + y)^{1−α} − 2 − y for y ≥ 0, given l1 = ln(1 + y), with a bound on
/// its f64 error.
fn r_and_err(l1: f64, alpha: f64) -> (f64, f64) {
    const U: f64 = f64::EPSILON / 2.0;
    let y = l1.exp_m1();
    let e1 = (alpha * l1).exp_m1();
    let e2 = ((1.0 - alpha) * l1).exp_m1();
    let lin_a = alpha * y;
    let lin_b = (1.0 - alpha) * y;
    let r = (e1 - lin_a) + (e2 - lin_b);
    // Each operation errs by ≤ u relative; ln_1p, exp_m1 by a few ulp; the error of l1 (a few
    // ulp relative) propagates with factor α(1 + y)^α and (α − 1)(1 + y)^{1−α}.
    let mag = e1.abs() + lin_a.abs() + e2.abs() + lin_b.abs();
    let prop = 8.0 * U * alpha * l1 * ((1.0 + e1.abs()) + (1.0 + e2.abs()));
    (r.max(0.0), 16.0 * U * mag + prop)
}

/// An upper bound on ln r(y) given l1 = ln(1 + y) (−∞ where r = 0): from [`r_and_err`] where
/// (1 + y)^α is in range, else α·l1 (r ≤ (1 + y)^α: the other terms sum to ≤ 0).
fn ln_r_upper(l1: f64, alpha: f64) -> f64 {
    if alpha * l1 > 600.0 {
        return alpha * l1;
    }
    let (r, e) = r_and_err(l1, alpha);
    let v = r + e;
    if v > 0.0 {
        v.ln() + 4.0 * f64::EPSILON
    } else {
        f64::NEG_INFINITY
    }
}

/// ln(e^a + e^b).
fn ln_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// Upper bound on D_α of the symmetrised pair at rate q, shift μ (docs/math.md §17.7), summed
/// in log space (A itself overflows f64 at large α).
pub(crate) fn rdp_upper(q: f64, mu: f64, alpha: f64) -> f64 {
    if q >= 1.0 {
        // The Gaussian at shift μ.
        return alpha * mu * mu / 2.0;
    }
    let c = 0.5 * mu;
    let x1 = c + alpha * mu + 40.0;
    let span = x1 - c;
    let h_min = span / RDP_MAX_PANELS as f64;
    // ln of the tail bound from x0 on: for w ≥ w0 = μ(x0 − c), 1 + y ≤ e^w(γ + (1 − γ)e^{−w0}),
    // so r(y) ≤ (1 + y)^α ≤ (γ + (1 − γ)e^{−w0})^α e^{αw} and
    // ∫_{x0}^∞ e^{αμ(x − c)}φ(x) dx = e^{α(α−1)μ²/2} Φ̄(x0 − αμ).
    let ln_tail = |x0: f64| {
        let w0 = mu * (x0 - c);
        alpha * (q + (1.0 - q) * (-w0).exp()).ln()
            + 0.5 * alpha * (alpha - 1.0) * mu * mu
            + normal::ln_sf(x0 - alpha * mu)
    };
    // A coarse pass (uniform panels, the same right-end bound) sizes what is negligible: a
    // panel whose bound is below e^{−45} of it may be long.
    let coarse = {
        let k = 2048;
        let hc = span / k as f64;
        (1..=k).fold(ln_tail(x1), |acc, i| {
            let (a, b) = (c + (i - 1) as f64 * hc, c + i as f64 * hc);
            ln_add(
                acc,
                ln_r_upper(l_of(q, mu, b), alpha) + crate::pld::loss::ln_normal_mass(a, b),
            )
        })
    };
    let mut x = c;
    let mut ln_sum = f64::NEG_INFINITY;
    let mut panels = 0usize;
    let mut last_term = f64::NEG_INFINITY;
    let mut lr_prev = f64::NEG_INFINITY;
    let mut growth = f64::INFINITY;
    while x < x1 {
        // Near x = c, r ~ y² ~ (x − c)²: ln r grows like 2/(x − c); elsewhere the growth of
        // the previous panel sizes the next one (validity does not depend on the choice).
        // At most 0.5, and at least h_min (which exceeds 0.5 where αμ is large: at σ ≈ 0.007
        // and α = 256, clamp(h_min, 0.5) panicked).
        let mut h = (RDP_PANEL_GROWTH / growth.max(1e-300)).min(0.5).max(h_min);
        if panels > 0 && last_term < coarse - 45.0 {
            h = h.max(0.25);
        }
        if panels + 1 >= RDP_MAX_PANELS {
            h = x1 - x;
        }
        let xn = (x + h).min(x1);
        let lr = ln_r_upper(l_of(q, mu, xn), alpha);
        // Panel: r at its right end (r∘y increasing) times its normal mass; the log of the
        // mass errs by ≤ 64u(1 + |ln mass|) (`ln_normal_mass`), covered with the log of r by
        // 64ε(1 + |ln r| + |ln mass|).
        let lm = crate::pld::loss::ln_normal_mass(x, xn);
        last_term = lr + lm + 64.0 * f64::EPSILON * (1.0 + lr.abs() + lm.abs());
        ln_sum = ln_add(ln_sum, last_term);
        growth = if lr_prev.is_finite() && lr > lr_prev {
            (lr - lr_prev) / (xn - x)
        } else {
            2.0 / (xn - c)
        };
        lr_prev = lr;
        x = xn;
        panels += 1;
        if panels % 64 == 0 && ln_sum.is_finite() && xn > alpha * mu && ln_tail(xn) < ln_sum - 40.0
        {
            break;
        }
    }
    // The log-sum of ≤ 2^18 terms errs by ≤ 2^18·4u relative (ln_add is monotone).
    let ln_total =
        ln_add(ln_sum, ln_tail(x)) + (RDP_MAX_PANELS as f64 + 64.0) * 4.0 * f64::EPSILON + 1e-12;
    let ln_a = if ln_total > 30.0 {
        ln_total + (-ln_total).exp().ln_1p()
    } else {
        ln_total.exp().ln_1p()
    };
    let v = ln_a.max(f64::MIN_POSITIVE) / (alpha - 1.0);
    v * (1.0 + 1e-12) + f64::MIN_POSITIVE
}

/// Refuse fixed-size batches in an accountant that has no path for them (gdp: no Gaussian
/// limit of the symmetrised pair; the contour: [`refuse_mixed_in`]).
///
/// # Errors
/// [`Error::UnsupportedEvent`] naming the accountant, the mechanism and the accountants that do
/// support it.
pub fn refuse_in(accountant: &'static str, added: &crate::event::Composition) -> Result<()> {
    for (m, _) in &added.parts {
        if let super::Mechanism::GaussianMixture(super::GaussianMixture::WithoutReplacement(w)) = m
        {
            return Err(Error::UnsupportedEvent {
                accountant,
                event: w.describe(),
                reason: "fixed-size batches are accounted by their symmetrised pair \
                         (docs/math.md §17.7), whose Gaussian limit is not implemented; the \
                         contour, pld, saddlepoint, edgeworth and rdp accountants support it"
                    .into(),
            });
        }
    }
    Ok(())
}

/// The contour accountant takes fixed-size batches only as a homogeneous composition (one
/// fixed-size-batch mechanism, any number of steps): its atom split M^n = a^n + (M^n − a^n)
/// (docs/math.md §17.11) needs the atom to be the composition's only one.
///
/// # Errors
/// [`Error::UnsupportedEvent`] naming the accountant and the mechanism when `existing` and
/// `added` together hold a fixed-size-batch part and any other part.
pub fn refuse_mixed_in(
    accountant: &'static str,
    existing: &crate::event::Composition,
    added: &crate::event::Composition,
) -> Result<()> {
    let mut distinct: Vec<&super::Mechanism> = Vec::new();
    for (m, _) in existing.parts.iter().chain(&added.parts) {
        if !distinct.contains(&m) {
            distinct.push(m);
        }
    }
    let wor = distinct.iter().find_map(|m| match m {
        super::Mechanism::GaussianMixture(super::GaussianMixture::WithoutReplacement(w)) => Some(w),
        _ => None,
    });
    match wor {
        Some(w) if distinct.len() > 1 => Err(Error::UnsupportedEvent {
            accountant,
            event: w.describe(),
            reason: "the contour accountant certifies fixed-size batches only as a homogeneous \
                     composition (one fixed-size-batch mechanism, any number of steps; \
                     docs/math.md §17.11); compose other mechanisms with the pld accountant"
                .into(),
        }),
        _ => Ok(()),
    }
}

/// Test reference: Σ_{i ≤ k} C(k, i)(1 − q)^{k−i} q^i e^{i(i−1)μ²/2} Φ̄(μ/2 − iμ), the part of
/// E_P[e^{kL}] above the atom in closed form, (1 − q + qe^w)^k expanded with
/// ∫_c^∞ e^{iμx − iμ²/2}φ dx = e^{i(i−1)μ²/2}Φ̄(c − iμ), c = μ/2 (integer k ≥ 0).
#[cfg(test)]
pub(crate) fn positive_part_exact(q: f64, mu: f64, k: u32) -> f64 {
    let c = 0.5 * mu;
    let mut s = 0.0;
    let mut binom = 1.0;
    for i in 0..=k {
        if i > 0 {
            binom *= f64::from(k - i + 1) / f64::from(i);
        }
        let fi = f64::from(i);
        s += binom
            * (1.0 - q).powi((k - i) as i32)
            * q.powi(i as i32)
            * (fi * (fi - 1.0) * mu * mu / 2.0).exp()
            * normal::sf(c - fi * mu);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_checked_by_name() {
        for (s, b, n, name) in [
            (0.0, 1, 10, "sigma"),
            (f64::NAN, 1, 10, "sigma"),
            (1.0, 0, 10, "batch_size"),
            (1.0, 11, 10, "batch_size"),
            (1.0, 1, 0, "dataset_size"),
        ] {
            let e = WithoutReplacement::new(s, b, n).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
        assert!(WithoutReplacement::new(1.0, 10, 10)
            .expect("setup")
            .is_full_batch());
    }

    /// The f64 cumulants: the pair is symmetric (κ_j^P = (−1)^j κ_j^Q), the Q-side mean is a
    /// KL divergence (> 0), and b = n gives the Gaussian at μ = 2/σ (κ1^Q = μ²/2, κ2 = μ²).
    #[test]
    fn f64_cumulants_are_symmetric_and_reduce_to_the_gaussian() {
        let c = WithoutReplacement::new(1.3, 40, 1000)
            .expect("setup")
            .cumulants_f64();
        assert!(c.q[0] > 0.0, "{c:?}");
        for j in 0..4 {
            let sign = if j % 2 == 0 { -1.0 } else { 1.0 };
            let tol = 1e-6 * c.q[j].abs() + 1e-12;
            assert!((c.p[j] - sign * c.q[j]).abs() <= tol, "κ{}: {c:?}", j + 1);
        }
        let g = WithoutReplacement::new(2.0, 7, 7)
            .expect("setup")
            .cumulants_f64();
        let mu = 1.0;
        assert!((g.q[0] - 0.5 * mu * mu).abs() < 1e-6, "{g:?}");
        assert!((g.q[1] - mu * mu).abs() < 1e-6, "{g:?}");
    }

    /// r(y) ≥ 0 and increasing; the RDP bound at q = 1 is the Gaussian's; at small q it is
    /// of order q² and increasing in q and α.
    #[test]
    fn rdp_bound_behaves() {
        let mut prev = 0.0;
        for i in 0..200 {
            let (r, _) = r_and_err((i as f64 * 0.05).ln_1p(), 7.5);
            assert!(r >= prev);
            prev = r;
        }
        let g = rdp_upper(1.0, 2.0, 3.0);
        assert_eq!(g, 3.0 * 4.0 / 2.0);
        // μ = 0.5 (σ = 4): the q² regime.
        let a = rdp_upper(0.01, 0.5, 4.0);
        let b = rdp_upper(0.02, 0.5, 4.0);
        assert!(a > 0.0 && b > 3.0 * a && b < 5.0 * a, "{a} {b}");
        assert!(rdp_upper(0.01, 0.5, 8.0) > a);
        assert!(rdp_upper(0.01, 0.6, 4.0) > a);
    }

    /// The symmetrised moment A = E_P[e^{αL}] at integer α against the independent form
    /// Σ_i C(α, i)(1 − γ)^{α−i}γ^i e^{i(i−1)μ²/2}Φ̄(c − iμ) + atom + ∫_c^∞ (1 + y)^{1−α}φ
    /// (the last by a fine midpoint rule): the panel bound is above it and within 3%.
    #[test]
    fn rdp_bound_is_above_an_independent_evaluation() {
        for &(q, mu, alpha) in &[(0.01f64, 2.0f64, 2u32), (0.05, 1.0, 5), (0.3, 1.5, 3)] {
            let c = 0.5 * mu;
            let pos = positive_part_exact(q, mu, alpha);
            let n = 400_000;
            let h = 40.0 / n as f64;
            let neg: f64 = (0..n)
                .map(|k| {
                    let x = c + (k as f64 + 0.5) * h;
                    let y = q * (mu * (x - c)).exp_m1();
                    (1.0 + y).powf(1.0 - f64::from(alpha)) * normal::pdf(x) * h
                })
                .sum();
            let a = pos + atom(q, mu) + neg;
            let exact = a.ln() / (f64::from(alpha) - 1.0);
            let ours = rdp_upper(q, mu, f64::from(alpha));
            assert!(
                ours >= exact * (1.0 - 1e-7) && ours <= exact * 1.03,
                "q={q} mu={mu} α={alpha}: ours {ours} vs {exact}"
            );
        }
    }

    /// f64 reference for E_{P*}[e^{λL}(L − c)^k], k ≤ 4: the atom plus both half-line parts
    /// by a composite Simpson rule on [μ/2, μ/2 + μ + 40 + 2|λ|μ] (independent of the MPFR
    /// panels and of the contour's summaries).
    fn simpson_moments(q: f64, mu: f64, lambda: f64, center: f64) -> [f64; 5] {
        let c0 = 0.5 * mu;
        let n = 400_000usize;
        let h = (mu + 40.0 + 2.0 * lambda.abs() * mu) / n as f64;
        // The atom's powers a·(−c)^k.
        let mut m = [0.0; 5];
        let mut pw = atom(q, mu);
        for slot in m.iter_mut() {
            *slot = pw;
            pw *= -center;
        }
        for i in 0..=n {
            let x = c0 + i as f64 * h;
            let w = if i == 0 || i == n {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            } * h
                / 3.0;
            let l = l_of(q, mu, x);
            // ln φ(x), so that e^{λL}φ stays finite where e^{λL} alone would overflow.
            let ln_phi = -0.5 * x * x - 0.918_938_533_204_672_8;
            for (lw, d) in [(lambda * l, l - center), ((1.0 - lambda) * l, -l - center)] {
                let mut p = w * (lw + ln_phi).exp();
                for slot in m.iter_mut() {
                    *slot += p;
                    p *= d;
                }
            }
        }
        m
    }

    /// The certified moments of the symmetrised pair: unit mass at λ = 0 and λ = 1 (P* and Q*
    /// are probability laws: the atom and both half-line integrals must add up), agreement with
    /// an independent Simpson rule at several tilts and centres, narrow enclosures.
    #[test]
    fn symmetrised_moments_have_unit_mass_and_match_an_independent_rule() {
        use crate::mechanism::mixture::{TiltQuery, TiltScale};
        for &(sigma, b, n) in &[
            (1.0, 10u64, 1000u64),
            (0.8, 100, 10_000),
            (5.0, 50, 100),
            (2.0, 1, 3),
        ] {
            let w = WithoutReplacement::new(sigma, b, n).expect("test setup");
            let (q, mu) = (w.sampling_rate(), w.mu());
            for &lambda in &[0.0, 1.0, -0.7, 0.25, 2.5, 6.0] {
                let center = 0.3 * mu;
                let reference = simpson_moments(q, mu, lambda, center);
                let query = TiltQuery {
                    lambda,
                    center,
                    kmax: 4,
                    scale: TiltScale {
                        ln_mgf: reference[0].ln(),
                        sd: mu,
                    },
                };
                let row = w
                    .certified_tilted_moments(&query, Precision(128))
                    .expect("certified");
                for (k, (iv, r)) in row.iter().zip(reference).enumerate() {
                    let scale = reference[0] * mu.max(1.0).powi(k as i32);
                    assert!(
                        iv.width_f64() <= 1e-30 * scale,
                        "σ {sigma} b {b} λ {lambda} k {k}: width {}",
                        iv.width_f64()
                    );
                    assert!(
                        (iv.mid_f64() - r).abs() <= 1e-9 * scale,
                        "σ {sigma} b {b} λ {lambda} k {k}: {} vs Simpson {r}",
                        iv.mid_f64()
                    );
                }
                if lambda == 0.0 || lambda == 1.0 {
                    assert!(
                        row[0].lo_f64() <= 1.0 && 1.0 <= row[0].hi_f64(),
                        "σ {sigma} b {b} λ {lambda}: mass [{}, {}]",
                        row[0].lo_f64(),
                        row[0].hi_f64()
                    );
                }
            }
        }
    }

    /// The certified CGF (through `cgf_certified`, both orderings: the pair is symmetric)
    /// agrees with the contour's f64 summaries of the same pair (docs/math.md §17.11), and the
    /// certified cumulants enclose the f64 trapezoid's, with κ_j(P*) = (−1)^j κ_j(Q*).
    #[test]
    fn certified_cgf_and_cumulants_agree_with_the_f64_paths() {
        use crate::accountant::contour::transform::Transform;
        use crate::mechanism::{Direction, GaussianMixture, Mechanism};
        for &(sigma, b, n) in &[(1.0, 10u64, 1000u64), (0.8, 100, 10_000), (5.0, 50, 100)] {
            let w = WithoutReplacement::new(sigma, b, n).expect("test setup");
            let mech = Mechanism::GaussianMixture(GaussianMixture::WithoutReplacement(w));
            for dir in [Direction::Remove, Direction::Add] {
                for &lambda in &[-0.7, 0.25, 1.0, 2.5, 8.0] {
                    let f = Transform::new(&mech, dir).cgf(lambda);
                    let c = crate::cgf::cgf_certified(&mech, dir, lambda, Precision(128))
                        .expect("certified");
                    for (what, iv, v, tol) in [
                        ("K", &c.k, f.k, 1e-9),
                        ("K'", &c.mean, f.mean, 1e-8),
                        ("K''", &c.var, f.var, 1e-7),
                    ] {
                        assert!(
                            (iv.mid_f64() - v).abs() <= tol * (1.0 + v.abs()),
                            "σ {sigma} b {b} {dir:?} λ {lambda} {what}: {} vs f64 {v}",
                            iv.mid_f64()
                        );
                    }
                }
            }
            let cert = w.certified_cumulants(Precision(128)).expect("certified");
            cert.assert_encloses(&w.cumulants_f64(), 1e-6, 1e-6, &format!("σ {sigma} b {b}"));
            for j in 0..MAX_ORDER {
                let sign = if j % 2 == 0 { -1.0 } else { 1.0 };
                let (p, q) = (cert.p[j].mid_f64(), sign * cert.q[j].mid_f64());
                assert!(
                    (p - q).abs()
                        <= 1e-20
                            + 1e-25 * p.abs().max(1.0)
                            + cert.p[j].width_f64()
                            + cert.q[j].width_f64(),
                    "σ {sigma} b {b} κ{}: P {p} vs ±Q {q}",
                    j + 1
                );
            }
        }
    }
}
