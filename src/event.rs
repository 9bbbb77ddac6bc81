//! The DP-event vocabulary (modelled on Google's dp_accounting) and its flattening into a
//! list of (mechanism, count) pairs.

use crate::error::{Error, Result};
use crate::mechanism::DiscreteGaussian;
use crate::mechanism::GaussianMixture;
use crate::mechanism::SubsampledLaplace;
use crate::mechanism::WithoutReplacement;
use crate::mechanism::{Adjacency, Direction, DiscreteLaplace, RandomizedResponse};
use crate::mechanism::{Gaussian, Laplace, Mechanism, SubsampledGaussian};
use serde::{Deserialize, Serialize};

/// A differentially private event: a mechanism or a composition of events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DpEvent {
    /// The Gaussian mechanism with noise multiplier `sigma` (sensitivity 1).
    Gaussian {
        /// Noise multiplier σ > 0.
        sigma: f64,
    },
    /// The Laplace mechanism with scale `scale` (sensitivity 1).
    Laplace {
        /// Scale b > 0.
        scale: f64,
    },
    /// `event` applied to a Poisson sample of the data with rate `sampling_rate`.
    PoissonSampled {
        /// q ∈ (0, 1].
        sampling_rate: f64,
        /// The event run on the sample.
        event: Box<DpEvent>,
    },
    /// `event` composed with itself `count` times.
    SelfComposed {
        /// The event.
        event: Box<DpEvent>,
        /// How many times.
        count: u64,
    },
    /// The composition of several events.
    Composed {
        /// The events.
        events: Vec<DpEvent>,
    },
    /// Does nothing (no privacy cost).
    NoOp,
    /// Releases the data (infinite privacy cost).
    NonPrivate,
    /// Randomized response over `buckets` buckets with noise parameter p (replace-one only).
    RandomizedResponse {
        /// p ∈ [0, 1]: the probability of a uniformly random output.
        noise_parameter: f64,
        /// k ≥ 1.
        buckets: u64,
    },
    /// The discrete Laplace mechanism P(x) ∝ e^{−a|x|} with integer sensitivity (add/remove).
    DiscreteLaplace {
        /// a > 0.
        parameter: f64,
        /// Δ ≥ 1.
        sensitivity: u64,
    },
    /// The discrete Gaussian mechanism P(x) ∝ e^{−x²/(2σ²)} with integer sensitivity
    /// (add/remove).
    DiscreteGaussian {
        /// σ > 0.
        sigma: f64,
        /// Δ ≥ 1.
        sensitivity: u64,
    },
    /// dp_accounting's `MixtureOfGaussiansDpEvent`: N(0, σ²) against Σ p_i N(c_i, σ²)
    /// (add/remove; docs/math.md §17).
    MixtureOfGaussians {
        /// σ > 0.
        sigma: f64,
        /// c_i ≥ 0.
        sensitivities: Vec<f64>,
        /// p_i ≥ 0, summing to 1.
        probabilities: Vec<f64>,
    },
    /// dp_accounting's `SampledWithoutReplacementDpEvent`: `event` (a Gaussian) run on
    /// `sample_size` records drawn without replacement from `source_dataset_size`; defined
    /// under replace-one adjacency only (docs/math.md §17.6–§17.7).
    SampledWithoutReplacement {
        /// n ≥ 1.
        source_dataset_size: u64,
        /// b ∈ [1, n].
        sample_size: u64,
        /// The event run on the sample (a Gaussian).
        event: Box<DpEvent>,
    },
    /// dp_accounting's `TruncatedSubsampledGaussianDpEvent` (arXiv 2508.15089): Poisson
    /// sampling at rate q from `dataset_size` records, truncated to at most
    /// `truncated_batch_size` by a uniform subset, then the Gaussian mechanism
    /// (docs/math.md §17.8).
    TruncatedSubsampledGaussian {
        /// n ≥ 1.
        dataset_size: u64,
        /// q ∈ (0, 1].
        sampling_probability: f64,
        /// B ≥ 1 (B ≥ n: no truncation).
        truncated_batch_size: u64,
        /// σ > 0.
        noise_multiplier: f64,
    },
}

