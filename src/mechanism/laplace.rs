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
    /// m_k = ½(−a)^k + ½e^{−a}a^k + ¼e^{−a/2} J_k, J_k = ∫_{−a}^{a} u^k e^{−u/2} du,
    /// J_0 = 2(e^{a/2} − e^{−a/2}), J_k = −2(a^k e^{−a/2} − (−a)^k e^{a/2}) + 2k J_{k−1},
    /// in interval arithmetic with guard bits against the recurrence's cancellation for small a.
    pub fn certified_cumulants(&self, precision: Precision) -> CertifiedCumulants {
        let a_f = self.epsilon0();
        let guard = 64 + (12.0 * (-a_f.log2()).max(0.0)).ceil() as u32;
        let wp = precision.0 + guard;
        let a = Interval::recip_of(wp, self.scale);
        let wpp = Precision(wp);
        let half = Float::with_val(wp, 0.5);
        let ha = a.scale_nonneg(&half);
        let e_pos = ha.exp(); // e^{a/2}
        let e_neg = ha.neg().exp(); // e^{−a/2}
        let e_a = a.neg().exp(); // e^{−a}
        let two = Float::with_val(wp, 2);
        let mut j_prev = e_pos.sub(&e_neg).scale_nonneg(&two);
        let neg_a = a.neg();
        let mut moments = vec![Interval::from_f64(wpp, 1.0)];
        for k in 1..=MAX_ORDER as u32 {
            let ak = a.powi(k);
            let mak = neg_a.powi(k);
            let bracket = ak.mul(&e_neg).sub(&mak.mul(&e_pos));
            let j_k = j_prev
                .scale_nonneg(&Float::with_val(wp, 2 * k))
                .sub(&bracket.scale_nonneg(&two));
            let m_k = mak
                .scale_nonneg(&half)
                .add(&e_a.mul(&ak).scale_nonneg(&half))
                .add(&e_neg.mul(&j_k).scale_nonneg(&Float::with_val(wp, 0.25)));
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
}
