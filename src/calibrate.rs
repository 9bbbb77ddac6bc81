//! Calibration of DP-SGD: the smallest noise multiplier σ, or the largest number of steps or
//! sampling rate q, that meets a target (ε, δ) under a chosen accountant (docs/math.md §8).
//!
//! The mechanism is DP-SGD: `steps` compositions of the Poisson-subsampled Gaussian with
//! noise multiplier σ and rate q (q = 1 is the plain Gaussian mechanism).
//!
//! # Method
//! Let ε(x) be the accountant's ε at δ as a function of the solved parameter x (σ, steps or q),
//! using the certified upper end ε_up(x) when the accountant reports a certified bracket or
//! upper bound. The true ε is non-increasing in σ and non-decreasing in steps and q; an
//! estimate need not be. We search the **monotone envelope**: for σ, the answer is the
//! smallest evaluated σ* with ε(σ*) ≤ target such that no evaluated σ > σ* violates the target.
//!
//! 1. Bracket: from a start value, expand geometrically (×2 or ÷2) until the bracket
//!    [infeasible, feasible] is found (σ ∈ [1e-3, 1e4], q ∈ [1e-9, 1], steps ∈ [1, 2^62]).
//! 2. Bisect (geometric mean for σ and q, integer midpoint for steps) until the bracket is
//!    narrower than `rel_tol` relative (steps: adjacent integers). The feasible end is returned,
//!    so the answer always satisfies ε(answer) ≤ target as evaluated.
//! 3. Envelope check: ε is evaluated on a geometric grid of `envelope_points` points between
//!    the answer and the feasible end of the initial bracket. If any violates the target, the
//!    curve is not monotone; the search restarts above the largest violating point and the
//!    answer's notes say so. Every evaluation is also checked for a violation of monotonicity
//!    (beyond a relative slack of 1e-9) and reported in the notes.
//!
//! # Guarantee
//! The returned value `x` was evaluated: ε(x) ≤ target by the accountant. With a certified
//! accountant (guarantee `bracket` or `upper_bound`), ε_up(x) ≤ target, so the calibrated
//! parameter is **certified** to meet (ε, δ) ([`Guarantee::UpperBound`]). With an estimate the
//! answer is an estimate. The tolerance is on the parameter: the true crossing of the
//! (envelope of the) evaluated curve lies within `rel_tol` relative of `x` (one step for
//! `steps`), on the infeasible side.
//!
//! # References
//! EW-Tune (Behnia, Ebrahimi, Pacheco, Padmanabhan, ICDMW 2022) calibrates by a descending linear scan from σ = 2 that stops at
//! the first violation; this bisection reaches the same crossing to a stated tolerance and does
//! not fail when ε(2) ≥ target.

use crate::accountant::{build, check_delta, Accountant, AccountantConfig, Guarantee, Report};
use crate::error::{Error, Result};
use crate::event::DpEvent;
use serde::Serialize;
use std::time::Instant;

/// Which parameter to solve for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Solve {
    /// The smallest noise multiplier σ (steps and q given).
    #[default]
    Sigma,
    /// The largest number of steps (σ and q given).
    Steps,
    /// The largest sampling rate q (σ and steps given).
    SamplingRate,
}

impl Solve {
    /// CLI / JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Solve::Sigma => "sigma",
            Solve::Steps => "steps",
            Solve::SamplingRate => "sampling_rate",
        }
    }

    /// Parse `sigma`, `steps`, `sampling-rate` (or `sampling_rate`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `solve`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "sigma" => Ok(Solve::Sigma),
            "steps" => Ok(Solve::Steps),
            "sampling-rate" | "sampling_rate" => Ok(Solve::SamplingRate),
            _ => Err(Error::invalid(
                "solve",
                s,
                "must be one of sigma, steps, sampling-rate",
            )),
        }
    }
}

/// Inputs of [`calibrate`].
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationParams {
    /// The accountant with its parameters (adjacency, order, precision, ...).
    pub accountant: AccountantConfig,
    /// Target ε > 0.
    pub target_epsilon: f64,
    /// δ ∈ (0, 1).
    pub delta: f64,
    /// What to solve for.
    pub solve: Solve,
    /// σ > 0: required unless solving for σ, where it is the starting point (default 1).
    pub sigma: Option<f64>,
    /// q ∈ (0, 1]: required unless solving for q, where it is the starting point (default 0.01).
    pub sampling_rate: Option<f64>,
    /// Steps ≥ 1: required unless solving for steps, where it is the starting point (default 1000).
    pub steps: Option<u64>,
    /// Relative tolerance on σ or q (default 1e-4); ignored for steps (solved exactly).
    pub rel_tol: f64,
    /// Points of the envelope check grid (default 8; 0 disables the check; at most
    /// [`MAX_ENVELOPE_POINTS`]).
    pub envelope_points: usize,
    /// Most accountant evaluations allowed (default 400; in [[`MIN_EVALUATIONS`],
    /// [`MAX_EVALUATIONS`]]).
    pub max_evaluations: usize,
}

