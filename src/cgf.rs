//! The cumulant generating function of the privacy loss and the moments of its tilted law
//! (docs/math.md §6.1).
//!
//! For one ordering with PLLR L and base law P: K(λ) = log E_P[e^{λL}], K(0) = K(1) = 0,
//! K(λ) = (λ − 1)·D_λ(Q‖P). The tilted law has density ∝ e^{λL} dP; its mean is K'(λ), its
//! variance K''(λ), and its central moments E_λ[(L − K')^j] are computed here from
//! E_P[e^{λL}(L − c)^k], k ≤ 4, for a centre c near K'(λ).
//!
//! The add ordering is the swapped pair: PLLR −L under P_add = Q_remove, so
//! E_{P_add}[e^{λ(−L)}(−L − c)^k] = (−1)^k E_P[e^{(1−λ)L}(L + c)^k] — a negative exponent for
//! λ > 1, which the certified quadrature supports for q < 1.
//!
//! Mechanisms: Gaussian (closed form: K = λ(λ−1)μ²/2, tilted law N((λ − ½)μ², μ²)), Laplace
//! (closed form: atoms at ±a and an exponential density between, integrated exactly), and the
//! Poisson-subsampled Gaussian (certified: [`crate::special::quadrature`]; f64: the log-scaled
//! trapezoid [`SubsampledTrapezoid`], the one f64 CGF of that mechanism, docs/math.md §6.1).
//!
//! # References
//! Mironov, *Rényi differential privacy* (2017) for K = (λ−1)D_λ; Alghamdi et al., *The
//! Saddle-Point Method in Differential Privacy*, ICML 2023, §3.

use crate::cumulants::cumulants_from_moments;
use crate::error::{Error, Result};
use crate::mechanism::mixture::{TiltQuery, TiltScale};
use crate::mechanism::{Direction, GaussianMixture, Mechanism};
use crate::precision::{exact, Interval, Precision};
use crate::special::quadrature::{certified_moments, SubsampledLoss, Tilt};
use rug::float::Round;
use rug::ops::{DivAssignRound, SubAssignRound};
use rug::Float;

/// K(λ) and the tilted law's mean, variance and third and fourth central moments (f64).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CgfValue {
    /// λ.
    pub lambda: f64,
    /// K(λ).
    pub k: f64,
    /// K'(λ) (tilted mean).
    pub mean: f64,
    /// K''(λ) (tilted variance).
    pub var: f64,
    /// Tilted third central moment (= K'''(λ)).
    pub mu3: f64,
    /// Tilted fourth central moment.
    pub mu4: f64,
}

impl CgfValue {
    /// The value at λ of an ordering whose loss is L (remove) or −L (add, `add`), from ln F and
    /// the tilted mean, variance, μ₃ and μ₄ of L: the odd moments change sign with the loss.
    pub fn oriented(lambda: f64, add: bool, ln_f: f64, moments: [f64; 4]) -> CgfValue {
        let sign = if add { -1.0 } else { 1.0 };
        let [mean, var, mu3, mu4] = moments;
        CgfValue {
            lambda,
            k: ln_f,
            mean: sign * mean,
            var,
            mu3: sign * mu3,
            mu4,
        }
    }
}

/// Certified enclosures of the same quantities, plus an upper bound on E_λ|L − K'|³.
#[derive(Debug, Clone)]
pub struct CertifiedCgf {
    /// λ (exact).
    pub lambda: f64,
    /// K(λ).
    pub k: Interval,
    /// K'(λ).
    pub mean: Interval,
    /// K''(λ).
    pub var: Interval,
    /// Third central moment.
    pub mu3: Interval,
    /// Fourth central moment.
    pub mu4: Interval,
    /// Upper end: a certified upper bound on E_λ|L − K'(λ)|³ (exact for the Gaussian,
    /// otherwise [`abs_third_bound`]: Cauchy–Schwarz or the support bound, whichever is smaller).
    pub abs3: Interval,
}

/// f64 values at λ (estimates; for the subsampled Gaussian the log-scaled trapezoid
/// [`SubsampledTrapezoid`], the one f64 CGF of that mechanism, shared with the contour
/// accountant's real-λ summaries; relative accuracy ~1e−12).
///
/// **Range.** Where the subsampled Gaussian's largest tilted term e^{αL(x) − x²/2} exceeds
/// e^{[`LN_TERM_MAX`]} (tilts whose plain, unscaled moments would overflow f64), or its
/// trapezoid would need more than 4·10⁶ nodes (σ ≲ 1e−4 at large λ; for a Gaussian-mixture
/// pair or the truncated-Poisson union, the contour transform's estimate of its real-λ nodes,
/// e.g. means far apart at large λ), the value is
/// returned with every field +∞/NaN: the saddle-point accountant treats such tilts as beyond
/// its range and searches below them (its certified computations are not attempted there).
///
/// # Errors
/// Non-finite λ.
pub fn cgf_f64(mech: &Mechanism, dir: Direction, lambda: f64) -> Result<CgfValue> {
    crate::error::Range::closed(-1e6, 1e6).check("lambda", lambda)?;
    match mech {
        Mechanism::Gaussian(g) => Ok(gaussian_f64(g.mu(), lambda)),
        Mechanism::SubsampledGaussian(s) if s.sampling_rate() == 1.0 => {
            Ok(gaussian_f64(1.0 / s.sigma(), lambda))
        }
        Mechanism::SubsampledGaussian(s) => {
            let (q, mu) = (s.sampling_rate(), 1.0 / s.sigma());
            let add = dir == Direction::Add;
            let alpha = if add { 1.0 - lambda } else { lambda };
            let h = SubsampledTrapezoid::step(mu);
            if lower_peak(q, mu, alpha) > LN_TERM_MAX + 1.0
                || SubsampledTrapezoid::nodes(q, mu, alpha, h) as f64 > MAX_TRAPEZOID_NODES
            {
                // Out of range like an overflowing tilt: no 24-byte-per-node vectors beyond
                // the budget (σ ≲ 1e−4 at large λ).
                return Ok(CgfValue::oriented(
                    lambda,
                    add,
                    f64::INFINITY,
                    [f64::NAN; 4],
                ));
            }
            let t = SubsampledTrapezoid::new(q, mu, alpha, h);
            if t.m > LN_TERM_MAX {
                return Ok(CgfValue::oriented(
                    lambda,
                    add,
                    f64::INFINITY,
                    [f64::NAN; 4],
                ));
            }
            Ok(t.cgf(lambda, add))
        }
        // The midpoint of the certified enclosure, not [`laplace_f64`]: at the large λ the saddle
        // point reaches, the closed form's K'' = m''/m − (m'/m)² cancels (the tilted law
        // concentrates on the atom at a), and the saddle point's choice of λ depends on it.
        Mechanism::RandomizedResponse(_) | Mechanism::DiscreteLaplace(_) => {
            // Finite sums over the atoms (docs/math.md §16.4); symmetric pair: both orderings.
            Ok(cgf_value(lambda, lattice_of(mech)?.law().tilted(lambda)))
        }
        Mechanism::SubsampledLaplace(s) if s.sampling_rate() == 1.0 => {
            cgf_f64(&Mechanism::Laplace(s.laplace()), dir, lambda)
        }
        // The contour's f64 summaries (degree-256 Clenshaw–Curtis and the two atoms,
        // log-scaled: finite at every λ), the one f64 CGF of this mechanism.
        Mechanism::SubsampledLaplace(_) => {
            Ok(crate::accountant::contour::transform::Transform::new(mech, dir).cgf(lambda))
        }
        Mechanism::DiscreteGaussian(g) => {
            // A window around the tilted centre (docs/math.md §16.7); symmetric pair.
            g.require_atom_law("the CGF")?;
            Ok(cgf_value(lambda, g.tilted_f64(lambda)))
        }
        // The contour's f64 real-λ summaries (trapezoid with the mixture's margins,
        // docs/math.md §17.9; the union's weighted sum, §17.10), the one f64 CGF of these pairs.
        Mechanism::GaussianMixture(_) | Mechanism::TruncatedPoisson(_) => {
            Ok(mixture_cgf_f64(mech, dir, lambda))
        }
        Mechanism::Laplace(_) => {
            let c = cgf_certified(mech, dir, lambda, Precision(96))?;
            Ok(CgfValue {
                lambda,
                k: c.k.mid_f64(),
                mean: c.mean.mid_f64(),
                var: c.var.mid_f64(),
                mu3: c.mu3.mid_f64(),
                mu4: c.mu4.mid_f64(),
            })
        }
    }
}

