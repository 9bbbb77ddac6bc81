"""Random parameter draws shared by random_compare.py and random_calibrate.py (the same draws in
the same order, so that a seed gives the same queries as before this module existed)."""
import math


def log_uniform(rng, a, b):
    """A draw log-uniform in [a, b]."""
    return math.exp(rng.uniform(math.log(a), math.log(b)))


def mixture(rng):
    """`--sensitivities` and `--probabilities` of a 2–4 component mixture of Gaussians."""
    k = rng.randint(2, 4)
    cs = sorted(rng.uniform(0, 3) for _ in range(k))
    ps = [rng.random() + 0.05 for _ in range(k)]
    s = sum(ps)
    ps = [p / s for p in ps]
    ps[-1] = 1 - sum(ps[:-1])
    return (["--sensitivities", ",".join(f"{c:.4f}" for c in cs)],
            ["--probabilities", ",".join(f"{p:.17g}" for p in ps)])


def fixed_size(rng):
    """(dataset size n, batch size b) of fixed-size batches."""
    n = int(log_uniform(rng, 10, 1e6))
    b = max(1, int(log_uniform(rng, 1, n)))
    return n, b


def truncated(rng):
    """(dataset size n, sampling rate q, largest batch B) of truncated Poisson sampling."""
    n = int(log_uniform(rng, 100, 1e6))
    q = log_uniform(rng, 1e-4, 0.3)
    return n, q, max(1, int(n * q * rng.uniform(0.8, 3)))
