//! Calibration of one noise knob of a mechanism that is not DP-SGD's subsampled Gaussian
//! (docs/math.md §16, §17): the smallest noise parameter p of randomized response, the largest
//! parameter a of the discrete Laplace mechanism, or the smallest σ of the discrete Gaussian or
//! of a mixture of Gaussians, whose ε(δ) after `steps` compositions meets a target.
//!
//! ε is non-increasing in p and σ (more noise) and non-decreasing in a (less noise), so a bracket
//! search on the accountant's certified upper end of ε (its value where it certifies none) finds
//! the answer: secant steps safeguarded by bisection, as in [`crate::calibrate`] (docs/math.md
//! §8); the returned knob is always on the side where that upper end meets the target.

use crate::accountant::{AccountantConfig, Guarantee, Report};
use crate::error::{Error, Result};
use crate::event::DpEvent;
use crate::mechanism::{GaussianMixture, Mechanism};

/// Which knob to solve for.
// The mixture variant holds its component lists inline (Copy), as `Mechanism` does.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatticeKnob {
    /// Randomized response over `buckets` buckets: the smallest noise parameter p ∈ (0, 1].
    NoiseParameter {
        /// k.
        buckets: u64,
    },
    /// Discrete Laplace with integer `sensitivity`: the largest parameter a ∈ [1e−6, 1e3].
    Parameter {
        /// Δ.
        sensitivity: u64,
    },
    /// Discrete Gaussian with integer `sensitivity`: the smallest σ ∈ [1e−2, 1e12].
    Sigma {
        /// Δ.
        sensitivity: u64,
    },
    /// A Gaussian-mixture pair (docs/math.md §17; its σ is ignored, the other parameters are
    /// kept): the smallest σ ∈ [1e−3, 1e6].
    MixtureSigma {
        /// The mixture at any σ.
        mixture: GaussianMixture,
    },
}

impl LatticeKnob {
    /// The shape of the search for this knob.
    fn shape(self) -> Shape {
        match self {
            LatticeKnob::NoiseParameter { .. } => Shape::NoiseParameter,
            LatticeKnob::Parameter { .. } => Shape::Parameter,
            LatticeKnob::Sigma { sensitivity } => Shape::Sigma {
                min: SIGMA_MIN,
                max: SIGMA_MAX,
                what: "the discrete Gaussian",
                sensitivity: Some(sensitivity),
            },
            LatticeKnob::MixtureSigma { .. } => Shape::Sigma {
                min: MIXTURE_SIGMA_MIN,
                max: MIXTURE_SIGMA_MAX,
                what: "the Gaussian mixture",
                sensitivity: None,
            },
        }
    }
}

/// How a knob is searched: p ∈ (0, 1] by halving, a ∈ [1e−6, 1e3] and σ ∈ [min, max]
/// geometrically (σ walks by factors of 2 first, from 1 or, for the discrete Gaussian, from the
/// continuous Gaussian's answer Δ√n/μ*).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    NoiseParameter,
    Parameter,
    Sigma {
        min: f64,
        max: f64,
        what: &'static str,
        /// The discrete Gaussian's Δ (the walk's start), `None` for a mixture.
        sensitivity: Option<u64>,
    },
}

impl Shape {
    /// The point one bracket width past x as seen from y (arithmetic for p, geometric for a
    /// and σ), kept in the knob's range.
    fn beyond(self, x: f64, y: f64) -> f64 {
        match self {
            Shape::NoiseParameter => (2.0 * x - y).clamp(1e-12, 1.0),
            Shape::Parameter => (x * x / y).clamp(PARAMETER_MIN, PARAMETER_MAX),
            Shape::Sigma { min, max, .. } => (x * x / y).clamp(min, max),
        }
    }
}

/// The answer of [`calibrate_lattice`].
#[derive(Debug, Clone)]
pub struct LatticeCalibration {
    /// The solved knob (p or a).
    pub value: f64,
    /// The other end of the final bisection bracket (where the target is not met), if any.
    pub other_end: Option<f64>,
    /// The accountant's report at `value`.
    pub report: Report,
    /// Accountant evaluations.
    pub evaluations: usize,
}

/// Largest a searched for the discrete Laplace mechanism.
pub const PARAMETER_MAX: f64 = 1e3;
/// Smallest a searched.
pub const PARAMETER_MIN: f64 = 1e-6;
/// Smallest σ of the discrete Gaussian searched.
pub const SIGMA_MIN: f64 = 1e-2;
/// Largest σ searched (beyond the atom cap, σ ≳ 1.3e3 at sensitivity 1, the contour answers by
/// its closed form, docs/math.md §16.9; the accountants that need the atoms refuse).
pub const SIGMA_MAX: f64 = 1e12;
/// Smallest σ of a Gaussian mixture searched.
pub const MIXTURE_SIGMA_MIN: f64 = 1e-3;
/// Largest σ of a Gaussian mixture searched.
pub const MIXTURE_SIGMA_MAX: f64 = 1e6;

fn event(knob: LatticeKnob, x: f64) -> Result<DpEvent> {
    Ok(match knob {
        LatticeKnob::NoiseParameter { buckets } => DpEvent::RandomizedResponse {
            noise_parameter: x,
            buckets,
        },
        LatticeKnob::Parameter { sensitivity } => DpEvent::DiscreteLaplace {
            parameter: x,
            sensitivity,
        },
        LatticeKnob::Sigma { sensitivity } => DpEvent::DiscreteGaussian {
            sigma: x,
            sensitivity,
        },
        LatticeKnob::MixtureSigma { mixture } => {
            DpEvent::from(Mechanism::GaussianMixture(mixture.with_sigma(x)?))
        }
    })
}

