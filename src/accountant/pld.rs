//! The PLD accountant: certified upper and lower bounds from discretised privacy-loss
//! distributions composed by FFT (docs/math.md §1, §7, §11; the numerics live in [`crate::pld`]).

use super::{Bracket, Guarantee, OrderingAccountant, OrderingAnswer, Query};
use crate::error::{Error, Range, Result};
use crate::event::Composition;
use crate::mechanism::{Adjacency, Direction, Mechanism};
use crate::pld::bounds::{ctd_bounds, spacing_for_width};
use crate::pld::loss::{boundary_shift, LossLaw};
use crate::pld::{Convolver, Limits, Pmf, Rounding};
use rayon::prelude::*;

/// Default target relative width of the ε bracket.
pub const DEFAULT_TOLERANCE: f64 = 5e-3;
/// Accepted [`PldParams::tolerance`]: [1e−6, 0.5]. Below 1e−6 the bracket would be set by
/// the floating-point error floor of the FFT rather than by the grid, so a tolerance there
/// could not be honoured; [`PldAccountant::new`] rejects it.
pub const TOLERANCE_RANGE: Range = Range::closed(1e-6, 0.5);
/// Accepted [`PldParams::max_grid_points`] (the CLI's `--grid-budget`): 1024 to 2^27 points.
/// The FFT buffers take about 5 f64 (40 bytes) per point, so the largest budget needs about
/// 5.4 GB; larger budgets are rejected before anything is allocated.
pub const GRID_BUDGET_RANGE: std::ops::RangeInclusive<usize> = 1024..=(1 << 27);
/// Largest |privacy loss| a grid represents. Grid points are k·h with integer k, exact in f64
/// and i64 only while |k| < 2^53, and the safety shift of grid boundaries grows with |ℓ|
/// (1e−11·|ℓ|); a composition whose loss window reaches beyond this is refused
/// ([`Error::NotCertified`]) rather than answered with a grid that cannot resolve it.
pub const MAX_LOSS: f64 = 1e12;
/// A tolerance that does not fit the grid budget is relaxed by up to this factor (with a
/// note); beyond it the call fails with [`Error::BudgetExceeded`].
const MAX_RELAXATION: f64 = 4.0;

/// Truncated mass of the coarse pass of a δ query (above the FFT noise floor, so that the
/// coarse grids stay compact); the fine pass truncates 1e−3 of the coarse lower bound.
const COARSE_DELTA_TAIL: f64 = 1e-10;

/// Default grid budget: 2^22 points (peak memory about 150 MB per pmf being composed).
pub const DEFAULT_MAX_GRID_POINTS: usize = 1 << 22;

/// How each mechanism's privacy loss is put on the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Discretisation {
    /// Connect-the-dots for laws without atoms (it is never worse: its upper bound has an
    /// O(h²) error per summand and its lower bound is at least as good as a shift by one grid
    /// step per summand), round-up/round-down when a mechanism has atoms (Laplace).
    #[default]
    Auto,
    /// Every loss rounded up (upper bound) and down (lower bound): the bracket is about
    /// (summands + 1)·h wide.
    RoundUp,
    /// Connect-the-dots (falls back to round-up for laws with atoms).
    ConnectDots,
}

/// The grid budget of a [`Error::BudgetExceeded`] message, naming the flags that size it
/// (`extra` is appended after the count).
pub(crate) fn grid_budget_text(points: usize, extra: &str) -> String {
    format!(
        "{points} grid points{extra} (set by --grid-budget, at most {}; a larger --tolerance \
         needs fewer)",
        GRID_BUDGET_RANGE.end()
    )
}

/// Parameters of [`PldAccountant`].
#[derive(Debug, Clone, PartialEq)]
pub struct PldParams {
    /// Ordering(s) to cover.
    pub adjacency: Adjacency,
    /// Target relative width of the bracket, in [`TOLERANCE_RANGE`]. Round-up: h = tolerance·ε/R with R the number of
    /// discretised summands (each rounding moves the loss by < h). Connect-the-dots: the
    /// largest of that rule, the Hoeffding rule (R·h²/8 + h·√(R·ln(1/δ′)/2) = tolerance·ε)
    /// and an h² extrapolation of the coarse pass's second-order bracket.
    pub tolerance: f64,
    /// Most grid points one pmf may hold, in [`GRID_BUDGET_RANGE`]. When the tolerance needs
    /// more, it is relaxed by up to 4x (with a note); beyond that the call fails with
    /// [`Error::BudgetExceeded`] (and says which tolerance would fit).
    pub max_grid_points: usize,
    /// Total probability mass truncated (moved to +∞ for the upper bound, dropped for the
    /// lower bound) in a δ query; an ε query truncates max(1e−3·δ, tail_mass).
    pub tail_mass: f64,
    /// A fixed grid spacing h instead of the tolerance rule.
    pub grid_spacing: Option<f64>,
    /// Discretisation method.
    pub discretisation: Discretisation,
}

impl Default for PldParams {
    fn default() -> Self {
        PldParams {
            adjacency: Adjacency::AddRemove,
            tolerance: DEFAULT_TOLERANCE,
            max_grid_points: DEFAULT_MAX_GRID_POINTS,
            tail_mass: 1e-12,
            grid_spacing: None,
            discretisation: Discretisation::Auto,
        }
    }
}

