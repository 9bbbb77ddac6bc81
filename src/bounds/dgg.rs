//! The Derumigny–Girard–Guyonvarch (DGG) bounds on the first-order Edgeworth error, without the
//! continuity assumption (docs/math.md §5).
//!
//! For independent centred X_1..X_n with finite fourth moments, B̄² = (1/n)Σ E X_i²,
//! λ3 = (1/n)Σ E X_i³/B̄³, K3 = (1/n)Σ E|X_i|³/B̄³, K4 = (1/n)Σ E X_i⁴/B̄⁴ and
//! K̃3 = K3 + (1/n)Σ E|X_i|·E X_i²/B̄³, the bound δ_n satisfies
//!
//! ```text
//! sup_x |P(S_n ≤ x) − Φ(x) − λ3(1 − x²)φ(x)/(6√n)| ≤ δ_n,   S_n = Σ X_i / (√n B̄),
//! ```
//!
//! for every η ∈ (0, 1/3). Four setups: identically distributed (iid) or not (inid), with or
//! without skewness (unskewed: λ3 = 0 is assumed and the skewness terms vanish). The formulas
//! are those of docs/math.md §5 (iid, skewed) and, for the other setups, of the same paper's
//! Theorems A.2–A.3 (eqs. (11), (12), (17), (18)). The Berry–Esseen-type bound
//! sup_x |P(S_n ≤ x) − Φ(x)| ≤ δ_n + |λ3|φ(0)/(6√n) follows by the triangle inequality.
//!
//! # Guarantee
//! Every input is an upper bound on the corresponding moment ratio (the theorems hold for any
//! upper bounds), the formula is evaluated in MPFR interval arithmetic with outward rounding
//! (constants built from their decimal strings, Γ and the upper incomplete Γ correctly
//! rounded), and the result is the upper end rounded up to f64. The continuity version (rate
//! 1/n, needing a bound on the characteristic function) is not implemented.
//!
//! # References
//! Derumigny, Girard, Guyonvarch, *Explicit non-asymptotic bounds for the distance to the
//! first-order Edgeworth expansion*, Sankhya A 86 (2024) 261–336, arXiv 2101.05780,
//! Theorem 2.1 and Theorems A.2 (inid) and A.3 (iid); Berry–Esseen form: their Corollary 2.3.

use super::iv::{abs, dec, div, gamma, gamma_upper, min, pi, powf, pt, sqrt, sum};
use crate::error::{Error, Result};
use crate::precision::Interval;
use serde::Serialize;

/// The default free parameter η.
pub const DEFAULT_ETA: f64 = 0.1;

/// Which DGG theorem applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DggSetup {
    /// Identically distributed summands (Theorem A.3) or not (Theorem A.2).
    pub iid: bool,
    /// The summands are unskewed (E X_i³ = 0): the skewness terms vanish.
    pub unskewed: bool,
}

/// Moment ratios entering the bound (each an upper bound on the true ratio).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DggInputs {
    /// Number of summands n ≥ 1.
    pub n: f64,
    /// K4 = (1/n)Σ E X_i⁴ / B̄⁴ (≥ 1).
    pub k4: f64,
    /// K3 = (1/n)Σ E|X_i|³ / B̄³.
    pub k3: f64,
    /// |λ3| (ignored when unskewed).
    pub lambda3: f64,
    /// K̃3.
    pub k3_tilde: f64,
}

impl DggInputs {
    /// Inputs derived from K4 alone, as in the paper (§2.1): K3 = K4^{3/4} (Lyapunov),
    /// |λ3| = 0.621·K3 (Pinelis 2011), K̃3 = K3 + 1 (iid) or 2·K3 (inid). Each is rounded up.
    ///
    /// # Errors
    /// As [`DggInputs::validate`].
    pub fn from_k4(n: f64, k4: f64, iid: bool) -> Result<Self> {
        crate::error::Range::at_least(1.0).check("k4", k4)?;
        let k3 = powf(&pt(k4), 0.75).hi_f64();
        let lambda3 = dec("0.621").mul(&pt(k3)).hi_f64();
        let k3_tilde = if iid {
            pt(k3).add(&pt(1.0)).hi_f64()
        } else {
            pt(k3).add(&pt(k3)).hi_f64()
        };
        let i = DggInputs {
            n,
            k4,
            k3,
            lambda3,
            k3_tilde,
        };
        i.validate()?;
        Ok(i)
    }

