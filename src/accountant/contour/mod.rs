//! Exact certified accounting by inversion along the saddle-point contour (docs/math.md §6).
//!
//! For the composed PLLR S = Σ L_i under P, f(s) = (e^s − e^ε)_+ has two-sided Laplace transform
//! e^{(1−z)ε}/(z(z−1)) for Re z > 1, so for every λ > 1
//!
//! ```text
//! δ(ε) = (1/2π) ∫ Π_i M_i(λ+it)^{n_i} · e^{(1−λ−it)ε} / ((λ+it)(λ+it−1)) dt          (exact)
//! ```
//!
//! with M_i(z) = E_P[e^{zL_i}] ([`transform`]). Writing
//! A = Π M̃_i(λ)^{n_i} e^{(1−λ)ε} and G(t) = Π (M_i(λ+it)/M̃_i(λ))^{n_i} e^{−itε}/(z(z−1)),
//! δ = A·S with S = (1/2π)∫G; G(−t) = conj G(t), so the trapezoid is
//! S_h = (h/2π)[G(0) + 2 Σ_{k≥1} Re G(kh)].
//!
//! # Choices
//! - **λ** is the saddle point of the real integrand: Σ n_i K_i'(λ) = ε + 1/λ + 1/(λ−1); the
//!   integrand is then a bump of width w = (Σ n_i K_i''(λ))^{−1/2} and the number of nodes does
//!   not grow with n.
//! - **Step h** from the Trefethen–Weideman bound (SIAM Review 56 (2014), Thm 5.1, applied to
//!   each half-strip): G is analytic in t for Re z ∉ {0, 1}; on the line Re z = λ − s,
//!   ∫|G| ≤ (1/2π)·Π(M_i(λ−s)/M̃_i(λ))^{n_i} e^{sε}·π/(λ−s−1) (|M(λ'+it)| ≤ M(λ'),
//!   |z||z−1| ≥ (λ'−1)² + t²), log-convex in s, so its sup over a strip is at an edge; the error
//!   is ≤ M₋/(e^{2πa₋/h} − 1) + M₊/(e^{2πa₊/h} − 1) with a₋ < λ − 1 toward the pole and any a₊
//!   away from it (best of a list of widths, recomputed for each ε); ln(e^{2πa/h} − 1) is
//!   evaluated without overflow. A tilted law that is nearly a lattice (small q at large λ: a
//!   sampled record contributes L ≈ λμ² + ln q) makes the integrand nearly periodic in t, and
//!   the away-side majorant grows so fast that only a small h meets the bound.
//! - **Truncation**: |M_i(λ+it)| ≤ M_i(λ)·D_i(t) with D_i the per-step [`Decay`] bound (Gaussian
//!   exact, third-moment, total-variation and split bounds p_k + C_k/t for densities, atom + 1/t
//!   for Laplace); the
//!   omitted nodes are bounded one by one up to a point T and beyond T by the integral of a
//!   power-law envelope Π(C_i/t)^{p_i n_i}/t². Where these bounds leave a gap (between the
//!   third-moment and the TV regions |M| is bounded only by M(λ)), |M̃(λ+it_j)| plus its error is
//!   evaluated on a coarse grid and |M| in between bounded by the Lipschitz constant
//!   |d/dt M(λ+it)| ≤ E[|L|e^{λL}] = M(λ)·E_λ|L|.
//! - **Cost**: the subsampled transform at the direct nodes (and at the coarse grid) is evaluated
//!   in blocks of up to 512 consecutive t sharing one x-grid
//!   ([`transform::subsampled_mgf_windowed`]): L(x_j) and the real weights
//!   once per block, the phases by complex rotation from one sin/cos seed per block and x-node
//!   (up to 64 rotations where the tolerance allows), summed in vectorised plain chunks of 32
//!   x-nodes between compensated additions (where √2·34u·n stays below 1% of the tolerance).
//!   Compositions of fewer than 100 steps (outside the cost target) get a 20× larger work cap: at
//!   small q·n their tilted law is nearly a spike and the integrand decays slowly in t.
//! - **Laplace atoms**: a homogeneous Laplace composition (n ≤ 10⁵) splits off its lattice part
//!   exactly: M^n = A^n + (M^n − A^n), with A the atom part; the lattice term is the finite sum
//!   Σ_j C(n,j) 2^{−n} e^{−ja}(e^{(2j−n)a} − e^ε)_+ and the remainder decays like
//!   n|C|(A(λ)+|C|)^{n−1}/t³.
//! - **Poisson-subsampled Laplace** (docs/math.md §15.6): F = A + C with two atoms at
//!   g(∓a) and a continuous part over t ∈ (−a, a), by Clenshaw–Curtis with a Bernstein-ellipse
//!   bound and, at |ζ| > 48, a boundary expansion of its upper piece; the two-atom lattice is
//!   split off like the Laplace's (binomial sum), one step is a closed form, and compositions of
//!   fewer than 100 steps get a 2·10⁸ work cap (refused beyond it rather than slow).
//! - **Analytic window** (one subsampled-Gaussian factor, remove ordering, n < 100, only where the
//!   plain contour hits its work cap): at small q·n the tilted law is ~99% a spike near ln(1 − q),
//!   |M(λ+it)/M(λ)|ⁿ stays near (spike mass)ⁿ up to t ~ 10⁴ and the plain integrand decays only
//!   like 1/t². With w(x) = Φ((x₀ − x)/s), x₀ = L⁻¹(0.7ε/n), s = 0.1, P = wP + (1 − w)P (both
//!   nonnegative) and M = M_w + M_{1−w}:
//!   δ(ε) = (1/2π)∫ĥ(λ+it)(Mⁿ − M_wⁿ)(λ+it)dt + R, where Mⁿ − M_wⁿ is the transform of the
//!   nonnegative measure P^{⊗n} − (wP)^{⊗n} (so the inversion formula holds for it, and
//!   |Mⁿ − M_wⁿ|(λ'+it) ≤ M(λ')ⁿ keeps the strip bound of the step), and
//!   0 ≤ R = E_{(wP)^{⊗n}}[(e^S − e^ε)₊] ≤ min_{λ'} e^{−(λ'−1)ε}h_max(λ')M_w(λ')ⁿ (docs/math.md §6,
//!   h ≤ h_max), added to δ_up only. M_w comes from the certified windowed quadrature
//!   ([`transform::subsampled_mgf_windowed`]); the tail uses
//!   |Mⁿ − M_wⁿ| ≤ n|M_{1−w}|M(λ)^{n−1} with the shifted-contour bound |M_{1−w}(λ+it)| ≤ B(t)
//!   ([`transform::ln_window_tail_bound`], non-increasing in t), so the
//!   omitted nodes sum to ≤ (1/π)n(1+η)^{n−1}B(T)/(M̃(λ)T). Analysis and f64 check:
//!   experiments/contour/README.md, `window_split.py`.
//! - **Gaussian-mixture pairs** (mixture of Gaussians, replace-one Poisson-subsampled Gaussian):
//!   the general transform of [`transform::mixture`] (docs/math.md §17.9: strip bound with every
//!   r_s(x + ib) in a cone of half-angle span_s·|b|/2, a Gaussian majorant for the truncation,
//!   the `Decay::Density` bounds, an exact one-step bracket); one-component and {0, c} two-point
//!   mixtures use the Gaussian and subsampled-Gaussian transforms. No analytic window: at small
//!   q and few steps the replace-one bracket can be capped (wider than asked, still certified).
//! - **Rounding**: each node carries the error of M̃ (the M̃ error η propagates as
//!   Π(r + η)^{n} − Π r^{n}) plus u(8 + 4Σ n_i(|ln M̃_i(z)| + |ln M̃_i(λ)|)) for forming the power,
//!   3u(|tε| + 1) for the phase; the compensated node sum adds 3u Σ|terms|; ln A carries
//!   4u(Σ n_i|ln M̃_i(λ)| + |(1−λ)ε|).
//!
//! All error terms are added in the safe direction: δ_low ≤ δ ≤ δ_up. ε(δ) is bracketed by
//! the crossings of δ_up (a certified upper bound on ε) and of δ_low (a certified lower bound),
//! proposed by Brent's method and certified by evaluating both sides (`solve::crossing`); the
//! contour is redesigned at the answer only where that can narrow the bracket by more than 2×
//! (docs/math.md §10.9.1).
//!
//! # References
//! docs/math.md §6; Alghamdi et al., *The Saddle-Point Method in Differential Privacy* (ICML 2023) for
//! the saddle point; Trefethen & Weideman (2014), Thm 5.1.

