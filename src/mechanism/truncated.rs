//! Truncated Poisson sampling of the Gaussian mechanism: dp_accounting's
//! `TruncatedSubsampledGaussianDpEvent` (arXiv 2508.15089), docs/math.md §17.8.
//!
//! Records are Poisson-sampled at rate q from a dataset of n records, the sample is cut down to
//! at most B records by a uniformly random subset, and the Gaussian mechanism with noise
//! multiplier σ runs on what is left. The accounting pair is the weighted disjoint union of two
//! component pairs (docs/math.md §17.8):
//!
//! * weight t = P(Bin(n − 1, q) ≥ B): the replace-one Poisson-subsampled Gaussian with noise
//!   σ/2 at the conditional rate q' = P(Bin(n, q) > B)·B/(t·n) (a Gaussian-mixture pair,
//!   [`GaussianMixture::replace_one_poisson`]);
//! * weight 1 − t: the Poisson-subsampled Gaussian (σ, q) (under replace-one adjacency its
//!   replace-one pair).
//!
//! t and q' are enclosed with certified error bounds (MPFR sums of the binomial pmf with a
//! geometric tail bound, [`binomial_tail`]); the pair is evaluated at an f64 weight t_f and the
//! distance η ≥ |t − t_f| is carried by every accountant (docs/math.md §17.8: the union's
//! composed δ moves by at most T·η); q' is taken at the upper end of its enclosure (the
//! replace-one pair is monotone in its rate).

use super::{intern, Gaussian, GaussianMixture, Mechanism, SubsampledGaussian};
use crate::cumulants::{cumulants_from_moments, CertifiedCumulants, Cumulants, MAX_ORDER};
use crate::error::{Error, Result};
use crate::mechanism::mixture::MixtureLaw;
use crate::mechanism::Direction;
use crate::precision::{opposite, Interval, Precision};
use rug::float::Round;
use rug::ops::{AddAssignRound, DivAssignRound, MulAssignRound, SubAssignRound};
use rug::Float;

/// Largest `dataset_size` accepted (10¹⁵; the binomial sums' cost depends on the standard
/// deviation √(nq(1 − q)), bounded by [`MAX_TAIL_TERMS`] before any work).
pub const MAX_DATASET_SIZE: u64 = 1_000_000_000_000_000;

/// Most binomial pmf terms one tail sum may take (checked before summing).
pub const MAX_TAIL_TERMS: f64 = 5e7;

/// Working precision (bits) of the binomial sums.
const TAIL_BITS: u32 = 256;

/// The relative error bound applied outward to every binomial sum, 2^−150 (docs/math.md §17.8:
/// the exponent of the first term is off by at most ~2^−210, each of at most 5·10⁷ ratio steps
/// and additions by 2^−256 relative).
const TAIL_REL_ERR_LOG2: i32 = -150;

/// A component pair of the union (Copy, so that the mechanism stays Copy).
// `GaussianMixture` holds its component lists inline (Copy); a few hundred bytes.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Component {
    /// The Gaussian mechanism (the replace-one pair at rate 1: doubled sensitivity).
    Gaussian(Gaussian),
    /// The Poisson-subsampled Gaussian under add/remove.
    Subsampled(SubsampledGaussian),
    /// A Gaussian-mixture pair (the replace-one Poisson-subsampled Gaussian).
    Mixture(GaussianMixture),
}

impl Component {
    /// The component as a mechanism (for its cumulants and RDP).
    pub fn mechanism(&self) -> Mechanism {
        match *self {
            Component::Gaussian(g) => Mechanism::Gaussian(g),
            Component::Subsampled(s) => Mechanism::SubsampledGaussian(s),
            Component::Mixture(g) => Mechanism::GaussianMixture(g),
        }
    }

    /// The ordering's pair as a Gaussian-mixture law (non-decreasing loss; docs/math.md §17).
    pub fn law(&self, direction: Direction) -> MixtureLaw {
        let single = |sigma: f64, c: &[f64], p: &[f64]| {
            GaussianMixture::mixture_of_gaussians(sigma, c, p)
                .expect("invariant: validated component parameters")
                .law_for(direction)
        };
        match *self {
            Component::Gaussian(g) => single(g.sigma(), &[1.0], &[1.0]),
            Component::Subsampled(s) if s.sampling_rate() == 1.0 => {
                single(s.sigma(), &[1.0], &[1.0])
            }
            Component::Subsampled(s) => {
                let q = s.sampling_rate();
                single(s.sigma(), &[0.0, 1.0], &[1.0 - q, q])
            }
            Component::Mixture(g) => g.law_for(direction),
        }
    }

    /// Whether both orderings have the same loss law.
    fn is_symmetric(&self) -> bool {
        match self {
            Component::Gaussian(_) => true,
            Component::Subsampled(s) => s.sampling_rate() == 1.0,
            Component::Mixture(g) => g.is_symmetric(),
        }
    }
}

/// The Q-side loss law of one ordering of the union: weight `weight` on `a`, 1 − weight on `b`
/// (docs/math.md §17.8). Its CDF, survival function and masses are the weighted sums of the
/// components'.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnionLaw {
    /// t_f, the f64 weight of `a`.
    pub weight: f64,
    /// The truncation component's law.
    pub a: MixtureLaw,
    /// The untruncated component's law.
    pub b: MixtureLaw,
}