/// The continuous Gaussian's σ = Δ√n/μ* for n steps at (ε, δ), μ* solving
/// δ_G(μ, ε) = δ by bisection on ln μ ∈ [ln 1e−12, ln 1e6] (`None` outside): only the start of the
/// discrete Gaussian's σ walk, not an answer.
fn gaussian_sigma(sensitivity: u64, steps: u64, epsilon: f64, delta: f64) -> Option<f64> {
    let f = |ln_mu: f64| crate::edgeworth::gaussian_delta(ln_mu.exp(), epsilon) - delta;
    let (mut a, mut b) = (1e-12f64.ln(), 1e6f64.ln());
    if !(f(a) < 0.0 && f(b) > 0.0) {
        return None;
    }
    for _ in 0..100 {
        let m = 0.5 * (a + b);
        if f(m) < 0.0 {
            a = m;
        } else {
            b = m;
        }
    }
    let sigma = sensitivity as f64 * (steps as f64).sqrt() / (0.5 * (a + b)).exp();
    sigma.is_finite().then_some(sigma)
}

/// Solve for the knob (module docs).
///
/// # Errors
/// [`Error::InvalidParameter`] for a bad target, δ, steps or tolerance;
/// [`Error::NoSolution`] when even the noisiest setting misses the target (certifiably, for a
/// certified accountant); [`Error::NotCertified`] when its certified bracket there contains the
/// target; an accountant's refusal at an evaluated point is passed on.
pub fn calibrate_lattice(
    accountant: &AccountantConfig,
    knob: LatticeKnob,
    steps: u64,
    target_epsilon: f64,
    delta: f64,
    rel_tol: f64,
) -> Result<LatticeCalibration> {
    let make = |x: f64| event(knob, x);
    let target = (target_epsilon, delta, rel_tol);
    solve(accountant, knob.shape(), &make, steps, target)
}

/// The answer of [`calibrate_sigma`].
#[derive(Debug, Clone)]
pub struct SigmaCalibration {
    /// The smallest σ found whose certified ε (the accountant's upper end) meets the target.
    pub sigma: f64,
    /// The largest σ found that does not meet it (or was not evaluable), within the relative
    /// tolerance of `sigma`; 0 when the smallest σ searched already meets it.
    pub other_end: f64,
    /// The accountant's report at `sigma`.
    pub report: Report,
    /// Accountant evaluations.
    pub evaluations: usize,
}

/// The answer of [`calibrate_event`].
#[derive(Debug, Clone)]
pub struct KnobCalibration {
    /// The solved knob's name, as in the event (`sigma`, `scale`, `noise_parameter`,
    /// `parameter`, `noise_multiplier`).
    pub knob: &'static str,
    /// Its value: the noisiest end of the final bracket that meets the target.
    pub value: f64,
    /// The other end of the final bracket (where the target is not met), if any.
    pub other_end: Option<f64>,
    /// The accountant's report at `value`.
    pub report: Report,
    /// Accountant evaluations.
    pub evaluations: usize,
}

/// Calibrates the noise knob of a per-step event: the smallest (or, for the discrete Laplace
/// parameter a, the largest) knob at which `steps` compositions of the event meet
/// ε(δ) ≤ `target_epsilon` on the accountant's certified upper end of ε, to relative tolerance
/// `rel_tol` (`target` = (target ε, δ, rel_tol)). The knob is the event's noise parameter:
/// randomized response's p, the discrete Laplace parameter a, the discrete Gaussian's and the
/// mixture of Gaussians' σ (all by [`calibrate_lattice`]); the Gaussian σ and the Laplace scale
/// b, also inside Poisson sampling or sampling without replacement, and the truncated Poisson
/// Gaussian's noise multiplier (by [`calibrate_sigma`], whose docs give the monotonicity each
/// relies on; the event's own value is the starting point). Every other parameter of the event
/// is kept.
///
/// # Errors
/// [`Error::InvalidParameter`] (naming `event`) for an event with no noise knob here (a
/// composition, a no-op, a non-private event; give the per-step event and `steps`), and as
/// [`calibrate_lattice`] and [`calibrate_sigma`].
///
/// # Examples
/// ```
/// use ewtune::accountant::{AccountantConfig, AccountantKind};
/// use ewtune::calibrate_lattice::calibrate_event;
/// use ewtune::event::DpEvent;
/// use ewtune::mechanism::Adjacency;
/// let acc = AccountantConfig::default_for(AccountantKind::Contour, Adjacency::AddRemove);
/// let step = DpEvent::PoissonSampled {
///     sampling_rate: 0.01,
///     event: Box::new(DpEvent::Laplace { scale: 1.0 }),
/// };
/// let c = calibrate_event(&acc, &step, 1000, (1.0, 1e-5, 1e-3)).unwrap();
/// assert_eq!(c.knob, "scale");
/// // The certified upper end of ε at the answer meets the target; just below it, it does not.
/// assert!(c.report.upper.unwrap() <= 1.0);
/// assert!((c.value - 1.1102).abs() < 2e-3, "{}", c.value);
/// ```
pub fn calibrate_event(
    accountant: &AccountantConfig,
    template: &DpEvent,
    steps: u64,
    target: (f64, f64, f64),
) -> Result<KnobCalibration> {
    let (target_epsilon, delta, rel_tol) = target;
    let lattice = |knob: LatticeKnob, name: &'static str| -> Result<KnobCalibration> {
        let c = calibrate_lattice(accountant, knob, steps, target_epsilon, delta, rel_tol)?;
        Ok(KnobCalibration {
            knob: name,
            value: c.value,
            other_end: c.other_end,
            report: c.report,
            evaluations: c.evaluations,
        })
    };
    match template {
        DpEvent::RandomizedResponse { buckets, .. } => lattice(
            LatticeKnob::NoiseParameter { buckets: *buckets },
            "noise_parameter",
        ),
        DpEvent::DiscreteLaplace { sensitivity, .. } => lattice(
            LatticeKnob::Parameter {
                sensitivity: *sensitivity,
            },
            "parameter",
        ),
        DpEvent::DiscreteGaussian { sensitivity, .. } => lattice(
            LatticeKnob::Sigma {
                sensitivity: *sensitivity,
            },
            "sigma",
        ),
        DpEvent::MixtureOfGaussians {
            sigma,
            sensitivities,
            probabilities,
        } => {
            let mixture =
                GaussianMixture::mixture_of_gaussians(*sigma, sensitivities, probabilities)?;
            lattice(LatticeKnob::MixtureSigma { mixture }, "sigma")
        }
        _ => {
            let (knob, start) = noise_knob(template)?;
            let make = |x: f64| with_noise(template, x);
            let c = calibrate_sigma(accountant, &make, steps, target, start, knob)?;
            Ok(KnobCalibration {
                knob,
                value: c.sigma,
                other_end: (c.other_end > 0.0).then_some(c.other_end),
                report: c.report,
                evaluations: c.evaluations,
            })
        }
    }
}

