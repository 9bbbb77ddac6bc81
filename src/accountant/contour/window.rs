//! The analytic window of a short subsampled-Gaussian composition (module docs of [`super`]).

use super::*;

/// Most t-nodes of a window contour.
pub(super) const MAX_WINDOW_NODES: usize = 60_000;
/// Width s of the analytic window (units of x).
pub(super) const WINDOW_S: f64 = 0.1;
/// The window sits at x₀ = L⁻¹(WINDOW_FRAC·ε/n).
pub(super) const WINDOW_FRAC: f64 = 0.7;
/// The λ' at which the bound on R is evaluated.
pub(super) const WINDOW_R_LAMBDAS: [f64; 11] = [
    1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 150.0, 200.0, 300.0,
];

/// The window parameters of a plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct WindowParams {
    /// Sampling rate q.
    pub(super) q: f64,
    /// μ = 1/σ.
    pub(super) mu: f64,
    /// Number of steps n.
    pub(super) n: f64,
    /// Window centre x₀ = L⁻¹(WINDOW_FRAC·ε/n).
    pub(super) x0: f64,
    /// Window width s.
    pub(super) s: f64,
}

/// One point of the bound on R: λ' and an upper bound on ln M_w(λ').
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct WindowMoment {
    /// λ' > 1.
    pub(super) lambda: f64,
    /// Upper bound on ln M_w(λ').
    pub(super) ln_mw_upper: f64,
}

/// The remainder R = E_{(wP)^{⊗n}}[(e^S − e^ε)₊] of the analytic window, bounded from a table of
/// windowed moments (module docs).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct WindowRemainder {
    /// Number of steps n.
    pub(super) n: f64,
    /// The windowed moments.
    pub(super) table: Vec<WindowMoment>,
}

impl WindowRemainder {
    /// ln of R ≤ min_{λ'} e^{−(λ'−1)ε}·h_max(λ')·M_w(λ')ⁿ, h_max = ((λ'−1)/λ')^{λ'}/(λ'−1)
    /// (docs/math.md §6).
    pub(super) fn ln_bound(&self, epsilon: f64) -> f64 {
        self.table
            .iter()
            .map(|m| {
                let lp = m.lambda;
                let ln_hmax = lp * ((lp - 1.0) / lp).ln() - (lp - 1.0).ln();
                -(lp - 1.0) * epsilon + ln_hmax + self.n * m.ln_mw_upper
            })
            .fold(f64::INFINITY, f64::min)
    }
}

impl Plan {
    /// The analytic window of a single subsampled-Gaussian factor in the remove ordering with
    /// n < 100 steps: x₀ = L⁻¹(WINDOW_FRAC·ε/n), s = WINDOW_S (None where it does not apply).
    pub(super) fn window_params(&self, epsilon: f64) -> Option<WindowParams> {
        match self.factors.as_slice() {
            [Factor {
                t: Transform::Subsampled { q, mu, add: false },
                n,
            }] if *n < 100.0 && epsilon > 0.0 => {
                let y = WINDOW_FRAC * epsilon / n;
                let x0 = ((y.exp_m1() + q) / q).ln() / mu + 0.5 * mu;
                x0.is_finite().then_some(WindowParams {
                    q: *q,
                    mu: *mu,
                    n: *n,
                    x0,
                    s: WINDOW_S,
                })
            }
            _ => None,
        }
    }
}

