//! A certified upper bound on the subsampled Gaussian's M(α) at real α, for the Chernoff bound
//! of the contour accountant (docs/math.md §10.3.1).
//!
//! M(α) = ∫ e^{αL(x)} φ(x) dx with L(x) = ln(1 − q + q e^{μx − μ²/2}) (α = λ for the remove
//! ordering, α = 1 − λ for the add ordering). The bound is the trapezoid sum on a finite range,
//! plus certified bounds on the omitted nodes, divided by 1 − ε_h with ε_h the
//! Trefethen–Weideman bound on the trapezoid's relative error for a strip chosen from α and μ,
//! plus every f64 rounding. Nothing in it is an estimate with a margin.

use super::{logsumexp, node_range, UNIT_ROUNDOFF};
use crate::special::normal;
use crate::special::quadrature::log1p_qexpm1;
use std::f64::consts::{LN_2, PI};

/// ln of a certified upper bound on M(α) (module doc; docs/math.md §10.3.1), or +∞ where it
/// would need more than `max_nodes` nodes or is not finite in f64.
pub fn subsampled_ln_m_upper(q: f64, mu: f64, alpha: f64, max_nodes: f64) -> f64 {
    // Strip half-width d = θ/μ (capped at 1) and the factor c_α ≥ sup |e^{αL(x+iy)}|/e^{αL(x)}:
    // with w = μ(x + iy) − μ²/2 and B = 1 − q + q e^{Re w}, |1 − q + q e^w| ≤ B, and for
    // |μy| ≤ θ < π/2 also |1 − q + q e^w| ≥ 1 − q + q e^{Re w} cos θ ≥ B cos θ. So c_α = 1 for
    // α ≥ 0 (any θ < π: the integrand is analytic for |μy| < π), and c_α = (cos θ)^α for α < 0
    // with θ = min(π/3, √(62/|α|)): ln c_α ≈ |α|θ²/2 ≈ 31 then balances the 31 of the step rule
    // below, which maximises h ∝ θ/(31 + ln c_α).
    if !(q > 0.0 && q < 1.0 && mu > 0.0 && alpha.is_finite()) {
        return f64::INFINITY;
    }
    let (theta, ln_c) = if alpha >= 0.0 {
        (0.9 * PI, 0.0)
    } else {
        let th = (PI / 3.0).min((62.0 / -alpha).sqrt());
        (th, alpha * th.cos().ln())
    };
    let d = (theta / mu).min(1.0);
    // ε_h = 2c_α e^{d²/2}/(e^{2πd/h} − 1) ≤ e^{−30}: h = 2πd/(ln 2 + ln c_α + d²/2 + 31).
    let ln_pre = LN_2 + ln_c + 0.5 * d * d;
    let h = 2.0 * PI * d / (ln_pre + 31.0);
    let (lo, hi) = node_range(q, mu, alpha, 40.0);
    let (j_lo, j_hi) = ((lo / h).floor(), (hi / h).ceil());
    let nodes = j_hi - j_lo + 1.0;
    if !(nodes.is_finite() && nodes <= max_nodes && h > 0.0) {
        return f64::INFINITY;
    }
    let (j_lo, j_hi) = (j_lo as i64, j_hi as i64);
    let (x_lo, x_hi) = (j_lo as f64 * h, j_hi as f64 * h);
    // ln ε_h, with ln(e^a − 1) = a + ln(1 − e^{−a}).
    let a = 2.0 * PI * d / h;
    let ln_eps_h = ln_pre - (a + (-(-a).exp()).ln_1p());
    // The nodes x_j = jh in [x_lo, x_hi]: s_j = αL(x_j) − x_j²/2, summed as e^{s_j − m}.
    let s: Vec<f64> = (j_lo..=j_hi)
        .map(|j| {
            let x = j as f64 * h;
            alpha * log1p_qexpm1(q, mu * x - 0.5 * mu * mu) - 0.5 * x * x
        })
        .collect();
    let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return f64::INFINITY;
    }
    let sum: f64 = s.iter().map(|sj| (sj - m).exp()).sum();
    // Rounding: L_j to 8u(1 + |L_j| + 2|μx_j| + μ²) absolute (log1p/expm1 of an affine w that
    // carries u(|μx_j| + μ²/2)), times |α|; x_j²/2 to 2u·x_j²; the subtraction of m, exp and
    // the n-term sum (relative (n + 4)u); applied as one relative factor on the sum.
    let big_x = x_lo.abs().max(x_hi.abs());
    let big_l = log1p_qexpm1(q, mu * big_x - 0.5 * mu * mu)
        .abs()
        .max((-q).ln_1p().abs());
    let ds = 8.0
        * UNIT_ROUNDOFF
        * (alpha.abs() * (1.0 + big_l + 2.0 * mu * big_x + mu * mu)
            + big_x * big_x
            + m.abs()
            + 1.0);
    let ln_s =
        m + (h * sum).ln() - normal::LN_SQRT_2PI + 2.0 * ds + (nodes + 8.0) * UNIT_ROUNDOFF * 1.01;
    // Omitted nodes x_j < x_lo and x_j > x_hi (h·Σ over them), with a = 1 − q, b = q e^u,
    // u = μx − μ²/2:
    //  α ≥ 0: (a + b)^α ≤ c(a^α + b^α), c = max(1, 2^{α−1}) (subadditivity of t^α for α ≤ 1,
    //         convexity for α ≥ 1), so the integrand is below
    //         g(x) = c[(1 − q)^α φ(x) + q^α e^{α(α−1)μ²/2} φ(x − αμ)], increasing for
    //         x ≤ min(0, αμ) and decreasing for x ≥ max(0, αμ); a node sum of a monotone tail
    //         is at most its integral one step further in: ≤ c[(1 − q)^α Φ(x_lo + h) +
    //         q^α e^{…}Φ(x_lo + h − αμ)], and likewise with Φ̄(x_hi − h), Φ̄(x_hi − h − αμ).
    //  α < 0: L > ln(1 − q), so e^{αL} < (1 − q)^α and the integrand is below (1 − q)^α φ(x).
    let ln_a = alpha * (-q).ln_1p();
    let (ln_b, shift) = if alpha >= 0.0 {
        let ln_cc = (alpha - 1.0).max(0.0) * LN_2;
        (
            ln_cc + alpha * q.ln() + 0.5 * alpha * (alpha - 1.0) * mu * mu,
            alpha * mu,
        )
    } else {
        (f64::NEG_INFINITY, 0.0)
    };
    let ln_a = ln_a
        + if alpha >= 0.0 {
            (alpha - 1.0).max(0.0) * LN_2
        } else {
            0.0
        };
    let monotone = x_lo + h <= shift.min(0.0) && x_hi - h >= shift.max(0.0);
    if !monotone {
        return f64::INFINITY;
    }
    let tails = [
        ln_a + normal::ln_cdf(x_lo + h),
        ln_b + normal::ln_cdf(x_lo + h - shift),
        ln_a + normal::ln_sf(x_hi - h),
        ln_b + normal::ln_sf(x_hi - h - shift),
    ];
    // Twice each tail covers the f64 error of ln Φ, ln Φ̄ and the exponents.
    let ln_tails = logsumexp(&tails) + LN_2;
    // M ≤ T_h + ε_h M, T_h ≤ S + tails.
    let ln_t = logsumexp(&[ln_s, ln_tails]);
    let eps_h = ln_eps_h.exp();
    if eps_h.is_nan() || eps_h >= 0.5 {
        return f64::INFINITY;
    }
    let v = ln_t - (-eps_h).ln_1p();
    if v.is_nan() {
        return f64::INFINITY;
    }
    v + 8.0 * UNIT_ROUNDOFF * (1.0 + v.abs() + ln_t.abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgf::cgf_certified;
    use crate::mechanism::{Direction, Mechanism, SubsampledGaussian};
    use crate::precision::Precision;

    /// The bound is above the 128-bit certified enclosure of ln M and within 1e−10 of it, from
    /// small σ (the slowest trapezoid convergence) to large, both orderings.
    #[test]
    fn bound_holds_against_certified_enclosures() {
        let mut checked = 0;
        for &sigma in &[0.05, 0.2, 1.0, 4.0] {
            for &q in &[1e-4, 0.01, 0.5] {
                let mech = Mechanism::SubsampledGaussian(
                    SubsampledGaussian::new(sigma, q).expect("test setup"),
                );
                for &lam in &[1.25, 2.0, 5.0, 20.0] {
                    for dir in [Direction::Remove, Direction::Add] {
                        let Ok(c) = cgf_certified(&mech, dir, lam, Precision(128)) else {
                            continue;
                        };
                        let alpha = if dir == Direction::Add {
                            1.0 - lam
                        } else {
                            lam
                        };
                        let up = subsampled_ln_m_upper(q, 1.0 / sigma, alpha, 4e6);
                        if !up.is_finite() {
                            continue;
                        }
                        let (klo, khi) = (c.k.lo_f64(), c.k.hi_f64());
                        assert!(up >= khi, "σ={sigma} q={q} λ={lam} {dir:?}: {up} < {khi}");
                        assert!(
                            up - klo <= 1e-10 * (1.0 + klo.abs()),
                            "σ={sigma} q={q} λ={lam} {dir:?}: {up} vs [{klo}, {khi}]"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked >= 60, "only {checked} cases had an enclosure");
    }

    #[test]
    fn refuses_where_the_nodes_would_exceed_the_budget() {
        assert_eq!(subsampled_ln_m_upper(0.01, 100.0, 1e6, 4e6), f64::INFINITY);
        assert!(subsampled_ln_m_upper(0.01, 1.0, 2.0, 4e6).is_finite());
    }
}
