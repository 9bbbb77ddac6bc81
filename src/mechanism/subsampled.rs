//! The Poisson-subsampled Gaussian mechanism (one DP-SGD step), docs/math.md §2.
//!
//! Remove ordering: P = N(0,1), Q = (1 − q)N(0,1) + qN(μ,1), L(x) = log(1 − q + q e^{μx−μ²/2}).
//! No closed-form cumulants: they are integrated ([`crate::special::quadrature`]). q = 1 is the
//! Gaussian mechanism exactly and is special-cased.

use super::Gaussian;
use crate::cumulants::{
    cumulants_from_moments, cumulants_from_moments_f64, CertifiedCumulants, Cumulants, MAX_ORDER,
};
use crate::error::Result;
use crate::precision::Precision;
use crate::special::quadrature::{
    certified_moments, log1p_minus_id, moments_f64, SubsampledLoss, Tilt,
};

/// Largest E_Q\[u\] = q²(e^{μ²} − 1) for which the control-variate means are used: beyond it
/// the cancellation E_Q\[L − u\] + E_Q\[u\] would cost more digits than the direct quadrature.
const CONTROL_VARIATE_MAX: f64 = 1e4;

/// Poisson-subsampled Gaussian with noise multiplier σ and sampling rate q ∈ (0, 1].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SubsampledGaussian {
    sigma: f64,
    sampling_rate: f64,
}

impl SubsampledGaussian {
    /// # Errors
    /// `sigma` must be finite and > 0; `sampling_rate` must lie in (0, 1].
    pub fn new(sigma: f64, sampling_rate: f64) -> Result<Self> {
        crate::error::Range::above(0.0).check("sigma", sigma)?;
        crate::error::Range::left_open(0.0, 1.0).check("sampling_rate", sampling_rate)?;
        Ok(SubsampledGaussian {
            sigma,
            sampling_rate,
        })
    }

    /// σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// q.
    pub fn sampling_rate(&self) -> f64 {
        self.sampling_rate
    }

    /// The remove-ordering loss for the quadrature.
    pub fn loss(&self) -> SubsampledLoss {
        SubsampledLoss {
            sigma: self.sigma,
            q: self.sampling_rate,
        }
    }

    fn gaussian(&self) -> Gaussian {
        Gaussian::new(self.sigma).expect("invariant: sigma validated at construction")
    }

    /// f64 cumulants of the remove ordering.
    ///
    /// Means use the control variate u = q·expm1(w) (`E_P[u] = 0`, `E_Q[u] = q²(e^{μ²} − 1)`
    /// exactly), so κ1 keeps full relative precision even when it is 1e−11 of the integrand's
    /// size; higher cumulants come from central moments about those means. For small σ the
    /// control variate itself is huge (q²e^{μ²} overflows at σ ≈ 0.04) and the means come
    /// from a direct two-pass quadrature instead (they are then O(qμ²), far from 0). NaN over
    /// the quadrature's work limit ([`Self::check_f64_work`]).
    pub fn cumulants_f64(&self) -> Cumulants {
        if self.sampling_rate == 1.0 {
            return self.gaussian().cumulants_f64();
        }
        let (q, mu) = (self.sampling_rate, 1.0 / self.sigma);
        let control = q * q * (mu * mu).exp_m1();
        let (mean_p, mean_q) = if control <= CONTROL_VARIATE_MAX {
            self.means_control_variate(control)
        } else {
            self.means_direct()
        };
        let tilts = Tilt::p_and_q(mean_p, mean_q);
        let m = moments_f64(&self.loss(), &tilts, MAX_ORDER);
        let mut c = Cumulants::ZERO;
        let kp = cumulants_from_moments_f64(&m[0], mean_p, MAX_ORDER);
        let kq = cumulants_from_moments_f64(&m[1], mean_q, MAX_ORDER);
        c.p.copy_from_slice(&kp);
        c.q.copy_from_slice(&kq);
        if control <= CONTROL_VARIATE_MAX {
            // The centred first moments are ~0 by construction; keep the control-variate means.
            c.p[0] = mean_p;
            c.q[0] = mean_q;
        }
        c
    }

