//! The moment generating function M(z) = E_P[e^{zL}] of a privacy loss at complex z = λ + it,
//! with an explicit error bound, for the contour accountant (docs/math.md §6).
//!
//! Conventions: for the remove ordering L is the remove PLLR under P. The add ordering has PLLR
//! −L under P_add = Q, so M_add(z) = E_Q[e^{−zL}] = E_P[e^{(1−z)L}] = M_remove(1 − z).
//!
//! # Methods
//! - **Gaussian**: M(z) = exp(z(z−1)μ²/2) (both orderings), exact up to rounding.
//! - **Laplace** (a = 1/b; both orderings have the same PLLR law): under P, L has an atom ½ at −a,
//!   an atom e^{−a}/2 at +a and density (a/2)e^{−ax} for L = a(2x − 1), x ∈ (0, 1), so
//!   M(z) = A(z) + C(z) with the atom part A(z) = ½e^{−za} + ½e^{(z−1)a} and the continuous part
//!   C(z) = (e^{(z−1)a} − e^{−za}) / (2(2z − 1)) (check: M(0) = M(1) = 1).
//! - **Poisson-subsampled Gaussian**: F(ζ) = ∫ e^{ζL(x)}φ(x)dx by the trapezoid on ℝ in f64
//!   complex arithmetic (ζ = z for remove, 1 − z for add). Error terms, all added to the
//!   returned bound:
//!   * discretisation (Trefethen–Weideman, SIAM Review 56 (2014), Thm 5.1): g(x) = e^{ζL}φ is
//!     analytic for |Im x| < π/μ; for |Im x| = b ≤ a ≤ π/(2μ), with θ = μb,
//!     |Im L(x+ib)| ≤ |θ| (the argument of (1−q) + q e^{w}e^{iθ} lies between 0 and θ),
//!     L(x) + ln cos(θ/2) ≤ Re L(x+ib) ≤ L(x) (|u + v| ≥ (|u|+|v|)cos(θ/2) for an angle θ between
//!     u and v), and |φ(x+ib)| = φ(x)e^{b²/2}; hence ∫|g(x+ib)| ≤ e^{a²/2 + |Im ζ|μa + c}·F(Re ζ)
//!     with c = |Re ζ|·|ln cos(μa/2)| when Re ζ < 0 (else 0), and the error is ≤ 2M/(e^{2πa/h} − 1).
//!     The step h is chosen from this bound, so it resolves the oscillation e^{i Im ζ·L}
//!     (h ≈ 2π/(|Im ζ|μ) for large |Im ζ|);
//!   * truncation: on the real line e^{αL} ≤ max(1, 2^{α−1})(1 + q^α e^{αw}) for α = Re ζ ≥ 0
//!     ((u + v)^α ≤ max(1, 2^{α−1})(u^α + v^α)), with e^{αw}φ(x) = e^{α(α−1)μ²/2}φ(x − αμ), and
//!     e^{αL} ≤ (1 − q)^α for α < 0; beyond the last node the majorant is monotone, so the omitted
//!     nodes sum to at most its integral (closed-form normal tails);
//!   * rounding (running error analysis, u = 2^{−53}): each term e^{αL_j − x_j²/2 − m}e^{iβL_j}
//!     carries a relative error ≤ u(8 + x_j² + 2|ζ||L_j|) + |ζ|·δL_j with δL_j ≤ u(4|L_j| +
//!     2|μx_j| + 2μ²) the error of L_j (log1p/expm1 and the affine w are within a few ulp); the
//!     Neumaier-compensated sums of the real and imaginary parts add ≤ 3u·Σ|terms|; the final
//!     scaling and logarithm add 16u|M̃|.
//!
//! - **Gaussian-mixture pairs** ([`mixture`], docs/math.md §17.9): the same trapezoid for
//!   M(ζ) = ∫ r_P^{1−ζ} r_Q^{ζ} φ dx with the strip, truncation and rounding bounds generalised
//!   to finite mixtures with a common variance.
//!
//! # Guarantee
//! [`MgfValue::ln_err`] is the logarithm of an upper bound on |M̃ − M| (absolute), under the
//! assumption that the platform's exp, ln, sin, cos, log1p and expm1 are faithful to a few ulp
//! (glibc's are, to ≤ 1 ulp); the constants above carry a factor ≥ 2 of slack for that. The real
//! integral F(Re ζ) in the strip majorant is replaced by twice its trapezoid value (whose own
//! error is below 1e−15 relative). Real-λ summaries ([`Transform::cgf`], [`Transform::decay`])
//! are f64 estimates with the documented safety margins.
//!
//! # References
//! Trefethen & Weideman, *The exponentially convergent trapezoidal rule*, SIAM Review 56 (2014),
//! Thm 5.1; Higham, *Accuracy and Stability of Numerical Algorithms* (2002), §4.3 (summation).

use crate::cgf::subsampled_node_range as node_range;
use crate::cgf::{gaussian_f64, laplace_f64, CgfValue, SubsampledTrapezoid, TiltedMoments};
use crate::mechanism::mixture::MixtureLaw;
use crate::mechanism::{Direction, Mechanism};
use crate::special::normal;
use crate::special::quadrature::log1p_qexpm1;
pub use crate::special::sum::logsumexp;
use crate::special::sum::Neumaier;
use rayon::prelude::*;
use std::f64::consts::{LN_2, PI};

/// Complex f64.
pub type C64 = nalgebra::Complex<f64>;

/// Unit roundoff of f64 (2^{−53}).
pub const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;

const LN_SQRT_2PI: f64 = normal::LN_SQRT_2PI;

/// Most x-nodes one quadrature of a transform allocates, whatever its caller asks: a backstop
/// for the contour's own per-call budget (4·10⁶, checked before each evaluation is planned).
/// Beyond it the quadrature returns no enclosure (a NaN value with an infinite error bound,
/// which every caller treats as not certified) instead of allocating: 10⁷ nodes are a few
/// hundred MB of work vectors.
pub(crate) const MAX_QUADRATURE_NODES: f64 = 1e7;

/// The answer of a quadrature over [`MAX_QUADRATURE_NODES`]: no enclosure at any point.
fn no_enclosure(points: usize) -> Vec<MgfValue> {
    vec![
        MgfValue {
            ln: C64::new(f64::NAN, 0.0),
            ln_err: f64::INFINITY,
        };
        points
    ]
}

pub mod mixture;
pub mod sublaplace;
pub mod wor;
pub use self::mixture::{mixture_ln_mgf, MixturePair};
pub use self::sublaplace::{AtomPair, SubLaplace};
pub mod upper;
pub use self::wor::WorPair;
pub mod union;
pub use self::union::Union;

/// ln M̃(z) and a bound on the error of M̃.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MgfValue {
    /// ln M̃(z) (principal branch; only e^{n ln M̃} with integer n is used).
    pub ln: C64,
    /// ln of an upper bound on |M̃(z) − M(z)| (absolute); −∞ when the bound is 0.
    pub ln_err: f64,
}

/// A bound on |M(λ + it)| / M(λ) for one step (the characteristic function of the tilted law).
// One Decay per factor per contour, passed by reference in the scans: the 640-byte Density
// variant (fixed-size split table, to stay Copy) costs nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decay {
    /// Gaussian: exactly exp(−t²μ²/2).
    Gaussian {
        /// μ².
        mu2: f64,
    },
    /// A PLLR with a smooth density: min(1, |1 − t²σ²/2| + |t|³ρ₃/6, TV/|t|, min_k (p_k + C_k/|t|)),
    /// with σ² and ρ₃ the variance and absolute third central moment of the tilted law of L and
    /// TV the total variation of its density (|E e^{itY}| ≤ TV/|t| by one integration by parts).
    ///
    /// The split bounds ([`Split`]) cut the x-line at a point x_k: the tilted mass below x_k is
    /// p_k, and above it one integration by parts of ∫_{x_k}^∞ e^{itL}·g·L' dx (g the tilted
    /// density of L as a function of x) gives |·| ≤ (g(x_k) + TV_{[x_k,∞)}g)/|t| = C_k/|t|. For a
    /// nearly atomic PLLR (Poisson subsampling at small q: most of the mass sits in a narrow
    /// spike near ln(1−q), so TV is huge) this keeps a bound below 1 at moderate t, which is all
    /// a long composition needs (the n-th power of p_k < 1 is tiny). The part below the cut is
    /// bounded by p_k times the third-moment bound of its own conditional law, which sees the
    /// spike's width (~q) where p_k alone sees only its mass.
    Density(DensityDecay),
    /// Two atoms and a continuous part (Poisson-subsampled Laplace, docs/math.md §15.6.3):
    /// |A(λ+it)| ≤ A(λ) and |C(λ+it)| ≤ min(C(λ), k/|t|); all as ratios to M(λ).
    TwoAtoms {
        /// Upper bound on A(λ)/M(λ).
        atom: f64,
        /// Upper bound on C(λ)/M(λ).
        cont: f64,
        /// Upper bound on 2(φ(ℓ₋) + φ(ℓ₊))/M(λ).
        k: f64,
    },
    /// Laplace: |A(λ+it)| ≤ A(λ) and |C(λ+it)| ≤ c/|2z − 1|; both as ratios to M(λ).
    Laplace {
        /// A(λ)/M(λ).
        atom: f64,
        /// c/M(λ) with c = (e^{(λ−1)a} + e^{−λa})/2.
        cont: f64,
        /// 2λ − 1.
        two_l1: f64,
    },
    /// The symmetrised fixed-size-batch pair (docs/math.md §17.11): an atom at 0 plus a
    /// continuous part C with |C(λ+it)| ≤ cont·M(λ)/|t|; also the third-moment bound of the
    /// whole tilted law (as in `Density`).
    AtomAtZero {
        /// (a + its error)/M(λ).
        atom: f64,
        /// (K₁ + K₂)/M(λ).
        cont: f64,
        /// Lower bound on the tilted variance.
        var_lo: f64,
        /// Upper bound on the tilted E|ℓ − mean|³.
        rho3_hi: f64,
    },
}

/// The parameters of [`Decay::Density`] (docs/math.md §10.5), all upper or lower bounds as
/// named: the bound at t is min(1, |1 − t²σ²/2| + |t|³ρ₃/6, TV/|t|, min_k (p_k + C_k/|t|)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DensityDecay {
    /// Lower bound on the tilted variance σ².
    pub var_lo: f64,
    /// Upper bound on the tilted E|L − mean|³.
    pub rho3_hi: f64,
    /// Upper bound on TV of the tilted density (normalised to mass 1).
    pub tv_hi: f64,
    /// Split bounds (upper bounds; unused slots hold [`Split::UNUSED`]).
    pub splits: [Split; SPLITS],
}

impl DensityDecay {
    /// The bound at |t| = t ≥ 0 ([`Decay::bound`]).
    fn bound(&self, t: f64) -> f64 {
        if t == 0.0 {
            return 1.0;
        }
        let mut best = (self.tv_hi / t).min(1.0);
        // The third-moment bound is at least |t|³ρ₃/6: where that already reaches the
        // others it cannot be the minimum (the contour's scans evaluate ~10⁵ large t).
        if t * t * t * self.rho3_hi / 6.0 < best {
            // |E e^{itY}| ≤ |1 − t²σ²/2| + |t|³ρ₃/6 with σ² known only to lie in
            // [var_lo, ρ₃^{2/3}] (Lyapunov: (E|Y|²)^{1/2} ≤ (E|Y|³)^{1/3}). |1 − x| is
            // convex in x, so its supremum over the enclosure is at one of the two ends.
            best = best.min(third_moment(self.var_lo, self.rho3_hi, t));
        }
        // The splits last: the smaller the minimum so far, the more of them are pruned.
        split_bound(&self.splits, t, best)
    }

    /// An upper bound on the bound over ta ≤ |t| ≤ tb ([`Decay::bound_over`]).
    fn bound_over(&self, ta: f64, tb: f64) -> f64 {
        let whole = third_moment_over(
            self.var_lo,
            lyapunov_var_hi(self.rho3_hi),
            self.rho3_hi,
            ta,
            tb,
        );
        self.splits
            .iter()
            .map(|s| {
                let m = third_moment_over(s.var_lo, s.var_hi(), s.rho3_hi, ta, tb);
                s.p * m.min(1.0) + s.c / ta
            })
            .fold((self.tv_hi / ta).min(whole).min(1.0), f64::min)
    }
}

impl Decay {
    /// The bound at t.
    pub fn bound(&self, t: f64) -> f64 {
        let t = t.abs();
        match *self {
            Decay::Gaussian { mu2 } => (-0.5 * t * t * mu2).exp(),
            Decay::Density(ref d) => d.bound(t),
            Decay::Laplace { atom, cont, two_l1 } => {
                (atom + cont / (two_l1 * two_l1 + 4.0 * t * t).sqrt()).min(1.0)
            }
            Decay::TwoAtoms { atom, cont, k } => {
                (atom + Decay::two_atoms_cont(cont, k, t)).min(1.0)
            }
            Decay::AtomAtZero {
                atom,
                cont,
                var_lo,
                rho3_hi,
            } => third_moment(var_lo, rho3_hi, t)
                .min(atom + cont / t)
                .min(1.0),
        }
    }

