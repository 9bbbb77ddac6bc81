//! The GDP / central-limit accountant of Bu et al. (docs/math.md §7).
//!
//! Every part of the composition is mapped to a Gaussian-DP parameter and the parameters add
//! in quadrature: a Gaussian mechanism with noise multiplier σ composed n times is exactly
//! μ = √n/σ; n Poisson-subsampled Gaussian steps are approximated by the CLT of Bu et al.,
//! μ = q·√(n(e^{1/σ²} − 1)). The (ε, δ) curve is then the Dong–Roth–Su formula
//! δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2).

use super::invert::{epsilon_for_delta, Pick};
use super::{Bracket, Guarantee, OrderingAccountant, OrderingAnswer, Query, Report};
use crate::edgeworth::gaussian_delta;
use crate::error::{Error, Result};
use crate::event::Composition;
use crate::mechanism::{Adjacency, Direction, Mechanism};

/// The GDP/CLT accountant.
///
/// # Guarantee
/// `exact` when every composed mechanism is a Gaussian (or a subsampled Gaussian with q = 1);
/// otherwise an `estimate` (the CLT is asymptotic and known to under-state ε for finite n).
/// The same value is reported for both orderings (the μ-GDP curve is symmetric).
///
/// # Errors
/// The Laplace mechanism has no GDP limit here: [`Error::UnsupportedEvent`].
///
/// # References
/// Bu, Dong, Long, Su, *Deep learning with Gaussian differential privacy*, HDSR 2020, Thm 4
/// (μ = q√(n(e^{1/σ²} − 1))); Dong, Roth, Su, *Gaussian differential privacy*, JRSS-B 2022,
/// Cor. 2.13 (the (ε, δ) curve of μ-GDP).
#[derive(Debug, Clone)]
pub struct GdpAccountant {
    adjacency: Adjacency,
    composition: Composition,
}

impl GdpAccountant {
    /// A new accountant covering `adjacency` (the value is the same for every ordering).
    pub fn new(adjacency: Adjacency) -> Self {
        GdpAccountant {
            adjacency,
            composition: Composition::default(),
        }
    }

    /// μ of the composition so far: √(Σ μ_i²).
    pub fn mu(&self) -> f64 {
        self.composition
            .parts
            .iter()
            .map(|(m, n)| mu_squared(m, *n))
            .sum::<f64>()
            .sqrt()
    }
}

/// μ² of `count` compositions of `m`: count/σ² for a Gaussian (exact), q²·count·(e^{1/σ²} − 1)
/// for a subsampled Gaussian (Bu et al. CLT). Laplace is rejected before this is called.
fn mu_squared(m: &Mechanism, count: u64) -> f64 {
    let n = count as f64;
    match m {
        Mechanism::Gaussian(g) => n / (g.sigma() * g.sigma()),
        Mechanism::SubsampledGaussian(s) => {
            let inv = 1.0 / (s.sigma() * s.sigma());
            if s.sampling_rate() == 1.0 {
                n * inv
            } else {
                s.sampling_rate() * s.sampling_rate() * n * inv.exp_m1()
            }
        }
        Mechanism::Laplace(_) => f64::NAN,
        Mechanism::RandomizedResponse(_) | Mechanism::DiscreteLaplace(_) => f64::NAN,
        Mechanism::SubsampledLaplace(_) => f64::NAN,
        Mechanism::DiscreteGaussian(_) => f64::NAN,
        Mechanism::GaussianMixture(_) => f64::NAN,
        Mechanism::TruncatedPoisson(_) => f64::NAN,
    }
}

