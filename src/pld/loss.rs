//! Q-side laws of the privacy loss of each mechanism and their discretisation on a grid
//! (docs/math.md §1–2, §11).
//!
//! Each law is given by its continuous part (CDF F and survival function S, both evaluated
//! directly so that either tail keeps full relative precision) and its atoms. The loss of
//! one ordering under that ordering's Q is what the PLD accountant needs:
//! δ(ε) = E_Q[(1 − e^{ε−L})₊].

use super::{Pmf, Rounding};
use crate::mechanism::mixture::MixtureLaw;
use crate::mechanism::Direction;
use crate::special::normal;

/// The Q-side law of one mechanism's privacy loss in one ordering.
// `Mixture` holds its component lists inline (Copy, evaluated per grid point without lookups).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossLaw {
    /// L ~ N(μ²/2, μ²): the Gaussian mechanism (both orderings), μ = 1/σ (or the μ_tot of a
    /// composition of Gaussians, which is exactly Gaussian with μ_tot² = Σ μ_i²).
    Gaussian {
        /// μ.
        mu: f64,
    },
    /// The Laplace mechanism with a = 1/b (both orderings): atom 1/2 at +a, atom e^{−a}/2 at
    /// −a, continuous CDF (e^{−(a−ℓ)/2} − e^{−a})/2 on (−a, a).
    Laplace {
        /// a = 1/b.
        a: f64,
    },
    /// Poisson-subsampled Gaussian, remove ordering: Q = (1−q)N(0,1) + qN(μ,1),
    /// L(x) = ln(1 − q + q e^{μx − μ²/2}), increasing in x with inverse
    /// x(ℓ) = (ln((e^ℓ − (1−q))/q) + μ²/2)/μ for ℓ > ln(1−q).
    SubsampledRemove {
        /// q ∈ (0, 1).
        q: f64,
        /// μ = 1/σ.
        mu: f64,
    },
    /// Poisson-subsampled Gaussian, add ordering: the loss is −L(x) with x ~ N(0,1).
    SubsampledAdd {
        /// q ∈ (0, 1).
        q: f64,
        /// μ = 1/σ.
        mu: f64,
    },
    /// A lattice mechanism (both orderings, docs/math.md §16): atoms only, at ℓ_j with Q-mass
    /// p_{J−j}; no continuous part.
    Lattice(crate::mechanism::LatticeMechanism),
    /// Poisson-subsampled Laplace, q < 1, docs/math.md §15.5.
    /// With t the plain Laplace loss and g(t) = ln(1 − q + q e^t) (inverse
    /// t(ℓ) = x(ℓ) − ½ of the subsampled Gaussian's x(ℓ) at μ = 1): remove: L = g(t) with
    /// t ~ (1 − q)P_t + qQ_t; add: −g(t) with t ~ P_t. Atoms at g(±a), continuous part between.
    SubsampledLaplace {
        /// a = 1/b.
        a: f64,
        /// q ∈ (0, 1).
        q: f64,
        /// Add ordering.
        add: bool,
    },
    /// A Gaussian-mixture pair ordering (docs/math.md §17), reflected so that its loss is
    /// non-decreasing in x: Q-CDF of L at ℓ is the Q-mass below x(ℓ) (bisection inverse).
    Mixture(crate::mechanism::mixture::MixtureLaw),
    /// Fixed-size batches (replace-one), the symmetrised law of docs/math.md §17.7 (both
    /// orderings): on ℓ > 0 the `SubsampledRemove { q, mu }` law restricted to ℓ > 0, on ℓ < 0
    /// the `SubsampledAdd { q, mu }` law restricted to ℓ < 0, and an atom (1 − q)(1 − 2Φ̄(μ/2))
    /// at ℓ = 0, a grid point of every grid (kept there exactly by connect-the-dots).
    WithoutReplacement {
        /// γ = b/n ∈ (0, 1).
        q: f64,
        /// μ = 2/σ.
        mu: f64,
    },
    /// A weighted disjoint union of two Gaussian-mixture pair orderings (truncated Poisson
    /// sampling, docs/math.md §17.8): every CDF, survival function and mass is the weighted
    /// sum of the components' (a weight of 0 drops its component).
    Union(crate::mechanism::truncated::UnionLaw),
}

/// x(ℓ) of the subsampled Gaussian with x(0) = μ/2 exactly (the split point of the
/// symmetrised law, docs/math.md §17.7).
fn wor_x(q: f64, mu: f64, l: f64) -> f64 {
    if l == 0.0 {
        0.5 * mu
    } else {
        x_of(q, mu, l)
    }
}

/// The x-intervals (under the base pair of docs/math.md §17.7) behind the symmetrised law's
/// continuous part in (la, lb]: (neg, pos) with neg = [x(−min(lb, 0)), x(−la)) for ℓ < 0
/// (Q-mass under N(0, 1), P-mass under the Poisson mixture) and pos = (x(max(la, 0)), x(lb)]
/// for ℓ > 0 (Q-mass under the mixture, P-mass under N(0, 1)); empty intervals as (0, 0).
fn wor_parts(q: f64, mu: f64, la: f64, lb: f64) -> ((f64, f64), (f64, f64)) {
    let neg = if la < 0.0 {
        (wor_x(q, mu, -lb.min(0.0)), wor_x(q, mu, -la))
    } else {
        (0.0, 0.0)
    };
    let pos = if lb > 0.0 {
        (wor_x(q, mu, la.max(0.0)), wor_x(q, mu, lb))
    } else {
        (0.0, 0.0)
    };
    (neg, pos)
}

/// Mass of (a, b] under (1 − q)N(0, 1) + qN(μ, 1).
fn mix_mass(q: f64, mu: f64, a: f64, b: f64) -> f64 {
    (1.0 - q) * normal_mass(a, b) + q * normal_mass(a - mu, b - mu)
}

/// Σ_i w_i·f(component i) over the union's components with a positive weight.
fn union_sum(u: &crate::mechanism::truncated::UnionLaw, f: impl Fn(&LossLaw) -> f64) -> f64 {
    let (wa, wb) = u.weights();
    let mut s = 0.0;
    if wa > 0.0 {
        s += wa * f(&LossLaw::Mixture(u.a));
    }
    if wb > 0.0 {
        s += wb * f(&LossLaw::Mixture(u.b));
    }
    s
}

/// The numerical inverses x(ℓ) at one grid boundary of a law whose inverse is computed by
/// iteration (a mixture law: slot 0; a union: one slot per component, NaN where the component
/// has weight 0); NaN for the other laws, whose inverses are closed forms. The discretisations
/// walk the boundaries upwards and warm-start each inverse from the previous boundary's
/// ([`MixtureLaw::x_of_from`]), so a bin costs two cheap inverses per component instead of
/// four cold ones (and eight for a union).
#[derive(Debug, Clone, Copy)]
struct Args([f64; 2]);

