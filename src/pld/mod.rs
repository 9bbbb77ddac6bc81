//! Discretised privacy-loss distributions (PLDs) and their composition by FFT
//! (docs/math.md §1, §7, §11).
//!
//! A [`Pmf`] is the Q-side law of a privacy loss rounded onto the grid ℓ_k = k·h, plus an
//! atom at +∞. The accountant's default is the connect-the-dots discretisation
//! ([`loss::LossLaw::discretise_connect_dots`]: a dominating pair with an O(h²) error per
//! summand, whose lower bounds are derived in [`crate::accountant::PldAccountant`]); the
//! round-up/round-down scheme below is kept for laws with atoms. Rounding every loss value
//! **up** (pessimistic) gives a random variable that
//! dominates the true loss, so δ(ε) = E_Q[(1 − e^{ε−S})₊] (non-decreasing in S) computed
//! from it is an upper bound; rounding **down** (optimistic) and dropping tail mass gives a
//! lower bound. Both are kept through composition: convolution of rounded summands is the
//! law of the sum of rounded summands. Tails beyond a window of mass τ are moved in the safe
//! direction (pessimistic: lower tail up to the window's first point, upper tail to +∞;
//! optimistic: both dropped). During composition the cut points and the moved amounts come
//! from Chernoff bounds of tracked MGF bounds ([`Pmf::log_mgf`]), not from sums of computed
//! masses, so truncation adds no floating-point error.
//!
//! # Floating-point error
//! Each pmf carries bounds on the error of its computed masses against the exact rounded
//! law: `err2`, an ℓ2 bound on a diffuse part (FFT rounding), and `err1`, an ℓ1 bound on a
//! lumped part (tails, atoms, the +∞ mass). A convolution computed by FFT of length M
//! adds, per Higham's analysis of the Cooley–Tukey FFT (*Accuracy and Stability of
//! Numerical Algorithms*, 2nd ed., Thm 24.2, γ = log₂M·η/(1 − log₂M·η), η ≈ 8u for
//! accurately computed twiddles), an ℓ2 error of at most
//! 4(γ + u)(‖a‖₂‖b‖₁ + ‖a‖₁‖b‖₂) (the factor 4 covers forward, pointwise product, inverse
//! and realfft's extra butterfly stage); errors of the inputs propagate by Young's inequality
//! ‖x ∗ y‖₂ ≤ ‖x‖₂‖y‖₁. A δ read off the pmf at ε is then off by at most
//! err1 + err2·√(#grid points above ε) ([`Pmf::error_bound_at`]), plus a relative 4·N·u for
//! the sums; both are added to the upper bound and subtracted from the lower one. This bound
//! is what limits the smallest δ that can be certified; it grows with the number of
//! compositions (measured, connect-the-dots grids at the default tolerance, n-fold parts by
//! [`Convolver::self_compose_power`]: 6e−10 at q = 0.01, σ = 2, 100 steps and at q = 0.004,
//! σ = 1, 1000 steps; 5.8e−9 at q = 0.0051, σ = 0.573, 3920 steps, where the ε bracket at
//! δ = 1e−6 is 0.38% wide — it was 3.5e−7 and ~5% before truncation used Chernoff bounds);
//! where it exceeds δ the upper bound is reported as vacuous.
//!
//! The f64 evaluation of the loss inverse x(ℓ) is covered by shifting every grid boundary by
//! η = 1e−11·(1 + μ + |ℓ|) in the safe direction; Gauss–Legendre bin masses are taken as
//! accurate to 64 ulp (their quadrature error is far below that for the bin widths used).

pub mod bounds;
pub mod loss;

use crate::error::{Error, Result};
use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

const U: f64 = f64::EPSILON / 2.0;

/// Direction of rounding of loss values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Round up (upper bound on δ).
    Pessimistic,
    /// Round down (lower bound on δ).
    Optimistic,
}

/// A discretised privacy-loss distribution on the grid ℓ_k = (offset + i)·h.
#[derive(Debug, Clone, PartialEq)]
pub struct Pmf {
    /// Grid spacing h.
    pub h: f64,
    /// Grid index of `masses[0]`.
    pub offset: i64,
    /// Masses on the grid.
    pub masses: Vec<f64>,
    /// Mass at +∞ (pessimistic rounding only).
    pub inf_mass: f64,
    /// The rounding this pmf was built with.
    pub rounding: Rounding,
    /// ℓ2 bound on the diffuse error of `masses`.
    pub err2: f64,
    /// ℓ1 bound on the lumped error of `masses` and `inf_mass`.
    pub err1: f64,
    /// Probability mass that a pessimistic pmf moved *up* from below its windows (at most
    /// this much of the law may sit above the true loss by more than the rounding).
    pub lifted: f64,
    /// Upper bounds on ln E[e^{±λ_j S}; S finite] of the exact-arithmetic law this pmf
    /// approximates, for λ_j = 2^{j−6}, j < [`MGF_ORDERS`] (first the + signs, then the −
    /// signs); empty when unknown. Tails are truncated by the Chernoff bounds these give,
    /// never by sums of computed masses, so truncation adds no floating-point error.
    pub log_mgf: Vec<f64>,
}

/// Number of tilts λ_j = 2^{j−6} (j < MGF_ORDERS) tracked per sign in [`Pmf::log_mgf`].
pub const MGF_ORDERS: usize = 16;

fn mgf_lambda(j: usize) -> f64 {
    (2.0f64).powi(j as i32 - 6)
}

