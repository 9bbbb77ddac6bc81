//! The Gaussian mechanism: P = N(0,1), Q = N(μ,1), μ = 1/σ (docs/math.md §2).

use crate::cumulants::{CertifiedCumulants, Cumulants, MAX_ORDER};
use crate::error::Result;
use crate::precision::{Interval, Precision};
use rug::Float;

/// Gaussian mechanism with noise multiplier σ (sensitivity 1).
///
/// PLLR L = μx − μ²/2: X ~ N(−μ²/2, μ²) under P, Y ~ N(μ²/2, μ²) under Q; cumulants beyond
/// order 2 are zero. Both orderings have the same PLLR law.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Gaussian {
    sigma: f64,
}

impl Gaussian {
    /// # Errors
    /// `sigma` must be finite and > 0.
    pub fn new(sigma: f64) -> Result<Self> {
        crate::error::Range::above(0.0).check("sigma", sigma)?;
        Ok(Gaussian { sigma })
    }

    /// σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// μ = 1/σ.
    pub fn mu(&self) -> f64 {
        1.0 / self.sigma
    }

    /// Exact f64 cumulants (remove ordering; the add ordering is identical).
    pub fn cumulants_f64(&self) -> Cumulants {
        let mu2 = self.mu() * self.mu();
        let mut c = Cumulants::ZERO;
        c.p[0] = -0.5 * mu2;
        c.q[0] = 0.5 * mu2;
        c.p[1] = mu2;
        c.q[1] = mu2;
        c
    }

    /// Enclosures of the cumulants (μ = 1/σ with outward rounding).
    pub fn certified_cumulants(&self, precision: Precision) -> CertifiedCumulants {
        let p = precision.0;
        let mu = Interval::recip_of(p, self.sigma);
        let mu2 = mu.mul(&mu);
        let half = mu2.scale_nonneg(&Float::with_val(p, 0.5));
        let zero = Interval::zero(precision);
        let mut pside = vec![zero.clone(); MAX_ORDER];
        let mut qside = vec![zero; MAX_ORDER];
        pside[0] = half.neg();
        qside[0] = half;
        pside[1] = mu2.clone();
        qside[1] = mu2;
        CertifiedCumulants {
            p: pside,
            q: qside,
            precision,
        }
    }
}
