//! The lattice mechanisms at a cost flat in the number of steps: periodic (Fourier) inversion
//! of the n-fold lattice law along a tilted circle, certified (docs/math.md §16.8).
//!
//! The composed Q-law of n copies of a lattice loss lives on the indices i = 0..nJ (loss
//! s_i = h(i − nJ/2)); with G(z) = Σ_j q_j e^{zj} its index transform,
//!
//! ```text
//! δ(ε) = Σ_{i ≥ i0} Q_n(i)(1 − b e^{−h(i − i0)}) = (1/2π) ∫_{−π}^{π} G(c+iθ)^n e^{−(c+iθ)i0} k(c+iθ) dθ
//! k(z) = 1/(1 − e^{−z}) − b/(1 − e^{−z−h}),   b = e^{ε − s_{i0}},  any c > 0
//! ```
//!
//! Below the bulk of the loss (i0 more than 1.5 standard deviations under the mean index sum)
//! the saddle point of this integral nears the pole c = 0 and the node count grows like 1/c;
//! there the complement M = E_Q[min(1, e^{ε−S})] = m − δ (m the total mass) is inverted, with
//! k_M(z) = e^{z}/(1 − e^{z}) + b/(1 − e^{−z−h}) and −h < c < 0 (δ is then near 1).
//!
//! The N-point trapezoid rule of this periodic integrand returns δ plus *aliases* (the same
//! sum shifted by multiples of N lattice units, weighted by e^{±c·mN}), all nonnegative: the
//! trapezoid value is an upper bound and the aliases are bounded by Chernoff bounds of the
//! tilted law (§16.8). Only the nodes where |G(c+iθ)/G(c)|ⁿ is not negligible are evaluated;
//! the others are bounded by a certified sup of |G(c+iθ)/G(c)| on the outer arc (a quadratic
//! lower bound on 1 − |ρ|² near the window, a Lipschitz-checked subdivision beyond). The
//! number of nodes does not grow with n. Every rounding error is bounded and added outward;
//! a bound that cannot be certified refuses (the dispatcher then falls back to exact lattice
//! composition, docs/math.md §16.5, within its budget).

use super::lattice_exact::{predicted_work, LatticeSum};
use super::{Ask, Bracket, ContourAccountant, Enclosure};
use crate::error::{Error, Result};
use crate::mechanism::lattice::CertifiedLattice;
use std::f64::consts::PI;

const U: f64 = f64::EPSILON / 2.0;
const TINY: f64 = f64::from_bits(1);
/// Compositions whose exact lattice composition is predicted below this many multiply-adds
/// are answered exactly (faster there than the Fourier path).
const EXACT_FIRST: f64 = 2e6;
/// Most bytes the window nodes of one evaluation may hold (checked before allocating; at
/// 40 bytes a node, about 1.7·10⁶ nodes).
const NODE_BYTES: f64 = 64.0 * 1024.0 * 1024.0;
/// Most multiply-adds (atoms × evaluations of ρ) one δ evaluation may take.
const WORK_CAP: f64 = 5e7;
/// The tail sum is inverted at its saddle point only where i₀ lies above the mean
/// n·E_Q\[index\] plus this many standard deviations √(n Var_0) (a negative number: down to
/// 1.5 sd below the mean, where the saddle point is still ≈ 0.5/sd); further below, the saddle
/// point nears the pole c = 0, the node count grows like 1/c, and the complement is used, whose
/// δ = mass − M is then ≥ ~0.9 and loses nothing to cancellation (docs/math.md §16.8).
const TAIL_FROM: f64 = -1.5;
/// The tail's tilt where it backs the complement up: at least this many √(n Var_0)⁻¹.
const TAIL_TILT: f64 = 1.5;
/// Failed δ evaluations after which the ε search stops (and refuses).
const MAX_FAILS: u32 = 6;
/// Weights below this fraction of the largest are left out of ρ (their mass goes into η).
const KEEP: f64 = 1e-40;

/// Which computation answers a composition of one lattice mechanism (randomized response,
/// discrete Laplace, discrete Gaussian) in the contour accountant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LatticePath {
    /// Exact composition where it is cheap (small n), else the Fourier inversion, falling back
    /// to exact composition where the Fourier bounds cannot be certified.
    #[default]
    Auto,
    /// Exact lattice composition only (docs/math.md §16.5).
    Exact,
    /// The Fourier inversion only (docs/math.md §16.8).
    Fourier,
}

impl ContourAccountant {
    /// Certified δ(ε) of a composition of one lattice mechanism by the chosen path (both
    /// orderings have the same laws, docs/math.md §16).
    ///
    /// # Errors
    /// Bad ε; a composition that is not one lattice mechanism; a refusal of the path.
    pub fn lattice_delta(&self, epsilon: f64, path: LatticePath) -> Result<Bracket> {
        super::check_epsilon(epsilon)?;
        self.lattice_path(Ask::Delta(epsilon), path)
            .map(Enclosure::bracket)
    }

    /// Certified ε(δ) of a composition of one lattice mechanism by the chosen path.
    ///
    /// # Errors
    /// As [`ContourAccountant::lattice_delta`], for δ.
    pub fn lattice_epsilon(&self, delta: f64, path: LatticePath) -> Result<Bracket> {
        super::check_delta(delta)?;
        self.lattice_path(Ask::Epsilon(delta), path)
            .map(Enclosure::bracket)
    }

    fn lattice_path(&self, ask: Ask, path: LatticePath) -> Result<Enclosure> {
        let part = super::lattice_part(&self.composition).ok_or_else(|| {
            Error::NotCertified(
                "contour: the composition holds no lattice mechanism (lattice paths answer \
                 randomized response, discrete Laplace and the discrete Gaussian)"
                    .into(),
            )
        })?;
        let (law, n) = part?;
        lattice_enclosure(&law, n, ask, self.params.tolerance, path)
    }
}

/// Certified enclosure of `ask` for n copies of one lattice law by `path` (docs/math.md §16.5,
/// §16.8); both orderings have the same laws (docs/math.md §16).
pub(super) fn lattice_enclosure(
    law: &CertifiedLattice,
    n: u64,
    ask: Ask,
    tolerance: f64,
    path: LatticePath,
) -> Result<Enclosure> {
    let exact = || -> Result<Enclosure> {
        let sum = LatticeSum::new(law, n)?;
        Ok(match ask {
            Ask::Delta(e) => sum.delta(e),
            Ask::Epsilon(d) => sum.epsilon(d),
        })
    };
    let fourier = || -> Result<Enclosure> {
        let f = Fourier::new(law, n, tolerance)?;
        match ask {
            Ask::Delta(e) => f.delta(e),
            Ask::Epsilon(d) => f.epsilon(d),
        }
    };
    match path {
        LatticePath::Exact => exact(),
        LatticePath::Fourier => fourier(),
        LatticePath::Auto => {
            // Few steps: the Fourier bounds rarely certify there (|G(c+iθ)/G(c)|ⁿ decays
            // slowly) and exact composition is affordable.
            if n < 64 || predicted_work(law, n) <= EXACT_FIRST {
                return exact();
            }
            match fourier() {
                Err(Error::NotCertified(why)) => exact().map_err(|e| match e {
                    Error::NotCertified(w) => Error::NotCertified(format!(
                        "{why}; exact lattice composition instead: {w}"
                    )),
                    other => other,
                }),
                other => other,
            }
        }
    }
}

/// One end's lattice data: the first index counted, b = e^{ε − s_{i0}} (rounded to the safe
/// side), the spacing used and which sum the inversion forms.
#[derive(Debug, Clone, Copy)]
struct Side {
    i0: f64,
    b: f64,
    h: f64,
    kind: Kernel,
}

impl Side {
    /// The same lattice data for another kernel.
    fn with_kernel(self, kind: Kernel) -> Side {
        Side { kind, ..self }
    }
}