impl Plan {
    /// The analytic-window contour (module docs): nodes of Mⁿ − M_wⁿ up to the T where the
    /// shifted-contour tail bound meets half the target, and the λ' table for the bound on R.
    /// None where that T needs more than `max_work` x-nodes (both transforms) or more than
    /// [`MAX_WINDOW_NODES`] t-nodes: the window does not pay there (the plain path is used).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn build_window(
        &self,
        mut contour: Contour,
        lambda: f64,
        base: &MgfValue,
        target: f64,
        tol: f64,
        wp: WindowParams,
        max_work: f64,
    ) -> Option<Contour> {
        let WindowParams { q, mu, n, x0, s } = wp;
        let u = UNIT_ROUNDOFF;
        let h = contour.h;
        let f = self.factors[0];
        // (1/π)·n·(1+η)^{n−1}·B(T)/(M̃(λ)·T), η the relative error of M̃(λ).
        let eta = (base.ln_err - base.ln.re).exp();
        let ln_pre = n.ln() + (n - 1.0) * eta.ln_1p() - base.ln.re - PI.ln();
        let tail = |t: f64| (ln_pre + ln_window_tail_bound(q, mu, lambda, x0, s, t) - t.ln()).exp();
        let mut work = 0.0;
        let mut k_max = MAX_WINDOW_NODES;
        for k in 0..=MAX_WINDOW_NODES {
            let call = 2.0 * f.t.cost(lambda, k as f64 * h);
            work += call;
            if call > MAX_CALL_NODES {
                k_max = k.saturating_sub(1);
                break;
            }
            if work > max_work {
                k_max = k;
                break;
            }
        }
        let t_max = k_max as f64 * h;
        if t_max <= 0.0 || tail(t_max) > 0.5 * target {
            return None;
        }
        let mut t_end = (64.0 * h).max(50.0).min(t_max);
        while tail(t_end) > 0.5 * target && t_end < t_max {
            t_end = (1.25 * t_end).min(t_max);
        }
        let k_dir = (t_end / h).ceil() as usize;
        let tl = tail(k_dir as f64 * h);
        contour.capped = false;
        contour.trunc = tl * (1.0 + 1e-12);
        let scheme = sum_scheme(tol, n);
        let vm = eval_grid(&f.t, lambda, (h, k_dir), scheme, Blocks::Doubling);
        let vw = eval_grid_with(h, k_dir, |ts| {
            subsampled_mgf_windowed(
                q,
                mu,
                lambda,
                ts,
                TAU_X,
                scheme,
                Some(SmoothWindow { x0, s }),
            )
        });
        let b = base.ln.re;
        contour.nodes = (0..=k_dir)
            .into_par_iter()
            .map(|k| {
                let t = k as f64 * h;
                let z = C64::new(lambda, t);
                let zz = z * (z - 1.0);
                let zabs = zz.norm();
                let part = |v: &MgfValue| {
                    let d = v.ln - b;
                    let c = (d * n).exp() / zz;
                    let err = power_error(n * d.re, n * logsumexp(&[d.re, v.ln_err - b])) / zabs;
                    let round = c.norm() * u * (8.0 + 4.0 * n * (v.ln.norm() + b.abs()));
                    (c, err + round)
                };
                let (cm, em) = part(&vm[k]);
                let (cw, ew) = part(&vw[k]);
                Node {
                    t,
                    c: cm - cw,
                    err: em + ew + 2.0 * u * (cm.norm() + cw.norm()),
                    mag: cm.norm() + cw.norm(),
                }
            })
            .collect();
        // Upper bounds on ln M_w(λ') (value plus its certified error, and a margin for the sum).
        let table: Vec<WindowMoment> = WINDOW_R_LAMBDAS
            .iter()
            .filter(|&&lp| 2.0 * f.t.cost(lp, 0.0) <= MAX_CALL_NODES)
            .map(|&lp| {
                let v = subsampled_mgf_windowed(
                    q,
                    mu,
                    lp,
                    &[0.0],
                    TAU_X,
                    SumScheme::DIRECT,
                    Some(SmoothWindow { x0, s }),
                )[0];
                WindowMoment {
                    lambda: lp,
                    ln_mw_upper: logsumexp(&[v.ln.re, v.ln_err]) + 1e-12,
                }
            })
            .collect();
        contour.window = Some(WindowRemainder { n, table });
        Some(contour)
    }
}
