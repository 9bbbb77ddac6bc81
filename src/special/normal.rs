//! Standard normal density, distribution and tail in f64, accurate deep in the tails.
//!
//! Φ̄(z) underflows f64 past z ≈ 38.5; these functions work with its logarithm and with the
//! Mills ratio R(z) = Φ̄(z)/φ(z), which never underflows.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// ln √(2π).
pub const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// ln φ(z) = −z²/2 − ln √(2π).
pub fn ln_pdf(z: f64) -> f64 {
    -0.5 * z * z - LN_SQRT_2PI
}

/// φ(z).
pub fn pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * PI).sqrt()
}

/// Φ̄(z) = P(N(0,1) > z) (underflows to 0 past z ≈ 38.5; use [`ln_sf`] there).
pub fn sf(z: f64) -> f64 {
    0.5 * libm::erfc(z * FRAC_1_SQRT_2)
}

/// Φ(z).
pub fn cdf(z: f64) -> f64 {
    sf(-z)
}

/// The Mills ratio R(z) = Φ̄(z)/φ(z) for any real z (finite for z > −38; +inf below).
///
/// For z ≥ 5 a continued fraction evaluated backwards, truncated after 32, 20 or 12 terms for
/// z in [5, 8), [8, 15), [15, ∞) (truncation error below 3e−19 relative there, checked against
/// mpmath at 40 digits); otherwise erfc scaled by e^{z²/2}.
pub fn mills(z: f64) -> f64 {
    if z >= 5.0 {
        // R(z) = 1/(z + 1/(z + 2/(z + 3/(z + ...)))).
        let n = if z < 8.0 {
            32
        } else if z < 15.0 {
            20
        } else {
            12
        };
        let mut t = z;
        for k in (1..=n).rev() {
            t = z + k as f64 / t;
        }
        1.0 / t
    } else {
        sf(z) / pdf(z)
    }
}

/// ln Φ̄(z) for any real z, accurate to a few ulp of the result far into the upper tail.
pub fn ln_sf(z: f64) -> f64 {
    if z >= 5.0 {
        ln_pdf(z) + mills(z).ln()
    } else if z > -5.0 {
        sf(z).ln()
    } else {
        // Φ̄(z) = 1 − Φ̄(−z), Φ̄(−z) tiny.
        (-sf(-z)).ln_1p()
    }
}

/// ln Φ(z).
pub fn ln_cdf(z: f64) -> f64 {
    ln_sf(-z)
}

// ----- Certified (MPFR interval) evaluations -----

use crate::precision::{Interval, Precision};
use rug::float::Round;
use rug::Float;

/// |x| from which Φ̄ is evaluated by the continued fraction of the Mills ratio (MPFR's erfc
/// takes ~1 ms per call at 128 bits for 5 ≲ |x| ≲ 15).
const MILLS_FROM: f64 = 5.0;
/// Most terms of the Mills-ratio continued fraction (the enclosure stays valid, only wider).
const MILLS_MAX_TERMS: usize = 4096;

/// Φ̄(x) = erfc(x/√2)/2 enclosed (decreasing in x).
pub(crate) fn phi_bar(x: &Interval) -> Interval {
    let lo = phi_bar_point(&x.hi);
    let hi = phi_bar_point(&x.lo);
    Interval::new(lo.lo, hi.hi)
}

/// Φ̄ at one point, enclosed: MPFR's erfc near 0, the Mills ratio's continued fraction in the
/// tails.
pub(crate) fn phi_bar_point(x: &Float) -> Interval {
    let wp = x.prec();
    let xf = x.to_f64();
    if xf.abs() >= MILLS_FROM {
        let ax = Interval::point(x.clone().abs());
        let tail = exp_phi(&Interval::zero(Precision(wp)), &ax).mul(&mills_ratio(&ax));
        return if xf > 0.0 {
            tail
        } else {
            Interval::from_f64(Precision(wp), 1.0).sub(&tail)
        };
    }
    let mut s2lo = Float::with_val(wp, 2);
    s2lo.sqrt_round(Round::Down);
    let mut s2hi = Float::with_val(wp, 2);
    s2hi.sqrt_round(Round::Up);
    let arg = Interval::point(x.clone())
        .div(&Interval::new(s2lo, s2hi))
        .expect("invariant: sqrt 2 > 0");
    let mut lo = arg.hi.clone();
    lo.erfc_round(Round::Down);
    let mut hi = arg.lo.clone();
    hi.erfc_round(Round::Up);
    Interval::new(lo, hi).scale_nonneg(&Float::with_val(wp, 0.5))
}

