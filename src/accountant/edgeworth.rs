//! The approximate Edgeworth accountant (EA paper; what EW-Tune used at order 1).

use super::invert::{epsilon_for_delta, Pick};
use super::{check_delta, check_epsilon, Accountant, Guarantee, OrderingValue, Query, Report};
use crate::cumulants::Cumulants;
use crate::edgeworth::{
    delta_estimate, delta_estimate_signed, series_pair, Series, MAX_EDGEWORTH_ORDER,
};
use crate::error::{Error, Result};
use crate::event::{Composition, DpEvent};
use crate::mechanism::{Adjacency, Direction};
use crate::precision::Precision;

/// Parameters of [`EdgeworthAccountant`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdgeworthParams {
    /// Series order 0–3 (0 = CLT/GDP-like, 1 = EW-Tune's choice).
    pub order: u8,
    /// Ordering(s) to cover.
    pub adjacency: Adjacency,
    /// `Some(p)`: cumulants from the certified MPFR quadrature at p bits (midpoints);
    /// `None`: the fast f64 path.
    pub precision: Option<Precision>,
    /// Also compute the certified Derumigny–Girard–Guyonvarch bracket (when available).
    pub bracket: bool,
}

impl Default for EdgeworthParams {
    fn default() -> Self {
        EdgeworthParams {
            order: 1,
            adjacency: Adjacency::AddRemove,
            precision: None,
            bracket: false,
        }
    }
}

/// The Edgeworth accountant: δ̃(ε) = SF̃_Q(ε) − e^ε SF̃_P(ε) from the summed cumulants of each
/// side, ε̃(δ) by a bracketed root on the monotone envelope (MATH.md §4).
///
/// # Guarantee
/// An **estimate**, not a bound (at the EW-Tune SST-2 point order 1 gives ε̃ = 7.99 against a
/// true 8.29). Reported as `exact` when the composition is purely Gaussian (the series is then
/// the Dong–Roth–Su formula). Cost is independent of the number of steps.
///
/// # References
/// Wang et al., *Edgeworth Accountant*, arXiv 2206.04236, Alg. 1.
#[derive(Debug, Clone)]
pub struct EdgeworthAccountant {
    params: EdgeworthParams,
    composition: Composition,
    summed: Vec<(Direction, Cumulants)>,
}

impl EdgeworthAccountant {
    /// # Errors
    /// `order` must be ≤ 3.
    pub fn new(params: EdgeworthParams) -> Result<Self> {
        if params.order > MAX_EDGEWORTH_ORDER {
            return Err(Error::invalid(
                "order",
                params.order,
                "must be 0, 1, 2 or 3",
            ));
        }
        Ok(EdgeworthAccountant {
            params,
            composition: Composition::default(),
            summed: Vec::new(),
        })
    }

    /// The composition so far.
    pub fn composition(&self) -> &Composition {
        &self.composition
    }

    /// Summed cumulants of each covered ordering.
    pub fn summed_cumulants(&self) -> &[(Direction, Cumulants)] {
        &self.summed
    }

    fn resum(&mut self) -> Result<()> {
        self.summed.clear();
        for &dir in self.params.adjacency.directions() {
            let mut k = Cumulants::ZERO;
            for (m, n) in &self.composition.parts {
                let c = match self.params.precision {
                    None => m.cumulants(dir),
                    Some(p) => m.certified_cumulants(dir, p)?.mid(),
                };
                k += c.times(*n);
            }
            self.summed.push((dir, k));
        }
        Ok(())
    }

    fn series(&self) -> Result<Vec<(Direction, Series, Series)>> {
        self.summed
            .iter()
            .map(|(d, k)| {
                let (p, q) = series_pair(k, self.params.order)?;
                Ok((*d, p, q))
            })
            .collect()
    }

    fn base_report(&self, query: Query, epsilon: f64, delta: f64) -> Report {
        let mut r = Report::new(self.name(), query, epsilon, delta, self.params.adjacency);
        r.order = Some(self.params.order);
        r.guarantee = if self.composition.all_gaussian() {
            Guarantee::Exact
        } else {
            Guarantee::Estimate
        };
        if let Some(p) = self.params.precision {
            r.notes.push(format!(
                "cumulants from the certified quadrature at {} bits",
                p.bits()
            ));
        }
        r
    }

