//! Exact certified accounting by inversion along the saddle-point contour (MATH.md §6).
//!
//! For the composed PLLR S = Σ L_i under P, f(s) = (e^s − e^ε)_+ has two-sided Laplace transform
//! e^{(1−z)ε}/(z(z−1)) for Re z > 1, so for every λ > 1
//!
//! ```text
//! δ(ε) = (1/2π) ∫ Π_i M_i(λ+it)^{n_i} · e^{(1−λ−it)ε} / ((λ+it)(λ+it−1)) dt          (exact)
//! ```
//!
//! with M_i(z) = E_P[e^{zL_i}] ([`crate::special::complex_quadrature`]). Writing
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
//!   in blocks of up to 128 consecutive t sharing one x-grid
//!   ([`crate::special::complex_quadrature::subsampled_mgf_rotated`]): L(x_j) and the real weights
//!   once per block, the phases by complex rotation from one sin/cos seed per block and x-node
//!   (up to 64 rotations where the tolerance allows), summed in vectorised plain chunks of 32
//!   x-nodes between compensated additions (where √2·34u·n stays below 1% of the tolerance).
//!   Compositions of fewer than 100 steps (outside the cost target) get a 20× larger work cap: at
//!   small q·n their tilted law is nearly a spike and the integrand decays slowly in t.
//! - **Laplace atoms**: a homogeneous Laplace composition (n ≤ 10⁵) splits off its lattice part
//!   exactly: M^n = A^n + (M^n − A^n), with A the atom part; the lattice term is the finite sum
//!   Σ_j C(n,j) 2^{−n} e^{−ja}(e^{(2j−n)a} − e^ε)_+ and the remainder decays like
//!   n|C|(A(λ)+|C|)^{n−1}/t³.
//! - **Analytic window** (one subsampled-Gaussian factor, remove ordering, n < 100, only where the
//!   plain contour hits its work cap): at small q·n the tilted law is ~99% a spike near ln(1 − q),
//!   |M(λ+it)/M(λ)|ⁿ stays near (spike mass)ⁿ up to t ~ 10⁴ and the plain integrand decays only
//!   like 1/t². With w(x) = Φ((x₀ − x)/s), x₀ = L⁻¹(0.7ε/n), s = 0.1, P = wP + (1 − w)P (both
//!   nonnegative) and M = M_w + M_{1−w}:
//!   δ(ε) = (1/2π)∫ĥ(λ+it)(Mⁿ − M_wⁿ)(λ+it)dt + R, where Mⁿ − M_wⁿ is the transform of the
//!   nonnegative measure P^{⊗n} − (wP)^{⊗n} (so the inversion formula holds for it, and
//!   |Mⁿ − M_wⁿ|(λ'+it) ≤ M(λ')ⁿ keeps the strip bound of the step), and
//!   0 ≤ R = E_{(wP)^{⊗n}}[(e^S − e^ε)₊] ≤ min_{λ'} e^{−(λ'−1)ε}h_max(λ')M_w(λ')ⁿ (MATH.md §6,
//!   h ≤ h_max), added to δ_up only. M_w comes from the certified windowed quadrature
//!   ([`crate::special::complex_quadrature::subsampled_mgf_windowed`]); the tail uses
//!   |Mⁿ − M_wⁿ| ≤ n|M_{1−w}|M(λ)^{n−1} with the shifted-contour bound |M_{1−w}(λ+it)| ≤ B(t)
//!   ([`crate::special::complex_quadrature::ln_window_tail_bound`], non-increasing in t), so the
//!   omitted nodes sum to ≤ (1/π)n(1+η)^{n−1}B(T)/(M̃(λ)T). Analysis and f64 check:
//!   experiments/contour/README.md, `window_split.py`.
//! - **Rounding**: each node carries the error of M̃ (the M̃ error η propagates as
//!   Π(r + η)^{n} − Π r^{n}) plus u(8 + 4Σ n_i(|ln M̃_i(z)| + |ln M̃_i(λ)|)) for forming the power,
//!   3u(|tε| + 1) for the phase; the compensated node sum adds 3u Σ|terms|; ln A carries
//!   4u(Σ n_i|ln M̃_i(λ)| + |(1−λ)ε|).
//!
//! All error terms are added in the safe direction: δ_low ≤ δ ≤ δ_up. ε(δ) is bracketed by
//! bisection on δ_up (a certified upper bound on ε) and on δ_low (a certified lower bound).
//!
//! # References
//! MATH.md §6; Alghamdi et al., *The Saddle-Point Method in Differential Privacy* (ICML 2023) for
//! the saddle point; Trefethen & Weideman (2014), Thm 5.1.

use super::invert::EPSILON_MAX;
use super::{
    check_delta, check_epsilon, Bracket, Guarantee, OrderingAccountant, OrderingAnswer, Query,
    Report,
};
use crate::error::{Error, Result};
use crate::event::Composition;
use crate::mechanism::{Adjacency, Direction};
use crate::special::complex_quadrature::{
    ln_window_tail_bound, logsumexp, subsampled_mgf_windowed, Decay, MgfValue, Transform, C64,
    SUM_BLOCK, UNIT_ROUNDOFF,
};
use crate::special::roots::{bisect_bracket, brent};
use rayon::prelude::*;
use std::f64::consts::PI;

/// Target relative accuracy of each M̃ quadrature (below the rounding floor, so the step is set
/// by rounding-level accuracy).
const TAU_X: f64 = 1e-17;
/// Largest number of t-nodes evaluated directly.
const MAX_DIRECT_NODES: usize = 400_000;
/// Largest number of t-nodes bounded one by one.
const MAX_SCAN_NODES: usize = 4_000_000;
/// Largest number of x-nodes (summed over the t-nodes) one contour may evaluate (~0.3 s with the
/// batched transforms, which share L(x_j) and propagate phases across nearby t-nodes).
const MAX_WORK: f64 = 6e7;
/// The work cap for compositions of fewer than 100 steps (outside the cost target of 10²…10⁷
/// steps; up to ~1.6 s per ordering): at small q·n the tilted law is nearly a spike and the
/// integrand decays slowly (the ten-step DP-SGD rows at q = 0.004, and at q = 0.001 with
/// σ = 0.8, need it for a bracket 1000× narrower than PRV's).
const MAX_WORK_SHORT: f64 = 1.2e9;
/// Most x-nodes one transform evaluation (one quadrature call) may use: each costs ~32 bytes
/// per thread, so a call stays below ~130 MB. Real parts λ (and strip edges, R-table points)
/// whose quadrature would need more are not evaluated (the budget is checked before allocating).
const MAX_CALL_NODES: f64 = 4e6;
/// The real parts λ' of the Chernoff bound δ(ε) ≤ h_max(λ')·M(λ')·e^{−(λ'−1)ε} ([`Plan::ln_chernoff`]).
const CHERNOFF_LAMBDAS: [f64; 16] = [
    1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 1e3, 1e4, 1e6, 1e9, 1e12, 1e15, 1e18,
];
/// Largest n for which a homogeneous Laplace composition's lattice part is summed exactly.
const MAX_LATTICE_N: f64 = 1e5;
/// Most t-nodes of a window contour.
const MAX_WINDOW_NODES: usize = 60_000;
/// Width s of the analytic window (units of x).
const WINDOW_S: f64 = 0.1;
/// The window sits at x₀ = L⁻¹(WINDOW_FRAC·ε/n).
const WINDOW_FRAC: f64 = 0.7;
/// The λ' at which the bound on R is evaluated.
const WINDOW_R_LAMBDAS: [f64; 11] = [
    1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 150.0, 200.0, 300.0,
];

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