use self::transform::{
    ln_expm1, ln_window_tail_bound, logsumexp, subsampled_mgf_windowed, AtomPair, Decay, MgfValue,
    MixturePair, SmoothWindow, SumScheme, Transform, C64, SUM_BLOCK, UNIT_ROUNDOFF,
};
use super::invert::EPSILON_MAX;
use super::{
    check_delta, check_epsilon, Bracket, Guarantee, OrderingAccountant, OrderingAnswer, Query,
    Report,
};
use crate::error::{Error, Result};
use crate::event::Composition;
use crate::mechanism::{Adjacency, Direction};
use crate::special::roots::{bisect_bracket, brent};
use rayon::prelude::*;
use std::f64::consts::PI;

mod dg_closed;
mod integral;
mod lattice;
mod lattice_exact;
mod lattice_fourier;
mod node_sums;
mod plan;
mod solve;
pub mod transform;
mod window;

use integral::*;

/// The accepted relative tolerance on δ: (0, 1).
pub const TOLERANCE_RANGE: crate::error::Range = crate::error::Range::open(0.0, 1.0);
use lattice::*;
use lattice_exact::{has_lattice_part, lattice_part};
pub use lattice_fourier::LatticePath;
use plan::*;
use solve::*;
use window::*;

/// What a query asks of one ordering.
#[derive(Debug, Clone, Copy)]
enum Ask {
    /// δ at this ε.
    Delta(f64),
    /// ε at this δ.
    Epsilon(f64),
}

/// Parameters of [`ContourAccountant`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContourParams {
    /// Ordering(s) to cover.
    pub adjacency: Adjacency,
    /// Requested relative width of the certified δ bracket (ε brackets follow from it).
    pub tolerance: f64,
}

impl Default for ContourParams {
    fn default() -> Self {
        ContourParams {
            adjacency: Adjacency::AddRemove,
            tolerance: 1e-9,
        }
    }
}

/// A certified enclosure `lower ≤ true ≤ upper` of δ(ε) or ε(δ) for one ordering, with the
/// best estimate `value` (the trapezoid value for δ, the midpoint for ε). Both ends are always
/// certified here; the public API returns it as an [`Bracket`].
#[derive(Debug, Clone, Copy, PartialEq)]
struct Enclosure {
    lower: f64,
    value: f64,
    upper: f64,
}

impl Enclosure {
    /// The exact zero (δ beyond the largest loss, ε where δ(0) ≤ δ).
    const ZERO: Enclosure = Enclosure {
        lower: 0.0,
        value: 0.0,
        upper: 0.0,
    };

    fn bracket(self) -> Bracket {
        Bracket::certified(self.lower, self.value, self.upper)
    }
}

/// Diagnostics of one contour.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ContourInfo {
    /// The real part λ of the contour.
    pub lambda: f64,
    /// t-step.
    pub step: f64,
    /// Number of t-nodes evaluated (including t = 0).
    pub nodes: usize,
    /// Bound on the omitted nodes (in units of S).
    pub truncation: f64,
    /// Whether a lattice part was split off (Laplace).
    pub lattice: bool,
    /// Whether the node count was capped by the work limit (the bracket is then wider than
    /// requested; still certified).
    pub capped: bool,
    /// Whether the analytic-window path was used (module docs).
    pub window: bool,
}

/// The contour-inversion accountant: certified δ_low ≤ δ ≤ δ_up and ε brackets from the exact
/// inversion integral along the saddle-point contour (module docs).
///
/// # Guarantee
/// A **bracket**: `lower` and `upper` are certified (every error term bounded and added in the
/// safe direction, under the rounding model of [`transform`]); `value`
/// is the midpoint (ε) or the trapezoid value (δ). The requested `tolerance` sets the width
/// (relative, on δ) unless rounding (≈ n·1e−13 relative) or the node caps prevent it; the report's
/// notes give the width achieved. Cost does not grow with the number of steps.
///
/// # Refusals
/// Where it cannot certify a useful bracket the call returns an error instead of a number
/// ([`Error::NotCertified`], exit code 1 in the CLI): an error term of the inversion that is
/// not finite (overflow at extreme σ), a quadrature that would need more than
/// 4·10⁶ nodes per evaluation, a bracket capped by the work limit that is wider than
/// [`ContourAccountant::capped_width_limit`], and ε above [`super::invert::EPSILON_MAX`] (= 10⁴).
/// δ(ε) = 0 exactly for ε at or above the largest loss (Laplace; the add ordering of the
/// subsampled Gaussian, n·ln(1/(1 − q))), and ε = 0 exactly where the Chernoff bound already
/// gives δ(0) ≤ δ.
///
/// # References
/// docs/math.md §6.
#[derive(Debug, Clone)]
pub struct ContourAccountant {
    params: ContourParams,
    composition: Composition,
    /// Return certified brackets wider than [`ContourAccountant::capped_width_limit`] instead
    /// of refusing them ([`ContourAccountant::accepting_wide_brackets`]).
    wide: bool,
}

/// One ordering's certified bracket and the contour's diagnostics (None where no contour was
/// needed), as [`ContourAccountant::delta_bounds`] and [`ContourAccountant::epsilon_bounds`]
/// return them.
pub type OrderingBounds = (Bracket, Option<ContourInfo>);

impl ContourAccountant {
    /// An accountant with nothing composed.
    ///
    /// # Examples
    /// ```
    /// use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
    /// use ewtune::edgeworth::gaussian_delta;
    /// use ewtune::event::DpEvent;
    /// use ewtune::mechanism::Adjacency;
    ///
    /// // Four Gaussian steps with σ = 2 compose to μ = 1: δ(ε) has a closed form.
    /// let mut acc = ContourAccountant::new(ContourParams {
    ///     adjacency: Adjacency::AddRemove,
    ///     tolerance: 1e-10,
    /// })?;
    /// acc.compose(&DpEvent::Gaussian { sigma: 2.0 }, 4)?;
    /// let r = acc.delta(1.0)?;
    /// let exact = gaussian_delta(1.0, 1.0); // 0.12693673751
    /// let (lo, up) = (r.lower.unwrap(), r.upper.unwrap());
    /// assert!(lo <= exact && exact <= up && up - lo <= 1e-9 * exact);
    /// # Ok::<(), ewtune::Error>(())
    /// ```
    ///
    /// # Errors
    /// `tolerance` must lie in (0, 1).
    pub fn new(params: ContourParams) -> Result<Self> {
        Self::with_composition(params, Composition::default())
    }

    /// An accountant for an already flattened composition (e.g. another accountant's).
    ///
    /// # Errors
    /// `tolerance` must lie in (0, 1).
    pub fn with_composition(params: ContourParams, composition: Composition) -> Result<Self> {
        TOLERANCE_RANGE.check("tolerance", params.tolerance)?;
        Ok(ContourAccountant {
            params,
            composition,
            wide: false,
        })
    }

    /// The relative width above which a bracket whose node count was capped by the work limit
    /// is refused rather than returned: max(10·tolerance, 10⁻³). Narrower capped brackets are
    /// returned with a note saying the cap was hit.
    pub fn capped_width_limit(&self) -> f64 {
        (10.0 * self.params.tolerance).max(1e-3)
    }

    /// The same accountant, answering with a certified bracket wider than
    /// [`ContourAccountant::capped_width_limit`] where it would otherwise refuse it (a capped
    /// node count, λ held below the saddle point, error terms large against δ, or one ordering
    /// answered by the Chernoff bound alone). Both ends stay certified, and the report's notes
    /// say the bracket is wider than the limit. For callers that use one end only: a
    /// calibration needs a certified upper end at or below its target, however wide the
    /// bracket. Refusals for other reasons (a non-finite error term, ε above
    /// [`super::invert::EPSILON_MAX`], a quadrature over its budget) are unchanged.
    ///
    /// # Examples
    /// ```
    /// use ewtune::accountant::contour::{ContourAccountant, ContourParams};
    /// use ewtune::accountant::Accountant;
    /// use ewtune::event::DpEvent;
    ///
    /// // Poisson sampling at q = 1e-5, σ = 1, 30 steps: the bracket at δ = 1e-10 is
    /// // certified but far wider than 1e-3, so the plain query refuses it.
    /// let event = DpEvent::dpsgd(1.0, 1e-5, 30);
    /// let mut plain = ContourAccountant::new(ContourParams::default())?;
    /// plain.compose(&event, 1)?;
    /// assert!(plain.epsilon(1e-10).is_err());
    /// let mut wide = ContourAccountant::new(ContourParams::default())?.accepting_wide_brackets();
    /// wide.compose(&event, 1)?;
    /// let r = wide.epsilon(1e-10)?;
    /// assert!(r.upper.expect("a bracket") < 0.1);
    /// assert!(r.notes.iter().any(|n| n.contains("wider than the limit")));
    /// # Ok::<(), ewtune::Error>(())
    /// ```
    pub fn accepting_wide_brackets(mut self) -> Self {
        self.wide = true;
        self
    }