impl Default for CalibrationParams {
    fn default() -> Self {
        CalibrationParams {
            accountant: AccountantConfig::Edgeworth(Default::default()),
            target_epsilon: 1.0,
            delta: 1e-5,
            solve: Solve::Sigma,
            sigma: None,
            sampling_rate: None,
            steps: None,
            rel_tol: 1e-4,
            envelope_points: 8,
            max_evaluations: 400,
        }
    }
}

/// The answer of [`calibrate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationInfo {
    /// What was solved for.
    pub solve: Solve,
    /// σ (solved or given).
    pub sigma: f64,
    /// Steps (solved or given).
    pub steps: u64,
    /// q (solved or given).
    pub sampling_rate: f64,
    /// The target ε.
    pub target_epsilon: f64,
    /// δ.
    pub delta: f64,
    /// The ε the accountant gives at the answer (the certified upper end for a certified
    /// accountant); ≤ target.
    pub epsilon: f64,
    /// Accountant name.
    pub accountant: String,
    /// `upper_bound` (certified: ε ≤ target), `exact` or `estimate`.
    pub guarantee: Guarantee,
    /// Bracket-expansion plus bisection iterations.
    pub iterations: usize,
    /// Accountant evaluations (including the envelope check).
    pub evaluations: usize,
    /// The final bracket on the solved parameter: [infeasible end, feasible end] for σ,
    /// [feasible end, infeasible end] for steps and q (`None` at a search limit).
    pub bracket: (Option<f64>, Option<f64>),
    /// Whether every evaluation was consistent with a monotone curve.
    pub monotone: bool,
    /// Caveats.
    pub notes: Vec<String>,
    /// The accountant's report at the answer.
    pub report: Report,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl CalibrationInfo {
    /// The solved value as f64.
    pub fn value(&self) -> f64 {
        match self.solve {
            Solve::Sigma => self.sigma,
            Solve::Steps => self.steps as f64,
            Solve::SamplingRate => self.sampling_rate,
        }
    }
}

/// Smallest σ searched.
pub const SIGMA_MIN: f64 = 1e-3;
/// Largest σ searched.
pub const SIGMA_MAX: f64 = 1e4;
/// Smallest q searched.
pub const SAMPLING_RATE_MIN: f64 = 1e-9;
/// Largest steps searched: the most a composition holds ([`crate::event::MAX_COUNT`], 10¹⁵).
pub const STEPS_MAX: u64 = crate::event::MAX_COUNT;

/// The ε used for calibration from a report, and whether it is certified.
///
/// Certified brackets and upper bounds give their upper end (a vacuous bound gives +∞); other
/// reports give `epsilon`.
pub fn calibration_epsilon(r: &Report) -> (f64, bool) {
    match r.guarantee {
        Guarantee::Bracket | Guarantee::UpperBound => {
            if r.vacuous {
                return (f64::INFINITY, true);
            }
            let up = match r.guarantee {
                Guarantee::Bracket => r.upper.unwrap_or(f64::INFINITY),
                _ => r.upper.unwrap_or(r.epsilon).max(r.epsilon),
            };
            (up, true)
        }
        _ => (r.epsilon, false),
    }
}

/// ε(δ) of DP-SGD (σ, q, steps) by the given accountant: `steps` compositions of the
/// Poisson-subsampled Gaussian (0 steps compose nothing: ε = 0). The one entry point for
/// "ε spent" (calibration, the training harness, the CLI).
///
/// # Guarantee
/// Whatever the accountant's report says (`report.guarantee`).
///
/// # Examples
/// ```
/// use ewtune::accountant::AccountantConfig;
/// use ewtune::calibrate::dpsgd_epsilon;
/// use ewtune::mechanism::Adjacency;
///
/// // q = 1, one step: the Gaussian mechanism with σ = 1, μ = 1 GDP; ε(δ = 0.1269367375) = 1.
/// let gdp = AccountantConfig::Gdp { adjacency: Adjacency::AddRemove };
/// let r = dpsgd_epsilon(&gdp, 1.0, 1.0, 1, 0.1269367375)?;
/// assert!((r.epsilon - 1.0).abs() < 1e-8);
/// # Ok::<(), ewtune::Error>(())
/// ```
///
/// # Errors
/// Invalid parameters or a failed computation.
pub fn dpsgd_epsilon(
    accountant: &AccountantConfig,
    sigma: f64,
    sampling_rate: f64,
    steps: u64,
    delta: f64,
) -> Result<Report> {
    let mut a = build(accountant)?;
    a.compose(&DpEvent::dpsgd(sigma, sampling_rate, steps), 1)?;
    a.epsilon(delta)
}

