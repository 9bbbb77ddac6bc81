//! The approximate Edgeworth accountant (EA paper; what EW-Tune used at order 1).

use super::invert::{epsilon_for_delta, Pick};
use super::saddlepoint::{BracketParts, FourierPart, SaddlePointAccountant, SaddlePointParams};
use super::{Bracket, Guarantee, OrderingAccountant, OrderingAnswer, Query, Report};
use crate::cumulants::Cumulants;
use crate::edgeworth::{
    delta_estimate, delta_estimate_signed, series_pair, Series, MAX_EDGEWORTH_ORDER,
};
use crate::error::{Error, Result};
use crate::event::Composition;
use crate::mechanism::{Adjacency, Direction};
use crate::precision::{Interval, Precision};
use rug::Float;

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
    /// Also compute the certified Derumigny–Girard–Guyonvarch bracket (docs/math.md §5.4, "The δ
    /// bracket"), intersected with the DGG band of the exponentially tilted sum (§5.5):
    /// cumulants from the certified quadrature at `precision` (128 bits when `None`), the
    /// order-1 series whatever `order` is.
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
/// side, ε̃(δ) by a bracketed root on the monotone envelope (docs/math.md §4).
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
    brackets: Vec<SideBounds>,
    /// The order-1 series of the exponentially tilted sum with its DGG error (the saddle-point
    /// accountant's Kolmogorov-distance part, docs/math.md §5.5), intersected with `brackets`.
    tilted: Option<SaddlePointAccountant>,
    /// Notes for parts whose estimate cumulants fell back to the f64 quadrature.
    fallbacks: Vec<String>,
}

/// The certified ingredients of one ordering's δ bracket: the order-1 series of each side and
/// the DGG sup-errors Δ_P, Δ_Q of their CDFs.
#[derive(Debug, Clone)]
pub struct SideBounds {
    /// The ordering.
    pub direction: Direction,
    /// Order-1 series, P side.
    pub p: Series,
    /// Order-1 series, Q side.
    pub q: Series,
    /// Upper bound on sup_x |P(S ≤ x) − F̃_P(x)| (P side), incl. the f64 margin.
    pub delta_p: f64,
    /// Same for the Q side.
    pub delta_q: f64,
}

/// Absolute margin added to each Δ for evaluating the order-1 series in f64 from the f64
/// midpoints of certified cumulants (their enclosures are ~1e−60 wide; the f64 survival
/// function is accurate to ~1e−15 absolute).
pub const BRACKET_F64_MARGIN: f64 = 1e-12;

/// DGG Δ for one side of one ordering, from per-part certified cumulants.
///
/// Per summand: μ2 = κ2, μ3 = κ3, μ4 = κ4 + 3κ2², E|X|³ the smaller of the certified
/// absolute moment ([`crate::cgf::certified_abs_central`], docs/math.md §15.4, where
/// available) and [`crate::cgf::abs_third_bound`] (Cauchy–Schwarz √(μ2μ4) or the one-sided
/// support bound μ3 + 2(m − inf L)μ2); E|X| the smaller of the certified one and σ. Then,
/// with N = Σn_i and V = Σn_iμ2: K4 = N·Σn_iμ4/V², K3 = √N·Σn_iρ_i/V^{3/2}, |λ3| =
/// √N·|Σn_iμ3|/V^{3/2}, K̃3 = K3 + E|X|/σ (one part, iid) or K3 + √N·Σn_i·E|X_i|·μ2_i/V^{3/2}.
/// Per-part input of [`dgg_delta`]: one mechanism's certified moments on one side.
struct SidePart {
    /// Certified cumulants κ1..κ6 of the side.
    cumulants: Vec<Interval>,
    /// Number of compositions of the mechanism.
    count: u64,
    /// Certified support bounds of the side's loss (`None`: unbounded).
    support: (Option<f64>, Option<f64>),
    /// Certified E|X| and E|X|³ of the centred loss, where computed.
    abs: Option<crate::cgf::AbsCentralMoments>,
}

