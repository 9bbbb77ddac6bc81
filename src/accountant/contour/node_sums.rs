//! Upper bounds on the suffix sums of the per-node truncation bounds (docs/math.md §10.5,
//! "Runs of nodes"): Σ_{j ≥ k} b_j for the nodes k = 1, …, k_tail, where b_k bounds the k-th
//! omitted node of the contour sum.
//!
//! Up to a node `k_single` every b_k is evaluated. Beyond it a run of nodes a, …, b − 1 may be
//! bounded by (b − a)·r(a, b), with r(a, b) a bound on every b_k of the run (the caller's
//! guarantee, from [`Decay::bound_over`](super::transform::Decay::bound_over)): a run is halved
//! until r(a, b) exceeds the next run's first node bound b_b by at most a slack that keeps the
//! total overstatement near a small fraction of the target, and runs of at most [`LEAF`] nodes
//! are evaluated node by node. Far out, where the bounds are negligible, two evaluations stand
//! for thousands of nodes; near the point where the suffix meets the target every node is
//! evaluated, and the sums there are those of the plain scan.

use rayon::prelude::*;

/// Consecutive nodes [start, end) with their bounds.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    start: usize,
    end: usize,
    values: Values,
}

/// The bounds of a [`Segment`]'s nodes.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    /// Each node bounded by the same value; `after` is the sum over all later segments.
    Run { v: f64, after: f64 },
    /// Node by node: while building, the node bounds; once built, the suffix sums from each
    /// node to the last node of all segments.
    Nodes(Vec<f64>),
}

/// Upper bounds on the suffix sums of the per-node bounds b_1, …, b_{k_tail}.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct NodeSums {
    /// Consecutive segments covering 1..=k_tail, in order.
    segments: Vec<Segment>,
    /// The number of node and run bounds evaluated.
    pub(super) evaluations: usize,
}

/// Ratio of consecutive first nodes of the initial runs beyond `k_single`.
const RUN_GROWTH: f64 = 1.25;

/// Fraction of the target that the run bounds may overstate the far suffix by, in all.
const SLACK: f64 = 1e-3;

/// Runs of at most this many nodes are evaluated node by node.
const LEAF: usize = 64;

/// Runs at least this long are halved on two threads.
const PARALLEL_RUN: usize = 8192;

impl NodeSums {
    /// The bounds of nodes 1..=`k_tail`: `bound(k)` one by one up to `k_single`, and beyond
    /// it in runs, `run(a, b)` bounding each of the nodes a..b; `target` sets the slack of the
    /// runs. `margin` ≥ 1 multiplies every run bound (rounding).
    pub(super) fn new(
        k_tail: usize,
        k_single: usize,
        target: f64,
        margin: f64,
        bound: impl Fn(usize) -> f64 + Sync,
        run: impl Fn(usize, usize) -> f64 + Sync,
    ) -> NodeSums {
        let k_single = k_single.min(k_tail);
        let mut segments = Vec::new();
        if k_single > 0 {
            segments.push(Segment {
                start: 1,
                end: k_single + 1,
                values: Values::Nodes((1..=k_single).into_par_iter().map(&bound).collect()),
            });
        }
        let mut evaluations = k_single;
        if k_single < k_tail {
            // First nodes of the initial runs: k_single + 1, growing by RUN_GROWTH, and the
            // end k_tail + 1 (its bound is evaluated to judge the last run).
            let mut marks = vec![k_single + 1];
            while let Some(&last) = marks.last() {
                if last > k_tail {
                    break;
                }
                let next = ((last as f64 * RUN_GROWTH).ceil() as usize).max(last + 1);
                marks.push(next.min(k_tail + 1));
            }
            let values: Vec<f64> = marks.par_iter().map(|&k| bound(k)).collect();
            evaluations += values.len();
            let ctx = Split {
                bound: &bound,
                run: &run,
                slack: SLACK * target / (k_tail - k_single) as f64,
                margin,
            };
            let far: Vec<(Vec<Segment>, usize)> = marks
                .par_windows(2)
                .zip(values.par_windows(2))
                .map(|(m, v)| ctx.split((m[0], v[0]), (m[1], v[1])))
                .collect();
            for (segs, count) in far {
                segments.extend(segs);
                evaluations += count;
            }
        }
        let mut after = 0.0;
        for seg in segments.iter_mut().rev() {
            match &mut seg.values {
                Values::Run { v, after: a } => {
                    *a = after;
                    after += *v * (seg.end - seg.start) as f64;
                }
                Values::Nodes(vs) => {
                    for v in vs.iter_mut().rev() {
                        after += *v;
                        *v = after;
                    }
                }
            }
        }
        NodeSums {
            segments,
            evaluations,
        }
    }