/// ln(e^a + e^b).
fn log_add(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
}

/// Where resources are bounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Most grid points a pmf may hold (FFT buffers take about 3× this in f64).
    pub max_points: usize,
}

impl Pmf {
    /// The point mass at 0 (the identity of composition).
    pub fn identity(h: f64, rounding: Rounding) -> Pmf {
        Pmf {
            h,
            offset: 0,
            masses: vec![1.0],
            inf_mass: 0.0,
            rounding,
            err2: 0.0,
            err1: 0.0,
            lifted: 0.0,
            log_mgf: vec![0.0; 2 * MGF_ORDERS],
        }
    }

    /// Fill [`Pmf::log_mgf`] from the masses of a freshly discretised pmf whose entries carry
    /// relative errors ≤ 64u of a bin mass that sits at most one grid step away (the
    /// factor 1 + 256u·e^{|λ|h} + 4Nu covers them, the summation and the squarings
    /// e^{2λs} = (e^{λs})², which double a relative error 15 times: 1e−10), plus `err1` of
    /// lumped error at either end.
    pub fn init_mgf(&mut self) {
        const U: f64 = f64::EPSILON / 2.0;
        let n = self.masses.len();
        let mut out = vec![0.0; 2 * MGF_ORDERS];
        for (sign_idx, sign) in [1.0f64, -1.0].into_iter().enumerate() {
            let s_ref = if sign > 0.0 {
                self.loss(n - 1)
            } else {
                self.loss(0)
            };
            let mut sums = [0.0f64; MGF_ORDERS];
            let l0 = mgf_lambda(0);
            for (k, &m) in self.masses.iter().enumerate() {
                if m == 0.0 {
                    continue;
                }
                let mut e = (sign * l0 * (self.loss(k) - s_ref)).exp();
                for sum in sums.iter_mut() {
                    *sum += m * e;
                    e *= e;
                }
            }
            for (j, sum) in sums.iter().enumerate() {
                let lam = mgf_lambda(j);
                let factor = 1.0 + 256.0 * U * (lam * self.h).exp() + 4.0 * n as f64 * U + 1e-10;
                out[sign_idx * MGF_ORDERS + j] =
                    sign * lam * s_ref + (sum * factor + self.err1).ln();
            }
        }
        self.log_mgf = out;
    }

    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.masses.len()
    }

    /// Whether the pmf has no grid points.
    pub fn is_empty(&self) -> bool {
        self.masses.is_empty()
    }

    /// Drop exact zeros at both ends.
    pub fn trim(&mut self) {
        let first = self.masses.iter().position(|&m| m > 0.0);
        let Some(first) = first else {
            self.masses = vec![0.0];
            return;
        };
        let last = self
            .masses
            .iter()
            .rposition(|&m| m > 0.0)
            .expect("invariant: a positive mass exists");
        if first > 0 || last + 1 < self.masses.len() {
            self.masses = self.masses[first..=last].to_vec();
            self.offset += first as i64;
        }
    }

    /// Move the tails of mass ≤ τ/2 each in the safe direction (see the module docs).
    ///
    /// With [`Pmf::log_mgf`] known, the cut points and moved amounts come from Chernoff
    /// bounds P(S > s) ≤ E[e^{λS}]e^{−λs}, P(S < s) ≤ E[e^{−λS}]e^{λs} (minimised over the
    /// tracked λ): a pessimistic pmf puts the bound on the upper tail at +∞ and the bound on
    /// the lower tail at the first kept point (more mass than the exact law has there, which
    /// only raises δ), an optimistic one drops both tails (which only lowers δ). The computed
    /// masses of the cut entries are discarded with their errors, so, unlike moving computed
    /// sums, this adds no floating-point error term.
    pub fn truncate(&mut self, tau: f64) {
        let n = self.masses.len();
        if n < 3 {
            return;
        }
        if self.log_mgf.len() == 2 * MGF_ORDERS {
            self.truncate_chernoff(tau);
            return;
        }
        let half = 0.5 * tau;
        let mut lo = 0usize;
        let mut acc = 0.0;
        while lo + 1 < n && acc + self.masses[lo] <= half {
            acc += self.masses[lo];
            lo += 1;
        }
        let mut hi = n - 1;
        let mut acc_hi = 0.0;
        while hi > lo && acc_hi + self.masses[hi] <= half {
            acc_hi += self.masses[hi];
            hi -= 1;
        }
        if lo == 0 && hi == n - 1 {
            return;
        }
        let moved_err = ((lo as f64).sqrt() + ((n - 1 - hi) as f64).sqrt()) * self.err2;
        match self.rounding {
            Rounding::Pessimistic => {
                self.masses[lo] += acc;
                self.lifted += acc;
                self.inf_mass += acc_hi;
            }
            Rounding::Optimistic => {
                self.masses[hi] += acc_hi;
            }
        }
        self.err1 += moved_err + 2.0 * U * (acc + acc_hi);
        self.masses = self.masses[lo..=hi].to_vec();
        self.offset += lo as i64;
    }

    fn truncate_chernoff(&mut self, tau: f64) {
        const U: f64 = f64::EPSILON / 2.0;
        let n = self.masses.len();
        let lt = (0.5 * tau).ln();
        let h = self.h;
        let (mut s_up, mut s_dn) = (f64::INFINITY, f64::NEG_INFINITY);
        for j in 0..MGF_ORDERS {
            let lam = mgf_lambda(j);
            s_up = s_up.min((self.log_mgf[j] - lt) / lam);
            s_dn = s_dn.max((lt - self.log_mgf[MGF_ORDERS + j]) / lam);
        }
        let idx = |s: f64, up: bool| -> i64 {
            let k = if up { (s / h).ceil() } else { (s / h).floor() };
            grid_index(k) - self.offset
        };
        let hi = idx(s_up, true).clamp(0, n as i64 - 1) as usize;
        let lo = idx(s_dn, false).clamp(0, n as i64 - 1) as usize;
        if lo >= hi || (lo == 0 && hi == n - 1) {
            return;
        }
        let bound_above = |s: f64, lm: &[f64]| {
            (0..MGF_ORDERS)
                .map(|j| (lm[j] - mgf_lambda(j) * s).exp())
                .fold(f64::INFINITY, f64::min)
        };
        let bound_below = |s: f64, lm: &[f64]| {
            (0..MGF_ORDERS)
                .map(|j| (lm[MGF_ORDERS + j] + mgf_lambda(j) * s).exp())
                .fold(f64::INFINITY, f64::min)
        };
        let (s_hi, s_lo) = (self.loss(hi), self.loss(lo));
        match self.rounding {
            Rounding::Pessimistic => {
                if hi < n - 1 {
                    self.inf_mass += bound_above(s_hi, &self.log_mgf) * (1.0 + 1e-12);
                }
                if lo > 0 {
                    let a = bound_below(s_lo, &self.log_mgf) * (1.0 + 1e-12);
                    self.err1 += 2.0 * U * (a + self.masses[lo]);
                    self.masses[lo] += a;
                    self.lifted += a;
                    let la = a.ln();
                    for j in 0..MGF_ORDERS {
                        let lam = mgf_lambda(j);
                        self.log_mgf[j] = log_add(self.log_mgf[j], la + lam * s_lo);
                        self.log_mgf[MGF_ORDERS + j] =
                            log_add(self.log_mgf[MGF_ORDERS + j], la - lam * s_lo);
                    }
                }
            }
            Rounding::Optimistic => {}
        }
        self.masses = self.masses[lo..=hi].to_vec();
        self.offset += lo as i64;
    }

    fn norms(&self) -> (f64, f64) {
        let n1: f64 = self.masses.iter().sum();
        let n2: f64 = self.masses.iter().map(|m| m * m).sum::<f64>().sqrt();
        (n1 * (1.0 + 1e-12), n2 * (1.0 + 1e-12))
    }

    /// The smallest δ error this pmf can certify for ε ≥ 0: err1 + err2·√(#points above 0).
    pub fn error_bound(&self) -> f64 {
        let above = self
            .masses
            .len()
            .saturating_sub((-self.offset).max(0) as usize)
            .max(1);
        self.err1 + self.err2 * (above as f64).sqrt()
    }

    /// The δ error of a reading at ε: err1 + err2·√(#points above ε), since the reading
    /// weights (1 − e^{ε−s})₊ vanish at and below ε and are ≤ 1 above (Cauchy–Schwarz on the
    /// diffuse part). Non-increasing in ε.
    pub fn error_bound_at(&self, epsilon: f64) -> f64 {
        let n = self.masses.len() as i64;
        // First index with loss > ε.
        let first = (grid_index((epsilon / self.h).floor()) + 1 - self.offset).clamp(0, n);
        let above = (n - first).max(1);
        self.err1 + self.err2 * (above as f64).sqrt()
    }

    fn rel_sum_err(&self) -> f64 {
        4.0 * self.masses.len() as f64 * U
    }

    /// ĝ(ε) = Σ_k p_k (1 − e^{ε−s_k})₊ + p_∞ as computed (no error terms). With
    /// A_i = Σ_{j≥i} p_j and D_i = Σ_{j≥i} p_j(1 − e^{s_i−s_j}) (recurrence
    /// D_i = (1 − e^{−h})A_{i+1} + e^{−h}D_{i+1}), ĝ(s_i − θ) = (1 − e^{−θ})A_i + e^{−θ}D_i + p_∞:
    /// every term is non-negative, so the relative rounding error is at most ~2N·u.
    pub fn delta_raw(&self, epsilon: f64) -> f64 {
        let em = -(-self.h).exp_m1();
        let (mut a, mut d) = (0.0f64, 0.0f64);
        let mut s_low = f64::INFINITY;
        for i in (0..self.masses.len()).rev() {
            let s = self.loss(i);
            if s <= epsilon {
                break;
            }
            d = em * a + (1.0 - em) * d;
            a += self.masses[i];
            s_low = s;
        }
        if a == 0.0 {
            return self.inf_mass;
        }
        let theta = s_low - epsilon;
        let e = (-theta).exp();
        self.inf_mass + -(-theta).exp_m1() * a + e * d
    }

    /// An optimistic pmf from a pessimistic one of a law with no atoms: rounding up and
    /// rounding down differ by exactly one grid step per summand there, so the law shifted
    /// down by `summands + 1` steps (the extra step covers the boundary safety shifts; the
    /// caller checks summands·η < h) is a lower law, except for the mass the pessimistic
    /// pass lifted from below its windows, which is added to the error (δ changes by at most
    /// the mass moved). The +∞ atom is dropped.
    pub fn optimistic_shift(&self, summands: u64) -> Pmf {
        let mut p = self.lower_view();
        p.offset -= summands as i64 + 1;
        p
    }

    /// The finite part of a pessimistic pmf read as a lower law: the +∞ atom is dropped and
    /// the mass lifted from below the windows is added to the error (δ read off it moves by
    /// at most that mass). Used by the connect-the-dots lower bounds, which read it at a
    /// shifted ε (see [`crate::accountant::PldAccountant`]).
    pub fn lower_view(&self) -> Pmf {
        Pmf {
            h: self.h,
            offset: self.offset,
            masses: self.masses.clone(),
            inf_mass: 0.0,
            rounding: Rounding::Optimistic,
            err2: self.err2,
            err1: self.err1 + self.lifted,
            lifted: 0.0,
            log_mgf: Vec::new(),
        }
    }

    /// The loss value of grid point i.
    pub fn loss(&self, i: usize) -> f64 {
        (self.offset + i as i64) as f64 * self.h
    }

    /// A certified bound on δ(ε) of the exact rounded law: upper for a pessimistic pmf
    /// (ĝ(1 + 4Nu) + error bound), lower for an optimistic one (ĝ(1 − 4Nu) − error bound,
    /// at least 0).
    pub fn delta_bound(&self, epsilon: f64) -> f64 {
        let g = self.delta_raw(epsilon);
        let r = self.rel_sum_err();
        let e = self.error_bound_at(epsilon.max(0.0));
        match self.rounding {
            Rounding::Pessimistic => (g * (1.0 + r) + e).min(1.0),
            Rounding::Optimistic => (g * (1.0 - r) - e).max(0.0),
        }
    }

    /// The first ε ≥ 0 where the certified curve [`Pmf::delta_bound`] reaches δ: for a
    /// pessimistic pmf a certified upper bound on ε(δ) (`None` when the bound never gets to
    /// δ: δ is below the smallest certifiable value), for an optimistic pmf a certified lower
    /// bound.
    ///
    /// The error term is [`Pmf::error_bound_at`] of a point known to lie on the safe side of
    /// the answer: first that of ε = 0 (valid everywhere), then refined once. An upper end b
    /// found with the error term of a point c ≤ b is valid (the term only shrinks above c); a
    /// lower end found with the term of a point at or below it is valid likewise.
    pub fn epsilon_bound(&self, delta: f64) -> Option<f64> {
        let a = self.epsilon_bound_with(delta, self.error_bound_at(0.0));
        match self.rounding {
            Rounding::Pessimistic => {
                let a = a?;
                let Some(b) = self.epsilon_bound_with(delta, self.error_bound_at(a)) else {
                    return Some(a);
                };
                let c = (2.0 * b - a).max(0.0);
                match self.epsilon_bound_with(delta, self.error_bound_at(c)) {
                    Some(b2) if b2 >= c => Some(b2.min(a)),
                    _ => Some(a),
                }
            }
            Rounding::Optimistic => {
                let a = a?;
                match self.epsilon_bound_with(delta, self.error_bound_at(a)) {
                    Some(b) if b >= a => Some(b),
                    _ => Some(a),
                }
            }
        }
    }

    fn epsilon_bound_with(&self, delta: f64, e: f64) -> Option<f64> {
        let r = self.rel_sum_err();
        // Target for the raw curve ĝ.
        let t = match self.rounding {
            Rounding::Pessimistic => (delta - e) / (1.0 + r),
            Rounding::Optimistic => (delta + e) / (1.0 - r),
        };
        if t <= self.inf_mass {
            return match self.rounding {
                Rounding::Pessimistic => None,
                // The lower curve stays above δ for all ε: ε(δ) could be anything large;
                // the largest finite grid point is still a valid lower bound.
                Rounding::Optimistic => {
                    Some(((self.offset + self.masses.len() as i64) as f64 * self.h).max(0.0))
                }
            };
        }
        if self.delta_raw(0.0) <= t {
            return Some(0.0);
        }
        // Scan from the top for the interval [s_i − h, s_i) holding the crossing.
        let h = self.h;
        let em = -(-h).exp_m1();
        let (mut a, mut d) = (0.0f64, 0.0f64);
        let mut eps = 0.0;
        for i in (0..self.masses.len()).rev() {
            let s = self.loss(i);
            d = em * a + (1.0 - em) * d;
            a += self.masses[i];
            let lowest = i == 0 || s - h <= 0.0;
            let v_left = self.inf_mass + em * a + (1.0 - em) * d;
            if v_left > t || lowest {
                // Solve p_∞ + (1 − e^{−θ})A + e^{−θ}D = t: e^{−θ} = (A + p_∞ − t)/(A − D).
                let num = a + self.inf_mass - t;
                let den = a - d;
                let theta = if den > 0.0 && num > 0.0 {
                    (den / num).ln().max(0.0)
                } else {
                    0.0
                };
                let theta = if lowest { theta } else { theta.min(h) };
                eps = (s - theta).max(0.0);
                break;
            }
        }
        // Make the answer safe against the rounding of the closed-form solve.
        let step = |x: f64| 1e-13 * (1.0 + x.abs());
        match self.rounding {
            Rounding::Pessimistic => {
                let mut tries = 0;
                while self.delta_raw(eps) > t && tries < 60 {
                    eps += step(eps) * (1u64 << tries.min(40)) as f64;
                    tries += 1;
                }
            }
            Rounding::Optimistic => {
                let mut tries = 0;
                while eps > 0.0 && self.delta_raw(eps) <= t && tries < 60 {
                    eps = (eps - step(eps) * (1u64 << tries.min(40)) as f64).max(0.0);
                    tries += 1;
                }
            }
        }
        Some(eps)
    }
}