    /// Check ranges.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `n` (≥ 1), `k4` (≥ 1), `k3` (> 0), `lambda3`
    /// (finite), `k3_tilde` (> 0).
    pub fn validate(&self) -> Result<()> {
        crate::error::Range::at_least(1.0).check("n", self.n)?;
        crate::error::Range::at_least(1.0).check("k4", self.k4)?;
        crate::error::Range::above(0.0).check("k3", self.k3)?;
        crate::error::Range::finite().check("lambda3", self.lambda3)?;
        crate::error::Range::above(0.0).check("k3_tilde", self.k3_tilde)?;
        Ok(())
    }
}

/// A computed DGG bound.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DggBound {
    /// Upper bound on sup_x |P(S_n ≤ x) − Φ(x) − λ3(1 − x²)φ(x)/(6√n)| (rounded up;
    /// +∞ where the theorem gives nothing, see [`DggBound::vacuous`]).
    pub edgeworth: f64,
    /// Upper bound on sup_x |P(S_n ≤ x) − Φ(x)| (Berry–Esseen type).
    pub berry_esseen: f64,
    /// The η used.
    pub eta: f64,
    /// True when the bound is ≥ 1 (a CDF distance never exceeds 1) or undefined.
    pub vacuous: bool,
}

/// The DGG bound at a given η ∈ (0, 1/3).
///
/// # Errors
/// [`Error::InvalidParameter`] for invalid inputs or η ∉ (0, 1/3).
pub fn dgg_bound(setup: DggSetup, inputs: &DggInputs, eta: f64) -> Result<DggBound> {
    inputs.validate()?;
    crate::error::Range::open(0.0, 1.0 / 3.0).check("eta", eta)?;
    let e = edgeworth_term(setup, inputs, eta);
    let value = match &e {
        Some(v) => v.hi_f64(),
        None => f64::INFINITY,
    };
    let be = match e {
        Some(v) if !setup.unskewed => {
            // + |λ3| φ(0) / (6√n), φ(0) = 1/√(2π).
            let two_pi = pi().mul(&pt(2.0));
            let phi0 = div(&pt(1.0), &sqrt(&two_pi));
            let extra = div(
                &abs(&pt(inputs.lambda3)).mul(&phi0),
                &pt(6.0).mul(&sqrt(&pt(inputs.n))),
            );
            v.add(&extra).hi_f64()
        }
        Some(_) => value,
        None => f64::INFINITY,
    };
    Ok(DggBound {
        edgeworth: value,
        berry_esseen: be,
        eta,
        vacuous: value.is_nan() || value >= 1.0,
    })
}

/// The DGG bound minimised over η on a grid of (0, 1/3) refined by golden-section search;
/// the returned bound is certified at the η found (any η gives a valid bound).
///
/// # Errors
/// As [`dgg_bound`].
pub fn dgg_bound_optimized(setup: DggSetup, inputs: &DggInputs) -> Result<DggBound> {
    inputs.validate()?;
    let f = |eta: f64| -> f64 {
        edgeworth_term(setup, inputs, eta)
            .map(|v| v.hi_f64())
            .unwrap_or(f64::INFINITY)
    };
    let hi_end = 1.0 / 3.0;
    let mut best = (DEFAULT_ETA, f(DEFAULT_ETA));
    let grid = 32;
    for i in 1..grid {
        let eta = hi_end * i as f64 / grid as f64;
        let v = f(eta);
        if v < best.1 {
            best = (eta, v);
        }
    }
    // Golden section around the best grid point.
    let step = hi_end / grid as f64;
    let (mut a, mut b) = (
        (best.0 - step).max(1e-6),
        (best.0 + step).min(hi_end - 1e-6),
    );
    let g = 0.5 * (5f64.sqrt() - 1.0);
    for _ in 0..40 {
        let c = b - g * (b - a);
        let d = a + g * (b - a);
        if f(c) < f(d) {
            b = d;
        } else {
            a = c;
        }
    }
    let cand = 0.5 * (a + b);
    if f(cand) < best.1 {
        best = (cand, f(cand));
    }
    dgg_bound(setup, inputs, best.0)
}

