//! The saddle-point (tilted) accountant: an estimate of δ(ε) and ε(δ) from the tilted
//! representation of the privacy curve, with a certified bracket whose cost does not grow with
//! the number of steps (docs/math.md §6).
//!
//! For one ordering with per-summand CGF K_i and counts n_i (S = Σ L_i, nK(λ) := Σ n_i K_i(λ)),
//! for every λ > 1 exactly
//!
//! ```text
//! δ(ε) = exp(nK(λ) − (λ−1)ε) · E_λ[h_λ(S − ε)],   h_λ(w) = (e^{−(λ−1)w} − e^{−λw})·1{w > 0},
//! ```
//!
//! E_λ under the tilted law (per summand ∝ e^{λL}dP; mean K_i'(λ), variance K_i''(λ)).
//! - **Estimate** (order 1): replace the tilted law of S by N(nK'(λ), nK''(λ)) at the saddle
//!   point nK'(λ) = ε; order 2 adds the first Edgeworth (skewness) term. E[h(W)] is a closed
//!   form in Φ̄ (evaluated with MPFR `erfc`).
//! - **Certified bracket**: ∫|h_λ'| = 2h_max with h_max = ((λ−1)/λ)^λ/(λ−1), so a uniform CDF
//!   error Δ of the tilted sum gives |δ(ε)e^{−nK+(λ−1)ε} − E_G(h)| ≤ 2h_max·Δ. Δ comes from
//!   Berry–Esseen (Shevtsova: 0.4748 iid, 0.5600 otherwise) against the normal G, and from the
//!   Derumigny–Girard–Guyonvarch bound against the order-1 Edgeworth G; the two brackets are
//!   intersected. E_λ|X|³ is bounded by Cauchy–Schwarz √(μ2·μ4) (μ_j the certified tilted
//!   central moments); E|X_i| ≤ σ_i in K̃3. For the Gaussian mechanism the tilted law is
//!   exactly normal and Δ = 0.
//! - **Always-valid bound**: δ(ε) ≤ exp(nK(λ) − (λ−1)ε)·h_max for every λ > 1 (the moments
//!   accountant, sharpened by h_max), optimised over λ; for ε(δ):
//!   ε ≤ [nK(λ) + ln h_max(λ) − ln δ]/(λ − 1).
//! - **Tilt of the upper end**: every λ > 1 gives a certified upper curve, so the upper ε is the
//!   smallest over the saddle point, a few multiples of it, and the λ minimising an f64 proxy of
//!   the certified upper end (golden section; the chosen λ is then certified).
//! - **Fourier part** (`fourier`, default [`FourierPart::WhenLoose`]):
//!   E_λ[h_λ(S − ε)] = (1/2π)∫ ĥ_λ(t)·E_λ e^{it(S−ε)} dt exactly, which is the contour integral
//!   of docs/math.md §6 at the same kind of tilt; its certified evaluation
//!   ([`super::contour::ContourAccountant`], relative δ tolerance `FOURIER_TOLERANCE`) is a
//!   second certified bracket from the same tilted representation, and the reported bracket is
//!   the intersection (each end the better one; an intersection of certified brackets is
//!   certified). By default it is computed only where the Kolmogorov-distance bracket is looser
//!   than `FOURIER_TRIGGER` (relative width), which at small sampling rates is always (see
//!   below); the report then says which part set each end. [`FourierPart::Off`]
//!   (`--kolmogorov-only` on the CLI) gives the Kolmogorov-distance bracket alone. If the
//!   inversion fails, the Kolmogorov bracket stands alone and a note says so.
//!
//! **Why the Kolmogorov-distance bracket stays loose at small sampling rates.** With
//! W ~ N(0, τ²), τ² = nK''(λ), E[h_λ(W)] ≈ 1/(τ√(2π)λ(λ−1)), while the error term is
//! 2h_max·Δ ≈ 2Δ/(e(λ−1)) with Δ = C·ρ/(σ³√n) for the tilted summand (σ, ρ its standard
//! deviation and absolute third moment). Their ratio ≈ 0.9·C·(ρ/σ²)·λ does not shrink with n: a
//! uniform CDF error of the tilted sum cannot resolve the window of width ~1/λ that h_λ
//! weighs. At QQP/MNLI (q ≈ 0.005) the tilted summand is a rare-jump variable (ρ/σ³ ≈ 60 at
//! σ = 0.7): Δ_BE ≈ 0.32, the DGG bound is vacuous, the error term is ~4× E(h), and the upper ε
//! sits ln(1 + 4.4)/(λ − 1) ≈ 0.6 above the truth (+14%). The Fourier part has no such floor.
//!
//! Every certified number is computed in MPFR interval arithmetic with outward rounding
//! (K, K', K'', μ3, μ4 from [`crate::cgf::cgf_certified`]).
//!
//! **Precision.** An enclosure is certified at any precision; more bits only narrow it. Where
//! the tilted law is not exactly normal, the Kolmogorov-distance bracket's width is set by Δ
//! (relative O(1) at small sampling rates, never below ~1e-6 in practice), so its certified
//! totals are computed at `kolmogorov::KOLMOGOROV_BITS` = 64 bits (capped by `precision`)
//! and accepted only where K, K' and K'' come out at most 2⁻⁵⁸ wide relative to
//! max(1, magnitude), else recomputed at `precision`: the f64 ends, rounded outward, then
//! differ from the full-precision ones by about an ulp (test
//! `low_precision_totals_match_full_precision`). The CLI's default of 256 bits cost ~4× more
//! with the same f64 output (0.8 s against 0.2 s at MNLI). Compositions of Gaussians (Δ = 0,
//! the bracket is as wide as the rounding) keep `precision`. ε brackets come from inverting the
//! certified δ curves at a fixed λ (valid for every ε) with [`crate::accountant::invert::epsilon_for_delta`]
//! and `Pick::Upper` / `Pick::Lower`. Add-remove adjacency reports the maximum over both
//! orderings (value, lower and upper).
//!
//! **Where it answers exactly or refuses.** An ordering whose privacy loss is bounded above
//! (the add ordering of the Poisson-subsampled Gaussian, L ≤ T·ln(1/(1 − q)); Laplace,
//! |L| ≤ T/b) has δ(ε) = 0 exactly for ε at or above that largest loss: that answer is exact
//! and the ε upper end never exceeds it. The saddle point is searched for λ ∈ (1, 4096]; where
//! it lies beyond (ε just below the largest loss) the Fourier part is not computed and the
//! Kolmogorov-distance bracket (still certified) stands alone, with a note. Where the f64
//! cumulants overflow at large tilts (the remove ordering at small σ), the tilt is capped at
//! the largest finite one (any λ > 1 gives a certified bracket). Failures of the internal
//! numerics are reported as [`Error::Internal`] and answers that cannot be certified as
//! [`Error::NotCertified`], never as bad input.
//!
//! # References
//! Alghamdi, Gomez, Asoodeh, Calmon, Kosut, Sankar, *The Saddle-Point Method in Differential
//! Privacy*, ICML 2023 (the tilted representation, the saddle-point accountant and its CLT
//! bracket with constant 1.12 = 2 × 0.56); Shevtsova 2010/2011 (Berry–Esseen constants);
//! Derumigny, Girard, Guyonvarch, Sankhya A 2024 (Edgeworth error).

