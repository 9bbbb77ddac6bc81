//! The contour accountant against exact oracles and other software (tests/reference/).
// mpmath reference values are pasted with all their printed digits.
#![allow(clippy::excessive_precision)]

mod common;

use common::read_csv;
use ewtune::accountant::{Accountant, ContourAccountant, ContourParams};
use ewtune::edgeworth::gaussian_delta;
use ewtune::event::DpEvent;
use ewtune::mechanism::{Adjacency, Direction};

fn accountant(event: &DpEvent, adjacency: Adjacency, tolerance: f64) -> ContourAccountant {
    let mut acc = ContourAccountant::new(ContourParams {
        adjacency,
        tolerance,
    })
    .unwrap();
    acc.compose(event, 1).unwrap();
    acc
}

fn f(row: &std::collections::HashMap<String, String>, k: &str) -> f64 {
    row[k].parse().unwrap_or(f64::NAN)
}

/// Gaussian: the contour reproduces the Dong–Roth–Su formula to 1e−12 relative for δ down to
/// 1e−300, and the certified bracket contains it.
#[test]
fn gaussian_matches_the_exact_formula() {
    // Against mpmath at 50 digits (gaussian_exact_delta.csv): midpoint within 1e−12 relative,
    // exact value inside the bracket (1e−15 relative slack for the CSV's printed digits).
    for row in read_csv("gaussian_exact_delta.csv") {
        let (sigma, k, eps, want) = (
            f(&row, "sigma"),
            f(&row, "k") as u64,
            f(&row, "eps"),
            f(&row, "delta_exact"),
        );
        if want.is_nan() || want < 1e-300 {
            continue;
        }
        let acc = accountant(
            &DpEvent::SelfComposed {
                event: Box::new(DpEvent::Gaussian { sigma }),
                count: k,
            },
            Adjacency::Remove,
            1e-13,
        );
        let (b, _) = acc.delta_bounds(Direction::Remove, eps).unwrap();
        assert!(
            (b.value - want).abs() <= 1e-12 * want,
            "σ={sigma} k={k} ε={eps}: {} vs {want}",
            b.value
        );
        assert!(
            b.lower.unwrap() <= want * (1.0 + 1e-15) && want * (1.0 - 1e-15) <= b.upper.unwrap(),
            "σ={sigma} k={k} ε={eps}: {b:?} vs {want}"
        );
    }
    // Far tail, δ from 1e−50 to 1e−300: mpmath at 60 digits (mp.dps = 60; ε = the f64 nearest to
    // the root of δ(ε) = 10^{−m}, δ re-evaluated at that f64 ε). (μ_tot, ε, δ_exact).
    let far: [(f64, f64, f64); 16] = [
        (1.0, 15.247865432305648, 1.0000000000000053171e-50),
        (1.0, 21.627508093648384, 9.9999999999996433749e-101),
        (1.0, 30.591649916020486, 9.9999999999996354837e-201),
        (1.0, 37.44884791213911, 9.9999999999988612894e-301),
        (0.3, 4.445930885040679, 9.9999999999999143763e-51),
        (0.3, 6.366661915470031, 1.000000000000001584e-100),
        (0.3, 9.060736333517305, 1.0000000000000758165e-200),
        (0.3, 11.120039597519533, 1.000000000000073256e-300),
        (3.0, 48.940941190006214, 1.0000000000000055294e-50),
        (3.0, 68.02554683644068, 1.000000000000044157e-100),
        (3.0, 94.87800424217795, 9.9999999999997927365e-201),
        (3.0, 115.43143004191344, 1.0000000000000618107e-300),
        (30.0, 897.188678591957, 1.0000000000000151712e-50),
        (30.0, 1087.447855512755, 1.0000000000000130137e-100),
        (30.0, 1355.4760530839874, 9.9999999999995855137e-201),
        (30.0, 1560.7617052318867, 1.0000000000001063123e-300),
    ];
    for &(mu, eps, want) in &far {
        // The same μ_tot as one step and as 10⁴ steps of σ = 100/μ.
        for &(k, sigma) in &[(1u64, 1.0 / mu), (10_000u64, 100.0 / mu)] {
            let acc = accountant(
                &DpEvent::SelfComposed {
                    event: Box::new(DpEvent::Gaussian { sigma }),
                    count: k,
                },
                Adjacency::Remove,
                1e-13,
            );
            let (b, _) = acc.delta_bounds(Direction::Remove, eps).unwrap();
            assert!(
                (b.value - want).abs() <= 1e-12 * want,
                "μ={mu} k={k} ε={eps}: {} vs {want}",
                b.value
            );
            assert!(
                b.lower.unwrap() <= want * (1.0 + 1e-15)
                    && want * (1.0 - 1e-15) <= b.upper.unwrap(),
                "μ={mu} k={k} ε={eps}: {b:?} vs {want}"
            );
        }
    }
    // And edgeworth::gaussian_delta (f64) for δ ≥ 1e−30, where that oracle's own error is below
    // 1e−13 (further out it drifts to ~4e−12, e.g. σ = 1, ε = 32.94).
    for &(sigma, k) in &[
        (1.0, 1u64),
        (0.5, 10),
        (2.0, 100),
        (5.0, 1000),
        (20.0, 100_000),
    ] {
        let mu = (k as f64).sqrt() / sigma;
        let acc = accountant(
            &DpEvent::SelfComposed {
                event: Box::new(DpEvent::Gaussian { sigma }),
                count: k,
            },
            Adjacency::Remove,
            1e-13,
        );
        let eps_max = 0.5 * mu * mu + mu * (2.0f64 * 69.0).sqrt();
        for i in 0..=12 {
            let eps = eps_max * i as f64 / 12.0;
            let want = gaussian_delta(mu, eps);
            if want < 1e-30 {
                continue;
            }
            let (b, _) = acc.delta_bounds(Direction::Remove, eps).unwrap();
            assert!(
                (b.value - want).abs() <= 1e-12 * want,
                "σ={sigma} k={k} ε={eps}: {} vs {want}",
                b.value
            );
        }
    }
    // ε(δ) against gaussian_exact.csv (mpmath, 50 digits): inside the bracket, midpoint within
    // 1e−10 relative.
    for row in read_csv("gaussian_exact.csv") {
        let (sigma, k, delta, want) = (
            f(&row, "sigma"),
            f(&row, "k") as u64,
            f(&row, "delta"),
            f(&row, "eps_exact"),
        );
        let acc = accountant(
            &DpEvent::SelfComposed {
                event: Box::new(DpEvent::Gaussian { sigma }),
                count: k,
            },
            Adjacency::AddRemove,
            1e-11,
        );
        let r = acc.epsilon(delta).unwrap();
        let (lo, up) = (r.lower.unwrap(), r.upper.unwrap());
        assert!(
            lo <= want * (1.0 + 1e-14) && want <= up * (1.0 + 1e-14),
            "σ={sigma} k={k} δ={delta}: [{lo}, {up}] vs {want}"
        );
        assert!(
            (r.epsilon - want).abs() <= 1e-10 * want,
            "σ={sigma} k={k} δ={delta}: {} vs {want}",
            r.epsilon
        );
    }
}