impl UnionLaw {
    /// (weight of a, weight of b) = (t_f, 1 − t_f); a weight of 0 drops its component.
    pub fn weights(&self) -> (f64, f64) {
        (self.weight, 1.0 - self.weight)
    }
}

/// The truncated-Poisson-sampled Gaussian mechanism (t > 0: B < n).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TruncatedPoisson {
    dataset_size: u64,
    sampling_rate: f64,
    max_batch_size: u64,
    sigma: f64,
    /// Replace-one adjacency (the untruncated component is then its replace-one pair).
    replace_one: bool,
    /// t_f: the f64 weight of the truncation component used by the accountants.
    truncation_weight: f64,
    /// An f64 enclosure [lo, hi] of the exact t.
    truncation_weight_bounds: (f64, f64),
    /// η ≥ |t − t_f| (rounded up).
    weight_error: f64,
    /// q'_up ≥ q', the conditional rate used (the upper end of its enclosure).
    conditional_rate: f64,
}

impl TruncatedPoisson {
    /// The mechanism for dataset size n, sampling rate q, truncated batch size B and noise
    /// multiplier σ: [`Mechanism::SubsampledGaussian`] when B ≥ n (truncation never happens),
    /// else [`Mechanism::TruncatedPoisson`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `dataset_size` ([1, 10¹⁵]), `max_batch_size` (≥ 1),
    /// `sampling_rate` ((0, 1]) or `sigma` (finite, > 0); [`Error::NotCertified`] when a
    /// binomial tail would need more than [`MAX_TAIL_TERMS`] terms.
    pub fn mechanism(
        dataset_size: u64,
        sampling_rate: f64,
        max_batch_size: u64,
        sigma: f64,
    ) -> Result<Mechanism> {
        if max_batch_size < dataset_size {
            // `new` validates (with the same errors in the same order).
            return Self::new(dataset_size, sampling_rate, max_batch_size, sigma)
                .map(Mechanism::TruncatedPoisson);
        }
        Self::validate(dataset_size, sampling_rate, max_batch_size, sigma)?;
        Ok(Mechanism::SubsampledGaussian(SubsampledGaussian::new(
            sigma,
            sampling_rate,
        )?))
    }

    fn validate(n: u64, q: f64, b: u64, sigma: f64) -> Result<()> {
        if !(1..=MAX_DATASET_SIZE).contains(&n) {
            return Err(Error::invalid(
                "dataset_size",
                n,
                format!("must lie in [1, {MAX_DATASET_SIZE}]"),
            ));
        }
        if b < 1 {
            return Err(Error::invalid(
                "max_batch_size",
                b,
                "must be at least 1 (max_batch_size >= dataset_size means no truncation)",
            ));
        }
        crate::error::Range::left_open(0.0, 1.0).check("sampling_rate", q)?;
        crate::error::Range::above(0.0).check("sigma", sigma)?;
        Ok(())
    }

    /// The truncated mechanism itself (requires 1 ≤ B < n).
    ///
    /// # Errors
    /// As [`TruncatedPoisson::mechanism`], and `max_batch_size` ≥ `dataset_size`.
    pub fn new(
        dataset_size: u64,
        sampling_rate: f64,
        max_batch_size: u64,
        sigma: f64,
    ) -> Result<Self> {
        Self::validate(dataset_size, sampling_rate, max_batch_size, sigma)?;
        if max_batch_size >= dataset_size {
            return Err(Error::invalid(
                "max_batch_size",
                max_batch_size,
                format!(
                    "must be below dataset_size = {dataset_size} for truncation to happen (use \
                     the Poisson-subsampled Gaussian)"
                ),
            ));
        }
        let w = weights(dataset_size, sampling_rate, max_batch_size)?;
        Ok(TruncatedPoisson {
            dataset_size,
            sampling_rate,
            max_batch_size,
            sigma,
            replace_one: false,
            truncation_weight: w.t,
            truncation_weight_bounds: (w.t_lo, w.t_hi),
            weight_error: w.eta,
            conditional_rate: w.q_cond_up,
        })
    }

    /// The same mechanism under replace-one adjacency (docs/math.md §17.8).
    pub fn replace_one(&self) -> Self {
        TruncatedPoisson {
            replace_one: true,
            ..*self
        }
    }

    /// Whether this is the replace-one pair.
    pub fn is_replace_one(&self) -> bool {
        self.replace_one
    }

    /// The same mechanism with noise multiplier `sigma` (the weights do not depend on σ).
    ///
    /// # Errors
    /// `sigma` not finite and > 0.
    pub fn with_sigma(&self, sigma: f64) -> Result<Self> {
        crate::error::Range::above(0.0).check("sigma", sigma)?;
        Ok(TruncatedPoisson { sigma, ..*self })
    }

    /// n.
    pub fn dataset_size(&self) -> u64 {
        self.dataset_size
    }

    /// q.
    pub fn sampling_rate(&self) -> f64 {
        self.sampling_rate
    }