/// A note where the next value past the answer was not a certified miss: its certified bracket
/// on ε contains the target (or is vacuous, e.g. a PLD grid over its budget). The answer meets
/// the target; a better value may exist past it, which the accountant could not decide.
fn undecided_neighbour_note(s: &Search, infeasible: Option<f64>, name: &str) -> Option<String> {
    let bad = infeasible?;
    let &(_, lo, up) = s.brackets.iter().rev().find(|b| b.0 == bad)?;
    (lo <= s.p.target_epsilon).then(|| {
        let (extreme, side) = match s.p.solve {
            Solve::Sigma => ("least", "below"),
            _ => ("largest", "above"),
        };
        format!(
            "at {name} = {bad} the certified bracket on epsilon, [{lo:e}, {up:e}], contains the \
             target, so that {name} was not decided: the {extreme} {name} that meets the target \
             may lie {side} the answer"
        )
    })
}

/// A note for a calibration answered where the accountant's certified bracket on ε is more than
/// 10% wide relative (e.g. a contour returned wide, [`build_for_calibration`]): the value meets
/// the target on the bracket's upper end, but the least value that meets it may be far from it.
pub(crate) fn wide_answer_note(r: &Report, name: &str, least: bool) -> Option<String> {
    let (Guarantee::Bracket, Some(lo), Some(up)) = (r.guarantee, r.lower, r.upper) else {
        return None;
    };
    let width = (up - lo) / up.max(f64::MIN_POSITIVE);
    // A noise parameter is solved from above (`least`: the least σ that meets the target),
    // steps and q from below (the largest).
    let (side, extreme) = if least {
        ("above", "least")
    } else {
        ("below", "largest")
    };
    (width > 0.1).then(|| {
        format!(
            "the {name} is certified but may lie well {side} the {extreme} {name} that meets \
             the target: the accountant's certified bracket on epsilon there is [{lo:e}, {up:e}] \
             ({width:.2e} wide relative)"
        )
    })
}

/// The accountant a calibration evaluates: `config`'s, except that the contour accountant
/// returns certified brackets wider than its width limit instead of refusing them
/// ([`crate::accountant::contour::ContourAccountant::accepting_wide_brackets`]): the search
/// decides on the certified upper end alone, and a wide bracket whose upper end meets the
/// target shows that the setting meets it (one that misses says nothing, as a refusal).
///
/// # Errors
/// As [`build`].
pub(crate) fn build_for_calibration(config: &AccountantConfig) -> Result<Box<dyn Accountant>> {
    match config {
        AccountantConfig::Contour(p) => Ok(Box::new(
            crate::accountant::contour::ContourAccountant::new(*p)?.accepting_wide_brackets(),
        )),
        other => build(other),
    }
}

/// Refuses a noise calibration that has no answer because no noise is needed: where every
/// ordering `accountant` covers has a privacy loss bounded above at the least noise searched,
/// `least_noise` (the event at [`SIGMA_MIN`]), and `steps` times that bound is at most
/// `target_epsilon`, every σ ≥ [`SIGMA_MIN`] meets the target for every δ > 0 (docs/math.md §8,
/// "Targets no noise level misses"): ε(δ) never exceeds the largest loss (§15.1.2), and the
/// largest loss does not grow with the noise (a noisier pair is a post-processing of the less
/// noisy one, and a post-processed likelihood ratio is an average of the original one). The
/// add ordering of Poisson sampling is the case that occurs: its loss stays below
/// ln(1/(1 − q)) per step however small σ is.
///
/// The check is the same for every accountant (it is a fact about the pair, not an answer of
/// the accountant); an event the accountant would refuse is left to the search to report.
///
/// # Errors
/// [`Error::NoSolution`] naming the bound, when no noise is needed.
pub(crate) fn check_noise_needed(
    accountant: &AccountantConfig,
    least_noise: &DpEvent,
    steps: u64,
    target_epsilon: f64,
    knob: &str,
) -> Result<()> {
    let adjacency = accountant.adjacency();
    let Ok(c) = crate::event::Composition::from_event(least_noise, steps, "calibrate")
        .and_then(|c| c.for_adjacency(adjacency, "calibrate"))
    else {
        return Ok(());
    };
    let mut ceiling = 0.0f64;
    for &dir in adjacency.directions() {
        match c.max_loss(dir) {
            Some(m) => ceiling = ceiling.max(m),
            None => return Ok(()),
        }
    }
    if ceiling <= target_epsilon {
        return Err(Error::NoSolution(format!(
            "every {knob} meets the target: under adjacency {adjacency} the privacy loss of the \
             {steps} composed steps is at most {ceiling:.10} at {knob} = {SIGMA_MIN} and at every \
             larger {knob} (docs/math.md §8, §15.1.2), so epsilon(delta) <= {ceiling:.10} <= \
             {target_epsilon} for every delta > 0 and no smallest {knob} exists{}",
            if adjacency == crate::mechanism::Adjacency::Add {
                " (the add ordering of Poisson sampling at rate q loses at most ln(1/(1 - q)) \
                 per step, whatever the noise; --adjacency add-remove also covers the remove \
                 ordering, which needs noise)"
            } else {
                ""
            }
        )));
    }
    Ok(())
}

