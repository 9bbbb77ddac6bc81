//! The Kolmogorov-distance part of the saddle-point bracket (module docs of
//! [`super`]): certified totals of the tilted sum at a fixed λ, the Berry–Esseen and
//! Derumigny–Girard–Guyonvarch errors against the normal and order-1 Edgeworth laws, the closed
//! form of E[h_λ(W)], and the always-valid (Chernoff-type) bound optimised over λ.

use super::{SaddlePointAccountant, LAMBDA_MAX, LAMBDA_MIN, UPPER_TILT_FACTORS};
use crate::accountant::invert::{epsilon_for_delta, Pick};
use crate::bounds::berry_esseen::{be_iid_interval, be_interval};
use crate::bounds::{dgg_bound, DggInputs, DggSetup, BE_INID, DEFAULT_ETA};
use crate::cgf::{abs_third_bound, cgf_certified, cgf_f64, loss_support};
use crate::error::Result;
use crate::mechanism::{Direction, Mechanism};
use crate::precision::{Interval, Precision};
use crate::special::normal::{exp_phi, exp_phi_bar};
use rug::Float;

/// Certified totals of one ordering at one λ.
#[derive(Debug, Clone)]
pub(super) struct Totals {
    pub(super) lambda: f64,
    k: Interval,
    mean: Interval,
    var: Interval,
    kappa3: Interval,
    /// Berry–Esseen Δ (upper end) against the normal.
    pub(super) delta_be: Interval,
    /// DGG Δ against the order-1 Edgeworth expansion (None: not informative or not computed).
    delta_dgg: Option<Interval>,
    pub(super) exact_normal: bool,
}

/// Certified sums over the composition at one λ (each a count-weighted sum of per-summand
/// values).
struct Sums {
    count: f64,
    k: Interval,
    mean: Interval,
    var: Interval,
    kappa3: Interval,
    mu4: Interval,
    /// Σ E_λ|X_i|³ (upper end).
    rho: Interval,
    /// Σ σ_i³.
    sigma3: Interval,
    exact_normal: bool,
    iid: bool,
}

/// A certified bracket `[lower, upper]` (both ends certified): on δ at one ε
/// ([`SaddlePointAccountant::bracket_at`]), or the Kolmogorov-distance part of one ordering's
/// ε bracket ([`SaddlePointAccountant::kolmogorov_epsilon`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Ends {
    pub(super) lower: f64,
    pub(super) upper: f64,
}

/// MPFR precision of the Kolmogorov part's certified totals where the tilted law is not exactly
/// normal (module docs of [`super`], "Precision"; docs/math.md §12.1): the bracket's width is then set by the
/// Kolmogorov distance Δ, and 64 bits (quadrature target 2⁻⁷², working precision 96 bits) leave
/// the totals' enclosures [`KOLMOGOROV_WIDTH`] narrow or they are recomputed at the requested
/// precision.
pub(super) const KOLMOGOROV_BITS: u32 = 64;
/// Largest relative width (absolute below magnitude 1) of the low-precision totals K, K', K''
/// that is accepted: 2⁻⁵⁸, 1/64 of an f64 ulp, so an f64 end rounded outward from them differs
/// from the full-precision one by at most about one ulp.
pub(super) const KOLMOGOROV_WIDTH: f64 = 1.0 / (1u64 << 58) as f64;
/// The middle rung of the Kolmogorov part's precisions: totals wider than
/// [`KOLMOGOROV_WIDTH`] at [`KOLMOGOROV_BITS`] (long compositions multiply the per-step width by
/// n; the truncated-Poisson union's weight mixing loses a few bits) are recomputed here before
/// the requested precision is tried.
pub(super) const KOLMOGOROV_MID_BITS: u32 = 128;

impl SaddlePointAccountant {
    /// The precision of the Kolmogorov part's certified totals: [`KOLMOGOROV_BITS`] (capped by
    /// the requested precision) unless every part is Gaussian (an exactly normal tilted law,
    /// Δ = 0: the requested precision, the closed forms are cheap).
    pub(super) fn kolmogorov_precision(&self) -> Precision {
        let requested = self.params.precision;
        if self.composition.parts.iter().all(|(m, _)| is_gaussian(m)) {
            requested
        } else {
            Precision(requested.0.min(KOLMOGOROV_BITS))
        }
    }

    /// The refusal [`Self::certified_sums`] at λ would end in for being over the certified
    /// quadrature's work limit at [`Self::kolmogorov_precision`], found before any MPFR work
    /// ([`crate::cgf::check_certified_work`]).
    pub(super) fn check_certified_work(&self, dir: Direction, lambda: f64) -> Result<()> {
        let low = self.kolmogorov_precision();
        for (m, _) in &self.composition.parts {
            crate::cgf::check_certified_work(m, dir, lambda, low)?;
        }
        Ok(())
    }