    /// B.
    pub fn max_batch_size(&self) -> u64 {
        self.max_batch_size
    }

    /// σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// t_f, the f64 weight of the truncation component (within [`Self::weight_error`] of t).
    pub fn truncation_weight(&self) -> f64 {
        self.truncation_weight
    }

    /// An f64 enclosure of t = P(Bin(n − 1, q) ≥ B).
    pub fn truncation_weight_bounds(&self) -> (f64, f64) {
        self.truncation_weight_bounds
    }

    /// The enclosure of t = P(Bin(n − 1, q) ≥ B) at 256 bits (relative error ≤ 2^−150,
    /// [`binomial_tail`]), for computations that need t narrower than an f64 interval (the
    /// saddle point's certified CGF). Kept for the last few (n, q, B) asked, so that repeated
    /// calls cost one sum.
    ///
    /// # Errors
    /// As [`binomial_tail`].
    pub fn truncation_weight_enclosure(&self) -> Result<(Float, Float)> {
        use std::sync::{Mutex, OnceLock};
        type Key = (u64, u64, u64);
        type Kept = Vec<(Key, (Float, Float))>;
        static CACHE: OnceLock<Mutex<Kept>> = OnceLock::new();
        let key = (
            self.dataset_size,
            self.sampling_rate.to_bits(),
            self.max_batch_size,
        );
        let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
        if let Ok(c) = cache.lock() {
            if let Some((_, v)) = c.iter().find(|(k, _)| *k == key) {
                return Ok(v.clone());
            }
        }
        let v = binomial_tail(
            self.dataset_size - 1,
            self.sampling_rate,
            self.max_batch_size,
        )?;
        if let Ok(mut c) = cache.lock() {
            if c.len() >= 8 {
                c.remove(0);
            }
            c.push((key, v.clone()));
        }
        Ok(v)
    }

    /// η ≥ |t − t_f|: every composed δ the accountants read is widened by (steps)·η.
    pub fn weight_error(&self) -> f64 {
        self.weight_error
    }

    /// The conditional rate used, q'_up ≥ q' = P(Bin(n, q) > B)·B/(t·n).
    pub fn conditional_rate(&self) -> f64 {
        self.conditional_rate
    }

    /// A short description.
    pub fn describe(&self) -> String {
        format!(
            "truncated-poisson-gaussian(sigma={}, sampling_rate={}, dataset_size={}, \
             max_batch_size={}{})",
            self.sigma,
            self.sampling_rate,
            self.dataset_size,
            self.max_batch_size,
            if self.replace_one {
                ", adjacency=replace-one"
            } else {
                ""
            }
        )
    }

    /// The truncation component: the replace-one Poisson-subsampled Gaussian at σ/2 and rate
    /// q'_up (the Gaussian at σ/4, i.e. σ/2 with doubled sensitivity, when q'_up = 1).
    pub fn truncated_component(&self) -> Component {
        let half = 0.5 * self.sigma;
        if self.conditional_rate >= 1.0 {
            Component::Gaussian(Gaussian::new(0.5 * half).expect("invariant: sigma > 0"))
        } else {
            Component::Mixture(
                GaussianMixture::replace_one_poisson(half, self.conditional_rate)
                    .expect("invariant: 0 < q' < 1 and sigma > 0"),
            )
        }
    }

    /// The untruncated component: the Poisson-subsampled Gaussian (σ, q), or its replace-one
    /// pair under replace-one adjacency.
    pub fn untruncated_component(&self) -> Component {
        let q = self.sampling_rate;
        if !self.replace_one {
            return Component::Subsampled(
                SubsampledGaussian::new(self.sigma, q).expect("invariant: validated"),
            );
        }
        if q == 1.0 {
            Component::Gaussian(Gaussian::new(0.5 * self.sigma).expect("invariant: sigma > 0"))
        } else {
            Component::Mixture(
                GaussianMixture::replace_one_poisson(self.sigma, q).expect("invariant: validated"),
            )
        }
    }

    /// Whether both orderings have the same loss law.
    pub fn is_symmetric(&self) -> bool {
        self.untruncated_component().is_symmetric()
    }

    /// The Q-side loss law of one ordering.
    pub fn law(&self, direction: Direction) -> UnionLaw {
        UnionLaw {
            weight: self.truncation_weight,
            a: self.truncated_component().law(direction),
            b: self.untruncated_component().law(direction),
        }
    }

    /// f64 cumulants of the remove ordering: the components' moments about a common centre,
    /// mixed with weights (t_f, 1 − t_f) (docs/math.md §17.8). An estimate.
    pub fn cumulants_f64(&self) -> Cumulants {
        let (ka, kb) = (
            self.truncated_component()
                .mechanism()
                .cumulants(Direction::Remove),
            self.untruncated_component()
                .mechanism()
                .cumulants(Direction::Remove),
        );
        let (wa, wb) = (self.truncation_weight, 1.0 - self.truncation_weight);
        let mut out = Cumulants::ZERO;
        for side in 0..2 {
            let (a, b) = if side == 0 {
                (&ka.p, &kb.p)
            } else {
                (&ka.q, &kb.q)
            };
            let c = wa * a[0] + wb * b[0];
            let (ma, mb) = (moments_about_f64(a, c), moments_about_f64(b, c));
            let m: Vec<f64> = ma.iter().zip(&mb).map(|(x, y)| wa * x + wb * y).collect();
            out.set_from_moments(side, &m, c);
        }
        out
    }

