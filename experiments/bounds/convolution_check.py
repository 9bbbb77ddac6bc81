"""Independent cross-check of ε(δ) for a Poisson-subsampled Gaussian composition by a fine-grid
FFT convolution of the per-step PLLR law (numpy/scipy, f64).

Each step's PLLR L = log(1 − q + q·e^{μx − μ²/2}) is binned on a grid of spacing h starting at
ln(1 − q); the bin masses are exact differences of normal CDFs (L is increasing in x). Rounding
every value to its bin's upper (lower) edge gives a pessimistic (optimistic) law, so for each
ordering ε lies in [optimistic, pessimistic] up to f64 FFT rounding (~1e-16 of the largest mass)
and the mass beyond the grid (put at +∞ in the pessimistic remove case). The n-fold law is one
FFT power of length 2N (no wrap-around while n·(range of L) < 2N·h).

Usage: python3 convolution_check.py Q SIGMA STEPS DELTA [H]   (default H = 4e-7, N = 2^22)
Example (experiments/bounds/README.md): 0.001 2.0 100 1e-5 -> remove ε in [0.0146094, 0.0146494]
"""
import sys

import numpy as np
from scipy.special import ndtr

q, sigma, n, delta = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
h = float(sys.argv[5]) if len(sys.argv) > 5 else 4e-7
mu = 1.0 / sigma
N = 2**22
lo = np.log1p(-q)
edges = lo + h * np.arange(N + 1)
el = np.expm1(edges) + q  # e^l − (1 − q)
with np.errstate(divide="ignore", invalid="ignore"):
    x = (np.log(np.maximum(el, 0.0) / q) + mu * mu / 2) / mu
x[el <= 0] = -np.inf
cdf_p = ndtr(x)  # P(L ≤ edge)
cdf_q = (1 - q) * ndtr(x) + q * ndtr(x - mu)  # Q(L ≤ edge)


def nfold(mass):
    p = np.zeros(N)
    p[: len(mass)] = mass
    s = np.fft.irfft(np.fft.rfft(p, 2 * N) ** n, 2 * N)
    return np.maximum(s, 0.0)


def epsilon(values, s, extra):
    def d(e):
        m = values > e
        return np.sum(s[m] * (-np.expm1(e - values[m]))) + extra

    a, b = 0.0, 64.0
    if d(0.0) <= delta:
        return 0.0
    for _ in range(80):
        c = 0.5 * (a + b)
        a, b = (c, b) if d(c) > delta else (a, c)
    return b


j = np.arange(2 * N)
# Remove ordering: S = ΣL under Q, δ = E_Q[(1 − e^{ε−S})_+].
s = nfold(np.diff(cdf_q))
tail_q = 1.0 - cdf_q[-1]
up = epsilon(n * edges[1] + h * j, s, n * tail_q)  # upper edges, tail at +∞
low = epsilon(n * edges[0] + h * j, s, 0.0)
print(f"remove eps in [{low:.7f}, {up:.7f}]")
# Add ordering: S' = −ΣL under P; pessimistic rounds −L up, i.e. L down.
s = nfold(np.diff(cdf_p))
up = epsilon(-(n * edges[0] + h * j), s, 0.0)
low = epsilon(-(n * edges[1] + h * j), s, 0.0)
print(f"add    eps in [{low:.7f}, {up:.7f}]")