impl OrderingAccountant for GdpAccountant {
    fn name(&self) -> &'static str {
        "gdp"
    }

    fn adjacency(&self) -> Adjacency {
        self.adjacency
    }

    fn composition(&self) -> &Composition {
        &self.composition
    }

    fn absorb(&mut self, added: Composition) -> Result<()> {
        self.composition.merge(added)
    }

    fn check(&self, added: &Composition) -> Result<()> {
        crate::mechanism::mixture::refuse_in("gdp", added)?;
        crate::mechanism::truncated::refuse_in("gdp", added)?;
        for (m, _) in &added.parts {
            if let Mechanism::SubsampledLaplace(_) = m {
                return Err(Error::UnsupportedEvent {
                    accountant: "gdp",
                    event: m.describe(),
                    reason: "the GDP/CLT accountant covers Gaussian and Poisson-subsampled Gaussian mechanisms only (the subsampled Laplace has no Gaussian limit certified here); use pld or rdp".into(),
                });
            }
            if let Mechanism::Laplace(_)
            | Mechanism::RandomizedResponse(_)
            | Mechanism::DiscreteLaplace(_) = m
            {
                return Err(Error::UnsupportedEvent {
                    accountant: "gdp",
                    event: m.describe(),
                    reason: "the GDP/CLT accountant covers Gaussian and Poisson-subsampled Gaussian mechanisms only".into(),
                });
            }
            if let Mechanism::DiscreteGaussian(_) = m {
                return Err(Error::UnsupportedEvent {
                    accountant: "gdp",
                    event: m.describe(),
                    reason: "the GDP accountant covers Gaussian and Poisson-subsampled Gaussian mechanisms only: the discrete Gaussian is not mu-GDP with the continuous Gaussian's mu in general (its trade-off curve differs), and no certified mu is derived here; use contour, pld, rdp or saddlepoint".into(),
                });
            }
        }
        Ok(())
    }

    fn guarantee(&self, _query: Query) -> Guarantee {
        if self.composition.all_gaussian() {
            Guarantee::Exact
        } else {
            Guarantee::Estimate
        }
    }

    /// The μ-GDP curve is symmetric: the same δ for both orderings.
    fn delta_for(&self, _direction: Direction, epsilon: f64) -> Result<OrderingAnswer> {
        // `+ 0.0` turns a −0 into +0.
        let d = gaussian_delta(self.mu(), epsilon).clamp(0.0, 1.0) + 0.0;
        Ok(OrderingAnswer::new(Bracket::estimate(d)))
    }

    fn epsilon_for(&self, _direction: Direction, delta: f64) -> Result<OrderingAnswer> {
        let mu = self.mu();
        let guess = mu * mu / 2.0 + mu * (-2.0 * delta.ln()).sqrt();
        let inv = epsilon_for_delta(
            |e| Ok(gaussian_delta(mu, e)),
            delta,
            guess,
            1e-13 * guess.max(1.0),
            Pick::Root,
        )?;
        Ok(OrderingAnswer::new(Bracket::estimate(inv.epsilon)))
    }

    /// Both orderings share one μ (GDP's trade-off curve is symmetric), so one solve serves
    /// every ordering of the adjacency instead of one per ordering.
    fn orderings_for(&self, query: Query, given: f64) -> Result<Vec<(Direction, OrderingAnswer)>> {
        let dirs = self.adjacency().directions();
        let Some(&first) = dirs.first() else {
            return Err(Error::Internal("an adjacency covers no ordering".into()));
        };
        let a = match query {
            Query::Epsilon => self.epsilon_for(first, given)?,
            Query::Delta => self.delta_for(first, given)?,
        };
        Ok(dirs.iter().map(|&d| (d, a.clone())).collect())
    }

    fn finish(&self, report: &mut Report) -> Result<()> {
        report.notes.insert(0, format!("mu = {:.10}", self.mu()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accountant::Accountant;
    use crate::event::DpEvent;

    #[test]
    fn gaussian_composition_is_exact_dong_roth_su() {
        // docs/math.md §2: μ_tot = 1 gives δ(0.5) = 2.3842170813e−01, δ(1) = 1.2693673751e−01.
        let mut a = GdpAccountant::new(Adjacency::AddRemove);
        a.compose(&DpEvent::Gaussian { sigma: 2.0 }, 4)
            .expect("test setup");
        let r = a.delta(0.5).expect("test setup");
        assert_eq!(r.guarantee, Guarantee::Exact);
        assert!(
            (r.delta / 2.3842170813e-01 - 1.0).abs() < 1e-9,
            "{}",
            r.delta
        );
        let r = a.delta(1.0).expect("test setup");
        assert!(
            (r.delta / 1.2693673751e-01 - 1.0).abs() < 1e-9,
            "{}",
            r.delta
        );
        let e = a.epsilon(1.2693673751e-01).expect("test setup");
        assert!((e.epsilon - 1.0).abs() < 1e-8, "{}", e.epsilon);
    }

    #[test]
    fn subsampled_uses_bu_et_al_mu_and_rejects_laplace() {
        let mut a = GdpAccountant::new(Adjacency::Remove);
        a.compose(&DpEvent::dpsgd(1.0, 0.01, 10_000), 1)
            .expect("test setup");
        let want = 0.01 * (10_000.0 * (1f64.exp() - 1.0)).sqrt();
        assert!((a.mu() - want).abs() < 1e-12 * want);
        assert_eq!(
            a.delta(1.0).expect("test setup").guarantee,
            Guarantee::Estimate
        );
        let err = a.compose(&DpEvent::Laplace { scale: 1.0 }, 1).unwrap_err();
        assert!(matches!(err, Error::UnsupportedEvent { .. }), "{err}");
    }
}
