//! The saddle-point (tilted) accountant: an estimate of δ(ε) and ε(δ) from the tilted
//! representation of the privacy curve, with a certified bracket whose cost does not grow with
//! the number of steps (MATH.md §6).
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
//!   of MATH.md §6 at the same kind of tilt; its certified evaluation
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
//! σ = 0.7): Δ_BE ≈ 0.32, the DGG bound is vacuous, the error term is ~4× E[h], and the upper ε
//! sits ln(1 + 4.4)/(λ − 1) ≈ 0.6 above the truth (+14%). The Fourier part has no such floor.
//!
//! Every certified number is computed in MPFR interval arithmetic with outward rounding
//! (K, K', K'', μ3, μ4 from [`crate::cgf::cgf_certified`]); ε brackets come from inverting the
//! certified δ curves at a fixed λ (valid for every ε) with [`super::invert::epsilon_for_delta`]
//! and `Pick::Upper` / `Pick::Lower`. Add-remove adjacency reports the maximum over both
//! orderings (value, lower and upper).
//!
//! # References
//! Alghamdi, Gomez, Asoodeh, Calmon, Kosut, Sankar, *The Saddle-Point Method in Differential
//! Privacy*, ICML 2023 (the tilted representation, the saddle-point accountant and its CLT
//! bracket with constant 1.12 = 2 × 0.56); Shevtsova 2010/2011 (Berry–Esseen constants);
//! Derumigny, Girard, Guyonvarch, Sankhya A 2024 (Edgeworth error).

use super::contour::{ContourAccountant, ContourParams};
use super::invert::{epsilon_for_delta, Pick};
use super::{check_delta, check_epsilon, Accountant, Guarantee, OrderingValue, Query, Report};
use crate::bounds::berry_esseen::{be_iid_interval, be_interval};
use crate::bounds::{dgg_bound, DggInputs, DggSetup, BE_INID, DEFAULT_ETA};
use crate::cgf::{abs_third_bound, cgf_certified, cgf_f64, loss_support, CertifiedCgf};
use crate::error::{Error, Result};
use crate::event::{Composition, DpEvent};
use crate::mechanism::{Adjacency, Direction, Mechanism};
use crate::precision::{Interval, Precision};
use crate::special::roots::brent;
use rug::float::Round;
use rug::Float;

/// Parameters of [`SaddlePointAccountant`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SaddlePointParams {
    /// Estimate order: 0 or 1 = normal tilted law, 2 or 3 = plus the skewness term.
    pub order: u8,
    /// Ordering(s) covered.
    pub adjacency: Adjacency,
    /// MPFR precision of the certified bracket (default 128 bits).
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
const LAMBDA_MIN: f64 = 1.0 + 1.0 / 1024.0;

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

/// Certified totals of one ordering at one λ.
#[derive(Debug, Clone)]
struct Totals {
    lambda: f64,
    k: Interval,
    mean: Interval,
    var: Interval,
    kappa3: Interval,
    /// Berry–Esseen Δ (upper end) against the normal.
    delta_be: Interval,
    /// DGG Δ against the order-1 Edgeworth expansion (None: not informative or not computed).
    delta_dgg: Option<Interval>,
    exact_normal: bool,
}

/// One ordering's certified δ-bracket at ε.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeltaBracket {
    /// Certified lower bound on δ(ε).
    pub lower: f64,
    /// Certified upper bound on δ(ε).
    pub upper: f64,
}

/// One ordering's ε estimate and certified bracket, with the parts it was assembled from.
///
/// # Guarantee
/// `lower ≤ ε(δ) ≤ upper` (certified); `kolmogorov` and `fourier` are each certified brackets on
/// their own, and `[lower, upper]` is their intersection. `estimate` is the saddle-point
/// estimate (not a bound).
#[derive(Debug, Clone, PartialEq)]
pub struct EpsilonBracket {
    /// The saddle-point estimate (first crossing of the estimated δ curve).
    pub estimate: f64,
    /// Certified lower bound on ε(δ).
    pub lower: f64,
    /// Certified upper bound on ε(δ).
    pub upper: f64,
    /// The bracket from the Kolmogorov-distance bounds of the tilted sum (Berry–Esseen, DGG)
    /// and the always-valid bound alone.
    pub kolmogorov: (f64, f64),
    /// The bracket from the Fourier inversion of the tilted law (None: not requested, or it
    /// failed; the failure is then in `fourier_error`).
    pub fourier: Option<(f64, f64)>,
    /// Why the Fourier inversion gave nothing, when it was requested.
    pub fourier_error: Option<String>,
    /// Whether the estimated δ curve was monotone in the search bracket.
    pub monotone: bool,
}

