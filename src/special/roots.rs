//! A bracketed root finder (Brent's method) for continuous functions.

use crate::error::{Error, Result};

/// Find x in [a, b] with f(x) = 0 given f(a), f(b) of opposite signs (or one zero), to an
/// absolute tolerance `xtol` in x (Brent 1973: inverse quadratic interpolation safeguarded by
/// bisection). Returns the final iterate.
///
/// # Errors
/// [`Error::NoSolution`] when the signs at the ends agree; [`Error::NoConvergence`] after
/// `max_iter` iterations.
pub fn brent(
    mut f: impl FnMut(f64) -> Result<f64>,
    mut a: f64,
    mut b: f64,
    xtol: f64,
    max_iter: usize,
) -> Result<f64> {
    let mut fa = f(a)?;
    let mut fb = f(b)?;
    if fa == 0.0 {
        return Ok(a);
    }
    if fb == 0.0 {
        return Ok(b);
    }
    if fa.signum() == fb.signum() {
        return Err(Error::NoSolution(format!(
            "root not bracketed: f({a}) = {fa:e}, f({b}) = {fb:e}"
        )));
    }
    let (mut c, mut fc) = (a, fa);
    let mut d = b - a;
    let mut e = d;
    for _ in 0..max_iter {
        if fb.signum() == fc.signum() {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol = 2.0 * f64::EPSILON * b.abs() + 0.5 * xtol;
        let m = 0.5 * (c - b);
        if m.abs() <= tol || fb == 0.0 {
            return Ok(b);
        }
        if e.abs() >= tol && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else {
                let qq = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * m * qq * (qq - r) - (b - a) * (r - 1.0));
                q = (qq - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if 2.0 * p < (3.0 * m * q - (tol * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        } else {
            d = m;
            e = m;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol { d } else { tol.copysign(m) };
        fb = f(b)?;
    }
    Err(Error::NoConvergence {
        what: "Brent root finder".into(),
        iterations: max_iter,
        residual: fb,
    })
}

/// Bisection keeping a valid bracket: returns `(lo, hi)` with `pred(lo) == false`,
/// `pred(hi) == true`, `hi - lo <= xtol`. Use when the answer must sit on a known side
/// (e.g. the conservative end of a certified bound).
///
/// # Errors
/// Propagates errors from `pred`.
pub fn bisect_bracket(
    mut pred: impl FnMut(f64) -> Result<bool>,
    mut lo: f64,
    mut hi: f64,
    xtol: f64,
    max_iter: usize,
) -> Result<(f64, f64)> {
    for _ in 0..max_iter {
        if hi - lo <= xtol {
            break;
        }
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if pred(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brent_finds_cubic_root() {
        let r = brent(|x| Ok(x * x * x - 2.0), 0.0, 2.0, 1e-14, 100).expect("test setup");
        assert!((r - 2f64.cbrt()).abs() < 1e-13, "{r}");
        assert!(brent(|x| Ok(x * x + 1.0), 0.0, 2.0, 1e-14, 100).is_err());
    }

    #[test]
    fn bisect_keeps_the_bracket() {
        let (lo, hi) =
            bisect_bracket(|x| Ok(x * x >= 2.0), 0.0, 2.0, 1e-12, 200).expect("test setup");
        assert!(lo * lo < 2.0 && hi * hi >= 2.0 && hi - lo <= 1e-12);
    }
}
