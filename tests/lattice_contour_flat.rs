//! The contour accountant's lattice path at a cost flat in steps (docs/math.md §16.8): the
//! periodic (Fourier) inversion against exact lattice composition (docs/math.md §16.5) as the
//! oracle, long compositions, width and monotonicity.

use ewtune::accountant::contour::LatticePath;
use ewtune::accountant::{
    Accountant, Bracket, ContourAccountant, ContourParams, PldAccountant, PldParams,
};
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
    // 204 of 210 since the complement sum and the ε search's start (docs/math.md §16.8); the
    // refusals are 100 steps of the discrete Laplace (outer arc near a coarser lattice) and
    // δ = 1e-300 at 10 steps of the discrete Gaussian (its tail mass).
    assert!(
        answered * 100 >= total * 95,
        "answered {answered} of {total}"
    );
}

/// n = 10³ … 10⁷ answer through the default accountant path, every grid row, ε(δ) at δ = 1e-5
/// and 1e-300 and δ(ε) at a fixed ε (below the bulk of the loss from 10⁴ steps on: the
/// complement sum of docs/math.md §16.8) and at both ends of each ε bracket (the tail): answers
/// are ≤ 1e-6 wide, non-decreasing in n, and δ at the ε found brackets the δ asked. No refusal
/// is accepted.
#[test]
fn long_compositions_answer_narrow_and_monotone_in_steps() {
    for (name, m) in grid() {
        let mut last_eps = [(0.0f64, 0.0f64); 2];
        let mut last_delta: Option<(f64, f64)> = None;
        for n in [1000u64, 10_000, 100_000, 1_000_000, 10_000_000] {
            let acc = accountant(&m, n);
            for (slot, delta) in [1e-5, 1e-300].into_iter().enumerate() {
                let t = std::time::Instant::now();
                let r = acc.epsilon_bounds(Direction::Remove, delta).map(|x| x.0);
                eprintln!(
                    "{name} n={n} δ={delta:e}: {:?} in {:?}",
                    r.as_ref().map(|b| (b.lower, b.upper)),
                    t.elapsed()
                );
                let b = r.unwrap_or_else(|e| panic!("{name} n={n} δ={delta:e}: refused: {e}"));
                let (l, u) = ends(&b);
                assert!(l <= u && u - l <= 1e-6 * u, "{name} n={n}: [{l}, {u}]");
                let (pl, _) = last_eps[slot];
                assert!(
                    u >= pl,
                    "{name} n={n}: epsilon upper {u} below the previous lower {pl}"
                );
                last_eps[slot] = (l, u);
                {
                    // δ(ε) in the tail: at the ends of the ε bracket, δ brackets the δ asked.
                    let at = |e: f64| {
                        let d = acc
                            .delta_bounds(Direction::Remove, e)
                            .unwrap_or_else(|x| panic!("{name} n={n} δ({e}): refused: {x}"))
                            .0;
                        let (dl, du) = ends(&d);
                        assert!(
                            dl <= du && du - dl <= 1e-6 * du,
                            "{name} n={n} δ({e}): [{dl:e}, {du:e}]"
                        );
                        (dl, du)
                    };
                    let (dl, _) = at(l * (1.0 - 1e-6));
                    let (_, du) = at(u);
                    assert!(
                        du <= delta && dl >= delta * (1.0 - 1e-3),
                        "{name} n={n}: δ(ε_upper) = {du:e}, δ(ε_lower) = {dl:e} for {delta:e}"
                    );
                }
            }
            // δ at a fixed ε that is of the order of the answers' ε at 10³ steps.
            let eps = 2.0;
            let b = acc
                .delta_bounds(Direction::Remove, eps)
                .map(|x| x.0)
                .unwrap_or_else(|e| panic!("{name} n={n} δ(2): refused: {e}"));
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
    }
}

/// δ(ε) near and below the bulk of the loss, where the Fourier path inverts the complement
/// E[min(1, e^{ε−S})] (docs/math.md §16.8): against exact composition (§16.5) at ε from 0 to
/// beyond the mean, n = 200 … 10⁴; the Fourier bracket overlaps the exact one, contains its
/// midpoint where that is narrow, and is ≤ 1e-6 wide.
#[test]
fn fourier_delta_near_the_bulk_agrees_with_exact() {
    let (mut checked, mut total) = (0, 0);
    for (name, m) in grid() {
        for n in [200u64, 1000, 10_000] {
            let acc = accountant(&m, n);
            let Ok(e3) = acc.lattice_epsilon(1e-3, LatticePath::Exact) else {
                continue;
            };
            let (_, top) = ends(&e3);
            for f in [0.0, 0.1, 0.3, 0.5, 0.7, 0.85, 0.95, 1.0] {
                let eps = f * top;
                let (xl, xu) = ends(&acc.lattice_delta(eps, LatticePath::Exact).expect("exact"));
                total += 1;
                let (dl, du) = match acc.lattice_delta(eps, LatticePath::Fourier) {
                    Ok(b) => ends(&b),
                    Err(e) => {
                        // As in the test above: a law nearly on a coarser lattice (discrete
                        // Laplace a = 0.05, Δ = 5) may not certify its outer arc at few steps
                        // (the default path then composes exactly).
                        assert!(refused(&e), "{name} n={n} ε={eps}: {e}");
                        eprintln!("{name} n={n} ε={eps}: refused: {e}");
                        continue;
                    }
                };
                // Both are certified: they must overlap (and both are narrow, so this is a
                // check to ~1e-6; δ is near 1 below the bulk, where the exact bracket's
                // midpoint need not lie in the narrower Fourier bracket).
                assert!(
                    dl <= xu && xl <= du,
                    "{name} n={n} ε={eps}: fourier [{dl:e}, {du:e}] vs exact [{xl:e}, {xu:e}]"
                );
                checked += 1;
                assert!(
                    du - dl <= 1e-6 * du,
                    "{name} n={n} ε={eps}: width {:e} ([{dl:e}, {du:e}])",
                    (du - dl) / du
                );
            }
        }
    }
    eprintln!("fourier answered {checked} of {total}");
    assert!(checked * 10 >= total * 9, "answered {checked} of {total}");
}

/// Randomized response p = 0.2, k = 10 at 10⁶ steps against the PLD accountant's certified
/// brackets (an independent method: discretised privacy-loss distribution): ε(1e-3) brackets
/// overlap and the contour bracket lies inside the PLD one; at δ = 1e-5 the PLD accountant
/// certifies only a lower end, which the contour's upper end must not be below.
#[test]
fn long_randomized_response_overlaps_pld() {
    let m = rr(0.2, 10);
    let acc = accountant(&m, 1_000_000);
    let mut pld = PldAccountant::new(PldParams {
        adjacency: m.1,
        ..PldParams::default()
    })
    .expect("pld params");
    pld.compose(&m.0, 1_000_000).expect("valid event");
    for delta in [1e-3, 1e-5] {
        let c = acc.epsilon(delta).expect("contour");
        let (cl, cu) = (c.lower.expect("lower"), c.upper.expect("upper"));
        let p = pld.epsilon(delta).expect("pld");
        let pl = p.lower.expect("pld lower end");
        eprintln!(
            "rr n=1e6 δ={delta:e}: contour [{cl}, {cu}], pld [{pl}, {:?}]",
            p.upper
        );
        assert!(
            pl <= cu,
            "δ={delta:e}: pld lower {pl} above contour upper {cu}"
        );
        if delta == 1e-3 {
            let pu = p
                .upper
                .filter(|u| u.is_finite())
                .expect("pld upper end at 1e-3");
            assert!(
                pl <= cl && cu <= pu,
                "contour [{cl}, {cu}] not inside pld [{pl}, {pu}]"
            );
        }
    }
}
