//! The discrete Gaussian beyond its atom cap, certified in closed form at a cost flat in the
//! number of steps (docs/math.md §16.9).
//!
//! The n-fold loss is an affine function of X, the sum of n draws of N_Z(0, σ²):
//! L_n = (nΔ² − 2ΔX)/(2σ²), so
//!
//! ```text
//! δ(ε) = Σ_{X < x*} (A_n(X) − e^ε A_n(X − nΔ)),   x* = nΔ/2 − σ²ε/Δ,
//! ```
//!
//! A_n the law of X (every term is positive below x* and negative above it). By Poisson
//! summation A_n(X) differs from the normal density g(X) of variance s² = nσ² by at most η
//! ~ n·e^{−π²σ²/2} at every integer, X is sub-Gaussian with variance proxy s², and the
//! Euler–Maclaurin formula sums f = g − e^ε g(· − nΔ) over the half-line X ≤ A with a remainder
//! bounded through Hermite polynomials. Every term is an MPFR interval; the bracket is refused
//! (`NotCertified`) where these error terms are not small against δ (σ too small for the
//! closed form, e.g. a large sensitivity with σ of a few units).

use super::{Ask, Enclosure};
use crate::error::{Error, Result};
use crate::event::Composition;
use crate::mechanism::{DiscreteGaussian, Mechanism};
use crate::precision::{pi, Interval, Precision};
use rug::float::Round;
use rug::ops::{AddAssignRound, DivAssignRound, MulAssignRound, PowAssignRound, SubAssignRound};
use rug::Float;

/// Working precision (bits) of every enclosure.
const WP: u32 = 320;
/// Euler–Maclaurin order: derivative terms B_2 … B_{2P}, remainder through f^{(2P)} (it falls like
/// s^{−2P} for a fixed tail point; the tests find one-step brackets below 1e−9 relative from
/// σ = 6 on).
const P: usize = 15;
/// B_2, B_4, …, B_30 as (numerator, denominator).
const BERNOULLI: [(i64, u64); P] = [
    (1, 6),
    (-1, 30),
    (1, 42),
    (-1, 30),
    (5, 66),
    (-691, 2730),
    (7, 6),
    (-3617, 510),
    (43_867, 798),
    (-174_611, 330),
    (854_513, 138),
    (-236_364_091, 2730),
    (8_553_103, 6),
    (-23_749_461_029, 870),
    (8_615_841_276_005, 14_322),
];
/// An upper bound on 2ζ(2P) (ζ(30) − 1 < 10⁻⁹).
const TWO_ZETA_2P: f64 = 2.000_000_01;
/// Bisection steps of one end of an ε bracket at the most.
const MAX_BISECTIONS: usize = 200;
/// Relative width of a δ or ε bracket above which it is refused.
const MAX_REL_WIDTH: f64 = 1e-6;

/// Certified enclosure of what `ask` asks for `n` steps of `g` (both orderings have the same
/// law), to about `tolerance` relative where the closed form's error terms allow.
///
/// # Errors
/// [`Error::NotCertified`] where the bracket is wider than max(10·tolerance, 10⁻⁶) relative.
pub(super) fn enclosure(
    g: &DiscreteGaussian,
    n: u64,
    ask: Ask,
    tolerance: f64,
) -> Result<Enclosure> {
    let law = ClosedForm::new(g, n);
    let limit = (10.0 * tolerance).max(MAX_REL_WIDTH);
    match ask {
        Ask::Delta(epsilon) => {
            let (lo, hi) = law.delta(epsilon);
            // Below the smallest normal f64 the bracket is absolute: [0, 2^−1022] is an answer.
            if hi - lo > limit * hi && hi > f64::MIN_POSITIVE {
                return Err(law.refusal(format!(
                    "delta at epsilon = {epsilon} only to [{lo:e}, {hi:e}]"
                )));
            }
            Ok(Enclosure {
                lower: lo,
                value: 0.5 * (lo + hi),
                upper: hi,
            })
        }
        Ask::Epsilon(delta) => law.epsilon(delta, tolerance, limit),
    }
}

