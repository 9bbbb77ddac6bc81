//! Subsampled-Gaussian cumulants against ../shared/reference/subsampled_gaussian_cumulants.csv
//! (mpmath 1.4.1 quad at 50 digits; generator and versions in that folder's README), the
//! integer-λ oracle, and the precision-agreement properties of the certified quadrature.

use ewtune::mechanism::{Direction, Mechanism, SubsampledGaussian};
use ewtune::precision::Precision;
use rug::Float;

mod common;

#[test]
fn certified_cumulants_match_mpmath_reference_to_1e9() {
    // Tolerance: 1e-9 relative (the reference values are given to 16 digits).
    const TOL: f64 = 1e-9;
    let rows = common::read_csv("subsampled_gaussian_cumulants.csv");
    assert!(rows.len() >= 4, "reference table missing rows");
    for row in rows {
        let q: f64 = row["q"].parse().unwrap();
        let sigma: f64 = row["sigma"].parse().unwrap();
        let m = Mechanism::SubsampledGaussian(SubsampledGaussian::new(sigma, q).unwrap());
        let c = m
            .certified_cumulants(Direction::Remove, Precision(256))
            .unwrap();
        let f = m.cumulants(Direction::Remove);
        let side = &row["side"];
        for j in 1..=6 {
            let want: f64 = row[&format!("k{j}")].parse().unwrap();
            let (enc, fast) = if side == "P" {
                (&c.p[j - 1], f.p[j - 1])
            } else {
                (&c.q[j - 1], f.q[j - 1])
            };
            let got = enc.mid_f64();
            assert!(
                (got - want).abs() <= TOL * want.abs(),
                "q={q} σ={sigma} {side} κ{j}: certified {got:e} vs {want:e}"
            );
            // The f64 path is an estimate: 1e-8 relative here.
            assert!(
                (fast - want).abs() <= 1e-8 * want.abs(),
                "q={q} σ={sigma} {side} κ{j}: f64 {fast:e} vs {want:e}"
            );
        }
    }
}

#[test]
fn enclosures_are_narrow_and_nested_across_precisions_on_a_grid() {
    // 256-bit enclosures contain the 512-bit ones' midpoints and are narrower than 1e-60
    // relative for κ1..κ4 on a grid of q ∈ [1e-4, 1], σ ∈ [0.5, 20].
    for &q in &[1e-4, 3e-3, 0.05, 0.5, 1.0] {
        for &sigma in &[0.5, 1.0, 3.0, 20.0] {
            let m = Mechanism::SubsampledGaussian(SubsampledGaussian::new(sigma, q).unwrap());
            for dir in [Direction::Remove, Direction::Add] {
                let lo = m.certified_cumulants(dir, Precision(256)).unwrap();
                let hi = m.certified_cumulants(dir, Precision(512)).unwrap();
                for j in 0..4 {
                    for (a, b) in [(&lo.p[j], &hi.p[j]), (&lo.q[j], &hi.q[j])] {
                        let mid = Float::with_val(600, &b.lo + &b.hi) / 2;
                        assert!(
                            a.contains(&mid),
                            "q={q} σ={sigma} κ{}: 512-bit escapes",
                            j + 1
                        );
                        if q < 1.0 || j < 2 {
                            assert!(
                                a.rel_width() < 1e-60,
                                "q={q} σ={sigma} κ{}: rel width {:e}",
                                j + 1,
                                a.rel_width()
                            );
                        }
                    }
                }
            }
        }
    }
}