mod fourier;
mod kolmogorov;

use super::invert::{epsilon_for_delta, Pick};
use super::{Bracket, Guarantee, OrderingAccountant, OrderingAnswer, Query, Report};
use crate::cgf::cgf_f64;
use crate::error::{Error, Result};
use crate::event::Composition;
use crate::mechanism::{Adjacency, Direction, Mechanism};
use crate::precision::{Interval, Precision};
use crate::special::normal::ln_sf;
use crate::special::roots::brent;
use kolmogorov::tilted_h_expectations;

/// Widest bracket [δ_low, 1] from the complement bound that a δ query of the saddle-point
/// accountant returns without its tilted representation (relative width; docs/math.md §15.1.6).
const COMPLEMENT_WIDTH: f64 = 1e-9;

/// Parameters of [`SaddlePointAccountant`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SaddlePointParams {
    /// Estimate order: 0 or 1 = normal tilted law, 2 or 3 = plus the skewness term.
    pub order: u8,
    /// Ordering(s) covered.
    pub adjacency: Adjacency,
    /// MPFR precision of the certified bracket (default 128 bits); the Kolmogorov-distance
    /// totals of a composition that is not all Gaussian use at most 64 bits where that is as
    /// narrow as f64 (module docs, "Precision").
    pub precision: Precision,
    /// Compute the certified bracket (default true); false gives the estimate only.
    pub bracket: bool,
    /// When to intersect the Kolmogorov-distance bracket (Berry–Esseen / DGG / always-valid)
    /// with the certified Fourier inversion of the same tilted law (default
    /// [`FourierPart::WhenLoose`]; see the module docs).
    pub fourier: FourierPart,
}

/// When the saddle-point accountant adds the Fourier part to its certified bracket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FourierPart {
    /// Never: the Kolmogorov-distance bracket (Berry–Esseen / DGG / always-valid) alone.
    Off,
    /// Only where the Kolmogorov-distance bracket's relative width exceeds
    /// [`FOURIER_TRIGGER`] (the default).
    #[default]
    WhenLoose,
    /// Always (except where the Kolmogorov bracket is already exact to 1e-9).
    Always,
}

impl FourierPart {
    /// Whether a Kolmogorov-distance bracket `[lower, upper]` calls for the Fourier part.
    fn wanted(self, lower: f64, upper: f64) -> bool {
        let tight = upper <= lower * (1.0 + 1e-9);
        match self {
            FourierPart::Off => false,
            FourierPart::Always => !tight,
            // NaN-safe: a bracket whose width cannot be compared counts as loose.
            FourierPart::WhenLoose => {
                !tight
                    && (upper - lower)
                        .partial_cmp(&(FOURIER_TRIGGER * upper))
                        .is_none_or(|o| o == std::cmp::Ordering::Greater)
            }
        }
    }
}

impl Default for SaddlePointParams {
    fn default() -> Self {
        SaddlePointParams {
            order: 1,
            adjacency: Adjacency::AddRemove,
            precision: Precision(128),
            bracket: true,
            fourier: FourierPart::WhenLoose,
        }
    }
}

/// Largest tilt searched.
const LAMBDA_MAX: f64 = 4096.0;
/// Multipliers of (λ* − 1) tried for the certified upper ε (λ* the saddle point).
const UPPER_TILT_FACTORS: [f64; 5] = [1.0, 0.9, 1.2, 1.5, 2.0];
/// Relative width of the Kolmogorov-distance bracket (ε: (upper − lower)/upper; δ likewise)
/// above which [`FourierPart::WhenLoose`] adds the Fourier part.
pub const FOURIER_TRIGGER: f64 = 0.01;
/// Relative δ tolerance asked of the Fourier inversion (it only has to beat the
/// Kolmogorov-distance bracket, whose relative width is O(1) at small sampling rates).
const FOURIER_TOLERANCE: f64 = 1e-6;
/// Smallest tilt used (the representation needs λ > 1 for a bounded h_λ).
const LAMBDA_MIN: f64 = 1.0 + 1.0 / 1073741824.0;