/// The quantities shared by the iid and inid forms of the bound (docs/math.md §5.2–5.3):
/// the inputs as intervals, the main term and the 81.2376 and 4.3394 terms, ℓ and e3(η).
struct Common {
    n: Interval,
    k4: Interval,
    k3: Interval,
    l3: Interval,
    kt: Interval,
    eta_i: Interval,
    one: Interval,
    pi_: Interval,
    c: Interval,
    sqrt_n: Interval,
    om2: Interval,
    main: Interval,
    n2: Interval,
    t81: Interval,
    t43: Interval,
    two_sqrt_n_kt: Interval,
    ell: Interval,
    eta2: Interval,
    e3: Interval,
    skew: bool,
}

impl Common {
    fn new(setup: DggSetup, i: &DggInputs, eta: f64) -> Self {
        let n = pt(i.n);
        let k4 = pt(i.k4);
        let k3 = pt(i.k3);
        let l3 = abs(&pt(i.lambda3));
        let kt = pt(i.k3_tilde);
        let eta_i = pt(eta);
        let one = pt(1.0);
        let pi_ = pi();
        let c = dec("1.0253");
        let sqrt_n = sqrt(&n);
        let one_m3 = one.sub(&pt(3.0).mul(&eta_i)); // 1 − 3η
        let om2 = one_m3.mul(&one_m3); // (1 − 3η)²

        // Main term: 0.1995 K̃3/√n + [0.031 K̃3² + 0.327 K4 (1/12 + 1/(4(1−3η)²))]/n.
        let main = div(&dec("0.1995").mul(&kt), &sqrt_n).add(&div(
            &dec("0.031").mul(&kt.mul(&kt)).add(
                &dec("0.327")
                    .mul(&k4)
                    .mul(&div(&one, &pt(12.0)).add(&div(&one, &pt(4.0).mul(&om2)))),
            ),
            &n,
        ));
        // 81.2376 K̃3⁴/(16π⁴n²).
        let pi4 = pi_.powi(4);
        let n2 = n.mul(&n);
        let kt4 = kt.powi(4);
        let t81 = div(&dec("81.2376").mul(&kt4), &pt(16.0).mul(&pi4).mul(&n2));
        // 4.3394 |λ3| K̃3³/(8π³n²).
        let t43 = div(
            &dec("4.3394").mul(&l3).mul(&kt.powi(3)),
            &pt(8.0).mul(&pi_.powi(3)).mul(&n2),
        );
        // ℓ = min(√(2η)(n/K4)^{1/4}, 2√n/K̃3).
        let two_sqrt_n_kt = div(&pt(2.0).mul(&sqrt_n), &kt);
        let ell = min(
            &sqrt(&pt(2.0).mul(&eta_i)).mul(&powf(&div(&n, &k4), 0.25)),
            &two_sqrt_n_kt,
        );
        // e3(η) = exp(η²/6 + η²/(4(1−3η)²)).
        let eta2 = eta_i.mul(&eta_i);
        let e3 = div(&eta2, &pt(6.0))
            .add(&div(&eta2, &pt(4.0).mul(&om2)))
            .exp();
        let skew = !setup.unskewed;
        Common {
            n,
            k4,
            k3,
            l3,
            kt,
            eta_i,
            one,
            pi_,
            c,
            sqrt_n,
            om2,
            main,
            n2,
            t81,
            t43,
            two_sqrt_n_kt,
            ell,
            eta2,
            e3,
            skew,
        }
    }
}

