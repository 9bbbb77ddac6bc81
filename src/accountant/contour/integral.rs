//! The evaluated inversion integral at one λ: certified δ bounds for any ε.

use super::*;
use crate::special::sum::Neumaier;

/// Nodes per sin/cos seed of the phases e^{−it_kε} in [`Contour::node_sum`] (15 rotations at
/// most: their error, ≤ 15·5u relative per node, stays below the nodes' own rounding bounds).
pub(super) const PHASE_RUN: usize = 16;

/// A contour at fixed λ with its nodes evaluated; answers δ bounds for any ε (tightest near the
/// ε it was designed for).
#[derive(Debug, Clone)]
pub(super) struct Contour {
    pub(super) lambda: f64,
    /// The saddle point of the ε it was designed for (λ itself unless moved below it for a
    /// coarser step: [`Plan::cheaper_lambda`]).
    pub(super) saddle: f64,
    pub(super) h: f64,
    pub(super) norm: f64,
    pub(super) norm_abs: f64,
    pub(super) nodes: Vec<Node>,
    pub(super) trunc: f64,
    pub(super) strips: Vec<Strip>,
    pub(super) ln_edge0: f64,
    pub(super) lattice: Option<Lattice>,
    pub(super) capped: bool,
    /// Analytic-window path: the bound on the remainder R.
    pub(super) window: Option<WindowRemainder>,
}

impl Contour {
    /// Shrink the step h (from the bump width, by factors 1.5, at most 80 times) until the
    /// discretisation bound at ε meets the target.
    pub(super) fn choose_step(&mut self, epsilon: f64, target: f64) {
        let mut tries = 0;
        while self.discretization(epsilon) > target {
            self.h /= 1.5;
            tries += 1;
            if tries > 80 {
                break;
            }
        }
    }

    /// The t-trapezoid's discretisation bound at ε (units of S).
    pub(super) fn discretization(&self, epsilon: f64) -> f64 {
        if !self.ln_edge0.is_finite() {
            return f64::INFINITY;
        }
        let mut best = [f64::INFINITY, f64::INFINITY];
        for s in &self.strips {
            let ln_m = (s.ln_edge + s.side * s.a * epsilon).max(self.ln_edge0);
            let q = 2.0 * PI * s.a / self.h;
            let v = (ln_m - ln_expm1(q)).exp();
            let i = if s.side > 0.0 { 0 } else { 1 };
            best[i] = best[i].min(v);
        }
        best[0] + best[1]
    }

    /// Diagnostics.
    pub(super) fn info(&self) -> ContourInfo {
        ContourInfo {
            lambda: self.lambda,
            step: self.h,
            nodes: self.nodes.len(),
            truncation: self.trunc,
            lattice: self.lattice.is_some(),
            capped: self.capped,
            window: self.window.is_some(),
        }
    }

    /// The trapezoid value S_h at ε and the bound on its rounding error (both in units of S):
    /// the nodes' own errors, the phase e^{−itε}, and the compensated sum.
    ///
    /// Where the nodes sit at t_k = fl(k·h) (every contour built here), the phases advance by
    /// complex rotation with e^{ihε} from one sin/cos seed per [`PHASE_RUN`] nodes: the j-th
    /// rotation after a seed adds ≤ j(5u + u|hε|) to the phase's error (rotor from sin/cos
    /// ≤ 2u + u|hε|, each complex product ≤ 2√2u < 3u), and t_{k₀} + jh differs from t_k by
    /// ≤ 2u|t_k|, a phase error ≤ 2u|t_kε|; both are added to the per-node bound.
    pub(super) fn node_sum(&self, epsilon: f64) -> (f64, f64) {
        let u = UNIT_ROUNDOFF;
        let mut s_re = Neumaier::default();
        let mut abs = 0.0;
        let mut err = 0.0;
        let on_grid = self
            .nodes
            .iter()
            .enumerate()
            .all(|(k, n)| n.t == k as f64 * self.h);
        let he = self.h * epsilon;
        let (sr, cr) = he.sin_cos();
        let rot_err = 5.0 * u + u * he.abs();
        let (mut sn, mut cs) = (0.0, 1.0);
        for (k, node) in self.nodes.iter().enumerate() {
            let wgt = if k == 0 { 1.0 } else { 2.0 };
            let te = node.t * epsilon;
            let j = if on_grid { k % PHASE_RUN } else { 0 };
            if j == 0 {
                (sn, cs) = te.sin_cos();
            } else {
                let c2 = cs * cr - sn * sr;
                sn = sn * cr + cs * sr;
                cs = c2;
            }
            // Re(c·e^{−itε}) = c.re cos + c.im sin.
            let v = wgt * (node.c.re * cs + node.c.im * sn);
            s_re.add(v);
            abs += wgt * node.mag;
            let phase = if j == 0 {
                3.0 * u * (te.abs() + 1.0)
            } else {
                3.0 * u * (te.abs() + 1.0) + 2.0 * u * te.abs() + j as f64 * rot_err
            };
            err += wgt * (node.err + phase * node.mag);
        }
        let n = self.nodes.len() as f64;
        let f = self.h / (2.0 * PI);
        let s = f * s_re.sum();
        (
            s,
            f * (err + 3.0 * u * abs * (1.0 + n * u)) + 4.0 * u * s.abs(),
        )
    }

    /// Certified bounds on δ(ε) (valid for any ε ≥ 0; tight near the design ε).
    pub(super) fn bounds(&self, epsilon: f64) -> Enclosure {
        let u = UNIT_ROUNDOFF;
        let (s, e_round) = self.node_sum(epsilon);
        let e = e_round + self.trunc + self.discretization(epsilon);
        let ln_a = self.norm + (1.0 - self.lambda) * epsilon;
        let ln_a_err = 4.0
            * u
            * (self.norm_abs + self.norm.abs() + ((1.0 - self.lambda) * epsilon).abs() + 1.0);
        let up_s = s + e;
        let lo_s = s - e;
        if !(s.is_finite() && e.is_finite() && ln_a.is_finite() && ln_a_err.is_finite()) {
            // An overflowed or undefined term certifies nothing: the trivial bracket (never a
            // NaN read as 0).
            return Enclosure {
                lower: 0.0,
                value: f64::NAN,
                upper: 1.0,
            };
        }
        let mut out = Enclosure {
            lower: if lo_s > 0.0 {
                (ln_a - ln_a_err + lo_s.ln()).exp() * (1.0 - 4.0 * u)
            } else {
                0.0
            },
            value: if s > 0.0 { (ln_a + s.ln()).exp() } else { 0.0 },
            // exp underflows to 0 only below e^{−745}: the smallest subnormal is then still above.
            upper: if up_s > 0.0 {
                ((ln_a + ln_a_err + up_s.ln()).exp() * (1.0 + 4.0 * u)).max(f64::from_bits(1))
            } else {
                0.0
            },
        };
        if let Some(lattice) = self.lattice {
            let lat = lattice.delta(epsilon);
            out.lower += lat.lower;
            out.value += lat.value;
            out.upper += lat.upper;
            out.lower *= 1.0 - 2.0 * u;
            out.upper *= 1.0 + 2.0 * u;
        }
        if let Some(w) = &self.window {
            // R only in δ_up.
            out.upper += w.ln_bound(epsilon).exp() * (1.0 + 1e-9);
        }
        out.upper = out.upper.min(1.0);
        out.lower = out.lower.max(0.0);
        out
    }
}
