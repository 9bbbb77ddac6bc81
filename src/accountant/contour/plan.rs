//! The plan of one ordering's contour: the composed transform, the saddle point, the step,
//! the truncation and the direct nodes (module docs of [`super`]).

use super::node_sums::NodeSums;
use super::*;

/// Target relative accuracy of each M̃ quadrature (below the rounding floor, so the step is set
/// by rounding-level accuracy).
pub(super) const TAU_X: f64 = 1e-17;
/// Largest number of t-nodes evaluated directly.
/// The coarse grids' phase-sum scheme (upper bounds only, whose propagated-phase and block-sum
/// errors are in each value's error term): the cheapest, whatever the tolerance.
const LOOSE: SumScheme = SumScheme {
    rotations: 63,
    block: SUM_BLOCK,
};
pub(super) const MAX_DIRECT_NODES: usize = 400_000;
/// Largest number of t-nodes bounded one by one.
pub(super) const MAX_SCAN_NODES: usize = 4_000_000;
/// Largest number of x-nodes (summed over the t-nodes) one contour may evaluate (~0.3 s with the
/// batched transforms, which share L(x_j) and propagate phases across nearby t-nodes).
pub(super) const MAX_WORK: f64 = 6e7;
/// The work cap for compositions of fewer than 100 steps (outside the cost target of 10²…10⁷
/// steps; up to ~1.6 s per ordering): at small q·n the tilted law is nearly a spike and the
/// integrand decays slowly (the ten-step DP-SGD rows at q = 0.004, and at q = 0.001 with
/// σ = 0.8, need it for a bracket 1000× narrower than PRV's).
pub(super) const MAX_WORK_SHORT: f64 = 1.2e9;
/// The work a composition of 100 steps or more may spend to complete a contour that
/// [`MAX_WORK`] would cap (~5 s per ordering on 2 cores), taken only where the whole node
/// range fits:
/// at q ≈ 10⁻⁴ one step's tilted law is a spike of width ~q whose n-fold composition decays only
/// at t ≈ 1/(q√n), and capping that contour leaves a bracket wider than the limit (a refusal).
/// A contour that would stay capped even so is capped at [`MAX_WORK`], as before.
pub(super) const MAX_WORK_COMPLETE: f64 = 6e8;
/// Most x-nodes one transform evaluation (one quadrature call) may use: each costs ~32 bytes
/// per thread, so a call stays below ~130 MB. Real parts λ (and strip edges, R-table points)
/// whose quadrature would need more are not evaluated (the budget is checked before allocating).
pub(super) const MAX_CALL_NODES: f64 = 4e6;
/// A contour at the saddle point whose scan needs more t-nodes than this tries real parts
/// below it ([`Plan::cheaper_lambda`]).
pub(super) const MOVE_MIN_NODES: usize = 2000;
/// The candidates of [`Plan::cheaper_lambda`]: λ = 1 + (λ* − 1)·f.
pub(super) const MOVE_FACTORS: [f64; 3] = [0.7, 0.55, 0.4];
/// The least S (relative to the saddle point's) a candidate of [`Plan::cheaper_lambda`] may have.
pub(super) const MOVE_MIN_S: f64 = 0.2;
/// Tilts λ ∈ (0, 1) of the complement bound ([`Plan::ln_complement`]).
pub(super) const COMPLEMENT_LAMBDAS: [f64; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// A lower bound on δ from c ≥ ln(1 − δ) ([`Plan::ln_complement`]): 1 − e^c rounded down (by
/// 4u relative on top of expm1's error of at most 2u), 0 where c ≥ 0 or c is NaN.
pub(super) fn lower_from_complement(c: f64) -> f64 {
    if c.is_nan() || c >= 0.0 {
        return 0.0;
    }
    (-c.exp_m1() * (1.0 - 4.0 * UNIT_ROUNDOFF)).max(0.0)
}

/// The real parts λ' of the Chernoff bound δ(ε) ≤ h_max(λ')·M(λ')·e^{−(λ'−1)ε} ([`Plan::ln_chernoff`]).
pub(super) const CHERNOFF_LAMBDAS: [f64; 16] = [
    1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 1e3, 1e4, 1e6, 1e9, 1e12, 1e15, 1e18,
];
/// Largest n for which a homogeneous Laplace composition's lattice part is summed exactly.
pub(super) const MAX_LATTICE_N: f64 = 1e5;

/// The composed CGF and its first two derivatives at one real λ (f64 estimates).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CgfTotals {
    /// Σ n_i K_i(λ).
    pub(super) k: f64,
    /// Σ n_i K_i'(λ), the tilted mean.
    pub(super) mean: f64,
    /// Σ n_i K_i''(λ), the tilted variance.
    pub(super) var: f64,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Factor {
    pub(super) t: Transform,
    pub(super) n: f64,
}

/// The composed transform of one ordering.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) factors: Vec<Factor>,
    /// Homogeneous Laplace composition (lattice part summed exactly).
    pub(super) lattice: Option<Lattice>,
    /// Σ n_i·max L_i when every PLLR is bounded above (δ(ε) = 0 beyond it).
    pub(super) loss_max: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Node {
    pub(super) t: f64,
    pub(super) c: C64,
    pub(super) err: f64,
    pub(super) mag: f64,
}

/// |M(λ+it)|/M̃(λ) on a coarse grid t_j = j·step (upper bounds), with the Lipschitz slope
/// E_λ|L|·M(λ)/M̃(λ) for the points in between; beyond the fine grid, a grid 4× sparser
/// (`far`, from t = (ratios.len() − 1)·step on) where the ratios are small enough that its
/// larger Lipschitz slack still meets r* ([`Plan::coarse_grids`], docs/math.md §10.9.1).
#[derive(Debug, Clone)]
pub(super) struct Coarse {
    step: f64,
    slope: f64,
    ratios: Vec<f64>,
    /// Step of the far grid (4·step).
    far_step: f64,
    /// The far grid's ratios, `far[0]` at t = (ratios.len() − 1)·step (empty: none).
    pub(super) far: Vec<f64>,
}

impl Coarse {
    /// The largest t the grids cover: beyond it [`Coarse::bound`] is 1.
    pub(super) fn end(&self) -> f64 {
        let t_far = (self.ratios.len() as f64 - 1.0) * self.step;
        if self.far.is_empty() {
            t_far
        } else {
            t_far + (self.far.len() as f64 - 1.0) * self.far_step
        }
    }

    pub(super) fn bound(&self, t: f64) -> f64 {
        let t_far = (self.ratios.len() as f64 - 1.0) * self.step;
        if t >= t_far && !self.far.is_empty() {
            return lipschitz(&self.far, self.far_step, self.slope, t - t_far);
        }
        lipschitz(&self.ratios, self.step, self.slope, t)
    }
}

/// The Lipschitz bound between the grid values r_j at t_j = j·step (1 outside the grid).
fn lipschitz(ratios: &[f64], step: f64, slope: f64, t: f64) -> f64 {
    let x = t / step;
    let j = x.floor();
    if j < 0.0 || (j as usize) + 1 >= ratios.len() {
        return 1.0;
    }
    let j = j as usize;
    let dl = t - j as f64 * step;
    let dr = (j + 1) as f64 * step - t;
    (ratios[j] + dl.max(0.0) * slope).min(ratios[j + 1] + dr.max(0.0) * slope)
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Strip {
    /// +1: toward the pole (Re z = λ − a), −1: away (Re z = λ + a).
    pub(super) side: f64,
    pub(super) a: f64,
    /// ln of the edge majorant without the e^{±aε} factor, in units of S.
    pub(super) ln_edge: f64,
}

/// The transforms at the real point λ (t = 0), the normaliser of every node.
#[derive(Debug, Clone)]
pub(super) struct Base {
    /// ln M̃_i(λ) with its error, per factor.
    pub(super) values: Vec<MgfValue>,
    /// Σ n_i·ln M̃_i(λ).
    pub(super) norm: f64,
    /// Σ n_i·|ln M̃_i(λ)|.
    pub(super) norm_abs: f64,
}

/// The truncation set-up of [`Plan::truncation`].
#[derive(Debug, Clone)]
pub(super) struct Truncation {
    /// Per factor: the decay bound of |M(λ+it)|/M(λ) and ln of M̃(λ)'s relative error.
    pub(super) decays: Vec<(Decay, f64)>,
    /// The last node bounded one by one (t = k_tail·h ≥ T').
    pub(super) k_tail: usize,
    /// The envelope's bound on the nodes beyond T'.
    pub(super) tail: f64,
}

/// The result of [`Plan::scan`].
#[derive(Debug, Clone)]
pub(super) struct Scan {
    /// The last direct node the target asks for.
    pub(super) k_dir: usize,
    /// Upper bounds on the bounds of nodes k, k + 1, …, k_tail summed.
    pub(super) sums: NodeSums,
}

/// When [`Plan::build_with`] takes the analytic-window path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WindowMode {
    /// Where the plain contour is capped and the window pays (the accountant's choice).
    Auto,
    /// Wherever it applies (no work cap).
    Force,
    /// Never (tests: the plain contour for comparison).
    #[cfg_attr(not(test), allow(dead_code))]
    Never,
}

impl Plan {
    pub(super) fn new(composition: &Composition, direction: Direction) -> Plan {
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
            }] if *n <= MAX_LATTICE_N => Some(Lattice {
                a: *a,
                n: *n,
                kind: LatticeKind::Laplace,
            }),
            [Factor {
                t: Transform::SubsampledLaplace { law, add },
                n,
            }] if *n <= MAX_LATTICE_N => Some(Lattice {
                a: law.a,
                n: *n,
                kind: LatticeKind::Pair(law.atoms(*add)),
            }),
            // Fixed-size batches: the atom at 0 (docs/math.md §17.11).
            [Factor {
                t: Transform::Wor(p),
                n,
            }] => Some(Lattice {
                a: p.atom(),
                n: *n,
                kind: LatticeKind::AtZero,
            }),
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
    pub(super) fn single_step(&self, epsilon: f64) -> Option<Enclosure> {
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

    /// Σ n_i K_i, Σ n_i K_i', Σ n_i K_i'' at real λ (f64 estimates, [`Transform::cgf`]).
    pub(super) fn cgf(&self, lambda: f64) -> CgfTotals {
        self.factors.iter().fold(CgfTotals::default(), |acc, f| {
            let c = f.t.cgf(lambda);
            CgfTotals {
                k: acc.k + f.n * c.k,
                mean: acc.mean + f.n * c.mean,
                var: acc.var + f.n * c.var,
            }
        })
    }

    pub(super) fn ln_m_upper(&self, lambda: f64) -> f64 {
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
    pub(super) fn check_domain(&self) -> Result<()> {
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
                // e^{√(a² + 9)} (the quadrature's ellipse) and e^{2a} stay finite.
                Transform::SubsampledLaplace { law, .. } => (
                    law.a <= 300.0 && (f.n * law.a).is_finite(),
                    format!("a = 1/b = {:e} (at most 300)", law.a),
                ),
                Transform::Wor(p) => (
                    (p.mu * p.mu).is_finite() && p.atom() > 0.0,
                    format!("mu^2 = {:e}, atom = {:e}", p.mu * p.mu, p.atom()),
                ),
                Transform::Mixture { ref law } => {
                    let m = MixturePair::new(law).max_abs_mean();
                    (
                        (m * m).is_finite(),
                        format!("the largest mixture mean's square = {:e}", m * m),
                    )
                }
                Transform::Union { ref u } => u.domain(),
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
    pub(super) fn epsilon_guess(&self, delta: f64) -> Result<f64> {
        match self.epsilon_guess_in_lambda(delta) {
            Some(eps) => Ok(eps),
            None => self.epsilon_guess_newton(delta),
        }
    }

    /// [`Plan::epsilon_guess`] by Newton steps in ε, each with its own saddle-point search: the
    /// fallback of [`Plan::epsilon_guess_in_lambda`].
    pub(super) fn epsilon_guess_newton(&self, delta: f64) -> Result<f64> {
        // The first step's summaries are at λ = 1: refuse before building a quadrature over
        // the budget (σ = 1e−10 with sampling: ~1e12 nodes, which used to abort on allocation).
        if !self.affordable(1.0) {
            return Err(self.budget_error(1.0));
        }
        let ln_delta = delta.ln();
        let CgfTotals {
            mean: k1q,
            var: k2q,
            ..
        } = self.cgf(1.0);
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

    /// [`Plan::epsilon_guess`] as one root search over the saddle point: λ = 1 + e^v fixes
    /// ε(λ) = K'(λ) − 1/λ − 1/(λ − 1) (the ε whose saddle point λ is) and the saddle-point
    /// estimate ln δ_sp(ε(λ)), which falls as λ grows; Brent's method finds ln δ_sp = ln δ in v,
    /// one CGF summary per step, where the Newton steps in ε each ran a saddle-point search
    /// (≈ 150 summaries at EA S2). The same fixed point (an estimate: it only sets the design
    /// point). `None` where a λ on the way is not affordable, a value is not finite, the
    /// root is not bracketed within λ ∈ [1 + e^{−30}, 1 + 10⁶], or ε(λ) ≤ 1e−9 there: the
    /// Newton steps then run as before.
    pub(super) fn epsilon_guess_in_lambda(&self, delta: f64) -> Option<f64> {
        let ln_delta = delta.ln();
        let at = |v: f64| -> Option<(f64, f64)> {
            let lam = 1.0 + v.exp();
            if !self.affordable(lam) {
                return None;
            }
            let CgfTotals { k, mean, var } = self.cgf(lam);
            let eps = mean - 1.0 / lam - 1.0 / (lam - 1.0);
            let phi = k + (1.0 - lam) * eps - lam.ln() - (lam - 1.0).ln();
            let phi2 = var + 1.0 / (lam * lam) + 1.0 / ((lam - 1.0) * (lam - 1.0));
            let f = phi - 0.5 * (2.0 * PI * phi2).ln() - ln_delta;
            (f.is_finite() && eps.is_finite()).then_some((f, eps))
        };
        let (v_min, v_max) = (-30.0, 1e6f64.ln());
        let mut v = 0.0;
        // A unit bracket [v, v + 1] with f(v) > 0 ≥ f(v + 1).
        let (lo, hi) = if at(v)?.0 > 0.0 {
            loop {
                let next = at(v + 1.0)?.0;
                if next <= 0.0 {
                    break (v, v + 1.0);
                }
                v += 1.0;
                if v + 1.0 > v_max {
                    return None;
                }
            }
        } else {
            loop {
                v -= 1.0;
                if v < v_min {
                    return None;
                }
                if at(v)?.0 > 0.0 {
                    break (v, v + 1.0);
                }
            }
        };
        let root = brent(
            |v| {
                at(v)
                    .map(|x| x.0)
                    .ok_or_else(|| Error::NotCertified("saddle-point guess: not finite".into()))
            },
            lo,
            hi,
            1e-12,
            200,
        )
        .ok()?;
        let eps = at(root)?.1;
        (eps > 1e-9).then_some(eps)
    }

    /// Whether every transform at real part λ stays within [`MAX_CALL_NODES`] (the complex
    /// quadrature at t = 0 and the real summaries); checked before anything is evaluated there.
    pub(super) fn affordable(&self, lambda: f64) -> bool {
        lambda.is_finite()
            && self.factors.iter().all(|f| {
                f.t.cost(lambda, 0.0) <= MAX_CALL_NODES && f.t.real_cost(lambda) <= MAX_CALL_NODES
            })
    }

    /// The saddle point λ > 1 of the real integrand at ε, or the largest affordable λ below it
    /// (any λ > 1 gives a valid contour; off the saddle it needs more nodes or is wider).
    ///
    /// # Errors
    /// [`Error::NotCertified`] when not even λ = 1 + e^{−30} is affordable.
    pub(super) fn saddle(&self, epsilon: f64) -> Result<f64> {
        self.saddle_or_limit(epsilon).map(|(lambda, _)| lambda)
    }

    /// [`Plan::saddle`], and whether λ was limited below the saddle point (by the quadrature
    /// budget of [`Plan::affordable`] or the cap λ ≤ 10⁶): such a contour is certified but may
    /// be far wider than asked.
    ///
    /// # Errors
    /// As [`Plan::saddle`].
    pub(super) fn saddle_or_limit(&self, epsilon: f64) -> Result<(f64, bool)> {
        let g = |v: f64| -> Result<f64> {
            let u = v.exp();
            let lam = 1.0 + u;
            let k1 = self.cgf(lam).mean;
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
                return Ok((1.0 + f64::exp(lo), g(lo).map_or(true, |v| v < 0.0)));
            }
        }
        // g is increasing (K' is, and so is −1/λ − 1/(λ − 1)), so its root lies above the last
        // point where g ≤ 0 was seen: Brent starts from that unit bracket, not from [lo, hi].
        if g(lo)? > 0.0 {
            // The tilted mean exceeds ε + 1/λ + 1/(λ − 1) ≈ e^30 already at λ = 1 + e^−30 (a
            // Laplace step at scale 1e−50: mean loss ~1e50). Brent reported "root not bracketed",
            // a "no solution" that was no statement about ε.
            return Err(Error::NotCertified(format!(
                "contour: no saddle point above lambda = 1 + e^-30 at epsilon = {epsilon:e}: \
                 the mean privacy loss there exceeds epsilon by more than e^30"
            )));
        }
        let mut below = lo;
        while g(hi)? <= 0.0 {
            if hi + 1.0 > 1e6f64.ln() || !self.affordable(1.0 + (hi + 1.0).exp()) {
                return Ok((1.0 + f64::exp(hi), true));
            }
            below = hi;
            hi += 1.0;
        }
        let v = brent(g, below, hi, 1e-9, 200)?;
        Ok((1.0 + v.exp(), false))
    }

    /// The refusal for a transform whose quadrature at λ exceeds [`MAX_CALL_NODES`].
    pub(super) fn budget_error(&self, lambda: f64) -> Error {
        let need = self
            .factors
            .iter()
            .map(|f| f.t.cost(lambda, 0.0).max(f.t.real_cost(lambda)))
            .fold(0.0, f64::max);
        Error::NotCertified(format!(
            "contour: the transform's quadrature at lambda = {lambda:.6} needs {need:.3e} x-nodes per evaluation, over the work limit of {MAX_CALL_NODES:e}"
        ))
    }

    /// ln of the Chernoff bound δ(ε) ≤ min_{λ'} h_max(λ')·M(λ')·e^{−(λ'−1)ε} over
    /// [`CHERNOFF_LAMBDAS`] (the affordable ones), h_max(λ') = ((λ'−1)/λ')^{λ'}/(λ'−1) the
    /// largest value of (e^s − e^ε)₊·e^{−λ's + (λ'−1)ε} (docs/math.md §6); M(λ') from
    /// [`Transform::ln_mgf_upper`]. Valid for every ε ≥ 0; +∞ when no λ' is usable.
    pub(super) fn ln_chernoff(&self, epsilon: f64) -> f64 {
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

    /// ln of a certified upper bound on 1 − δ(ε) (docs/math.md §15.1.6):
    /// 1 − δ(ε) = ∫min(dQ, e^ε dP) ≤ e^{(1−λ)ε}·M(λ) for every λ ∈ [0, 1] (min(a, b) ≤
    /// a^λ b^{1−λ}), minimised over [`COMPLEMENT_LAMBDAS`] and rounded up. +∞ where a factor has
    /// no certified bound on M below λ = 1 (only the Gaussian and the Poisson-subsampled
    /// Gaussian have one, [`Transform::ln_mgf_upper_below_one`]) or none is finite.
    pub(super) fn ln_complement(&self, epsilon: f64) -> f64 {
        if self.lattice.is_some() || epsilon.is_nan() || epsilon < 0.0 {
            return f64::INFINITY;
        }
        let terms = self.factors.len() as f64 + 8.0;
        COMPLEMENT_LAMBDAS
            .iter()
            .map(|&l| {
                let (mut ln_m, mut mag) = (0.0, 0.0);
                for f in &self.factors {
                    match f.t.ln_mgf_upper_below_one(l) {
                        Some(v) if !v.is_nan() => {
                            ln_m += f.n * v;
                            mag += (f.n * v).abs();
                        }
                        _ => return f64::INFINITY,
                    }
                }
                let v = ln_m + (1.0 - l) * epsilon;
                if v == f64::NEG_INFINITY {
                    // M(λ) below the f64 range (n·μ² overflowing): e^v rounds to 0, and so
                    // does the true bound, far below every rounding of 1 − e^v.
                    return v;
                }
                // Rounding of the products and sums: (factors + 8)u of the magnitudes.
                let slack = terms * UNIT_ROUNDOFF * (mag + ((1.0 - l) * epsilon).abs());
                if v.is_nan() || slack.is_nan() {
                    f64::INFINITY
                } else {
                    v + slack
                }
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// The smallest ε at which the Chernoff bound of [`Plan::ln_chernoff`] is ≤ δ: for each λ',
    /// ln h_max(λ') + ln M(λ') − (λ'−1)ε ≤ ln δ solved for ε, minimised over λ' (rounded up).
    /// A certified upper bound on ε(δ) for every δ ∈ (0, 1); +∞ when no λ' is usable.
    pub(super) fn chernoff_epsilon(&self, delta: f64) -> f64 {
        let ln_delta = delta.ln();
        CHERNOFF_LAMBDAS
            .iter()
            .filter(|&&lp| self.affordable(lp))
            .map(|&lp| {
                let ln_hmax = lp * (-1.0 / lp).ln_1p() - (lp - 1.0).ln();
                let num = self.ln_m_upper(lp) + ln_hmax - ln_delta;
                let slack = 8.0 * UNIT_ROUNDOFF * (num.abs() + ln_delta.abs() + ln_hmax.abs());
                let e = (num + slack) / (lp - 1.0);
                if e.is_nan() {
                    f64::INFINITY
                } else {
                    (e * (1.0 + 4.0 * UNIT_ROUNDOFF)).max(0.0)
                }
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// The saddle-point approximation ln δ ≈ φ(λ) − ½ln(2πφ''(λ)) (for initial guesses only).
    pub(super) fn ln_delta_saddle(&self, epsilon: f64) -> Result<(f64, f64)> {
        let lam = self.saddle(epsilon)?;
        let CgfTotals { k, var: k2, .. } = self.cgf(lam);
        let phi = k + (1.0 - lam) * epsilon - lam.ln() - (lam - 1.0).ln();
        let phi2 = k2 + 1.0 / (lam * lam) + 1.0 / ((lam - 1.0) * (lam - 1.0));
        Ok((phi - 0.5 * (2.0 * PI * phi2).ln(), lam))
    }

    /// Per-node bound |G(t)| ≤ e^{ln b(t)}.
    pub(super) fn ln_node_bound(
        &self,
        decays: &[(Decay, f64)],
        coarse: &[Option<Coarse>],
        lambda: f64,
        t: f64,
    ) -> f64 {
        self.ln_bound_from(decays, lambda, t, |i, d| match &coarse[i] {
            Some(c) => d.bound(t).min(c.bound(t)),
            None => d.bound(t),
        })
    }

    /// A bound on ln|G(t)| for every t in [`ta`, `tb`] (0 < ta ≤ tb): the decay bounds over the
    /// interval ([`Decay::bound_over`]); the other factors, 1/|z(z − 1)| and the lattice
    /// atoms' continuous parts, are non-increasing in t and taken at ta. No coarse grid.
    pub(super) fn ln_run_bound(
        &self,
        decays: &[(Decay, f64)],
        lambda: f64,
        ta: f64,
        tb: f64,
    ) -> f64 {
        self.ln_bound_from(decays, lambda, ta, |_, d| d.bound_over(ta, tb))
    }

    /// The node bound at `t` with `mag(i, D_i)` bounding factor i's |M(λ+it)|/M(λ).
    fn ln_bound_from(
        &self,
        decays: &[(Decay, f64)],
        lambda: f64,
        t: f64,
        mag: impl Fn(usize, &Decay) -> f64,
    ) -> f64 {
        let z = C64::new(lambda, t);
        let lz = (z * (z - 1.0)).norm().ln();
        if let Some(Lattice { n, .. }) = self.lattice {
            let (d, ln_eta) = decays[0];
            if let Decay::Laplace { atom, cont, two_l1 } = d {
                let c = cont / (two_l1 * two_l1 + 4.0 * t * t).sqrt();
                return n.ln()
                    + c.ln()
                    + (n - 1.0) * (atom + c).min(1.0).ln()
                    + n * ln_eta.exp().ln_1p()
                    - lz;
            }
            // docs/math.md §15.6.4: |M^n − A^n| ≤ n|C|(|A| + |C|)^{n−1}.
            if let Decay::TwoAtoms { atom, cont, k } = d {
                let c = Decay::two_atoms_cont(cont, k, t);
                return n.ln()
                    + c.ln()
                    + (n - 1.0) * (atom + c).min(1.0).ln()
                    + n * ln_eta.exp().ln_1p()
                    - lz;
            }
            if let Decay::AtomAtZero { atom, cont, .. } = d {
                // |M^n − a^n| ≤ min(n|C|(a + |C|)^{n−1}, |M|^n + a^n) (docs/math.md §17.11),
                // with |C| ≤ min(1, cont/t) and |M| ≤ the decay bound (and the coarse grid).
                let cc = (cont / t.abs()).min(1.0);
                let tele = n.ln() + cc.ln() + (n - 1.0) * (atom + cc).min(1.0).ln();
                let mb = mag(0, &d);
                let sum = logsumexp(&[n * mb.ln(), n * atom.min(1.0).ln()]);
                return tele.min(sum) + n * ln_eta.exp().ln_1p() - lz;
            }
        }
        self.factors
            .iter()
            .zip(decays)
            .enumerate()
            .map(|(i, (f, (d, ln_eta)))| f.n * (mag(i, d).ln() + ln_eta.exp().ln_1p()))
            .sum::<f64>()
            - lz
    }

    /// ln of a bound on (h/π)Σ_{t_k > T}|G(t_k)| from the power-law envelope (T' = T − h).
    pub(super) fn ln_tail(&self, decays: &[(Decay, f64)], t_prime: f64) -> f64 {
        if let Some(Lattice { n, .. }) = self.lattice {
            let (d, ln_eta) = decays[0];
            if let Decay::Laplace { atom, cont, .. } = d {
                // n(1+η)^n (cont/(2t))(atom + cont/(2T'))^{n−1}/t²: ∫ = n(1+η)^n c/2 (..)^{n−1}/(2T'²).
                let k = n.ln()
                    + n * ln_eta.exp().ln_1p()
                    + (n - 1.0) * (atom + cont / (2.0 * t_prime)).min(1.0).ln();
                return k + (0.5 * cont).ln() - 2.0 * t_prime.ln() - (2.0 * PI).ln() + 0.0;
            }
            if let Decay::TwoAtoms { atom, k: kc, .. } = d {
                // (1/π)∫_{T'}^∞ n(1+η)^n (k/t)(atom + k/T')^{n−1} t^{−2} dt
                //   = n(1+η)^n k (atom + k/T')^{n−1}/(2πT'²) (docs/math.md §15.6.4).
                let k = n.ln()
                    + n * ln_eta.exp().ln_1p()
                    + (n - 1.0) * (atom + kc / t_prime).min(1.0).ln();
                return k + kc.ln() - 2.0 * t_prime.ln() - (2.0 * PI).ln();
            }
            if let Decay::AtomAtZero { atom, cont, .. } = d {
                // (1/π)∫_{T'}^∞ n(1+η)^n (cont/t)(atom + cont/T')^{n−1} t^{−2} dt.
                let k = n.ln()
                    + n * ln_eta.exp().ln_1p()
                    + (n - 1.0) * (atom + cont / t_prime).min(1.0).ln();
                return k + cont.ln() - 2.0 * t_prime.ln() - (2.0 * PI).ln();
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
    pub(super) fn build(&self, lambda: f64, epsilon: f64, tol: f64) -> Result<Contour> {
        self.build_with(lambda, epsilon, tol, WindowMode::Auto)
    }
}

impl Plan {
    /// [`Plan::build`] with a choice of the analytic-window path (tests compare the two).
    pub(super) fn build_with(
        &self,
        lambda: f64,
        epsilon: f64,
        tol: f64,
        mode: WindowMode,
    ) -> Result<Contour> {
        self.build_at(lambda, lambda, epsilon, tol, mode)?
            .ok_or_else(|| Error::Internal("a contour at its saddle point was given up".into()))
    }

    /// [`Plan::build_with`] at real part `lambda`, for the saddle point `saddle` of ε: where
    /// they differ, the target is set by the saddle-point estimate of δ carried to `lambda`
    /// ([`Plan::s_moved`]), so the bracket asked for is the same, and the contour is given up
    /// (`None`, before its nodes are evaluated) if its node count would be capped by the work
    /// limit: the caller then builds at the saddle point. At the saddle point it is always
    /// `Some`.
    fn build_at(
        &self,
        lambda: f64,
        saddle: f64,
        epsilon: f64,
        tol: f64,
        mode: WindowMode,
    ) -> Result<Option<Contour>> {
        if !self.affordable(lambda) {
            return Err(self.budget_error(lambda));
        }
        let base = self.base(lambda);
        let w = self.bump_width(lambda);
        let s = if lambda == saddle {
            self.s_estimate(lambda, epsilon, w, base.norm)
        } else {
            self.s_moved(saddle, lambda, epsilon)
        };
        let target = tol * s / 8.0;
        let mut contour = self.strip_contour(lambda, w, &base);
        contour.saddle = saddle;
        contour.choose_step(epsilon, target);
        let h = contour.h;
        let trunc = self.truncation(&base, lambda, w, h, target);
        let none: Vec<Option<Coarse>> = vec![None; self.factors.len()];
        let mut scan = self.scan(&trunc, &none, lambda, h, target);
        if lambda == saddle && mode == WindowMode::Auto && scan.k_dir > MOVE_MIN_NODES {
            if let Some(moved) = self.cheaper_lambda(saddle, epsilon, tol, h) {
                if let Some(c) = self.build_at(moved, saddle, epsilon, tol, mode)? {
                    return Ok(Some(c));
                }
            }
        }
        let coarse = self.coarse_grids(&base, lambda, h, scan.k_dir, target);
        if coarse.iter().any(|c| c.is_some()) {
            let second = self.scan(&trunc, &coarse, lambda, h, target);
            if second.k_dir < scan.k_dir {
                scan = second;
            }
        }
        let max_work = if self.n_total() < 100.0 {
            self.factors
                .iter()
                .map(|f| f.t.short_work_cap())
                .fold(MAX_WORK_SHORT, f64::min)
        } else {
            MAX_WORK
        };
        let mut k_cap = self.work_cap(lambda, h, scan.k_dir, max_work);
        contour.capped = k_cap < scan.k_dir;
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
                let first = &base.values[0];
                if let Some(c) =
                    self.build_window(contour.clone(), lambda, first, target, tol, wp, budget)
                {
                    return Ok(Some(c));
                }
            }
        }
        if contour.capped && max_work < MAX_WORK_COMPLETE {
            let k_full = self.work_cap(lambda, h, scan.k_dir, MAX_WORK_COMPLETE);
            if k_full >= scan.k_dir {
                k_cap = k_full;
                contour.capped = false;
            }
        }
        if contour.capped && lambda != saddle {
            return Ok(None);
        }
        contour.trunc = (scan.sums.suffix(k_cap + 1) + trunc.tail) * (1.0 + 1e-12);
        contour.nodes = self.direct_nodes(&base.values, lambda, h, k_cap, tol);
        Ok(Some(contour))
    }

    /// Total number of steps.
    pub(super) fn n_total(&self) -> f64 {
        self.factors.iter().map(|f| f.n).sum()
    }

    /// The transforms at the real point λ (t = 0): the normaliser of every node.
    pub(super) fn base(&self, lambda: f64) -> Base {
        let z0 = C64::new(lambda, 0.0);
        let values: Vec<MgfValue> = self.factors.iter().map(|f| f.t.ln_mgf(z0, TAU_X)).collect();
        let norm = self
            .factors
            .iter()
            .zip(&values)
            .map(|(f, b)| f.n * b.ln.re)
            .sum();
        let norm_abs = self
            .factors
            .iter()
            .zip(&values)
            .map(|(f, b)| f.n * b.ln.re.abs())
            .sum();
        Base {
            values,
            norm,
            norm_abs,
        }
    }

    /// The bump width w = (Σ n_i K_i''(λ))^{−1/2}; for a nearly degenerate tilted law (Laplace
    /// far out) λ.
    pub(super) fn bump_width(&self, lambda: f64) -> f64 {
        let k2 = self.cgf(lambda).var;
        if k2 > 0.0 {
            (1.0 / k2.sqrt()).min(1e6 * lambda)
        } else {
            lambda
        }
    }

    /// An estimate of S (δ = A·S) that sets the absolute target of the error terms.
    pub(super) fn s_estimate(&self, lambda: f64, epsilon: f64, w: f64, norm: f64) -> f64 {
        let mut s_est = w / ((2.0 * PI).sqrt() * lambda * (lambda - 1.0));
        if let Some(lattice) = self.lattice {
            let ln_a = norm + (1.0 - lambda) * epsilon;
            let lat = lattice.delta(epsilon);
            if lat.value > 0.0 {
                s_est += (lat.value.ln() - ln_a).exp();
            }
        }
        s_est
    }

    /// S (δ in units of the normalisation at λ, as [`Plan::s_estimate`]) at a real part λ below
    /// the saddle point λ* of ε: the saddle-point estimate at λ*, S* = w*/(√(2π)λ*(λ* − 1)),
    /// carried to λ, S = S*·exp(K(λ*) − K(λ) + (λ − λ*)ε) with K = Σ n_i K_i, and at most S*
    /// (an estimate: it only sets the target, and the cap keeps that target no looser than at
    /// the saddle point; the bracket is certified whatever it is).
    pub(super) fn s_moved(&self, saddle: f64, lambda: f64, epsilon: f64) -> f64 {
        let s_star = self.bump_width(saddle) / ((2.0 * PI).sqrt() * saddle * (saddle - 1.0));
        let ln_ratio = self.cgf(saddle).k - self.cgf(lambda).k + (lambda - saddle) * epsilon;
        s_star * ln_ratio.min(0.0).exp()
    }

    /// A real part below the saddle point `saddle` of ε whose contour needs a step at least
    /// twice `h` (the step at the saddle point), or `None` (docs/math.md §10.9.3).
    ///
    /// At small q the saddle point sits where the tilted law's far bump makes the away-side
    /// strip majorant grow fast, and the step is small; a few units lower the bump is nearer
    /// and lighter, the step several times larger, while S falls only a little. The candidates
    /// λ = 1 + (λ* − 1)·f, f ∈ [`MOVE_FACTORS`], within the budget, whose S is at least
    /// [`MOVE_MIN_S`] of S*, have their step chosen as [`Plan::build`] would; the one with the
    /// largest f whose step is within 10% of the largest is taken if that step is at least 2h.
    /// Only for plans without a lattice part or an analytic window (their S has other terms).
    /// A heuristic choice of λ: every contour's bracket is certified at any λ > 1.
    pub(super) fn cheaper_lambda(
        &self,
        saddle: f64,
        epsilon: f64,
        tol: f64,
        h: f64,
    ) -> Option<f64> {
        if self.lattice.is_some() || self.window_params(epsilon).is_some() {
            return None;
        }
        let s_star = self.s_moved(saddle, saddle, epsilon);
        let steps: Vec<(f64, f64)> = MOVE_FACTORS
            .iter()
            .filter_map(|&f| {
                let lam = 1.0 + (saddle - 1.0) * f;
                if !self.affordable(lam) {
                    return None;
                }
                let s = self.s_moved(saddle, lam, epsilon);
                if s.is_nan() || s < MOVE_MIN_S * s_star {
                    return None;
                }
                let base = self.base(lam);
                let mut c = self.strip_contour(lam, self.bump_width(lam), &base);
                c.choose_step(epsilon, tol * s / 8.0);
                c.h.is_finite().then_some((lam, c.h))
            })
            .collect();
        let best = steps.iter().map(|x| x.1).fold(0.0, f64::max);
        steps
            .into_iter()
            .find(|&(_, hs)| hs >= 0.9 * best)
            .filter(|&(_, hs)| hs >= 2.0 * h)
            .map(|(lam, _)| lam)
    }

    /// The contour skeleton with its strip candidates (toward the pole and away from it) for the
    /// discretisation bound; an edge whose quadrature exceeds the budget is not evaluated (+∞:
    /// the strip is unused), a non-finite majorant counts as +∞ (never as a small one).
    pub(super) fn strip_contour(&self, lambda: f64, w: f64, base: &Base) -> Contour {
        let lat_ln2 = if self.lattice.is_some() {
            std::f64::consts::LN_2
        } else {
            0.0
        };
        let edge = |lp: f64| -> f64 {
            if !self.affordable(lp) {
                return f64::INFINITY;
            }
            let v = self.ln_m_upper(lp) - base.norm + lat_ln2 + (PI / (lp - 1.0)).ln()
                - (2.0 * PI).ln();
            if v.is_nan() {
                f64::INFINITY
            } else {
                v
            }
        };
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
        Contour {
            lambda,
            saddle: lambda,
            h: w,
            norm: base.norm,
            norm_abs: base.norm_abs,
            nodes: Vec::new(),
            trunc: 0.0,
            strips,
            ln_edge0: edge(lambda),
            lattice: self.lattice,
            capped: false,
            window: None,
        }
    }

    /// Truncation set-up: the per-factor decay bounds and the point T' beyond which the
    /// power-law envelope bounds the omitted nodes by half the target (or the scan limit).
    pub(super) fn truncation(
        &self,
        base: &Base,
        lambda: f64,
        w: f64,
        h: f64,
        target: f64,
    ) -> Truncation {
        let decays: Vec<(Decay, f64)> = self
            .factors
            .iter()
            .zip(&base.values)
            .map(|(f, b)| (f.t.decay(lambda), b.ln_err - b.ln.re))
            .collect();
        let c_max = decays
            .iter()
            .map(|(d, _)| {
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
        let tail = self.ln_tail(&decays, t_prime).exp();
        Truncation {
            decays,
            k_tail: ((t_prime + h) / h).ceil() as usize,
            tail,
        }
    }

    /// Per-node bounds up to the envelope's T': the first k whose omitted nodes (bounded one by
    /// one, plus the envelope tail) meet the target, and the suffix sums of the bounds.
    pub(super) fn scan(
        &self,
        trunc: &Truncation,
        coarse: &[Option<Coarse>],
        lambda: f64,
        h: f64,
        target: f64,
    ) -> Scan {
        // Runs of nodes (bounded over their whole t-interval, without the coarse grids) only
        // beyond the coarse grids' reach, where `Coarse::bound` is 1 and they lose nothing.
        let t_single = coarse.iter().flatten().map(Coarse::end).fold(0.0, f64::max);
        let k_single = ((t_single / h).ceil() as usize).saturating_add(1);
        // The run bounds' rounding: a few ulp per factor bound, times the powers n_i.
        let margin = (1e-12 * (1.0 + self.n_total())).exp();
        let node = |k: usize| {
            (h / PI)
                * self
                    .ln_node_bound(&trunc.decays, coarse, lambda, k as f64 * h)
                    .exp()
        };
        let run = |a: usize, b: usize| {
            let (ta, tb) = (a as f64 * h, (b - 1) as f64 * h);
            (h / PI) * self.ln_run_bound(&trunc.decays, lambda, ta, tb).exp()
        };
        let sums = NodeSums::new(trunc.k_tail, k_single, target, margin, node, run);
        let k_dir = sums.first_within(trunc.tail, target);
        Scan { k_dir, sums }
    }

    /// Where the decay bounds leave a gap (|M| bounded only by 1 between the third-moment and
    /// the TV regions), |M̃| on a coarse grid, bounded in between by the Lipschitz constant
    /// E_λ|L|·M(λ); only where the coarse grid is much cheaper than the direct nodes.
    pub(super) fn coarse_grids(
        &self,
        base: &Base,
        lambda: f64,
        h: f64,
        k_dir: usize,
        target: f64,
    ) -> Vec<Option<Coarse>> {
        let t_need = k_dir as f64 * h;
        // The Lipschitz slack slope·step/2 may use part of 1 − r*, where r* is the ratio whose
        // n-th power (n = all steps) meets the target: a short composition tolerates a coarser
        // grid (at most 0.2, at least 0.02 as for a long one).
        let r_star = ((target * 1e-3).ln() / self.n_total()).exp();
        let slack = (0.5 * (1.0 - r_star)).clamp(0.02, 0.2);
        // Direct nodes up to t_need cost about k_dir·cost(t_need/2) (cost is affine in t).
        let direct_cost: f64 = self
            .factors
            .iter()
            .map(|f| (k_dir as f64 + 1.0) * f.t.cost(lambda, 0.5 * t_need))
            .sum();
        self.factors
            .iter()
            .zip(&base.values)
            .map(|(f, b)| {
                let m_abs = f.t.tilted_abs_mean(lambda)?;
                let step = (slack / m_abs).max(h);
                let count = (t_need / step).ceil() as usize + 1;
                let far_step = 4.0 * step;
                let far_count = (t_need / far_step).ceil() as usize + 1;
                // The grid's last node, which may lie well beyond t_need when the step is coarse
                // (at λ ≈ 7 300 in a truncated-Poisson contour the step was 3.6·10⁵ against
                // t_need ≈ 10, and that one quadrature asked for 4·10⁷ x-nodes, 2.8 GB).
                let reach = if far_count >= 8 {
                    far_count as f64 * far_step
                } else {
                    count as f64 * step
                };
                if count * 4 > k_dir || count > 20_000 || f.t.cost(lambda, reach) > MAX_CALL_NODES {
                    return None;
                }
                let coarse_cost: f64 = (0..=count).map(|j| f.t.cost(lambda, j as f64 * step)).sum();
                // At most a quarter of the direct nodes' work, and of the most work any contour's
                // direct nodes may take (at σ ~ 1e−3 the direct cost is ~1e13 x-nodes and capped;
                // the coarse grid was not, and took 84 s before the contour was refused).
                if coarse_cost * 4.0 > direct_cost.min(MAX_WORK_SHORT.max(MAX_WORK_COMPLETE)) {
                    return None;
                }
                // Upper bounds only (the propagated-phase and block-sum errors are in ln_err):
                // the cheapest evaluation, whatever the tolerance.
                let ratios_at = |st: f64, k: usize| -> Vec<f64> {
                    eval_grid(&f.t, lambda, (st, k), LOOSE, Blocks::Halves)
                        .iter()
                        .map(|v| {
                            ((v.ln.re - b.ln.re).exp() + (v.ln_err - b.ln.re).exp()) * (1.0 + 1e-12)
                        })
                        .collect()
                };
                let slope = m_abs * (1.0 + (b.ln_err - b.ln.re).exp());
                // First a grid 4× sparser over the whole reach (its cost grows like the reach
                // squared, as |t| sets each quadrature's x-step); the fine grid only up to the
                // last sparse cell whose Lipschitz bound (r_j + r_{j+1} + slope·4·step)/2 exceeds
                // r* (beyond it the ratios are far below r*: a nearly atomic tilted law needs the
                // grid out to ~8× the direct nodes, where |M| has long decayed).
                if far_count >= 8 {
                    let far = ratios_at(far_step, far_count);
                    let last_bad = (0..far_count)
                        .rev()
                        .find(|&j| 0.5 * (far[j] + far[j + 1] + slope * far_step) > r_star);
                    let j0 = last_bad.map_or(0, |j| j + 1);
                    let ratios = if j0 > 0 {
                        ratios_at(step, 4 * j0)
                    } else {
                        vec![far[0]]
                    };
                    return Some(Coarse {
                        step,
                        slope,
                        ratios,
                        far_step,
                        far: far[j0..].to_vec(),
                    });
                }
                Some(Coarse {
                    step,
                    slope,
                    ratios: ratios_at(step, count),
                    far_step,
                    far: Vec::new(),
                })
            })
            .collect()
    }

    /// The last direct node within the work cap (x-nodes summed over the t-nodes) and the
    /// per-call budget; beyond it the bracket widens.
    pub(super) fn work_cap(&self, lambda: f64, h: f64, k_dir: usize, max_work: f64) -> usize {
        let mut work = 0.0;
        let k_cap = k_dir.min(MAX_DIRECT_NODES);
        for k in 0..=k_cap {
            let t = k as f64 * h;
            let costs = self.factors.iter().map(|f| f.t.cost(lambda, t));
            let call = costs.clone().fold(0.0, f64::max);
            work += costs.sum::<f64>();
            if call > MAX_CALL_NODES {
                return k.saturating_sub(1);
            }
            if work > max_work {
                return k;
            }
        }
        k_cap
    }

    /// The direct nodes c_k = Π(M̃_i(λ+it_k)/M̃_i(λ))^{n_i}/(z(z−1)) with their error bounds
    /// (module docs, "Rounding"); with a Laplace lattice part its atoms-only power is subtracted.
    pub(super) fn direct_nodes(
        &self,
        base: &[MgfValue],
        lambda: f64,
        h: f64,
        k_dir: usize,
        tol: f64,
    ) -> Vec<Node> {
        let n_total = self.n_total();
        let scheme = sum_scheme(tol, n_total);
        let values: Vec<Vec<MgfValue>> = self
            .factors
            .iter()
            .map(|f| eval_grid(&f.t, lambda, (h, k_dir), scheme, Blocks::Doubling))
            .collect();
        (0..=k_dir)
            .into_par_iter()
            .map(|k| {
                let node_values: Vec<MgfValue> = values.iter().map(|v| v[k]).collect();
                self.node(base, &node_values, lambda, k as f64 * h)
            })
            .collect()
    }

    /// One direct node from the factors' transforms at λ + it.
    fn node(&self, base: &[MgfValue], values: &[MgfValue], lambda: f64, t: f64) -> Node {
        let u = UNIT_ROUNDOFF;
        let lattice_atoms = self.lattice.is_some();
        let z = C64::new(lambda, t);
        let zz = z * (z - 1.0);
        let zabs = zz.norm();
        let mut ln_sum = C64::new(0.0, 0.0);
        let mut ln_r = 0.0;
        let mut ln_up = 0.0;
        let mut mag = 0.0;
        let mut ln_sum_a = C64::new(0.0, 0.0);
        let (mut ln_ra, mut ln_upa, mut mag_a) = (0.0, 0.0, 0.0);
        for ((f, b), &v) in self.factors.iter().zip(base).zip(values) {
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
        if !lattice_atoms {
            return Node {
                t,
                c: cm,
                err: err_m + round_m,
                mag: cm.norm(),
            };
        }
        let ca = ln_sum_a.exp() / zz;
        let err_a = power_error(ln_ra, ln_upa) / zabs;
        let round_a = ca.norm() * u * (8.0 + 4.0 * mag_a);
        Node {
            t,
            c: cm - ca,
            err: err_m + round_m + err_a + round_a + 2.0 * u * (cm.norm() + ca.norm()),
            mag: cm.norm() + ca.norm(),
        }
    }
}

/// Phase propagations per sin/cos in the node transforms: each adds ≤ 5u relative to M(λ) per
/// step, which the n-th power multiplies by n; keep R·5u·n below 1% of the tolerance, R ≤ 63
/// (a run of 64 nodes needs one sin/cos seed per x-node), or a whole block of 512 nodes
/// (R = 511) where 511·5u·n stays below 1/8 of that budget (a loose tolerance, e.g. 1e−7 at 200
/// steps: one seed per x-node per block instead of eight; runs of intermediate length widened
/// brackets for ~1% less work, docs/math.md §10.9.1). The error term of each value carries its
/// actual run length (§10.4).
pub(super) fn rotations(tol: f64, n_total: f64) -> usize {
    let r = (1e-2 * tol / (5.0 * UNIT_ROUNDOFF * n_total)).floor();
    if r >= 8.0 * 511.0 {
        511
    } else {
        r.clamp(0.0, 63.0) as usize
    }
}

/// The phase-sum scheme of the node transforms at relative tolerance `tol` on δ for a
/// composition of `n_total` steps: [`rotations`], and [`summation_block`] where phases are
/// propagated (plain blocks only serve equally spaced β).
pub(super) fn sum_scheme(tol: f64, n_total: f64) -> SumScheme {
    let rotations = rotations(tol, n_total);
    let block = if rotations > 0 {
        summation_block(tol, n_total)
    } else {
        0
    };
    SumScheme { rotations, block }
}

/// Run length B of the plain partial sums in the node transforms (0: compensate every term): the
/// summation bound grows from 3u to √2(B + 2)u relative to M(λ) per step, multiplied by n in the
/// n-th power; use B = 32 only where √2·34u·n stays below 1% of the tolerance.
pub(super) fn summation_block(tol: f64, n_total: f64) -> usize {
    let b = SUM_BLOCK as f64;
    if std::f64::consts::SQRT_2 * (b + 2.0) * UNIT_ROUNDOFF * n_total <= 1e-2 * tol {
        SUM_BLOCK
    } else {
        0
    }
}

/// How [`eval_grid`] groups consecutive t-nodes into parallel blocks that share one x-grid (the
/// step of the block's largest t). Each value is the same batched quadrature with its own error
/// bound (the x-step of a block only has to resolve its largest |t|, docs/math.md §10.4), so the
/// grouping changes the cost, never a bound (docs/math.md §10.9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Blocks {
    /// At most 512 nodes, and the last t at most r·t₀ with r = 1 + min(1, √(80·step/t₀)) (t₀
    /// the first t, at least 5, where the x-step hardly depends on t). A block's x-nodes cost
    /// ~80 inner rotations each to set up (L, weights, seeds), and each node then costs one
    /// rotation per x-node, whose count grows like the block's last t: per node the cost is
    /// ∝ r·80·step/(r − 1) + r·t₀, least at r − 1 = √(80·step/t₀) (wide blocks for sparse nodes
    /// at large t, as in the add ordering).
    Doubling,
    /// The two halves of the index range, each one x-grid (that of its largest t; at most 512
    /// nodes per call): for the sparse coarse grids ([`Plan::coarse_grids`]), whose nodes are
    /// far apart in t, so that the doubling rule would set up a fresh x-grid (L(x_j), weights,
    /// phase seeds) for a handful of nodes at a time.
    Halves,
}

/// M̃ at λ + i·k·step for k = 0..=k_max, in the parallel blocks of `blocks`.
pub(super) fn eval_grid(
    t: &Transform,
    lambda: f64,
    (step, k_max): (f64, usize),
    scheme: SumScheme,
    blocks: Blocks,
) -> Vec<MgfValue> {
    let eval = |ts: &[f64]| t.ln_mgf_batch(lambda, ts, TAU_X, scheme);
    match blocks {
        Blocks::Doubling => eval_grid_with(step, k_max, eval),
        Blocks::Halves => {
            let half = k_max / 2;
            let parts: Vec<(usize, usize)> = if k_max >= 8 {
                vec![(0, half), (half + 1, k_max)]
            } else {
                vec![(0, k_max)]
            };
            eval_blocks(&parts, step, |ts| ts.chunks(512).flat_map(eval).collect())
        }
    }
}

/// [`eval_grid`] with any batch evaluator (the t-values of one block in, their values out).
pub(super) fn eval_grid_with<F>(step: f64, k_max: usize, eval: F) -> Vec<MgfValue>
where
    F: Fn(&[f64]) -> Vec<MgfValue> + Sync,
{
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut k0 = 0;
    while k0 <= k_max {
        let t0 = (k0 as f64 * step).max(4.0);
        let r = 1.0 + (80.0 * step / t0).sqrt().min(1.0);
        let mut k1 = k0;
        while k1 < k_max && k1 - k0 < 511 && ((k1 + 1) as f64 * step) <= r * t0 {
            k1 += 1;
        }
        blocks.push((k0, k1));
        k0 = k1 + 1;
    }
    eval_blocks(&blocks, step, eval)
}

/// The values at t = k·step for each block (k0, k1) of consecutive indices, blocks evaluated in
/// parallel and concatenated in order.
fn eval_blocks<F>(blocks: &[(usize, usize)], step: f64, eval: F) -> Vec<MgfValue>
where
    F: Fn(&[f64]) -> Vec<MgfValue> + Sync,
{
    let values: Vec<Vec<MgfValue>> = blocks
        .par_iter()
        .map(|&(k0, k1)| {
            let ts: Vec<f64> = (k0..=k1).map(|k| k as f64 * step).collect();
            eval(&ts)
        })
        .collect();
    values.into_iter().flatten().collect()
}

/// Π(r + η)^n − Π r^n given ln Π r^n and ln Π (r+η)^n.
pub(super) fn power_error(ln_r: f64, ln_up: f64) -> f64 {
    if ln_r == f64::NEG_INFINITY {
        return ln_up.exp();
    }
    ln_r.exp() * (ln_up - ln_r).exp_m1() * (1.0 + 8.0 * UNIT_ROUNDOFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accountant::contour::transform::assert_windowed_agrees_with_single;

    /// The run length of the propagated phases never spends more than its share (1% of the
    /// tolerance, R·5u·n) of the error budget, whatever the tolerance and step count; runs longer
    /// than 64 nodes only where they cost at most 1/8 of it, and then a whole block (512 nodes).
    #[test]
    fn phase_runs_stay_within_the_error_budget() {
        for tol in [1e-3, 1e-5, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12] {
            for n in [1.0, 10.0, 200.0, 3920.0, 1e5, 1e7] {
                let r = rotations(tol, n);
                assert!(r <= 511, "tol={tol} n={n}: {r}");
                if r > 0 {
                    assert!(
                        r as f64 * 5.0 * UNIT_ROUNDOFF * n <= 1e-2 * tol,
                        "{tol} {n} {r}"
                    );
                }
                if r > 63 {
                    assert_eq!(r, 511);
                    assert!(8.0 * r as f64 * 5.0 * UNIT_ROUNDOFF * n <= 1e-2 * tol);
                }
            }
        }
        // EA S2 (200 steps): whole-block runs at 1e−7, the former 64-node runs at 1e−9; ten
        // steps at 1e−9 keep the 64-node runs.
        assert_eq!(rotations(1e-7, 200.0), 511);
        assert_eq!(rotations(1e-9, 200.0), 63);
        assert_eq!(rotations(1e-9, 10.0), 63);
    }

    /// A 512-node run of propagated phases (one sin/cos seed per x-node for the whole block) is a
    /// certified value: it overlaps the single evaluation within the two error bounds, and its
    /// bound stays at rounding level relative to M(α); several q, σ, α of both signs.
    #[test]
    fn whole_block_phase_runs_agree_with_single_evaluations() {
        for &(q, sigma, alpha) in &[
            (5e-4, 0.8, 9.75),
            (5e-4, 1.0, 15.0),
            (0.005, 0.573, 2.7),
            (0.01, 1.0, -7.0),
            (0.1, 2.0, 4.0),
        ] {
            let mu = 1.0 / sigma;
            let betas: Vec<f64> = (0..512).map(|k| 0.5 + 0.173 * k as f64).collect();
            for block in [0, SUM_BLOCK] {
                let scheme = SumScheme {
                    rotations: 511,
                    block,
                };
                let sampled = |k: usize| k % 31 == 0 || k == 511;
                assert_windowed_agrees_with_single((q, mu, alpha), &betas, scheme, 1e-11, sampled);
            }
        }
    }

    /// The coarse grid's two-block evaluation and the doubling blocks of [`eval_grid`] give
    /// overlapping certified values at every node (remove and add ordering, several q, σ, λ).
    #[test]
    fn halved_grid_agrees_with_the_blocked_grid() {
        for &(q, sigma, add, lambda, step, k_max) in &[
            (5e-4, 0.8, false, 9.75, 17.6, 40usize),
            (5e-4, 0.8, false, 9.75, 70.4, 20),
            (5e-4, 0.8, true, 432.7, 70.6, 12),
            (0.005, 0.573, false, 2.7, 3.0, 60),
            (0.01, 1.0, true, 7.5, 1.1, 9),
            (0.1, 2.0, false, 4.0, 0.7, 5),
        ] {
            let t = Transform::Subsampled {
                q,
                mu: 1.0 / sigma,
                add,
            };
            let a = eval_grid(&t, lambda, (step, k_max), LOOSE, Blocks::Halves);
            let b = eval_grid(&t, lambda, (step, k_max), LOOSE, Blocks::Doubling);
            assert_eq!(a.len(), k_max + 1);
            assert_eq!(b.len(), k_max + 1);
            for (k, (x, y)) in a.iter().zip(&b).enumerate() {
                let diff = (x.ln.exp() - y.ln.exp()).norm();
                let bound = x.ln_err.exp() + y.ln_err.exp();
                assert!(
                    diff <= bound,
                    "q={q} σ={sigma} λ={lambda} k={k}: {diff:e} > {bound:e}"
                );
            }
        }
    }
}