impl Args {
    const NONE: Args = Args([f64::NAN, f64::NAN]);
}

/// Mass of (x(la), x(lb)] under Q (`q_side`) or P of a mixture law, from precomputed inverses.
fn mixture_mass(m: &MixtureLaw, xa: f64, xb: f64, q_side: bool) -> f64 {
    if q_side {
        m.q_side().mass(xa, xb)
    } else {
        m.p_side().mass(xa, xb)
    }
}

/// The plain Laplace loss t(ℓ) = g^{−1}(ℓ) clamped to [−a, a] (−a where ℓ ≤ ln(1 − q)).
fn laplace_t_of(a: f64, q: f64, l: f64) -> f64 {
    (x_of(q, 1.0, l) - 0.5).clamp(-a, a)
}

/// (F, S) of the continuous part of the plain Laplace loss t under P_t (density
/// ¼e^{−a/2}e^{−t/2} on (−a, a)) and under Q_t (density ¼e^{−a/2}e^{t/2}), at t ∈ [−a, a].
fn laplace_t_cont(a: f64, t: f64) -> ((f64, f64), (f64, f64)) {
    // Every exponent is ≤ 0 (t ∈ [−a, a]), so nothing overflows at any a: e^{−a}(e^{(a−t)/2} − 1)
    // is written e^{−(a+t)/2}(1 − e^{−(a−t)/2}), and likewise for Q (before, e^{−a} underflowed
    // to 0 and e^{(a−t)/2} overflowed for a ≳ 1400, a NaN mass that the grid lost).
    let (up, dn) = (0.5 * (a + t), 0.5 * (a - t));
    (
        (-0.5 * (-up).exp_m1(), -0.5 * (-up).exp() * (-dn).exp_m1()),
        (-0.5 * (-dn).exp() * (-up).exp_m1(), -0.5 * (-dn).exp_m1()),
    )
}

/// The continuous masses of t in (ta, tb] under P_t and Q_t (ta ≤ tb in [−a, a]).
fn laplace_t_mass(a: f64, ta: f64, tb: f64) -> (f64, f64) {
    if tb <= ta {
        return (0.0, 0.0);
    }
    // ½(e^{−(a+ta)/2} − e^{−(a+tb)/2}) and ½(e^{−(a−tb)/2} − e^{−(a−ta)/2}), as a factor ≤ 1
    // times 1 − e^{−(tb−ta)/2}: no overflow for a bin as wide as 2a.
    let d = -(-0.5 * (tb - ta)).exp_m1();
    (
        0.5 * (-0.5 * (a + ta)).exp() * d,
        0.5 * (-0.5 * (a - tb)).exp() * d,
    )
}

/// x(ℓ) for the subsampled Gaussian, or −∞ when ℓ ≤ ln(1 − q).
fn x_of(q: f64, mu: f64, l: f64) -> f64 {
    let ln1q = (-q).ln_1p();
    if l <= ln1q {
        return f64::NEG_INFINITY;
    }
    // ln(e^ℓ − (1 − q)) without cancellation or overflow.
    let ln_v = if l > 30.0 {
        l + (-(1.0 - q) * (-l).exp()).ln_1p()
    } else if l >= 0.0 {
        (l.exp_m1() + q).ln()
    } else {
        (1.0 - q).ln() + (l - ln1q).exp_m1().ln()
    };
    (ln_v - q.ln() + 0.5 * mu * mu) / mu
}

/// L(x) = ln(1 − q + q e^{μx − μ²/2}) evaluated stably (docs/math.md §2).
pub(crate) fn l_of(q: f64, mu: f64, x: f64) -> f64 {
    let w = mu * x - 0.5 * mu * mu;
    let u = q * w.exp_m1();
    if u.abs() <= 0.5 {
        u.ln_1p()
    } else {
        let (a, b) = ((-q).ln_1p(), q.ln() + w);
        let (hi, lo) = if a > b { (a, b) } else { (b, a) };
        hi + (lo - hi).exp().ln_1p()
    }
}

/// Σ w_i f(t_i) over the 5-point Gauss–Legendre rule on [−1, 1].
fn gauss_legendre5(f: impl Fn(f64) -> f64) -> f64 {
    GL_T.iter().zip(GL_W.iter()).map(|(&t, w)| w * f(t)).sum()
}

/// P(a < Z ≤ b) for Z ~ N(0,1) with a relative error of a few ulp, also for short intervals
/// far in a tail: 5-point Gauss–Legendre on [a, b] when (b − a)/2·(|mid| + 3) ≤ 0.3 (the
/// quadrature error is then far below f64 rounding), else a difference of the tail functions
/// on the side away from 0 (which then loses at most a factor ~10 to cancellation).
pub fn normal_mass(a: f64, b: f64) -> f64 {
    if b.partial_cmp(&a) != Some(std::cmp::Ordering::Greater) {
        return 0.0;
    }
    if a == f64::NEG_INFINITY {
        return normal::cdf(b);
    }
    if b == f64::INFINITY {
        return normal::sf(a);
    }
    let (m, d) = (0.5 * (a + b), 0.5 * (b - a));
    if d * (m.abs() + 3.0) <= 0.3 {
        d * gauss_legendre5(|t| normal::pdf(m + d * t))
    } else if a >= 0.0 {
        normal::sf(a) - normal::sf(b)
    } else if b <= 0.0 {
        normal::cdf(b) - normal::cdf(a)
    } else {
        1.0 - normal::sf(b) - normal::cdf(a)
    }
    .max(0.0)
}

/// ln P(a < Z ≤ b) for Z ~ N(0,1), also where the mass underflows f64 (far tails), with a
/// relative error of the mass of at most 64u·(1 + |ln P|) (see [`LossLaw::ln_cont_masses`]).
/// Where [`normal_mass`] is in the normal range its logarithm is returned; otherwise the
/// interval is mirrored to the upper tail and the mass is taken in log space, by 5-point
/// Gauss–Legendre for short intervals (ln d + ln φ(m) + ln Σ w_i e^{−m·d·t_i − (d·t_i)²/2})
/// or as ln Φ̄(a) + ln(1 − e^{ln Φ̄(b) − ln Φ̄(a)}) (the interval is then long enough that
/// the difference loses at most a factor ~5).
pub fn ln_normal_mass(a: f64, b: f64) -> f64 {
    if b.partial_cmp(&a) != Some(std::cmp::Ordering::Greater) {
        return f64::NEG_INFINITY;
    }
    let direct = normal_mass(a, b);
    if direct >= 1e-290 {
        return direct.ln();
    }
    let (a, b) = if a + b < 0.0 { (-b, -a) } else { (a, b) };
    if b == f64::INFINITY {
        return normal::ln_sf(a);
    }
    let (m, d) = (0.5 * (a + b), 0.5 * (b - a));
    if d * (m.abs() + 3.0) <= 0.3 {
        let s = gauss_legendre5(|t| (-m * d * t - 0.5 * (d * t) * (d * t)).exp());
        d.ln() + normal::ln_pdf(m) + s.ln()
    } else {
        let (la, lb) = (normal::ln_sf(a), normal::ln_sf(b));
        la + (-(lb - la).exp()).ln_1p()
    }
}