impl DpEvent {
    /// A one-line description (long numbers in scientific notation).
    pub fn describe(&self) -> String {
        crate::error::compact_numbers(&self.describe_plain())
    }

    fn describe_plain(&self) -> String {
        match self {
            DpEvent::Gaussian { sigma } => format!("Gaussian(sigma={sigma})"),
            DpEvent::Laplace { scale } => format!("Laplace(scale={scale})"),
            DpEvent::PoissonSampled {
                sampling_rate,
                event,
            } => format!("PoissonSampled(q={sampling_rate}, {})", event.describe()),
            DpEvent::SelfComposed { event, count } => {
                format!("SelfComposed({} x {count})", event.describe())
            }
            DpEvent::Composed { events } => format!("Composed({} events)", events.len()),
            DpEvent::NoOp => "NoOp".into(),
            DpEvent::NonPrivate => "NonPrivate".into(),
            DpEvent::RandomizedResponse {
                noise_parameter,
                buckets,
            } => format!("RandomizedResponse(p={noise_parameter}, k={buckets})"),
            DpEvent::DiscreteLaplace {
                parameter,
                sensitivity,
            } => format!("DiscreteLaplace(a={parameter}, sensitivity={sensitivity})"),
            DpEvent::DiscreteGaussian { sigma, sensitivity } => {
                format!("DiscreteGaussian(sigma={sigma}, sensitivity={sensitivity})")
            }
            DpEvent::MixtureOfGaussians {
                sigma,
                sensitivities,
                probabilities,
            } => format!(
                "MixtureOfGaussians(sigma={sigma}, sensitivities={sensitivities:?}, probabilities={probabilities:?})"
            ),
            DpEvent::SampledWithoutReplacement {
                source_dataset_size,
                sample_size,
                event,
            } => format!(
                "SampledWithoutReplacement(n={source_dataset_size}, b={sample_size}, {})",
                event.describe()
            ),
            DpEvent::TruncatedSubsampledGaussian {
                dataset_size,
                sampling_probability,
                truncated_batch_size,
                noise_multiplier,
            } => format!(
                "TruncatedSubsampledGaussian(n={dataset_size}, q={sampling_probability}, B={truncated_batch_size}, sigma={noise_multiplier})"
            ),
        }
    }

    /// The DP-SGD event: `steps` Poisson-sampled Gaussian steps.
    pub fn dpsgd(sigma: f64, sampling_rate: f64, steps: u64) -> DpEvent {
        DpEvent::SelfComposed {
            event: Box::new(DpEvent::poisson_gaussian(sigma, sampling_rate)),
            count: steps,
        }
    }

    /// One DP-SGD step: the Gaussian mechanism on a Poisson sample at `sampling_rate`.
    pub fn poisson_gaussian(sigma: f64, sampling_rate: f64) -> DpEvent {
        DpEvent::poisson_sampled(sampling_rate, DpEvent::Gaussian { sigma })
    }

    /// `event` on a Poisson sample at `sampling_rate`.
    pub fn poisson_sampled(sampling_rate: f64, event: DpEvent) -> DpEvent {
        DpEvent::PoissonSampled {
            sampling_rate,
            event: Box::new(event),
        }
    }
}