#[derive(Debug, Clone, Copy)]
struct Factor {
    t: Transform,
    n: f64,
}

/// The composed transform of one ordering.
#[derive(Debug, Clone)]
struct Plan {
    factors: Vec<Factor>,
    /// Homogeneous Laplace: (a, n).
    lattice: Option<(f64, f64)>,
    /// Σ n_i·max L_i when every PLLR is bounded above (δ(ε) = 0 beyond it).
    loss_max: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    t: f64,
    c: C64,
    err: f64,
    mag: f64,
}

/// |M(λ+it)|/M̃(λ) on a coarse grid t_j = j·step (upper bounds), with the Lipschitz slope
/// E_λ|L|·M(λ)/M̃(λ) for the points in between.
#[derive(Debug, Clone)]
struct Coarse {
    step: f64,
    slope: f64,
    ratios: Vec<f64>,
}

impl Coarse {
    fn bound(&self, t: f64) -> f64 {
        let x = t / self.step;
        let j = x.floor();
        if j < 0.0 || (j as usize) + 1 >= self.ratios.len() {
            return 1.0;
        }
        let j = j as usize;
        let dl = t - j as f64 * self.step;
        let dr = (j + 1) as f64 * self.step - t;
        (self.ratios[j] + dl.max(0.0) * self.slope)
            .min(self.ratios[j + 1] + dr.max(0.0) * self.slope)
    }
}

#[derive(Debug, Clone, Copy)]
struct Strip {
    /// +1: toward the pole (Re z = λ − a), −1: away (Re z = λ + a).
    side: f64,
    a: f64,
    /// ln of the edge majorant without the e^{±aε} factor, in units of S.
    ln_edge: f64,
}

/// A contour at fixed λ with its nodes evaluated; answers δ bounds for any ε (tightest near the
/// ε it was designed for).
#[derive(Debug, Clone)]
pub(crate) struct Contour {
    lambda: f64,
    h: f64,
    norm: f64,
    norm_abs: f64,
    nodes: Vec<Node>,
    trunc: f64,
    strips: Vec<Strip>,
    ln_edge0: f64,
    lattice: Option<(f64, f64)>,
    capped: bool,
    /// Analytic-window path: (n, [(λ', upper bound on ln M_w(λ'))]) for the bound on R.
    window: Option<(f64, Vec<(f64, f64)>)>,
}

/// The window parameters of a plan: (q, μ, n, x₀, s).
type WindowParams = (f64, f64, f64, f64, f64);

/// When [`Plan::build_with`] takes the analytic-window path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WindowMode {
    /// Where the plain contour is capped and the window pays (the accountant's choice).
    Auto,
    /// Wherever it applies (no work cap).
    Force,
    /// Never (tests: the plain contour for comparison).
    #[cfg_attr(not(test), allow(dead_code))]
    Never,
}

impl Plan {
    fn new(composition: &Composition, direction: Direction) -> Plan {
        let factors: Vec<Factor> = composition
            .parts
            .iter()
            .map(|(m, n)| Factor {
                t: Transform::new(m, direction),
                n: *n as f64,
            })
            .collect();
        let lattice = match factors.as_slice() {
            [Factor {
                t: Transform::Laplace { a },
                n,
            }] if *n <= MAX_LATTICE_N => Some((*a, *n)),
            _ => None,
        };
        // Rounded up: each product and sum adds at most u relative.
        let loss_max = factors
            .iter()
            .map(|f| f.t.loss_max().map(|m| m * f.n))
            .sum::<Option<f64>>()
            .map(|m| m * (1.0 + 4.0 * UNIT_ROUNDOFF * (factors.len() as f64 + 2.0)));
        Plan {
            factors,
            lattice,
            loss_max,
        }
    }

    /// The exact bracket of a single subsampled-Gaussian step (no contour needed).
    fn single_step(&self, epsilon: f64) -> Option<Enclosure> {
        match self.factors.as_slice() {
            [f] if f.n == 1.0 => {
                f.t.single_step_delta(epsilon)
                    .map(|(lower, value, upper)| Enclosure {
                        lower,
                        value,
                        upper,
                    })
            }
            _ => None,
        }
    }

    fn cgf(&self, lambda: f64) -> (f64, f64, f64) {
        self.factors.iter().fold((0.0, 0.0, 0.0), |acc, f| {
            let (k, k1, k2) = f.t.cgf(lambda);
            (acc.0 + f.n * k, acc.1 + f.n * k1, acc.2 + f.n * k2)
        })
    }

    fn ln_m_upper(&self, lambda: f64) -> f64 {
        self.factors
            .iter()
            .map(|f| f.n * f.t.ln_mgf_upper(lambda))
            .sum()
    }

    /// Refuse compositions whose transform is not representable in f64: a Gaussian part with
    /// n·μ² not a finite normal number (σ below ~1e−154 or above ~1e154 per step), a subsampled
    /// part with μ² not finite.
    ///
    /// # Errors
    /// [`Error::NotCertified`] naming the part.
    fn check_domain(&self) -> Result<()> {
        for f in &self.factors {
            let (ok, what) = match f.t {
                Transform::Gaussian { mu } => {
                    let m2 = f.n * mu * mu;
                    (
                        m2.is_normal(),
                        format!("n*mu^2 = {m2:e} (mu = 1/sigma = {mu:e})"),
                    )
                }
                Transform::Subsampled { mu, .. } => {
                    ((mu * mu).is_finite(), format!("mu^2 = {:e}", mu * mu))
                }
                Transform::Laplace { a } => ((f.n * a).is_finite(), format!("n*a = {:e}", f.n * a)),
            };
            if !ok {
                return Err(Error::NotCertified(format!(
                    "contour: {what} is outside the range the f64 transforms can certify"
                )));
            }
        }
        Ok(())
    }

    /// The saddle-point estimate of ε(δ) (Newton steps on ln δ_sp(ε), whose slope is −(λ − 1)),
    /// the design point of the first contour.
    fn epsilon_guess(&self, delta: f64) -> Result<f64> {
        let ln_delta = delta.ln();
        let (_, k1q, k2q) = self.cgf(1.0);
        let mut eps = (k1q + (k2q * -2.0 * ln_delta).sqrt()).max(1e-3);
        if let Some(m) = self.loss_max {
            eps = eps.min(0.999 * m);
        }
        for _ in 0..30 {
            let (ld, lam) = self.ln_delta_saddle(eps)?;
            let step = (ld - ln_delta) / (lam - 1.0);
            let mut next = eps + step;
            if next <= 0.0 {
                next = 0.5 * eps;
            }
            if let Some(m) = self.loss_max {
                next = next.min(0.5 * (eps + m));
            }
            if !next.is_finite() {
                return Err(Error::NotCertified(format!(
                    "contour: the saddle-point estimate of epsilon(delta = {delta:e}) is not finite"
                )));
            }
            let done = (next - eps).abs() <= 1e-9 * (1.0 + eps);
            eps = next;
            if done || eps < 1e-9 {
                break;
            }
        }
        Ok(eps)
    }

    /// Whether every transform at real part λ stays within [`MAX_CALL_NODES`] (the complex
    /// quadrature at t = 0 and the real summaries); checked before anything is evaluated there.
    fn affordable(&self, lambda: f64) -> bool {
        lambda.is_finite()
            && self.factors.iter().all(|f| {
                f.t.cost(lambda, 0.0) <= MAX_CALL_NODES && f.t.real_cost(lambda) <= MAX_CALL_NODES
            })
    }

