//! The PLD accountant: certified upper and lower bounds from discretised privacy-loss
//! distributions composed by FFT (MATH.md §1, §7; the numerics live in [`crate::pld`]).

use super::{check_delta, check_epsilon, Accountant, Guarantee, OrderingValue, Query, Report};
use crate::error::{Error, Result};
use crate::event::{Composition, DpEvent};
use crate::mechanism::{Adjacency, Direction, Mechanism};
use crate::pld::loss::{boundary_shift, LossLaw};
use crate::pld::{Convolver, Limits, Pmf, Rounding};
use crate::special::normal;
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

/// Parameters of [`PldAccountant`].
#[derive(Debug, Clone, PartialEq)]
pub struct PldParams {
    /// Ordering(s) to cover.
    pub adjacency: Adjacency,
    /// Target relative width of the bracket. Round-up: h = tolerance·ε/R with R the number of
    /// discretised summands (each rounding moves the loss by < h). Connect-the-dots: the
    /// largest of that rule, the Hoeffding rule (R·h²/8 + h·√(R·ln(1/δ′)/2) = tolerance·ε)
    /// and an h² extrapolation of the coarse pass's second-order bracket.
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
/// composed pmf, see `ctd_bounds` in the source: a deterministic, a Hoeffding and a
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
/// `vacuous`, with the smallest certifiable δ in the notes.
///
/// # Errors
/// [`Error::BudgetExceeded`] when the grid needed for the tolerance exceeds the budget.
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

/// Bounds for one ordering from one grid.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    lower: f64,
    upper: Option<f64>,
    points: usize,
    err: f64,
    inf_mass: f64,
    /// Connect-the-dots only: the lower end from the second-order bound alone (for sizing the
    /// grid: its distance to `upper` shrinks like h²).
    lower2: Option<f64>,
}