    /// An upper bound on [`Decay::bound`] over every t with `ta` ≤ |t| ≤ `tb` (0 < ta ≤ tb),
    /// for bounding a run of nodes at once (docs/math.md §10.5, "Runs of nodes").
    ///
    /// Each term of the minimum is bounded by its supremum over the interval: TV/|t|,
    /// C_k/|t|, the atoms' continuous parts and the Gaussian at ta; the third-moment terms
    /// |1 − t²σ²/2| + |t|³ρ₃/6 by max(1 − ta²σ²_lo/2, tb²σ²_hi/2 − 1) + tb³ρ₃/6 (x = t²σ²/2 grows
    /// with t and with σ², and |1 − x| = max(1 − x, x − 1) is the larger of a decreasing and an
    /// increasing function of x). A minimum of upper bounds bounds the minimum.
    pub fn bound_over(&self, ta: f64, tb: f64) -> f64 {
        match *self {
            Decay::Gaussian { .. } | Decay::Laplace { .. } | Decay::TwoAtoms { .. } => {
                self.bound(ta)
            }
            Decay::Density(ref d) => d.bound_over(ta, tb),
            Decay::AtomAtZero {
                atom,
                cont,
                var_lo,
                rho3_hi,
            } => third_moment_over(var_lo, lyapunov_var_hi(rho3_hi), rho3_hi, ta, tb)
                .min(atom + cont / ta)
                .min(1.0),
        }
    }

    /// A power-law envelope valid for t ≥ `c`: bound(t) ≤ k·(c/t)^p. Returns (ln k, c, p) where
    /// k may depend on `t_min` (the envelope holds for t ≥ t_min ≥ c).
    pub fn envelope(&self, t_min: f64) -> (f64, f64, f64) {
        match *self {
            // e^{−x²/2} ≤ (p/e)^{p/2} x^{−p}; p = 8.
            Decay::Gaussian { mu2 } => (0.0, (8.0 / std::f64::consts::E).sqrt() / mu2.sqrt(), 8.0),
            // Beyond t_min the TV and split bounds are non-increasing (the third-moment bounds
            // are dropped): either the power law TV/t or the constant min_k(p_k + C_k/t_min).
            Decay::Density(DensityDecay {
                tv_hi, ref splits, ..
            }) => {
                let k = splits
                    .iter()
                    .map(|s| s.p + s.c / t_min)
                    .fold(f64::INFINITY, f64::min);
                if t_min > 0.0 && k < 1.0 && k < tv_hi / t_min {
                    (k.ln(), 0.0, 0.0)
                } else {
                    (0.0, tv_hi, 1.0)
                }
            }
            Decay::Laplace { .. } | Decay::TwoAtoms { .. } | Decay::AtomAtZero { .. } => {
                (self.bound(t_min).ln(), 0.0, 0.0)
            }
        }
    }

    /// The continuous part's bound min(C(λ), k/|t|) of [`Decay::TwoAtoms`] (ratios to M(λ)).
    pub fn two_atoms_cont(cont: f64, k: f64, t: f64) -> f64 {
        let t = t.abs();
        if t > 0.0 {
            cont.min(k / t)
        } else {
            cont
        }
    }
}

/// |1 − t²σ²/2| + |t|³ρ₃/6 with σ² ∈ [var_lo, ρ₃^{2/3}] (docs/math.md §10.5), t ≥ 0.
fn third_moment(var_lo: f64, rho3_hi: f64, t: f64) -> f64 {
    third_moment_with(var_lo, lyapunov_var_hi(rho3_hi), rho3_hi, t)
}

/// ρ₃^{2/3}·(1 + 1e−12): an upper bound on the variance of a law whose third absolute central
/// moment is at most ρ₃ (Lyapunov), rounding included.
fn lyapunov_var_hi(rho3_hi: f64) -> f64 {
    rho3_hi.powf(2.0 / 3.0) * (1.0 + 1e-12)
}

/// [`third_moment`] with the upper end of the variance enclosure given (`var_hi` ≥ the
/// Lyapunov bound of `rho3_hi`, as [`lyapunov_var_hi`] computes it).
fn third_moment_with(var_lo: f64, var_hi: f64, rho3_hi: f64, t: f64) -> f64 {
    let x_lo = 0.5 * t * t * var_lo;
    let x_hi = 0.5 * t * t * var_hi.max(var_lo);
    (1.0 - x_lo).abs().max((1.0 - x_hi).abs()) + t * t * t * rho3_hi / 6.0
}

/// The supremum of |1 − t²σ²/2| + |t|³ρ₃/6 over ta ≤ t ≤ tb and σ² ∈ [var_lo, var_hi]
/// (bounded as in [`Decay::bound_over`]); at ta = tb it is [`third_moment_with`].
fn third_moment_over(var_lo: f64, var_hi: f64, rho3_hi: f64, ta: f64, tb: f64) -> f64 {
    let x_lo = 0.5 * ta * ta * var_lo;
    let x_hi = 0.5 * tb * tb * var_hi.max(var_lo);
    (1.0 - x_lo).max(x_hi - 1.0) + tb * tb * tb * rho3_hi / 6.0
}

/// Run length of the plain partial sums of [`subsampled_mgf_windowed`] with [`SumScheme::block`] > 0.
pub const SUM_BLOCK: usize = 32;

/// How a batch of phase sums Σ_j w_j e^{iβ_k L_j} over one x-grid is run (docs/math.md §10.4,
/// §10.9.1). The scheme changes the work and the rounding bound, which every value's error term
/// carries; it never changes what is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SumScheme {
    /// Propagated phases per sin/cos seed (0: every phase by sin/cos; runs of `rotations` + 1
    /// equally spaced β otherwise).
    pub rotations: usize,
    /// Plain partial sums of this many terms, compensated between them (0: every term
    /// compensated; only [`SUM_BLOCK`] is used with propagated phases).
    pub block: usize,
}

impl SumScheme {
    /// Every phase by sin/cos, every term compensated.
    pub const DIRECT: SumScheme = SumScheme {
        rotations: 0,
        block: 0,
    };
}

/// Number of split bounds carried by [`Decay::Density`].
pub const SPLITS: usize = 40;

/// One split bound of [`Decay::Density`] (docs/math.md §10.5): the x-line is cut at x_k; the
/// tilted law's part below the cut has mass at most `p`, and its conditional law of L the
/// variance and third absolute central moment bounded by `var_lo` and `rho3_hi`; the part above
/// has a transform of modulus at most `c`/|t|. So |E e^{itL}| ≤ p·min(1, |1 − t²σ²/2| +
/// |t|³ρ₃/6) + c/|t| with σ² ∈ [`var_lo`, `rho3_hi`^{2/3}] (the conditional law's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    /// Upper bound on the tilted mass below the cut.
    pub p: f64,
    /// Upper bound on |t|·|transform of the part above the cut|.
    pub c: f64,
    /// Lower bound on the variance of L below the cut, conditionally (0: not known).
    pub var_lo: f64,
    /// Upper bound on E|L − m|³ below the cut, conditionally, m its conditional mean (∞: not
    /// known).
    pub rho3_hi: f64,
    /// Upper end of the variance enclosure, `rho3_hi`^{2/3}·(1 + 1e−12) (Lyapunov), computed
    /// once by [`Split::new`] because the scans evaluate the bound at ~10⁵–10⁶ t.
    var_hi: f64,
    /// The `rho3_hi` that `var_hi` was computed from ([`Split::var_hi`] recomputes it when the
    /// public field has been changed since).
    var_hi_of: f64,
}

impl Split {
    /// The trivial split |E e^{itL}| ≤ 1.
    pub const UNUSED: Split = Split {
        p: 1.0,
        c: 0.0,
        var_lo: 0.0,
        rho3_hi: f64::INFINITY,
        var_hi: f64::INFINITY,
        var_hi_of: f64::INFINITY,
    };

    /// A split with mass `p` below the cut, `c` for the part above, and the conditional
    /// moment bounds `var_lo` (0: unknown) and `rho3_hi` (∞: unknown) of the part below.
    pub fn new(p: f64, c: f64, var_lo: f64, rho3_hi: f64) -> Split {
        Split {
            p,
            c,
            var_lo,
            rho3_hi,
            var_hi: lyapunov_var_hi(rho3_hi),
            var_hi_of: rho3_hi,
        }
    }

    /// The Lyapunov upper end of the variance enclosure of the part below the cut.
    fn var_hi(&self) -> f64 {
        if self.var_hi_of == self.rho3_hi {
            self.var_hi
        } else {
            lyapunov_var_hi(self.rho3_hi)
        }
    }

    /// The bound at t > 0.
    pub fn bound(&self, t: f64) -> f64 {
        self.below(t) + self.c / t
    }

    /// The part below the cut: p·min(1, |1 − t²σ²/2| + |t|³ρ₃/6).
    fn below(&self, t: f64) -> f64 {
        if self.p > 0.0 && t * t * t * self.rho3_hi / 6.0 < 1.0 {
            let m = third_moment_with(self.var_lo, self.var_hi(), self.rho3_hi, t);
            self.p * m.min(1.0)
        } else {
            self.p
        }
    }
}

/// min(`best`, min_k (split bound k at t)) (t > 0). The scans evaluate this at ~10⁵–10⁶ t per
/// contour, so a split is skipped where p·clamp(1 − t²σ²_lo/2, 0, 1) + c/t, a lower bound on its value in the
/// same floating-point operations (the moment factor is at least |1 − t²σ²_lo/2|), already
/// reaches the minimum so far: the result is the same minimum, without the powers of the
/// skipped splits.
fn split_bound(splits: &[Split; SPLITS], t: f64, mut best: f64) -> f64 {
    let half_t2 = 0.5 * t * t;
    for s in splits {
        let above = s.c / t;
        if s.p * (1.0 - half_t2 * s.var_lo).clamp(0.0, 1.0) + above < best {
            best = best.min(s.below(t) + above);
        }
    }
    best
}

/// The transform M(z) of one mechanism in one ordering.
// The Mixture variant holds the pair's component lists inline (Copy, a few hundred bytes).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transform {
    /// Gaussian with μ = 1/σ.
    Gaussian {
        /// μ.
        mu: f64,
    },
    /// Laplace with a = 1/b.
    Laplace {
        /// a.
        a: f64,
    },
    /// Poisson-subsampled Laplace, q < 1 (docs/math.md §15.6): M(z) = F(z) (remove) or
    /// F(1 − z) (add).
    SubsampledLaplace {
        /// The pair.
        law: SubLaplace,
        /// Add ordering.
        add: bool,
    },
    /// Poisson-subsampled Gaussian, q < 1.
    Subsampled {
        /// q.
        q: f64,
        /// μ.
        mu: f64,
        /// Add ordering (M(z) = F(1 − z)).
        add: bool,
    },
    /// A Gaussian-mixture pair in one ordering (docs/math.md §17.9): M(z) = E_P[e^{zL}] with
    /// (P, Q) the ordering's law (the add ordering is the swapped, reflected pair).
    Mixture {
        /// The ordering's pair, L = ln dQ/dP non-decreasing.
        law: MixtureLaw,
    },
    /// The symmetrised fixed-size-batch pair (docs/math.md §17.11; symmetric, both orderings).
    Wor(WorPair),
    /// A weighted disjoint union of component pairs in one ordering (truncated Poisson,
    /// docs/math.md §17.10): M(z) = Σ_k w_k M_k(z).
    Union {
        /// The weights (with their error bounds) and the components.
        u: Union,
    },
}

impl Transform {
    /// The transform of `mechanism` in the given ordering (q = 1 is the Gaussian exactly).
    pub fn new(mechanism: &Mechanism, direction: Direction) -> Transform {
        match mechanism {
            Mechanism::Gaussian(g) => Transform::Gaussian { mu: g.mu() },
            Mechanism::Laplace(l) => Transform::Laplace { a: l.epsilon0() },
            Mechanism::SubsampledGaussian(s) => {
                if s.sampling_rate() == 1.0 {
                    Transform::Gaussian {
                        mu: 1.0 / s.sigma(),
                    }
                } else {
                    Transform::Subsampled {
                        q: s.sampling_rate(),
                        mu: 1.0 / s.sigma(),
                        add: direction == Direction::Add,
                    }
                }
            }
            // Never planned: the contour accountant answers a composition with a lattice
            // mechanism by exact lattice composition before any plan is made (lattice.rs). A NaN
            // transform would make every error term NaN, which the accountant refuses.
            Mechanism::RandomizedResponse(_) | Mechanism::DiscreteLaplace(_) => {
                Transform::Gaussian { mu: f64::NAN }
            }
            // q = 1 is the Laplace mechanism exactly.
            Mechanism::SubsampledLaplace(s) if s.sampling_rate() == 1.0 => {
                Transform::Laplace { a: s.epsilon0() }
            }
            Mechanism::SubsampledLaplace(s) => Transform::SubsampledLaplace {
                law: SubLaplace {
                    q: s.sampling_rate(),
                    a: s.epsilon0(),
                },
                add: direction == Direction::Add,
            },
            // Never planned either: a lattice mechanism (exact lattice composition, above).
            Mechanism::DiscreteGaussian(_) => Transform::Gaussian { mu: f64::NAN },
            // Fixed-size batches: the symmetrised pair (b = n is the Gaussian at σ/2).
            Mechanism::GaussianMixture(crate::mechanism::GaussianMixture::WithoutReplacement(
                w,
            )) => {
                if w.is_full_batch() {
                    Transform::Gaussian { mu: w.mu() }
                } else {
                    Transform::Wor(WorPair {
                        q: w.sampling_rate(),
                        mu: w.mu(),
                    })
                }
            }
            Mechanism::GaussianMixture(g) => Transform::mixture(g, direction),
            // The weighted union of its two component pairs (docs/math.md §17.10).
            Mechanism::TruncatedPoisson(t) => Transform::Union {
                u: Union::truncated(t, direction),
            },
        }
    }

