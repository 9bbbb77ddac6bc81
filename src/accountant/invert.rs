//! Inverting a δ(ε) curve: ε(δ) = the smallest ε ≥ 0 with δ(ε) ≤ δ (docs/math.md §1), found by a
//! grid scan for the crossing and a root finder inside that bracket.
//!
//! The true privacy curve is non-increasing, but approximations need not be; the scan reports
//! when the curve was seen to increase, and estimates are inverted on the monotone envelope
//! (the last crossing: conservative, and the same rule `calibrate` uses). For a certified upper-bound curve δ_up ≥ δ the first
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
    /// For [`Pick::Root`] on a curve seen to be non-monotone: the first crossing (the smallest
    /// ε with δ(ε) ≤ δ), which lies below the reported envelope crossing.
    pub first_crossing: Option<f64>,
    /// Number of δ(ε) evaluations.
    pub evaluations: usize,
}

/// Largest ε searched.
pub const EPSILON_MAX: f64 = 1e4;

/// Grid points of the crossing scan.
const SCAN_POINTS: usize = 12;

/// Solve δ(ε) = δ.
///
/// [`Pick::Root`] (estimates) answers on the **monotone envelope** of the curve: the last
/// crossing found by the scan, i.e. the smallest ε beyond which no scanned point is above δ
/// (conservative where an approximation rises again after falling below δ); the first
/// crossing is then reported in [`Inversion::first_crossing`]. [`Pick::Upper`] and
/// [`Pick::Lower`] (certified bound curves) take the first crossing: for an upper-bound curve
/// any ε with δ_up(ε) ≤ δ bounds the true ε from above, so the first is the tightest.
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
    let scale = if guess.is_finite() && guess > 0.0 {
        guess
    } else {
        1.0 / 1.5
    };
    let d0 = f(0.0)?;
    // A point known to be above δ (0 when δ(0) > δ).
    let mut known_above = None;
    if d0 <= delta {
        // ε = 0 by definition of the first crossing; but an approximation may rise above δ
        // later (non-monotone): scan to the guessed scale.
        let span = 2.0 * scale;
        for i in 1..=SCAN_POINTS {
            let x = span * i as f64 / SCAN_POINTS as f64;
            if f(x)? > delta {
                known_above = Some(x);
                if pick != Pick::Root {
                    break;
                }
            }
        }
        if pick != Pick::Root || known_above.is_none() {
            return Ok(Inversion {
                epsilon: 0.0,
                monotone: known_above.is_none(),
                first_crossing: None,
                evaluations: evals.get(),
            });
        }
    }
    let mut hi = (scale * 1.5).max(known_above.unwrap_or(0.0) * 1.5);
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
    let scan = scan(&mut f, d0, hi, dhi)?;
    let mut monotone = scan.monotone && known_above.is_none();
    let (a, b) = match pick {
        Pick::Root => scan.last_crossing(delta, known_above.unwrap_or(0.0), hi),
        Pick::Upper | Pick::Lower => scan.first_crossing(delta, hi),
    };
    let ln_delta = delta.ln();
    let mut root = |a: f64, b: f64| {
        brent(
            |e| {
                let v = f(e)?;
                Ok(if v > 0.0 { v.ln() - ln_delta } else { -1e3 })
            },
            a,
            b,
            xtol,
            200,
        )
    };
    let (epsilon, first_crossing) = match pick {
        Pick::Root => {
            let e = root(a, b)?;
            let (fa, fb) = scan.first_crossing(delta, hi);
            let first = if d0 <= delta {
                Some(0.0)
            } else if fb < b {
                Some(root(fa, fb)?)
            } else {
                None
            };
            if first.is_some() {
                monotone = false;
            }
            (e, first.filter(|_| !monotone))
        }
        Pick::Upper | Pick::Lower => {
            let (lo, hi) = bisect_bracket(|e| Ok(f(e)? <= delta), a, b, xtol, 200)?;
            (if pick == Pick::Upper { hi } else { lo }, None)
        }
    };
    Ok(Inversion {
        epsilon,
        monotone,
        first_crossing,
        evaluations: evals.get(),
    })
}