/// The certified CGF at λ from the moments E[e^{αL}(L − c)^k], k ≤ 4, of the remove ordering's
/// loss about c (`flip`: the add ordering's, computed at α = 1 − λ about −c, whose odd moments
/// change sign with the loss), `mean` the f64 tilted mean of the ordering (c, or −(−c)), and
/// E|X|³ bounded with the ordering's support.
fn oriented_certified(
    mut row: Vec<Interval>,
    flip: bool,
    mean: f64,
    mech: &Mechanism,
    dir: Direction,
    lambda: f64,
) -> Result<CertifiedCgf> {
    if flip {
        for (k, v) in row.iter_mut().enumerate() {
            if k % 2 == 1 {
                *v = v.neg();
            }
        }
    }
    let mut c = from_moments(&row, mean, lambda)?;
    c.abs3 = abs_third_bound(&c.mean, &c.var, &c.mu3, &c.mu4, loss_support(mech, dir));
    Ok(c)
}

/// [`cgf_f64`] of a Gaussian-mixture pair or the truncated-Poisson union: the contour
/// transform's real-λ summaries, out of range (+∞/NaN) over [`MAX_TRAPEZOID_NODES`] estimated
/// nodes. The saddle-point searches ask the same λ many times (each ε probe repeats the tilt
/// doubling), and one value costs 10³–10⁶ node evaluations here, so values are kept, up to
/// 4096 (emptied when full; a pure function of its arguments: a kept value is the one
/// recomputation would give).
fn mixture_cgf_f64(mech: &Mechanism, dir: Direction, lambda: f64) -> CgfValue {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Key = (String, bool, u64);
    static CACHE: OnceLock<Mutex<HashMap<Key, CgfValue>>> = OnceLock::new();
    let key = (format!("{mech:?}"), dir == Direction::Add, lambda.to_bits());
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(v) = cache.lock().ok().and_then(|c| c.get(&key).copied()) {
        return v;
    }
    let tr = crate::accountant::contour::transform::Transform::new(mech, dir);
    let v = if tr.real_cost(lambda) > MAX_TRAPEZOID_NODES {
        // Out of range as for the subsampled Gaussian: no node vectors beyond the budget
        // (means far apart at large tilts).
        CgfValue::oriented(lambda, false, f64::INFINITY, [f64::NAN; 4])
    } else {
        tr.cgf(lambda)
    };
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 4096 {
            c.clear();
        }
        c.insert(key, v);
    }
    v
}

/// Most nodes of the f64 trapezoid of [`cgf_f64`] (≈ 100 MB of node vectors); beyond it the
/// value is reported out of range as for [`LN_TERM_MAX`].
const MAX_TRAPEZOID_NODES: f64 = 4e6;

/// The largest ln of a tilted term e^{αL(x) − x²/2} for which [`cgf_f64`] answers (see there).
pub const LN_TERM_MAX: f64 = 700.0;

/// The node range [lo, hi] of the subsampled Gaussian's tilted integrand e^{αL(x)}φ(x) at real
/// part α, beyond which the integrand (and its majorant) is below e^{−extra_ln} of its mass.
pub(crate) fn subsampled_node_range(q: f64, mu: f64, alpha: f64, extra_ln: f64) -> (f64, f64) {
    let extra = if alpha < 0.0 {
        -alpha * -(-q).ln_1p()
    } else {
        (alpha - 1.0).max(0.0) * std::f64::consts::LN_2
    };
    let t0 = (2.0 * (extra_ln + extra + 5.0)).sqrt() + 2.0;
    let peak = alpha.max(0.0) * mu;
    (peak.min(0.0) - t0, peak.max(0.0) + t0)
}

/// A lower bound on the largest exponent αL(x) − x²/2 (α > 0; −∞ otherwise), up to the
/// grid's h²/8 ≤ 3.2e−4: L ≥ max(ln(1 − q), ln q + μx − μ²/2), whose two terms tilted and
/// damped peak at x = 0 and x = αμ. Lets [`cgf_f64`] see that the trapezoid's m would pass
/// [`LN_TERM_MAX`] without building it.
fn lower_peak(q: f64, mu: f64, alpha: f64) -> f64 {
    if alpha <= 0.0 {
        return f64::NEG_INFINITY;
    }
    let at_zero = alpha * (-q).ln_1p();
    let at_peak = alpha * q.ln() + 0.5 * alpha * (alpha - 1.0) * mu * mu;
    at_zero.max(at_peak)
}

/// Gaps between the trapezoid's two windows shorter than this many nodes are kept (the nodes
/// are then one block, as they always are at σ ≳ 0.007 and α ≤ 1).
const MIN_GAP_NODES: f64 = 65536.0;

/// 2^52: node indices below it are exact in f64 (see [`trapezoid_blocks`]).
const TWO_POW_52: f64 = 4_503_599_627_370_496.0;

/// The node blocks of [`SubsampledTrapezoid`]: one block over [`subsampled_node_range`], or for
/// α > 0 with a long gap, two on the same grid x = lo + jh: around 0 and around the peak αμ of
/// the tilted hit term (docs/math.md §6.1). Each is (first index j, node count).
fn trapezoid_blocks(q: f64, mu: f64, alpha: f64, h: f64) -> (f64, Vec<(usize, usize)>) {
    let (lo, hi) = subsampled_node_range(q, mu, alpha, 40.0);
    let span = ((hi - lo) / h).ceil();
    // Beyond 2^52 nodes (σ → 0) the grid is over every budget: one block of saturated length,
    // which `nodes` reports as such, with no integer overflow on the way.
    if span.is_nan() || span >= TWO_POW_52 {
        return (lo, vec![(0, usize::MAX)]);
    }
    let total = span as usize + 1;
    if alpha > 0.0 {
        // lo = −t0 and hi = αμ + t0 (α > 0): e^{αL − x²/2} ≤ 2^α max(e^{α ln(1−q) − x²/2},
        // e^{α(ln q + μx − μ²/2) − x²/2}), two Gaussian bumps at 0 and αμ, so beyond t0 of both
        // the integrand is below e^{−40} of its largest value.
        let t0 = -lo;
        let first_end = ((2.0 * t0) / h).ceil() as usize + 1;
        let second = ((alpha * mu - t0 - lo) / h).floor().max(0.0) as usize;
        if second as f64 - first_end as f64 > MIN_GAP_NODES {
            return (lo, vec![(0, first_end), (second, total - second)]);
        }
    }
    (lo, vec![(0, total)])
}

/// The f64 trapezoid of the Poisson-subsampled Gaussian's tilted law (estimates, no
/// certificate): nodes x_j = lo + jh over `subsampled_node_range` (40 nats of margin), the
/// remove ordering's loss L(x_j) = ln(1 − q + q e^{μx_j − μ²/2}) and the exponents
/// s_j = αL(x_j) − x_j²/2, weighted relative to their largest value m, so that no tilt
/// overflows. The integrand is analytic in the strip |Im x| < π/μ, so the rule's relative
/// error is ~e^{−2π²/(μh)} (Trefethen & Weideman 2014), e^{−65} at the step
/// [`SubsampledTrapezoid::step`]. Where the range holds a long stretch between the two bumps
/// of the integrand (at 0 and at αμ, α > 0) on which it is below e^{−40} of its largest value,
/// that stretch has no nodes (the vectors hold the two blocks one after the other; see
/// [`SubsampledTrapezoid::x`]).
#[derive(Debug, Clone)]
pub struct SubsampledTrapezoid {
    /// The first node.
    pub lo: f64,
    /// The step.
    pub h: f64,
    /// The blocks (first grid index j, node count), in order; the vectors below hold their
    /// nodes one block after the other.
    pub blocks: Vec<(usize, usize)>,
    /// L(x_j).
    pub ls: Vec<f64>,
    /// s_j = αL(x_j) − x_j²/2.
    pub ss: Vec<f64>,
    /// max_j s_j.
    pub m: f64,
    /// The weights e^{s_j − m}.
    pub ws: Vec<f64>,
    /// Σ_j e^{s_j − m}.
    pub tot: f64,
}

/// The tilted law's mean, central moments 2–4, E|L − mean|³ and E|L| (f64 estimates).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TiltedMoments {
    /// Mean.
    pub mean: f64,
    /// Central moments μ₂, μ₃, μ₄.
    pub central: [f64; 3],
    /// E|L − mean|³.
    pub abs3: f64,
    /// E|L|.
    pub mean_abs: f64,
}

impl TiltedMoments {
    /// Every moment NaN (the summaries of a quadrature over its node budget).
    pub const NAN: TiltedMoments = TiltedMoments {
        mean: f64::NAN,
        central: [f64::NAN; 3],
        abs3: f64::NAN,
        mean_abs: f64::NAN,
    };

