"""Exact epsilon(delta) of the k-fold discrete Gaussian mechanism (add/remove), an oracle
independent of ewtune's code: appends a column eps_exact to tests/reference/discrete_gaussian.csv.

Versions: numpy 2.4.6, Python 3.11 (venv /root/.cache/dpacc-venv).
Run:  /root/.cache/dpacc-venv/bin/python tests/reference/scripts/discrete_gaussian_oracle.py \
          tests/reference/discrete_gaussian.csv > /tmp/dg.csv && mv /tmp/dg.csv tests/reference/discrete_gaussian.csv
Method: A = N_Z(0, sigma^2) on |x| <= 40 sigma + 40 (the mass beyond is below e^-800),
normalised by its sum; the A-law of L(x) = (D^2 - 2 D x)/(2 sigma^2) lives on the lattice
h = D/sigma^2; its n-fold convolution power by binary powering with FFT convolution (numpy),
entries below 1e-40 trimmed from the ends after each product, negative FFT noise clipped to 0;
delta(eps) = sum over the composed law of Q(s)(1 - e^(eps - s))_+ ; eps_exact by 200 bisection
steps on delta(eps) = delta. Accuracy: f64 FFT error ~1e-16 of the largest entry per entry,
so eps_exact is good to ~1e-9 relative at delta >= 1e-6 (the test uses 1e-7).
"""
import csv
import sys

import numpy as np


def fftconv(a, b):
    n = len(a) + len(b) - 1
    size = 1 << (n - 1).bit_length()
    c = np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(b, size), size)[:n]
    return np.clip(c, 0.0, None)


def trim(p, first):
    nz = np.nonzero(p >= 1e-40)[0]
    return p[nz[0]:nz[-1] + 1], first + nz[0]


def composed(sigma, d, n):
    m = int(40 * sigma) + 40
    xs = np.arange(-m, m + 1, dtype=float)
    w = np.exp(-xs * xs / (2 * sigma * sigma))
    w /= w.sum()
    q = w[::-1].copy()  # index k <-> x = m - k, L = h (k - m + d/2)
    q, first = trim(q, 0)
    res, rfirst = None, 0
    p, pfirst, k = q, first, n
    while k:
        if k & 1:
            if res is None:
                res, rfirst = p, pfirst
            else:
                res, rfirst = trim(fftconv(res, p), rfirst + pfirst)
        k >>= 1
        if k:
            p, pfirst = trim(fftconv(p, p), 2 * pfirst)
    h = d / sigma ** 2
    idx = np.arange(len(res)) + rfirst
    loss = h * (idx - n * m + n * d / 2.0)
    return res, loss


def delta_of(res, loss, eps):
    mask = loss > eps
    return float(np.sum(res[mask] * -np.expm1(eps - loss[mask])))


def eps_exact(sigma, d, n, delta):
    res, loss = composed(sigma, d, n)
    lo, hi = 0.0, float(loss[-1])
    if delta_of(res, loss, 0.0) <= delta:
        return 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if delta_of(res, loss, mid) > delta:
            lo = mid
        else:
            hi = mid
    return hi


rows = list(csv.DictReader(open(sys.argv[1])))
fields = list(rows[0].keys()) + ["eps_exact"]
out = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
out.writeheader()
for r in rows:
    r["eps_exact"] = repr(eps_exact(float(r["sigma"]), int(r["sensitivity"]), int(r["steps"]),
                                    float(r["delta"])))
    out.writerow(r)
    sys.stdout.flush()