impl From<Mechanism> for DpEvent {
    fn from(m: Mechanism) -> Self {
        match m {
            Mechanism::Gaussian(g) => DpEvent::Gaussian { sigma: g.sigma() },
            Mechanism::Laplace(l) => DpEvent::Laplace { scale: l.scale() },
            Mechanism::SubsampledGaussian(s) => {
                DpEvent::poisson_gaussian(s.sigma(), s.sampling_rate())
            }
            Mechanism::RandomizedResponse(r) => DpEvent::RandomizedResponse {
                noise_parameter: r.noise_parameter(),
                buckets: r.buckets(),
            },
            Mechanism::DiscreteLaplace(d) => DpEvent::DiscreteLaplace {
                parameter: d.parameter(),
                sensitivity: d.sensitivity(),
            },
            Mechanism::SubsampledLaplace(s) => {
                DpEvent::poisson_sampled(s.sampling_rate(), DpEvent::Laplace { scale: s.scale() })
            }
            Mechanism::DiscreteGaussian(g) => DpEvent::DiscreteGaussian {
                sigma: g.sigma(),
                sensitivity: g.sensitivity(),
            },
            // The replace-one pair is the Poisson-sampled Gaussian under replace-one: the event
            // is the Poisson-sampled Gaussian (the relation is the accountant's).
            Mechanism::GaussianMixture(GaussianMixture::ReplaceOnePoisson {
                sigma,
                sampling_rate,
            }) => DpEvent::poisson_gaussian(sigma, sampling_rate),
            Mechanism::GaussianMixture(GaussianMixture::WithoutReplacement(w)) => {
                DpEvent::SampledWithoutReplacement {
                    source_dataset_size: w.dataset_size(),
                    sample_size: w.batch_size(),
                    event: Box::new(DpEvent::Gaussian { sigma: w.sigma() }),
                }
            }
            Mechanism::GaussianMixture(g @ GaussianMixture::MixtureOfGaussians { .. }) => {
                let (sigma, c, p) = g.lists().expect("invariant: a mixture of Gaussians");
                DpEvent::MixtureOfGaussians {
                    sigma,
                    sensitivities: c.to_vec(),
                    probabilities: p.to_vec(),
                }
            }
            // The relation (replace-one or not) is the accountant's, as for the mixture pair.
            Mechanism::TruncatedPoisson(t) => DpEvent::TruncatedSubsampledGaussian {
                dataset_size: t.dataset_size(),
                sampling_probability: t.sampling_rate(),
                truncated_batch_size: t.max_batch_size(),
                noise_multiplier: t.sigma(),
            },
        }
    }
}

/// A flattened composition: mechanisms with their counts, plus a non-private flag.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Composition {
    /// (mechanism, count) pairs, merged when equal.
    pub parts: Vec<(Mechanism, u64)>,
    /// Whether a non-private event was composed (ε = ∞).
    pub non_private: bool,
}

/// The deepest nesting of events (self-compositions, compositions, Poisson sampling) that is
/// flattened: the flattening recurses, and a deeper event is refused by name rather than
/// risking the stack.
pub const MAX_EVENT_DEPTH: usize = 256;

/// The most copies of one mechanism a composition holds: 10¹⁵, the range of the CLI's
/// `--steps` and of a sweep's steps. Counts of nested self-compositions multiply and repeated
/// compositions add; a total beyond this is refused (before, it saturated at 2⁶⁴ − 1 and
/// the accountants answered for that count).
pub const MAX_COUNT: u64 = 1_000_000_000_000_000;

/// The refusal of a count beyond [`MAX_COUNT`] (`None`: beyond 2⁶⁴ − 1).
fn count_error(m: &Mechanism, total: Option<u64>) -> Error {
    let value = match total {
        Some(t) if t < u64::MAX => t.to_string(),
        _ => "2^64 or more".to_string(),
    };
    Error::invalid(
        "count",
        value,
        format!(
            "the composed count of {} must be at most 10^15 (counts of nested \
             self-compositions multiply, repeated compositions add)",
            m.describe()
        ),
    )
}

impl Composition {
    /// The mechanisms composed, described and joined by ", " (for messages).
    pub fn describe_parts(&self) -> String {
        self.parts
            .iter()
            .map(|(m, _)| m.describe())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether nothing was composed.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty() && !self.non_private
    }

    /// Total number of mechanism invocations.
    pub fn steps(&self) -> u64 {
        self.parts.iter().map(|(_, c)| c).sum()
    }

    /// Whether every part is a Gaussian mechanism (the composition is then exactly Gaussian).
    pub fn all_gaussian(&self) -> bool {
        self.parts.iter().all(|(m, _)| match m {
            Mechanism::Gaussian(_) => true,
            Mechanism::SubsampledGaussian(s) => s.sampling_rate() == 1.0,
            _ => false,
        })
    }