/// The saddle-point accountant (see the module docs).
///
/// # Guarantee
/// `epsilon`/`delta` are estimates; `lower`/`upper` are certified (guarantee `bracket`), or
/// only `upper` when the lower end is 0 (still a bracket). Cost independent of the number of
/// steps.
#[derive(Debug, Clone)]
pub struct SaddlePointAccountant {
    params: SaddlePointParams,
    composition: Composition,
}

/// Σ n_i K_i(λ), Σ n_i K_i'(λ), Σ n_i K_i''(λ), Σ n_i κ3_i(λ) of one ordering (f64; not finite
/// where the f64 moments overflow).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Totals64 {
    k: f64,
    mean: f64,
    var: f64,
    kappa3: f64,
}

impl Totals64 {
    fn finite(&self) -> bool {
        self.k.is_finite()
            && self.mean.is_finite()
            && self.var.is_finite()
            && self.kappa3.is_finite()
    }
}

/// The tilt the saddle-point equation gives at one ε.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SaddleTilt {
    lambda: f64,
    /// The saddle point lies beyond [`LAMBDA_MAX`] (ε near the largest loss, or beyond any
    /// practical value); `lambda` is then [`LAMBDA_MAX`].
    beyond: bool,
}

/// One ordering's answer with the certified parts it was assembled from.
///
/// # Guarantee
/// `bracket` holds the reported value (the saddle-point estimate, moved into the certified
/// ends when it fell outside) and the certified ends: the intersection of `kolmogorov` and
/// `fourier`, each a certified bracket on its own (only `kolmogorov.upper` when the bracket
/// was not asked for). `estimate` is the raw saddle-point estimate (not a bound).
#[derive(Debug, Clone, PartialEq)]
pub struct BracketParts {
    /// The reported bracket.
    pub bracket: Bracket,
    /// The saddle-point estimate (for ε: the first crossing of the estimated δ curve).
    pub estimate: f64,
    /// The bracket from the Kolmogorov-distance bounds of the tilted sum (Berry–Esseen, DGG)
    /// and the always-valid bound alone.
    pub kolmogorov: Bracket,
    /// The bracket from the Fourier inversion of the tilted law, or why it gave nothing (None:
    /// not requested).
    pub fourier: Option<std::result::Result<Bracket, String>>,
    /// Whether the estimated δ curve was monotone in the search bracket (always true for δ).
    pub monotone: bool,
    /// The report's notes for this ordering.
    pub notes: Vec<String>,
}

impl SaddlePointAccountant {
    /// A saddle-point accountant with no composition yet.
    ///
    /// # Examples
    /// ```
    /// use ewtune::accountant::{Accountant, SaddlePointAccountant, SaddlePointParams};
    /// use ewtune::event::DpEvent;
    /// use ewtune::mechanism::Adjacency;
    ///
    /// let mut a = SaddlePointAccountant::new(SaddlePointParams {
    ///     adjacency: Adjacency::Remove,
    ///     ..SaddlePointParams::default()
    /// })?;
    /// // 100 Gaussian steps with σ = 10 compose to μ = 1: the tilted law is exactly normal and
    /// // the certified bracket encloses δ(1) = Φ(−0.5) − e·Φ(−1.5) = 0.12693673751...
    /// a.compose(&DpEvent::Gaussian { sigma: 10.0 }, 100)?;
    /// let r = a.delta(1.0)?;
    /// assert!((r.delta - 0.1269367375).abs() < 1e-9);
    /// assert!(r.lower.unwrap() <= 0.12693673752 && 0.12693673750 <= r.upper.unwrap());
    /// // The add ordering of a subsampled Gaussian has its loss bounded by T·ln(1/(1 − q)):
    /// // beyond it δ is exactly 0.
    /// let mut b = SaddlePointAccountant::new(SaddlePointParams {
    ///     adjacency: Adjacency::Add,
    ///     ..SaddlePointParams::default()
    /// })?;
    /// b.compose(&DpEvent::dpsgd(0.8, 0.004, 100), 1)?;
    /// let r = b.delta(0.5)?;
    /// assert_eq!((r.delta, r.lower, r.upper), (0.0, Some(0.0), Some(0.0)));
    /// # Ok::<(), ewtune::Error>(())
    /// ```
    ///
    /// # Errors
    /// `order` must be ≤ 3.
    pub fn new(params: SaddlePointParams) -> Result<Self> {
        if params.order > 3 {
            return Err(Error::invalid(
                "order",
                params.order,
                "must be 0, 1, 2 or 3",
            ));
        }
        Ok(SaddlePointAccountant {
            params,
            composition: Composition::default(),
        })
    }

    /// The composition so far.
    pub fn composition(&self) -> &Composition {
        &self.composition
    }

    fn second_order(&self) -> bool {
        self.params.order >= 2
    }

    /// Σ n_i K_i, K_i', K_i'', κ3 at λ (f64).
    fn totals_f64(&self, dir: Direction, lambda: f64) -> Result<Totals64> {
        let mut t = Totals64 {
            k: 0.0,
            mean: 0.0,
            var: 0.0,
            kappa3: 0.0,
        };
        for (m, n) in &self.composition.parts {
            let c = cgf_f64(m, dir, lambda)?;
            let nf = *n as f64;
            t.k += nf * c.k;
            t.mean += nf * c.mean;
            t.var += nf * c.var;
            t.kappa3 += nf * c.mu3;
        }
        Ok(t)
    }

    /// The first step of every saddle search ([`Self::saddle`]), alone: the f64 CGF must be
    /// finite at [`LAMBDA_MIN`], and with a bracket the work check there
    /// ([`Self::check_work_at_the_smallest_tilt`]). Skipped where a δ query is answered without
    /// a search (ε at or above the ordering's largest loss).
    fn saddle_range_check(&self, dir: Direction, query: Query, given: f64) -> Result<()> {
        if query == Query::Delta && self.max_loss(dir).is_some_and(|m| given >= m) {
            return Ok(());
        }
        if !self.totals_f64(dir, LAMBDA_MIN)?.finite() {
            return Err(out_of_range_at_lambda_min());
        }
        if self.params.bracket {
            self.check_work_at_the_smallest_tilt(dir).map_err(refusal)?;
        }
        Ok(())
    }

