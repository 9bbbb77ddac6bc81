//! The Fourier part of the saddle-point bracket (module docs of [`super`]): the certified
//! inversion of the tilted law's characteristic function, evaluated as the contour accountant
//! does. The composition is handed to [`ContourAccountant`] through its public
//! [`Accountant`] interface, one ordering at a time.

use super::{SaddlePointAccountant, FOURIER_TOLERANCE};
use crate::accountant::contour::{ContourAccountant, ContourParams};
use crate::accountant::{Accountant, Bracket, Report};
use crate::error::{Error, Result};
use crate::mechanism::{Adjacency, Direction};

impl SaddlePointAccountant {
    /// The contour (Fourier-inversion) accountant on the same composition, one ordering.
    fn fourier_accountant(&self, dir: Direction) -> Result<ContourAccountant> {
        let adjacency = match dir {
            Direction::Remove => Adjacency::Remove,
            Direction::Add => Adjacency::Add,
        };
        ContourAccountant::with_composition(
            ContourParams {
                adjacency,
                tolerance: FOURIER_TOLERANCE,
            },
            self.composition.clone(),
        )
    }

    /// Certified δ bracket from the Fourier inversion of the tilted law.
    pub(super) fn fourier_delta(&self, dir: Direction, epsilon: f64) -> Result<Bracket> {
        let r = self.fourier_accountant(dir)?.delta(epsilon)?;
        let (lo, hi) = ends(&r)?;
        Ok(Bracket::certified(lo.max(0.0), r.delta, hi.min(1.0)))
    }

    /// Certified ε bracket from the Fourier inversion of the tilted law.
    pub(super) fn fourier_epsilon(&self, dir: Direction, delta: f64) -> Result<Bracket> {
        let r = self.fourier_accountant(dir)?.epsilon(delta)?;
        let (lo, hi) = ends(&r)?;
        Ok(Bracket::certified(lo, r.epsilon, hi))
    }
}

/// The certified ends of a contour report.
fn ends(r: &Report) -> Result<(f64, f64)> {
    match (r.lower, r.upper) {
        (Some(lo), Some(hi)) if lo <= hi => Ok((lo, hi)),
        _ => Err(Error::Internal(format!(
            "the contour inversion returned no certified ends ({:?}, {:?})",
            r.lower, r.upper
        ))),
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{Composition, DpEvent};
    use crate::mechanism::Mechanism;

    /// The event whose flattening is `m` (to hand the composition to another accountant).
    fn mechanism_event(m: &Mechanism) -> DpEvent {
        match m {
            Mechanism::Gaussian(g) => DpEvent::Gaussian { sigma: g.sigma() },
            Mechanism::SubsampledGaussian(s) => DpEvent::PoissonSampled {
                sampling_rate: s.sampling_rate(),
                event: Box::new(DpEvent::Gaussian { sigma: s.sigma() }),
            },
            Mechanism::Laplace(l) => DpEvent::Laplace { scale: l.scale() },
            Mechanism::RandomizedResponse(_) | Mechanism::DiscreteLaplace(_) => DpEvent::from(*m),
            Mechanism::SubsampledLaplace(s) => DpEvent::from(Mechanism::SubsampledLaplace(*s)),
            Mechanism::DiscreteGaussian(_) => DpEvent::from(*m),
            Mechanism::GaussianMixture(_) => DpEvent::from(*m),
            Mechanism::TruncatedPoisson(_) => DpEvent::from(*m),
        }
    }

    #[test]
    fn mechanism_events_flatten_back_to_the_same_parts() {
        // The Fourier part hands the composition to the contour accountant through these events.
        let mut c = Composition::default();
        let events = [
            DpEvent::Gaussian { sigma: 1.5 },
            DpEvent::Laplace { scale: 2.0 },
            DpEvent::PoissonSampled {
                sampling_rate: 0.01,
                event: Box::new(DpEvent::Gaussian { sigma: 0.8 }),
            },
        ];
        for (i, e) in events.iter().enumerate() {
            c.add_event(e, i as u64 + 1, "test").expect("test setup");
        }
        let mut d = Composition::default();
        for (m, n) in &c.parts {
            d.add_event(&mechanism_event(m), *n, "test")
                .expect("test setup");
        }
        assert_eq!(c.parts, d.parts);
    }
}
