//! Privacy-loss random variables of the mechanisms the toolkit accounts for.
//!
//! Conventions (docs/math.md §1–2): sensitivity 1; natural log; the *remove* ordering is the pair
//! (P, Q) with P the law without the record's contribution (e.g. N(0, 1)) and Q with it
//! (e.g. N(μ, 1)), PLLR L = log dQ/dP; the *add* ordering is the swapped pair, PLLR −L.
//! "Add/remove" adjacency is covered by the maximum over both orderings.

pub mod gaussian;
pub mod laplace;
pub mod subsampled;
// Lattice mechanisms (randomized response, discrete Laplace): docs/math.md §16.
pub mod lattice;
pub mod subsampled_laplace;
// Gaussian-mixture pairs (mixture of Gaussians, replace-one subsampled Gaussian): docs/math.md §17.
pub mod mixture;
// Fixed-size batches without replacement (replace-one): docs/math.md §17.6–§17.7.
pub mod without_replacement;
// Truncated Poisson sampling (a weighted disjoint union of pairs): docs/math.md §17.8.
pub mod truncated;

pub use gaussian::Gaussian;
pub use laplace::Laplace;
pub use lattice::{DiscreteGaussian, DiscreteLaplace, LatticeMechanism, RandomizedResponse};
pub use mixture::GaussianMixture;
pub use subsampled::SubsampledGaussian;
pub use subsampled_laplace::SubsampledLaplace;
pub use truncated::TruncatedPoisson;
pub use without_replacement::WithoutReplacement;

use crate::cumulants::{CertifiedCumulants, Cumulants};
use crate::error::{Error, Result};
use crate::precision::Precision;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// `Display` through the type's `name()` (its one spelling table); with `parse, "param"` also
/// the inherent `parse`, which forwards to the type's `FromStr` (whose error names `param`).
macro_rules! display_by_name {
    ($t:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.name())
            }
        }
    };
    ($t:ty, parse, $param:literal) => {
        $crate::mechanism::display_by_name!($t);

        impl $t {
            #[doc = concat!(
                                        "Parse a name (as [`std::str::FromStr`]).\n\n# Errors\n",
                                        "[`crate::error::Error::InvalidParameter`] naming `",
                                        $param,
                                        "` with the accepted names."
                                    )]
            pub fn parse(s: &str) -> $crate::error::Result<Self> {
                s.parse()
            }
        }
    };
}
pub(crate) use display_by_name;

/// One ordering of a neighbouring pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// P without the record, Q with it.
    Remove,
    /// The swapped pair.
    Add,
}

impl Direction {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Remove => "remove",
            Direction::Add => "add",
        }
    }
}

display_by_name!(Direction);

/// Which neighbouring relation a number covers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Adjacency {
    /// Remove ordering only (what prv_accountant and the original EA/EW-Tune code report).
    Remove,
    /// Add ordering only.
    Add,
    /// Add or remove one record: the maximum over both orderings (the default).
    #[default]
    AddRemove,
    /// Replace one record by another (dp_accounting's `REPLACE_ONE`): the mechanism's
    /// replace-one pair, which is symmetric for every mechanism that supports it (the Gaussian
    /// with doubled sensitivity, randomized response), so one ordering covers it
    /// (docs/math.md §16.3).
    ReplaceOne,
}

impl Adjacency {
    /// The orderings whose maximum this relation takes.
    pub fn directions(self) -> &'static [Direction] {
        match self {
            Adjacency::Remove => &[Direction::Remove],
            Adjacency::Add => &[Direction::Add],
            Adjacency::AddRemove => &[Direction::Remove, Direction::Add],
            Adjacency::ReplaceOne => &[Direction::Remove],
        }
    }

    /// Name as used on the CLI and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Adjacency::Remove => "remove",
            Adjacency::Add => "add",
            Adjacency::AddRemove => "add-remove",
            Adjacency::ReplaceOne => "replace-one",
        }
    }
}

display_by_name!(Adjacency, parse, "adjacency");

impl std::str::FromStr for Adjacency {
    type Err = Error;

    /// The [`Adjacency::name`] spellings; `add_remove` and `replace_one` are accepted too.
    fn from_str(s: &str) -> Result<Self> {
        [
            Adjacency::Remove,
            Adjacency::Add,
            Adjacency::AddRemove,
            Adjacency::ReplaceOne,
        ]
        .into_iter()
        .find(|a| a.name() == s || a.name().replace('-', "_") == s)
        .ok_or_else(|| {
            Error::invalid(
                "adjacency",
                s,
                "must be one of remove, add, add-remove, replace-one",
            )
        })
    }
}