    /// The largest privacy loss of the composition under `dir`, rounded up, when every part's
    /// loss is bounded above (`None` otherwise, and for a non-private composition): δ(ε) = 0
    /// exactly for ε at or above it, so ε(δ) is at most it for every δ > 0 (docs/math.md
    /// §15.1.2; per-part bounds from [`crate::cgf::loss_support`]).
    ///
    /// # Examples
    /// ```
    /// use ewtune::event::{Composition, DpEvent};
    /// use ewtune::mechanism::Direction;
    /// // 12 DP-SGD steps at q = 0.18: the add ordering's loss stays below 12·ln(1/(1 − q)),
    /// // whatever σ; the remove ordering's loss is unbounded.
    /// let c = Composition::from_event(&DpEvent::dpsgd(0.5, 0.18, 12), 1, "doc").unwrap();
    /// let m = c.max_loss(Direction::Add).unwrap();
    /// assert!(m >= 12.0 * (1.0f64 / 0.82).ln() && m < 2.38142);
    /// assert_eq!(c.max_loss(Direction::Remove), None);
    /// ```
    pub fn max_loss(&self, dir: Direction) -> Option<f64> {
        if self.non_private {
            return None;
        }
        let mut s = 0.0;
        for (m, n) in &self.parts {
            s += *n as f64 * crate::cgf::loss_support(m, dir).1?;
        }
        // Each product and sum rounds by ≤ 2^-53 relative (all terms positive).
        let parts = self.parts.len() as f64;
        Some(s * (1.0 + 4.0 * f64::EPSILON * (parts + 2.0)))
    }

