//! Working precision and interval arithmetic on MPFR numbers.
//!
//! [`Precision`] is a value passed explicitly to every arbitrary-precision computation (never
//! global state). [`Interval`] is a closed interval `[lo, hi]` of MPFR floats whose operations
//! round the lower end down and the upper end up, so the exact real result of every operation
//! on enclosed inputs is enclosed by the output. This is how certified cumulants are obtained.

use crate::error::{Error, Result};
use rug::float::{Constant, Round};
use rug::ops::{AddAssignRound, DivAssignRound, MulAssignRound, SubAssignRound};
use rug::Float;
use std::cmp::Ordering;

/// Working precision of an MPFR computation, in bits of mantissa.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Precision(pub u32);

impl Precision {
    /// The default for certified results: 256 bits (about 77 decimal digits).
    pub const DEFAULT: Precision = Precision(256);
    /// Smallest precision accepted for MPFR work.
    pub const MIN_BITS: u32 = 64;
    /// Largest precision accepted.
    pub const MAX_BITS: u32 = 16384;

    /// Validated constructor.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `precision` when `bits` is outside
    /// [`Precision::MIN_BITS`]..=[`Precision::MAX_BITS`].
    pub fn new(bits: u32) -> Result<Self> {
        if (Self::MIN_BITS..=Self::MAX_BITS).contains(&bits) {
            Ok(Precision(bits))
        } else {
            Err(Error::invalid(
                "precision",
                bits,
                format!(
                    "must be between {} and {} bits",
                    Self::MIN_BITS,
                    Self::MAX_BITS
                ),
            ))
        }
    }

    /// Bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// This precision plus `extra` guard bits.
    pub fn plus(self, extra: u32) -> Precision {
        Precision(self.0 + extra)
    }
}

impl Default for Precision {
    fn default() -> Self {
        Precision::DEFAULT
    }
}

/// An exact MPFR copy of an f64 (exact whenever `prec >= 53`).
pub fn exact(prec: Precision, x: f64) -> Float {
    Float::with_val(prec.0.max(53), x)
}

/// π rounded in the given direction.
pub fn pi(prec: Precision, round: Round) -> Float {
    Float::with_val_round(prec.0, Constant::Pi, round).0
}

/// The opposite rounding direction (`Up` ↔ `Down`; the others are their own opposite): the
/// direction for a divisor or subtrahend that must move a result the `round` way.
pub fn opposite(round: Round) -> Round {
    match round {
        Round::Up => Round::Down,
        Round::Down => Round::Up,
        other => other,
    }
}

/// A closed interval `[lo, hi]` of MPFR floats with outward-rounded arithmetic.
///
/// # Guarantee
/// For every operation `op`, if `x ∈ a` and `y ∈ b` then `op(x, y) ∈ op(a, b)` (exact real
/// arithmetic on the left, the interval operation on the right).
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Lower end.
    pub lo: Float,
    /// Upper end.
    pub hi: Float,
}

impl Interval {
    /// The degenerate interval `[x, x]` of an exact value.
    pub fn point(x: Float) -> Self {
        Interval {
            lo: x.clone(),
            hi: x,
        }
    }

    /// `[x, x]` for an f64 (exact).
    pub fn from_f64(prec: Precision, x: f64) -> Self {
        Self::point(exact(prec, x))
    }

    /// `[0, 0]`.
    pub fn zero(prec: Precision) -> Self {
        Self::point(Float::new(prec.0))
    }

    /// An interval from two ends (swapped if needed).
    pub fn new(lo: Float, hi: Float) -> Self {
        if lo <= hi {
            Interval { lo, hi }
        } else {
            Interval { lo: hi, hi: lo }
        }
    }

    /// An enclosure of the value of `f`, evaluated once with rounding to nearest and widened by
    /// one unit in the last place each way (MPFR rounds correctly, so the error is ≤ ½ ulp).
    pub fn around(mut v: Float) -> Self {
        let mut lo = v.clone();
        lo.next_down();
        v.next_up();
        Interval { lo, hi: v }
    }

    /// Precision of the lower end.
    pub fn prec(&self) -> u32 {
        self.lo.prec()
    }

    /// `self + other`.
    pub fn add(&self, other: &Interval) -> Interval {
        let mut r = self.clone();
        r.add_assign(other);
        r
    }