/// 5-point Gauss–Legendre nodes on [−1, 1].
const GL_T: [f64; 5] = [
    0.0,
    0.538_469_310_105_683_1,
    -0.538_469_310_105_683_1,
    0.906_179_845_938_664,
    -0.906_179_845_938_664,
];
/// 5-point Gauss–Legendre weights.
const GL_W: [f64; 5] = [
    0.568_888_888_888_888_9,
    0.478_628_670_499_366_5,
    0.478_628_670_499_366_5,
    0.236_926_885_056_189_1,
    0.236_926_885_056_189_1,
];

/// ln(e^a + e^b).
fn ln_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// The safety shift η of a grid boundary at loss ℓ (see [`LossLaw::discretise`]).
pub fn boundary_shift(slope: f64, l: f64) -> f64 {
    1e-11 * (1.0 + slope + l.abs())
}

/// Upper quantile z with Φ̄(z) ≤ τ (a safe over-estimate: Φ̄(z) ≤ φ(z)/z).
pub fn z_tail(tau: f64) -> f64 {
    let t = tau.clamp(1e-300, 0.25);
    let mut z = (2.0 * (1.0 / t).ln()).sqrt();
    while normal::ln_sf(z) > t.ln() {
        z += 0.25;
    }
    z
}

/// One connect-the-dots bin, see [`LossLaw::bin_split`].
#[derive(Debug, Clone, Copy)]
struct BinSplit {
    /// Q-mass of the bin.
    q: f64,
    /// P·e^{ℓ_k} = ρ·Q.
    pe: f64,
    /// Relative error bound of `q`.
    q_rel: f64,
    /// Bound on the error of `pe` relative to Q (the error of ρ; ρ ≤ 1).
    rho_rel: f64,
    /// The bin's Q-mass underflowed to 0 (positive but below the f64 range).
    skipped: bool,
}

impl LossLaw {
    /// The law for a mechanism ordering.
    pub fn subsampled(q: f64, mu: f64, direction: Direction) -> LossLaw {
        match direction {
            Direction::Remove => LossLaw::SubsampledRemove { q, mu },
            Direction::Add => LossLaw::SubsampledAdd { q, mu },
        }
    }

    /// The law of a subsampled Laplace ordering (q = 1: the Laplace law).
    pub fn subsampled_laplace(
        s: &crate::mechanism::SubsampledLaplace,
        direction: Direction,
    ) -> LossLaw {
        let (a, q) = (s.epsilon0(), s.sampling_rate());
        if q == 1.0 {
            return LossLaw::Laplace { a };
        }
        LossLaw::SubsampledLaplace {
            a,
            q,
            add: direction == Direction::Add,
        }
    }

    /// (F(ℓ), S(ℓ)): the continuous part's mass at or below ℓ and above ℓ.
    pub fn cont(&self, l: f64) -> (f64, f64) {
        match *self {
            LossLaw::Gaussian { mu } => {
                let z = (l - 0.5 * mu * mu) / mu;
                (normal::cdf(z), normal::sf(z))
            }
            LossLaw::Laplace { a } => {
                if l <= -a {
                    (0.0, 0.5 * (1.0 - (-a).exp()))
                } else if l >= a {
                    (0.5 * (1.0 - (-a).exp()), 0.0)
                } else {
                    let t = -(a - l) / 2.0;
                    (0.5 * (t.exp() - (-a).exp()), (-0.5 * t.exp_m1()).max(0.0))
                }
            }
            LossLaw::SubsampledRemove { q, mu } => {
                let x = x_of(q, mu, l);
                if x == f64::NEG_INFINITY {
                    return (0.0, 1.0);
                }
                (
                    (1.0 - q) * normal::cdf(x) + q * normal::cdf(x - mu),
                    (1.0 - q) * normal::sf(x) + q * normal::sf(x - mu),
                )
            }
            LossLaw::SubsampledAdd { q, mu } => {
                // P(−L(x) ≤ ℓ) = P(L(x) ≥ −ℓ) = Φ̄(x(−ℓ)).
                let x = x_of(q, mu, -l);
                if x == f64::NEG_INFINITY {
                    return (1.0, 0.0);
                }
                (normal::sf(x), normal::cdf(x))
            }
            LossLaw::Lattice(_) => (0.0, 0.0),
            LossLaw::SubsampledLaplace { a, q, add: false } => {
                let ((fp, sp), (fq, sq)) = laplace_t_cont(a, laplace_t_of(a, q, l));
                ((1.0 - q) * fp + q * fq, (1.0 - q) * sp + q * sq)
            }
            LossLaw::SubsampledLaplace { a, q, add: true } => {
                // P(−g(t) ≤ ℓ) = P_t(t ≥ t(−ℓ)).
                let ((fp, sp), _) = laplace_t_cont(a, laplace_t_of(a, q, -l));
                (sp, fp)
            }
            LossLaw::Mixture(m) => m.q_side().cdf_sf(m.x_of(l)),
            LossLaw::WithoutReplacement { q, mu } => {
                let c = 0.5 * mu;
                let mix_sf = |x: f64| (1.0 - q) * normal::sf(x) + q * normal::sf(x - mu);
                if l >= 0.0 {
                    let x = wor_x(q, mu, l);
                    (normal::sf(c) + mix_mass(q, mu, c, x), mix_sf(x))
                } else {
                    let x = wor_x(q, mu, -l);
                    (normal::sf(x), normal_mass(c, x) + mix_sf(c))
                }
            }
            LossLaw::Union(u) => (
                union_sum(&u, |c| c.cont(l).0),
                union_sum(&u, |c| c.cont(l).1),
            ),
        }
    }

