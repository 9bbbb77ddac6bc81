//! Accountants behind one interface (modelled on Google's dp_accounting).
//!
//! An accountant is fed events with [`Accountant::compose`] and answers
//! [`Accountant::epsilon`] / [`Accountant::delta`] with a [`Report`] that says what kind of
//! number it is ([`Guarantee`]) and which adjacency ordering(s) it covers.

/// The accessors that every accountant storing `params.adjacency` and a `composition` field
/// writes the same way: [`OrderingAccountant::name`], [`OrderingAccountant::adjacency`],
/// [`OrderingAccountant::composition`], and with `merge` also an
/// [`OrderingAccountant::absorb`] that only merges (no derived state to update).
macro_rules! ordering_accessors {
    ($name:literal) => {
        fn name(&self) -> &'static str {
            $name
        }

        fn adjacency(&self) -> Adjacency {
            self.params.adjacency
        }

        fn composition(&self) -> &Composition {
            &self.composition
        }
    };
    ($name:literal, merge) => {
        ordering_accessors!($name);

        fn absorb(&mut self, added: Composition) -> Result<()> {
            self.composition.merge(added)
        }
    };
}

pub mod contour;
pub mod edgeworth;
pub mod gdp;
pub mod invert;
pub mod pld;
pub mod rdp;
pub mod saddlepoint;

use crate::error::{Error, Result};
use crate::event::{Composition, DpEvent};
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
    /// formula's output, not a usable estimate. An ordering whose answer was replaced by its
    /// largest privacy loss (docs/math.md §15.1.2: ε held to it, or δ = 0 beyond it) does not
    /// make the report invalid: that answer is a bound, not the approximation.
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

/// The interface every accountant offers to its users (modelled on dp_accounting's
/// `PrivacyAccountant`): compose events, then ask for ε(δ) or δ(ε).
///
/// Implement [`OrderingAccountant`] instead of this trait: a blanket implementation turns
/// any [`OrderingAccountant`] into an [`Accountant`] and does the shared work once
/// (validation of ε and δ, the trivial compositions, the loop over adjacency orderings, the
/// [`Report`]).
pub trait Accountant: Send {
    /// Short name (`edgeworth`, `pld`, `rdp`, `gdp`, `saddlepoint`, `contour`).
    fn name(&self) -> &'static str;

    /// `Ok(())` if the accountant can handle `event` (and every sub-event).
    ///
    /// # Errors
    /// [`Error::UnsupportedEvent`] naming the first unsupported sub-event, or
    /// [`Error::InvalidParameter`] for bad parameters.
    fn supports(&self, event: &DpEvent) -> Result<()> {
        Composition::from_event(event, 1, self.name()).map(|_| ())
    }

    /// Compose `count` copies of `event` into the accountant's state. On error the state is
    /// unchanged.
    ///
    /// # Errors
    /// As [`Accountant::supports`].
    fn compose(&mut self, event: &DpEvent, count: u64) -> Result<()>;

    /// ε for a given δ ∈ (0, 1).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a bad δ; a computation that failed or could not be
    /// certified ([`Error::NotCertified`]).
    fn epsilon(&self, delta: f64) -> Result<Report>;

    /// δ for a given ε ≥ 0.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a bad ε; a computation that failed or could not be
    /// certified ([`Error::NotCertified`]).
    fn delta(&self, epsilon: f64) -> Result<Report>;
}

/// A computed quantity with its certified ends, when the accountant certifies them.
///
/// The one bracket type of every accountant. `lower ≤ value ≤ upper` whenever both ends are
/// present and the accountant's answer is valid; a missing end means "not certified" (an
/// estimate has neither end; RDP has only an upper end).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bracket {
    /// The accountant's value: its estimate, or a point inside the certified ends.
    pub value: f64,
    /// Certified lower bound on the true quantity, when known.
    pub lower: Option<f64>,
    /// Certified upper bound on the true quantity, when known.
    pub upper: Option<f64>,
}

impl Bracket {
    /// An estimate without certified ends.
    pub fn estimate(value: f64) -> Self {
        Bracket {
            value,
            lower: None,
            upper: None,
        }
    }

