//! Certified trapezoidal quadrature for the Poisson-subsampled Gaussian privacy loss.
//!
//! Integrands are g(x) = e^{λL(x)}·(L(x) − c)^k·φ(x) with P = N(0,1) and
//! L(x) = log(1 − q + q·e^{μx − μ²/2}), μ = 1/σ (the remove ordering's PLLR). λ = 0 gives
//! P-side moments, λ = 1 Q-side moments (E_Q[f(L)] = E_P[e^L f(L)]), other λ the tilted
//! moments and the CGF (λ integer: the binomial oracle of docs/math.md §2).
//!
//! # Method (docs/math.md §13, "Certified quadrature that works")
//! The trapezoid rule with step h = 2^{−m} (exact binary nodes) on [−T, T], each term evaluated
//! as an MPFR [`Interval`] with directed rounding, plus two error terms added outward:
//! - **discretisation**: g is analytic in the strip |Im x| < π/μ and, for |Im x| ≤ a ≤ π/(3μ),
//!   |L(x+ib) − c| ≤ |μx − μ²/2| + ln 2 + π/3 + |c|, |e^{λL}| ≤ (1 − q + q e^{μx−μ²/2})^λ,
//!   |φ(x+ib)| = φ(x)e^{b²/2}; integrating this majorant in closed form gives M with
//!   |I_h − I| ≤ 2M/(e^{2πa/h} − 1) (Trefethen & Weideman, SIAM Review 56 (2014), Thm 5.1);
//! - **truncation**: on the real line |L| ≤ |μx − μ²/2|, and the tail of the trapezoid sum
//!   beyond |x| > T is bounded by the integral of a decreasing Gaussian-polynomial majorant,
//!   evaluated with the incomplete-gamma bound Γ(s, y) ≤ y^{s−1}e^{−y}·y/(y − s + 1).
//!
//! The error terms are evaluated in f64 log space and inflated by a relative margin of 1e−6
//! (their own f64 rounding error is below 1e−12 relative) before being rounded up into MPFR.
//!
//! # Guarantee
//! Each returned [`Interval`] contains the exact integral, given that the MPFR elementary
//! functions are correctly rounded (they are).

use crate::error::{Error, Result};
use crate::precision::{exact, pi, Interval, Precision};
use crate::special::sum::logsumexp;
use rayon::prelude::*;
use rug::float::Round;
use rug::ops::{AddAssignRound, DivAssignRound, MulAssignRound, PowAssignRound, SubAssignRound};
use rug::Float;
use statrs::function::gamma::ln_gamma;

/// The remove-ordering PLLR of the Poisson-subsampled Gaussian with P = N(0,1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubsampledLoss {
    /// Noise multiplier σ > 0.
    pub sigma: f64,
    /// Sampling rate q ∈ (0, 1].
    pub q: f64,
}

/// One weighted family of moments: ∫ e^{λL}(L − c)^k dP for k = 0..=max_k.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tilt {
    /// The exponent λ (0: P side, 1: Q side; λ < 0, e.g. the add ordering's 1 − λ, needs
    /// q < 1).
    pub lambda: f64,
    /// The centre c (an exact f64).
    pub center: f64,
}

impl Tilt {
    /// The tilt λ, centred at 0.
    pub fn at(lambda: f64) -> Tilt {
        Tilt {
            lambda,
            center: 0.0,
        }
    }

    /// The P side (λ = 0) centred at `center_p` and the Q side (λ = 1) centred at `center_q`,
    /// the pair from which both orderings' moments and cumulants are formed.
    pub fn p_and_q(center_p: f64, center_q: f64) -> [Tilt; 2] {
        [
            Tilt {
                lambda: 0.0,
                center: center_p,
            },
            Tilt {
                lambda: 1.0,
                center: center_q,
            },
        ]
    }
}

/// Diagnostics of a certified quadrature.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QuadratureInfo {
    /// Step h.
    pub step: f64,
    /// Half-width T of the truncated range.
    pub half_width: f64,
    /// Number of nodes.
    pub nodes: usize,
    /// Largest discretisation error bound over the integrals (absolute).
    pub max_discretization_bound: f64,
    /// Largest truncation error bound over the integrals (absolute).
    pub max_truncation_bound: f64,
    /// Working precision in bits.
    pub bits: u32,
}

/// Certified enclosures `out[t][k]` of ∫ e^{λ_t L}(L − c_t)^k dP, k = 0..=max_k.
#[derive(Debug, Clone)]
pub struct MomentEnclosures {
    /// Enclosures indexed by tilt then power.
    pub values: Vec<Vec<Interval>>,
    /// Diagnostics.
    pub info: QuadratureInfo,
}

/// Most (node × tilt) evaluations one certified quadrature may do (about 25 s at 256 bits on
/// two cores; σ = 0.01 at q = 0.5 needs 1.9e6). Checked before any MPFR work.
pub const MAX_NODE_EVALUATIONS: usize = 1 << 21;

const C0: f64 = std::f64::consts::LN_2 + std::f64::consts::FRAC_PI_3;
const MARGIN_LN: f64 = 1e-6;

impl SubsampledLoss {
    /// μ = 1/σ.
    pub fn mu(&self) -> f64 {
        1.0 / self.sigma
    }

    /// L(x) in f64, evaluated stably (log1p(q·expm1(w)) or log-add-exp).
    pub fn loss_f64(&self, x: f64) -> f64 {
        let mu = self.mu();
        let w = mu * x - 0.5 * mu * mu;
        log1p_qexpm1(self.q, w)
    }
}

/// log(1 − q + q e^w) in f64 without cancellation or spurious −∞.
pub fn log1p_qexpm1(q: f64, w: f64) -> f64 {
    let u = q * w.exp_m1();
    if u.abs() <= 0.5 {
        u.ln_1p()
    } else if q >= 1.0 {
        w
    } else {
        // log-add-exp of log(1−q) and log q + w.
        let a = (-q).ln_1p();
        let b = q.ln() + w;
        let (m, n) = if a > b { (a, b) } else { (b, a) };
        m + (n - m).exp().ln_1p()
    }
}

/// The weight of node i of composite Simpson's rule with n panels (n even): 1 at the ends, 4 at
/// odd and 2 at even interior nodes (the sum times h/3 is the rule; an f64 estimate, used where
/// no certified bound rests on it).
pub fn simpson_weight(i: usize, n: usize) -> f64 {
    if i == 0 || i == n {
        1.0
    } else if i % 2 == 1 {
        4.0
    } else {
        2.0
    }
}

/// log1p(u) − u without cancellation (series for small |u|).
pub fn log1p_minus_id(u: f64) -> f64 {
    if u.abs() < 0.1 {
        // −u²/2 + u³/3 − u⁴/4 + ...
        let mut term = u * u;
        let mut sum = 0.0;
        let mut k = 2.0;
        loop {
            let t = term / k * if (k as i64) % 2 == 0 { -1.0 } else { 1.0 };
            sum += t;
            if t.abs() <= 1e-18 * sum.abs() || k > 60.0 {
                break;
            }
            term *= u;
            k += 1.0;
        }
        sum
    } else {
        u.ln_1p() - u
    }
}

/// ln E|Y|^j for Y ~ N(0,1).
fn ln_abs_moment(j: u32) -> f64 {
    0.5 * j as f64 * std::f64::consts::LN_2 + ln_gamma((j as f64 + 1.0) / 2.0)
        - 0.5 * std::f64::consts::PI.ln()
}