/// The Mills ratio R(x) = Φ̄(x)/φ(x) for x ≥ 1, enclosed by two consecutive convergents of
/// Laplace's continued fraction R(x) = 1/(x + 1/(x + 2/(x + 3/(x + …)))): its elements are
/// positive, so consecutive convergents lie on either side of R (Wall, *Analytic theory of
/// continued fractions*, Thm 10.1; Abramowitz–Stegun 26.2.14). The depth doubles until the
/// enclosure is as narrow as the working precision allows.
fn mills_ratio(x: &Interval) -> Interval {
    let wp = Precision(x.prec());
    let one = Interval::from_f64(wp, 1.0);
    let convergent = |n: usize| -> Interval {
        let mut d = x.clone();
        for k in (1..=n).rev() {
            let t = Interval::from_f64(wp, k as f64)
                .div(&d)
                .expect("invariant: the denominators are >= x > 0");
            d = x.add(&t);
        }
        one.div(&d).expect("invariant: the denominator is >= x > 0")
    };
    // Relative width asked: 2^-90 (far below the f64 ends reported, even after the
    // cancellation in E[h_λ]) or the working precision, whichever is coarser.
    let bits = (wp.0 as i32 - 8).min(90);
    let target = Float::with_val(53, 2f64.powi(-bits));
    // First depth: the convergents reach relative 2^-b near n ≈ (b·ln 2/(2x) + 2.5)² (fitted
    // for b = 90 and x in [5, 50]: 58 terms at x = 5, 25 at 10, 9 at 50; this start is 76, 36,
    // 9). Only where the first try is short does the depth double, so a call no longer pays for
    // the shallower tries (16, 32, 64 at x = 5). A choice of work only: the stopping test is
    // the enclosure's width, as before.
    let x_lo = x.lo.to_f64().max(1.0);
    let guess = (bits as f64 * std::f64::consts::LN_2 / (2.0 * x_lo) + 2.5).powi(2);
    let mut n = (guess.ceil() as usize).clamp(8, MILLS_MAX_TERMS);
    // Every hull encloses R, so their intersection does too.
    let mut best: Option<(Interval, Float)> = None;
    loop {
        let (a, b) = (convergent(n), convergent(n + 1));
        let mut lo = if a.lo < b.lo {
            a.lo.clone()
        } else {
            b.lo.clone()
        };
        let mut hi = if a.hi > b.hi { a.hi } else { b.hi };
        if let Some((prev, _)) = &best {
            if prev.lo > lo {
                lo = prev.lo.clone();
            }
            if prev.hi < hi {
                hi = prev.hi.clone();
            }
        }
        let hull = Interval::new(lo, hi);
        let width = Float::with_val(wp.0, &hull.hi - &hull.lo);
        if width <= Float::with_val(wp.0, &hull.lo * &target) || n >= MILLS_MAX_TERMS {
            return hull;
        }
        // A deeper try that did not halve the width is limited by the rounding of its own
        // 2n interval operations (at x ≈ 300–600 and 80 bits the CF has converged at n = 8
        // but the width stays ≈ 2.7e−22 > 2^−72): deeper tries only add rounding. Such calls
        // went on doubling to 4 096 terms (518 of 886 calls in one subsampled-Laplace
        // saddle-point query).
        if let Some((_, prev_width)) = &best {
            if width > Float::with_val(wp.0, prev_width * 0.5f64) {
                return hull;
            }
        }
        best = Some((hull, width));
        n *= 2;
    }
}

/// e^{A}·Φ̄(t) enclosed. Where t ≥ 5 on the whole interval the two factors are combined in the
/// exponent, e^{A − t²/2}/√(2π)·R(t) with R the Mills ratio, so that A and t²/2 far beyond
/// MPFR's exponent range (A ≈ 7·10⁸ at 10¹³ steps of the saddle-point estimate) cancel before
/// anything is exponentiated; elsewhere e^{A} times [`phi_bar`].
pub(crate) fn exp_phi_bar(a: &Interval, t: &Interval) -> Interval {
    if t.lo.to_f64() >= MILLS_FROM {
        exp_phi(a, t).mul(&mills_ratio(t))
    } else {
        a.exp().mul(&phi_bar(t))
    }
}