    /// The continuous part's mass in (la, lb], accurate to a few ulp relative.
    pub fn cont_mass(&self, la: f64, lb: f64) -> f64 {
        if lb.partial_cmp(&la) != Some(std::cmp::Ordering::Greater) {
            return 0.0;
        }
        match *self {
            LossLaw::Gaussian { mu } => {
                let m = 0.5 * mu * mu;
                normal_mass((la - m) / mu, (lb - m) / mu)
            }
            LossLaw::Laplace { a } => {
                let (la, lb) = (la.max(-a), lb.min(a));
                if lb <= la {
                    return 0.0;
                }
                let (ta, tb) = (-(a - la) / 2.0, -(a - lb) / 2.0);
                // ½(e^{tb} − e^{ta}) with both factors ≤ 1 (tb ≤ 0): no overflow at any a.
                -0.5 * tb.exp() * (ta - tb).exp_m1()
            }
            LossLaw::SubsampledRemove { q, mu } => {
                let (xa, xb) = (x_of(q, mu, la), x_of(q, mu, lb));
                (1.0 - q) * normal_mass(xa, xb) + q * normal_mass(xa - mu, xb - mu)
            }
            LossLaw::SubsampledAdd { q, mu } => normal_mass(x_of(q, mu, -lb), x_of(q, mu, -la)),
            LossLaw::Lattice(_) => 0.0,
            LossLaw::SubsampledLaplace { a, q, add: false } => {
                let (mp, mq) = laplace_t_mass(a, laplace_t_of(a, q, la), laplace_t_of(a, q, lb));
                (1.0 - q) * mp + q * mq
            }
            LossLaw::SubsampledLaplace { a, q, add: true } => {
                laplace_t_mass(a, laplace_t_of(a, q, -lb), laplace_t_of(a, q, -la)).0
            }
            LossLaw::Mixture(m) => m.q_side().mass(m.x_of(la), m.x_of(lb)),
            LossLaw::WithoutReplacement { q, mu } => {
                let (n, p) = wor_parts(q, mu, la, lb);
                normal_mass(n.0, n.1) + mix_mass(q, mu, p.0, p.1)
            }
            LossLaw::Union(u) => union_sum(&u, |c| c.cont_mass(la, lb)),
        }
    }

    /// Whether [`LossLaw::discretise_connect_dots`] does not apply: laws with atoms off the
    /// grid (an atom at ℓ = 0, as in `WithoutReplacement`, is kept exactly on its grid point).
    pub fn has_atoms(&self) -> bool {
        matches!(
            self,
            LossLaw::Laplace { .. } | LossLaw::Lattice(_) | LossLaw::SubsampledLaplace { .. }
        )
    }

    /// The P-side mass ∫ e^{−ℓ} dQ of the continuous part in (la, lb], accurate to a few ulp
    /// relative (a normal or normal-mixture mass): P is N(−μ²/2, μ²) in loss units for the
    /// Gaussian, N(0, 1) in x for the subsampled remove ordering and the mixture
    /// (1 − q)N(0, 1) + qN(μ, 1) for the add ordering. `None` for laws with atoms.
    pub fn cont_mass_p(&self, la: f64, lb: f64) -> Option<f64> {
        if lb.partial_cmp(&la) != Some(std::cmp::Ordering::Greater) {
            return Some(0.0);
        }
        match *self {
            LossLaw::Gaussian { mu } => {
                let m = 0.5 * mu * mu;
                Some(normal_mass((la + m) / mu, (lb + m) / mu))
            }
            LossLaw::Laplace { .. } | LossLaw::Lattice(_) | LossLaw::SubsampledLaplace { .. } => {
                None
            }
            LossLaw::SubsampledRemove { q, mu } => {
                Some(normal_mass(x_of(q, mu, la), x_of(q, mu, lb)))
            }
            LossLaw::SubsampledAdd { q, mu } => {
                let (xa, xb) = (x_of(q, mu, -lb), x_of(q, mu, -la));
                Some((1.0 - q) * normal_mass(xa, xb) + q * normal_mass(xa - mu, xb - mu))
            }
            LossLaw::Mixture(m) => Some(m.p_side().mass(m.x_of(la), m.x_of(lb))),
            LossLaw::WithoutReplacement { q, mu } => {
                let (n, p) = wor_parts(q, mu, la, lb);
                Some(mix_mass(q, mu, n.0, n.1) + normal_mass(p.0, p.1))
            }
            LossLaw::Union(u) => Some(union_sum(&u, |c| c.cont_mass_p(la, lb).unwrap_or(0.0))),
        }
    }

    /// (ln Q, ln P): the logarithms of the continuous part's Q-mass and P-mass in (la, lb],
    /// also where either underflows f64 (bins far in a tail, or losses beyond ~700 where
    /// e^{ℓ} overflows), each with a relative error of the mass of at most
    /// 64u·(2 + |ln mass|) ([`ln_normal_mass`], plus one rounding of the mixture's sum).
    /// `None` for laws with atoms.
    pub fn ln_cont_masses(&self, la: f64, lb: f64) -> Option<(f64, f64)> {
        let mix = |xa: f64, xb: f64, q: f64, mu: f64| {
            ln_add(
                (-q).ln_1p() + ln_normal_mass(xa, xb),
                q.ln() + ln_normal_mass(xa - mu, xb - mu),
            )
        };
        match *self {
            LossLaw::Gaussian { mu } => {
                let m = 0.5 * mu * mu;
                Some((
                    ln_normal_mass((la - m) / mu, (lb - m) / mu),
                    ln_normal_mass((la + m) / mu, (lb + m) / mu),
                ))
            }
            LossLaw::Laplace { .. } | LossLaw::Lattice(_) | LossLaw::SubsampledLaplace { .. } => {
                None
            }
            LossLaw::SubsampledRemove { q, mu } => {
                let (xa, xb) = (x_of(q, mu, la), x_of(q, mu, lb));
                Some((mix(xa, xb, q, mu), ln_normal_mass(xa, xb)))
            }
            LossLaw::SubsampledAdd { q, mu } => {
                let (xa, xb) = (x_of(q, mu, -lb), x_of(q, mu, -la));
                Some((ln_normal_mass(xa, xb), mix(xa, xb, q, mu)))
            }
            LossLaw::Mixture(m) => {
                let (xa, xb) = (m.x_of(la), m.x_of(lb));
                Some((m.q_side().ln_mass(xa, xb), m.p_side().ln_mass(xa, xb)))
            }
            LossLaw::WithoutReplacement { q, mu } => {
                let (n, p) = wor_parts(q, mu, la, lb);
                Some((
                    ln_add(ln_normal_mass(n.0, n.1), mix(p.0, p.1, q, mu)),
                    ln_add(mix(n.0, n.1, q, mu), ln_normal_mass(p.0, p.1)),
                ))
            }
            LossLaw::Union(u) => {
                let (wa, wb) = u.weights();
                let (mut lq, mut lp) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
                for (w, c) in [(wa, u.a), (wb, u.b)] {
                    if w > 0.0 {
                        let (q, p) = LossLaw::Mixture(c).ln_cont_masses(la, lb)?;
                        lq = ln_add(lq, w.ln() + q);
                        lp = ln_add(lp, w.ln() + p);
                    }
                }
                Some((lq, lp))
            }
        }
    }