    /// A certified enclosure `[lower, upper]` with `value` inside it.
    pub fn certified(lower: f64, value: f64, upper: f64) -> Self {
        Bracket {
            value,
            lower: Some(lower),
            upper: Some(upper),
        }
    }

    /// A certified upper bound that is also the reported value.
    pub fn upper_bound(value: f64) -> Self {
        Bracket {
            value,
            lower: None,
            upper: Some(value),
        }
    }

    /// `upper − lower` when both ends are known.
    pub fn width(&self) -> Option<f64> {
        Some(self.upper? - self.lower?)
    }
}

/// One adjacency ordering's answer, as an [`OrderingAccountant`] returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderingAnswer {
    /// The computed quantity (ε or δ) for this ordering.
    pub bracket: Bracket,
    /// Caveats for the report, already naming the ordering where that matters.
    pub notes: Vec<String>,
    /// False when the approximation is known to be invalid at the answer (see
    /// [`Report::valid`]).
    pub valid: bool,
}

impl OrderingAnswer {
    /// A valid answer without notes.
    pub fn new(bracket: Bracket) -> Self {
        OrderingAnswer {
            bracket,
            notes: Vec::new(),
            valid: true,
        }
    }

    /// Add a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

/// What an accountant implements: the computation for one adjacency ordering. The blanket
/// implementation of [`Accountant`] calls it once per ordering of [`OrderingAccountant::adjacency`]
/// with an ε or δ that is already validated and a composition that is neither empty nor
/// non-private, and reports the maximum over the orderings.
pub trait OrderingAccountant: Send {
    /// Short name, used in reports and errors.
    fn name(&self) -> &'static str;

    /// The ordering(s) covered.
    fn adjacency(&self) -> Adjacency;

    /// The composition so far.
    fn composition(&self) -> &Composition;

    /// Add a validated composition to the state: merge it into the stored [`Composition`]
    /// ([`Composition::merge`]) and update any state derived from it (Edgeworth's summed
    /// cumulants, RDP's cached curve).
    ///
    /// # Errors
    /// A failure computing derived state; the state must then be left unchanged.
    fn absorb(&mut self, added: Composition) -> Result<()>;

    /// Reject compositions this accountant cannot handle (the default accepts everything
    /// [`Composition`] can flatten).
    ///
    /// # Errors
    /// [`Error::UnsupportedEvent`] naming the mechanism.
    fn check(&self, _added: &Composition) -> Result<()> {
        Ok(())
    }

    /// What the reported number guarantees for this query on the current composition.
    fn guarantee(&self, query: Query) -> Guarantee;

    /// δ(ε) for one ordering; `epsilon` is finite and ≥ 0.
    ///
    /// # Errors
    /// A computation that failed or could not be certified.
    fn delta_for(&self, direction: Direction, epsilon: f64) -> Result<OrderingAnswer>;

    /// ε(δ) for one ordering; `delta` ∈ (0, 1).
    ///
    /// # Errors
    /// A computation that failed or could not be certified.
    fn epsilon_for(&self, direction: Direction, delta: f64) -> Result<OrderingAnswer>;

    /// Every ordering's answer for one query, in the order of
    /// [`Adjacency::directions`]. The default calls [`OrderingAccountant::delta_for`] or
    /// [`OrderingAccountant::epsilon_for`] once per ordering; an accountant whose orderings
    /// share work (one grid sized for all of them, as PLD's) overrides it.
    ///
    /// # Errors
    /// As [`OrderingAccountant::delta_for`].
    fn orderings_for(&self, query: Query, given: f64) -> Result<Vec<(Direction, OrderingAnswer)>> {
        self.adjacency()
            .directions()
            .iter()
            .map(|&dir| {
                let a = match query {
                    Query::Epsilon => self.epsilon_for(dir, given)?,
                    Query::Delta => self.delta_for(dir, given)?,
                };
                Ok((dir, a))
            })
            .collect()
    }

    /// Whether the combined bracket says nothing. The default: a δ bracket whose upper end is
    /// ≥ 1, or an ε bracket whose upper end is infinite.
    fn vacuous(&self, query: Query, bracket: &Bracket) -> bool {
        match (query, bracket.upper) {
            (Query::Delta, Some(u)) => u >= 1.0,
            (Query::Epsilon, Some(u)) => u.is_infinite(),
            _ => false,
        }
    }