/// The PLD accountant.
///
/// For each ordering the Q-side law of the privacy loss of every mechanism is discretised on
/// a grid of spacing h by connect-the-dots (a dominating pair; lower bounds from the same
/// composed pmf, see [`crate::pld::bounds::ctd_bounds`]: a deterministic, a Hoeffding and a
/// second-order bound, the best taken), or, for laws with atoms (Laplace) or with
/// [`Discretisation::RoundUp`], twice, rounding loss values up (pessimistic) and down
/// (optimistic); n-fold compositions are formed by FFT with repeated squaring, heterogeneous parts by
/// further convolutions, and Gaussian mechanisms are merged exactly first (a composition of
/// Gaussians is the Gaussian with μ² = Σ μ_i²). δ(ε) = E_Q[(1 − e^{ε−S})₊] is read off both
/// composed laws; ε(δ) is the first crossing of each bound curve.
///
/// # Guarantee
/// `bracket`: `upper` is a certified upper bound and `lower` a certified lower bound on the
/// exact ε(δ) (or δ(ε)) of the requested adjacency, including the truncated tail mass and a
/// bound on the floating-point error of the FFT (see [`crate::pld`]); `value` is the upper
/// bound. When δ is below what the error bound allows, `upper` is +∞ and the report is marked
/// `vacuous`, with the smallest certifiable δ in the notes. Each answer is a pure function of
/// the composition, the parameters and the query (no dependence on earlier calls or threads).
///
/// # Errors
/// [`Error::InvalidParameter`] from [`PldAccountant::new`] for parameters outside their
/// ranges; [`Error::BudgetExceeded`] when the grid needed for the tolerance exceeds the
/// budget; [`Error::NotCertified`] when the privacy loss reaches beyond ±[`MAX_LOSS`] (e.g. a
/// Gaussian with σ = 1e−300), where no grid can represent it.
///
/// # References
/// Koskela, Jälkö, Honkela, *Computing tight differential privacy guarantees using FFT*,
/// AISTATS 2020; Gopi, Lee, Wutschitz, *Numerical composition of differential privacy*,
/// NeurIPS 2021 (Thm 5.5: Hoeffding bound on the rounding error); Doroshenko, Ghazi, Kamath,
/// Kumar, Manurangsi, *Connect the dots: tighter discrete approximations of privacy loss
/// distributions*, PETS 2022 (pessimistic/optimistic rounding §3, connect-the-dots §4);
/// Hoeffding, *Probability inequalities for sums of bounded random variables*, JASA 1963
/// (Lemma: a centred variable in an interval of length h is sub-Gaussian with proxy h²/4).
#[derive(Debug, Clone)]
pub struct PldAccountant {
    params: PldParams,
    composition: Composition,
}

/// One discretised summand: a law composed `count` times.
#[derive(Debug, Clone, Copy)]
struct Part {
    law: LossLaw,
    count: u64,
}

/// What one grid certifies for one ordering.
#[derive(Debug, Clone, Copy)]
struct GridReading {
    /// Certified ends (`upper` = +∞ where δ is below the certifiable floor); `value` is the
    /// upper end.
    bracket: Bracket,
    points: usize,
    err: f64,
    inf_mass: f64,
    /// Connect-the-dots only: the lower end from the second-order bound alone (for sizing the
    /// grid: its distance to `upper` shrinks like h²).
    lower2: Option<f64>,
}

impl GridReading {
    fn new(lower: f64, upper: Option<f64>, up: &Pmf, points: usize, lower2: Option<f64>) -> Self {
        let upper = upper.unwrap_or(f64::INFINITY);
        GridReading {
            bracket: Bracket::certified(lower, upper, upper),
            points,
            err: up.error_bound() + up.inf_mass,
            inf_mass: up.inf_mass,
            lower2,
        }
    }

    fn lower(&self) -> f64 {
        self.bracket.lower.unwrap_or(0.0)
    }

    fn upper(&self) -> f64 {
        self.bracket.upper.unwrap_or(f64::INFINITY)
    }
}

/// The readings of every distinct ordering on one grid.
type Readings = Vec<(Direction, GridReading)>;

/// What a query needs to know before any grid is built.
#[derive(Debug, Clone)]
struct Plan {
    query: Query,
    /// The given ε (δ query) or δ (ε query).
    x: f64,
    /// The orderings whose laws differ (one for symmetric compositions).
    dirs: Vec<Direction>,
    /// Number of discretised summands.
    r_count: f64,
    ctd: bool,
    /// 12 standard deviations of the composed loss (or the widest window).
    scale: f64,
    /// Truncated mass of the first pass.
    tail: f64,
    /// The finest useful spacing: 64 boundary safety shifts η (a finer grid would have the
    /// safety margins, not the law, decide where the mass goes).
    h_min: f64,
}

/// The largest (lower, upper) over the orderings.
fn ends(c: &[(Direction, GridReading)]) -> (f64, f64) {
    let lo = c.iter().map(|(_, b)| b.lower()).fold(0.0, f64::max);
    let up = c.iter().map(|(_, b)| b.upper()).fold(0.0, f64::max);
    (lo, up)
}

/// Whether every reading's error bound (FFT rounding, truncation and +∞ mass) is below 1% of δ
/// (the given δ of an ε query, the lowest lower end of a δ query's readings).
fn errors_small(query: Query, x: f64, c: &[(Direction, GridReading)]) -> bool {
    let delta = match query {
        Query::Epsilon => x,
        Query::Delta => c
            .iter()
            .map(|(_, b)| b.lower())
            .fold(f64::INFINITY, f64::min),
    };
    c.iter().all(|(_, b)| b.err <= 0.01 * delta)
}

/// Most grid points of any ordering's pmf.
fn max_points(c: &[(Direction, GridReading)]) -> usize {
    c.iter().map(|(_, b)| b.points).max().unwrap_or(1)
}

impl PldAccountant {
    /// A PLD accountant with the given parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the parameter: `tolerance` outside
    /// [`TOLERANCE_RANGE`], `tail_mass` ∉ (0, 1e−3], `max_grid_points` (the grid budget)
    /// outside [`GRID_BUDGET_RANGE`], `grid_spacing` ∉ (0, 1] when given.
    ///
    /// # Examples
    /// The k-fold Gaussian mechanism has the closed form δ(ε) = Φ(−ε/μ + μ/2) −
    /// e^ε Φ(−ε/μ − μ/2), μ = √k/σ; the certified bracket contains it:
    /// ```
    /// use ewtune::accountant::{Accountant, PldAccountant, PldParams};
    /// use ewtune::edgeworth::gaussian_delta;
    /// use ewtune::event::DpEvent;
    ///
    /// let mut pld = PldAccountant::new(PldParams::default())?;
    /// pld.compose(&DpEvent::Gaussian { sigma: 2.0 }, 100)?;
    /// let r = pld.delta(3.0)?;
    /// let exact = gaussian_delta(100f64.sqrt() / 2.0, 3.0); // μ = √k/σ = 5
    /// assert!(r.lower.unwrap() <= exact && exact <= r.upper.unwrap());
    /// # Ok::<(), ewtune::Error>(())
    /// ```
    pub fn new(params: PldParams) -> Result<Self> {
        params.validate()?;
        Ok(PldAccountant {
            params,
            composition: Composition::default(),
        })
    }

