//! Exact δ(ε) of n-fold randomized response / discrete Laplace (J ≤ 2) by the multinomial
//! formula in log space, independent of the library's convolution (docs/math.md §16).
#![allow(dead_code)]

/// Q-probabilities of the index j = 0..=J and the spacing h, from the closed forms of
/// docs/math.md §16.1–16.2 (written independently of the library).
pub fn rr_law(p: f64, k: u64) -> (Vec<f64>, f64) {
    let beta = p / k as f64;
    let alpha = 1.0 - p + beta;
    // Q-mass at ℓ_j is p_{J−j}: ℓ = −h has Q-mass β, 0 has (k−2)β, +h has α.
    (
        vec![beta, (k as f64 - 2.0) * beta, alpha],
        (alpha / beta).ln(),
    )
}

pub fn dlap_law(a: f64, d: u64) -> (Vec<f64>, f64) {
    let r = (-a).exp();
    let mut p = vec![1.0 / (1.0 + r)];
    for j in 1..d {
        p.push((1.0 - r) / (1.0 + r) * r.powi(j as i32));
    }
    p.push(r.powi(d as i32) / (1.0 + r));
    p.reverse(); // Q-mass of index j is p_{J−j}
    (p, 2.0 * a)
}

/// Exact δ(ε) of the n-fold composition of a law with J ≤ 2 by the multinomial formula in log
/// space (an oracle independent of the convolution code): counts (c0, c1, c2) of the indices,
/// sum of indices c1 + 2c2.
pub fn oracle_delta(q: &[f64], h: f64, n: u64, eps: f64) -> f64 {
    let lg = |x: f64| statrs_lgamma(x + 1.0);
    let top = (q.len() - 1) as f64;
    let lq: Vec<f64> = q.iter().map(|x| x.ln()).collect();
    let mut terms = Vec::new();
    let c1_max = if q.len() == 3 { n } else { 0 };
    for c2 in 0..=n {
        for c1 in 0..=(n - c2).min(c1_max) {
            let c0 = n - c1 - c2;
            let (idx, parts) = if q.len() == 3 {
                (c1 + 2 * c2, [c0, c1, c2])
            } else {
                (c2, [c0 + c1, 0, c2])
            };
            let s = h * (idx as f64 - 0.5 * top * n as f64);
            if s <= eps {
                continue;
            }
            let mut l = lg(n as f64);
            for (t, &c) in parts.iter().enumerate() {
                if c > 0 {
                    let qi = if q.len() == 3 {
                        lq[t]
                    } else if t == 0 {
                        lq[0]
                    } else {
                        lq[1]
                    };
                    l += c as f64 * qi - lg(c as f64);
                }
            }
            terms.push(l + (-(eps - s).exp_m1()).ln());
        }
    }
    if terms.is_empty() {
        return 0.0;
    }
    let m = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m.exp() * terms.iter().map(|t| (t - m).exp()).sum::<f64>()
}

pub fn statrs_lgamma(x: f64) -> f64 {
    statrs::function::gamma::ln_gamma(x)
}