    /// The saddle point: Σ n_i K_i'(λ) = target within [LAMBDA_MIN, LAMBDA_MAX], and below the
    /// tilts where the f64 moments overflow (there the largest finite tilt found is used).
    fn saddle(&self, dir: Direction, target: f64) -> Result<SaddleTilt> {
        let at = |lambda| SaddleTilt {
            lambda,
            beyond: false,
        };
        let f = |l: f64| -> Result<f64> { Ok(self.totals_f64(dir, l)?.mean - target) };
        let excess = |l: f64| -> Result<Option<f64>> {
            let t = self.totals_f64(dir, l)?;
            Ok(t.finite().then_some(t.mean - target))
        };
        match excess(LAMBDA_MIN)? {
            None => return Err(out_of_range_at_lambda_min()),
            Some(v) if v >= 0.0 => return Ok(at(LAMBDA_MIN)),
            Some(_) => {}
        }
        let mut hi = 2.0;
        loop {
            let lo = LAMBDA_MIN.max(hi / 2.0);
            match excess(hi)? {
                Some(v) if v < 0.0 => {
                    hi *= 2.0;
                    if hi >= LAMBDA_MAX {
                        if excess(LAMBDA_MAX)?.is_some() {
                            return Ok(SaddleTilt {
                                lambda: LAMBDA_MAX,
                                beyond: true,
                            });
                        }
                        return self.saddle_below_overflow(dir, target, hi / 2.0, LAMBDA_MAX);
                    }
                }
                Some(_) => return Ok(at(brent(f, lo, hi, 1e-10 * hi, 200)?)),
                None => return self.saddle_below_overflow(dir, target, lo, hi),
            }
        }
    }

    /// The saddle point in (lo, hi) where K' − target < 0 at `lo` and the f64 moments overflow
    /// at `hi`: bisection on ln(λ − 1) for either the sign change (then Brent) or the edge of
    /// the finite range (its finite side is returned: any λ > 1 gives a certified bracket).
    fn saddle_below_overflow(
        &self,
        dir: Direction,
        target: f64,
        lo: f64,
        hi: f64,
    ) -> Result<SaddleTilt> {
        let (mut a, mut b) = (lo, hi);
        for _ in 0..64 {
            let m = 1.0 + ((a - 1.0) * (b - 1.0)).sqrt();
            let t = self.totals_f64(dir, m)?;
            if !t.finite() {
                b = m;
            } else if t.mean < target {
                a = m;
            } else {
                let f = |l: f64| -> Result<f64> { Ok(self.totals_f64(dir, l)?.mean - target) };
                let lambda = brent(f, a, m, 1e-10 * m, 200)?;
                return Ok(SaddleTilt {
                    lambda,
                    beyond: false,
                });
            }
            if b - a <= 1e-6 * a {
                break;
            }
        }
        Ok(SaddleTilt {
            lambda: a,
            beyond: false,
        })
    }

    /// ln of the saddle-point estimate of δ(ε) for one ordering.
    ///
    /// E[h] = e^{A₁}Φ̄(t₁) − e^{A₂}Φ̄(t₂) (docs/math.md §11) is evaluated times e^{−s}, s the
    /// f64 value of ln(e^{A₁}Φ̄(t₁)), so that it stays inside MPFR's exponent range: at 10¹³
    /// Gaussian steps (ε near 0) E[h] ≈ e^{−4.9·10⁹}, which underflowed to an enclosure
    /// [−0, 0]; the estimate was then δ = 0, and ε = 0. (E[h] far below the f64 range, e^{−8192}
    /// at 10¹¹ steps where δ ≈ 1 is e^{K − (λ−1)ε}·E[h], has its logarithm taken at the
    /// enclosure's precision.)
    fn ln_delta_estimate(&self, dir: Direction, epsilon: f64) -> Result<f64> {
        let lambda = self.saddle(dir, epsilon)?.lambda;
        let t = self.totals_f64(dir, lambda)?;
        let (mu0, tau, a1) = (t.mean - epsilon, t.var.sqrt(), lambda - 1.0);
        let scale = a1 * a1 * t.var / 2.0 - a1 * mu0 + ln_sf(a1 * tau - mu0 / tau);
        let scale = if scale.is_finite() { scale } else { 0.0 };
        let p = Precision(64);
        let pt = |x: f64| Interval::from_f64(p, x);
        let skew = self.second_order().then(|| pt(t.kappa3));
        let (normal, edgeworth) =
            tilted_h_expectations(lambda, &pt(mu0), &pt(t.var), skew.as_ref(), p, scale)?;
        let i = edgeworth.unwrap_or(normal);
        Ok(match i.ln_mid_f64() {
            Some(ln_v) => t.k - (lambda - 1.0) * epsilon + scale + ln_v,
            None => f64::NEG_INFINITY,
        })
    }

    /// The largest privacy loss of the ordering, rounded up, when every part's loss is
    /// bounded above (δ(ε) = 0 exactly for ε at or above it).
    fn max_loss(&self, dir: Direction) -> Option<f64> {
        self.composition.max_loss(dir)
    }

