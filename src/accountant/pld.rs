//! The PLD accountant: certified upper and lower bounds from discretised privacy-loss
//! distributions composed by FFT (MATH.md §1, §7; the numerics live in [`crate::pld`]).

use super::{check_delta, check_epsilon, Accountant, Guarantee, OrderingValue, Query, Report};
use crate::error::{check_range, Error, Result};
use crate::event::{Composition, DpEvent};
use crate::mechanism::{Adjacency, Direction, Mechanism};
use crate::pld::loss::{boundary_shift, LossLaw};
use crate::pld::{Convolver, Limits, Pmf, Rounding};
use rayon::prelude::*;

/// Default target relative width of the ε bracket.
pub const DEFAULT_TOLERANCE: f64 = 5e-3;
/// Finest tolerance taken from the shared `AccountantOptions::tolerance` (whose CLI default,
/// 1e−9, is meant for the series accountants); finer grids are available through
/// [`PldParams::tolerance`] directly.
pub const MIN_SHARED_TOLERANCE: f64 = 1e-3;
/// A tolerance that does not fit the grid budget is relaxed by up to this factor (with a
/// note); beyond it the call fails with [`Error::BudgetExceeded`].
const MAX_RELAXATION: f64 = 4.0;

/// Truncated mass of the coarse pass of a δ query (above the FFT noise floor, so that the
/// coarse grids stay compact); the fine pass truncates 1e−3 of the coarse lower bound.
const COARSE_DELTA_TAIL: f64 = 1e-10;

/// Default grid budget: 2^22 points (peak memory about 150 MB per pmf being composed).
pub const DEFAULT_MAX_GRID_POINTS: usize = 1 << 22;

/// Parameters of [`PldAccountant`].
#[derive(Debug, Clone, PartialEq)]
pub struct PldParams {
    /// Ordering(s) to cover.
    pub adjacency: Adjacency,
    /// Target relative width of the bracket: the grid spacing is h = tolerance·ε/R with R
    /// the number of discretised summands, since each rounding moves the loss by < h.
    pub tolerance: f64,
    /// Most grid points one pmf may hold. When the tolerance needs more, it is relaxed by up
    /// to 4x (with a note); beyond that the call fails with [`Error::BudgetExceeded`] (and
    /// says which tolerance would fit).
    pub max_grid_points: usize,
    /// Total probability mass truncated (moved to +∞ for the upper bound, dropped for the
    /// lower bound) in a δ query; an ε query truncates max(1e−3·δ, tail_mass).
    pub tail_mass: f64,
    /// A fixed grid spacing h instead of the tolerance rule.
    pub grid_spacing: Option<f64>,
}

impl Default for PldParams {
    fn default() -> Self {
        PldParams {
            adjacency: Adjacency::AddRemove,
            tolerance: DEFAULT_TOLERANCE,
            max_grid_points: DEFAULT_MAX_GRID_POINTS,
            tail_mass: 1e-12,
            grid_spacing: None,
        }
    }
}

/// The PLD accountant.
///
/// For each ordering the Q-side law of the privacy loss of every mechanism is discretised on
/// a grid of spacing h twice, rounding loss values up (pessimistic) and down (optimistic);
/// n-fold compositions are formed by FFT with repeated squaring, heterogeneous parts by
/// further convolutions, and Gaussian mechanisms are merged exactly first (a composition of
/// Gaussians is the Gaussian with μ² = Σ μ_i²). δ(ε) = E_Q[(1 − e^{ε−S})₊] is read off both
/// composed laws; ε(δ) is the first crossing of each bound curve.
///
/// # Guarantee
/// `bracket`: `upper` is a certified upper bound and `lower` a certified lower bound on the
/// exact ε(δ) (or δ(ε)) of the requested adjacency, including the truncated tail mass and a
/// bound on the floating-point error of the FFT (see [`crate::pld`]); `value` is the upper
/// bound. When δ is below what the error bound allows, `upper` is +∞ and the report is marked
/// `vacuous`, with the smallest certifiable δ in the notes.
///
/// # Errors
/// [`Error::BudgetExceeded`] when the grid needed for the tolerance exceeds the budget.
///
/// # References
/// Koskela, Jälkö, Honkela, *Computing tight differential privacy guarantees using FFT*,
/// AISTATS 2020; Gopi, Lee, Wutschitz, *Numerical composition of differential privacy*,
/// NeurIPS 2021; Doroshenko et al., *Connect the dots*, PETS 2022 (pessimistic/optimistic
/// rounding, §3).
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