fn ln_binom(n: u32, k: u32) -> f64 {
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

/// The mixture majorants of e^{λL} on the strip, each a list of components (ln weight, shift
/// s, index i), e^{iw}φ(x) = e^{i(i−1)μ²/2}φ(x − s) with s = iμ (docs/math.md §13.1). Every list
/// is a valid majorant on its own; the error bounds take the least of them.
///
/// - Binomial (every λ ≥ 0): with m = ⌈λ⌉, (1 − q + q e^w)^λ ≤ Σ_i C(m,i)(1−q)^{m−i} q^i e^{i w}
///   (λ = m), or 1 + that (λ not an integer, since y^λ ≤ 1 + y^m for y > 0).
/// - Power mean (λ > 0 not an integer): with y = a + b, a = 1 − q, b = q e^w,
///   y^λ ≤ κ(a^λ + b^λ), κ = 2^{λ−1} for λ ≥ 1 (convexity of y ↦ y^λ) and κ = 1 for λ < 1
///   (subadditivity), and b^λ = q^λ e^{λw} is one component of non-integer index λ. At large μ
///   the binomial list's last weight q^m e^{m(m−1)μ²/2} dwarfs κq^λe^{λ(λ−1)μ²/2} (σ = 0.04,
///   q = 0.026, λ = 1.026: e^{618} against e^{4.6}), which forced a finer step and a wider range
///   than the integrand needs.
///
/// For λ < 0 (q < 1): |1 − q + q e^{w+iθ}| ≥ Re(·) ≥ 1 − q for |θ| ≤ π/3, so
/// |e^{λL}| ≤ (1 − q)^λ on the strip and on the real line: one unshifted component.
fn majorants(q: f64, mu: f64, lambda: f64) -> Vec<Vec<(f64, f64, f64)>> {
    if lambda < 0.0 {
        return vec![vec![(lambda * (-q).ln_1p(), 0.0, 0.0)]];
    }
    let m = lambda.ceil() as u32;
    let mut binomial = Vec::with_capacity(m as usize + 2);
    for i in 0..=m {
        let lw = ln_binom(m, i)
            + if m > i {
                (m - i) as f64 * (-q).ln_1p()
            } else {
                0.0
            }
            + if i > 0 { i as f64 * q.ln() } else { 0.0 }
            + 0.5 * (i as f64) * (i as f64 - 1.0) * mu * mu;
        if lw.is_finite() {
            binomial.push((lw, i as f64 * mu, i as f64));
        }
    }
    if (lambda - m as f64).abs() == 0.0 {
        return vec![binomial];
    }
    binomial.push((0.0, 0.0, 0.0));
    let ln_kappa = if lambda >= 1.0 {
        (lambda - 1.0) * std::f64::consts::LN_2
    } else {
        0.0
    };
    let power_mean: Vec<(f64, f64, f64)> = [
        (ln_kappa + lambda * (-q).ln_1p(), 0.0, 0.0),
        (
            ln_kappa + lambda * q.ln() + 0.5 * lambda * (lambda - 1.0) * mu * mu,
            lambda * mu,
            lambda,
        ),
    ]
    .into_iter()
    .filter(|c| c.0.is_finite())
    .collect();
    vec![binomial, power_mean]
}

/// ln of the strip majorant M for (λ, c, k) with strip half-width a: the least over the
/// [`majorants`].
fn ln_strip_majorant(q: f64, mu: f64, t: &Tilt, k: u32, a: f64) -> f64 {
    majorants(q, mu, t.lambda)
        .into_iter()
        .map(|comps| {
            let mut terms = Vec::new();
            for (lw, _s, i) in comps {
                // E[(μ|Y| + D)^k] with D = |i − ½|μ² + C0 + |c|.
                let d = (i - 0.5).abs() * mu * mu + C0 + t.center.abs();
                let mut inner = Vec::new();
                for j in 0..=k {
                    inner.push(
                        ln_binom(k, j)
                            + j as f64 * mu.ln()
                            + (k - j) as f64 * d.ln()
                            + ln_abs_moment(j),
                    );
                }
                terms.push(lw + logsumexp(&inner));
            }
            0.5 * a * a + logsumexp(&terms)
        })
        .filter(|v| !v.is_nan())
        .reduce(f64::min)
        .unwrap_or(f64::NAN)
}

/// ln of an upper bound on ∫_{Y0}^∞ (y + A)^k φ(y) dy for Y0 > k, A ≥ 0.
fn ln_tail_poly_gauss(k: u32, a_shift: f64, y0: f64) -> f64 {
    // (y + A)^k ≤ ((Y0 + A)/Y0)^k y^k;  ∫ y^k φ = 2^{k/2}/(2√π) Γ((k+1)/2, Y0²/2).
    let s = (k as f64 + 1.0) / 2.0;
    let x = 0.5 * y0 * y0;
    let ln_gamma_up = (s - 1.0) * x.ln() - x
        + if s > 1.0 {
            (x / (x - s + 1.0)).ln()
        } else {
            0.0
        };
    k as f64 * ((y0 + a_shift) / y0).ln() + 0.5 * k as f64 * std::f64::consts::LN_2
        - (2.0 * std::f64::consts::PI.sqrt()).ln()
        + ln_gamma_up
}

/// ln of the truncation bound ∫_{|x| > T} G(x) dx, G the real-axis majorant: the least over
/// the [`majorants`].
fn ln_truncation(q: f64, mu: f64, t: &Tilt, k: u32, tt: f64) -> f64 {
    majorants(q, mu, t.lambda)
        .into_iter()
        .map(|comps| {
            let mut terms = Vec::new();
            for (lw, s, _i) in comps {
                // (|μx − μ²/2| + |c|)^k ≤ μ^k (|x| + A)^k with A = (μ²/2 + |c|)/μ.
                let a0 = (0.5 * mu * mu + t.center.abs()) / mu;
                let kf = k as f64;
                // The tail bound holds for Y0 > k only: an alternative with a component
                // shifted past T − k is not used here (NaN, filtered out below).
                if tt - s <= kf {
                    return f64::NAN;
                }
                // Right: y = x − s ≥ T − s, |x| = y + s.
                let right = ln_tail_poly_gauss(k, a0 + s, tt - s);
                // Left: y = s − x ≥ T + s, |x| = y − s ≤ y.
                let left = ln_tail_poly_gauss(k, a0, tt + s);
                terms.push(lw + kf * mu.ln() + logsumexp(&[right, left]));
            }
            logsumexp(&terms)
        })
        .filter(|v| !v.is_nan())
        .reduce(f64::min)
        .unwrap_or(f64::NAN)
}

/// Largest shift of any majorant component.
fn max_shift(mu: f64, tilts: &[Tilt]) -> f64 {
    tilts
        .iter()
        .map(|t| t.lambda.ceil() * mu)
        .fold(0.0, f64::max)
}

/// Most (node × tilt) evaluations of [`ln_abs_estimates`], the f64 pass that sets the targets
/// of a certified quadrature (about 0.5 s); checked before it runs. Where it is exceeded
/// (σ ≲ 7e−4 at the tilts 0 and 1) the certified quadrature itself, whose step is finer still,
/// would be far over [`MAX_NODE_EVALUATIONS`].
const MAX_ESTIMATE_EVALUATIONS: f64 = 1.6e7;

/// The step h and half-width T of [`ln_abs_estimates`].
fn ln_abs_design(mu: f64, tilts: &[Tilt], max_k: usize) -> (f64, f64) {
    let a = (std::f64::consts::PI / (3.0 * mu)).min(8.0);
    let h = (2.0 * std::f64::consts::PI * a / 60.0).min(0.125);
    (h, 14.0 + max_shift(mu, tilts) + max_k as f64)
}

/// f64 estimates of ln ∫|g| for each (tilt, k), by a plain trapezoid (used to set targets).
fn ln_abs_estimates(loss: &SubsampledLoss, tilts: &[Tilt], max_k: usize) -> Vec<Vec<f64>> {
    let (h, tt) = ln_abs_design(loss.mu(), tilts, max_k);
    let n = (tt / h).ceil() as i64;
    let mut acc: Vec<Vec<(f64, f64)>> =
        vec![vec![(f64::NEG_INFINITY, 0.0); max_k + 1]; tilts.len()];
    for j in -n..=n {
        let x = j as f64 * h;
        let l = loss.loss_f64(x);
        let lnphi = -0.5 * x * x;
        for (ti, t) in tilts.iter().enumerate() {
            let d = (l - t.center).abs();
            // e^{0·L} = 1 and |L − c|⁰ = 1 even where L overflows or equals c (0·∞ is NaN in
            // f64: where c = ln(1 − q) exactly, every bulk node was skipped and the k = 0
            // magnitude came out ~e^{−154} instead of 1, or −∞, sending T to its cap).
            let weight = if t.lambda == 0.0 { 0.0 } else { t.lambda * l };
            for (k, slot) in acc[ti].iter_mut().enumerate().take(max_k + 1) {
                let v = weight + if k == 0 { 0.0 } else { k as f64 * d.ln() } + lnphi;
                if v.is_finite() {
                    let (m, s) = slot;
                    if v > *m {
                        *s = *s * (*m - v).exp() + 1.0;
                        *m = v;
                    } else {
                        *s += (v - *m).exp();
                    }
                }
            }
        }
    }
    acc.into_iter()
        .map(|row| {
            row.into_iter()
                .map(|(m, s)| m + s.ln() + h.ln() - crate::special::normal::LN_SQRT_2PI)
                .collect()
        })
        .collect()
}

/// ln of each (tilt, k) error target: 2^{−(bits+8)} times the integral's f64 magnitude (for
/// k = 1 at least the centre's magnitude times the mass).
///
/// # Errors
/// [`Error::NotCertified`] where the estimates alone would need more than
/// [`MAX_ESTIMATE_EVALUATIONS`].
fn ln_targets(
    loss: &SubsampledLoss,
    tilts: &[Tilt],
    max_k: usize,
    bits: u32,
) -> Result<Vec<Vec<f64>>> {
    let (h, tt) = ln_abs_design(loss.mu(), tilts, max_k);
    let work = (2.0 * (tt / h).ceil() + 1.0) * tilts.len() as f64;
    if work.is_nan() || work > MAX_ESTIMATE_EVALUATIONS {
        return Err(Error::NotCertified(format!(
            "certified quadrature at sigma = {:e}, sampling_rate = {} ({bits} bits): the loss \
             varies on a scale 1/mu = sigma, so even the f64 pass that sets its error targets \
             needs {work:.3e} node evaluations (step {h:e} over [-{tt}, {tt}]), over its limit \
             of {MAX_ESTIMATE_EVALUATIONS:e}; the certified step is finer still",
            loss.sigma, loss.q
        )));
    }
    let est = ln_abs_estimates(loss, tilts, max_k);
    let ln_rel = -((bits + 8) as f64) * std::f64::consts::LN_2;
    let mut ln_target = vec![vec![0.0; max_k + 1]; tilts.len()];
    for (ti, t) in tilts.iter().enumerate() {
        for k in 0..=max_k {
            let mut scale = est[ti][k];
            if k == 1 && t.center != 0.0 {
                scale = scale.max(t.center.abs().ln() + est[ti][0]);
            }
            if !scale.is_finite() {
                // The integrand vanished on the estimate's grid: aim relative to the weight's
                // own mass instead of chasing an unbounded target up to the h and T limits.
                scale = est[ti][0];
            }
            ln_target[ti][k] = scale + ln_rel;
        }
    }
    Ok(ln_target)
}

/// Range: the smallest integer T ≤ 400 with every truncation bound under its target.
fn half_width(q: f64, mu: f64, tilts: &[Tilt], kmax: u32, ln_target: &[Vec<f64>]) -> f64 {
    // Start past the least shift any majorant needs (λμ, the power-mean component; the
    // binomial one, ⌈λ⌉μ, is used once T passes it).
    let least_shift = tilts.iter().map(|t| t.lambda * mu).fold(0.0, f64::max);
    let mut tt = (least_shift + kmax as f64 + 2.0).max(8.0).ceil();
    loop {
        let ok = (0..tilts.len()).all(|ti| {
            (0..=kmax).all(|k| ln_truncation(q, mu, &tilts[ti], k, tt) <= ln_target[ti][k as usize])
        });
        if ok || tt >= 400.0 {
            break;
        }
        tt += 1.0;
    }
    tt
}

/// Step: the largest h = 2^{−m} (m ≥ 2, h ≥ 2^{−14}) with every discretisation bound under its
/// target, and the strip half-width a used for it.
fn step_and_strip(
    q: f64,
    mu: f64,
    tilts: &[Tilt],
    kmax: u32,
    a_max: f64,
    ln_target: &[Vec<f64>],
) -> (f64, f64) {
    let mut m = 2i32;
    loop {
        let h = (2f64).powi(-m);
        let a = a_max.min(2.0 * std::f64::consts::PI / h);
        let ok = (0..tilts.len()).all(|ti| {
            (0..=kmax).all(|k| ln_disc(q, mu, &tilts[ti], k, a, h) <= ln_target[ti][k as usize])
        });
        if ok || m >= 14 {
            return (h, a);
        }
        m += 1;
    }
}

/// Certified enclosures of ∫ e^{λL}(L − c)^k dP for every tilt and k = 0..=max_k.
///
/// The step h and range T are chosen so that each error bound is below 2^{−(bits+8)} times the
/// integral's magnitude (f64 estimate; for k = 1 the centre's magnitude), within h ≥ 2^{−14}
/// and T ≤ 400; beyond those limits the enclosure is still valid, only wider.
///
/// # Errors
/// [`Error::InvalidParameter`] for σ ≤ 0, q ∉ (0, 1], |λ| > 1e6 or λ < 0 with q = 1;
/// [`Error::Internal`] for a non-finite centre (centres are the callers' estimates);
/// [`Error::NotCertified`] when the step and range need more than
/// [`MAX_NODE_EVALUATIONS`] evaluations (σ below about 0.01): a limit of the method, not of
/// the input, so never reported as bad input.
pub fn certified_moments(
    loss: &SubsampledLoss,
    tilts: &[Tilt],
    max_k: usize,
    precision: Precision,
) -> Result<MomentEnclosures> {
    crate::error::Range::above(0.0).check("sigma", loss.sigma)?;
    crate::error::Range::left_open(0.0, 1.0).check("sampling_rate", loss.q)?;
    for t in tilts {
        crate::error::Range::closed(-1e6, 1e6).check("lambda", t.lambda)?;
        if t.lambda < 0.0 && loss.q >= 1.0 {
            return Err(Error::invalid(
                "lambda",
                t.lambda,
                "a negative tilt needs sampling_rate < 1 (q = 1 is the Gaussian: use its closed form)",
            ));
        }
        if !t.center.is_finite() {
            // The centres come from the callers' f64 estimates, not from user input.
            return Err(Error::Internal(format!(
                "certified quadrature (sigma = {}, sampling_rate = {}): the centre of the lambda = {} moments is {} (its f64 estimate failed)",
                loss.sigma, loss.q, t.lambda, t.center
            )));
        }
    }
    let bits = precision.bits();
    let wp = Precision(bits + 32);
    let (q, mu) = (loss.q, loss.mu());
    let kmax = max_k as u32;
    let TrapezoidDesign { h, a, tt, n } = design(loss, tilts, max_k, precision)?;

    // Interval constants.
    let consts = LossConsts::new(loss, wp);
    let centers: Vec<Float> = tilts.iter().map(|t| exact(wp, t.center)).collect();
    let h_f = exact(wp, h);

    let chunk = 256i64;
    let starts: Vec<i64> = (-n..=n).step_by(chunk as usize).collect();
    let partials: Vec<Vec<Vec<Interval>>> = starts
        .par_iter()
        .map(|&s| {
            let mut acc = vec![vec![Interval::zero(wp); max_k + 1]; tilts.len()];
            for j in s..(s + chunk).min(n + 1) {
                let x = Float::with_val(wp.0, j) * &h_f; // exact
                node(
                    &x,
                    &consts.mu,
                    &consts.half_mu2,
                    &consts.q,
                    &consts.one_minus_q,
                    tilts,
                    &centers,
                    max_k,
                    wp,
                    &mut acc,
                );
            }
            acc
        })
        .collect();
    let mut sums = vec![vec![Interval::zero(wp); max_k + 1]; tilts.len()];
    for p in partials {
        for (ti, row) in p.into_iter().enumerate() {
            for (k, v) in row.into_iter().enumerate() {
                sums[ti][k].add_assign(&v);
            }
        }
    }
    // Multiply by h/√(2π).
    let factor = inv_sqrt_two_pi(wp).scale_nonneg(&h_f);

    let mut max_disc = 0f64;
    let mut max_trunc = 0f64;
    let mut values = Vec::with_capacity(tilts.len());
    for (ti, t) in tilts.iter().enumerate() {
        let mut row = Vec::with_capacity(max_k + 1);
        for k in 0..=kmax {
            let ld = ln_disc(q, mu, t, k, a, h);
            let lt = ln_truncation(q, mu, t, k, tt);
            max_disc = max_disc.max(ld.exp());
            max_trunc = max_trunc.max(lt.exp());
            let mut err = up_exp(wp, ld);
            err.add_assign_round(&up_exp(wp, lt), Round::Up);
            row.push(sums[ti][k as usize].mul(&factor).widen(&err));
        }
        values.push(row);
    }
    if values
        .iter()
        .flatten()
        .any(|v| v.lo.is_nan() || v.hi.is_nan())
    {
        return Err(Error::PrecisionExhausted {
            what: "quadrature produced NaN".into(),
            bits,
        });
    }
    Ok(MomentEnclosures {
        values,
        info: QuadratureInfo {
            step: h,
            half_width: tt,
            nodes: (2 * n + 1) as usize,
            max_discretization_bound: max_disc,
            max_truncation_bound: max_trunc,
            bits: wp.0,
        },
    })
}

/// The step h, strip half-width a, range T and node index bound n (nodes jh, |j| ≤ n) of
/// [`certified_moments`].
struct TrapezoidDesign {
    h: f64,
    a: f64,
    tt: f64,
    n: i64,
}

/// [`certified_moments`]'s design, from f64 estimates only (no MPFR work), with its work check.
fn design(
    loss: &SubsampledLoss,
    tilts: &[Tilt],
    max_k: usize,
    precision: Precision,
) -> Result<TrapezoidDesign> {
    let bits = precision.bits();
    let (q, mu) = (loss.q, loss.mu());
    let kmax = max_k as u32;
    let ln_target = ln_targets(loss, tilts, max_k, bits)?;
    // Step: h = 2^{-m} with every discretisation bound under target.
    let a_max = std::f64::consts::PI / (3.0 * mu * (1.0 + 1e-15));
    let (h, a) = step_and_strip(q, mu, tilts, kmax, a_max, &ln_target);
    let tt = half_width(q, mu, tilts, kmax, &ln_target);
    let n = (tt / h).round() as i64; // nodes j·h, |j| ≤ n, so |x| ≤ T exactly
    let work = (2 * n + 1) as f64 * tilts.len() as f64;
    if work > MAX_NODE_EVALUATIONS as f64 {
        return Err(Error::NotCertified(format!(
            "certified quadrature at sigma = {}, sampling_rate = {} ({} bits): the loss varies on a scale 1/mu = sigma, so the step is {h:e} over [-{tt}, {tt}], which needs {work:.3e} node evaluations, over the work limit of {MAX_NODE_EVALUATIONS} (the f64 path, --precision 53, gives an uncertified estimate)",
            loss.sigma, q, bits
        )));
    }
    Ok(TrapezoidDesign { h, a, tt, n })
}

/// The (node × tilt) evaluations [`certified_moments`] with these arguments would do, from f64
/// estimates before any MPFR work (its design pass runs).
///
/// # Errors
/// As [`certified_moments`]'s work check (over the limit).
pub fn certified_work(
    loss: &SubsampledLoss,
    tilts: &[Tilt],
    max_k: usize,
    precision: Precision,
) -> Result<f64> {
    design(loss, tilts, max_k, precision).map(|d| (2 * d.n + 1) as f64 * tilts.len() as f64)
}

/// Whether [`certified_moments`] with these arguments stays within its work limit: the same
/// [`Error::NotCertified`] it would return, found from f64 estimates before any MPFR work (a
/// caller that needs several enclosures can refuse before computing the first).
///
/// # Errors
/// As [`certified_moments`]'s work check.
pub fn check_work(
    loss: &SubsampledLoss,
    tilts: &[Tilt],
    max_k: usize,
    precision: Precision,
) -> Result<()> {
    design(loss, tilts, max_k, precision).map(|_| ())
}

fn ln_disc(q: f64, mu: f64, t: &Tilt, k: u32, a: f64, h: f64) -> f64 {
    let r = 2.0 * std::f64::consts::PI * a / h;
    std::f64::consts::LN_2 + ln_strip_majorant(q, mu, t, k, a) - r - (-(-r).exp()).ln_1p()
}

/// e^{ln_v (1 + margin) + margin} rounded up into MPFR (0 for −∞).
fn up_exp(wp: Precision, ln_v: f64) -> Float {
    if ln_v == f64::NEG_INFINITY {
        return Float::new(wp.0);
    }
    let inflated = ln_v + MARGIN_LN * (1.0 + ln_v.abs());
    let mut e = Float::with_val(wp.0, inflated);
    e.exp_round(Round::Up);
    e
}

#[allow(clippy::too_many_arguments)]
fn node(
    x: &Float,
    mu: &Interval,
    half_mu2: &Interval,
    q: &Float,
    one_minus_q: &Float,
    tilts: &[Tilt],
    centers: &[Float],
    max_k: usize,
    wp: Precision,
    acc: &mut [Vec<Interval>],
) {
    // w = μx − μ²/2 (x exact).
    let mux = if x.is_sign_positive() {
        mu.scale_nonneg(x)
    } else {
        let ax = x.clone().abs();
        mu.scale_nonneg(&ax).neg()
    };
    let w = mux.sub(half_mu2);
    // u = q·expm1(w), L, z = e^L.
    let em1 = w.monotone(|v, r| v.exp_m1_round(r));
    let u = em1.scale_nonneg(q);
    let half = Float::with_val(wp.0, -0.5);
    let (l, z) = if u.lo >= half {
        let l = u.monotone(|v, r| v.ln_1p_round(r));
        let one = Interval::from_f64(wp, 1.0);
        (l, one.add(&u))
    } else {
        let ew = w.exp().scale_nonneg(q);
        let mut lo = ew.lo.clone();
        lo.add_assign_round(one_minus_q, Round::Down);
        let mut hi = ew.hi.clone();
        hi.add_assign_round(one_minus_q, Round::Up);
        let z = Interval { lo, hi };
        (z.ln(), z)
    };
    // e^{−x²/2}: one correctly rounded evaluation widened by an ulp.
    let mut x2 = x.clone();
    x2.square_round(Round::Nearest); // exact for dyadic x at this precision
    x2 *= -0.5;
    let mut g = Float::with_val(wp.0, &x2);
    g.exp_round(Round::Nearest);
    let gauss = Interval::around(g);

    for (ti, t) in tilts.iter().enumerate() {
        let weight = if t.lambda == 0.0 {
            gauss.clone()
        } else if t.lambda == 1.0 {
            z.mul(&gauss)
        } else if t.lambda > 0.0 && t.lambda.fract() == 0.0 && t.lambda <= u32::MAX as f64 {
            let m = t.lambda as u32;
            z.monotone(|v, r| v.pow_assign_round(m, r)).mul(&gauss)
        } else if t.lambda > 0.0 {
            let lam = exact(wp, t.lambda);
            l.scale_nonneg(&lam).exp().mul(&gauss)
        } else {
            // e^{λL} = e^{|λ|·(−L)} for λ < 0.
            let lam = exact(wp, -t.lambda);
            l.neg().scale_nonneg(&lam).exp().mul(&gauss)
        };
        let mut d = l.clone();
        d.lo.sub_assign_round(&centers[ti], Round::Down);
        d.hi.sub_assign_round(&centers[ti], Round::Up);
        let mut p = weight;
        acc[ti][0].add_assign(&p);
        for slot in acc[ti].iter_mut().take(max_k + 1).skip(1) {
            p = p.mul(&d);
            slot.add_assign(&p);
        }
    }
}

/// Points of each Clenshaw–Curtis panel minus one (even), docs/math.md §15.4.
const CC_N: usize = 48;
/// Bernstein-ellipse parameter ρ used for each panel's error bound (docs/math.md §15.4).
const CC_RHO: f64 = 4.0;
/// Largest half-width of a Clenshaw–Curtis panel.
const CC_R_MAX: f64 = 0.5;
/// Each panel's error bound is kept below 2^{−CC_PANEL_BITS} times the integral's f64
/// magnitude where a panel wider than the strip's allows it (the strip-width panels are used
/// whatever their bound, as before).
const CC_PANEL_BITS: f64 = 90.0;
/// Where no panel meets that target, a wide panel is used if its bound is at most this factor
/// times the sum of the strip-width panels' bounds it replaces.
const CC_WIDE_SLACK: f64 = 8.0;

/// The adaptive panel layout of [`certified_abs_moments`] on one half-line piece.
struct PanelLayout<'a> {
    loss: &'a SubsampledLoss,
    rule: &'a ClenshawCurtis,
    lambda: f64,
    center: f64,
    /// ln of the per-panel error targets for k = 1 and k = 3.
    targets: [f64; 2],
    /// The half-width whose ellipse stays in the strip |Im x| < π/(3μ) (always admissible).
    r_strip: f64,
}