/// A mechanism whose privacy loss the accountants understand.
// `GaussianMixture` holds its component lists inline (Copy); a few hundred bytes per mechanism.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "mechanism", rename_all = "kebab-case")]
pub enum Mechanism {
    /// Gaussian mechanism, noise multiplier σ.
    Gaussian(Gaussian),
    /// Laplace mechanism, scale b.
    Laplace(Laplace),
    /// Poisson-subsampled Gaussian (one DP-SGD step).
    SubsampledGaussian(SubsampledGaussian),
    /// Randomized response over k buckets (replace-one only).
    RandomizedResponse(RandomizedResponse),
    /// Discrete Laplace with integer sensitivity (add/remove).
    DiscreteLaplace(DiscreteLaplace),
    /// Poisson-subsampled Laplace mechanism, scale b and sampling rate q.
    SubsampledLaplace(SubsampledLaplace),
    /// Discrete Gaussian with integer sensitivity (add/remove).
    DiscreteGaussian(DiscreteGaussian),
    /// A pair of Gaussian mixtures: dp_accounting's mixture of Gaussians, the
    /// Poisson-subsampled Gaussian under replace-one, or fixed-size batches without
    /// replacement under replace-one (docs/math.md §17).
    GaussianMixture(GaussianMixture),
    /// The Gaussian mechanism on a truncated Poisson sample (dp_accounting's
    /// `TruncatedSubsampledGaussianDpEvent`; docs/math.md §17.8).
    TruncatedPoisson(TruncatedPoisson),
}

impl Mechanism {
    /// A short description, e.g. `subsampled-gaussian(sigma=0.8, q=0.01)`.
    pub fn describe(&self) -> String {
        match self {
            Mechanism::Gaussian(g) => describe_call("gaussian", &[("sigma", &g.sigma())]),
            Mechanism::Laplace(l) => describe_call("laplace", &[("scale", &l.scale())]),
            Mechanism::SubsampledGaussian(s) => describe_call(
                "subsampled-gaussian",
                &[("sigma", &s.sigma()), ("sampling_rate", &s.sampling_rate())],
            ),
            Mechanism::RandomizedResponse(r) => describe_call(
                "randomized-response",
                &[
                    ("noise_parameter", &r.noise_parameter()),
                    ("buckets", &r.buckets()),
                ],
            ),
            Mechanism::DiscreteLaplace(d) => describe_call(
                "discrete-laplace",
                &[
                    ("parameter", &d.parameter()),
                    ("sensitivity", &d.sensitivity()),
                ],
            ),
            Mechanism::SubsampledLaplace(s) => describe_call(
                "subsampled-laplace",
                &[("scale", &s.scale()), ("sampling_rate", &s.sampling_rate())],
            ),
            Mechanism::DiscreteGaussian(g) => describe_call(
                "discrete-gaussian",
                &[("sigma", &g.sigma()), ("sensitivity", &g.sensitivity())],
            ),
            Mechanism::GaussianMixture(g) => g.describe(),
            Mechanism::TruncatedPoisson(t) => t.describe(),
        }
    }

    /// The lattice law of a lattice mechanism (docs/math.md §16), `None` for the others and
    /// for a discrete Gaussian beyond its atom cap ([`DiscreteGaussian::has_atom_law`]).
    pub fn lattice(&self) -> Option<LatticeMechanism> {
        match self {
            Mechanism::RandomizedResponse(r) => Some(LatticeMechanism::RandomizedResponse(*r)),
            Mechanism::DiscreteLaplace(d) => Some(LatticeMechanism::DiscreteLaplace(*d)),
            Mechanism::DiscreteGaussian(g) if g.has_atom_law() => {
                Some(LatticeMechanism::DiscreteGaussian(*g))
            }
            _ => None,
        }
    }

    /// Fast f64 cumulants κ1..κ6 of the given ordering (cached).
    ///
    /// # Guarantee
    /// An estimate: closed forms for Gaussian and Laplace (relative error ~1e−15); for the
    /// subsampled Gaussian an f64 trapezoid (relative error ~1e−10 or better for
    /// σ ∈ [0.3, 100], q ∈ [1e−6, 1]; checked against the certified path in the tests).
    pub fn cumulants(&self, direction: Direction) -> Cumulants {
        let remove = cached_f64(self);
        match direction {
            Direction::Remove => remove,
            Direction::Add => remove.swapped(),
        }
    }

    /// Whether [`Self::cumulants`] stays within its quadrature's work limit (the subsampled
    /// Gaussian's f64 trapezoid, [`SubsampledGaussian::check_f64_work`]; every other mechanism
    /// answers `Ok`): beyond it those cumulants are NaN, and this says why.
    ///
    /// # Errors
    /// [`Error::NotCertified`] over the limit.
    pub fn check_f64_work(&self) -> Result<()> {
        match self {
            Mechanism::SubsampledGaussian(s) => s.check_f64_work(),
            _ => Ok(()),
        }
    }