    /// The inverses at boundary ℓ (see [`Args`]), warm-started from `prev`, those at a
    /// smaller boundary (NaN slots start cold).
    fn args_at(&self, l: f64, prev: Args) -> Args {
        let inv = |m: &MixtureLaw, x0: f64| m.x_of_from(l, x0);
        match *self {
            LossLaw::Mixture(m) => Args([inv(&m, prev.0[0]), f64::NAN]),
            LossLaw::Union(u) => {
                let (wa, wb) = u.weights();
                Args([
                    if wa > 0.0 {
                        inv(&u.a, prev.0[0])
                    } else {
                        f64::NAN
                    },
                    if wb > 0.0 {
                        inv(&u.b, prev.0[1])
                    } else {
                        f64::NAN
                    },
                ])
            }
            _ => Args::NONE,
        }
    }

    /// [`LossLaw::cont_mass`] (`q_side`) or [`LossLaw::cont_mass_p`] of (la, lb] from the
    /// inverses at its two ends (the same sums as there, for mixture laws and unions).
    fn mass_args(&self, la: f64, lb: f64, xa: Args, xb: Args, q_side: bool) -> Option<f64> {
        if lb.partial_cmp(&la) != Some(std::cmp::Ordering::Greater) {
            return Some(0.0);
        }
        match *self {
            LossLaw::Mixture(m) => Some(mixture_mass(&m, xa.0[0], xb.0[0], q_side)),
            LossLaw::Union(u) => {
                let (wa, wb) = u.weights();
                let mut s = 0.0;
                if wa > 0.0 {
                    s += wa * mixture_mass(&u.a, xa.0[0], xb.0[0], q_side);
                }
                if wb > 0.0 {
                    s += wb * mixture_mass(&u.b, xa.0[1], xb.0[1], q_side);
                }
                Some(s)
            }
            _ if q_side => Some(self.cont_mass(la, lb)),
            _ => self.cont_mass_p(la, lb),
        }
    }

    /// [`LossLaw::ln_cont_masses`] of (la, lb] from the inverses at its two ends.
    fn ln_masses_args(&self, la: f64, lb: f64, xa: Args, xb: Args) -> Option<(f64, f64)> {
        let ln =
            |m: &MixtureLaw, a: f64, b: f64| (m.q_side().ln_mass(a, b), m.p_side().ln_mass(a, b));
        match *self {
            LossLaw::Mixture(m) => Some(ln(&m, xa.0[0], xb.0[0])),
            LossLaw::Union(u) => {
                let (wa, wb) = u.weights();
                let (mut lq, mut lp) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
                for (w, c, i) in [(wa, u.a, 0), (wb, u.b, 1)] {
                    if w > 0.0 {
                        let (q, p) = ln(&c, xa.0[i], xb.0[i]);
                        lq = ln_add(lq, w.ln() + q);
                        lp = ln_add(lp, w.ln() + p);
                    }
                }
                Some((lq, lp))
            }
            _ => self.ln_cont_masses(la, lb),
        }
    }

    /// The split of one connect-the-dots bin (la, lb] with lower grid point ℓ_k: its Q-mass,
    /// P_k·e^{ℓ_k} = ρ·Q_k with ρ ∈ [e^{−h}, 1] (the conditional mean of e^{−(ℓ − ℓ_k)}), and
    /// bounds on the relative f64 errors of Q_k and of ρ. Where Q_k, P_k and e^{ℓ_k} are all in the
    /// normal f64 range they are used directly (64u each); otherwise (P-masses that underflow,
    /// losses beyond ~700) in log space ([`LossLaw::ln_cont_masses`]). `None` for an empty
    /// bin; [`BinSplit::skipped`] when its Q-mass underflows to 0.
    /// `xa`, `xb`: the inverses at la and lb ([`Args`]).
    fn bin_split(&self, la: f64, lb: f64, lk: f64, xa: Args, xb: Args) -> Option<BinSplit> {
        const U: f64 = f64::EPSILON / 2.0;
        let qb = self.mass_args(la, lb, xa, xb, true)?;
        let pb = self.mass_args(la, lb, xa, xb, false)?;
        let ek = lk.exp();
        if qb >= 1e-290 && pb >= 1e-290 && ek.is_finite() && ek >= 1e-290 {
            return Some(BinSplit {
                q: qb,
                pe: pb * ek,
                q_rel: 64.0 * U,
                rho_rel: 300.0 * U,
                skipped: false,
            });
        }
        let (lq, lp) = self.ln_masses_args(la, lb, xa, xb)?;
        let q = lq.exp();
        if lq == f64::NEG_INFINITY || q == 0.0 {
            return Some(BinSplit {
                q: 0.0,
                pe: 0.0,
                q_rel: 0.0,
                rho_rel: 0.0,
                skipped: lq > f64::NEG_INFINITY,
            });
        }
        let pe = (lp + lk).exp();
        let rho_rel = (64.0 * (4.0 + lp.abs() + lq.abs()) + 2.0 * lk.abs() + 8.0) * U;
        Some(BinSplit {
            q,
            pe,
            q_rel: 64.0 * (2.0 + lq.abs()) * U + 2.0 * U,
            rho_rel,
            skipped: false,
        })
    }

    /// The largest boundary safety shift η over the window of truncated mass τ (see
    /// [`LossLaw::discretise`]).
    pub fn max_boundary_shift(&self, h: f64, tau: f64) -> f64 {
        let (lo, hi) = self.window(tau);
        boundary_shift(self.slope(), lo.abs().max(hi.abs()) + 2.0 * h)
    }

    /// The bound on the error of ρ = P·e^{ℓ_k}/Q that connect-the-dots' safety margin may
    /// use at spacing h: 300u where the window stays within |ℓ| ≤ 600 (the direct path; a
    /// far-tail bin that needs the log path with a larger error is counted as lifted mass),
    /// else the largest log-path error over the window, with |ln Q| ≤ 745 (smaller Q-masses
    /// are skipped), |ln P| ≤ |ln Q| + |ℓ| + h (ρ ∈ [e^{−h}, 1]) and |ℓ| ≤ L = the window's
    /// reach (docs/math.md#pld-log-space-split).
    pub fn split_error_cap(&self, h: f64, tau: f64) -> f64 {
        const U: f64 = f64::EPSILON / 2.0;
        let (lo, hi) = self.window(tau);
        let l = lo.abs().max(hi.abs()) + 2.0 * h;
        if l <= 600.0 {
            300.0 * U
        } else {
            (64.0 * (4.0 + 2.0 * 745.0 + l + h) + 2.0 * l + 8.0) * U
        }
    }

