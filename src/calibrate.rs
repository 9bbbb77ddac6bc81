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
//! 2. Narrow the bracket until it is narrower than `rel_tol` relative (steps: adjacent
//!    integers), each step evaluating one point inside it and keeping it as the new feasible or
//!    infeasible end. The point is the secant's crossing of the target in (ln x, ln ε), moved
//!    past it by 0.45·`rel_tol` so that the next step closes the bracket from the other side
//!    (`secant_point`); a bisection step (geometric mean for σ and q, integer midpoint for
//!    steps) where the secant is unusable or the previous secant step did not halve the
//!    bracket (`Safeguard`). The feasible end is returned, so the answer always satisfies
//!    ε(answer) ≤ target as evaluated, and every evaluated miss lies on the infeasible side of
//!    every evaluated hit.
//! 3. Envelope check (estimates only): ε is evaluated on a geometric grid of `envelope_points`
//!    points between the answer and the feasible end of the initial bracket. If any violates
//!    the target, the curve is not monotone; the search restarts above the largest violating
//!    point and the answer's notes say so. A certified upper end skips it: the answer's
//!    certificate is its own evaluation, and by step 2 no evaluated point past it misses.
//!    Every evaluation is also checked for a violation of monotonicity (beyond a relative slack
//!    of 1e-9) and reported in the notes.
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
    /// Points of the envelope check grid of an estimate (default 8; 0 disables the check; at
    /// most [`MAX_ENVELOPE_POINTS`]); a certified accountant's calibration needs none (module
    /// docs, step 3).
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
    /// The first grid budget exceeded, kept until some evaluation answers: a search in which
    /// no point fits the budget ends with it (the caller's budget or tolerance, not the point).
    first_budget: Option<Error>,
    /// Whether some evaluation answered.
    answered: bool,
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
                self.answered = true;
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
            // A usage error at the first point is the caller's (a bad flag); a budget error
            // depends on the point (a PLD grid too large at a small σ) and counts as a miss.
            Err(e) if e.is_usage() && !e.is_budget() && self.evaluations == 1 => Err(e),
            Err(e) => {
                if e.is_budget() && self.first_budget.is_none() {
                    self.first_budget = Some(e.clone());
                }
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

    /// The last evaluated ε at x (+∞ for a failed evaluation), if x was evaluated.
    fn seen_at(&self, x: f64) -> Option<f64> {
        last_seen(&self.seen, x)
    }

    /// The next point of [`bisect`] by [`secant_point`] (for steps: rounded to the integer one
    /// step past the predicted crossing, towards the farther end), strictly between `bad` and
    /// `good`, or `None` where the secant is unusable.
    fn secant_point(&self, bad: f64, good: f64) -> Option<f64> {
        let ends = ((bad, self.seen_at(bad)?), (good, self.seen_at(good)?));
        let target = self.p.target_epsilon;
        let (a, b) = (bad.min(good), bad.max(good));
        let x = match self.p.solve {
            Solve::Steps => {
                let rx = secant_point(ends.0, ends.1, target, true, 0.0)?;
                if rx - a > b - rx {
                    (rx.floor() - 1.0).max(a + 1.0)
                } else {
                    (rx.ceil() + 1.0).min(b - 1.0)
                }
            }
            _ => secant_point(ends.0, ends.1, target, true, SECANT_NUDGE * self.p.rel_tol)?,
        };
        (x > a && x < b).then_some(x)
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
    if let (false, Some(e)) = (s.answered, &s.first_budget) {
        // No point fitted the grid budget: the caller's budget or tolerance, with its hint.
        return e.clone();
    }
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

/// The secant's point lies this fraction of the relative tolerance past its predicted crossing
/// ([`secant_point`]).
const SECANT_NUDGE: f64 = 0.45;

/// The last ε recorded at x in a search's (x, ε) list, if x was evaluated.
pub(crate) fn last_seen(seen: &[(f64, f64)], x: f64) -> Option<f64> {
    seen.iter().rev().find(|p| p.0 == x).map(|p| p.1)
}

/// The next point of a calibration's bracket search by the secant, strictly between the ends
/// `bad` = (x, ε) (misses `target`) and `good` = (x, ε) (meets it), or `None` where the secant is
/// unusable (an ε that is not finite and positive, or not on its expected side of the target).
///
/// The secant through (u, ln ε) at both ends, u = ln x (`log_x`) or x, predicts the crossing r of
/// the target. The point returned lies past r, towards the end farther from r, by `nudge` (in
/// units of u, and at most a quarter of the bracket's width from either end): where the
/// prediction is good, the new end is then within `nudge` of the crossing on one side, and the
/// next step, past the next prediction from that end, closes the bracket from the other side.
/// A heuristic only: callers evaluate the point and keep it as the new feasible or infeasible
/// end, as a bisection step would, so the bracket keeps its meaning; see [`Safeguard`] for the
/// fall-back to bisection.
pub(crate) fn secant_point(
    bad: (f64, f64),
    good: (f64, f64),
    target: f64,
    log_x: bool,
    nudge: f64,
) -> Option<f64> {
    let ((xb, eb), (xg, eg)) = (bad, good);
    let usable = |e: f64| e.is_finite() && e > 0.0;
    if !(usable(eb) && usable(eg) && eb > target && eg <= target && target > 0.0) {
        return None;
    }
    let to_u = |x: f64| if log_x { x.ln() } else { x };
    let (ub, ug) = (to_u(xb), to_u(xg));
    let (fb, fg) = ((eb / target).ln(), (eg / target).ln());
    let df = fb - fg;
    if !(df > 0.0 && df.is_finite() && ub.is_finite() && ug.is_finite()) {
        return None;
    }
    let (lo, hi) = (ub.min(ug), ub.max(ug));
    let r = (ub + (ug - ub) * (fb / df)).clamp(lo, hi);
    let v = if r - lo > hi - r {
        r - nudge
    } else {
        r + nudge
    };
    let margin = (0.25 * (hi - lo)).min(nudge);
    let u = v.clamp(lo + margin, hi - margin);
    let x = if log_x { u.exp() } else { u };
    (x.is_finite() && x > xb.min(xg) && x < xb.max(xg)).then_some(x)
}

/// The safeguard of a secant-driven bracket search: after a secant step that did not halve the
/// bracket, the next step bisects, so every two steps at least halve it and the search takes at
/// most about twice the steps of plain bisection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Safeguard {
    /// The bracket's width before the last step.
    prev: f64,
    /// Whether the last step was allowed the secant.
    prev_secant: bool,
}

impl Safeguard {
    /// No steps taken yet.
    pub(crate) fn new() -> Self {
        Safeguard {
            prev: f64::INFINITY,
            prev_secant: false,
        }
    }

    /// Whether the step from a bracket of `width` (any fixed measure of it) may use the secant.
    pub(crate) fn allows(&mut self, width: f64) -> bool {
        let ok = !(self.prev_secant && width > 0.5 * self.prev);
        self.prev = width;
        self.prev_secant = ok;
        ok
    }
}

/// The next point of a bracket search on a continuous knob: [`secant_point`] where `guard`
/// allows it and both ends' ε (`eb`, `eg`, as compared with `target`) are known, else the
/// midpoint (geometric for `log_x`, arithmetic otherwise). `rel_tol` is the search's relative
/// tolerance (the secant's nudge is 0.45 of it).
pub(crate) fn next_point(
    guard: &mut Safeguard,
    (bad, eb): (f64, Option<f64>),
    (good, eg): (f64, Option<f64>),
    target: f64,
    rel_tol: f64,
    log_x: bool,
) -> f64 {
    let (width, nudge, mid) = if log_x {
        (
            (good / bad).ln().abs(),
            SECANT_NUDGE * rel_tol,
            (good * bad).sqrt(),
        )
    } else {
        let scale = good.abs().max(bad.abs());
        (
            (good - bad).abs(),
            SECANT_NUDGE * rel_tol * scale,
            0.5 * (good + bad),
        )
    };
    let secant = match (guard.allows(width), eb, eg) {
        (true, Some(eb), Some(eg)) => secant_point((bad, eb), (good, eg), target, log_x, nudge),
        _ => None,
    };
    secant.unwrap_or(mid)
}

/// Phase 2: shrink [infeasible, feasible] to the tolerance by safeguarded secant steps.
///
/// Each step evaluates one point strictly inside the bracket and keeps it as the new feasible or
/// infeasible end, so the bracket's meaning is that of plain bisection (both ends evaluated) and
/// the answer is the same kind of point; only the choice of the point differs
/// ([`Search::secant_point`]): the crossing of the secant through the two ends' ε (in ln x and
/// ln ε), moved a little past it so that the next step can close the bracket from the other side,
/// with a bisection step whenever the secant is unusable (an end without a finite positive ε) or
/// the previous secant step did not halve the bracket.
fn bisect(s: &mut Search, e: &mut Ends) -> Result<()> {
    let Some(mut bad) = e.infeas else {
        return Ok(());
    };
    let mut good = e.feas.expect("invariant: feasible end");
    let mut guard = Safeguard::new();
    while !s.narrow_enough(bad, good) {
        let secant = if guard.allows((bad / good).ln().abs()) {
            s.secant_point(bad, good)
        } else {
            None
        };
        let mid = secant.unwrap_or_else(|| s.midpoint(bad, good));
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
        // A certified upper end needs no envelope: the answer's certificate rests on its own
        // evaluation, and bisection keeps every evaluated miss below every evaluated hit.
        if p.envelope_points == 0 || restarts >= 8 || s.certified == Some(true) {
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
        first_budget: None,
        answered: false,
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

    /// On a curve whose ln ε is linear in ln x the secant predicts the crossing exactly: the
    /// point lies 0.45·tolerance past it towards the farther end, strictly inside the bracket;
    /// an end whose ε is not finite and positive, or on the wrong side, gives no secant point.
    #[test]
    fn secant_point_lands_just_past_an_exact_prediction() {
        // ε(σ) = 2/σ², target 1: crossing σ = √2.
        let eps = |x: f64| 2.0 / (x * x);
        let (bad, good) = (1.0, 4.0);
        let tol = 1e-4;
        let x = secant_point((bad, eps(bad)), (good, eps(good)), 1.0, true, 0.45 * tol)
            .expect("usable");
        let r = 2f64.sqrt();
        // The crossing is nearer bad (ln √2 vs ln 4 − ln √2): the point moves towards good.
        assert!(x > r && x < good, "{x}");
        assert!((x.ln() - r.ln() - 0.45 * tol).abs() < 1e-12, "{x}");
        // Linear x (the noise parameter): ε = 3 − 2x, target 1, crossing x = 1 (ln ε is not linear:
        // the secant through (x, ln ε) predicts 0.771).
        let lin = |x: f64| 3.0 - 2.0 * x;
        let y =
            secant_point((0.5, lin(0.5)), (1.4, lin(1.4)), 1.0, false, 0.45 * tol).expect("usable");
        assert!(y > 0.5 && y < 1.4 && (y - 0.771).abs() < 1e-3, "{y}");
        for (eb, eg) in [
            (f64::INFINITY, 0.5),
            (2.0, 0.0),
            (0.5, 0.4),
            (2.0, 1.5),
            (f64::NAN, 0.5),
        ] {
            assert!(
                secant_point((1.0, eb), (2.0, eg), 1.0, true, 1e-5).is_none(),
                "{eb} {eg}"
            );
        }
    }

    /// The safeguarded search never takes more than about twice the steps of bisection, even on
    /// a curve that defeats the secant (a step in ε at the crossing), and closes an exactly
    /// predicted crossing in two steps.
    #[test]
    fn safeguarded_secant_search_is_bounded_by_bisection() {
        let run = |eps: &dyn Fn(f64) -> f64, target: f64| -> usize {
            let (mut bad, mut good) = (1.0f64, 2.0f64);
            let tol = 1e-6;
            let mut guard = Safeguard::new();
            let mut steps = 0;
            while (good - bad).abs() > tol * good.max(bad) {
                let width = (good / bad).ln().abs();
                let x = if guard.allows(width) {
                    secant_point((bad, eps(bad)), (good, eps(good)), target, true, 0.45 * tol)
                } else {
                    None
                }
                .unwrap_or((bad * good).sqrt());
                assert!(x > bad.min(good) && x < bad.max(good));
                if eps(x) <= target {
                    good = x;
                } else {
                    bad = x;
                }
                steps += 1;
                assert!(steps < 200);
            }
            steps
        };
        let bisection = (2f64.ln() / 1e-6).log2().ceil() as usize;
        // A jump of ε at the crossing 1.3: the secant keeps predicting the wrong place.
        let jump = |x: f64| {
            if x < 1.3 {
                1.0 + 1e-9 * (1.3 - x)
            } else {
                1e-3 / x
            }
        };
        assert!(run(&jump, 1.0) <= 2 * bisection + 2, "{}", run(&jump, 1.0));
        // ε = 2.2/σ²: ln ε linear in ln σ.
        assert!(run(&|x: f64| 2.2 / (x * x), 1.0) <= 3);
        // A smooth but curved ε: still far fewer steps than bisection.
        let curved = |x: f64| (3.0 / x).exp() - 1.0;
        assert!(run(&curved, 4.0) <= bisection / 2, "{}", run(&curved, 4.0));
    }
}
