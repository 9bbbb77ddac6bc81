//! The Berry–Esseen bound with Shevtsova's constants.
//!
//! For independent X_i with E X_i = 0, σ_i² = E X_i², ρ_i = E|X_i|³ and S = ΣX_i/√(Σσ_i²):
//!
//! ```text
//! sup_x |P(S ≤ x) − Φ(x)| ≤ C · Σρ_i / (Σσ_i²)^{3/2}
//! ```
//!
//! with C = 0.4748 for identically distributed summands (then the right side is
//! 0.4748·ρ/(σ³√n)) and C = 0.5600 in general.
//!
//! # Guarantee
//! An upper bound, evaluated with outward rounding and returned rounded up.
//!
//! # References
//! I. Shevtsova, *On the absolute constants in the Berry–Esseen type inequalities for
//! identically distributed summands*, arXiv 1111.6554 (2011) (C = 0.4748); I. Shevtsova,
//! *An improvement of convergence rate estimates in the Lyapunov theorem*, Doklady Math. 82
//! (2010) 862–864 (C = 0.5600).

use super::iv::{dec, div, pt, sqrt};
use crate::error::Result;
use crate::precision::Interval;

/// Shevtsova's iid constant.
pub const BE_IID: &str = "0.4748";
/// Shevtsova's non-identical constant.
pub const BE_INID: &str = "0.5600";

/// 0.4748·ρ/(σ³√n) for n iid summands with variance `var` = σ² and third absolute central
/// moment `rho`, both upper/lower bounds as needed: `rho` an upper bound, `var` a lower bound.
///
/// # Errors
/// [`crate::Error::InvalidParameter`] for n < 1, var ≤ 0 or rho < 0.
pub fn berry_esseen_iid(n: f64, var: f64, rho: f64) -> Result<f64> {
    crate::error::Range::at_least(1.0).check("n", n)?;
    crate::error::Range::above(0.0).check("variance", var)?;
    crate::error::Range::at_least(0.0).check("rho", rho)?;
    let v = pt(var);
    let s3 = v.mul(&sqrt(&v));
    Ok(div(&dec(BE_IID).mul(&pt(rho)), &s3.mul(&sqrt(&pt(n)))).hi_f64())
}

/// 0.5600·Σρ_i/(Σσ_i²)^{3/2} from the totals Σρ_i (upper bound) and Σσ_i² (lower bound).
///
/// # Errors
/// [`crate::Error::InvalidParameter`] for a total variance ≤ 0 or Σρ < 0.
pub fn berry_esseen_inid(total_rho: f64, total_var: f64) -> Result<f64> {
    crate::error::Range::above(0.0).check("variance", total_var)?;
    crate::error::Range::at_least(0.0).check("rho", total_rho)?;
    let v = pt(total_var);
    Ok(div(&dec(BE_INID).mul(&pt(total_rho)), &v.mul(&sqrt(&v))).hi_f64())
}

/// Interval form used by the accountants: C·ρ/V^{3/2} with `rho`, `var` enclosures; the upper
/// end is the bound.
pub(crate) fn be_interval(constant: &str, rho: &Interval, var: &Interval) -> Interval {
    let rho = Interval::new(rho.hi.clone(), rho.hi.clone());
    let v = Interval::new(var.lo.clone(), var.lo.clone());
    div(&dec(constant).mul(&rho), &v.mul(&sqrt(&v)))
}

/// The iid bound in Shevtsova's two-constant form, min(0.4748·ρ/σ³, 0.33554·(ρ/σ³ + 0.415))/√n,
/// from the totals Σρ = nρ (upper) and Σσ² = nσ² (lower enclosure end used).
///
/// # References
/// Shevtsova (2011), arXiv 1111.6554, Theorem 1 (0.33554(β3 + 0.415σ³)/(σ³√n)) and the
/// abstract's 0.4748.
pub(crate) fn be_iid_interval(n: f64, total_rho: &Interval, total_var: &Interval) -> Interval {
    let a = be_interval(BE_IID, total_rho, total_var);
    // ρ/σ³ = √n·Σρ/(Σσ²)^{3/2}.
    let v = Interval::new(total_var.lo.clone(), total_var.lo.clone());
    let r = Interval::new(total_rho.hi.clone(), total_rho.hi.clone());
    let sqrt_n = sqrt(&pt(n));
    let ratio = div(&sqrt_n.mul(&r), &v.mul(&sqrt(&v)));
    let b = div(&dec("0.33554").mul(&ratio.add(&dec("0.415"))), &sqrt_n);
    if b.hi < a.hi {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bernoulli_half_value() {
        // X = ±1 w.p. 1/2: σ = ρ = 1, n = 100 → 0.04748.
        let b = berry_esseen_iid(100.0, 1.0, 1.0).expect("test setup");
        assert!((0.04748..0.04748 * (1.0 + 1e-15)).contains(&b), "{b}");
        let c = berry_esseen_inid(100.0, 100.0).expect("test setup");
        assert!((0.056..0.056 * (1.0 + 1e-15)).contains(&c), "{c}");
        assert!(berry_esseen_iid(0.5, 1.0, 1.0).is_err());
    }
}
