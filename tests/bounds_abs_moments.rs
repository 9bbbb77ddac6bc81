//! Certified absolute central moments E|X| and E|X|³ of the privacy loss (docs/math.md §15.4):
//! over a class of subsampled Gaussians and both orderings, the enclosures contain an
//! independent f64 reference, are narrow, and beat the moment bound √(μ2·μ4) they replace in
//! the DGG bracket; the Gaussian closed form holds.

use ewtune::cgf::{certified_abs_central, Side};
use ewtune::mechanism::{Direction, Gaussian, Mechanism, SubsampledGaussian};
use ewtune::precision::Precision;
use ewtune::special::quadrature::SubsampledLoss;
use rug::Float;

/// ∫ e^{λL}|L − m|^k φ by the trapezoid on the grid x0 + jh (x0 the root of L = m, so the kink
/// is a node and each side is smooth), Richardson-extrapolated from h and h/2.
fn reference(sigma: f64, q: f64, lambda: f64, m: f64, k: i32) -> f64 {
    let loss = SubsampledLoss { sigma, q };
    let tt = 14.0 + 1.0 / sigma;
    // Where m is ln(1 − q) to within rounding the root lies far left (or at −∞): the kink is
    // then outside the mass, and any grid origin in range will do.
    let x0 = (sigma * (m.exp_m1() / q).ln_1p() + 0.5 / sigma).clamp(-tt, tt);
    let trap = |h: f64| {
        let n = ((tt + x0.abs()) / h).ceil() as i64;
        let mut s = 0.0;
        for j in -n..=n {
            let x = x0 + j as f64 * h;
            let l = loss.loss_f64(x);
            let w = (lambda * l - 0.5 * x * x).exp();
            s += w * (l - m).abs().powi(k);
        }
        s * h / (2.0 * std::f64::consts::PI).sqrt()
    };
    let h = 2e-3_f64.min(0.01 * sigma);
    (4.0 * trap(h / 2.0) - trap(h)) / 3.0
}

#[test]
fn subsampled_abs_moments_contain_the_reference_over_a_class() {
    let prec = Precision(128);
    for &sigma in &[0.5, 1.0, 2.5, 20.0] {
        for &q in &[1e-4, 0.01, 0.1, 0.5] {
            let mech = Mechanism::SubsampledGaussian(SubsampledGaussian::new(sigma, q).unwrap());
            for dir in [Direction::Remove, Direction::Add] {
                let c = mech.certified_cumulants(dir, prec).unwrap();
                for (side, k) in [(Side::P, &c.p), (Side::Q, &c.q)] {
                    let a = certified_abs_central(&mech, dir, side, &k[0], &k[1], prec)
                        .unwrap()
                        .expect("subsampled Gaussian has certified absolute moments");
                    // The same law in the remove ordering: add's P is remove's Q (L negated).
                    let remove_q = (dir == Direction::Remove) == (side == Side::Q);
                    let mean = if dir == Direction::Add {
                        -k[0].mid_f64()
                    } else {
                        k[0].mid_f64()
                    };
                    let lambda = if remove_q { 1.0 } else { 0.0 };
                    for (kk, e) in [(1, &a.abs1), (3, &a.abs3)] {
                        let want = reference(sigma, q, lambda, mean, kk);
                        let tol = 1e-9 * want;
                        let tag = format!("sigma={sigma} q={q} {dir:?} {side:?} k={kk}");
                        assert!(
                            e.lo_f64() - tol <= want && want <= e.hi_f64() + tol,
                            "{tag}: [{}, {}] vs reference {want}",
                            e.lo_f64(),
                            e.hi_f64()
                        );
                        assert!(e.rel_width() < 1e-12, "{tag}: width {}", e.rel_width());
                    }
                    // Strictly better than Cauchy–Schwarz √(μ2·μ4), μ4 = κ4 + 3κ2².
                    let mu2 = k[1].mid_f64();
                    let mu4 = k[3].mid_f64() + 3.0 * mu2 * mu2;
                    let cs = (mu2 * mu4).sqrt();
                    assert!(
                        a.abs3.hi_f64() < 0.999 * cs,
                        "sigma={sigma} q={q} {dir:?} {side:?}: {} vs sqrt(mu2 mu4) {cs}",
                        a.abs3.hi_f64()
                    );
                    // E|X| ≤ σ_X (Jensen), strictly for a non-degenerate law.
                    assert!(a.abs1.hi_f64() < mu2.sqrt());
                }
            }
        }
    }
}