/// Rows of the DP-SGD grid the fast test covers: one step (exact closed form) or q·steps ≥ 2.
/// Where q·steps < 2 (a record is expected to be sampled about once or less) the remove-ordering
/// PLLR is nearly atomic, its tilted characteristic function decays slowly in t, and the work cap
/// can leave a wider (still certified) bracket at seconds per row: see the ignored test below.
fn fast_row(q: f64, steps: u64) -> bool {
    steps == 1 || q * steps as f64 >= 2.0
}

fn check_dpsgd_row(row: &std::collections::HashMap<String, String>, require_narrow: bool) -> f64 {
    // dp_accounting's PLD uses a 1e−4 grid: its pessimistic ε may fall below the truth by ~1e−4
    // absolute plus FFT error; allow 1e−3 relative (PLD_TOL). PRV's lower bound is certified up to
    // its eps_error; allow 1e−9 relative for its own float output (PRV_TOL).
    const PLD_TOL: f64 = 1e-3;
    // ... plus one grid step absolute (matters at small ε: q = 0.004, σ = 4, 10 steps, δ = 1e−6:
    // dp_accounting 0.0112919 vs the contour's certified [0.01131144, 0.01131145]).
    const PLD_ABS: f64 = 1e-4;
    const PRV_TOL: f64 = 1e-9;
    let (q, sigma, steps, delta) = (
        f(row, "q"),
        f(row, "sigma"),
        f(row, "steps") as u64,
        f(row, "delta"),
    );
    let acc = accountant(&DpEvent::dpsgd(sigma, q, steps), Adjacency::AddRemove, 1e-9);
    let (rem, _) = acc.epsilon_bounds(Direction::Remove, delta).unwrap();
    let (add, _) = acc.epsilon_bounds(Direction::Add, delta).unwrap();
    let ctx = format!("q={q} σ={sigma} steps={steps} δ={delta}: remove {rem:?} add {add:?}");
    let pld_rem = f(row, "eps_pld_remove");
    let pld_add = f(row, "eps_pld_add");
    assert!(
        rem.lower.unwrap() <= pld_rem * (1.0 + PLD_TOL) + PLD_ABS,
        "{ctx} pld_remove {pld_rem}"
    );
    assert!(
        add.lower.unwrap() <= pld_add * (1.0 + PLD_TOL) + PLD_ABS,
        "{ctx} pld_add {pld_add}"
    );
    let opt = f(row, "eps_pld_optimistic");
    assert!(
        rem.upper.unwrap().max(add.upper.unwrap()) >= opt * (1.0 - PLD_TOL) - PLD_ABS,
        "{ctx} optimistic {opt}"
    );
    let mut ratio = f64::INFINITY;
    if row["status_prv"] == "ok" {
        let (pl, pu) = (f(row, "eps_prv_lower"), f(row, "eps_prv_upper"));
        assert!(
            rem.upper.unwrap() >= pl * (1.0 - PRV_TOL),
            "{ctx} prv lower {pl}"
        );
        assert!(
            rem.lower.unwrap() <= pu * (1.0 + PRV_TOL),
            "{ctx} prv upper {pu}"
        );
        ratio = (pu - pl) / (rem.upper.unwrap() - rem.lower.unwrap()).max(1e-300);
        if require_narrow {
            assert!(ratio >= 1000.0, "{ctx}: only {ratio}× narrower than PRV");
        }
    }
    ratio
}