    /// The transform of a Gaussian-mixture pair in one ordering: a mixture of Gaussians with one
    /// component N(c, σ²) is the Gaussian with μ = c/σ, and with two components, one at 0, the
    /// Poisson-subsampled Gaussian with q the other's weight and μ = c/σ (docs/math.md §17.1;
    /// their closed forms, single-step formula and analytic window apply); every other pair
    /// uses the general mixture transform (docs/math.md §17.9).
    pub fn mixture(g: &crate::mechanism::GaussianMixture, direction: Direction) -> Transform {
        let law = g.law();
        let p: Vec<(f64, f64)> = law.p_side().components().collect();
        let q: Vec<(f64, f64)> = law.q_side().components().collect();
        match (p.as_slice(), q.as_slice()) {
            (&[(_, 0.0)], &[(_, m)]) => Transform::Gaussian { mu: m },
            (&[(_, 0.0)], &[(w0, m0), (w1, m1)]) if m0 == 0.0 || m1 == 0.0 => {
                let (q, mu) = if m0 == 0.0 { (w1, m1) } else { (w0, m0) };
                Transform::Subsampled {
                    q,
                    mu,
                    add: direction == Direction::Add,
                }
            }
            _ => Transform::Mixture {
                law: g.law_for(direction),
            },
        }
    }

    /// ln M̃(z) with its error bound; `tau` is the target relative accuracy of the quadrature
    /// (ignored by the closed forms).
    pub fn ln_mgf(&self, z: C64, tau: f64) -> MgfValue {
        let u = UNIT_ROUNDOFF;
        match *self {
            Transform::Gaussian { mu } => {
                let e = z * (z - 1.0) * (0.5 * mu * mu);
                // |M̃ − M| ≤ |M|·(exp(4u(|e| + 1)) − 1); |M| = e^{Re e}.
                let rel = (4.0 * u * (e.norm() + 1.0)).exp_m1();
                MgfValue {
                    ln: e,
                    ln_err: e.re + rel.ln(),
                }
            }
            Transform::Laplace { a } => {
                let (ln_m, _, ln_mags) = laplace_parts(a, z);
                // Each exponential has relative error ≤ u(3 + 2|z|a); the division by 2(2z − 1),
                // the additions and the logarithms add ≤ 8u of the sum of magnitudes.
                MgfValue {
                    ln: ln_m,
                    ln_err: ln_mags + (u * (16.0 + 4.0 * z.norm() * a)).ln(),
                }
            }
            Transform::Subsampled { q, mu, add } => {
                let zeta = if add { C64::new(1.0, 0.0) - z } else { z };
                subsampled_mgf(q, mu, zeta, tau)
            }
            Transform::Mixture { ref law } => MixturePair::new(law).ln_mgf(z, tau),
            Transform::SubsampledLaplace { law, add } => law.ln_mgf(zeta_of(z, add), tau),
            Transform::Wor(ref p) => p.ln_mgf(z, tau),
            Transform::Union { ref u } => u.ln_mgf(z, tau),
        }
    }

    /// [`Transform::ln_mgf`] at λ + it_k for several t_k (one shared x-grid for the quadrature;
    /// see [`subsampled_mgf_batch`]).
    /// `scheme`: how the phase sums are run ([`SumScheme`]).
    pub fn ln_mgf_batch(
        &self,
        lambda: f64,
        ts: &[f64],
        tau: f64,
        scheme: SumScheme,
    ) -> Vec<MgfValue> {
        match *self {
            Transform::Subsampled { q, mu, add } => {
                // add: ζ = 1 − z = (1 − λ) − it.
                let (alpha, sign) = if add {
                    (1.0 - lambda, -1.0)
                } else {
                    (lambda, 1.0)
                };
                let betas: Vec<f64> = ts.iter().map(|t| sign * t).collect();
                subsampled_mgf_windowed(q, mu, alpha, &betas, tau, scheme, None)
            }
            Transform::Mixture { ref law } => {
                MixturePair::new(law).mgf_batch(lambda, ts, tau, scheme)
            }
            Transform::Wor(ref p) => p.mgf_batch(lambda, ts, tau, scheme),
            Transform::Union { ref u } => u.combine_batch(
                u.transforms()
                    .map(|t| t.ln_mgf_batch(lambda, ts, tau, scheme)),
            ),
            _ => ts
                .iter()
                .map(|&t| self.ln_mgf(C64::new(lambda, t), tau))
                .collect(),
        }
    }

    /// The Laplace atom part ln A(z) and a bound on the error of Ã (None for other mechanisms).
    pub fn ln_atoms(&self, z: C64) -> Option<MgfValue> {
        match *self {
            Transform::Laplace { a } => {
                let (_, ln_at, ln_mags) = laplace_parts(a, z);
                Some(MgfValue {
                    ln: ln_at,
                    ln_err: ln_mags + (UNIT_ROUNDOFF * (8.0 + 4.0 * z.norm() * a)).ln(),
                })
            }
            Transform::SubsampledLaplace { law, add } => Some(law.ln_atoms(zeta_of(z, add))),
            // The atom at 0: a constant, |ã − a| ≤ 16u (docs/math.md §17.11).
            Transform::Wor(ref p) => Some(MgfValue {
                ln: C64::new(p.atom().ln(), 0.0),
                ln_err: (16.0 * UNIT_ROUNDOFF).ln(),
            }),
            _ => None,
        }
    }

    /// Estimates of K(λ) = ln M(λ) and the tilted moments at real λ: the closed forms of
    /// [`crate::cgf`] (the one f64 CGF of the Gaussian and Laplace, docs/math.md §6.1.1), and for
    /// the subsampled Gaussian the one f64 trapezoid of [`SubsampledTrapezoid`] (docs/math.md
    /// §6.1), which [`crate::cgf::cgf_f64`] uses too.
    pub fn cgf(&self, lambda: f64) -> CgfValue {
        match *self {
            Transform::Gaussian { mu } => gaussian_f64(mu, lambda),
            Transform::Laplace { a } => laplace_f64(a, lambda),
            Transform::Subsampled { q, mu, add } => {
                let alpha = if add { 1.0 - lambda } else { lambda };
                SubsampledTrapezoid::new(q, mu, alpha, SubsampledTrapezoid::step(mu))
                    .cgf(lambda, add)
            }
            Transform::Mixture { ref law } => MixturePair::new(law).cgf(lambda),
            Transform::SubsampledLaplace { law, add } => {
                let alpha = if add { 1.0 - lambda } else { lambda };
                let s = law.real_moments(alpha);
                CgfValue::oriented(lambda, add, s.ln_f, [s.mean, s.var, s.mu3, s.mu4])
            }
            Transform::Wor(ref p) => p.cgf(lambda),
            Transform::Union { ref u } => u.cgf(lambda),
        }
    }

    /// An upper bound on ln M(λ) at real λ > 0 (closed forms rounded up by a relative 1e−14;
    /// the subsampled Gaussian: [`upper::subsampled_ln_m_upper`], certified, docs/math.md
    /// §10.3.1; a mixture pair: ln(M̃ + its certified error bound), docs/math.md §17.9, +∞ where the
    /// quadrature is over budget).
    pub fn ln_mgf_upper(&self, lambda: f64) -> f64 {
        let certified = match *self {
            Transform::Mixture { ref law } => {
                Some(MixturePair::new(law).ln_mgf(C64::new(lambda, 0.0), 1e-17))
            }
            Transform::Wor(ref p) => Some(p.ln_mgf(C64::new(lambda, 0.0), 1e-17)),
            Transform::SubsampledLaplace { .. } => Some(self.ln_mgf(C64::new(lambda, 0.0), 1e-17)),
            _ => None,
        };
        if let Some(v) = certified {
            let up = logsumexp(&[v.ln.re, v.ln_err]);
            return if up.is_nan() {
                f64::INFINITY
            } else {
                up + 4.0 * UNIT_ROUNDOFF * (1.0 + up.abs())
            };
        }
        if let Transform::Union { ref u } = *self {
            return u.ln_mgf_upper(lambda);
        }
        if let Transform::Subsampled { q, mu, add } = *self {
            // Certified: trapezoid, strip bound and omitted nodes (docs/math.md §10.3.1); twice
            // the node cap of one call, which the affordable λ' stay below.
            let alpha = if add { 1.0 - lambda } else { lambda };
            return upper::subsampled_ln_m_upper(q, mu, alpha, 8e6);
        }
        let k = self.cgf(lambda).k;
        k + 1e-14 * (1.0 + k.abs())
    }

    /// An upper bound on ln M(λ) at real λ ∈ (0, 1), for the complement bound of docs/math.md
    /// §15.1.6: the Gaussian's closed form and the Poisson-subsampled Gaussian's certified
    /// trapezoid (docs/math.md §10.3.1 with α = λ or 1 − λ in (0, 1), its α ≥ 0 case; +∞ over
    /// its node budget). `None` for every other transform (their bounds are established for
    /// λ > 1 only) and for λ outside (0, 1).
    pub fn ln_mgf_upper_below_one(&self, lambda: f64) -> Option<f64> {
        match *self {
            Transform::Gaussian { mu } | Transform::Subsampled { mu, .. }
                if lambda > 0.0 && lambda < 1.0 && mu.is_finite() && mu > 0.0 =>
            {
                Some(self.ln_mgf_upper(lambda))
            }
            _ => None,
        }
    }

    /// A bound on |M(λ + it)|/M(λ) (see [`Decay`]); σ² and ρ₃ from an f64 trapezoid (step
    /// ≤ 0.02) with relative margins 1e−3; TV from the total variation of the tilted density
    /// g = e^{αL}φ/L' on a grid whose step keeps g's relative change from an interior extremum to
    /// the next node below 3%, inflated by 1.1 plus twice the end values.
    pub fn decay(&self, lambda: f64) -> Decay {
        match *self {
            Transform::Gaussian { mu } => Decay::Gaussian { mu2: mu * mu },
            Transform::Laplace { a } => {
                // Ratios to M(λ), all scaled by E1 = e^{(λ−1)a}: A/E1 = ½(1 + r),
                // c/E1 = ½(1 + r), M/E1 from the closed form (computed to ~1e−15; shrunk by
                // 1e−12 before dividing).
                let ln_m = laplace_f64(a, lambda).k;
                let r = (-(2.0 * lambda - 1.0) * a).exp();
                let m_scaled = (ln_m - (lambda - 1.0) * a).exp() * (1.0 - 1e-12);
                let atom = 0.5 * (1.0 + r) / m_scaled;
                Decay::Laplace {
                    atom,
                    cont: atom,
                    two_l1: 2.0 * lambda - 1.0,
                }
            }
            Transform::Subsampled { q, mu, add } => {
                let alpha = if add { 1.0 - lambda } else { lambda };
                let hh = (0.5 / (1.0 + alpha.abs() * mu * mu).sqrt()).min(0.02);
                subsampled_real(q, mu, alpha, hh, true).decay()
            }
            Transform::Mixture { ref law } => MixturePair::new(law).decay(lambda),
            Transform::SubsampledLaplace { law, add } => {
                // Ratios to M(λ) ≥ M̃ − err (certified); A(α) exact up to its error bound;
                // C(α) ≤ M̃ + err − (Ã − err_A) (docs/math.md §15.6.3).
                let alpha = if add { 1.0 - lambda } else { lambda };
                let z = C64::new(alpha, 0.0);
                let m = law.ln_mgf(z, 1e-17);
                let at = law.ln_atoms(z);
                let ln_lo = m.ln.re + (-(m.ln_err - m.ln.re).exp()).ln_1p();
                let up = |x: f64| (x - ln_lo).exp() * (1.0 + 1e-12);
                let atom = up(logsumexp(&[at.ln.re, at.ln_err]));
                let m_up = logsumexp(&[m.ln.re, m.ln_err]);
                let a_lo = at.ln.re + (-(at.ln_err - at.ln.re).exp()).ln_1p();
                let cont = (up(m_up) - (a_lo - ln_lo).exp() * (1.0 - 1e-12)).max(0.0);
                let k = up(LN_2 + law.ln_end_densities(alpha));
                if ln_lo.is_nan() || !(atom.is_finite() && cont.is_finite() && k.is_finite()) {
                    // Nothing certified: the trivial bound.
                    Decay::TwoAtoms {
                        atom: 1.0,
                        cont: 1.0,
                        k: f64::INFINITY,
                    }
                } else {
                    Decay::TwoAtoms { atom, cont, k }
                }
            }
            Transform::Wor(ref p) => p.decay(lambda),
            Transform::Union { ref u } => u.decay(lambda),
        }
    }

    /// The work cap of a contour for compositions of fewer than 100 steps
    /// (`plan::MAX_WORK_SHORT`, lowered for the subsampled Laplace to 2·10⁸, about 5·10⁷
    /// quadrature nodes or 2–4 s per contour: its few-step compositions need far nodes that no
    /// budget makes cheap at a = 1/b ≳ 10, and are refused instead).
    pub fn short_work_cap(&self) -> f64 {
        match self {
            Transform::SubsampledLaplace { .. } => 2e8,
            _ => f64::INFINITY,
        }
    }