impl PanelLayout<'_> {
    /// Panels covering [a, b] left to right: from each start the widest half-width r =
    /// CC_R_MAX·2^{−j} whose error bounds (k = 1, 3; +∞ where the ellipse is not admissible)
    /// meet the targets or, where strip-width panels cannot meet them either, stay within
    /// `CC_WIDE_SLACK` times what those panels would add up to; at least `r_strip`. `None` past `max_panels`.
    /// A choice of panels only: every panel's own bound is added to the enclosure.
    fn panels(&self, a: f64, b: f64, max_panels: usize) -> Option<Vec<(f64, f64)>> {
        let mut out = Vec::new();
        if b <= a {
            return Some(out);
        }
        let mut x = a;
        while x < b {
            if out.len() >= max_panels {
                return None;
            }
            let mut r = CC_R_MAX;
            let hi = loop {
                if r <= self.r_strip {
                    break (x + 2.0 * self.r_strip).min(b);
                }
                let hi = (x + 2.0 * r).min(b);
                let ok = [1u32, 3].iter().zip(self.targets).all(|(&k, t)| {
                    let err = |lo: f64, hi: f64| {
                        ln_cc_error(self.loss, self.rule, lo, hi, self.lambda, self.center, k)
                    };
                    // Where the strip panels' own bounds exceed the target, the wide panel may
                    // have up to CC_WIDE_SLACK times what the strip panels it replaces would
                    // (their larger end value times their count).
                    let strip = err(x, x + 2.0 * self.r_strip)
                        .max(err(hi - 2.0 * self.r_strip, hi))
                        + ((hi - x) / (2.0 * self.r_strip)).max(1.0).ln()
                        + CC_WIDE_SLACK.ln();
                    err(x, hi) <= t.max(strip)
                });
                if ok {
                    break hi;
                }
                r *= 0.5;
            };
            out.push((x, hi));
            x = hi;
        }
        Some(out)
    }
}