    /// The CGF value at λ of the ordering (remove, or add with `add`) whose tilt these are,
    /// with K(λ) = `ln_f`, the log of the tilt's normaliser.
    pub fn cgf(&self, lambda: f64, add: bool, ln_f: f64) -> CgfValue {
        let [var, mu3, mu4] = self.central;
        CgfValue::oriented(lambda, add, ln_f, [self.mean, var, mu3, mu4])
    }
}

impl SubsampledTrapezoid {
    /// The step of the CGF: 0.05, and at most 0.3/μ (relative error ≤ ~e^{−65}, see the type).
    pub fn step(mu: f64) -> f64 {
        (0.3 / mu).min(0.05)
    }

    /// The trapezoid at tilt α with step h.
    pub fn new(q: f64, mu: f64, alpha: f64, h: f64) -> Self {
        let (lo, blocks) = trapezoid_blocks(q, mu, alpha, h);
        let n = Self::count(&blocks);
        let mut ls = Vec::with_capacity(n);
        let mut ss = Vec::with_capacity(n);
        let mut m = f64::NEG_INFINITY;
        for j in blocks.iter().flat_map(|&(j0, len)| j0..j0 + len) {
            let x = lo + j as f64 * h;
            let l = crate::special::quadrature::log1p_qexpm1(q, mu * x - 0.5 * mu * mu);
            let s = alpha * l - 0.5 * x * x;
            m = m.max(s);
            ls.push(l);
            ss.push(s);
        }
        let ws: Vec<f64> = ss.iter().map(|s| (s - m).exp()).collect();
        let tot: f64 = ws.iter().sum();
        SubsampledTrapezoid {
            lo,
            h,
            blocks,
            ls,
            ss,
            m,
            ws,
            tot,
        }
    }

    /// The node count of the trapezoid at tilt α with step h (without building it).
    pub fn nodes(q: f64, mu: f64, alpha: f64, h: f64) -> usize {
        Self::count(&trapezoid_blocks(q, mu, alpha, h).1)
    }

    fn count(blocks: &[(usize, usize)]) -> usize {
        blocks.iter().fold(0, |n, b| n.saturating_add(b.1))
    }

    /// The abscissa of the i-th stored node.
    pub fn x(&self, i: usize) -> f64 {
        let mut i = i;
        for &(j0, len) in &self.blocks {
            if i < len {
                return self.lo + (j0 + i) as f64 * self.h;
            }
            i -= len;
        }
        f64::NAN
    }

    /// ln F(α) = ln ∫ e^{αL}φ dx.
    pub fn ln_f(&self) -> f64 {
        self.m + (self.tot * self.h).ln() - crate::special::normal::LN_SQRT_2PI
    }

    /// The tilted law's moments (mean first, then central moments about it).
    #[inline]
    pub fn moments(&self) -> TiltedMoments {
        let tot = self.tot;
        let mean = self
            .ws
            .iter()
            .zip(&self.ls)
            .map(|(w, l)| w * l)
            .sum::<f64>()
            / tot;
        let (mut var, mut mu3, mut mu4, mut rho3, mut mean_abs) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (w, l) in self.ws.iter().zip(&self.ls) {
            let d = l - mean;
            var += w * d * d;
            mu3 += w * d * d * d;
            mu4 += w * d * d * d * d;
            rho3 += w * (d * d).abs() * d.abs();
            mean_abs += w * l.abs();
        }
        TiltedMoments {
            mean,
            central: [var / tot, mu3 / tot, mu4 / tot],
            abs3: rho3 / tot,
            mean_abs: mean_abs / tot,
        }
    }

    /// The CGF value at λ of the ordering (remove, or add with `add`) whose tilt this is
    /// (α = λ, or 1 − λ for add).
    pub fn cgf(&self, lambda: f64, add: bool) -> CgfValue {
        self.moments().cgf(lambda, add, self.ln_f())
    }
}

/// The Gaussian closed form with μ = 1/σ: K = λ(λ − 1)μ²/2, tilted law N((λ − ½)μ², μ²).
pub(crate) fn gaussian_f64(mu: f64, lambda: f64) -> CgfValue {
    let mu2 = mu * mu;
    CgfValue {
        lambda,
        k: 0.5 * lambda * (lambda - 1.0) * mu2,
        mean: (lambda - 0.5) * mu2,
        var: mu2,
        mu3: 0.0,
        mu4: 3.0 * mu2 * mu2,
    }
}

/// The Laplace pair with a = 1/b in closed form (docs/math.md §6.1.1): with w = 2λ − 1,
/// M(λ) = e^{(λ−1)a}·m(w), m(w) = ½ + ½e^{−aw} + ½∫₀^a e^{−wt} dt. K, K', K'' from
/// m = ½r + ½ + (1 − r)/(2w) (r = e^{−wa}) and its first two derivatives for w ≥ 1e−4 (the
/// form the contour has always used); the third and fourth cumulants, and K, K', K'' for
/// w < 1e−4 (where that form cancels or overflows), from [`laplace_ln_m`].
pub(crate) fn laplace_f64(a: f64, lambda: f64) -> CgfValue {
    let w = 2.0 * lambda - 1.0;
    let c = laplace_ln_m(a, w);
    // d/dλ = 2 d/dw: K^{(j)} = 2^j (ln m)^{(j)} for j ≥ 2, K' = a + 2(ln m)'.
    let mu3 = 8.0 * c[3];
    let var_series = 4.0 * c[2];
    let mu4_of = |var: f64| 16.0 * c[4] + 3.0 * var * var;
    if w < 1e-4 {
        // Also λ < ½ − 5e−5, where r = e^{−wa} > 1 could overflow the closed form below.
        return CgfValue {
            lambda,
            k: (lambda - 1.0) * a + c[0],
            mean: a + 2.0 * c[1],
            var: var_series,
            mu3,
            mu4: mu4_of(var_series),
        };
    }
    let r = (-w * a).exp();
    let m = 0.5 * r + 0.5 + (1.0 - r) / (2.0 * w);
    let d = 2.0 * w * w;
    let n = a * (1.0 + r) * w - 2.0 * (1.0 - r);
    let m1 = 0.5 * a * (1.0 - r) + n / d;
    let n1 = a * a * (1.0 - r) * w;
    let d1 = 8.0 * w;
    let m2 = 0.5 * a * a * (1.0 + r) + (n1 * d - n * d1) / (d * d);
    let k1 = m1 / m;
    let var = (m2 / m - k1 * k1).max(0.0);
    CgfValue {
        lambda,
        k: (lambda - 1.0) * a + m.ln(),
        mean: k1,
        var,
        mu3,
        mu4: mu4_of(var),
    }
}

/// ln m(w) and its first four derivatives in w, for m(w) = ½ + ½e^{−aw} + ½I₀(w),
/// I_j(w) = ∫₀^a t^j e^{−wt} dt (docs/math.md §6.1.1). m is the Laplace transform of a positive
/// measure ν on [0, a] (atoms ½ at 0 and ½ at a, density ½ on (0, a)), so (−1)^j m^{(j)}/m are
/// the raw moments of ν tilted by e^{−wt} and the derivatives of ln m are its cumulants with
/// signs (−1)^j. For w < 0 the reflection t → a − t gives m(w) = e^{−aw}m(−w), so
/// (ln m)(w) = −aw + (ln m)(−w) and (ln m)^{(j)}(w) = (−1)^j (ln m)^{(j)}(−w): only w ≥ 0,
/// where e^{−aw} ≤ 1, is evaluated. I_j: the power series Σ_n (−w)^n a^{n+j+1}/(n!(n+j+1))
/// for aw < 2 (60 terms: the tail is below 2^60/60! ≈ 1e−64 of the leading term), else the
/// recursion I₀ = (1 − e^{−aw})/w, I_j = (j·I_{j−1} − a^j e^{−aw})/w.
fn laplace_ln_m(a: f64, w: f64) -> [f64; 5] {
    if w < 0.0 {
        let c = laplace_ln_m(a, -w);
        return [-a * w + c[0], -a - c[1], c[2], -c[3], c[4]];
    }
    let r = (-a * w).exp();
    let mut i = [0.0f64; 5];
    if a * w < 2.0 {
        for (j, ij) in i.iter_mut().enumerate() {
            // term_n = (−w)^n a^{n+j+1}/n!, divided by (n + j + 1) when summed.
            let mut term = a.powi(j as i32 + 1);
            let mut sum = 0.0;
            for n in 0..60 {
                sum += term / (n + j + 1) as f64;
                term *= -w * a / (n + 1) as f64;
            }
            *ij = sum;
        }
    } else {
        i[0] = -(-a * w).exp_m1() / w;
        for j in 1..5 {
            i[j] = (j as f64 * i[j - 1] - a.powi(j as i32) * r) / w;
        }
    }
    // Raw moments of the tilted ν: p_j = (½a^j r + ½I_j)/m (p_0 = 1).
    let m = 0.5 + 0.5 * r + 0.5 * i[0];
    let p: Vec<f64> = (1..5)
        .map(|j| (0.5 * a.powi(j as i32) * r + 0.5 * i[j]) / m)
        .collect();
    let (p1, p2, p3, p4) = (p[0], p[1], p[2], p[3]);
    let k2 = p2 - p1 * p1;
    let k3 = p3 - 3.0 * p1 * p2 + 2.0 * p1.powi(3);
    let k4 = p4 - 4.0 * p1 * p3 - 3.0 * p2 * p2 + 12.0 * p1 * p1 * p2 - 6.0 * p1.powi(4);
    // (ln m)^{(j)} = (−1)^j κ_j of the tilted ν.
    [m.ln(), -p1, k2, -k3, k4]
}

