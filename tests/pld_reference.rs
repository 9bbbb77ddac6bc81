//! The PLD and RDP accountants against other software (tests/reference, provenance in its
//! README): dp_accounting 0.6.0 PLD and RDP, prv_accountant 0.2.0, exact closed forms.

mod common;

use common::read_csv;
use ewtune::accountant::rdp::{Conversion, RdpAccountant, RdpParams};
use ewtune::accountant::{Accountant, GdpAccountant, PldAccountant, PldParams};
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;
use ewtune::Error;

fn num(row: &std::collections::HashMap<String, String>, k: &str) -> Option<f64> {
    row.get(k).and_then(|v| v.trim().parse::<f64>().ok())
}

fn pld() -> PldAccountant {
    PldAccountant::new(PldParams::default()).unwrap()
}

/// Our PLD bracket against dp_accounting's pessimistic PLD (grid 1e-4) and prv_accountant.
/// One row per (q, σ) setting (30 settings), steps and δ rotating through the grid.
#[test]
fn dpsgd_bracket_matches_dp_accounting_and_prv() {
    let rows = read_csv("dpsgd_eps.csv");
    let qs = [0.001, 0.004, 0.01, 0.0586, 0.1];
    let sigmas = [0.6, 0.8, 1.0, 1.5, 2.0, 4.0];
    let mut checked = 0;
    for row in &rows {
        let q = num(row, "q").unwrap();
        let sigma = num(row, "sigma").unwrap();
        let steps = num(row, "steps").unwrap() as u64;
        let delta = num(row, "delta").unwrap();
        let iq = qs.iter().position(|&x| x == q).unwrap();
        let is = sigmas.iter().position(|&x| x == sigma).unwrap();
        // One row per setting: steps and δ rotate with the setting's index.
        let idx = iq * 6 + is;
        let want_steps = [1u64, 10, 100, 1000][(idx + iq) % 4];
        let want_delta = if idx % 2 == 0 { 1e-5 } else { 1e-6 };
        if steps != want_steps || delta != want_delta {
            continue;
        }
        let mut a = pld();
        a.compose(&DpEvent::dpsgd(sigma, q, steps), 1).unwrap();
        let r = a.epsilon(delta).unwrap();
        let (lo, up) = (r.lower.unwrap(), r.upper.unwrap());
        let eps_pld = num(row, "eps_pld").unwrap();
        let eps_opt = num(row, "eps_pld_optimistic").unwrap();
        let ctx = format!("q={q} sigma={sigma} steps={steps} delta={delta}: [{lo}, {up}] vs dp_accounting {eps_pld}");
        // Tolerance: our certified upper bound at most 0.5% above dp_accounting's
        // pessimistic ε, and never below a certified lower bound of theirs.
        assert!(up <= eps_pld * 1.005, "{ctx}");
        assert!(
            up >= eps_opt,
            "{ctx}: below dp_accounting's optimistic {eps_opt}"
        );
        assert!(lo <= eps_pld, "{ctx}");
        assert!(lo <= up && r.lower.is_some());
        if let (Some(pl), Some(pu)) = (num(row, "eps_prv_lower"), num(row, "eps_prv_upper")) {
            assert!(up >= pl, "{ctx}: below prv lower {pl}");
            assert!(lo <= pu, "{ctx}: above prv upper {pu}");
        }
        checked += 1;
    }
    assert_eq!(checked, 30, "every (q, sigma) setting once");
}

/// k-fold Gaussian: the exact ε lies inside the bracket for every δ in the file (down to
/// 1e-10) and, against the closed form, at δ = 1e-12.
#[test]
fn gaussian_exact_epsilon_inside_the_bracket() {
    let rows = read_csv("gaussian_exact.csv");
    for row in rows.iter().step_by(3) {
        let sigma = num(row, "sigma").unwrap();
        let k = num(row, "k").unwrap() as u64;
        let delta = num(row, "delta").unwrap();
        let exact = num(row, "eps_exact").unwrap();
        let mut a = pld();
        a.compose(&DpEvent::Gaussian { sigma }, k).unwrap();
        let r = a.epsilon(delta).unwrap();
        let (lo, up) = (r.lower.unwrap(), r.upper.unwrap());
        assert!(
            lo <= exact && exact <= up,
            "sigma={sigma} k={k} delta={delta}: {exact} not in [{lo}, {up}]"
        );
        // Width: the grid is chosen for a relative width of about 0.5%.
        assert!(
            up - lo <= 0.02 * exact + 1e-9,
            "sigma={sigma} k={k}: [{lo}, {up}]"
        );
    }
    for (sigma, k) in [(1.0, 1u64), (2.0, 100), (0.8, 10)] {
        let mut a = pld();
        let mut g = GdpAccountant::new(Adjacency::AddRemove);
        a.compose(&DpEvent::Gaussian { sigma }, k).unwrap();
        g.compose(&DpEvent::Gaussian { sigma }, k).unwrap();
        let exact = g.epsilon(1e-12).unwrap().epsilon;
        let r = a.epsilon(1e-12).unwrap();
        let (lo, up) = (r.lower.unwrap(), r.upper.unwrap());
        assert!(
            lo <= exact && exact <= up,
            "1e-12: {exact} not in [{lo}, {up}]"
        );
        assert!(!r.vacuous);
    }
}