    /// The relative width above which a bracket is refused: [`Self::capped_width_limit`], or
    /// none once [`Self::accepting_wide_brackets`] was asked for.
    fn refusal_width(&self) -> f64 {
        if self.wide {
            f64::INFINITY
        } else {
            self.capped_width_limit()
        }
    }

    /// Certified bounds on δ(ε) of one ordering, with the contour's diagnostics (None where
    /// no contour was needed: δ exactly 0, or a single step's closed form). The composition is
    /// inverted as composed: neither the Chernoff fallback nor the truncated-Poisson slack
    /// (docs/math.md §17.10 item 7) of the accountant's own answers is used here.
    ///
    /// # Errors
    /// Bad ε; a refusal (type docs).
    pub fn delta_bounds(&self, direction: Direction, epsilon: f64) -> Result<OrderingBounds> {
        self.checked_bounds(direction, Ask::Delta(epsilon))
    }

    /// Certified bounds on ε(δ) of one ordering (`value` the midpoint).
    ///
    /// # Errors
    /// Bad δ; a refusal (type docs).
    pub fn epsilon_bounds(&self, direction: Direction, delta: f64) -> Result<OrderingBounds> {
        self.checked_bounds(direction, Ask::Epsilon(delta))
    }

    /// [`ContourAccountant::enclosure`]'s bracket after the range check of ε or δ.
    fn checked_bounds(&self, direction: Direction, ask: Ask) -> Result<OrderingBounds> {
        match ask {
            Ask::Delta(epsilon) => check_epsilon(epsilon)?,
            Ask::Epsilon(delta) => check_delta(delta)?,
        };
        let (b, info) = self.enclosure(direction, ask)?;
        Ok((b.bracket(), info))
    }

    /// Certified enclosure of what `ask` asks, for one ordering: a lattice mechanism by exact
    /// lattice composition or, for long compositions, the periodic inversion (docs/math.md
    /// §16.5, §16.8), the empty composition exactly, anything else
    /// by the contour inversion.
    fn enclosure(
        &self,
        direction: Direction,
        ask: Ask,
    ) -> Result<(Enclosure, Option<ContourInfo>)> {
        if let Some(part) = dg_closed::large_part(&self.composition) {
            let (g, n) = part?;
            return Ok((
                dg_closed::enclosure(&g, n, ask, self.params.tolerance)?,
                None,
            ));
        }
        if let Some((g, n)) = dg_closed::tight_part(&self.composition) {
            if let Ok(b) = dg_closed::enclosure(&g, n, ask, self.params.tolerance) {
                return Ok((b, None));
            }
        }
        if let Some(part) = lattice_part(&self.composition) {
            let (law, n) = part?;
            let b = lattice_fourier::lattice_enclosure(
                &law,
                n,
                ask,
                self.params.tolerance,
                LatticePath::Auto,
            )?;
            return Ok((b, None));
        }
        let plan = Plan::new(&self.composition, direction);
        if plan.factors.is_empty() {
            return Ok((Enclosure::ZERO, None));
        }
        match ask {
            Ask::Delta(epsilon) => self.delta_by_contour(&plan, epsilon),
            Ask::Epsilon(delta) => self.epsilon_or_zero(&plan, delta),
        }
    }

    /// δ(ε) by the contour: exactly 0 at or above the largest loss, a single step's closed
    /// form, else the inversion at the saddle point; a non-finite error term or a capped
    /// bracket that is too wide is refused.
    fn delta_by_contour(
        &self,
        plan: &Plan,
        epsilon: f64,
    ) -> Result<(Enclosure, Option<ContourInfo>)> {
        if let Some(m) = plan.loss_max {
            if epsilon >= m {
                return Ok((Enclosure::ZERO, None));
            }
        }
        if let Some(b) = plan.single_step(epsilon) {
            return Ok((b, None));
        }
        plan.check_domain()?;
        let (lambda, limited) = plan.saddle_or_limit(epsilon)?;
        let c = plan.build(lambda, epsilon, self.params.tolerance)?;
        let b = c.bounds(epsilon);
        let info = c.info();
        if b.value.is_nan() {
            return Err(Error::NotCertified(format!(
                "contour: an error term of the inversion at lambda = {lambda:.6} is not finite \
                 (overflow of the transform for this composition); no bracket on delta({epsilon:e}) \
                 was established"
            )));
        }
        if (info.capped || limited) && b.upper - b.lower > self.refusal_width() * b.upper {
            return Err(Error::NotCertified(format!(
                "contour: {} and the certified bracket on delta({epsilon:e}), [{:e}, {:e}], is \
                 wider than {:e} relative",
                why_wide(&info, limited),
                b.lower,
                b.upper,
                self.capped_width_limit()
            )));
        }
        Ok((b, Some(info)))
    }

    /// ε(δ) by the contour, or 0 exactly where the contour cannot certify but the Chernoff
    /// bound already gives δ(0) ≤ δ.
    fn epsilon_or_zero(&self, plan: &Plan, delta: f64) -> Result<(Enclosure, Option<ContourInfo>)> {
        match self.epsilon_by_contour(plan, delta) {
            // Where the contour cannot certify, the Chernoff bound may still give δ(0) ≤ δ,
            // hence ε = 0 exactly (e.g. σ = 1e300, where μ² underflows). Only on this path: it
            // costs a dozen real quadratures.
            Err(_) if plan.ln_chernoff(0.0) <= delta.ln() => Ok((Enclosure::ZERO, None)),
            other => other,
        }
    }

    fn epsilon_by_contour(
        &self,
        plan: &Plan,
        delta: f64,
    ) -> Result<(Enclosure, Option<ContourInfo>)> {
        if plan.single_step(0.0).is_some() {
            return single_step_epsilon(plan, delta).map(|b| (b, None));
        }
        plan.check_domain()?;
        let design = plan.epsilon_guess(delta)?;
        if design > EPSILON_MAX {
            return Err(Error::NotCertified(format!(
                "contour: the saddle-point estimate of epsilon is {design:e} (not certified), \
                 above {EPSILON_MAX:e}, the largest epsilon this accountant answers"
            )));
        }
        let tol = self.params.tolerance;
        let mut design = design;
        // Every round's bracket is certified; the narrowest is returned.
        let mut best: Option<(Enclosure, ContourInfo, bool)> = None;
        for _round in 0..4 {
            let (lambda, limited) = plan.saddle_or_limit(design)?;
            let c = plan.build(lambda, design, tol)?;
            let (b, stop) = invert_contour(&c, delta, design, tol, plan.loss_max)?;
            let stop = stop || redesign_cannot_pay(plan, &c, b.value, tol);
            if best
                .as_ref()
                .is_none_or(|(k, _, _)| b.upper - b.lower < k.upper - k.lower)
            {
                best = Some((b, c.info(), limited));
            }
            if stop {
                break;
            }
            design = b.value;
        }
        let (b, info, limited) = best.expect("invariant: at least one round ran");
        if b.upper > EPSILON_MAX {
            return Err(Error::NotCertified(format!(
                "contour: the certified bracket on epsilon is [{:e}, {:e}], reaching above \
                 {EPSILON_MAX:e}, the largest epsilon this accountant answers",
                b.lower, b.upper
            )));
        }
        let width = (b.upper - b.lower) / b.value.max(1e-300);
        // Every ε bracket meets the width limit or is refused (docs/math.md §15.1.4), whatever
        // made it wide: the node cap, λ held below the saddle point, or error terms that are
        // large against δ at this design point.
        if width > self.refusal_width() {
            return Err(Error::NotCertified(format!(
                "contour: {} and the certified bracket on epsilon, [{:e}, {:e}], is {width:.2e} \
                 wide relative (more than {:e})",
                why_wide(&info, limited),
                b.lower,
                b.upper,
                self.capped_width_limit()
            )));
        }
        Ok((b, Some(info)))
    }
}

