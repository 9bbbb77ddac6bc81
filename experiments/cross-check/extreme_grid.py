#!/usr/bin/env python3
"""Extreme-parameter grid: every accountant, every mechanism, sigma/scale from 1e-300 to 1e300,
q from 1e-300 to 1, 1 and 1e7 steps, delta 1e-5 and 1e-300, epsilon 1 and 1e300. Flags exit codes
other than 0/1/2, panics, NaN in the output, exit 2 without a parameter range message, and calls
over 20 s. Usage: extreme_grid.py BIN OUT.jsonl [ACCOUNTANT ...]
"""
import itertools, subprocess, sys, time, json
BIN = sys.argv[1]
OUT = open(sys.argv[2], "w")
accs = sys.argv[3:] or ["edgeworth", "saddlepoint", "contour", "pld", "rdp", "gdp"]
mechs = []
for s in ["1e-300", "1e-100", "1e-20", "1e-8", "1e-4", "1e4", "1e20", "1e100", "1e300"]:
    for q in ["1e-300", "1e-10", "0.5", "1"]:
        mechs.append(["--sigma", s, "--sampling-rate", q])
    mechs.append(["--mechanism", "gaussian", "--sigma", s])
    mechs.append(["--mechanism", "laplace", "--scale", s])
    mechs.append(["--mechanism", "subsampled-laplace", "--scale", s, "--sampling-rate", "0.01"])
    mechs.append(["--mechanism", "discrete-gaussian", "--sigma", s])
    mechs.append(["--mechanism", "mixture-of-gaussians", "--sigma", s, "--sensitivities", "0,1,2", "--probabilities", "0.6,0.3,0.1"])
    mechs.append(["--mechanism", "gaussian", "--sampling", "without-replacement", "--sigma", s, "--dataset-size", "1000", "--batch-size", "10", "--adjacency", "replace-one"])
    mechs.append(["--mechanism", "gaussian", "--sampling", "truncated-poisson", "--sigma", s, "--dataset-size", "1000", "--sampling-rate", "0.01", "--max-batch-size", "20"])
    mechs.append(["--mechanism", "discrete-laplace", "--parameter", s])
for s in ["1e-300", "1e-10", "0.999999999", "1"]:
    mechs.append(["--mechanism", "randomized-response", "--noise-parameter", s, "--buckets", "10"])
queries = [["--delta", "1e-5"], ["--epsilon", "1"], ["--delta", "1e-300"], ["--epsilon", "1e300"]]
steps = ["1", "10000000"]
for m in mechs:
    for acc in accs:
        for st in steps:
            for qy in queries:
                sub = "epsilon" if qy[0] == "--delta" else "delta"
                args = [sub] + m + ["--steps", st, "--accountant", acc] + qy
                t0 = time.time()
                try:
                    p = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=60)
                    rc, err, out = p.returncode, p.stderr, p.stdout
                except subprocess.TimeoutExpired:
                    rc, err, out = "TIMEOUT", "", ""
                dt = time.time() - t0
                bad = rc not in (0, 1, 2) or "panicked" in err or "NaN" in out or " nan" in out.lower() or dt > 20
                if rc == 2 and "invalid" not in err and "must " not in err and "resource budget" not in err and "not supported" not in err.lower() and "does not support" not in err:
                    bad = True
                OUT.write(json.dumps({"args": " ".join(args), "rc": rc, "t": round(dt, 2), "bad": bad, "err": err[-250:]}) + "\n")
                OUT.flush()