/// The σ-like noise knob of an event (name and current value): the Gaussian σ, the Laplace
/// scale, the truncated Poisson Gaussian's noise multiplier, also inside Poisson sampling or
/// sampling without replacement.
fn noise_knob(e: &DpEvent) -> Result<(&'static str, f64)> {
    match e {
        DpEvent::Gaussian { sigma } => Ok(("sigma", *sigma)),
        DpEvent::Laplace { scale } => Ok(("scale", *scale)),
        DpEvent::TruncatedSubsampledGaussian {
            noise_multiplier, ..
        } => Ok(("noise_multiplier", *noise_multiplier)),
        DpEvent::PoissonSampled { event, .. }
        | DpEvent::SampledWithoutReplacement { event, .. } => match **event {
            DpEvent::Gaussian { .. } | DpEvent::Laplace { .. } => noise_knob(event),
            _ => Err(no_knob(e)),
        },
        _ => Err(no_knob(e)),
    }
}

/// `e` with its σ-like knob ([`noise_knob`]) set to x.
fn with_noise(e: &DpEvent, x: f64) -> Result<DpEvent> {
    Ok(match e {
        DpEvent::Gaussian { .. } => DpEvent::Gaussian { sigma: x },
        DpEvent::Laplace { .. } => DpEvent::Laplace { scale: x },
        DpEvent::TruncatedSubsampledGaussian {
            dataset_size,
            sampling_probability,
            truncated_batch_size,
            ..
        } => DpEvent::TruncatedSubsampledGaussian {
            dataset_size: *dataset_size,
            sampling_probability: *sampling_probability,
            truncated_batch_size: *truncated_batch_size,
            noise_multiplier: x,
        },
        DpEvent::PoissonSampled {
            sampling_rate,
            event,
        } => DpEvent::PoissonSampled {
            sampling_rate: *sampling_rate,
            event: Box::new(with_noise(event, x)?),
        },
        DpEvent::SampledWithoutReplacement {
            source_dataset_size,
            sample_size,
            event,
        } => DpEvent::SampledWithoutReplacement {
            source_dataset_size: *source_dataset_size,
            sample_size: *sample_size,
            event: Box::new(with_noise(event, x)?),
        },
        other => return Err(no_knob(other)),
    })
}

fn no_knob(e: &DpEvent) -> Error {
    Error::invalid(
        "event",
        e.describe(),
        "has no noise knob to calibrate: give one per-step event (gaussian, laplace, \
         randomized_response, discrete_laplace, discrete_gaussian, mixture_of_gaussians, \
         truncated_subsampled_gaussian, or a gaussian or laplace inside poisson_sampled or \
         sampled_without_replacement) and the number of steps",
    )
}

/// The smallest noise knob x ∈ [[`crate::calibrate::SIGMA_MIN`],
/// [`crate::calibrate::SIGMA_MAX`]] (σ, or the Laplace scale b; named `knob` in messages) at
/// which `steps` compositions of `event(x)` meet ε(δ) ≤ `target_epsilon`, on the accountant's
/// certified upper end of ε ([`crate::calibrate::calibration_epsilon`]; its estimate for an
/// uncertified accountant): x is walked from `start` by factors of 2 until the target is
/// bracketed, then bisected geometrically to `rel_tol`. The caller promises that ε is
/// non-increasing in x: a larger σ is a post-processing of a smaller one (fixed-size batches,
/// truncated Poisson, a sweep's event template); a larger Laplace scale b is Blackwell-dominated
/// by a smaller one (the pair at scale b is the unit-scale pair (Lap(0, 1), Lap(1/b, 1)), a
/// location family with monotone likelihood ratio, whose trade-off curves rise as the shift 1/b
/// falls; for a pair of laws that ordering is Blackwell's), and Poisson sampling at a fixed q
/// maps a garbling of the pair to the same garbling of the sampled pair. An accountant failure
/// other than a usage error counts as not meeting the target, so the returned value always meets
/// it by the accountant's own answer.
///
/// # Errors
/// Invalid parameters; a usage error of the accountant or of `event` (passed on);
/// [`Error::NoSolution`] when x = SIGMA_MAX misses the target (certifiably, for a certified
/// accountant); [`Error::NotCertified`] when the accountant refused at SIGMA_MAX or its
/// certified bracket there contains the target (docs/math.md §8); [`Error::NoConvergence`]
/// past 200 evaluations.
pub fn calibrate_sigma(
    accountant: &AccountantConfig,
    event: &dyn Fn(f64) -> Result<DpEvent>,
    steps: u64,
    target: (f64, f64, f64),
    start: f64,
    knob: &'static str,
) -> Result<SigmaCalibration> {
    use crate::calibrate::{calibration_epsilon, SIGMA_MAX, SIGMA_MIN};
    let (target_epsilon, delta, rel_tol) = target;
    crate::error::Range::above(0.0).check("target_epsilon", target_epsilon)?;
    crate::accountant::check_delta(delta)?;
    crate::error::Range::left_open(0.0, 0.1).check("rel_tol", rel_tol)?;
    crate::error::Range::above(0.0).check(knob, start)?;
    if steps == 0 {
        return Err(Error::invalid("steps", steps, "must be at least 1"));
    }
    let start = start.clamp(SIGMA_MIN, SIGMA_MAX);
    if let Ok(least_noise) = event(SIGMA_MIN) {
        crate::calibrate::check_noise_needed(
            accountant,
            &least_noise,
            steps,
            target_epsilon,
            knob,
        )?;
    }
    let mut evaluations = 0usize;
    let requested = Composed {
        accountant,
        event,
        steps,
    };
    if let Some(fast) = crate::calibrate::fast_search_config(accountant) {
        let on_fast = Composed {
            accountant: &fast,
            ..requested
        };
        match sigma_search(on_fast, target, start, knob, &mut evaluations) {
            Err(e) if e.is_usage() => return Err(e),
            Err(_) => {}
            Ok(c) => {
                let other = (c.other_end > 0.0).then_some(c.other_end);
                let mut feasible = |x: f64| -> Result<(bool, Option<Report>)> {
                    evaluations += 1;
                    match requested.epsilon_at(delta, x) {
                        Ok(r) => Ok((calibration_epsilon(&r).0 <= target_epsilon, Some(r))),
                        Err(e) if e.is_usage() && !e.is_budget() => Err(e),
                        Err(_) => Ok((false, None)),
                    }
                };
                let beyond = |x: f64, y: f64| (x * x / y).clamp(SIGMA_MIN, SIGMA_MAX);
                if let Some(mut c) = certify_fast_bracket(&mut feasible, c.sigma, other, &beyond)? {
                    c.report.notes.push(FAST_SEARCH_NOTE.into());
                    return Ok(SigmaCalibration {
                        sigma: c.good,
                        other_end: c.bad.unwrap_or(0.0),
                        report: c.report,
                        evaluations,
                    });
                }
            }
        }
    }
    sigma_search(requested, target, start, knob, &mut evaluations)
}