    /// How much the split's conditional mean shift E[R(ℓ)] − ℓ may exceed the
    /// h²/8 + 5η + 300u·h/(1 − e^{−h}) of [`LossLaw::discretise_connect_dots`]: the margin
    /// for the error cap beyond 300u, h·(cap − 300u)/(1 − e^{−h}); 0 for windows within
    /// |ℓ| ≤ 600.
    pub fn split_mean_excess(&self, h: f64, tau: f64) -> f64 {
        const U: f64 = f64::EPSILON / 2.0;
        let em = -(-h).exp_m1();
        h * (self.split_error_cap(h, tau) - 300.0 * U).max(0.0) / em
    }

    /// Connect-the-dots discretisation (Doroshenko et al., PETS 2022, §4): the Q-mass of every
    /// bin (ℓ_k, ℓ_{k+1}] is split between its two end points so that the P-mass ∫e^{−ℓ}dQ is
    /// preserved: ℓ ↦ ℓ_k with probability (e^{−ℓ} − e^{−ℓ_{k+1}})/(e^{−ℓ_k} − e^{−ℓ_{k+1}}),
    /// else ℓ_{k+1}. The result is a dominating pair whose hockey-stick curve interpolates the
    /// exact one at the grid points (linearly in e^ε), so composing it gives a certified upper
    /// bound on δ(ε) with an O(h²) rather than O(h) error per summand.
    ///
    /// Down-mass of bin k: D_k = (P_k·e^{ℓ_k} − e^{−h}Q_k)/(1 − e^{−h}), with P_k, Q_k the
    /// bin's P- and Q-masses. D_k is lowered by a safety margin Q_k·(3η/h + 300u/(1 − e^{−h}))
    /// (clamped to [0, Q_k]) that covers the f64 error of P_k, Q_k and of the boundary
    /// evaluation (boundaries sit up to 2η below ℓ_k): moving Q-mass from ℓ_k up to ℓ_{k+1}
    /// only makes the law stochastically larger, so the pmf stays pessimistic. Seen as a
    /// random rounding ℓ ↦ R(ℓ) applied independently to every summand, it satisfies
    /// R(ℓ) − ℓ ∈ (−h, h + 2η) and E[R(ℓ)] − ℓ ≤ h²/8 + 5η + 300u·h/(1 − e^{−h}) (the exact
    /// split is mean-increasing by at most h²/8 for every h, by Hoeffding's lemma since
    /// E[e^{−R}] = e^{−ℓ} (docs/math.md#pld-mean-shift); the margin adds
    /// at most 3η + 300u·h/(1 − e^{−h}); boundary misplacement 2η), which is what the
    /// accountant's lower bound uses. The value error of Q_k (64u relative) goes to `err2`.
    ///
    /// Mass below the window is lifted to its first point (recorded in `lifted`), mass above
    /// goes to +∞. Returns `None` for laws with atoms, and where a bin mass is not a finite
    /// number (σ ≳ 1e200, where μ² underflows).
    pub fn discretise_connect_dots(&self, h: f64, tau: f64) -> Option<Pmf> {
        const U: f64 = f64::EPSILON / 2.0;
        if self.has_atoms() {
            return None;
        }
        let (lo, hi) = self.window(tau);
        // Callers size h so that the window holds a budgeted number of points; the saturating
        // arithmetic only keeps an out-of-contract h from wrapping around.
        let k_lo = ((lo / h).floor() as i64).saturating_sub(1);
        let k_hi = ((hi / h).ceil() as i64).saturating_add(1);
        let len = usize::try_from(k_hi.saturating_sub(k_lo).saturating_add(1)).unwrap_or(1);
        let slope = self.slope();
        // Boundary i sits at ℓ_{k_lo + i}, moved down by η (the safe direction).
        let bound_l = |i: usize| {
            let l = (k_lo + i as i64) as f64 * h;
            l - boundary_shift(slope, l)
        };
        let (f0, s0) = self.cont(bound_l(0));
        let (f_end, s_end) = self.cont(bound_l(len - 1));
        let em = -(-h).exp_m1();
        let mut masses = vec![0.0; len];
        let mut err_sq = 0.0;
        masses[0] += f0;
        let mut underflow = 0.0;
        let cap = self.split_error_cap(h, tau);
        let mut exceptional = 0.0;
        let mut xa = self.args_at(bound_l(0), Args::NONE);
        for j in 0..len - 1 {
            let (la, lb) = (bound_l(j), bound_l(j + 1));
            let xb = self.args_at(lb, xa);
            let lk = (k_lo + j as i64) as f64 * h;
            let split = self.bin_split(la, lb, lk, xa, xb)?;
            xa = xb;
            if split.skipped {
                // A Q-mass below the f64 range: counted as lumped error.
                underflow += f64::MIN_POSITIVE;
            }
            let qb = split.q;
            if qb == 0.0 {
                continue;
            }
            if !qb.is_finite() || !split.pe.is_finite() {
                // σ ≳ 1e200: μ² underflows and the bin's masses are 0/0. No grid can be
                // certified; the PLD accountant refuses (exit 1) on None.
                return None;
            }
            let eta = boundary_shift(slope, lk.abs() + h);
            let d = (split.pe - (1.0 - em) * qb) / em;
            if split.rho_rel > cap {
                // A far-tail bin whose margin exceeds what the mean-shift bound covers: its
                // mass counts as lifted (a lower reading subtracts it).
                exceptional += qb;
            }
            let margin = qb * (3.0 * eta / h + split.rho_rel / em);
            let d = (d - margin).clamp(0.0, qb);
            masses[j] += d;
            masses[j + 1] += qb - d;
            let e = split.q_rel * qb;
            err_sq += 2.0 * e * e;
        }
        // Atoms of laws without rounding-sensitive atoms sit exactly on a grid point (ℓ = 0 of
        // the symmetrised fixed-size-batch law, docs/math.md §17.7): R(ℓ) = ℓ, no split; the
        // mass's own f64 error (a few ulp, and ≤ 8u absolute for 1 − 2Φ̄) goes to err1.
        let mut atom_err = 0.0;
        for (x, p) in self.atoms() {
            let k = (x / h).round() as i64;
            debug_assert!(k as f64 * h == x, "invariant: a grid atom");
            let idx = (k - k_lo).clamp(0, len as i64 - 1) as usize;
            masses[idx] += p;
            atom_err += 8.0 * U * (1.0 + p);
        }
        let vt = |f: f64, s: f64| 16.0 * U * f.min(s);
        let mut pmf = Pmf {
            h,
            offset: k_lo,
            masses,
            inf_mass: s_end,
            rounding: Rounding::Pessimistic,
            err2: err_sq.sqrt(),
            err1: vt(f0, s0) + vt(f_end, s_end) + underflow + atom_err,
            lifted: f0 + exceptional * (1.0 + 1e-12),
            log_mgf: Vec::new(),
        };
        pmf.trim();
        pmf.init_mgf();
        Some(pmf)
    }