/// k-fold Laplace (atoms, FFT composition): the exact ε lies inside the bracket.
#[test]
fn laplace_exact_epsilon_inside_the_bracket() {
    let rows = read_csv("laplace_eps.csv");
    let mut n = 0;
    for row in &rows {
        let b = num(row, "b").unwrap();
        let k = num(row, "k").unwrap() as u64;
        if k > 100 {
            continue;
        }
        let delta = num(row, "delta").unwrap();
        // Exact values exist for k <= 10 (closed form); other rows are checked against
        // prv_accountant's certified interval below.
        let exact = num(row, "eps_exact");
        let mut a = pld();
        a.compose(&DpEvent::Laplace { scale: b }, k).unwrap();
        let r = a
            .epsilon(delta)
            .unwrap_or_else(|e| panic!("b={b} k={k} delta={delta}: {e}"));
        let (lo, up) = (r.lower.unwrap(), r.upper.unwrap());
        if let Some(exact) = exact {
            assert!(
                lo <= exact && exact <= up,
                "b={b} k={k} delta={delta}: {exact} not in [{lo}, {up}]"
            );
            n += 1;
        } else if let (Some(pl), Some(pu)) = (num(row, "eps_prv_lower"), num(row, "eps_prv_upper"))
        {
            assert!(
                up >= pl && lo <= pu,
                "b={b} k={k} delta={delta}: [{lo}, {up}] vs prv [{pl}, {pu}]"
            );
        }
    }
    assert!(n >= 100, "{n} exact rows");
}

/// RDP with dp_accounting's default orders (less the fractional orders it dropped, listed in
/// the notes column) reproduces its ε to 1e-6 relative; with our larger default list ε is
/// no larger, and still at least our PLD lower bound.
#[test]
fn rdp_matches_dp_accounting_on_the_same_orders() {
    let rows = read_csv("dpsgd_eps.csv");
    for (i, row) in rows.iter().enumerate() {
        let q = num(row, "q").unwrap();
        let sigma = num(row, "sigma").unwrap();
        let steps = num(row, "steps").unwrap() as u64;
        let delta = num(row, "delta").unwrap();
        let want = num(row, "eps_rdp").unwrap();
        let notes = row.get("notes").cloned().unwrap_or_default();
        let dropped: Vec<f64> = notes
            .split("did not converge):")
            .nth(1)
            .map(|s| {
                s.split_whitespace()
                    .filter_map(|t| t.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let orders: Vec<f64> = RdpParams::dp_accounting_orders()
            .into_iter()
            .filter(|a| !dropped.contains(a))
            .collect();
        let mut a = RdpAccountant::new(RdpParams {
            orders,
            conversion: Conversion::Improved,
            adjacency: Adjacency::AddRemove,
        })
        .unwrap();
        a.compose(&DpEvent::dpsgd(sigma, q, steps), 1).unwrap();
        let got = a.epsilon(delta).unwrap().epsilon;
        let ctx = format!("q={q} sigma={sigma} steps={steps} delta={delta}: {got} vs {want}");
        // Tolerance 1e-6 relative; where we are lower (dp_accounting truncates its
        // fractional series at an absolute term size e^-30; see the rdp unit test against
        // direct integration), we must still be above the certified PLD lower bound.
        if (got - want).abs() > 1e-6 * want {
            assert!(got < want, "{ctx}");
            // A coarse PLD suffices for a lower bound.
            let mut p = PldAccountant::new(PldParams {
                tolerance: 0.05,
                ..PldParams::default()
            })
            .unwrap();
            p.compose(&DpEvent::dpsgd(sigma, q, steps), 1).unwrap();
            let lo = p
                .epsilon(delta)
                .unwrap_or_else(|e| panic!("{ctx}: {e}"))
                .lower
                .unwrap();
            assert!(got >= lo, "{ctx}: below the PLD lower bound {lo}");
        }
        if i % 16 == 0 {
            let mut full = RdpAccountant::new(RdpParams::default()).unwrap();
            full.compose(&DpEvent::dpsgd(sigma, q, steps), 1).unwrap();
            let r = full.epsilon(delta).unwrap();
            assert!(r.epsilon <= got * (1.0 + 1e-12));
            let mut p = pld();
            p.compose(&DpEvent::dpsgd(sigma, q, steps), 1).unwrap();
            let lo = p.epsilon(delta).unwrap().lower.unwrap();
            assert!(r.epsilon >= lo, "rdp {} below PLD lower {lo}", r.epsilon);
        }
    }
}

/// q = 0.1, σ = 0.6, 10^5 steps (prv_accountant runs out of memory here): an answer or a clear
/// refusal within the grid budget.
#[test]
fn large_composition_answers_or_refuses_within_budget() {
    let mut a = pld();
    a.compose(&DpEvent::dpsgd(0.6, 0.1, 100_000), 1).unwrap();
    match a.epsilon(1e-5) {
        Ok(r) => {
            assert!(r.lower.unwrap() <= r.upper.unwrap());
            assert!(r.upper.unwrap().is_finite());
        }
        Err(e @ Error::BudgetExceeded { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("grid points") && msg.contains("tolerance"),
                "{msg}"
            );
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}