/// Enclosures of the centre and the half-width of the panel [lo, hi] (exact f64 ends) at `wp`:
/// t ↦ centre + half-width·t maps a rule's nodes on [−1, 1] onto the panel.
fn panel_map(wp: Precision, lo: f64, hi: f64) -> (Interval, Interval) {
    let a = Interval::from_f64(wp, lo);
    let b = Interval::from_f64(wp, hi);
    let half = Float::with_val(wp.0, 0.5);
    (a.add(&b).scale_nonneg(&half), b.sub(&a).scale_nonneg(&half))
}

/// The certified Clenshaw–Curtis rule of `CC_N` + 1 points on a panel, for any integrand
/// analytic near the panel (docs/math.md §15.4): on [lo, hi] with centre γ and half-width r the
/// rule errs by at most r·2M(W + 2/(n(n+2)))ρ^{−n}/(ρ − 1) for any ρ > 1, W = Σ|w_j|, where M
/// bounds |f| on the Bernstein ellipse E_ρ mapped to the panel, which lies in the rectangle
/// [γ − rα_ρ, γ + rα_ρ] × [−rβ_ρ, rβ_ρ], α_ρ = (ρ + 1/ρ)/2, β_ρ = (ρ − 1/ρ)/2. The caller
/// chooses ρ per panel (e.g. from the height of the strip where its integrand is analytic).
pub struct CertifiedCc {
    rule: ClenshawCurtis,
    wp: Precision,
}

impl CertifiedCc {
    /// Points per panel.
    pub const POINTS: usize = CC_N + 1;

    /// The rule with nodes and weights enclosed at working precision `wp`.
    pub fn new(wp: Precision) -> Self {
        CertifiedCc {
            rule: ClenshawCurtis::new(CC_N, wp),
            wp,
        }
    }

    /// The ρ > 1 whose ellipse around a panel of half-width r has imaginary half-axis
    /// rβ_ρ = `height`, and its real half-axis rα_ρ = √(height² + r²).
    pub fn rho_for_height(r: f64, height: f64) -> (f64, f64) {
        let beta = height / r;
        (beta + beta.hypot(1.0), height.hypot(r))
    }

    /// ln of the error bound on a panel of half-width r, ellipse parameter ρ, for an integrand
    /// bounded by e^{ln_m} on that ellipse.
    pub fn ln_error(&self, r: f64, rho: f64, ln_m: f64) -> f64 {
        let n = CC_N as f64;
        (r * (1.0 + 1e-12)).ln()
            + std::f64::consts::LN_2
            + ln_m
            + (self.rule.abs_weight_sum + 2.0 / (n * (n + 2.0))).ln()
            - n * rho.ln()
            - (rho - 1.0).ln()
    }

    /// Enclosures of ∫_lo^hi f_k(t)dt, k = 0..m, where `f` encloses (f_0, ..., f_m) at an
    /// interval t, and `ln_err[k]` is [`CertifiedCc::ln_error`] for f_k on this panel
    /// (lo < hi exact f64 ends).
    pub fn integrate(
        &self,
        lo: f64,
        hi: f64,
        f: impl Fn(&Interval) -> Vec<Interval>,
        ln_err: &[f64],
    ) -> Vec<Interval> {
        let wp = self.wp;
        let (mid, rad) = panel_map(wp, lo, hi);
        let mut acc = vec![Interval::zero(wp); ln_err.len()];
        for (x, w) in self.rule.nodes.iter().zip(&self.rule.weights) {
            let t = mid.add(&rad.mul(x));
            for (slot, v) in acc.iter_mut().zip(f(&t)) {
                slot.add_assign(&v.mul(w));
            }
        }
        acc.iter()
            .zip(ln_err)
            .map(|(s, &le)| s.mul(&rad).widen(&up_exp(wp, le)))
            .collect()
    }
}

/// Certified enclosures of the absolute moments ∫ e^{λL}|L − c|^k dP for k = 1 and k = 3.
#[derive(Debug, Clone)]
pub struct AbsMoments {
    /// ∫ e^{λL}|L − c| dP.
    pub abs1: Interval,
    /// ∫ e^{λL}|L − c|³ dP.
    pub abs3: Interval,
    /// Panels × points evaluated.
    pub nodes: usize,
}

/// Certified enclosures of ∫ e^{λL}|L − c|^k dP, k ∈ {1, 3}, for λ ≥ 0 (docs/math.md §15.4).
///
/// |L − c|^k is not analytic at the root x0 of L(x) = c, so the line is split there: x0 is
/// enclosed in an interval [s_lo, s_hi] (L is increasing), on [−T, s_lo] the analytic
/// integrand is e^{λL}(c − L)^k, on [s_hi, T] it is e^{λL}(L − c)^k, each integrated by
/// composite (n+1)-point Clenshaw–Curtis panels with the Bernstein-ellipse error bound; the
/// sliver [s_lo, s_hi] is bounded by its width times a bound on the integrand, and the tails
/// |x| > T by the truncation majorant of the trapezoid quadrature.
///
/// # Errors
/// [`Error::InvalidParameter`] for σ ≤ 0, q ∉ (0, 1] or λ ∉ [0, 1e6]; [`Error::Internal`] for a
/// non-finite centre; [`Error::NotCertified`] when the panels would need more than
/// [`MAX_NODE_EVALUATIONS`] evaluations (σ below about 0.005).
pub fn certified_abs_moments(
    loss: &SubsampledLoss,
    lambda: f64,
    center: f64,
    precision: Precision,
) -> Result<AbsMoments> {
    crate::error::Range::above(0.0).check("sigma", loss.sigma)?;
    crate::error::Range::left_open(0.0, 1.0).check("sampling_rate", loss.q)?;
    crate::error::Range::closed(0.0, 1e6).check("lambda", lambda)?;
    if !center.is_finite() {
        return Err(Error::Internal(format!(
            "certified absolute moments (sigma = {}, sampling_rate = {}): the centre is {center}",
            loss.sigma, loss.q
        )));
    }
    let bits = precision.bits();
    let wp = Precision(bits + 32);
    let (q, mu) = (loss.q, loss.mu());
    let tilt = Tilt { lambda, center };
    let ln_target = ln_targets(loss, &[tilt], 3, bits)?;
    let tt = half_width(q, mu, &[tilt], 3, &ln_target);

    // Panels (docs/math.md §15.4): near the singular line Re x = x_s of L the ellipse must stay
    // in the strip |Im x| < π/(3μ) (half-width r_strip); away from it, where |q e^w| and
    // |(1 − q) e^{−w}| stay below half of their partner on the whole rectangle, any height is
    // admissible, and a panel is as wide as its error bound allows ([`panel_layout`]).
    let a_max = std::f64::consts::PI / (3.0 * mu);
    let semi_minor = 0.5 * (CC_RHO - 1.0 / CC_RHO);
    let r_strip = (a_max * (1.0 - 1e-3) / semi_minor).min(CC_R_MAX);
    let consts = LossConsts::new(loss, wp);
    let (s_lo, s_hi) = root_bracket(&consts, center, loss.sigma, tt);
    let pieces = [(-tt, s_lo, -1i32), (s_hi, tt, 1i32)];
    let rule = ClenshawCurtis::new(CC_N, wp);
    // Each panel's error bound is kept below 2^{−CC_PANEL_BITS} of the integral's f64 magnitude.
    let ln_rel = ((bits + 8) as f64 - CC_PANEL_BITS) * std::f64::consts::LN_2;
    let panel_target = [ln_target[0][1] + ln_rel, ln_target[0][3] + ln_rel];
    let max_panels = MAX_NODE_EVALUATIONS / (CC_N + 1);
    let mut panels = Vec::new();
    for &(a, b, sign) in &pieces {
        let layout = PanelLayout {
            loss,
            rule: &rule,
            lambda,
            center,
            targets: panel_target,
            r_strip,
        };
        match layout.panels(a, b, max_panels - panels.len().min(max_panels)) {
            Some(v) => panels.extend(v.into_iter().map(|(lo, hi)| (lo, hi, sign))),
            None => {
                return Err(Error::NotCertified(format!(
                    "certified absolute moments at sigma = {}, sampling_rate = {q}: panels of half-width down to {r_strip:e} over [-{tt}, {tt}] need more than {} node evaluations, the work limit",
                    loss.sigma, MAX_NODE_EVALUATIONS
                )))
            }
        }
    }
    let work = panels.len() as f64 * (CC_N + 1) as f64;
    let c_f = exact(wp, center);
    let sums: Vec<[Interval; 2]> = panels
        .par_iter()
        .map(|&(lo, hi, sign)| {
            let v = rule.panel(&consts, lo, hi, sign, lambda, &c_f);
            let err = up_exp(wp, ln_cc_error(loss, &rule, lo, hi, lambda, center, 1));
            let err3 = up_exp(wp, ln_cc_error(loss, &rule, lo, hi, lambda, center, 3));
            [v[0].widen(&err), v[1].widen(&err3)]
        })
        .collect();
    let mut acc = [Interval::zero(wp), Interval::zero(wp)];
    for s in sums {
        acc[0].add_assign(&s[0]);
        acc[1].add_assign(&s[1]);
    }
    // The sliver between the root's bracket ends.
    if s_hi > s_lo {
        let sliver = consts.sliver_bound(s_lo, s_hi, lambda, &c_f);
        for (slot, v) in acc.iter_mut().zip(sliver) {
            *slot = slot.add(&Interval::new(Float::new(wp.0), v));
        }
    }
    let factor = inv_sqrt_two_pi(wp);
    let mut out = Vec::with_capacity(2);
    for (i, k) in [1u32, 3].into_iter().enumerate() {
        let tail = up_exp(wp, ln_truncation(q, mu, &tilt, k, tt));
        let v = acc[i].mul(&factor).widen(&tail);
        // |L − c|^k ≥ 0.
        let lo = if v.lo.is_sign_negative() {
            Float::new(wp.0)
        } else {
            v.lo.clone()
        };
        out.push(Interval::new(lo, v.hi));
    }
    if out.iter().any(|v| v.lo.is_nan() || v.hi.is_nan()) {
        return Err(Error::PrecisionExhausted {
            what: "absolute-moment quadrature produced NaN".into(),
            bits,
        });
    }
    let abs3 = out.pop().expect("invariant: two values");
    let abs1 = out.pop().expect("invariant: two values");
    Ok(AbsMoments {
        abs1,
        abs3,
        nodes: work as usize,
    })
}