/// The discrete Gaussian beyond its atom cap and its step count, when it is the whole
/// composition; `Some(Err)` when such a mechanism is composed with others (the closed form covers
/// one discrete Gaussian composed with itself).
pub(super) fn large_part(composition: &Composition) -> Option<Result<(DiscreteGaussian, u64)>> {
    let large = |m: &Mechanism| matches!(m, Mechanism::DiscreteGaussian(g) if !g.has_atom_law());
    if !composition.parts.iter().any(|(m, _)| large(m)) {
        return None;
    }
    Some(match composition.parts.as_slice() {
        [(Mechanism::DiscreteGaussian(g), n)] => Ok((*g, *n)),
        _ => Err(mixed_refusal(composition)),
    })
}

/// From this σ on, a discrete Gaussian within the atom cap is answered by the closed form first
/// (its error terms, e^{−π²σ²/2} and the s^{−30} Euler–Maclaurin remainder, are then small, and it
/// costs ~0.1 s against the lattice paths' seconds near the cap); a refusal falls back to them.
pub(super) const CLOSED_FORM_FROM_SIGMA: f64 = 20.0;

/// The discrete Gaussian within the atom cap with σ ≥ [`CLOSED_FORM_FROM_SIGMA`] and its step
/// count, when it is the whole composition.
pub(super) fn tight_part(composition: &Composition) -> Option<(DiscreteGaussian, u64)> {
    match composition.parts.as_slice() {
        [(Mechanism::DiscreteGaussian(g), n)] if g.sigma() >= CLOSED_FORM_FROM_SIGMA => {
            Some((*g, *n))
        }
        _ => None,
    }
}

fn mixed_refusal(composition: &Composition) -> Error {
    Error::NotCertified(format!(
        "contour: a discrete Gaussian beyond {} atoms is answered by its closed form (docs/math.md \
         §16.9) only when composed with itself; this composition has {}",
        crate::mechanism::lattice::DG_MAX_ATOMS,
        composition.describe_parts()
    ))
}

/// Refuse, at composition time, a discrete Gaussian beyond its atom cap composed with any other
/// mechanism.
///
/// # Errors
/// [`Error::NotCertified`] naming the mechanisms.
pub(super) fn refuse_mixed_in(existing: &Composition, added: &Composition) -> Result<()> {
    let mut all = existing.clone();
    all.merge(added.clone())?;
    match large_part(&all) {
        Some(Err(e)) => Err(e),
        _ => Ok(()),
    }
}

/// n steps of the discrete Gaussian with σ and Δ, and the constants of the closed form.
struct ClosedForm {
    sigma: f64,
    sensitivity: u64,
    n: u64,
    /// s = σ√n.
    s: Interval,
    /// nΔ.
    shift: Interval,
    /// ln of the bound η on |A_n(X) − g(X)| at every integer X.
    ln_eta: f64,
}

impl ClosedForm {
    fn new(g: &DiscreteGaussian, n: u64) -> ClosedForm {
        let wp = Precision(WP);
        let sigma = g.sigma();
        let sig = Interval::from_f64(wp, sigma);
        let nn = Interval::point(Float::with_val(WP, n));
        let s = sig.mul(&sig).mul(&nn).monotone(|v, r| v.sqrt_round(r));
        let shift = nn.mul(&Interval::point(Float::with_val(WP, g.sensitivity())));
        // η = n·ε₀ + e^{−s²π²/2}/(s²π²), ε₀ = 2e^{−σ²π²/2}/(1 − e^{−4σ²π²}) (docs/math.md
        // §16.9), in logs, rounded up by a relative 1e−12 and 1e−300.
        let pi2 = std::f64::consts::PI * std::f64::consts::PI;
        let a = sigma * sigma * pi2 / 2.0;
        let ln_eps0 = std::f64::consts::LN_2 - a - (-(-(8.0 * a)).exp_m1()).ln();
        let ln_first = (n as f64).ln() + ln_eps0;
        let s2 = sigma * sigma * n as f64;
        let ln_second = -(s2 * pi2 / 2.0) - (s2 * pi2).ln();
        let (hi, lo) = if ln_first >= ln_second {
            (ln_first, ln_second)
        } else {
            (ln_second, ln_first)
        };
        let ln_eta = hi + (lo - hi).exp().ln_1p();
        ClosedForm {
            sigma,
            sensitivity: g.sensitivity(),
            n,
            s,
            shift,
            ln_eta: ln_eta + 1e-12 * (1.0 + ln_eta.abs()),
        }
    }