impl SaddlePointAccountant {
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
    fn totals_f64(&self, dir: Direction, lambda: f64) -> Result<[f64; 4]> {
        let mut t = [0.0; 4];
        for (m, n) in &self.composition.parts {
            let c = cgf_f64(m, dir, lambda)?;
            let nf = *n as f64;
            t[0] += nf * c.k;
            t[1] += nf * c.mean;
            t[2] += nf * c.var;
            t[3] += nf * c.mu3;
        }
        Ok(t)
    }

    /// The saddle point: Σ n_i K_i'(λ) = target, clamped to [LAMBDA_MIN, LAMBDA_MAX].
    fn saddle(&self, dir: Direction, target: f64) -> Result<f64> {
        let f = |l: f64| -> Result<f64> { Ok(self.totals_f64(dir, l)?[1] - target) };
        if f(LAMBDA_MIN)? >= 0.0 {
            return Ok(LAMBDA_MIN);
        }
        let mut hi = 2.0;
        while f(hi)? < 0.0 {
            hi *= 2.0;
            if hi >= LAMBDA_MAX {
                return Ok(LAMBDA_MAX);
            }
        }
        brent(f, LAMBDA_MIN.max(hi / 2.0), hi, 1e-10 * hi, 200)
    }

    /// ln of the saddle-point estimate of δ(ε) for one ordering.
    fn ln_delta_estimate(&self, dir: Direction, epsilon: f64) -> Result<f64> {
        let lambda = self.saddle(dir, epsilon)?;
        let t = self.totals_f64(dir, lambda)?;
        let p = Precision(64);
        let pt = |x: f64| Interval::from_f64(p, x);
        let skew = if self.second_order() {
            Some(pt(t[3]))
        } else {
            None
        };
        let i = tilted_h_expectation(lambda, &pt(t[1] - epsilon), &pt(t[2]), skew.as_ref(), p)?;
        let v = i.mid_f64();
        if v > 0.0 {
            Ok(t[0] - (lambda - 1.0) * epsilon + v.ln())
        } else {
            Ok(f64::NEG_INFINITY)
        }
    }

    fn certified_totals(&self, dir: Direction, lambda: f64) -> Result<Totals> {
        let prec = self.params.precision;
        let wp = Precision(prec.0 + 16);
        let mut k = Interval::zero(wp);
        let mut mean = Interval::zero(wp);
        let mut var = Interval::zero(wp);
        let mut kappa3 = Interval::zero(wp);
        let mut mu4 = Interval::zero(wp);
        let mut rho = Interval::zero(wp);
        let mut sigma3 = Interval::zero(wp);
        let mut count = 0f64;
        let mut exact_normal = true;
        let mut parts: Vec<CertifiedCgf> = Vec::new();
        for (m, n) in &self.composition.parts {
            let c = cgf_certified(m, dir, lambda, prec)?;
            let nf = Float::with_val(64, *n);
            k.add_assign(&c.k.scale_nonneg(&nf));
            mean.add_assign(&c.mean.scale_nonneg(&nf));
            var.add_assign(&c.var.scale_nonneg(&nf));
            kappa3.add_assign(&c.mu3.scale_nonneg(&nf));
            mu4.add_assign(&c.mu4.scale_nonneg(&nf));
            rho.add_assign(&c.abs3.scale_nonneg(&nf));
            let s = c.var.monotone(|v, r| v.sqrt_round(r));
            sigma3.add_assign(&s.mul(&s).mul(&s).scale_nonneg(&nf));
            count += *n as f64;
            exact_normal &= is_gaussian(m);
            parts.push(c);
        }
        let iid = self.composition.parts.len() == 1;
        let delta_be = if exact_normal {
            Interval::zero(wp)
        } else {
            if iid {
                be_iid_interval(count, &rho, &var)
            } else {
                be_interval(BE_INID, &rho, &var)
            }
        };
        let delta_dgg = if exact_normal {
            None
        } else {
            // B̄² = var/N; K4 = N·Σμ4/var²; K3 = √N·Σρ/var^{3/2}; |λ3| likewise; K̃3 adds
            // √N·Σσ_i³/var^{3/2} (E|X_i| ≤ σ_i).
            let nf = Interval::from_f64(wp, count);
            let sqrt_n = nf.monotone(|v, r| v.sqrt_round(r));
            let var_lo = Interval::point(var.lo.clone());
            let var15 = var_lo.mul(&var_lo.monotone(|v, r| v.sqrt_round(r)));
            let k4 = nf.mul(&mu4).div(&var_lo.mul(&var_lo))?.hi_f64().max(1.0);
            let k3 = sqrt_n.mul(&rho).div(&var15)?.hi_f64();
            let l3 = abs_hi(&sqrt_n.mul(&kappa3).div(&var15)?);
            let kt = if iid {
                Interval::from_f64(wp, k3)
                    .add(&Interval::from_f64(wp, 1.0))
                    .hi_f64()
            } else {
                Interval::from_f64(wp, k3)
                    .add(&sqrt_n.mul(&sigma3).div(&var15)?)
                    .hi_f64()
            };
            let inputs = DggInputs {
                n: count,
                k4,
                k3,
                lambda3: l3,
                k3_tilde: kt,
            };
            let b = dgg_bound(
                DggSetup {
                    iid,
                    unskewed: false,
                },
                &inputs,
                DEFAULT_ETA,
            )?;
            if b.edgeworth.is_finite() && b.edgeworth < 1.0 {
                Some(Interval::from_f64(wp, b.edgeworth))
            } else {
                None
            }
        };
        Ok(Totals {
            lambda,
            k,
            mean,
            var,
            kappa3,
            delta_be,
            delta_dgg,
            exact_normal,
        })
    }