    fn parts(&self, dir: Direction) -> Vec<Part> {
        let mut gauss_mu2 = 0.0;
        let mut parts = Vec::new();
        for (m, n) in &self.composition.parts {
            match m {
                Mechanism::Gaussian(g) => gauss_mu2 += *n as f64 / (g.sigma() * g.sigma()),
                Mechanism::SubsampledGaussian(s) if s.sampling_rate() == 1.0 => {
                    gauss_mu2 += *n as f64 / (s.sigma() * s.sigma())
                }
                Mechanism::SubsampledGaussian(s) => parts.push(Part {
                    law: LossLaw::subsampled(s.sampling_rate(), 1.0 / s.sigma(), dir),
                    count: *n,
                }),
                Mechanism::Laplace(l) => parts.push(Part {
                    law: LossLaw::Laplace { a: 1.0 / l.scale() },
                    count: *n,
                }),
                Mechanism::RandomizedResponse(_) | Mechanism::DiscreteLaplace(_) => {
                    if let Some(l) = m.lattice() {
                        parts.push(Part {
                            law: LossLaw::Lattice(l),
                            count: *n,
                        })
                    }
                }
                Mechanism::SubsampledLaplace(s) => parts.push(Part {
                    law: LossLaw::subsampled_laplace(s, dir),
                    count: *n,
                }),
                Mechanism::DiscreteGaussian(g) => parts.push(Part {
                    law: LossLaw::Lattice(crate::mechanism::LatticeMechanism::DiscreteGaussian(*g)),
                    count: *n,
                }),
                Mechanism::GaussianMixture(g) => parts.push(Part {
                    law: g.loss_law(dir),
                    count: *n,
                }),
                Mechanism::TruncatedPoisson(t) => parts.push(Part {
                    law: LossLaw::Union(t.law(dir)),
                    count: *n,
                }),
            }
        }
        if gauss_mu2 > 0.0 {
            parts.push(Part {
                law: LossLaw::Gaussian {
                    mu: gauss_mu2.sqrt(),
                },
                count: 1,
            });
        }
        parts
    }

    /// The orderings of `wanted` whose laws differ (Gaussian and Laplace are symmetric).
    fn distinct_directions(&self, wanted: &[Direction]) -> Vec<Direction> {
        let symmetric = self.composition.parts.iter().all(|(m, _)| match m {
            Mechanism::SubsampledGaussian(s) => s.sampling_rate() == 1.0,
            Mechanism::SubsampledLaplace(s) => s.sampling_rate() == 1.0,
            Mechanism::GaussianMixture(g) => g.is_symmetric(),
            Mechanism::TruncatedPoisson(t) => t.is_symmetric(),
            _ => true,
        });
        if symmetric {
            vec![wanted[0]]
        } else {
            wanted.to_vec()
        }
    }

    /// Number of discretised summands (each rounding moves the sum by < h).
    fn roundings(&self, parts: &[Part]) -> f64 {
        parts.iter().map(|p| p.count as f64).sum::<f64>().max(1.0)
    }

    /// Refuse a composition whose loss window (at the smallest truncation any grid uses)
    /// is not finite or reaches beyond ±[`MAX_LOSS`], summed over the summands.
    fn check_loss_range(parts: &[Part], dir: Direction) -> Result<()> {
        let mut reach = 0.0;
        for p in parts {
            let (lo, hi) = p.law.window(1e-300);
            if !(lo.is_finite() && hi.is_finite()) {
                // E.g. NaN ends where 1/σ² overflows.
                return Err(Error::NotCertified(format!(
                    "the {} ordering's privacy-loss window (mass outside it below 1e-300) is \
                     [{lo:e}, {hi:e}], not a finite interval: a PLD grid cannot represent it",
                    dir.name(),
                )));
            }
            reach += p.count as f64 * lo.abs().max(hi.abs());
            if !(lo.is_finite() && hi.is_finite() && reach.is_finite()) || reach > MAX_LOSS {
                let hint = match p.law {
                    LossLaw::Gaussian { .. } => {
                        " (the gdp accountant is exact for Gaussian mechanisms)"
                    }
                    _ => "",
                };
                return Err(Error::NotCertified(format!(
                    "the {} ordering's privacy loss reaches {reach:.3e}, beyond the ±{MAX_LOSS:e} a PLD grid can represent (grid points k·h must be exact in f64){hint}",
                    dir.name(),
                )));
            }
        }
        Ok(())
    }