    fn refusal(&self, what: String) -> Error {
        Error::NotCertified(format!(
            "contour: the discrete Gaussian (sigma = {}, sensitivity = {}) over {} steps keeps more \
             than {} atoms, and its closed form (docs/math.md §16.9) gives {what}, wider than \
             certified answers allow (its error terms grow as sigma shrinks)",
            self.sigma,
            self.sensitivity,
            self.n,
            crate::mechanism::lattice::DG_MAX_ATOMS
        ))
    }

    /// x* = nΔ/2 − σ²ε/Δ, enclosed.
    fn threshold(&self, epsilon: f64) -> Interval {
        // Enough bits that the enclosure pins the integer below x*: WP beyond x*'s magnitude
        // (|x*| ≤ nΔ/2 + σ²ε/Δ, up to ~2^700 at σ = 10¹⁰⁰).
        let mag = 0.5 * self.n as f64 * self.sensitivity as f64
            + self.sigma * self.sigma * epsilon / self.sensitivity as f64;
        let extra = if mag.is_finite() && mag > 1.0 {
            mag.log2().ceil() as u32 + 8
        } else if mag.is_finite() {
            0
        } else {
            // σ²ε overflows f64 (ε ≳ 10¹⁰⁸ at σ = 10¹⁰⁰): far beyond the bulk, where the
            // sub-Gaussian tail answers; 2100 bits hold any such magnitude's integer part.
            2100
        };
        let wp = Precision(WP + extra);
        let d = Interval::point(Float::with_val(wp.bits(), self.sensitivity));
        let sig = Interval::from_f64(wp, self.sigma);
        let half = Float::with_val(8, 0.5);
        let t = sig
            .mul(&sig)
            .mul(&Interval::from_f64(wp, epsilon))
            .div(&d)
            .expect("invariant: sensitivity >= 1");
        // nΔ at this precision (exact: at most 84 bits), so the difference keeps all of them.
        let shift = Interval::point(Float::with_val(wp.bits(), self.n)).mul(&d);
        shift.scale_nonneg(&half).sub(&t)
    }

    /// Certified (lower, upper) on δ(ε), ε ≥ 0.
    fn delta(&self, epsilon: f64) -> (f64, f64) {
        let x = self.threshold(epsilon);
        // Far beyond the bulk (x* < 0): δ ≤ P(X < x*) ≤ e^{−x*²/(2s²)} (sub-Gaussian tail,
        // docs/math.md §16.9), answered directly where that is below the smallest normal f64
        // (e^ε would leave every range there).
        if x.hi.is_sign_negative() {
            let xs = Interval::point(x.hi.clone())
                .div(&Interval::point(self.s.hi.clone()))
                .expect("invariant: s > 0");
            let b = xs
                .mul(&xs)
                .scale_nonneg(&Float::with_val(8, 0.5))
                .neg()
                .exp()
                .hi_f64();
            if b <= f64::MIN_POSITIVE {
                return (0.0, b);
            }
        }
        // The largest integer below x*: δ = max over every A of S(A) (the partial sums of the
        // terms, positive below x* and negative above, peak at the last one below), so a
        // lower bound at any A bounds δ from below, and the upper bound at the true A (one of
        // the two candidates) bounds it from above.
        let cands = [below(&x.lo), below(&x.hi)];
        let gap = Float::with_val(x.prec(), &cands[1] - &cands[0]);
        if gap > 1 {
            // The enclosure does not pin the integer below x* (cannot happen at the precision
            // of `threshold`; kept as a refusal rather than an unproven bracket).
            return (0.0, 1.0);
        }
        let mut lo = 0.0f64;
        let mut hi = 0.0f64;
        for a in cands.iter() {
            let (l, h) = self.partial_sum(a, epsilon);
            lo = lo.max(l);
            hi = hi.max(h);
        }
        (lo.min(1.0), hi.min(1.0))
    }

