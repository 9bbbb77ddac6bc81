//! Mechanisms whose privacy loss takes finitely many values on a lattice (docs/math.md §16):
//! randomized response over k buckets (replace-one) and the discrete Laplace mechanism with an
//! integer sensitivity (add/remove).
//!
//! Both pairs are symmetric: the loss takes the values ℓ_j = h·(j − J/2), j = 0..=J, with
//! P-probabilities p_j, and its Q-law is the P-law of −L (q_j = p_{J−j} = p_j e^{ℓ_j}); the
//! swapped ordering has the same laws. [`CertifiedLattice`] holds h and the p_j as MPFR
//! intervals, [`Lattice`] their f64 midpoints; every accountant works from these.

use super::check_count;
use crate::cumulants::{cumulants_from_moments, CertifiedCumulants, Cumulants, MAX_ORDER};
use crate::error::{Error, Result};
use crate::precision::{Interval, Precision};
use rug::Float;

/// Largest integer sensitivity of the discrete Laplace mechanism (its loss has Δ + 1 atoms).
pub const MAX_SENSITIVITY: u64 = 1_000_000;

/// Largest number of buckets of randomized response (any k ≥ 2 gives three atoms; the cap only
/// keeps k exact in f64).
pub const MAX_BUCKETS: u64 = 1 << 52;

/// Randomized response over k buckets with noise parameter p: with probability 1 − p the true
/// bucket, else a uniformly random one (dp_accounting's `from_randomized_response`). Defined
/// under replace-one adjacency only.
///
/// Replace-one loss (docs/math.md §16.1): with α = 1 − p + p/k and β = p/k, L = −h with
/// P-probability α, +h with β and 0 with (k − 2)β, h = ln(α/β). p = 0 (k ≥ 2) is non-private;
/// k = 1 or p = 1 is a no-op.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RandomizedResponse {
    noise_parameter: f64,
    buckets: u64,
}

impl RandomizedResponse {
    /// # Errors
    /// `noise_parameter` must lie in [0, 1]; `buckets` in [1, 2^52].
    pub fn new(noise_parameter: f64, buckets: u64) -> Result<Self> {
        crate::error::Range::closed(0.0, 1.0).check("noise_parameter", noise_parameter)?;
        check_count("buckets", buckets, MAX_BUCKETS, MAX_BUCKETS)?;
        Ok(RandomizedResponse {
            noise_parameter,
            buckets,
        })
    }

    /// p.
    pub fn noise_parameter(&self) -> f64 {
        self.noise_parameter
    }

    /// k.
    pub fn buckets(&self) -> u64 {
        self.buckets
    }

    /// Whether the output does not depend on the input (k = 1 or p = 1).
    pub fn is_no_op(&self) -> bool {
        self.buckets == 1 || self.noise_parameter == 1.0
    }

    /// Whether the output reveals the input (p = 0 with k ≥ 2).
    pub fn is_non_private(&self) -> bool {
        self.buckets >= 2 && self.noise_parameter == 0.0
    }

    /// The certified loss law (p ∈ (0, 1), k ≥ 2; see the type docs).
    pub fn certified(&self, precision: Precision) -> CertifiedLattice {
        let wp = precision.0 + 64;
        let p = Interval::from_f64(Precision(wp), self.noise_parameter);
        let k = Interval::point(Float::with_val(wp, self.buckets));
        let one = Interval::from_f64(Precision(wp), 1.0);
        let beta = p
            .div(&k)
            .expect("invariant: k >= 1 is a positive exact interval");
        let alpha = one.sub(&p).add(&beta);
        let gamma = beta.mul(&Interval::point(Float::with_val(
            wp,
            self.buckets.saturating_sub(2),
        )));
        let h = alpha.ln().sub(&beta.ln());
        CertifiedLattice {
            h,
            p: vec![alpha, gamma, beta],
            tail: 0.0,
        }
    }
}

/// The discrete Laplace mechanism: P(x) ∝ e^{−a|x|} on the integers, integer sensitivity Δ
/// (add/remove; both orderings have the same loss laws).
///
/// Loss (docs/math.md §16.2): with r = e^{−a}, L = a(2j − Δ) for j = 0..=Δ with P-probabilities
/// 1/(1 + r) (j = 0), (1 − r)/(1 + r)·r^j (0 < j < Δ) and r^Δ/(1 + r) (j = Δ).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DiscreteLaplace {
    parameter: f64,
    sensitivity: u64,
}