/// A forward and an inverse real FFT plan of one length.
type Plans = (
    std::sync::Arc<dyn realfft::RealToComplex<f64>>,
    std::sync::Arc<dyn realfft::ComplexToReal<f64>>,
);

thread_local! {
    /// FFT plans by length, reused by every convolution on the same thread across
    /// compositions and accountant calls (planning a length costs about as much as an FFT).
    /// Each length is planned by a fresh planner, so its plan (and the rounding of every
    /// FFT computed with it) is a function of the length alone: a planner shared across
    /// lengths reuses the sub-FFTs it planned before, which made answers depend on which
    /// lengths a thread had planned earlier (thread scheduling in sweeps, resumed runs).
    /// The lengths are kept in the order they were planned; the oldest are dropped once the
    /// lengths kept add up to more than [`PLAN_CACHE_POINTS`] (a plan holds twiddle tables of
    /// about 16 bytes per point each way: before, every length a thread had ever planned was
    /// kept, 100 distinct discrete Gaussians left ~170 MB of plans, and a long sweep or Python
    /// session grew without bound). Dropping a plan changes no answer: a length's plan is
    /// made anew, the same.
    static PLANS: std::cell::RefCell<Vec<(usize, Plans)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The most FFT points whose plans one thread keeps ([`PLANS`]): 2²² (≈ 130 MB of twiddles).
const PLAN_CACHE_POINTS: usize = 1 << 22;

/// The plans of length m (see [`PLANS`]).
fn plans(m: usize) -> Plans {
    PLANS.with(|p| {
        let mut cache = p.borrow_mut();
        if let Some((_, plans)) = cache.iter().find(|(len, _)| *len == m) {
            return plans.clone();
        }
        let mut planner = RealFftPlanner::<f64>::new();
        let plans: Plans = (planner.plan_fft_forward(m), planner.plan_fft_inverse(m));
        let mut kept: usize = cache.iter().map(|(len, _)| len).sum::<usize>() + m;
        while kept > PLAN_CACHE_POINTS && !cache.is_empty() {
            kept -= cache.remove(0).0;
        }
        cache.push((m, plans.clone()));
        plans
    })
}

/// The inverse real FFT of `spec` (unnormalised); the DC and Nyquist terms of a real signal's
/// spectrum are real, so their imaginary rounding noise is dropped first.
fn inverse_real(inv: &dyn realfft::ComplexToReal<f64>, spec: &mut [Complex<f64>]) -> Vec<f64> {
    let last = spec.len() - 1;
    spec[0] = Complex::new(spec[0].re, 0.0);
    spec[last] = Complex::new(spec[last].re, 0.0);
    let mut out = inv.make_output_vec();
    inv.process(spec, &mut out)
        .expect("invariant: buffers made by the planner");
    out
}

/// FFT convolution under a grid budget (plans are cached per thread and length).
pub struct Convolver {
    limits: Limits,
}

impl std::fmt::Debug for Convolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Convolver")
            .field("limits", &self.limits)
            .finish()
    }
}