    /// f64 proxy of the certified upper ε at tilt λ (used only to choose λ; the chosen λ is then
    /// certified): ε̂ + ln(δ̂_up(ε̂)/δ)/(λ − 1), where δ̂_up = e^{nK − (λ−1)ε̂}(E_G h + 2h_max·Δ_BE)
    /// from the f64 totals, and ln δ_up decreases with slope ≈ (λ − 1) in ε when the error term
    /// dominates.
    fn upper_proxy(&self, dir: Direction, lambda: f64, eps_hat: f64, ln_delta: f64) -> Result<f64> {
        let p = Precision(64);
        let pt = |x: f64| Interval::from_f64(p, x);
        let (mut k, mut mean, mut var, mut rho, mut count) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (m, n) in &self.composition.parts {
            let c = cgf_f64(m, dir, lambda)?;
            let nf = *n as f64;
            k += nf * c.k;
            mean += nf * c.mean;
            var += nf * c.var;
            let a3 = abs_third_bound(
                &pt(c.mean),
                &pt(c.var),
                &pt(c.mu3),
                &pt(c.mu4),
                loss_support(m, dir),
            );
            rho += nf * a3.hi_f64();
            count += nf;
        }
        if var.is_nan() || var <= 0.0 {
            return Ok(f64::INFINITY);
        }
        let v3 = var * var.sqrt();
        let be = if self.composition.parts.len() == 1 {
            let r = count.sqrt() * rho / v3;
            (0.4748 * r).min(0.33554 * (r + 0.415)) / count.sqrt()
        } else {
            0.56 * rho / v3
        };
        let eh = tilted_h_expectation(lambda, &pt(mean - eps_hat), &pt(var), None, p)?.mid_f64();
        let ln_up = k - (lambda - 1.0) * eps_hat
            + (eh.max(0.0) + 2.0 * ln_hmax_f64(lambda).exp() * be).ln();
        let v = eps_hat + (ln_up - ln_delta) / (lambda - 1.0);
        Ok(if v.is_finite() { v } else { f64::INFINITY })
    }

    /// The tilt minimising [`Self::upper_proxy`] over (λ* − 1)·[0.5, 3] (λ* the saddle point),
    /// by golden section on ln(λ − 1).
    fn optimal_upper_tilt(
        &self,
        dir: Direction,
        saddle: f64,
        eps_hat: f64,
        ln_delta: f64,
    ) -> Result<f64> {
        let g = |x: f64| self.upper_proxy(dir, (1.0 + x.exp()).min(LAMBDA_MAX), eps_hat, ln_delta);
        let base = (saddle - 1.0).ln();
        let (mut a, mut b) = (base + 0.5f64.ln(), base + 3f64.ln());
        let gr = 0.5 * (5f64.sqrt() - 1.0);
        let mut c = b - gr * (b - a);
        let mut d = a + gr * (b - a);
        let (mut gc, mut gd) = (g(c)?, g(d)?);
        for _ in 0..24 {
            if gc < gd {
                b = d;
                d = c;
                gd = gc;
                c = b - gr * (b - a);
                gc = g(c)?;
            } else {
                a = c;
                c = d;
                gc = gd;
                d = a + gr * (b - a);
                gd = g(d)?;
            }
        }
        Ok((1.0 + (0.5 * (a + b)).exp()).min(LAMBDA_MAX))
    }