    /// The certified δ-bracket of one ordering at ε with its parts and the report's notes.
    ///
    /// # Errors
    /// Failed quadrature or root finding.
    pub fn delta_bracket(&self, dir: Direction, epsilon: f64) -> Result<BracketParts> {
        if let Some(m) = self.max_loss(dir) {
            if epsilon >= m {
                let zero = Bracket::certified(0.0, 0.0, 0.0);
                return Ok(BracketParts {
                    bracket: if self.params.bracket {
                        zero
                    } else {
                        Bracket::estimate(0.0)
                    },
                    estimate: 0.0,
                    kolmogorov: zero,
                    fourier: None,
                    monotone: true,
                    notes: vec![format!(
                        "{} ordering: epsilon is at or above the largest privacy loss {m:e} of this ordering, where delta is exactly 0",
                        dir.name()
                    )],
                });
            }
        }
        if self.params.bracket {
            self.check_work_at_the_smallest_tilt(dir)?;
        }
        let est = self.ln_delta_estimate(dir, epsilon)?.exp();
        let mut p = BracketParts {
            bracket: Bracket::estimate(est),
            estimate: est,
            kolmogorov: Bracket::estimate(est),
            fourier: None,
            monotone: true,
            notes: Vec::new(),
        };
        if !self.params.bracket {
            return Ok(p);
        }
        // δ near 1 (ε far below the bulk of the loss, where the saddle point sits at the
        // smallest tilt and the certified quadrature there took 5–10 s before failing): the
        // complement bound settles it from a few real quadratures (docs/math.md §15.1.6).
        if est >= 0.5 {
            let lo =
                crate::accountant::contour::complement_delta_lower(&self.composition, dir, epsilon);
            if 1.0 - lo <= COMPLEMENT_WIDTH {
                let b = Bracket::certified(lo, est.clamp(lo, 1.0), 1.0);
                p.bracket = b;
                p.kolmogorov = b;
                p.notes.push(format!(
                    "{} ordering: delta >= {lo:e} by the complement bound 1 - delta <= \
                     exp((1 - lambda)*epsilon)*M(lambda), 0 < lambda < 1; the tilted \
                     representation was not evaluated",
                    dir.name()
                ));
                return Ok(p);
            }
        }
        let tilt = self.saddle(dir, epsilon)?;
        let t = self.certified_totals(dir, tilt.lambda)?;
        let k = self.bracket_at(&t, epsilon)?;
        let (mut lower, mut upper) = (k.lower, k.upper.min(self.always_valid_delta(dir, epsilon)?));
        p.kolmogorov = Bracket::certified(lower, est.clamp(lower, upper.max(lower)), upper);
        if self.params.fourier.wanted(lower, upper) {
            let fourier = self.fourier_part(tilt, || self.fourier_delta(dir, epsilon));
            match &fourier {
                Ok(f) => {
                    let (f_lo, f_hi) = ends(f);
                    p.notes.push(intersection_note(
                        dir,
                        &format!("[{lower:e}, {upper:e}]"),
                        &format!("[{f_lo:e}, {f_hi:e}]"),
                    ));
                    lower = lower.max(f_lo);
                    upper = upper.min(f_hi);
                }
                Err(e) => p.notes.push(fourier_failure_note(dir, e)),
            }
            p.fourier = Some(fourier);
        }
        // The truth lies in the certified bracket: an estimate outside it (by f64 rounding, or
        // by the approximation's own error) is moved to its nearer end.
        let value = into_bracket(est, lower, upper, &mut p.notes);
        p.bracket = Bracket::certified(lower, value, upper);
        Ok(p)
    }

    /// The Fourier part, unless the saddle point lies beyond the tilts searched (ε near the
    /// largest loss, where the inversion's contour is not built).
    fn fourier_part(
        &self,
        tilt: SaddleTilt,
        part: impl FnOnce() -> Result<Bracket>,
    ) -> std::result::Result<Bracket, String> {
        if tilt.beyond {
            return Err(format!(
                "not computed: the saddle point lies beyond lambda = {LAMBDA_MAX}, i.e. epsilon is near the largest privacy loss"
            ));
        }
        part().map_err(|e| e.to_string())
    }

    /// The ε estimate and certified bracket of one ordering, with its parts and the report's
    /// notes.
    ///
    /// # Errors
    /// Failed quadrature or root finding.
    pub fn epsilon_bracket(&self, dir: Direction, delta: f64) -> Result<BracketParts> {
        let plan = self.epsilon_plan(dir, delta)?;
        self.epsilon_bracket_from(dir, delta, plan)
    }

    /// The f64 phase of [`Self::epsilon_bracket`]: the estimate and (with a bracket) the saddle
    /// tilt, checked against the certified quadrature's work limit there. It fails in
    /// milliseconds where the certified phase could not succeed, so [`Self::orderings_for`]
    /// runs it for both orderings before starting either's MPFR work.
    fn epsilon_plan(&self, dir: Direction, delta: f64) -> Result<EpsilonPlan> {
        let ln_delta = delta.ln();
        if self.params.bracket {
            self.check_work_at_the_smallest_tilt(dir)?;
        }
        // Estimate.
        let k = self.totals_f64(dir, 1.0)?;
        let guess = (k.mean + (k.var * -2.0 * ln_delta).sqrt()).max(1e-3);
        let est = epsilon_for_delta(
            |e| Ok(self.ln_delta_estimate(dir, e)?.exp()),
            delta,
            guess,
            1e-10 * guess.max(1.0),
            Pick::Root,
        )?;
        let saddle = if self.params.bracket {
            let t = self.saddle(dir, est.epsilon.max(1e-9))?;
            self.check_certified_work(dir, t.lambda)?;
            Some(t)
        } else {
            None
        };
        Ok(EpsilonPlan {
            eps_hat: est.epsilon,
            monotone: est.monotone,
            saddle,
        })
    }

