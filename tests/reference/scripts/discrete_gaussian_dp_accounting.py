"""Reference data for tests/lattice_mechanisms_discrete_gaussian.rs: the discrete Gaussian
mechanism (add/remove) by dp_accounting.

Versions: dp-accounting 0.6.0, numpy 2.4.6, Python 3.11 (venv /root/.cache/dpacc-venv).
Run:  /root/.cache/dpacc-venv/bin/python tests/reference/scripts/discrete_gaussian_dp_accounting.py \
          > tests/reference/discrete_gaussian.csv
Columns: sigma, sensitivity, adjacency, steps, delta, eps_pld_pess (pessimistic PLD, privacy
buckets, value_discretization_interval = grid), eps_pld_opt (optimistic PLD, same grid), grid
(1e-5 up to 100 steps, 1e-4 at 1000 steps). dp_accounting truncates the noise to
[-T, T] with mass outside at most 1e-30 (its default truncation_bound); the effect on epsilon
at delta >= 1e-6 is far below the grid's.
"""
import sys

from dp_accounting.pld import privacy_loss_distribution as pld

GRIDS = {1: 1e-5, 10: 1e-5, 100: 1e-5, 1000: 1e-4}
cases = [(1.0, 1), (2.0, 1), (0.7, 1), (5.0, 2), (10.0, 3)]
print("sigma,sensitivity,adjacency,steps,delta,eps_pld_pess,eps_pld_opt,grid")
for sigma, sens in cases:
    for steps, grid in GRIDS.items():
        comp = {
            pe: pld.from_discrete_gaussian_mechanism(
                sigma=sigma, sensitivity=sens, pessimistic_estimate=pe,
                value_discretization_interval=grid).self_compose(steps)
            for pe in (True, False)
        }
        for delta in (1e-5, 1e-6):
            e_p = comp[True].get_epsilon_for_delta(delta)
            e_o = comp[False].get_epsilon_for_delta(delta)
            print(f"{sigma},{sens},add-remove,{steps},{delta},{float(e_p)!r},{float(e_o)!r},{grid}")
            sys.stdout.flush()
