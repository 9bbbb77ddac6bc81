"""Reference data for tests/lattice_mechanisms_reference.rs: randomized response (replace-one)
and the discrete Laplace mechanism (add/remove) by dp_accounting.

Versions: dp-accounting 0.6.0, numpy 2.4.6, Python 3.11 (venv /root/.cache/dpacc-venv).
Run:  /root/.cache/dpacc-venv/bin/python tests/reference/scripts/lattice_mechanisms_dp_accounting.py \
          > tests/reference/lattice_mechanisms.csv
Columns: mechanism, param (p for RR, a for discrete Laplace), size (k buckets / sensitivity),
adjacency, steps, delta, eps_pld_pess (pessimistic PLD, privacy buckets,
value_discretization_interval = grid), eps_pld_opt (optimistic PLD, same grid), eps_rdp
(RdpAccountant with default orders; RR replace-one only, else empty), grid (1e-5 up to 100
steps, 1e-4 at 1000 steps, where a 1e-5 grid over a loss range of n·max|L| takes too long).
"""
import sys

from dp_accounting import dp_event
from dp_accounting import privacy_accountant
from dp_accounting.pld import privacy_loss_distribution as pld
from dp_accounting.rdp import rdp_privacy_accountant as rdp

NeighborRel = privacy_accountant.NeighboringRelation
GRIDS = {1: 1e-5, 10: 1e-5, 100: 1e-5, 1000: 1e-4}

rows = []
cases = [
    ("randomized-response", 0.5, 4),
    ("randomized-response", 0.2, 2),
    ("randomized-response", 0.8, 10),
    ("discrete-laplace", 0.3, 1),
    ("discrete-laplace", 0.1, 3),
    ("discrete-laplace", 1.0, 2),
]
print("mechanism,param,size,adjacency,steps,delta,eps_pld_pess,eps_pld_opt,eps_rdp,grid")
for mech, param, size in cases:
    if mech == "randomized-response":
        make = lambda pe, g: pld.from_randomized_response(
            noise_parameter=param, num_buckets=size, pessimistic_estimate=pe,
            value_discretization_interval=g,
            neighboring_relation=NeighborRel.REPLACE_ONE)
        adjacency = "replace-one"
    else:
        make = lambda pe, g: pld.from_discrete_laplace_mechanism(
            parameter=param, sensitivity=size, pessimistic_estimate=pe,
            value_discretization_interval=g)
        adjacency = "add-remove"
    for steps, grid in GRIDS.items():
        comp = {pe: make(pe, grid).self_compose(steps) for pe in (True, False)}
        for delta in (1e-5, 1e-6):
            e_p = comp[True].get_epsilon_for_delta(delta)
            e_o = comp[False].get_epsilon_for_delta(delta)
            e_r = ""
            if mech == "randomized-response":
                acc = rdp.RdpAccountant(neighboring_relation=NeighborRel.REPLACE_ONE)
                acc.compose(dp_event.RandomizedResponseDpEvent(noise_parameter=param,
                                                               num_buckets=size), steps)
                e_r = repr(float(acc.get_epsilon(delta)))
            print(f"{mech},{param},{size},{adjacency},{steps},{delta},{float(e_p)!r},"
                  f"{float(e_o)!r},{e_r},{grid}")
            sys.stdout.flush()
