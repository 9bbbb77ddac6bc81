//! The Edgeworth series of orders 0–3 for the distribution of a sum from its cumulants, and
//! the approximate Edgeworth accountant's δ̃(ε) (docs/math.md §4).
//!
//! Standardise z = (x − K1)/√K2, λ_j = K_j/K2^{j/2}. Then F(x) ≈ Φ(z) − φ(z)·poly(z) and the
//! survival function is computed directly as SF(x) ≈ φ(z)·[R(z) + poly(z)] (R the Mills ratio),
//! in log space, so it stays accurate where Φ̄ underflows f64 (z > 38.5).
//!
//! # References
//! Wang, Gao, Zhang, Shen, Su, *Edgeworth Accountant*, arXiv 2206.04236, §3–4.

use crate::cumulants::Cumulants;
use crate::error::{Error, Result};
use crate::special::hermite::edgeworth_poly;
use crate::special::normal;

/// Highest Edgeworth order supported.
pub const MAX_EDGEWORTH_ORDER: u8 = 3;

/// The Edgeworth approximation of one side's summed privacy loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Series {
    mean: f64,
    sd: f64,
    lambda: [f64; 7],
    order: u8,
}

/// Which side a series describes (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// X = L under P.
    P,
    /// Y = L under Q.
    Q,
}

impl Series {
    /// The series of the given order from cumulants K1..K6 (`k[j−1]` = K_j).
    ///
    /// # Errors
    /// `order` must be ≤ 3; K2 must be finite and > 0.
    pub fn new(k: &[f64; 6], order: u8) -> Result<Series> {
        if order > MAX_EDGEWORTH_ORDER {
            return Err(Error::invalid("order", order, "must be 0, 1, 2 or 3"));
        }
        if !(k[1].is_finite() && k[1] > 0.0) || k.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid(
                "cumulants",
                format!("{k:?}"),
                "K2 must be positive and every cumulant finite",
            ));
        }
        let sd = k[1].sqrt();
        let mut lambda = [0.0; 7];
        for j in 3..=6 {
            lambda[j] = k[j - 1] / sd.powi(j as i32);
        }
        Ok(Series {
            mean: k[0],
            sd,
            lambda,
            order,
        })
    }

    /// Standardised argument z = (x − K1)/√K2.
    pub fn z(&self, x: f64) -> f64 {
        (x - self.mean) / self.sd
    }

    /// poly(z) of the survival function.
    pub fn poly(&self, z: f64) -> f64 {
        edgeworth_poly(self.order, &self.lambda, z)
    }

    /// The survival function SF(x) (may be ≤ 0 where the truncated series is invalid).
    pub fn sf(&self, x: f64) -> f64 {
        let z = self.z(x);
        if z < 0.0 {
            normal::sf(z) + normal::pdf(z) * self.poly(z)
        } else {
            normal::pdf(z) * (normal::mills(z) + self.poly(z))
        }
    }

    /// The CDF F(x) = Φ(z) − φ(z)·poly(z).
    pub fn cdf(&self, x: f64) -> f64 {
        let z = self.z(x);
        if z > 0.0 {
            normal::cdf(z) - normal::pdf(z) * self.poly(z)
        } else {
            // Φ(z) = φ(z)·R(−z).
            normal::pdf(z) * (normal::mills(-z) - self.poly(z))
        }
    }

    /// ln SF(x), or `Err(value)` with the non-positive value of SF where the series is invalid.
    pub fn ln_sf(&self, x: f64) -> std::result::Result<f64, f64> {
        let z = self.z(x);
        if z < 0.0 {
            let v = self.sf(x);
            if v > 0.0 {
                Ok(v.ln())
            } else {
                Err(v)
            }
        } else {
            let s = normal::mills(z) + self.poly(z);
            if s > 0.0 {
                Ok(normal::ln_pdf(z) + s.ln())
            } else {
                Err(normal::pdf(z) * s)
            }
        }
    }

    /// Order.
    pub fn order(&self) -> u8 {
        self.order
    }
}

/// The approximate Edgeworth accountant's δ̃(ε) = SF̃_Q(ε) − e^ε SF̃_P(ε) for one ordering,
/// with ln δ̃ when positive.
///
/// # Guarantee
/// An estimate (biased in the tail: docs/math.md §4); exact when K3..K6 vanish (Gaussian).
///
/// # Errors
/// [`Error::SeriesInvalid`] where either truncated survival function is ≤ 0.
pub fn delta_estimate(p: &Series, q: &Series, epsilon: f64) -> Result<f64> {
    let lq = q.ln_sf(epsilon).map_err(|v| Error::SeriesInvalid {
        order: q.order,
        what: format!("Q side, epsilon = {epsilon}"),
        value: v,
    })?;
    let lp = p.ln_sf(epsilon).map_err(|v| Error::SeriesInvalid {
        order: p.order,
        what: format!("P side, epsilon = {epsilon}"),
        value: v,
    })?;
    Ok(signed_delta_from_logs(lq, lp, epsilon))
}

/// e^{lq} − e^{ε + lp} = e^{lq}(1 − e^{ε + lp − lq}) without overflow to NaN: ±∞ or 0 where
/// the exponentials leave the f64 range, never NaN (e^ε overflows for ε > 709).
fn signed_delta_from_logs(lq: f64, lp: f64, epsilon: f64) -> f64 {
    if lq == f64::NEG_INFINITY {
        return -(epsilon + lp).exp();
    }
    let x = epsilon + lp - lq;
    if x > 700.0 {
        // e^{lq}(1 − e^x) = −e^{lq + x}(1 − e^{−x}), the last factor 1 to f64 precision.
        return -(lq + x).exp();
    }
    -lq.exp() * x.exp_m1()
}