struct Search<'a> {
    p: &'a CalibrationParams,
    /// The accountant evaluations use: `p.accountant`, or the f64 path during a fast search.
    accountant: AccountantConfig,
    sigma: f64,
    q: f64,
    steps: u64,
    evaluations: usize,
    /// (x, ε used) of every evaluation.
    seen: Vec<(f64, f64)>,
    notes: Vec<String>,
    first_error: Option<String>,
    /// The last failed evaluation: (x, the accountant's error).
    last_error: Option<(f64, String)>,
    /// (x, lower, upper) of every evaluation answered with a certified bracket.
    brackets: Vec<(f64, f64, f64)>,
    certified: Option<bool>,
}

impl Search<'_> {
    /// Set the solved parameter to x and evaluate; an accountant error counts as infeasible.
    fn eval(&mut self, x: f64) -> Result<(bool, Option<Report>)> {
        if self.evaluations >= self.p.max_evaluations {
            return Err(Error::NoConvergence {
                what: format!("calibration of {}", self.p.solve.name()),
                iterations: self.evaluations,
                residual: f64::NAN,
            });
        }
        self.evaluations += 1;
        let (s, q, m) = match self.p.solve {
            Solve::Sigma => (x, self.q, self.steps),
            Solve::SamplingRate => (self.sigma, x, self.steps),
            Solve::Steps => (self.sigma, self.q, x as u64),
        };
        let answer = build_for_calibration(&self.accountant).and_then(|mut a| {
            a.compose(&DpEvent::dpsgd(s, q, m), 1)?;
            a.epsilon(self.p.delta)
        });
        match answer {
            Ok(r) => {
                let (e, cert) = calibration_epsilon(&r);
                self.certified.get_or_insert(cert);
                self.seen.push((x, e));
                if let (Guarantee::Bracket, Some(lo), Some(up)) = (r.guarantee, r.lower, r.upper) {
                    self.brackets.push((x, lo, up));
                }
                if !r.valid {
                    let note = format!(
                        "the accountant's value is flagged invalid at {} = {x}",
                        self.p.solve.name()
                    );
                    if !self.notes.contains(&note) {
                        self.notes.push(note);
                    }
                }
                Ok((e <= self.p.target_epsilon, Some(r)))
            }
            Err(e) if e.is_usage() && self.evaluations == 1 => Err(e),
            Err(e) => {
                if self.first_error.is_none() {
                    self.first_error = Some(format!(
                        "the accountant failed at {} = {x} (counted as not meeting the target): {e}",
                        self.p.solve.name()
                    ));
                }
                self.last_error = Some((x, e.to_string()));
                self.seen.push((x, f64::INFINITY));
                Ok((false, None))
            }
        }
    }

    /// Whether feasibility increases with x (steps, q) rather than decreases (σ).
    fn increasing(&self) -> bool {
        self.p.solve != Solve::Sigma
    }

    fn midpoint(&self, a: f64, b: f64) -> f64 {
        match self.p.solve {
            Solve::Steps => {
                let (lo, hi) = ((a.min(b)) as u64, (a.max(b)) as u64);
                (lo + (hi - lo) / 2) as f64
            }
            _ => (a * b).sqrt(),
        }
    }

    fn narrow_enough(&self, a: f64, b: f64) -> bool {
        match self.p.solve {
            Solve::Steps => (b - a).abs() <= 1.0,
            _ => (b - a).abs() <= self.p.rel_tol * a.abs().max(b.abs()),
        }
    }

    fn round(&self, x: f64) -> f64 {
        if self.p.solve == Solve::Steps {
            x.round().max(1.0)
        } else {
            x
        }
    }

    /// One step towards feasibility (σ up; steps and q down) by `factor`.
    fn toward_feasible(&self, x: f64, factor: f64) -> f64 {
        if self.increasing() {
            x / factor
        } else {
            x * factor
        }
    }

    fn limits(&self) -> (f64, f64) {
        match self.p.solve {
            Solve::Sigma => (SIGMA_MIN, SIGMA_MAX),
            Solve::SamplingRate => (SAMPLING_RATE_MIN, 1.0),
            Solve::Steps => (1.0, STEPS_MAX as f64),
        }
    }
}

/// The fixed parameters of a calibration, validated.
struct Fixed {
    sigma: f64,
    q: f64,
    steps: u64,
}

/// Fewest accountant evaluations a calibration may be given ([`CalibrationParams::max_evaluations`]).
pub const MIN_EVALUATIONS: usize = 4;
/// Most accountant evaluations a calibration may be given.
pub const MAX_EVALUATIONS: usize = 1_000_000;
/// Most points of the envelope check grid ([`CalibrationParams::envelope_points`]).
pub const MAX_ENVELOPE_POINTS: usize = 1000;