/// Whether [`Fourier::delta_raw`] takes the tail sum at its saddle point for the upper side
/// `up`: i₀ at least `TAIL_FROM` standard deviations `sd` above the mean index sum `mean`
/// ([`Fourier::bulk`]); below, the complement.
fn uses_tail(up: &Side, mean: f64, sd: f64) -> bool {
    up.i0 - mean >= TAIL_FROM * sd
}

/// Which weighted sum of the composed Q-law the inversion forms (docs/math.md §16.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    /// δ itself: weights (1 − b e^{−hd})₊ above i₀, tilt c > 0.
    Tail,
    /// The complement M = E_Q[min(1, e^{ε−S})] (δ = mass − M): weight 1 below i₀ and
    /// b e^{−hd} from i₀ on, tilt −h < c < 0.
    Complement,
}

/// The tilted weights at c around the integer m (docs/math.md §16.8).
#[derive(Debug, Clone)]
struct Tilt {
    c: f64,
    m: f64,
    /// ln Ŝ, Ŝ = Σ q̂_j e^{c(j−m)} (an exact f64; the weights are defined with it).
    ln_s: f64,
    /// Kept indices and their weights ŵ_j.
    idx: Vec<f64>,
    w: Vec<f64>,
    /// |ρ̂(θ) − ρ(θ)| ≤ eta0 + eta1·θ.
    eta0: f64,
    eta1: f64,
    /// Lipschitz constant of ρ (Σ w_j |j − m|, rounded up).
    lip: f64,
    /// Upper bound on ρ(0) = Σ w_j.
    rho0_hi: f64,
    /// Variance of the computed weights (an estimate, for choices only).
    var: f64,
}

/// Certified data of the Fourier path for n copies of one lattice law.
#[derive(Debug, Clone)]
struct Fourier {
    /// ln q̂_j of the reduced Q-law (−∞ where exactly 0).
    lnq: Vec<f64>,
    /// Largest |ln q̂_j| over the positive masses.
    lnq_max: f64,
    /// Reduced J.
    top: usize,
    /// Certified ends of the reduced spacing.
    h_lo: f64,
    h_hi: f64,
    nf: f64,
    /// n·J (exact).
    nj: f64,
    /// 2n·tail, rounded up (the discrete Gaussian's mass beyond the atoms).
    tail_up: f64,
    /// Certified upper end of the largest atom loss nhJ/2.
    full_max: f64,
    tol: f64,
}

impl Fourier {
    fn new(law: &CertifiedLattice, n: u64, tol: f64) -> Result<Self> {
        let top = law.top();
        let zero: Vec<bool> = (0..=top).map(|j| law.p[top - j].hi.is_zero()).collect();
        let q: Vec<f64> = (0..=top).map(|j| law.p[top - j].mid_f64()).collect();
        // Reduce to the lattice the support generates (0 is always in it).
        let g = (0..=top).filter(|&j| !zero[j]).fold(0usize, gcd);
        if g == 0 || zero[0] {
            return Err(Error::NotCertified(
                "contour: the lattice law has a single atom (no Fourier inversion needed)".into(),
            ));
        }
        let jr = top / g;
        let lnq: Vec<f64> = (0..=jr)
            .map(|j| {
                if zero[g * j] || q[g * j] <= 0.0 {
                    f64::NEG_INFINITY
                } else {
                    q[g * j].ln()
                }
            })
            .collect();
        let lnq_max = lnq
            .iter()
            .filter(|x| x.is_finite())
            .fold(0.0f64, |a, x| a.max(x.abs()));
        let gf = g as f64;
        let (h_lo, h_hi) = if g == 1 {
            (law.h.lo_f64(), law.h.hi_f64())
        } else {
            (
                law.h.lo_f64() * gf * (1.0 - 2.0 * U),
                law.h.hi_f64() * gf * (1.0 + 2.0 * U),
            )
        };
        let nf = n as f64;
        let nj = nf * jr as f64;
        if nj >= 2f64.powi(52) || h_lo.is_nan() || h_lo <= 0.0 || !h_hi.is_finite() {
            return Err(Error::NotCertified(format!(
                "contour: the Fourier lattice path needs n·J < 2^52 and a finite spacing \
                 (n·J = {nj:e}, h in [{h_lo:e}, {h_hi:e}])"
            )));
        }
        let tail_up = if law.tail > 0.0 {
            2.0 * nf * law.tail * (1.0 + 8.0 * U)
        } else {
            0.0
        };
        Ok(Fourier {
            lnq,
            lnq_max,
            top: jr,
            h_lo,
            h_hi,
            nf,
            nj,
            tail_up,
            full_max: 0.5 * nj * h_hi * (1.0 + 4.0 * U),
            tol,
        })
    }

    /// The relative width above which a δ or ε bracket is refused (the dispatcher falls back).
    fn width_limit(&self) -> f64 {
        (10.0 * self.tol).max(1e-6)
    }

    /// The first index and b for the upper (h_hi, weights rounded up) or lower end.
    fn side(&self, eps: f64, upper: bool) -> Result<Option<Side>> {
        let h = if upper { self.h_hi } else { self.h_lo };
        let half = 0.5 * self.nj;
        // Certified end of s_i = h(i − nJ/2) (one rounded product).
        let s = |i: f64| {
            let v = h * (i - half);
            if upper {
                v + 2.0 * U * v.abs()
            } else {
                v - 2.0 * U * v.abs()
            }
        };
        let mut i0 = (eps / h + half).floor().clamp(0.0, self.nj + 1.0);
        for _ in 0..16 {
            if i0 > 0.0 && s(i0 - 1.0) > eps {
                i0 -= 1.0;
            } else {
                break;
            }
        }
        for _ in 0..16 {
            if i0 <= self.nj && s(i0) <= eps {
                i0 += 1.0;
            } else {
                break;
            }
        }
        loop {
            if i0 > self.nj {
                return Ok(None);
            }
            let si = s(i0);
            if si <= eps || (i0 > 0.0 && s(i0 - 1.0) > eps && upper) {
                return Err(Error::Internal(format!(
                    "lattice Fourier: first index above epsilon = {eps} not found"
                )));
            }
            let d = eps - si;
            let margin = 4.0 * U + 2.0 * U * d.abs();
            let b = d.exp();
            if upper {
                return Ok(Some(Side {
                    i0,
                    b: b * (1.0 - margin),
                    h,
                    kind: Kernel::Tail,
                }));
            }
            let b = b * (1.0 + margin);
            if b < 1.0 {
                return Ok(Some(Side {
                    i0,
                    b,
                    h,
                    kind: Kernel::Tail,
                }));
            }
            // The rounded b may reach 1: start one index later (lower weights only shrink).
            i0 += 1.0;
        }
    }

    /// K(x) = ln Σ q̂_j e^{x(j−m)} in f64 and an upper bound on its absolute error against
    /// the true masses (docs/math.md §16.8).
    fn ln_g(&self, x: f64, m: f64) -> (f64, f64) {
        let mx = self
            .lnq
            .iter()
            .enumerate()
            .map(|(j, l)| l + x * (j as f64 - m))
            .fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = self
            .lnq
            .iter()
            .enumerate()
            .map(|(j, l)| (l + x * (j as f64 - m) - mx).exp())
            .sum();
        let v = mx + s.ln();
        let jf = self.top as f64;
        let err = 16.0 * U * (jf + 10.0 + x.abs() * jf + self.lnq_max + v.abs())
            + (jf + 1.0) * TINY * (x.abs() * jf - v).exp() * 2.0;
        (v, err)
    }