/// Smallest even 2^a·3^b ≥ n.
/// A grid coordinate k = x/h (already rounded) as an index, saturated at ±9·10¹⁵: an ε far beyond
/// the grid (ε = 1e18 and up) made `as i64` saturate at i64::MAX and the index arithmetic after it
/// overflow (a panic in the release build, whose overflow checks are on). Grid offsets and lengths
/// stay far below the bound, so a saturated index still compares beyond every grid point.
pub(crate) fn grid_index(k: f64) -> i64 {
    k.clamp(-9e15, 9e15) as i64
}

fn fft_len(n: usize) -> usize {
    let mut best = n.next_power_of_two().max(2);
    let mut p3 = 1usize;
    while p3 < best {
        let mut m = p3;
        while m < n || m % 2 == 1 {
            m *= 2;
        }
        best = best.min(m);
        p3 *= 3;
    }
    best
}

impl Convolver {
    /// A convolver bounded by `limits`.
    pub fn new(limits: Limits) -> Self {
        Convolver { limits }
    }

    fn check(&self, what: &str, needed: usize) -> Result<()> {
        if needed > self.limits.max_points {
            return Err(Error::BudgetExceeded {
                what: what.to_string(),
                needed: format!("{needed} grid points"),
                budget: crate::accountant::pld::grid_budget_text(self.limits.max_points, ""),
            });
        }
        Ok(())
    }