fn validate(p: &CalibrationParams) -> Result<Fixed> {
    crate::error::Range::above(0.0).check("target_epsilon", p.target_epsilon)?;
    check_delta(p.delta)?;
    crate::error::Range::closed(1e-12, 0.1).check("rel_tol", p.rel_tol)?;
    // Fewer evaluations than a bracket and one bisection step cannot calibrate anything: that is
    // bad input, not a failed computation.
    if !(MIN_EVALUATIONS..=MAX_EVALUATIONS).contains(&p.max_evaluations) {
        return Err(Error::invalid(
            "max_evaluations",
            p.max_evaluations,
            format!("must be an integer in [{MIN_EVALUATIONS}, {MAX_EVALUATIONS}]"),
        ));
    }
    if p.envelope_points > MAX_ENVELOPE_POINTS {
        return Err(Error::invalid(
            "envelope_points",
            p.envelope_points,
            format!("must be an integer in [0, {MAX_ENVELOPE_POINTS}] (0 disables the check)"),
        ));
    }
    let missing = |name: &'static str, solve: &str| {
        Error::invalid(
            name,
            "(missing)",
            format!("is required unless solving for {solve}"),
        )
    };
    let sigma = match p.solve {
        Solve::Sigma => p.sigma.unwrap_or(1.0),
        _ => p.sigma.ok_or_else(|| missing("sigma", "sigma"))?,
    };
    crate::error::Range::above(0.0).check("sigma", sigma)?;
    let q = match p.solve {
        Solve::SamplingRate => p.sampling_rate.unwrap_or(0.01),
        _ => p
            .sampling_rate
            .ok_or_else(|| missing("sampling_rate", "sampling-rate"))?,
    };
    crate::error::Range::left_open(0.0, 1.0).check("sampling_rate", q)?;
    let steps = match p.solve {
        Solve::Steps => p.steps.unwrap_or(1000),
        _ => p.steps.ok_or_else(|| missing("steps", "steps"))?,
    };
    if steps == 0 {
        return Err(Error::invalid("steps", 0, "must be an integer >= 1"));
    }
    // Validate the options once (bad order/precision is a usage error).
    build(&p.accountant)?;
    // The contour accountant certifies no ε above EPSILON_MAX (it refuses instead): a larger
    // target is met wherever it certifies anything, so the search would only map where it stops
    // certifying (at small σ, tens of seconds of capped contours near that edge).
    let eps_max = crate::accountant::invert::EPSILON_MAX;
    if matches!(p.accountant, AccountantConfig::Contour(_)) && p.target_epsilon > eps_max {
        return Err(Error::invalid(
            "target_epsilon",
            p.target_epsilon,
            format!(
                "must be in (0, {eps_max:e}] with the contour accountant, the largest epsilon it \
                 certifies (docs/math.md §15.1.4); a larger target is met wherever it certifies \
                 anything"
            ),
        ));
    }
    Ok(Fixed { sigma, q, steps })
}

/// The options of the search: the f64 cumulant path for an Edgeworth estimate with certified
/// cumulants (the certified quadrature then runs once per evaluation otherwise; the answer is
/// re-evaluated with `p.accountant` by [`certify_answer`]). `None` when the search uses
/// `p.accountant` itself.
fn fast_search_options(p: &CalibrationParams) -> Option<AccountantConfig> {
    fast_search_config(&p.accountant)
}

/// The accountant a calibration searches with before it re-evaluates its answer with
/// `accountant`: the same Edgeworth accountant on the f64 cumulant path where `accountant`
/// asks for certified cumulants (its estimate only, no bracket); `None` for every other
/// accountant (the search then uses `accountant` itself).
pub(crate) fn fast_search_config(accountant: &AccountantConfig) -> Option<AccountantConfig> {
    match accountant {
        AccountantConfig::Edgeworth(e) if e.precision.is_some() && !e.bracket => Some(
            AccountantConfig::Edgeworth(crate::accountant::EdgeworthParams {
                precision: None,
                ..*e
            }),
        ),
        _ => None,
    }
}

/// The search state: a feasible end (with its report) and an infeasible end (`None` beyond a
/// limit of the range).
struct Ends {
    feas: Option<f64>,
    feas_report: Option<Report>,
    infeas: Option<f64>,
    iterations: usize,
}