fn dgg_delta(parts: &[SidePart], precision: Precision) -> Result<f64> {
    use crate::bounds::{dgg_bound_optimized, DggInputs, DggSetup};
    let wp = Precision(precision.0 + 16);
    let mut v = Interval::zero(wp);
    let mut m3 = Interval::zero(wp);
    let mut m4 = Interval::zero(wp);
    let mut rho = Interval::zero(wp);
    let mut s3 = Interval::zero(wp);
    let mut count = 0f64;
    let three = Float::with_val(64, 3);
    for part in parts {
        let k = &part.cumulants;
        let nf = Float::with_val(64, part.count);
        let mu2 = k[1].clone();
        let mu4 = k[3].add(&mu2.mul(&mu2).scale_nonneg(&three));
        let mut r = crate::cgf::abs_third_bound(&k[0], &mu2, &k[2], &mu4, part.support);
        let sd = mu2.monotone(|x, rr| x.sqrt_round(rr));
        let mut abs1 = sd.clone();
        if let Some(a) = &part.abs {
            if a.abs3.hi < r.hi {
                r = a.abs3.clone();
            }
            if a.abs1.hi < abs1.hi {
                abs1 = a.abs1.clone();
            }
        }
        v.add_assign(&mu2.scale_nonneg(&nf));
        m3.add_assign(&k[2].scale_nonneg(&nf));
        m4.add_assign(&mu4.scale_nonneg(&nf));
        rho.add_assign(&r.scale_nonneg(&nf));
        s3.add_assign(&abs1.mul(&mu2).scale_nonneg(&nf));
        count += part.count as f64;
    }
    let iid = parts.len() == 1;
    let nn = Interval::from_f64(wp, count);
    let sqrt_n = nn.monotone(|x, r| x.sqrt_round(r));
    let v_lo = Interval::point(v.lo.clone());
    let v15 = v_lo.mul(&v_lo.monotone(|x, r| x.sqrt_round(r)));
    let k4 = nn.mul(&m4).div(&v_lo.mul(&v_lo))?.hi_f64().max(1.0);
    let k3 = sqrt_n.mul(&rho).div(&v15)?.hi_f64();
    let l3 = sqrt_n.mul(&m3).div(&v15)?;
    let l3 = l3.lo_f64().abs().max(l3.hi_f64().abs());
    let kt = if iid {
        // E|X|·E X²/σ³ = E|X|/σ ≤ 1.
        let ratio = s3.div(&v_lo.mul(&v_lo.monotone(|x, r| x.sqrt_round(r))))?;
        let ratio = if ratio.hi_f64() < 1.0 {
            ratio
        } else {
            Interval::from_f64(wp, 1.0)
        };
        Interval::from_f64(wp, k3).add(&ratio).hi_f64()
    } else {
        Interval::from_f64(wp, k3)
            .add(&sqrt_n.mul(&s3).div(&v15)?)
            .hi_f64()
    };
    // Any η ∈ (0, 1/3) gives a valid bound; the one returned is certified at the η found.
    let b = dgg_bound_optimized(
        DggSetup {
            iid,
            unskewed: false,
        },
        &DggInputs {
            n: count,
            k4,
            k3,
            lambda3: l3,
            k3_tilde: kt,
        },
    )?;
    Ok(b.edgeworth + BRACKET_F64_MARGIN)
}

impl SideBounds {
    /// Certified upper bound δ_up(ε) = SF̃_Q + Δ_Q − e^ε·max(0, SF̃_P − Δ_P), clipped to [0, 1].
    pub fn delta_upper(&self, epsilon: f64) -> f64 {
        let sq = self.q.sf(epsilon) + self.delta_q;
        let sp = (self.p.sf(epsilon) - self.delta_p).max(0.0);
        (sq - crate::edgeworth::exp_eps_times(epsilon, sp)).clamp(0.0, 1.0) * (1.0 + 1e-12)
    }

    /// Certified lower bound δ_low(ε) = SF̃_Q − Δ_Q − e^ε(SF̃_P + Δ_P), clipped to [0, 1].
    pub fn delta_lower(&self, epsilon: f64) -> f64 {
        let sq = self.q.sf(epsilon) - self.delta_q;
        let sp = (self.p.sf(epsilon) + self.delta_p).min(1.0);
        ((sq - crate::edgeworth::exp_eps_times(epsilon, sp)) * (1.0 - 1e-12)).clamp(0.0, 1.0)
    }
}