#[test]
fn gaussian_abs_moments_are_the_closed_form() {
    let prec = Precision(128);
    for &sigma in &[0.5, 1.0, 3.0, 20.0] {
        for mech in [
            Mechanism::Gaussian(Gaussian::new(sigma).unwrap()),
            Mechanism::SubsampledGaussian(SubsampledGaussian::new(sigma, 1.0).unwrap()),
        ] {
            let c = mech.certified_cumulants(Direction::Remove, prec).unwrap();
            let a =
                certified_abs_central(&mech, Direction::Remove, Side::P, &c.p[0], &c.p[1], prec)
                    .unwrap()
                    .unwrap();
            // X ~ N(0, μ²), μ = 1/σ: E|X| = √(2/π)μ, E|X|³ = 2√(2/π)μ³.
            let p = 200;
            let mu = Float::with_val(p, 1) / Float::with_val(p, sigma);
            let k = (Float::with_val(p, 2) / Float::with_val(p, rug::float::Constant::Pi)).sqrt();
            let e1 = Float::with_val(p, &k * &mu);
            let e3 = Float::with_val(p, &e1 * &mu) * &mu * 2u32;
            assert!(a.abs1.contains(&e1), "sigma={sigma}: {:?} vs {e1}", a.abs1);
            assert!(a.abs3.contains(&e3), "sigma={sigma}: {:?} vs {e3}", a.abs3);
            assert!(a.abs3.rel_width() < 1e-30);
        }
    }
}

/// At small σ the panels are as wide as their error bounds allow away from the singular line
/// Re x = x_s of L (docs/math.md §15.4): far fewer nodes than strip-height panels everywhere
/// (≈ 3 100 panels at σ = 0.04, now 256), and the enclosures still contain the reference.
#[test]
fn small_sigma_abs_moments_use_wide_panels_and_contain_the_reference() {
    use ewtune::special::quadrature::certified_abs_moments;
    let prec = Precision(128);
    for &sigma in &[0.04, 0.1] {
        for &q in &[0.026, 0.3] {
            let mech = Mechanism::SubsampledGaussian(SubsampledGaussian::new(sigma, q).unwrap());
            let c = mech.certified_cumulants(Direction::Remove, prec).unwrap();
            for (side, k) in [(Side::P, &c.p), (Side::Q, &c.q)] {
                let a = certified_abs_central(&mech, Direction::Remove, side, &k[0], &k[1], prec)
                    .unwrap()
                    .unwrap();
                let mean = k[0].mid_f64();
                let lambda = if side == Side::Q { 1.0 } else { 0.0 };
                let sd = k[1].mid_f64().sqrt();
                for (kk, e) in [(1, &a.abs1), (3, &a.abs3)] {
                    let want = reference(sigma, q, lambda, mean, kk);
                    let tag = format!("sigma={sigma} q={q} {side:?} k={kk}");
                    assert!(e.lo_f64() <= e.hi_f64(), "{tag}");
                    // The P side's spread can sit far below the ulp of its mean (σ = 0.04,
                    // q = 0.026: E|X| ≈ 2e−36 at m ≈ −0.0265): there the f64 reference, and
                    // the certified value's width from the mean's enclosure, say nothing.
                    if sd < 1e-6 * mean.abs() {
                        assert!(e.hi_f64() < 1e-12, "{tag}: {}", e.hi_f64());
                        continue;
                    }
                    let tol = 1e-9 * want;
                    assert!(
                        e.lo_f64() - tol <= want && want <= e.hi_f64() + tol,
                        "{tag}: [{}, {}] vs reference {want}",
                        e.lo_f64(),
                        e.hi_f64()
                    );
                    // The quadrature runs at the f64 midpoint c* of the mean's enclosure and is
                    // moved to the mean with d ≥ |m − c*| (up to half an ulp of m): 2d/E|X| of
                    // width where the spread is small against |m|.
                    let moved = 1e-15 * mean.abs() / want.powf(1.0 / kk as f64);
                    assert!(
                        e.rel_width() < 1e-12 + moved,
                        "{tag}: width {}",
                        e.rel_width()
                    );
                }
                // Strip-height panels (half-width 0.999·(π/(3μ))/1.875) over [−T, T],
                // T ≥ λμ + 8 (the mass sits at λμ): at least this many nodes; the layout must use
                // under half of them (≈ 1/15 at σ = 0.04).
                let loss = SubsampledLoss { sigma, q };
                let r = certified_abs_moments(&loss, lambda, mean, prec).unwrap();
                let r_strip = 0.999 * std::f64::consts::PI * sigma / 3.0 / 1.875;
                let strip_nodes = (2.0 * (lambda / sigma + 8.0)) / (2.0 * r_strip) * 49.0;
                assert!(
                    (r.nodes as f64) < 0.5 * strip_nodes,
                    "sigma={sigma} q={q} {side:?}: {} nodes, strip layout {strip_nodes:.0}",
                    r.nodes
                );
            }
        }
    }
}