impl PldAccountant {
    /// # Errors
    /// `tolerance` ∈ (0, 0.5], `tail_mass` ∈ (0, 1e−3], `max_grid_points` ≥ 1024,
    /// `grid_spacing` > 0 when given.
    pub fn new(params: PldParams) -> Result<Self> {
        crate::error::Range::left_open(0.0, 0.5).check("tolerance", params.tolerance)?;
        crate::error::Range::left_open(0.0, 1e-3).check("tail_mass", params.tail_mass)?;
        if params.max_grid_points < 1024 {
            return Err(Error::invalid(
                "max_grid_points",
                params.max_grid_points,
                "must be at least 1024",
            ));
        }
        if let Some(h) = params.grid_spacing {
            crate::error::Range::left_open(0.0, 1.0).check("grid_spacing", h)?;
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
        let mut total: Option<Pmf> = None;
        for p in parts {
            let tau = share / (2.0 * p.count as f64);
            let one = if ctd {
                p.law
                    .discretise_connect_dots(h, tau)
                    .expect("invariant: connect-the-dots is chosen only for laws without atoms")
            } else {
                p.law.discretise(h, tau, rounding)
            };
            if one.len() > self.params.max_grid_points {
                return Err(Error::BudgetExceeded {
                    what: "PLD grid of one mechanism".into(),
                    needed: format!("{} grid points", one.len()),
                    budget: format!("{} grid points", self.params.max_grid_points),
                });
            }
            let composed = match conv.self_compose_power(&one, p.count, share / 4.0)? {
                Some(c) => c,
                None => conv.self_compose(&one, p.count, share / 4.0)?,
            };
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

    /// The grid spacing whose bracket is about `width` wide (in loss units) for `r` summands:
    /// round-up gives (r + 1)·h; connect-the-dots gives the smaller of r·h (deterministic
    /// shift) and r·h²/8 + h·√(r·ln(1/δ′)/2) (Hoeffding shift, `log_inv` = ln(1/δ′)).
    fn spacing_for_width(ctd: bool, r: f64, log_inv: f64, width: f64) -> f64 {
        let a = (r * log_inv / 2.0).sqrt();
        if !ctd || r <= a {
            return width / r;
        }
        2.0 * width / (a + (a * a + r * width / 2.0).sqrt())
    }

    /// Certified (lower, upper) for one ordering from a connect-the-dots pmf `up` of `r`
    /// summands with boundary shift η, and the second-order lower end alone.
    ///
    /// Upper: read off `up` directly (a dominating pair, composed). Lower: every summand's
    /// rounding D = R(ℓ) − ℓ takes, given ℓ, one of two values h apart, lies in (−h, h + 2η)
    /// and has conditional mean in [0, m], m = h²/8 + 5η + 300u·h/(1 − e^{−h}) (see
    /// [`LossLaw::discretise_connect_dots`]), independently across summands. Apart from the
    /// lifted and truncated mass, the composed rounded sum is S̃ = S + M + N with 0 ≤ M ≤ c =
    /// r·m and N conditionally centred and sub-Gaussian with variance proxy v = r(h + 2η)²/4
    /// (Hoeffding's lemma). With f_ε(s) = (1 − e^{ε−s})₊, non-decreasing, f_ε(s − a) =
    /// f_{ε+a}(s), and δ̃ the certified lower reading of the finite part minus the lifted mass
    /// ([`Pmf::lower_view`]), three lower bounds hold and the best is returned:
    /// 1. deterministic: S̃ ≤ S + r(h + 2η), so δ(ε) ≥ δ̃(ε + r(h + 2η));
    /// 2. Hoeffding (as in Gopi, Lee, Wutschitz 2021, Thm 5.5): S̃ ≤ S + c + t except with
    ///    probability δ′ = e^{−t²/2v}, so δ(ε) ≥ δ̃(ε + c + t) − δ′;
    /// 3. second order: δ(ε) ≥ δ̃(ε + c) − E[f_ε(S + N) − f_ε(S)], and since g(s) = 1 − e^{ε−s}
    ///    is concave with slope e^{ε−s} ≤ 1 and f_ε(s) ≤ (s − ε)₊, given the losses
    ///    E[f_ε(S + N)] − f_ε(S) ≤ ψ(|S − ε|) with ψ(d) = ∫_d^∞ e^{−t²/2v} dt = √(2πv)·Φ̄(d/√v)
    ///    (the first-order term vanishes because N is centred given the losses). As
    ///    |S − ε| ≥ |S̃ − ε| − c − |N| and P(|N| > T) ≤ 2e^{−T²/2v}, the excess is at most
    ///    Σ_k p̃_k ψ((|s_k − ε| − c − T)₊) + ψ(0)·(2e^{−T²/2v} + truncated and lifted mass +
    ///    the ℓ1 error of the p̃_k summed). Its width shrinks like h² (the O(h) terms of 1 and 2
    ///    cancel in expectation), so it allows a much coarser grid for many summands.
    ///
    /// For ε(δ): the true δ(ε) is non-increasing, so any ε_b with a lower bound on δ(ε_b)
    /// above δ is a certified lower bound on ε(δ); the second-order bound is bisected for the
    /// largest such ε_b.
    fn ctd_bounds(
        up: &Pmf,
        r: f64,
        eta: f64,
        query: Query,
        x: f64,
    ) -> (f64, Option<f64>, Option<f64>) {
        const U: f64 = f64::EPSILON / 2.0;
        let h = up.h;
        let hr = h + 2.0 * eta;
        let t_det = r * hr;
        let m = h * h / 8.0 * (1.0 + 1e-6) + 5.0 * eta + 300.0 * U * h / -(-h).exp_m1();
        let c = r * m;
        let v = r * hr * hr / 4.0;
        let hoeffding = |dp: f64| c + (2.0 * v * (1.0 / dp).ln()).sqrt();
        let view = up.lower_view();
        match query {
            Query::Epsilon => {
                let upper = up.epsilon_bound(x);
                let mut lower = view.epsilon_bound(x).map_or(0.0, |e| e - t_det);
                for k in [3.0, 10.0, 30.0, 100.0, 1000.0] {
                    let dp = x / k;
                    if let Some(e) = view.epsilon_bound(x + dp) {
                        lower = lower.max(e - hoeffding(dp));
                    }
                }
                let lower = lower.max(0.0);
                // Bisect the second-order bound between the first-order lower end and the
                // upper end for the largest ε_b whose lower bound on δ(ε_b) exceeds δ.
                let second = |e: f64| Self::second_order_lower(up, &view, e, c, v, x);
                let mut lower2 = None;
                if let Some(u) = upper {
                    // Start from the first-order end, or from 0 where the second-order bound
                    // is not yet above δ there (coarse grids).
                    let a0 = if second(lower) > x { lower } else { 0.0 };
                    let (mut a, mut b) = (a0, u);
                    if a0 == lower || second(a0) > x {
                        for _ in 0..40 {
                            let mid = 0.5 * (a + b);
                            if second(mid) > x {
                                a = mid;
                            } else {
                                b = mid;
                            }
                            if b - a <= 1e-6 * (b - a0).max(1e-300) {
                                break;
                            }
                        }
                        lower2 = Some(a);
                    }
                }
                (lower.max(lower2.unwrap_or(0.0)), upper, lower2)
            }
            Query::Delta => {
                let upper = up.delta_bound(x);
                let mut lower = view.delta_bound(x + t_det);
                for k in [3.0, 10.0, 30.0, 100.0, 1e3, 1e4, 1e6] {
                    let dp = upper / k;
                    if dp > 0.0 {
                        lower = lower.max(view.delta_bound(x + hoeffding(dp)) - dp);
                    }
                }
                let lower2 = Self::second_order_lower(up, &view, x, c, v, upper).max(0.0);
                (lower.max(lower2).max(0.0), Some(upper), Some(lower2))
            }
        }
    }

    /// Bound 3 of [`PldAccountant::ctd_bounds`] at ε: δ̃(ε + c) minus the smoothing excess;
    /// T is chosen so that ψ(0)·2e^{−T²/2v} ≤ 1e−4·`scale` (a δ of the size being bounded).
    fn second_order_lower(up: &Pmf, view: &Pmf, eps: f64, c: f64, v: f64, scale: f64) -> f64 {
        const U: f64 = f64::EPSILON / 2.0;
        let sv = v.sqrt();
        let root = (2.0 * std::f64::consts::PI * v).sqrt();
        let psi0 = 0.5 * root;
        let ratio = (2.0 * psi0 / (1e-4 * scale.max(1e-300))).max(2.0);
        let t = sv * (2.0 * ratio.ln()).sqrt();
        // Points farther than `reach` from ε contribute at most ψ(K√v) each (K = 12).
        const K: f64 = 12.0;
        let far = root * normal::sf(K);
        let reach = c + t + K * sv;
        let h = up.h;
        let n = up.masses.len() as i64;
        let i_lo = (((eps - reach) / h).floor() as i64 - up.offset).clamp(0, n);
        let i_hi = (((eps + reach) / h).ceil() as i64 - up.offset + 1).clamp(0, n);
        let mut sum = 0.0;
        for i in i_lo as usize..i_hi as usize {
            let d = ((up.loss(i) - eps).abs() - c - t).max(0.0);
            sum += up.masses[i] * normal::sf(d / sv);
        }
        let window = (i_hi - i_lo).max(1) as f64;
        let l1_err = view.err1 + view.err2 * window.sqrt();
        let excess = root * sum * (1.0 + 4.0 * window * U + 1e-12)
            + far
            + psi0 * (2.0 * (-t * t / (2.0 * v)).exp() + up.inf_mass + l1_err);
        view.delta_bound(eps + c) - excess * (1.0 + 1e-9)
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
    fn run(
        &self,
        dirs: &[Direction],
        h: f64,
        query: Query,
        x: f64,
        tail: f64,
    ) -> Result<Vec<(Direction, Bounds)>> {
        if self.use_ctd(&self.parts(dirs[0])) {
            let computed: Vec<Result<Pmf>> = dirs
                .to_vec()
                .par_iter()
                .map(|&d| self.compose_pmf(&self.parts(d), h, Rounding::Pessimistic, tail, true))
                .collect();
            let mut out = Vec::new();
            for (&d, up) in dirs.iter().zip(computed) {
                let up = up?;
                let parts = self.parts(d);
                let r = self.roundings(&parts);
                let eta = Self::max_eta(&parts, h);
                let (lower, upper, lower2) = Self::ctd_bounds(&up, r, eta, query, x);
                out.push((
                    d,
                    Bounds {
                        lower,
                        upper,
                        points: up.len(),
                        err: up.error_bound() + up.inf_mass,
                        inf_mass: up.inf_mass,
                        lower2,
                    },
                ));
            }
            return Ok(out);
        }
        let mut jobs: Vec<(Direction, Rounding)> = Vec::new();
        for &d in dirs {
            jobs.push((d, Rounding::Pessimistic));
            if !self.shift_ok(&self.parts(d), h) {
                jobs.push((d, Rounding::Optimistic));
            }
        }
        let computed: Vec<Result<Pmf>> = jobs
            .par_iter()
            .map(|&(d, r)| self.compose_pmf(&self.parts(d), h, r, tail, false))
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
                    lower2: None,
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
        let ctd = self.use_ctd(&parts);
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
            (h, self.run(&dirs, h, query, x, tail)?)
        } else {
            // Coarse pass (~4096 points across the composed law), then the grid the
            // tolerance asks for.
            let h0 = scale / 4096.0;
            let mut coarse = self.run(&dirs, h0, query, x, tail)?;
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
                    if ctd && up.is_finite() && coarse.iter().all(|(_, b)| b.lower2.is_some()) {
                        // The second-order bound sizes the final grid directly (below).
                        break;
                    }
                    let mid = if up.is_finite() {
                        0.5 * (lo + up)
                    } else {
                        2.0 * lo + 1.0
                    };
                    let h1 = Self::spacing_for_width(ctd, r_count, (100.0 / x).ln(), 0.1 * mid);
                    let points = coarse.iter().map(|(_, b)| b.points).max().unwrap_or(1);
                    let predicted = 2.2 * points as f64 * h0 / h1;
                    if up - lo <= 0.2 * mid
                        || h1 >= 0.5 * h0
                        || predicted > 0.25 * self.params.max_grid_points as f64
                    {
                        break;
                    }
                    coarse = self.run(&dirs, h1, query, x, tail)?;
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
            let log_inv = match query {
                Query::Epsilon => (100.0 / x).ln(),
                Query::Delta => (100.0 / ends(&coarse).1.clamp(1e-300, 1.0)).ln(),
            };
            let mut h = Self::spacing_for_width(
                ctd,
                r_count,
                log_inv,
                self.params.tolerance * eps_ref.max(floor),
            );
            // Connect-the-dots with a second-order lower end: the bracket shrinks like h^p,
            // p ≈ 2 asymptotically (less on coarse grids, where the Hoeffding and FFT-error
            // terms still matter). Extrapolate with p = 2 from the coarse pass; if the fine
            // bracket is still too wide, measure p from the two passes and refine once more
            // (below). Never use a finer grid than the first-order rule asks for.
            let mut needs_refine: Option<bool> = None;
            let width = |c: &[(Direction, Bounds)]| {
                let (lo, up) = ends(c);
                match query {
                    Query::Epsilon => up - lo,
                    Query::Delta => (up - lo) / up.max(1e-300),
                }
            };
            let w_target = match query {
                Query::Epsilon => self.params.tolerance * eps_ref.max(floor),
                Query::Delta => self.params.tolerance,
            };
            let w0 = width(&coarse);
            let second_order = ctd && coarse.iter().all(|(_, b)| b.lower2.is_some());
            if second_order {
                if w0.is_finite() && w0 > w_target {
                    h = h.max(h0 * (w_target / w0).sqrt()).min(h0);
                    needs_refine = Some(true);
                } else {
                    needs_refine = Some(false);
                }
            }
            let tail = match query {
                Query::Epsilon => tail,
                Query::Delta => coarse
                    .iter()
                    .map(|(_, b)| 1e-3 * b.lower)
                    .fold(self.params.tail_mass, f64::max),
            };
            let keep_coarse = match needs_refine {
                Some(refine) => !refine || h >= 0.95 * h0,
                None => h >= 0.5 * h0,
            };
            if keep_coarse {
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
                // An ordering whose coarse upper end lies below another's coarse lower end
                // cannot change the bracket (the maximum over orderings): keep its coarse
                // bounds and refine only the others.
                let top_lower = ends(&coarse).0;
                let (keep, skip): (Vec<_>, Vec<_>) = coarse
                    .into_iter()
                    .partition(|(_, b)| b.upper.is_none_or(|u| u >= top_lower));
                let keep_dirs: Vec<Direction> = keep.iter().map(|(d, _)| *d).collect();
                let mut fine = self.run(&keep_dirs, h, query, x, tail)?;
                if second_order {
                    let wf = width(&fine);
                    let points = fine.iter().map(|(_, b)| b.points).max().unwrap_or(1) as f64;
                    if wf.is_finite() && wf > 1.05 * w_target && w0.is_finite() && wf > 0.0 {
                        let p = ((w0 / wf).ln() / (h0 / h).ln()).clamp(1.0, 2.5);
                        let h2 = 0.9 * h * (w_target / wf).powf(1.0 / p);
                        if 1.2 * points * h / h2 <= 0.5 * budget {
                            fine = self.run(&keep_dirs, h2, query, x, tail)?;
                            h = h2;
                        }
                    }
                }
                fine.extend(skip);
                (h, fine)
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
            let (lo, up_d, lo2) = PldAccountant::ctd_bounds(&up, n as f64, eta, Query::Delta, eps);
            let up_d = up_d.expect("delta query has an upper end");
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
        let (lo, up_e, _) = PldAccountant::ctd_bounds(&up, n as f64, eta, Query::Epsilon, delta);
        let up_e = up_e.expect("certifiable");
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