    /// The tilted law's mean and variance at c (f64 estimates, for choices).
    fn moments(&self, c: f64) -> (f64, f64) {
        let lw: Vec<f64> = self
            .lnq
            .iter()
            .enumerate()
            .map(|(j, l)| l + c * j as f64)
            .collect();
        let mx = lw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = lw.iter().map(|x| (x - mx).exp()).collect();
        let s: f64 = w.iter().sum();
        let mean = w.iter().enumerate().map(|(j, w)| j as f64 * w).sum::<f64>() / s;
        let var = w
            .iter()
            .enumerate()
            .map(|(j, w)| (j as f64 - mean).powi(2) * w)
            .sum::<f64>()
            / s;
        (mean, var)
    }

    /// The saddle point of n ln G(c) − c·i0 + ln k(c) on the kernel's strip (any c there is
    /// exact; this one makes the integrand a bump of least height): c ∈ [10^{−10}, 60] for the
    /// tail (bisection in ln c), −h < c < 0 for the complement (bisection in c). ψ below is
    /// increasing (n ln G and ln k are convex: k is a Laplace transform of positive weights).
    fn saddle(&self, side: &Side) -> f64 {
        let psi = |c: f64| {
            let (mean, _) = self.moments(c);
            let (k, dk) = kernel_slope(c, side);
            self.nf * mean - side.i0 + dk / k
        };
        let (mut a, mut b, scale): (f64, f64, fn(f64) -> f64) = match side.kind {
            Kernel::Tail => (1e-10f64.ln(), 60f64.ln(), f64::exp),
            Kernel::Complement => (-side.h, 0.0, |x| x),
        };
        if side.kind == Kernel::Tail {
            if psi(60.0) < 0.0 {
                return 60.0;
            }
            if psi(1e-10) > 0.0 {
                return 1e-10;
            }
        }
        for _ in 0..80 {
            let m = 0.5 * (a + b);
            if m <= a || m >= b {
                break;
            }
            if psi(scale(m)) > 0.0 {
                b = m;
            } else {
                a = m;
            }
        }
        scale(0.5 * (a + b))
    }

    /// The complement's tilt: its saddle point kept at least g = min(1/√(n Var_c), h/4) from
    /// both poles (a choice of cost: N grows like 1/distance to the nearer pole).
    fn complement_tilt(&self, side: &Side) -> f64 {
        let c = self.saddle(side);
        let sd = (self.nf * self.moments(c).1).sqrt();
        let g = (1.0 / sd).min(0.25 * side.h);
        c.max(-side.h + g).min(-g)
    }

    /// The weights ŵ_j = q̂_j e^{c(j−m)}/Ŝ and their error terms.
    fn tilt(&self, c: f64) -> Result<Tilt> {
        let (mean, _) = self.moments(c);
        let m = mean.round().clamp(0.0, self.top as f64);
        let e: Vec<f64> = self
            .lnq
            .iter()
            .enumerate()
            .map(|(j, l)| {
                if l.is_finite() {
                    l.exp() * (c * (j as f64 - m)).exp()
                } else {
                    0.0
                }
            })
            .collect();
        let s_hat: f64 = e.iter().sum();
        if !(s_hat > 0.0 && s_hat.is_finite()) {
            return Err(Error::NotCertified(format!(
                "contour: the tilted lattice law at c = {c:e} is out of the f64 range"
            )));
        }
        let wmax = e.iter().copied().fold(0.0f64, f64::max) / s_hat;
        let (mut idx, mut w) = (Vec::new(), Vec::new());
        let (mut eta0, mut eta1, mut lip, mut rho0, mut dropped) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (j, &ej) in e.iter().enumerate() {
            if !self.lnq[j].is_finite() {
                continue;
            }
            let d = j as f64 - m;
            let wj = ej / s_hat;
            // Relative error of ŵ_j: q̂ (2u), exp of a rounded product (u(1 + |c d|) + u),
            // the product and the quotient (2u); absolute: subnormal q̂ or products.
            let ew = U * (8.0 + 2.0 * (c * d).abs());
            let aw = 2.0 * TINY * (1.0 + (c * d).exp()) / s_hat;
            let hi = wj * (1.0 + ew) + aw;
            rho0 += hi;
            lip += hi * d.abs();
            if wj > KEEP * wmax {
                idx.push(d);
                w.push(wj);
                eta0 += wj * (ew * 1.01 + 6.0 * U) + aw;
                eta1 += 3.0 * U * wj * d.abs() * 1.01;
            } else {
                dropped += hi;
            }
        }
        let k = idx.len() as f64 + 2.0;
        let sum_w: f64 = w.iter().sum();
        eta0 += dropped + 2.0 * k * U * sum_w * 1.01;
        let rho0_hi = rho0 * (1.0 + 2.0 * (self.top as f64 + 2.0) * U);
        let wm: f64 = idx.iter().zip(&w).map(|(d, w)| d * w).sum::<f64>() / sum_w;
        let var = idx
            .iter()
            .zip(&w)
            .map(|(d, w)| (d - wm).powi(2) * w)
            .sum::<f64>()
            / sum_w;
        if !(eta0.is_finite() && lip.is_finite() && eta0 < 1e-6) {
            return Err(Error::NotCertified(format!(
                "contour: the rounding bound of the tilted lattice law at c = {c:e} is not small \
                 ({eta0:e})"
            )));
        }
        Ok(Tilt {
            c,
            m,
            ln_s: s_hat.ln(),
            idx,
            w,
            eta0,
            eta1,
            lip: lip * (1.0 + 4.0 * k * U),
            rho0_hi,
            var,
        })
    }

    /// ρ̂(θ) = Σ ŵ_j e^{iθ(j−m)} and its error bound.
    fn rho(t: &Tilt, theta: f64) -> ((f64, f64), f64) {
        let (mut re, mut im) = (0.0, 0.0);
        for (d, w) in t.idx.iter().zip(&t.w) {
            let (s, c) = (theta * d).sin_cos();
            re += w * c;
            im += w * s;
        }
        ((re, im), t.eta0 + t.eta1 * theta)
    }

    /// ln of a certified upper bound on the aliases (in units of e^A, docs/math.md §16.8) for
    /// N nodes, minimised over a few Chernoff parameters.
    fn alias_ln(&self, t: &Tilt, side: &Side, big_n: f64) -> f64 {
        let dd = self.nf * t.m - side.i0;
        let sig2 = (self.nf * t.var).max(1e-300);
        let base = (big_n / sig2).min(50.0);
        let term = |x: f64, shift: f64| {
            let (g, ge) = self.ln_g(x, t.m);
            let v = self.nf * (g - t.ln_s) + shift * dd
                - shift.abs() * big_n
                - (-(-shift.abs() * big_n).exp_m1()).ln();
            // The shift is the rounded fl(x − c), within u|x − c| ≤ u(|x| + |c|) of the exact
            // x − c: 2u(|x| + |c|)(|D| + N) covers its effect on the linear terms.
            let err = self.nf * (ge + 4.0 * U * (g.abs() + t.ln_s.abs() + 1.0))
                + 8.0 * U * ((shift * dd).abs() + shift.abs() * big_n + v.abs() + 1.0)
                + 2.0 * U * (x.abs() + t.c.abs()) * (dd.abs() + big_n);
            v + err
        };
        // The Chernoff points x must stay where the kernel's weights are below e^{(x−c)(i−i₀)}
        // on each family's side: x ≥ 0 (tail), x ∈ [−h, 0] (complement).
        let (x_lo, x_hi) = match side.kind {
            Kernel::Tail => (0.0, f64::INFINITY),
            Kernel::Complement => (-side.h, 0.0),
        };
        let mut up = f64::INFINITY;
        let mut down = f64::INFINITY;
        for f in [0.125, 0.25, 0.5, 1.0, 2.0] {
            let s = base * f;
            let x = (t.c + s).min(x_hi);
            if x > t.c {
                up = up.min(term(x, x - t.c));
            }
            let x = (t.c - s).max(x_lo);
            if x < t.c {
                down = down.min(term(x, x - t.c));
            }
        }
        up.max(down) + std::f64::consts::LN_2 * 1.0001
    }

