#!/usr/bin/env python3
"""Random cross-check of `ewtune calibrate`: random mechanisms, targets (ε, δ) and what is
solved for (σ, steps, sampling rate, noise parameter), with each certified accountant. Every
calibration reported as certified ("guarantee": "upper_bound") is checked independently: at the
returned parameter, the certified lower end of ε(δ) from every accountant that gives one (contour,
pld at tolerance 1e-4, saddlepoint, gdp where they answer; the one calibrated with included) must
not exceed the target.
Exit codes must be 0, 1 or 2 (2 with a message naming the flag), never a panic, NaN or a hang.

Usage: random_calibrate.py BIN SEED N OUT.jsonl [EXTREME_SHARE]
"""
import json, math, random, subprocess, sys, time

import draws

BIN = sys.argv[1]
SEED = int(sys.argv[2])
N = int(sys.argv[3])
OUT = sys.argv[4]
EXTREME = float(sys.argv[5]) if len(sys.argv) > 5 else 0.25
rng = random.Random(SEED)
CERT_ACC = ["contour", "pld", "saddlepoint", "rdp"]


def lu(a, b):
    return math.exp(rng.uniform(math.log(a), math.log(b)))


def gen():
    """(kind, mechanism args without the solved parameter, solve, solved flag, adjacency)."""
    kind = rng.choices(["sg", "g", "lap", "slap", "rr", "dlap", "dg", "mog", "wor", "trunc"],
                       weights=[8, 2, 1, 2, 1, 1, 1, 1, 2, 1])[0]
    extreme = rng.random() < EXTREME
    steps = int(lu(1, 1e7 if extreme else 1e4))
    adj = rng.choice(["add-remove", "remove", "add"])
    solve = "sigma"
    mech = []
    if kind == "sg":
        q = lu(1e-6, 1) if extreme else lu(1e-4, 0.5)
        mech = ["--sampling-rate", f"{q:.6g}"]
        solve = rng.choices(["sigma", "steps", "sampling-rate"], weights=[6, 2, 2])[0]
        if solve == "sampling-rate":
            mech = ["--sigma", f"{lu(0.3, 5):.6g}"]
        elif solve == "steps":
            mech += ["--sigma", f"{lu(0.3, 5):.6g}"]
    elif kind == "g":
        mech = ["--mechanism", "gaussian"]
        solve = rng.choice(["sigma", "steps"])
        if solve == "steps":
            mech += ["--sigma", f"{lu(1, 100):.6g}"]
    elif kind == "lap":
        mech = ["--mechanism", "laplace"]
        solve = "scale"
    elif kind == "slap":
        mech = ["--mechanism", "subsampled-laplace", "--sampling-rate", f"{lu(1e-3, 0.5):.6g}"]
        solve = "scale"
    elif kind == "rr":
        adj = "replace-one"
        mech = ["--mechanism", "randomized-response", "--buckets", str(rng.randint(2, 100))]
        solve = "noise-parameter"
    elif kind == "dlap":
        mech = ["--mechanism", "discrete-laplace", "--sensitivity", str(rng.randint(1, 5))]
        solve = "parameter"
    elif kind == "dg":
        mech = ["--mechanism", "discrete-gaussian", "--sensitivity", str(rng.randint(1, 5))]
    elif kind == "mog":
        sens, probs = draws.mixture(rng)
        mech = ["--mechanism", "mixture-of-gaussians"] + sens + probs
    elif kind == "wor":
        adj = "replace-one"
        n, b = draws.fixed_size(rng)
        mech = ["--mechanism", "gaussian", "--sampling", "without-replacement",
                "--dataset-size", str(n), "--batch-size", str(b)]
    elif kind == "trunc":
        n, q, B = draws.truncated(rng)
        mech = ["--mechanism", "gaussian", "--sampling", "truncated-poisson",
                "--dataset-size", str(n), "--sampling-rate", f"{q:.6g}", "--max-batch-size", str(B)]
    if solve != "steps":
        mech += ["--steps", str(steps)]
    return kind, mech, solve, adj


SOLVED_FLAG = {"sigma": "--sigma", "steps": "--steps", "sampling-rate": "--sampling-rate",
               "noise-parameter": "--noise-parameter", "scale": "--scale",
               "parameter": "--parameter"}


def run(cmd, timeout):
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr, time.time() - t0
    except subprocess.TimeoutExpired:
        return "TIMEOUT", "", "", time.time() - t0


def verify(kind, mech, solve, adj, value, target, delta):
    """Certified lower ends of ε at the calibrated parameter from each other accountant."""
    flag = SOLVED_FLAG[solve]
    if solve == "steps":
        v = str(int(value))
    else:
        v = repr(float(value))
    out = []
    for acc in ["contour", "pld", "saddlepoint", "rdp", "gdp"]:
        extra = ["--tolerance", "1e-4"] if acc == "pld" else []
        cmd = [BIN, "epsilon"] + mech + [flag, v, "--adjacency", adj, "--delta", repr(delta),
                                         "--accountant", acc, "--format", "json"] + extra
        rc, so, se, dt = run(cmd, 120)
        if rc != 0:
            out.append((acc, rc, None, None, round(dt, 2)))
            continue
        r = json.loads(so)
        lo = r.get("lower")
        g = r.get("guarantee")
        out.append((acc, rc, g, lo, round(dt, 2)))
    return out


out = open(OUT, "a")
for i in range(N):
    kind, mech, solve, adj = gen()
    target = lu(0.02, 50) if rng.random() > 0.1 else lu(1e-3, 1e3)
    delta = lu(1e-12, 1e-3) if rng.random() > 0.1 else lu(1e-300, 1e-12)
    acc = rng.choice(CERT_ACC)
    cmd = [BIN, "calibrate"] + mech + ["--adjacency", adj, "--target-epsilon", f"{target:.6g}",
                                       "--delta", f"{delta:.6g}", "--accountant", acc,
                                       "--format", "json"]
    if solve != "sigma":
        cmd += ["--solve", solve]
    rc, so, se, dt = run(cmd, 200)
    probs, checks = [], []
    value = None
    if rc == 0:
        try:
            rep = json.loads(so)
            value = rep.get("value")
            if rep.get("guarantee") == "upper_bound" and value is not None:
                checks = verify(kind, mech, solve, adj, value, float(f"{target:.6g}"),
                                float(f"{delta:.6g}"))
                for a, r2, g, lo, _ in checks:
                    if lo is not None and g in ("bracket", "lower_bound") \
                            and float(lo) > float(f"{target:.6g}") * (1 + 1e-9):
                        probs.append(f"{a} certified lower end {lo} > target")
        except Exception as e:
            probs = [f"json: {e}"]
    elif rc == 1:
        if "panick" in se or "NaN" in se:
            probs = ["rc1 panic/NaN: " + se[-300:]]
    elif rc == 2:
        if "--" not in se:
            probs = ["rc2 without a flag: " + se[-300:]]
    else:
        probs = [f"rc {rc}: " + se[-400:]]
    if dt > 60:
        probs.append(f"slow {dt:.1f}s")
    rec = {"i": i, "kind": kind, "args": " ".join(cmd[2:]), "rc": rc, "t": round(dt, 2),
           "value": value, "checks": checks, "problems": probs,
           "stderr": se[-300:] if rc != 0 else ""}
    out.write(json.dumps(rec) + "\n"); out.flush()