    /// Atoms (location, mass).
    pub fn atoms(&self) -> Vec<(f64, f64)> {
        match *self {
            LossLaw::Laplace { a } => vec![(-a, 0.5 * (-a).exp()), (a, 0.5)],
            LossLaw::Lattice(m) => {
                // Q-mass of ℓ_j is p_{J−j} (the mirror); masses rounded to nearest from a
                // 128-bit enclosure (relative error ≤ u, within the 2u per atom carried in err1).
                let l = m.law();
                (0..=l.top())
                    .map(|j| (l.atom(j), l.p[l.top() - j]))
                    .filter(|&(_, p)| p > 0.0)
                    .collect()
            }
            LossLaw::SubsampledLaplace { a, q, add } => {
                let (lo, hi) = (l_of(q, 1.0, 0.5 - a), l_of(q, 1.0, 0.5 + a));
                let (half, half_ea) = (0.5, 0.5 * (-a).exp());
                if add {
                    vec![(-hi, half_ea), (-lo, half)]
                } else {
                    vec![
                        (lo, (1.0 - q) * half + q * half_ea),
                        (hi, (1.0 - q) * half_ea + q * half),
                    ]
                }
            }
            // At ℓ = 0 exactly (a grid point): both discretisations keep it there or round
            // it safely, connect-the-dots adds it at its grid point (docs/math.md §17.7).
            LossLaw::WithoutReplacement { q, mu } => {
                vec![(0.0, crate::mechanism::without_replacement::atom(q, mu))]
            }
            _ => Vec::new(),
        }
    }

    /// A window [lo, hi] outside which the law has mass ≤ τ on each side.
    pub fn window(&self, tau: f64) -> (f64, f64) {
        let z = z_tail(tau);
        match *self {
            LossLaw::Gaussian { mu } => (0.5 * mu * mu - z * mu, 0.5 * mu * mu + z * mu),
            LossLaw::Laplace { a } => (-a, a),
            LossLaw::Lattice(m) => {
                let l = m.law();
                (l.atom(0), l.atom(l.top()))
            }
            LossLaw::SubsampledRemove { q, mu } => ((-q).ln_1p(), l_of(q, mu, mu + z)),
            LossLaw::SubsampledAdd { q, mu } => (-l_of(q, mu, z), -(-q).ln_1p()),
            LossLaw::SubsampledLaplace { a, q, add } => {
                let (lo, hi) = (l_of(q, 1.0, 0.5 - a), l_of(q, 1.0, 0.5 + a));
                if add {
                    (-hi, -lo)
                } else {
                    (lo, hi)
                }
            }
            LossLaw::Mixture(m) => {
                // Q-mass below x_lo and above x_hi is ≤ τ (every component's tail is).
                let (qlo, qhi) = (m.q_side().min_mean(), m.q_side().max_mean());
                let (lo, hi) = m.range();
                (m.loss(qlo - z).max(lo), m.loss(qhi + z).min(hi))
            }
            // Q-mass below: N(0, 1) beyond z; above: the mixture beyond μ + z.
            LossLaw::WithoutReplacement { q, mu } => {
                (-l_of(q, mu, z).max(0.0), l_of(q, mu, mu + z).max(0.0))
            }
            LossLaw::Union(u) => {
                // Each component has Q-mass ≤ τ beyond its window on each side, so the
                // weighted sum has too beyond the union of the windows.
                let (wa, wb) = u.weights();
                let mut out = (f64::INFINITY, f64::NEG_INFINITY);
                for (w, c) in [(wa, u.a), (wb, u.b)] {
                    if w > 0.0 {
                        let (lo, hi) = LossLaw::Mixture(c).window(tau);
                        out = (out.0.min(lo), out.1.max(hi));
                    }
                }
                out
            }
        }
    }

    /// A scale of the law's argument in loss units, for the safety shift of grid boundaries
    /// (|dℓ/dx| ≤ μ for the Gaussian-based laws).
    pub fn slope(&self) -> f64 {
        match *self {
            LossLaw::Gaussian { mu }
            | LossLaw::SubsampledRemove { mu, .. }
            | LossLaw::SubsampledAdd { mu, .. }
            | LossLaw::WithoutReplacement { mu, .. } => mu,
            LossLaw::Laplace { a } => a,
            LossLaw::Lattice(m) => {
                let l = m.law();
                l.atom(l.top())
            }
            LossLaw::SubsampledLaplace { a, .. } => a,
            LossLaw::Mixture(m) => m.slope(),
            LossLaw::Union(u) => u.a.slope().max(u.b.slope()),
        }
    }