    /// The saddle point λ > 1 of the real integrand at ε, or the largest affordable λ below it
    /// (any λ > 1 gives a valid contour; off the saddle it needs more nodes or is wider).
    ///
    /// # Errors
    /// [`Error::BudgetExceeded`] when not even λ = 1 + e^{−30} is affordable.
    fn saddle(&self, epsilon: f64) -> Result<f64> {
        let g = |v: f64| -> Result<f64> {
            let u = v.exp();
            let lam = 1.0 + u;
            let (_, k1, _) = self.cgf(lam);
            let r = k1 - epsilon - 1.0 / lam - 1.0 / u;
            if r.is_nan() {
                return Err(Error::NotCertified(format!(
                    "contour: the cumulant generating function is not finite at lambda = {lam:e}"
                )));
            }
            Ok(r)
        };
        let lo = -30.0;
        if !self.affordable(1.0 + f64::exp(lo)) {
            return Err(self.budget_error(1.0 + f64::exp(lo)));
        }
        let mut hi = 0.0;
        while !self.affordable(1.0 + f64::exp(hi)) {
            hi -= 1.0;
            if hi <= lo {
                return Ok(1.0 + f64::exp(lo));
            }
        }
        while g(hi)? <= 0.0 {
            if hi + 1.0 > 1e6f64.ln() || !self.affordable(1.0 + (hi + 1.0).exp()) {
                return Ok(1.0 + f64::exp(hi));
            }
            hi += 1.0;
        }
        let v = brent(g, lo, hi, 1e-9, 200)?;
        Ok(1.0 + v.exp())
    }

    /// The refusal for a transform whose quadrature at λ exceeds [`MAX_CALL_NODES`].
    fn budget_error(&self, lambda: f64) -> Error {
        let need = self
            .factors
            .iter()
            .map(|f| f.t.cost(lambda, 0.0).max(f.t.real_cost(lambda)))
            .fold(0.0, f64::max);
        Error::BudgetExceeded {
            what: format!("contour: the transform's quadrature at lambda = {lambda:.6}"),
            needed: format!("{need:.3e} x-nodes per evaluation"),
            budget: format!("{MAX_CALL_NODES:e}"),
        }
    }