/// Phase 1: expand geometrically from `x0` until [infeasible, feasible] is found.
fn find_bracket(s: &mut Search, x0: f64) -> Result<Ends> {
    let p = s.p;
    let name = p.solve.name();
    let (lo_lim, hi_lim) = s.limits();
    let inc = s.increasing();
    let (ok0, r0) = s.eval(x0)?;
    let mut e = Ends {
        feas: None,
        feas_report: None,
        infeas: None,
        iterations: 0,
    };
    let mut x = x0;
    if !ok0 {
        e.infeas = Some(x0);
        loop {
            let lim = if inc { lo_lim } else { hi_lim };
            if x == lim {
                return Err(no_feasible_point(s, lim));
            }
            let nx = s.round(s.toward_feasible(x, 2.0)).clamp(lo_lim, hi_lim);
            e.iterations += 1;
            let (ok, r) = s.eval(nx)?;
            if ok {
                e.feas = Some(nx);
                e.feas_report = r;
                e.infeas = Some(x);
                return Ok(e);
            }
            x = nx;
        }
    }
    e.feas = Some(x0);
    e.feas_report = r0;
    loop {
        let lim = if inc { hi_lim } else { lo_lim };
        if x == lim {
            // Feasible at the limit of the range.
            if p.solve == Solve::SamplingRate {
                s.notes
                    .push("the target is met even at sampling_rate = 1 (no subsampling)".into());
                return Ok(e);
            }
            return Err(Error::NoSolution(format!(
                "the target epsilon <= {} at delta = {:e} is met even at {name} = {lim}, the end of the search range",
                p.target_epsilon, p.delta
            )));
        }
        let nx = s.round(s.toward_feasible(x, 0.5)).clamp(lo_lim, hi_lim);
        e.iterations += 1;
        let (ok, r) = s.eval(nx)?;
        if !ok {
            e.infeas = Some(nx);
            return Ok(e);
        }
        e.feas = Some(nx);
        e.feas_report = r;
        x = nx;
    }
}

fn no_feasible_point(s: &Search, lim: f64) -> Error {
    let p = s.p;
    let name = p.solve.name();
    let why = s.first_error.clone().unwrap_or_default();
    let at_lim = s
        .seen
        .iter()
        .rev()
        .find(|(x, _)| *x == lim)
        .map(|&(_, e)| e)
        .unwrap_or(f64::INFINITY);
    if let Some((_, e)) = s.last_error.as_ref().filter(|(x, _)| *x == lim) {
        // The accountant failed at the end of the range: that is no evidence of a miss.
        return Error::NotCertified(format!(
            "no {name} in the search range was certified to meet epsilon <= {} at delta = {:e}: \
             the accountant gave no answer at {name} = {lim} ({e})",
            p.target_epsilon, p.delta,
        ));
    }
    if let Some(&(_, lo, up)) = s.brackets.iter().rev().find(|b| b.0 == lim) {
        if lo <= p.target_epsilon {
            // The upper end misses but the lower end does not: undecided, not a miss.
            return Error::NotCertified(format!(
                "no {name} in the search range was certified to meet epsilon <= {} at delta = \
                 {:e}: at {name} = {lim} the certified bracket on epsilon is [{lo:e}, {up:e}], \
                 which contains the target, so neither a solution nor its absence is certified",
                p.target_epsilon, p.delta,
            ));
        }
    }
    let kind = if s.certified == Some(true) {
        "the certified upper end of epsilon"
    } else {
        "epsilon"
    };
    Error::NoSolution(format!(
        "no {name} in the search range meets epsilon <= {} at delta = {:e} ({name} = {lim} gives {kind} = {at_lim}){}",
        p.target_epsilon,
        p.delta,
        if why.is_empty() { String::new() } else { format!("; {why}") }
    ))
}

/// Phase 2: bisect [infeasible, feasible] to the tolerance.
fn bisect(s: &mut Search, e: &mut Ends) -> Result<()> {
    let Some(mut bad) = e.infeas else {
        return Ok(());
    };
    let mut good = e.feas.expect("invariant: feasible end");
    while !s.narrow_enough(bad, good) {
        let mid = s.midpoint(bad, good);
        if mid == bad || mid == good {
            break;
        }
        e.iterations += 1;
        let (ok, r) = s.eval(mid)?;
        if ok {
            good = mid;
            e.feas_report = r;
        } else {
            bad = mid;
        }
    }
    e.feas = Some(good);
    e.infeas = Some(bad);
    Ok(())
}

/// Phase 3: bisection with the envelope check between the answer and `outer_feasible`, and
/// restarts past a violation. Returns the number of restarts (0: the envelope held).
fn bisect_on_envelope(s: &mut Search, e: &mut Ends, outer_feasible: f64) -> Result<usize> {
    let p = s.p;
    let inc = s.increasing();
    let mut restarts = 0usize;
    loop {
        bisect(s, e)?;
        if p.envelope_points == 0 || restarts >= 8 {
            return Ok(restarts);
        }
        let a = e.feas.expect("invariant: feasible end");
        let b = outer_feasible;
        if a == b {
            return Ok(restarts);
        }
        let n = p.envelope_points;
        let mut violation: Option<f64> = None;
        for i in 1..=n {
            let t = i as f64 / (n + 1) as f64;
            let x = s.round(a * (b / a).powf(t));
            if x == a || x == b {
                continue;
            }
            let (ok, _) = s.eval(x)?;
            if !ok {
                // Keep the violation farthest from a (towards b): the envelope crossing is past it.
                violation = Some(x);
            }
        }
        let Some(v) = violation else {
            return Ok(restarts);
        };
        restarts += 1;
        // Find the feasible point just past v among the evaluations (or b).
        let mut nearest = b;
        for &(x, eps) in &s.seen {
            let past = if inc {
                x < v && x > nearest
            } else {
                x > v && x < nearest
            };
            if past && eps <= p.target_epsilon {
                nearest = x;
            }
        }
        e.infeas = Some(v);
        e.feas = Some(nearest);
        let (_, r) = s.eval(nearest)?;
        e.feas_report = r;
    }
}