/// DP-SGD grid: the bracket lies inside [prv lower, dp_accounting pessimistic] (per ordering; PRV
/// models the remove ordering) and is ≥ 1000× narrower than PRV's.
#[test]
fn dpsgd_grid_against_prv_and_dp_accounting() {
    let mut worst_ratio = f64::INFINITY;
    let mut n = 0;
    for row in read_csv("dpsgd_eps.csv") {
        if !fast_row(f(&row, "q"), f(&row, "steps") as u64) {
            continue;
        }
        worst_ratio = worst_ratio.min(check_dpsgd_row(&row, true));
        n += 1;
    }
    assert!(n >= 120, "{n} rows");
    eprintln!("{n} rows; narrowest PRV/contour width ratio: {worst_ratio:.3e}");
}

/// The rows with q·steps < 2 (108 rows, ~25 s): containment in [PRV lower, dp_accounting
/// pessimistic] and ≥ 1000× narrower than PRV's bracket on every row (ratios printed). The
/// ten-step rows at q = 0.001, σ = 0.6, where the tilted law is ~99% spike, get there through the
/// analytic-window path (src/accountant/contour.rs; experiments/contour/README.md).
#[test]
fn dpsgd_grid_sparse_sampling_rows() {
    let mut n = 0;
    let mut open = Vec::new();
    for row in read_csv("dpsgd_eps.csv") {
        let (q, steps) = (f(&row, "q"), f(&row, "steps") as u64);
        if fast_row(q, steps) {
            continue;
        }
        let started = std::time::Instant::now();
        let ratio = check_dpsgd_row(&row, true);
        eprintln!(
            "q={} σ={} steps={} δ={}: PRV/contour width ratio {ratio:.3e} ({:.2} s)",
            row["q"],
            row["sigma"],
            row["steps"],
            row["delta"],
            started.elapsed().as_secs_f64()
        );
        if ratio < 1000.0 {
            open.push(format!("σ={} δ={}", row["sigma"], row["delta"]));
        }
        n += 1;
    }
    assert_eq!(n, 108, "rows with q·steps < 2");
    eprintln!("below 1000×: {open:?}");
    assert!(open.is_empty(), "{open:?}");
}

/// Regression: q = 0.001, σ = 1.5, 100 steps, remove. The tilted PLLR at the saddle point
/// (λ ≈ 30.9) is nearly a lattice (a record that is sampled contributes L ≈ 6.9), so the
/// t-integrand is nearly periodic and the t-step must be small; the strip bound of the step once
/// overflowed (e^{2πa/h} = ∞ gave a zero bound) and the bracket claimed δ(0.02956795869) = 1e−6.
/// Reference: the same integral (docs/math.md §6.5) in numpy, x-trapezoid step 4.75e−4 on [−12, 45],
/// t-trapezoid on [0, 1400) at steps 0.125 and 0.0625 (agree to 1e−12 relative):
/// δ(0.02956795869) = 8.886767830e−7 (at step 0.5 the same sum gives 1.0138e−6).
#[test]
fn nearly_lattice_tilted_law_needs_a_fine_t_step() {
    let acc = accountant(&DpEvent::dpsgd(1.5, 0.001, 100), Adjacency::Remove, 1e-9);
    let (b, _) = acc.delta_bounds(Direction::Remove, 0.02956795869).unwrap();
    // Tolerance: 1e−9 relative for the reference's printed digits and its quadrature.
    let want = 8.886767830e-7;
    assert!(
        b.lower.unwrap() <= want * (1.0 + 1e-9) && want * (1.0 - 1e-9) <= b.upper.unwrap(),
        "{b:?} vs {want:e}"
    );
    assert!(b.upper.unwrap() < 9.5e-7, "{b:?}");
}

