//! The contour accountant's lattice path at a cost flat in steps (docs/math.md §16.8): the
//! periodic (Fourier) inversion against exact lattice composition (docs/math.md §16.5) as the
//! oracle, long compositions, width and monotonicity.

use ewtune::accountant::contour::LatticePath;
use ewtune::accountant::{Accountant, Bracket, ContourAccountant, ContourParams};
use ewtune::error::Error;
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction};

fn rr(p: f64, k: u64) -> (DpEvent, Adjacency) {
    (
        DpEvent::RandomizedResponse {
            noise_parameter: p,
            buckets: k,
        },
        Adjacency::ReplaceOne,
    )
}

fn dlap(a: f64, d: u64) -> (DpEvent, Adjacency) {
    (
        DpEvent::DiscreteLaplace {
            parameter: a,
            sensitivity: d,
        },
        Adjacency::AddRemove,
    )
}

fn dgauss(sigma: f64, d: u64) -> (DpEvent, Adjacency) {
    (
        DpEvent::DiscreteGaussian {
            sigma,
            sensitivity: d,
        },
        Adjacency::AddRemove,
    )
}

fn accountant((event, adjacency): &(DpEvent, Adjacency), n: u64) -> ContourAccountant {
    let mut acc = ContourAccountant::new(ContourParams {
        adjacency: *adjacency,
        tolerance: 1e-9,
    })
    .expect("valid tolerance");
    acc.compose(event, n).expect("valid event");
    acc
}

fn ends(b: &Bracket) -> (f64, f64) {
    (
        b.lower.expect("certified lower end"),
        b.upper.expect("certified upper end"),
    )
}

/// The mechanisms of the grid: each with parameters that make the law skewed, balanced and
/// wide (discrete Laplace Δ > 1, discrete Gaussian at several σ).
fn grid() -> Vec<(&'static str, (DpEvent, Adjacency))> {
    vec![
        ("rr p=0.5 k=4", rr(0.5, 4)),
        ("rr p=0.9 k=2", rr(0.9, 2)),
        ("rr p=0.2 k=10", rr(0.2, 10)),
        ("dlap a=0.3 d=2", dlap(0.3, 2)),
        ("dlap a=1 d=1", dlap(1.0, 1)),
        ("dlap a=0.05 d=5", dlap(0.05, 5)),
        ("dgauss s=2 d=1", dgauss(2.0, 1)),
        ("dgauss s=0.7 d=1", dgauss(0.7, 1)),
        ("dgauss s=5 d=3", dgauss(5.0, 3)),
    ]
}

/// Accept a refusal only as `NotCertified` with a reason.
fn refused(e: &Error) -> bool {
    matches!(e, Error::NotCertified(m) if !m.is_empty())
}