/// e^{A}·φ(t) = exp(A − t²/2)/√(2π) enclosed.
pub(crate) fn exp_phi(a: &Interval, t: &Interval) -> Interval {
    let wp = Precision(t.prec());
    let half = Float::with_val(wp.0, 0.5);
    let e = a.sub(&t.mul(t).scale_nonneg(&half)).exp();
    let two_pi = Interval::new(
        crate::precision::pi(wp, Round::Down) * 2u32,
        crate::precision::pi(wp, Round::Up) * 2u32,
    );
    let s = two_pi.monotone(|v, r| v.sqrt_round(r));
    e.div(&s).expect("invariant: sqrt(2 pi) > 0")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from mpmath (50 digits): ln(erfc(z/√2)/2).
    #[test]
    fn ln_sf_matches_mpmath_in_far_tail() {
        let cases: [(f64, f64); 5] = [
            (0.0, -std::f64::consts::LN_2),
            (3.0, -6.607_726_221_510_35),
            (10.0, -53.231_285_150_512_47),
            (40.0, -804.608_442_013_753_8),
            (100.0, -5_005.524_208_694_205),
        ];
        for (z, want) in cases {
            let got = ln_sf(z);
            let tol = 1e-13 * want.abs();
            assert!(
                (got - want).abs() <= tol,
                "z={z}: {got} vs {want} (tol {tol:e})"
            );
        }
    }

    /// Mills ratio against mpmath (40 digits) on both sides of each truncation switch:
    /// 1e-15 relative.
    #[test]
    fn mills_matches_mpmath() {
        let cases: [(f64, f64); 6] = [
            (5.0, 0.192_808_104_715_315_76),
            (7.99, 0.123_281_585_289_414_94),
            (8.0, 0.123_131_963_257_932_3),
            (14.99, 0.066_418_129_333_491_8),
            (15.0, 0.066_374_235_823_250_17),
            (40.0, 0.024_984_404_205_720_57),
        ];
        for (z, want) in cases {
            let got = mills(z);
            assert!((got - want).abs() <= 1e-15 * want, "z={z}: {got} vs {want}");
        }
    }

    #[test]
    fn mills_is_continuous_at_the_switch() {
        let a = sf(4.999_999_999) / pdf(4.999_999_999);
        let b = mills(5.0);
        assert!((a - b).abs() / b < 1e-9, "{a} {b}");
    }

    /// The continued-fraction tail of Φ̄ against MPFR's erfc (which is slow there but exact):
    /// the enclosures overlap and are narrow, on both tails.
    #[test]
    fn mills_tail_agrees_with_mpfr_erfc() {
        for &x in &[
            5.0, 5.5, 7.0, 10.0, 13.0, 20.0, 40.0, 300.0, -5.0, -8.0, -30.0,
        ] {
            let xf = Float::with_val(144, x);
            let cf = phi_bar_point(&xf);
            let arg = Float::with_val(200, x) / Float::with_val(200, 2).sqrt();
            let want = Float::with_val(200, arg.erfc()) / 2u32;
            assert!(
                cf.lo <= want && want <= cf.hi,
                "x = {x}: [{}, {}] vs {want}",
                cf.lo,
                cf.hi
            );
            // Tolerance: the enclosure is refined to relative width 2^-90 (see phi_bar_point);
            // one more bit of slack for the final rounding of the ends.
            assert!(
                cf.rel_width() < 2f64.powi(-89),
                "x = {x}: {}",
                cf.rel_width()
            );
        }
    }

    /// At working precisions where the continued fraction's own rounding keeps the enclosure
    /// above the asked width (x in the hundreds at 80 bits), the ratio stops deepening once a
    /// doubling no longer halves the width: the enclosure holds the true value and is about as
    /// narrow as the precision allows (the depth used to double to 4 096 terms there).
    #[test]
    fn mills_ratio_stops_where_rounding_limits_the_width() {
        for &prec in &[64u32, 80, 128] {
            for &x in &[5.0, 9.0, 40.0, 313.75, 625.5, 2500.0] {
                let xi = Interval::point(Float::with_val(prec, x));
                let r = mills_ratio(&xi);
                // R(x) = Φ̄(x)/φ(x) = erfc(x/√2)/2 · √(2π) e^{x²/2}, at 400 bits.
                let p = 400;
                let xf = Float::with_val(p, x);
                let arg = Float::with_val(p, &xf / Float::with_val(p, 2).sqrt());
                let sf = Float::with_val(p, arg.erfc_ref()) / 2u32;
                let two_pi = Float::with_val(p, rug::float::Constant::Pi) * 2u32;
                let half_x2 = Float::with_val(p, &xf * &xf) / 2u32;
                let want = sf * two_pi.sqrt() * half_x2.exp();
                assert!(
                    r.lo <= want && want <= r.hi,
                    "prec {prec} x {x}: [{}, {}] vs {want}",
                    r.lo,
                    r.hi
                );
                let asked = 2f64.powi(-((prec as i32 - 8).min(90)));
                let floor = 2f64.powi(-(prec as i32) + 12);
                assert!(
                    r.rel_width() <= asked.max(floor),
                    "prec {prec} x {x}: width {}",
                    r.rel_width()
                );
            }
        }
    }
}