/// The interval constants of the loss at working precision.
struct LossConsts {
    wp: Precision,
    mu: Interval,
    half_mu2: Interval,
    q: Float,
    one_minus_q: Float,
}

impl LossConsts {
    fn new(loss: &SubsampledLoss, wp: Precision) -> Self {
        let one = Float::with_val(wp.0, 1);
        let sigma = exact(wp, loss.sigma);
        let mut lo = one.clone();
        lo.div_assign_round(&sigma, Round::Down);
        let mut hi = one.clone();
        hi.div_assign_round(&sigma, Round::Up);
        let mu = Interval::new(lo, hi);
        let half_mu2 = mu.mul(&mu).scale_nonneg(&Float::with_val(wp.0, 0.5));
        let q = exact(wp, loss.q);
        let one_minus_q = Float::with_val(wp.0 + 1100, &one - &q);
        LossConsts {
            wp,
            mu,
            half_mu2,
            q,
            one_minus_q,
        }
    }

    /// Enclosures of (L(x), e^{L(x)}, e^{−x²/2}) for x in the interval `x`.
    fn eval(&self, x: &Interval) -> (Interval, Interval, Interval) {
        let w = self.mu.mul(x).sub(&self.half_mu2);
        let em1 = w.monotone(|v, r| v.exp_m1_round(r));
        let u = em1.scale_nonneg(&self.q);
        let half = Float::with_val(self.wp.0, -0.5);
        let (l, z) = if u.lo >= half {
            let l = u.monotone(|v, r| v.ln_1p_round(r));
            (l, Interval::from_f64(self.wp, 1.0).add(&u))
        } else {
            let ew = w.exp().scale_nonneg(&self.q);
            let mut lo = ew.lo.clone();
            lo.add_assign_round(&self.one_minus_q, Round::Down);
            let mut hi = ew.hi.clone();
            hi.add_assign_round(&self.one_minus_q, Round::Up);
            let z = Interval { lo, hi };
            (z.ln(), z)
        };
        let x2 = x.mul(x);
        // x² ≥ 0 (the product of an interval straddling 0 with itself can dip below).
        let x2 = if x2.lo.is_sign_negative() {
            Interval::new(Float::new(self.wp.0), x2.hi)
        } else {
            x2
        };
        let gauss = x2
            .scale_nonneg(&Float::with_val(self.wp.0, 0.5))
            .neg()
            .exp();
        (l, z, gauss)
    }

    /// e^{λL}·e^{−x²/2} from [`LossConsts::eval`]'s values.
    fn weight(&self, l: &Interval, z: &Interval, gauss: &Interval, lambda: f64) -> Interval {
        if lambda == 0.0 {
            gauss.clone()
        } else if lambda == 1.0 {
            z.mul(gauss)
        } else {
            l.scale_nonneg(&exact(self.wp, lambda)).exp().mul(gauss)
        }
    }

    /// Upper bounds on ∫_{s_lo}^{s_hi} e^{λL}|L − c|^k e^{−x²/2} dx, k = 1, 3: the width times
    /// max |L − c| at the ends (L is monotone) to the k, times e^{λL(s_hi)}, times the largest
    /// e^{−x²/2} on the sliver (at its end nearer 0; 1 if it straddles 0). Without that last
    /// factor (it was 1) the bound at σ = 0.04, q = 0.3 was e^{λL(s_hi)} ≈ e^{93} times the
    /// width, ten orders above the integral.
    fn sliver_bound(&self, s_lo: f64, s_hi: f64, lambda: f64, c: &Float) -> [Float; 2] {
        let (l_lo, _, g_lo) = self.eval(&Interval::from_f64(self.wp, s_lo));
        let (l_hi, z_hi, g_hi) = self.eval(&Interval::from_f64(self.wp, s_hi));
        let gauss = if s_lo <= 0.0 && s_hi >= 0.0 {
            Interval::from_f64(self.wp, 1.0)
        } else {
            Interval::point(if g_lo.hi > g_hi.hi { g_lo.hi } else { g_hi.hi })
        };
        let wgt = self.weight(&l_hi, &z_hi, &gauss, lambda);
        let cc = Interval::point(c.clone());
        let d1 = l_lo.sub(&cc).hi.abs().max(&l_lo.sub(&cc).lo.abs());
        let d2 = l_hi.sub(&cc).hi.abs().max(&l_hi.sub(&cc).lo.abs());
        let d = Interval::point(d1.max(&d2));
        let width = Interval::from_f64(self.wp, s_hi).sub(&Interval::from_f64(self.wp, s_lo));
        let b1 = width.mul(&d).mul(&wgt);
        let b3 = width.mul(&d.powi(3)).mul(&wgt);
        [b1.hi, b3.hi]
    }
}

/// f64 bracket [s_lo, s_hi] (clamped to [−T, T]) of the root x0 of L(x) = c:
/// x0 = σ·ln(1 + expm1(c)/q) + 1/(2σ) (−∞ when c ≤ ln(1 − q), L > c everywhere).
fn root_bracket(k: &LossConsts, c: f64, sigma: f64, tt: f64) -> (f64, f64) {
    let wp = k.wp;
    let em1 = Interval::from_f64(wp, c).monotone(|v, r| v.exp_m1_round(r));
    let v = match em1.div(&Interval::point(k.q.clone())) {
        Ok(v) => v,
        Err(_) => return (-tt, tt),
    };
    let minus_one = Float::with_val(wp.0, -1);
    let half_inv = {
        let s = exact(wp, 2.0 * sigma); // exact: doubling
        let mut lo = Float::with_val(wp.0, 1);
        lo.div_assign_round(&s, Round::Down);
        let mut hi = Float::with_val(wp.0, 1);
        hi.div_assign_round(&s, Round::Up);
        Interval::new(lo, hi)
    };
    let sig = exact(wp, sigma);
    let end = |val: &Float, round: Round| -> f64 {
        if *val <= minus_one {
            return f64::NEG_INFINITY;
        }
        let mut w = val.clone();
        w.ln_1p_round(round);
        let x = Interval::point(w).scale_nonneg(&sig).add(&half_inv);
        let e = if round == Round::Down { x.lo } else { x.hi };
        e.to_f64_round(round)
    };
    let lo = end(&v.lo, Round::Down);
    let hi = end(&v.hi, Round::Up);
    let clamp = |x: f64| if x.is_nan() { tt } else { x.clamp(-tt, tt) };
    let lo = if lo.is_nan() { -tt } else { clamp(lo) };
    (lo, clamp(hi))
}

/// The (n+1)-point Clenshaw–Curtis rule on [−1, 1] (n even) with interval nodes and weights.
struct ClenshawCurtis {
    nodes: Vec<Interval>,
    weights: Vec<Interval>,
    /// Upper bound on Σ|w_j|.
    abs_weight_sum: f64,
}

/// cos(mπ/n) enclosed: cos is 1-Lipschitz, so the value at the lower end of the enclosure
/// of the angle, rounded to nearest, is off by at most the angle's width plus half an ulp.
fn cos_pi_frac(m: usize, n: usize, wp: Precision) -> Interval {
    let mut lo = pi(wp, Round::Down);
    lo.mul_assign_round(m as u32, Round::Down);
    lo.div_assign_round(n as u32, Round::Down);
    let mut hi = pi(wp, Round::Up);
    hi.mul_assign_round(m as u32, Round::Up);
    hi.div_assign_round(n as u32, Round::Up);
    let mut rad = hi.clone();
    rad.sub_assign_round(&lo, Round::Up);
    rad.add_assign_round(
        &Float::with_val(wp.0, Float::i_exp(1, 2 - wp.0 as i32)),
        Round::Up,
    );
    let mut c = lo;
    c.cos_round(Round::Nearest);
    Interval::point(c).widen(&rad)
}