    fn compose_pmf(
        &self,
        parts: &[Part],
        h: f64,
        rounding: Rounding,
        tail: f64,
        ctd: bool,
    ) -> Result<Pmf> {
        // Truncation budget: an equal share per part and one for combining the parts; a
        // single step's tails enter `count` times.
        let share = tail / (parts.len() as f64 + 1.0);
        let mut conv = Convolver::new(Limits {
            max_points: self.params.max_grid_points,
        });
        let mut composed_parts = Vec::with_capacity(parts.len());
        for p in parts {
            let tau = share / (2.0 * p.count as f64);
            let (lo, hi) = p.law.window(tau);
            let len = (hi - lo) / h + 5.0;
            if len.is_nan() || len > self.params.max_grid_points as f64 {
                return Err(Error::BudgetExceeded {
                    what: "PLD grid of one mechanism".into(),
                    needed: format!("{len:.3e} grid points"),
                    budget: grid_budget_text(self.params.max_grid_points, ""),
                });
            }
            let one = if ctd {
                // None: a law with atoms (never chosen here) or a bin mass that is not a
                // finite number (σ ≳ 1e200, where μ² underflows).
                p.law.discretise_connect_dots(h, tau).ok_or_else(|| {
                    Error::NotCertified(format!(
                        "pld: the connect-the-dots discretisation at h = {h:e} has a bin mass \
                         that is not a finite number (as at sigma beyond ~1e200, where mu^2 \
                         underflows)"
                    ))
                })?
            } else {
                p.law.discretise(h, tau, rounding)
            };
            composed_parts.push(match conv.self_compose_power(&one, p.count, share / 4.0)? {
                Some(c) => c,
                None => conv.self_compose(&one, p.count, share / 4.0)?,
            });
        }
        // The parts are combined pairwise, level by level (a balanced tree): each FFT then
        // pairs pmfs of similar length, about log2(parts) passes over the final length rather
        // than one pass per part (docs/math.md §11.5). Each of the
        // parts − 1 combinations truncates at most share/parts, as in a chain.
        while composed_parts.len() > 1 {
            let mut next = Vec::with_capacity(composed_parts.len().div_ceil(2));
            let mut it = composed_parts.into_iter();
            while let Some(a) = it.next() {
                next.push(match it.next() {
                    Some(b) => {
                        let mut c = conv.convolve(&a, &b)?;
                        c.truncate(share / parts.len() as f64);
                        c
                    }
                    None => a,
                });
            }
            composed_parts = next;
        }
        let mut total = composed_parts
            .pop()
            .unwrap_or_else(|| Pmf::identity(h, rounding));
        // Truncated-Poisson parts are evaluated at an f64 weight t_f within η of the exact
        // one: the composed δ moves by at most Σ count·η (docs/math.md §17.8), carried as
        // lumped error (added to every upper reading, subtracted from every lower one).
        total.err1 += self.weight_slack();
        Ok(total)
    }

    /// Σ count·η over the truncated-Poisson parts (docs/math.md §17.8), rounded up.
    fn weight_slack(&self) -> f64 {
        let s: f64 = self
            .composition
            .parts
            .iter()
            .map(|(m, n)| match m {
                Mechanism::TruncatedPoisson(t) => *n as f64 * t.weight_error(),
                _ => 0.0,
            })
            .sum();
        s * (1.0 + 1e-12)
    }

    /// Whether the parts are discretised by connect-the-dots (see [`Discretisation`]).
    fn use_ctd(&self, parts: &[Part]) -> bool {
        if parts.iter().any(|p| p.law.has_atoms()) {
            return false;
        }
        self.params.discretisation != Discretisation::RoundUp
    }

    /// The largest boundary safety shift η of any part at spacing h.
    fn max_eta(parts: &[Part], h: f64) -> f64 {
        parts
            .iter()
            .map(|p| p.law.max_boundary_shift(h, 1e-300))
            .fold(0.0, f64::max)
    }

    /// Whether the optimistic law can be derived from the pessimistic one by a shift (no
    /// atoms, and the boundary safety shifts summed over all summands stay below h/2).
    fn shift_ok(&self, parts: &[Part], h: f64) -> bool {
        let mut eta_total = 0.0;
        for p in parts {
            if p.law.has_atoms() {
                return false;
            }
            let (lo, hi) = p.law.window(1e-300);
            let eta = boundary_shift(p.law.slope(), lo.abs().max(hi.abs()) + h);
            eta_total += eta * p.count as f64;
        }
        eta_total < 0.5 * h
    }

    /// Scale of the composed loss (for the coarse grid): 12 standard deviations of the summed
    /// Q-side loss, or the widest single-mechanism window.
    ///
    /// The variance is the cumulants' where that is consistent with the truncated law (12
    /// standard deviations within the summed windows); where it is not (small σ: the
    /// variance of the exact law is dominated by mass far beyond any window), the variance of
    /// each law restricted to its window, from a probe discretisation, is used instead.
    fn scale(&self, parts: &[Part], dir: Direction) -> f64 {
        let var: f64 = self
            .composition
            .parts
            .iter()
            .map(|(m, n)| m.cumulants(dir).q[1] * *n as f64)
            .sum();
        let windows: Vec<(f64, f64)> = parts.iter().map(|p| p.law.window(1e-12)).collect();
        let widest = windows.iter().map(|(lo, hi)| hi - lo).fold(0.0, f64::max);
        let range: f64 = parts
            .iter()
            .zip(&windows)
            .map(|(p, (lo, hi))| p.count as f64 * (hi - lo))
            .sum();
        let mut sd = var.max(0.0).sqrt();
        if (12.0 * sd).is_nan() || 12.0 * sd > range {
            sd = parts
                .iter()
                .map(|p| p.count as f64 * Self::window_variance(&p.law))
                .sum::<f64>()
                .sqrt();
        }
        (12.0 * sd).max(widest).max(1e-12)
    }

    /// Variance of a law restricted to its window of truncated mass 1e−12 (from a probe
    /// discretisation of about 2048 points; only sizes the coarse grid).
    fn window_variance(law: &LossLaw) -> f64 {
        let (lo, hi) = law.window(1e-12);
        let h = (hi - lo) / 2048.0;
        // A window too narrow for 2048 grid points at its distance from 0 (a law with nearly
        // all its mass at one loss, e.g. σ = 1e-3): the variance of any law on [lo, hi] is at
        // most ((hi − lo)/2)², which serves to size the coarse grid.
        if !(h > 0.0 && lo.abs().max(hi.abs()) / h < 1e15) {
            let half = 0.5 * (hi - lo);
            return if half.is_finite() { half * half } else { 0.0 };
        }
        let probe = law.discretise(h, 1e-12, Rounding::Pessimistic);
        let (mut m0, mut m1, mut m2) = (0.0, 0.0, 0.0);
        for (i, &p) in probe.masses.iter().enumerate() {
            let s = probe.loss(i);
            m0 += p;
            m1 += p * s;
            m2 += p * s * s;
        }
        if m0 <= 0.0 {
            return 0.0;
        }
        let mean = m1 / m0;
        (m2 / m0 - mean * mean).max(0.0)
    }

