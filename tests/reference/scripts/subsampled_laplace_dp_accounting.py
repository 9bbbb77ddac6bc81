#!/usr/bin/env python3
"""Reference ε(δ) for the k-fold Poisson-subsampled Laplace mechanism by dp_accounting's PLD.

Versions: dp-accounting 0.6.0 (Python 3.11, numpy as installed with it).
Run:  /root/.cache/dpacc-venv/bin/python tests/reference/scripts/subsampled_laplace_dp_accounting.py \
          > tests/reference/subsampled_laplace.csv

Each row: scale b, sampling rate q, steps, δ; dp_accounting's ε for add-or-remove adjacency
(the maximum over both orderings, as its default) with connect-the-dots at grid 1e-4,
pessimistic (`eps_pessimistic`, an upper estimate) and optimistic (`eps_optimistic`, a lower
estimate). Sensitivity 1, natural log. The tests compare our certified PLD bracket with
[eps_optimistic, eps_pessimistic] (overlap, with a small relative tolerance for dp_accounting's
own discretisation and truncation).
"""
import sys
from dp_accounting.pld import privacy_loss_distribution as pldlib

GRID = 1e-4
CASES = [(1.0, 0.1), (0.5, 0.01), (2.0, 0.5), (0.25, 0.05)]
STEPS = [1, 10, 100, 1000]
DELTAS = [1e-5, 1e-6]


def main():
    w = sys.stdout.write
    w("scale,sampling_rate,steps,delta,eps_pessimistic,eps_optimistic\n")
    for b, q in CASES:
        base = {}
        for pess in (True, False):
            base[pess] = pldlib.from_laplace_mechanism(
                b, sensitivity=1, pessimistic_estimate=pess,
                value_discretization_interval=GRID, sampling_prob=q)
        for n in STEPS:
            comp = {p: (base[p] if n == 1 else base[p].self_compose(n)) for p in base}
            for d in DELTAS:
                ep = comp[True].get_epsilon_for_delta(d)
                eo = comp[False].get_epsilon_for_delta(d)
                w(f"{b!r},{q!r},{n},{d!r},{ep!r},{eo!r}\n")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