/// The Edgeworth-error bound as an interval (`None` where the inid Δ of Theorem A.2 is ≤ 0,
/// i.e. K4/n ≥ (1 − 4χ1)², and the theorem gives nothing).
fn edgeworth_term(setup: DggSetup, i: &DggInputs, eta: f64) -> Option<Interval> {
    let t = Common::new(setup, i, eta);
    if setup.iid {
        Some(iid_term(t))
    } else {
        inid_term(t)
    }
}

/// The identically distributed bound (Theorem A.3, docs/math.md §5.2).
fn iid_term(t: Common) -> Interval {
    // P2, e2, W.
    let mut p2 = pt(48.0)
        .mul(&t.eta_i)
        .mul(&sqrt(&div(&t.k4, &t.n)))
        .add(&div(&pt(4.0).mul(&t.eta2).mul(&t.k4), &t.n));
    if t.skew {
        let k4q = powf(&t.k4, 0.25);
        let nq = powf(&t.n, 0.25);
        p2 = sum(&[
            p2,
            div(
                &pt(96.0).mul(&sqrt(&pt(2.0).mul(&t.eta_i))).mul(&t.l3),
                &k4q.mul(&nq),
            ),
            div(
                &pt(32.0).mul(&t.eta_i).mul(&t.l3.mul(&t.l3)),
                &sqrt(&t.k4.mul(&t.n)),
            ),
            div(
                &pt(16.0)
                    .mul(&sqrt(&pt(2.0)))
                    .mul(&k4q)
                    .mul(&t.l3)
                    .mul(&powf(&t.eta_i, 1.5)),
                &powf(&t.n, 0.75),
            ),
        ]);
    }
    let p2_576 = div(&p2, &pt(576.0).mul(&t.om2));
    let e2 = t
        .eta2
        .mul(&sum(&[
            div(&t.one, &pt(6.0)),
            div(&t.one, &pt(2.0).mul(&t.om2)),
            pt(2.0).mul(&p2_576),
        ]))
        .exp();
    let w = sum(&[
        div(&t.k4, &pt(12.0)),
        div(&t.one, &pt(4.0).mul(&t.om2)),
        p2_576.clone(),
    ]);
    // R̄ (docs/math.md §5), D = 2π(1−3η)².
    let d = pt(2.0).mul(&t.pi_).mul(&t.om2);
    let cd = div(&t.c, &d);
    let cpi = div(&t.c, &t.pi_);
    let n15 = t.n.mul(&t.sqrt_n);
    let n25 = t.n2.mul(&t.sqrt_n);
    let n3 = t.n2.mul(&t.n);
    let mut rbar = sum(&[
        cd.mul(&div(&t.k4, &pt(24.0).mul(&t.n2)))
            .mul(&pt(8.0).mul(&gamma(4.0))),
        cd.mul(&div(&t.k4.mul(&t.k4), &pt(576.0).mul(&n3)))
            .mul(&pt(16.0).mul(&gamma(5.0))),
        cpi.mul(&div(&e2, &pt(8.0).mul(&t.n2)))
            .mul(&w)
            .mul(&pt(16.0).mul(&gamma(5.0))),
    ]);
    let two72 = powf(&pt(2.0), 3.5);
    if t.skew {
        rbar = sum(&[
            rbar,
            cd.mul(&div(&t.l3, &pt(6.0).mul(&n15)))
                .mul(&sqrt(&pt(2.0)).mul(&gamma(1.5))),
            cd.mul(&div(&t.l3.mul(&t.l3), &pt(36.0).mul(&t.n2)))
                .mul(&pt(8.0).mul(&gamma(4.0))),
            cd.mul(&div(&t.k4.mul(&t.l3), &pt(72.0).mul(&n25)))
                .mul(&two72.mul(&gamma(4.5))),
            cpi.mul(&div(&e2.mul(&t.l3), &pt(12.0).mul(&n15)))
                .mul(&w)
                .mul(&two72.mul(&gamma(4.5))),
        ]);
    }
    let ell2_8 = div(&t.ell.mul(&t.ell), &pt(8.0));
    let n_2kt2 = div(&t.n, &pt(2.0).mul(&t.kt.mul(&t.kt)));
    if t.skew {
        let skew_main = div(
            &dec("0.054")
                .mul(&t.l3)
                .mul(&t.kt)
                .add(&dec("0.037").mul(&t.e3).mul(&t.l3.mul(&t.l3))),
            &t.n,
        );
        let t1306 = div(
            &dec("1.306").mul(&e2.sub(&t.e3)).mul(&t.l3.mul(&t.l3)),
            &pt(36.0).mul(&t.n),
        );
        let tg1 = div(
            &t.l3
                .mul(&gamma_upper(1.5, &t.ell).sub(&gamma_upper(1.5, &t.two_sqrt_n_kt))),
            &t.sqrt_n,
        );
        let tg2 = div(
            &t.c.mul(&powf(&pt(2.0), 2.5)).mul(&t.k3),
            &pt(3.0).mul(&t.pi_).mul(&t.sqrt_n),
        )
        .mul(&gamma_upper(1.5, &ell2_8).sub(&gamma_upper(1.5, &n_2kt2)));
        sum(&[t.main, skew_main, t.t81, t.t43, rbar, t1306, tg1, tg2])
    } else {
        let tg = div(
            &pt(16.0).mul(&t.c).mul(&t.k4),
            &pt(3.0).mul(&t.pi_).mul(&t.n),
        )
        .mul(&gamma_upper(2.0, &ell2_8).sub(&gamma_upper(2.0, &n_2kt2)));
        sum(&[t.main, t.t81, rbar, tg])
    }
}