    /// Estimated number of x-nodes one [`Transform::ln_mgf`] call at λ + it costs (1 for closed
    /// forms); used to cap the work of a contour.
    pub fn cost(&self, lambda: f64, t: f64) -> f64 {
        match *self {
            Transform::Subsampled { q, mu, add } => {
                let alpha = if add { 1.0 - lambda } else { lambda };
                let c = (1.0 / 1e-17f64).ln() + 4.0f64.ln();
                let a = (PI / (2.0 * mu)).min((2.0 * c).sqrt());
                // As in subsampled_mgf_windowed, including the strip term of Re ζ < 0.
                let c_neg = if alpha < 0.0 {
                    -alpha * -(0.5 * mu * a).cos().ln()
                } else {
                    0.0
                };
                let h = 2.0 * PI * a / (0.5 * a * a + t.abs() * mu * a + c_neg + c);
                let (lo, hi) = node_range(q, mu, alpha, c);
                let n = (hi - lo) / h;
                if n.is_nan() {
                    f64::INFINITY
                } else {
                    n
                }
            }
            Transform::Mixture { ref law } => MixturePair::new(law).cost(lambda, t),
            Transform::SubsampledLaplace { law, add } => {
                law.cost(zeta_of(C64::new(lambda, t), add), 1e-17)
            }
            Transform::Wor(ref p) => p.cost(lambda, t),
            Transform::Union { ref u } => u.cost(lambda, t),
            _ => 1.0,
        }
    }

    /// Estimated number of x-nodes of the real-λ summaries ([`Transform::cgf`],
    /// [`Transform::decay`], [`Transform::tilted_abs_mean`]) at λ (0 for closed forms); the
    /// contour checks it against its budget before evaluating them.
    pub fn real_cost(&self, lambda: f64) -> f64 {
        match *self {
            Transform::Subsampled { q, mu, add } => {
                let alpha = if add { 1.0 - lambda } else { lambda };
                let hh = (0.5 / (1.0 + alpha.abs() * mu * mu).sqrt()).min(0.02);
                let (lo, hi) = node_range(q, mu, alpha, 40.0);
                let n = (hi - lo) / hh;
                if n.is_nan() {
                    f64::INFINITY
                } else {
                    n
                }
            }
            Transform::Mixture { ref law } => MixturePair::new(law).real_cost(lambda),
            Transform::Wor(ref p) => p.real_cost(lambda),
            Transform::Union { ref u } => u.real_cost(lambda),
            _ => 0.0,
        }
    }

    /// The exact δ(ε) of one step of a Poisson-subsampled Gaussian (q < 1), from the monotone
    /// PLLR: remove, x = L⁻¹(ε) = (ln((e^ε − 1 + q)/q) + μ²/2)/μ,
    /// δ = (1−q)Φ̄(x) + qΦ̄(x−μ) − e^εΦ̄(x); add (PLLR −L, P_add = Q), y = L⁻¹(−ε) when
    /// −ε > ln(1−q) (else δ = 0), δ = Φ(y) − e^ε[(1−q)Φ(y) + qΦ(y−μ)]. The derivative of δ in x
    /// vanishes at x = L⁻¹(±ε), so the error of x enters at second order; the bracket is the
    /// value ± 64u·(sum of the magnitudes of the terms) (Φ̄ via erfc to a few ulp).
    /// Returns (lower, value, upper), or None for other mechanisms.
    pub fn single_step_delta(&self, epsilon: f64) -> Option<(f64, f64, f64)> {
        if let Transform::Mixture { ref law } = *self {
            let pair = MixturePair::new(law);
            if pair.loss_max().is_some_and(|m| epsilon >= m) {
                return Some((0.0, 0.0, 0.0));
            }
            return pair.single_step_delta(epsilon, law);
        }
        if let Transform::Wor(ref p) = *self {
            return p.single_step_delta(epsilon);
        }
        if let Transform::Union { ref u } = *self {
            return u.single_step_delta(epsilon);
        }
        if let Transform::SubsampledLaplace { law, add } = *self {
            return Some(law.single_step_delta(epsilon, add));
        }
        if let Transform::Laplace { a } = *self {
            return Some(laplace_single_step_delta(a, epsilon));
        }
        let Transform::Subsampled { q, mu, add } = *self else {
            return None;
        };
        let (pos, neg) = if !add {
            let x = (((epsilon.exp() - 1.0 + q) / q).ln() + 0.5 * mu * mu) / mu;
            let a = (1.0 - q) * normal::sf(x) + q * normal::sf(x - mu);
            (a, epsilon.exp() * normal::sf(x))
        } else {
            if -epsilon <= (-q).ln_1p() {
                return Some((0.0, 0.0, 0.0));
            }
            // L(y) = −ε ⟺ e^{μy − μ²/2} = (e^{−ε} − 1 + q)/q.
            let y = ((((-epsilon).exp_m1() + q) / q).ln() + 0.5 * mu * mu) / mu;
            let a = normal::cdf(y);
            (
                a,
                epsilon.exp() * ((1.0 - q) * normal::cdf(y) + q * normal::cdf(y - mu)),
            )
        };
        let v = pos - neg;
        let e = 64.0 * UNIT_ROUNDOFF * (pos + neg) * (1.0 + epsilon);
        Some(((v - e).max(0.0), v.max(0.0), (v + e).min(1.0)))
    }

    /// An upper bound on E_λ|L| under the tilted law (|d/dt M(λ+it)| ≤ M(λ)·E_λ|L|): f64
    /// trapezoid (step ≤ 0.02) with a relative margin 1e−2; None for the closed forms (their decay
    /// bounds are used as they are).
    pub fn tilted_abs_mean(&self, lambda: f64) -> Option<f64> {
        match *self {
            Transform::Subsampled { q, mu, add } => {
                let alpha = if add { 1.0 - lambda } else { lambda };
                let hh = (0.5 / (1.0 + alpha.abs() * mu * mu).sqrt()).min(0.02);
                Some(subsampled_real(q, mu, alpha, hh, false).moments.mean_abs * 1.01)
            }
            Transform::Mixture { ref law } => Some(MixturePair::new(law).tilted_abs_mean(lambda)),
            Transform::Wor(ref p) => Some(p.tilted_abs_mean(lambda)),
            Transform::Union { ref u } => u.tilted_abs_mean(lambda),
            _ => None,
        }
    }

    /// An upper bound on the largest value L can take when it is bounded above, else None:
    /// Laplace, a; the subsampled Gaussian's add ordering, whose loss −L(x) =
    /// −ln(1 − q + q·e^{μx − μ²/2}) < −ln(1 − q) (rounded up by 4u relative).
    pub fn loss_max(&self) -> Option<f64> {
        match *self {
            Transform::Laplace { a } => Some(a),
            Transform::Subsampled { q, add: true, .. } => {
                Some(-(-q).ln_1p() * (1.0 + 4.0 * UNIT_ROUNDOFF))
            }
            Transform::Mixture { ref law } => MixturePair::new(law).loss_max(),
            Transform::SubsampledLaplace { law, add } => Some(law.loss_max(add)),
            Transform::Union { ref u } => u.loss_max(),
            _ => None,
        }
    }
}

/// The total-variation and split bounds of a tilted density from its trapezoid samples
/// (docs/math.md §10.5, §17.9): g_j = g(x_j) relative to the mass scale, w_j the trapezoid
/// weights (same scale), ℓ_j = L(x_j), Σw_j = `tot`, step h. TV ≤ (1.1·Σ|g_{j+1} − g_j| +
/// 2(g_first + g_last))/(tot·h). Split k (k = 1..SPLITS) is cut at the first node where the mass
/// below reaches 1 − 2^{−k}: p, the nodes up to and including the cut node, a full cell where the
/// trapezoid on (−∞, x_k] gives a half cell (its Euler–Maclaurin correction h²|w'|/12 is below
/// 0.03·h·w/12 under the same 3%-resolution assumption as TV), plus 0.05·w(x_k)·h and 1e−12 (the
/// truncated range, below e^{−40}); C = (2g(x_k) + 1.1·TV_{[x_k,∞)} + 2g(last))/mass. The
/// conditional variance and E|L − m|³ below the cut are the node sums with the cut node's weight
/// in full and left out (the half cell of the trapezoid lies between; the variance of a mixture
/// is concave in a component's weight, so its smaller end is below it), the smaller variance and
/// the larger third moment with the relative margins 10⁻³ of the whole law's. A non-finite g (L'
/// underflowing to 0) makes TV infinite and its splits unused, never NaN.
pub(super) fn tv_and_splits(
    gs: &[f64],
    ws: &[f64],
    ls: &[f64],
    tot: f64,
    h: f64,
) -> (f64, [Split; SPLITS]) {
    let n = gs.len();
    let mut splits = [Split::UNUSED; SPLITS];
    // suffix_var[j] = Σ_{i > j} |g_i − g_{i−1}|.
    let mut suffix_var = vec![0.0; n];
    for j in (0..n.saturating_sub(1)).rev() {
        let d = (gs[j + 1] - gs[j]).abs();
        suffix_var[j] = suffix_var[j + 1] + if d.is_nan() { f64::INFINITY } else { d };
    }
    let (first, last) = (gs[0], gs[n - 1]);
    let mut tv = (1.1 * suffix_var[0] + 2.0 * (first + last)) / (tot * h);
    let mut cum = 0.0;
    let mut k = 0;
    for (j, w) in ws.iter().enumerate() {
        cum += w;
        while k < SPLITS && cum / tot >= 1.0 - 0.5f64.powi(k as i32 + 1) {
            let p = ((cum + 0.05 * w) / tot * (1.0 + 1e-12) + 1e-12).min(1.0);
            let c = (2.0 * gs[j] + 1.1 * suffix_var[j] + 2.0 * last) / (tot * h);
            let (v_in, r_in) = conditional_moments(&ws[..=j], &ls[..=j]);
            let (v_out, r_out) = conditional_moments(&ws[..j], &ls[..j]);
            let var_lo = v_in.min(v_out) * (1.0 - 1e-3);
            splits[k] = Split::new(p, c, var_lo, r_in.max(r_out) * (1.0 + 1e-3));
            k += 1;
        }
        if k == SPLITS {
            break;
        }
    }
    if !tv.is_finite() {
        tv = f64::INFINITY;
    }
    for sp in splits.iter_mut() {
        if !(sp.p.is_finite() && sp.c.is_finite()) {
            *sp = Split::UNUSED;
        } else if !(sp.var_lo >= 0.0 && sp.rho3_hi >= 0.0) {
            // NaN moments (an empty or zero-mass part): the plain pair (p, C).
            *sp = Split::new(sp.p, sp.c, 0.0, f64::INFINITY);
        }
    }
    (tv, splits)
}

/// The variance and E|ℓ − mean|³ of the weights `ws` on the values `ls` (two passes; NaN where
/// the weights sum to 0).
fn conditional_moments(ws: &[f64], ls: &[f64]) -> (f64, f64) {
    let tot: f64 = ws.iter().sum();
    let mean = ws.iter().zip(ls).map(|(w, l)| w * l).sum::<f64>() / tot;
    let (mut var, mut rho3) = (0.0, 0.0);
    for (w, l) in ws.iter().zip(ls) {
        let d = l - mean;
        var += w * d * d;
        rho3 += w * d.abs() * d * d;
    }
    (var / tot, rho3 / tot)
}

/// ζ = z (remove) or 1 − z (add): M_add(z) = F(1 − z).
fn zeta_of(z: C64, add: bool) -> C64 {
    if add {
        C64::new(1.0, 0.0) - z
    } else {
        z
    }
}

/// (ln M(z), ln A(z), |M|-scale terms) for Laplace with a = 1/b, in log space: with
/// E1 = e^{(z−1)a} and r = e^{−(2z−1)a} (|r| < 1 for Re z > ½),
/// M = E1·(½r + ½ + (1 − r)/(2(2z − 1))), A = E1·(½ + ½r). Returns also
/// ln Σ|terms| (for the rounding bound).
fn laplace_parts(a: f64, z: C64) -> (C64, C64, f64) {
    let ln_e1 = (z - 1.0) * a;
    let w = z * 2.0 - 1.0;
    let r = (-w * a).exp();
    let cont = if w.norm() < 1e-6 {
        // Removable singularity at z = ½: (1 − r)/(2w) → a/2.
        C64::new(0.5 * a, 0.0)
    } else {
        (C64::new(1.0, 0.0) - r) / (w * 2.0)
    };
    let atoms = (r + 1.0) * 0.5;
    let mags = 0.5 * r.norm() + 0.5 + (1.0 + r.norm()) / (w * 2.0).norm().max(1e-300);
    (
        (atoms + cont).ln() + ln_e1,
        atoms.ln() + ln_e1,
        ln_e1.re + mags.ln(),
    )
}

struct RealSummary {
    ln_f: f64,
    moments: TiltedMoments,
    tv: f64,
    splits: [Split; SPLITS],
}

impl RealSummary {
    /// The [`Decay::Density`] bound of these summaries: σ² and ρ₃ with relative margins 1e−3.
    fn decay(&self) -> Decay {
        Decay::Density(DensityDecay {
            var_lo: self.moments.central[0] * (1.0 - 1e-3),
            rho3_hi: self.moments.abs3 * (1.0 + 1e-3),
            tv_hi: self.tv,
            splits: self.splits,
        })
    }
}

