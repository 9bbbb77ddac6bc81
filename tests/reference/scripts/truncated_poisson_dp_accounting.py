#!/usr/bin/env python3
"""Reference ε(δ) for truncated Poisson sampling of the Gaussian (docs/math.md §17.8) by dp_accounting.

dp_accounting's TruncatedSubsampledGaussianDpEvent (arXiv 2508.15089): Poisson sampling at rate q
from n records, truncated to at most B records, then the Gaussian mechanism with noise multiplier σ.
Its PLD is the mixture (compute_mixture) of the replace-one Poisson-subsampled Gaussian at σ/2 and
rate q' = P(Bin(n, q) > B)·B/(t·n), weight t = P(Bin(n − 1, q) ≥ B), with the Poisson-subsampled
Gaussian (σ, q) of the chosen relation.

Versions: dp-accounting 0.6.0 (Python 3.11, numpy and scipy as installed with it).
Run:  /root/.cache/dpacc-venv/bin/python tests/reference/scripts/truncated_poisson_dp_accounting.py

Writes ../truncated_poisson.csv: `adjacency` (add_remove: dp_accounting's maximum over both
orderings; replace_one), n, q, B, σ, the weight t (scipy, float), steps, δ, ε by PLD at grid 1e-4:
`eps_pessimistic` = dp_accounting's own from_truncated_subsampled_gaussian_mechanism
(connect-the-dots, an upper estimate) and `eps_optimistic` = the same construction with
pessimistic_estimate=False (privacy buckets rounded down, a lower estimate; dp_accounting's
function has no optimistic switch, so its three lines are repeated here). Steps 1, 10, 100,
1000; δ ∈ {1e-5, 1e-6}. Natural log, sensitivity 1.
"""
import os
from scipy import stats
from dp_accounting import NeighboringRelation as NR
from dp_accounting.pld import privacy_loss_distribution as pldlib

GRID = 1e-4
STEPS = [1, 10, 100, 1000]
DELTAS = [1e-5, 1e-6]
# (n, q, B, σ, relation): B a few standard deviations above n·q (t small), just above
# (t ~ 0.2), at n·q (t ~ 1/2) and below (t ~ 1).
ROWS = [
    (60000, 256 / 60000, 300, 1.0, NR.ADD_OR_REMOVE_ONE),
    (60000, 256 / 60000, 270, 1.0, NR.ADD_OR_REMOVE_ONE),
    (10000, 0.01, 100, 0.8, NR.ADD_OR_REMOVE_ONE),
    (1000, 0.05, 40, 2.0, NR.ADD_OR_REMOVE_ONE),
    (60000, 256 / 60000, 270, 1.0, NR.REPLACE_ONE),
    (1000, 0.05, 40, 2.0, NR.REPLACE_ONE),
]


def optimistic(n, q, b, s, rel):
    """from_truncated_subsampled_gaussian_mechanism with pessimistic_estimate=False."""
    kw = dict(value_discretization_interval=GRID, pessimistic_estimate=False,
              use_connect_dots=False)
    sens1 = pldlib.from_gaussian_mechanism(s, sampling_prob=q, neighboring_relation=rel, **kw)
    t = stats.binom.sf(b - 1, n - 1, q)
    if t == 0.0:
        return sens1
    qc = stats.binom.sf(b, n, q) * b / t / n
    sens2 = pldlib.from_gaussian_mechanism(s / 2, sampling_prob=qc,
                                           neighboring_relation=NR.REPLACE_ONE, **kw)
    return sens2.compute_mixture(sens1, t)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "truncated_poisson.csv"), "w") as f:
        f.write("adjacency,dataset_size,sampling_rate,max_batch_size,sigma,weight,steps,delta,"
                "eps_pessimistic,eps_optimistic\n")
        for n, q, b, s, rel in ROWS:
            t = float(stats.binom.sf(b - 1, n - 1, q))
            base = {
                True: pldlib.from_truncated_subsampled_gaussian_mechanism(
                    n, q, b, s, value_discretization_interval=GRID, neighboring_relation=rel),
                False: optimistic(n, q, b, s, rel),
            }
            adj = "replace_one" if rel == NR.REPLACE_ONE else "add_remove"
            for k in STEPS:
                comp = {p: (base[p] if k == 1 else base[p].self_compose(k)) for p in base}
                for d in DELTAS:
                    ep = float(comp[True].get_epsilon_for_delta(d))
                    eo = float(comp[False].get_epsilon_for_delta(d))
                    f.write(f"{adj},{n},{q!r},{b},{s!r},{t!r},{k},{d!r},{ep!r},{eo!r}\n")
                f.flush()


if __name__ == "__main__":
    main()