    /// Certified bracket on δ(ε) from totals at a fixed λ (valid for every ε).
    fn bracket_at(&self, t: &Totals, epsilon: f64) -> Result<DeltaBracket> {
        let wp = Precision(t.k.prec());
        let lam = Interval::from_f64(wp, t.lambda);
        let one = Interval::from_f64(wp, 1.0);
        let eps = Interval::from_f64(wp, epsilon);
        let lm1 = lam.sub(&one);
        let ln_pref = t.k.sub(&lm1.mul(&eps));
        let pref = ln_pref.exp();
        let hmax = h_max(t.lambda, wp)?;
        let two_hmax = hmax.add(&hmax);
        let mu0 = t.mean.sub(&eps);
        // Normal + Berry–Esseen.
        let i0 = tilted_h_expectation(t.lambda, &mu0, &t.var, None, wp)?;
        let e0 = two_hmax.mul(&Interval::point(t.delta_be.hi.clone()));
        let mut lo = i0.sub(&e0);
        let mut hi = i0.add(&e0);
        // Order-1 Edgeworth + DGG.
        if let Some(d) = &t.delta_dgg {
            let i1 = tilted_h_expectation(t.lambda, &mu0, &t.var, Some(&t.kappa3), wp)?;
            let e1 = two_hmax.mul(&Interval::point(d.hi.clone()));
            let lo1 = i1.sub(&e1);
            let hi1 = i1.add(&e1);
            if lo1.lo > lo.lo {
                lo = lo1;
            }
            if hi1.hi < hi.hi {
                hi = hi1;
            }
        }
        // The expectation lies in [0, h_max].
        let lower = pref.mul(&lo).lo_f64().max(0.0);
        let mut upper = pref.mul(&hi).hi_f64();
        upper = upper.min(pref.mul(&hmax).hi_f64());
        Ok(DeltaBracket {
            lower,
            upper: upper.min(1.0),
        })
    }

    /// f64 minimiser of g(λ) over λ ∈ (1, LAMBDA_MAX] by golden section on ln(λ − 1).
    fn minimize_lambda(&self, g: impl Fn(f64) -> Result<f64>) -> Result<f64> {
        let (mut a, mut b) = ((LAMBDA_MIN - 1.0).ln(), (LAMBDA_MAX - 1.0).ln());
        // Coarse grid first (g may be +inf at large λ).
        let mut best = (a, f64::INFINITY);
        let grid = 40;
        for i in 0..=grid {
            let x = a + (b - a) * i as f64 / grid as f64;
            let v = g(1.0 + x.exp())?;
            if v < best.1 {
                best = (x, v);
            }
        }
        let step = (b - a) / grid as f64;
        a = best.0 - step;
        b = best.0 + step;
        let gr = 0.5 * (5f64.sqrt() - 1.0);
        for _ in 0..40 {
            let c = b - gr * (b - a);
            let d = a + gr * (b - a);
            if g(1.0 + c.exp())? < g(1.0 + d.exp())? {
                b = d;
            } else {
                a = c;
            }
        }
        let x = 0.5 * (a + b);
        Ok(if g(1.0 + x.exp())? <= best.1 {
            1.0 + x.exp()
        } else {
            1.0 + best.0.exp()
        })
    }

    /// Certified always-valid upper bound on δ(ε): exp(nK(λ) − (λ−1)ε)·h_max at the best λ.
    fn always_valid_delta(&self, dir: Direction, epsilon: f64) -> Result<f64> {
        let lambda = self.minimize_lambda(|l| {
            let t = self.totals_f64(dir, l)?;
            let v = t[0] - (l - 1.0) * epsilon + ln_hmax_f64(l);
            Ok(if v.is_finite() { v } else { f64::INFINITY })
        })?;
        let t = self.certified_k(dir, lambda)?;
        let wp = Precision(t.prec());
        let lm1 = Interval::from_f64(wp, lambda - 1.0);
        let v = t
            .sub(&lm1.mul(&Interval::from_f64(wp, epsilon)))
            .exp()
            .mul(&h_max(lambda, wp)?);
        Ok(v.hi_f64().min(1.0))
    }