    /// [`Self::certified_sums_at`] at [`Self::kolmogorov_precision`]; recomputed at the
    /// requested precision where K, K' or K'' come out wider than [`KOLMOGOROV_WIDTH`].
    fn certified_sums(&self, dir: Direction, lambda: f64) -> Result<Sums> {
        self.on_ladder(
            |prec| self.certified_sums_at(dir, lambda, prec),
            |s| [&s.k, &s.mean, &s.var].iter().all(|v| narrow(v)),
        )
    }

    /// `compute` at [`Self::kolmogorov_precision`], then at [`KOLMOGOROV_MID_BITS`], then at the
    /// requested precision, each only where the one before is not `narrow_enough` (the last
    /// is taken as it is). The quadratures' node counts grow with the bits (their targets are
    /// 2^−(bits+8) of the scale), so the middle rung costs a fraction of the requested one.
    fn on_ladder<T>(
        &self,
        compute: impl Fn(Precision) -> Result<T>,
        narrow_enough: impl Fn(&T) -> bool,
    ) -> Result<T> {
        let requested = self.params.precision;
        let mut prec = self.kolmogorov_precision();
        loop {
            let v = compute(prec)?;
            if prec == requested || narrow_enough(&v) {
                return Ok(v);
            }
            prec = if prec.0 < KOLMOGOROV_MID_BITS && KOLMOGOROV_MID_BITS < requested.0 {
                Precision(KOLMOGOROV_MID_BITS)
            } else {
                requested
            };
        }
    }

    fn certified_sums_at(&self, dir: Direction, lambda: f64, prec: Precision) -> Result<Sums> {
        let wp = Precision(prec.0 + 16);
        let mut s = Sums {
            count: 0.0,
            k: Interval::zero(wp),
            mean: Interval::zero(wp),
            var: Interval::zero(wp),
            kappa3: Interval::zero(wp),
            mu4: Interval::zero(wp),
            rho: Interval::zero(wp),
            sigma3: Interval::zero(wp),
            exact_normal: true,
            iid: self.composition.parts.len() == 1,
        };
        for (m, n) in &self.composition.parts {
            let c = cgf_certified(m, dir, lambda, prec)?;
            let nf = Float::with_val(64, *n);
            s.k.add_assign(&c.k.scale_nonneg(&nf));
            s.mean.add_assign(&c.mean.scale_nonneg(&nf));
            s.var.add_assign(&c.var.scale_nonneg(&nf));
            s.kappa3.add_assign(&c.mu3.scale_nonneg(&nf));
            s.mu4.add_assign(&c.mu4.scale_nonneg(&nf));
            s.rho.add_assign(&c.abs3.scale_nonneg(&nf));
            let sd = c.var.monotone(|v, r| v.sqrt_round(r));
            s.sigma3.add_assign(&sd.mul(&sd).mul(&sd).scale_nonneg(&nf));
            s.count += *n as f64;
            s.exact_normal &= is_gaussian(m);
        }
        Ok(s)
    }

    pub(super) fn certified_totals(&self, dir: Direction, lambda: f64) -> Result<Totals> {
        self.totals_from(lambda, self.certified_sums(dir, lambda)?)
    }

    /// [`Self::certified_totals`] at a given precision (tests compare precisions).
    #[cfg(test)]
    pub(super) fn certified_totals_at(
        &self,
        dir: Direction,
        lambda: f64,
        prec: Precision,
    ) -> Result<Totals> {
        self.totals_from(lambda, self.certified_sums_at(dir, lambda, prec)?)
    }