    /// Certified κ1..κ6 of the remove ordering: the components' certified cumulants turned
    /// into moments about a common centre, mixed with the weight interval [t_lo, t_hi]
    /// (m = m_b + t·(m_a − m_b), exact for every t in it), and turned back (docs/math.md §17.8).
    ///
    /// # Errors
    /// The components' errors.
    pub fn certified_cumulants(&self, precision: Precision) -> Result<CertifiedCumulants> {
        let ca = self
            .truncated_component()
            .mechanism()
            .certified_cumulants(Direction::Remove, precision)?;
        let cb = self
            .untruncated_component()
            .mechanism()
            .certified_cumulants(Direction::Remove, precision)?;
        let est = self.cumulants_f64();
        let bits = precision
            .bits()
            .max(ca.precision.bits())
            .max(cb.precision.bits());
        let (t_lo, t_hi) = self.truncation_weight_bounds;
        let t = Interval::new(Float::with_val(bits, t_lo), Float::with_val(bits, t_hi));
        let mut sides: Vec<Vec<Interval>> = Vec::with_capacity(2);
        for (a, b, c) in [(&ca.p, &cb.p, est.p[0]), (&ca.q, &cb.q, est.q[0])] {
            if !c.is_finite() {
                return Err(Error::Internal(format!(
                    "the f64 mean of {} is not finite",
                    self.describe()
                )));
            }
            let ma = moments_about(a, c, bits);
            let mb = moments_about(b, c, bits);
            let m: Vec<Interval> = ma
                .iter()
                .zip(&mb)
                .map(|(x, y)| y.add(&t.mul(&x.sub(y))))
                .collect();
            sides.push(cumulants_from_moments(&m, c, MAX_ORDER)?);
        }
        let q = sides.pop().expect("invariant: two sides");
        let p = sides.pop().expect("invariant: two sides");
        Ok(CertifiedCumulants { p, q, precision })
    }

    /// RDP of order α > 1 covering both orderings (docs/math.md §17.8): per ordering
    /// e^{(α−1)R} = t·e^{(α−1)R_a} + (1 − t)·e^{(α−1)R_b}, linear in t, so the end of the weight
    /// enclosure on the side of the larger component is the upper bound; each component's R
    /// is its RDP over both orderings (an upper bound on either); inflated by 1e−12 relative
    /// for the f64 evaluation.
    ///
    /// # Errors
    /// A component whose RDP cannot be evaluated (message from [`crate::accountant::rdp::rdp`]).
    pub fn rdp(&self, alpha: f64) -> std::result::Result<f64, String> {
        let ra = crate::accountant::rdp::rdp(&self.truncated_component().mechanism(), alpha)?;
        let rb = crate::accountant::rdp::rdp(&self.untruncated_component().mechanism(), alpha)?;
        Ok(self.mix_rdp(alpha, ra, rb))
    }

    /// A lower bound on [`TruncatedPoisson::rdp`] at a fraction of its cost: the components'
    /// lower bounds ([`crate::accountant::rdp::rdp_lower`], their exact values where they are
    /// cheap), mixed at the end of the weight enclosure that makes the union smallest (the mix
    /// is linear in the weight and increasing in each component). None where neither
    /// component has a cheaper bound than its value.
    ///
    /// # Errors
    /// A component whose RDP cannot be evaluated.
    pub fn rdp_lower(&self, alpha: f64) -> Option<std::result::Result<f64, String>> {
        let (a, b) = (
            self.truncated_component().mechanism(),
            self.untruncated_component().mechanism(),
        );
        let (la, lb) = (
            crate::accountant::rdp::rdp_lower(&a, alpha),
            crate::accountant::rdp::rdp_lower(&b, alpha),
        );
        if la.is_none() && lb.is_none() {
            return None;
        }
        let value = |lower: Option<std::result::Result<f64, String>>, m: &Mechanism| {
            lower.unwrap_or_else(|| crate::accountant::rdp::rdp(m, alpha))
        };
        Some((|| {
            let ra = value(la, &a)?;
            let rb = value(lb, &b)?;
            let (t_lo, t_hi) = self.truncation_weight_bounds;
            let v = ln_mix((alpha - 1.0) * ra, (alpha - 1.0) * rb, t_lo, t_hi);
            Ok(v.max(0.0) * (1.0 - 1e-12) / (alpha - 1.0))
        })())
    }

    /// ln(t·e^{(α−1)ra} + (1 − t)·e^{(α−1)rb})/(α − 1) at the end of the weight enclosure that
    /// makes it largest, inflated by 1e−12 relative.
    fn mix_rdp(&self, alpha: f64, ra: f64, rb: f64) -> f64 {
        let (t_lo, t_hi) = self.truncation_weight_bounds;
        let v = ln_mix((alpha - 1.0) * ra, (alpha - 1.0) * rb, t_hi, t_lo);
        v.max(0.0) * (1.0 + 1e-12) / (alpha - 1.0)
    }

