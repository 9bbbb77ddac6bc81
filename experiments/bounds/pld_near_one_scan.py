#!/usr/bin/env python3
"""PLD against contour near delta = 1 (the regime of the FFT-power tail defect fixed on
2026-12-04, docs/math.md section 11): every PLD delta bracket must overlap the contour
accountant's. Laplace (scale 0.1-1, 3-100 steps) and Poisson-subsampled Gaussians at small
sigma, epsilon from 0 up to 90% of the largest loss. Prints each disjoint setting and a count;
exits 1 if any. Usage (repository root, after `cargo build --release`):
    python3 experiments/bounds/pld_near_one_scan.py
Python 3 standard library only.
"""
import itertools
import json
import subprocess
import sys

B = "target/release/ewtune"


def bracket(acc, args):
    out = subprocess.run([B, "delta", *args, "--accountant", acc, "--adjacency", "remove",
                          "--format", "json"], capture_output=True, text=True)
    if out.returncode:
        return None
    d = json.loads(out.stdout)
    return d["lower"], d["upper"]


def settings():
    for b, n, e in itertools.product([0.1, 0.2, 0.5, 1.0], [3, 5, 10, 30], [0.0, 2.0]):
        yield ["--mechanism", "laplace", "--scale", str(b), "--steps", str(n), "--epsilon", str(e)]
    for b, n, frac in itertools.product([0.1, 0.2, 0.5], [5, 10, 30], [0.3, 0.6, 0.9]):
        e = round(frac * n / b, 3)
        yield ["--mechanism", "laplace", "--scale", str(b), "--steps", str(n), "--epsilon", str(e)]
    for s, q, n, e in itertools.product([0.3, 0.6, 1.0], [0.1, 0.5], [10, 100], [0.0, 1.0, 3.0]):
        yield ["--sigma", str(s), "--sampling-rate", str(q), "--steps", str(n), "--epsilon", str(e)]
    for b, n, e in itertools.product([0.1, 0.3], [3, 10, 30, 100], [0.0, 5.0]):
        yield ["--mechanism", "laplace", "--scale", str(b), "--steps", str(n), "--epsilon", str(e)]


def main():
    checked = disjoint = 0
    for args in settings():
        p, c = bracket("pld", args), bracket("contour", args)
        if p is None or c is None:
            continue
        checked += 1
        if p[0] > c[1] or p[1] < c[0] or p[0] > 1.0:
            disjoint += 1
            print("DISJOINT", " ".join(args), "pld", p, "contour", c)
    print(f"checked {checked} settings, {disjoint} PLD brackets disjoint from contour's")
    return 1 if disjoint else 0


if __name__ == "__main__":
    sys.exit(main())