/// The non-identically distributed bound (Theorem A.2, docs/math.md §5.3); `None` when Δ ≤ 0.
fn inid_term(t: Common) -> Option<Interval> {
    let mut p1 = div(
        &sum(&[pt(144.0), pt(48.0).mul(&t.eta_i), pt(4.0).mul(&t.eta2)]),
        &pt(576.0),
    );
    if t.skew {
        p1 = p1.add(&div(
            &sum(&[
                pt(96.0).mul(&sqrt(&pt(2.0).mul(&t.eta_i))),
                pt(32.0).mul(&t.eta_i),
                pt(16.0).mul(&sqrt(&pt(2.0))).mul(&powf(&t.eta_i, 1.5)),
            ]),
            &pt(576.0),
        ));
    }
    let e1 = t
        .eta2
        .mul(&div(&t.one, &pt(6.0)).add(&div(&pt(2.0).mul(&p1), &t.om2)))
        .exp();
    let d = t.pi_.mul(&t.om2);
    let r = div(&t.k4, &t.n);
    let v = div(&t.one, &pt(24.0)).add(&div(&p1, &pt(2.0).mul(&t.om2)));
    let mut rbar = sum(&[
        div(&t.c, &pt(48.0).mul(&d))
            .mul(&powf(&r, 1.5))
            .mul(&pt(8.0).mul(&gamma(4.0))),
        div(&t.c, &pt(1152.0).mul(&d))
            .mul(&r.mul(&r))
            .mul(&pt(16.0).mul(&gamma(5.0))),
        div(&t.c.mul(&e1), &pt(2.0).mul(&t.pi_))
            .mul(&r.mul(&r))
            .mul(&v.mul(&v))
            .mul(&pt(16.0).mul(&gamma(5.0))),
    ]);
    if t.skew {
        rbar = sum(&[
            rbar,
            div(&t.c, &pt(12.0).mul(&d))
                .mul(&powf(&r, 1.25))
                .mul(&powf(&pt(2.0), 2.5).mul(&gamma(3.5))),
            div(&t.c, &pt(72.0).mul(&d))
                .mul(&powf(&r, 1.5))
                .mul(&pt(8.0).mul(&gamma(4.0))),
            div(&t.c, &pt(144.0).mul(&d))
                .mul(&powf(&r, 1.75))
                .mul(&powf(&pt(2.0), 3.5).mul(&gamma(4.5))),
            div(&t.c.mul(&e1), &pt(6.0).mul(&t.pi_))
                .mul(&div(&t.l3.mul(&t.k4), &t.n.mul(&t.sqrt_n)))
                .mul(&v)
                .mul(&pt(16.0).mul(&gamma(5.0))),
        ]);
    }
    // Δ = (1 − 4χ1 − √(K4/t.n))/2 and the curly-brace term of eqs. (15)–(16).
    let chi1 = dec("0.09916191");
    let delta = div(&t.one.sub(&pt(4.0).mul(&chi1)).sub(&sqrt(&r)), &pt(2.0));
    if !delta.lo.is_sign_positive() || delta.lo.is_zero() {
        return None;
    }
    let p = if t.skew { 3.0 } else { 4.0 };
    let kt2 = t.kt.mul(&t.kt);
    let x_lo = pt(4.0).mul(&delta).mul(&div(&t.n, &kt2));
    let x_up = pt(2.0).mul(&delta).mul(&min(
        &t.eta_i.mul(&sqrt(&div(&t.n, &t.k4))),
        &pt(2.0).mul(&div(&t.n, &kt2)),
    ));
    // |γ(p/2, x_lo) − γ(p/2, x_up)| = |Γ(p/2, x_up) − Γ(p/2, x_lo)|.
    let brace = div(&t.one, &pt(2.0))
        .mul(&div(&t.one, &powf(&delta, p / 2.0)))
        .mul(&abs(
            &gamma_upper(p / 2.0, &x_up).sub(&gamma_upper(p / 2.0, &x_lo))
        ));
    if t.skew {
        let skew_main = div(
            &dec("0.054")
                .mul(&t.l3)
                .mul(&t.kt)
                .add(&dec("0.037").mul(&e1).mul(&t.l3.mul(&t.l3))),
            &t.n,
        );
        let tg1 = div(
            &t.l3
                .mul(&gamma_upper(1.5, &t.ell).sub(&gamma_upper(1.5, &t.two_sqrt_n_kt))),
            &t.sqrt_n,
        );
        let tb = div(
            &t.c.mul(&t.k3).mul(&brace),
            &pt(6.0).mul(&t.pi_).mul(&t.sqrt_n),
        );
        Some(sum(&[t.main, skew_main, t.t81, t.t43, rbar, tg1, tb]))
    } else {
        let tb = div(&t.c.mul(&t.k4).mul(&brace), &pt(6.0).mul(&t.pi_).mul(&t.n));
        Some(sum(&[t.main, t.t81, rbar, tb]))
    }
}