impl EdgeworthAccountant {
    /// A new accountant.
    ///
    /// # Examples
    /// ```
    /// use ewtune::accountant::{Accountant, EdgeworthAccountant, EdgeworthParams};
    /// use ewtune::event::DpEvent;
    ///
    /// // 4 Gaussian mechanisms with σ = 2 compose to μ = 1 GDP, where the series is exact:
    /// // δ(1) = Φ(−1/2) − e·Φ(−3/2) (docs/math.md §2).
    /// let mut acc = EdgeworthAccountant::new(EdgeworthParams::default())?;
    /// acc.compose(&DpEvent::Gaussian { sigma: 2.0 }, 4)?;
    /// let r = acc.delta(1.0)?;
    /// assert!((r.delta / 0.12693673751 - 1.0).abs() < 1e-9);
    /// # Ok::<(), ewtune::Error>(())
    /// ```
    ///
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
            brackets: Vec::new(),
            tilted: None,
            fallbacks: Vec::new(),
        })
    }

    /// Summed cumulants of each covered ordering.
    pub fn summed_cumulants(&self) -> &[(Direction, Cumulants)] {
        &self.summed
    }

    /// The cumulants of `m` for the estimate: certified midpoints at `precision`, or the f64
    /// quadrature when the certified one refuses, e.g. over its work limit (recorded in
    /// `fallbacks`).
    fn estimate_cumulants(
        &mut self,
        m: &crate::mechanism::Mechanism,
        dir: Direction,
    ) -> Result<Cumulants> {
        m.check_f64_work()?;
        let Some(p) = self.params.precision else {
            return Ok(m.cumulants(dir));
        };
        match m.certified_cumulants(dir, p) {
            Ok(c) => Ok(c.mid()),
            Err(e @ Error::NotCertified(_)) if !self.params.bracket => {
                let note = format!("cumulants of {} from the f64 quadrature: {e}", m.describe());
                if !self.fallbacks.contains(&note) {
                    self.fallbacks.push(note);
                }
                Ok(m.cumulants(dir))
            }
            Err(e) => Err(e),
        }
    }

    fn resum(&mut self) -> Result<()> {
        self.summed.clear();
        self.fallbacks.clear();
        let parts = self.composition.parts.clone();
        for &dir in self.params.adjacency.directions() {
            let mut k = Cumulants::ZERO;
            for (m, n) in &parts {
                k += self.estimate_cumulants(m, dir)?.times(*n);
            }
            self.summed.push((dir, k));
        }
        self.brackets.clear();
        self.tilted = None;
        if self.params.bracket && !parts.is_empty() {
            let prec = self.params.precision.unwrap_or(Precision(128));
            for &dir in self.params.adjacency.directions() {
                self.brackets.push(side_bounds(&parts, dir, prec)?);
            }
            let mut tilted = SaddlePointAccountant::new(SaddlePointParams {
                order: 1,
                adjacency: self.params.adjacency,
                precision: prec,
                bracket: true,
                fourier: FourierPart::Off,
            })?;
            tilted.absorb(self.composition.clone())?;
            self.tilted = Some(tilted);
        }
        Ok(())
    }

    /// The certified bracket ingredients per ordering (empty unless `bracket`).
    pub fn side_bounds(&self) -> &[SideBounds] {
        &self.brackets
    }

    /// The order-`order` series pair of one ordering.
    fn series(&self, dir: Direction) -> Result<(&Cumulants, Series, Series)> {
        let k = self
            .summed
            .iter()
            .find(|(d, _)| *d == dir)
            .map(|(_, k)| k)
            .ok_or_else(|| {
                Error::Internal(format!("no cumulants for the {} ordering", dir.name()))
            })?;
        let (p, q) = series_pair(k, self.params.order).map_err(|e| undefined_series(dir, k, e))?;
        Ok((k, p, q))
    }

    fn bracket_of(&self, dir: Direction) -> Option<&SideBounds> {
        self.brackets.iter().find(|b| b.direction == dir)
    }

    /// The certified bracket of one ordering: the DGG band of the order-1 series of the sum,
    /// `dgg` = (lower, upper), intersected with the DGG band of the order-1 series of the
    /// exponentially tilted sum (`tilted_part` runs the saddle-point accountant's
    /// Kolmogorov-distance part; docs/math.md §5.5). Both are certified, so their intersection
    /// is. Where the tilted part fails, the DGG band stands alone and a note says why. The
    /// estimate `value` is moved into the bracket (with a note) when it falls outside: the truth
    /// cannot lie there.
    fn intersect_tilted(
        &self,
        dir: Direction,
        value: f64,
        dgg: (f64, f64),
        tilted_part: impl FnOnce(&SaddlePointAccountant) -> Result<BracketParts>,
        notes: &mut Vec<String>,
    ) -> Bracket {
        let (mut lower, mut upper) = dgg;
        if let Some(t) = &self.tilted {
            match tilted_part(t) {
                Ok(BracketParts {
                    kolmogorov:
                        Bracket {
                            lower: Some(t_lo),
                            upper: Some(t_hi),
                            ..
                        },
                    ..
                }) => {
                    let from = |v: f64, d: f64| if v == d { "untilted" } else { "tilted" };
                    let (lo, hi) = (lower.max(t_lo), upper.min(t_hi));
                    if lo > hi {
                        // Two certified bands cannot be disjoint; if they are, one of them is
                        // wrong, and only their union is sure to hold the truth.
                        notes.push(format!(
                            "{} ordering: the DGG bands of the untilted order-1 series [{lower:e}, {upper:e}] and of the exponentially tilted one [{t_lo:e}, {t_hi:e}] are disjoint (an internal inconsistency); the bracket is their union",
                            dir.name()
                        ));
                        (lower, upper) = (lower.min(t_lo), upper.max(t_hi));
                        return self.moved_into(dir, value, lower, upper, notes);
                    }
                    notes.push(format!(
                        "{} ordering: the certified bracket is the intersection of the DGG band of the untilted order-1 series [{lower:e}, {upper:e}] and of the exponentially tilted one [{t_lo:e}, {t_hi:e}] (docs/math.md section 5.5); lower end from the {} band, upper end from the {} band",
                        dir.name(),
                        from(lo, lower),
                        from(hi, upper)
                    ));
                    (lower, upper) = (lo, hi);
                }
                Ok(_) => notes.push(format!(
                    "{} ordering: the tilted band gave no certified ends; the untilted DGG band stands alone",
                    dir.name()
                )),
                Err(e) => notes.push(format!(
                    "{} ordering: the tilted band could not be computed ({e}); the untilted DGG band stands alone",
                    dir.name()
                )),
            }
        }
        self.moved_into(dir, value, lower, upper, notes)
    }

    /// The bracket [lower, upper] with the estimate `value` moved into it (with a note) when it
    /// falls outside: the truth cannot lie there.
    fn moved_into(
        &self,
        dir: Direction,
        value: f64,
        lower: f64,
        upper: f64,
        notes: &mut Vec<String>,
    ) -> Bracket {
        let mut moved = value;
        if lower <= upper && !(lower..=upper).contains(&value) {
            moved = value.clamp(lower, upper);
            notes.push(format!(
                "{} ordering: the order-{} estimate {value:e} fell outside the certified bracket and was moved to {moved:e}",
                dir.name(),
                self.params.order
            ));
        }
        Bracket {
            value: moved,
            lower: Some(lower),
            upper: Some(upper),
        }
    }
}