    /// Readings for every distinct ordering at grid spacing h; `x` is ε (δ query) or δ.
    fn run(&self, dirs: &[Direction], h: f64, query: Query, x: f64, tail: f64) -> Result<Readings> {
        let run = GridRun {
            dirs,
            h,
            query,
            x,
            tail,
        };
        if self.use_ctd(&self.parts(dirs[0])) {
            self.run_connect_dots(run)
        } else {
            self.run_rounded(run)
        }
    }

    /// Connect-the-dots: one composed pmf per ordering, both ends from it.
    fn run_connect_dots(&self, run: GridRun) -> Result<Readings> {
        let (h, tail) = (run.h, run.tail);
        let computed: Vec<Result<Pmf>> = run
            .dirs
            .to_vec()
            .par_iter()
            .map(|&d| self.compose_pmf(&self.parts(d), h, Rounding::Pessimistic, tail, true))
            .collect();
        let mut out = Vec::new();
        for (&d, up) in run.dirs.iter().zip(computed) {
            let up = up?;
            let parts = self.parts(d);
            let r = self.roundings(&parts);
            // The lower bounds use a mean shift of 5η beyond h²/8 and 300u·h/(1 − e^{−h});
            // where the log-space split needs a larger margin, η is raised to cover it.
            let excess = parts
                .iter()
                .map(|p| p.law.split_mean_excess(h, 1e-300))
                .fold(0.0, f64::max);
            let eta = Self::max_eta(&parts, h) + excess / 5.0;
            let b = ctd_bounds(&up, r, eta, run.query, run.x);
            out.push((
                d,
                GridReading::new(b.lower, b.upper, &up, up.len(), b.lower2),
            ));
        }
        Ok(out)
    }

    /// Round-up/round-down: a pessimistic and an optimistic pmf per ordering (the optimistic
    /// one a shift of the pessimistic where [`PldAccountant::shift_ok`]).
    fn run_rounded(&self, run: GridRun) -> Result<Readings> {
        let (h, x) = (run.h, run.x);
        let mut jobs: Vec<(Direction, Rounding)> = Vec::new();
        for &d in run.dirs {
            jobs.push((d, Rounding::Pessimistic));
            if !self.shift_ok(&self.parts(d), h) {
                jobs.push((d, Rounding::Optimistic));
            }
        }
        let computed: Vec<Result<Pmf>> = jobs
            .par_iter()
            .map(|&(d, r)| self.compose_pmf(&self.parts(d), h, r, run.tail, false))
            .collect();
        let mut it = jobs.iter().zip(computed);
        let mut out = Vec::new();
        while let Some((&(d, _), up)) = it.next() {
            let up = up?;
            let lo = if self.shift_ok(&self.parts(d), h) {
                let summands: u64 = self.parts(d).iter().map(|p| p.count).sum();
                up.optimistic_shift(summands)
            } else {
                let (_, lo) = it.next().expect("invariant: an optimistic job follows");
                lo?
            };
            let (lower, upper) = match run.query {
                Query::Epsilon => (lo.epsilon_bound(x).unwrap_or(0.0), up.epsilon_bound(x)),
                Query::Delta => (lo.delta_bound(x), Some(up.delta_bound(x))),
            };
            let points = up.len().max(lo.len());
            out.push((d, GridReading::new(lower, upper, &up, points, None)));
        }
        Ok(out)
    }

    /// Everything a query needs before the first grid: the distinct orderings, the summand
    /// count, the discretisation, the scale and the first truncation; refuses losses a grid
    /// cannot represent.
    fn plan(&self, query: Query, x: f64, wanted: &[Direction]) -> Result<Plan> {
        let dirs = self.distinct_directions(wanted);
        let parts = self.parts(dirs[0]);
        for &d in &dirs {
            Self::check_loss_range(&self.parts(d), d)?;
        }
        let scale = dirs
            .iter()
            .map(|&d| self.scale(&self.parts(d), d))
            .fold(0.0, f64::max);
        // Truncated mass: min(1e-3, tolerance/4)·δ for an ε query (it is counted at +∞ in the
        // upper bound and as an ℓ1 error of the composed pmfs, so it moves both ends by a small
        // fraction of the requested width), `tail_mass` for a δ query (refined from the coarse
        // pass). Truncating above the FFT noise floor keeps composed grids compact.
        let tail = match query {
            Query::Epsilon => {
                (1e-3f64.min(0.25 * self.params.tolerance) * x).max(self.params.tail_mass)
            }
            Query::Delta => COARSE_DELTA_TAIL.max(self.params.tail_mass),
        };
        let h_min = dirs
            .iter()
            .map(|&d| 64.0 * Self::max_eta(&self.parts(d), 0.0))
            .fold(0.0, f64::max);
        Ok(Plan {
            h_min,
            query,
            x,
            r_count: self.roundings(&parts),
            ctd: self.use_ctd(&parts),
            scale,
            tail,
            dirs,
        })
    }