    /// δ(ε) with the width check.
    fn delta(&self, eps: f64) -> Result<Enclosure> {
        let b = self.delta_raw(eps)?;
        if b.upper > 0.0 && b.upper - b.lower > self.width_limit() * b.upper {
            return Err(Error::NotCertified(format!(
                "contour: the lattice Fourier bracket on delta({eps:e}), [{:e}, {:e}], is wider \
                 than {:e} relative",
                b.lower,
                b.upper,
                self.width_limit()
            )));
        }
        Ok(b)
    }

    /// Certified δ(ε) (docs/math.md §16.8): the tail sum at its saddle point where i₀ lies
    /// `TAIL_FROM` standard deviations above the mean index sum (ε above the bulk of the
    /// loss), else the complement (ε near or below the bulk), with the tail at a tilt of at
    /// least `TAIL_TILT`/sd as a second opinion where the complement fails or is too wide
    /// (two certified brackets intersect).
    fn delta_raw(&self, eps: f64) -> Result<Enclosure> {
        let only_tail = Enclosure {
            lower: 0.0,
            value: 0.0,
            upper: self.tail_up,
        };
        if eps >= self.full_max {
            return Ok(only_tail);
        }
        let Some(up) = self.side(eps, true)? else {
            return Ok(only_tail);
        };
        let lo = self.side(eps, false)?;
        let c = self.saddle(&up);
        let (mean0, sd0) = self.bulk();
        if uses_tail(&up, mean0, sd0) {
            return self.invert(eps, c, &up, lo.as_ref());
        }
        let comp = self.invert_complement(eps, &up, lo.as_ref());
        if let Ok(b) = &comp {
            if b.upper - b.lower <= self.width_limit() * b.upper {
                return comp;
            }
        }
        let tail = self.invert(eps, c.max(TAIL_TILT / sd0), &up, lo.as_ref());
        match (comp, tail) {
            (Ok(a), Ok(b)) => {
                let (lower, upper) = (a.lower.max(b.lower), a.upper.min(b.upper));
                if lower > upper {
                    return Err(Error::NotCertified(format!(
                        "contour: the lattice Fourier brackets on delta({eps:e}) by the tail \
                         and the complement do not overlap ([{:e}, {:e}] and [{:e}, {:e}])",
                        b.lower, b.upper, a.lower, a.upper
                    )));
                }
                Ok(Enclosure {
                    lower,
                    value: a.value.clamp(lower, upper),
                    upper,
                })
            }
            (Ok(a), Err(_)) => Ok(a),
            (Err(_), Ok(b)) => Ok(b),
            (Err(e), Err(_)) => Err(e),
        }
    }

    /// The mean n·E_Q\[index\] and the standard deviation √(n Var_0) of the composed index sum
    /// at tilt 0: where the bulk of the loss lies, in index units.
    fn bulk(&self) -> (f64, f64) {
        let (mean0, var0) = self.moments(0.0);
        (self.nf * mean0, (self.nf * var0).sqrt())
    }

    /// The complement's certified δ bracket: both sides' lattice data with the complement's
    /// kernel, inverted at [`Fourier::complement_tilt`].
    fn invert_complement(&self, eps: f64, up: &Side, lo: Option<&Side>) -> Result<Enclosure> {
        let cu = up.with_kernel(Kernel::Complement);
        let cl = lo.map(|s| s.with_kernel(Kernel::Complement));
        self.invert(eps, self.complement_tilt(&cu), &cu, cl.as_ref())
    }

    /// One inversion at the tilt c for the kernel of `up` (both sides share it): the certified
    /// δ bracket (docs/math.md §16.8).
    fn invert(&self, eps: f64, c: f64, up: &Side, lo: Option<&Side>) -> Result<Enclosure> {
        let t = self.tilt(c)?;
        let mut work = 0.0;
        let (k_c, kmax_up) = kernel_real(c, up);
        let kmax = lo.map_or(kmax_up, |s| kernel_real(c, s).1.max(kmax_up));
        let s_est = k_c / (2.0 * PI * (self.nf * t.var + 1.0)).sqrt();
        // The complement's sum M is near its mass while δ = mass − M may be far smaller:
        // its target is 10^{−3} finer.
        let tau = match up.kind {
            Kernel::Tail => 1e-2,
            Kernel::Complement => 1e-5,
        } * self.tol
            * s_est;
        let (big_n, alias_b) = self.node_count(&t, up, lo, tau)?;
        // The outer target R: R^n·kmax ≤ tau.
        let t_out = (kmax / tau).ln().max(1.0);
        let r_target = (-t_out / self.nf).exp();
        let quad = self.quadratic(&t, t_out, &mut work)?;
        let (nodes, outer_from) = self.window(&t, &quad, big_n, t_out, &mut work)?;
        let skipped = self.outer_arc(&t, &quad, outer_from, r_target, &mut work)?;
        let inv = Inversion {
            t,
            nodes,
            big_n,
            skipped,
            alias_b,
        };
        let (lower, value, upper) = match up.kind {
            Kernel::Tail => {
                let (upper, value) = self.end(&inv, up, true);
                let lower = lo.map_or(0.0, |s| self.end(&inv, s, false).0);
                (lower, value, (upper + self.tail_up).min(1.0))
            }
            Kernel::Complement => {
                // δ = mass − M, mass ∈ [1 − 2n·tail, 1]: the upper side's weights (≤ the true
                // min(1, e^{ε−s})) bound M below, the lower side's (≥) above; no lower side
                // (every weight 1) gives M ≤ 1. Two rounded operations: 4u(1 + |M|).
                let (m_lo, _) = self.end(&inv, up, false);
                let (_, m_val) = self.end(&inv, up, true);
                let m_hi = lo.map_or(1.0, |s| self.end(&inv, s, true).0);
                let upper = 1.0 - m_lo + self.tail_up + 4.0 * U * (1.0 + m_lo.abs());
                let lower = 1.0 - self.tail_up - m_hi - 4.0 * U * (1.0 + m_hi.abs());
                (lower.max(0.0), 1.0 - m_val, upper.min(1.0))
            }
        };
        if !(lower.is_finite() && upper.is_finite()) || lower > upper {
            return Err(Error::NotCertified(format!(
                "contour: the lattice Fourier bracket on delta({eps:e}) is not finite or empty \
                 ([{lower:e}, {upper:e}])"
            )));
        }
        Ok(Enclosure {
            lower,
            value: value.clamp(lower, upper),
            upper,
        })
    }

    /// The node count N of the trapezoid rule: a power of two with the aliases of both ends
    /// below `tau` (docs/math.md §16.8); returns N and the certified alias bound.
    fn node_count(&self, t: &Tilt, up: &Side, lo: Option<&Side>, tau: f64) -> Result<(f64, f64)> {
        let c = t.c;
        let sd = (self.nf * t.var).sqrt();
        // Distance from c to the kernel's nearer pole (0 for the tail; 0 and −h for the
        // complement): the aliases fall like e^{−N·distance}.
        let pole = match up.kind {
            Kernel::Tail => c,
            Kernel::Complement => (-c).min(up.h + c),
        };
        let mut big_n = (2.0 * (8.0 * sd + 1.0))
            .max(2.0 * (tau.ln().abs() + 5.0) / pole)
            .max(16.0);
        big_n = 2f64.powi(big_n.log2().ceil() as i32);
        let alias = |n: f64| {
            let a = self.alias_ln(t, up, n);
            lo.map_or(a, |s| a.max(self.alias_ln(t, s, n)))
        };
        let mut a_ln = alias(big_n);
        while a_ln > tau.ln() && big_n < 2f64.powi(50) {
            big_n *= 2.0;
            a_ln = alias(big_n);
        }
        if a_ln.is_nan() || a_ln > tau.ln() + 20.0 {
            return Err(Error::NotCertified(format!(
                "contour: the aliasing bound of the lattice Fourier inversion at c = {c:e} is \
                 not small (ln = {a_ln:.3}) for any node count up to 2^50"
            )));
        }
        Ok((big_n, a_ln.exp()))
    }