/// The remove ordering's tilt of the subsampled Gaussian's quadrature for the CGF at λ of
/// `dir` (α = λ, or 1 − λ with the centre negated for add), and whether to orient back.
fn subsampled_tilt(dir: Direction, lambda: f64, mean: f64) -> (Tilt, bool) {
    match dir {
        Direction::Remove => (
            Tilt {
                lambda,
                center: mean,
            },
            false,
        ),
        Direction::Add => (
            Tilt {
                lambda: 1.0 - lambda,
                center: -mean,
            },
            true,
        ),
    }
}

/// The node evaluations of [`cgf_certified`] at λ where they dominate its cost, from f64
/// estimates and plans before any MPFR work: the subsampled Gaussian's certified trapezoid
/// (q < 1), and the Clenshaw–Curtis panels of the Gaussian-mixture pairs (fixed-size batches
/// included) and of both components of the truncated-Poisson union; 0 for every other
/// mechanism (closed forms and atom sums, whose cost does not grow with the tilt).
///
/// # Errors
/// [`Error::NotCertified`] where [`cgf_certified`] would refuse over its work limit (the
/// quadrature's node limit, or more than [`crate::mechanism::mixture::MAX_TILTED_PANELS`] panels).
pub fn certified_work(
    mech: &Mechanism,
    dir: Direction,
    lambda: f64,
    precision: Precision,
) -> Result<f64> {
    match mech {
        Mechanism::SubsampledGaussian(s) if s.sampling_rate() < 1.0 => {
            let est = cgf_f64(mech, dir, lambda)?;
            if !est.mean.is_finite() {
                return Ok(0.0); // cgf_certified refuses at once, and says why
            }
            let (tilt, _) = subsampled_tilt(dir, lambda, est.mean);
            crate::special::quadrature::certified_work(&s.loss(), &[tilt], 4, precision)
        }
        Mechanism::GaussianMixture(GaussianMixture::WithoutReplacement(w)) => {
            let (est, scale) = mixture_estimate(mech, dir, lambda)?;
            w.tilted_work(&tilt_query(lambda, est.mean, scale), precision)
        }
        Mechanism::GaussianMixture(g) => {
            let (est, scale) = mixture_estimate(mech, dir, lambda)?;
            g.law_for(dir)
                .tilted_work(&tilt_query(lambda, est.mean, scale), precision)
        }
        Mechanism::TruncatedPoisson(t) => {
            let (est, scale) = mixture_estimate(mech, dir, lambda)?;
            let law = t.law(dir);
            let (w_lo, w_hi) = t.truncation_weight_bounds();
            let mut work = 0.0;
            for (l, w) in [(&law.a, w_hi), (&law.b, 1.0 - w_lo)] {
                if w > 0.0 {
                    let s = truncated_part_scale(scale, w);
                    work += l.tilted_work(&tilt_query(lambda, est.mean, s), precision)?;
                }
            }
            Ok(work)
        }
        _ => Ok(0.0),
    }
}

/// Whether [`cgf_certified`] at λ stays within its work limit, decided from f64 estimates
/// before any MPFR work ([`certified_work`]): `Err` with the refusal that call would return
/// (every mechanism without a quadrature answers `Ok`).
///
/// # Errors
/// [`Error::NotCertified`] over the work limit.
pub fn check_certified_work(
    mech: &Mechanism,
    dir: Direction,
    lambda: f64,
    precision: Precision,
) -> Result<()> {
    certified_work(mech, dir, lambda, precision).map(|_| ())
}

/// Certified values at an exact λ.
///
/// # Guarantee
/// Every interval contains the exact value (MPFR interval arithmetic; the subsampled Gaussian
/// through the certified quadrature), `abs3.hi` bounds E_λ|L − K'|³ from above.
///
/// # Errors
/// Non-finite λ, or a failed quadrature.
pub fn cgf_certified(
    mech: &Mechanism,
    dir: Direction,
    lambda: f64,
    precision: Precision,
) -> Result<CertifiedCgf> {
    crate::error::Range::closed(-1e6, 1e6).check("lambda", lambda)?;
    match mech {
        Mechanism::Gaussian(g) => Ok(gaussian_certified(g.sigma(), lambda, precision)),
        Mechanism::SubsampledGaussian(s) if s.sampling_rate() == 1.0 => {
            Ok(gaussian_certified(s.sigma(), lambda, precision))
        }
        Mechanism::SubsampledGaussian(s) => {
            let est = cgf_f64(mech, dir, lambda)?;
            if !est.mean.is_finite() {
                // The centre of the certified quadrature is this f64 estimate; where it
                // overflows (very large tilts) nothing can be certified at this λ.
                return Err(Error::NotCertified(format!(
                    "the f64 estimate of the tilted mean at lambda = {lambda} is not finite (sigma = {}, sampling_rate = {}, {} ordering); no certified moments there",
                    s.sigma(),
                    s.sampling_rate(),
                    dir.name()
                )));
            }
            let loss: SubsampledLoss = s.loss();
            let (tilt, sign) = subsampled_tilt(dir, lambda, est.mean);
            let m = certified_moments(&loss, &[tilt], 4, precision)?;
            oriented_certified(m.values[0].clone(), sign, est.mean, mech, dir, lambda)
        }
        Mechanism::RandomizedResponse(_) | Mechanism::DiscreteLaplace(_) => {
            // Finite sums over the atoms in interval arithmetic (docs/math.md §16.4), centred at
            // the f64 tilted mean; symmetric pair: both orderings have the same PLLR laws.
            let lat = lattice_of(mech)?;
            let center = lat.law().tilted(lambda)[1];
            if !center.is_finite() {
                return Err(Error::NotCertified(format!(
                    "the f64 tilted mean of {} at lambda = {lambda} is not finite",
                    mech.describe()
                )));
            }
            let row = lat.certified(precision).tilted_moments(lambda, center, 4);
            let mut c = from_moments(&row, center, lambda)?;
            c.abs3 = abs_third_bound(&c.mean, &c.var, &c.mu3, &c.mu4, loss_support(mech, dir));
            Ok(c)
        }
        Mechanism::Laplace(l) => {
            // Symmetric pair: both orderings have the same PLLR laws.
            let row = laplace_moments(l.scale(), lambda, precision)?;
            let mut c = from_moments(&row, 0.0, lambda)?;
            c.abs3 = abs_third_bound(&c.mean, &c.var, &c.mu3, &c.mu4, loss_support(mech, dir));
            Ok(c)
        }
        Mechanism::SubsampledLaplace(s) if s.sampling_rate() == 1.0 => {
            cgf_certified(&Mechanism::Laplace(s.laplace()), dir, lambda, precision)
        }
        Mechanism::SubsampledLaplace(s) => {
            // Clenshaw–Curtis panels with the ellipse bound (docs/math.md §15.5), centred at the
            // f64 tilted mean; the add ordering as for the subsampled Gaussian:
            // E_Q[e^{−λL}(−L − m)^k] = (−1)^k E_P[w^{1−λ}(L + m)^k].
            let est = cgf_f64(mech, dir, lambda)?;
            if !est.mean.is_finite() {
                return Err(Error::NotCertified(format!(
                    "the f64 tilted mean of {} at lambda = {lambda} is not finite",
                    mech.describe()
                )));
            }
            let (tilt, center, flip) = match dir {
                Direction::Remove => (lambda, est.mean, false),
                Direction::Add => (1.0 - lambda, -est.mean, true),
            };
            let row = s.certified_moments(tilt, center, 4, precision)?;
            oriented_certified(row, flip, est.mean, mech, dir, lambda)
        }
        Mechanism::DiscreteGaussian(g) => {
            // Window sum plus certified tails (docs/math.md §16.7), centred at the f64 tilted
            // mean; symmetric pair: both orderings have the same PLLR laws.
            g.require_atom_law("the certified CGF")?;
            let center = g.tilted_f64(lambda)[1];
            let (row, shift) = g.tilted_moments(lambda, center, 4, precision)?;
            let mut c = from_moments(&row, center, lambda)?;
            c.k = c.k.add(&shift);
            c.abs3 = abs_third_bound(&c.mean, &c.var, &c.mu3, &c.mu4, loss_support(mech, dir));
            Ok(c)
        }
        Mechanism::GaussianMixture(GaussianMixture::WithoutReplacement(w)) => {
            // The atom and two certified Clenshaw–Curtis integrals on [μ/2, ∞) (docs/math.md
            // §17.13), centred at the f64 tilted mean; symmetric pair: both orderings.
            let (est, scale) = mixture_estimate(mech, dir, lambda)?;
            let row =
                w.certified_tilted_moments(&tilt_query(lambda, est.mean, scale), precision)?;
            oriented_certified(row, false, est.mean, mech, dir, lambda)
        }
        Mechanism::GaussianMixture(g) => {
            // Certified Clenshaw–Curtis panels on the pair of this ordering (docs/math.md
            // §17.12), centred at the f64 tilted mean.
            let (est, scale) = mixture_estimate(mech, dir, lambda)?;
            let row = g
                .law_for(dir)
                .certified_tilted_moments(&tilt_query(lambda, est.mean, scale), precision)?;
            oriented_certified(row, false, est.mean, mech, dir, lambda)
        }
        Mechanism::TruncatedPoisson(t) => {
            // The union's moments are the weighted sums of its components' (docs/math.md
            // §17.8), mixed with the certified weight enclosure [t_lo, t_hi]:
            // m = m_b + t·(m_a − m_b) holds for the exact t inside it.
            let (est, scale) = mixture_estimate(mech, dir, lambda)?;
            let law = t.law(dir);
            let (t_lo, t_hi) = t.truncation_weight_enclosure()?;
            let (w_lo, w_hi) = (t_lo.to_f64_round(Round::Down), t_hi.to_f64_round(Round::Up));
            let part = |l: &crate::mechanism::mixture::MixtureLaw, w: f64| {
                let s = truncated_part_scale(scale, w);
                l.certified_tilted_moments(&tilt_query(lambda, est.mean, s), precision)
            };
            // A component is left out only where its exact weight is 0 (decided on the
            // 256-bit ends, not on their f64 roundings, which only size the work).
            let ra = if t_hi.is_sign_positive() && !t_hi.is_zero() {
                part(&law.a, w_hi)?
            } else {
                vec![Interval::zero(precision); 5]
            };
            let rb = if t_lo < 1 {
                part(&law.b, 1.0 - w_lo)?
            } else {
                vec![Interval::zero(precision); 5]
            };
            let weight = Interval::new(t_lo, t_hi);
            let row: Vec<Interval> = ra
                .iter()
                .zip(&rb)
                .map(|(a, b)| b.add(&weight.mul(&a.sub(b))))
                .collect();
            oriented_certified(row, false, est.mean, mech, dir, lambda)
        }
    }
}

