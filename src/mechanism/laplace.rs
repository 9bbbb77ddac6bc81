//! The Laplace mechanism: P = Lap(0, b), Q = Lap(1, b), a = 1/b (docs/math.md §2).

use crate::cumulants::{cumulants_from_moments, CertifiedCumulants, Cumulants, MAX_ORDER};
use crate::error::Result;
use crate::precision::{Interval, Precision};
use rug::Float;

/// Laplace mechanism with scale b (sensitivity 1; per-step pure-DP ε0 = a = 1/b).
///
/// L ∈ [−a, a]: under P an atom of mass ½ at −a, an atom of mass e^{−a}/2 at +a and density
/// in between; under Q, L has the law of −L under P (κ_j^Q = (−1)^j κ_j^P). The add ordering has
/// the same PLLR laws (the pair is symmetric under x ↦ 1 − x).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Laplace {
    scale: f64,
}

impl Laplace {
    /// # Errors
    /// `scale` must be finite and > 0.
    pub fn new(scale: f64) -> Result<Self> {
        crate::error::Range::above(0.0).check("scale", scale)?;
        Ok(Laplace { scale })
    }

    /// b.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// a = 1/b, the per-step pure-DP ε.
    pub fn epsilon0(&self) -> f64 {
        1.0 / self.scale
    }

    /// f64 cumulants (midpoints of a 128-bit enclosure; relative error ~1e−16).
    pub fn cumulants_f64(&self) -> Cumulants {
        self.certified_cumulants(Precision(128)).mid()
    }