    /// The quadratic bound on |ρ|² near the window (docs/math.md §16.8): pairs of kept
    /// indices with |j − l| ≤ D, and the regime it selects. Counts its work.
    fn quadratic(&self, t: &Tilt, t_out: f64, work: &mut f64) -> Result<Quadratic> {
        let c = t.c;
        let dq = (4.0 * t.var.sqrt()).ceil().max(1.0).min(self.top as f64);
        let theta2 = PI / dq;
        let mut v = 0.0;
        let lowered: Vec<f64> =
            t.w.iter()
                .zip(&t.idx)
                .map(|(w, d)| {
                    // ŵ_j less its relative and absolute error (as in `tilt`): w_j ≥ this.
                    let aw = 2.0 * TINY * (1.0 + (c * d).exp()) / t.ln_s.exp();
                    (w * (1.0 - U * (8.0 + 2.0 * (c * d).abs())) * 0.999_999 - aw).max(0.0)
                })
                .collect();
        *work += t.idx.len() as f64 * (2.0 * dq + 1.0);
        if *work > WORK_CAP {
            return Err(self.over_work(*work));
        }
        for a in 0..t.idx.len() {
            for b in (a + 1)..t.idx.len() {
                let d = t.idx[b] - t.idx[a];
                if d > dq {
                    break;
                }
                v += 2.0 * lowered[a] * lowered[b] * d * d;
            }
        }
        let v_lo = v * (1.0 - 4.0 * (t.idx.len() as f64 * (dq + 2.0)) * U);
        let rho0sq = t.rho0_hi * t.rho0_hi * (1.0 + 4.0 * U);
        let gap = (rho0sq - 1.0) + (-(-2.0 * t_out / self.nf).exp_m1()) * (1.0 + 4.0 * U);
        let theta_q = if v_lo > 0.0 {
            PI * (gap / (2.0 * v_lo)).sqrt() * (1.0 + 1e-9)
        } else {
            f64::INFINITY
        };
        Ok(Quadratic {
            theta2,
            v_lo,
            rho0sq,
            theta_q,
            regime_a: theta_q <= 0.5 * theta2,
        })
    }

    /// The window nodes θ_k = 2πk/N, k = 0, 1, ..., with P̂_k = ρ̂(θ_k)ⁿ and its error bound
    /// (docs/math.md §16.8), up to the start of the outer arc (`None`: every node to N/2 was
    /// taken). Counts its work; refuses, before allocating, a predicted window over
    /// `NODE_BYTES` of memory or `WORK_CAP` multiply-adds, and stops at either while running.
    fn window(
        &self,
        t: &Tilt,
        q: &Quadratic,
        big_n: f64,
        t_out: f64,
        work: &mut f64,
    ) -> Result<(Vec<Node>, Option<f64>)> {
        let c = t.c;
        // Predicted window (regime b: where the Gaussian approximation of |ρ|ⁿ reaches the
        // window threshold): refuse before evaluating nodes that could not all be taken.
        let theta_w = if q.regime_a {
            q.theta_q
        } else {
            (3.0 * t_out / (self.nf * t.var.max(1e-300))).sqrt().min(PI)
        };
        let cap = (NODE_BYTES / std::mem::size_of::<Node>() as f64).floor();
        let predicted = (theta_w * big_n / (2.0 * PI)).min(big_n / 2.0) + 1.0;
        let per = t.idx.len() as f64;
        if predicted > cap || *work + predicted * per > WORK_CAP {
            return Err(Error::NotCertified(format!(
                "contour: the lattice Fourier window would need about {predicted:.2e} nodes \
                 ({:.2e} multiply-adds; at most {cap:e} nodes ({NODE_BYTES:e} bytes) and \
                 {WORK_CAP:e} multiply-adds; N = {big_n:e}, c = {c:e})",
                predicted * per
            )));
        }
        let r_window = (-1.5 * t_out / self.nf).exp();
        // The window: nodes k = 0, 1, ... (θ_k = 2πk/N).
        let half_n = big_n / 2.0;
        let step = 2.0 * PI / big_n;
        let bits = 64 - (self.nf as u64).leading_zeros();
        let e_pow = 2.0 * bits as f64 * 3.0 * U * 1.01;
        let mut nodes: Vec<Node> = Vec::with_capacity((1.25 * predicted).min(cap) as usize + 1);
        let mut k = 0.0f64;
        let outer_from;
        loop {
            let theta = step * k;
            if q.regime_a && theta >= q.theta_q && k > 0.0 {
                outer_from = Some(theta);
                break;
            }
            if k >= cap || *work > WORK_CAP {
                return Err(Error::NotCertified(format!(
                    "contour: the lattice Fourier window needs more than {cap:e} nodes or \
                     {WORK_CAP:e} multiply-adds (N = {big_n:e}, c = {c:e})"
                )));
            }
            if nodes.len() == nodes.capacity() {
                // Grow within the cap (never past NODE_BYTES).
                let more = nodes.len().max(16).min(cap as usize - nodes.len());
                nodes.reserve_exact(more);
            }
            let (r, eta) = Self::rho(t, theta);
            *work += t.idx.len() as f64;
            let mag = r.0.hypot(r.1) * (1.0 + 2.0 * U);
            let (p, a_p) = self.node_power(r, mag, eta, e_pow);
            nodes.push((k, theta, p, a_p));
            if k >= half_n {
                outer_from = None;
                break;
            }
            if !q.regime_a && mag + eta <= r_window && k > 0.0 {
                outer_from = Some(theta);
                break;
            }
            k += 1.0;
        }
        if *work > WORK_CAP {
            return Err(self.over_work(*work));
        }
        Ok((nodes, outer_from))
    }

    /// P̂ = ρ̂ⁿ at one node and its error bound a_P, from ρ̂ = `r`, |ρ̂| rounded up (`mag`),
    /// the error `eta` of ρ̂ and the powering bound `e_pow` (docs/math.md §16.8); a node
    /// whose |ρ|ⁿ is below e^{−600} counts only in a_P.
    fn node_power(&self, r: (f64, f64), mag: f64, eta: f64, e_pow: f64) -> ((f64, f64), f64) {
        let ln_bound = self.nf * (mag + eta).ln() * (1.0 - 1e-15);
        if ln_bound < -600.0 {
            ((0.0, 0.0), ln_bound.exp() * (1.0 + 1e-10))
        } else {
            let p = cpow(r, self.nf as u64);
            let pm = p.0.hypot(p.1);
            let a = e_pow * pm * (1.0 + 2.0 * e_pow)
                + self.nf * eta * ((self.nf - 1.0) * (mag + eta).ln()).exp() * (1.0 + 1e-10);
            (p, a)
        }
    }

    /// Certified bound on the skipped nodes' |P| (sup of |ρ|ⁿ on the outer arc from
    /// `outer_from` to π, docs/math.md §16.8); 0 where the window took every node.
    fn outer_arc(
        &self,
        t: &Tilt,
        q: &Quadratic,
        outer_from: Option<f64>,
        r_target: f64,
        work: &mut f64,
    ) -> Result<f64> {
        let Some(from) = outer_from else {
            return Ok(0.0);
        };
        let (start, mut sup) = if q.regime_a {
            let rq2 = (q.rho0sq - 2.0 * q.theta_q * q.theta_q * q.v_lo / (PI * PI))
                * (1.0 + 4.0 * U)
                + 4.0 * U;
            (q.theta2.max(from), rq2.max(0.0).sqrt() * (1.0 + 2.0 * U))
        } else {
            (from, 0.0)
        };
        if start < PI {
            let s = outer_sup(t, start, PI, r_target, work)
                .map_err(|why| Error::NotCertified(format!("contour: {why}")))?;
            sup = sup.max(s);
        }
        let ln_r_out_n = self.nf * sup.ln() + self.nf * 4.0 * U;
        if *work > WORK_CAP {
            return Err(self.over_work(*work));
        }
        Ok(ln_r_out_n.exp() * 1.0001)
    }