    fn totals_from(&self, lambda: f64, s: Sums) -> Result<Totals> {
        let wp = Precision(s.k.prec());
        let (delta_be, delta_dgg) = if s.exact_normal {
            (Interval::zero(wp), None)
        } else if s.iid {
            (be_iid_interval(s.count, &s.rho, &s.var), dgg_delta(&s)?)
        } else {
            (be_interval(BE_INID, &s.rho, &s.var), dgg_delta(&s)?)
        };
        Ok(Totals {
            lambda,
            k: s.k,
            mean: s.mean,
            var: s.var,
            kappa3: s.kappa3,
            delta_be,
            delta_dgg,
            exact_normal: s.exact_normal,
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
        if !(var.is_finite() && mean.is_finite() && var > 0.0) {
            return Ok(f64::INFINITY);
        }
        let v3 = var * var.sqrt();
        let be = if self.composition.parts.len() == 1 {
            let r = count.sqrt() * rho / v3;
            (0.4748 * r).min(0.33554 * (r + 0.415)) / count.sqrt()
        } else {
            0.56 * rho / v3
        };
        let eh = tilted_h_expectations(lambda, &pt(mean - eps_hat), &pt(var), None, p, 0.0)?
            .0
            .mid_f64();
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
        let x = golden_section(g, base + 0.5f64.ln(), base + 3f64.ln(), 24)?;
        Ok((1.0 + x.exp()).min(LAMBDA_MAX))
    }

    /// Certified bracket on δ(ε) from totals at a fixed λ (valid for every ε).
    pub(super) fn bracket_at(&self, t: &Totals, epsilon: f64) -> Result<Ends> {
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
        let kappa3 = t.delta_dgg.as_ref().map(|_| &t.kappa3);
        let (i0, i1) = tilted_h_expectations(t.lambda, &mu0, &t.var, kappa3, wp, 0.0)?;
        // Normal + Berry–Esseen.
        let e0 = two_hmax.mul(&Interval::point(t.delta_be.hi.clone()));
        let mut lo = i0.sub(&e0);
        let mut hi = i0.add(&e0);
        // Order-1 Edgeworth + DGG.
        if let (Some(d), Some(i1)) = (&t.delta_dgg, i1) {
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
        Ok(Ends {
            lower,
            upper: upper.min(1.0),
        })
    }

    /// f64 minimiser of g(λ) over λ ∈ (1, LAMBDA_MAX] by golden section on ln(λ − 1).
    ///
    /// The coarse grid stops at the first +∞ after a finite value: g is +∞ where the f64
    /// cumulants overflow (K(λ) beyond ~700 per step), and K is convex with K(1) = 0, so it
    /// increases beyond such a λ and overflows at every larger grid point as well (those
    /// quadratures are also the most expensive: ~40 ms at λ = 4096, σ = 0.7). Any λ > 1 gives
    /// a valid bound; this only decides where to look (docs/math.md §12.1).
    fn minimize_lambda(&self, g: impl Fn(f64) -> Result<f64>) -> Result<f64> {
        let (a, b) = ((LAMBDA_MIN - 1.0).ln(), (LAMBDA_MAX - 1.0).ln());
        // Coarse grid first (g may be +inf at large λ).
        let mut best = (a, f64::INFINITY);
        let grid = 40;
        for i in 0..=grid {
            let x = a + (b - a) * i as f64 / grid as f64;
            let v = g(1.0 + x.exp())?;
            if v < best.1 {
                best = (x, v);
            }
            if v == f64::INFINITY && best.1.is_finite() {
                break;
            }
        }
        let step = (b - a) / grid as f64;
        let x = golden_section(|x| g(1.0 + x.exp()), best.0 - step, best.0 + step, 40)?;
        Ok(if g(1.0 + x.exp())? <= best.1 {
            1.0 + x.exp()
        } else {
            1.0 + best.0.exp()
        })
    }

    /// Certified always-valid upper bound on δ(ε): exp(nK(λ) − (λ−1)ε)·h_max at the best λ.
    pub(super) fn always_valid_delta(&self, dir: Direction, epsilon: f64) -> Result<f64> {
        let lambda = self.minimize_lambda(|l| {
            let t = self.totals_f64(dir, l)?;
            let v = t.k - (l - 1.0) * epsilon + ln_hmax_f64(l);
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

    /// The tilt λ minimising the f64 value of the always-valid ε bound
    /// [nK(λ) + ln h_max − ln δ]/(λ − 1), and that value (an estimate of the certified bound
    /// of [`Self::always_valid_epsilon_at`] there, before its clamp at 0; no MPFR work).
    pub(super) fn always_valid_tilt(&self, dir: Direction, delta: f64) -> Result<(f64, f64)> {
        let ln_d = delta.ln();
        let f = |l: f64| -> Result<f64> {
            let t = self.totals_f64(dir, l)?;
            let v = (t.k + ln_hmax_f64(l) - ln_d) / (l - 1.0);
            Ok(if v.is_finite() { v } else { f64::INFINITY })
        };
        let lambda = self.minimize_lambda(f)?;
        Ok((lambda, f(lambda)?))
    }

    /// The certified always-valid upper bound on ε(δ) at one tilt λ > 1,
    /// [nK(λ) + ln h_max − ln δ]/(λ − 1) (clamped at 0).
    pub(super) fn always_valid_epsilon_at(
        &self,
        dir: Direction,
        delta: f64,
        lambda: f64,
    ) -> Result<f64> {
        let k = self.certified_k(dir, lambda)?;
        let wp = Precision(k.prec());
        let ln_delta = Interval::from_f64(wp, delta).ln();
        let num = k.add(&h_max(lambda, wp)?.ln()).sub(&ln_delta);
        let v = num.div(&Interval::from_f64(wp, lambda - 1.0))?;
        Ok(v.hi_f64().max(0.0))
    }

    /// Certified Σ n_i K_i(λ) at [`Self::kolmogorov_precision`] (at the requested precision
    /// where that comes out wider than [`KOLMOGOROV_WIDTH`]).
    fn certified_k(&self, dir: Direction, lambda: f64) -> Result<Interval> {
        self.on_ladder(|prec| self.certified_k_at(dir, lambda, prec), narrow)
    }

    fn certified_k_at(&self, dir: Direction, lambda: f64, prec: Precision) -> Result<Interval> {
        let wp = Precision(prec.0 + 16);
        let mut k = Interval::zero(wp);
        for (m, n) in &self.composition.parts {
            let c = cgf_certified(m, dir, lambda, prec)?;
            k.add_assign(&c.k.scale_nonneg(&Float::with_val(64, *n)));
        }
        Ok(k)
    }

    /// The Kolmogorov-distance ε bracket of one ordering around the estimate `eps_hat` (saddle
    /// point `lambda`) from the saddle tilt alone: the lower end needs Δ < 1 (else 0);
    /// `always_valid` caps the upper end. [`Self::kolmogorov_upper_tilts`] tightens the upper
    /// end with other tilts.
    pub(super) fn kolmogorov_epsilon(
        &self,
        dir: Direction,
        delta: f64,
        eps_hat: f64,
        lambda: f64,
        always_valid: f64,
    ) -> Result<Ends> {
        let t = self.certified_totals(dir, lambda)?;
        let upper = always_valid.min(self.upper_at(&t, delta, eps_hat));
        let mut lower = 0.0;
        if t.exact_normal || t.delta_be.hi < 1 {
            if let Ok(inv) = epsilon_for_delta(
                |e| Ok(self.bracket_at(&t, e)?.lower),
                delta,
                eps_hat.max(1e-3),
                inversion_tolerance(eps_hat),
                Pick::Lower,
            ) {
                lower = inv.epsilon;
            }
        }
        Ok(Ends { lower, upper })
    }

    /// The certified upper ε of the δ-upper curve of the totals `t` (∞ when it fails).
    fn upper_at(&self, t: &Totals, delta: f64, eps_hat: f64) -> f64 {
        epsilon_for_delta(
            |e| Ok(self.bracket_at(t, e)?.upper),
            delta,
            eps_hat.max(1e-3),
            inversion_tolerance(eps_hat),
            Pick::Upper,
        )
        .map_or(f64::INFINITY, |inv| inv.epsilon)
    }

    /// The smallest certified upper ε over tilts other than the saddle point (`upper` if none is
    /// smaller): any λ > 1 gives a valid upper curve; a few multiples of (λ* − 1) are tried (at
    /// δ = 1e-5 the saddle point wins; at δ = 0.1 larger tilts do), and the tilt minimising an
    /// f64 proxy of the certified upper end. The tilts share a budget of
    /// [`UPPER_TILTS_WORK`] certified node evaluations (tried in order; one over it is skipped):
    /// returns the upper end and the number of tilts skipped.
    pub(super) fn kolmogorov_upper_tilts(
        &self,
        dir: Direction,
        delta: f64,
        eps_hat: f64,
        lambda: f64,
        upper: f64,
    ) -> (f64, usize) {
        let mut factors = UPPER_TILT_FACTORS.to_vec();
        let exact_normal = self.composition.parts.iter().all(|(m, _)| is_gaussian(m));
        if !exact_normal {
            if let Ok(l) = self.optimal_upper_tilt(dir, lambda, eps_hat, delta.ln()) {
                factors.push((l - 1.0) / (lambda - 1.0));
            }
        }
        let mut upper = upper;
        let (mut spent, mut skipped) = (0.0, 0usize);
        for &factor in factors.iter().filter(|&&f| f != 1.0) {
            let l = (1.0 + (lambda - 1.0) * factor).min(LAMBDA_MAX);
            // Optional tilts: each is only a chance of a lower upper end, so they share a
            // work budget instead of each spending up to the quadrature's own limit.
            let Ok(work) = self.certified_work(dir, l) else {
                skipped += 1;
                continue;
            };
            if spent + work > UPPER_TILTS_WORK {
                skipped += 1;
                continue;
            }
            spent += work;
            if let Ok(tt) = self.certified_totals(dir, l) {
                upper = upper.min(self.upper_at(&tt, delta, eps_hat));
            }
        }
        (upper, skipped)
    }

    /// The certified quadratures' work of [`Self::certified_sums`] at λ, at
    /// [`Self::kolmogorov_precision`], in subsampled-Gaussian trapezoid node evaluations:
    /// [`crate::cgf::certified_work`] summed over the parts, a Gaussian-mixture panel node
    /// (fixed-size batches, truncated Poisson, mixtures) counted [`MIXTURE_NODE_COST`] times.
    fn certified_work(&self, dir: Direction, lambda: f64) -> Result<f64> {
        let low = self.kolmogorov_precision();
        let mut work = 0.0;
        for (m, _) in &self.composition.parts {
            let cost = match m {
                Mechanism::GaussianMixture(_) | Mechanism::TruncatedPoisson(_) => MIXTURE_NODE_COST,
                _ => 1.0,
            };
            work += cost * crate::cgf::certified_work(m, dir, lambda, low)?;
        }
        Ok(work)
    }
}

/// The cost of one node of a Gaussian-mixture pair's certified Clenshaw–Curtis panels against
/// one node of the subsampled Gaussian's certified trapezoid, both at 64 bits (measured: about
/// 40–60 µs against 19 µs per node on a loaded 2-core machine; the mixture node evaluates the
/// loss from MPFR exponentials and logarithms of each side's components).
const MIXTURE_NODE_COST: f64 = 3.0;

/// Certified node evaluations the optional tilts of
/// [`SaddlePointAccountant::kolmogorov_upper_tilts`] may spend together (an eighth of one
/// quadrature's limit, [`crate::special::quadrature::MAX_NODE_EVALUATIONS`]).
const UPPER_TILTS_WORK: f64 = (crate::special::quadrature::MAX_NODE_EVALUATIONS / 8) as f64;

/// Absolute ε tolerance of the certified inversions.
fn inversion_tolerance(eps_hat: f64) -> f64 {
    1e-9 * eps_hat.max(1.0)
}

/// The DGG error Δ of the tilted sum against its order-1 Edgeworth expansion (None where it is
/// not below 1).
///
/// B̄² = var/N; K4 = N·Σμ4/var²; K3 = √N·Σρ/var^{3/2}; |λ3| likewise; K̃3 adds
/// √N·Σσ_i³/var^{3/2} (E|X_i| ≤ σ_i).
fn dgg_delta(s: &Sums) -> Result<Option<Interval>> {
    let wp = Precision(s.k.prec());
    let nf = Interval::from_f64(wp, s.count);
    let sqrt_n = nf.monotone(|v, r| v.sqrt_round(r));
    let var_lo = Interval::point(s.var.lo.clone());
    let var15 = var_lo.mul(&var_lo.monotone(|v, r| v.sqrt_round(r)));
    let k4 = nf.mul(&s.mu4).div(&var_lo.mul(&var_lo))?.hi_f64().max(1.0);
    let k3 = sqrt_n.mul(&s.rho).div(&var15)?.hi_f64();
    let l3 = abs_hi(&sqrt_n.mul(&s.kappa3).div(&var15)?);
    if !(k3 > 0.0 && k3.is_finite() && k4.is_finite() && l3.is_finite()) {
        // A tilted variance whose certified lower end is 0 (the loss nearly constant under
        // the tilt, σ ≪ 1) or moments out of range: no DGG bound here, the other
        // Kolmogorov-distance bounds stand.
        return Ok(None);
    }
    let kt = if s.iid {
        Interval::from_f64(wp, k3)
            .add(&Interval::from_f64(wp, 1.0))
            .hi_f64()
    } else {
        Interval::from_f64(wp, k3)
            .add(&sqrt_n.mul(&s.sigma3).div(&var15)?)
            .hi_f64()
    };
    let inputs = DggInputs {
        n: s.count,
        k4,
        k3,
        lambda3: l3,
        k3_tilde: kt,
    };
    let setup = DggSetup {
        iid: s.iid,
        unskewed: false,
    };
    let b = dgg_bound(setup, &inputs, DEFAULT_ETA)?;
    Ok(if b.edgeworth.is_finite() && b.edgeworth < 1.0 {
        Some(Interval::from_f64(wp, b.edgeworth))
    } else {
        None
    })
}

/// Golden-section minimisation of `g` on [a, b] (`iterations` steps); returns the midpoint of
/// the final interval.
fn golden_section(
    g: impl Fn(f64) -> Result<f64>,
    mut a: f64,
    mut b: f64,
    iterations: usize,
) -> Result<f64> {
    let gr = 0.5 * (5f64.sqrt() - 1.0);
    let mut c = b - gr * (b - a);
    let mut d = a + gr * (b - a);
    let (mut gc, mut gd) = (g(c)?, g(d)?);
    for _ in 0..iterations {
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
    Ok(0.5 * (a + b))
}

pub(super) fn is_gaussian(m: &Mechanism) -> bool {
    match m {
        Mechanism::Gaussian(_) => true,
        Mechanism::SubsampledGaussian(s) => s.sampling_rate() == 1.0,
        Mechanism::Laplace(_) => false,
        Mechanism::RandomizedResponse(_) | Mechanism::DiscreteLaplace(_) => false,
        Mechanism::SubsampledLaplace(_) => false,
        Mechanism::DiscreteGaussian(_) => false,
        Mechanism::GaussianMixture(_) => false,
        Mechanism::TruncatedPoisson(_) => false,
    }
}

/// Whether an enclosure is at most [`KOLMOGOROV_WIDTH`] wide relative to max(1, its magnitude)
/// (a NaN width is not narrow).
fn narrow(x: &Interval) -> bool {
    x.width_f64() <= KOLMOGOROV_WIDTH * abs_hi(x).max(1.0)
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

/// E[h_λ(W)] for W = μ0 + τZ, τ² = `var`, Z with density φ(z) (normal) or
/// φ(z)(1 + γ/6·He3(z)) with γ = κ3/τ³ (order-1 Edgeworth), in closed form:
/// E[e^{−aW}1{W>0}P(Z)] = e^{−aμ0 + a²τ²/2}∫_t^∞ P(u − aτ)φ(u)du, t = aτ − μ0/τ, with
/// ∫_t^∞ φ = Φ̄(t), ∫uφ = φ(t), ∫u²φ = tφ(t) + Φ̄(t), ∫u³φ = (t² + 2)φ(t).
///
/// Returns the value under the normal law and, when `kappa3` is given, under the order-1
/// Edgeworth law too (sharing the normal tail values), both times e^{−`ln_scale`}: a caller
/// whose E[h] lies beyond MPFR's exponent range (≈ e^{±1.5·10⁹}; e^{−4.9·10⁹} at 10¹³
/// Gaussian steps) passes an f64 estimate of its logarithm, which is subtracted from each
/// exponent A exactly (an f64 point), before anything is exponentiated.
pub(super) fn tilted_h_expectations(
    lambda: f64,
    mu0: &Interval,
    var: &Interval,
    kappa3: Option<&Interval>,
    wp: Precision,
    ln_scale: f64,
) -> Result<(Interval, Option<Interval>)> {
    let tau = var.monotone(|v, r| v.sqrt_round(r));
    let half = Float::with_val(wp.0, 0.5);
    let term = |a_f: f64| -> Result<(Interval, Option<Interval>)> {
        let a = Interval::from_f64(wp, a_f);
        let atau = a.mul(&tau);
        let big_a = atau
            .mul(&atau)
            .scale_nonneg(&half)
            .sub(&a.mul(mu0))
            .sub(&Interval::from_f64(wp, ln_scale));
        let t = atau.sub(&mu0.div(&tau)?);
        let s0 = exp_phi_bar(&big_a, &t);
        let skewed = match kappa3 {
            Some(k3) => {
                let e_phi = exp_phi(&big_a, &t);
                Some(s0.add(&skew_term(&atau, &t, &e_phi, &s0, k3, var, &tau, wp)?))
            }
            None => None,
        };
        Ok((s0, skewed))
    };
    let (n1, e1) = term(lambda - 1.0)?;
    let (n2, e2) = term(lambda)?;
    Ok((n1.sub(&n2), e1.zip(e2).map(|(x, y)| x.sub(&y))))
}

/// γ/6·∫ He3(u − s)φ(u) du over (t, ∞) (times e^{A}), s = aτ:
/// u³ − 3su² + (3s² − 3)u + (3s − s³), γ = κ3/τ³.
#[allow(clippy::too_many_arguments)]
fn skew_term(
    s: &Interval,
    t: &Interval,
    e_phi: &Interval,
    s0: &Interval,
    k3: &Interval,
    var: &Interval,
    tau: &Interval,
    wp: Precision,
) -> Result<Interval> {
    let s2 = s.mul(s);
    let three = Interval::from_f64(wp, 3.0);
    let two = Interval::from_f64(wp, 2.0);
    let i1 = e_phi.clone();
    let i2 = t.mul(e_phi).add(s0);
    let i3 = t.mul(t).add(&two).mul(e_phi);
    let he3 = i3
        .sub(&three.mul(s).mul(&i2))
        .add(&three.mul(&s2).sub(&three).mul(&i1))
        .add(&three.mul(s).sub(&s2.mul(s)).mul(s0));
    let gamma = k3.div(&var.mul(tau))?;
    gamma.mul(&he3).div(&Interval::from_f64(wp, 6.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accountant::{Accountant, SaddlePointParams};
    use crate::event::DpEvent;
    use crate::mechanism::Adjacency;

    /// The Kolmogorov part at [`KOLMOGOROV_BITS`] against the same computation at 256 bits,
    /// over subsampled-Gaussian compositions (σ 0.7–4, q 0.005–0.5, 10–3920 steps, both
    /// orderings, ε around and away from the saddle point): the totals are narrow enough to be
    /// accepted, both δ brackets are certified, so they overlap, and their ends agree to a few
    /// ulp (the low precision moves an end by no more than its own rounding).
    #[test]
    fn low_precision_totals_match_full_precision() {
        let mut checked = 0;
        for &(sigma, q, steps) in &[
            (0.7, 2000.0 / 392_702.0, 3920u64),
            (1.0, 0.01, 1000),
            (2.0, 0.05, 100),
            (4.0, 0.5, 10),
            (0.8, 0.2, 50),
        ] {
            let mut a = SaddlePointAccountant::new(SaddlePointParams {
                precision: Precision(256),
                ..SaddlePointParams::default()
            })
            .expect("valid params");
            a.compose(&DpEvent::dpsgd(sigma, q, steps), 1)
                .expect("valid event");
            assert_eq!(a.kolmogorov_precision(), Precision(KOLMOGOROV_BITS));
            for dir in [Direction::Remove, Direction::Add] {
                let Ok(tilt) = a.saddle(dir, 1.0) else {
                    continue;
                };
                let lambda = tilt.lambda;
                let low = a
                    .certified_totals_at(dir, lambda, Precision(KOLMOGOROV_BITS))
                    .expect("64-bit totals");
                let full = a
                    .certified_totals_at(dir, lambda, Precision(256))
                    .expect("256-bit totals");
                assert!(
                    narrow(&low.k) && narrow(&low.mean) && narrow(&low.var),
                    "sigma {sigma}, q {q}, {steps} steps, {dir:?}: 64-bit totals too wide"
                );
                for eps in [0.25, 0.5, 1.0, 2.0, 4.0] {
                    let what = format!("sigma {sigma}, q {q}, {steps} steps, {dir:?}, eps {eps}");
                    assert_brackets_agree(&a, &low, &full, eps, &what);
                    checked += 1;
                }
            }
        }
        assert!(checked >= 30, "only {checked} comparisons");
    }

    /// The optional tilts of the certified upper end share one work budget: at σ = 0.0036
    /// (q = 0.00215, 750 steps, add ordering) each would need more certified node evaluations
    /// than the whole budget, so none runs (before, these five quadratures took ~30 s) and the
    /// given upper end comes back; at σ = 1 (q = 0.01, 1000 steps) they fit and run.
    #[test]
    fn optional_upper_tilts_share_a_work_budget() {
        let tilts_tried = |sigma: f64, q: f64, steps: u64, dir: Direction, eps: f64| {
            let mut a = SaddlePointAccountant::new(SaddlePointParams::default()).expect("valid");
            a.compose(&DpEvent::dpsgd(sigma, q, steps), 1)
                .expect("valid event");
            let lambda = a.saddle(dir, eps).expect("a saddle point").lambda;
            let works: Vec<f64> = UPPER_TILT_FACTORS
                .iter()
                .filter(|&&f| f != 1.0)
                .map(|f| {
                    let l = (1.0 + (lambda - 1.0) * f).min(LAMBDA_MAX);
                    a.certified_work(dir, l).unwrap_or(f64::INFINITY)
                })
                .collect();
            let (upper, skipped) = a.kolmogorov_upper_tilts(dir, 1.94e-9, eps, lambda, 1e3);
            assert!(upper <= 1e3);
            (works, skipped)
        };
        let (works, skipped) = tilts_tried(0.00360021, 0.00214857, 750, Direction::Add, 1.6);
        assert!(works.iter().all(|&w| w > UPPER_TILTS_WORK), "{works:?}");
        assert!(skipped >= works.len(), "{skipped} of {works:?}");
        let (works, skipped) = tilts_tried(1.0, 0.01, 1000, Direction::Remove, 1.0);
        assert!(works.iter().sum::<f64>() <= UPPER_TILTS_WORK, "{works:?}");
        assert_eq!(skipped, 0);
    }

    /// The δ brackets of two certified totals at ε overlap and their ends agree to 1e−14.
    fn assert_brackets_agree(
        a: &SaddlePointAccountant,
        low: &Totals,
        full: &Totals,
        eps: f64,
        what: &str,
    ) {
        let l = a.bracket_at(low, eps).expect("bracket");
        let f = a.bracket_at(full, eps).expect("bracket");
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-14 * x.abs().max(y.abs());
        assert!(
            l.lower <= f.upper && f.lower <= l.upper,
            "{what}: disjoint {l:?} {f:?}"
        );
        assert!(
            close(l.lower, f.lower) && close(l.upper, f.upper),
            "{what}: {l:?} vs {f:?}"
        );
    }

    fn truncated(sigma: f64, n: u64, q: f64, b: u64) -> DpEvent {
        DpEvent::TruncatedSubsampledGaussian {
            dataset_size: n,
            sampling_probability: q,
            truncated_batch_size: b,
            noise_multiplier: sigma,
        }
    }

    fn composed(event: DpEvent, steps: u64, adjacency: Adjacency) -> SaddlePointAccountant {
        let mut a = SaddlePointAccountant::new(SaddlePointParams {
            adjacency,
            ..SaddlePointParams::default()
        })
        .expect("valid params");
        a.compose(&event, steps).expect("valid event");
        a
    }

    /// The Gaussian-mixture kinds count their certified panel nodes in the optional tilts'
    /// budget (they counted 0 before, so five tilts of ~10⁴ nodes each ran unbudgeted): a
    /// positive multiple of the Clenshaw–Curtis points, weighted by [`MIXTURE_NODE_COST`], and
    /// growing with the tilt for the truncated-Poisson union (its panels narrow like 1/λ).
    #[test]
    fn mixture_panels_count_in_the_tilt_budget() {
        use crate::special::quadrature::CertifiedCc;
        let cases = [
            (
                truncated(13.4265, 151_216, 7.19935e-7, 1),
                3780,
                Adjacency::Remove,
                Direction::Remove,
            ),
            (
                DpEvent::MixtureOfGaussians {
                    sigma: 1.0,
                    sensitivities: vec![0.0, 1.0, 2.0],
                    probabilities: vec![0.6, 0.3, 0.1],
                },
                750,
                Adjacency::Add,
                Direction::Add,
            ),
            (
                DpEvent::SampledWithoutReplacement {
                    source_dataset_size: 10_000,
                    sample_size: 100,
                    event: Box::new(DpEvent::Gaussian { sigma: 1.0 }),
                },
                1000,
                Adjacency::ReplaceOne,
                Direction::Remove,
            ),
        ];
        for (event, steps, adjacency, dir) in cases {
            let a = composed(event.clone(), steps, adjacency);
            let (m, _) = &a.composition.parts[0];
            let low = a.kolmogorov_precision();
            let nodes = crate::cgf::certified_work(m, dir, 3.0, low).expect("within the limit");
            assert!(nodes > 0.0, "{event:?}: no nodes counted");
            assert_eq!(
                nodes % CertifiedCc::POINTS as f64,
                0.0,
                "{event:?}: {nodes}"
            );
            let weighted = a.certified_work(dir, 3.0).expect("within the limit");
            assert_eq!(weighted, MIXTURE_NODE_COST * nodes, "{event:?}");
        }
        let a = composed(
            truncated(13.4265, 151_216, 7.19935e-7, 1),
            3780,
            Adjacency::Remove,
        );
        let at = |l: f64| {
            a.certified_work(Direction::Remove, l)
                .expect("within the limit")
        };
        assert!(
            at(1339.0) > 4.0 * at(71.0),
            "{} vs {}",
            at(1339.0),
            at(71.0)
        );
    }

    /// Long compositions: at 984 272 steps of the truncated-Poisson union the 64-bit totals are
    /// too wide to be accepted, the 128-bit ones are narrow, and the bracket from them agrees
    /// with the 256-bit one to rounding (so the middle rung changes no printed digit while its
    /// quadrature needs about a sixth of the nodes).
    #[test]
    fn middle_precision_totals_match_full_precision_on_long_compositions() {
        let a = composed(
            truncated(0.830454, 54, 2.74429e-5, 1),
            984_272,
            Adjacency::Remove,
        );
        let dir = Direction::Remove;
        let lambda = a.saddle(dir, 6.0).expect("a saddle point").lambda;
        let low = a
            .certified_totals_at(dir, lambda, Precision(KOLMOGOROV_BITS))
            .expect("64-bit totals");
        assert!(
            ![&low.k, &low.mean, &low.var].iter().all(|v| narrow(v)),
            "64-bit totals narrow: the middle rung is not exercised"
        );
        let mid = a
            .certified_totals_at(dir, lambda, Precision(KOLMOGOROV_MID_BITS))
            .expect("128-bit totals");
        assert!([&mid.k, &mid.mean, &mid.var].iter().all(|v| narrow(v)));
        let full = a
            .certified_totals_at(dir, lambda, Precision(256))
            .expect("256-bit totals");
        for eps in [2.0, 4.0, 6.0, 8.0] {
            assert_brackets_agree(&a, &mid, &full, eps, &format!("eps {eps}"));
        }
        // certified_totals takes the middle rung: the same enclosures as at 128 bits.
        let chosen = a.certified_totals(dir, lambda).expect("totals");
        assert_eq!(chosen.k.prec(), mid.k.prec());
    }

    /// The always-valid cap is certified only where its f64 value may bind, so the returned
    /// upper end never exceeds the certified cap at its tilt (up to the 1e−6 margin of the
    /// skip, which the certified value cannot cross): over subsampled-Gaussian and
    /// truncated-Poisson settings, δ from 1e−10 to 0.3, both orderings; the cap binds in some
    /// and is skipped in others.
    #[test]
    fn the_always_valid_cap_is_skipped_only_where_it_cannot_bind() {
        let settings = [
            (DpEvent::dpsgd(1.0, 0.01, 1000), 1),
            (DpEvent::dpsgd(0.7, 0.005, 3920), 1),
            (DpEvent::dpsgd(3.0, 0.3, 20), 1),
            (DpEvent::dpsgd(20.0, 0.05, 100), 1),
            (truncated(1.0, 60_000, 0.01, 650), 1000),
        ];
        let (mut binds, mut skipped) = (0, 0);
        for (event, steps) in settings {
            let a = composed(event.clone(), steps, Adjacency::AddRemove);
            for dir in [Direction::Remove, Direction::Add] {
                for delta in [1e-10, 1e-5, 0.01, 0.3] {
                    let Ok(p) = a.epsilon_bracket(dir, delta) else {
                        continue;
                    };
                    let (lambda, _) = a.always_valid_tilt(dir, delta).expect("a tilt");
                    let cap = a
                        .always_valid_epsilon_at(dir, delta, lambda)
                        .expect("certified cap");
                    let upper = p.kolmogorov.upper.expect("an upper end");
                    assert!(
                        upper <= cap * (1.0 + 1e-6),
                        "{event:?} x{steps}, {dir:?}, delta {delta}: upper {upper} above the cap {cap}"
                    );
                    if upper == cap {
                        binds += 1;
                    } else if upper < cap {
                        skipped += 1;
                    }
                }
            }
        }
        assert!(binds >= 1 && skipped >= 1, "binds {binds}, below {skipped}");
    }
}