    /// The certified quadrature's work check ([`Self::check_certified_work`]) at
    /// [`LAMBDA_MIN`] for the Poisson-subsampled Gaussian parts of the remove ordering, before
    /// the f64 phase of an ε or δ query. There its work does not fall as λ grows above 1 (the
    /// range and majorants grow with the tilt; measured from σ = 10⁻⁴ to 0.1, docs/math.md
    /// §6.4), so a part over the limit here is over it at every saddle tilt: the query is
    /// refused before that search, whose f64 trapezoids near λ = 1 cost up to ~10⁶ nodes each at
    /// σ ≈ 10⁻⁴ (20 s of searching before the same refusal). The add ordering's work varies by
    /// up to 2× with λ either way (measured), and other mechanisms are not measured: both are
    /// checked at the saddle tilt only.
    fn check_work_at_the_smallest_tilt(&self, dir: Direction) -> Result<()> {
        if dir != Direction::Remove {
            return Ok(());
        }
        let low = self.kolmogorov_precision();
        for (m, _) in &self.composition.parts {
            if matches!(m, Mechanism::SubsampledGaussian(s) if s.sampling_rate() < 1.0) {
                crate::cgf::check_certified_work(m, dir, LAMBDA_MIN, low)?;
            }
        }
        Ok(())
    }

    /// The certified phase of [`Self::epsilon_bracket`].
    fn epsilon_bracket_from(
        &self,
        dir: Direction,
        delta: f64,
        plan: EpsilonPlan,
    ) -> Result<BracketParts> {
        let EpsilonPlan {
            eps_hat,
            monotone,
            saddle,
        } = plan;
        // δ(ε) = 0 ≤ δ at the largest loss.
        let mut upper = self.max_loss(dir).unwrap_or(f64::INFINITY);
        // The always-valid bound caps the upper end. Its certified quadrature (at a tilt that
        // can be far above the saddle point's, hence costly) runs only where it may bind: its
        // f64 value is not above the upper end found without it (the certified value differs
        // from the f64 one by ~1e-12 relative, far inside the 1e-6 margin).
        let (av_lambda, av_estimate) = self.always_valid_tilt(dir, delta)?;
        let may_bind = |upper: f64| av_estimate <= upper * (1.0 + 1e-6);
        if saddle.is_none() || av_estimate <= 0.0 {
            upper = upper.min(self.always_valid_epsilon_at(dir, delta, av_lambda)?);
        }
        let mut lower = 0.0;
        let mut tilt = None;
        // With a lower end of 0 the Kolmogorov-distance bracket calls for the Fourier part
        // whatever the tilt of its upper end; by default the other tilts are then tried only
        // where the Fourier part fails or does not set the upper end.
        let mut deferred = false;
        let mut skipped = 0;
        // An upper end of 0 is the exact answer (ε ≥ 0): nothing is left to tighten.
        if let Some(t) = saddle.filter(|_| upper > 0.0) {
            let mut e = self.kolmogorov_epsilon(dir, delta, eps_hat, t.lambda, upper)?;
            if av_estimate > 0.0 && may_bind(e.upper) {
                e.upper = e
                    .upper
                    .min(self.always_valid_epsilon_at(dir, delta, av_lambda)?);
            }
            (lower, upper, tilt) = (e.lower, e.upper, Some(t));
            deferred = self.params.fourier == FourierPart::WhenLoose
                && lower == 0.0
                && upper > 0.0
                && !t.beyond;
            if !deferred {
                (upper, skipped) =
                    self.kolmogorov_upper_tilts(dir, delta, eps_hat, t.lambda, upper);
            }
        }
        let fourier = tilt
            .filter(|_| self.params.fourier.wanted(lower, upper))
            .map(|t| self.fourier_part(t, || self.fourier_epsilon(dir, delta)));
        if deferred {
            let binds = matches!(&fourier, Some(Ok(f)) if ends(f).1 <= upper);
            if !binds {
                let t = tilt.expect("invariant: deferred only with a bracket");
                (upper, skipped) =
                    self.kolmogorov_upper_tilts(dir, delta, eps_hat, t.lambda, upper);
            }
        }
        let mut p = BracketParts {
            bracket: Bracket::upper_bound(upper),
            estimate: eps_hat,
            kolmogorov: Bracket::certified(lower, eps_hat.clamp(lower, upper.max(lower)), upper),
            fourier: None,
            monotone,
            notes: Vec::new(),
        };
        if skipped > 0 {
            p.notes.push(format!(
                "{} ordering: {skipped} of the extra tilts for the certified upper end were not \
                 tried (their certified quadratures would exceed the work budget they share); \
                 the upper end is valid, perhaps not the tightest",
                dir.name()
            ));
        }
        // The inversion is skipped where the Kolmogorov bracket is already tight (e.g. exactly
        // normal tilted laws), and by default where it is within FOURIER_TRIGGER.
        if let Some(fourier) = fourier {
            match &fourier {
                Ok(f) => {
                    let (f_lo, f_hi) = ends(f);
                    let (k_lo, k_hi) = (lower, upper);
                    lower = lower.max(f_lo);
                    upper = upper.min(f_hi);
                    let part = |v: f64, k: f64| {
                        if v == k {
                            "Kolmogorov-distance"
                        } else {
                            "Fourier"
                        }
                    };
                    p.notes.push(format!(
                        "{}; lower end from the {} part, upper end from the {} part",
                        intersection_note(
                            dir,
                            &format!("[{k_lo}, {k_hi}]"),
                            &format!("[{f_lo}, {f_hi}]")
                        ),
                        part(lower, k_lo),
                        part(upper, k_hi)
                    ));
                }
                Err(e) => p.notes.push(fourier_failure_note(dir, e)),
            }
            p.fourier = Some(fourier);
        }
        p.bracket = if self.params.bracket {
            Bracket::certified(
                lower,
                into_bracket(eps_hat, lower, upper, &mut p.notes),
                upper,
            )
        } else {
            Bracket {
                value: eps_hat.min(upper),
                lower: None,
                upper: Some(upper),
            }
        };
        if !p.monotone {
            p.notes.push(format!(
                "{} ordering: the saddle-point delta estimate is not monotone; epsilon is its first crossing",
                dir.name()
            ));
        }
        Ok(p)
    }
}