/// Bounds for one ordering from one grid.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    lower: f64,
    upper: Option<f64>,
    points: usize,
    err: f64,
    inf_mass: f64,
}

impl PldAccountant {
    /// # Errors
    /// `tolerance` ∈ (0, 0.5], `tail_mass` ∈ (0, 1e−3], `max_grid_points` ≥ 1024,
    /// `grid_spacing` > 0 when given.
    pub fn new(params: PldParams) -> Result<Self> {
        check_range("tolerance", params.tolerance, 0.0, true, 0.5, false)?;
        check_range("tail_mass", params.tail_mass, 0.0, true, 1e-3, false)?;
        if params.max_grid_points < 1024 {
            return Err(Error::invalid(
                "max_grid_points",
                params.max_grid_points,
                "must be at least 1024",
            ));
        }
        if let Some(h) = params.grid_spacing {
            check_range("grid_spacing", h, 0.0, true, 1.0, false)?;
        }
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

    /// Orderings whose laws differ (Gaussian and Laplace are symmetric).
    fn distinct_directions(&self) -> Vec<Direction> {
        let dirs = self.params.adjacency.directions();
        let symmetric = self.composition.parts.iter().all(|(m, _)| match m {
            Mechanism::SubsampledGaussian(s) => s.sampling_rate() == 1.0,
            _ => true,
        });
        if symmetric {
            vec![dirs[0]]
        } else {
            dirs.to_vec()
        }
    }

    /// Number of discretised summands (each rounding moves the sum by < h).
    fn roundings(&self, parts: &[Part]) -> f64 {
        parts.iter().map(|p| p.count as f64).sum::<f64>().max(1.0)
    }

    fn compose_pmf(&self, parts: &[Part], h: f64, rounding: Rounding, tail: f64) -> Result<Pmf> {
        // Truncation budget: an equal share per part and one for combining the parts; a
        // single step's tails enter `count` times.
        let share = tail / (parts.len() as f64 + 1.0);
        let mut conv = Convolver::new(Limits {
            max_points: self.params.max_grid_points,
        });
        let mut total: Option<Pmf> = None;
        for p in parts {
            let one = p
                .law
                .discretise(h, share / (2.0 * p.count as f64), rounding);
            if one.len() > self.params.max_grid_points {
                return Err(Error::BudgetExceeded {
                    what: "PLD grid of one mechanism".into(),
                    needed: format!("{} grid points", one.len()),
                    budget: format!("{} grid points", self.params.max_grid_points),
                });
            }
            let composed = conv.self_compose(&one, p.count, share / 4.0)?;
            total = Some(match total {
                None => composed,
                Some(t) => {
                    let mut c = conv.convolve(&t, &composed)?;
                    c.truncate(share / parts.len() as f64);
                    c
                }
            });
        }
        Ok(total.unwrap_or_else(|| Pmf::identity(h, rounding)))
    }

    /// Whether the optimistic law can be derived from the pessimistic one by a shift (no
    /// atoms, and the boundary safety shifts summed over all summands stay below h/2).
    fn shift_ok(&self, parts: &[Part], h: f64) -> bool {
        let mut eta_total = 0.0;
        for p in parts {
            if matches!(p.law, LossLaw::Laplace { .. }) {
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
    fn scale(&self, parts: &[Part], dir: Direction) -> f64 {
        let var: f64 = self
            .composition
            .parts
            .iter()
            .map(|(m, n)| m.cumulants(dir).q[1] * *n as f64)
            .sum();
        let widest = parts
            .iter()
            .map(|p| {
                let (lo, hi) = p.law.window(1e-12);
                hi - lo
            })
            .fold(0.0, f64::max);
        (12.0 * var.max(0.0).sqrt()).max(widest).max(1e-12)
    }

    /// Bounds for every distinct ordering at grid spacing h; `query` is ε (for δ) or δ.
    fn run(&self, h: f64, query: Query, x: f64, tail: f64) -> Result<Vec<(Direction, Bounds)>> {
        let dirs = self.distinct_directions();
        let mut jobs: Vec<(Direction, Rounding)> = Vec::new();
        for &d in &dirs {
            jobs.push((d, Rounding::Pessimistic));
            if !self.shift_ok(&self.parts(d), h) {
                jobs.push((d, Rounding::Optimistic));
            }
        }
        let computed: Vec<Result<Pmf>> = jobs
            .par_iter()
            .map(|&(d, r)| self.compose_pmf(&self.parts(d), h, r, tail))
            .collect();
        let mut pmfs: Vec<Result<Pmf>> = Vec::new();
        let mut it = jobs.iter().zip(computed);
        while let Some((&(d, _), up)) = it.next() {
            if self.shift_ok(&self.parts(d), h) {
                let summands: u64 = self.parts(d).iter().map(|p| p.count).sum();
                let lo = up
                    .as_ref()
                    .map(|p| p.optimistic_shift(summands))
                    .map_err(Clone::clone);
                pmfs.push(up);
                pmfs.push(lo);
            } else {
                let (_, lo) = it.next().expect("invariant: an optimistic job follows");
                pmfs.push(up);
                pmfs.push(lo);
            }
        }
        let mut out = Vec::new();
        for (i, &d) in dirs.iter().enumerate() {
            let up = pmfs[2 * i].as_ref().map_err(Clone::clone)?;
            let lo = pmfs[2 * i + 1].as_ref().map_err(Clone::clone)?;
            let (lower, upper) = match query {
                Query::Epsilon => (lo.epsilon_bound(x).unwrap_or(0.0), up.epsilon_bound(x)),
                Query::Delta => (lo.delta_bound(x), Some(up.delta_bound(x))),
            };
            out.push((
                d,
                Bounds {
                    lower,
                    upper,
                    points: up.len().max(lo.len()),
                    err: up.error_bound() + up.inf_mass,
                    inf_mass: up.inf_mass,
                },
            ));
        }
        Ok(out)
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

    /// Choose h, run, and build the report.
    fn answer(&self, query: Query, x: f64) -> Result<Report> {
        let (epsilon, delta) = match query {
            Query::Epsilon => (0.0, x),
            Query::Delta => (x, 0.0),
        };
        if let Some(r) = self.trivial(query, epsilon, delta) {
            return Ok(r);
        }
        let dirs = self.distinct_directions();
        let parts = self.parts(dirs[0]);
        let r_count = self.roundings(&parts);
        let scale = dirs
            .iter()
            .map(|&d| self.scale(&self.parts(d), d))
            .fold(0.0, f64::max);
        let mut notes = Vec::new();
        // Truncated mass: 1e-3·δ for an ε query (it is counted at +∞ in the upper bound, so
        // it moves ε_up by a negligible amount), `tail_mass` for a δ query (refined from the
        // coarse pass). Truncating above the FFT noise floor keeps composed grids compact.
        let tail = match query {
            Query::Epsilon => (1e-3 * x).max(self.params.tail_mass),
            Query::Delta => COARSE_DELTA_TAIL.max(self.params.tail_mass),
        };
        let (h, bounds) = if let Some(h) = self.params.grid_spacing {
            (h, self.run(h, query, x, tail)?)
        } else {
            // Coarse pass (~4096 points across the composed law), then the grid the
            // tolerance asks for.
            let h0 = scale / 4096.0;
            let mut coarse = self.run(h0, query, x, tail)?;
            let mut h0 = h0;
            let ends = |c: &[(Direction, Bounds)]| {
                let lo = c.iter().map(|(_, b)| b.lower).fold(0.0, f64::max);
                let up = c
                    .iter()
                    .map(|(_, b)| b.upper.unwrap_or(f64::INFINITY))
                    .fold(0.0, f64::max);
                (lo, up)
            };
            if query == Query::Epsilon {
                // A coarse grid over many summands gives a wide bracket: refine (at most
                // three times) to a ~10% bracket before sizing the final grid on its lower end.
                for _ in 0..3 {
                    let (lo, up) = ends(&coarse);
                    let mid = if up.is_finite() {
                        0.5 * (lo + up)
                    } else {
                        2.0 * lo + 1.0
                    };
                    let h1 = 0.1 * mid / r_count;
                    let points = coarse.iter().map(|(_, b)| b.points).max().unwrap_or(1);
                    let predicted = 2.2 * points as f64 * h0 / h1;
                    if up - lo <= 0.2 * mid
                        || h1 >= 0.5 * h0
                        || predicted > 0.25 * self.params.max_grid_points as f64
                    {
                        break;
                    }
                    coarse = self.run(h1, query, x, tail)?;
                    h0 = h1;
                }
            }
            let points0 = coarse.iter().map(|(_, b)| b.points).max().unwrap_or(1);
            let eps_ref = match query {
                Query::Epsilon => ends(&coarse).0,
                Query::Delta => x,
            };
            let sd = scale / 12.0;
            // ε query: the bracket on ε is about R·h wide. δ query: δ moves by a relative
            // R·h·|d ln δ/dε| ≈ R·h·z/sd, so the scale is the spread sd (or ε if larger).
            let floor = match query {
                Query::Epsilon => 0.05 * sd,
                Query::Delta => sd,
            };
            let h = self.params.tolerance * eps_ref.max(floor) / r_count;
            let tail = match query {
                Query::Epsilon => tail,
                Query::Delta => coarse
                    .iter()
                    .map(|(_, b)| 1e-3 * b.lower)
                    .fold(self.params.tail_mass, f64::max),
            };
            if h >= 0.5 * h0 {
                (h0, coarse)
            } else {
                // A convolution holds about twice the truncated length before truncation.
                let needed = (2.2 * points0 as f64 * h0 / h).ceil();
                let budget = self.params.max_grid_points as f64;
                let mut h = h;
                if needed > budget {
                    let fits = 1.2 * self.params.tolerance * needed / budget;
                    if fits > MAX_RELAXATION * self.params.tolerance {
                        return Err(Error::BudgetExceeded {
                            what: format!(
                                "PLD grid for tolerance {} (h = {h:.3e})",
                                self.params.tolerance
                            ),
                            needed: format!("about {needed:.3e} grid points"),
                            budget: format!(
                                "{} grid points; a tolerance of about {fits:.2e} fits",
                                self.params.max_grid_points
                            ),
                        });
                    }
                    h *= 1.2 * needed / budget;
                    notes.push(format!(
                        "tolerance relaxed from {} to about {fits:.2e} to fit the grid budget of {} points",
                        self.params.tolerance, self.params.max_grid_points
                    ));
                }
                (h, self.run(h, query, x, tail)?)
            }
        };
        let mut r = Report::new("pld", query, epsilon, delta, self.params.adjacency);
        r.guarantee = Guarantee::Bracket;
        let mut lower = 0f64;
        let mut upper: Option<f64> = Some(0.0);
        let mut max_points = 0;
        let mut max_err = 0f64;
        for (d, b) in &bounds {
            lower = lower.max(b.lower);
            upper = match (upper, b.upper) {
                (Some(u), Some(v)) => Some(u.max(v)),
                _ => None,
            };
            max_points = max_points.max(b.points);
            max_err = max_err.max(b.err);
            if b.inf_mass > 0.0 {
                notes.push(format!(
                    "{} ordering: truncated tail mass {:.2e} counted at +inf",
                    d.name(),
                    b.inf_mass
                ));
            }
        }
        // Orderings that share a law (symmetric mechanisms) get the same numbers.
        for &d in self.params.adjacency.directions() {
            let b = bounds
                .iter()
                .find(|(x, _)| *x == d)
                .or_else(|| bounds.first())
                .map(|(_, b)| *b)
                .expect("invariant: at least one ordering computed");
            r.orderings.push(OrderingValue {
                direction: d,
                value: b.upper.unwrap_or(f64::INFINITY),
                lower: Some(b.lower),
                upper: Some(b.upper.unwrap_or(f64::INFINITY)),
            });
        }
        notes.push(format!(
            "grid spacing h = {h:.4e}, {max_points} grid points, floating-point and truncation error bound on delta {max_err:.2e}"
        ));
        let up = upper.unwrap_or(f64::INFINITY);
        if upper.is_none() {
            r.vacuous = true;
            notes.push(format!(
                "delta = {delta:e} is below the smallest certifiable delta (about {max_err:.2e}: FFT error bound and truncated mass); the upper bound is +inf, the lower bound still holds"
            ));
        }
        if query == Query::Delta && up >= 1.0 {
            r.vacuous = true;
        }
        r.lower = Some(lower);
        r.upper = Some(up);
        r.set_value(up);
        r.notes = notes;
        Ok(r)
    }
}

impl Accountant for PldAccountant {
    fn name(&self) -> &'static str {
        "pld"
    }

    fn compose(&mut self, event: &DpEvent, count: u64) -> Result<()> {
        self.composition.add_event(event, count, "pld")
    }

    fn epsilon(&self, delta: f64) -> Result<Report> {
        check_delta(delta)?;
        self.answer(Query::Epsilon, delta)
    }

    fn delta(&self, epsilon: f64) -> Result<Report> {
        check_epsilon(epsilon)?;
        self.answer(Query::Delta, epsilon)
    }
}