/// Fourier brackets contain the exact bracket's midpoint and overlap it, for δ(ε) and ε(δ),
/// n = 10…10⁴ over the grid; δ down to 1e-300.
#[test]
fn fourier_agrees_with_exact_composition() {
    let mut answered = 0;
    let mut total = 0;
    for (name, m) in grid() {
        for n in [10u64, 100, 1000, 10_000] {
            let acc = accountant(&m, n);
            for delta in [1e-3, 1e-6, 1e-12, 1e-30, 1e-100, 1e-300] {
                let Ok(ex) = acc.lattice_epsilon(delta, LatticePath::Exact) else {
                    continue;
                };
                let (el, eu) = ends(&ex);
                total += 1;
                match acc.lattice_epsilon(delta, LatticePath::Fourier) {
                    Ok(f) => {
                        answered += 1;
                        let (fl, fu) = ends(&f);
                        let mid = 0.5 * (el + eu);
                        assert!(fl <= fu, "{name} n={n} δ={delta:e}: [{fl}, {fu}]");
                        // The exact path's upper end may be +∞ (its rounding terms exceed δ
                        // at the largest loss); then only overlap is checked.
                        assert!(
                            !mid.is_finite()
                                || (fl <= mid * (1.0 + 1e-12) && mid <= fu * (1.0 + 1e-12)),
                            "{name} n={n} δ={delta:e}: fourier [{fl}, {fu}] vs exact [{el}, {eu}]"
                        );
                        assert!(fl <= eu && el <= fu, "{name} n={n} δ={delta:e}: no overlap");
                        assert!(
                            fu - fl <= 1e-6 * fu,
                            "{name} n={n} δ={delta:e}: width {}",
                            (fu - fl) / fu
                        );
                        // δ at the ε found, both paths.
                        let e = 0.5 * (fl + fu);
                        let dx = acc.lattice_delta(e, LatticePath::Exact).expect("exact");
                        let (xl, xu) = ends(&dx);
                        match acc.lattice_delta(e, LatticePath::Fourier) {
                            Ok(df) => {
                                let (dl, du) = ends(&df);
                                let mid = 0.5 * (xl + xu);
                                // Exact composition's bracket carries its truncated mass
                                // (up to ~1e-279): the midpoint is checked where it is narrow.
                                assert!(dl <= xu && xl <= du, "{name} n={n} ε={e}: no overlap");
                                assert!(
                                    xu - xl > 1e-6 * xu || (dl <= mid && mid <= du),
                                    "{name} n={n} ε={e}: fourier δ [{dl:e}, {du:e}] vs exact \
                                     [{xl:e}, {xu:e}]"
                                );
                                assert!(du - dl <= 1e-6 * du, "{name} n={n} ε={e}: δ width");
                            }
                            Err(err) => assert!(refused(&err), "{name} n={n}: {err}"),
                        }
                    }
                    Err(err) => {
                        assert!(refused(&err), "{name} n={n} δ={delta:e}: {err}");
                        eprintln!("{name} n={n} δ={delta:e}: refused: {err}");
                    }
                }
            }
        }
    }
    eprintln!("fourier answered {answered} of {total}");
    assert!(answered * 10 >= total * 8, "answered {answered} of {total}");
}

/// n = 10⁵, 10⁶, 10⁷ answer (or refuse with a reason) through the default accountant path;
/// answers are ≤ 1e-6 wide and non-decreasing in n (ε(δ) and δ(ε) at a fixed ε).
#[test]
fn long_compositions_answer_narrow_and_monotone_in_steps() {
    for (name, m) in grid() {
        let mut last_eps: Option<(f64, f64)> = None;
        let mut last_delta: Option<(f64, f64)> = None;
        for n in [1000u64, 10_000, 100_000, 1_000_000, 10_000_000] {
            let acc = accountant(&m, n);
            let t = std::time::Instant::now();
            let r = acc.epsilon_bounds(Direction::Remove, 1e-5).map(|x| x.0);
            eprintln!(
                "{name} n={n}: {:?} in {:?}",
                r.as_ref().map(|b| (b.lower, b.upper)),
                t.elapsed()
            );
            match r {
                Ok(b) => {
                    let (l, u) = ends(&b);
                    assert!(l <= u && u - l <= 1e-6 * u, "{name} n={n}: [{l}, {u}]");
                    if let Some((pl, _)) = last_eps {
                        assert!(
                            u >= pl,
                            "{name} n={n}: epsilon upper {u} below the previous lower {pl}"
                        );
                    }
                    last_eps = Some((l, u));
                }
                Err(e) => assert!(refused(&e), "{name} n={n}: {e}"),
            }
            // δ at a fixed ε that is of the order of the answers' ε at 10³ steps.
            let eps = 2.0;
            match acc.delta_bounds(Direction::Remove, eps).map(|x| x.0) {
                Ok(b) => {
                    let (l, u) = ends(&b);
                    assert!(
                        l <= u && (u - l) <= 1e-6 * u,
                        "{name} n={n} δ: [{l:e}, {u:e}]"
                    );
                    if let Some((pl, _)) = last_delta {
                        assert!(
                            u >= pl,
                            "{name} n={n}: delta upper {u:e} below previous lower {pl:e}"
                        );
                    }
                    last_delta = Some((l, u));
                }
                Err(e) => assert!(refused(&e), "{name} n={n} δ: {e}"),
            }
        }
    }
}