    /// An enclosure of 1/x at `precision` bits (x a nonzero f64, exact at that precision).
    pub fn recip_of(precision: u32, x: f64) -> Interval {
        let x = Float::with_val(precision, x);
        let mut lo = Float::with_val(precision, 1);
        lo.div_assign_round(&x, Round::Down);
        let mut hi = Float::with_val(precision, 1);
        hi.div_assign_round(&x, Round::Up);
        Interval { lo, hi }
    }

    /// `self += other` in place.
    pub fn add_assign(&mut self, other: &Interval) {
        self.lo.add_assign_round(&other.lo, Round::Down);
        self.hi.add_assign_round(&other.hi, Round::Up);
    }

    /// `self - other`.
    pub fn sub(&self, other: &Interval) -> Interval {
        let mut lo = self.lo.clone();
        lo.sub_assign_round(&other.hi, Round::Down);
        let mut hi = self.hi.clone();
        hi.sub_assign_round(&other.lo, Round::Up);
        Interval { lo, hi }
    }

    /// `-self`.
    pub fn neg(&self) -> Interval {
        Interval {
            lo: -self.hi.clone(),
            hi: -self.lo.clone(),
        }
    }

    /// `self * other` (all sign cases).
    pub fn mul(&self, other: &Interval) -> Interval {
        let (a, b, c, d) = (&self.lo, &self.hi, &other.lo, &other.hi);
        if a.is_sign_positive() && c.is_sign_positive() {
            return Interval {
                lo: mul_r(a, c, Round::Down),
                hi: mul_r(b, d, Round::Up),
            };
        }
        if b.is_sign_negative() && d.is_sign_negative() {
            return Interval {
                lo: mul_r(b, d, Round::Down),
                hi: mul_r(a, c, Round::Up),
            };
        }
        let lows = [
            mul_r(a, c, Round::Down),
            mul_r(a, d, Round::Down),
            mul_r(b, c, Round::Down),
            mul_r(b, d, Round::Down),
        ];
        let highs = [
            mul_r(a, c, Round::Up),
            mul_r(a, d, Round::Up),
            mul_r(b, c, Round::Up),
            mul_r(b, d, Round::Up),
        ];
        let lo = lows
            .into_iter()
            .min_by(|x, y| x.partial_cmp(y).unwrap_or(Ordering::Equal))
            .expect("invariant: four candidates");
        let hi = highs
            .into_iter()
            .max_by(|x, y| x.partial_cmp(y).unwrap_or(Ordering::Equal))
            .expect("invariant: four candidates");
        Interval { lo, hi }
    }

    /// `self * s` for an exact non-negative scalar `s`.
    pub fn scale_nonneg(&self, s: &Float) -> Interval {
        debug_assert!(s.is_sign_positive());
        Interval {
            lo: mul_r(&self.lo, s, Round::Down),
            hi: mul_r(&self.hi, s, Round::Up),
        }
    }

    /// `self / other` for an interval `other` that excludes zero.
    ///
    /// # Errors
    /// [`Error::PrecisionExhausted`] when `other` contains zero.
    pub fn div(&self, other: &Interval) -> Result<Interval> {
        if other.lo.is_sign_positive() && !other.lo.is_zero()
            || other.hi.is_sign_negative() && !other.hi.is_zero()
        {
            let mut r_lo = other.hi.clone();
            r_lo.recip_round(Round::Down);
            let mut r_hi = other.lo.clone();
            r_hi.recip_round(Round::Up);
            Ok(self.mul(&Interval::new(r_lo, r_hi)))
        } else {
            Err(Error::PrecisionExhausted {
                what: "division by an interval that contains zero".into(),
                bits: self.prec(),
            })
        }
    }

    /// Apply a non-decreasing function evaluated with directed rounding at both ends.
    pub fn monotone(&self, f: impl Fn(&mut Float, Round) -> Ordering) -> Interval {
        let mut lo = self.lo.clone();
        f(&mut lo, Round::Down);
        let mut hi = self.hi.clone();
        f(&mut hi, Round::Up);
        Interval { lo, hi }
    }

    /// `exp(self)`.
    pub fn exp(&self) -> Interval {
        self.monotone(|x, r| x.exp_round(r))
    }

    /// `ln(self)` for a positive interval (ln 0 = -inf is returned at a zero lower end).
    pub fn ln(&self) -> Interval {
        self.monotone(|x, r| x.ln_round(r))
    }