    /// An upper bound on Σ_{j ≥ k} b_j (0 beyond the last node).
    pub(super) fn suffix(&self, k: usize) -> f64 {
        let i = self.segments.partition_point(|s| s.end <= k);
        match self.segments.get(i) {
            Some(seg) => {
                let k = k.max(seg.start);
                match &seg.values {
                    Values::Run { v, after } => (seg.end - k) as f64 * v + after,
                    Values::Nodes(sfx) => sfx[k - seg.start],
                }
            }
            None => 0.0,
        }
    }

    /// The smallest k ≥ 0 with suffix(k + 1) + `tail` ≤ `target` (the last node, when none).
    pub(super) fn first_within(&self, tail: f64, target: f64) -> usize {
        let ok = |j: usize| self.suffix(j) + tail <= target;
        for seg in &self.segments {
            if seg.end == seg.start || !ok(seg.end - 1) {
                // suffix(j) does not increase in j: no node of this segment qualifies.
                continue;
            }
            let j = match &seg.values {
                Values::Nodes(sfx) => {
                    seg.start + sfx.iter().position(|s| s + tail <= target).unwrap_or(0)
                }
                Values::Run { v, after } => {
                    // (end − j)·v + after ≤ target − tail from j = end − ⌊room/v⌋ on, checked.
                    let room = ((target - tail - after) / v).floor();
                    let mut j = if room.is_finite() && room >= 0.0 {
                        seg.end.saturating_sub(room.min(seg.end as f64) as usize)
                    } else {
                        seg.start
                    }
                    .clamp(seg.start, seg.end - 1);
                    while j + 1 < seg.end && !ok(j) {
                        j += 1;
                    }
                    while j > seg.start && ok(j - 1) {
                        j -= 1;
                    }
                    j
                }
            };
            return j - 1;
        }
        self.segments.last().map_or(0, |s| s.end - 1)
    }
}

/// The halving of the runs beyond `k_single` ([`NodeSums::new`]).
struct Split<'a, B, R> {
    bound: &'a B,
    run: &'a R,
    slack: f64,
    margin: f64,
}