impl OrderingAccountant for SaddlePointAccountant {
    ordering_accessors!("saddlepoint", merge);

    /// A discrete Gaussian beyond its atom cap is refused (`NotCertified`): this accountant
    /// needs its atoms (docs/math.md §16.9).
    fn check(&self, added: &Composition) -> Result<()> {
        crate::mechanism::lattice::refuse_large_in(self.name(), added)
    }

    fn guarantee(&self, _query: Query) -> Guarantee {
        if self.params.bracket {
            Guarantee::Bracket
        } else {
            Guarantee::Estimate
        }
    }

    fn delta_for(&self, direction: Direction, epsilon: f64) -> Result<OrderingAnswer> {
        let p = self.delta_bracket(direction, epsilon).map_err(refusal)?;
        Ok(answer(p))
    }

    fn epsilon_for(&self, direction: Direction, delta: f64) -> Result<OrderingAnswer> {
        let p = self.epsilon_bracket(direction, delta).map_err(refusal)?;
        Ok(answer(p))
    }

    fn finish(&self, report: &mut Report) -> Result<()> {
        report.order = Some(if self.second_order() { 2 } else { 1 });
        match report.query {
            Query::Delta if self.params.bracket && report.lower == Some(0.0) => report
                .notes
                .push("the certified lower bound on delta is 0 (uninformative)".into()),
            Query::Epsilon if !self.params.bracket => report.notes.push(
                "upper is the certified always-valid bound exp(nK - (lambda-1)eps)*h_max".into(),
            ),
            _ => {}
        }
        Ok(())
    }

    /// Both orderings of an add-remove query at once (`rayon::join`): they share nothing, so on
    /// two cores the wall time is that of the slower one. The answers are those of the
    /// sequential default; of two refusals, one found in an f64 phase (the saddle search's
    /// range, an ε plan over the work limit) comes before the other ordering's certified one.
    fn orderings_for(&self, query: Query, given: f64) -> Result<Vec<(Direction, OrderingAnswer)>> {
        let one = |dir: Direction| match query {
            Query::Epsilon => self.epsilon_for(dir, given),
            Query::Delta => self.delta_for(dir, given),
        };
        match self.adjacency().directions() {
            &[a, b] => {
                // The f64 phases first, one ordering after the other: an ordering that cannot
                // be certified is mostly refused there, within milliseconds, and the other's
                // MPFR work (minutes at σ ≲ 2e−3) is then not started beside it.
                // (An ε plan starts with the saddle search, whose range check comes first.)
                if query == Query::Epsilon {
                    let certify = |dir, plan| -> Result<OrderingAnswer> {
                        let p = self
                            .epsilon_bracket_from(dir, given, plan)
                            .map_err(refusal)?;
                        Ok(answer(p))
                    };
                    if let Some(found) = self.one_ordering_bounded(a, b, given, &certify)? {
                        return Ok(found);
                    }
                    let pa = self.epsilon_plan(a, given).map_err(refusal)?;
                    let pb = self.epsilon_plan(b, given).map_err(refusal)?;
                    let (ra, rb) = rayon::join(|| certify(a, pa), || certify(b, pb));
                    return Ok(vec![(a, ra?), (b, rb?)]);
                }
                // Both orderings' checks before either runs: the one that fails would otherwise
                // wait for the other's search (σ = 1e−4, q = 0.5: the add ordering's 24 s beside
                // the remove ordering's refusal).
                self.saddle_range_check(a, query, given)?;
                self.saddle_range_check(b, query, given)?;
                let (ra, rb) = rayon::join(|| one(a), || one(b));
                Ok(vec![(a, ra?), (b, rb?)])
            }
            dirs => dirs.iter().map(|&d| Ok((d, one(d)?))).collect(),
        }
    }
}

impl SaddlePointAccountant {
    /// An ε query where exactly one ordering has a finite largest loss m (δ is exactly 0 from
    /// there on, so its ε is at most m): when the other ordering's estimate is above m, that
    /// ordering is certified first, and if its certified lower end is at least m the bounded
    /// ordering is answered by [0, m] without its saddle search (which, near m, runs to large
    /// tilts). `None` where this does not apply; the answers otherwise.
    fn one_ordering_bounded(
        &self,
        a: Direction,
        b: Direction,
        delta: f64,
        certify: &dyn Fn(Direction, EpsilonPlan) -> Result<OrderingAnswer>,
    ) -> Result<Option<Vec<(Direction, OrderingAnswer)>>> {
        let (free, bounded, m) = match (self.max_loss(a), self.max_loss(b)) {
            (None, Some(m)) => (a, b, m),
            (Some(m), None) => (b, a, m),
            _ => return Ok(None),
        };
        let plan = self.epsilon_plan(free, delta).map_err(refusal)?;
        // (A NaN estimate does not apply either.)
        if plan.eps_hat.is_nan() || plan.eps_hat <= m {
            return Ok(None);
        }
        let first = certify(free, plan)?;
        let answers = if first.bracket.lower.is_some_and(|lo| lo >= m) {
            let note = format!(
                "{} ordering: epsilon <= {m:e}, its largest loss (delta is exactly 0 there), \
                 below the other ordering's certified lower end {:e}; not inverted",
                bounded.name(),
                first.bracket.lower.unwrap_or(m)
            );
            let other = OrderingAnswer {
                bracket: Bracket::certified(0.0, m, m),
                notes: vec![note],
                valid: true,
            };
            vec![(free, first), (bounded, other)]
        } else {
            let plan = self.epsilon_plan(bounded, delta).map_err(refusal)?;
            let other = certify(bounded, plan)?;
            vec![(free, first), (bounded, other)]
        };
        // The report lists the orderings in the adjacency's order.
        let mut answers = answers;
        if answers[0].0 != a {
            answers.swap(0, 1);
        }
        Ok(Some(answers))
    }
}