/// The f64 tilted summaries of a mixture pair or the truncated-Poisson union at λ (the
/// centre of the certified moments) and the scale that sizes their work.
fn mixture_estimate(
    mech: &Mechanism,
    dir: Direction,
    lambda: f64,
) -> Result<(CgfValue, TiltScale)> {
    let est = cgf_f64(mech, dir, lambda)?;
    if !(est.k.is_finite() && est.mean.is_finite() && est.var.is_finite()) {
        return Err(Error::NotCertified(format!(
            "the f64 tilted summaries of {} at lambda = {lambda} are not finite ({} ordering); \
             no certified moments there",
            mech.describe(),
            dir.name()
        )));
    }
    let scale = TiltScale {
        ln_mgf: est.k,
        sd: est.var.max(0.0).sqrt(),
    };
    Ok((est, scale))
}

/// The moments k ≤ 4 about the f64 tilted mean at λ that the saddle point needs.
fn tilt_query(lambda: f64, center: f64, scale: TiltScale) -> TiltQuery {
    TiltQuery {
        lambda,
        center,
        kmax: 4,
        scale,
    }
}

/// The work-sizing scale of a union component of weight w: M_part ≤ M/w.
fn truncated_part_scale(scale: TiltScale, w: f64) -> TiltScale {
    TiltScale {
        ln_mgf: scale.ln_mgf - w.max(1e-300).ln(),
        sd: scale.sd,
    }
}

/// A [`CgfValue`] from [K, mean, variance, μ3, μ4].
fn cgf_value(lambda: f64, t: [f64; 5]) -> CgfValue {
    let [k, mean, var, mu3, mu4] = t;
    CgfValue {
        lambda,
        k,
        mean,
        var,
        mu3,
        mu4,
    }
}

/// Certified bounds on the support of the ordering's PLLR: (lower, upper), `None` where
/// unbounded. Subsampled Gaussian (q < 1): remove L ≥ ln(1 − q), add −L ≤ −ln(1 − q); Laplace
/// |L| ≤ a = 1/b; Gaussian unbounded.
pub fn loss_support(mech: &Mechanism, dir: Direction) -> (Option<f64>, Option<f64>) {
    match mech {
        Mechanism::Gaussian(_) => (None, None),
        Mechanism::SubsampledGaussian(s) if s.sampling_rate() == 1.0 => (None, None),
        Mechanism::SubsampledGaussian(s) => {
            let mut l = Float::with_val(64, -s.sampling_rate());
            l.ln_1p_round(Round::Down);
            let lo = l.to_f64_round(Round::Down);
            match dir {
                Direction::Remove => (Some(lo), None),
                Direction::Add => (None, Some(-lo)),
            }
        }
        Mechanism::Laplace(l) => {
            let mut a = Float::with_val(64, 1);
            a.div_assign_round(&Float::with_val(64, l.scale()), Round::Up);
            let a = a.to_f64_round(Round::Up);
            (Some(-a), Some(a))
        }
        Mechanism::RandomizedResponse(_) | Mechanism::DiscreteLaplace(_) => {
            // |L| ≤ h·J/2, the top atom's upper end (docs/math.md §16).
            match lattice_of(mech) {
                Ok(l) => {
                    let c = l.certified(Precision(64));
                    let top = c.atom(c.top()).hi_f64();
                    (Some(-top), Some(top))
                }
                Err(_) => (None, None),
            }
        }
        Mechanism::SubsampledLaplace(s) => {
            // ln(1 − q + q e^{±a}) in f64 (a few ulp), widened outward by 1e−14 relative.
            let a = s.epsilon0();
            let widen = |x: f64, up: bool| {
                let d = 1e-14 * (1.0 + x.abs());
                if up {
                    x + d
                } else {
                    x - d
                }
            };
            let (lo, hi) = (widen(s.loss_of(-a), false), widen(s.loss_of(a), true));
            match dir {
                Direction::Remove => (Some(lo), Some(hi)),
                Direction::Add => (Some(-hi), Some(-lo)),
            }
        }
        // The discrete Gaussian's loss is unbounded both ways.
        Mechanism::DiscreteGaussian(_) => (None, None),
        Mechanism::GaussianMixture(GaussianMixture::WithoutReplacement(_)) => (None, None),
        // L is non-decreasing in x (the ordering's law is oriented so, docs/math.md §17.1): its
        // limits at ∓∞ are its bounds, finite where the extreme means of P and Q coincide.
        Mechanism::GaussianMixture(g) => mixture_support(&g.law_for(dir)),
        // The union's loss takes the values of both components' losses.
        Mechanism::TruncatedPoisson(t) => {
            let law = t.law(dir);
            let (a, b) = (mixture_support(&law.a), mixture_support(&law.b));
            let lo = a.0.zip(b.0).map(|(x, y)| x.min(y));
            let hi = a.1.zip(b.1).map(|(x, y)| x.max(y));
            (lo, hi)
        }
    }
}

