//! The saddle-point accountant on the Poisson-subsampled Laplace mechanism, through its certified
//! CGF (Clenshaw–Curtis panels with the ellipse bound, docs/math.md §15.5): one step against the
//! exact x-space δ, both orderings; ε(δ) over a grid of (b, q, steps, δ) against the contour's
//! bracket, with and without the Fourier part; the Kolmogorov-distance part alone is valid on
//! its own; a query no certified CGF can serve is refused as not certified.

mod common;

use common::{subsampled_laplace_exact_delta, subsampled_laplace_steps as event};
use ewtune::accountant::{
    Accountant, ContourAccountant, ContourParams, FourierPart, SaddlePointAccountant,
    SaddlePointParams,
};
use ewtune::mechanism::Adjacency;
use ewtune::Error;

fn saddle(
    adjacency: Adjacency,
    fourier: FourierPart,
    b: f64,
    q: f64,
    n: u64,
) -> SaddlePointAccountant {
    let mut a = SaddlePointAccountant::new(SaddlePointParams {
        adjacency,
        fourier,
        ..SaddlePointParams::default()
    })
    .expect("test setup");
    a.compose(&event(b, q, n), 1).expect("test setup");
    a
}

fn ends(r: &ewtune::accountant::Report) -> (f64, f64) {
    (
        r.lower.expect("certified lower end"),
        r.upper.expect("certified upper end"),
    )
}

/// One step, both orderings: the certified δ bracket contains the exact δ.
#[test]
fn one_step_delta_brackets_contain_the_exact_delta() {
    for &(b, q) in &[(0.5, 0.05), (1.0, 0.3), (3.0, 0.7)] {
        for (adj, add) in [(Adjacency::Remove, false), (Adjacency::Add, true)] {
            let acc = saddle(adj, FourierPart::WhenLoose, b, q, 1);
            for &eps in &[0.01, 0.1, 0.5] {
                let want = subsampled_laplace_exact_delta(b, q, eps, add);
                let (lo, up) = ends(&acc.delta(eps).expect("certified"));
                let slack = 1e-12 * want + 1e-300;
                assert!(
                    lo <= want + slack && want <= up + slack,
                    "b {b} q {q} add {add} eps {eps}: [{lo:e}, {up:e}] vs {want:e}"
                );
            }
        }
    }
}

/// ε(δ), add-remove: the saddle point's bracket (Kolmogorov part alone, and intersected with
/// the Fourier part) overlaps the contour's certified bracket on every row, and with the
/// Fourier part contains the contour's midpoint within 1e−9 relative.
#[test]
fn epsilon_brackets_agree_with_the_contour() {
    for &(b, q) in &[(0.5, 0.01), (1.0, 0.1), (4.0, 0.5)] {
        for &n in &[10u64, 300, 3000] {
            let mut c = ContourAccountant::new(ContourParams {
                adjacency: Adjacency::AddRemove,
                tolerance: 1e-9,
            })
            .expect("test setup");
            c.compose(&event(b, q, n), 1).expect("test setup");
            for &delta in &[1e-5, 1e-10] {
                let (clo, chi) = match c.epsilon(delta) {
                    Ok(r) => ends(&r),
                    Err(Error::NotCertified(_)) => continue,
                    Err(e) => panic!("contour b {b} q {q} n {n}: {e}"),
                };
                let mid = 0.5 * (clo + chi);
                for fourier in [FourierPart::Off, FourierPart::WhenLoose] {
                    let s = saddle(Adjacency::AddRemove, fourier, b, q, n);
                    let r = s.epsilon(delta);
                    let (lo, up) = match r {
                        Ok(r) => ends(&r),
                        Err(Error::NotCertified(m)) => {
                            assert!(!m.is_empty());
                            continue;
                        }
                        Err(e) => panic!("saddle b {b} q {q} n {n} δ {delta}: {e}"),
                    };
                    assert!(
                        lo <= chi * (1.0 + 1e-12) && clo <= up * (1.0 + 1e-12),
                        "b {b} q {q} n {n} δ {delta} {fourier:?}: [{lo}, {up}] vs contour [{clo}, {chi}]"
                    );
                    if fourier == FourierPart::WhenLoose {
                        assert!(
                            lo <= mid * (1.0 + 1e-9) && mid <= up * (1.0 + 1e-9),
                            "b {b} q {q} n {n} δ {delta}: [{lo}, {up}] vs {mid}"
                        );
                    }
                }
            }
        }
    }
}

/// Where the saddle point's tilt would need a certified CGF beyond the quadrature's budget
/// (|λ|·a very large), the call is refused as not certified, never as bad input.
#[test]
fn unreachable_tilts_are_refused_as_not_certified() {
    let s = saddle(
        Adjacency::AddRemove,
        FourierPart::WhenLoose,
        1.0,
        1e-6,
        1_000_000,
    );
    match s.epsilon(1e-5) {
        Ok(r) => {
            let (lo, up) = ends(&r);
            assert!(lo <= up, "[{lo}, {up}]");
        }
        Err(Error::NotCertified(m)) => assert!(m.contains("lambda"), "{m}"),
        Err(e) => panic!("{e}"),
    }
}