    /// Certified enclosures of κ1..κ6 of the given ordering at `precision` (cached).
    ///
    /// # Guarantee
    /// Every interval contains the exact cumulant (MPFR interval arithmetic with directed
    /// rounding; for the subsampled Gaussian a certified trapezoid, see
    /// [`crate::special::quadrature`]).
    ///
    /// # Errors
    /// [`Error::PrecisionExhausted`] if the quadrature cannot produce a finite enclosure.
    pub fn certified_cumulants(
        &self,
        direction: Direction,
        precision: Precision,
    ) -> Result<Arc<CertifiedCumulants>> {
        let remove = cached_certified(self, precision)?;
        Ok(match direction {
            Direction::Remove => remove,
            Direction::Add => Arc::new(remove.swapped()),
        })
    }

    fn remove_f64(&self) -> Cumulants {
        match self {
            Mechanism::Gaussian(g) => g.cumulants_f64(),
            Mechanism::Laplace(l) => l.cumulants_f64(),
            Mechanism::SubsampledGaussian(s) => s.cumulants_f64(),
            Mechanism::RandomizedResponse(_) | Mechanism::DiscreteLaplace(_) => {
                let l = self.lattice().expect("invariant: a lattice mechanism");
                lattice::Lattice::cumulants_f64(&l)
            }
            Mechanism::SubsampledLaplace(s) => s.cumulants_f64(),
            // Beyond the atom cap: the continuous Gaussian's (μ = Δ/σ), an estimate (the
            // discrete Gaussian's characteristic function is the continuous one's to within
            // 2e^{−π²σ²/2}, docs/math.md §16.9).
            Mechanism::DiscreteGaussian(g) if !g.has_atom_law() => {
                Gaussian::new(g.sigma() / g.sensitivity() as f64)
                    .map(|c| c.cumulants_f64())
                    .unwrap_or(Cumulants {
                        p: [f64::NAN; crate::cumulants::MAX_ORDER],
                        q: [f64::NAN; crate::cumulants::MAX_ORDER],
                    })
            }
            Mechanism::DiscreteGaussian(g) => g
                .cumulants(Precision(128))
                .map(|c| c.mid())
                .unwrap_or_else(|_| {
                    let l = self.lattice().expect("invariant: within the atom cap");
                    lattice::Lattice::cumulants_f64(&l)
                }),
            Mechanism::GaussianMixture(g) => g.cumulants_f64(),
            Mechanism::TruncatedPoisson(t) => t.cumulants_f64(),
        }
    }

    fn remove_certified(&self, precision: Precision) -> Result<CertifiedCumulants> {
        match self {
            Mechanism::Gaussian(g) => Ok(g.certified_cumulants(precision)),
            Mechanism::Laplace(l) => Ok(l.certified_cumulants(precision)),
            Mechanism::SubsampledGaussian(s) => s.certified_cumulants(precision),
            Mechanism::RandomizedResponse(_) | Mechanism::DiscreteLaplace(_) => {
                let l = self.lattice().expect("invariant: a lattice mechanism");
                Ok(l.certified(precision).cumulants(precision))
            }
            Mechanism::SubsampledLaplace(s) => s.certified_cumulants(precision),
            Mechanism::DiscreteGaussian(g) => g.cumulants(precision),
            Mechanism::GaussianMixture(g) => g.certified_cumulants(precision),
            Mechanism::TruncatedPoisson(t) => t.certified_cumulants(precision),
        }
    }

    fn key(&self) -> (u8, u64, u64) {
        match self {
            Mechanism::Gaussian(g) => (0, g.sigma().to_bits(), 0),
            Mechanism::Laplace(l) => (1, l.scale().to_bits(), 0),
            Mechanism::SubsampledGaussian(s) => {
                (2, s.sigma().to_bits(), s.sampling_rate().to_bits())
            }
            Mechanism::RandomizedResponse(r) => (3, r.noise_parameter().to_bits(), r.buckets()),
            Mechanism::DiscreteLaplace(d) => (4, d.parameter().to_bits(), d.sensitivity()),
            Mechanism::SubsampledLaplace(s) => {
                (5, s.scale().to_bits(), s.sampling_rate().to_bits())
            }
            Mechanism::DiscreteGaussian(g) => (6, g.sigma().to_bits(), g.sensitivity()),
            Mechanism::GaussianMixture(g) => g.key(),
            Mechanism::TruncatedPoisson(t) => t.key(),
        }
    }
}