impl DiscreteLaplace {
    /// # Errors
    /// `parameter` must be finite and > 0; `sensitivity` an integer in [1, 10⁶].
    pub fn new(parameter: f64, sensitivity: u64) -> Result<Self> {
        crate::error::Range::above(0.0).check("parameter", parameter)?;
        check_count("sensitivity", sensitivity, MAX_SENSITIVITY, MAX_SENSITIVITY)?;
        Ok(DiscreteLaplace {
            parameter,
            sensitivity,
        })
    }

    /// a.
    pub fn parameter(&self) -> f64 {
        self.parameter
    }

    /// Δ.
    pub fn sensitivity(&self) -> u64 {
        self.sensitivity
    }

    /// The certified loss law (see the type docs).
    pub fn certified(&self, precision: Precision) -> CertifiedLattice {
        let wp = precision.0 + 64;
        let a = Interval::from_f64(Precision(wp), self.parameter);
        let r = a.neg().exp();
        let one = Interval::from_f64(Precision(wp), 1.0);
        let onepr = one.add(&r);
        let d = self.sensitivity;
        let first = one
            .div(&onepr)
            .expect("invariant: 1 + e^{-a} > 0 is a positive interval");
        let c = one.sub(&r).mul(&first);
        let mut p = Vec::with_capacity(d as usize + 1);
        p.push(first.clone());
        let mut rj = one.clone();
        for _ in 1..d {
            rj = rj.mul(&r);
            p.push(c.mul(&rj));
        }
        p.push(rj.mul(&r).mul(&first));
        CertifiedLattice {
            h: a.scale_nonneg(&Float::with_val(wp, 2)),
            p,
            tail: 0.0,
        }
    }
}

/// Half-width factor of the discrete Gaussian's kept window: M = ⌈37.5σ⌉ + 2 keeps the mass
/// beyond each end below e^{−703}·(1 + σ/37) < 1e−300 (docs/math.md §16.7).
const DG_WIDTH: f64 = 37.5;

/// Most atoms 2M + Δ + 1 of the discrete Gaussian's certified law; beyond it the accountants
/// that need the atoms refuse.
pub const DG_MAX_ATOMS: u64 = 100_001;

/// Largest σ of the discrete Gaussian (nσ² stays far inside f64's range for any step count).
pub const DG_MAX_SIGMA: f64 = 1e100;

/// The discrete Gaussian mechanism (Canonne, Kamath & Steinke 2020): P(x) ∝ e^{−x²/(2σ²)} on the
/// integers, integer sensitivity Δ (add/remove; both orderings have the same loss laws).
///
/// Loss (docs/math.md §16.7): with y = x − Δ ~ DG(0) under the neighbour, L = −(Δ/σ²)(y + Δ/2)
/// lies on the lattice of spacing h = Δ/σ²; the certified law keeps y ∈ [−M − Δ, M] (J = 2M + Δ)
/// and bounds the mass beyond each end by [`CertifiedLattice::tail`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DiscreteGaussian {
    sigma: f64,
    sensitivity: u64,
}

impl DiscreteGaussian {
    /// # Errors
    /// `sensitivity` must be an integer in [1, 10⁶]; `sigma` finite, > 0 and at most
    /// [`DG_MAX_SIGMA`]. Beyond [`DG_MAX_ATOMS`] atoms (σ ≳ (10⁵ − Δ)/75) the law has no atom
    /// list: the contour answers by its closed form (docs/math.md §16.9), rdp by its formula,
    /// and the accountants that need the atoms refuse (`NotCertified`,
    /// [`DiscreteGaussian::require_atom_law`]).
    pub fn new(sigma: f64, sensitivity: u64) -> Result<Self> {
        crate::error::Range::left_open(0.0, DG_MAX_SIGMA).check("sigma", sigma)?;
        check_count("sensitivity", sensitivity, MAX_SENSITIVITY, MAX_SENSITIVITY)?;
        Ok(DiscreteGaussian { sigma, sensitivity })
    }

    /// Whether the certified law's atoms fit [`DG_MAX_ATOMS`] (2M + Δ + 1 of them), the
    /// condition of every atom-based computation (certified law, window sums, cumulants).
    pub fn has_atom_law(&self) -> bool {
        self.atoms() <= DG_MAX_ATOMS
    }