    /// Certified (lower, upper) on S(A) = Σ_{X ≤ A} (A_n(X) − e^ε A_n(X − nΔ)).
    fn partial_sum(&self, a: &Float, epsilon: f64) -> (f64, f64) {
        let wp = Precision(WP);
        let ai = Interval::point(a.clone());
        let u0 = ai.div(&self.s).expect("invariant: s > 0");
        let u1 = ai.sub(&self.shift).div(&self.s).expect("invariant: s > 0");
        let e = Interval::from_f64(wp, epsilon).exp();
        // ∫_{−∞}^{A} f = Φ̄(−u0) − e^ε Φ̄(−u1).
        let mut sum = phi_bar(&u0.neg()).sub(&e.mul(&phi_bar(&u1.neg())));
        // f^{(m)}(A) = (−1)^m s^{−m−1}(He_m(u0)φ(u0) − e^ε He_m(u1)φ(u1)), m = 0, 1, 3, …, 11.
        let he0 = hermite(&u0, 2 * P);
        let he1 = hermite(&u1, 2 * P);
        let p0 = normal_density(&u0);
        let p1 = e.mul(&normal_density(&u1));
        let deriv = |m: usize| -> Interval {
            let v = he0[m].mul(&p0).sub(&he1[m].mul(&p1));
            let v = v.div(&self.s.powi(m as u32 + 1)).expect("invariant: s > 0");
            if m % 2 == 1 {
                v.neg()
            } else {
                v
            }
        };
        sum = sum.add(&deriv(0).scale_nonneg(&Float::with_val(8, 0.5)));
        let mut fact = Float::with_val(WP, 1);
        for (j, &(num, den)) in BERNOULLI.iter().enumerate() {
            let k = 2 * (j + 1);
            fact *= (k - 1) as u32;
            fact *= k as u32;
            let b = Interval::point(Float::with_val(WP, num))
                .div(&Interval::point(Float::with_val(WP, den) * &fact))
                .expect("invariant: (2k)! > 0");
            sum = sum.add(&b.mul(&deriv(k - 1)));
        }
        // Remainder: 2ζ(2P)/(2π)^{2P} ∫_{−∞}^{A}|f^{(2P)}| ≤ 2ζ(2P)/(2π)^{2P}·s^{−2P}·
        // (H(u0) + e^ε H(u1)) with H(b) = ∫_{−∞}^{b}|He_{2P}|φ.
        let two_pi = Float::with_val(WP, pi(wp, Round::Down) * 2u32);
        let mut rem = Float::with_val(WP, TWO_ZETA_2P);
        let mut denom = two_pi;
        denom.pow_assign_round(2 * P as u32, Round::Down);
        rem.div_assign_round(&denom, Round::Up);
        let h = hermite_tail(&u0.hi, 2 * P).add(&e.mul(&hermite_tail(&u1.hi, 2 * P)));
        let s12 = self.s.powi(2 * P as u32);
        let rem = Interval::point(rem)
            .mul(&h)
            .div(&s12)
            .expect("invariant: s > 0");
        // Approximation of A_n by g: |Σ_{−K ≤ X ≤ A} r| ≤ (A + K + 1)(1 + e^ε)η, the tails below
        // −K in [0, e^{−K²/(2s²)}] (exact: sub-Gaussian) and [0, Φ̄(K/s)] (Gaussian), with
        // K = max(−A, 0) + ⌈40s⌉.
        let s_hi = self.s.hi.clone();
        let mut k = Float::with_val(WP, 40);
        k.mul_assign_round(&s_hi, Round::Up);
        k.ceil_mut();
        if a.is_sign_negative() {
            k.add_assign_round(&(-a.clone()), Round::Up);
        }
        // a + K + 1 and ln C_η rounded up (upper bounds, whatever their magnitude).
        let mut count = Float::with_val(WP, a);
        count.add_assign_round(&k, Round::Up);
        count.add_assign_round(1u32, Round::Up);
        let ln_ce = {
            let mut c = count.clone();
            c.ln_round(Round::Up);
            let one_e = Interval::from_f64(wp, 1.0).add(&e);
            let mut l = one_e.hi.clone();
            l.ln_round(Round::Up);
            c.add_assign_round(&l, Round::Up);
            c.add_assign_round(self.ln_eta, Round::Up);
            c
        };
        let mut c_eta = Float::with_val(WP, &ln_ce);
        c_eta.exp_round(Round::Up);
        let kk = Interval::point(k.clone())
            .div(&self.s)
            .expect("invariant: s > 0");
        let half = Float::with_val(8, 0.5);
        let tail_p = kk.mul(&kk).scale_nonneg(&half).neg().exp().hi;
        let tail_g = phi_bar(&kk).hi;
        let mut down = Float::with_val(WP, &rem.hi);
        down.add_assign_round(&c_eta, Round::Up);
        let mut up = down.clone();
        down.add_assign_round(&tail_g, Round::Up);
        up.add_assign_round(&tail_p, Round::Up);
        let mut lo = sum.lo.clone();
        lo.sub_assign_round(&down, Round::Down);
        let mut hi = sum.hi.clone();
        hi.add_assign_round(&up, Round::Up);
        let (lo, hi) = (lo.to_f64_round(Round::Down), hi.to_f64_round(Round::Up));
        if lo.is_nan() || hi.is_nan() {
            // Nothing certified here: the trivial bracket (refused by the width rule).
            return (0.0, 1.0);
        }
        (lo.max(0.0), hi.max(0.0))
    }