/// Why a report that misses the target on its certified upper end does not show a miss: its
/// certified bracket on ε contains the target (a wide bracket, e.g. from a contour accepting
/// wide brackets for calibration); `None` when the miss is certified or the report is not a
/// bracket.
fn undecided(r: &Report, target_epsilon: f64) -> Option<String> {
    match (r.guarantee, r.lower, r.upper) {
        (Guarantee::Bracket, Some(lo), Some(up)) if lo <= target_epsilon && !r.vacuous => {
            Some(format!(
                "the certified bracket on epsilon is [{lo:e}, {up:e}], which contains the \
                 target, so neither a solution nor its absence is certified"
            ))
        }
        _ => None,
    }
}

/// `steps` compositions of the per-step event `event(x)` (x the knob), queried by `accountant`.
#[derive(Clone, Copy)]
struct Composed<'a> {
    accountant: &'a AccountantConfig,
    event: &'a dyn Fn(f64) -> Result<DpEvent>,
    steps: u64,
}

impl Composed<'_> {
    /// ε at δ with the knob at x.
    fn epsilon_at(&self, delta: f64, x: f64) -> Result<Report> {
        let e = (self.event)(x)?;
        let mut a = crate::calibrate::build_for_calibration(self.accountant)?;
        a.compose(&e, self.steps)?;
        a.epsilon(delta)
    }

    /// Whether the knob at x meets `target` = (ε target, δ, _) on the accountant's certified
    /// upper end of ε (its value where it certifies none), and the report.
    fn meets(&self, target: (f64, f64, f64), x: f64) -> Result<(bool, Report)> {
        let (target_epsilon, delta, _) = target;
        let r = self.epsilon_at(delta, x)?;
        let up = r.upper.unwrap_or(r.epsilon);
        Ok((up <= target_epsilon, r))
    }
}

/// The search of [`calibrate_sigma`] on `c` (the requested accountant, or the f64 path of
/// [`crate::calibrate::fast_search_config`]); `evaluations` counts on.
fn sigma_search(
    c: Composed,
    target: (f64, f64, f64),
    start: f64,
    knob: &'static str,
    evaluations: &mut usize,
) -> Result<SigmaCalibration> {
    use crate::calibrate::{calibration_epsilon, SIGMA_MAX, SIGMA_MIN};
    let (target_epsilon, delta, rel_tol) = target;
    let steps = c.steps;
    let mut budget = 200usize;
    // The last σ at which the accountant failed (not certified, no convergence, ...).
    let failed: std::cell::RefCell<Option<(f64, Error)>> = std::cell::RefCell::new(None);
    // Every σ at which the accountant gave no answer, with why (for the answer's notes).
    let errors: std::cell::RefCell<Vec<(f64, String)>> = std::cell::RefCell::new(Vec::new());
    // The first grid budget exceeded, and whether any evaluation answered: a search in which
    // no σ fits the budget ends with that error (the caller's budget or tolerance).
    let first_budget: std::cell::RefCell<Option<Error>> = std::cell::RefCell::new(None);
    let answered = std::cell::Cell::new(false);
    // (σ, ε compared with the target) of every evaluation, for the secant steps.
    let seen: std::cell::RefCell<Vec<(f64, f64)>> = std::cell::RefCell::new(Vec::new());
    let mut eval = |sigma: f64| -> Result<Option<Report>> {
        if budget == 0 {
            return Err(Error::NoConvergence {
                what: format!("calibration of {knob}"),
                iterations: 200,
                residual: f64::NAN,
            });
        }
        budget -= 1;
        *evaluations += 1;
        let answer = c.epsilon_at(delta, sigma);
        let eps = answer
            .as_ref()
            .map_or(f64::INFINITY, |r| calibration_epsilon(r).0);
        seen.borrow_mut().push((sigma, eps));
        if answer.is_ok() {
            answered.set(true);
        }
        match answer {
            Ok(r) if eps <= target_epsilon => Ok(Some(r)),
            Ok(r) => {
                if let Some(why) = undecided(&r, target_epsilon) {
                    failed.replace(Some((sigma, Error::NotCertified(why))));
                }
                Ok(None)
            }
            Err(e) if e.is_usage() && !e.is_budget() => Err(e),
            Err(e) => {
                // Counted as a miss while searching (also a budget error: a PLD grid too large
                // at a small σ says nothing about a larger one); kept so that the end of the
                // range can say it was not certified rather than missed, and the answer that
                // a smaller σ was not ruled out.
                errors.borrow_mut().push((sigma, e.to_string()));
                if e.is_budget() && first_budget.borrow().is_none() {
                    first_budget.replace(Some(e.clone()));
                }
                failed.replace(Some((sigma, e)));
                Ok(None)
            }
        }
    };
    // (infeasible σ, feasible σ, the report at the feasible one)
    let (mut lo, mut hi, mut best) = match eval(start)? {
        Some(r) => {
            let (mut s, mut best) = (start, r);
            loop {
                if s <= SIGMA_MIN {
                    return Ok(SigmaCalibration {
                        sigma: s,
                        other_end: 0.0,
                        report: best,
                        evaluations: *evaluations,
                    });
                }
                let t = (0.5 * s).max(SIGMA_MIN);
                match eval(t)? {
                    Some(r) => (s, best) = (t, r),
                    None => break (t, s, best),
                }
            }
        }
        None => {
            let mut s = start;
            loop {
                if s >= SIGMA_MAX {
                    if let (false, Some(e)) = (answered.get(), first_budget.borrow_mut().take()) {
                        return Err(e);
                    }
                    if let Some((at, e)) = failed.borrow_mut().take().filter(|f| f.0 == s) {
                        // The accountant did not answer at the noisiest σ: nothing says that no
                        // σ meets the target, only that none could be shown to.
                        return Err(Error::NotCertified(format!(
                            "no {knob} in [{SIGMA_MIN}, {SIGMA_MAX}] was certified to meet \
                             epsilon <= {target_epsilon} at delta = {delta:e} after {steps} steps: \
                             at {knob} = {at}, {e}"
                        )));
                    }
                    return Err(Error::NoSolution(format!(
                        "no {knob} in [{SIGMA_MIN}, {SIGMA_MAX}] meets epsilon <= \
                         {target_epsilon} at delta = {delta:e} after {steps} steps"
                    )));
                }
                let t = (2.0 * s).min(SIGMA_MAX);
                if let Some(r) = eval(t)? {
                    break (s, t, r);
                }
                s = t;
            }
        }
    };
    let mut guard = crate::calibrate::Safeguard::new();
    while hi / lo - 1.0 > rel_tol {
        let at = |x: f64| crate::calibrate::last_seen(&seen.borrow(), x);
        let mid = crate::calibrate::next_point(
            &mut guard,
            (lo, at(lo)),
            (hi, at(hi)),
            target_epsilon,
            rel_tol,
            true,
        );
        if mid <= lo || mid >= hi {
            break;
        }
        match eval(mid)? {
            Some(r) => (hi, best) = (mid, r),
            None => lo = mid,
        }
    }
    best.notes
        .extend(crate::calibrate::wide_answer_note(&best, knob, true));
    if let Some((_, e)) = errors.borrow().iter().rev().find(|f| f.0 == lo) {
        best.notes.push(format!(
            "the accountant gave no answer at {knob} = {lo} ({e}), counted as not meeting the \
             target: the least {knob} that meets it may lie below the answer"
        ));
    }
    Ok(SigmaCalibration {
        sigma: hi,
        other_end: lo,
        report: best,
        evaluations: *evaluations,
    })
}