    /// Certified always-valid upper bound on ε(δ): [nK(λ) + ln h_max − ln δ]/(λ − 1).
    fn always_valid_epsilon(&self, dir: Direction, delta: f64) -> Result<f64> {
        let ln_d = delta.ln();
        let lambda = self.minimize_lambda(|l| {
            let t = self.totals_f64(dir, l)?;
            let v = (t[0] + ln_hmax_f64(l) - ln_d) / (l - 1.0);
            Ok(if v.is_finite() { v } else { f64::INFINITY })
        })?;
        let k = self.certified_k(dir, lambda)?;
        let wp = Precision(k.prec());
        let ln_delta = Interval::from_f64(wp, delta).ln();
        let num = k.add(&h_max(lambda, wp)?.ln()).sub(&ln_delta);
        let v = num.div(&Interval::from_f64(wp, lambda - 1.0))?;
        Ok(v.hi_f64().max(0.0))
    }

    fn certified_k(&self, dir: Direction, lambda: f64) -> Result<Interval> {
        let wp = Precision(self.params.precision.0 + 16);
        let mut k = Interval::zero(wp);
        for (m, n) in &self.composition.parts {
            let c = cgf_certified(m, dir, lambda, self.params.precision)?;
            k.add_assign(&c.k.scale_nonneg(&Float::with_val(64, *n)));
        }
        Ok(k)
    }

    /// The certified δ-bracket of one ordering at ε (saddle-point λ), with a note saying how it
    /// was assembled when the Fourier part was added or failed.
    ///
    /// # Errors
    /// Failed quadrature or root finding.
    pub fn delta_bracket(
        &self,
        dir: Direction,
        epsilon: f64,
    ) -> Result<(DeltaBracket, Option<String>)> {
        let lambda = self.saddle(dir, epsilon)?;
        let t = self.certified_totals(dir, lambda)?;
        let mut b = self.bracket_at(&t, epsilon)?;
        b.upper = b.upper.min(self.always_valid_delta(dir, epsilon)?);
        let mut note = None;
        if self.params.fourier.wanted(b.lower, b.upper) {
            match self.fourier_delta(dir, epsilon) {
                Ok(f) => {
                    note = Some(intersection_note(
                        dir,
                        &format!("[{:e}, {:e}]", b.lower, b.upper),
                        &format!("[{:e}, {:e}]", f.lower, f.upper),
                    ));
                    b.lower = b.lower.max(f.lower);
                    b.upper = b.upper.min(f.upper);
                }
                Err(e) => note = Some(fourier_failure_note(dir, &e.to_string())),
            }
        }
        Ok((b, note))
    }

    /// The contour (Fourier-inversion) accountant on the same composition, one ordering.
    fn fourier_accountant(&self, dir: Direction) -> Result<ContourAccountant> {
        let adjacency = match dir {
            Direction::Remove => Adjacency::Remove,
            Direction::Add => Adjacency::Add,
        };
        ContourAccountant::with_composition(
            ContourParams {
                adjacency,
                tolerance: FOURIER_TOLERANCE,
            },
            self.composition.clone(),
        )
    }

    /// Certified δ bracket from the Fourier inversion of the tilted law.
    fn fourier_delta(&self, dir: Direction, epsilon: f64) -> Result<DeltaBracket> {
        let (b, _) = self.fourier_accountant(dir)?.delta_bounds(dir, epsilon)?;
        Ok(DeltaBracket {
            lower: b.lower.unwrap_or(0.0).max(0.0),
            upper: b.upper.unwrap_or(1.0).min(1.0),
        })
    }