/// Certified (inf L, sup L) of a Gaussian-mixture ordering: ln w_Q − ln w_P of the extreme
/// components where their means coincide (MPFR, rounded outward), `None` where unbounded.
fn mixture_support(law: &crate::mechanism::mixture::MixtureLaw) -> (Option<f64>, Option<f64>) {
    let (p, q) = (law.p_side(), law.q_side());
    let end = |pm: f64, qm: f64, round: Round| -> Option<f64> {
        if pm != qm {
            return None;
        }
        let wq = q.components().find(|c| c.1 == qm)?.0;
        let wp = p.components().find(|c| c.1 == pm)?.0;
        let anti = crate::precision::opposite(round);
        let mut a = Float::with_val(64, wq);
        a.ln_round(round);
        let mut b = Float::with_val(64, wp);
        b.ln_round(anti);
        a.sub_assign_round(&b, round);
        Some(a.to_f64_round(round))
    };
    (
        end(p.min_mean(), q.min_mean(), Round::Down),
        end(p.max_mean(), q.max_mean(), Round::Up),
    )
}

/// The lattice law of a lattice mechanism.
fn lattice_of(mech: &Mechanism) -> Result<crate::mechanism::LatticeMechanism> {
    mech.lattice()
        .ok_or_else(|| Error::Internal(format!("{} is not a lattice mechanism", mech.describe())))
}

/// A certified upper bound (the `hi` end) on E|X|³ for X = L − m with mean m, central moments
/// μ2, μ3, μ4 and L supported in `support`:
/// min of √(μ2·μ4) (Cauchy–Schwarz), μ3 + 2(m − lo)μ2 when L ≥ lo (|X|³ = X³ + 2(X⁻)³ and
/// X⁻ ≤ m − lo), and −μ3 + 2(hi − m)μ2 when L ≤ hi.
pub fn abs_third_bound(
    mean: &Interval,
    mu2: &Interval,
    mu3: &Interval,
    mu4: &Interval,
    support: (Option<f64>, Option<f64>),
) -> Interval {
    let prec = Precision(mu2.prec());
    let mut best = sqrt_iv(&nonneg(&mu2.mul(mu4)));
    let two = Float::with_val(8, 2);
    if let Some(lo) = support.0 {
        let b = nonneg(&mean.sub(&Interval::from_f64(prec, lo)));
        let v = mu3.add(&b.mul(&nonneg(mu2)).scale_nonneg(&two));
        if v.hi < best.hi {
            best = nonneg(&v);
        }
    }
    if let Some(hi) = support.1 {
        let b = nonneg(&Interval::from_f64(prec, hi).sub(mean));
        let v = mu3.neg().add(&b.mul(&nonneg(mu2)).scale_nonneg(&two));
        if v.hi < best.hi {
            best = nonneg(&v);
        }
    }
    best
}

/// Which law of an ordering's PLLR: P (the base law) or Q.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The base law P.
    P,
    /// The alternative Q.
    Q,
}

/// Certified enclosures of E|X| and E|X|³ for X = L − E L on one side of an ordering.
#[derive(Debug, Clone)]
pub struct AbsCentralMoments {
    /// E|X|.
    pub abs1: Interval,
    /// E|X|³.
    pub abs3: Interval,
}

/// Certified E|X| and E|X|³ of the centred PLLR X = L − m on `side` of `dir`, given the
/// certified mean `mean` ∋ m and variance `mu2` of that side (docs/math.md §15.4).
///
/// Gaussian (and q = 1): X ~ N(0, μ2), E|X| = √(2/π)·√μ2, E|X|³ = 2√(2/π)·μ2^{3/2}.
/// Subsampled Gaussian: the split Clenshaw–Curtis quadrature
/// [`crate::special::quadrature::certified_abs_moments`] at the f64 centre c* = mid(mean)
/// (the add ordering's P side is the remove ordering's Q side with L negated, which leaves
/// |X| unchanged), then moved to the true mean: with d ≥ |m − c*|,
/// |E|L − m| − E|L − c*|| ≤ d and |E|L − m|³ − E|L − c*|³| ≤ 3d(√(μ2 + d²) + d)².
/// `None` for the Laplace mechanism (no closed form here; callers keep [`abs_third_bound`]).
///
/// # Errors
/// As the quadrature ([`Error::NotCertified`] at σ below about 0.005).
pub fn certified_abs_central(
    mech: &Mechanism,
    dir: Direction,
    side: Side,
    mean: &Interval,
    mu2: &Interval,
    precision: Precision,
) -> Result<Option<AbsCentralMoments>> {
    let wp = Precision(mean.prec().max(precision.bits()));
    let gaussian = |mu2: &Interval| {
        let sd = sqrt_iv(&nonneg(mu2));
        let two_over_pi = Interval::new(
            {
                let mut x = Float::with_val(wp.0, 2);
                x.div_assign_round(&crate::precision::pi(wp, Round::Up), Round::Down);
                x
            },
            {
                let mut x = Float::with_val(wp.0, 2);
                x.div_assign_round(&crate::precision::pi(wp, Round::Down), Round::Up);
                x
            },
        );
        let c = sqrt_iv(&two_over_pi);
        let abs1 = c.mul(&sd);
        let abs3 = abs1.mul(&sd).mul(&sd).scale_nonneg(&Float::with_val(8, 2));
        AbsCentralMoments { abs1, abs3 }
    };
    match mech {
        Mechanism::Gaussian(_) => Ok(Some(gaussian(mu2))),
        Mechanism::SubsampledGaussian(s) if s.sampling_rate() == 1.0 => Ok(Some(gaussian(mu2))),
        Mechanism::SubsampledGaussian(s) => {
            // The remove ordering's law: add's P side is remove's Q side of −L, and vice versa.
            let remove_q = (dir == Direction::Remove) == (side == Side::Q);
            let m = if dir == Direction::Add {
                mean.neg()
            } else {
                mean.clone()
            };
            let c = m.mid_f64();
            if !c.is_finite() {
                return Err(Error::Internal(format!(
                    "certified absolute moments: the certified mean {m:?} has no finite midpoint"
                )));
            }
            let lambda = if remove_q { 1.0 } else { 0.0 };
            let r =
                crate::special::quadrature::certified_abs_moments(&s.loss(), lambda, c, precision)?;
            // d ≥ |m − c| for every m in the mean's enclosure.
            let cf = exact(wp, c);
            let mut d1 = m.hi.clone();
            d1.sub_assign_round(&cf, Round::Up);
            let mut d2 = cf.clone();
            d2.sub_assign_round(&m.lo, Round::Up);
            let d = Interval::point(if d1 > d2 { d1 } else { d2 }.abs());
            let s2 = sqrt_iv(&Interval::point(mu2.hi.clone().abs()).add(&d.mul(&d))).add(&d);
            let e3 = d.mul(&s2).mul(&s2).scale_nonneg(&Float::with_val(8, 3));
            let abs1 = nonneg(&r.abs1.widen(&d.hi));
            let abs3 = nonneg(&r.abs3.widen(&e3.hi));
            Ok(Some(AbsCentralMoments { abs1, abs3 }))
        }
        Mechanism::Laplace(_) => Ok(None),
        Mechanism::RandomizedResponse(_) | Mechanism::DiscreteLaplace(_) => Ok(None),
        Mechanism::SubsampledLaplace(_) => Ok(None),
        Mechanism::DiscreteGaussian(_) => Ok(None),
        Mechanism::GaussianMixture(_) => Ok(None),
        Mechanism::TruncatedPoisson(_) => Ok(None),
    }
}

/// From M_k = E_P[e^{λL}(L − c)^k], k = 0..=4, to K, mean, central moments.
fn from_moments(row: &[Interval], center: f64, lambda: f64) -> Result<CertifiedCgf> {
    let m0 = &row[0];
    if m0.lo.is_nan() || m0.lo <= 0 {
        return Err(Error::PrecisionExhausted {
            what: format!("E[e^(lambda L)] enclosure not positive at lambda = {lambda}"),
            bits: m0.prec(),
        });
    }
    let k = m0.ln();
    let mut norm = vec![Interval::from_f64(Precision(m0.prec()), 1.0)];
    for v in &row[1..=4] {
        norm.push(v.div(m0)?);
    }
    let kap = cumulants_from_moments(&norm, center, 4)?;
    let var = kap[1].clone();
    let three = Float::with_val(64, 3);
    let mu4 = kap[3].add(&var.mul(&var).scale_nonneg(&three));
    let abs3 = sqrt_iv(&nonneg(&var.mul(&mu4)));
    Ok(CertifiedCgf {
        lambda,
        k,
        mean: kap[0].clone(),
        var,
        mu3: kap[2].clone(),
        mu4,
        abs3,
    })
}