/// Why a contour's bracket may be wider than asked: its node count was capped by the work limit,
/// or its real part λ was held below the saddle point, or neither (docs/math.md §15.1.4).
fn why_wide(info: &ContourInfo, limited: bool) -> String {
    let mut why = Vec::new();
    if info.capped {
        why.push(format!(
            "the node count at lambda = {:.6} is capped by the work limit",
            info.lambda
        ));
    }
    if limited {
        why.push(format!(
            "lambda = {:.6} is held below the saddle point (the transform's quadrature above it \
             exceeds its budget of {MAX_CALL_NODES:e} x-nodes, or lambda reaches 1e6)",
            info.lambda
        ));
    }
    if why.is_empty() {
        why.push(format!(
            "the contour at lambda = {:.6} ({} t-nodes) has error terms (rounding, truncation, \
             discretisation) that are large against delta",
            info.lambda, info.nodes
        ));
    }
    why.join(" and ")
}

/// ε(δ) of one subsampled-Gaussian step: bisection of the exact closed form's bracket.
fn single_step_epsilon(plan: &Plan, delta: f64) -> Result<Enclosure> {
    let up = |e: f64| plan.single_step(e).map_or(1.0, |b| b.upper);
    let low = |e: f64| plan.single_step(e).map_or(1.0, |b| b.lower);
    if up(0.0) <= delta {
        return Ok(Enclosure::ZERO);
    }
    let mut hi = 1.0;
    while up(hi) > delta {
        hi *= 2.0;
        if hi > EPSILON_MAX {
            return Err(beyond_max_error(low(EPSILON_MAX), delta, None));
        }
    }
    let xtol = 1e-14 * hi;
    let (_, eps_up) = bisect_bracket(|e| Ok(up(e) <= delta), 0.0, hi, xtol, 400)?;
    let eps_low = if low(0.0) <= delta {
        0.0
    } else {
        bisect_bracket(|e| Ok(low(e) <= delta), 0.0, hi, xtol, 400)?.0
    };
    Ok(Enclosure {
        lower: eps_low,
        value: 0.5 * (eps_low + eps_up),
        upper: eps_up,
    })
}

/// The refusal when the certified δ_up stays above δ up to ε = [`EPSILON_MAX`]; it says ε > 10⁴
/// only where δ_low(10⁴) > δ certifies it.
fn beyond_max_error(low_at_max: f64, delta: f64, design: Option<(f64, f64)>) -> Error {
    if low_at_max > delta {
        Error::NotCertified(format!(
            "contour: epsilon exceeds {EPSILON_MAX:e}, the largest epsilon this accountant \
             answers (certified: delta({EPSILON_MAX:e}) >= {low_at_max:e} > {delta:e})"
        ))
    } else {
        let at = design.map_or(String::new(), |(e, l)| {
            format!(" (contour built for epsilon = {e:e}, lambda = {l:.6})")
        });
        Error::NotCertified(format!(
            "contour: could not bracket epsilon(delta = {delta:e}): the contour's upper bound on \
             delta stays above delta up to epsilon = {EPSILON_MAX:e}{at} while its lower bound \
             does not exceed delta there, so the bound is too loose to decide"
        ))
    }
}

/// Bisect one contour's certified δ bounds for the ε bracket; also says whether the answer is
/// close enough to the design ε (or wide for another reason) that no redesign is needed.
///
/// `loss_max`: the largest loss m where the PLLR is bounded above (the add ordering); δ(ε) = 0
/// exactly for ε ≥ m, so both bounds are 0 there and the upper end never passes m.
fn invert_contour(
    c: &Contour,
    delta: f64,
    design: f64,
    tol: f64,
    loss_max: Option<f64>,
) -> Result<(Enclosure, bool)> {
    let beyond = |e: f64| loss_max.is_some_and(|m| e >= m);
    let up = |e: f64| if beyond(e) { 0.0 } else { c.bounds(e).upper };
    let low = |e: f64| if beyond(e) { 0.0 } else { c.bounds(e).lower };
    // ε = 0 already meets δ.
    if up(0.0) <= delta {
        return Ok((Enclosure::ZERO, true));
    }
    let mut d = (1e-6 + 10.0 * tol) * (1.0 + design);
    let mut hi = design + d;
    let mut n_exp = 0;
    while up(hi) > delta {
        d *= 2.0;
        hi = design + d;
        n_exp += 1;
        if hi > EPSILON_MAX || n_exp > 60 {
            let at = hi.min(EPSILON_MAX);
            let err = beyond_max_error(low(at), delta, Some((design, c.lambda)));
            return Err(if hi > EPSILON_MAX {
                err
            } else {
                Error::NotCertified(format!(
                    "contour: the certified upper bound on delta is still above {delta:e} at \
                     epsilon = {hi:e} (contour built for epsilon = {design:e})"
                ))
            });
        }
    }
    let mut d2 = (1e-6 + 10.0 * tol) * (1.0 + design);
    let mut lo = (design - d2).max(0.0);
    let mut lower_zero = false;
    while low(lo) <= delta {
        if lo == 0.0 {
            lower_zero = true;
            break;
        }
        d2 *= 2.0;
        lo = (design - d2).max(0.0);
    }
    let xtol = 1e-3 * tol * design.max(1e-9);
    let (_, eps_up) = crossing(|e| Ok(up(e) <= delta), |e| Ok(up(e) - delta), lo, hi, xtol)?;
    let eps_low = if lower_zero {
        0.0
    } else {
        crossing(
            |e| Ok(low(e) <= delta),
            |e| Ok(low(e) - delta),
            lo,
            hi,
            xtol,
        )?
        .0
    };
    let mid = 0.5 * (eps_low + eps_up);
    let b = Enclosure {
        lower: eps_low,
        value: mid,
        upper: eps_up,
    };
    // Redesign when the answer is far from the design point (the bounds widen off-saddle). A
    // contour capped by the work limit is redesigned only when its bracket is wider than the
    // width limit max(10·tol, 1e-3) of `ContourAccountant::capped_width_limit` (else it is
    // returned as it is: another capped contour costs as much again) and its own certified
    // bracket excludes the design point: the saddle-point estimate that chose the design can be
    // far off where one step's tilted law is a narrow spike plus a rare large loss (Poisson
    // sampling at q = 1e-4: design 0.256, answer 0.038), and the redesigned contour, capped as
    // well, is then far narrower; a design inside the bracket would only move within it.
    let width = (eps_up - eps_low) / mid.max(1e-300);
    let stop = (mid - design).abs() <= 1e-3 * (1.0 + design)
        || width <= 10.0 * tol
        || lower_zero
        || (c.capped && (width <= (10.0 * tol).max(1e-3) || (eps_low..=eps_up).contains(&design)));
    Ok((b, stop))
}

fn info_note(dir: Direction, info: &Option<ContourInfo>) -> Option<String> {
    info.map(|i| {
        format!(
            "{} ordering: contour at lambda = {:.6}, {} t-nodes, step {:.3e}{}{}{}",
            dir.name(),
            i.lambda,
            i.nodes,
            i.step,
            if i.lattice {
                ", atoms-only part (Laplace or two-atom lattice, or the atom at 0) summed exactly"
            } else {
                ""
            },
            if i.window {
                ", analytic window (spike part bounded by R, added to the upper end)"
            } else {
                ""
            },
            if i.capped {
                " (node count capped by the work limit: bracket wider than requested)"
            } else {
                ""
            }
        )
    })
}