    fn trivial(&self, query: Query, epsilon: f64, delta: f64) -> Option<Report> {
        if self.composition.non_private {
            let mut r = self.base_report(query, epsilon, delta);
            r.guarantee = Guarantee::Exact;
            r.set_value(if query == Query::Epsilon {
                f64::INFINITY
            } else {
                1.0
            });
            r.notes.push("a non-private event was composed".into());
            return Some(r);
        }
        if self.composition.parts.is_empty() {
            let mut r = self.base_report(query, epsilon, delta);
            r.guarantee = Guarantee::Exact;
            r.set_value(0.0);
            r.notes.push("nothing composed".into());
            return Some(r);
        }
        None
    }
}

impl Accountant for EdgeworthAccountant {
    fn name(&self) -> &'static str {
        "edgeworth"
    }

    fn supports(&self, event: &DpEvent) -> Result<()> {
        Composition::from_event(event, 1, self.name()).map(|_| ())
    }

    fn compose(&mut self, event: &DpEvent, count: u64) -> Result<()> {
        self.composition.add_event(event, count, "edgeworth")?;
        self.resum()
    }

    fn delta(&self, epsilon: f64) -> Result<Report> {
        check_epsilon(epsilon)?;
        if let Some(r) = self.trivial(Query::Delta, epsilon, 0.0) {
            return Ok(r);
        }
        let mut r = self.base_report(Query::Delta, epsilon, 0.0);
        let mut best = f64::NEG_INFINITY;
        for (dir, p, q) in self.series()? {
            let d = match delta_estimate(&p, &q, epsilon) {
                Ok(d) => d,
                Err(e) => {
                    r.valid = false;
                    r.notes.push(format!("{} ordering: {e}", dir.name()));
                    delta_estimate_signed(&p, &q, epsilon).0
                }
            };
            r.orderings.push(OrderingValue {
                direction: dir,
                value: d,
                lower: None,
                upper: None,
            });
            best = best.max(d);
        }
        if best < 0.0 {
            r.notes
                .push("the estimate is negative (the true delta is >= 0)".into());
        }
        r.set_value(best);
        Ok(r)
    }

    fn epsilon(&self, delta: f64) -> Result<Report> {
        check_delta(delta)?;
        if let Some(r) = self.trivial(Query::Epsilon, 0.0, delta) {
            return Ok(r);
        }
        let mut r = self.base_report(Query::Epsilon, 0.0, delta);
        let mut best = 0f64;
        for (dir, p, q) in self.series()? {
            // Start from the order-0 (Gaussian) scale: ε ≈ K1_Q + √K2·z_δ.
            let k = &self
                .summed
                .iter()
                .find(|(d, _)| *d == dir)
                .expect("invariant: series built from summed")
                .1;
            let guess = (k.q[0] + k.q[1].sqrt() * (-2.0 * delta.ln()).sqrt()).max(1e-3);
            let mut invalid_at: Option<f64> = None;
            let inv = epsilon_for_delta(
                |e| {
                    let (v, ok) = delta_estimate_signed(&p, &q, e);
                    if !ok && invalid_at.is_none() {
                        invalid_at = Some(e);
                    }
                    Ok(v)
                },
                delta,
                guess,
                1e-12 * guess.max(1.0),
                Pick::Root,
            )?;
            if let Err(e) = delta_estimate(&p, &q, inv.epsilon) {
                r.valid = false;
                r.notes
                    .push(format!("{} ordering, at the answer: {e}", dir.name()));
            } else if let Some(e) = invalid_at {
                r.notes.push(format!(
                    "{} ordering: the order-{} series has a non-positive survival function at epsilon = {e:.6} (seen while bracketing; valid at the answer)",
                    dir.name(),
                    self.params.order
                ));
            }
            if !inv.monotone {
                r.notes.push(format!(
                    "{} ordering: the order-{} delta curve is not monotone (it rises again after falling); epsilon is its first crossing of delta",
                    dir.name(),
                    self.params.order
                ));
            }
            r.orderings.push(OrderingValue {
                direction: dir,
                value: inv.epsilon,
                lower: None,
                upper: None,
            });
            best = best.max(inv.epsilon);
        }
        r.set_value(best);
        Ok(r)
    }
}