/// Reject inputs that make no sense before computing (used by the CLI).
///
/// # Errors
/// [`Error::InvalidParameter`] naming `eta`.
pub fn check_eta(eta: f64) -> Result<f64> {
    if eta > 0.0 && eta < 1.0 / 3.0 {
        Ok(eta)
    } else {
        Err(Error::invalid("eta", eta, "must lie in (0, 1/3)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_value_and_monotone_in_n() {
        let s = DggSetup {
            iid: true,
            unskewed: false,
        };
        let b = dgg_bound(
            s,
            &DggInputs::from_k4(1000.0, 9.0, true).expect("test setup"),
            0.1,
        )
        .expect("test setup");
        assert!((b.edgeworth / 0.16268570580505 - 1.0).abs() < 1e-9, "{b:?}");
        let b2 = dgg_bound(
            s,
            &DggInputs::from_k4(1e5, 9.0, true).expect("test setup"),
            0.1,
        )
        .expect("test setup");
        assert!(b2.edgeworth < b.edgeworth);
        let o = dgg_bound_optimized(
            s,
            &DggInputs::from_k4(1000.0, 9.0, true).expect("test setup"),
        )
        .expect("test setup");
        assert!(o.edgeworth <= b.edgeworth);
        assert!(dgg_bound(
            s,
            &DggInputs::from_k4(1000.0, 9.0, true).expect("test setup"),
            0.4
        )
        .is_err());
    }
}