    /// One end of the δ bracket from the window sum (docs/math.md §16.8): the upper end
    /// (with the skipped nodes) and an estimate, or the lower end (less the skipped nodes and
    /// the aliases) and 0.
    fn end(&self, inv: &Inversion, s: &Side, upper: bool) -> (f64, f64) {
        let (t, c) = (&inv.t, inv.t.c);
        let dd = self.nf * t.m - s.i0;
        let (sum, err) = node_sum(&inv.nodes, s, c, dd, inv.big_n);
        let a = self.nf * t.ln_s + c * dd;
        let a_err = 8.0 * U * (self.nf * (t.ln_s.abs() + 1.0) + (c * dd).abs() + a.abs() + 1.0);
        let kmax_s = kernel_real(c, s).1;
        let skip = inv.skipped * kmax_s;
        if upper {
            let su = sum + err + skip;
            let d = if su > 0.0 {
                (a + a_err + su.ln()).exp() * (1.0 + 8.0 * U) + TINY
            } else {
                0.0
            };
            (d, (a + sum.max(0.0).ln()).exp())
        } else {
            let sl = sum - err - skip - inv.alias_b * 1.0001;
            let d = if sl > 0.0 {
                (a - a_err + sl.ln()).exp() * (1.0 - 8.0 * U)
            } else {
                0.0
            };
            (d, 0.0)
        }
    }

    fn over_work(&self, work: f64) -> Error {
        Error::NotCertified(format!(
            "contour: the lattice Fourier inversion would take more than {WORK_CAP:e} \
             multiply-adds (at {work:.2e}; {} atoms)",
            self.top + 1
        ))
    }

    /// ε(δ) by bisection on the certified δ ends (δ is non-increasing in ε).
    fn epsilon(&self, delta: f64) -> Result<Enclosure> {
        if self.tail_up > delta {
            return Err(Error::NotCertified(format!(
                "contour: the discrete Gaussian's mass beyond its atoms ({:e}) is above delta = \
                 {delta:e}: no certified upper end on epsilon",
                self.tail_up
            )));
        }
        let mut search = EpsSearch {
            fourier: self,
            delta,
            fails: 0,
            why: None,
        };
        let top = self.full_max;
        let stop = 1e-3 * self.width_limit();
        // Start from a normal-approximation guess of ε (far below ε(δ) the saddle point
        // nears the pole at c = 0 and the node count grows; far above, the tilted law
        // concentrates on the top atom and the outer bound fails), then step down or up by
        // growing steps to bracket the upper end. A point that fails to certify counts as "δ_up > δ" (upper end)
        // and as "δ_lo ≤ δ" (lower end): both safe.
        let (mean, var) = self.moments(0.0);
        let guess = self.h_hi * self.nf * (mean - 0.5 * self.top as f64)
            + self.h_hi * (2.0 * self.nf * var * -delta.ln()).sqrt();
        let floor = (0.25 * self.h_lo).min(0.5 * top);
        // The guess is kept below the midpoint between the mean loss and the largest loss
        // (the mean may lie close to the largest: randomized response with small p).
        let mean_loss = (self.h_hi * self.nf * (mean - 0.5 * self.top as f64)).max(0.0);
        let e = if guess.is_finite() {
            guess.min(0.5 * (mean_loss + top)).max(floor)
        } else {
            floor
        };
        // Steps grow geometrically from one standard deviation of the composed loss.
        let step = (self.h_hi * (self.nf * var).sqrt()).max(floor);
        let Some(mut ends) = search.bracket(e, step, floor, top) else {
            return Ok(Enclosure::ZERO);
        };
        search.bisect(&mut ends, stop);
        let (lower, upper) = (ends.al, ends.bu);
        let width = (upper - lower) / upper.max(f64::MIN_POSITIVE);
        if upper >= top && self.tail_up > 0.0 && top > 0.0 && width > self.width_limit() {
            return Err(Error::NotCertified(format!(
                "contour: no certified upper end on epsilon at delta = {delta:e} below the \
                 largest atom loss {top:e}"
            )));
        }
        if width > self.width_limit() {
            return Err(Error::NotCertified(format!(
                "contour: the lattice Fourier bracket on epsilon({delta:e}), [{lower:e}, \
                 {upper:e}], is {width:.2e} wide relative (more than {:e}){}",
                self.width_limit(),
                search.why.map_or(String::new(), |w| format!("; {w}"))
            )));
        }
        Ok(Enclosure {
            lower,
            value: 0.5 * (lower + upper),
            upper,
        })
    }
}

/// k at the real point c and its sup on the circle Re z = c, rounded up (docs/math.md
/// §16.8): tail k = 1/(1 − e^{−z}) − b/(1 − e^{−z−h}) with |1 − e^{−z}| ≥ 1 − e^{−c};
/// complement k = e^{z}/(1 − e^{z}) + b/(1 − e^{−z−h}) with |e^{−z} − 1| ≥ e^{−c} − 1.
fn kernel_real(c: f64, s: &Side) -> (f64, f64) {
    let t2 = 1.0 / -(-c - s.h).exp_m1();
    match s.kind {
        Kernel::Tail => {
            let t1 = 1.0 / -(-c).exp_m1();
            (t1 - s.b * t2, (t1 + s.b * t2) * (1.0 + 8.0 * U))
        }
        Kernel::Complement => {
            let u1 = 1.0 / (-c).exp_m1();
            (u1 + s.b * t2, (u1 + s.b * t2) * (1.0 + 8.0 * U))
        }
    }
}

/// k(c) and k′(c) at the real point c (f64, for the saddle point only).
fn kernel_slope(c: f64, s: &Side) -> (f64, f64) {
    let t2 = 1.0 / -(-c - s.h).exp_m1();
    let d2 = s.b * (-c - s.h).exp() * t2 * t2;
    match s.kind {
        Kernel::Tail => {
            let t1 = 1.0 / -(-c).exp_m1();
            (t1 - s.b * t2, -(-c).exp() * t1 * t1 + d2)
        }
        Kernel::Complement => {
            let u1 = 1.0 / (-c).exp_m1();
            (u1 + s.b * t2, (-c).exp() * u1 * u1 - d2)
        }
    }
}

/// A window node: (k, θ_k, P̂_k, a_P).
type Node = (f64, f64, (f64, f64), f64);

/// The quadratic bound near the window (docs/math.md §16.8).
struct Quadratic {
    /// π/D, where the quadratic bound stops holding.
    theta2: f64,
    /// Lower bound on Σ_{|j−l| ≤ D} 2 w_j w_l (j − l)².
    v_lo: f64,
    /// Upper bound on ρ(0)².
    rho0sq: f64,
    /// Where the quadratic bound reaches the window threshold.
    theta_q: f64,
    /// Whether the window ends at `theta_q` (else where |ρ̂| falls below the threshold).
    regime_a: bool,
}

/// What both ends of one δ evaluation share: the tilt, the window nodes, N, the bound on
/// the skipped nodes and on the aliases.
struct Inversion {
    t: Tilt,
    nodes: Vec<Node>,
    big_n: f64,
    skipped: f64,
    alias_b: f64,
}