/// Phase 4 (after a fast search): re-evaluate the answer with the requested options, stepping
/// towards feasibility by `rel_tol` (one step for steps) until the target is met there.
fn certify_answer(s: &mut Search, e: &mut Ends) -> Result<()> {
    s.accountant = s.p.accountant.clone();
    let (lo_lim, hi_lim) = s.limits();
    let factor = 1.0 + s.p.rel_tol;
    let mut x = e.feas.expect("invariant: feasible end");
    for _ in 0..32 {
        let (ok, r) = s.eval(x)?;
        if ok && r.is_some() {
            e.feas = Some(x);
            e.feas_report = r;
            return Ok(());
        }
        e.infeas = Some(x);
        let nx = if s.p.solve == Solve::Steps {
            (x - 1.0).max(1.0)
        } else {
            s.toward_feasible(x, factor).clamp(lo_lim, hi_lim)
        };
        if nx == x {
            break;
        }
        x = nx;
    }
    Err(Error::NoSolution(format!(
        "the {} found with f64 cumulants does not meet the target with the certified cumulants within 32 steps of rel_tol",
        s.p.solve.name()
    )))
}

/// Notes on the monotonicity of every evaluation; false when a pair violates it.
fn check_monotone(s: &mut Search) -> bool {
    let name = s.p.solve.name();
    let inc = s.increasing();
    let mut pts = s.seen.clone();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in pts.windows(2) {
        let (x1, e1) = w[0];
        let (x2, e2) = w[1];
        if !(e1.is_finite() && e2.is_finite()) || x1 == x2 {
            continue;
        }
        let slack = 1e-9 * e1.abs().max(e2.abs()).max(1e-300);
        let bad = if inc {
            e2 < e1 - slack
        } else {
            e2 > e1 + slack
        };
        if bad {
            s.notes.push(format!(
                "epsilon is not monotone in {name}: {e1} at {x1} vs {e2} at {x2}; the answer is on the monotone envelope of the evaluated points"
            ));
            return false;
        }
    }
    true
}

