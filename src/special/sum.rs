//! Neumaier-compensated summation (Neumaier 1974; Higham 2002, §4.3): the running sum s and a
//! correction c that collects the rounding error of each addition exactly (the error of
//! s + x is (s − t) + x when |s| ≥ |x|, else (x − t) + s, t = fl(s + x)). The result s + c errs by
//! ≤ 2u·Σ|x_i| + O(nu²)Σ|x_i|; the callers state the bound they use (e.g. 3u·Σ|terms| in the
//! contour transform, docs/math.md §10.8).

/// A Neumaier-compensated running sum.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Neumaier {
    /// The running floating-point sum.
    pub s: f64,
    /// The accumulated correction.
    pub c: f64,
}

impl Neumaier {
    /// Add `x`.
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.s + x;
        if self.s.abs() >= x.abs() {
            self.c += (self.s - t) + x;
        } else {
            self.c += (x - t) + self.s;
        }
        self.s = t;
    }

    /// Multiply the sum and the correction by `f` (a rescaling of the terms).
    #[inline]
    pub fn scale(&mut self, f: f64) {
        self.s *= f;
        self.c *= f;
    }

    /// The compensated total s + c.
    #[inline]
    pub fn sum(&self) -> f64 {
        self.s + self.c
    }
}

/// ln Σ e^{v_i} in f64, scaled by the largest term (a few ulp relative for finite inputs);
/// −∞ for an empty or all −∞ input, +∞ when any term is +∞ (NaN terms are skipped by the
/// maximum but poison the sum).
pub fn logsumexp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_what_plain_summation_loses() {
        // 1 + 1e-16 + … (10⁴ times) − 1: plain f64 gives 0, the compensated sum 1e-12.
        for big in [1.0f64, -1.0, 1e10] {
            let mut n = Neumaier::default();
            let mut plain = 0.0f64;
            n.add(big);
            plain += big;
            for _ in 0..10_000 {
                n.add(big * 1e-16);
                plain += big * 1e-16;
            }
            n.add(-big);
            plain -= big;
            let want = big * 1e-12;
            assert!(
                (n.sum() - want).abs() <= 1e-6 * want.abs(),
                "{big}: {}",
                n.sum()
            );
            assert!((plain - want).abs() > 0.5 * want.abs());
        }
    }

    #[test]
    fn scaling_scales_the_total() {
        let mut n = Neumaier::default();
        for x in [3.0, 1e-17, -2.0, 5e-18] {
            n.add(x);
        }
        let before = n.sum();
        n.scale(0.25);
        assert_eq!(n.sum(), before * 0.25);
    }
}