    /// Discretise on the grid ℓ_k = k·h with the given rounding, keeping mass ≤ τ outside
    /// the window (pessimistic: mass below the window is rounded up to its first point, mass
    /// above goes to +∞; optimistic: mass below is dropped, mass above is rounded down to the
    /// last point).
    ///
    /// Grid boundaries are evaluated shifted by η = 1e−11·(1 + slope + |ℓ|) in the safe
    /// direction (down for pessimistic, up for optimistic), which covers the f64 error of the
    /// argument x(ℓ); the value error of each F/S evaluation (≤ 16u·min(F, S)) is carried in
    /// the pmf's error bounds.
    pub fn discretise(&self, h: f64, tau: f64, rounding: Rounding) -> Pmf {
        const U: f64 = f64::EPSILON / 2.0;
        let (lo, hi) = self.window(tau);
        // One spare point at each end keeps atoms at the window's edges inside it.
        // As in `discretise_connect_dots`: saturating, so that an out-of-contract h cannot
        // wrap the indices around.
        let k_lo = ((lo / h).floor() as i64).saturating_sub(1);
        let k_hi = ((hi / h).ceil() as i64).saturating_add(1);
        let len = usize::try_from(k_hi.saturating_sub(k_lo).saturating_add(1)).unwrap_or(1);
        let slope = self.slope();
        let eta = |l: f64| boundary_shift(slope, l);
        // Boundary values: b_i for i = 0..=len: the boundary between bins.
        // Pessimistic: bin k collects (ℓ_{k−1}, ℓ_k]; optimistic: [ℓ_k, ℓ_{k+1}).
        let pess = rounding == Rounding::Pessimistic;
        let mut f = Vec::with_capacity(2);
        let mut s = Vec::with_capacity(2);
        // Pessimistic boundary i sits at ℓ_{k_lo + i − 1} (i = 0: below the window);
        // optimistic boundary i at ℓ_{k_lo + i}; both moved by η in the safe direction.
        let bound_l = |i: usize| {
            let k = if pess {
                k_lo + i as i64 - 1
            } else {
                k_lo + i as i64
            };
            let l = k as f64 * h;
            if pess {
                l - eta(l)
            } else {
                l + eta(l)
            }
        };
        for i in [0, len] {
            let (a, b) = self.cont(bound_l(i));
            f.push(a);
            s.push(b);
        }
        let mut masses = vec![0.0; len];
        let mut err_sq = 0.0;
        let vt = |i: usize| 16.0 * U * f[i].min(s[i]);
        let (f0, s_end) = (f[0], s[1]);
        let mut xa = self.args_at(bound_l(0), Args::NONE);
        for (k, m) in masses.iter_mut().enumerate() {
            let (la, lb) = (bound_l(k), bound_l(k + 1));
            let xb = self.args_at(lb, xa);
            *m = self
                .mass_args(la, lb, xa, xb, true)
                .unwrap_or_else(|| self.cont_mass(la, lb));
            xa = xb;
            let e = 64.0 * U * *m;
            err_sq += e * e;
        }
        let mut inf_mass = 0.0;
        let mut err1 = 0.0;
        // Tails: pessimistic bottom (F at boundary 0) joins bin 0, top (S at boundary len)
        // goes to +∞; optimistic bottom (F at boundary 0) is dropped, top joins the last bin.
        if pess {
            masses[0] += f0;
            inf_mass += s_end;
        } else {
            masses[len - 1] += s_end;
        }
        err1 += vt(0) + vt(1);
        for (x, p) in self.atoms() {
            let t = x / h;
            let k = if pess {
                let mut k = t.ceil() as i64;
                if (k as f64) * h < x + eta(x) {
                    k += 1;
                }
                k
            } else {
                let mut k = t.floor() as i64;
                if (k as f64) * h > x - eta(x) {
                    k -= 1;
                }
                k
            };
            let idx = (k - k_lo).clamp(0, len as i64 - 1) as usize;
            if pess && k > k_hi {
                inf_mass += p;
            } else if !pess && k < k_lo {
                // dropped
            } else {
                masses[idx] += p;
            }
            err1 += 2.0 * U * p;
        }
        if let LossLaw::Lattice(m) = self {
            // Mass beyond both ends of a law with a tail (the discrete Gaussian) and the f64
            // masses' underflow (≤ 2^−1074 each), as ℓ1 error (docs/math.md §16.7).
            let l = m.law();
            err1 += 2.0 * l.tail + (l.top() as f64 + 1.0) * f64::from_bits(1);
        }
        let mut pmf = Pmf {
            h,
            offset: k_lo,
            masses,
            inf_mass,
            rounding,
            err2: err_sq.sqrt(),
            err1,
            lifted: if pess { f0 } else { 0.0 },
            log_mgf: Vec::new(),
        };
        pmf.trim();
        pmf.init_mgf();
        pmf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_of_the_subsampled_loss_round_trips() {
        for &(q, mu) in &[(0.01, 1.25), (0.1, 1.0 / 0.6), (0.5, 0.25)] {
            for &x in &[-5.0, -1.0, 0.0, 1.0, 3.0, 8.0, 30.0] {
                let l = l_of(q, mu, x);
                let back = x_of(q, mu, l);
                assert!(
                    (back - x).abs() < 1e-6 * (1.0 + x.abs()),
                    "q={q} mu={mu} x={x}: l={l} back={back}"
                );
            }
        }
    }

    #[test]
    fn connect_the_dots_keeps_q_mass_and_interpolates_the_hockey_stick() {
        let laws = [
            LossLaw::Gaussian { mu: 1.0 },
            LossLaw::SubsampledRemove { q: 0.01, mu: 1.25 },
            LossLaw::SubsampledAdd { q: 0.01, mu: 1.25 },
        ];
        for law in laws {
            let h = 1e-2;
            let p = law.discretise_connect_dots(h, 1e-18).expect("no atoms");
            let tot: f64 = p.masses.iter().sum::<f64>() + p.inf_mass;
            // Tolerance: 1e-12 on a total of 1 (f64 sums of ~1e3 terms).
            assert!((tot - 1.0).abs() < 1e-12, "{law:?}: {tot}");
            // At grid points the connect-the-dots δ equals the exact one, up to the safety
            // margin and never below it. Tolerance: 1e-6 relative plus 1e-13 absolute (the
            // reference δ(ℓ_k) = Σ over bins above ℓ_k of Q_b − e^{ℓ_k}P_b cancels in f64).
            for k in [0i64, 1, 3, 10] {
                let eps = k as f64 * h;
                let (_, hi) = law.window(1e-18);
                let mut exact = law.cont(hi + 1.0).1;
                let mut l = eps;
                while l < hi + 1.0 {
                    let (a, b) = (l, l + h);
                    exact += law.cont_mass(a, b) - eps.exp() * law.cont_mass_p(a, b).unwrap_or(0.0);
                    l = b;
                }
                let ctd = p.delta_raw(eps);
                assert!(
                    ctd >= exact * (1.0 - 1e-9) - 1e-13 && ctd <= exact * (1.0 + 1e-6) + 1e-13,
                    "{law:?} eps {eps}: ctd {ctd:e} exact {exact:e}"
                );
            }
        }
    }

    #[test]
    fn discretised_masses_sum_to_one() {
        let laws = [
            LossLaw::Gaussian { mu: 1.0 },
            LossLaw::Laplace { a: 0.5 },
            LossLaw::SubsampledRemove { q: 0.01, mu: 1.25 },
            LossLaw::SubsampledAdd { q: 0.01, mu: 1.25 },
        ];
        for law in laws {
            for r in [Rounding::Pessimistic, Rounding::Optimistic] {
                let p = law.discretise(1e-3, 1e-18, r);
                let tot: f64 = p.masses.iter().sum::<f64>() + p.inf_mass;
                assert!((tot - 1.0).abs() < 1e-12, "{law:?} {r:?}: {tot}");
            }
        }
    }
}