/// The f64 phase of an ε query of one ordering ([`SaddlePointAccountant::epsilon_plan`]).
struct EpsilonPlan {
    /// The saddle-point estimate of ε.
    eps_hat: f64,
    /// Whether the estimated δ curve was monotone in the search bracket.
    monotone: bool,
    /// The saddle tilt of the Kolmogorov part (with a bracket only).
    saddle: Option<SaddleTilt>,
}

/// The refusal where the f64 CGF is out of range already at [`LAMBDA_MIN`]: a limit of the
/// method's range (σ so small that the tilted terms overflow e^700 at the smallest tilt), not
/// a bug.
fn out_of_range_at_lambda_min() -> Error {
    Error::NotCertified(format!(
        "saddlepoint: the f64 cumulant generating function is out of range (tilted terms above e^{}) already at the smallest tilt lambda = {LAMBDA_MIN}, so there is no saddle point to search",
        crate::cgf::LN_TERM_MAX
    ))
}

/// An ordering's answer from its parts.
fn answer(p: BracketParts) -> OrderingAnswer {
    OrderingAnswer {
        bracket: p.bracket,
        notes: p.notes,
        valid: true,
    }
}

/// The query was validated before the computation started: an invalid-parameter error from
/// inside it is an internal failure, and a search that found no certified answer, or work over
/// a limit of the method, is a refusal.
fn refusal(e: Error) -> Error {
    match e {
        Error::InvalidParameter { .. } => Error::Internal(format!("saddlepoint: {e}")),
        Error::NoSolution(_)
        | Error::NoConvergence { .. }
        | Error::PrecisionExhausted { .. }
        | Error::BudgetExceeded { .. } => Error::NotCertified(format!("saddlepoint: {e}")),
        e => e,
    }
}

/// The certified ends of a part (a missing end counts as uninformative).
fn ends(b: &Bracket) -> (f64, f64) {
    (b.lower.unwrap_or(0.0), b.upper.unwrap_or(f64::INFINITY))
}

/// Report note: the certified bracket of one ordering is the intersection of its two parts
/// (each given as formatted text).
fn intersection_note(dir: Direction, kolmogorov: &str, fourier: &str) -> String {
    format!(
        "{} ordering: the certified bracket is the intersection of the Kolmogorov-distance part {kolmogorov} (Berry-Esseen/DGG/always-valid) and the Fourier part {fourier} (inversion of the tilted law, as the contour accountant)",
        dir.name()
    )
}

/// Report note: the Fourier part was wanted but failed; the Kolmogorov bracket stands alone.
fn fourier_failure_note(dir: Direction, error: &str) -> String {
    format!(
        "{} ordering: the Fourier inversion of the tilted law gave nothing ({error}); the bracket is the Kolmogorov-distance one",
        dir.name()
    )
}

/// `value` moved into `[lower, upper]` when outside it (a note is added when it moves by more
/// than 1e−9 relative, i.e. more than rounding).
fn into_bracket(value: f64, lower: f64, upper: f64, notes: &mut Vec<String>) -> f64 {
    if lower.is_nan() || upper.is_nan() || lower > upper || (lower..=upper).contains(&value) {
        return value;
    }
    let moved = value.clamp(lower, upper);
    if (moved - value).abs() > 1e-9 * value.abs() {
        notes.push(format!(
            "the saddle-point estimate {value:e} fell outside the certified bracket and was moved to {moved:e}"
        ));
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accountant::Accountant;
    use crate::edgeworth::gaussian_delta;
    use crate::event::DpEvent;

    #[test]
    fn gaussian_composition_is_exact_and_bracketed() {
        let mut a = SaddlePointAccountant::new(SaddlePointParams::default()).expect("test setup");
        a.compose(&DpEvent::Gaussian { sigma: 10.0 }, 100)
            .expect("test setup");
        // μ_tot = 1.
        for &eps in &[0.5, 1.0, 3.0] {
            let truth = gaussian_delta(1.0, eps);
            let r = a.delta(eps).expect("test setup");
            assert!(
                (r.delta / truth - 1.0).abs() < 1e-9,
                "{eps}: {} vs {truth}",
                r.delta
            );
            // The f64 oracle is accurate to ~1e-15 relative; the bracket is a few ulps wide.
            let slack = 1e-13 * truth;
            assert!(
                r.lower.expect("test setup") <= truth + slack
                    && truth - slack <= r.upper.expect("test setup"),
                "{r:?}"
            );
        }
        let r = a.epsilon(1e-5).expect("test setup");
        assert!(
            r.lower.expect("test setup") <= r.epsilon && r.epsilon <= r.upper.expect("test setup")
        );
        assert!(gaussian_delta(1.0, r.upper.expect("test setup")) <= 1e-5);
        assert!(gaussian_delta(1.0, r.lower.expect("test setup")) >= 1e-5);
    }

    #[test]
    fn internal_invalid_parameters_are_internal_errors_and_failed_searches_refusals() {
        let e = refusal(Error::invalid("center", f64::NAN, "must be finite"));
        assert!(matches!(e, Error::Internal(_)) && !e.is_usage(), "{e}");
        let e = refusal(Error::NoSolution("x".into()));
        assert!(matches!(e, Error::NotCertified(_)), "{e}");
        // No budget inside the saddle point is the caller's: a limit of the method.
        let e = refusal(Error::BudgetExceeded {
            what: "x".into(),
            needed: "2".into(),
            budget: "1".into(),
        });
        assert!(matches!(e, Error::NotCertified(_)) && !e.is_usage(), "{e}");
    }
}