    /// Add `count` copies of a mechanism.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `count` when the mechanism's total would exceed
    /// [`MAX_COUNT`] (the composition is then unchanged).
    pub fn push(&mut self, m: Mechanism, count: u64) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        let idx = self.parts.iter().position(|(x, _)| *x == m);
        let total = match idx {
            Some(i) => self.parts[i].1.checked_add(count),
            None => Some(count),
        };
        match (total, idx) {
            (Some(t), Some(i)) if t <= MAX_COUNT => self.parts[i].1 = t,
            (Some(t), None) if t <= MAX_COUNT => self.parts.push((m, t)),
            _ => return Err(count_error(&m, total)),
        }
        Ok(())
    }

    /// Add `count` copies without the [`MAX_COUNT`] check, for totals already checked
    /// ([`Composition::merge`]) and compositions derived from checked ones (a contour's
    /// truncated-Poisson parts replaced by their untruncated components): a sum of checked
    /// counts stays far below 2^64.
    pub(crate) fn push_derived(&mut self, m: Mechanism, count: u64) {
        if count == 0 {
            return;
        }
        if let Some(p) = self.parts.iter_mut().find(|(x, _)| *x == m) {
            p.1 = p.1.saturating_add(count);
        } else {
            self.parts.push((m, count));
        }
    }

    /// Add every part of `other` (and its non-private flag) to `self`.
    ///
    /// # Errors
    /// As [`Composition::push`]; checked for every part before any is added, so a refused
    /// merge leaves `self` unchanged.
    pub fn merge(&mut self, other: Composition) -> Result<()> {
        for (m, c) in &other.parts {
            let have = self.parts.iter().find(|(x, _)| x == m).map_or(0, |p| p.1);
            let total = have.checked_add(*c);
            if !matches!(total, Some(t) if t <= MAX_COUNT) {
                return Err(count_error(m, total));
            }
        }
        // Every total was checked above (the parts of `other` are distinct mechanisms).
        for (m, c) in other.parts {
            self.push_derived(m, c);
        }
        self.non_private |= other.non_private;
        Ok(())
    }

    /// Flatten `count` copies of `event` into `self`, validating parameters.
    /// `accountant` names the caller in errors.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for bad parameters; [`Error::UnsupportedEvent`] naming the
    /// sub-event for a Poisson-sampled event other than a Gaussian.
    pub fn add_event(
        &mut self,
        event: &DpEvent,
        count: u64,
        accountant: &'static str,
    ) -> Result<()> {
        self.add_event_at(event, count, accountant, 0)
    }

    /// [`Composition::add_event`] at nesting depth `depth` (refused beyond
    /// [`MAX_EVENT_DEPTH`]).
    fn add_event_at(
        &mut self,
        event: &DpEvent,
        count: u64,
        accountant: &'static str,
        depth: usize,
    ) -> Result<()> {
        if depth > MAX_EVENT_DEPTH {
            return Err(Error::invalid(
                "event",
                "(nested events)",
                format!("must not be nested more than {MAX_EVENT_DEPTH} levels deep"),
            ));
        }
        match event {
            DpEvent::Gaussian { sigma } => {
                self.push(Mechanism::Gaussian(Gaussian::new(*sigma)?), count)?
            }
            DpEvent::Laplace { scale } => {
                self.push(Mechanism::Laplace(Laplace::new(*scale)?), count)?
            }
            DpEvent::PoissonSampled {
                sampling_rate,
                event: inner,
            } => match inner.as_ref() {
                DpEvent::Gaussian { sigma } => self.push(
                    Mechanism::SubsampledGaussian(SubsampledGaussian::new(*sigma, *sampling_rate)?),
                    count,
                )?,
                DpEvent::NoOp => {}
                DpEvent::Laplace { scale } => self.push(
                    Mechanism::SubsampledLaplace(SubsampledLaplace::new(*scale, *sampling_rate)?),
                    count,
                )?,
                other => {
                    return Err(Error::UnsupportedEvent {
                        accountant,
                        event: format!("{} inside {}", other.describe(), event.describe()),
                        reason: "only a Gaussian or a Laplace mechanism can be Poisson-sampled"
                            .into(),
                    })
                }
            },
            DpEvent::SelfComposed { event, count: c } => {
                // Saturated at 2^64 − 1 on overflow, which `push` refuses (> MAX_COUNT).
                self.add_event_at(event, count.saturating_mul(*c), accountant, depth + 1)?
            }
            DpEvent::Composed { events } => {
                for e in events {
                    self.add_event_at(e, count, accountant, depth + 1)?;
                }
            }
            DpEvent::NoOp => {}
            DpEvent::NonPrivate => {
                if count > 0 {
                    self.non_private = true
                }
            }
            DpEvent::RandomizedResponse {
                noise_parameter,
                buckets,
            } => {
                let r = RandomizedResponse::new(*noise_parameter, *buckets)?;
                if r.is_non_private() {
                    self.non_private |= count > 0;
                } else if !r.is_no_op() {
                    self.push(Mechanism::RandomizedResponse(r), count)?
                }
            }
            DpEvent::DiscreteLaplace {
                parameter,
                sensitivity,
            } => self.push(
                Mechanism::DiscreteLaplace(DiscreteLaplace::new(*parameter, *sensitivity)?),
                count,
            )?,
            DpEvent::DiscreteGaussian { sigma, sensitivity } => self.push(
                Mechanism::DiscreteGaussian(DiscreteGaussian::new(*sigma, *sensitivity)?),
                count,
            )?,
            DpEvent::MixtureOfGaussians {
                sigma,
                sensitivities,
                probabilities,
            } => self.push(
                Mechanism::GaussianMixture(GaussianMixture::mixture_of_gaussians(
                    *sigma,
                    sensitivities,
                    probabilities,
                )?),
                count,
            )?,
            DpEvent::SampledWithoutReplacement {
                source_dataset_size,
                sample_size,
                event: inner,
            } => match inner.as_ref() {
                DpEvent::Gaussian { sigma } => self.push(
                    Mechanism::GaussianMixture(GaussianMixture::WithoutReplacement(
                        WithoutReplacement::new(*sigma, *sample_size, *source_dataset_size)?,
                    )),
                    count,
                )?,
                DpEvent::NoOp => {}
                other => {
                    return Err(Error::UnsupportedEvent {
                        accountant,
                        event: format!("{} inside {}", other.describe(), event.describe()),
                        reason: "only a Gaussian mechanism can be run on a sample drawn \
                                 without replacement"
                            .into(),
                    })
                }
            },
            DpEvent::TruncatedSubsampledGaussian {
                dataset_size,
                sampling_probability,
                truncated_batch_size,
                noise_multiplier,
            } => self.push(
                crate::mechanism::TruncatedPoisson::mechanism(
                    *dataset_size,
                    *sampling_probability,
                    *truncated_batch_size,
                    *noise_multiplier,
                )?,
                count,
            )?,
        }
        Ok(())
    }

    /// The composition under `adjacency` (docs/math.md §16.3): under replace-one a Gaussian
    /// (and a subsampled Gaussian with q = 1) becomes the Gaussian with doubled sensitivity
    /// (σ/2), a subsampled Gaussian with q < 1 becomes its replace-one Gaussian-mixture pair
    /// (docs/math.md §17), fixed-size batches (sampling without replacement) stay the
    /// symmetrised pair of docs/math.md §17.7 (b = n: the Gaussian at σ/2) and randomized
    /// response stays as it is; every other mechanism is refused. Fixed-size batches are
    /// refused under every other relation.
    /// Under the add/remove relations randomized response is refused (it is defined under
    /// replace-one only).
    ///
    /// # Errors
    /// [`Error::UnsupportedEvent`] naming the mechanism and the relation.
    pub fn for_adjacency(self, adjacency: Adjacency, accountant: &'static str) -> Result<Self> {
        let refuse = |m: &Mechanism, why: &str| Error::UnsupportedEvent {
            accountant,
            event: m.describe(),
            reason: format!("adjacency {adjacency} is not supported: {why}"),
        };
        let mut out = Composition {
            parts: Vec::with_capacity(self.parts.len()),
            non_private: self.non_private,
        };
        for (m, n) in self.parts {
            let mapped = match (adjacency, m) {
                (Adjacency::ReplaceOne, Mechanism::Gaussian(g)) => {
                    Mechanism::Gaussian(Gaussian::new(0.5 * g.sigma())?)
                }
                (Adjacency::ReplaceOne, Mechanism::SubsampledGaussian(s))
                    if s.sampling_rate() == 1.0 =>
                {
                    Mechanism::Gaussian(Gaussian::new(0.5 * s.sigma())?)
                }
                (Adjacency::ReplaceOne, Mechanism::RandomizedResponse(_)) => m,
                // Fixed-size batches (docs/math.md §17.7): b = n is the Gaussian at σ/2; the
                // symmetrised pair otherwise; replace-one only.
                (
                    Adjacency::ReplaceOne,
                    Mechanism::GaussianMixture(GaussianMixture::WithoutReplacement(w)),
                ) if w.is_full_batch() => Mechanism::Gaussian(Gaussian::new(0.5 * w.sigma())?),
                (_, Mechanism::GaussianMixture(GaussianMixture::WithoutReplacement(_)))
                    if adjacency != Adjacency::ReplaceOne =>
                {
                    return Err(refuse(
                        &m,
                        "fixed-size batches (sampling without replacement) are accounted under \
                         replace-one adjacency only, as in dp_accounting; use --adjacency \
                         replace-one",
                    ))
                }
                // q < 1: the replace-one Gaussian-mixture pair (docs/math.md §17).
                (Adjacency::ReplaceOne, Mechanism::SubsampledGaussian(s)) => {
                    Mechanism::GaussianMixture(GaussianMixture::replace_one_poisson(
                        s.sigma(),
                        s.sampling_rate(),
                    )?)
                }
                (Adjacency::ReplaceOne, Mechanism::GaussianMixture(g)) if g.is_symmetric() => m,
                // Truncated Poisson: the untruncated component becomes its replace-one pair
                // (docs/math.md §17.8).
                (Adjacency::ReplaceOne, Mechanism::TruncatedPoisson(t)) => {
                    Mechanism::TruncatedPoisson(t.replace_one())
                }
                (_, Mechanism::TruncatedPoisson(t)) if t.is_replace_one() => {
                    return Err(refuse(
                        &m,
                        "this is the replace-one pair of truncated Poisson sampling; use \
                         --adjacency replace-one",
                    ))
                }
                (_, Mechanism::GaussianMixture(g)) if g.is_symmetric() => {
                    return Err(refuse(
                        &m,
                        "this is the replace-one pair of the Poisson-subsampled Gaussian; use \
                         --adjacency replace-one",
                    ))
                }
                (Adjacency::ReplaceOne, _) => {
                    return Err(refuse(
                        &m,
                        "replace-one is supported for gaussian, subsampled-gaussian and \
                         randomized-response (as in dp_accounting, which \
                         refuses Laplace under replace-one); use --adjacency add-remove",
                    ))
                }
                (_, Mechanism::RandomizedResponse(_)) => {
                    return Err(refuse(
                        &m,
                        "randomized response is defined under replace-one adjacency only; use \
                         --adjacency replace-one",
                    ))
                }
                _ => m,
            };
            out.push(mapped, n)?;
        }
        Ok(out)
    }

    /// Flatten one event.
    ///
    /// # Errors
    /// As [`Composition::add_event`].
    pub fn from_event(event: &DpEvent, count: u64, accountant: &'static str) -> Result<Self> {
        let mut c = Composition::default();
        c.add_event(event, count, accountant)?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Descriptions (in error messages) write extreme numbers in scientific notation: `{}`
    /// printed 1e−300 as 302 characters ("laplace(scale=0.000…1)").
    #[test]
    fn descriptions_stay_short_for_extreme_numbers() {
        let e = DpEvent::poisson_sampled(1e-300, DpEvent::Laplace { scale: 1e-300 });
        let d = e.describe();
        assert_eq!(d, "PoissonSampled(q=1e-300, Laplace(scale=1e-300))");
        let m = crate::mechanism::Mechanism::Laplace(
            crate::mechanism::Laplace::new(1e-300).expect("test setup"),
        );
        assert_eq!(m.describe(), "laplace(scale=1e-300)");
        let plain = DpEvent::Gaussian { sigma: 0.8 }.describe();
        assert_eq!(plain, "Gaussian(sigma=0.8)");
    }

    #[test]
    fn flattens_nested_events_and_merges_counts() {
        let e = DpEvent::Composed {
            events: vec![
                DpEvent::dpsgd(0.8, 0.01, 100),
                DpEvent::SelfComposed {
                    event: Box::new(DpEvent::dpsgd(0.8, 0.01, 10)),
                    count: 3,
                },
                DpEvent::NoOp,
            ],
        };
        let c = Composition::from_event(&e, 2, "test").expect("test setup");
        assert_eq!(c.parts.len(), 1);
        assert_eq!(c.parts[0].1, 2 * (100 + 30));
        let bad = DpEvent::PoissonSampled {
            sampling_rate: 0.1,
            event: Box::new(DpEvent::dpsgd(1.0, 0.1, 1)),
        };
        let err = Composition::from_event(&bad, 1, "test").unwrap_err();
        assert!(err.to_string().contains("PoissonSampled"), "{err}");
        // A Poisson-sampled Laplace flattens to the subsampled Laplace mechanism.
        let ok = DpEvent::PoissonSampled {
            sampling_rate: 0.1,
            event: Box::new(DpEvent::Laplace { scale: 1.0 }),
        };
        let c = Composition::from_event(&ok, 3, "test").expect("test setup");
        assert_eq!(
            c.parts,
            vec![(
                Mechanism::SubsampledLaplace(SubsampledLaplace::new(1.0, 0.1).expect("test setup")),
                3
            )]
        );
        assert_eq!(DpEvent::from(c.parts[0].0), ok);
        let err = Composition::from_event(&DpEvent::Gaussian { sigma: -1.0 }, 1, "t").unwrap_err();
        assert!(err.to_string().contains("sigma"), "{err}");
    }

    #[test]
    fn events_round_trip_through_json() {
        let e = DpEvent::dpsgd(0.8, 0.01, 100);
        let s = serde_json::to_string(&e).expect("test setup");
        assert_eq!(serde_json::from_str::<DpEvent>(&s).expect("test setup"), e);
    }
}