impl ClenshawCurtis {
    /// Nodes x_j = cos(jπ/n) and weights (Trefethen, Spectral Methods in MATLAB, clencurt):
    /// w_0 = w_n = 1/(n² − 1), w_j = (2/n)[1 − Σ_{k=1}^{n/2−1} 2cos(2kjπ/n)/(4k² − 1)
    /// − (−1)^j/(n² − 1)].
    fn new(n: usize, wp: Precision) -> Self {
        debug_assert!(n % 2 == 0 && n >= 4);
        let nodes: Vec<Interval> = (0..=n).map(|j| cos_pi_frac(j, n, wp)).collect();
        let one = Interval::from_f64(wp, 1.0);
        let nn1 = Interval::from_f64(wp, (n * n - 1) as f64);
        let end_w = one.div(&nn1).expect("invariant: n² − 1 > 0");
        let mut weights = vec![end_w.clone(); n + 1];
        let two_over_n = Interval::from_f64(wp, 2.0)
            .div(&Interval::from_f64(wp, n as f64))
            .expect("invariant: n > 0");
        for (j, slot) in weights.iter_mut().enumerate().take(n).skip(1) {
            let mut v = one.clone();
            for k in 1..n / 2 {
                let c = cos_pi_frac((2 * k * j) % (2 * n), n, wp);
                let d = Interval::from_f64(wp, (4 * k * k - 1) as f64);
                v = v.sub(
                    &c.scale_nonneg(&Float::with_val(wp.0, 2))
                        .div(&d)
                        .expect("invariant: 4k² − 1 > 0"),
                );
            }
            let last = end_w.clone();
            v = if j % 2 == 0 {
                v.sub(&last)
            } else {
                v.add(&last)
            };
            *slot = v.mul(&two_over_n);
        }
        let mut s = Interval::zero(wp);
        for w in &weights {
            let a = if w.lo.is_sign_negative() {
                w.lo.clone().abs().max(&w.hi.clone().abs())
            } else {
                w.hi.clone()
            };
            s = s.add(&Interval::point(a));
        }
        ClenshawCurtis {
            nodes,
            weights,
            abs_weight_sum: s.hi_f64(),
        }
    }

    /// Enclosures of the rule applied on [lo, hi] to e^{λL}(sign·(L − c))^k e^{−x²/2}, k = 1, 3.
    fn panel(
        &self,
        k: &LossConsts,
        lo: f64,
        hi: f64,
        sign: i32,
        lambda: f64,
        c: &Float,
    ) -> [Interval; 2] {
        let wp = k.wp;
        let (mid, rad) = panel_map(wp, lo, hi);
        let cc = Interval::point(c.clone());
        let mut s1 = Interval::zero(wp);
        let mut s3 = Interval::zero(wp);
        for (t, w) in self.nodes.iter().zip(&self.weights) {
            let x = mid.add(&rad.mul(t));
            let (l, z, gauss) = k.eval(&x);
            let wgt = k.weight(&l, &z, &gauss, lambda).mul(w);
            let d = if sign > 0 { l.sub(&cc) } else { cc.sub(&l) };
            let v1 = wgt.mul(&d);
            s1.add_assign(&v1);
            s3.add_assign(&v1.mul(&d).mul(&d));
        }
        [s1.mul(&rad), s3.mul(&rad)]
    }
}

/// ln of the Clenshaw–Curtis error bound on one panel [lo, hi] for the analytic integrand
/// e^{λL}(±(L − c))^k e^{−x²/2} (docs/math.md §15.4):
/// r·2M(W + 2/(n(n+2)))ρ^{−n}/(ρ − 1), with r the half-width, W = Σ|w_j| and M a bound on
/// the integrand on the image of the Bernstein ellipse E_ρ (inside the rectangle
/// [γ − rα_ρ, γ + rα_ρ] × [−rβ_ρ, rβ_ρ], α_ρ = (ρ + 1/ρ)/2, β_ρ = (ρ − 1/ρ)/2 ≤ π/(3μ)):
/// |L(x+ib) − c| ≤ |L(x) − c| + |b|μ·u/(1 − q + u/2) (u = q e^{μx−μ²/2}, taken at the right
/// end), |e^{λL(x+ib)}| ≤ e^{λL(x)}, |e^{−(x+ib)²/2}| = e^{−x²/2}e^{b²/2}.
fn ln_cc_error(
    loss: &SubsampledLoss,
    rule: &ClenshawCurtis,
    lo: f64,
    hi: f64,
    lambda: f64,
    c: f64,
    k: u32,
) -> f64 {
    let (q, mu) = (loss.q, loss.mu());
    let r = 0.5 * (hi - lo) * (1.0 + 1e-12);
    let g = 0.5 * (hi + lo);
    let alpha = 0.5 * (CC_RHO + 1.0 / CC_RHO);
    let b_e = 0.5 * (CC_RHO - 1.0 / CC_RHO) * r;
    let slack = 1e-9 * (1.0 + g.abs() + r);
    let xl = g - alpha * r - slack;
    let xr = g + alpha * r + slack;
    let (ll, lr) = (loss.loss_f64(xl), loss.loss_f64(xr));
    let dev = (ll - c).abs().max((lr - c).abs()) * (1.0 + 1e-9)
        + 1e-12 * (c.abs() + ll.abs().max(lr.abs()))
        + 1e-300;
    // u = q e^{Re w} at the rectangle's right end (the largest) and at its left end.
    let u = q * (mu * xr - 0.5 * mu * mu).exp();
    let u_left = q * (mu * xl - 0.5 * mu * mu).exp();
    let slope = if b_e < std::f64::consts::PI / (3.0 * mu) {
        // In the strip |Im w| ≤ π/3: |L'| ≤ μu/(1 − q + u/2) ≤ 2μ.
        if u.is_finite() {
            (u / (1.0 - q + 0.5 * u)).min(2.0)
        } else {
            2.0
        }
    } else if u <= 0.5 * (1.0 - q) {
        // Left of the singular line: |q e^w| ≤ u ≤ (1 − q)/2 on the whole rectangle, so
        // 1 − q + q e^w ≠ 0 and |L'| ≤ μu/(1 − q − u) ≤ μ.
        u / (1.0 - q - u)
    } else if (1.0 - q) <= 0.5 * u_left {
        // Right of it: |(1 − q)e^{−w}/q| ≤ v = (1 − q)/u_left ≤ 1/2, L = ln q + w + ln(1 + ·),
        // |L'| ≤ μ/(1 − v) ≤ 2μ.
        1.0 / (1.0 - (1.0 - q) / u_left)
    } else {
        // The ellipse reaches past |Im x| = π/(3μ) near the singular line: not admissible.
        return f64::INFINITY;
    };
    let a = dev + mu * b_e * slope * (1.0 + 1e-9);
    let xmin = if xl <= 0.0 && xr >= 0.0 {
        0.0
    } else {
        xl.abs().min(xr.abs())
    };
    let ln_m = k as f64 * a.ln() + lambda * lr - 0.5 * xmin * xmin + 0.5 * b_e * b_e;
    let n = CC_N as f64;
    r.ln() + std::f64::consts::LN_2 + ln_m + (rule.abs_weight_sum + 2.0 / (n * (n + 2.0))).ln()
        - n * CC_RHO.ln()
        - (CC_RHO - 1.0).ln()
}

/// 1/√(2π) enclosed.
fn inv_sqrt_two_pi(wp: Precision) -> Interval {
    let mut lo = pi(wp, Round::Up) * 2u32;
    lo.sqrt_round(Round::Up);
    lo.recip_round(Round::Down);
    let mut hi = pi(wp, Round::Down) * 2u32;
    hi.sqrt_round(Round::Down);
    hi.recip_round(Round::Up);
    Interval::new(lo, hi)
}

/// Most (node × tilt) evaluations of one [`moments_f64`] call (about 1 s on one core); beyond
/// it the moments are NaN ([`f64_work`]).
pub const MAX_F64_NODE_EVALUATIONS: f64 = 2e7;

/// ln of the smallest weight e^{λL}φ-part a node of [`moments_f64`] keeps: below it the weight
/// exp(λL − x²/2) is exactly 0 in f64 (exp underflows to 0 below −745.2), so the node adds
/// exactly 0 and is skipped.
const LN_WEIGHT_FLOOR: f64 = -750.0;

/// The step h and the node index ranges (increasing, disjoint) of
/// [`moments_f64`]'s trapezoid ([`F64Grid`]): the nodes jh in [−T, T] whose weight can reach
/// e^{[`LN_WEIGHT_FLOOR`]} for some tilt. With w = μx − μ²/2 and e^{L} = 1 − q + qe^{w}:
/// for λ < 0, λL ≤ λ ln(1 − q); for λ > 0, e^{λL} ≤ 2^λ·max(1, (qe^{w})^λ), and
/// λ(ln q + w) − x²/2 = −(x − λμ)²/2 + λ(λ − 1)μ²/2 + λ ln q. So the live x lie in one window
/// around 0 and, for λ > 0, one around λμ. `None` where the step is not positive (μ not
/// finite, or node indices beyond 9e15).
fn f64_design(q: f64, mu: f64, tilts: &[Tilt]) -> Option<F64Grid> {
    let a = (std::f64::consts::PI / (3.0 * mu)).min(6.0);
    let h = (2.0 * std::f64::consts::PI * a / 80.0).min(0.0625);
    let tt = 15.0 + max_shift(mu, tilts);
    if !(h > 0.0 && tt.is_finite()) {
        return None;
    }
    let floor = -LN_WEIGHT_FLOOR;
    let mut windows: Vec<(f64, f64)> = Vec::new();
    for t in tilts {
        let l = t.lambda;
        // Around 0: −x²/2 + (λ ln(1 − q) for λ < 0, λ ln 2 for λ > 0) ≥ LN_WEIGHT_FLOOR.
        let lift = if l < 0.0 {
            l * (-q).ln_1p()
        } else {
            l * std::f64::consts::LN_2
        };
        let r0 = (2.0 * (floor + lift)).sqrt();
        windows.push((-r0, r0));
        if l > 0.0 {
            let height = l * std::f64::consts::LN_2 + l * q.ln() + 0.5 * l * (l - 1.0) * mu * mu;
            let r2 = 2.0 * (floor + height);
            if r2 >= 0.0 {
                let r = r2.sqrt();
                windows.push((l * mu - r, l * mu + r));
            }
        }
    }
    windows.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut ranges: Vec<(i64, i64)> = Vec::new();
    for (lo, hi) in windows {
        // One node of margin on each side; clipped to [−T, T] like the full grid.
        let n = (tt / h).ceil();
        let j0 = ((lo / h).floor() - 1.0).max(-n);
        let j1 = ((hi / h).ceil() + 1.0).min(n);
        if !(j0.abs() < 9e15 && j1.abs() < 9e15) {
            return None; // beyond any budget
        }
        if j0 > j1 {
            continue;
        }
        let (j0, j1) = (j0 as i64, j1 as i64);
        match ranges.last_mut() {
            Some(last) if j0 <= last.1 + 1 => last.1 = last.1.max(j1),
            _ => ranges.push((j0, j1)),
        }
    }
    Some(F64Grid { h, ranges })
}