    /// The series order reported in [`Report::order`] (also for the trivial compositions), for
    /// accountants that have one.
    fn order(&self) -> Option<u8> {
        None
    }

    /// Accountant-wide additions to the finished report (extra notes, the Edgeworth order).
    ///
    /// # Errors
    /// A computation that failed.
    fn finish(&self, _report: &mut Report) -> Result<()> {
        Ok(())
    }
}

impl<T: OrderingAccountant> Accountant for T {
    fn name(&self) -> &'static str {
        OrderingAccountant::name(self)
    }

    fn supports(&self, event: &DpEvent) -> Result<()> {
        let name = OrderingAccountant::name(self);
        let c = Composition::from_event(event, 1, name)?.for_adjacency(self.adjacency(), name)?;
        self.check(&c)
    }

    /// The event is flattened and mapped to the accountant's adjacency
    /// ([`Composition::for_adjacency`]: replace-one doubles a Gaussian's sensitivity, and a
    /// mechanism without the relation is refused).
    fn compose(&mut self, event: &DpEvent, count: u64) -> Result<()> {
        let name = OrderingAccountant::name(self);
        let c =
            Composition::from_event(event, count, name)?.for_adjacency(self.adjacency(), name)?;
        self.check(&c)?;
        self.absorb(c)
    }

    fn epsilon(&self, delta: f64) -> Result<Report> {
        answer(self, Query::Epsilon, check_delta(delta)?)
    }

    fn delta(&self, epsilon: f64) -> Result<Report> {
        answer(self, Query::Delta, check_epsilon(epsilon)?)
    }
}

/// The shared part of every query: the trivial compositions, the loop over orderings, the
/// maximum (value and each certified end), and the report.
fn answer<A: OrderingAccountant + ?Sized>(acc: &A, query: Query, given: f64) -> Result<Report> {
    let (epsilon, delta) = match query {
        Query::Epsilon => (0.0, given),
        Query::Delta => (given, 0.0),
    };
    let adjacency = acc.adjacency();
    if let Some(r) = Report::trivial(
        acc.name(),
        acc.composition(),
        query,
        epsilon,
        delta,
        adjacency,
    ) {
        return Ok(Report {
            order: acc.order(),
            ..r
        });
    }
    let mut r = Report::new(acc.name(), query, epsilon, delta, adjacency);
    r.order = acc.order();
    r.guarantee = acc.guarantee(query);
    let mut combined: Option<Bracket> = None;
    for (dir, a) in acc.orderings_for(query, given)? {
        let b = match query {
            Query::Delta => clamp_delta(a.bracket, dir, &mut r.notes),
            Query::Epsilon => a.bracket,
        };
        // An ordering whose value the largest loss replaced answers with that bound (or with
        // δ = 0 exactly), not with its own approximation: an invalid approximation there does
        // not make the report invalid.
        let (b, replaced) = match acc.composition().max_loss(dir) {
            Some(m) => {
                let value = b.value;
                let b = cap_at_largest_loss(b, query, given, m, dir, &mut r.notes)?;
                let replaced = match query {
                    Query::Epsilon => value > m,
                    Query::Delta => given >= m,
                };
                (b, replaced)
            }
            None => (b, false),
        };
        r.orderings.push(OrderingValue {
            direction: dir,
            value: b.value,
            lower: b.lower,
            upper: b.upper,
        });
        r.notes.extend(a.notes);
        r.valid &= a.valid || replaced;
        combined = Some(match combined {
            None => b,
            Some(c) => Bracket {
                value: c.value.max(b.value),
                lower: c.lower.zip(b.lower).map(|(x, y)| x.max(y)),
                upper: c.upper.zip(b.upper).map(|(x, y)| x.max(y)),
            },
        });
    }
    let c = combined.ok_or_else(|| Error::Internal("an adjacency covers no ordering".into()))?;
    r.set_value(c.value);
    r.lower = c.lower;
    r.upper = c.upper;
    r.vacuous = acc.vacuous(query, &c);
    acc.finish(&mut r)?;
    Ok(r)
}