    /// Coarse pass (~4096 points across the composed law). For an ε query a coarse grid over
    /// many summands gives a wide bracket: refine (at most three times) to a ~10% bracket
    /// before the final grid is sized on its lower end. Returns the spacing used.
    fn coarse_pass(&self, plan: &Plan) -> Result<(f64, Readings)> {
        let (query, x) = (plan.query, plan.x);
        let mut h0 = (plan.scale / 4096.0).max(plan.h_min);
        let mut coarse = self.run(&plan.dirs, h0, query, x, plan.tail)?;
        if query == Query::Delta {
            return Ok((h0, coarse));
        }
        for _ in 0..3 {
            let (lo, up) = ends(&coarse);
            if plan.ctd && up.is_finite() && coarse.iter().all(|(_, b)| b.lower2.is_some()) {
                // The second-order bound sizes the final grid directly.
                break;
            }
            let mid = if up.is_finite() {
                0.5 * (lo + up)
            } else {
                2.0 * lo + 1.0
            };
            let h1 = spacing_for_width(plan.ctd, plan.r_count, (100.0 / x).ln(), 0.1 * mid)
                .max(plan.h_min);
            let predicted = 2.2 * max_points(&coarse) as f64 * h0 / h1;
            if up - lo <= 0.2 * mid
                || h1 >= 0.5 * h0
                || predicted > 0.25 * self.params.max_grid_points as f64
            {
                break;
            }
            coarse = self.run(&plan.dirs, h1, query, x, plan.tail)?;
            h0 = h1;
        }
        Ok((h0, coarse))
    }

    /// The bracket width a reading set has: absolute for ε, relative for δ.
    fn width(query: Query, c: &[(Direction, GridReading)]) -> f64 {
        let (lo, up) = ends(c);
        match query {
            Query::Epsilon => up - lo,
            Query::Delta => (up - lo) / up.max(1e-300),
        }
    }

    /// The final pass: size h for the tolerance from the coarse readings (first-order rule,
    /// or an h² extrapolation of the second-order bracket), keep the coarse grid when it is
    /// already fine enough, fit the budget (relaxing the tolerance by at most
    /// [`MAX_RELAXATION`] with a note), refine only the orderings that can set the maximum,
    /// and refine once more where the measured order of convergence asks for it.
    fn fine_pass(
        &self,
        plan: &Plan,
        h0: f64,
        coarse: Readings,
        notes: &mut Vec<String>,
    ) -> Result<(f64, Readings)> {
        let sd = plan.scale / 12.0;
        // ε query: the bracket on ε is about R·h wide, asked to be tolerance × max(ε, floor),
        // the floor standing in for ε near 0. δ query: δ moves by a relative R·h·|d ln δ/dε|
        // ≈ R·h·z/sd, so the scale is the spread sd (or ε if larger).
        let loose = match plan.query {
            Query::Epsilon => 0.05 * sd,
            Query::Delta => sd,
        };
        // A spread dominated by rare large losses (truncated Poisson at σ ≈ 0.01: sd ~ 10³
        // against ε ≈ 4) put the floor far above ε, and the coarse bracket, [0, 6.89] or 7%
        // wide, was kept where a grid within the budget gives 0.5%: the floor is capped at half
        // the coarse upper end (ε lies below it). Where that grid is over the budget, the loose
        // floor's answer is returned as before.
        let up = ends(&coarse).1;
        let strict = match plan.query {
            Query::Epsilon if up.is_finite() && up > 0.0 => loose.min(0.5 * up),
            _ => loose,
        };
        if strict < loose {
            let mut tried = Vec::new();
            match self.fine_pass_at(plan, h0, coarse.clone(), &mut tried, strict) {
                Err(e) if e.is_budget() => {}
                other => {
                    notes.extend(tried);
                    return other;
                }
            }
        }
        self.fine_pass_at(plan, h0, coarse, notes, loose)
    }

    /// [`Self::fine_pass`] with the given floor of the ε scale (ε query) or spread (δ query).
    fn fine_pass_at(
        &self,
        plan: &Plan,
        h0: f64,
        coarse: Readings,
        notes: &mut Vec<String>,
        floor: f64,
    ) -> Result<(f64, Readings)> {
        let (query, x, tol) = (plan.query, plan.x, self.params.tolerance);
        let eps_ref = match query {
            Query::Epsilon => ends(&coarse).0,
            Query::Delta => x,
        };
        let log_inv = match query {
            Query::Epsilon => (100.0 / x).ln(),
            Query::Delta => (100.0 / ends(&coarse).1.clamp(1e-300, 1.0)).ln(),
        };
        let mut h = spacing_for_width(plan.ctd, plan.r_count, log_inv, tol * eps_ref.max(floor))
            .max(plan.h_min);
        // Connect-the-dots with a second-order lower end: the bracket shrinks like h^p,
        // p ≈ 2 asymptotically (less on coarse grids, where the Hoeffding and FFT-error
        // terms still matter). Extrapolate with p = 2 from the coarse pass; if the fine
        // bracket is still too wide, measure p from the two passes and refine once more.
        // Never use a finer grid than the first-order rule asks for.
        let w_target = match query {
            Query::Epsilon => tol * eps_ref.max(floor),
            Query::Delta => tol,
        };
        let w0 = Self::width(query, &coarse);
        let second_order = plan.ctd && coarse.iter().all(|(_, b)| b.lower2.is_some());
        let keep_coarse = if second_order {
            if w0.is_finite() && w0 > w_target {
                h = h.max(h0 * (w_target / w0).sqrt()).min(h0);
                h >= 0.95 * h0
            } else {
                true
            }
        } else {
            h >= 0.5 * h0
        };
        if keep_coarse {
            return Ok((h0, coarse));
        }
        let tail = match query {
            Query::Epsilon => plan.tail,
            Query::Delta => coarse
                .iter()
                .map(|(_, b)| 1e-3 * b.lower())
                .fold(self.params.tail_mass, f64::max),
        };
        let h = self.fit_budget(h, h0, max_points(&coarse), notes)?;
        // An ordering whose coarse upper end lies below another's coarse lower end cannot
        // change the bracket (the maximum over orderings): keep its coarse readings and
        // refine only the others.
        let top_lower = ends(&coarse).0;
        let (keep, skip): (Readings, Readings) = coarse
            .into_iter()
            .partition(|(_, b)| b.upper() >= top_lower);
        let keep_dirs: Vec<Direction> = keep.iter().map(|(d, _)| *d).collect();
        let mut fine = self.run(&keep_dirs, h, query, x, tail)?;
        let mut h = h;
        if second_order {
            let wf = Self::width(query, &fine);
            let points = max_points(&fine) as f64;
            let budget = self.params.max_grid_points as f64;
            if wf.is_finite() && wf > 1.05 * w_target && w0.is_finite() && wf > 0.0 {
                let p = ((w0 / wf).ln() / (h0 / h).ln()).clamp(1.0, 2.5);
                let h2 = 0.9 * h * (w_target / wf).powf(1.0 / p);
                let finest = 1.2 * points * h / (0.5 * budget);
                if h2 >= finest {
                    fine = self.run(&keep_dirs, h2, query, x, tail)?;
                    h = h2;
                } else if finest <= h / 1.5 && errors_small(query, x, &fine) {
                    // Over half the budget: the finest grid within it, where that is at least
                    // 1.5× finer and the grid's own error bounds (FFT rounding, truncation) are
                    // below 1% of δ, so that the discretisation sets the width (where they are
                    // not, a finer grid only adds points and error: δ = 3.3e−7 with an error
                    // bound of 2.2e−7 gave a wider bracket in 4× the time); the narrower of the
                    // two brackets is kept.
                    let finer = self.run(&keep_dirs, finest, query, x, tail)?;
                    if Self::width(query, &finer) < wf {
                        fine = finer;
                        h = finest;
                    }
                }
            }
        }
        fine.extend(skip);
        Ok((h, fine))
    }