/// The grid of [`moments_f64`] ([`f64_design`]).
struct F64Grid {
    /// Step.
    h: f64,
    /// The live node index ranges, increasing and disjoint.
    ranges: Vec<(i64, i64)>,
}

/// The (node × tilt) evaluations [`moments_f64`] would do (+∞ where μ is not finite): the
/// step shrinks like σ, and the live windows keep a width of ~80 each, so the work grows like
/// 1/σ (σ ≳ 2e−4 at the tilts 0 and 1 stays within [`MAX_F64_NODE_EVALUATIONS`]).
pub fn f64_work(loss: &SubsampledLoss, tilts: &[Tilt]) -> f64 {
    match f64_design(loss.q, loss.mu(), tilts) {
        Some(F64Grid { ranges, .. }) => {
            let nodes: f64 = ranges.iter().map(|&(a, b)| b as f64 - a as f64 + 1.0).sum();
            nodes * tilts.len() as f64
        }
        None => f64::INFINITY,
    }
}

/// f64 moments ∫ e^{λL}(L − c)^k dP (plain trapezoid, no certificate; relative accuracy
/// ~1e−13 of ∫|g| for the parameters used in practice). For fast sweeps. Nodes whose weight
/// underflows to 0 for every tilt are skipped (the sums are the same to the last bit). Every
/// value is NaN where the trapezoid would need more than [`MAX_F64_NODE_EVALUATIONS`]: no call
/// runs unbounded.
pub fn moments_f64(loss: &SubsampledLoss, tilts: &[Tilt], max_k: usize) -> Vec<Vec<f64>> {
    let nan = || vec![vec![f64::NAN; max_k + 1]; tilts.len()];
    let work = f64_work(loss, tilts);
    if work.is_nan() || work > MAX_F64_NODE_EVALUATIONS {
        return nan();
    }
    let Some(F64Grid { h, ranges, .. }) = f64_design(loss.q, loss.mu(), tilts) else {
        return nan();
    };
    let mut acc = vec![vec![0.0; max_k + 1]; tilts.len()];
    for j in ranges.iter().flat_map(|&(a, b)| a..=b) {
        let x = j as f64 * h;
        let l = loss.loss_f64(x);
        let lnphi = -0.5 * x * x;
        for (ti, t) in tilts.iter().enumerate() {
            // e^{λL}φ in one exponential: for small σ, e^{L} alone overflows where φ
            // underflows (L ≈ μx − μ²/2 reaches 1e5 at σ = 1e−3).
            let wgt = if t.lambda == 0.0 {
                lnphi.exp()
            } else {
                (t.lambda * l + lnphi).exp()
            };
            let d = l - t.center;
            let mut p = wgt;
            acc[ti][0] += p;
            for slot in acc[ti].iter_mut().take(max_k + 1).skip(1) {
                p *= d;
                *slot += p;
            }
        }
    }
    let f = h / (2.0 * std::f64::consts::PI).sqrt();
    for row in acc.iter_mut() {
        for v in row.iter_mut() {
            *v *= f;
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use rug::ops::Pow;

    type C = nalgebra::Complex<f64>;

    /// |e^{λL(z)}(L(z) − c)^k φ(z)| at z = x + ib (principal log: Re(1 − q + q e^w) > 0 in the
    /// strip |Im w| ≤ π/3 where it is used).
    fn g_abs(q: f64, mu: f64, lambda: f64, c: f64, k: i32, x: f64, b: f64) -> f64 {
        let z = C::new(x, b);
        let w = z * mu - 0.5 * mu * mu;
        // Far right, L = w + ln q + ln(1 + (1 − q)e^{−w}/q) (the same branch: the arguments
        // of q e^w and of 1 + (1 − q)e^{−w}/q sum to less than π in modulus), in log form so
        // that e^w never overflows.
        let l = if w.re > 0.0 {
            w + q.ln() + (C::new(1.0, 0.0) + (-w).exp() * ((1.0 - q) / q)).ln()
        } else {
            (C::new(1.0 - q, 0.0) + w.exp() * q).ln()
        };
        let ln_g = lambda * l.re + k as f64 * (l - c).norm().ln() + (-(z * z) * 0.5).re
            - 0.5 * (2.0 * std::f64::consts::PI).ln();
        if k == 0 {
            (lambda * l.re + (-(z * z) * 0.5).re - 0.5 * (2.0 * std::f64::consts::PI).ln()).exp()
        } else {
            ln_g.exp()
        }
    }

    /// ∫ over x ∈ [lo, hi] of |g(x + ib)| by a fine midpoint rule (an estimate, well below the
    /// majorants' slack at the step used).
    fn strip_integral(q: f64, mu: f64, t: &Tilt, k: i32, b: f64, lo: f64, hi: f64) -> f64 {
        let n = 400_000;
        let h = (hi - lo) / n as f64;
        (0..n)
            .map(|j| g_abs(q, mu, t.lambda, t.center, k, lo + (j as f64 + 0.5) * h, b))
            .sum::<f64>()
            * h
    }

    #[test]
    fn power_mean_majorants_bound_the_integrand_and_beat_the_binomial_at_large_mu() {
        for &(q, sigma) in &[(0.01, 0.5), (0.3, 0.5), (0.026, 0.1), (0.2, 2.0)] {
            let mu = 1.0 / sigma;
            for &lambda in &[0.4, 1.3, 2.7] {
                let t = Tilt {
                    lambda,
                    center: 0.3,
                };
                let a = 0.9 * std::f64::consts::PI / (3.0 * mu);
                let (lo, hi) = (-12.0, lambda.ceil() * mu + 14.0);
                for k in [0u32, 2, 4] {
                    let tag = format!("q={q} sigma={sigma} lambda={lambda} k={k}");
                    // The strip majorant (the least over both lists) bounds ∫|g(x ± ia)|dx.
                    let m = ln_strip_majorant(q, mu, &t, k, a);
                    let got = strip_integral(q, mu, &t, k as i32, a, lo, hi);
                    assert!(
                        got.ln() <= m,
                        "{tag}: ln ∫|g| = {} > majorant {m}",
                        got.ln()
                    );
                    // The truncation bound covers both tails from T = λμ + k + 4 on.
                    let tt = (lambda * mu + k as f64 + 4.0).ceil();
                    let tail = strip_integral(q, mu, &t, k as i32, 0.0, tt, tt + 40.0)
                        + strip_integral(q, mu, &t, k as i32, 0.0, -tt - 40.0, -tt);
                    let tb = ln_truncation(q, mu, &t, k, tt);
                    assert!(tail.ln() <= tb, "{tag}: ln tail {} > bound {tb}", tail.ln());
                }
            }
        }
        // σ = 0.04, λ = 1.03: the binomial list's e^{μ²} weight against e^{λ(λ−1)μ²/2}.
        let (q, mu) = (0.026, 25.0);
        let t = Tilt {
            lambda: 1.03,
            center: 0.0,
        };
        let lists = majorants(q, mu, t.lambda);
        assert_eq!(lists.len(), 2);
        let a = 0.9 * std::f64::consts::PI / (3.0 * mu);
        let best = ln_strip_majorant(q, mu, &t, 2, a);
        let heaviest = |l: &Vec<(f64, f64, f64)>| l.iter().map(|c| c.0).fold(f64::MIN, f64::max);
        assert!(heaviest(&lists[0]) > 600.0 && heaviest(&lists[1]) < 30.0);
        assert!(best < 60.0, "strip majorant {best}");
        // Integer λ keeps the exact binomial list alone.
        assert_eq!(majorants(q, mu, 2.0).len(), 1);
    }

    #[test]
    fn abs_estimates_count_the_bulk_where_the_centre_is_the_bulk_loss() {
        // σ = 0.027: L(x) = ln(1 − q) exactly in f64 over the bulk; with c = ln(1 − q) every
        // bulk node had |L − c|⁰ = 0^0 evaluated as 0·(−∞) = NaN and was skipped.
        let loss = SubsampledLoss {
            sigma: 0.02724755586683181,
            q: 0.026171099581530792,
        };
        let c = (-loss.q).ln_1p();
        let est = ln_abs_estimates(
            &loss,
            &[Tilt {
                lambda: 0.0,
                center: c,
            }],
            3,
        );
        assert!(est[0][0].abs() < 1e-6, "ln ∫φ = {}", est[0][0]);
        // |L − c|^k, k ≥ 1, vanishes on the whole estimate grid (its range stops short of the
        // far bump): −∞, which `ln_targets` replaces by the mass's magnitude.
        for k in 1..=3 {
            assert!(est[0][k] < -100.0, "k={k}: {}", est[0][k]);
        }
    }

    #[test]
    fn wide_panels_are_admissible_only_away_from_the_singular_line() {
        let loss = SubsampledLoss {
            sigma: 0.04,
            q: 0.026,
        };
        let mu = loss.mu();
        let wp = Precision(96);
        let rule = ClenshawCurtis::new(CC_N, wp);
        // The singular line: 1 − q + q e^{μx − μ²/2} = 0 needs μx − μ²/2 = ln((1 − q)/q).
        let xs = (((1.0 - loss.q) / loss.q).ln() + 0.5 * mu * mu) / mu;
        let err = |lo: f64, hi: f64| ln_cc_error(&loss, &rule, lo, hi, 1.0, 0.0, 3);
        // A unit panel far left, far right: finite. Across (or next to) the line: not admissible.
        assert!(err(xs - 4.0, xs - 3.0).is_finite());
        assert!(err(xs + 3.0, xs + 4.0).is_finite());
        assert_eq!(err(xs - 0.5, xs + 0.5), f64::INFINITY);
        assert_eq!(err(xs + 0.01, xs + 1.01), f64::INFINITY);
        // A strip-height panel is admissible anywhere, the line included.
        let r = 0.999 * std::f64::consts::PI / (3.0 * mu) / (0.5 * (CC_RHO - 1.0 / CC_RHO));
        assert!(err(xs - r, xs + r).is_finite());
    }

    fn oracle(q: f64, sigma: f64, j: u32, prec: u32) -> Float {
        // Σ_i C(j,i)(1−q)^{j−i} q^i e^{i(i−1)μ²/2}, at high precision.
        let p = prec + 64;
        let mu = Float::with_val(p, 1) / Float::with_val(p, sigma);
        let mu2 = Float::with_val(p, &mu * &mu);
        let qf = Float::with_val(p, q);
        let omq = Float::with_val(p, 1) - &qf;
        let mut s = Float::with_val(p, 0);
        for i in 0..=j {
            let c = Float::with_val(p, rug::Integer::from(j).binomial(i));
            let t = c
                * Float::with_val(p, omq.clone().pow(j - i))
                * Float::with_val(p, qf.clone().pow(i))
                * Float::with_val(p, &mu2 * (i as f64 * (i as f64 - 1.0) / 2.0)).exp();
            s += t;
        }
        s
    }

    #[test]
    fn integer_lambda_oracle_is_enclosed_to_1e60() {
        for &(q, sigma) in &[(0.01, 0.8), (0.3, 2.0), (1e-4, 1.0)] {
            let loss = SubsampledLoss { sigma, q };
            let tilts: Vec<Tilt> = (0..=4).map(|j| Tilt::at(j as f64)).collect();
            let r = certified_moments(&loss, &tilts, 0, Precision(256)).expect("test setup");
            for j in 0..=4u32 {
                let e = &r.values[j as usize][0];
                let want = oracle(q, sigma, j, 256);
                assert!(e.contains(&want), "q={q} σ={sigma} j={j}: {e:?} vs {want}");
                assert!(e.rel_width() < 1e-60, "width {} at j={j}", e.rel_width());
            }
        }
    }

    #[test]
    fn negative_tilt_is_enclosed() {
        // E_P[e^{−L}] = E_Q[e^{−2L}]: the λ = −1 integral equals ∫ e^{−2L} e^{L} dP, and both
        // must agree with the f64 trapezoid; also E_P[e^{-L}·e^{L}] = 1 via k-weights.
        let loss = SubsampledLoss {
            sigma: 0.8,
            q: 0.05,
        };
        let tilts = [
            Tilt {
                lambda: -1.0,
                center: 0.0,
            },
            Tilt {
                lambda: -2.5,
                center: 0.1,
            },
        ];
        let c = certified_moments(&loss, &tilts, 3, Precision(128)).expect("test setup");
        let f = moments_f64(&loss, &tilts, 3);
        for t in 0..2 {
            for k in 0..=3 {
                let e = &c.values[t][k];
                assert!(e.rel_width() < 1e-30, "t={t} k={k} width {}", e.rel_width());
                assert!(
                    (f[t][k] - e.mid_f64()).abs() <= 1e-11 * e.mid_f64().abs(),
                    "t={t} k={k}: {} vs {}",
                    f[t][k],
                    e.mid_f64()
                );
            }
        }
        // E_P[e^{−L}] ≥ 1 by Jensen (E_P[L] ≤ 0), and ≤ 1/(1 − q).
        let m0 = &c.values[0][0];
        assert!(m0.lo_f64() > 1.0 && m0.hi_f64() < 1.0 / 0.95);
        let q1 = SubsampledLoss { sigma: 1.0, q: 1.0 };
        assert!(certified_moments(&q1, &tilts, 0, Precision(128)).is_err());
    }

    #[test]
    fn f64_moments_agree_with_certified() {
        let loss = SubsampledLoss {
            sigma: 0.8,
            q: 0.01,
        };
        let tilts = Tilt::p_and_q(0.0, 0.0);
        let f = moments_f64(&loss, &tilts, 4);
        let c = certified_moments(&loss, &tilts, 4, Precision(128)).expect("test setup");
        for t in 0..2 {
            for k in 0..=4 {
                let want = c.values[t][k].mid_f64();
                assert!(
                    (f[t][k] - want).abs() <= 1e-11 * want.abs().max(1e-300),
                    "t={t} k={k}: {} vs {want}",
                    f[t][k]
                );
            }
        }
    }

    #[test]
    fn clenshaw_curtis_integrates_polynomials_exactly() {
        let wp = Precision(160);
        let rule = ClenshawCurtis::new(CC_N, wp);
        for p in 0..=CC_N as u32 {
            let mut s = Interval::zero(wp);
            for (x, w) in rule.nodes.iter().zip(&rule.weights) {
                s.add_assign(&x.powi(p).mul(w));
            }
            let want = if p % 2 == 1 {
                0.0
            } else {
                2.0 / (p as f64 + 1.0)
            };
            assert!(
                (s.mid_f64() - want).abs() < 1e-30 && s.width_f64() < 1e-30,
                "x^{p}: {s:?}"
            );
        }
        assert!(rule.weights.iter().all(|w| w.lo > 0));
        assert!((rule.abs_weight_sum - 2.0).abs() < 1e-14);
    }

    #[test]
    fn abs_moments_match_the_gaussian_at_q_one() {
        // q = 1: L = μx − μ²/2 ~ N(−μ²/2, μ²) under P, so E|L − m|^k = μ^k E|Z|^k with
        // E|Z| = √(2/π), E|Z|³ = 2√(2/π); under Q (λ = 1) the mean is +μ²/2.
        for &sigma in &[0.5, 1.0, 4.0, 20.0] {
            let mu = 1.0 / sigma;
            let loss = SubsampledLoss { sigma, q: 1.0 };
            for (lambda, m) in [(0.0, -0.5 * mu * mu), (1.0, 0.5 * mu * mu)] {
                let r = certified_abs_moments(&loss, lambda, m, Precision(128)).expect("test");
                let e1 = (2.0 / std::f64::consts::PI).sqrt() * mu;
                let e3 = 2.0 * e1 * mu * mu;
                for (v, want) in [(&r.abs1, e1), (&r.abs3, e3)] {
                    let tol = 1e-14 * want;
                    assert!(
                        v.lo_f64() - tol <= want && want <= v.hi_f64() + tol,
                        "sigma={sigma} lambda={lambda}: {v:?} vs {want}"
                    );
                    assert!(v.rel_width() < 1e-15, "width {}", v.rel_width());
                }
            }
        }
    }

    #[test]
    fn loss_is_finite_at_q_one_far_left() {
        assert_eq!(log1p_qexpm1(1.0, -800.0), -800.0);
        let v = log1p_qexpm1(0.999, -800.0);
        assert!((v - (0.001f64).ln()).abs() < 1e-12);
        let u: f64 = 1e-5;
        let want = -u * u / 2.0 + u.powi(3) / 3.0 - u.powi(4) / 4.0 + u.powi(5) / 5.0;
        assert!((log1p_minus_id(u) - want).abs() < 1e-25);
    }

    /// The plain trapezoid of `moments_f64` over every node of [−T, T] (the code before the
    /// live windows), for comparison.
    fn moments_f64_every_node(
        loss: &SubsampledLoss,
        tilts: &[Tilt],
        max_k: usize,
    ) -> Vec<Vec<f64>> {
        let F64Grid { h, .. } = f64_design(loss.q, loss.mu(), tilts).expect("finite design");
        let tt = 15.0 + max_shift(loss.mu(), tilts);
        let n = (tt / h).ceil() as i64;
        let mut acc = vec![vec![0.0; max_k + 1]; tilts.len()];
        for j in -n..=n {
            let x = j as f64 * h;
            let l = loss.loss_f64(x);
            let lnphi = -0.5 * x * x;
            for (ti, t) in tilts.iter().enumerate() {
                let mut p = if t.lambda == 0.0 {
                    lnphi.exp()
                } else {
                    (t.lambda * l + lnphi).exp()
                };
                let d = l - t.center;
                acc[ti][0] += p;
                for slot in acc[ti].iter_mut().take(max_k + 1).skip(1) {
                    p *= d;
                    *slot += p;
                }
            }
        }
        let f = h / (2.0 * std::f64::consts::PI).sqrt();
        acc.iter_mut().flatten().for_each(|v| *v *= f);
        acc
    }

    /// Skipping the nodes whose weight underflows changes no bit of the moments: σ from 3e−3 to
    /// 10, q from 1e−4 to 1, tilts on both sides of 0 and beyond 1, centres at 0 and away.
    #[test]
    fn skipped_nodes_change_no_moment() {
        for &sigma in &[3e-3, 0.02, 0.1, 0.8, 3.0, 10.0] {
            for &q in &[1e-4, 0.01, 0.3, 1.0] {
                let loss = SubsampledLoss { sigma, q };
                let mut sets = vec![
                    vec![Tilt::at(0.0), Tilt::at(1.0)],
                    vec![
                        Tilt {
                            lambda: 1.0,
                            center: 0.7,
                        },
                        Tilt::at(2.5),
                    ],
                ];
                if q < 1.0 {
                    sets.push(vec![Tilt {
                        lambda: -0.5,
                        center: -0.01,
                    }]);
                }
                for tilts in &sets {
                    let fast = moments_f64(&loss, tilts, 6);
                    let every = moments_f64_every_node(&loss, tilts, 6);
                    let bits = |m: &Vec<Vec<f64>>| -> Vec<u64> {
                        m.iter().flatten().map(|v| (v + 0.0).to_bits()).collect()
                    };
                    assert_eq!(bits(&fast), bits(&every), "sigma {sigma}, q {q}, {tilts:?}");
                }
            }
        }
    }

    /// Past the work limit the f64 moments are NaN at once (no unbounded loop), down to
    /// σ = 1e−320, where μ = 1/σ is not finite; the work grows like 1/σ, not 1/σ².
    #[test]
    fn f64_moments_refuse_past_their_work_limit() {
        let tilts = Tilt::p_and_q(0.0, 0.0);
        let w = |sigma: f64| f64_work(&SubsampledLoss { sigma, q: 0.01 }, &tilts);
        assert!(w(1e-3) <= MAX_F64_NODE_EVALUATIONS);
        assert!(w(1e-4) > MAX_F64_NODE_EVALUATIONS);
        assert!(
            (w(1e-3) / w(2e-3) - 2.0).abs() < 0.05,
            "{} {}",
            w(1e-3),
            w(2e-3)
        );
        for sigma in [1e-4, 1e-10, 1e-300, 1e-320] {
            let m = moments_f64(&SubsampledLoss { sigma, q: 0.01 }, &tilts, 6);
            assert!(m.iter().flatten().all(|v| v.is_nan()), "sigma {sigma}");
        }
        let m = moments_f64(
            &SubsampledLoss {
                sigma: 1e-3,
                q: 0.01,
            },
            &tilts,
            6,
        );
        assert!(m.iter().flatten().all(|v| v.is_finite()));
    }

    /// The certified quadrature refuses before its f64 target pass where that pass alone would be
    /// over its limit (σ = 3e−4: ~2e8 evaluations), with the reason.
    #[test]
    fn certified_moments_refuse_before_an_oversized_target_pass() {
        let loss = SubsampledLoss {
            sigma: 3e-4,
            q: 0.01,
        };
        match certified_moments(&loss, &Tilt::p_and_q(0.0, 0.0), 6, Precision(64)) {
            Err(Error::NotCertified(m)) => assert!(m.contains("error targets"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
