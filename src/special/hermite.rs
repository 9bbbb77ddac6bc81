//! Probabilists' Hermite polynomials and the Edgeworth correction polynomial.

/// He_n(z) for n ≤ 8 by the recurrence He_{n+1} = z He_n − n He_{n−1}.
pub fn he(n: usize, z: f64) -> f64 {
    let (mut a, mut b) = (1.0, z); // He_0, He_1
    if n == 0 {
        return a;
    }
    for k in 1..n {
        let c = z * b - k as f64 * a;
        a = b;
        b = c;
    }
    b
}

/// The Edgeworth survival-function correction poly(z) of order `order` ≤ 3 (docs/math.md §4):
/// SF(x) ≈ φ(z)·[R(z) + poly(z)] with standardised cumulants `lambda[j]` = λ_j (index j = 3..=5
/// used; indices below 3 ignored).
///
/// order 1: λ3/6·He2; order 2 adds λ4/24·He3 + λ3²/72·He5; order 3 adds λ5/120·He4 +
/// λ3λ4/144·He6 + λ3³/1296·He8.
pub fn edgeworth_poly(order: u8, lambda: &[f64; 7], z: f64) -> f64 {
    let l3 = lambda[3];
    let l4 = lambda[4];
    let l5 = lambda[5];
    let mut p = 0.0;
    if order >= 1 {
        p += l3 / 6.0 * he(2, z);
    }
    if order >= 2 {
        p += l4 / 24.0 * he(3, z) + l3 * l3 / 72.0 * he(5, z);
    }
    if order >= 3 {
        p += l5 / 120.0 * he(4, z) + l3 * l4 / 144.0 * he(6, z) + l3 * l3 * l3 / 1296.0 * he(8, z);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_closed_forms() {
        let z: f64 = 1.7;
        let tol = 1e-12;
        assert!((he(2, z) - (z * z - 1.0)).abs() < tol);
        assert!((he(3, z) - (z.powi(3) - 3.0 * z)).abs() < tol);
        assert!((he(4, z) - (z.powi(4) - 6.0 * z * z + 3.0)).abs() < tol);
        assert!((he(5, z) - (z.powi(5) - 10.0 * z.powi(3) + 15.0 * z)).abs() < tol);
        assert!((he(6, z) - (z.powi(6) - 15.0 * z.powi(4) + 45.0 * z * z - 15.0)).abs() < tol);
        let he8 = z.powi(8) - 28.0 * z.powi(6) + 210.0 * z.powi(4) - 420.0 * z * z + 105.0;
        assert!((he(8, z) - he8).abs() < 1e-10);
    }
}