    /// Refuse an atom-based computation beyond [`DG_MAX_ATOMS`] atoms, naming `who`.
    ///
    /// # Errors
    /// [`Error::NotCertified`] when [`DiscreteGaussian::has_atom_law`] is false.
    pub fn require_atom_law(&self, who: &str) -> Result<()> {
        if self.has_atom_law() {
            return Ok(());
        }
        Err(Error::NotCertified(format!(
            "{who}: the discrete Gaussian with sigma = {} and sensitivity = {} keeps {} atoms, \
             more than {DG_MAX_ATOMS} (M = ceil(37.5 sigma) + 2 on each side); the contour \
             (closed form, docs/math.md §16.9) and rdp accountants answer it",
            self.sigma,
            self.sensitivity,
            self.atoms()
        )))
    }

    fn half_width_of(sigma: f64) -> f64 {
        (DG_WIDTH * sigma).ceil() + 2.0
    }

    /// σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// Δ.
    pub fn sensitivity(&self) -> u64 {
        self.sensitivity
    }

    /// M, the kept window's half-width.
    fn half_width(&self) -> u64 {
        Self::half_width_of(self.sigma) as u64
    }

    /// J + 1 = 2M + Δ + 1, the certified law's number of atoms (saturating at u64::MAX).
    pub fn atoms(&self) -> u64 {
        self.half_width()
            .saturating_mul(2)
            .saturating_add(self.sensitivity + 1)
    }

    /// 2σ² (interval).
    fn two_s2(&self, wp: u32) -> Interval {
        let s = Interval::from_f64(Precision(wp), self.sigma);
        s.mul(&s).scale_nonneg(&Float::with_val(wp, 2))
    }

    /// e^{−t²/(2σ²)} for an exact t.
    fn gauss(t: &Float, two_s2: &Interval) -> Interval {
        let t2 = Interval::point(t.clone()).mul(&Interval::point(t.clone()));
        t2.div(two_s2)
            .expect("invariant: 2 sigma^2 > 0 is a positive interval")
            .neg()
            .exp()
    }

    /// An upper bound on Σ_{i ≥ 0} f(u0 + i) by f(u0)/(1 − r), with
    /// f(u) = (u + d)^k e^{−u²/(2σ²)} and r = (1 + 1/(u0 + d))^k e^{−(2u0 + 1)/(2σ²)} the bound on
    /// f(u + 1)/f(u) for u ≥ u0 (docs/math.md §16.7). `None` if r ≥ 1 (not the case for the
    /// windows used here).
    fn tail_sum(u0: &Float, d: &Interval, k: u32, two_s2: &Interval) -> Option<Interval> {
        let wp = u0.prec();
        let one = Interval::from_f64(Precision(wp), 1.0);
        let ud = Interval::point(u0.clone()).add(d);
        let f = ud.powi(k).mul(&Self::gauss(u0, two_s2));
        let step = Interval::point(Float::with_val(wp, u0 * 2u32) + 1u32);
        let decay = step.div(two_s2).ok()?.neg().exp();
        let grow = one.add(&one.div(&ud).ok()?).powi(k);
        let r = grow.mul(&decay);
        if r.hi >= 1 {
            return None;
        }
        let s = f.div(&one.sub(&r)).ok()?;
        Some(Interval::new(Float::new(wp), s.hi))
    }

    /// Z = Σ_y e^{−y²/(2σ²)} (certified) and the bound on Σ_{y > M} e^{−y²/(2σ²)}.
    fn normaliser(&self, wp: u32) -> (Interval, Interval) {
        let two_s2 = self.two_s2(wp);
        let m = self.half_width();
        let zero = Interval::zero(Precision(wp));
        let u0 = Float::with_val(wp, m + 1);
        let tail =
            Self::tail_sum(&u0, &zero, 0, &two_s2).expect("invariant: M >= 37.5 sigma gives r < 1");
        let mut z = Interval::from_f64(Precision(wp), 1.0);
        for y in 1..=m {
            let g = Self::gauss(&Float::with_val(wp, y), &two_s2);
            z.add_assign(&g.add(&g));
        }
        let z = z.add(&tail.add(&tail));
        (z, tail)
    }