/// f64 trapezoid summaries of the tilted law of L at real α (mean, variance, E|L − mean|³, TV of
/// the tilted density normalised to mass 1, ln F(α)).
fn subsampled_real(q: f64, mu: f64, alpha: f64, h: f64, with_tv: bool) -> RealSummary {
    let trap = SubsampledTrapezoid::new(q, mu, alpha, h);
    let SubsampledTrapezoid {
        ss, m, ws, ls, tot, ..
    } = &trap;
    let (m, tot) = (*m, *tot);
    let mut tv = f64::INFINITY;
    let mut splits = [Split::UNUSED; SPLITS];
    if with_tv {
        // g(x) = e^{αL}φ(x)/L'(x), L'(x) = μ/(1 + e^{−(w + logit q)}); relative to the mass
        // Σ w_j h (the same scale m).
        let logit = q.ln() - (-q).ln_1p();
        let gs: Vec<f64> = ss
            .iter()
            .enumerate()
            .map(|(j, sj)| {
                let x = trap.x(j);
                let wv = mu * x - 0.5 * mu * mu;
                let y = -(wv + logit);
                let softplus = if y > 30.0 { y } else { y.exp().ln_1p() };
                let ln_lp = mu.ln() - softplus;
                (sj - m - ln_lp).exp()
            })
            .collect();
        (tv, splits) = tv_and_splits(&gs, ws, ls, tot, h);
    }
    RealSummary {
        ln_f: trap.ln_f(),
        moments: trap.moments(),
        tv,
        splits,
    }
}

/// ln F(ζ), F(ζ) = ∫ e^{ζL(x)}φ(x)dx for the subsampled Gaussian (q < 1), with the error bound
/// of the module docs; `tau` the target relative accuracy of discretisation and truncation.
pub fn subsampled_mgf(q: f64, mu: f64, zeta: C64, tau: f64) -> MgfValue {
    subsampled_mgf_batch(q, mu, zeta.re, &[zeta.im], tau)[0]
}

/// Test support: the windowed values of `case` = (q, μ, α) at `betas` under `scheme` and the
/// single evaluations ([`subsampled_mgf`]) are two certified enclosures of each M(α + iβ), so
/// they overlap within the sum of their error bounds; and each windowed bound is at most
/// `rel`·M(α) (rounding level). Compares the β whose index `check` accepts.
#[cfg(test)]
pub(crate) fn assert_windowed_agrees_with_single(
    case: (f64, f64, f64),
    betas: &[f64],
    scheme: SumScheme,
    rel: f64,
    check: impl Fn(usize) -> bool,
) {
    let (q, mu, alpha) = case;
    let what = format!("q={q} μ={mu} α={alpha} {scheme:?}");
    let scale = subsampled_mgf(q, mu, C64::new(alpha, 0.0), 1e-17)
        .ln
        .re
        .exp();
    let batch = subsampled_mgf_windowed(q, mu, alpha, betas, 1e-17, scheme, None);
    for (k, (b, v)) in betas.iter().zip(&batch).enumerate() {
        if !check(k) {
            continue;
        }
        let single = subsampled_mgf(q, mu, C64::new(alpha, *b), 1e-17);
        let diff = (v.ln.exp() - single.ln.exp()).norm();
        let bound = v.ln_err.exp() + single.ln_err.exp();
        assert!(diff <= bound, "{what} β={b}: {diff:e} > {bound:e}");
        let err = v.ln_err.exp();
        assert!(err <= rel * scale, "{what} β={b}: {err:e}");
    }
}

/// [`subsampled_mgf`] at ζ_k = α + iβ_k for several β_k on one x-grid: the step resolves the
/// largest |β_k| (so it is at most each β_k's own step, and each error bound is evaluated with
/// the step actually used); L(x_j) and the real weights are computed once, so a batch of k
/// nearby β costs about one evaluation plus k·(sin, cos, two sums) per node.
///
/// With [`SumScheme::rotations`] = R > 0 and equally spaced β_k = β_0 + kΔ, the phases
/// e^{iβ_k L} are propagated by complex multiplication with e^{iΔL} and recomputed by sin/cos
/// every R + 1 values; the i-th propagated phase carries a relative error ≤ i·(5u + u|ΔL|) (rotor from
/// sin/cos ≤ 2u + u|ΔL|, complex product ≤ 2√2u < 3u), and β_0 + iΔ differs from β_k by
/// ≤ 4u|β_k|, a phase error ≤ 4u|β_k||L|; both are added to the rounding bound.
pub fn subsampled_mgf_batch(q: f64, mu: f64, alpha: f64, betas: &[f64], tau: f64) -> Vec<MgfValue> {
    subsampled_mgf_windowed(q, mu, alpha, betas, tau, SumScheme::DIRECT, None)
}

/// The smooth cut-off w(x) = Φ((x₀ − x)/s) of [`subsampled_mgf_windowed`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmoothWindow {
    /// Centre x₀ (w(x₀) = ½).
    pub x0: f64,
    /// Width s > 0.
    pub s: f64,
}

/// [`subsampled_mgf_batch`] with phase propagation (see there) run by `scheme`: `rotations` = 0
/// computes every phase by sin/cos.
///
/// `scheme.block` > 0 (used with propagated phases) sums the terms of each β in plain f64 over
/// chunks of B = [`SUM_BLOCK`] consecutive x-nodes (four interleaved partial sums, then
/// pairwise: any such order of B terms errs by ≤ (B − 1)u·Σ|terms|, Higham 2002, §4.2) and adds
/// the chunk sums into the Neumaier-compensated total; the chunk's phases advance together, so
/// the work vectorises. The summation bound 3u·Σ|terms| becomes (B + 2)u·Σ|terms|, applied with
/// a factor √2 for the complex modulus. `scheme.block` = 0 compensates every term.
///
/// `window` = Some([`SmoothWindow`] { x0: x₀, s }) transforms the windowed measure wP,
/// w(x) = Φ((x₀ − x)/s): F_w(ζ) = ∫ Φ((x₀ − x)/s) e^{ζL(x)}φ(x)dx (None: w = 1).
///
/// w is entire and |Φ(u + iv)| ≤ e^{v²/2}Φ(u) (Φ(u + iv) = ∫_{−∞}^u φ(τ + iv)dτ and
/// |φ(τ + iv)| = φ(τ)e^{v²/2}), so the strip majorant of the module docs gains the factor
/// e^{a²/(2s²)} with F_w(Re ζ) in place of F(Re ζ); the half-width is a ≤ s·√(2c/(1 + s²)).
/// Truncation: w ≤ 1 keeps the bounds of the module docs; above x₀ also w(x) ≤ ½e^{−(x−x₀)²/(2s²)},
/// and with e^{αL} ≤ max(1, 2^{α−1})(1 + q^α e^{αw}) the majorant is a sum of two Gaussians,
/// ∫_{x_n}^∞ e^{cx − (x−x₀)²/(2s²)}φ(x)dx = e^{τm²/2 − x₀²/(2s²)}Φ̄(√τ(x_n − m))/√τ with
/// τ = 1 + 1/s², m = (c + x₀/s²)/τ (c = 0 and c = αμ); the smaller of the two upper bounds is used.
/// ln w enters the exponent through [`normal::ln_cdf`] (a few ulp of |ln Φ|; with the rounding of
/// the argument an error ≤ u(16 + 4r²) relative, r = (x₀ − x)/s, added to the rounding bound).
///
/// # Guarantee
/// As [`subsampled_mgf_batch`]: `ln_err` bounds |F̃_w − F_w| under the module's assumptions.
#[allow(clippy::too_many_arguments)]
pub fn subsampled_mgf_windowed(
    q: f64,
    mu: f64,
    alpha: f64,
    betas: &[f64],
    tau: f64,
    scheme: SumScheme,
    window: Option<SmoothWindow>,
) -> Vec<MgfValue> {
    let u = UNIT_ROUNDOFF;
    let beta_max = betas.iter().fold(0.0f64, |m, b| m.max(b.abs()));
    let c = (1.0 / tau).ln() + 4.0f64.ln();
    let mut a = (PI / (2.0 * mu)).min((2.0 * c).sqrt());
    let mut win_ln = 0.0;
    if let Some(SmoothWindow { s, .. }) = window {
        a = a.min((2.0 * c / (1.0 + 1.0 / (s * s))).sqrt());
        win_ln = 0.5 * a * a / (s * s);
    }
    let ln_w = |x: f64| -> (f64, f64) {
        match window {
            Some(SmoothWindow { x0, s }) => {
                let r = (x0 - x) / s;
                (normal::ln_cdf(r), u * (16.0 + 4.0 * r * r))
            }
            None => (0.0, 0.0),
        }
    };
    let ln_cneg = |a: f64| {
        if alpha < 0.0 {
            -alpha * -(0.5 * mu * a).cos().ln()
        } else {
            0.0
        }
    };
    let denom = 0.5 * a * a + win_ln + beta_max * mu * a + ln_cneg(a) + c;
    let h = 2.0 * PI * a / denom;
    let (lo, hi) = node_range(q, mu, alpha, c);
    let nf = ((hi - lo) / h).ceil() + 1.0;
    if nf.is_nan() || nf > MAX_QUADRATURE_NODES {
        return no_enclosure(betas.len());
    }
    let n = nf as usize;
    // Pass 1: exponents; pass 2: weights scaled by the largest, with the β-independent parts of
    // the rounding bound: Σ w·u(8 + x²) and Σ w·(2u|L| + δL) (the latter is multiplied by |ζ|).
    let mut ls = Vec::with_capacity(n);
    let mut m = f64::NEG_INFINITY;
    for j in 0..n {
        let x = lo + j as f64 * h;
        let l = log1p_qexpm1(q, mu * x - 0.5 * mu * mu);
        m = m.max(alpha * l - 0.5 * x * x + ln_w(x).0);
        ls.push(l);
    }
    let mut weights = Weights::with_capacity(n);
    for (j, &l) in ls.iter().enumerate() {
        let x = lo + j as f64 * h;
        let (lw, lw_err) = ln_w(x);
        let w = (alpha * l - 0.5 * x * x + lw - m).exp();
        let dl = u * (4.0 * l.abs() + 2.0 * (mu * x).abs() + 2.0 * mu * mu);
        weights.push(
            w,
            l.abs(),
            u * (8.0 + x * x) + lw_err,
            2.0 * u * l.abs() + dl,
        );
    }
    // Truncation beyond the first and last nodes (independent of β).
    let ln_trunc = ln_truncation(q, mu, alpha, lo, lo + (n - 1) as f64 * h, window);
    let grid = Trapezoid { m, h, a, ln_trunc };
    // Discretisation: 2M/(e^{2πa/h} − 1), M = e^{a²/2 + |β|μa + c_neg}·2F(α).
    weights.mgf_values(&ls, alpha, betas, scheme, grid, |beta, ln_f_re| {
        LN_2 + 0.5 * a * a + win_ln + beta.abs() * mu * a + ln_cneg(a) + LN_2 + ln_f_re
    })
}

/// ln of the bound on the trapezoid's omitted nodes beyond x₀ = `x0` and x_n = `xn` (module
/// docs, "truncation"; with a window, its Gaussian decay above x₀ of the window, see
/// [`subsampled_mgf_windowed`]).
fn ln_truncation(
    q: f64,
    mu: f64,
    alpha: f64,
    x0: f64,
    xn: f64,
    window: Option<SmoothWindow>,
) -> f64 {
    let ln_trunc = if alpha >= 0.0 {
        let ln_c = (alpha - 1.0).max(0.0) * LN_2;
        let shift = alpha * mu;
        let comp = alpha * q.ln() + 0.5 * alpha * (alpha - 1.0) * mu * mu;
        ln_c + logsumexp(&[
            normal::ln_sf(-x0),
            normal::ln_sf(xn),
            comp + normal::ln_sf(shift - x0),
            comp + normal::ln_sf(xn - shift),
        ])
    } else {
        -alpha * -(-q).ln_1p() + logsumexp(&[normal::ln_sf(-x0), normal::ln_sf(xn)])
    };
    match window {
        Some(SmoothWindow { x0: wx0, s }) if alpha >= 0.0 && xn >= wx0 => {
            // Lower end as without the window (w ≤ 1); upper end with the window's Gaussian decay.
            let ln_c = (alpha - 1.0).max(0.0) * LN_2;
            let comp = alpha * q.ln() + 0.5 * alpha * (alpha - 1.0) * mu * mu;
            let shift = alpha * mu;
            let lower = ln_c + logsumexp(&[normal::ln_sf(-x0), comp + normal::ln_sf(shift - x0)]);
            let tau_w = 1.0 + 1.0 / (s * s);
            let g = |cc: f64| -> f64 {
                let mm = (cc + wx0 / (s * s)) / tau_w;
                0.5 * tau_w * mm * mm - 0.5 * wx0 * wx0 / (s * s) - 0.5 * tau_w.ln()
                    + normal::ln_sf(tau_w.sqrt() * (xn - mm))
            };
            let upper_w = -LN_2
                + ln_c
                + logsumexp(&[g(0.0), alpha * q.ln() - 0.5 * alpha * mu * mu + g(shift)]);
            // The plain upper-end terms, for comparison (the smaller bound is used).
            let upper_plain =
                ln_c + logsumexp(&[normal::ln_sf(xn), comp + normal::ln_sf(xn - shift)]);
            logsumexp(&[lower, upper_w.min(upper_plain)]) + 1e-12
        }
        _ => ln_trunc,
    }
}

/// The compensated sums Σ_j w_j e^{iβ_k L_j} of [`subsampled_mgf_windowed`], per β_k.
struct PhaseSums {
    /// (real, imaginary) compensated sums per β.
    sums: Vec<(Neumaier, Neumaier)>,
    /// Per β: the number of propagated rotations since its sin/cos seed.
    since_seed: Vec<usize>,
    /// Whether the β are equally spaced (phase propagation applies).
    equally_spaced: bool,
    /// Their spacing Δ (0 for one β).
    step: f64,
}