    /// (E_P\[L\], E_Q\[L\]) with the control variate u (`control` = E_Q\[u\]).
    fn means_control_variate(&self, control: f64) -> (f64, f64) {
        let (q, mu) = (self.sampling_rate, 1.0 / self.sigma);
        let a = (std::f64::consts::PI / (3.0 * mu)).min(6.0);
        let h = (2.0 * std::f64::consts::PI * a / 80.0).min(0.0625);
        let tt = 15.0 + mu;
        let n = (tt / h).ceil() as i64;
        let (mut sp, mut sq) = (0.0, 0.0);
        for j in -n..=n {
            let x = j as f64 * h;
            let w = mu * x - 0.5 * mu * mu;
            let u = q * w.exp_m1();
            let r = if u.abs() <= 0.5 {
                log1p_minus_id(u)
            } else {
                crate::special::quadrature::log1p_qexpm1(q, w) - u
            };
            let phi = (-0.5 * x * x).exp();
            sp += r * phi;
            sq += r * (1.0 + u) * phi;
        }
        let f = h / (2.0 * std::f64::consts::PI).sqrt();
        (sp * f, sq * f + control)
    }

    /// (E_P\[L\], E_Q\[L\]) by the plain trapezoid (weights formed in log space).
    fn means_direct(&self) -> (f64, f64) {
        let tilts = Tilt::p_and_q(0.0, 0.0);
        let m = moments_f64(&self.loss(), &tilts, 1);
        (m[0][1] / m[0][0], m[1][1] / m[1][0])
    }

    /// Whether the f64 quadrature of [`Self::cumulants_f64`] stays within its work limit
    /// ([`crate::special::quadrature::MAX_F64_NODE_EVALUATIONS`]; beyond it those cumulants are
    /// NaN): `Err` saying why not.
    ///
    /// # Errors
    /// [`crate::Error::NotCertified`] over the limit (σ ≲ 2e−4).
    pub fn check_f64_work(&self) -> Result<()> {
        use crate::special::quadrature::{f64_work, MAX_F64_NODE_EVALUATIONS};
        if self.sampling_rate == 1.0 {
            return Ok(());
        }
        let work = f64_work(&self.loss(), &Tilt::p_and_q(0.0, 0.0));
        if work <= MAX_F64_NODE_EVALUATIONS {
            return Ok(());
        }
        Err(crate::Error::NotCertified(format!(
            "the cumulants of the subsampled Gaussian at sigma = {:e}, sampling_rate = {} come \
             from a trapezoid whose step shrinks like sigma (two windows of fixed width, \
             around 0 and mu = 1/sigma): {work:.3e} node evaluations, over the limit of \
             {MAX_F64_NODE_EVALUATIONS:e} (sigma below about 2e-4); the contour and pld \
             accountants answer there",
            self.sigma, self.sampling_rate
        )))
    }

    /// Certified cumulants of the remove ordering at `precision` (docs/math.md §13 quadrature).
    ///
    /// # Errors
    /// [`crate::Error::PrecisionExhausted`] if the quadrature fails;
    /// [`crate::Error::NotCertified`] over the work limit of the f64 estimates that centre it
    /// ([`Self::check_f64_work`]) or of the certified quadrature.
    pub fn certified_cumulants(&self, precision: Precision) -> Result<CertifiedCumulants> {
        if self.sampling_rate == 1.0 {
            return Ok(self.gaussian().certified_cumulants(precision));
        }
        self.check_f64_work()?;
        let est = self.cumulants_f64();
        let tilts = Tilt::p_and_q(est.p[0], est.q[0]);
        let m = certified_moments(&self.loss(), &tilts, MAX_ORDER, precision)?;
        let p = cumulants_from_moments(&m.values[0], est.p[0], MAX_ORDER)?;
        let q = cumulants_from_moments(&m.values[1], est.q[0], MAX_ORDER)?;
        Ok(CertifiedCumulants { p, q, precision })
    }
}