/// The search of [`calibrate_lattice`]; `target` is (ε target, δ, relative tolerance).
fn solve(
    accountant: &AccountantConfig,
    shape: Shape,
    make: &dyn Fn(f64) -> Result<DpEvent>,
    steps: u64,
    target: (f64, f64, f64),
) -> Result<LatticeCalibration> {
    let (target_epsilon, delta, rel_tol) = target;
    crate::error::Range::above(0.0).check("target_epsilon", target_epsilon)?;
    crate::accountant::check_delta(delta)?;
    crate::error::Range::open(0.0, 1.0).check("rel_tol", rel_tol)?;
    if steps == 0 {
        return Err(Error::invalid("steps", steps, "must be at least 1"));
    }
    let mut evaluations = 0;
    let requested = Composed {
        accountant,
        event: make,
        steps,
    };
    if let Some(fast) = crate::calibrate::fast_search_config(accountant) {
        let on_fast = Composed {
            accountant: &fast,
            ..requested
        };
        match solve_with(on_fast, shape, target, &mut evaluations) {
            Err(e) if e.is_usage() => return Err(e),
            Err(_) => {}
            Ok(c) => {
                let mut feasible = |x: f64| -> Result<(bool, Option<Report>)> {
                    evaluations += 1;
                    let (ok, r) = requested.meets(target, x)?;
                    Ok((ok, Some(r)))
                };
                let beyond = |x: f64, y: f64| shape.beyond(x, y);
                if let Some(mut c) =
                    certify_fast_bracket(&mut feasible, c.value, c.other_end, &beyond)?
                {
                    c.report.notes.push(FAST_SEARCH_NOTE.into());
                    return Ok(LatticeCalibration {
                        value: c.good,
                        other_end: c.bad,
                        report: c.report,
                        evaluations,
                    });
                }
            }
        }
    }
    solve_with(requested, shape, target, &mut evaluations)
}