/// The computed cumulants do not define a series (K2 ≤ 0 or a non-finite cumulant): a
/// computation refusal naming the ordering, never a bad-input error.
fn undefined_series(dir: Direction, k: &Cumulants, e: Error) -> Error {
    match e {
        Error::InvalidParameter { .. } => Error::NotCertified(format!(
            "the Edgeworth series of the {} ordering is undefined: summed cumulants P side {:?}, Q side {:?} need K2 > 0 and finite values (a K2 of 0 or below means the privacy loss is, to working precision, constant on that side, as for sigma << 1)",
            dir.name(),
            k.p,
            k.q
        )),
        e => e,
    }
}

/// The certified absolute moments of one side, or `None` where they are not available (the
/// Laplace mechanism, or over the quadrature's budget: [`dgg_delta`] then keeps the moment
/// bounds, which are valid, only wider).
fn certified_abs_or_none(
    m: &crate::mechanism::Mechanism,
    dir: Direction,
    side: crate::cgf::Side,
    k: &[Interval],
    prec: Precision,
) -> Result<Option<crate::cgf::AbsCentralMoments>> {
    match crate::cgf::certified_abs_central(m, dir, side, &k[0], &k[1], prec) {
        Ok(a) => Ok(a),
        Err(Error::NotCertified(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The certified ingredients of one ordering's δ bracket.
fn side_bounds(
    parts: &[(crate::mechanism::Mechanism, u64)],
    dir: Direction,
    prec: Precision,
) -> Result<SideBounds> {
    let mut ps = Vec::new();
    let mut qs = Vec::new();
    let mut mid = Cumulants::ZERO;
    for (m, n) in parts {
        let c = m.certified_cumulants(dir, prec)?;
        let support = crate::cgf::loss_support(m, dir);
        for (side, k, out) in [
            (crate::cgf::Side::P, &c.p, &mut ps),
            (crate::cgf::Side::Q, &c.q, &mut qs),
        ] {
            out.push(SidePart {
                cumulants: k.clone(),
                count: *n,
                support,
                abs: certified_abs_or_none(m, dir, side, k, prec)?,
            });
        }
        mid += c.mid().times(*n);
    }
    let (p, q) = series_pair(&mid, 1).map_err(|e| undefined_series(dir, &mid, e))?;
    Ok(SideBounds {
        direction: dir,
        p,
        q,
        delta_p: dgg_delta(&ps, prec)?,
        delta_q: dgg_delta(&qs, prec)?,
    })
}

impl SideBounds {
    /// The certified ε bracket (lower, upper) at δ for this ordering: ε_up is the first
    /// crossing of δ_up (`Pick::Upper`), ε_low that of δ_low (`Pick::Lower`); when δ_up never
    /// falls to δ the upper end is +∞ (vacuous).
    fn epsilon_bracket(&self, delta: f64, estimate: f64) -> Result<(f64, f64)> {
        let guess = estimate.max(1e-3);
        let tol = 1e-9 * guess.max(1.0);
        // With Δ_Q ≥ δ, δ_up can only fall below δ where the truncated series turns
        // negative: still a valid bound but meaningless, so it is reported as vacuous.
        let up = if self.delta_q >= delta {
            f64::INFINITY
        } else {
            match epsilon_for_delta(|e| Ok(self.delta_upper(e)), delta, guess, tol, Pick::Upper) {
                Ok(inv) => inv.epsilon,
                Err(Error::NoSolution(_)) => f64::INFINITY,
                Err(e) => return Err(e),
            }
        };
        let low =
            match epsilon_for_delta(|e| Ok(self.delta_lower(e)), delta, guess, tol, Pick::Lower) {
                Ok(inv) => inv.epsilon,
                Err(Error::NoSolution(_)) => 0.0,
                Err(e) => return Err(e),
            };
        Ok((low, up))
    }
}

impl OrderingAccountant for EdgeworthAccountant {
    ordering_accessors!("edgeworth");

    /// A discrete Gaussian beyond its atom cap is refused (`NotCertified`): this accountant
    /// needs its atoms (docs/math.md §16.9).
    fn check(&self, added: &Composition) -> Result<()> {
        crate::mechanism::lattice::refuse_large_in(self.name(), added)
    }

    fn absorb(&mut self, added: Composition) -> Result<()> {
        let before = self.composition.clone();
        self.composition.merge(added)?;
        if let Err(e) = self.resum() {
            self.composition = before;
            self.resum()?;
            return Err(e);
        }
        Ok(())
    }

    fn guarantee(&self, _query: Query) -> Guarantee {
        if !self.brackets.is_empty() {
            Guarantee::Bracket
        } else if self.composition.all_gaussian() {
            Guarantee::Exact
        } else {
            Guarantee::Estimate
        }
    }

    fn order(&self) -> Option<u8> {
        Some(self.params.order)
    }

    fn delta_for(&self, dir: Direction, epsilon: f64) -> Result<OrderingAnswer> {
        let (_, p, q) = self.series(dir)?;
        let mut notes = Vec::new();
        let mut valid = true;
        let d = match delta_estimate(&p, &q, epsilon) {
            Ok(d) => d,
            Err(e) => {
                valid = false;
                notes.push(format!("{} ordering: {e}", dir.name()));
                delta_estimate_signed(&p, &q, epsilon).0
            }
        };
        let bracket = match self.bracket_of(dir) {
            Some(b) => self.intersect_tilted(
                dir,
                d,
                (b.delta_lower(epsilon), b.delta_upper(epsilon)),
                |t| t.delta_bracket(dir, epsilon),
                &mut notes,
            ),
            None => Bracket::estimate(d),
        };
        Ok(OrderingAnswer {
            bracket,
            notes,
            valid,
        })
    }

    fn epsilon_for(&self, dir: Direction, delta: f64) -> Result<OrderingAnswer> {
        let (k, p, q) = self.series(dir)?;
        // Start from the order-0 (Gaussian) scale: ε ≈ K1_Q + √K2·z_δ.
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
        let mut notes = Vec::new();
        let mut valid = true;
        let order = self.params.order;
        if let Err(e) = delta_estimate(&p, &q, inv.epsilon) {
            valid = false;
            notes.push(format!("{} ordering, at the answer: {e}", dir.name()));
        } else if let Some(e) = invalid_at {
            notes.push(format!(
                "{} ordering: the order-{order} series has a non-positive survival function at epsilon = {e:.6} (seen while bracketing; valid at the answer)",
                dir.name()
            ));
        }
        if !inv.monotone {
            let first = inv
                .first_crossing
                .map(|f| format!(" (it first falls to delta at epsilon = {f:.12})"))
                .unwrap_or_default();
            notes.push(format!(
                "{} ordering: the order-{order} delta curve is not monotone (it rises above delta after falling below); epsilon is the last crossing, on the monotone envelope{first}",
                dir.name()
            ));
        }
        let bracket = match self.bracket_of(dir) {
            Some(b) => {
                let ends = b.epsilon_bracket(delta, inv.epsilon)?;
                self.intersect_tilted(
                    dir,
                    inv.epsilon,
                    ends,
                    |t| t.epsilon_bracket(dir, delta),
                    &mut notes,
                )
            }
            None => Bracket::estimate(inv.epsilon),
        };
        Ok(OrderingAnswer {
            bracket,
            notes,
            valid,
        })
    }

    /// δ: upper end ≥ 1, or a lower end of 0 with an upper end ≥ 1/2; ε: infinite upper end.
    fn vacuous(&self, query: Query, bracket: &Bracket) -> bool {
        match (query, bracket.upper) {
            (Query::Delta, Some(u)) => u >= 1.0 || (bracket.lower == Some(0.0) && u >= 0.5),
            (Query::Epsilon, Some(u)) => !u.is_finite(),
            _ => false,
        }
    }

    fn finish(&self, r: &mut Report) -> Result<()> {
        let mut head = Vec::new();
        if let Some(p) = self.params.precision {
            head.push(format!(
                "cumulants from the certified quadrature at {} bits",
                p.bits()
            ));
        }
        head.extend(self.fallbacks.iter().cloned());
        r.notes.splice(0..0, head);
        match r.query {
            Query::Delta => {
                if r.delta < 0.0 {
                    r.notes
                        .push("the estimate is negative (the true delta is >= 0)".into());
                }
                if !self.brackets.is_empty() {
                    r.notes.push(format!(
                        "bracket: order-1 series with Derumigny-Girard-Guyonvarch errors (Delta_P, Delta_Q) = {}",
                        self.brackets
                            .iter()
                            .map(|b| format!("{}: ({:.3e}, {:.3e})", b.direction.name(), b.delta_p, b.delta_q))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ));
                }
            }
            Query::Epsilon => {
                if r.vacuous && !self.brackets.is_empty() {
                    r.notes.push(format!(
                        "the certified Edgeworth bracket is vacuous at delta = {:e}: the DGG error of the Q side ({}) is not below delta",
                        r.delta,
                        self.brackets
                            .iter()
                            .map(|b| format!("{:.3e}", b.delta_q))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
        Ok(())
    }
}