    /// The cumulant-cache key (tag 10, parameters interned: exact, collision-free).
    pub(crate) fn key(&self) -> (u8, u64, u64) {
        let bits = vec![
            self.dataset_size,
            self.sampling_rate.to_bits(),
            self.max_batch_size,
            self.sigma.to_bits(),
            u64::from(self.replace_one),
        ];
        (10, intern(bits), 0)
    }
}

/// ln(t·e^x + (1 − t)·e^y), the weight t taken as `t_if_x` where x ≥ y and `t_if_y` otherwise
/// (the end of a weight enclosure that makes the mix largest or smallest).
///
/// Below e^700 it is ln(1 + t·(e^x − 1) + (1 − t)·(e^y − 1)) with `expm1` and `ln_1p`, which
/// keeps a mix of small Rényi moments to a few ulp relative: the form max + ln(w_max +
/// w_min·e^{min − max}) cancels when the result is far below the larger exponent (x = 1.2e−9
/// at weight 5e−324, y = 8e−18: the mix came out ≤ 0 and the RDP as 0, so the RDP accountant
/// said δ(0) = 0 for a truncated Poisson composition whose certified δ(0) is ≥ 7.9e−6).
/// Beyond, the max form (the result is then near the larger exponent).
fn ln_mix(x: f64, y: f64, t_if_x: f64, t_if_y: f64) -> f64 {
    let t = if x >= y { t_if_x } else { t_if_y };
    if x.max(y) < 700.0 {
        return (t * x.exp_m1() + (1.0 - t) * y.exp_m1()).ln_1p();
    }
    if x >= y {
        x + (t_if_x + (1.0 - t_if_x) * (y - x).exp()).ln()
    } else {
        y + ((1.0 - t_if_y) + t_if_y * (x - y).exp()).ln()
    }
}

/// Moments E[(X − c)^k], k = 0..=6, from f64 cumulants κ1..κ6 (m_0 = 1).
fn moments_about_f64(k: &[f64; MAX_ORDER], c: f64) -> Vec<f64> {
    let mut kk = *k;
    kk[0] -= c;
    let mut m = vec![1.0; MAX_ORDER + 1];
    for n in 1..=MAX_ORDER {
        let mut s = 0.0;
        for j in 1..=n {
            s += binom(n - 1, j - 1) * kk[j - 1] * m[n - j];
        }
        m[n] = s;
    }
    m
}

/// Enclosures of E[(X − c)^k], k = 0..=6, from enclosures of κ1..κ6:
/// m_n = Σ_{j=1}^{n} C(n−1, j−1) κ'_j m_{n−j} with κ'_1 = κ_1 − c.
fn moments_about(k: &[Interval], c: f64, bits: u32) -> Vec<Interval> {
    let prec = Precision(bits);
    let mut kk: Vec<Interval> = k.to_vec();
    kk[0] = kk[0].sub(&Interval::from_f64(prec, c));
    let mut m = vec![Interval::from_f64(prec, 1.0)];
    for n in 1..=MAX_ORDER {
        let mut s = Interval::zero(prec);
        for j in 1..=n {
            let term = kk[j - 1]
                .mul(&m[n - j])
                .scale_nonneg(&Float::with_val(64, binom(n - 1, j - 1)));
            s.add_assign(&term);
        }
        m.push(s);
    }
    m
}

fn binom(n: usize, k: usize) -> f64 {
    let mut r = 1u64;
    for i in 0..k {
        r = r * (n - i) as u64 / (i as u64 + 1);
    }
    r as f64
}

/// The certified weights of the union.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// t_f (nearest f64 to the enclosure's midpoint).
    pub t: f64,
    /// f64 lower end of t (rounded down).
    pub t_lo: f64,
    /// f64 upper end of t (rounded up).
    pub t_hi: f64,
    /// η = max(t_hi − t_f, t_f − t_lo) plus one unit roundoff (1 − t_f is rounded when the
    /// accountants form it), rounded up.
    pub eta: f64,
    /// f64 lower end of q' (rounded down).
    pub q_cond_lo: f64,
    /// f64 upper end of q' (rounded up).
    pub q_cond_up: f64,
}