    /// The certified loss law (see the type docs): p_j = DG(0)(M − j), j = 0..=2M + Δ.
    pub fn certified(&self, precision: Precision) -> CertifiedLattice {
        let wp = precision.0 + 64;
        let two_s2 = self.two_s2(wp);
        let (z, tail) = self.normaliser(wp);
        let m = self.half_width() as i64;
        let d = self.sensitivity as i64;
        let p = (0..=(2 * m + d))
            .map(|j| {
                Self::gauss(&Float::with_val(wp, m - j), &two_s2)
                    .div(&z)
                    .expect("invariant: Z >= 1")
            })
            .collect();
        let s = Interval::from_f64(Precision(wp), self.sigma);
        let h = Interval::point(Float::with_val(wp, self.sensitivity))
            .div(&s.mul(&s))
            .expect("invariant: sigma^2 > 0");
        // Mass beyond each end: at most Σ_{y > M} e^{−y²/(2σ²)}/Z (y ≤ −M − Δ has less).
        let t = tail.div(&z).expect("invariant: Z >= 1");
        CertifiedLattice {
            h,
            p,
            tail: t.hi_f64(),
        }
    }

    /// M_k·e^{−C} for M_k = E[e^{λL}(L − c)^k], k = 0..=kmax, under the neighbour (the law of
    /// the p_j), and C = (λ² − λ)Δ²/(2σ²), certified: a window of 2M + 2 integers around the
    /// tilted centre μ = −λΔ plus the tail bound of docs/math.md §16.7 on each side. The factor
    /// e^{C} is returned as C (it leaves MPFR's exponent range for large λΔ/σ); K = ln M_0 is
    /// ln(M_0 e^{−C}) + C, and ratios of moments do not need it.
    ///
    /// # Errors
    /// [`Error::NotCertified`] if λ or c is not finite or the tail bound fails.
    pub fn tilted_moments(
        &self,
        lambda: f64,
        center: f64,
        kmax: usize,
        precision: Precision,
    ) -> Result<(Vec<Interval>, Interval)> {
        self.require_atom_law("discrete-gaussian tilted moments")?;
        if !lambda.is_finite() || !center.is_finite() {
            return Err(Error::NotCertified(format!(
                "discrete-gaussian: tilted moments at lambda = {lambda}, centre {center}"
            )));
        }
        let wp = precision.0 + 64;
        let prec = Precision(wp);
        let two_s2 = self.two_s2(wp);
        let (z, _) = self.normaliser(wp);
        let s = Interval::from_f64(prec, self.sigma);
        let s2 = s.mul(&s);
        let dd = Interval::point(Float::with_val(wp, self.sensitivity));
        let h = dd.div(&s2)?;
        let lam = Interval::from_f64(prec, lambda);
        let c = Interval::from_f64(prec, center);
        let half_d = Interval::point(Float::with_val(wp, self.sensitivity) / 2u32);
        // ℓ(y) = −h(y + Δ/2); weight e^{−y²/(2σ²) + λℓ(y)}/Z = e^{C}e^{−(y − μ)²/(2σ²)}/Z.
        let loss = |y: &Float| h.mul(&Interval::point(y.clone()).add(&half_d)).neg();
        let mu_i = lam.mul(&dd).neg();
        let mu = -lambda * self.sensitivity as f64;
        if !mu.is_finite() || mu.abs() > 1e15 {
            return Err(Error::NotCertified(format!(
                "discrete-gaussian: the tilted centre -lambda*sensitivity = {mu:e} is out of range"
            )));
        }
        let m = self.half_width() as i64;
        let (a, b) = (mu.floor() as i64 - m, mu.ceil() as i64 + m);
        let mut row = vec![Interval::zero(prec); kmax + 1];
        for y in a..=b {
            let yf = Float::with_val(wp, y);
            let l = loss(&yf);
            let t = Interval::point(yf).sub(&mu_i);
            let w = t.mul(&t).div(&two_s2)?.neg().exp();
            let dl = l.sub(&c);
            let mut t = w;
            for r in row.iter_mut() {
                r.add_assign(&t);
                t = t.mul(&dl);
            }
        }
        // Tails: y − μ ≥ M + 1 beyond b and μ − y ≥ M + 1 below a. Completed square:
        // −y²/(2σ²) + λℓ(y) = −(y − μ)²/(2σ²) + C, C = (λ² − λ)Δ²/(2σ²); |ℓ(y) − c| ≤ h(|y − μ| + d)
        // with d = |μ − y_c|, ℓ(y_c) = c.
        let cexp = lam.mul(&lam).sub(&lam).mul(&dd).mul(&dd).div(&two_s2)?;
        let yc = c.mul(&s2).div(&dd)?.add(&half_d).neg();
        let dv = mu_i.sub(&yc);
        let dmax = if dv.lo.clone().abs() > dv.hi.clone().abs() {
            dv.lo.clone().abs()
        } else {
            dv.hi.clone().abs()
        };
        let d = Interval::point(dmax);
        let u0 = Float::with_val(wp, m + 1);
        for (k, r) in row.iter_mut().enumerate() {
            let t = Self::tail_sum(&u0, &d, k as u32, &two_s2).ok_or_else(|| {
                Error::NotCertified(format!(
                    "discrete-gaussian: the tail bound of the order-{k} tilted moment at lambda = \
                     {lambda} does not converge"
                ))
            })?;
            let t = t.add(&t).mul(&h.powi(k as u32));
            let widened = if k % 2 == 0 {
                Interval::new(Float::new(wp), t.hi)
            } else {
                Interval::new(-t.hi.clone(), t.hi)
            };
            *r = r.add(&widened);
        }
        for r in row.iter_mut() {
            *r = r.div(&z)?;
        }
        Ok((row, cexp))
    }