    /// The spacing h made to fit the grid budget: a convolution holds about twice the
    /// truncated length before truncation, so h0's `points0` points become about
    /// 2.2·points0·h0/h. Relaxes the tolerance by up to [`MAX_RELAXATION`] (with a note).
    ///
    /// # Errors
    /// [`Error::BudgetExceeded`] (saying which tolerance would fit) beyond that.
    fn fit_budget(&self, h: f64, h0: f64, points0: usize, notes: &mut Vec<String>) -> Result<f64> {
        let needed = (2.2 * points0 as f64 * h0 / h).ceil();
        let budget = self.params.max_grid_points as f64;
        let tol = self.params.tolerance;
        if needed <= budget {
            return Ok(h);
        }
        let fits = 1.2 * tol * needed / budget;
        if fits > MAX_RELAXATION * tol {
            return Err(Error::BudgetExceeded {
                what: format!("PLD grid for tolerance {tol} (h = {h:.3e})"),
                needed: format!("about {needed:.3e} grid points"),
                budget: grid_budget_text(
                    self.params.max_grid_points,
                    &format!("; a tolerance of about {fits:.2e} fits"),
                ),
            });
        }
        notes.push(format!(
            "tolerance relaxed from {tol} to about {fits:.2e} to fit the grid budget of {} points",
            self.params.max_grid_points
        ));
        Ok(h * 1.2 * needed / budget)
    }

    /// Choose h (fixed, or coarse then fine pass) and read every ordering of `wanted` off
    /// the grids, in the order of `wanted`.
    fn solve(
        &self,
        query: Query,
        x: f64,
        wanted: &[Direction],
    ) -> Result<Vec<(Direction, OrderingAnswer)>> {
        let plan = self.plan(query, x, wanted)?;
        let mut notes = Vec::new();
        let (h, readings) = match self.params.grid_spacing {
            Some(h) => (h, self.run(&plan.dirs, h, query, x, plan.tail)?),
            None => {
                let (h0, coarse) = self.coarse_pass(&plan)?;
                self.fine_pass(&plan, h0, coarse, &mut notes)?
            }
        };
        if query == Query::Epsilon {
            // The reported bracket is [max of the lower ends, max of the upper ends] over the
            // orderings. Said, never silent: one the passes could not bring near the tolerance
            // (e.g. a single rarely sampled step at a tiny δ, where the discretisation of the
            // far tail dominates).
            let tol = self.params.tolerance;
            let (lo, up) = readings.iter().fold((0f64, 0f64), |(l, u), (_, r)| {
                (
                    l.max(r.bracket.lower.unwrap_or(0.0)),
                    u.max(r.bracket.upper.unwrap_or(f64::INFINITY)),
                )
            });
            let width = (up - lo) / up;
            if up.is_finite() && up > 0.0 && width > 2.0 * tol {
                notes.push(format!(
                    "the epsilon bracket is {width:.2e} wide relative, more than twice the \
                     tolerance {tol}; a smaller --tolerance or a larger --grid-budget may narrow \
                     it, or the contour accountant (~1e-9 relative where it answers)"
                ));
            }
        }
        Ok(Self::answers(query, x, wanted, h, &readings, notes))
    }

    /// One answer per ordering of `wanted` (orderings that share a law share the numbers);
    /// the accountant-wide notes (relaxation, truncated mass, grid, vacuity) go with the first.
    fn answers(
        query: Query,
        x: f64,
        wanted: &[Direction],
        h: f64,
        readings: &[(Direction, GridReading)],
        mut notes: Vec<String>,
    ) -> Vec<(Direction, OrderingAnswer)> {
        let mut max_err = 0f64;
        let mut max_pts = 0;
        let mut certified = true;
        for (d, b) in readings {
            max_pts = max_pts.max(b.points);
            max_err = max_err.max(b.err);
            certified &= b.upper().is_finite();
            if b.inf_mass > 0.0 {
                notes.push(format!(
                    "{} ordering: truncated tail mass {:.2e} counted as an infinite privacy loss (upper bound)",
                    d.name(),
                    b.inf_mass
                ));
            }
        }
        notes.push(format!(
            "grid spacing h = {h:.4e}, {max_pts} grid points, floating-point and truncation error bound on delta {max_err:.2e}"
        ));
        if !certified {
            let delta = if query == Query::Epsilon { x } else { 0.0 };
            notes.push(format!(
                "delta = {delta:e} is below the smallest certifiable delta (about {max_err:.2e}: FFT error bound and truncated mass); the upper bound is infinite (vacuous), the lower bound still holds"
            ));
        }
        let mut notes = Some(notes);
        wanted
            .iter()
            .map(|&d| {
                let b = readings
                    .iter()
                    .find(|(x, _)| *x == d)
                    .or_else(|| readings.first())
                    .map(|(_, b)| *b)
                    .expect("invariant: at least one ordering computed");
                let mut a = OrderingAnswer::new(b.bracket);
                a.notes = notes.take().unwrap_or_default();
                (d, a)
            })
            .collect()
    }