    /// ε(δ) by bisection on the certified δ bounds (docs/math.md §16.9).
    fn epsilon(&self, delta: f64, tolerance: f64, limit: f64) -> Result<Enclosure> {
        if self.delta(0.0).1 <= delta {
            return Ok(Enclosure::ZERO);
        }
        // The continuous Gaussian's scale: μ = Δ√n/σ; ε(δ) ≲ μ²/2 + μ√(2 ln(1/δ)).
        let mu = self.sensitivity as f64 * (self.n as f64).sqrt() / self.sigma;
        let mut hi = (0.5 * mu * mu + mu * (2.0 * (1.0 / delta).ln()).sqrt()).max(1e-300);
        let mut tries = 0;
        while self.delta(hi).1 > delta {
            hi *= 2.0;
            tries += 1;
            if tries > 2000 || !hi.is_finite() {
                return Err(self.refusal(format!("no epsilon with delta_upper <= {delta:e}")));
            }
        }
        // Upper end: the smallest ε found with δ_up(ε) ≤ δ; lower end: the largest with
        // δ_low(ε) > δ (0 if none).
        let mut lo = 0.0f64;
        let (mut a, mut b) = (0.0f64, hi);
        for _ in 0..MAX_BISECTIONS {
            if b - a <= 0.25 * tolerance * b {
                break;
            }
            let m = 0.5 * (a + b);
            let (dl, du) = self.delta(m);
            if du <= delta {
                b = m;
            } else {
                a = m;
            }
            if dl > delta {
                lo = lo.max(m);
            }
        }
        let up = b;
        let (mut c, mut d) = (lo, up);
        for _ in 0..MAX_BISECTIONS {
            if d - c <= 0.25 * tolerance * d {
                break;
            }
            let m = 0.5 * (c + d);
            if self.delta(m).0 > delta {
                c = m;
            } else {
                d = m;
            }
        }
        let lo = c;
        if up - lo > limit * up {
            return Err(self.refusal(format!("epsilon at delta = {delta:e} only to [{lo}, {up}]")));
        }
        Ok(Enclosure {
            lower: lo,
            value: 0.5 * (lo + up),
            upper: up,
        })
    }
}