/// Certified t = P(Bin(n − 1, q) ≥ B) and q' = P(Bin(n, q) > B)·B/(t·n) for 1 ≤ B < n
/// (docs/math.md §17.8).
///
/// # Errors
/// [`Error::NotCertified`] when a tail sum would exceed [`MAX_TAIL_TERMS`] terms.
pub fn weights(n: u64, q: f64, b: u64) -> Result<Weights> {
    let (t_lo, t_hi) = binomial_tail(n - 1, q, b)?;
    let (s_lo, s_hi) = binomial_tail(n, q, b + 1)?;
    let bits = TAIL_BITS;
    if t_lo.is_zero() {
        return Err(Error::NotCertified(format!(
            "the truncation probability P(Bin({}, {q}) >= {b}) has no positive lower bound",
            n - 1
        )));
    }
    // q' ∈ [s_lo·B/(t_hi·n), s_hi·B/(t_lo·n)], directed rounding.
    let ratio = |s: &Float, t: &Float, dir: Round| {
        let mut v = Float::with_val(bits, s);
        v.mul_assign_round(b, dir);
        let anti = opposite(dir);
        let mut den = Float::with_val(bits, t);
        den.mul_assign_round(n, anti);
        v.div_assign_round(&den, dir);
        v
    };
    let q_lo = ratio(&s_lo, &t_hi, Round::Down);
    let q_hi = ratio(&s_hi, &t_lo, Round::Up);
    let mut mid = Float::with_val(bits, &t_lo);
    mid.add_assign_round(&t_hi, Round::Nearest);
    mid /= 2;
    let t = mid.to_f64().clamp(0.0, 1.0);
    let t_lo_f = t_lo.to_f64_round(Round::Down);
    let t_hi_f = t_hi.to_f64_round(Round::Up).min(1.0);
    let mut e1 = Float::with_val(bits, &t_hi);
    e1.sub_assign_round(t, Round::Up);
    let mut e2 = Float::with_val(bits, t);
    e2.sub_assign_round(&t_lo, Round::Up);
    let mut eta = e1.max(&e2);
    eta.add_assign_round(f64::EPSILON, Round::Up);
    Ok(Weights {
        t,
        t_lo: t_lo_f,
        t_hi: t_hi_f,
        eta: eta.to_f64_round(Round::Up),
        q_cond_lo: q_lo.to_f64_round(Round::Down).min(1.0),
        q_cond_up: q_hi.to_f64_round(Round::Up).min(1.0),
    })
}

/// A certified enclosure [lo, hi] of P(Bin(N, q) ≥ k) (docs/math.md §17.8).
///
/// Above the mean (k > Nq) the pmf terms from k upward are summed (pmf(k) from MPFR ln Γ,
/// then the ratio r_j = (N − j)q/((j + 1)(1 − q)), which decreases in j and is < 1 there) until
/// the geometric bound pmf(j)·r_j/(1 − r_j) on the rest is below 2^−170 of the sum; at or
/// below the mean the complement P(Bin ≤ k − 1) is summed downward the same way (ratio
/// j(1 − q)/((N − j + 1)q) < 1). The work is O(√(Nq(1 − q))) terms, not O(N), and is
/// checked against [`MAX_TAIL_TERMS`] before the sum starts.
///
/// # Errors
/// [`Error::NotCertified`] over [`MAX_TAIL_TERMS`] or if the sum does
/// not reach its stopping rule within the budget (not expected: the terms decay
/// geometrically past the mode).
pub fn binomial_tail(big_n: u64, q: f64, k: u64) -> Result<(Float, Float)> {
    let bits = TAIL_BITS;
    let zero = || Float::new(bits);
    let one = || Float::with_val(bits, 1);
    if k == 0 {
        return Ok((one(), one()));
    }
    if k > big_n {
        return Ok((zero(), zero()));
    }
    if q >= 1.0 {
        return Ok((one(), one()));
    }
    let nf = big_n as f64;
    let sd = (nf * q * (1.0 - q)).sqrt();
    let cap = 64.0 * (sd + 1.0) + 1e4;
    if cap > MAX_TAIL_TERMS {
        // A limit of the method (n·q(1 − q) ≳ 6e11), not of the input: exit 1.
        return Err(Error::NotCertified(format!(
            "the binomial tail of the truncated-Poisson weights needs about {cap:.3e} pmf terms (sd = {sd:.3e}), over the work limit of {MAX_TAIL_TERMS:e} terms (dataset_size*sampling_rate*(1-sampling_rate) up to about 6e11)"
        )));
    }
    let cap = cap as u64;
    let upward = (k as f64) > nf * q;
    // pmf(j) at j = k (upward) or k − 1 (downward, the complement's first term).
    let j0 = if upward { k } else { k - 1 };
    let first = ln_pmf(big_n, q, j0, bits).exp();
    let qf = Float::with_val(bits, q);
    let mut one_minus_q = Float::with_val(bits, 1);
    one_minus_q -= &qf;
    let mut sum = zero();
    let mut term = first;
    let mut j = j0;
    let mut rest_bound = zero();
    let mut steps = 0u64;
    let stop_log2 = -170;
    loop {
        sum += &term;
        let at_end = if upward { j == big_n } else { j == 0 };
        if at_end {
            break;
        }
        // The ratio to the next term.
        let r = if upward {
            let mut r = Float::with_val(bits, big_n - j);
            r *= &qf;
            let mut d = Float::with_val(bits, j + 1);
            d *= &one_minus_q;
            r /= &d;
            r
        } else {
            let mut r = Float::with_val(bits, j);
            r *= &one_minus_q;
            let mut d = Float::with_val(bits, big_n - j + 1);
            d *= &qf;
            r /= &d;
            r
        };
        if r < 1 {
            // Σ_{i beyond j} ≤ term·r/(1 − r) (the ratio keeps decreasing).
            let mut den = Float::with_val(bits, 1);
            den -= &r;
            let mut bound = Float::with_val(bits, &term);
            bound *= &r;
            bound /= &den;
            let mut small = Float::with_val(bits, &sum);
            small <<= stop_log2;
            if bound <= small {
                rest_bound = bound;
                break;
            }
        }
        term *= &r;
        j = if upward { j + 1 } else { j - 1 };
        steps += 1;
        if steps > cap {
            return Err(Error::NotCertified(format!(
                "the binomial tail P(Bin({big_n}, {q}) >= {k}) did not converge within {cap} terms"
            )));
        }
    }
    // Outward relative error 2^−150 (see TAIL_REL_ERR_LOG2), plus the remainder bound.
    let mut lo = Float::with_val(bits, &sum);
    let mut shrink = Float::with_val(bits, 1);
    shrink -= Float::with_val(bits, 1) << TAIL_REL_ERR_LOG2;
    lo.mul_assign_round(&shrink, Round::Down);
    let mut hi = Float::with_val(bits, &sum);
    hi.add_assign_round(&rest_bound, Round::Up);
    let mut grow = Float::with_val(bits, 1);
    grow += Float::with_val(bits, 1) << TAIL_REL_ERR_LOG2;
    hi.mul_assign_round(&grow, Round::Up);
    if upward {
        Ok((lo, hi.min(&one())))
    } else {
        // P(≥ k) = 1 − P(≤ k − 1).
        let mut c_lo = one();
        c_lo.sub_assign_round(&hi, Round::Down);
        let mut c_hi = one();
        c_hi.sub_assign_round(&lo, Round::Up);
        Ok((c_lo.max(&zero()), c_hi.min(&one())))
    }
}