fn nonneg(x: &Interval) -> Interval {
    let zero = Float::new(x.prec());
    let lo = if x.lo.is_sign_negative() {
        zero.clone()
    } else {
        x.lo.clone()
    };
    let hi = if x.hi.is_sign_negative() {
        zero
    } else {
        x.hi.clone()
    };
    Interval::new(lo, hi)
}

fn sqrt_iv(x: &Interval) -> Interval {
    x.monotone(|v, r| v.sqrt_round(r))
}

fn gaussian_certified(sigma: f64, lambda: f64, precision: Precision) -> CertifiedCgf {
    let wp = precision.0 + 16;
    let mu = Interval::recip_of(wp, sigma);
    let mu2 = mu.mul(&mu);
    let lam = Interval::from_f64(Precision(wp), lambda);
    let half = Interval::from_f64(Precision(wp), 0.5);
    let k = lam
        .mul(&lam.sub(&Interval::from_f64(Precision(wp), 1.0)))
        .mul(&mu2)
        .mul(&half);
    let mean = lam.sub(&half).mul(&mu2);
    let mu4 = mu2.mul(&mu2).scale_nonneg(&Float::with_val(wp, 3));
    // E|Z|³ = 2√(2/π) for Z ~ N(0,1).
    let two_over_pi = Interval::new(
        {
            let mut x = Float::with_val(wp, 2);
            x.div_assign_round(&crate::precision::pi(Precision(wp), Round::Up), Round::Down);
            x
        },
        {
            let mut x = Float::with_val(wp, 2);
            x.div_assign_round(&crate::precision::pi(Precision(wp), Round::Down), Round::Up);
            x
        },
    );
    let abs3 = sqrt_iv(&two_over_pi)
        .scale_nonneg(&Float::with_val(wp, 2))
        .mul(&mu2)
        .mul(&mu);
    CertifiedCgf {
        lambda,
        k,
        mean,
        var: mu2,
        mu3: Interval::zero(Precision(wp)),
        mu4,
        abs3,
    }
}