/// δ on an even grid of (0, hi).
struct Scan {
    points: Vec<(f64, f64)>,
    monotone: bool,
}

fn scan(f: &mut impl FnMut(f64) -> Result<f64>, d0: f64, hi: f64, dhi: f64) -> Result<Scan> {
    let mut monotone = true;
    let mut prev = d0;
    let mut points = Vec::with_capacity(SCAN_POINTS);
    for i in 1..SCAN_POINTS {
        let x = hi * i as f64 / SCAN_POINTS as f64;
        let v = f(x)?;
        if v > prev * (1.0 + 1e-12) + 1e-300 {
            monotone = false;
        }
        prev = v;
        points.push((x, v));
    }
    if dhi > prev * (1.0 + 1e-12) + 1e-300 {
        monotone = false;
    }
    Ok(Scan { points, monotone })
}

impl Scan {
    /// (last point above δ before the first point at or below it, that point).
    fn first_crossing(&self, delta: f64, hi: f64) -> (f64, f64) {
        let mut a = 0.0;
        for &(x, v) in &self.points {
            if v <= delta {
                return (a, x);
            }
            a = x;
        }
        (a, hi)
    }

    /// (last point above δ, at least `floor`; the next grid point or `hi`): every scanned point
    /// beyond the bracket is at or below δ.
    fn last_crossing(&self, delta: f64, floor: f64, hi: f64) -> (f64, f64) {
        let a = self
            .points
            .iter()
            .filter(|&&(_, v)| v > delta)
            .map(|&(x, _)| x)
            .fold(floor, f64::max);
        let b = self
            .points
            .iter()
            .map(|&(x, _)| x)
            .find(|&x| x > a)
            .unwrap_or(hi);
        (a, b)
    }
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
        // A bump above δ at ε ≈ 5 after an earlier crossing near 2.3: the envelope (last)
        // crossing past the bump is returned, the first one is reported beside it, and the
        // curve is flagged.
        let bump = |e: f64| (-e).exp() + 0.2 * (-(e - 5.0) * (e - 5.0) * 4.0).exp();
        let r =
            epsilon_for_delta(|e| Ok(bump(e)), 0.1, 4.0, 1e-12, Pick::Root).expect("test setup");
        assert!(!r.monotone);
        assert!(
            r.epsilon > 5.0 && (bump(r.epsilon) / 0.1 - 1.0).abs() < 1e-9,
            "{}",
            r.epsilon
        );
        let first = r
            .first_crossing
            .expect("a first crossing below the envelope");
        assert!((first - 10f64.ln()).abs() < 1e-6, "{first}");
        // The certified picks keep the first crossing.
        let up =
            epsilon_for_delta(|e| Ok(bump(e)), 0.1, 4.0, 1e-12, Pick::Upper).expect("test setup");
        assert!((up.epsilon - 10f64.ln()).abs() < 1e-6, "{}", up.epsilon);
        assert!(epsilon_for_delta(|_| Ok(0.5), 0.1, 1.0, 1e-9, Pick::Root).is_err());
        // Below δ at 0 but rising above it later: the envelope crossing past the rise
        // (1 + √ln 2), flagged as not monotone, with ε = 0 as the first crossing.
        let rise = |e: f64| 0.2 * (-(e - 1.0) * (e - 1.0)).exp();
        let r =
            epsilon_for_delta(|e| Ok(rise(e)), 0.1, 1.0, 1e-12, Pick::Root).expect("test setup");
        assert!(
            (r.epsilon - (1.0 + 2f64.ln().sqrt())).abs() < 1e-9,
            "{}",
            r.epsilon
        );
        assert_eq!(r.first_crossing, Some(0.0));
        assert!(!r.monotone);
        let r =
            epsilon_for_delta(|e| Ok(rise(e)), 0.1, 1.0, 1e-9, Pick::Upper).expect("test setup");
        assert_eq!(r.epsilon, 0.0);
        assert!(!r.monotone);
    }
}