/// An ordering's answer held to what its largest privacy loss m (rounded up,
/// [`Composition::max_loss`]) allows, for every accountant alike (docs/math.md §15.1.2): the
/// composed loss never exceeds m, so ε(δ) ≤ m for every δ > 0 and δ(ε) = 0 for ε ≥ m. An ε
/// value or upper end above m is lowered to m (an RDP conversion or an estimate can exceed it:
/// RDP's add ordering of DP-SGD at q = 0.18, σ = 0.5, 12 steps gives 21.0 against m = 2.38),
/// and at ε ≥ m a δ query answers 0, both with a note. A certified lower end above the bound
/// contradicts it and is an internal error, never hidden.
fn cap_at_largest_loss(
    b: Bracket,
    query: Query,
    given: f64,
    m: f64,
    dir: Direction,
    notes: &mut Vec<String>,
) -> Result<Bracket> {
    let contradiction = |what: &str, x: f64| {
        Error::Internal(format!(
            "{} ordering: the certified lower end of {what}, {x:e}, exceeds what the largest \
             privacy loss {m:e} allows",
            dir.name()
        ))
    };
    match query {
        Query::Epsilon => {
            if let Some(l) = b.lower.filter(|&l| l > m) {
                return Err(contradiction("epsilon", l));
            }
            let above = b.value > m || b.upper.is_some_and(|u| u > m);
            if !above {
                return Ok(b);
            }
            let gave = b.upper.unwrap_or(b.value).max(b.value);
            let gave = if gave.abs() < 1e6 {
                format!("{gave:.10}")
            } else {
                format!("{gave:.10e}")
            };
            notes.push(format!(
                "{} ordering: epsilon held to the ordering's largest privacy loss {m:.10} (the \
                 accountant gave {gave}; epsilon(delta) never exceeds it, docs/math.md §15.1.2)",
                dir.name()
            ));
            Ok(Bracket {
                value: b.value.min(m),
                lower: b.lower,
                upper: b.upper.map(|u| u.min(m)),
            })
        }
        Query::Delta => {
            if given < m || (b.value == 0.0 && b.upper.unwrap_or(0.0) == 0.0) {
                return Ok(b);
            }
            if let Some(l) = b.lower.filter(|&l| l > 0.0) {
                return Err(contradiction("delta", l));
            }
            notes.push(format!(
                "{} ordering: delta = 0 exactly at epsilon >= {m:.10}, the ordering's largest \
                 privacy loss (the accountant gave {:.10e}; docs/math.md §15.1.2)",
                dir.name(),
                b.upper.unwrap_or(b.value).max(b.value)
            ));
            Ok(Bracket {
                value: 0.0,
                lower: b.lower,
                upper: b.upper.map(|_| 0.0),
            })
        }
    }
}

/// A δ bracket within [0, 1], where every δ lies (a hockey-stick divergence of probability
/// laws): ends and value beyond it are moved onto it, which keeps each certified end valid. A
/// value above 1 by more than rounding (an estimate such as a truncated Edgeworth series) is
/// noted.
fn clamp_delta(b: Bracket, dir: Direction, notes: &mut Vec<String>) -> Bracket {
    if b.value > 1.0 + 1e-9 {
        notes.push(format!(
            "{} ordering: the computed delta {:.10e} exceeds 1; every delta is at most 1, so 1 \
             is reported",
            dir.name(),
            b.value
        ));
    }
    let unit = |x: f64| if x.is_nan() { x } else { x.clamp(0.0, 1.0) };
    Bracket {
        value: unit(b.value),
        lower: b.lower.map(unit),
        upper: b.upper.map(unit),
    }
}

/// The accountants the toolkit offers. Spelled in kebab case on the command line, in JSON
/// and in sweep configs ([`AccountantKind::name`], [`std::fmt::Display`], [`std::str::FromStr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
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

    /// The name on the CLI, in JSON and in reports (the one spelling table).
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
}

crate::mechanism::display_by_name!(AccountantKind, parse, "accountant");

impl std::str::FromStr for AccountantKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
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

