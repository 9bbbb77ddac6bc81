//! Certified brackets read off a composed connect-the-dots pmf (docs/math.md §7): the upper end
//! directly, three lower ends (deterministic shift, Hoeffding, second order) from the same
//! pmf, and the grid spacing that makes the bracket a given width.

use super::Pmf;
use crate::accountant::Query;
use crate::special::normal;

/// The ends [`ctd_bounds`] certifies for one ordering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CtdBounds {
    /// Certified lower end (the best of the three lower bounds).
    pub lower: f64,
    /// Certified upper end; `None` for an ε query whose δ is below the certifiable floor.
    pub upper: Option<f64>,
    /// The second-order lower end alone (its distance to `upper` shrinks like h², which is
    /// what sizes the grid); `None` where it does not reach δ.
    pub lower2: Option<f64>,
}

/// The grid spacing whose bracket is about `width` wide (in loss units) for `r` summands:
/// round-up gives (r + 1)·h; connect-the-dots gives the smaller of r·h (deterministic
/// shift) and r·h²/8 + h·√(r·ln(1/δ′)/2) (Hoeffding shift, `log_inv` = ln(1/δ′)).
pub fn spacing_for_width(ctd: bool, r: f64, log_inv: f64, width: f64) -> f64 {
    let a = (r * log_inv / 2.0).sqrt();
    if !ctd || r <= a {
        return width / r;
    }
    2.0 * width / (a + (a * a + r * width / 2.0).sqrt())
}

/// Certified lower and upper ends for one ordering from a connect-the-dots pmf `up` of `r`
/// summands with boundary shift η, and the second-order lower end alone.
///
/// Upper: read off `up` directly (a dominating pair, composed). Lower: every summand's
/// rounding D = R(ℓ) − ℓ takes, given ℓ, one of two values h apart, lies in (−h, h + 2η)
/// and has conditional mean in [0, m], m = h²/8 + 5η + 300u·h/(1 − e^{−h}) (see
/// [`super::loss::LossLaw::discretise_connect_dots`]), independently across summands. Apart from the
/// lifted and truncated mass, the composed rounded sum is S̃ = S + M + N with 0 ≤ M ≤ c =
/// r·m and N conditionally centred and sub-Gaussian with variance proxy v = r(h + 2η)²/4
/// (Hoeffding's lemma). With f_ε(s) = (1 − e^{ε−s})₊, non-decreasing, f_ε(s − a) =
/// f_{ε+a}(s), and δ̃ the certified lower reading of the finite part minus the lifted mass
/// ([`Pmf::lower_view`]), three lower bounds hold and the best is returned:
/// 1. deterministic: S̃ ≤ S + r(h + 2η), so δ(ε) ≥ δ̃(ε + r(h + 2η));
/// 2. Hoeffding (as in Gopi, Lee, Wutschitz 2021, Thm 5.5): S̃ ≤ S + c + t except with
///    probability δ′ = e^{−t²/2v}, so δ(ε) ≥ δ̃(ε + c + t) − δ′;
/// 3. second order: δ(ε) ≥ δ̃(ε + c) − E[f_ε(S + N) − f_ε(S)], and since g(s) = 1 − e^{ε−s}
///    is concave with slope e^{ε−s} ≤ 1 and f_ε(s) ≤ (s − ε)₊, given the losses
///    E[f_ε(S + N)] − f_ε(S) ≤ ψ(|S − ε|) with ψ(d) = ∫_d^∞ e^{−t²/2v} dt = √(2πv)·Φ̄(d/√v)
///    (the first-order term vanishes because N is centred given the losses). As
///    |S − ε| ≥ |S̃ − ε| − c − |N| and P(|N| > T) ≤ 2e^{−T²/2v}, the excess is at most
///    Σ_k p̃_k ψ((|s_k − ε| − c − T)₊) + ψ(0)·(2e^{−T²/2v} + truncated and lifted mass +
///    the ℓ1 error of the p̃_k summed). Its width shrinks like h² (the O(h) terms of 1 and 2
///    cancel in expectation), so it allows a much coarser grid for many summands.
///
/// For ε(δ): the true δ(ε) is non-increasing, so any ε_b with a lower bound on δ(ε_b)
/// above δ is a certified lower bound on ε(δ); the second-order bound is bisected for the
/// largest such ε_b.
pub fn ctd_bounds(up: &Pmf, r: f64, eta: f64, query: Query, x: f64) -> CtdBounds {
    const U: f64 = f64::EPSILON / 2.0;
    let h = up.h;
    let hr = h + 2.0 * eta;
    let t_det = r * hr;
    let m = h * h / 8.0 * (1.0 + 1e-6) + 5.0 * eta + 300.0 * U * h / -(-h).exp_m1();
    let c = r * m;
    let v = r * hr * hr / 4.0;
    let hoeffding = |dp: f64| c + (2.0 * v * (1.0 / dp).ln()).sqrt();
    let view = up.lower_view();
    match query {
        Query::Epsilon => {
            let upper = up.epsilon_bound(x);
            let mut lower = view.epsilon_bound(x).map_or(0.0, |e| e - t_det);
            for k in [3.0, 10.0, 30.0, 100.0, 1000.0] {
                let dp = x / k;
                if let Some(e) = view.epsilon_bound(x + dp) {
                    lower = lower.max(e - hoeffding(dp));
                }
            }
            let lower = lower.max(0.0);
            // Bisect the second-order bound between the first-order lower end and the
            // upper end for the largest ε_b whose lower bound on δ(ε_b) exceeds δ.
            let second = |e: f64| second_order_lower(up, &view, e, c, v, x);
            let mut lower2 = None;
            if let Some(u) = upper {
                // Start from the first-order end, or from 0 where the second-order bound
                // is not yet above δ there (coarse grids).
                let a0 = if second(lower) > x { lower } else { 0.0 };
                let (mut a, mut b) = (a0, u);
                if a0 == lower || second(a0) > x {
                    for _ in 0..40 {
                        let mid = 0.5 * (a + b);
                        if second(mid) > x {
                            a = mid;
                        } else {
                            b = mid;
                        }
                        if b - a <= 1e-6 * (b - a0).max(1e-300) {
                            break;
                        }
                    }
                    lower2 = Some(a);
                }
            }
            CtdBounds {
                lower: lower.max(lower2.unwrap_or(0.0)),
                upper,
                lower2,
            }
        }
        Query::Delta => {
            let upper = up.delta_bound(x);
            let mut lower = view.delta_bound(x + t_det);
            for k in [3.0, 10.0, 30.0, 100.0, 1e3, 1e4, 1e6] {
                let dp = upper / k;
                if dp > 0.0 {
                    lower = lower.max(view.delta_bound(x + hoeffding(dp)) - dp);
                }
            }
            let lower2 = second_order_lower(up, &view, x, c, v, upper).max(0.0);
            CtdBounds {
                lower: lower.max(lower2).max(0.0),
                upper: Some(upper),
                lower2: Some(lower2),
            }
        }
    }
}

