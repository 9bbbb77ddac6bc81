//! Small interval helpers for the bound formulas (outward rounding throughout).

use crate::precision::{Interval, Precision};
use rug::float::Round;
use rug::ops::PowAssignRound;
use rug::Float;

/// Working precision of the bound formulas (far more than the f64 output needs).
pub(crate) const P: Precision = Precision(128);

/// A decimal constant (e.g. "0.1995") enclosed with directed rounding.
pub(crate) fn dec(s: &str) -> Interval {
    let lo = Float::with_val_round(
        P.0,
        Float::parse(s).expect("invariant: constant literal parses"),
        Round::Down,
    )
    .0;
    let hi = Float::with_val_round(
        P.0,
        Float::parse(s).expect("invariant: constant literal parses"),
        Round::Up,
    )
    .0;
    Interval::new(lo, hi)
}

/// An exact f64 as a point interval.
pub(crate) fn pt(x: f64) -> Interval {
    Interval::from_f64(P, x)
}

/// π enclosed.
pub(crate) fn pi() -> Interval {
    Interval::new(
        crate::precision::pi(P, Round::Down),
        crate::precision::pi(P, Round::Up),
    )
}

/// √x for x ≥ 0.
pub(crate) fn sqrt(x: &Interval) -> Interval {
    x.monotone(|v, r| v.sqrt_round(r))
}

/// x^p for x > 0 and an exact p ≥ 0 (increasing in x; for p < 0 pass a point interval).
pub(crate) fn powf(x: &Interval, p: f64) -> Interval {
    let e = Float::with_val(P.0, p);
    x.monotone(|v, r| v.pow_assign_round(&e, r))
}

/// |x|.
pub(crate) fn abs(x: &Interval) -> Interval {
    if x.lo.is_sign_positive() {
        x.clone()
    } else if x.hi.is_sign_negative() {
        x.neg()
    } else {
        let m = if -x.lo.clone() > x.hi {
            -x.lo.clone()
        } else {
            x.hi.clone()
        };
        Interval::new(Float::new(P.0), m)
    }
}

/// min(a, b) (monotone in both).
pub(crate) fn min(a: &Interval, b: &Interval) -> Interval {
    let lo = if a.lo < b.lo {
        a.lo.clone()
    } else {
        b.lo.clone()
    };
    let hi = if a.hi < b.hi {
        a.hi.clone()
    } else {
        b.hi.clone()
    };
    Interval::new(lo, hi)
}

/// a / b for b > 0.
pub(crate) fn div(a: &Interval, b: &Interval) -> Interval {
    a.div(b)
        .expect("invariant: bound formulas divide by positive quantities")
}

/// The upper incomplete gamma Γ(a, x) = ∫_x^∞ u^{a−1}e^{−u} du for exact a ≥ 0 and x > 0
/// (decreasing in x; MPFR's `gamma_inc` is correctly rounded).
///
/// MPFR's `gamma_inc` is very slow for large x; for x ≥ 40 + 2a the enclosure
/// [0, x^{a−1}e^{−x}/(1 − (a−1)/x)] is used instead (a ≥ 1; x^{a−1}e^{−x} for a < 1), an upper
/// bound from Γ(a, x) = x^{a−1}e^{−x}∫_0^∞ (1 + t/x)^{a−1}e^{−t} dt, which is below 1e−17 there
/// and only enters the DGG formulas as a subtracted or negligible term.
pub(crate) fn gamma_upper(a: f64, x: &Interval) -> Interval {
    if x.lo > 40.0 + 2.0 * a {
        let xl = Interval::point(x.lo.clone());
        let mut b = powf(&xl, a - 1.0).mul(&xl.neg().exp());
        if a > 1.0 {
            let corr = pt(1.0).sub(&div(&pt(a - 1.0), &xl));
            b = div(&b, &corr);
        }
        return Interval::new(Float::new(P.0), b.hi);
    }
    let af = Float::with_val(P.0, a);
    let mut lo = af.clone();
    lo.gamma_inc_round(&x.hi, Round::Down);
    let mut hi = af;
    hi.gamma_inc_round(&x.lo, Round::Up);
    Interval::new(lo, hi)
}

/// The complete gamma Γ(a) for exact a > 0.
pub(crate) fn gamma(a: f64) -> Interval {
    let mut lo = Float::with_val(P.0, a);
    lo.gamma_round(Round::Down);
    let mut hi = Float::with_val(P.0, a);
    hi.gamma_round(Round::Up);
    Interval::new(lo, hi)
}

/// Sum of intervals.
pub(crate) fn sum(terms: &[Interval]) -> Interval {
    let mut acc = Interval::zero(P);
    for t in terms {
        acc.add_assign(t);
    }
    acc
}