    /// Certified cumulants κ1..κ6 of the remove ordering (same convention as
    /// [`CertifiedLattice::cumulants`]), from [`DiscreteGaussian::tilted_moments`] at λ = 0
    /// (where C = 0).
    ///
    /// # Errors
    /// As [`DiscreteGaussian::tilted_moments`].
    pub fn cumulants(&self, precision: Precision) -> Result<CertifiedCumulants> {
        let (moments, _) = self.tilted_moments(0.0, 0.0, MAX_ORDER, precision)?;
        let p = cumulants_from_moments(&moments, 0.0, MAX_ORDER)?;
        Ok(CertifiedLattice::with_q(p, precision))
    }

    /// K(λ) = ln E[e^{λL}] and the tilted law's mean, variance, third and fourth central
    /// moments in f64 (an estimate: the window of [`DiscreteGaussian::tilted_moments`], log-sum-exp
    /// weights).
    pub fn tilted_f64(&self, lambda: f64) -> [f64; 5] {
        if !self.has_atom_law() {
            // No window sum beyond the atom cap (its cost grows with σ); callers check
            // [`DiscreteGaussian::require_atom_law`] first.
            return [f64::NAN; 5];
        }
        let (s2, dd) = (self.sigma * self.sigma, self.sensitivity as f64);
        let h = dd / s2;
        let mu = -lambda * dd;
        let m = self.half_width() as f64;
        let ln_z = {
            let mut z = 1.0;
            let mut y = 1.0;
            while y <= m {
                z += 2.0 * (-(y * y) / (2.0 * s2)).exp();
                y += 1.0;
            }
            z.ln()
        };
        let (a, b) = (mu.floor() - m, mu.ceil() + m);
        let mut pts = Vec::new();
        let mut y = a;
        while y <= b {
            pts.push((-(y - mu) * (y - mu) / (2.0 * s2), -h * (y + 0.5 * dd)));
            y += 1.0;
        }
        let mx = pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = pts.iter().map(|p| (p.0 - mx).exp()).collect();
        let s: f64 = w.iter().sum();
        let mean = pts.iter().zip(&w).map(|(p, w)| w * p.1).sum::<f64>() / s;
        let mut c = [0.0f64; 3];
        for (p, w) in pts.iter().zip(&w) {
            let d = p.1 - mean;
            c[0] += w * d * d;
            c[1] += w * d * d * d;
            c[2] += w * d * d * d * d;
        }
        let k = (lambda * lambda - lambda) * dd * dd / (2.0 * s2) + mx + s.ln() - ln_z;
        [
            k,
            mean,
            (c[0] / s).max(f64::MIN_POSITIVE),
            c[1] / s,
            c[2] / s,
        ]
    }

    /// A certified upper bound on the Rényi divergence of order α > 1 (either ordering):
    /// αΔ²/(2σ²), exact at integer α (docs/math.md §16.7), rounded up.
    pub fn rdp(&self, alpha: f64) -> f64 {
        let dd = self.sensitivity as f64;
        let v = alpha * dd * dd / (2.0 * self.sigma * self.sigma);
        v * (1.0 + 8.0 * f64::EPSILON)
    }
}