/// `name(key=value, ...)`: the form of [`Mechanism::describe`].
fn describe_call(name: &str, params: &[(&str, &dyn std::fmt::Display)]) -> String {
    let params: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", compact(&v.to_string())))
        .collect();
    format!("{name}({})", params.join(", "))
}

/// A number as Rust prints it, or in scientific notation where that is long: `{}` writes
/// 1e−300 with 300 zeros (a message once named `laplace(scale=0.000…1)` over 300 characters).
pub(crate) fn compact(text: &str) -> String {
    match text.parse::<f64>() {
        Ok(x) if text.len() > 20 && x.is_finite() => format!("{x:e}"),
        _ => text.to_string(),
    }
}

/// `value` when it is a count in [1, `max`], else [`Error::InvalidParameter`] naming `name`:
/// "must be an integer in [1, `max_text`]".
pub(crate) fn check_count(
    name: &'static str,
    value: u64,
    max: u64,
    max_text: impl std::fmt::Display,
) -> Result<u64> {
    if (1..=max).contains(&value) {
        Ok(value)
    } else {
        Err(Error::invalid(
            name,
            value,
            format!("must be an integer in [1, {max_text}]"),
        ))
    }
}

/// An index per distinct parameter list (exact: equal indices mean equal lists), for the
/// cache keys of mechanisms with more parameters than a key holds (each key carries its own
/// tag, so one table serves them all).
pub(crate) fn intern(bits: Vec<u64>) -> u64 {
    static TABLE: OnceLock<Mutex<HashMap<Vec<u64>, u64>>> = OnceLock::new();
    let table = TABLE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut g = match table.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let next = g.len() as u64;
    *g.entry(bits).or_insert(next)
}

type F64Cache = Mutex<HashMap<(u8, u64, u64), Cumulants>>;
type MpCache = Mutex<HashMap<(u8, u64, u64, u32), Arc<CertifiedCumulants>>>;

fn cached_f64(m: &Mechanism) -> Cumulants {
    static CACHE: OnceLock<F64Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = m.key();
    if let Some(c) = cache.lock().ok().and_then(|g| g.get(&key).copied()) {
        return c;
    }
    let c = m.remove_f64();
    if let Ok(mut g) = cache.lock() {
        if g.len() > 100_000 {
            g.clear();
        }
        g.insert(key, c);
    }
    c
}

fn cached_certified(m: &Mechanism, precision: Precision) -> Result<Arc<CertifiedCumulants>> {
    static CACHE: OnceLock<MpCache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let (a, b, c) = m.key();
    let key = (a, b, c, precision.bits());
    if let Some(v) = cache.lock().ok().and_then(|g| g.get(&key).cloned()) {
        return Ok(v);
    }
    let v = Arc::new(m.remove_certified(precision)?);
    if let Ok(mut g) = cache.lock() {
        if g.len() > 10_000 {
            g.clear();
        }
        g.insert(key, v.clone());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cumulant caches are keyed by [`Mechanism::key`]: two different mechanisms with the
    /// same bit patterns must not share a key (a collision returns another mechanism's
    /// cumulants).
    #[test]
    fn cache_keys_differ_between_mechanisms_with_the_same_parameters() {
        let (x, q) = (0.5, 0.25);
        let all = [
            Mechanism::Gaussian(Gaussian::new(x).expect("test setup")),
            Mechanism::Laplace(Laplace::new(x).expect("test setup")),
            Mechanism::SubsampledGaussian(SubsampledGaussian::new(x, q).expect("test setup")),
            Mechanism::RandomizedResponse(RandomizedResponse::new(x, 4).expect("test setup")),
            Mechanism::DiscreteLaplace(DiscreteLaplace::new(x, 4).expect("test setup")),
            Mechanism::SubsampledLaplace(SubsampledLaplace::new(x, q).expect("test setup")),
            Mechanism::DiscreteGaussian(DiscreteGaussian::new(x, 4).expect("test setup")),
            Mechanism::GaussianMixture(
                GaussianMixture::mixture_of_gaussians(x, &[q], &[1.0]).expect("test setup"),
            ),
            Mechanism::GaussianMixture(
                GaussianMixture::replace_one_poisson(x, q).expect("test setup"),
            ),
            Mechanism::GaussianMixture(GaussianMixture::WithoutReplacement(
                WithoutReplacement::new(x, 1, 4).expect("test setup"),
            )),
            Mechanism::TruncatedPoisson(TruncatedPoisson::new(100, q, 30, x).expect("test setup")),
        ];
        let mut tags: Vec<u8> = all.iter().map(|m| m.key().0).collect();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), all.len(), "one tag per mechanism");
    }
}
