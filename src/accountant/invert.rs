//! Inverting a δ(ε) curve: ε(δ) = the smallest ε ≥ 0 with δ(ε) ≤ δ (MATH.md §1), found by a
//! grid scan for the first crossing and a root finder inside that bracket.
//!
//! The true privacy curve is non-increasing, but approximations need not be; the scan reports
//! when the curve was seen to increase. For a certified upper-bound curve δ_up ≥ δ the first
//! crossing is a certified upper bound on ε (the true curve is monotone), and for a lower-bound
//! curve the first crossing found is a lower bound provided the curve has no dip below δ
//! between grid points before it (true for the monotone bound curves of this crate).

use crate::error::{Error, Result};
use crate::special::roots::{bisect_bracket, brent};

/// Which end of the final bracket to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// Brent's iterate (for estimates).
    Root,
    /// The end where δ(ε) ≤ δ: with an upper-bound curve this is a certified upper bound on ε.
    Upper,
    /// The end where δ(ε) > δ: with a lower-bound curve this is a certified lower bound on ε.
    Lower,
}

/// The result of an inversion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inversion {
    /// ε.
    pub epsilon: f64,
    /// Whether δ(ε) was non-increasing at every grid point scanned.
    pub monotone: bool,
    /// Number of δ(ε) evaluations.
    pub evaluations: usize,
}

/// Largest ε searched.
pub const EPSILON_MAX: f64 = 1e4;

/// Solve δ(ε) = δ on the monotone envelope.
///
/// `guess` is a starting scale for the upper end (any positive value works); `xtol` the
/// absolute tolerance on ε. `curve` may fail (e.g. an invalid series); failures propagate.
///
/// # Errors
/// [`Error::NoSolution`] when δ(ε) > δ up to ε = [`EPSILON_MAX`].
pub fn epsilon_for_delta(
    mut curve: impl FnMut(f64) -> Result<f64>,
    delta: f64,
    guess: f64,
    xtol: f64,
    pick: Pick,
) -> Result<Inversion> {
    let evals = std::cell::Cell::new(0usize);
    let mut f = |e: f64| -> Result<f64> {
        evals.set(evals.get() + 1);
        curve(e)
    };
    let d0 = f(0.0)?;
    if d0 <= delta {
        // ε = 0 by definition; but an approximation may rise above δ later (non-monotone):
        // scan to the guessed scale so that callers can report it.
        let span = if guess.is_finite() && guess > 0.0 {
            2.0 * guess
        } else {
            2.0
        };
        let mut monotone = true;
        for i in 1..=12 {
            if f(span * i as f64 / 12.0)? > delta {
                monotone = false;
                break;
            }
        }
        return Ok(Inversion {
            epsilon: 0.0,
            monotone,
            evaluations: evals.get(),
        });
    }
    let mut hi = if guess.is_finite() && guess > 0.0 {
        guess * 1.5
    } else {
        1.0
    };
    let mut dhi = f(hi)?;
    while dhi > delta {
        hi *= 2.0;
        if hi > EPSILON_MAX {
            return Err(Error::NoSolution(format!(
                "delta({EPSILON_MAX:e}) is still above {delta:e}"
            )));
        }
        dhi = f(hi)?;
    }
    // Grid scan for the last crossing.
    const N: usize = 12;
    let mut monotone = true;
    let mut prev = d0;
    let mut last_above = 0.0;
    let mut first_below_after = hi;
    let mut vals = Vec::with_capacity(N);
    for i in 1..N {
        let x = hi * i as f64 / N as f64;
        let v = f(x)?;
        if v > prev * (1.0 + 1e-12) + 1e-300 {
            monotone = false;
        }
        prev = v;
        vals.push((x, v));
    }
    if dhi > prev * (1.0 + 1e-12) + 1e-300 {
        monotone = false;
    }
    for &(x, v) in &vals {
        if v <= delta {
            first_below_after = x;
            break;
        }
        last_above = x;
    }
    let (a, b) = (last_above, first_below_after);
    let ln_delta = delta.ln();
    let epsilon = match pick {
        Pick::Root => brent(
            |e| {
                let v = f(e)?;
                Ok(if v > 0.0 { v.ln() - ln_delta } else { -1e3 })
            },
            a,
            b,
            xtol,
            200,
        )?,
        Pick::Upper | Pick::Lower => {
            let (lo, hi) = bisect_bracket(|e| Ok(f(e)? <= delta), a, b, xtol, 200)?;
            if pick == Pick::Upper {
                hi
            } else {
                lo
            }
        }
    };
    Ok(Inversion {
        epsilon,
        monotone,
        evaluations: evals.get(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverts_a_monotone_curve_and_flags_a_bumpy_one() {
        let r = epsilon_for_delta(|e| Ok((-e).exp()), 1e-3, 1.0, 1e-12, Pick::Root)
            .expect("test setup");
        assert!((r.epsilon - 1e3f64.ln()).abs() < 1e-10 && r.monotone);
        let up = epsilon_for_delta(|e| Ok((-e).exp()), 1e-3, 1.0, 1e-9, Pick::Upper)
            .expect("test setup");
        assert!((-up.epsilon).exp() <= 1e-3 && up.epsilon - 1e3f64.ln() < 1e-9);
        let lo = epsilon_for_delta(|e| Ok((-e).exp()), 1e-3, 1.0, 1e-9, Pick::Lower)
            .expect("test setup");
        assert!((-lo.epsilon).exp() > 1e-3);
        // A bump above δ at ε ≈ 5 after an earlier crossing near 2.3: the first crossing is
        // returned and the curve is flagged.
        let bumpy = |e: f64| Ok((-e).exp() + 0.2 * (-(e - 5.0) * (e - 5.0) * 4.0).exp());
        let r = epsilon_for_delta(bumpy, 0.1, 4.0, 1e-12, Pick::Root).expect("test setup");
        assert!(!r.monotone);
        assert!((r.epsilon - 10f64.ln()).abs() < 1e-6, "{}", r.epsilon);
        assert!(epsilon_for_delta(|_| Ok(0.5), 0.1, 1.0, 1e-9, Pick::Root).is_err());
        // Below δ at 0 but rising above it later: ε = 0, flagged as not monotone.
        let r = epsilon_for_delta(
            |e| Ok(0.2 * (-(e - 1.0) * (e - 1.0)).exp()),
            0.1,
            1.0,
            1e-9,
            Pick::Root,
        )
        .expect("test setup");
        assert_eq!(r.epsilon, 0.0);
        assert!(!r.monotone);
    }
}