/// The ε(δ) search state: evaluations that failed to certify and the first reason.
struct EpsSearch<'a> {
    fourier: &'a Fourier,
    delta: f64,
    /// Evaluations that failed to certify: past `MAX_FAILS` the search stops (the bracket is
    /// then refused as too wide, with the first reason), so a law the bounds cannot handle
    /// costs a few evaluations, not a whole bisection.
    fails: u32,
    why: Option<String>,
}

/// The ε ends of the search: the upper end's switch lies in [au, bu], the lower end's in
/// [al, bl].
struct EpsEnds {
    au: f64,
    bu: f64,
    al: f64,
    bl: f64,
}

impl EpsSearch<'_> {
    /// The certified δ bracket at `e`, or `None` (counted, with the first reason kept).
    fn eval(&mut self, e: f64) -> Option<Enclosure> {
        match self.fourier.delta_raw(e) {
            Ok(b) => Some(b),
            Err(x) => {
                self.fails += 1;
                self.why.get_or_insert(x.to_string());
                None
            }
        }
    }

    fn up_ok(&self, r: Option<Enclosure>) -> bool {
        r.is_some_and(|b| b.upper <= self.delta)
    }

    fn lo_gt(&self, r: Option<Enclosure>) -> bool {
        r.is_some_and(|b| b.lower > self.delta)
    }

    /// Brackets both ends by growing steps from `e`, down where `e` certifies the upper end
    /// and up where not; `None` where ε = 0 is certified.
    fn bracket(&mut self, mut e: f64, mut step: f64, floor: f64, top: f64) -> Option<EpsEnds> {
        let (mut au, mut bu, mut al) = (0.0, top, f64::NAN);
        let first = self.eval(e);
        if self.up_ok(first) {
            bu = e;
            loop {
                if self.fails >= MAX_FAILS {
                    break;
                }
                e -= step;
                step *= 2.0;
                if e < floor {
                    let r = self.eval(0.0);
                    if self.up_ok(r) {
                        return None;
                    }
                    if self.lo_gt(r) {
                        al = 0.0;
                    }
                    break;
                }
                let r = self.eval(e);
                if self.up_ok(r) {
                    bu = e;
                } else {
                    au = e;
                    if self.lo_gt(r) {
                        al = e;
                    }
                    break;
                }
            }
        } else {
            au = e;
            if self.lo_gt(first) {
                al = e;
            }
            loop {
                if self.fails >= MAX_FAILS {
                    break;
                }
                e += step;
                step *= 2.0;
                if e >= top {
                    break;
                }
                let r = self.eval(e);
                if self.up_ok(r) {
                    bu = e;
                    break;
                }
                au = e;
                if self.lo_gt(r) {
                    al = e;
                }
            }
        }
        if al.is_nan() {
            al = 0.0;
        }
        Some(EpsEnds { au, bu, al, bl: bu })
    }

    /// Bisects both ends to relative width `stop`, jointly while they share one interval.
    fn bisect(&mut self, ends: &mut EpsEnds, stop: f64) {
        let delta = self.delta;
        let EpsEnds {
            mut au,
            mut bu,
            mut al,
            mut bl,
        } = *ends;
        let mut joint = al == au;
        for _ in 0..400 {
            if self.fails >= MAX_FAILS {
                break;
            }
            let wide_u = bu - au > stop * bu;
            let wide_l = bl - al > stop * bl;
            if !wide_u && !wide_l {
                break;
            }
            if joint {
                let m = 0.5 * (au + bu);
                if m <= au || m >= bu {
                    break;
                }
                let r = self.eval(m);
                let up_ok = r.is_some_and(|b| b.upper <= delta);
                let lo_ok = r.is_none_or(|b| b.lower <= delta);
                if up_ok {
                    bu = m;
                    bl = m;
                } else if !lo_ok {
                    au = m;
                    al = m;
                } else {
                    au = m;
                    bl = m;
                    joint = false;
                }
                continue;
            }
            if wide_u {
                halve(&mut au, &mut bu, |m| {
                    self.eval(m).is_some_and(|b| b.upper <= delta)
                });
            }
            if wide_l {
                halve(&mut al, &mut bl, |m| {
                    self.eval(m).is_none_or(|b| b.lower <= delta)
                });
            }
            if (bu - au <= stop * bu || 0.5 * (au + bu) <= au)
                && (bl - al <= stop * bl || 0.5 * (al + bl) <= al)
            {
                break;
            }
        }
        *ends = EpsEnds { au, bu, al, bl };
    }
}

/// One bisection step on [lo, hi] (skipped where the midpoint is not inside): the midpoint
/// becomes `hi` where `at_or_above(m)` holds, else `lo`.
fn halve(lo: &mut f64, hi: &mut f64, at_or_above: impl FnOnce(f64) -> bool) {
    let m = 0.5 * (*lo + *hi);
    if m > *lo && m < *hi {
        if at_or_above(m) {
            *hi = m;
        } else {
            *lo = m;
        }
    }
}

/// The window's trapezoid sum (1/N)[F_0 + 2Σ Re F_k (+ F_{N/2})] for one end, with its
/// rounding bound (docs/math.md §16.8): F_k = P̂_k·e^{iθ_k D}·k(c + iθ_k).
fn node_sum(nodes: &[Node], s: &Side, c: f64, dd: f64, big_n: f64) -> (f64, f64) {
    let nn = big_n as i128;
    let d = dd as i128;
    let kern = NodeKernel::new(c, s);
    let (mut sum, mut err, mut abs) = (0.0, 0.0, 0.0);
    for &(k, theta, p, a_p) in nodes {
        // Phase e^{iθ_k D} with (kD mod N) exact.
        let mut r = ((k as i128) * d).rem_euclid(nn);
        if 2 * r > nn {
            r -= nn;
        }
        let ang = 2.0 * PI * (r as f64) / big_n;
        let (ps, pc) = ang.sin_cos();
        let (kz, a_k) = kern.at(theta);
        let a_phi = 16.0 * U;
        let f = cmul(cmul(p, (pc, ps)), kz);
        let (x, z) = (p.0.hypot(p.1), kz.0.hypot(kz.1));
        let e = (x + a_p) * (1.0 + 2.0 * U + a_phi) * (z + a_k) - x * (1.0 - 2.0 * U) * z
            + 6.0 * U * x * z;
        let wgt = if k == 0.0 || k == big_n / 2.0 {
            1.0
        } else {
            2.0
        };
        sum += wgt * f.0;
        err += wgt * e;
        abs += wgt * f.0.abs();
    }
    let count = nodes.len() as f64 + 2.0;
    let err = err * (1.0 + count * U) + count * U * abs * 1.01;
    (sum / big_n, err / big_n + TINY)
}

/// The kernel k(c + iθ) at the window nodes with its error bound (docs/math.md §16.8).
struct NodeKernel {
    kind: Kernel,
    b: f64,
    /// 1 − e^{∓c} and e^{∓c} of the first term (− for the tail, + for the complement).
    m1: f64,
    e1: f64,
    /// 1 − e^{−c−h} and e^{−c−h}.
    m2: f64,
    e2: f64,
    /// Relative error of each term, and an upper bound on |k′| on the circle.
    rel: f64,
    dk: f64,
}

impl NodeKernel {
    fn new(c: f64, s: &Side) -> Self {
        let (e2, m2) = ((-c - s.h).exp(), -(-c - s.h).exp_m1());
        let d2 = s.b * e2 / (m2 * m2);
        let (e1, m1, rel) = match s.kind {
            Kernel::Tail => ((-c).exp(), -(-c).exp_m1(), 32.0 * U * (1.0 + c + s.h)),
            // The first term's slope: |d/dz e^z/(1 − e^z)| = |e^z|/|1 − e^z|² ≤ e^c/(1 − e^c)².
            Kernel::Complement => (c.exp(), -c.exp_m1(), 64.0 * U * (1.0 + c.abs() + s.h)),
        };
        NodeKernel {
            kind: s.kind,
            b: s.b,
            m1,
            e1,
            m2,
            e2,
            rel,
            dk: e1 / (m1 * m1) + d2,
        }
    }