    /// The ε estimate and certified [lower, upper] of one ordering.
    ///
    /// # Errors
    /// Failed quadrature or root finding.
    pub fn epsilon_bracket(&self, dir: Direction, delta: f64) -> Result<EpsilonBracket> {
        let ln_delta = delta.ln();
        // Estimate.
        let k = self.totals_f64(dir, 1.0)?;
        let guess = (k[1] + (k[2] * -2.0 * ln_delta).sqrt()).max(1e-3);
        let est = epsilon_for_delta(
            |e| Ok(self.ln_delta_estimate(dir, e)?.exp()),
            delta,
            guess,
            1e-10 * guess.max(1.0),
            Pick::Root,
        )?;
        let eps_hat = est.epsilon;
        let mut upper = self.always_valid_epsilon(dir, delta)?;
        let mut lower = 0.0;
        if self.params.bracket {
            let lambda = self.saddle(dir, eps_hat.max(1e-9))?;
            let t = self.certified_totals(dir, lambda)?;
            let tol = 1e-9 * eps_hat.max(1.0);
            // Any λ > 1 gives a valid upper curve: try the saddle point and a few neighbours
            // (at δ = 1e-5 the saddle point wins; at δ = 0.1 larger tilts do).
            // The tilt minimising an f64 proxy of the certified upper end joins the list.
            let mut factors = UPPER_TILT_FACTORS.to_vec();
            if !t.exact_normal {
                if let Ok(l) = self.optimal_upper_tilt(dir, lambda, eps_hat, ln_delta) {
                    factors.push((l - 1.0) / (lambda - 1.0));
                }
            }
            for &factor in &factors {
                let tt = if factor == 1.0 {
                    t.clone()
                } else {
                    let l = (1.0 + (lambda - 1.0) * factor).min(LAMBDA_MAX);
                    match self.certified_totals(dir, l) {
                        Ok(tt) => tt,
                        Err(_) => continue,
                    }
                };
                if let Ok(inv) = epsilon_for_delta(
                    |e| Ok(self.bracket_at(&tt, e)?.upper),
                    delta,
                    eps_hat.max(1e-3),
                    tol,
                    Pick::Upper,
                ) {
                    upper = upper.min(inv.epsilon);
                }
            }
            if t.exact_normal || t.delta_be.hi < 1 {
                if let Ok(inv) = epsilon_for_delta(
                    |e| Ok(self.bracket_at(&t, e)?.lower),
                    delta,
                    eps_hat.max(1e-3),
                    tol,
                    Pick::Lower,
                ) {
                    lower = inv.epsilon;
                }
            }
        }
        let kolmogorov = (lower, upper);
        let (mut fourier, mut fourier_error) = (None, None::<String>);
        // Skip the inversion where the Kolmogorov bracket is already tight (e.g. exactly normal
        // tilted laws), and by default where it is within FOURIER_TRIGGER.
        if self.params.bracket && self.params.fourier.wanted(lower, upper) {
            match self
                .fourier_accountant(dir)
                .and_then(|c| c.epsilon_bounds(dir, delta))
            {
                Ok((b, _)) => {
                    let (lo, up) = (b.lower.unwrap_or(0.0), b.upper.unwrap_or(f64::INFINITY));
                    fourier = Some((lo, up));
                    lower = lower.max(lo);
                    upper = upper.min(up);
                }
                Err(e) => fourier_error = Some(e.to_string()),
            }
        }
        Ok(EpsilonBracket {
            estimate: eps_hat,
            lower,
            upper,
            kolmogorov,
            fourier,
            fourier_error,
            monotone: est.monotone,
        })
    }

    fn base_report(&self, query: Query, epsilon: f64, delta: f64) -> Report {
        let mut r = Report::new(self.name(), query, epsilon, delta, self.params.adjacency);
        r.order = Some(if self.second_order() { 2 } else { 1 });
        r.guarantee = if self.params.bracket {
            Guarantee::Bracket
        } else {
            Guarantee::Estimate
        };
        r
    }

