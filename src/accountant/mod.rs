//! Accountants behind one interface (modelled on Google's dp_accounting).
//!
//! An accountant is fed events with [`Accountant::compose`] and answers
//! [`Accountant::epsilon`] / [`Accountant::delta`] with a [`Report`] that says what kind of
//! number it is ([`Guarantee`]) and which adjacency ordering(s) it covers.

pub mod contour;
pub mod edgeworth;
pub mod gdp;
pub mod invert;
pub mod pld;
pub mod rdp;
pub mod saddlepoint;

use crate::error::{Error, Result};
use crate::event::DpEvent;
use crate::mechanism::{Adjacency, Direction};
use crate::precision::Precision;
use serde::Serialize;

pub use contour::{ContourAccountant, ContourParams};
pub use edgeworth::{EdgeworthAccountant, EdgeworthParams};
pub use gdp::GdpAccountant;
pub use pld::{PldAccountant, PldParams};
pub use rdp::{RdpAccountant, RdpParams};
pub use saddlepoint::{FourierPart, SaddlePointAccountant, SaddlePointParams};

/// What a reported number guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Guarantee {
    /// Exact up to floating-point rounding of a closed form.
    Exact,
    /// A certified upper bound on the true value.
    UpperBound,
    /// A certified lower bound on the true value.
    LowerBound,
    /// An approximation with no certificate.
    Estimate,
    /// `lower` and `upper` are certified bounds; the value lies between them.
    Bracket,
}

impl Guarantee {
    /// Snake-case name as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::Exact => "exact",
            Guarantee::UpperBound => "upper_bound",
            Guarantee::LowerBound => "lower_bound",
            Guarantee::Estimate => "estimate",
            Guarantee::Bracket => "bracket",
        }
    }
}

/// Which quantity a report answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Query {
    /// ε was computed for a given δ.
    Epsilon,
    /// δ was computed for a given ε.
    Delta,
}

/// The value for one ordering.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderingValue {
    /// The ordering.
    pub direction: Direction,
    /// The computed quantity for that ordering.
    pub value: f64,
    /// Certified lower end, when known.
    pub lower: Option<f64>,
    /// Certified upper end, when known.
    pub upper: Option<f64>,
}

/// An accountant's answer.
///
/// `epsilon` and `delta` are both filled: one was given, the other computed (see `query`).
/// `lower`/`upper` bracket the computed quantity when the accountant certifies them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Accountant name (`edgeworth`, `pld`, ...).
    pub accountant: String,
    /// Which quantity was computed.
    pub query: Query,
    /// ε (natural log).
    pub epsilon: f64,
    /// δ.
    pub delta: f64,
    /// log10 δ (kept beside δ for tails).
    pub log10_delta: f64,
    /// What the computed number guarantees.
    pub guarantee: Guarantee,
    /// Ordering(s) covered.
    pub adjacency: Adjacency,
    /// Edgeworth order, for accountants that have one.
    pub order: Option<u8>,
    /// Certified lower bound on the computed quantity.
    pub lower: Option<f64>,
    /// Certified upper bound on the computed quantity.
    pub upper: Option<f64>,
    /// True when a certified bound exists but says nothing (e.g. δ_up ≥ 1).
    pub vacuous: bool,
    /// False when the approximation is known to be invalid at the answer (e.g. a truncated
    /// Edgeworth survival function ≤ 0 there); `notes` say where. The value is then the
    /// formula's output, not a usable estimate.
    pub valid: bool,
    /// Per-ordering values (the reported one is their maximum).
    pub orderings: Vec<OrderingValue>,
    /// Caveats (non-monotone curve, precision used, ...).
    pub notes: Vec<String>,
    /// Wall-clock seconds, filled in by callers that time the call (0 otherwise).
    pub seconds: f64,
}