/// E_P[e^{λL} L^k], k = 0..=4, for the Laplace pair (a = 1/b):
/// ½e^{−λa}(−a)^k + ½e^{(λ−1)a}a^k + ¼e^{−a/2}∫_{−a}^{a} u^k e^{(λ−½)u} du, the integral by
/// the exact recursion G_k = [u^k e^{βu}/β] − (k/β)G_{k−1} (β = λ − ½ ≠ 0) or
/// (a^{k+1} − (−a)^{k+1})/(k+1) (β = 0), with guard bits against its cancellation.
fn laplace_moments(scale: f64, lambda: f64, precision: Precision) -> Result<Vec<Interval>> {
    let beta_f = lambda - 0.5;
    let a_f = 1.0 / scale;
    let guard = 64
        + (8.0 * (-(beta_f.abs() * a_f).log2()).max(0.0))
            .ceil()
            .min(4000.0) as u32
        + (4.0 * (-a_f.log2()).max(0.0)).ceil().min(4000.0) as u32;
    let wp = Precision(precision.0 + guard);
    let a = Interval::recip_of(wp.0, scale);
    let lam = Interval::point(exact(wp, lambda));
    let one = Interval::from_f64(wp, 1.0);
    let half = Interval::from_f64(wp, 0.5);
    let quarter = Interval::from_f64(wp, 0.25);
    let beta = Interval::point(exact(wp, beta_f));
    let w_minus = lam.mul(&a).neg().exp().mul(&half); // ½e^{−λa}
    let w_plus = lam.sub(&one).mul(&a).exp().mul(&half); // ½e^{(λ−1)a}
    let dens = a.mul(&half).neg().exp().mul(&quarter); // ¼e^{−a/2}
    let neg_a = a.neg();
    let mut g: Vec<Interval> = Vec::with_capacity(5);
    if beta_f == 0.0 {
        for k in 0..=4u32 {
            let v = a
                .powi(k + 1)
                .sub(&neg_a.powi(k + 1))
                .div(&Interval::from_f64(wp, (k + 1) as f64))?;
            g.push(v);
        }
    } else {
        let eb = beta.mul(&a).exp();
        let emb = beta.mul(&neg_a).exp();
        for k in 0..=4u32 {
            let boundary = a.powi(k).mul(&eb).sub(&neg_a.powi(k).mul(&emb));
            let v = if k == 0 {
                boundary.div(&beta)?
            } else {
                boundary
                    .sub(&g[(k - 1) as usize].mul(&Interval::from_f64(wp, k as f64)))
                    .div(&beta)?
            };
            g.push(v);
        }
    }
    let mut out = Vec::with_capacity(5);
    for k in 0..=4u32 {
        let v = w_minus
            .mul(&neg_a.powi(k))
            .add(&w_plus.mul(&a.powi(k)))
            .add(&dens.mul(&g[k as usize]));
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanism::{Gaussian, Laplace, SubsampledGaussian};

    #[test]
    fn node_counts_saturate_far_below_the_trapezoid_range() {
        // σ = 1e−100: (hi − lo)/h ≈ 1e201 nodes. The count used to overflow usize (a panic in
        // `+ 1`); it now saturates, and the CGF is reported out of range, as for any tilt over
        // the node budget, for both orderings and tilts on both sides of 1.
        for &sigma in &[1e-20, 1e-100, 1e-300] {
            let mu = 1.0 / sigma;
            let h = SubsampledTrapezoid::step(mu);
            assert_eq!(SubsampledTrapezoid::nodes(0.01, mu, 1.5, h), usize::MAX);
            let m = Mechanism::SubsampledGaussian(
                SubsampledGaussian::new(sigma, 0.01).expect("valid parameters"),
            );
            for dir in [Direction::Remove, Direction::Add] {
                for lambda in [1.0 + 1e-9, 2.0, 0.5] {
                    let c = cgf_f64(&m, dir, lambda).expect("finite lambda");
                    assert!(!c.mean.is_finite(), "σ={sigma} {dir:?} λ={lambda}: {c:?}");
                }
            }
        }
    }

    #[test]
    fn two_window_trapezoid_matches_the_whole_grid() {
        // σ = 0.003 (μ = 333) at α = 1.5 and 3: the stretch between the bumps holds ~5e5 and
        // ~1.1e6 nodes and is skipped; the whole grid summed here (log-scaled as the type
        // does) agrees to rounding, and so do the mean and variance.
        for &(q, alpha) in &[(0.01, 1.5), (0.5, 3.0), (1e-4, 1.5)] {
            let mu = 1.0 / 0.003;
            let h = SubsampledTrapezoid::step(mu);
            let t = SubsampledTrapezoid::new(q, mu, alpha, h);
            assert_eq!(t.blocks.len(), 2, "q={q} α={alpha}");
            let (lo, hi) = subsampled_node_range(q, mu, alpha, 40.0);
            let n = ((hi - lo) / h).ceil() as usize + 1;
            assert!(t.ls.len() * 4 < n, "{} of {n} nodes", t.ls.len());
            let (mut ls, mut ss) = (Vec::new(), Vec::new());
            for j in 0..n {
                let x = lo + j as f64 * h;
                let l = crate::special::quadrature::log1p_qexpm1(q, mu * x - 0.5 * mu * mu);
                ls.push(l);
                ss.push(alpha * l - 0.5 * x * x);
            }
            let m = ss.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(m, t.m);
            let ws: Vec<f64> = ss.iter().map(|s| (s - m).exp()).collect();
            let tot: f64 = ws.iter().sum();
            let mean = ws.iter().zip(&ls).map(|(w, l)| w * l).sum::<f64>() / tot;
            let var = ws
                .iter()
                .zip(&ls)
                .map(|(w, l)| w * (l - mean) * (l - mean))
                .sum::<f64>()
                / tot;
            let got = t.moments();
            assert!((t.tot / tot - 1.0).abs() < 1e-13, "{} vs {tot}", t.tot);
            assert!(
                (got.mean / mean - 1.0).abs() < 1e-12,
                "{} vs {mean}",
                got.mean
            );
            assert!(
                (got.central[0] / var - 1.0).abs() < 1e-10,
                "{:?} vs {var}",
                got
            );
            // Node abscissae follow the blocks.
            let (j0, len) = t.blocks[1];
            let i = t.blocks[0].1 + len / 2;
            assert_eq!(t.x(i), lo + (j0 + len / 2) as f64 * h);
        }
    }

    #[test]
    fn cgf_f64_is_out_of_range_without_building_at_tiny_sigma() {
        // σ = 1e-4, λ = 1 + 2^-10: m ≥ (λ − 1)·λ·μ²/2 ≈ 4.9e4 > 700 from the lower bound alone.
        let m = Mechanism::SubsampledGaussian(SubsampledGaussian::new(1e-4, 0.5).expect("valid"));
        let c = cgf_f64(&m, Direction::Remove, 1.0 + 1.0 / 1024.0).expect("finite lambda");
        assert!(c.k.is_infinite() && c.mean.is_nan(), "{c:?}");
        assert!(lower_peak(0.5, 1e4, 1.0 + 1.0 / 1024.0) > LN_TERM_MAX);
    }

    #[test]
    fn k_vanishes_at_zero_and_one_and_matches_the_integer_oracle() {
        let s = SubsampledGaussian::new(0.8, 0.01).expect("test setup");
        let m = Mechanism::SubsampledGaussian(s);
        for dir in [Direction::Remove, Direction::Add] {
            for lam in [0.0, 1.0] {
                let c = cgf_certified(&m, dir, lam, Precision(128)).expect("test setup");
                assert!(c.k.lo_f64() <= 0.0 && c.k.hi_f64() >= 0.0, "{dir:?} {lam}");
                assert!(c.k.width_f64() < 1e-30);
            }
        }
        // Remove, λ = 3: E = Σ C(3,i)(1−q)^{3−i}q^i e^{i(i−1)μ²/2}.
        let (q, mu2) = (0.01f64, 1.0 / 0.64);
        let want: f64 = (0..=3)
            .map(|i: i32| {
                let c = [1.0, 3.0, 3.0, 1.0][i as usize];
                c * (1.0 - q).powi(3 - i) * q.powi(i) * (0.5 * (i * (i - 1)) as f64 * mu2).exp()
            })
            .sum::<f64>()
            .ln();
        let c = cgf_certified(&m, Direction::Remove, 3.0, Precision(128)).expect("test setup");
        // The f64 oracle itself loses ~1e-13 relative to the cancellation in ln(1 + small).
        assert!(
            (c.k.mid_f64() - want).abs() < 1e-11 * want.abs(),
            "{:?} {want}",
            c.k
        );
        let f = cgf_f64(&m, Direction::Remove, 3.0).expect("test setup");
        assert!((f.k - want).abs() < 1e-10 * want.abs());
        assert!((f.mean - c.mean.mid_f64()).abs() < 1e-9 * f.mean.abs());
        assert!((f.var - c.var.mid_f64()).abs() < 1e-9 * f.var);
        // Add ordering, λ = 0 mean is E_{P_add}[−L] = −E_Q[L] = −κ1^Q.
        let k = m.cumulants(Direction::Add);
        let c = cgf_certified(&m, Direction::Add, 0.0, Precision(128)).expect("test setup");
        assert!((c.mean.mid_f64() - k.p[0]).abs() < 1e-9 * k.p[0].abs());
        let f = cgf_f64(&m, Direction::Add, 2.5).expect("test setup");
        let c = cgf_certified(&m, Direction::Add, 2.5, Precision(128)).expect("test setup");
        assert!((f.k - c.k.mid_f64()).abs() < 1e-9 * f.k.abs());
        assert!((f.mean - c.mean.mid_f64()).abs() < 1e-9 * f.mean.abs());
    }

    /// The one f64 CGF of the subsampled Gaussian (the trapezoid of docs/math.md §6.1) against
    /// the certified enclosures, from σ = 0.05 (where the fixed step 0.05 used before had a
    /// discretisation error ~3e−9) to σ = 4, both orderings; beyond the range rule every field
    /// is non-finite.
    #[test]
    fn subsampled_f64_cgf_matches_the_certified_one_and_marks_its_range() {
        for &(sigma, q) in &[(0.05, 0.01), (0.2, 0.1), (1.0, 0.01), (4.0, 0.5)] {
            let m = Mechanism::SubsampledGaussian(
                SubsampledGaussian::new(sigma, q).expect("test setup"),
            );
            for dir in [Direction::Remove, Direction::Add] {
                for lambda in [1.5, 3.0] {
                    let f = cgf_f64(&m, dir, lambda).expect("test setup");
                    let Ok(c) = cgf_certified(&m, dir, lambda, Precision(128)) else {
                        continue;
                    };
                    let close = |a: f64, b: &Interval, tol: f64| {
                        (a - b.mid_f64()).abs() <= tol * b.mid_f64().abs().max(1e-300) + 1e-300
                    };
                    let at = format!("σ={sigma} q={q} {dir:?} λ={lambda}");
                    assert!(close(f.k, &c.k, 1e-10), "{at}: k {} {:?}", f.k, c.k);
                    assert!(close(f.mean, &c.mean, 1e-9), "{at}: mean {}", f.mean);
                    assert!(
                        close(f.var, &c.var, 1e-8),
                        "{at}: var {} {:?}",
                        f.var,
                        c.var
                    );
                }
            }
        }
        // σ = 0.01, q = 0.5, λ = 20: the largest tilted term is ~e^{2·10⁵}.
        let m =
            Mechanism::SubsampledGaussian(SubsampledGaussian::new(0.01, 0.5).expect("test setup"));
        let f = cgf_f64(&m, Direction::Remove, 20.0).expect("test setup");
        assert!(
            f.k == f64::INFINITY && f.mean.is_nan() && f.var.is_nan(),
            "{f:?}"
        );
        // Below the range the value is finite.
        let f = cgf_f64(&m, Direction::Remove, 1.0 + 1e-3).expect("test setup");
        assert!(f.k.is_finite() && f.var.is_finite(), "{f:?}");
    }

    #[test]
    fn laplace_f64_matches_the_certified_moments() {
        // The f64 closed form against the MPFR enclosures, across scales and tilts on both sides
        // of λ = ½ (including the series branch near ½ and the reflection for λ < ½).
        for b in [0.25, 1.0, 2.0, 8.0] {
            let l = Mechanism::Laplace(Laplace::new(b).expect("test setup"));
            for lam in [
                -3.0, 0.0, 0.3, 0.49999, 0.5, 0.500003, 0.8, 1.0, 2.0, 7.5, 40.0,
            ] {
                let f = laplace_f64(1.0 / b, lam);
                let c =
                    cgf_certified(&l, Direction::Remove, lam, Precision(128)).expect("test setup");
                let close = |x: f64, iv: &Interval, scale: f64, what: &str| {
                    let tol = 1e-9 * scale.max(1e-12);
                    assert!(
                        (x - iv.mid_f64()).abs() <= tol,
                        "b = {b}, lambda = {lam}, {what}: f64 {x} vs {iv:?} (tolerance {tol})"
                    );
                };
                let var = c.var.mid_f64();
                close(f.k, &c.k, 1.0 + c.k.mid_f64().abs(), "K");
                close(f.mean, &c.mean, 1.0 + c.mean.mid_f64().abs(), "K'");
                close(f.var, &c.var, var, "K''");
                let mu3 = c.mu3.mid_f64().abs().max(var.powf(1.5));
                close(f.mu3, &c.mu3, mu3, "mu3");
                close(f.mu4, &c.mu4, c.mu4.mid_f64(), "mu4");
            }
        }
    }

    #[test]
    fn gaussian_and_laplace_closed_forms() {
        let g = Mechanism::Gaussian(Gaussian::new(2.0).expect("test setup"));
        let c = cgf_certified(&g, Direction::Add, 3.0, Precision(128)).expect("test setup");
        assert!(c.k.contains(&Float::with_val(128, 0.75)));
        // Laplace: K(0) = K(1) = 0, cumulants at λ = 0 match the closed forms of docs/math.md §2.
        let l = Mechanism::Laplace(Laplace::new(2.0).expect("test setup"));
        let c0 = cgf_certified(&l, Direction::Remove, 0.0, Precision(128)).expect("test setup");
        assert!(c0.k.width_f64() < 1e-30 && c0.k.lo_f64() <= 0.0 && c0.k.hi_f64() >= 0.0);
        assert!((c0.mean.mid_f64() - -0.106530659712633).abs() < 1e-14);
        assert!((c0.var.mid_f64() - 0.205997919978024).abs() < 1e-14);
        assert!((c0.mu3.mid_f64() - 0.041226489956332).abs() < 1e-14);
        let c1 = cgf_certified(&l, Direction::Remove, 1.0, Precision(128)).expect("test setup");
        assert!(c1.k.lo_f64() <= 0.0 && c1.k.hi_f64() >= 0.0);
        assert!((c1.mean.mid_f64() - 0.106530659712633).abs() < 1e-14);
        let ch = cgf_certified(&l, Direction::Remove, 0.5, Precision(128)).expect("test setup");
        assert!(ch.k.hi_f64() < 0.0);
    }
}