/// The search of [`solve`] on `c` (the requested accountant, or the f64 path of
/// [`crate::calibrate::fast_search_config`]); `evaluations` counts on.
fn solve_with(
    c: Composed,
    shape: Shape,
    target: (f64, f64, f64),
    evaluations: &mut usize,
) -> Result<LatticeCalibration> {
    let (target_epsilon, delta, rel_tol) = target;
    let steps = c.steps;
    // The error of a search that ends on a miss `r`: not certified (`knob` at `at`, then why)
    // when the miss is [`undecided`], else no solution (even `end` of the range misses).
    let miss = |r: &Report, knob: &str, at: String, end: String| {
        let goal = format!("{target_epsilon} at delta = {delta:e} after {steps} steps");
        match undecided(r, target_epsilon) {
            Some(why) => Error::NotCertified(format!(
                "no {knob} was certified to meet epsilon <= {goal}: at {at}, {why}"
            )),
            None => Error::NoSolution(format!("even {end} gives epsilon above {goal}")),
        }
    };
    // (x, ε compared with the target) of every evaluation, for the secant steps.
    let seen: std::cell::RefCell<Vec<(f64, f64)>> = std::cell::RefCell::new(Vec::new());
    let mut eval = |x: f64| -> Result<(bool, Report)> {
        *evaluations += 1;
        let (ok, r) = c.meets(target, x)?;
        seen.borrow_mut().push((x, r.upper.unwrap_or(r.epsilon)));
        Ok((ok, r))
    };
    // `good` meets the target, `bad` does not; bisect (geometrically for a) until they are
    // within rel_tol of each other.
    let (mut good, mut bad, mut report) = match shape {
        Shape::NoiseParameter => {
            // p = 1 is a no-op (ε = 0).
            let (ok, r) = eval(1.0)?;
            if !ok {
                return Err(Error::Internal(
                    "randomized response with p = 1 did not meet a positive target".into(),
                ));
            }
            let (ok0, r0) = eval(1e-12)?;
            if ok0 {
                return Ok(LatticeCalibration {
                    value: 1e-12,
                    other_end: None,
                    report: r0,
                    evaluations: *evaluations,
                });
            }
            (1.0, 1e-12, r)
        }
        Shape::Parameter => {
            let (ok, r) = eval(PARAMETER_MIN)?;
            if !ok {
                return Err(miss(
                    &r,
                    "discrete Laplace parameter",
                    format!("a = {PARAMETER_MIN:e}"),
                    format!("the discrete Laplace parameter a = {PARAMETER_MIN:e}"),
                ));
            }
            let (ok_max, r_max) = eval(PARAMETER_MAX)?;
            if ok_max {
                return Ok(LatticeCalibration {
                    value: PARAMETER_MAX,
                    other_end: None,
                    report: r_max,
                    evaluations: *evaluations,
                });
            }
            (PARAMETER_MIN, PARAMETER_MAX, r)
        }
        Shape::Sigma {
            min: sigma_min,
            max: sigma_max,
            what,
            sensitivity,
        } => {
            // Walk by factors of 2 from σ = 1 or, for the discrete Gaussian, from the continuous
            // Gaussian's σ = Δ√n/μ* (a large σ within the atom cap is costly for the exact lattice
            // composition, and the atom paths may refuse near the cap: the search does not wander
            // far from the answer).
            let start = sensitivity
                .and_then(|d| gaussian_sigma(d, steps, target_epsilon, delta))
                .unwrap_or(1.0)
                .clamp(sigma_min, sigma_max);
            match walk_sigma(&mut eval, start, (sigma_min, sigma_max))? {
                Walk::Bracket(good, bad, report) => (good, bad, report),
                Walk::AtMin(value, report) => {
                    return Ok(LatticeCalibration {
                        value,
                        other_end: None,
                        report,
                        evaluations: *evaluations,
                    })
                }
                Walk::BeyondMax(bad, bad_report) => {
                    return Err(miss(
                        &bad_report,
                        &format!("sigma of {what}"),
                        format!("sigma = {bad:e}"),
                        format!("{what} with sigma = {sigma_max:e}"),
                    ))
                }
            }
        }
    };
    // Secant steps in ln x (in x for p, searched by arithmetic midpoints), safeguarded by
    // bisection ([`crate::calibrate::next_point`]).
    let log_x = !matches!(shape, Shape::NoiseParameter);
    let mut guard = crate::calibrate::Safeguard::new();
    let at = |x: f64| crate::calibrate::last_seen(&seen.borrow(), x);
    for _ in 0..200 {
        if (good - bad).abs() <= rel_tol * good.abs().max(bad.abs()) {
            break;
        }
        let mid = crate::calibrate::next_point(
            &mut guard,
            (bad, at(bad)),
            (good, at(good)),
            target_epsilon,
            rel_tol,
            log_x,
        );
        if mid == good || mid == bad {
            break;
        }
        let (ok, r) = eval(mid)?;
        if ok {
            good = mid;
            report = r;
        } else {
            bad = mid;
        }
    }
    Ok(LatticeCalibration {
        value: good,
        other_end: Some(bad),
        report,
        evaluations: *evaluations,
    })
}

/// Where [`walk_sigma`] stopped.
enum Walk {
    /// σ `good` meets the target, σ `bad` (a factor 2 away) does not; the report is `good`'s.
    Bracket(f64, f64, Report),
    /// The smallest σ of the range meets the target (halving would leave the range).
    AtMin(f64, Report),
    /// σ up to the largest of the range misses: the last σ tried and its report.
    BeyondMax(f64, Report),
}

/// The walk of a σ search by factors of 2 from `start` until one σ meets the target and the
/// next does not, or the range `(min, max)` ends.
fn walk_sigma(
    eval: &mut impl FnMut(f64) -> Result<(bool, Report)>,
    start: f64,
    (sigma_min, sigma_max): (f64, f64),
) -> Result<Walk> {
    let (ok, mut report) = eval(start)?;
    if ok {
        let mut good = start;
        loop {
            let next = good * 0.5;
            if next < sigma_min {
                return Ok(Walk::AtMin(good, report));
            }
            let (ok, r) = eval(next)?;
            if !ok {
                return Ok(Walk::Bracket(good, next, report));
            }
            (good, report) = (next, r);
        }
    }
    let mut bad = start;
    loop {
        let next = bad * 2.0;
        if next > sigma_max {
            return Ok(Walk::BeyondMax(bad, report));
        }
        let (ok, r) = eval(next)?;
        if ok {
            return Ok(Walk::Bracket(next, bad, r));
        }
        (bad, report) = (next, r);
    }
}

/// The note a calibration adds when it searched on the f64 path.
const FAST_SEARCH_NOTE: &str = "searched with f64 cumulants; both ends of the final bracket were \
     re-evaluated with the requested cumulant precision";

/// A final bracket re-evaluated by [`certify_fast_bracket`].
struct Certified {
    /// Meets the target by the requested accountant.
    good: f64,
    /// Misses it by the requested accountant (`None`: `good` is at the end of the range).
    bad: Option<f64>,
    /// The requested accountant's report at `good`.
    report: Report,
}