impl ContourAccountant {
    /// The enclosure's answer, or where it could not be certified for add-remove adjacency, the
    /// certified Chernoff bracket [0, U] (docs/math.md §15.1.1, [`Plan::ln_chernoff`] for δ,
    /// [`Plan::chernoff_epsilon`] capped by the largest loss for ε): the other ordering may
    /// still decide the maximum, and `finish` refuses the report unless the combined bracket is
    /// within the width limit. A non-finite U keeps the refusal. For δ the lower end is the
    /// complement bound ([`complement_delta_lower`], docs/math.md §15.1.6), which near δ = 1
    /// may answer alone (within the tolerance), and with which the bracket stands for every
    /// adjacency (still held to the width limit). Truncated Poisson sampling with
    /// a negligible truncation weight is answered first by
    /// [`ContourAccountant::answer_without_truncation`].
    fn answer(&self, direction: Direction, ask: Ask) -> Result<OrderingAnswer> {
        if let Some(a) = self.answer_without_truncation(direction, ask) {
            return Ok(a);
        }
        match self.enclosure(direction, ask) {
            Ok((b, info)) => Ok(answer_with_note(b, direction, &info)),
            Err(Error::NotCertified(why))
                if !has_lattice_part(&self.composition)
                    && dg_closed::large_part(&self.composition).is_none() =>
            {
                let plan = Plan::new(&self.composition, direction);
                // δ near 1 (ε far below the bulk of the loss): the complement bound
                // (docs/math.md §15.1.6) alone may meet the tolerance.
                let lower = match ask {
                    Ask::Delta(epsilon) => plan::lower_from_complement(plan.ln_complement(epsilon)),
                    Ask::Epsilon(_) => 0.0,
                };
                if 1.0 - lower <= self.params.tolerance {
                    return Ok(complement_answer(direction, lower, &why));
                }
                // The Chernoff bracket [0, U] alone stands only where the other ordering may
                // decide the maximum; one with the complement's lower end stands for every
                // adjacency. `finish` holds either to the width limit.
                if lower == 0.0 && self.params.adjacency != Adjacency::AddRemove {
                    return Err(Error::NotCertified(why));
                }
                let up = match ask {
                    // exp of a very negative bound underflows: keep a positive upper end (an
                    // end of 0 would claim δ = 0, which the bound does not say).
                    Ask::Delta(epsilon) => plan
                        .ln_chernoff(epsilon)
                        .exp()
                        .max(f64::from_bits(1))
                        .min(1.0),
                    Ask::Epsilon(delta) => plan
                        .chernoff_epsilon(delta)
                        .min(plan.loss_max.unwrap_or(f64::INFINITY)),
                };
                if !up.is_finite() {
                    return Err(Error::NotCertified(why));
                }
                if lower > up {
                    // Both ends are certified bounds on the same δ: a bug, never clamped away.
                    return Err(Error::Internal(format!(
                        "contour: the complement bound's lower end {lower:e} exceeds the Chernoff \
                         bound's upper end {up:e}"
                    )));
                }
                Ok(fallback_answer(direction, lower, up, &why))
            }
            Err(e) => Err(e),
        }
    }
}

/// Largest ratio of the truncation slack S to δ at which [`ContourAccountant`] drops the
/// truncation component of truncated Poisson sampling (docs/math.md §17.10, "A negligible
/// truncation component").
const TRUNCATION_SLACK_RATIO: f64 = 1e-6;

/// `x` moved by at least one ulp up (`dir` = 1) or down (−1): a rounded sum's outward end.
fn outward(x: f64, dir: f64) -> f64 {
    x + dir * (x.abs() * f64::EPSILON + f64::MIN_POSITIVE)
}

/// Whether the slack is at most [`TRUNCATION_SLACK_RATIO`] of δ (false for NaN).
fn negligible(slack: f64, delta: f64) -> bool {
    slack <= TRUNCATION_SLACK_RATIO * delta
}

impl ContourAccountant {
    /// Truncated Poisson sampling whose truncation component is negligible, by the contour of
    /// the untruncated components alone plus the δ slack S = Σ T·t_hi (docs/math.md §17.10,
    /// "A negligible truncation component"): None where there is no such part, S exceeds
    /// [`TRUNCATION_SLACK_RATIO`] of δ, or the contour of the rest refuses (the whole union is
    /// then inverted as before).
    fn answer_without_truncation(&self, direction: Direction, ask: Ask) -> Option<OrderingAnswer> {
        // Not `lattice_part`, which builds the certified law (O(atoms) MPFR work: 1.4 s for a
        // discrete Gaussian near its atom cap) only to be dropped here.
        if has_lattice_part(&self.composition) || dg_closed::large_part(&self.composition).is_some()
        {
            return None;
        }
        let (rest, slack, t_hi) = without_truncation(&self.composition)?;
        let inner = ContourAccountant::with_composition(self.params, rest).ok()?;
        // The untruncated part's answer (its Chernoff bracket where its contour refuses).
        let ends = |d: Direction, ask: Ask| {
            let a = inner.answer(d, ask).ok()?;
            Some((a.bracket.lower?, a.bracket.upper?, a))
        };
        let mut a = match ask {
            Ask::Delta(_) => {
                let (lo, up, a) = ends(direction, ask)?;
                // The report's δ is the largest over the orderings: S is measured against it,
                // so an ordering with a tiny δ (ε near its largest loss) keeps the rule.
                let mut scale = up;
                if !negligible(slack, scale) {
                    for &d in self.params.adjacency.directions() {
                        if d != direction {
                            scale = scale.max(ends(d, ask)?.1);
                        }
                    }
                }
                if !negligible(slack, scale) {
                    return None;
                }
                // Rounded outward.
                let lo = outward(lo - slack, -1.0).max(0.0);
                let up = outward(up + slack, 1.0).min(1.0);
                OrderingAnswer {
                    bracket: Bracket::certified(lo, a.bracket.value.clamp(lo, up), up),
                    ..a
                }
            }
            Ask::Epsilon(delta) => {
                if !negligible(slack, delta) {
                    return None;
                }
                // δ_true(ε) ∈ [δ'(ε) − S, δ'(ε) + S]: ε_true(δ) ∈ [ε'(δ + S), ε'(δ − S)].
                // δ ± S rounded outward (a sum that rounds back to δ would lose S's direction).
                let (lo_at, up_at) = (outward(delta + slack, 1.0), outward(delta - slack, -1.0));
                let (_, up, a) = ends(direction, Ask::Epsilon(up_at))?;
                let (lo, _, _) = ends(direction, Ask::Epsilon(lo_at))?;
                let lo = lo.min(up);
                OrderingAnswer {
                    bracket: Bracket::certified(lo, 0.5 * (lo + up), up),
                    ..a
                }
            }
        };
        a.notes.push(format!(
            "{} ordering: truncation component (weight t <= {t_hi:e} per step) not inverted; \
             the union's delta moves by at most sum(steps*t) <= {slack:e} from that of the \
             untruncated part, added to the bracket",
            direction.name()
        ));
        Some(a)
    }
}

/// The composition with every truncated-Poisson part replaced by its untruncated component,
/// the slack S ≥ Σ T·t_hi by which that moves any δ (docs/math.md §17.8, "The weight error": the
/// union at weight t and at weight 0 differ in δ by at most T·t), and the largest t_hi; None
/// without such a part.
fn without_truncation(c: &Composition) -> Option<(Composition, f64, f64)> {
    let mut rest = Composition {
        parts: Vec::new(),
        non_private: c.non_private,
    };
    let (mut slack, mut t_max, mut any) = (0.0, 0.0f64, false);
    for (m, n) in &c.parts {
        match m {
            crate::mechanism::Mechanism::TruncatedPoisson(t) => {
                let (_, t_hi) = t.truncation_weight_bounds();
                slack += *n as f64 * t_hi;
                t_max = t_max.max(t_hi);
                rest.push_derived(t.untruncated_component().mechanism(), *n);
                any = true;
            }
            other => rest.push_derived(*other, *n),
        }
    }
    // Rounding of the products and the sum, outward.
    any.then_some((rest, slack * (1.0 + 1e-12), t_max))
}

impl OrderingAccountant for ContourAccountant {
    ordering_accessors!("contour", merge);

    /// Fixed-size batches are accounted for by the half-line transform of their symmetrised
    /// pair (docs/math.md §17.11) in homogeneous compositions only; the Poisson-subsampled
    /// Laplace by its transform (docs/math.md §15.6), the other Gaussian-mixture pairs by theirs
    /// (docs/math.md §17.9), truncated Poisson sampling by the weighted union of its
    /// components' (docs/math.md §17.10), or, where the truncation weight is negligible, by the
    /// untruncated components plus a δ slack (§17.10 item 7).
    fn check(&self, added: &Composition) -> Result<()> {
        crate::mechanism::without_replacement::refuse_mixed_in(
            self.name(),
            &self.composition,
            added,
        )?;
        dg_closed::refuse_mixed_in(&self.composition, added)
    }

    fn guarantee(&self, _query: Query) -> Guarantee {
        Guarantee::Bracket
    }

    fn delta_for(&self, direction: Direction, epsilon: f64) -> Result<OrderingAnswer> {
        self.answer(direction, Ask::Delta(epsilon))
    }

    fn epsilon_for(&self, direction: Direction, delta: f64) -> Result<OrderingAnswer> {
        self.answer(direction, Ask::Epsilon(delta))
    }