/// Refuse every discrete Gaussian of `added` that lies beyond its atom cap, in an accountant
/// that needs the atoms (pld, saddlepoint, edgeworth).
///
/// # Errors
/// [`Error::NotCertified`] naming the accountant, σ, Δ and the atom count.
pub fn refuse_large_in(accountant: &str, added: &crate::event::Composition) -> Result<()> {
    for (m, _) in &added.parts {
        if let super::Mechanism::DiscreteGaussian(g) = m {
            g.require_atom_law(accountant)?;
        }
    }
    Ok(())
}

/// A lattice mechanism (both are symmetric pairs; see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatticeMechanism {
    /// Randomized response.
    RandomizedResponse(RandomizedResponse),
    /// Discrete Laplace.
    DiscreteLaplace(DiscreteLaplace),
    /// Discrete Gaussian (its law has a certified tail beyond the kept atoms).
    DiscreteGaussian(DiscreteGaussian),
}

impl LatticeMechanism {
    /// The certified law at `precision` (64 guard bits are added).
    pub fn certified(&self, precision: Precision) -> CertifiedLattice {
        match self {
            LatticeMechanism::RandomizedResponse(r) => r.certified(precision),
            LatticeMechanism::DiscreteLaplace(d) => d.certified(precision),
            LatticeMechanism::DiscreteGaussian(g) => g.certified(precision),
        }
    }

    /// The f64 law (midpoints of a 128-bit enclosure).
    ///
    /// The law is a pure function of the mechanism, and the laws built last are kept (up to
    /// `LAW_CACHE_ATOMS` atoms in all, shared by the threads): the PLD accountant asks for
    /// each part's law several times per grid run (window, atoms, slope, discretisation), in
    /// several runs, and its MPFR construction took ~60% of a composition of 100 distinct
    /// discrete Gaussians.
    pub fn law(&self) -> Lattice {
        use std::sync::{Arc, Mutex, PoisonError};
        static LAWS: Mutex<Vec<(LatticeMechanism, Arc<Lattice>)>> = Mutex::new(Vec::new());
        let cached = {
            let laws = LAWS.lock().unwrap_or_else(PoisonError::into_inner);
            laws.iter().find(|(m, _)| m == self).map(|e| e.1.clone())
        };
        if let Some(l) = cached {
            return (*l).clone();
        }
        let law = self.certified(Precision(128)).mid();
        if law.p.len() <= LAW_CACHE_ATOMS {
            let mut laws = LAWS.lock().unwrap_or_else(PoisonError::into_inner);
            let mut atoms: usize = laws.iter().map(|(_, l)| l.p.len()).sum::<usize>() + law.p.len();
            while atoms > LAW_CACHE_ATOMS && !laws.is_empty() {
                atoms -= laws.remove(0).1.p.len();
            }
            laws.push((*self, Arc::new(law.clone())));
        }
        law
    }
}

/// The most atoms the laws kept by [`LatticeMechanism::law`] hold in all (2²¹: 16 MB).
const LAW_CACHE_ATOMS: usize = 1 << 21;

/// A lattice loss: ℓ_j = h·(j − J/2), J = p.len() − 1, P-probabilities p_j (Q: p_{J−j}), with
/// the spacing and probabilities as MPFR enclosures ([`CertifiedLattice`]) or f64 midpoints
/// ([`Lattice`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LatticeLaw<T> {
    /// The spacing h > 0.
    pub h: T,
    /// P-probabilities p_0..p_J.
    pub p: Vec<T>,
    /// Certified upper bound on the mass (under either law) beyond each end of the atoms: 0 for
    /// laws with finitely many atoms, positive for the discrete Gaussian (docs/math.md §16.7).
    /// [`CertifiedLattice::tilted_moments`] covers the atoms only; a law with a tail has its own.
    pub tail: f64,
}

impl<T> LatticeLaw<T> {
    /// J.
    pub fn top(&self) -> usize {
        self.p.len() - 1
    }
}

/// Certified lattice loss: h and every p_j an MPFR enclosure.
pub type CertifiedLattice = LatticeLaw<Interval>;

/// f64 lattice loss: midpoints of a [`CertifiedLattice`] (relative error ≤ u where normal,
/// absolute ≤ 2^−1074 where subnormal or 0).
pub type Lattice = LatticeLaw<f64>;

impl CertifiedLattice {
    /// ℓ_j = h·(2j − J)/2 (exact scalars).
    pub fn atom(&self, j: usize) -> Interval {
        let two_j = 2 * j as i64 - self.top() as i64;
        let s = Float::with_val(self.h.prec(), two_j.unsigned_abs()) / 2u32;
        let v = self.h.scale_nonneg(&s);
        if two_j < 0 {
            v.neg()
        } else {
            v
        }
    }