    /// The law of the sum: a ∗ b (with +∞ absorbing), with error bounds propagated.
    ///
    /// # Errors
    /// [`Error::BudgetExceeded`] when the result would exceed the grid budget.
    pub fn convolve(&mut self, a: &Pmf, b: &Pmf) -> Result<Pmf> {
        debug_assert_eq!(a.rounding, b.rounding);
        let len = a.len() + b.len() - 1;
        self.check("PLD convolution", len)?;
        let (n1a, n2a) = a.norms();
        let (n1b, n2b) = b.norms();
        let masses = if a.len().min(b.len()) <= 32 {
            // Direct convolution: exact up to one rounding per product and the sums.
            let mut out = vec![0.0; len];
            for (i, &x) in a.masses.iter().enumerate() {
                if x == 0.0 {
                    continue;
                }
                for (j, &y) in b.masses.iter().enumerate() {
                    out[i + j] += x * y;
                }
            }
            out
        } else {
            self.fft_convolve(&a.masses, &b.masses, std::ptr::eq(a, b), len)
        };
        let m = fft_len(len) as f64;
        let log2m = m.log2() + 1.0;
        let eta = 8.0 * U;
        let gamma = log2m * eta / (1.0 - log2m * eta);
        let fresh = 4.0 * (gamma + U) * (n2a * n1b + n1a * n2b);
        let la = (a.len() as f64).sqrt();
        let lb = (b.len() as f64).sqrt();
        let err2 = a.err2 * n1b + b.err2 * n1a + fresh;
        let err1 = a.err1 * (n1b + b.inf_mass)
            + b.err1 * (n1a + a.inf_mass)
            + la * a.err2 * b.inf_mass
            + lb * b.err2 * a.inf_mass
            + (a.err1 + la * a.err2) * (b.err1 + lb * b.err2)
            + 4.0 * U;
        let inf_mass = a.inf_mass + b.inf_mass - a.inf_mass * b.inf_mass;
        let mut out = Pmf {
            h: a.h,
            offset: a.offset + b.offset,
            masses,
            inf_mass,
            rounding: a.rounding,
            err2,
            err1,
            lifted: a.lifted + b.lifted,
            log_mgf: if a.log_mgf.len() == b.log_mgf.len() {
                a.log_mgf
                    .iter()
                    .zip(&b.log_mgf)
                    .map(|(x, y)| x + y)
                    .collect()
            } else {
                Vec::new()
            },
        };
        out.trim();
        Ok(out)
    }