impl Report {
    /// The exact answer for a composition that is empty (ε = 0 / δ = 0) or contains a
    /// non-private event (ε = ∞ / δ = 1), with a note; `None` for any other composition.
    /// Shared by every accountant.
    pub fn trivial(
        accountant: &str,
        composition: &crate::event::Composition,
        query: Query,
        epsilon: f64,
        delta: f64,
        adjacency: Adjacency,
    ) -> Option<Report> {
        let (value, note) = if composition.non_private {
            let v = if query == Query::Epsilon {
                f64::INFINITY
            } else {
                1.0
            };
            (v, "a non-private event was composed")
        } else if composition.parts.is_empty() {
            (0.0, "nothing composed")
        } else {
            return None;
        };
        let mut r = Report::new(accountant, query, epsilon, delta, adjacency);
        r.guarantee = Guarantee::Exact;
        r.set_value(value);
        r.notes.push(note.into());
        Some(r)
    }

    /// A report skeleton for the given query.
    pub fn new(
        accountant: &str,
        query: Query,
        epsilon: f64,
        delta: f64,
        adjacency: Adjacency,
    ) -> Self {
        Report {
            accountant: accountant.to_string(),
            query,
            epsilon,
            delta,
            log10_delta: if delta > 0.0 {
                delta.log10()
            } else {
                f64::NEG_INFINITY
            },
            guarantee: Guarantee::Estimate,
            adjacency,
            order: None,
            lower: None,
            upper: None,
            vacuous: false,
            valid: true,
            orderings: Vec::new(),
            notes: Vec::new(),
            seconds: 0.0,
        }
    }

    /// Set the computed quantity (ε or δ by `query`) and keep `log10_delta` in step.
    pub fn set_value(&mut self, v: f64) {
        match self.query {
            Query::Epsilon => self.epsilon = v,
            Query::Delta => {
                self.delta = v;
                self.log10_delta = if v > 0.0 {
                    v.log10()
                } else {
                    f64::NEG_INFINITY
                };
            }
        }
    }

    /// The computed quantity.
    pub fn value(&self) -> f64 {
        match self.query {
            Query::Epsilon => self.epsilon,
            Query::Delta => self.delta,
        }
    }
}

/// The interface every accountant implements.
pub trait Accountant: Send {
    /// Short name (`edgeworth`, `pld`, `rdp`, `gdp`, `saddlepoint`, `contour`).
    fn name(&self) -> &'static str;

    /// `Ok(())` if the accountant can handle `event` (and every sub-event). The default accepts
    /// whatever [`crate::event::Composition`] can flatten; accountants with narrower support
    /// override it.
    ///
    /// # Errors
    /// [`Error::UnsupportedEvent`] naming the first unsupported sub-event.
    fn supports(&self, event: &DpEvent) -> Result<()> {
        crate::event::Composition::from_event(event, 1, self.name()).map(|_| ())
    }

    /// Compose `count` copies of `event` into the accountant's state.
    ///
    /// # Errors
    /// As [`Accountant::supports`], plus [`Error::InvalidParameter`] for bad parameters.
    fn compose(&mut self, event: &DpEvent, count: u64) -> Result<()>;

    /// ε for a given δ ∈ (0, 1).
    ///
    /// # Errors
    /// Bad δ, or a computation that failed.
    fn epsilon(&self, delta: f64) -> Result<Report>;

    /// δ for a given ε ≥ 0.
    ///
    /// # Errors
    /// Bad ε, or a computation that failed.
    fn delta(&self, epsilon: f64) -> Result<Report>;
}

/// The accountants the toolkit offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountantKind {
    /// Edgeworth expansion of orders 0–3 (estimate; certified bracket with `bracket`).
    Edgeworth,
    /// Saddle-point (tilted) accountant: estimate plus a certified bracket, cost flat in steps.
    Saddlepoint,
    /// Exact inversion along the saddle-point contour (certified bracket).
    Contour,
    /// Discretised privacy-loss distributions composed by FFT (certified bracket).
    Pld,
    /// Rényi DP with the Mironov–Talwar–Zhang series (certified upper bound).
    Rdp,
    /// GDP / CLT of Bu et al. (estimate; exact for Gaussian mechanisms).
    Gdp,
}