/// e^ε·s without the NaN of ∞·0: 0 for s = 0, and computed as sign(s)·e^{ε + ln|s|} so that
/// it overflows to ±∞ only when the product itself does.
pub fn exp_eps_times(epsilon: f64, s: f64) -> f64 {
    if s == 0.0 {
        0.0
    } else {
        s.signum() * (epsilon + s.abs().ln()).exp()
    }
}

/// The signed estimate SF̃_Q(ε) − e^ε SF̃_P(ε) without validity checks, and whether both
/// truncated survival functions were positive (the series valid) at ε.
///
/// Used when scanning for ε(δ): an invalid point away from the root does not change the
/// answer, but callers must report that the series was invalid somewhere.
pub fn delta_estimate_signed(p: &Series, q: &Series, epsilon: f64) -> (f64, bool) {
    match (q.ln_sf(epsilon), p.ln_sf(epsilon)) {
        (Ok(lq), Ok(lp)) => (signed_delta_from_logs(lq, lp, epsilon), true),
        _ => (q.sf(epsilon) - exp_eps_times(epsilon, p.sf(epsilon)), false),
    }
}

/// Both sides' series from summed cumulants.
///
/// # Errors
/// As [`Series::new`].
pub fn series_pair(k: &Cumulants, order: u8) -> Result<(Series, Series)> {
    Ok((Series::new(&k.p, order)?, Series::new(&k.q, order)?))
}

/// Exact δ(ε) of a μ-GDP pair (Dong–Roth–Su): Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2), computed
/// in log space (accurate to ~1e−13 relative for δ ≥ 1e−300). μ = 0 (identical laws, e.g.
/// where 1/σ² underflows) gives 0 for ε ≥ 0.
pub fn gaussian_delta(mu: f64, epsilon: f64) -> f64 {
    if mu == 0.0 && epsilon >= 0.0 {
        return 0.0;
    }
    let lq = normal::ln_sf(epsilon / mu - mu / 2.0);
    let scale = lq.exp();
    if scale == 0.0 {
        // 0 ≤ δ ≤ P(L > ε) = e^{lq}, which underflows: δ is 0 in f64. (Here lp and lq are
        // ~ −ε²/(2μ²), and their difference carries an absolute rounding error far above 1,
        // so e^{ε + lp − lq} − 1 may overflow: ∞·0 would be NaN.)
        return 0.0;
    }
    let lp = normal::ln_sf(epsilon / mu + mu / 2.0);
    -scale * (epsilon + lp - lq).exp_m1()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_epsilon_gives_no_nan() {
        // e^ε overflows for ε > 709: the products must not become ∞·0 = NaN.
        assert_eq!(exp_eps_times(1500.0, 0.0), 0.0);
        assert_eq!(exp_eps_times(1500.0, 1e-300), f64::INFINITY);
        assert!((exp_eps_times(2.0, 0.25) - 0.25 * 2f64.exp()).abs() < 1e-15);
        assert_eq!(
            signed_delta_from_logs(f64::NEG_INFINITY, f64::NEG_INFINITY, 1500.0),
            0.0
        );
        let d = signed_delta_from_logs(-800.0, -700.0, 1500.0);
        assert!(d == f64::NEG_INFINITY, "{d}");
        let d = signed_delta_from_logs(-10.0, -2000.0, 1500.0);
        assert!(d > 0.0 && (d - (-10f64).exp()).abs() < 1e-18, "{d}");
    }

    #[test]
    fn gaussian_delta_is_zero_not_nan_far_in_the_tail() {
        // ε/μ ≈ 4.6e9 (compare at ε = 116746, μ = 2.5e-5 printed NaN): δ underflows to 0.
        for (mu, eps) in [
            (2.53148e-5, 116746.0),
            (1e-3, 1e6),
            (0.5, 800.0),
            (30.0, 1e5),
        ] {
            let d = gaussian_delta(mu, eps);
            assert!(d == 0.0, "mu {mu} eps {eps}: {d}");
        }
        // μ = 0: identical laws (0/0 gave NaN, and gdp's ε search failed at σ = 1e308).
        assert_eq!(gaussian_delta(0.0, 0.0), 0.0);
        assert_eq!(gaussian_delta(0.0, 1.0), 0.0);
        // Just inside f64 the value is positive and below the tail bound e^{lq}.
        let (mu, eps) = (1.0, 30.0);
        let d = gaussian_delta(mu, eps);
        let tail = normal::ln_sf(eps / mu - mu / 2.0).exp();
        assert!(d > 0.0 && d <= tail, "{d} vs {tail}");
    }

    #[test]
    fn gaussian_delta_check_values() {
        // docs/math.md §2: μ_tot = 1.
        let d = gaussian_delta(1.0, 0.5);
        assert!((d - 2.3842170813e-01).abs() < 1e-11, "{d}");
        let d = gaussian_delta(1.0, 1.0);
        assert!((d - 1.2693673751e-01).abs() < 1e-11, "{d}");
    }

    #[test]
    fn order_zero_is_the_normal_and_sf_plus_cdf_is_one() {
        let k = [0.3, 2.0, 0.4, 0.1, 0.05, 0.01];
        for order in 0..=3 {
            let s = Series::new(&k, order).expect("test setup");
            for &x in &[-3.0, -0.5, 0.3, 2.0, 6.0] {
                let t = s.sf(x) + s.cdf(x);
                assert!((t - 1.0).abs() < 1e-14, "order {order} x {x}: {t}");
            }
        }
        let s = Series::new(&k, 0).expect("test setup");
        let z = s.z(1.0);
        assert!((s.sf(1.0) - normal::sf(z)).abs() < 1e-16);
        assert!(Series::new(&k, 4).is_err());
    }
}