/// ln pmf(j) = ln Γ(N + 1) − ln Γ(j + 1) − ln Γ(N − j + 1) + j ln q + (N − j) ln(1 − q),
/// 0 < q < 1, at `bits` with rounding to nearest (MPFR's ln Γ is correctly rounded).
fn ln_pmf(big_n: u64, q: f64, j: u64, bits: u32) -> Float {
    let lg = |x: u64| Float::with_val(bits, x).ln_gamma();
    let qf = Float::with_val(bits, q);
    let mut ln1q = Float::with_val(bits, -q);
    ln1q = ln1q.ln_1p();
    let mut v = lg(big_n + 1);
    v -= lg(j + 1);
    v -= lg(big_n - j + 1);
    let mut a = Float::with_val(bits, j);
    a *= &qf.ln();
    v += &a;
    let mut b = Float::with_val(bits, big_n - j);
    b *= &ln1q;
    v += &b;
    v
}

/// Refuse a composition holding a truncated-Poisson pair in an accountant that needs a
/// Gaussian limit (gdp).
///
/// # Errors
/// [`Error::UnsupportedEvent`] naming the accountant, the mechanism and those that support it.
pub fn refuse_in(accountant: &'static str, added: &crate::event::Composition) -> Result<()> {
    for (m, _) in &added.parts {
        if let Mechanism::TruncatedPoisson(t) = m {
            return Err(Error::UnsupportedEvent {
                accountant,
                event: t.describe(),
                reason: "the GDP/CLT accountant has no Gaussian limit for the truncated-Poisson \
                         pair (a weighted disjoint union, docs/math.md §17.8); the contour, pld, \
                         rdp, edgeworth and saddlepoint accountants support it"
                    .into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::distribution::{Binomial, DiscreteCDF};

    fn f(x: &Float) -> f64 {
        x.to_f64()
    }

    #[test]
    fn binomial_tails_enclose_statrs_on_both_sides_of_the_mean() {
        for &(n, q, k) in &[
            (100u64, 0.1, 5u64),
            (100, 0.1, 10),
            (100, 0.1, 11),
            (100, 0.1, 25),
            (1000, 0.004, 1),
            (60_000, 256.0 / 60_000.0, 300),
            (60_000, 256.0 / 60_000.0, 256),
            (60_000, 256.0 / 60_000.0, 200),
            (10, 0.999, 10),
        ] {
            let (lo, hi) = binomial_tail(n, q, k).expect("tail");
            // statrs's tail (regularised incomplete beta) is good to ~1e−11 relative only.
            let exact = Binomial::new(q, n).expect("test setup").sf(k - 1);
            let tol = 1e-9 * exact + 1e-300;
            assert!(
                f(&lo) <= exact + tol && exact - tol <= f(&hi),
                "n={n} q={q} k={k}: [{}, {}] vs {exact}",
                f(&lo),
                f(&hi)
            );
            let mut w = hi.clone();
            w -= &lo;
            assert!(
                f(&w) <= 1e-40 * f(&hi).max(1e-300) + 1e-60,
                "width {}",
                f(&w)
            );
        }
    }

    #[test]
    fn binomial_tail_matches_a_50_digit_sum() {
        // mpmath at 50 digits: Σ_{j=300}^{699} C(60000, j) q^j (1 − q)^{60000−j}, q = 256/60000,
        // is 0.0038746848803419947674115872515613507133493159356 (here rounded to f64).
        let exact = 0.003_874_684_880_341_995_f64;
        let (lo, hi) = binomial_tail(60_000, 256.0 / 60_000.0, 300).expect("tail");
        let tol = 2e-16 * exact;
        assert!(
            f(&lo) <= exact + tol && exact - tol <= f(&hi),
            "{} {}",
            f(&lo),
            f(&hi)
        );
    }

    #[test]
    fn large_dataset_is_cheap_and_tiny_tails_stay_positive() {
        // n = 10⁹, B three standard deviations above the mean: O(√(nq)) terms.
        let (n, q) = (1_000_000_000u64, 1e-5);
        let b = (n as f64 * q + 3.0 * (n as f64 * q).sqrt()) as u64;
        let w = weights(n, q, b).expect("weights");
        assert!(w.t > 1e-4 && w.t < 1e-2, "{w:?}");
        assert!(w.t_lo <= w.t && w.t <= w.t_hi && w.eta < 1e-15);
        assert!(w.q_cond_lo <= w.q_cond_up && w.q_cond_up < 2.0 * q, "{w:?}");
        // Far above the mean t is tiny but certified positive.
        let w = weights(1000, 0.001, 40).expect("weights");
        assert!(w.t_lo > 0.0 && w.t < 1e-40, "{w:?}");
    }

    #[test]
    fn rate_one_truncates_always_at_rate_b_over_n() {
        let w = weights(100, 1.0, 10).expect("weights");
        assert_eq!((w.t_lo, w.t_hi), (1.0, 1.0));
        assert!(w.q_cond_lo <= 0.1 && 0.1 <= w.q_cond_up, "{w:?}");
    }

    #[test]
    fn b_at_least_n_is_the_plain_subsampled_gaussian() {
        let m = TruncatedPoisson::mechanism(100, 0.1, 100, 1.0).expect("m");
        assert!(matches!(m, Mechanism::SubsampledGaussian(_)));
        let e = TruncatedPoisson::mechanism(0, 0.1, 1, 1.0).unwrap_err();
        assert!(e.to_string().contains("dataset_size"), "{e}");
        let e = TruncatedPoisson::mechanism(10, 0.1, 0, 1.0).unwrap_err();
        assert!(e.to_string().contains("max_batch_size"), "{e}");
        let e = TruncatedPoisson::mechanism(10, 0.0, 1, 1.0).unwrap_err();
        assert!(e.to_string().contains("sampling_rate"), "{e}");
        let e = TruncatedPoisson::mechanism(10, 0.5, 1, f64::NAN).unwrap_err();
        assert!(e.to_string().contains("sigma"), "{e}");
    }

    #[test]
    fn mixed_cumulants_enclose_the_f64_estimate_and_match_a_single_component() {
        let t = TruncatedPoisson::new(1000, 0.01, 12, 1.2).expect("m");
        let e = t.cumulants_f64();
        let c = t.certified_cumulants(Precision(128)).expect("certified");
        c.assert_encloses(&e, 1e-8, 1e-8, "truncated");
        // Mean and variance of a mixture: E = Σ w E_i, Var = Σ w (Var_i + E_i²) − E².
        let ka = t
            .truncated_component()
            .mechanism()
            .cumulants(Direction::Remove);
        let kb = t
            .untruncated_component()
            .mechanism()
            .cumulants(Direction::Remove);
        let w = t.truncation_weight();
        let mean = w * ka.q[0] + (1.0 - w) * kb.q[0];
        let second = w * (ka.q[1] + ka.q[0] * ka.q[0]) + (1.0 - w) * (kb.q[1] + kb.q[0] * kb.q[0]);
        assert!((e.q[0] - mean).abs() <= 1e-12 * mean.abs().max(1e-12));
        assert!((e.q[1] - (second - mean * mean)).abs() <= 1e-9 * e.q[1]);
    }

    /// A mix of two Rényi moments lies between them, also where both are far below 1 and the
    /// weight of one is below the f64 range (q = 10⁻⁶, σ = 50: the mix cancelled to 0, or to
    /// 0.99994 of the smaller component at α = 64, before `ln_mix` used expm1/ln_1p).
    #[test]
    fn rdp_lies_between_the_components() {
        for (n, q, b, sigma) in [
            (1000, 0.01, 12, 1.0),
            (100_000, 1e-6, 1000, 50.0),
            (2536, 4.6e-6, 1, 3.0),
            (10_000, 1e-3, 10, 5.0),
        ] {
            let t = TruncatedPoisson::new(n, q, b, sigma).expect("m");
            for &a in &[1.01, 1.02, 1.5, 2.0, 3.0, 8.0, 32.0, 64.0] {
                let r = t.rdp(a).expect("rdp");
                let ra = crate::accountant::rdp::rdp(&t.truncated_component().mechanism(), a)
                    .expect("a");
                let rb = crate::accountant::rdp::rdp(&t.untruncated_component().mechanism(), a)
                    .expect("b");
                assert!(
                    r >= ra.min(rb) && r <= ra.max(rb) * (1.0 + 1e-9) + 1e-300,
                    "n {n} q {q} B {b} sigma {sigma} alpha {a}: {r} {ra} {rb}"
                );
            }
        }
    }
}