    /// f64 midpoints.
    pub fn mid(&self) -> Lattice {
        Lattice {
            h: self.h.mid_f64(),
            p: self.p.iter().map(|x| x.mid_f64()).collect(),
            tail: self.tail,
        }
    }

    /// M_k = E_P[e^{λL}(L − c)^k] for k = 0..=kmax (λ, c exact f64).
    pub fn tilted_moments(&self, lambda: f64, center: f64, kmax: usize) -> Vec<Interval> {
        let prec = Precision(self.h.prec());
        let lam = Interval::from_f64(prec, lambda);
        let c = Interval::from_f64(prec, center);
        let mut row = vec![Interval::zero(prec); kmax + 1];
        for (j, pj) in self.p.iter().enumerate() {
            if pj.hi.is_zero() {
                continue;
            }
            let l = self.atom(j);
            let w = pj.mul(&lam.mul(&l).exp());
            let d = l.sub(&c);
            let mut t = w;
            for m in row.iter_mut() {
                m.add_assign(&t);
                t = t.mul(&d);
            }
        }
        row
    }

    /// Certified cumulants κ1..κ6 of the remove ordering (P side; Q side κ_j^Q = (−1)^j κ_j^P).
    pub fn cumulants(&self, precision: Precision) -> CertifiedCumulants {
        let moments = self.tilted_moments(0.0, 0.0, MAX_ORDER);
        let p = cumulants_from_moments(&moments, 0.0, MAX_ORDER)
            .expect("invariant: MAX_ORDER + 1 moments were computed");
        Self::with_q(p, precision)
    }

    /// The Q side of a symmetric pair's cumulants: κ_j^Q = (−1)^j κ_j^P.
    fn with_q(p: Vec<Interval>, precision: Precision) -> CertifiedCumulants {
        let q = p
            .iter()
            .enumerate()
            .map(|(j, x)| if j % 2 == 0 { x.neg() } else { x.clone() })
            .collect();
        CertifiedCumulants { p, q, precision }
    }
}

impl Lattice {
    /// ℓ_j.
    pub fn atom(&self, j: usize) -> f64 {
        self.h * (j as f64 - 0.5 * self.top() as f64)
    }

    /// f64 cumulants from the certified ones.
    pub fn cumulants_f64(m: &LatticeMechanism) -> Cumulants {
        m.certified(Precision(128)).cumulants(Precision(128)).mid()
    }

