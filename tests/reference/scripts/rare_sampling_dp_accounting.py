"""dp_accounting values used by tests/contour_rare_sampling.rs.

Poisson-subsampled Gaussian, q = 0.001, sigma = 2, remove ordering (dp_accounting's
`_pmf_remove`), delta at epsilon = 0.01 after 10, 30 and 100 steps; connect-the-dots,
pessimistic, value_discretization_interval = 1e-6. Run with dp-accounting 0.6.0, numpy 2.4.6,
Python 3.11.7:  python3 tests/reference/scripts/rare_sampling_dp_accounting.py
Output (2026-11-28): 10 2.1504785076524928e-08 / 30 1.7332602565277155e-06 /
100 8.41043707188714e-05
"""
from dp_accounting.pld import privacy_loss_distribution as pld

p = pld.from_gaussian_mechanism(
    standard_deviation=2.0,
    sampling_prob=0.001,
    value_discretization_interval=1e-6,
    pessimistic_estimate=True,
    use_connect_dots=True,
)
for n in (10, 30, 100):
    print(n, repr(float(p.self_compose(n)._pmf_remove.get_delta_for_epsilon(0.01))))