    fn fft_convolve(&mut self, a: &[f64], b: &[f64], same: bool, len: usize) -> Vec<f64> {
        let m = fft_len(len);
        let (fwd, inv) = plans(m);
        let mut buf = fwd.make_input_vec();
        buf[..a.len()].copy_from_slice(a);
        let mut spec_a = fwd.make_output_vec();
        fwd.process(&mut buf, &mut spec_a)
            .expect("invariant: buffers made by the planner");
        if same {
            for z in spec_a.iter_mut() {
                *z = *z * *z;
            }
        } else {
            buf.iter_mut().for_each(|x| *x = 0.0);
            buf[..b.len()].copy_from_slice(b);
            let mut spec_b = fwd.make_output_vec();
            fwd.process(&mut buf, &mut spec_b)
                .expect("invariant: buffers made by the planner");
            for (x, y) in spec_a.iter_mut().zip(spec_b.iter()) {
                *x *= *y;
            }
        }
        let mut out = inverse_real(inv.as_ref(), &mut spec_a);
        let scale = 1.0 / m as f64;
        out.truncate(len);
        for x in out.iter_mut() {
            // True masses are ≥ 0: clamping never increases the error.
            *x = (*x * scale).max(0.0);
        }
        out
    }

    /// The `n`-fold composition of `p` by one FFT: the spectrum of `p` (zero-padded to a
    /// length M covering a window [A, B] of the n-fold law) is raised to the n-th power
    /// pointwise and transformed back (as dp_accounting does), 2 FFTs instead of ~2·log₂n
    /// growing ones. Needs [`Pmf::log_mgf`] (`None` otherwise, or when n < 2).
    ///
    /// The window comes from Chernoff bounds on the exact n-fold law (ln E[e^{±λS_n}] =
    /// n·ln E[e^{±λS_1}]): tails T_lo, T_up ≤ τ/2 each. The circular convolution folds those
    /// tails into the window: the lower tail lands above its true place (a move up), the upper
    /// tail below it, so T_up is added to the +∞ atom (the folded copy is then surplus
    /// mass, harmless for the upper bound) and T_lo + T_up to `lifted` (what a lower reading
    /// subtracts).
    ///
    /// Errors (ℓ2, normalised DFT): the forward FFT gives spectral error ≤ γ‖a‖₂ (Higham,
    /// Thm 24.2); |z^n − w^n| ≤ n|z − w|·max(|z|, |w|)^{n−1} with |ŵ| ≤ ‖a‖₁ turns it into
    /// n·γ‖a‖₂·g, g = (‖a‖₁ + γ√M‖a‖₂)^{n−1}; the power by repeated squaring adds a relative
    /// 8nu (a complex product adds ≤ 2√2u < 4u, Higham Lemma 3.5; by induction the power
    /// has relative error ≤ 4u(2n − 1)), at most 8nu·‖a‖₂·(1 + γ)·g in ℓ2 since
    /// |z|^n ≤ |z|·g; the inverse FFT adds (γ + 2u)·‖a‖₂·g.
    /// Input errors propagate n-fold (Young): err2·n·g, err1·n·g.
    ///
    /// # Errors
    /// [`Error::BudgetExceeded`] when the window exceeds the grid budget.
    pub fn self_compose_power(&mut self, p: &Pmf, n: u64, tau: f64) -> Result<Option<Pmf>> {
        if p.log_mgf.len() != 2 * MGF_ORDERS || n < 2 || n > u32::MAX as u64 || p.len() < 2 {
            return Ok(None);
        }
        let nf = n as f64;
        let h = p.h;
        let lt = (0.5 * tau).ln();
        let (mut s_up, mut s_dn) = (f64::INFINITY, f64::NEG_INFINITY);
        for j in 0..MGF_ORDERS {
            let lam = mgf_lambda(j);
            s_up = s_up.min((nf * p.log_mgf[j] - lt) / lam);
            s_dn = s_dn.max((lt - nf * p.log_mgf[MGF_ORDERS + j]) / lam);
        }
        let full_lo = n as i64 * p.offset;
        let full_hi = n as i64 * (p.offset + p.len() as i64 - 1);
        let k_lo = ((s_dn / h).floor().clamp(-9e15, 9e15) as i64).max(full_lo);
        let k_hi = ((s_up / h).ceil().clamp(-9e15, 9e15) as i64).min(full_hi);
        if k_hi <= k_lo {
            return Ok(None);
        }
        let len = (k_hi - k_lo + 1) as usize;
        self.check("PLD composition window", len.max(p.len()))?;
        let m = fft_len(len.max(p.len()));
        let t_up = if k_hi < full_hi {
            (0..MGF_ORDERS)
                .map(|j| (nf * p.log_mgf[j] - mgf_lambda(j) * (k_hi as f64 * h)).exp())
                .fold(f64::INFINITY, f64::min)
                * (1.0 + 1e-12)
        } else {
            0.0
        };
        let t_lo = if k_lo > full_lo {
            (0..MGF_ORDERS)
                .map(|j| (nf * p.log_mgf[MGF_ORDERS + j] + mgf_lambda(j) * (k_lo as f64 * h)).exp())
                .fold(f64::INFINITY, f64::min)
                * (1.0 + 1e-12)
        } else {
            0.0
        };
        let (fwd, inv) = plans(m);
        let mut buf = fwd.make_input_vec();
        buf[..p.len()].copy_from_slice(&p.masses);
        let mut spec = fwd.make_output_vec();
        fwd.process(&mut buf, &mut spec)
            .expect("invariant: buffers made by the planner");
        let e32 = n as u32;
        for z in spec.iter_mut() {
            *z = z.powu(e32);
        }
        let out = inverse_real(inv.as_ref(), &mut spec);
        let scale = 1.0 / m as f64;
        let shift = n as i64 * p.offset;
        let mf = m as i64;
        let masses: Vec<f64> = (k_lo..=k_hi)
            .map(|k| (out[(k - shift).rem_euclid(mf) as usize] * scale).max(0.0))
            .collect();
        // Error bounds.
        let (n1, n2) = p.norms();
        let log2m = (m as f64).log2() + 1.0;
        let eta = 8.0 * U;
        let gamma = log2m * eta / (1.0 - log2m * eta);
        let la = (p.len() as f64).sqrt();
        let growth = |x: f64| ((nf - 1.0) * x.ln()).exp();
        let g = growth(n1 + gamma * (m as f64).sqrt() * n2 + p.err1 + la * p.err2);
        // 8.1: the 8nu of the power with 1% for second-order terms.
        let fresh = nf * gamma * n2 * g
            + 8.1 * nf * U * n2 * (1.0 + gamma) * g
            + (gamma + 2.0 * U) * n2 * g;
        let err2 = p.err2 * nf * g + fresh;
        let junk = t_lo + t_up;
        // The n-fold law's mass outside [k_lo, k_hi] (at most `junk`, by Chernoff) wraps
        // around the length-m cyclic transform into the window: an ℓ1 error of at most junk.
        let err1 = p.err1 * nf * g + 4.0 * U + junk;
        let inf_fin = -(nf * (-p.inf_mass).ln_1p()).exp_m1();
        let mut log_mgf: Vec<f64> = p.log_mgf.iter().map(|x| nf * x).collect();
        if junk > 0.0 {
            let lj = junk.ln();
            let (s_lo, s_hi) = (k_lo as f64 * h, k_hi as f64 * h);
            for j in 0..MGF_ORDERS {
                let lam = mgf_lambda(j);
                log_mgf[j] = log_add(log_mgf[j], lj + lam * s_hi);
                log_mgf[MGF_ORDERS + j] = log_add(log_mgf[MGF_ORDERS + j], lj - lam * s_lo);
            }
        }
        // Pessimistic: the upper tail goes to +∞ and the lower tail is lifted to the first
        // kept point (both raise δ). Optimistic: both tails are dropped (both lower δ); its
        // +∞ mass, if any, is kept as computed, rounded down.
        let mut masses = masses;
        let inf_mass = match p.rounding {
            Rounding::Pessimistic => {
                if let Some(m0) = masses.first_mut() {
                    *m0 += t_lo;
                }
                inf_fin * (1.0 + 4.0 * U) + t_up
            }
            Rounding::Optimistic => inf_fin * (1.0 - 4.0 * U),
        };
        let mut r = Pmf {
            h,
            offset: k_lo,
            masses,
            inf_mass,
            rounding: p.rounding,
            err2,
            err1,
            lifted: nf * p.lifted + junk,
            log_mgf,
        };
        r.trim();
        Ok(Some(r))
    }