/// Bound 3 of [`ctd_bounds`] at ε: δ̃(ε + c) minus the smoothing excess;
/// T is chosen so that ψ(0)·2e^{−T²/2v} ≤ 1e−4·`scale` (a δ of the size being bounded).
fn second_order_lower(up: &Pmf, view: &Pmf, eps: f64, c: f64, v: f64, scale: f64) -> f64 {
    const U: f64 = f64::EPSILON / 2.0;
    let sv = v.sqrt();
    let root = (2.0 * std::f64::consts::PI * v).sqrt();
    let psi0 = 0.5 * root;
    let ratio = (2.0 * psi0 / (1e-4 * scale.max(1e-300))).max(2.0);
    let t = sv * (2.0 * ratio.ln()).sqrt();
    // Points farther than `reach` from ε contribute at most ψ(K√v) each (K = 12).
    const K: f64 = 12.0;
    let far = root * normal::sf(K);
    let reach = c + t + K * sv;
    let h = up.h;
    let n = up.masses.len() as i64;
    let i_lo = (super::grid_index(((eps - reach) / h).floor()) - up.offset).clamp(0, n);
    let i_hi = (super::grid_index(((eps + reach) / h).ceil()) - up.offset + 1).clamp(0, n);
    let mut sum = 0.0;
    for i in i_lo as usize..i_hi as usize {
        let d = ((up.loss(i) - eps).abs() - c - t).max(0.0);
        sum += up.masses[i] * normal::sf(d / sv);
    }
    let window = (i_hi - i_lo).max(1) as f64;
    let l1_err = view.err1 + view.err2 * window.sqrt();
    let excess = root * sum * (1.0 + 4.0 * window * U + 1e-12)
        + far
        + psi0 * (2.0 * (-t * t / (2.0 * v)).exp() + up.inf_mass + l1_err);
    view.delta_bound(eps + c) - excess * (1.0 + 1e-9)
}