/// The β-independent totals of a trapezoid's rounding bound (docs/math.md §10.4), accumulated
/// over its weights w_j = e^{e_j − m}: Σw_j, Σw_j|L_j|, and the node terms' ζ-free and per-|ζ|
/// parts err0, err1, for n nodes.
#[derive(Default)]
struct Totals {
    /// Σ w_j.
    abs_sum: f64,
    /// Σ w_j |L_j|.
    wl: f64,
    /// Σ w_j × (rounding of the exponent that does not scale with |ζ|).
    err0: f64,
    /// Σ w_j × (rounding of the phase βL_j, per unit of |ζ|).
    err1: f64,
    /// The number of nodes.
    n: usize,
}

/// The x-grid of a trapezoid: its largest exponent m (the weights are e^{e_j − m}), step h,
/// strip half-width a of the discretisation bound, and ln of its truncation bound.
#[derive(Debug, Clone, Copy)]
pub(super) struct Trapezoid {
    m: f64,
    h: f64,
    a: f64,
    ln_trunc: f64,
}

/// A trapezoid's weights w_j = e^{e_j − m} and the β-independent totals of its rounding bound
/// (docs/math.md §10.4), accumulated node by node.
pub(super) struct Weights {
    ws: Vec<f64>,
    real: Neumaier,
    totals: Totals,
}

impl Weights {
    /// No weights yet, room for n.
    pub(super) fn with_capacity(n: usize) -> Self {
        Weights {
            ws: Vec::with_capacity(n),
            real: Neumaier::default(),
            totals: Totals::default(),
        }
    }

    /// Adds the weight w of a node with |L| = `l_abs`, whose exponent's rounding is `e0` (the
    /// ζ-free part) and `e1` (the part per unit of |ζ|).
    pub(super) fn push(&mut self, w: f64, l_abs: f64, e0: f64, e1: f64) {
        self.real.add(w);
        self.totals.abs_sum += w;
        self.totals.err0 += w * e0;
        self.totals.err1 += w * e1;
        self.totals.wl += w * l_abs;
        self.totals.n += 1;
        self.ws.push(w);
    }

    /// Σ w_j (compensated).
    pub(super) fn real_sum(&self) -> f64 {
        self.real.sum()
    }

    /// The trapezoid values ln M̃(α + iβ_k) = ln(h e^m/√(2π) · Σ_j w_j e^{iβ_k L_j}) with
    /// their error bounds (docs/math.md §10.4): the phase sums' rounding scaled to M̃ plus the
    /// final 16u|M̃|, the discretisation 2M/(e^{2πa/h} − 1), and the truncation
    /// `grid.ln_trunc` (β-free). `ln_2m(β, ln F̃(α))` is ln 2M of the strip majorant at β, given
    /// the trapezoid's own ln F̃(α) (the real sum).
    pub(super) fn mgf_values(
        self,
        ls: &[f64],
        alpha: f64,
        betas: &[f64],
        scheme: SumScheme,
        grid: Trapezoid,
        ln_2m: impl Fn(f64, f64) -> f64,
    ) -> Vec<MgfValue> {
        let u = UNIT_ROUNDOFF;
        let Trapezoid { m, h, a, ln_trunc } = grid;
        let scale_ln = m + h.ln() - LN_SQRT_2PI;
        let ln_f_re = self.real_sum().ln() + scale_ln;
        // ln(e^{2πa/h} − 1), also where e^{2πa/h} overflows (|β| large).
        let ln_e = ln_expm1(2.0 * PI * a / h);
        let sums = self.phase_sums(ls, alpha, betas, scheme);
        betas
            .iter()
            .zip(sums)
            .map(|(&beta, (sum, r))| {
                let ln = sum.ln() + scale_ln;
                let round = r * scale_ln.exp() + 16.0 * u * ln.re.exp();
                let ln_disc = ln_2m(beta, ln_f_re) - ln_e;
                let ln_err = logsumexp(&[round.ln(), ln_disc, ln_trunc]);
                MgfValue { ln, ln_err }
            })
            .collect()
    }

    /// Per β_k: Σ_j w_j e^{iβ_k L_j} and the bound on its rounding error in units of the
    /// weights ([`PhaseSums::sum_and_round`]); ζ = α + iβ_k.
    pub(super) fn phase_sums(
        self,
        ls: &[f64],
        alpha: f64,
        betas: &[f64],
        scheme: SumScheme,
    ) -> Vec<(C64, f64)> {
        let sums = phase_sums(&self.ws, ls, self.real, betas, scheme);
        betas
            .iter()
            .enumerate()
            .map(|(k, &beta)| sums.sum_and_round(k, alpha, beta, &self.totals, scheme))
            .collect()
    }
}

impl PhaseSums {
    /// The k-th β's sum Σ_j w_j e^{iβL_j} and the bound on its rounding error, in units of the
    /// weights (docs/math.md §10.4): the node terms err0 + |ζ|·err1 with ζ = α + iβ, the
    /// propagated phases' j(5u + u|Δ|)·Σw + 4u|β|·Σw|L| after j rotations since a seed, and the
    /// compensated (√2(B + 2)u·Σw(1 + nu) in blocks of B = [`SUM_BLOCK`], else 3u·Σw(1 + nu))
    /// sum. The caller adds the 16u|sum| of its own final rounding.
    fn sum_and_round(
        &self,
        k: usize,
        alpha: f64,
        beta: f64,
        t: &Totals,
        scheme: SumScheme,
    ) -> (C64, f64) {
        let u = UNIT_ROUNDOFF;
        let (re, im) = &self.sums[k];
        let k_rot = self.since_seed[k];
        let zn = alpha.hypot(beta);
        let rot = if k_rot > 0 {
            k_rot as f64 * u * (5.0 * t.abs_sum + self.step.abs() * t.wl)
                + 4.0 * u * beta.abs() * t.wl
        } else {
            0.0
        };
        let sum = C64::new(re.sum(), im.sum());
        let sum_err = if scheme.block > 0 && scheme.rotations > 0 && self.equally_spaced {
            std::f64::consts::SQRT_2
                * (SUM_BLOCK as f64 + 2.0)
                * u
                * t.abs_sum
                * (1.0 + t.n as f64 * u)
        } else {
            3.0 * u * t.abs_sum * (1.0 + t.n as f64 * u)
        };
        (sum, t.err0 + zn * t.err1 + rot + sum_err)
    }
}

/// Sums per β: direct sin/cos, or propagated phases in runs of `rotations` + 1, plain chunks of
/// [`SUM_BLOCK`] with `block` > 0 (see [`subsampled_mgf_windowed`]).
///
/// On x86-64 CPUs with AVX2 the same code runs compiled for 4-wide vectors: the chunk loops
/// vectorise lane by lane (each lane's operations and their order unchanged, and Rust never
/// fuses a·b + c), so the sums are bit-identical to the baseline build's and the rounding bounds
/// hold as stated.
fn phase_sums(ws: &[f64], ls: &[f64], real: Neumaier, betas: &[f64], s: SumScheme) -> PhaseSums {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above), the only requirement of
            // `phase_sums_avx2`'s target feature.
            return unsafe { phase_sums_avx2(ws, ls, real, betas, s) };
        }
    }
    phase_sums_impl(ws, ls, real, betas, s)
}

/// [`phase_sums_impl`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn phase_sums_avx2(
    ws: &[f64],
    ls: &[f64],
    real: Neumaier,
    betas: &[f64],
    s: SumScheme,
) -> PhaseSums {
    phase_sums_impl(ws, ls, real, betas, s)
}

/// The body of [`phase_sums`] (inlined into each instruction-set variant).
#[inline(always)]
fn phase_sums_impl(
    ws: &[f64],
    ls: &[f64],
    real: Neumaier,
    betas: &[f64],
    scheme: SumScheme,
) -> PhaseSums {
    let SumScheme { rotations, block } = scheme;
    let u = UNIT_ROUNDOFF;
    let n = ws.len();
    let nb = betas.len();
    let mut sums = vec![(Neumaier::default(), Neumaier::default()); nb];
    let mut since_seed = vec![0usize; nb];
    let equally_spaced = nb > 1 && {
        let d = (betas[nb - 1] - betas[0]) / (nb - 1) as f64;
        betas
            .iter()
            .enumerate()
            .all(|(i, b)| (b - (betas[0] + i as f64 * d)).abs() <= 2.0 * u * b.abs().max(d.abs()))
    };
    let step = if nb > 1 {
        (betas[nb - 1] - betas[0]) / (nb - 1) as f64
    } else {
        0.0
    };
    if rotations > 0 && equally_spaced {
        // The rotor e^{iΔL_j} is the same for every run: one sin/cos per node.
        let rotors: Vec<(f64, f64)> = ls.iter().map(|&l| (step * l).sin_cos()).collect();
        for run0 in (0..nb).step_by(rotations + 1) {
            let run1 = (run0 + rotations).min(nb - 1);
            for (i, s) in since_seed.iter_mut().enumerate().take(run1 + 1).skip(run0) {
                *s = i - run0;
            }
            let b0 = betas[run0];
            if block > 0 {
                // Chunks of SUM_BLOCK x-nodes (padded with zero weights): the phases of a chunk
                // advance together, one β after the other, so the loops over the chunk vectorise;
                // each chunk's sum (four interleaved plain partial sums) is added to the
                // compensated total.
                const B: usize = SUM_BLOCK;
                for c0 in (0..n).step_by(B) {
                    let m = B.min(n - c0);
                    let (mut wv, mut cv, mut sv, mut crv, mut srv) = (
                        [0.0f64; B],
                        [0.0f64; B],
                        [0.0f64; B],
                        [1.0f64; B],
                        [0.0f64; B],
                    );
                    for i in 0..m {
                        let (s0, co) = (b0 * ls[c0 + i]).sin_cos();
                        wv[i] = ws[c0 + i];
                        cv[i] = co;
                        sv[i] = s0;
                        srv[i] = rotors[c0 + i].0;
                        crv[i] = rotors[c0 + i].1;
                    }
                    for sm in sums.iter_mut().take(run1 + 1).skip(run0) {
                        let (mut re, mut im) = ([0.0f64; 4], [0.0f64; 4]);
                        for i in (0..B).step_by(4) {
                            for l in 0..4 {
                                re[l] += wv[i + l] * cv[i + l];
                                im[l] += wv[i + l] * sv[i + l];
                            }
                        }
                        sm.0.add((re[0] + re[1]) + (re[2] + re[3]));
                        sm.1.add((im[0] + im[1]) + (im[2] + im[3]));
                        for i in 0..B {
                            let c2 = cv[i] * crv[i] - sv[i] * srv[i];
                            sv[i] = sv[i] * crv[i] + cv[i] * srv[i];
                            cv[i] = c2;
                        }
                    }
                }
            } else {
                for ((&w, &l), &(sr, cr)) in ws.iter().zip(ls).zip(&rotors) {
                    let (s0, c0) = (b0 * l).sin_cos();
                    let (mut s, mut c) = (s0, c0);
                    for sm in sums.iter_mut().take(run1 + 1).skip(run0) {
                        sm.0.add(w * c);
                        sm.1.add(w * s);
                        let c2 = c * cr - s * sr;
                        s = s * cr + c * sr;
                        c = c2;
                    }
                }
            }
        }
    } else {
        for (sm, &beta) in sums.iter_mut().zip(betas) {
            if beta == 0.0 {
                sm.0 = real;
            } else {
                for (&w, &l) in ws.iter().zip(ls) {
                    let (s, co) = (beta * l).sin_cos();
                    sm.0.add(w * co);
                    sm.1.add(w * s);
                }
            }
        }
    }
    PhaseSums {
        sums,
        since_seed,
        equally_spaced,
        step,
    }
}

/// The exact δ(ε) of one Laplace step with a = 1/b (both orderings; docs/math.md §2.2):
/// δ(ε) = 1 − e^{(ε − a)/2} for 0 ≤ ε < a, 0 beyond. The computed x = (ε − a)/2 is within
/// dx = u(ε + 2a) of the exact one (the subtraction, and a = 1/b itself rounded to u/2
/// relative) and −expm1 is decreasing, so [−expm1(x + dx), −expm1(x − dx)], widened by 4u
/// relative for expm1 and clamped to [0, 1], encloses δ, also where x is far below −700 (δ = 1)
/// and where ε is within rounding of a (the upper end stays positive there).
/// Returns (lower, value, upper).
fn laplace_single_step_delta(a: f64, epsilon: f64) -> (f64, f64, f64) {
    let u = UNIT_ROUNDOFF;
    let eps = epsilon.max(0.0);
    let x = 0.5 * (eps - a);
    let dx = u * (eps + 2.0 * a);
    let clamp = |d: f64| d.clamp(0.0, 1.0);
    let value = clamp(-x.exp_m1());
    let lower = clamp(-(x + dx).exp_m1() * (1.0 - 4.0 * u));
    let upper = clamp(-(x - dx).exp_m1() * (1.0 + 4.0 * u));
    (lower, value, upper)
}

/// ln(e^x − 1) for x > 0 without overflow (e^x − 1 overflows past x ≈ 709.8; ln of that
/// infinity once turned a huge strip majorant into a zero discretisation bound).
pub fn ln_expm1(x: f64) -> f64 {
    if x > 30.0 {
        x + (-(-x).exp()).ln_1p()
    } else {
        x.exp_m1().ln()
    }
}

