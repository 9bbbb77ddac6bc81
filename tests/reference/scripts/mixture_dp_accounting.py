#!/usr/bin/env python3
"""Reference ε(δ) for the Gaussian-mixture pairs (docs/math.md §17) by dp_accounting.

Versions: dp-accounting 0.6.0 (Python 3.11, numpy and scipy as installed with it).
Run:  /root/.cache/dpacc-venv/bin/python tests/reference/scripts/mixture_dp_accounting.py

Writes two files next to this folder:
- mixture.csv: `kind` = mog (MixtureOfGaussians, add-or-remove: dp_accounting's maximum over
  both orderings) or replace_one (Poisson-subsampled Gaussian under REPLACE_ONE); ε(δ) by PLD,
  pessimistic connect-the-dots (`eps_pessimistic`, an upper estimate) and optimistic privacy
  buckets (`eps_optimistic`, a lower estimate), both at grid 1e-4. Sensitivities and
  probabilities are `;`-separated.
- wor_rdp.csv: fixed-size batches without replacement (SampledWithoutReplacementDpEvent of a
  Gaussian, REPLACE_ONE): dp_accounting's RDP ε (default orders), the only accountant it has.
Steps 1, 10, 100, 1000; δ ∈ {1e-5, 1e-6}. Natural log, sensitivity 1.
"""
import os
import sys
import dp_accounting
from dp_accounting import NeighboringRelation as NR
from dp_accounting.pld import privacy_loss_distribution as pldlib
from dp_accounting.rdp import rdp_privacy_accountant as rdplib

GRID = 1e-4
STEPS = [1, 10, 100, 1000]
DELTAS = [1e-5, 1e-6]
MOG = [(1.0, [0.0, 1.0, 2.0], [0.6, 0.3, 0.1]), (2.0, [0.0, 1.0], [0.9, 0.1]),
       (0.8, [0.5, 1.0], [0.5, 0.5])]
REPLACE_ONE = [(1.0, 0.01), (0.8, 0.1), (2.0, 0.5)]
WOR = [(1.0, 60000, 256), (0.8, 50000, 1000), (2.0, 1000, 100), (4.0, 10000, 5000)]


def rows_for(base, w, prefix):
    for n in STEPS:
        comp = {p: (base[p] if n == 1 else base[p].self_compose(n)) for p in base}
        for d in DELTAS:
            ep = comp[True].get_epsilon_for_delta(d)
            eo = comp[False].get_epsilon_for_delta(d)
            w(f"{prefix},{n},{d!r},{ep!r},{eo!r}\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..")
    with open(os.path.join(out, "mixture.csv"), "w") as f:
        w = f.write
        w("kind,sigma,sensitivities,probabilities,sampling_rate,steps,delta,eps_pessimistic,eps_optimistic\n")
        for s, c, p in MOG:
            base = {pess: pldlib.from_mixture_gaussian_mechanism(
                s, c, p, pessimistic_estimate=pess, value_discretization_interval=GRID,
                use_connect_dots=pess) for pess in (True, False)}
            cs = ";".join(repr(x) for x in c)
            ps = ";".join(repr(x) for x in p)
            rows_for(base, w, f"mog,{s!r},{cs},{ps},")
            f.flush()
        for s, q in REPLACE_ONE:
            base = {pess: pldlib.from_gaussian_mechanism(
                s, sampling_prob=q, pessimistic_estimate=pess, value_discretization_interval=GRID,
                use_connect_dots=pess, neighboring_relation=NR.REPLACE_ONE)
                for pess in (True, False)}
            rows_for(base, w, f"replace_one,{s!r},,,{q!r}")
            f.flush()
    with open(os.path.join(out, "wor_rdp.csv"), "w") as f:
        f.write("sigma,dataset_size,batch_size,steps,delta,eps_rdp\n")
        for s, n, b in WOR:
            for k in STEPS:
                for d in DELTAS:
                    acc = rdplib.RdpAccountant(neighboring_relation=NR.REPLACE_ONE)
                    ev = dp_accounting.SampledWithoutReplacementDpEvent(
                        n, b, dp_accounting.GaussianDpEvent(s))
                    acc.compose(ev, k)
                    f.write(f"{s!r},{n},{b},{k},{d!r},{float(acc.get_epsilon(d))!r}\n")
            f.flush()


if __name__ == "__main__":
    main()