    fn trivial(&self, query: Query, epsilon: f64, delta: f64) -> Option<Report> {
        let adjacency = self.params.adjacency;
        Report::trivial(
            self.name(),
            &self.composition,
            query,
            epsilon,
            delta,
            adjacency,
        )
        .map(|mut r| {
            r.lower = Some(r.value());
            r.upper = Some(r.value());
            r
        })
    }
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

/// The event whose flattening is `m` (to hand the composition to another accountant).
#[cfg(test)]
fn mechanism_event(m: &Mechanism) -> DpEvent {
    match m {
        Mechanism::Gaussian(g) => DpEvent::Gaussian { sigma: g.sigma() },
        Mechanism::SubsampledGaussian(s) => DpEvent::PoissonSampled {
            sampling_rate: s.sampling_rate(),
            event: Box::new(DpEvent::Gaussian { sigma: s.sigma() }),
        },
        Mechanism::Laplace(l) => DpEvent::Laplace { scale: l.scale() },
    }
}

fn is_gaussian(m: &Mechanism) -> bool {
    match m {
        Mechanism::Gaussian(_) => true,
        Mechanism::SubsampledGaussian(s) => s.sampling_rate() == 1.0,
        Mechanism::Laplace(_) => false,
    }
}

fn abs_hi(x: &Interval) -> f64 {
    x.lo_f64().abs().max(x.hi_f64().abs())
}

/// ln h_max(λ) in f64.
fn ln_hmax_f64(l: f64) -> f64 {
    l * ((l - 1.0) / l).ln() - (l - 1.0).ln()
}

/// h_max = ((λ−1)/λ)^λ/(λ−1) enclosed.
fn h_max(lambda: f64, wp: Precision) -> Result<Interval> {
    let lam = Interval::from_f64(wp, lambda);
    let lm1 = lam.sub(&Interval::from_f64(wp, 1.0));
    let ratio = lm1.div(&lam)?;
    ratio.ln().mul(&lam).exp().div(&lm1)
}

/// Φ̄(x) = erfc(x/√2)/2 enclosed (decreasing in x).
fn phi_bar(x: &Interval) -> Interval {
    let wp = x.prec();
    let mut s2lo = Float::with_val(wp, 2);
    s2lo.sqrt_round(Round::Down);
    let mut s2hi = Float::with_val(wp, 2);
    s2hi.sqrt_round(Round::Up);
    let arg = x
        .div(&Interval::new(s2lo, s2hi))
        .expect("invariant: sqrt 2 > 0");
    let mut lo = arg.hi.clone();
    lo.erfc_round(Round::Down);
    let mut hi = arg.lo.clone();
    hi.erfc_round(Round::Up);
    Interval::new(lo, hi).scale_nonneg(&Float::with_val(wp, 0.5))
}

/// e^{A}·φ(t) = exp(A − t²/2)/√(2π) enclosed.
fn exp_phi(a: &Interval, t: &Interval) -> Interval {
    let wp = Precision(t.prec());
    let half = Float::with_val(wp.0, 0.5);
    let e = a.sub(&t.mul(t).scale_nonneg(&half)).exp();
    let two_pi = Interval::new(
        crate::precision::pi(wp, Round::Down) * 2u32,
        crate::precision::pi(wp, Round::Up) * 2u32,
    );
    let s = two_pi.monotone(|v, r| v.sqrt_round(r));
    e.div(&s).expect("invariant: sqrt(2 pi) > 0")
}

/// E[h_λ(W)] for W = μ0 + τZ, τ² = `var`, Z with density φ(z) (normal) or
/// φ(z)(1 + γ/6·He3(z)) with γ = κ3/τ³ (order-1 Edgeworth), in closed form:
/// E[e^{−aW}1{W>0}P(Z)] = e^{−aμ0 + a²τ²/2}∫_t^∞ P(u − aτ)φ(u)du, t = aτ − μ0/τ, with
/// ∫_t^∞ φ = Φ̄(t), ∫uφ = φ(t), ∫u²φ = tφ(t) + Φ̄(t), ∫u³φ = (t² + 2)φ(t).
fn tilted_h_expectation(
    lambda: f64,
    mu0: &Interval,
    var: &Interval,
    kappa3: Option<&Interval>,
    wp: Precision,
) -> Result<Interval> {
    let tau = var.monotone(|v, r| v.sqrt_round(r));
    let half = Float::with_val(wp.0, 0.5);
    let term = |a_f: f64| -> Result<Interval> {
        let a = Interval::from_f64(wp, a_f);
        let atau = a.mul(&tau);
        let big_a = atau.mul(&atau).scale_nonneg(&half).sub(&a.mul(mu0));
        let t = atau.sub(&mu0.div(&tau)?);
        let s0 = big_a.exp().mul(&phi_bar(&t));
        let e_phi = exp_phi(&big_a, &t);
        let mut v = s0.clone();
        if let Some(k3) = kappa3 {
            // ∫ He3(u − s)φ(u) du over (t, ∞), s = aτ:
            // u³ − 3su² + (3s² − 3)u + (3s − s³).
            let s = atau.clone();
            let s2 = s.mul(&s);
            let three = Interval::from_f64(wp, 3.0);
            let two = Interval::from_f64(wp, 2.0);
            let i1 = e_phi.clone();
            let i2 = t.mul(&e_phi).add(&s0);
            let i3 = t.mul(&t).add(&two).mul(&e_phi);
            let he3 = i3
                .sub(&three.mul(&s).mul(&i2))
                .add(&three.mul(&s2).sub(&three).mul(&i1))
                .add(&three.mul(&s).sub(&s2.mul(&s)).mul(&s0));
            let gamma = k3.div(&var.mul(&tau))?;
            v = v.add(&gamma.mul(&he3).div(&Interval::from_f64(wp, 6.0))?);
        }
        Ok(v)
    };
    Ok(term(lambda - 1.0)?.sub(&term(lambda)?))
}

impl Accountant for SaddlePointAccountant {
    fn name(&self) -> &'static str {
        "saddlepoint"
    }

    fn compose(&mut self, event: &DpEvent, count: u64) -> Result<()> {
        self.composition.add_event(event, count, "saddlepoint")
    }