/// ln of an upper bound on |F_{1−w}(λ + it)| for every |t| ≥ `t`, where
/// F_{1−w}(ζ) = ∫ Φ((x − x₀)/s) e^{ζL(x)}φ(x)dx is the transform of the part (1 − w)P left out by
/// the window of [`subsampled_mgf_windowed`] (remove ordering, λ > 0, t > 0).
///
/// The integrand is entire in x for |Im x| < π/μ with Gaussian decay at both ends, so the line
/// moves to Im x = b (0 < μb ≤ 1 < π/2): with |Φ(u + iv)| ≤ e^{v²/2}Φ(u), |φ(x + ib)| =
/// φ(x)e^{b²/2}, Re L(x + ib) ≤ L(x) and Im L(x + ib) = arg((1 − q) + q e^{w}e^{iμb}) ≥ 0 (increasing
/// in x), |F_{1−w}(λ + it)| ≤ B_b(t) = e^{b²/2 + b²/(2s²)} ∫ Φ((x − x₀)/s) e^{λL(x) − t·Im L(x + ib)}
/// φ(x)dx, non-increasing in t (t < 0 by conjugation, with b → −b). B_b is bounded by an upper
/// Riemann sum: on each cell Φ((x−x₀)/s) and e^{λL} are taken at the right end, e^{−t Im L} at the
/// left end and φ at the point of the cell nearest 0; below the first cell Φ((x−x₀)/s)e^{λL(x)} ≤ its
/// value there and ∫φ = Φ(x_lo); above the last, Φ ≤ 1, e^{−t Im L} ≤ 1 and the truncation bound of
/// the module docs. The cell width only sets how tight the sum is (it is an upper sum for any
/// width): about 1/(largest log-derivative of the integrand). The minimum over b = θ/μ,
/// θ ∈ {0.2, 0.4, 0.6, 0.8}, is returned, with a margin 1e−6 on the logarithm for the f64
/// rounding (each term is within a few ulp; |t·Im L| ≤ 0.8t).
///
/// # Guarantee
/// An upper bound (ln), under the module's assumptions on the platform's exp, ln, atan2, erfc.
pub fn ln_window_tail_bound(q: f64, mu: f64, lambda: f64, x0: f64, s: f64, t: f64) -> f64 {
    let lo = x0 - 40.0 * s;
    let hi = lambda.max(0.0) * mu + 40.0 + x0.max(0.0);
    let dx = (1.0 / (t * mu + lambda * mu + 45.0 / s + hi.abs() + lo.abs() + 1.0)).min(1e-2);
    let cells = ((hi - lo) / dx).ceil() as usize;
    let mu2 = 0.5 * mu * mu;
    let ln_c = (lambda - 1.0).max(0.0) * LN_2;
    let comp = lambda * q.ln() + 0.5 * lambda * (lambda - 1.0) * mu * mu;
    let top = ln_c + logsumexp(&[normal::ln_sf(hi), comp + normal::ln_sf(hi - lambda * mu)]);
    let per_b = |k: usize| -> f64 {
        let th = 0.2 * k as f64;
        let b = th / mu;
        let pref = 0.5 * b * b + 0.5 * b * b / (s * s);
        let (sn, cs) = th.sin_cos();
        let im_l = |x: f64| -> f64 {
            let r = q * (mu * x - mu2).exp();
            (r * sn).atan2((1.0 - q) + r * cs)
        };
        let lw = |x: f64| normal::ln_cdf((x - x0) / s);
        let ll = |x: f64| log1p_qexpm1(q, mu * x - mu2);
        let mut terms = Vec::with_capacity(cells + 2);
        terms.push(lw(lo) + lambda * ll(lo) + normal::ln_cdf(lo));
        for j in 0..cells {
            let xa = lo + j as f64 * dx;
            let xb = lo + (j + 1) as f64 * dx;
            let xp = if xb <= 0.0 {
                xb
            } else if xa >= 0.0 {
                xa
            } else {
                0.0
            };
            terms.push(
                lw(xb) + lambda * ll(xb) - t * im_l(xa) - 0.5 * xp * xp - LN_SQRT_2PI + dx.ln(),
            );
        }
        let xe = lo + cells as f64 * dx;
        terms.push(if xe >= hi {
            ln_c + logsumexp(&[normal::ln_sf(xe), comp + normal::ln_sf(xe - lambda * mu)])
        } else {
            top
        });
        pref + logsumexp(&terms)
    };
    let best = (1..=4usize)
        .into_par_iter()
        .map(per_b)
        .reduce(|| f64::INFINITY, f64::min);
    best + 1e-6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanism::{Laplace, SubsampledGaussian};

    /// docs/math.md §2 oracle: E_P[e^{jL}] = Σ C(j,i)(1−q)^{j−i}q^i e^{i(i−1)μ²/2}.
    fn oracle(q: f64, mu: f64, j: u32) -> f64 {
        let mut terms = Vec::new();
        for i in 0..=j {
            let lc = statrs::function::factorial::ln_binomial(j as u64, i as u64);
            terms.push(
                lc + (j - i) as f64 * (-q).ln_1p()
                    + i as f64 * q.ln()
                    + 0.5 * i as f64 * (i as f64 - 1.0) * mu * mu,
            );
        }
        logsumexp(&terms)
    }

    #[test]
    fn integer_lambda_matches_the_binomial_oracle() {
        for &(q, sigma) in &[(0.01, 0.8), (0.0297, 0.7865), (0.1, 0.6), (0.5, 2.0)] {
            let mu = 1.0 / sigma;
            for j in [2u32, 3, 5, 10, 20] {
                let v = subsampled_mgf(q, mu, C64::new(j as f64, 0.0), 1e-17);
                let want = oracle(q, mu, j);
                // Certified: |M̃ − M| ≤ e^{ln_err}; and it is small (≤ 1e−11 relative; the
                // worst case is j = 20, σ = 0.6 where the peak sits at x ≈ 33).
                let diff = (v.ln.re.exp() - want.exp()).abs();
                assert!(diff <= v.ln_err.exp(), "q={q} j={j}: {diff:e} vs bound");
                // The bound is dominated by the worst-case rounding analysis (~u·x² at the peak).
                assert!(
                    v.ln_err - want < (1e-11f64).ln(),
                    "bound {} ",
                    v.ln_err - want
                );
                assert!(v.ln.im.abs() < 1e-15);
                // The add ordering at z = 1 − j is the same integral.
                let t = Transform::new(
                    &Mechanism::SubsampledGaussian(
                        SubsampledGaussian::new(sigma, q).expect("test setup"),
                    ),
                    Direction::Add,
                );
                let w = t.ln_mgf(C64::new(1.0 - j as f64, 0.0), 1e-17);
                assert!((w.ln.re - want).abs() < 1e-13 * (1.0 + want.abs()));
            }
        }
    }

    #[test]
    fn complex_values_match_a_fine_reference_and_the_real_quadrature() {
        // Reference: the same integral with 4× the nodes of a fixed fine step (independent of
        // the adaptive step choice); tolerance 1e−13 of M(λ).
        let (q, mu) = (0.0297, 1.0 / 0.7865);
        for &(lam, t) in &[
            (2.5, 0.0),
            (2.5, 3.0),
            (7.0, 11.0),
            (15.0, 40.0),
            (-3.0, 7.0),
        ] {
            let zeta = C64::new(lam, t);
            let v = subsampled_mgf(q, mu, zeta, 1e-17);
            let (lo, hi) = node_range(q, mu, lam, 60.0);
            let h = 1e-3;
            let n = ((hi - lo) / h) as usize;
            let mut s = C64::new(0.0, 0.0);
            for j in 0..=n {
                let x = lo + j as f64 * h;
                let l = log1p_qexpm1(q, mu * x - 0.5 * mu * mu);
                s += (zeta * l - 0.5 * x * x).exp();
            }
            let r = s * h / (2.0 * PI).sqrt();
            let scale = subsampled_mgf(q, mu, C64::new(lam, 0.0), 1e-17).ln.re.exp();
            let diff = (v.ln.exp() - r).norm();
            assert!(
                diff <= 1e-13 * scale,
                "λ={lam} t={t}: {diff:e} vs {scale:e}"
            );
            assert!(v.ln_err.exp() <= 1e-12 * scale);
        }
        // Real part at real λ against special::quadrature (certified MPFR enclosure).
        use crate::precision::Precision;
        use crate::special::quadrature::{certified_moments, SubsampledLoss, Tilt};
        let loss = SubsampledLoss {
            sigma: 0.7865,
            q: 0.0297,
        };
        let tilts = [Tilt::at(3.7)];
        let m = certified_moments(&loss, &tilts, 0, Precision(128)).expect("test setup");
        let want = m.values[0][0].mid_f64();
        let got = subsampled_mgf(0.0297, 1.0 / 0.7865, C64::new(3.7, 0.0), 1e-17);
        assert!((got.ln.re.exp() - want).abs() <= 1e-14 * want);
    }

    #[test]
    fn laplace_closed_form_matches_quadrature_of_its_law() {
        // M(z) = ½e^{−za} + ½e^{−a}e^{za} + ∫_0^1 e^{za(2x−1)}(a/2)e^{−ax}dx, by Simpson (fine).
        let lap = Laplace::new(2.0).expect("test setup");
        let t = Transform::new(&Mechanism::Laplace(lap), Direction::Remove);
        let a = 0.5;
        for &z in &[C64::new(2.0, 0.0), C64::new(1.5, 3.0), C64::new(4.0, -20.0)] {
            let n = 20000;
            let mut s = C64::new(0.0, 0.0);
            for j in 0..=n {
                let x = j as f64 / n as f64;
                let wgt = crate::special::quadrature::simpson_weight(j, n);
                s += (z * (a * (2.0 * x - 1.0))).exp() * (0.5 * a * (-a * x).exp()) * wgt;
            }
            let cont = s / (3.0 * n as f64);
            let want = (-z * a).exp() * 0.5 + (z * a).exp() * (0.5 * (-a).exp()) + cont;
            let got = t.ln_mgf(z, 1e-17).ln.exp();
            assert!(
                (got - want).norm() <= 1e-12 * want.norm().max(1.0),
                "{z}: {got} {want}"
            );
        }
        // M(0) = M(1) = 1.
        for z in [0.0, 1.0] {
            let v = t.ln_mgf(C64::new(z, 0.0), 1e-17).ln;
            assert!(v.norm() < 1e-15);
        }
    }

    #[test]
    fn batched_and_rotated_values_agree_with_single_evaluations() {
        // Two certified enclosures of the same M(ζ) must overlap: |M̃_batch − M̃_single| ≤ the sum
        // of their error bounds; and the batch bounds stay within 1e−12 of M(α) (rounding-level).
        for &(q, mu, alpha) in &[
            (0.0297, 1.0 / 0.7865, 6.0),
            (5e-4, 1.0, 15.0),
            (0.01, 1.0, -7.0),
        ] {
            let betas: Vec<f64> = (0..40).map(|k| 3.0 + 0.37 * k as f64).collect();
            for (rot, block) in [(0usize, 0usize), (16, 0), (16, 32), (63, 0), (63, 32)] {
                let scheme = SumScheme {
                    rotations: rot,
                    block,
                };
                assert_windowed_agrees_with_single((q, mu, alpha), &betas, scheme, 1e-12, |_| true);
            }
        }
    }

    #[test]
    fn split_bounds_hold_for_a_nearly_atomic_pllr() {
        // q = 5e−4, σ = 1 (EA S2): at λ = 15 (remove) and λ = 8 (add) most of the tilted mass
        // sits in a spike near ln(1 − q), so TV/t is weak for t up to ~10⁴; the split bounds
        // must hold (tolerance 1e−9 relative + 1e−15, the quadrature's accuracy) and must be
        // informative: below 0.999 somewhere on the grid where TV/t is still ≥ 1.
        let s =
            Mechanism::SubsampledGaussian(SubsampledGaussian::new(1.0, 5e-4).expect("test setup"));
        for (dir, lam) in [(Direction::Remove, 15.0), (Direction::Add, 8.0)] {
            let t = Transform::new(&s, dir);
            let d = t.decay(lam);
            let Decay::Density(DensityDecay { tv_hi, splits, .. }) = d else {
                panic!("subsampled Gaussian has a density");
            };
            assert!(splits.iter().any(|s| s.p < 1.0));
            let m0 = t.ln_mgf(C64::new(lam, 0.0), 1e-17).ln.re;
            let mut informative = false;
            for k in 1..120 {
                let tt = 1.9f64.powf(k as f64 / 8.0) * 0.5;
                let v = t.ln_mgf(C64::new(lam, tt), 1e-17);
                let ratio = (v.ln.re - m0).exp();
                let b = split_bound(&splits, tt, f64::INFINITY);
                assert!(
                    ratio <= b * (1.0 + 1e-9) + 1e-15,
                    "{dir:?} t={tt}: {ratio} > split bound {b}"
                );
                assert!(ratio <= d.bound(tt) * (1.0 + 1e-9) + 1e-15);
                if b < 0.999 && tv_hi / tt >= 1.0 {
                    informative = true;
                }
            }
            assert!(
                informative,
                "{dir:?}: split bounds never below 0.999 where TV/t ≥ 1"
            );
        }
    }

    /// Brute-force f64 trapezoid of ∫ g(x) e^{(α+iβ)L(x)} φ(x) dx (step 1e−4 on [−12, 14]; for
    /// the settings below its own error is far below 1e−12 relative to F(α)).
    fn brute(q: f64, mu: f64, alpha: f64, beta: f64, g: impl Fn(f64) -> f64) -> C64 {
        let dx = 1e-4;
        let mut acc = C64::new(0.0, 0.0);
        let n = (26.0 / dx) as usize;
        for j in 0..=n {
            let x = -12.0 + j as f64 * dx;
            let l = log1p_qexpm1(q, mu * x - 0.5 * mu * mu);
            let e = (alpha * l - 0.5 * x * x - LN_SQRT_2PI).exp() * g(x);
            acc += C64::new(0.0, beta * l).exp() * e;
        }
        acc * dx
    }

    #[test]
    fn windowed_transform_and_tail_bound_hold() {
        // q = 0.001, σ = 0.6 at the saddle λ ≈ 5.37 of the open sparse rows; window x₀ = 2.75,
        // s = 0.1. Tolerance: the certified error bound plus 1e−12·F(λ) for the brute-force sum.
        let (q, mu, lam, x0, s) = (0.001, 1.0 / 0.6, 5.37, 2.75, 0.1);
        let f0 = brute(q, mu, lam, 0.0, |_| 1.0).re;
        for beta in [0.0, 3.0, 40.0, 300.0] {
            let w = brute(q, mu, lam, beta, |x| normal::cdf((x0 - x) / s));
            let full = brute(q, mu, lam, beta, |_| 1.0);
            let v = subsampled_mgf_windowed(
                q,
                mu,
                lam,
                &[beta],
                1e-17,
                SumScheme::DIRECT,
                Some(SmoothWindow { x0, s }),
            )[0];
            let got = v.ln.exp();
            assert!(
                (got - w).norm() <= v.ln_err.exp() + 1e-12 * f0,
                "beta={beta}: {got} vs {w}, err bound {}",
                v.ln_err.exp()
            );
            // Rotated and block-summed phases (equally spaced β) agree within their bounds.
            let betas = [beta, beta + 0.5, beta + 1.0];
            let rot = subsampled_mgf_windowed(
                q,
                mu,
                lam,
                &betas,
                1e-17,
                SumScheme {
                    rotations: 2,
                    block: SUM_BLOCK,
                },
                Some(SmoothWindow { x0, s }),
            );
            let direct = subsampled_mgf_windowed(
                q,
                mu,
                lam,
                &betas,
                1e-17,
                SumScheme::DIRECT,
                Some(SmoothWindow { x0, s }),
            );
            for (a, b) in rot.iter().zip(&direct) {
                assert!((a.ln.exp() - b.ln.exp()).norm() <= a.ln_err.exp() + b.ln_err.exp());
            }
            // The left-out part (1 − w)P against the shifted-contour bound (t ≥ 1).
            if beta >= 1.0 {
                let rest = (full - w).norm();
                let b = ln_window_tail_bound(q, mu, lam, x0, s, beta).exp();
                assert!(
                    rest <= b * (1.0 + 1e-9) + 1e-12 * f0,
                    "t={beta}: {rest} > {b}"
                );
            }
        }
        // Far right window: the windowed transform is the plain one.
        let plain = subsampled_mgf_windowed(q, mu, lam, &[7.0], 1e-17, SumScheme::DIRECT, None)[0];
        let far = subsampled_mgf_windowed(
            q,
            mu,
            lam,
            &[7.0],
            1e-17,
            SumScheme::DIRECT,
            Some(SmoothWindow { x0: 60.0, s }),
        )[0];
        assert!((plain.ln.exp() - far.ln.exp()).norm() <= plain.ln_err.exp() + far.ln_err.exp());
        // The tail bound decays: informative (below 1e−6·F) by t = 1500, and non-increasing.
        let b1 = ln_window_tail_bound(q, mu, lam, x0, s, 500.0);
        let b2 = ln_window_tail_bound(q, mu, lam, x0, s, 1500.0);
        assert!(
            b2 <= b1 && b2 < f0.ln() - 6.0 * std::f64::consts::LN_10,
            "{b1} {b2}"
        );
        // Large λ' (the R bound): the windowed truncation keeps the error bound small relative
        // to the value (the plain bound would be ~e^{5·10⁴}).
        let v = subsampled_mgf_windowed(
            q,
            mu,
            200.0,
            &[0.0],
            1e-17,
            SumScheme::DIRECT,
            Some(SmoothWindow { x0, s }),
        )[0];
        assert!(v.ln.re.is_finite() && v.ln_err < v.ln.re - 20.0, "{v:?}");
    }

    /// `Decay::bound_over` is at least `Decay::bound` at 41 points of each interval, for every
    /// kind of decay bound.
    #[test]
    fn bound_over_bounds_the_decay_on_its_interval() {
        use crate::mechanism::{Gaussian, GaussianMixture, SubsampledLaplace, WithoutReplacement};
        let mut ms = vec![
            Mechanism::Gaussian(Gaussian::new(0.7).expect("test setup")),
            Mechanism::Laplace(Laplace::new(0.8).expect("test setup")),
            Mechanism::SubsampledLaplace(SubsampledLaplace::new(0.5, 0.1).expect("test setup")),
            Mechanism::GaussianMixture(GaussianMixture::WithoutReplacement(
                WithoutReplacement::new(1.0, 100, 1000).expect("test setup"),
            )),
            Mechanism::GaussianMixture(
                GaussianMixture::mixture_of_gaussians(0.9, &[0.0, 1.0, 2.0], &[0.6, 0.3, 0.1])
                    .expect("test setup"),
            ),
            Mechanism::GaussianMixture(
                GaussianMixture::replace_one_poisson(0.8, 0.01).expect("test setup"),
            ),
        ];
        for q in [1e-5, 1e-3, 0.3] {
            for sigma in [0.06, 0.8, 3.0] {
                ms.push(Mechanism::SubsampledGaussian(
                    SubsampledGaussian::new(sigma, q).expect("test setup"),
                ));
            }
        }
        let mut checked = 0;
        for m in &ms {
            for dir in [Direction::Remove, Direction::Add] {
                for lam in [1.5, 4.0, 30.0] {
                    let d = Transform::new(m, dir).decay(lam);
                    // Intervals [ta, tb] from 1e-3 to 1e6, of relative widths 1e-3 to 10.
                    for i in 0..90 {
                        let ta = 1e-3 * 10f64.powf(i as f64 / 10.0);
                        for w in [1e-3, 0.1, 1.0, 10.0] {
                            let tb = ta * (1.0 + w);
                            let over = d.bound_over(ta, tb);
                            for j in 0..=40 {
                                let t = ta + (tb - ta) * j as f64 / 40.0;
                                let b = d.bound(t);
                                assert!(
                                    b <= over * (1.0 + 1e-12),
                                    "{m:?} {dir:?} λ={lam} [{ta}, {tb}] t={t}: {b} > {over}"
                                );
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 100_000, "{checked}");
    }

    /// A one-step transform whose decay bound the tests check ([`decay_checked_on_log_grid`]).
    pub(super) trait Probe: std::fmt::Debug {
        fn ln_mgf(&self, z: C64, tau: f64) -> MgfValue;
        fn cost(&self, lambda: f64, t: f64) -> f64;
        fn decay(&self, lambda: f64) -> Decay;
    }

    /// The [`Probe`] of a type with inherent `ln_mgf`, `cost` and `decay` of the same signatures.
    macro_rules! probe {
        ($t:ty) => {
            impl Probe for $t {
                fn ln_mgf(&self, z: C64, tau: f64) -> MgfValue {
                    <$t>::ln_mgf(self, z, tau)
                }
                fn cost(&self, lambda: f64, t: f64) -> f64 {
                    <$t>::cost(self, lambda, t)
                }
                fn decay(&self, lambda: f64) -> Decay {
                    <$t>::decay(self, lambda)
                }
            }
        };
    }
    probe!(super::mixture::MixturePair);
    probe!(super::union::Union);

    /// [`assert_decay_on_log_grid`] for each transform of `probes` at each λ of `lams`, and at
    /// least `min_points` points checked in all.
    pub(super) fn assert_decays_on_log_grids<P: Probe>(
        probes: impl IntoIterator<Item = P>,
        lams: &[f64],
        ks: impl Iterator<Item = usize> + Clone,
        min_points: usize,
    ) {
        let mut checked = 0;
        for p in probes {
            for &lam in lams {
                checked += assert_decay_on_log_grid(
                    |z| p.ln_mgf(z, 1e-17),
                    |tt| p.cost(lam, tt),
                    &p.decay(lam),
                    lam,
                    ks.clone(),
                    &format!("{p:?}"),
                )
                .len();
            }
        }
        assert!(checked >= min_points, "{checked} points checked");
    }

    /// The certified |M(λ + it)|/M(λ) plus its error below `d.bound(t)` (1 + 1e−9 relative,
    /// 1e−15 absolute) on the log grid t_k = 0.5·1.9^{k/8}, k in `ks`, while one evaluation costs
    /// at most 2·10⁶ x-nodes; points where the transform leaves f64 (the contour refuses there) are
    /// skipped. Returns the t checked.
    pub(super) fn assert_decay_on_log_grid(
        ln_mgf: impl Fn(C64) -> MgfValue,
        cost: impl Fn(f64) -> f64,
        d: &Decay,
        lam: f64,
        ks: impl Iterator<Item = usize>,
        what: &str,
    ) -> Vec<f64> {
        let m0 = ln_mgf(C64::new(lam, 0.0)).ln.re;
        let mut checked = Vec::new();
        for k in ks {
            let tt = 1.9f64.powf(k as f64 / 8.0) * 0.5;
            if cost(tt) > 2e6 {
                break;
            }
            let v = ln_mgf(C64::new(lam, tt));
            let ratio = (v.ln.re - m0).exp() + (v.ln_err - m0).exp();
            if !ratio.is_finite() {
                continue;
            }
            let b = d.bound(tt);
            assert!(
                ratio <= b * (1.0 + 1e-9) + 1e-15,
                "{what} λ={lam} t={tt}: {ratio} > {b}"
            );
            checked.push(tt);
        }
        checked
    }

    /// |M(λ + it)|/M(λ) at t = k·step, k = 1..count, stays below the decay bound (times
    /// 1 + 1e−9, plus 1e−15): the shared check of every transform's `Decay`.
    pub(super) fn assert_decay_on_grid(
        ln_mgf: impl Fn(C64) -> MgfValue,
        d: &Decay,
        lam: f64,
        step: f64,
        count: usize,
        what: &str,
    ) {
        let m0 = ln_mgf(C64::new(lam, 0.0)).ln.re;
        for k in 1..count {
            let tt = k as f64 * step;
            let ratio = (ln_mgf(C64::new(lam, tt)).ln.re - m0).exp();
            assert!(
                ratio <= d.bound(tt) * (1.0 + 1e-9) + 1e-15,
                "{what} t={tt}: {ratio} > {}",
                d.bound(tt)
            );
        }
    }

    /// The split bounds with the conditional moments of the part below each cut hold at small q
    /// (a spike of width ~q holds most of the tilted mass) on a log grid of t up to ~8·10⁴, for
    /// both orderings, three σ and λ from 2 to 40; and they are informative: somewhere on the grid
    /// the moment factor takes a split strictly below its plain p + C/t.
    #[test]
    fn split_moment_bounds_hold_for_spiky_pllrs() {
        let mut checked = 0;
        for q in [1e-5, 1e-4, 0.02] {
            for sigma in [0.6, 1.0, 2.0] {
                let s = Mechanism::SubsampledGaussian(
                    SubsampledGaussian::new(sigma, q).expect("test setup"),
                );
                for (dir, lam) in [
                    (Direction::Remove, 2.0),
                    (Direction::Remove, 18.0),
                    (Direction::Remove, 40.0),
                    (Direction::Add, 3.0),
                    (Direction::Add, 12.0),
                ] {
                    let t = Transform::new(&s, dir);
                    let d = t.decay(lam);
                    let Decay::Density(DensityDecay { splits, .. }) = d else {
                        panic!("subsampled Gaussian has a density");
                    };
                    let ts = assert_decay_on_log_grid(
                        |z| t.ln_mgf(z, 1e-17),
                        |tt| t.cost(lam, tt),
                        &d,
                        lam,
                        (1..150).step_by(2),
                        &format!("q={q} σ={sigma} {dir:?}"),
                    );
                    checked += ts.len();
                    let here = ts.len();
                    // Sharper than the plain p + C/t somewhere on the grid.
                    let sharper = ts.iter().any(|&tt| {
                        let plain = splits
                            .iter()
                            .map(|s| s.p + s.c / tt)
                            .fold(f64::INFINITY, f64::min);
                        split_bound(&splits, tt, f64::INFINITY) < 0.99 * plain.min(1.0)
                    });
                    assert!(
                        here == 0 || sharper,
                        "q={q} σ={sigma} {dir:?} λ={lam}: never sharper than p + C/t"
                    );
                }
            }
        }
        assert!(checked >= 2000, "{checked} points checked");
    }

    #[test]
    fn decay_bounds_hold_on_a_grid() {
        let s = Mechanism::SubsampledGaussian(
            SubsampledGaussian::new(0.7865, 0.0297).expect("test setup"),
        );
        for dir in [Direction::Remove, Direction::Add] {
            let t = Transform::new(&s, dir);
            let lam = 6.0;
            let d = t.decay(lam);
            let f = |z: C64| t.ln_mgf(z, 1e-17);
            assert_decay_on_grid(f, &d, lam, 0.37, 200, &format!("{dir:?}"));
        }
    }
}