/// The largest integer strictly below x (exact).
fn below(x: &Float) -> Float {
    // Exact: ⌈x⌉ − 1 needs at most exponent(x) + 1 bits.
    let bits = x.prec().max(x.get_exp().unwrap_or(0).max(0) as u32 + 2);
    let mut c = Float::with_val(bits, x);
    c.ceil_mut();
    c - 1u32
}

/// He_0(u) … He_m(u) (probabilists' Hermite polynomials) by He_{k+1} = u He_k − k He_{k−1}.
fn hermite(u: &Interval, m: usize) -> Vec<Interval> {
    let wp = Precision(u.prec());
    let mut out = vec![Interval::from_f64(wp, 1.0), u.clone()];
    for k in 1..m {
        let next = u
            .mul(&out[k])
            .sub(&out[k - 1].scale_nonneg(&Float::with_val(64, k as u32)));
        out.push(next);
    }
    out.truncate(m + 1);
    out
}

/// φ(u) = e^{−u²/2}/√(2π).
fn normal_density(u: &Interval) -> Interval {
    let wp = Precision(u.prec());
    let half = Float::with_val(8, 0.5);
    let two_pi = Interval::new(pi(wp, Round::Down) * 2u32, pi(wp, Round::Up) * 2u32);
    u.mul(u)
        .scale_nonneg(&half)
        .neg()
        .exp()
        .div(&two_pi.monotone(|v, r| v.sqrt_round(r)))
        .expect("invariant: sqrt(2 pi) > 0")
}

/// Φ̄(u) = erfc(u/√2)/2, enclosed.
fn phi_bar(u: &Interval) -> Interval {
    crate::special::normal::phi_bar(u)
}