    /// The answer for a single ordering.
    fn solve_one(&self, query: Query, x: f64, dir: Direction) -> Result<OrderingAnswer> {
        self.solve(query, x, &[dir])?
            .pop()
            .map(|(_, a)| a)
            .ok_or_else(|| Error::Internal("PLD answered no ordering".into()))
    }
}

impl PldParams {
    /// Check every field against its accepted range.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] as listed at [`PldAccountant::new`].
    pub fn validate(&self) -> Result<()> {
        TOLERANCE_RANGE.check("tolerance", self.tolerance)?;
        Range::left_open(0.0, 1e-3).check("tail_mass", self.tail_mass)?;
        if !GRID_BUDGET_RANGE.contains(&self.max_grid_points) {
            return Err(Error::invalid(
                "grid_budget",
                self.max_grid_points,
                format!(
                    "the PLD grid budget (max_grid_points) must lie in [{}, {}] points (about 40 bytes each)",
                    GRID_BUDGET_RANGE.start(),
                    GRID_BUDGET_RANGE.end()
                ),
            ));
        }
        if let Some(h) = self.grid_spacing {
            Range::left_open(0.0, 1.0).check("grid_spacing", h)?;
        }
        Ok(())
    }
}

/// One grid evaluation: the orderings, the spacing h, the query and its argument `x` (ε for
/// a δ query, δ for an ε query), and the tail mass each distribution may drop.
#[derive(Debug, Clone, Copy)]
struct GridRun<'a> {
    dirs: &'a [Direction],
    h: f64,
    query: Query,
    x: f64,
    tail: f64,
}

impl OrderingAccountant for PldAccountant {
    ordering_accessors!("pld", merge);

    /// A discrete Gaussian beyond its atom cap is refused (`NotCertified`): this accountant
    /// needs its atoms (docs/math.md §16.9).
    fn check(&self, added: &Composition) -> Result<()> {
        crate::mechanism::lattice::refuse_large_in(self.name(), added)
    }

    fn guarantee(&self, _query: Query) -> Guarantee {
        Guarantee::Bracket
    }

    fn delta_for(&self, direction: Direction, epsilon: f64) -> Result<OrderingAnswer> {
        self.solve_one(Query::Delta, epsilon, direction)
    }

    fn epsilon_for(&self, direction: Direction, delta: f64) -> Result<OrderingAnswer> {
        self.solve_one(Query::Epsilon, delta, direction)
    }

    fn orderings_for(&self, query: Query, given: f64) -> Result<Vec<(Direction, OrderingAnswer)>> {
        self.solve(query, given, self.params.adjacency.directions())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edgeworth::gaussian_delta;

    /// n unmerged Gaussian summands (μ = 0.1 each) composed by FFT on a coarse connect-the-dots
    /// grid: the exact δ of the composition (Gaussian with μ = 0.1·√n) must lie inside the
    /// certified bracket, and the second-order lower bound must keep the bracket narrow where
    /// the deterministic shift n·h would not.
    #[test]
    fn connect_the_dots_bracket_contains_the_exact_composed_gaussian() {
        let (mu, n, h) = (0.1f64, 1000u64, 2e-3);
        let law = LossLaw::Gaussian { mu };
        let one = law
            .discretise_connect_dots(h, 1e-14)
            .expect("Gaussian has no atoms");
        let mut conv = Convolver::new(Limits {
            max_points: 1 << 22,
        });
        let squared = conv.self_compose(&one, n, 1e-12).expect("fits");
        let power = conv
            .self_compose_power(&one, n, 1e-12)
            .expect("fits")
            .expect("MGF bounds known");
        for up in [squared, power] {
            check_against_exact_gaussian(&up, &law, mu, n, h);
        }
    }

    fn check_against_exact_gaussian(up: &Pmf, law: &LossLaw, mu: f64, n: u64, h: f64) {
        let up = up.clone();
        let eta = law.max_boundary_shift(h, 1e-300);
        let mu_tot = mu * (n as f64).sqrt();
        for eps in [0.5, 1.0, 2.0, 4.0] {
            let exact = gaussian_delta(mu_tot, eps);
            let b = ctd_bounds(&up, n as f64, eta, Query::Delta, eps);
            let (lo, lo2) = (b.lower, b.lower2);
            let up_d = b.upper.expect("delta query has an upper end");
            assert!(
                lo <= exact && exact <= up_d,
                "eps {eps}: {lo:e} {exact:e} {up_d:e}"
            );
            // Tolerance: 1% relative width (the deterministic shift n·h = 2 alone would give
            // a lower end below exact·1e-2 here).
            assert!(
                (up_d - lo) / exact < 1e-2,
                "eps {eps}: bracket [{lo:e}, {up_d:e}] around {exact:e} (second order {lo2:?})"
            );
        }
        let delta = 1e-6;
        let b = ctd_bounds(&up, n as f64, eta, Query::Epsilon, delta);
        let (lo, up_e) = (b.lower, b.upper.expect("certifiable"));
        // ε of the exact curve by bisection (δ is decreasing in ε).
        let (mut a, mut b) = (0.0, 20.0);
        for _ in 0..200 {
            let m = 0.5 * (a + b);
            if gaussian_delta(mu_tot, m) > delta {
                a = m;
            } else {
                b = m;
            }
        }
        assert!(lo <= a && b <= up_e, "[{lo}, {up_e}] vs exact {a}");
        // Tolerance: 0.5% relative width.
        assert!((up_e - lo) / a < 5e-3, "[{lo}, {up_e}] vs exact {a}");
    }
}