/// Calibrate σ, steps or q to meet (target ε, δ); see the module docs for the method.
///
/// # Guarantee
/// See the module docs: certified (`upper_bound`) for a certified accountant, else the
/// accountant's own kind (estimate / exact). `epsilon` ≤ target always holds as evaluated.
///
/// # Examples
/// ```
/// use ewtune::accountant::AccountantConfig;
/// use ewtune::calibrate::{calibrate, CalibrationParams};
/// use ewtune::mechanism::Adjacency;
///
/// // One Gaussian step (q = 1): the smallest σ with ε(δ = 0.1269367375) ≤ 1 is σ = 1 (μ = 1 GDP).
/// let info = calibrate(&CalibrationParams {
///     accountant: AccountantConfig::Gdp { adjacency: Adjacency::AddRemove },
///     target_epsilon: 1.0,
///     delta: 0.1269367375,
///     sampling_rate: Some(1.0),
///     steps: Some(1),
///     rel_tol: 1e-6,
///     ..CalibrationParams::default()
/// })?;
/// assert!((info.sigma - 1.0).abs() < 2e-6);
/// # Ok::<(), ewtune::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a bad target, δ, tolerance or a missing/invalid fixed
/// parameter; [`Error::NoSolution`] when no value in the search range meets the target (a
/// certified miss at the end of the range for a certified accountant; or the target is met
/// even at the end of the range where it should fail, e.g. σ = 1e-3);
/// [`Error::NotCertified`] when the end of the range was not decided: the accountant refused
/// there, or its certified bracket contains the target (docs/math.md §8);
/// [`Error::NoConvergence`] past `max_evaluations`.
///
/// # References
/// docs/math.md §8.
pub fn calibrate(p: &CalibrationParams) -> Result<CalibrationInfo> {
    let start = Instant::now();
    let Fixed { sigma, q, steps } = validate(p)?;
    if p.solve == Solve::Sigma {
        let least_noise = DpEvent::poisson_gaussian(SIGMA_MIN, q);
        check_noise_needed(
            &p.accountant,
            &least_noise,
            steps,
            p.target_epsilon,
            "sigma",
        )?;
    }
    let fast = fast_search_options(p);
    let mut s = Search {
        p,
        accountant: fast.clone().unwrap_or_else(|| p.accountant.clone()),
        sigma,
        q,
        steps,
        evaluations: 0,
        seen: Vec::new(),
        notes: Vec::new(),
        first_error: None,
        last_error: None,
        brackets: Vec::new(),
        certified: None,
    };
    let (lo_lim, hi_lim) = s.limits();
    let x0 = match p.solve {
        Solve::Sigma => sigma,
        Solve::SamplingRate => q,
        Solve::Steps => steps as f64,
    }
    .clamp(lo_lim, hi_lim);
    let name = p.solve.name();

    // 1. Bracket; 2. bisection with 3. the envelope check and restarts.
    let mut ends = find_bracket(&mut s, x0)?;
    let outer_feasible = ends.feas.expect("invariant: bracket has a feasible end");
    let restarts = bisect_on_envelope(&mut s, &mut ends, outer_feasible)?;
    // 4. The answer at the requested precision.
    if fast.is_some() {
        certify_answer(&mut s, &mut ends)?;
        if let AccountantConfig::Edgeworth(crate::accountant::EdgeworthParams {
            precision: Some(bits),
            ..
        }) = &p.accountant
        {
            s.notes.push(format!(
                "searched with f64 cumulants; the answer was re-evaluated with the certified quadrature at {} bits",
                bits.bits()
            ));
        }
    }

    let x = ends.feas.expect("invariant: feasible end");
    let report = match ends.feas_report.take() {
        Some(r) => r,
        None => {
            let (_, r) = s.eval(x)?;
            r.ok_or_else(|| Error::NoSolution(format!("the accountant failed at {name} = {x}")))?
        }
    };
    let monotone = check_monotone(&mut s) && restarts == 0;
    if restarts > 0 {
        s.notes.push(format!(
            "the target was violated above the first crossing ({restarts} restart(s)); the answer is the crossing of the monotone envelope"
        ));
    }
    if let Some(e) = s.first_error.clone() {
        s.notes.push(e);
    }
    s.notes
        .extend(undecided_neighbour_note(&s, ends.infeas, name));
    let (eps, certified) = calibration_epsilon(&report);
    let guarantee = if certified {
        s.notes.push(format!(
            "calibrated on the certified upper end of epsilon: the {name} is certified to give epsilon <= {}",
            p.target_epsilon
        ));
        s.notes
            .extend(wide_answer_note(&report, name, p.solve == Solve::Sigma));
        Guarantee::UpperBound
    } else if report.guarantee == Guarantee::Exact {
        Guarantee::Exact
    } else {
        Guarantee::Estimate
    };
    let (sigma, q, steps) = match p.solve {
        Solve::Sigma => (x, q, steps),
        Solve::SamplingRate => (sigma, x, steps),
        Solve::Steps => (sigma, q, x as u64),
    };
    let bracket = match p.solve {
        Solve::Sigma => (ends.infeas, Some(x)),
        _ => (Some(x), ends.infeas),
    };
    Ok(CalibrationInfo {
        solve: p.solve,
        sigma,
        steps,
        sampling_rate: q,
        target_epsilon: p.target_epsilon,
        delta: p.delta,
        epsilon: eps,
        accountant: report.accountant.clone(),
        guarantee,
        iterations: ends.iterations,
        evaluations: s.evaluations,
        bracket,
        monotone,
        notes: s.notes,
        report,
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanism::Adjacency;

    fn ew(order: u8) -> AccountantConfig {
        AccountantConfig::Edgeworth(crate::accountant::EdgeworthParams {
            adjacency: Adjacency::Remove,
            order,
            ..Default::default()
        })
    }

    #[test]
    fn solve_names_parse() {
        for s in [Solve::Sigma, Solve::Steps, Solve::SamplingRate] {
            assert_eq!(Solve::parse(s.name()).expect("parses"), s);
        }
        assert!(Solve::parse("noise").is_err());
    }

    #[test]
    fn gaussian_sigma_matches_closed_form() {
        // q = 1, one step: the Gaussian mechanism; Edgeworth is exact there (Balle–Wang).
        let p = CalibrationParams {
            accountant: ew(0),
            target_epsilon: 1.0,
            delta: 1e-5,
            sampling_rate: Some(1.0),
            steps: Some(1),
            rel_tol: 1e-8,
            ..CalibrationParams::default()
        };
        let info = calibrate(&p).expect("calibrates");
        assert_eq!(info.guarantee, Guarantee::Exact);
        // Analytic Gaussian mechanism: δ(ε; μ = 1/σ) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2).
        let d = |s: f64| {
            let mu = 1.0 / s;
            crate::special::normal::cdf(-1.0 / mu + mu / 2.0)
                - 1f64.exp() * crate::special::normal::cdf(-1.0 / mu - mu / 2.0)
        };
        // The root of δ(σ) = 1e-5 brackets the answer: feasible at σ, infeasible 1e-8 below.
        assert!(
            d(info.sigma) <= 1e-5 * (1.0 + 1e-9),
            "feasible (tolerance 1e-9 relative)"
        );
        assert!(
            d(info.sigma * (1.0 - 2e-8)) > 1e-5,
            "within rel_tol 1e-8 of the root"
        );
    }
}