impl<B, R> Split<'_, B, R>
where
    B: Fn(usize) -> f64 + Sync,
    R: Fn(usize, usize) -> f64 + Sync,
{
    /// The segments of the run [a, b) (node bounds `va` at a and `vb` at b) and the number of
    /// evaluations they took.
    fn split(&self, (a, va): (usize, f64), (b, vb): (usize, f64)) -> (Vec<Segment>, usize) {
        if b - a <= LEAF {
            let mut vs = Vec::with_capacity(b - a);
            vs.push(va);
            vs.extend((a + 1..b).map(self.bound));
            let seg = Segment {
                start: a,
                end: b,
                values: Values::Nodes(vs),
            };
            return (vec![seg], b - a - 1);
        }
        let mut count = 0;
        // r(a, b) ≥ b_a: a run whose first node already exceeds the slack is halved at once.
        if va - vb <= self.slack {
            let r = (self.run)(a, b) * self.margin;
            count += 1;
            if r - vb <= self.slack {
                let seg = Segment {
                    start: a,
                    end: b,
                    values: Values::Run {
                        v: r.max(va),
                        after: 0.0,
                    },
                };
                return (vec![seg], count);
            }
        }
        let m = a + (b - a) / 2;
        let vm = (self.bound)(m);
        let ((mut lo, lc), (hi, hc)) = if b - a >= PARALLEL_RUN {
            rayon::join(
                || self.split((a, va), (m, vm)),
                || self.split((m, vm), (b, vb)),
            )
        } else {
            (self.split((a, va), (m, vm)), self.split((m, vm), (b, vb)))
        };
        lo.extend(hi);
        (lo, count + 1 + lc + hc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain suffix sums and first node (the scan before the runs).
    fn plain(b: &[f64], tail: f64, target: f64) -> (Vec<f64>, usize) {
        let n = b.len();
        let mut s = vec![0.0; n + 2];
        for k in (1..=n).rev() {
            s[k] = s[k + 1] + b[k - 1];
        }
        let k = (0..=n).find(|&k| s[k + 1] + tail <= target).unwrap_or(n);
        (s, k)
    }

    #[test]
    fn without_runs_the_sums_are_the_plain_ones() {
        let b: Vec<f64> = (1..=500).map(|k| (-(k as f64) / 30.0).exp()).collect();
        for target in [1e-1, 1e-3, 1e-6, 1e-30] {
            let ns = NodeSums::new(500, 500, target, 1.0, |k| b[k - 1], |a, _| b[a - 1]);
            let (s, k) = plain(&b, 1e-40, target);
            for j in 1..=502 {
                let want = s.get(j).copied().unwrap_or(0.0);
                assert_eq!(ns.suffix(j).to_bits(), want.to_bits(), "j = {j}");
            }
            assert_eq!(ns.first_within(1e-40, target), k, "target {target}");
            assert_eq!(ns.evaluations, 500);
        }
    }

    #[test]
    fn runs_bound_the_suffix_and_keep_the_first_node() {
        // Non-increasing bounds of several shapes: power laws, Gaussian-like n-th powers, a
        // plateau, zeros.
        let shapes: Vec<Box<dyn Fn(f64) -> f64 + Sync>> = vec![
            Box::new(|t| (0.5 + 3.0 / t).min(1.0).powi(200)),
            Box::new(|t| (-(t * t) / 2e6).exp()),
            Box::new(|t| 1.0 / (1.0 + t * t)),
            Box::new(|t| if t < 3000.0 { 1e-3 } else { 0.0 }),
        ];
        for (i, f) in shapes.iter().enumerate() {
            let k_tail = 100_000;
            let b: Vec<f64> = (1..=k_tail).map(|k| f(k as f64)).collect();
            for k_mono in [0, 10, 5000] {
                for target in [1e-2, 1e-6, 1e-12] {
                    let tail = target * 1e-3;
                    let node = |k: usize| f(k as f64);
                    let ns =
                        NodeSums::new(k_tail, k_mono, target, 1.0 + 1e-12, node, |a, _| node(a));
                    let (s, k) = plain(&b, tail, target);
                    for j in (1..=k_tail + 1).step_by(97).chain([k, k + 1, k + 2]) {
                        let j = j.clamp(1, k_tail + 1);
                        let u = ns.suffix(j);
                        assert!(u >= s[j], "shape {i} mono {k_mono} j {j}: {u} < {}", s[j]);
                        assert!(
                            u <= s[j] * (1.0 + 1e-9) + SLACK * target,
                            "shape {i} mono {k_mono} j {j}: {u} vs {}",
                            s[j]
                        );
                    }
                    let kr = ns.first_within(tail, target);
                    // The runs may overstate the suffix by SLACK·target: the first node can
                    // only move out, and only where the plain sum is that close to the target.
                    assert!(kr >= k, "shape {i}: {kr} < {k}");
                    if kr > k {
                        assert!(s[k + 1] + tail > target * (1.0 - 2.0 * SLACK));
                    }
                    assert!(ns.suffix(kr + 1) + tail <= target || kr == k_tail);
                    assert!(ns.evaluations <= 2 * k_tail);
                }
            }
        }
    }

    #[test]
    fn runs_of_a_non_monotone_bound_hold() {
        // b_k oscillates under a decreasing envelope; the run bound is the envelope at the
        // run's first node, the way `Decay::bound_over` bounds each term at its worst end.
        let env = |k: usize| 1e-3 * (1.0 + 30.0 / k as f64).powi(-8);
        let node = |k: usize| env(k) * (0.75 + 0.25 * (k as f64 * 0.37).sin());
        let k_tail = 50_000;
        let b: Vec<f64> = (1..=k_tail).map(node).collect();
        for target in [1e-3, 1e-8] {
            let ns = NodeSums::new(k_tail, 0, target, 1.0, node, |a, _| env(a));
            let (s, k) = plain(&b, 0.0, target);
            for j in (1..=k_tail + 1).step_by(53) {
                assert!(ns.suffix(j) >= s[j], "j {j}");
            }
            assert!(ns.first_within(0.0, target) >= k);
        }
    }

    #[test]
    fn empty_and_all_run_sums() {
        let none = NodeSums::new(0, 0, 1.0, 1.0, |_| 1.0, |_, _| 1.0);
        assert_eq!(
            (none.suffix(0), none.suffix(1), none.first_within(0.0, 1.0)),
            (0.0, 0.0, 0)
        );
        // Everything in runs (k_single = 0): suffix(0) is the whole sum, as suffix(1).
        let f = |k: usize| 1e-3 / (k * k) as f64;
        let ns = NodeSums::new(10_000, 0, 1.0, 1.0, f, |a, _| f(a));
        assert_eq!(ns.suffix(0), ns.suffix(1));
        assert!(ns.suffix(1) >= (1..=10_000).map(f).sum::<f64>());
        assert_eq!(ns.first_within(0.0, 1.0), 0);
    }

    #[test]
    fn far_runs_cost_few_evaluations() {
        // A bound that falls below the target early: far fewer evaluations than nodes.
        let f = |k: usize| (0.9f64).powi(k as i32);
        let ns = NodeSums::new(1_000_000, 0, 1e-8, 1.0 + 1e-12, f, |a, _| f(a));
        assert!(ns.evaluations < 5_000, "{} evaluations", ns.evaluations);
        let k = ns.first_within(0.0, 1e-8);
        assert!(ns.suffix(k + 1) <= 1e-8 && ns.suffix(k) > 1e-8);
    }
}