    fn delta(&self, epsilon: f64) -> Result<Report> {
        check_epsilon(epsilon)?;
        if let Some(r) = self.trivial(Query::Delta, epsilon, 0.0) {
            return Ok(r);
        }
        let mut r = self.base_report(Query::Delta, epsilon, 0.0);
        let (mut best, mut lo_all, mut hi_all) = (0f64, 0f64, 0f64);
        for &dir in self.params.adjacency.directions() {
            let mut est = self.ln_delta_estimate(dir, epsilon)?.exp();
            let (lower, upper) = if self.params.bracket {
                let (b, note) = self.delta_bracket(dir, epsilon)?;
                r.notes.extend(note);
                // The truth lies in the certified bracket: an estimate outside it (by f64
                // rounding, or by the approximation's own error) is moved to its nearer end.
                est = into_bracket(est, b.lower, b.upper, &mut r.notes);
                (Some(b.lower), Some(b.upper))
            } else {
                (None, None)
            };
            r.orderings.push(OrderingValue {
                direction: dir,
                value: est,
                lower,
                upper,
            });
            best = best.max(est);
            lo_all = lo_all.max(lower.unwrap_or(0.0));
            hi_all = hi_all.max(upper.unwrap_or(1.0));
        }
        r.set_value(best);
        if self.params.bracket {
            r.lower = Some(lo_all);
            r.upper = Some(hi_all);
            r.vacuous = hi_all >= 1.0;
            if lo_all == 0.0 {
                r.notes
                    .push("the certified lower bound on delta is 0 (uninformative)".into());
            }
        }
        Ok(r)
    }

    fn epsilon(&self, delta: f64) -> Result<Report> {
        check_delta(delta)?;
        if let Some(r) = self.trivial(Query::Epsilon, 0.0, delta) {
            return Ok(r);
        }
        let mut r = self.base_report(Query::Epsilon, 0.0, delta);
        let (mut best, mut lo_all, mut hi_all) = (0f64, 0f64, 0f64);
        for &dir in self.params.adjacency.directions() {
            let b = self.epsilon_bracket(dir, delta)?;
            let (est, lower, upper, monotone) = (b.estimate, b.lower, b.upper, b.monotone);
            if let Some((f_lo, f_hi)) = b.fourier {
                let (k_lo, k_hi) = b.kolmogorov;
                let part = |v: f64, k: f64| {
                    if v == k {
                        "Kolmogorov-distance"
                    } else {
                        "Fourier"
                    }
                };
                r.notes.push(format!(
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
            if let Some(e) = &b.fourier_error {
                r.notes.push(fourier_failure_note(dir, e));
            }
            let est = if self.params.bracket {
                into_bracket(est, lower, upper, &mut r.notes)
            } else {
                est.min(upper)
            };
            if !monotone {
                r.notes.push(format!(
                    "{} ordering: the saddle-point delta estimate is not monotone; epsilon is its first crossing",
                    dir.name()
                ));
            }
            r.orderings.push(OrderingValue {
                direction: dir,
                value: est,
                lower: self.params.bracket.then_some(lower),
                upper: Some(upper),
            });
            best = best.max(est);
            lo_all = lo_all.max(lower);
            hi_all = hi_all.max(upper);
        }
        r.set_value(best);
        r.lower = self.params.bracket.then_some(lo_all);
        r.upper = Some(hi_all);
        r.vacuous = !hi_all.is_finite();
        if !self.params.bracket {
            r.notes.push(
                "upper is the certified always-valid bound exp(nK - (lambda-1)eps)*h_max".into(),
            );
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edgeworth::gaussian_delta;

    #[test]
    fn mechanism_events_flatten_back_to_the_same_parts() {
        // The Fourier part hands the composition to the contour accountant through these events.
        let mut c = Composition::default();
        let events = [
            DpEvent::Gaussian { sigma: 1.5 },
            DpEvent::Laplace { scale: 2.0 },
            DpEvent::PoissonSampled {
                sampling_rate: 0.01,
                event: Box::new(DpEvent::Gaussian { sigma: 0.8 }),
            },
        ];
        for (i, e) in events.iter().enumerate() {
            c.add_event(e, i as u64 + 1, "test").expect("test setup");
        }
        let mut d = Composition::default();
        for (m, n) in &c.parts {
            d.add_event(&mechanism_event(m), *n, "test")
                .expect("test setup");
        }
        assert_eq!(c.parts, d.parts);
    }

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
}