    /// The `n`-fold composition of `p` by repeated squaring. A truncation of mass τ' in an
    /// m-fold intermediate enters the result n/m times, so the m-fold squares are truncated at
    /// τ·m/n and the partial products at τ, each divided among the levels: the total
    /// truncated mass stays ≤ 2τ.
    ///
    /// # Errors
    /// [`Error::BudgetExceeded`] when an intermediate grid exceeds the budget.
    pub fn self_compose(&mut self, p: &Pmf, n: u64, tau: f64) -> Result<Pmf> {
        let levels = (64 - n.leading_zeros()).max(1) as f64;
        let mut fold = 1u64;
        let mut result: Option<Pmf> = None;
        let mut base = p.clone();
        let mut k = n;
        loop {
            if k & 1 == 1 {
                result = Some(match result {
                    None => base.clone(),
                    Some(r) => {
                        let mut c = self.convolve(&r, &base)?;
                        c.truncate(tau / levels);
                        c
                    }
                });
            }
            k >>= 1;
            if k == 0 {
                break;
            }
            let mut sq = self.convolve(&base, &base)?;
            fold *= 2;
            sq.truncate(tau * fold as f64 / n as f64 / levels);
            base = sq;
        }
        Ok(result.unwrap_or_else(|| Pmf::identity(p.h, p.rounding)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_cache_stays_bounded_and_a_replanned_length_gives_the_same_fft() {
        let signal: Vec<f64> = (0..4096)
            .map(|i| ((i * 7919) % 1013) as f64 / 1013.0)
            .collect();
        let fft = |m: usize| {
            let (fwd, _) = plans(m);
            let mut x = signal[..m].to_vec();
            let mut out = fwd.make_output_vec();
            fwd.process(&mut x, &mut out)
                .expect("invariant: buffers made by the planner");
            out
        };
        let before = fft(4096);
        // Lengths adding up to several times the bound: the cache keeps at most the bound
        // (plus the newest length), and 4096 is planned anew.
        for k in 0..40 {
            let _ = plans(PLAN_CACHE_POINTS / 8 + 2 * k);
            let kept: usize = PLANS.with(|p| p.borrow().iter().map(|(m, _)| m).sum());
            assert!(
                kept <= PLAN_CACHE_POINTS + PLAN_CACHE_POINTS / 8 + 80,
                "{kept}"
            );
        }
        assert!(PLANS.with(|p| p.borrow().iter().all(|(m, _)| *m != 4096)));
        assert_eq!(fft(4096), before);
    }

    #[test]
    fn fft_length_is_smooth_and_large_enough() {
        for n in [1usize, 2, 3, 5, 17, 100, 1000, 4097, 100_001] {
            let m = fft_len(n);
            assert!(m >= n && m % 2 == 0, "{n} -> {m}");
            let mut r = m;
            while r % 2 == 0 {
                r /= 2;
            }
            while r % 3 == 0 {
                r /= 3;
            }
            assert_eq!(r, 1, "{m}");
        }
    }

    #[test]
    fn fft_and_direct_convolution_agree_within_the_error_bound() {
        let p = loss::LossLaw::SubsampledRemove { q: 0.1, mu: 1.0 }.discretise(
            1e-2,
            1e-18,
            Rounding::Pessimistic,
        );
        let mut c = Convolver::new(Limits {
            max_points: 1 << 22,
        });
        let fft = c.convolve(&p, &p).expect("test setup");
        let mut direct = vec![0.0; 2 * p.len() - 1];
        for (i, x) in p.masses.iter().enumerate() {
            for (j, y) in p.masses.iter().enumerate() {
                direct[i + j] += x * y;
            }
        }
        let off = (fft.offset - 2 * p.offset) as usize;
        let l2: f64 = fft
            .masses
            .iter()
            .enumerate()
            .map(|(i, x)| (x - direct[i + off]).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(l2 <= fft.err2, "{l2:e} > bound {:e}", fft.err2);
        assert!(fft.err2 < 1e-13, "{:e}", fft.err2);
    }

    #[test]
    fn power_and_repeated_squaring_agree_within_their_error_bounds() {
        let p = loss::LossLaw::SubsampledRemove { q: 0.01, mu: 1.25 }
            .discretise_connect_dots(1e-3, 1e-14)
            .expect("no atoms");
        let mut c = Convolver::new(Limits {
            max_points: 1 << 22,
        });
        let sq = c.self_compose(&p, 300, 1e-12).expect("fits");
        let pw = c
            .self_compose_power(&p, 300, 1e-12)
            .expect("fits")
            .expect("MGF bounds known");
        for eps in [0.0, 0.5, 1.0, 2.0] {
            let (a, b) = (sq.delta_raw(eps), pw.delta_raw(eps));
            // Tolerance: both error bounds plus the truncated and surplus masses of both.
            let tol = sq.error_bound_at(eps)
                + pw.error_bound_at(eps)
                + sq.inf_mass
                + pw.inf_mass
                + sq.lifted
                + pw.lifted;
            assert!(
                (a - b).abs() <= tol,
                "eps {eps}: {a:e} vs {b:e} (tol {tol:e})"
            );
        }
    }

    /// A convolution's bits do not depend on which FFT lengths this thread planned before.
    #[test]
    fn convolution_is_independent_of_planning_history() {
        let p = loss::LossLaw::SubsampledRemove { q: 0.05, mu: 1.1 }
            .discretise_connect_dots(3e-3, 1e-14)
            .expect("no atoms");
        let run = move || {
            let mut c = Convolver::new(Limits {
                max_points: 1 << 22,
            });
            let sq = c.convolve(&p, &p).expect("fits");
            let pw = c.self_compose_power(&p, 77, 1e-12).expect("fits");
            (sq.masses, pw.expect("MGF bounds known").masses)
        };
        let run2 = run.clone();
        let first = std::thread::spawn(run2).join().expect("thread");
        let after_others = std::thread::spawn(move || {
            for m in [96usize, 192, 384, 768, 1536, 3072, 6144, 12288, 4608, 9216] {
                let _ = plans(m);
            }
            run()
        })
        .join()
        .expect("thread");
        assert!(first == after_others);
    }

    #[test]
    fn budget_is_enforced() {
        let p = loss::LossLaw::Gaussian { mu: 1.0 }.discretise(1e-3, 1e-18, Rounding::Optimistic);
        let mut c = Convolver::new(Limits { max_points: 1000 });
        let e = c.convolve(&p, &p).unwrap_err();
        assert!(matches!(e, Error::BudgetExceeded { .. }), "{e}");
    }
}