/// Re-evaluates the final bracket (`good`, `bad`) of a search run on the f64 cumulant path
/// ([`crate::calibrate::fast_search_config`]) with the requested accountant (`feasible`: whether
/// the knob meets the target, and the report). Where `good` misses the target, the bracket
/// steps away from `bad` (`beyond(x, y)`: the point past x seen from y, one bracket width on;
/// x itself at the end of the range), and where `bad` meets it, towards the other side; at most
/// 32 steps each. `None` when that does not settle (the caller then searches with the requested
/// accountant from the start): the returned ends are always ones the requested accountant
/// evaluated, on their sides.
fn certify_fast_bracket(
    feasible: &mut dyn FnMut(f64) -> Result<(bool, Option<Report>)>,
    good: f64,
    bad: Option<f64>,
    beyond: &dyn Fn(f64, f64) -> f64,
) -> Result<Option<Certified>> {
    const STEPS: usize = 32;
    let (mut good, mut bad) = (good, bad);
    let mut bad_checked = false;
    let mut report = None;
    for _ in 0..STEPS {
        match feasible(good)? {
            (true, Some(r)) => {
                report = Some(r);
                break;
            }
            (true, None) => return Ok(None),
            (false, _) => {
                let Some(b) = bad else { return Ok(None) };
                let next = beyond(good, b);
                if next == good {
                    return Ok(None);
                }
                (bad, good, bad_checked) = (Some(good), next, true);
            }
        }
    }
    let Some(mut report) = report else {
        return Ok(None);
    };
    if !bad_checked {
        let mut steps = 0;
        while let Some(b) = bad {
            let (ok, r) = feasible(b)?;
            if !ok {
                break;
            }
            let Some(r) = r else { return Ok(None) };
            steps += 1;
            if steps == STEPS {
                return Ok(None);
            }
            let next = beyond(b, good);
            (good, report) = (b, r);
            bad = (next != b).then_some(next);
        }
    }
    Ok(Some(Certified { good, bad, report }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accountant::{build, AccountantKind};
    use crate::mechanism::Adjacency;

    #[test]
    fn solved_knobs_meet_the_target_and_the_other_end_does_not() {
        let cfg = |adj| AccountantConfig::default_for(AccountantKind::Contour, adj);
        for (knob, adj) in [
            (
                LatticeKnob::NoiseParameter { buckets: 4 },
                Adjacency::ReplaceOne,
            ),
            (
                LatticeKnob::Parameter { sensitivity: 2 },
                Adjacency::AddRemove,
            ),
            (LatticeKnob::Sigma { sensitivity: 1 }, Adjacency::AddRemove),
        ] {
            let c = calibrate_lattice(&cfg(adj), knob, 50, 3.0, 1e-5, 1e-6).expect("solves");
            assert!(c.report.upper.expect("certified") <= 3.0);
            let other = c.other_end.expect("bisected");
            let mut a = build(&cfg(adj)).expect("setup");
            a.compose(&event(knob, other).expect("setup"), 50)
                .expect("setup");
            assert!(a.epsilon(1e-5).expect("eps").upper.expect("up") > 3.0);
            assert!((c.value - other).abs() <= 1e-6 * c.value.max(other));
        }
    }

    /// Each kind of per-step event: the knob named as in the event, the solved value meets the
    /// target by the accountant's certified upper end, the other end of the final bracket
    /// does not; an event with no knob is refused naming `event`.
    #[test]
    fn calibrate_event_solves_each_kind_of_knob() {
        let gauss = |sigma| Box::new(DpEvent::Gaussian { sigma });
        let cases: Vec<(DpEvent, Adjacency, AccountantKind, &str)> = vec![
            (
                DpEvent::PoissonSampled {
                    sampling_rate: 0.01,
                    event: Box::new(DpEvent::Laplace { scale: 1.0 }),
                },
                Adjacency::AddRemove,
                AccountantKind::Contour,
                "scale",
            ),
            (
                DpEvent::SampledWithoutReplacement {
                    source_dataset_size: 1000,
                    sample_size: 10,
                    event: gauss(1.0),
                },
                Adjacency::ReplaceOne,
                AccountantKind::Contour,
                "sigma",
            ),
            (
                DpEvent::TruncatedSubsampledGaussian {
                    dataset_size: 1000,
                    sampling_probability: 0.01,
                    truncated_batch_size: 15,
                    noise_multiplier: 1.0,
                },
                Adjacency::AddRemove,
                AccountantKind::Contour,
                "noise_multiplier",
            ),
            (
                DpEvent::RandomizedResponse {
                    noise_parameter: 0.5,
                    buckets: 4,
                },
                Adjacency::ReplaceOne,
                AccountantKind::Contour,
                "noise_parameter",
            ),
            (
                DpEvent::DiscreteLaplace {
                    parameter: 1.0,
                    sensitivity: 1,
                },
                Adjacency::AddRemove,
                AccountantKind::Contour,
                "parameter",
            ),
            (
                *gauss(3.0),
                Adjacency::AddRemove,
                AccountantKind::Contour,
                "sigma",
            ),
        ];
        for (template, adj, kind, name) in cases {
            let cfg = AccountantConfig::default_for(kind, adj);
            let steps = 100;
            let c = calibrate_event(&cfg, &template, steps, (2.0, 1e-5, 1e-4)).expect("solves");
            assert_eq!(c.knob, name);
            assert!(c.report.upper.expect("certified") <= 2.0, "{template:?}");
            let other = c.other_end.expect("bisected");
            let at_other = match &template {
                DpEvent::RandomizedResponse { buckets, .. } => DpEvent::RandomizedResponse {
                    noise_parameter: other,
                    buckets: *buckets,
                },
                DpEvent::DiscreteLaplace { sensitivity, .. } => DpEvent::DiscreteLaplace {
                    parameter: other,
                    sensitivity: *sensitivity,
                },
                t => with_noise(t, other).expect("setup"),
            };
            let mut a = build(&cfg).expect("setup");
            a.compose(&at_other, steps).expect("setup");
            let up = a.epsilon(1e-5).expect("eps").upper.expect("up");
            assert!(up > 2.0, "{template:?}: {name} = {other} gives {up}");
            assert!(
                (c.value - other).abs() <= 1e-4 * c.value.max(other),
                "{template:?}"
            );
        }
        let cfg = AccountantConfig::default_for(AccountantKind::Contour, Adjacency::AddRemove);
        for bad in [
            DpEvent::SelfComposed {
                event: gauss(1.0),
                count: 10,
            },
            DpEvent::NonPrivate,
            DpEvent::PoissonSampled {
                sampling_rate: 0.1,
                event: Box::new(DpEvent::NoOp),
            },
        ] {
            match calibrate_event(&cfg, &bad, 10, (1.0, 1e-5, 1e-4)) {
                Err(e @ Error::InvalidParameter { .. }) => {
                    assert!(e.to_string().contains("event"), "{e}")
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    /// A mixture of Gaussians (pld, certified): the solved σ meets the target, the other end
    /// of the bracket does not, and more steps need more noise.
    #[test]
    fn mixture_sigma_meets_the_target_and_grows_with_steps() {
        let cfg = AccountantConfig::default_for(AccountantKind::Pld, Adjacency::AddRemove);
        let mixture =
            GaussianMixture::mixture_of_gaussians(1.0, &[0.0, 1.0, 2.0], &[0.6, 0.3, 0.1])
                .expect("setup");
        let knob = LatticeKnob::MixtureSigma { mixture };
        let mut last = 0.0;
        for steps in [10, 100] {
            let c = calibrate_lattice(&cfg, knob, steps, 2.0, 1e-5, 1e-4).expect("solves");
            assert!(c.report.upper.expect("certified") <= 2.0);
            let other = c.other_end.expect("bisected");
            assert!(other < c.value && c.value - other <= 1e-4 * c.value);
            let mut a = build(&cfg).expect("setup");
            a.compose(&event(knob, other).expect("setup"), steps)
                .expect("setup");
            assert!(a.epsilon(1e-5).expect("eps").upper.expect("up") > 2.0);
            assert!(c.value > last, "sigma {} at {steps} steps", c.value);
            last = c.value;
        }
    }

    /// A stand-in report for the bracket walk (its content is not looked at).
    fn stand_in() -> Report {
        Report::new(
            "test",
            crate::accountant::Query::Epsilon,
            0.0,
            1e-5,
            Adjacency::AddRemove,
        )
    }

    #[test]
    fn a_fast_bracket_is_walked_onto_the_sides_the_requested_accountant_sees() {
        // The "requested accountant" meets the target from x = 1 on; the fast brackets below
        // are off by a few widths either way, right, or beyond repair.
        let mut calls = 0usize;
        let mut feasible = |x: f64| -> Result<(bool, Option<Report>)> {
            calls += 1;
            Ok((x >= 1.0, Some(stand_in())))
        };
        let beyond = |x: f64, y: f64| (x * x / y).clamp(1e-3, 1e3);
        for (good, bad) in [(0.99, 0.98), (1.05, 1.02), (1.01, 0.995), (0.999, 0.998)] {
            let c = certify_fast_bracket(&mut feasible, good, Some(bad), &beyond)
                .expect("no error")
                .expect("settles within 32 steps");
            let b = c.bad.expect("an infeasible end");
            assert!(
                c.good >= 1.0 && b < 1.0,
                "({good}, {bad}) -> ({}, {b})",
                c.good
            );
            let width = good / bad;
            assert!((c.good / b) / width - 1.0 < 1e-12, "the width is kept");
        }
        // 32 steps of 2% do not reach 1 from 0.5: the caller searches afresh.
        let far = certify_fast_bracket(&mut feasible, 0.5, Some(0.49), &beyond).expect("ok");
        assert!(far.is_none());
        // A good end without a bad one that misses: no direction to walk in.
        let lone = certify_fast_bracket(&mut feasible, 0.9, None, &beyond).expect("ok");
        assert!(lone.is_none());
        // The bad end meets the target all the way down to the end of the range.
        let mut always =
            |_: f64| -> Result<(bool, Option<Report>)> { Ok((true, Some(stand_in()))) };
        let c = certify_fast_bracket(&mut always, 1.2e-3, Some(1.1e-3), &beyond)
            .expect("ok")
            .expect("settles");
        assert_eq!((c.good, c.bad), (1e-3, None));
        // An evaluation error is passed on.
        let mut failing = |_: f64| -> Result<(bool, Option<Report>)> {
            Err(Error::invalid("sigma", 0.0, "test"))
        };
        assert!(certify_fast_bracket(&mut failing, 1.0, Some(0.9), &beyond).is_err());
    }

    #[test]
    fn certified_edgeworth_calibration_checks_both_ends_with_certified_cumulants() {
        // Fixed-size batches (replace-one), Edgeworth with cumulants at 128 bits: searched on
        // the f64 path, the answer and the other end re-evaluated at 128 bits.
        let cfg = AccountantConfig::Edgeworth(crate::accountant::EdgeworthParams {
            adjacency: Adjacency::ReplaceOne,
            precision: Some(crate::precision::Precision(128)),
            ..Default::default()
        });
        let make = |sigma: f64| -> Result<DpEvent> {
            Ok(DpEvent::SampledWithoutReplacement {
                source_dataset_size: 1000,
                sample_size: 10,
                event: Box::new(DpEvent::Gaussian { sigma }),
            })
        };
        let (target, delta, steps) = (1.0, 1e-5, 100);
        let c = calibrate_sigma(&cfg, &make, steps, (target, delta, 1e-4), 1.0, "sigma")
            .expect("solves");
        assert!(c.report.notes.iter().any(|n| n == FAST_SEARCH_NOTE));
        assert!(c.report.notes.iter().any(|n| n.contains("128 bits")));
        assert!(c.other_end < c.sigma && c.sigma / c.other_end - 1.0 <= 1e-4 * 1.0001);
        for (x, meets) in [(c.sigma, true), (c.other_end, false)] {
            let composed = Composed {
                accountant: &cfg,
                event: &make,
                steps,
            };
            let r = composed.epsilon_at(delta, x).expect("evaluates");
            assert!(r.notes.iter().any(|n| n.contains("128 bits")));
            assert_eq!(
                r.epsilon <= target,
                meets,
                "sigma {x}: epsilon {}",
                r.epsilon
            );
        }
    }
}