impl AccountantKind {
    /// Every kind, in the order `compare` lists them.
    pub const ALL: &'static [AccountantKind] = &[
        AccountantKind::Edgeworth,
        AccountantKind::Saddlepoint,
        AccountantKind::Contour,
        AccountantKind::Pld,
        AccountantKind::Rdp,
        AccountantKind::Gdp,
    ];

    /// CLI name.
    pub fn name(self) -> &'static str {
        match self {
            AccountantKind::Edgeworth => "edgeworth",
            AccountantKind::Saddlepoint => "saddlepoint",
            AccountantKind::Contour => "contour",
            AccountantKind::Pld => "pld",
            AccountantKind::Rdp => "rdp",
            AccountantKind::Gdp => "gdp",
        }
    }

    /// Parse a CLI name.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `accountant` with the accepted names.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
                Error::invalid(
                    "accountant",
                    s,
                    format!("must be one of {}", names.join(", ")),
                )
            })
    }
}

/// Options shared by the accountant constructors; each accountant reads the fields it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountantOptions {
    /// Ordering(s) to cover.
    pub adjacency: Adjacency,
    /// Edgeworth order (0–3).
    pub order: u8,
    /// MPFR precision for certified cumulants; `None` for the fast f64 path.
    pub precision: Option<Precision>,
    /// Requested accuracy (relative) where an accountant can trade accuracy for time.
    pub tolerance: f64,
    /// Whether to add certified error bounds (Edgeworth bracket).
    pub bracket: bool,
    /// Most grid points a grid-based accountant (PLD) may allocate per distribution.
    pub grid_budget: usize,
    /// Saddle-point accountant: report the Kolmogorov-distance bracket alone, without the
    /// Fourier part it adds where that bracket is loose ([`saddlepoint::FourierPart`]).
    pub kolmogorov_only: bool,
}

impl Default for AccountantOptions {
    fn default() -> Self {
        AccountantOptions {
            adjacency: Adjacency::AddRemove,
            order: 1,
            precision: None,
            tolerance: 1e-9,
            bracket: false,
            grid_budget: pld::DEFAULT_MAX_GRID_POINTS,
            kolmogorov_only: false,
        }
    }
}

/// Build an accountant of the given kind.
///
/// # Errors
/// [`Error::InvalidParameter`] for options the accountant rejects.
pub fn build(kind: AccountantKind, options: &AccountantOptions) -> Result<Box<dyn Accountant>> {
    Ok(match kind {
        AccountantKind::Edgeworth => Box::new(EdgeworthAccountant::new(EdgeworthParams {
            order: options.order,
            adjacency: options.adjacency,
            precision: options.precision,
            bracket: options.bracket,
        })?),
        AccountantKind::Saddlepoint => Box::new(SaddlePointAccountant::new(SaddlePointParams {
            order: options.order,
            adjacency: options.adjacency,
            precision: options.precision.unwrap_or(Precision(128)),
            bracket: true,
            fourier: if options.kolmogorov_only {
                FourierPart::Off
            } else {
                FourierPart::WhenLoose
            },
        })?),
        AccountantKind::Contour => Box::new(ContourAccountant::new(ContourParams {
            adjacency: options.adjacency,
            tolerance: options.tolerance,
        })?),
        AccountantKind::Pld => Box::new(PldAccountant::new(PldParams {
            adjacency: options.adjacency,
            // The shared default tolerance (1e-9) is meant for the series accountants; the
            // PLD grid takes tolerances ≥ 1e-3 only from here (finer through PldParams).
            tolerance: if options.tolerance >= pld::MIN_SHARED_TOLERANCE {
                options.tolerance.min(0.5)
            } else {
                pld::DEFAULT_TOLERANCE
            },
            max_grid_points: options.grid_budget,
            ..PldParams::default()
        })?),
        AccountantKind::Rdp => Box::new(RdpAccountant::new(RdpParams {
            adjacency: options.adjacency,
            ..RdpParams::default()
        })?),
        AccountantKind::Gdp => Box::new(GdpAccountant::new(options.adjacency)),
    })
}

/// Validate δ ∈ (0, 1).
///
/// # Errors
/// [`Error::InvalidParameter`] naming `delta`.
pub fn check_delta(delta: f64) -> Result<f64> {
    crate::error::check_range("delta", delta, 0.0, true, 1.0, true)
}

/// Validate ε ≥ 0 (finite).
///
/// # Errors
/// [`Error::InvalidParameter`] naming `epsilon`.
pub fn check_epsilon(epsilon: f64) -> Result<f64> {
    crate::error::check_range("epsilon", epsilon, 0.0, false, f64::INFINITY, true)
}