    /// The integer power `self^k`.
    pub fn powi(&self, k: u32) -> Interval {
        let mut acc = Interval::point(Float::with_val(self.prec(), 1));
        for _ in 0..k {
            acc = acc.mul(self);
        }
        acc
    }

    /// Whether the real number `x` lies in the interval.
    pub fn contains(&self, x: &Float) -> bool {
        &self.lo <= x && x <= &self.hi
    }

    /// Whether `other` lies inside `self`.
    pub fn contains_interval(&self, other: &Interval) -> bool {
        self.lo <= other.lo && other.hi <= self.hi
    }

    /// Widen both ends by a non-negative error `e` (outward rounding).
    pub fn widen(&self, e: &Float) -> Interval {
        let mut lo = self.lo.clone();
        lo.sub_assign_round(e, Round::Down);
        let mut hi = self.hi.clone();
        hi.add_assign_round(e, Round::Up);
        Interval { lo, hi }
    }

    /// The midpoint rounded to the nearest f64.
    pub fn mid_f64(&self) -> f64 {
        let mut m = self.lo.clone();
        m += &self.hi;
        m /= 2;
        m.to_f64()
    }

    /// ln of the midpoint, computed at the interval's precision, so that a midpoint beyond the
    /// f64 range (e^{−8192}) still has its f64 logarithm; `None` unless the midpoint is > 0.
    pub fn ln_mid_f64(&self) -> Option<f64> {
        let mut m = self.lo.clone();
        m += &self.hi;
        m /= 2;
        (m > 0).then(|| m.ln().to_f64())
    }

    /// Lower end rounded down to f64 (a certified f64 lower bound).
    pub fn lo_f64(&self) -> f64 {
        self.lo.to_f64_round(Round::Down)
    }

    /// Upper end rounded up to f64 (a certified f64 upper bound).
    pub fn hi_f64(&self) -> f64 {
        self.hi.to_f64_round(Round::Up)
    }

    /// Width `hi - lo`, rounded up, as f64.
    pub fn width_f64(&self) -> f64 {
        let mut w = self.hi.clone();
        w.sub_assign_round(&self.lo, Round::Up);
        w.to_f64_round(Round::Up)
    }

    /// Width divided by the smallest magnitude in the interval (infinite if it contains 0).
    pub fn rel_width(&self) -> f64 {
        if self.lo.is_sign_positive() || self.hi.is_sign_negative() {
            let mut w = self.hi.clone();
            w.sub_assign_round(&self.lo, Round::Up);
            let mag = if self.lo.is_sign_positive() {
                self.lo.clone().abs()
            } else {
                self.hi.clone().abs()
            };
            if mag.is_zero() {
                return if w.is_zero() { 0.0 } else { f64::INFINITY };
            }
            w.div_assign_round(&mag, Round::Up);
            w.to_f64_round(Round::Up)
        } else {
            f64::INFINITY
        }
    }
}

fn mul_r(a: &Float, b: &Float, r: Round) -> Float {
    let mut x = a.clone();
    x.mul_assign_round(b, r);
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_is_validated() {
        assert!(Precision::new(256).is_ok());
        let e = Precision::new(10).unwrap_err();
        assert!(e.to_string().contains("precision"), "{e}");
    }

    #[test]
    fn interval_ops_enclose_the_exact_result() {
        let p = Precision(64);
        let third = Interval::from_f64(p, 1.0)
            .div(&Interval::from_f64(p, 3.0))
            .expect("test setup");
        // 3 * [1/3] must contain 1 exactly.
        let one = third.mul(&Interval::from_f64(p, 3.0));
        assert!(one.contains(&Float::with_val(64, 1)));
        assert!(one.width_f64() > 0.0 && one.width_f64() < 1e-18);
        // Mixed signs.
        let a = Interval::new(exact(p, -1.0), exact(p, 2.0));
        let b = Interval::new(exact(p, -3.0), exact(p, 0.5));
        let c = a.mul(&b);
        assert_eq!(c.lo_f64(), -6.0);
        assert_eq!(c.hi_f64(), 3.0);
        // exp/ln round trip encloses.
        let e = Interval::from_f64(p, 0.7).exp().ln();
        assert!(e.contains(&exact(p, 0.7)));
    }
}