    /// k(c + iθ) and its error bound: 1/(1 − e^{∓c}e^{∓iθ}) from
    /// (1 − e^{∓c}) + 2e^{∓c}sin²(θ/2) ± i·e^{∓c}sin θ (no cancellation), each term within
    /// `rel` relative, plus 2uθ·|k′| for the rounded θ.
    fn at(&self, theta: f64) -> ((f64, f64), f64) {
        let (sh, (sn, cs)) = ((0.5 * theta).sin(), theta.sin_cos());
        let den = |m: f64, e: f64| {
            let re = m + 2.0 * e * sh * sh;
            let im = e * sn;
            let q = re * re + im * im;
            (re / q, -im / q)
        };
        let t2 = den(self.m2, self.e2);
        let (t1, sign) = match self.kind {
            Kernel::Tail => (den(self.m1, self.e1), -1.0),
            Kernel::Complement => {
                // e^{z}/(1 − e^{z}): 1/(1 − e^{z}) is the conjugate of den(1 − e^c, e^c).
                let v = den(self.m1, self.e1);
                (cmul((self.e1 * cs, self.e1 * sn), (v.0, -v.1)), 1.0)
            }
        };
        let kz = (t1.0 + sign * self.b * t2.0, t1.1 + sign * self.b * t2.1);
        let kabs = t1.0.hypot(t1.1) + self.b * t2.0.hypot(t2.1);
        (kz, self.rel * kabs + 2.0 * U * theta * self.dk)
    }
}

/// A certified sup of |ρ| on [a, b] below `target`, by subdivision with the Lipschitz bound.
fn outer_sup(
    t: &Tilt,
    a: f64,
    b: f64,
    target: f64,
    work: &mut f64,
) -> std::result::Result<f64, String> {
    let mut stack = vec![(a, b)];
    let mut sup = 0.0f64;
    let per = t.idx.len() as f64;
    while let Some((lo, hi)) = stack.pop() {
        let mid = 0.5 * (lo + hi);
        let r = 0.5 * (hi - lo) * (1.0 + 4.0 * U);
        let (v, eta) = Fourier::rho(t, mid);
        *work += per;
        let bound = v.0.hypot(v.1) * (1.0 + 2.0 * U) + eta + t.lip * r * (1.0 + 2.0 * U);
        if bound <= target {
            sup = sup.max(bound);
        } else if r < 1e-12 || *work > WORK_CAP {
            return Err(format!(
                "the sup of |G(c+iθ)/G(c)| on the outer arc is not certified below {target:.12} \
                 (|ρ(θ)| ≈ {:.12} at θ = {mid:.6e}); the tilted law is nearly supported on a \
                 coarser lattice",
                v.0.hypot(v.1)
            ));
        } else {
            stack.push((lo, mid));
            stack.push((mid, hi));
        }
    }
    Ok(sup)
}

fn cmul(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
}

/// x^n by binary powering (at most 2·bits(n) rounded complex products).
fn cpow(x: (f64, f64), mut n: u64) -> (f64, f64) {
    let mut acc = (1.0, 0.0);
    let mut p = x;
    while n > 0 {
        if n & 1 == 1 {
            acc = cmul(acc, p);
        }
        n >>= 1;
        if n > 0 {
            p = cmul(p, p);
        }
    }
    acc
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Composition, DpEvent};

    /// The Fourier data of `n` steps of `event` (the contour's lattice part).
    fn fourier(event: &DpEvent, n: u64) -> Fourier {
        let mut comp = Composition::default();
        comp.add_event(event, 1, "contour").expect("test setup");
        let (law, _) = super::super::lattice_part(&comp)
            .expect("a lattice mechanism")
            .expect("one mechanism");
        Fourier::new(&law, n, 1e-9).expect("test setup")
    }

    /// A window whose predicted node count is over the memory cap (or the work cap) is refused
    /// before its node vector is allocated: N = 2⁵⁰ nodes at a small tilt would need ~10¹³
    /// window nodes (hundreds of TiB).
    #[test]
    fn a_window_over_the_memory_cap_is_refused_before_allocating() {
        let f = fourier(
            &DpEvent::RandomizedResponse {
                noise_parameter: 0.2,
                buckets: 10,
            },
            1_000_000,
        );
        let t = f.tilt(1e-4).expect("tilt");
        let mut work = 0.0;
        let quad = f.quadratic(&t, 30.0, &mut work).expect("quadratic");
        let r = f.window(&t, &quad, 2f64.powi(50), 30.0, &mut work);
        match r {
            Err(Error::NotCertified(why)) => assert!(why.contains("bytes"), "{why}"),
            other => panic!("expected a refusal, got {:?}", other.map(|(n, _)| n.len())),
        }
    }

    /// Both kernels are exact at any tilt in their strip: from 3 sd below to 2 sd above the
    /// mean index sum the tail at its saddle point (at least 0.3/sd) and the complement at its
    /// tilt give certified brackets that overlap; the complement's is ≤ 1e-6 wide wherever
    /// δ ≥ 0.1 and the tail's wherever the dispatcher uses it (i₀ ≥ mean + TAIL_FROM·sd)
    /// (docs/math.md §16.8).
    #[test]
    fn complement_and_tail_overlap_around_the_switch() {
        let events = [
            DpEvent::RandomizedResponse {
                noise_parameter: 0.2,
                buckets: 10,
            },
            DpEvent::DiscreteLaplace {
                parameter: 0.3,
                sensitivity: 2,
            },
            DpEvent::DiscreteGaussian {
                sigma: 2.0,
                sensitivity: 1,
            },
        ];
        let mut compared = 0;
        for event in &events {
            for n in [10_000u64, 1_000_000] {
                let f = fourier(event, n);
                let (mean0, sd0) = f.bulk();
                for k in [-3.0, -2.0, -1.5, -1.0, -0.3, 0.0, 1.0, 2.0] {
                    let i = mean0 + k * sd0;
                    let eps = f.h_hi * (i - 0.5 * f.nj);
                    let up = f.side(eps, true).expect("side").expect("below the top");
                    let lo = f.side(eps, false).expect("side");
                    let c = f.saddle(&up).max(0.3 / sd0);
                    let tail = f.invert(eps, c, &up, lo.as_ref());
                    let tail_used = uses_tail(&up, mean0, sd0);
                    let comp = f
                        .invert_complement(eps, &up, lo.as_ref())
                        .unwrap_or_else(|e| panic!("{event:?} n={n} k={k}: complement: {e}"));
                    assert!(comp.lower <= comp.upper && comp.lower >= 0.0 && comp.upper <= 1.0);
                    if comp.upper >= 0.1 {
                        assert!(
                            comp.upper - comp.lower <= 1e-6 * comp.upper,
                            "{event:?} n={n} k={k}: complement [{:e}, {:e}]",
                            comp.lower,
                            comp.upper
                        );
                    }
                    if tail_used {
                        let t = tail
                            .as_ref()
                            .expect("the tail where the dispatcher uses it");
                        assert!(
                            t.upper - t.lower <= 1e-6 * t.upper,
                            "{event:?} n={n} k={k}: tail [{:e}, {:e}]",
                            t.lower,
                            t.upper
                        );
                    }
                    if let Ok(t) = tail {
                        assert!(
                            t.lower <= comp.upper && comp.lower <= t.upper,
                            "{event:?} n={n} k={k}: tail [{:e}, {:e}], complement [{:e}, {:e}]",
                            t.lower,
                            t.upper,
                            comp.lower,
                            comp.upper
                        );
                        compared += 1;
                    }
                }
            }
        }
        assert!(
            compared >= 36,
            "only {compared} of 48 points had both brackets"
        );
    }
}