    /// Certified cumulants from the exact raw moments
    /// m_k = ½(−a)^k + ½e^{−a}a^k + ¼Ĵ_k with Ĵ_k = e^{−a/2}J_k, J_k = ∫_{−a}^{a} u^k e^{−u/2} du:
    /// Ĵ_0 = 2(1 − e^{−a}), Ĵ_k = −2(a^k e^{−a} − (−a)^k) + 2k Ĵ_{k−1} (docs/math.md §2.2). Only
    /// e^{−a} appears, so nothing overflows at any scale (e^{a/2} overflowed MPFR's exponent
    /// range for b below ≈ 7e−10 and gave NaN). Interval arithmetic with guard bits against the
    /// recurrence's cancellation for small a and against the moments' cancellation for large a
    /// (m_k ~ a^k while κ_k = O(1) for k ≥ 2: 6·log₂ a bits).
    pub fn certified_cumulants(&self, precision: Precision) -> CertifiedCumulants {
        // log₂ a = −log₂ b, finite even where a = 1/b overflows f64 (subnormal b).
        let log2_a = -self.scale.log2();
        let guard = 64 + (12.0 * (-log2_a).max(0.0) + 6.0 * log2_a.max(0.0)).ceil() as u32;
        let wp = precision.0 + guard;
        let a = Interval::recip_of(wp, self.scale);
        let wpp = Precision(wp);
        let half = Float::with_val(wp, 0.5);
        let e_a = a.neg().exp(); // e^{−a}
        let two = Float::with_val(wp, 2);
        let one = Interval::from_f64(wpp, 1.0);
        let mut j_prev = one.sub(&e_a).scale_nonneg(&two);
        let neg_a = a.neg();
        let mut moments = vec![one];
        for k in 1..=MAX_ORDER as u32 {
            let ak = a.powi(k);
            let mak = neg_a.powi(k);
            let bracket = ak.mul(&e_a).sub(&mak);
            let j_k = j_prev
                .scale_nonneg(&Float::with_val(wp, 2 * k))
                .sub(&bracket.scale_nonneg(&two));
            let m_k = mak
                .scale_nonneg(&half)
                .add(&e_a.mul(&ak).scale_nonneg(&half))
                .add(&j_k.scale_nonneg(&Float::with_val(wp, 0.25)));
            moments.push(m_k);
            j_prev = j_k;
        }
        let p = cumulants_from_moments(&moments, 0.0, MAX_ORDER)
            .expect("invariant: MAX_ORDER + 1 moments were computed");
        let q: Vec<Interval> = p
            .iter()
            .enumerate()
            .map(|(j, x)| if j % 2 == 0 { x.neg() } else { x.clone() })
            .collect();
        CertifiedCumulants { p, q, precision }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_math_md_check_values() {
        // docs/math.md §2, a = 0.5 (scale 2): κ1..κ4 under P.
        let want = [
            -0.106530659712633,
            0.205997919978024,
            0.041226489956332,
            -0.071201254668617,
        ];
        let c = Laplace::new(2.0)
            .expect("test setup")
            .certified_cumulants(Precision(256));
        for j in 0..4 {
            let got = c.p[j].mid_f64();
            assert!(
                (got - want[j]).abs() <= 1e-14,
                "κ{}: {got} vs {}",
                j + 1,
                want[j]
            );
            assert!(c.p[j].rel_width() < 1e-60);
            let gq = c.q[j].mid_f64();
            let sign = if j % 2 == 0 { -1.0 } else { 1.0 };
            assert_eq!(gq, sign * got);
        }
    }

    #[test]
    fn matches_closed_forms_across_scales() {
        for &b in &[0.1, 1.0, 7.0, 1000.0] {
            let a: f64 = 1.0 / b;
            let e1 = (-a).exp();
            let e2 = (-2.0 * a).exp();
            let e3 = (-3.0 * a).exp();
            let e4 = (-4.0 * a).exp();
            let k = [
                1.0 - a - e1,
                3.0 - 2.0 * e1 - 4.0 * a * e1 - e2,
                14.0 - 6.0 * (2.0 * a * a + 2.0 * a + 1.0) * e1
                    - 6.0 * (2.0 * a + 1.0) * e2
                    - 2.0 * e3,
                90.0 - 8.0 * (4.0 * a.powi(3) + 6.0 * a * a + 6.0 * a + 3.0) * e1
                    - 12.0 * (8.0 * a * a + 8.0 * a + 3.0) * e2
                    - 24.0 * (2.0 * a + 1.0) * e3
                    - 6.0 * e4,
            ];
            let c = Laplace::new(b).expect("test setup").cumulants_f64();
            for j in 0..4 {
                // f64 closed forms cancel badly for small a: compare with a tolerance scaled
                // to the terms' size.
                let tol = 1e-12 * (1.0 + 90.0);
                assert!(
                    (c.p[j] - k[j]).abs() <= tol,
                    "b={b} κ{}: {} vs {}",
                    j + 1,
                    c.p[j],
                    k[j]
                );
            }
        }
    }

    /// The certified cumulants at every scale, down to the smallest subnormal b (where a = 1/b
    /// overflows f64), enclose the closed forms of docs/math.md §2.2 evaluated in interval
    /// arithmetic at 12 000 bits. Before, e^{a/2} overflowed MPFR below b ≈ 7e−10 and every
    /// enclosure was NaN.
    #[test]
    fn certified_cumulants_hold_at_every_scale() {
        let scales = [
            5e-324, 1e-310, 1e-300, 1e-100, 1e-20, 1e-9, 6e-10, 1e-3, 0.1, 1.0, 7.0, 1e3, 1e8,
        ];
        for &b in &scales {
            let c = Laplace::new(b)
                .expect("test setup")
                .certified_cumulants(Precision(256));
            let wp = 12_000;
            let p = Precision(wp);
            let a = Interval::recip_of(wp, b);
            let e = |k: f64| a.scale_nonneg(&Float::with_val(wp, k)).neg().exp();
            let n = |v: f64| Interval::from_f64(p, v);
            let poly = |coef: &[f64]| {
                // Σ coef[i]·a^i
                coef.iter().enumerate().fold(n(0.0), |acc, (i, &ci)| {
                    acc.add(&a.powi(i as u32).mul(&n(ci)))
                })
            };
            let want = [
                n(1.0).sub(&a).sub(&e(1.0)),
                n(3.0).sub(&poly(&[2.0, 4.0]).mul(&e(1.0))).sub(&e(2.0)),
                n(14.0)
                    .sub(&poly(&[6.0, 12.0, 12.0]).mul(&e(1.0)))
                    .sub(&poly(&[6.0, 12.0]).mul(&e(2.0)))
                    .sub(&n(2.0).mul(&e(3.0))),
                n(90.0)
                    .sub(&poly(&[24.0, 48.0, 48.0, 32.0]).mul(&e(1.0)))
                    .sub(&poly(&[36.0, 96.0, 96.0]).mul(&e(2.0)))
                    .sub(&poly(&[24.0, 48.0]).mul(&e(3.0)))
                    .sub(&n(6.0).mul(&e(4.0))),
            ];
            for (j, w) in want.iter().enumerate() {
                let got = &c.p[j];
                assert!(
                    got.lo <= w.hi && w.lo <= got.hi,
                    "b = {b:e}, κ{}: [{}, {}] misses [{}, {}]",
                    j + 1,
                    got.lo.to_string_radix(10, Some(20)),
                    got.hi.to_string_radix(10, Some(20)),
                    w.lo.to_string_radix(10, Some(20)),
                    w.hi.to_string_radix(10, Some(20))
                );
                // Tight: within 1e−40 of the larger of |κ| and 1.
                let mut width = got.hi.clone();
                width -= &got.lo;
                let scale = got.hi.clone().abs().max(&Float::with_val(wp, 1));
                assert!(width / scale < 1e-40, "b = {b:e}, κ{}: too wide", j + 1);
            }
            for (j, k) in c.p.iter().chain(c.q.iter()).enumerate() {
                assert!(
                    !k.lo.is_nan() && !k.hi.is_nan() && k.lo.is_finite() && k.hi.is_finite(),
                    "b = {b:e}: enclosure {j} is [{}, {}]",
                    k.lo.to_string_radix(10, Some(20)),
                    k.hi.to_string_radix(10, Some(20))
                );
            }
        }
    }
}