/// One accountant with its own typed parameters: what [`build`] takes. Every field is a
/// parameter of that accountant; nothing is silently ignored or replaced.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountantConfig {
    /// [`EdgeworthAccountant`].
    Edgeworth(EdgeworthParams),
    /// [`SaddlePointAccountant`].
    Saddlepoint(SaddlePointParams),
    /// [`ContourAccountant`].
    Contour(ContourParams),
    /// [`PldAccountant`].
    Pld(PldParams),
    /// [`RdpAccountant`].
    Rdp(RdpParams),
    /// [`GdpAccountant`] (its only parameter is the adjacency).
    Gdp {
        /// Ordering(s) to cover.
        adjacency: Adjacency,
    },
}

impl AccountantConfig {
    /// The accountant's own defaults, for the given adjacency.
    pub fn default_for(kind: AccountantKind, adjacency: Adjacency) -> Self {
        let mut c = match kind {
            AccountantKind::Edgeworth => AccountantConfig::Edgeworth(EdgeworthParams::default()),
            AccountantKind::Saddlepoint => {
                AccountantConfig::Saddlepoint(SaddlePointParams::default())
            }
            AccountantKind::Contour => AccountantConfig::Contour(ContourParams::default()),
            AccountantKind::Pld => AccountantConfig::Pld(PldParams::default()),
            AccountantKind::Rdp => AccountantConfig::Rdp(RdpParams::default()),
            AccountantKind::Gdp => AccountantConfig::Gdp { adjacency },
        };
        *c.adjacency_mut() = adjacency;
        c
    }

    /// Which accountant.
    pub fn kind(&self) -> AccountantKind {
        match self {
            AccountantConfig::Edgeworth(_) => AccountantKind::Edgeworth,
            AccountantConfig::Saddlepoint(_) => AccountantKind::Saddlepoint,
            AccountantConfig::Contour(_) => AccountantKind::Contour,
            AccountantConfig::Pld(_) => AccountantKind::Pld,
            AccountantConfig::Rdp(_) => AccountantKind::Rdp,
            AccountantConfig::Gdp { .. } => AccountantKind::Gdp,
        }
    }

    /// The ordering(s) covered.
    pub fn adjacency(&self) -> Adjacency {
        match self {
            AccountantConfig::Edgeworth(p) => p.adjacency,
            AccountantConfig::Saddlepoint(p) => p.adjacency,
            AccountantConfig::Contour(p) => p.adjacency,
            AccountantConfig::Pld(p) => p.adjacency,
            AccountantConfig::Rdp(p) => p.adjacency,
            AccountantConfig::Gdp { adjacency } => *adjacency,
        }
    }

    /// The ordering(s) covered, to change them in place.
    pub fn adjacency_mut(&mut self) -> &mut Adjacency {
        match self {
            AccountantConfig::Edgeworth(p) => &mut p.adjacency,
            AccountantConfig::Saddlepoint(p) => &mut p.adjacency,
            AccountantConfig::Contour(p) => &mut p.adjacency,
            AccountantConfig::Pld(p) => &mut p.adjacency,
            AccountantConfig::Rdp(p) => &mut p.adjacency,
            AccountantConfig::Gdp { adjacency } => adjacency,
        }
    }

    /// The Edgeworth order, for the accountants that have one.
    pub fn order(&self) -> Option<u8> {
        match self {
            AccountantConfig::Edgeworth(p) => Some(p.order),
            AccountantConfig::Saddlepoint(p) => Some(p.order),
            _ => None,
        }
    }
}

/// The knobs a front end (the CLI's flags, a sweep config) offers for every accountant at
/// once. [`AccountantSettings::config`] hands each accountant the ones that are its
/// parameters; a knob left `None` keeps that accountant's own default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountantSettings {
    /// Ordering(s) to cover.
    pub adjacency: Adjacency,
    /// Edgeworth order 0–3 (edgeworth, saddlepoint).
    pub order: Option<u8>,
    /// MPFR precision of the certified cumulants (edgeworth: `None` is the f64 path;
    /// saddlepoint: `None` is its default, 128 bits).
    pub precision: Option<Precision>,
    /// Relative tolerance (contour: on δ; pld: the target width of the ε bracket).
    pub tolerance: Option<f64>,
    /// Edgeworth: add the certified Derumigny–Girard–Guyonvarch bracket.
    pub bracket: bool,
    /// PLD: most grid points per distribution.
    pub grid_budget: Option<usize>,
    /// Saddle point: the Kolmogorov-distance bracket alone (no Fourier part).
    pub kolmogorov_only: bool,
}