    /// ln of the Chernoff bound δ(ε) ≤ min_{λ'} h_max(λ')·M(λ')·e^{−(λ'−1)ε} over
    /// [`CHERNOFF_LAMBDAS`] (the affordable ones), h_max(λ') = ((λ'−1)/λ')^{λ'}/(λ'−1) the
    /// largest value of (e^s − e^ε)₊·e^{−λ's + (λ'−1)ε} (MATH.md §6); M(λ') from
    /// [`Transform::ln_mgf_upper`]. Valid for every ε ≥ 0; +∞ when no λ' is usable.
    fn ln_chernoff(&self, epsilon: f64) -> f64 {
        CHERNOFF_LAMBDAS
            .iter()
            .filter(|&&lp| self.affordable(lp))
            .map(|&lp| {
                let ln_hmax = lp * (-1.0 / lp).ln_1p() - (lp - 1.0).ln();
                let ln_m = self.ln_m_upper(lp);
                let v = ln_m - (lp - 1.0) * epsilon + ln_hmax;
                // Rounding of the three terms: relative 8u of their magnitudes.
                let slack = 8.0
                    * UNIT_ROUNDOFF
                    * (ln_m.abs() + ((lp - 1.0) * epsilon).abs() + ln_hmax.abs());
                if v.is_nan() {
                    f64::INFINITY
                } else {
                    v + slack
                }
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// The saddle-point approximation ln δ ≈ φ(λ) − ½ln(2πφ''(λ)) (for initial guesses only).
    fn ln_delta_saddle(&self, epsilon: f64) -> Result<(f64, f64)> {
        let lam = self.saddle(epsilon)?;
        let (k, _, k2) = self.cgf(lam);
        let phi = k + (1.0 - lam) * epsilon - lam.ln() - (lam - 1.0).ln();
        let phi2 = k2 + 1.0 / (lam * lam) + 1.0 / ((lam - 1.0) * (lam - 1.0));
        Ok((phi - 0.5 * (2.0 * PI * phi2).ln(), lam))
    }

    /// Per-node bound |G(t)| ≤ e^{ln b(t)}.
    fn ln_node_bound(
        &self,
        decays: &[(Decay, f64)],
        coarse: &[Option<Coarse>],
        lambda: f64,
        t: f64,
    ) -> f64 {
        let z = C64::new(lambda, t);
        let lz = (z * (z - 1.0)).norm().ln();
        if let Some((_, n)) = self.lattice {
            let (d, ln_eta) = decays[0];
            if let Decay::Laplace { atom, cont, two_l1 } = d {
                let c = cont / (two_l1 * two_l1 + 4.0 * t * t).sqrt();
                return n.ln()
                    + c.ln()
                    + (n - 1.0) * (atom + c).min(1.0).ln()
                    + n * ln_eta.exp().ln_1p()
                    - lz;
            }
        }
        self.factors
            .iter()
            .zip(decays)
            .zip(coarse)
            .map(|((f, (d, ln_eta)), c)| {
                let b = match c {
                    Some(c) => d.bound(t).min(c.bound(t)),
                    None => d.bound(t),
                };
                f.n * (b.ln() + ln_eta.exp().ln_1p())
            })
            .sum::<f64>()
            - lz
    }

    /// ln of a bound on (h/π)Σ_{t_k > T}|G(t_k)| from the power-law envelope (T' = T − h).
    fn ln_tail(&self, decays: &[(Decay, f64)], t_prime: f64) -> f64 {
        if let Some((_, n)) = self.lattice {
            let (d, ln_eta) = decays[0];
            if let Decay::Laplace { atom, cont, .. } = d {
                // n(1+η)^n (cont/(2t))(atom + cont/(2T'))^{n−1}/t²: ∫ = n(1+η)^n c/2 (..)^{n−1}/(2T'²).
                let k = n.ln()
                    + n * ln_eta.exp().ln_1p()
                    + (n - 1.0) * (atom + cont / (2.0 * t_prime)).min(1.0).ln();
                return k + (0.5 * cont).ln() - 2.0 * t_prime.ln() - (2.0 * PI).ln() + 0.0;
            }
        }
        let mut ln_k = 0.0;
        let mut ln_cp = 0.0;
        let mut p = 0.0;
        for (f, (d, ln_eta)) in self.factors.iter().zip(decays) {
            let (lk, c, pi) = d.envelope(t_prime);
            if pi > 0.0 && c > t_prime {
                return f64::INFINITY;
            }
            ln_k += f.n * (lk + ln_eta.exp().ln_1p());
            if pi > 0.0 {
                ln_cp += f.n * pi * c.ln();
                p += f.n * pi;
            }
        }
        // (1/π)∫_{T'}^∞ K C^P t^{−P−2} dt.
        ln_k + ln_cp - (p + 1.0) * t_prime.ln() - (p + 1.0).ln() - PI.ln()
    }

    /// Evaluate the contour at λ, designed for ε with relative tolerance `tol`.
    fn build(&self, lambda: f64, epsilon: f64, tol: f64) -> Result<Contour> {
        self.build_with(lambda, epsilon, tol, WindowMode::Auto)
    }

    /// The analytic window of a single subsampled-Gaussian factor in the remove ordering with
    /// n < 100 steps: x₀ = L⁻¹(WINDOW_FRAC·ε/n), s = WINDOW_S (None where it does not apply).
    fn window_params(&self, epsilon: f64) -> Option<WindowParams> {
        match self.factors.as_slice() {
            [Factor {
                t: Transform::Subsampled { q, mu, add: false },
                n,
            }] if *n < 100.0 && epsilon > 0.0 => {
                let y = WINDOW_FRAC * epsilon / n;
                let x0 = ((y.exp_m1() + q) / q).ln() / mu + 0.5 * mu;
                x0.is_finite().then_some((*q, *mu, *n, x0, WINDOW_S))
            }
            _ => None,
        }
    }

    /// [`Plan::build`] with a choice of the analytic-window path (tests compare the two).
    fn build_with(&self, lambda: f64, epsilon: f64, tol: f64, mode: WindowMode) -> Result<Contour> {
        if !self.affordable(lambda) {
            return Err(self.budget_error(lambda));
        }
        let u = UNIT_ROUNDOFF;
        let z0 = C64::new(lambda, 0.0);
        let base: Vec<MgfValue> = self.factors.iter().map(|f| f.t.ln_mgf(z0, TAU_X)).collect();
        let norm: f64 = self
            .factors
            .iter()
            .zip(&base)
            .map(|(f, b)| f.n * b.ln.re)
            .sum();
        let norm_abs: f64 = self
            .factors
            .iter()
            .zip(&base)
            .map(|(f, b)| f.n * b.ln.re.abs())
            .sum();
        let (_, _, k2) = self.cgf(lambda);
        // The bump width; for a nearly degenerate tilted law (Laplace far out) fall back to λ.
        let w = if k2 > 0.0 {
            (1.0 / k2.sqrt()).min(1e6 * lambda)
        } else {
            lambda
        };
        let mut s_est = w / ((2.0 * PI).sqrt() * lambda * (lambda - 1.0));
        if let Some((a, n)) = self.lattice {
            let ln_a = norm + (1.0 - lambda) * epsilon;
            let lat = lattice_delta(a, n, epsilon);
            if lat.value > 0.0 {
                s_est += (lat.value.ln() - ln_a).exp();
            }
        }
        let target = tol * s_est / 8.0;

        // Strip candidates.
        let lat_ln2 = if self.lattice.is_some() {
            std::f64::consts::LN_2
        } else {
            0.0
        };
        // An edge whose quadrature exceeds the budget is not evaluated (+∞: the strip is unused);
        // a non-finite majorant counts as +∞ (never as a small one).
        let edge = |lp: f64| -> f64 {
            if !self.affordable(lp) {
                return f64::INFINITY;
            }
            let v = self.ln_m_upper(lp) - norm + lat_ln2 + (PI / (lp - 1.0)).ln() - (2.0 * PI).ln();
            if v.is_nan() {
                f64::INFINITY
            } else {
                v
            }
        };
        let ln_edge0 = edge(lambda);
        let mut strips = Vec::new();
        for f in [0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.85] {
            let a = f * (lambda - 1.0);
            strips.push(Strip {
                side: 1.0,
                a,
                ln_edge: edge(lambda - a),
            });
        }
        let mut ups: Vec<f64> = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
            .iter()
            .map(|m| m * w)
            .collect();
        ups.extend([0.5, 1.0, 2.0].iter().map(|m| m * (lambda - 1.0)));
        for a in ups {
            strips.push(Strip {
                side: -1.0,
                a,
                ln_edge: edge(lambda + a),
            });
        }
        let mut contour = Contour {
            lambda,
            h: w,
            norm,
            norm_abs,
            nodes: Vec::new(),
            trunc: 0.0,
            strips,
            ln_edge0,
            lattice: self.lattice,
            capped: false,
            window: None,
        };
        let mut tries = 0;
        while contour.discretization(epsilon) > target {
            contour.h /= 1.5;
            tries += 1;
            if tries > 80 {
                break;
            }
        }
        let h = contour.h;

        // Truncation: per-node bounds up to T, the envelope beyond.
        let decays: Vec<(Decay, f64)> = self
            .factors
            .iter()
            .zip(&base)
            .map(|(f, b)| (f.t.decay(lambda), b.ln_err - b.ln.re))
            .collect();
        let c_max = self
            .factors
            .iter()
            .zip(&decays)
            .map(|(_, (d, _))| {
                let (_, c, p) = d.envelope(1.0);
                if p > 0.0 {
                    c
                } else {
                    0.0
                }
            })
            .fold(0.0, f64::max);
        let mut t_prime = c_max.max(4.0 * w).max(h);
        let ln_target_tail = (target / 2.0).ln();
        while self.ln_tail(&decays, t_prime) > ln_target_tail && t_prime / h < MAX_SCAN_NODES as f64
        {
            t_prime *= 1.25;
        }
        let t_prime = t_prime.min(MAX_SCAN_NODES as f64 * h);
        let ln_tail = self.ln_tail(&decays, t_prime);
        let k_tail = ((t_prime + h) / h).ceil() as usize;
        let tail = ln_tail.exp();
        let scan_once = |coarse: &[Option<Coarse>]| -> (usize, Vec<f64>) {
            let scan: Vec<f64> = (1..=k_tail)
                .into_par_iter()
                .map(|k| {
                    (h / PI)
                        * self
                            .ln_node_bound(&decays, coarse, lambda, k as f64 * h)
                            .exp()
                })
                .collect();
            // suffix[k] = Σ_{j ≥ k} scan[j−1], k = 1..=k_tail+1.
            let mut suffix = vec![0.0; k_tail + 2];
            for k in (1..=k_tail).rev() {
                suffix[k] = suffix[k + 1] + scan[k - 1];
            }
            let mut k_dir = k_tail;
            for k in 0..=k_tail {
                if suffix[k + 1] + tail <= target {
                    k_dir = k;
                    break;
                }
            }
            (k_dir, suffix)
        };
        let none: Vec<Option<Coarse>> = vec![None; self.factors.len()];
        let (mut k_dir, mut suffix) = scan_once(&none);
        // Where the decay bounds leave a gap (|M| bounded only by 1 between the third-moment and
        // the TV regions), evaluate |M̃| on a coarse grid and bound it in between by the Lipschitz
        // constant E_λ|L|·M(λ); worth it when the coarse grid is much cheaper than the nodes.
        let t_need = k_dir as f64 * h;
        // The Lipschitz slack slope·step/2 may use part of 1 − r*, where r* is the ratio whose
        // n-th power (n = all steps) meets the target: a short composition tolerates a coarser
        // grid (at most 0.2, at least 0.02 as for a long one).
        let n_total: f64 = self.factors.iter().map(|f| f.n).sum();
        let r_star = ((target * 1e-3).ln() / n_total).exp();
        let slack = (0.5 * (1.0 - r_star)).clamp(0.02, 0.2);
        // Direct nodes up to t_need cost about k_dir·cost(t_need/2) (cost is affine in t).
        let direct_cost: f64 = self
            .factors
            .iter()
            .map(|f| (k_dir as f64 + 1.0) * f.t.cost(lambda, 0.5 * t_need))
            .sum();
        let coarse: Vec<Option<Coarse>> = self
            .factors
            .iter()
            .zip(&base)
            .map(|(f, b)| {
                let m_abs = f.t.tilted_abs_mean(lambda)?;
                let step = (slack / m_abs).max(h);
                let count = (t_need / step).ceil() as usize + 1;
                if count * 4 > k_dir || count > 20_000 || f.t.cost(lambda, t_need) > MAX_CALL_NODES
                {
                    return None;
                }
                let coarse_cost: f64 = (0..=count).map(|j| f.t.cost(lambda, j as f64 * step)).sum();
                if coarse_cost * 4.0 > direct_cost {
                    return None;
                }
                // Upper bounds only (the propagated-phase and block-sum errors are in ln_err):
                // the cheapest evaluation, whatever the tolerance.
                let ratios: Vec<f64> = eval_grid(&f.t, lambda, step, count, 63, SUM_BLOCK)
                    .iter()
                    .map(|v| {
                        ((v.ln.re - b.ln.re).exp() + (v.ln_err - b.ln.re).exp()) * (1.0 + 1e-12)
                    })
                    .collect();
                Some(Coarse {
                    step,
                    slope: m_abs * (1.0 + (b.ln_err - b.ln.re).exp()),
                    ratios,
                })
            })
            .collect();
        if coarse.iter().any(|c| c.is_some()) {
            let (k2, s2) = scan_once(&coarse);
            if k2 < k_dir {
                k_dir = k2;
                suffix = s2;
            }
        }
        // Cap the work (x-nodes summed over the t-nodes); beyond the cap the bracket widens.
        let max_work = if n_total < 100.0 {
            MAX_WORK_SHORT
        } else {
            MAX_WORK
        };
        let mut work = 0.0;
        let mut k_cap = k_dir.min(MAX_DIRECT_NODES);
        for k in 0..=k_cap {
            let t = k as f64 * h;
            let costs = self.factors.iter().map(|f| f.t.cost(lambda, t));
            let call = costs.clone().fold(0.0, f64::max);
            work += costs.sum::<f64>();
            if call > MAX_CALL_NODES {
                k_cap = k.saturating_sub(1);
                break;
            }
            if work > max_work {
                k_cap = k;
                break;
            }
        }
        contour.capped = k_cap < k_dir;
        let try_window = match mode {
            WindowMode::Auto => contour.capped,
            WindowMode::Force => true,
            WindowMode::Never => false,
        };
        if try_window {
            if let Some(wp) = self.window_params(epsilon) {
                let budget = if mode == WindowMode::Force {
                    f64::INFINITY
                } else {
                    max_work
                };
                if let Some(c) =
                    self.build_window(contour.clone(), lambda, &base[0], target, tol, wp, budget)
                {
                    return Ok(c);
                }
            }
        }
        let k_dir = k_cap;
        contour.trunc = (suffix[(k_dir + 1).min(k_tail + 1)] + tail) * (1.0 + 1e-12);

        // Direct nodes.
        let lattice_atoms = self.lattice.is_some();
        let rot = rotations(tol, n_total);
        let block = if rot > 0 {
            summation_block(tol, n_total)
        } else {
            0
        };
        let values: Vec<Vec<MgfValue>> = self
            .factors
            .iter()
            .map(|f| eval_grid(&f.t, lambda, h, k_dir, rot, block))
            .collect();
        let node_values: Vec<Vec<MgfValue>> = (0..=k_dir)
            .map(|k| values.iter().map(|v| v[k]).collect())
            .collect();
        let nodes: Vec<Node> = (0..=k_dir)
            .into_par_iter()
            .map(|k| {
                let t = k as f64 * h;
                let z = C64::new(lambda, t);
                let zz = z * (z - 1.0);
                let zabs = zz.norm();
                let mut ln_sum = C64::new(0.0, 0.0);
                let mut ln_r = 0.0;
                let mut ln_up = 0.0;
                let mut mag = 0.0;
                let mut ln_sum_a = C64::new(0.0, 0.0);
                let (mut ln_ra, mut ln_upa, mut mag_a) = (0.0, 0.0, 0.0);
                for ((f, b), &v) in self.factors.iter().zip(&base).zip(&node_values[k]) {
                    let d = v.ln - b.ln.re;
                    ln_sum += d * f.n;
                    ln_r += f.n * d.re;
                    ln_up += f.n * logsumexp(&[d.re, v.ln_err - b.ln.re]);
                    mag += f.n * (v.ln.norm() + b.ln.re.abs());
                    if lattice_atoms {
                        if let Some(av) = f.t.ln_atoms(z) {
                            let da = av.ln - b.ln.re;
                            ln_sum_a += da * f.n;
                            ln_ra += f.n * da.re;
                            ln_upa += f.n * logsumexp(&[da.re, av.ln_err - b.ln.re]);
                            mag_a += f.n * (av.ln.norm() + b.ln.re.abs());
                        }
                    }
                }
                let cm = ln_sum.exp() / zz;
                let err_m = power_error(ln_r, ln_up) / zabs;
                let round_m = cm.norm() * u * (8.0 + 4.0 * mag);
                if lattice_atoms {
                    let ca = ln_sum_a.exp() / zz;
                    let err_a = power_error(ln_ra, ln_upa) / zabs;
                    let round_a = ca.norm() * u * (8.0 + 4.0 * mag_a);
                    let c = cm - ca;
                    Node {
                        t,
                        c,
                        err: err_m + round_m + err_a + round_a + 2.0 * u * (cm.norm() + ca.norm()),
                        mag: cm.norm() + ca.norm(),
                    }
                } else {
                    Node {
                        t,
                        c: cm,
                        err: err_m + round_m,
                        mag: cm.norm(),
                    }
                }
            })
            .collect();
        contour.nodes = nodes;
        Ok(contour)
    }
}

impl Plan {
    /// The analytic-window contour (module docs): nodes of Mⁿ − M_wⁿ up to the T where the
    /// shifted-contour tail bound meets half the target, and the λ' table for the bound on R.
    /// None where that T needs more than `max_work` x-nodes (both transforms) or more than
    /// [`MAX_WINDOW_NODES`] t-nodes: the window does not pay there (the plain path is used).
    #[allow(clippy::too_many_arguments)]
    fn build_window(
        &self,
        mut contour: Contour,
        lambda: f64,
        base: &MgfValue,
        target: f64,
        tol: f64,
        (q, mu, n, x0, s): WindowParams,
        max_work: f64,
    ) -> Option<Contour> {
        let u = UNIT_ROUNDOFF;
        let h = contour.h;
        let f = self.factors[0];
        // (1/π)·n·(1+η)^{n−1}·B(T)/(M̃(λ)·T), η the relative error of M̃(λ).
        let eta = (base.ln_err - base.ln.re).exp();
        let ln_pre = n.ln() + (n - 1.0) * eta.ln_1p() - base.ln.re - PI.ln();
        let tail = |t: f64| (ln_pre + ln_window_tail_bound(q, mu, lambda, x0, s, t) - t.ln()).exp();
        let mut work = 0.0;
        let mut k_max = MAX_WINDOW_NODES;
        for k in 0..=MAX_WINDOW_NODES {
            let call = 2.0 * f.t.cost(lambda, k as f64 * h);
            work += call;
            if call > MAX_CALL_NODES {
                k_max = k.saturating_sub(1);
                break;
            }
            if work > max_work {
                k_max = k;
                break;
            }
        }
        let t_max = k_max as f64 * h;
        if t_max <= 0.0 || tail(t_max) > 0.5 * target {
            return None;
        }
        let mut t_end = (64.0 * h).max(50.0).min(t_max);
        while tail(t_end) > 0.5 * target && t_end < t_max {
            t_end = (1.25 * t_end).min(t_max);
        }
        let k_dir = (t_end / h).ceil() as usize;
        let tl = tail(k_dir as f64 * h);
        contour.capped = false;
        contour.trunc = tl * (1.0 + 1e-12);
        let rot = rotations(tol, n);
        let block = if rot > 0 { summation_block(tol, n) } else { 0 };
        let vm = eval_grid(&f.t, lambda, h, k_dir, rot, block);
        let vw = eval_grid_with(h, k_dir, |ts| {
            subsampled_mgf_windowed(q, mu, lambda, ts, TAU_X, rot, block, Some((x0, s)))
        });
        let b = base.ln.re;
        contour.nodes = (0..=k_dir)
            .into_par_iter()
            .map(|k| {
                let t = k as f64 * h;
                let z = C64::new(lambda, t);
                let zz = z * (z - 1.0);
                let zabs = zz.norm();
                let part = |v: &MgfValue| {
                    let d = v.ln - b;
                    let c = (d * n).exp() / zz;
                    let err = power_error(n * d.re, n * logsumexp(&[d.re, v.ln_err - b])) / zabs;
                    let round = c.norm() * u * (8.0 + 4.0 * n * (v.ln.norm() + b.abs()));
                    (c, err + round)
                };
                let (cm, em) = part(&vm[k]);
                let (cw, ew) = part(&vw[k]);
                Node {
                    t,
                    c: cm - cw,
                    err: em + ew + 2.0 * u * (cm.norm() + cw.norm()),
                    mag: cm.norm() + cw.norm(),
                }
            })
            .collect();
        // Upper bounds on ln M_w(λ') (value plus its certified error, and a margin for the sum).
        let table: Vec<(f64, f64)> = WINDOW_R_LAMBDAS
            .iter()
            .filter(|&&lp| 2.0 * f.t.cost(lp, 0.0) <= MAX_CALL_NODES)
            .map(|&lp| {
                let v = subsampled_mgf_windowed(q, mu, lp, &[0.0], TAU_X, 0, 0, Some((x0, s)))[0];
                (lp, logsumexp(&[v.ln.re, v.ln_err]) + 1e-12)
            })
            .collect();
        contour.window = Some((n, table));
        Some(contour)
    }
}

/// Phase propagations per sin/cos in the node transforms: each adds ≤ 5u relative to M(λ) per
/// step, which the n-th power multiplies by n; keep R·5u·n below 1% of the tolerance (≤ 63: a
/// run of 64 nodes needs one sin/cos seed per x-node).
fn rotations(tol: f64, n_total: f64) -> usize {
    let r = (1e-2 * tol / (5.0 * UNIT_ROUNDOFF * n_total)).floor();
    r.clamp(0.0, 63.0) as usize
}

/// Run length B of the plain partial sums in the node transforms (0: compensate every term): the
/// summation bound grows from 3u to √2(B + 2)u relative to M(λ) per step, multiplied by n in the
/// n-th power; use B = 32 only where √2·34u·n stays below 1% of the tolerance.
fn summation_block(tol: f64, n_total: f64) -> usize {
    let b = SUM_BLOCK as f64;
    if std::f64::consts::SQRT_2 * (b + 2.0) * UNIT_ROUNDOFF * n_total <= 1e-2 * tol {
        SUM_BLOCK
    } else {
        0
    }
}

/// M̃ at λ + i·k·step for k = 0..=k_max, in parallel blocks of consecutive nodes that share one
/// x-grid (the step of the block's largest t): at most 128 nodes, and the last t at most 1.25×
/// the first (or ≤ 5, where the x-step hardly depends on t) so that little work is wasted.
fn eval_grid(
    t: &Transform,
    lambda: f64,
    step: f64,
    k_max: usize,
    rot: usize,
    block: usize,
) -> Vec<MgfValue> {
    eval_grid_with(step, k_max, |ts| {
        t.ln_mgf_batch(lambda, ts, TAU_X, rot, block)
    })
}

/// [`eval_grid`] with any batch evaluator (the t-values of one block in, their values out).
fn eval_grid_with<F>(step: f64, k_max: usize, eval: F) -> Vec<MgfValue>
where
    F: Fn(&[f64]) -> Vec<MgfValue> + Sync,
{
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut k0 = 0;
    while k0 <= k_max {
        let t0 = (k0 as f64 * step).max(4.0);
        let mut k1 = k0;
        while k1 < k_max && k1 - k0 < 127 && ((k1 + 1) as f64 * step) <= 1.25 * t0 {
            k1 += 1;
        }
        blocks.push((k0, k1));
        k0 = k1 + 1;
    }
    let values: Vec<Vec<MgfValue>> = blocks
        .par_iter()
        .map(|&(k0, k1)| {
            let ts: Vec<f64> = (k0..=k1).map(|k| k as f64 * step).collect();
            eval(&ts)
        })
        .collect();
    values.into_iter().flatten().collect()
}

/// ln(e^x − 1) for x > 0 without overflow (e^x − 1 overflows past x ≈ 709.8; ln of that
/// infinity once turned a huge strip majorant into a zero discretisation bound).
fn ln_expm1(x: f64) -> f64 {
    if x > 30.0 {
        x + (-(-x).exp()).ln_1p()
    } else {
        x.exp_m1().ln()
    }
}

/// Π(r + η)^n − Π r^n given ln Π r^n and ln Π (r+η)^n.
fn power_error(ln_r: f64, ln_up: f64) -> f64 {
    if ln_r == f64::NEG_INFINITY {
        return ln_up.exp();
    }
    ln_r.exp() * (ln_up - ln_r).exp_m1() * (1.0 + 8.0 * UNIT_ROUNDOFF)
}

impl Contour {
    /// The t-trapezoid's discretisation bound at ε (units of S).
    fn discretization(&self, epsilon: f64) -> f64 {
        if !self.ln_edge0.is_finite() {
            return f64::INFINITY;
        }
        let mut best = [f64::INFINITY, f64::INFINITY];
        for s in &self.strips {
            let ln_m = (s.ln_edge + s.side * s.a * epsilon).max(self.ln_edge0);
            let q = 2.0 * PI * s.a / self.h;
            let v = (ln_m - ln_expm1(q)).exp();
            let i = if s.side > 0.0 { 0 } else { 1 };
            best[i] = best[i].min(v);
        }
        best[0] + best[1]
    }

    /// Diagnostics.
    fn info(&self) -> ContourInfo {
        ContourInfo {
            lambda: self.lambda,
            step: self.h,
            nodes: self.nodes.len(),
            truncation: self.trunc,
            lattice: self.lattice.is_some(),
            capped: self.capped,
            window: self.window.is_some(),
        }
    }

    /// Certified bounds on δ(ε) (valid for any ε ≥ 0; tight near the design ε).
    fn bounds(&self, epsilon: f64) -> Enclosure {
        let u = UNIT_ROUNDOFF;
        let (mut s_re, mut s_c) = (0.0f64, 0.0f64);
        let mut abs = 0.0;
        let mut err = 0.0;
        for (k, node) in self.nodes.iter().enumerate() {
            let wgt = if k == 0 { 1.0 } else { 2.0 };
            let te = node.t * epsilon;
            let (sn, cs) = te.sin_cos();
            // Re(c·e^{−itε}) = c.re cos + c.im sin.
            let v = wgt * (node.c.re * cs + node.c.im * sn);
            let tsum = s_re + v;
            if s_re.abs() >= v.abs() {
                s_c += (s_re - tsum) + v;
            } else {
                s_c += (v - tsum) + s_re;
            }
            s_re = tsum;
            abs += wgt * node.mag;
            err += wgt * (node.err + 3.0 * u * (te.abs() + 1.0) * node.mag);
        }
        let n = self.nodes.len() as f64;
        let f = self.h / (2.0 * PI);
        let s = f * (s_re + s_c);
        let e = f * (err + 3.0 * u * abs * (1.0 + n * u))
            + 4.0 * u * s.abs()
            + self.trunc
            + self.discretization(epsilon);
        let ln_a = self.norm + (1.0 - self.lambda) * epsilon;
        let ln_a_err = 4.0
            * u
            * (self.norm_abs + self.norm.abs() + ((1.0 - self.lambda) * epsilon).abs() + 1.0);
        let up_s = s + e;
        let lo_s = s - e;
        if !(s.is_finite() && e.is_finite() && ln_a.is_finite() && ln_a_err.is_finite()) {
            // An overflowed or undefined term certifies nothing: the trivial bracket (never a
            // NaN read as 0).
            return Enclosure {
                lower: 0.0,
                value: f64::NAN,
                upper: 1.0,
            };
        }
        let mut out = Enclosure {
            lower: if lo_s > 0.0 {
                (ln_a - ln_a_err + lo_s.ln()).exp() * (1.0 - 4.0 * u)
            } else {
                0.0
            },
            value: if s > 0.0 { (ln_a + s.ln()).exp() } else { 0.0 },
            // exp underflows to 0 only below e^{−745}: the smallest subnormal is then still above.
            upper: if up_s > 0.0 {
                ((ln_a + ln_a_err + up_s.ln()).exp() * (1.0 + 4.0 * u)).max(f64::from_bits(1))
            } else {
                0.0
            },
        };
        if let Some((a, nn)) = self.lattice {
            let lat = lattice_delta(a, nn, epsilon);
            out.lower += lat.lower;
            out.value += lat.value;
            out.upper += lat.upper;
            out.lower *= 1.0 - 2.0 * u;
            out.upper *= 1.0 + 2.0 * u;
        }
        if let Some((n, table)) = &self.window {
            // R ≤ min_{λ'} e^{−(λ'−1)ε}·h_max(λ')·M_w(λ')ⁿ, h_max = ((λ'−1)/λ')^{λ'}/(λ'−1); δ_up only.
            let ln_r = table
                .iter()
                .map(|&(lp, ln_mw)| {
                    let ln_hmax = lp * ((lp - 1.0) / lp).ln() - (lp - 1.0).ln();
                    -(lp - 1.0) * epsilon + ln_hmax + n * ln_mw
                })
                .fold(f64::INFINITY, f64::min);
            out.upper += ln_r.exp() * (1.0 + 1e-9);
        }
        out.upper = out.upper.min(1.0);
        out.lower = out.lower.max(0.0);
        out
    }
}

/// The lattice part of an n-fold Laplace composition (a = 1/b): the atoms-only measure gives
/// Σ_{j} C(n,j) 2^{−n} e^{−ja} (e^{(2j−n)a} − e^ε)_+, summed in log space; the relative rounding
/// error of ln C(n,j) (lgamma), the products and the sum is below 64u(10 + n(ln 2 + a) + ε +
/// ln C(n,j)) — applied outward.
fn lattice_delta(a: f64, n: f64, epsilon: f64) -> Enclosure {
    let nn = n as u64;
    let mut terms = Vec::new();
    let mut worst: f64 = 0.0;
    for j in 0..=nn {
        let s = (2.0 * j as f64 - n) * a;
        if s <= epsilon {
            continue;
        }
        let lc = statrs::function::factorial::ln_binomial(nn, j);
        let lt =
            lc - n * std::f64::consts::LN_2 - j as f64 * a + s + (-(epsilon - s).exp_m1()).ln();
        worst = worst.max(lc.abs() + (j as f64 * a).abs() + s.abs());
        terms.push(lt);
    }
    if terms.is_empty() {
        return Enclosure {
            lower: 0.0,
            value: 0.0,
            upper: 0.0,
        };
    }
    let v = logsumexp(&terms);
    let rel = 64.0 * UNIT_ROUNDOFF * (10.0 + n * (std::f64::consts::LN_2 + a) + epsilon + worst);
    Enclosure {
        lower: (v - rel).exp(),
        value: v.exp(),
        upper: (v + rel).exp(),
    }
}

/// The contour-inversion accountant: certified δ_low ≤ δ ≤ δ_up and ε brackets from the exact
/// inversion integral along the saddle-point contour (module docs).
///
/// # Guarantee
/// A **bracket**: `lower` and `upper` are certified (every error term bounded and added in the
/// safe direction, under the rounding model of [`crate::special::complex_quadrature`]); `value`
/// is the midpoint (ε) or the trapezoid value (δ). The requested `tolerance` sets the width
/// (relative, on δ) unless rounding (≈ n·1e−13 relative) or the node caps prevent it; the report's
/// notes give the width achieved. Cost does not grow with the number of steps.
///
/// # Refusals
/// Where it cannot certify a useful bracket the call returns an error instead of a number
/// ([`Error::NotCertified`], [`Error::BudgetExceeded`]): an error term of the inversion that is
/// not finite (overflow at extreme σ), a quadrature that would need more than
/// [`MAX_CALL_NODES`] nodes per evaluation, a bracket capped by the work limit that is wider than
/// [`ContourAccountant::capped_width_limit`], and ε above [`super::invert::EPSILON_MAX`] (= 10⁴).
/// δ(ε) = 0 exactly for ε at or above the largest loss (Laplace; the add ordering of the
/// subsampled Gaussian, n·ln(1/(1 − q))), and ε = 0 exactly where the Chernoff bound already
/// gives δ(0) ≤ δ.
///
/// # Examples
/// ```
/// use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
/// use ewtune::edgeworth::gaussian_delta;
/// use ewtune::event::Composition;
/// use ewtune::mechanism::{Adjacency, Gaussian, Mechanism};
///
/// // Four Gaussian steps with σ = 2 compose to μ = 1: δ(1) has a closed form.
/// let mut composition = Composition::default();
/// composition.push(Mechanism::Gaussian(Gaussian::new(2.0)?), 4);
/// let acc = ContourAccountant::with_composition(
///     ContourParams { adjacency: Adjacency::AddRemove, tolerance: 1e-10 },
///     composition,
/// )?;
/// let r = acc.delta(1.0)?;
/// let exact = gaussian_delta(1.0, 1.0); // 0.12693673751
/// let (lo, up) = (r.lower.unwrap(), r.upper.unwrap());
/// assert!(lo <= exact && exact <= up && up - lo <= 1e-9 * exact);
/// # Ok::<(), ewtune::Error>(())
/// ```
///
/// # References
/// MATH.md §6.
#[derive(Debug, Clone)]
pub struct ContourAccountant {
    params: ContourParams,
    composition: Composition,
}

impl ContourAccountant {
    /// An accountant with nothing composed.
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
        crate::error::Range::open(0.0, 1.0).check("tolerance", params.tolerance)?;
        Ok(ContourAccountant {
            params,
            composition,
        })
    }

    /// The relative width above which a bracket whose node count was capped by the work limit
    /// is refused rather than returned: max(10·tolerance, 10⁻³). Narrower capped brackets are
    /// returned with a note saying the cap was hit.
    pub fn capped_width_limit(&self) -> f64 {
        (10.0 * self.params.tolerance).max(1e-3)
    }

    /// Certified bounds on δ(ε) of one ordering, with the contour's diagnostics (None where
    /// no contour was needed: δ exactly 0, or a single step's closed form).
    ///
    /// # Errors
    /// Bad ε; a refusal (type docs).
    pub fn delta_bounds(
        &self,
        direction: Direction,
        epsilon: f64,
    ) -> Result<(Bracket, Option<ContourInfo>)> {
        check_epsilon(epsilon)?;
        let (b, info) = self.delta_enclosure(direction, epsilon)?;
        Ok((b.bracket(), info))
    }

    /// Certified bounds on ε(δ) of one ordering (`value` the midpoint).
    ///
    /// # Errors
    /// Bad δ; a refusal (type docs).
    pub fn epsilon_bounds(
        &self,
        direction: Direction,
        delta: f64,
    ) -> Result<(Bracket, Option<ContourInfo>)> {
        check_delta(delta)?;
        let (b, info) = self.epsilon_enclosure(direction, delta)?;
        Ok((b.bracket(), info))
    }

    fn delta_enclosure(
        &self,
        direction: Direction,
        epsilon: f64,
    ) -> Result<(Enclosure, Option<ContourInfo>)> {
        let plan = Plan::new(&self.composition, direction);
        if plan.factors.is_empty() {
            return Ok((Enclosure::ZERO, None));
        }
        if let Some(m) = plan.loss_max {
            if epsilon >= m {
                return Ok((Enclosure::ZERO, None));
            }
        }
        if let Some(b) = plan.single_step(epsilon) {
            return Ok((b, None));
        }
        plan.check_domain()?;
        let lambda = plan.saddle(epsilon)?;
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
        if info.capped && b.upper - b.lower > self.capped_width_limit() * b.upper {
            return Err(Error::NotCertified(format!(
                "contour: the node count at lambda = {lambda:.6} is capped by the work limit and the \
                 certified bracket on delta({epsilon:e}), [{:e}, {:e}], is wider than {:e} relative",
                b.lower,
                b.upper,
                self.capped_width_limit()
            )));
        }
        Ok((b, Some(info)))
    }

    fn epsilon_enclosure(
        &self,
        direction: Direction,
        delta: f64,
    ) -> Result<(Enclosure, Option<ContourInfo>)> {
        let plan = Plan::new(&self.composition, direction);
        if plan.factors.is_empty() || plan.ln_chernoff(0.0) <= delta.ln() {
            // δ(0) ≤ δ: ε = 0 exactly.
            return Ok((Enclosure::ZERO, None));
        }
        if plan.single_step(0.0).is_some() {
            return single_step_epsilon(&plan, delta).map(|b| (b, None));
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
        let mut last = None;
        for _round in 0..4 {
            let lambda = plan.saddle(design)?;
            let c = plan.build(lambda, design, tol)?;
            let (b, stop) = invert_contour(&c, delta, design, tol)?;
            last = Some((b, c.info()));
            if stop {
                break;
            }
            design = b.value;
        }
        let (b, info) = last.expect("invariant: at least one round ran");
        if b.upper > EPSILON_MAX {
            return Err(Error::NotCertified(format!(
                "contour: the certified bracket on epsilon is [{:e}, {:e}], reaching above \
                 {EPSILON_MAX:e}, the largest epsilon this accountant answers",
                b.lower, b.upper
            )));
        }
        let width = (b.upper - b.lower) / b.value.max(1e-300);
        if info.capped && width > self.capped_width_limit() {
            return Err(Error::NotCertified(format!(
                "contour: the node count at lambda = {:.6} is capped by the work limit and the \
                 certified bracket on epsilon, [{:e}, {:e}], is {width:.2e} wide relative (more \
                 than {:e})",
                info.lambda,
                b.lower,
                b.upper,
                self.capped_width_limit()
            )));
        }
        Ok((b, Some(info)))
    }
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
fn invert_contour(c: &Contour, delta: f64, design: f64, tol: f64) -> Result<(Enclosure, bool)> {
    let up = |e: f64| c.bounds(e).upper;
    let low = |e: f64| c.bounds(e).lower;
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
    let (_, eps_up) = bisect_bracket(|e| Ok(up(e) <= delta), lo, hi, xtol, 200)?;
    let eps_low = if lower_zero {
        0.0
    } else {
        bisect_bracket(|e| Ok(low(e) <= delta), lo, hi, xtol, 200)?.0
    };
    let mid = 0.5 * (eps_low + eps_up);
    let b = Enclosure {
        lower: eps_low,
        value: mid,
        upper: eps_up,
    };
    // Redesign when the answer is far from the design point (the bounds widen off-saddle).
    let width = (eps_up - eps_low) / mid.max(1e-300);
    let stop = (mid - design).abs() <= 1e-3 * (1.0 + design)
        || width <= 10.0 * tol
        || lower_zero
        || c.capped;
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
                ", Laplace lattice part summed exactly"
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

impl OrderingAccountant for ContourAccountant {
    fn name(&self) -> &'static str {
        "contour"
    }

    fn adjacency(&self) -> Adjacency {
        self.params.adjacency
    }

    fn composition(&self) -> &Composition {
        &self.composition
    }

    fn absorb(&mut self, added: Composition) -> Result<()> {
        self.composition.merge(added);
        Ok(())
    }

    fn guarantee(&self, _query: Query) -> Guarantee {
        Guarantee::Bracket
    }

    fn delta_for(&self, direction: Direction, epsilon: f64) -> Result<OrderingAnswer> {
        let (b, info) = self.delta_enclosure(direction, epsilon)?;
        Ok(answer_with_note(b, direction, &info))
    }

    fn epsilon_for(&self, direction: Direction, delta: f64) -> Result<OrderingAnswer> {
        let (b, info) = self.epsilon_enclosure(direction, delta)?;
        Ok(answer_with_note(b, direction, &info))
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
        if value > 0.0 {
            report
                .notes
                .push(format!("relative bracket width {:.3e}", (up - lo) / value));
        }
        report.set_value(value.clamp(lo, up));
        Ok(())
    }
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

    /// The analytic-window path against the plain path where both work (q = 0.004, σ = 0.8,
    /// 10 steps, remove, tolerance 1e−9; the plain contour is not capped there): the brackets
    /// overlap and the window's is at most as wide (plus 1e−3 relative slack for the different
    /// truncation); R's bound enters δ_up only.
    #[test]
    fn window_path_agrees_with_the_plain_path() {
        let (plan, eps) = (remove_plan(0.8, 0.004, 10), 0.3);
        let lam = plan.saddle(eps).expect("test setup");
        let plain = plan
            .build_with(lam, eps, 1e-9, WindowMode::Never)
            .expect("test setup");
        assert!(plain.window.is_none() && !plain.capped);
        let win = plan
            .build_with(lam, eps, 1e-9, WindowMode::Force)
            .expect("test setup");
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
        let (n, table) = win.window.clone().expect("window path");
        let e = 1e-3;
        let r = table
            .iter()
            .map(|&(lp, ln_mw)| {
                -(lp - 1.0) * e + lp * ((lp - 1.0) / lp).ln() - (lp - 1.0).ln() + n * ln_mw
            })
            .fold(f64::INFINITY, f64::min)
            .exp();
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
        let lam = plan.saddle(eps).expect("test setup");
        let plain = plan
            .build_with(lam, eps, 1e-9, WindowMode::Never)
            .expect("test setup");
        assert!(plain.capped && plain.window.is_none());
        let win = plan
            .build_with(lam, eps, 1e-9, WindowMode::Auto)
            .expect("test setup");
        assert!(win.window.is_some() && !win.capped);
        let (p, w) = (plain.bounds(eps), win.bounds(eps));
        assert!(p.lower <= w.upper && w.lower <= p.upper, "{p:?} {w:?}");
        assert!(
            (w.upper - w.lower) * 1e3 <= p.upper - p.lower,
            "{p:?} {w:?}"
        );
        eprintln!("plain {p:?}\nwindow {w:?}");
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
                .delta_enclosure(Direction::Remove, eps)
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