    /// A δ bracket is vacuous when it is [0, 1] (or wider); an ε bracket never is (a refusal
    /// replaces it).
    fn vacuous(&self, query: Query, bracket: &Bracket) -> bool {
        query == Query::Delta
            && bracket.upper.is_some_and(|u| u >= 1.0)
            && bracket.lower.is_some_and(|l| l <= 0.0)
    }

    /// ε: the midpoint of the combined bracket; δ: the largest trapezoid value clamped into the
    /// combined bracket. Both with the relative width.
    fn finish(&self, report: &mut Report) -> Result<()> {
        let (Some(lo), Some(up)) = (report.lower, report.upper) else {
            return Err(Error::Internal("contour: a bracket end is missing".into()));
        };
        let value = match report.query {
            Query::Epsilon => 0.5 * (lo + up),
            Query::Delta => report.value(),
        };
        // An ordering answered by the Chernoff fallback is acceptable only where the other
        // ordering decides the maximum (otherwise the bracket would be far wider than asked),
        // or where the whole bracket is below the smallest normal f64 (width ≤ limit·2.2e-308:
        // e.g. δ(10⁶) ∈ [0, 5e-324] is certified and says all there is to say).
        if report.notes.iter().any(|n| n.contains(FALLBACK_NOTE))
            && up - lo > self.refusal_width() * up.max(f64::MIN_POSITIVE)
        {
            let why: Vec<&String> = report
                .notes
                .iter()
                .filter(|n| n.contains(FALLBACK_NOTE))
                .collect();
            return Err(Error::NotCertified(format!(
                "contour: the combined bracket [{lo:e}, {up:e}] is wider than {:e} relative; {} \
                 (the pld accountant certifies a bracket in such corners, to its own tolerance)",
                self.capped_width_limit(),
                why.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        if value > 0.0 {
            report
                .notes
                .push(format!("relative bracket width {:.3e}", (up - lo) / value));
        }
        if self.wide && up - lo > self.capped_width_limit() * up.max(f64::MIN_POSITIVE) {
            report.notes.push(format!(
                "the certified bracket [{lo:e}, {up:e}] is wider than the limit {:e} relative \
                 at which a query refuses; returned because wide brackets were accepted (both \
                 ends are certified)",
                self.capped_width_limit()
            ));
        }
        report.set_value(value.clamp(lo, up));
        Ok(())
    }

    /// The default (one call per ordering), except that in the add-remove ε query the add
    /// ordering is not inverted where the remove ordering's certified lower end is already at
    /// or above the add ordering's largest loss m = n·ln(1/(1 − q)): δ_add(m) = 0 exactly, so
    /// ε_add(δ) ∈ [0, m] and the maximum over the orderings is the remove ordering's
    /// (docs/math.md §15.1.5). At small σ that contour sits at λ ~ 10⁴–10⁵ and took seconds
    /// before refusing.
    fn orderings_for(&self, query: Query, given: f64) -> Result<Vec<(Direction, OrderingAnswer)>> {
        let mut out = Vec::with_capacity(2);
        for &dir in self.adjacency().directions() {
            let a = match query {
                Query::Epsilon => {
                    let below_other =
                        out.iter().find_map(|(_, b): &(Direction, OrderingAnswer)| {
                            let m = Plan::new(&self.composition, dir).loss_max?;
                            let lo = b.bracket.lower?;
                            (m.is_finite() && lo >= m).then_some((m, lo))
                        });
                    match below_other {
                        Some((m, lo)) => OrderingAnswer::new(Bracket::certified(0.0, m, m))
                            .with_note(format!(
                            "{} ordering: epsilon <= {m:e}, its largest loss (delta is exactly 0 \
                                 there), below the other ordering's certified lower end {lo:e}; \
                                 not inverted",
                            dir.name()
                        )),
                        None => self.epsilon_for(dir, given)?,
                    }
                }
                Query::Delta => self.delta_for(dir, given)?,
            };
            out.push((dir, a));
        }
        Ok(out)
    }
}

/// Marks the note of an ordering answered by the Chernoff fallback.
const FALLBACK_NOTE: &str = "contour refused, Chernoff bracket used";

/// One ordering answered by its certified Chernoff bracket [`lo`, `up`] where the contour
/// refused (`lo` from the complement bound of a δ query, else 0).
fn fallback_answer(dir: Direction, lo: f64, up: f64, why: &str) -> OrderingAnswer {
    let lo_text = if lo > 0.0 {
        format!("{lo:e}, lower end by the complement bound")
    } else {
        "0".to_string()
    };
    OrderingAnswer::new(Bracket::certified(lo, 0.5 * (lo + up), up)).with_note(format!(
        "{} ordering: {FALLBACK_NOTE} [{lo_text}, {up:e}] ({why})",
        dir.name()
    ))
}

/// A certified lower bound on δ(ε) of one ordering of `composition` by the complement bound
/// 1 − δ(ε) ≤ e^{(1−λ)ε}M(λ), 0 < λ < 1 (docs/math.md §15.1.6); 0 where it gives none (a factor
/// other than a Gaussian or a Poisson-subsampled Gaussian, or no bound below 1). A few real
/// quadratures (at most 9 per factor, each within the per-call node budget).
pub(crate) fn complement_delta_lower(
    composition: &Composition,
    direction: Direction,
    epsilon: f64,
) -> f64 {
    if has_lattice_part(composition) || dg_closed::large_part(composition).is_some() {
        return 0.0;
    }
    plan::lower_from_complement(Plan::new(composition, direction).ln_complement(epsilon))
}

/// One ordering answered by the complement bound: δ ∈ [`lo`, 1] within the tolerance, where
/// the contour refused (docs/math.md §15.1.6).
fn complement_answer(dir: Direction, lo: f64, why: &str) -> OrderingAnswer {
    OrderingAnswer::new(Bracket::certified(lo, 0.5 * (lo + 1.0), 1.0)).with_note(format!(
        "{} ordering: delta >= {lo:e} by the complement bound 1 - delta <= \
         exp((1 - lambda)*epsilon)*M(lambda), 0 < lambda < 1 (the contour refused: {why})",
        dir.name()
    ))
}

fn answer_with_note(b: Enclosure, dir: Direction, info: &Option<ContourInfo>) -> OrderingAnswer {
    let mut a = OrderingAnswer::new(b.bracket());
    if let Some(n) = info_note(dir, info) {
        a.notes.push(n);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accountant::Accountant;
    use crate::edgeworth::gaussian_delta as gd;
    use crate::event::DpEvent;

    /// The remove-ordering plan of `steps` DP-SGD steps.
    fn remove_plan(sigma: f64, q: f64, steps: u64) -> Plan {
        let mut comp = Composition::default();
        comp.add_event(&DpEvent::dpsgd(sigma, q, steps), 1, "contour")
            .expect("test setup");
        Plan::new(&comp, Direction::Remove)
    }

    /// The saddle-point guess found in λ is the Newton steps' fixed point (both orderings,
    /// rare and frequent sampling, short and long compositions, δ from 1e−3 to 1e−12).
    #[test]
    fn the_guess_in_lambda_is_the_newton_fixed_point() {
        for &(sigma, q, steps) in &[
            (0.8, 5e-4, 200u64),
            (0.573, 2000.0 / 392_702.0, 3920),
            (1.0, 1e-4, 100),
            (2.0, 0.01, 1000),
            (0.5, 0.2, 10),
            (5.0, 0.001, 100_000),
        ] {
            let mut comp = Composition::default();
            comp.add_event(&DpEvent::dpsgd(sigma, q, steps), 1, "contour")
                .expect("test setup");
            for dir in [Direction::Remove, Direction::Add] {
                let plan = Plan::new(&comp, dir);
                for delta in [1e-3, 1e-5, 1e-8, 1e-12] {
                    let tag = format!("sigma={sigma} q={q} n={steps} {dir:?} delta={delta}");
                    let newton = plan.epsilon_guess_newton(delta).expect("newton");
                    match plan.epsilon_guess_in_lambda(delta) {
                        Some(eps) => assert!(
                            (eps - newton).abs() <= 1e-7 * (1.0 + newton),
                            "{tag}: {eps} vs {newton}"
                        ),
                        // Only where the Newton steps stop near ε = 0.
                        None => assert!(newton < 1e-6, "{tag}: no root in lambda, newton {newton}"),
                    }
                }
            }
        }
    }

    /// The plain contour (no window) and the one built in `mode`, both at the saddle point of
    /// ε and tolerance 1e−9.
    fn plain_and(
        plan: &Plan,
        eps: f64,
        mode: WindowMode,
    ) -> (integral::Contour, integral::Contour) {
        let lam = plan.saddle(eps).expect("test setup");
        let build = |m| plan.build_with(lam, eps, 1e-9, m).expect("test setup");
        (build(WindowMode::Never), build(mode))
    }

    /// The analytic-window path against the plain path where both work (q = 0.004, σ = 0.8,
    /// 10 steps, remove, tolerance 1e−9; the plain contour is not capped there): the brackets
    /// overlap and the window's is at most as wide (plus 1e−3 relative slack for the different
    /// truncation); R's bound enters δ_up only.
    #[test]
    fn window_path_agrees_with_the_plain_path() {
        let (plan, eps) = (remove_plan(0.8, 0.004, 10), 0.3);
        let (plain, win) = plain_and(&plan, eps, WindowMode::Force);
        assert!(plain.window.is_none() && !plain.capped);
        assert!(win.window.is_some() && !win.capped);
        for e in [0.28, 0.3, 0.32] {
            let (p, w) = (plain.bounds(e), win.bounds(e));
            assert!(p.lower <= w.upper && w.lower <= p.upper, "{e}: {p:?} {w:?}");
            assert!(
                w.upper - w.lower <= (p.upper - p.lower) * (1.0 + 1e-3),
                "{e}: {p:?} {w:?}"
            );
            // R only in δ_up: without the R table the lower end is the same and the upper end
            // is lower by exactly the R bound.
            let mut no_r = win.clone();
            no_r.window = None;
            let b = no_r.bounds(e);
            assert_eq!(b.lower, w.lower);
            assert!(b.upper <= w.upper);
        }
        // Where R's bound is not negligible (ε far below the design), it is the difference.
        let e = 1e-3;
        let r = win.window.as_ref().expect("window path").ln_bound(e).exp();
        let mut no_r = win.clone();
        no_r.window = None;
        let (w, b) = (win.bounds(e), no_r.bounds(e));
        assert_eq!(b.lower, w.lower);
        if b.upper + r < 1.0 {
            // Tolerance: 1e−8 relative for the rounding of the two sums.
            assert!(
                ((w.upper - b.upper) - r).abs() <= 1e-8 * (r + b.upper),
                "{w:?} {b:?} {r}"
            );
        }
    }

    /// Where the plain contour is capped (q = 0.001, σ = 0.6, 10 steps, remove, ε = 0.333; the
    /// tilted law is ~99% spike) the window path is taken, its bracket overlaps the plain one and
    /// is ≥ 1000× narrower.
    #[test]
    fn window_path_is_taken_where_the_plain_contour_is_capped() {
        let (plan, eps) = (remove_plan(0.6, 0.001, 10), 0.333);
        let (plain, win) = plain_and(&plan, eps, WindowMode::Auto);
        assert!(plain.capped && plain.window.is_none());
        assert!(win.window.is_some() && !win.capped);
        let (p, w) = (plain.bounds(eps), win.bounds(eps));
        assert!(p.lower <= w.upper && w.lower <= p.upper, "{p:?} {w:?}");
        assert!(
            (w.upper - w.lower) * 1e3 <= p.upper - p.lower,
            "{p:?} {w:?}"
        );
        eprintln!("plain {p:?}\nwindow {w:?}");
    }

    /// A contour moved below the saddle point for a coarser step (`Plan::cheaper_lambda`,
    /// docs/math.md §10.9.3) at small q·n: its λ is lower, it needs at most half the t-nodes of
    /// the contour at the saddle point, and both certified δ brackets overlap and are narrower
    /// than 1e−6 relative (tolerance 1e−9). Where the saddle-point contour needs at most 2 000
    /// t-nodes (MNLI, q = 0.01) the λ is not moved.
    #[test]
    fn a_contour_moved_below_the_saddle_point_is_cheaper_and_agrees() {
        for (sigma, q, steps, eps) in [
            (0.8, 5e-4, 200u64, 0.0760647),
            (1.0, 5e-4, 200, 0.0327307),
            (1.0, 1e-4, 1000, 0.0111857),
        ] {
            let plan = remove_plan(sigma, q, steps);
            let (at, moved) = plain_and(&plan, eps, WindowMode::Auto);
            let what = format!("σ {sigma} q {q} {steps} steps");
            assert!(
                moved.lambda < at.lambda,
                "{what}: {} {}",
                moved.lambda,
                at.lambda
            );
            assert_eq!(moved.saddle, at.lambda, "{what}");
            assert!(
                2 * moved.nodes.len() <= at.nodes.len(),
                "{what}: {} vs {}",
                moved.nodes.len(),
                at.nodes.len()
            );
            let (a, m) = (at.bounds(eps), moved.bounds(eps));
            assert!(
                a.lower <= m.upper && m.lower <= a.upper,
                "{what}: {a:?} {m:?}"
            );
            for b in [a, m] {
                assert!(b.upper - b.lower <= 1e-6 * b.upper, "{what}: {b:?}");
            }
        }
        for (sigma, q, steps, eps) in [
            (0.573, 2000.0 / 392_702.0, 3920u64, 9.5997491),
            (1.0, 0.01, 1000, 1.8282367),
        ] {
            let plan = remove_plan(sigma, q, steps);
            let (at, moved) = plain_and(&plan, eps, WindowMode::Auto);
            assert_eq!(
                moved.lambda, at.lambda,
                "σ {sigma} q {q}: stays at the saddle point"
            );
        }
    }

    /// The coarse grid (fine part and the 4× sparser far part) bounds |M̃(λ+it)|/M̃(λ) from
    /// above at points between its nodes, for nearly atomic (small q) and ordinary tilted laws.
    /// The set-up of `Plan::build_with` up to its coarse grids (after the first truncation
    /// scan), at the saddle point of ε and tolerance 1e−9.
    struct ScanSetup {
        lam: f64,
        base: plan::Base,
        h: f64,
        target: f64,
        trunc: plan::Truncation,
        first: plan::Scan,
        grids: Vec<Option<plan::Coarse>>,
    }

    fn scan_setup(plan: &Plan, eps: f64) -> ScanSetup {
        let lam = plan.saddle(eps).expect("test setup");
        let base = plan.base(lam);
        let w = plan.bump_width(lam);
        let target = 1e-9 * plan.s_estimate(lam, eps, w, base.norm) / 8.0;
        let mut c = plan.strip_contour(lam, w, &base);
        c.choose_step(eps, target);
        let h = c.h;
        let trunc = plan.truncation(&base, lam, w, h, target);
        let first = plan.scan(&trunc, &vec![None; plan.factors.len()], lam, h, target);
        let grids = plan.coarse_grids(&base, lam, h, first.k_dir, target);
        ScanSetup {
            lam,
            base,
            h,
            target,
            trunc,
            first,
            grids,
        }
    }

    /// At σ ≈ 1.3e−3 (μ ≈ 790), q ≈ 9e−5, 985 steps, the coarse grid would need ~5e10 x-nodes:
    /// over its cap, it is not built (it was, for 84 s, before the capped contour was refused).
    #[test]
    fn a_coarse_grid_over_the_work_cap_is_not_built() {
        let plan = remove_plan(0.00126787, 8.74382e-5, 985);
        let s = scan_setup(&plan, 4.01484);
        assert!(s.grids.iter().all(Option::is_none), "{:?}", s.grids.len());
    }

    /// A coarse grid whose step is far above the direct nodes' reach (truncated Poisson at
    /// σ = 32, q ≈ 8e−7, B = 3, 11 204 steps, λ ≈ 7 300: step ≈ 3.6·10⁵ against t ≈ 10) is built
    /// only where its last node's quadrature fits the per-call budget; it asked for 4·10⁷ x-nodes
    /// (2.8 GB) when only the cost at the direct nodes' reach was checked. The backstop in the
    /// transforms answers such a call with no enclosure instead of allocating.
    #[test]
    fn a_coarse_grid_is_built_only_within_the_call_budget_at_its_last_node() {
        let mut comp = Composition::default();
        let event = DpEvent::TruncatedSubsampledGaussian {
            dataset_size: 337_488,
            sampling_probability: 7.9723e-7,
            truncated_batch_size: 3,
            noise_multiplier: 32.0,
        };
        comp.add_event(&event, 11_204, "contour")
            .expect("test setup");
        let plan = Plan::new(&comp, Direction::Remove);
        let s = scan_setup(&plan, 1.2323e-4);
        assert!(s.lam > 1e3, "{}", s.lam);
        for (f, g) in plan.factors.iter().zip(&s.grids) {
            let Some(g) = g else { continue };
            let reach = g.end();
            assert!(
                f.t.cost(s.lam, reach) <= plan::MAX_CALL_NODES,
                "reach {reach}"
            );
        }
        // The backstop: one quadrature far beyond the budget gives no enclosure, at once.
        let far = plan.factors[0].t.ln_mgf(C64::new(s.lam, 1e12), TAU_X);
        assert!(far.ln_err == f64::INFINITY);
    }

    /// The truncation scans of EA S2 (σ 0.8, q 5e−4, 200 steps) and MNLI (σ 0.573, 3 920 steps)
    /// at their answers (tolerance 1e−9, both scans, as `Plan::build`): the runs of far nodes
    /// (docs/math.md §10.5, "Runs of nodes") evaluate under half the node bounds, and the last
    /// direct node is that of the node-by-node scan. `--nocapture` prints the counts quoted in
    /// docs/math.md §10.5 and §10.9.1.
    #[test]
    fn scan_runs_evaluate_a_fraction_of_the_node_bounds() {
        use super::node_sums::NodeSums;
        for (sigma, q, steps, eps) in [
            (0.8, 5e-4, 200, 0.0760647244),
            (0.573, 2000.0 / 392_702.0, 3920, 8.2742316755),
        ] {
            let plan = remove_plan(sigma, q, steps);
            let s = scan_setup(&plan, eps);
            let none = vec![None; plan.factors.len()];
            let second = plan.scan(&s.trunc, &s.grids, s.lam, s.h, s.target);
            for (scan, coarse) in [(&s.first, &none), (&second, &s.grids)] {
                let node = |k: usize| {
                    let t = k as f64 * s.h;
                    (s.h / PI) * plan.ln_node_bound(&s.trunc.decays, coarse, s.lam, t).exp()
                };
                let k_tail = s.trunc.k_tail;
                let plain = NodeSums::new(k_tail, k_tail, s.target, 1.0, node, |a, _| node(a));
                let k_plain = plain.first_within(s.trunc.tail, s.target);
                eprintln!(
                    "σ={sigma} q={q} steps={steps}: k_tail {k_tail}, evaluations {}, k_dir {} \
                     (node by node {k_plain})",
                    scan.sums.evaluations, scan.k_dir
                );
                assert!(
                    2 * scan.sums.evaluations < k_tail,
                    "{}",
                    scan.sums.evaluations
                );
                assert_eq!(scan.k_dir, k_plain);
            }
        }
    }

    #[test]
    fn coarse_grid_bounds_the_transform_between_its_nodes() {
        let mut far_seen = false;
        for (sigma, q, steps, eps) in [
            (0.8, 5e-4, 200, 0.6),
            (0.8, 5e-4, 200, 0.076),
            (1.0, 0.01, 1000, 1.0),
        ] {
            let plan = remove_plan(sigma, q, steps);
            let ScanSetup {
                lam, base, grids, ..
            } = scan_setup(&plan, eps);
            let Some(g) = &grids[0] else { continue };
            far_seen |= !g.far.is_empty();
            let reach = g.end();
            let ts: Vec<f64> = (1..400)
                .map(|i| reach * (i as f64 + 0.37) / 400.0)
                .collect();
            let f = plan.factors[0].t;
            let b0 = base.values[0];
            for &t in &ts {
                let v = f.ln_mgf(C64::new(lam, t), TAU_X);
                let ratio = (v.ln.re - b0.ln.re).exp() - (v.ln_err - b0.ln.re).exp();
                assert!(ratio <= g.bound(t), "t = {t}: {ratio} > {}", g.bound(t));
            }
        }
        assert!(far_seen);
    }

    /// The complement bound (docs/math.md §15.1.6) lies below δ: against the Gaussian's closed
    /// form (σ from 10⁻³ to 3, 1 to 1 000 steps, ε from 0 to 20), the Poisson-subsampled
    /// Gaussian's exact one-step δ (σ from 0.005 to 2, q from 10⁻³ to 0.99) and the contour's
    /// certified upper ends over 10 and 1 000 steps, both orderings; where δ is 1 to far below
    /// f64 rounding (σ = 10⁻³; σ = 0.005 at q = 0.38) it is within 10⁻¹⁵ of 1.
    #[test]
    fn complement_bound_holds_against_closed_forms_and_brackets() {
        use crate::mechanism::{Mechanism, SubsampledGaussian};
        let dirs = [Direction::Remove, Direction::Add];
        for sigma in [1e-3, 0.05, 0.3, 1.0, 3.0] {
            for steps in [1u64, 10, 1000] {
                let mut comp = Composition::default();
                comp.add_event(&DpEvent::Gaussian { sigma }, steps, "contour")
                    .expect("test setup");
                let mu = (steps as f64).sqrt() / sigma;
                for eps in [0.0, 0.01, 0.5, 3.0, 20.0] {
                    let exact = gd(mu, eps);
                    for dir in dirs {
                        let lo = complement_delta_lower(&comp, dir, eps);
                        let tag = format!("gaussian sigma={sigma} n={steps} eps={eps} {dir:?}");
                        assert!((0.0..1.0).contains(&lo), "{tag}: {lo}");
                        assert!(lo <= exact * (1.0 + 1e-12), "{tag}: {lo} > {exact}");
                        if sigma == 1e-3 {
                            assert!(lo >= 1.0 - 1e-15, "{tag}: {lo}");
                        }
                    }
                }
            }
        }
        for sigma in [0.005, 0.05, 0.5, 2.0] {
            for q in [1e-3, 0.1, 0.5, 0.99] {
                let m = Mechanism::SubsampledGaussian(
                    SubsampledGaussian::new(sigma, q).expect("test setup"),
                );
                let mut comp = Composition::default();
                comp.add_event(&DpEvent::dpsgd(sigma, q, 1), 1, "contour")
                    .expect("test setup");
                for dir in dirs {
                    let t = Transform::new(&m, dir);
                    for eps in [0.0, 0.01, 0.3, 2.0] {
                        let (_, _, up) = t.single_step_delta(eps).expect("one step");
                        let lo = complement_delta_lower(&comp, dir, eps);
                        assert!(
                            lo <= up,
                            "one step sigma={sigma} q={q} eps={eps} {dir:?}: {lo} > {up}"
                        );
                    }
                }
            }
        }
        for (sigma, q) in [(0.5, 0.01), (1.0, 0.2), (2.0, 0.01)] {
            for steps in [10u64, 1000] {
                let mut acc = ContourAccountant::new(ContourParams {
                    adjacency: Adjacency::AddRemove,
                    tolerance: 1e-9,
                })
                .expect("test setup");
                acc.compose(&DpEvent::dpsgd(sigma, q, steps), 1)
                    .expect("test setup");
                for eps in [0.01, 0.5] {
                    for dir in dirs {
                        let (b, _) = acc
                            .enclosure(dir, Ask::Delta(eps))
                            .expect("the contour answers here");
                        let lo = complement_delta_lower(&acc.composition, dir, eps);
                        assert!(
                            lo <= b.upper,
                            "sigma={sigma} q={q} n={steps} eps={eps} {dir:?}: {lo} > {b:?}"
                        );
                    }
                }
            }
        }
        let mut comp = Composition::default();
        comp.add_event(&DpEvent::dpsgd(0.005, 0.38, 1000), 1, "contour")
            .expect("test setup");
        for dir in dirs {
            let lo = complement_delta_lower(&comp, dir, 0.01);
            assert!((1.0 - 1e-15..1.0).contains(&lo), "{dir:?}: {lo}");
        }
    }

    #[test]
    fn gaussian_delta_is_exact_and_bracketed() {
        let mut acc = ContourAccountant::new(ContourParams {
            adjacency: Adjacency::Remove,
            tolerance: 1e-12,
        })
        .expect("test setup");
        acc.compose(&DpEvent::Gaussian { sigma: 1.0 }, 1)
            .expect("test setup");
        for eps in [0.0, 0.5, 1.0, 3.0, 10.0] {
            let (b, _) = acc
                .enclosure(Direction::Remove, Ask::Delta(eps))
                .expect("test setup");
            let want = gd(1.0, eps);
            assert!(b.lower <= want && want <= b.upper, "{eps}: {b:?} {want}");
            assert!(
                (b.value - want).abs() <= 1e-12 * want,
                "{eps}: {b:?} {want}"
            );
        }
    }
}