impl AccountantSettings {
    /// The typed configuration of `kind` from these settings.
    pub fn config(&self, kind: AccountantKind) -> AccountantConfig {
        let mut c = AccountantConfig::default_for(kind, self.adjacency);
        match &mut c {
            AccountantConfig::Edgeworth(p) => {
                p.order = self.order.unwrap_or(p.order);
                p.precision = self.precision;
                p.bracket = self.bracket;
            }
            AccountantConfig::Saddlepoint(p) => {
                p.order = self.order.unwrap_or(p.order);
                p.precision = self.precision.unwrap_or(p.precision);
                if self.kolmogorov_only {
                    p.fourier = FourierPart::Off;
                }
            }
            AccountantConfig::Contour(p) => p.tolerance = self.tolerance.unwrap_or(p.tolerance),
            AccountantConfig::Pld(p) => {
                p.tolerance = self.tolerance.unwrap_or(p.tolerance);
                p.max_grid_points = self.grid_budget.unwrap_or(p.max_grid_points);
            }
            AccountantConfig::Rdp(_) | AccountantConfig::Gdp { .. } => {}
        }
        c
    }

    /// The settings given (not left at their defaults) that `kind` has no parameter for, as
    /// (name, value) pairs; the CLI refuses them for a single accountant instead of ignoring
    /// them.
    pub fn inapplicable(&self, kind: AccountantKind) -> Vec<(&'static str, String)> {
        use AccountantKind as K;
        let mut out = Vec::new();
        let mut given = |name, value: Option<String>, applies: bool| {
            if let (Some(v), false) = (value, applies) {
                out.push((name, v));
            }
        };
        let flag = |on: bool| on.then(|| "true".to_string());
        let edgeworth_like = matches!(kind, K::Edgeworth | K::Saddlepoint);
        given("order", self.order.map(|o| o.to_string()), edgeworth_like);
        let tolerance = self.tolerance.map(|t| t.to_string());
        given("tolerance", tolerance, matches!(kind, K::Contour | K::Pld));
        given("bracket", flag(self.bracket), kind == K::Edgeworth);
        let budget = self.grid_budget.map(|g| g.to_string());
        given("grid_budget", budget, kind == K::Pld);
        given(
            "kolmogorov_only",
            flag(self.kolmogorov_only),
            kind == K::Saddlepoint,
        );
        out
    }
}

/// Build an accountant from its typed configuration.
///
/// # Errors
/// [`Error::InvalidParameter`] for parameters the accountant rejects (e.g. a PLD tolerance
/// below what its grid budget can honour).
pub fn build(config: &AccountantConfig) -> Result<Box<dyn Accountant>> {
    Ok(match config {
        AccountantConfig::Edgeworth(p) => Box::new(EdgeworthAccountant::new(*p)?),
        AccountantConfig::Saddlepoint(p) => Box::new(SaddlePointAccountant::new(*p)?),
        AccountantConfig::Contour(p) => Box::new(ContourAccountant::new(*p)?),
        AccountantConfig::Pld(p) => Box::new(PldAccountant::new(p.clone())?),
        AccountantConfig::Rdp(p) => Box::new(RdpAccountant::new(p.clone())?),
        AccountantConfig::Gdp { adjacency } => Box::new(GdpAccountant::new(*adjacency)),
    })
}

/// Validate δ ∈ (0, 1).
///
/// # Errors
/// [`Error::InvalidParameter`] naming `delta`.
pub fn check_delta(delta: f64) -> Result<f64> {
    crate::error::Range::open(0.0, 1.0).check("delta", delta)
}

/// Validate ε ≥ 0 (finite).
///
/// # Errors
/// [`Error::InvalidParameter`] naming `epsilon`.
pub fn check_epsilon(epsilon: f64) -> Result<f64> {
    crate::error::Range::at_least(0.0).check("epsilon", epsilon)
}
