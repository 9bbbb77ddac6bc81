#!/usr/bin/env python3
"""What sup-error Delta would reproduce the EA paper's certified band at setting S3?

Wang et al. (arXiv 2206.04236, Sec. 5) draw a certified band around the order-1 Edgeworth estimate
at S3 (sigma = 0.8, delta = 0.1, q = 0.08 sqrt(ln m / m), remove ordering): [0.163, 0.537] at
m = 5e4 and [0.278, 0.432] at m = 2e5 (as quoted in issue #12). The untilted band of docs/math.md
section 5.4 is delta(eps) in [SF_Q - D - e^eps (SF_P + D), SF_Q + D - e^eps (SF_P - D)] with the
order-1 series SF of each side. This script takes the per-step cumulants from `ewtune cumulants`
(certified, 256 bits), finds the common D (= Delta_P = Delta_Q) whose band ends match the paper's,
and prints the moment ratios the DGG bound needs, plus the leading term 0.1995 K3~/sqrt(n) alone
(with K3 >= |lambda3| and K3~ = K3 + E|X|/B <= K3 + 1). Python 3 standard library only.

Usage (repository root, after `cargo build --release`):
    python3 experiments/ea-figures/paper_band.py
See docs/math.md section 5.5 for the reading.
"""
import json
import math
import subprocess
import sys

BIN = "target/release/ewtune"
PAPER = {50000: (0.163, 0.537), 200000: (0.278, 0.432)}


def cumulants(q):
    out = subprocess.run([BIN, "cumulants", "--sigma", "0.8", "--sampling-rate", repr(q),
                          "--format", "json"], check=True, capture_output=True, text=True).stdout
    rem = [o for o in json.loads(out)["orderings"] if o["direction"] == "remove"][0]
    return ([c["value"] for c in rem["P"]], [c["value"] for c in rem["Q"]])


def sf(x, k1, k2, k3):
    z = (x - k1) / math.sqrt(k2)
    g = k3 / k2 ** 1.5
    return 0.5 * math.erfc(z / math.sqrt(2)) + math.exp(-z * z / 2) / math.sqrt(2 * math.pi) * g / 6 * (z * z - 1)


def first_below(f, delta=0.1, step=1e-4, hi=5.0):
    e = 0.0
    while e < hi:
        if f(e) <= delta:
            return e
        e += step
    return math.inf


def main():
    for m, (lo_t, up_t) in PAPER.items():
        q = 0.08 * math.sqrt(math.log(m) / m)
        p, qq = cumulants(q)
        P = [m * x for x in p[:3]]
        Q = [m * x for x in qq[:3]]
        for name, k in (("P", p), ("Q", qq)):
            k4 = 3 + k[3] / k[1] ** 2
            l3 = k[2] / k[1] ** 1.5
            lead = 0.1995 * l3 / math.sqrt(m)
            print(f"m={m} {name}: K4={k4:.1f} |lambda3|={l3:.3f} leading term >= {lead:.4f}")
        for which, t in (("lower", lo_t), ("upper", up_t)):
            a, b = 0.0, 0.2
            for _ in range(40):
                d = (a + b) / 2
                if which == "upper":
                    f = lambda e: sf(e, *Q) + d - math.exp(e) * max(0.0, sf(e, *P) - d)
                    too_wide = first_below(f) > t
                else:
                    f = lambda e: sf(e, *Q) - d - math.exp(e) * (sf(e, *P) + d)
                    too_wide = first_below(f) < t
                a, b = (a, d) if too_wide else (d, b)
            print(f"m={m}: the paper's {which} end {t} needs Delta = {a:.4f}")


if __name__ == "__main__":
    sys.exit(main())