/// The EW-Tune SST-2 point (docs/math.md §10.10): ε ≈ 8.28912 (remove ordering).
#[test]
fn sst2_point() {
    let q = 2000.0 / 67349.0;
    let acc = accountant(&DpEvent::dpsgd(0.7865, q, 660), Adjacency::Remove, 1e-9);
    let r = acc.epsilon(1e-5).unwrap();
    // The f64 prototype printed 5 decimals: 8.28912 ± 5e−6.
    assert!((r.epsilon - 8.28912).abs() <= 5e-6, "{}", r.epsilon);
    let (lo, up) = (r.lower.unwrap(), r.upper.unwrap());
    assert!((up - lo) / r.epsilon <= 1e-6, "[{lo}, {up}]");
    // prv_accountant 8.2891 ± 0.01; dp_accounting (pessimistic, add-remove) 8.2893.
    assert!(up >= 8.2891 - 0.01 && lo <= 8.2893, "[{lo}, {up}]");
}

/// k-fold Laplace: the exact ε (closed form, mpmath; k ≤ 10) lies in the bracket; for larger k
/// the bracket agrees with dp_accounting's fine PLD (value discretisation 1e−5) for k ≤ 100 and
/// lies below it (it is pessimistic) for k = 1000, where dp_accounting is off by up to ~1: at
/// b = 0.5, k = 1000, δ = 1e−3 it reports 1257.4299 while the contour gives 1256.46804478; an
/// independent numpy FFT of the Q-side PLLR law (grid 0.002, cell masses integrated exactly,
/// atoms at ±a) gives δ(1256.46804478) = 1.000004e−3 and δ(1257.4299) = 9.19e−4.
/// Tolerance 1e−7 (relative, on δ) keeps the file fast; the ε bracket must still be ≤ 1e−6.
#[test]
fn laplace_exact_epsilon_in_bracket() {
    let mut exact_rows = 0;
    for row in read_csv("laplace_eps.csv") {
        let (b, k, delta, want, fine) = (
            f(&row, "b"),
            f(&row, "k") as u64,
            f(&row, "delta"),
            f(&row, "eps_exact"),
            f(&row, "eps_pld_fine"),
        );
        let acc = accountant(
            &DpEvent::SelfComposed {
                event: Box::new(DpEvent::Laplace { scale: b }),
                count: k,
            },
            Adjacency::Remove,
            1e-7,
        );
        let r = acc.epsilon(delta).unwrap();
        let (lo, up) = (r.lower.unwrap(), r.upper.unwrap());
        let ctx = format!("b={b} k={k} δ={delta}: [{lo}, {up}] vs exact {want}, pld fine {fine}");
        assert!((up - lo) <= 1e-6 * up.max(1e-3), "{ctx}");
        if want.is_finite() {
            // The reference is printed to ≥ 17 digits: 1e−15 relative slack.
            assert!(
                lo <= want * (1.0 + 1e-15) && want <= up * (1.0 + 1e-15),
                "{ctx}"
            );
            exact_rows += 1;
        } else if k <= 100 {
            // dp_accounting's fine PLD: loss grid 1e−5, so its ε is within ~2e−5 of the truth.
            assert!((r.epsilon - fine).abs() <= 2e-5, "{ctx}");
        } else {
            // 3e−5: at b = 1, k = 1000, δ = 1e−8 the certified lower end (507.2156250558) is
            // already 2.0000008e−5 above dp_accounting's fine value, so that value is below
            // the truth by more than the ~2e−5 of its grid.
            assert!(lo <= fine + 3e-5, "{ctx}");
        }
    }
    assert!(exact_rows >= 100, "{exact_rows}");
}

/// q = 0.1, σ = 0.6, 10⁵ steps: where PLD/PRV grids fail, the contour answers with a narrow
/// bracket.
#[test]
fn large_epsilon_large_steps_answers() {
    let acc = accountant(
        &DpEvent::dpsgd(0.6, 0.1, 100_000),
        Adjacency::AddRemove,
        1e-9,
    );
    let r = acc.epsilon(1e-5).unwrap();
    let (lo, up) = (r.lower.unwrap(), r.upper.unwrap());
    assert!(r.epsilon.is_finite() && r.epsilon > 10.0, "{}", r.epsilon);
    assert!((up - lo) / r.epsilon <= 1e-6, "[{lo}, {up}]");
}
