//! The ε(δ) search on one evaluated contour: where the certified bounds cross δ (Brent's method
//! proposes, the predicate certifies), and whether redesigning the contour at the answer can
//! narrow the bracket enough to pay for a second contour (module docs of [`super`], "ε(δ)").

use super::*;

/// A switch of `pred` (false at `lo`, true at `hi`) to within `xtol`: returns (a, b) with
/// `pred(a)` false, `pred(b)` true, b − a ≤ xtol (or the bisection's limit).
///
/// `f` is a continuous function whose sign change sits at the switch (f > 0 where `pred` is
/// false): Brent's method on it proposes the point r, and the bracket [r − xtol, r + xtol] is
/// used only after `pred` has been evaluated at both ends and found false and true; otherwise the
/// plain bisection of [lo, hi]. Only `pred` decides what is returned, so the answer is the same
/// kind of certified switch as [`bisect_bracket`]'s (about 12 evaluations of a smooth `f` instead
/// of ~45 bisection steps).
///
/// # Errors
/// Propagates errors from `pred` and `f`.
pub(super) fn crossing(
    mut pred: impl FnMut(f64) -> Result<bool>,
    f: impl FnMut(f64) -> Result<f64>,
    lo: f64,
    hi: f64,
    xtol: f64,
) -> Result<(f64, f64)> {
    if let Ok(r) = brent(f, lo, hi, 0.5 * xtol, 100) {
        let (a, b) = ((r - xtol).max(lo), (r + xtol).min(hi));
        if a < b && !pred(a)? && pred(b)? {
            return bisect_bracket(pred, a, b, xtol, 200);
        }
    }
    bisect_bracket(pred, lo, hi, xtol, 200)
}

/// Whether a contour redesigned at the answer `epsilon` could not narrow the relative δ bracket
/// of `c` there by more than a factor 2 (then no second contour is built; a heuristic: every
/// contour's bracket is certified, this only decides which one is returned).
///
/// The bracket's half-width in units of S is e_round + e_design, the rounding of the node sum
/// plus the truncation and discretisation bounds (the latter two set by the design). A contour
/// designed at ε would meet e_design ≤ tol·S*/4 and carry about the same rounding e_round, while
/// its S* exceeds this contour's S by the factor e^{φ(λ) − φ(λ*)} ≈ e^{g²/(2φ'')}, with g the
/// saddle-point residual at this λ and φ'' the curvature (the saddle point λ* of ε minimises φ).
/// Only for contours without the analytic window (whose remainder R enters δ_up separately).
pub(super) fn redesign_cannot_pay(plan: &Plan, c: &Contour, epsilon: f64, tol: f64) -> bool {
    if c.window.is_some() || c.lattice.is_some() {
        return false;
    }
    let (s, e_round) = c.node_sum(epsilon);
    let e_design = c.trunc + c.discretization(epsilon);
    if !(s > 0.0 && e_round.is_finite() && e_design.is_finite()) {
        return false;
    }
    let lam = c.lambda;
    let CgfTotals { mean, var, .. } = plan.cgf(lam);
    let g = mean - epsilon - 1.0 / lam - 1.0 / (lam - 1.0);
    let phi2 = var + 1.0 / (lam * lam) + 1.0 / ((lam - 1.0) * (lam - 1.0));
    let gain = 0.5 * g * g / phi2;
    if !gain.is_finite() {
        return false;
    }
    let now = (e_round + e_design) / s;
    let redesigned = e_round / s * (-gain).exp() + 0.25 * tol;
    now <= 2.0 * redesigned
}