    /// K(λ) = ln E_P[e^{λL}] and the tilted law's mean, variance, third and fourth central
    /// moments, in f64 (log-sum-exp weights, two passes).
    pub fn tilted(&self, lambda: f64) -> [f64; 5] {
        let lw: Vec<f64> = (0..=self.top())
            .map(|j| {
                if self.p[j] > 0.0 {
                    self.p[j].ln() + lambda * self.atom(j)
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect();
        let mx = lw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = lw.iter().map(|x| (x - mx).exp()).collect();
        let s: f64 = w.iter().sum();
        let mean = (0..=self.top()).map(|j| w[j] * self.atom(j)).sum::<f64>() / s;
        let mut c = [0.0f64; 3];
        for j in 0..=self.top() {
            let d = self.atom(j) - mean;
            c[0] += w[j] * d * d;
            c[1] += w[j] * d * d * d;
            c[2] += w[j] * d * d * d * d;
        }
        // With two or more atoms the variance is positive; where the f64 weights of all but one
        // atom underflow (very large |λ|) it is below the f64 range and is returned as the
        // smallest positive normal, so that callers dividing by it see a tiny, not a zero, value.
        let atoms = self.p.iter().filter(|&&p| p > 0.0).count();
        let var = if atoms >= 2 {
            (c[0] / s).max(f64::MIN_POSITIVE)
        } else {
            c[0] / s
        };
        [mx + s.ln(), mean, var, c[1] / s, c[2] / s]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parameters are range-checked by name (exit 2 on the CLI); the atom cap only decides
    /// which computations are possible (`has_atom_law`), at its exact bound
    /// 2(⌈37.5σ⌉ + 2) + Δ + 1 ≤ 100 001, and its refusal is `NotCertified`, naming the caller.
    #[test]
    fn discrete_gaussian_ranges_and_the_atom_cap() {
        for (s, d, name) in [
            (1.0, 1_000_001u64, "sensitivity"),
            (1.0, 0, "sensitivity"),
            (0.0, 1, "sigma"),
            (f64::NAN, 1, "sigma"),
            (1e101, 1, "sigma"),
        ] {
            let m = DiscreteGaussian::new(s, d)
                .expect_err("out of range")
                .to_string();
            assert!(m.contains(name), "{s} {d}: {m}");
        }
        for (delta, sigma_ok, sigma_beyond) in [(1u64, 1333.25, 1333.26), (99_994, 0.0266, 0.0267)]
        {
            let ok = DiscreteGaussian::new(sigma_ok, delta).expect("in range");
            assert!(ok.has_atom_law() && ok.atoms() <= DG_MAX_ATOMS);
            assert!(ok.require_atom_law("test").is_ok());
            let big = DiscreteGaussian::new(sigma_beyond, delta).expect("in range");
            assert!(!big.has_atom_law(), "{delta} {sigma_beyond}");
            match big.require_atom_law("pld") {
                Err(Error::NotCertified(m)) => assert!(m.starts_with("pld") && m.contains("atoms")),
                other => panic!("{other:?}"),
            }
        }
        // The largest σ: the atom count saturates instead of overflowing.
        let top = DiscreteGaussian::new(DG_MAX_SIGMA, 1_000_000).expect("in range");
        assert_eq!(top.atoms(), u64::MAX);
        assert!(top.tilted_moments(0.5, 0.0, 2, Precision(64)).is_err());
        assert!(top.tilted_f64(0.5).iter().all(|v| v.is_nan()));
    }

    #[test]
    fn probabilities_sum_to_one_and_q_is_the_mirror() {
        let laws = [
            LatticeMechanism::RandomizedResponse(RandomizedResponse::new(0.3, 5).expect("setup")),
            LatticeMechanism::RandomizedResponse(RandomizedResponse::new(0.9, 2).expect("setup")),
            LatticeMechanism::DiscreteLaplace(DiscreteLaplace::new(0.7, 1).expect("setup")),
            LatticeMechanism::DiscreteLaplace(DiscreteLaplace::new(0.05, 7).expect("setup")),
        ];
        for m in laws {
            let c = m.certified(Precision(128));
            let mut s = Interval::zero(Precision(192));
            for p in &c.p {
                s.add_assign(p);
            }
            assert!(s.contains(&Float::with_val(192, 1)), "{m:?}: {s:?}");
            // q_j = p_j e^{ℓ_j} must enclose p_{J−j}.
            for j in 0..=c.top() {
                let q = c.p[j].mul(&c.atom(j).exp());
                let mirror = &c.p[c.top() - j];
                assert!(
                    q.lo <= mirror.hi && mirror.lo <= q.hi,
                    "{m:?} j={j}: {q:?} vs {mirror:?}"
                );
            }
        }
    }

    #[test]
    fn rejects_bad_parameters_naming_them() {
        for (p, k, name) in [(-0.1, 3, "noise_parameter"), (1.5, 3, "noise_parameter")] {
            let e = RandomizedResponse::new(p, k).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
        let e = RandomizedResponse::new(0.5, 0).unwrap_err();
        assert!(e.to_string().contains("buckets"), "{e}");
        let e = DiscreteLaplace::new(0.0, 1).unwrap_err();
        assert!(e.to_string().contains("parameter"), "{e}");
        let e = DiscreteLaplace::new(1.0, 0).unwrap_err();
        assert!(e.to_string().contains("sensitivity"), "{e}");
    }

    #[test]
    fn rr_cumulants_match_the_three_point_law() {
        // κ1 = (β − α)h, κ2 = (α + β)h² − κ1² for the three-point law.
        let (p, k) = (0.4_f64, 4u64);
        let beta = p / k as f64;
        let alpha = 1.0 - p + beta;
        let h = (alpha / beta).ln();
        let m = LatticeMechanism::RandomizedResponse(RandomizedResponse::new(p, k).expect("s"));
        let c = Lattice::cumulants_f64(&m);
        let k1 = (beta - alpha) * h;
        let k2 = (alpha + beta) * h * h - k1 * k1;
        assert!((c.p[0] - k1).abs() <= 1e-14 * k1.abs(), "{} {k1}", c.p[0]);
        assert!((c.p[1] - k2).abs() <= 1e-14 * k2, "{} {k2}", c.p[1]);
        assert!((c.q[0] + k1).abs() <= 1e-14 * k1.abs());
    }
}