/// An upper bound on H(b) = ∫_{−∞}^{b}|He_m(u)|φ(u)du: √(m!) (Cauchy–Schwarz, E He_m² = m!)
/// for b ≥ 0 and the smaller of that and Σ_j c_j J_{m−2j}(−b) for b < 0, with
/// |He_m(u)| ≤ Σ_j c_j|u|^{m−2j}, c_j = m!/(j!(m − 2j)!2^j), and J_k(z) = ∫_z^∞ v^k φ(v)dv
/// (J_0 ≤ φ(z)/z, J_1 = φ(z), J_k = z^{k−1}φ(z) + (k − 1)J_{k−2}).
fn hermite_tail(b: &Float, m: usize) -> Interval {
    let wp = Precision(b.prec());
    let mut fact = Float::with_val(wp.bits(), 1);
    for k in 2..=m {
        fact *= k as u32;
    }
    let mut whole = fact.clone();
    whole.sqrt_round(Round::Up);
    let whole = Interval::new(Float::new(wp.bits()), whole);
    if !b.is_sign_negative() || b.is_zero() {
        return whole;
    }
    let z = Interval::point(-b.clone());
    let phi = normal_density(&z);
    // J_k for k = 0..=m.
    let mut j: Vec<Interval> = Vec::with_capacity(m + 1);
    j.push(phi.div(&z).expect("invariant: z > 0"));
    j.push(phi.clone());
    for k in 2..=m {
        let t = z
            .powi(k as u32 - 1)
            .mul(&phi)
            .add(&j[k - 2].scale_nonneg(&Float::with_val(64, (k - 1) as u32)));
        j.push(t);
    }
    let mut acc = Interval::zero(wp);
    let mut j_fact = Float::with_val(wp.bits(), 1);
    let mut pow2 = Float::with_val(wp.bits(), 1);
    for jj in 0..=m / 2 {
        if jj > 0 {
            j_fact *= jj as u32;
            pow2 *= 2u32;
        }
        let mut rest = Float::with_val(wp.bits(), 1);
        for k in 2..=(m - 2 * jj) {
            rest *= k as u32;
        }
        let c = Interval::point(fact.clone())
            .div(&Interval::point(j_fact.clone() * &rest * &pow2))
            .expect("invariant: positive");
        acc = acc.add(&c.mul(&j[m - 2 * jj]));
    }
    if acc.hi < whole.hi {
        acc
    } else {
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accountant::contour::{ContourAccountant, ContourParams, LatticePath};
    use crate::accountant::Accountant;
    use crate::event::DpEvent;
    use crate::mechanism::Adjacency;

    fn law(sigma: f64, d: u64, n: u64) -> ClosedForm {
        ClosedForm::new(&DiscreteGaussian::new(sigma, d).expect("test setup"), n)
    }

    /// One step, σ from 4 to 3000 at Δ = 1 (both sides of the atom cap): the bracket is narrow
    /// wherever δ is above 1e−300 and the Poisson-summation term is small (σ ≥ 6), and it
    /// overlaps the certified lattice path's within the cap (the direct-sum oracle beyond the
    /// cap: tests/lattice_mechanisms_discrete_gaussian.rs).
    #[test]
    fn one_step_brackets_are_narrow_and_overlap_the_lattice_path() {
        for &(sigma, d) in &[(4.0, 1u64), (6.0, 3), (20.0, 1), (150.0, 7), (1500.0, 1)] {
            let g = DiscreteGaussian::new(sigma, d).expect("test setup");
            let mut c = ContourAccountant::new(ContourParams {
                adjacency: Adjacency::AddRemove,
                tolerance: 1e-9,
            })
            .expect("test setup");
            c.compose(
                &DpEvent::DiscreteGaussian {
                    sigma,
                    sensitivity: d,
                },
                1,
            )
            .expect("test setup");
            for &eps in &[0.0, 1e-4, 0.05, 1.0, 3.0] {
                let (lo, hi) = law(sigma, d, 1).delta(eps);
                if g.has_atom_law() {
                    let lat = c.lattice_delta(eps, LatticePath::Auto).expect("lattice");
                    let (llo, lhi) = (lat.lower.unwrap_or(0.0), lat.upper.expect("upper"));
                    assert!(
                        lo <= lhi && llo <= hi,
                        "σ {sigma} Δ {d} ε {eps}: [{lo:e}, {hi:e}] vs [{llo:e}, {lhi:e}]"
                    );
                }
                if sigma >= 6.0 && hi > 1e-300 {
                    assert!(
                        hi - lo <= 1e-9 * hi,
                        "σ {sigma} Δ {d} ε {eps}: [{lo:e}, {hi:e}]"
                    );
                }
            }
        }
    }

    /// n steps within the atom cap: the closed form's δ and ε brackets overlap the certified
    /// lattice paths' (exact composition or periodic inversion, docs/math.md §16.5, §16.8), and
    /// from σ = 20 the accountant's default ε is the closed form's.
    #[test]
    fn brackets_overlap_the_lattice_paths() {
        for &(sigma, d) in &[(5.0, 1u64), (12.0, 2), (40.0, 1)] {
            for &n in &[2u64, 30, 1000] {
                let mut c = ContourAccountant::new(ContourParams {
                    adjacency: Adjacency::AddRemove,
                    tolerance: 1e-9,
                })
                .expect("test setup");
                c.compose(
                    &DpEvent::SelfComposed {
                        event: Box::new(DpEvent::DiscreteGaussian {
                            sigma,
                            sensitivity: d,
                        }),
                        count: n,
                    },
                    1,
                )
                .expect("test setup");
                let cf = law(sigma, d, n);
                for &eps in &[0.3, 2.0] {
                    let lat = c.lattice_delta(eps, LatticePath::Auto).expect("lattice");
                    let (llo, lhi) = (lat.lower.unwrap_or(0.0), lat.upper.expect("upper"));
                    let (lo, hi) = cf.delta(eps);
                    let ctx = format!("σ {sigma} Δ {d} n {n} ε {eps}");
                    assert!(
                        lo <= lhi && llo <= hi,
                        "{ctx}: [{lo:e}, {hi:e}] vs [{llo:e}, {lhi:e}]"
                    );
                    if hi > 1e-300 {
                        assert!(hi - lo <= 1e-9 * hi, "{ctx}: [{lo:e}, {hi:e}]");
                    }
                }
                for &delta in &[1e-5, 1e-12] {
                    let lat = c
                        .lattice_epsilon(delta, LatticePath::Auto)
                        .expect("lattice");
                    let (llo, lhi) = (lat.lower.unwrap_or(0.0), lat.upper.expect("upper"));
                    let e = cf.epsilon(delta, 1e-9, 1e-6).expect("closed form");
                    let ctx = format!("σ {sigma} Δ {d} n {n} δ {delta}");
                    // From σ = 20 the accountant's default path is the closed form.
                    if sigma >= CLOSED_FORM_FROM_SIGMA {
                        let r = c.epsilon(delta).expect("default path");
                        assert_eq!((r.lower, r.upper), (Some(e.lower), Some(e.upper)), "{ctx}");
                    }
                    assert!(
                        e.lower <= lhi && llo <= e.upper,
                        "{ctx}: [{}, {}] vs [{llo}, {lhi}]",
                        e.lower,
                        e.upper
                    );
                }
            }
        }
    }

    /// Where the Poisson-summation term is not small (σ = 1, Δ = 10⁵: beyond the atom cap, and
    /// e^{−π²/2} ≈ 7e−3) the bracket is refused as not certified, never answered wide.
    #[test]
    fn small_sigma_beyond_the_cap_is_refused() {
        let g = DiscreteGaussian::new(1.0, 100_000).expect("test setup");
        assert!(!g.has_atom_law());
        for ask in [Ask::Delta(1.0), Ask::Epsilon(1e-5)] {
            match enclosure(&g, 10, ask, 1e-9) {
                Err(Error::NotCertified(m)) => assert!(m.contains("closed form"), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }

    /// The corners: ε far beyond the bulk (δ below every f64, answered by the sub-Gaussian
    /// tail), δ = 1e−300 at 10⁷ steps (a narrow bracket whose upper end's δ meets the target),
    /// and σ = 10¹⁰⁰ (the pair is nearly identical: ε = 0 exactly).
    #[test]
    fn extreme_inputs_answer_within_bounds() {
        let g = DiscreteGaussian::new(5000.0, 3).expect("test setup");
        for eps in [700.0, 1e9, 1e300] {
            let e = enclosure(&g, 100, Ask::Delta(eps), 1e-9).expect("answers");
            assert!(
                e.lower == 0.0 && e.upper <= f64::MIN_POSITIVE,
                "ε {eps}: {e:?}"
            );
        }
        let g = DiscreteGaussian::new(1e4, 1000).expect("test setup");
        let e = enclosure(&g, 10_000_000, Ask::Epsilon(1e-300), 1e-9).expect("answers");
        assert!(
            e.lower > 0.0 && e.upper - e.lower <= 1e-6 * e.upper,
            "{e:?}"
        );
        let law = ClosedForm::new(&g, 10_000_000);
        assert!(law.delta(e.upper).1 <= 1e-300, "{:?}", law.delta(e.upper));
        assert!(law.delta(e.lower).0 > 1e-300, "{:?}", law.delta(e.lower));
        let g = DiscreteGaussian::new(1e100, 1).expect("test setup");
        let e = enclosure(&g, 1, Ask::Epsilon(1e-5), 1e-9).expect("answers");
        assert_eq!((e.lower, e.upper), (0.0, 0.0));
        // |x*| ≈ σ²ε/Δ far beyond 2^320 while ε/μ is of order one: the threshold's precision
        // grows with it, so the integer below x* is pinned and the bracket holds the continuous
        // Gaussian's δ (the lattice spacing Δ/σ² = 1e−200 is invisible at this ε). The two
        // terms cancel to μ = 1e−100 of each other, below 320 bits: the bracket is valid but
        // wide, and the query is refused.
        for eps in [3e-101, 1e-100, 2e-100] {
            let (lo, hi) = ClosedForm::new(&g, 1).delta(eps);
            let gauss = crate::edgeworth::gaussian_delta(1e-100, eps);
            assert!(
                lo <= gauss && gauss <= hi,
                "ε {eps}: [{lo:e}, {hi:e}] vs {gauss:e}"
            );
            assert!(matches!(
                enclosure(&g, 1, Ask::Delta(eps), 1e-9),
                Err(Error::NotCertified(_))
            ));
        }
    }
}
