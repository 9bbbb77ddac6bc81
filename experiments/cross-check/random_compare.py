#!/usr/bin/env python3
"""Random cross-check of the certified accountants: `ewtune compare --format json` on random
mechanisms and parameters; every pair of certified brackets (per ordering and combined) must
overlap, the exit code must be 0 or 1 (valid inputs), and no call may panic or print NaN.

Usage: random_compare.py BIN SEED N OUT.jsonl [EXTREME_SHARE] [BRACKET_SHARE]
"""
import json, math, random, subprocess, sys, time

import draws

BIN = sys.argv[1]
SEED = int(sys.argv[2])
EXTREME = float(sys.argv[5]) if len(sys.argv) > 5 else 0.25
BRACKET = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
N = int(sys.argv[3])
OUT = sys.argv[4]
rng = random.Random(SEED)

def lu(a, b):
    return math.exp(rng.uniform(math.log(a), math.log(b)))

def gen():
    kind = rng.choices(
        ["sg", "g", "lap", "slap", "rr", "dlap", "dg", "mog", "wor", "trunc"],
        weights=[8, 2, 1, 2, 1, 1, 1, 1, 2, 1])[0]
    extreme = rng.random() < EXTREME
    sig = lu(1e-3, 1e3) if extreme else lu(0.3, 20)
    steps = int(lu(1, 1e7 if extreme else 1e4))
    args = ["--steps", str(steps)]
    adj = rng.choice(["add-remove", "remove", "add"])
    if kind == "sg":
        q = lu(1e-6, 1) if extreme else lu(1e-4, 0.5)
        args += ["--sigma", f"{sig:.6g}", "--sampling-rate", f"{q:.6g}"]
    elif kind == "g":
        args += ["--mechanism", "gaussian", "--sigma", f"{sig:.6g}"]
    elif kind == "lap":
        args += ["--mechanism", "laplace", "--scale", f"{lu(0.1, 100):.6g}"]
    elif kind == "slap":
        args += ["--mechanism", "subsampled-laplace", "--scale", f"{lu(0.2, 50):.6g}",
                 "--sampling-rate", f"{lu(1e-4, 0.5):.6g}"]
    elif kind == "rr":
        adj = "replace-one"
        args += ["--mechanism", "randomized-response", "--noise-parameter", f"{rng.uniform(0.05, 0.99):.6g}",
                 "--buckets", str(rng.randint(2, 100))]
    elif kind == "dlap":
        adj = rng.choice(["add-remove", "remove", "add"])
        args += ["--mechanism", "discrete-laplace", "--parameter", f"{lu(0.01, 5):.6g}",
                 "--sensitivity", str(rng.randint(1, 5))]
    elif kind == "dg":
        args += ["--mechanism", "discrete-gaussian", "--sigma", f"{lu(0.5, 50):.6g}",
                 "--sensitivity", str(rng.randint(1, 5))]
    elif kind == "mog":
        sens, probs = draws.mixture(rng)
        args += ["--mechanism", "mixture-of-gaussians", "--sigma", f"{lu(0.5, 20):.6g}"] + sens + probs
    elif kind == "wor":
        adj = "replace-one"
        n, b = draws.fixed_size(rng)
        args += ["--mechanism", "gaussian", "--sampling", "without-replacement", "--sigma", f"{sig:.6g}",
                 "--dataset-size", str(n), "--batch-size", str(b)]
    elif kind == "trunc":
        n, q, B = draws.truncated(rng)
        args += ["--mechanism", "gaussian", "--sampling", "truncated-poisson", "--sigma", f"{sig:.6g}",
                 "--dataset-size", str(n), "--sampling-rate", f"{q:.6g}", "--max-batch-size", str(B)]
    args += ["--adjacency", adj]
    if rng.random() < 0.7:
        d = lu(1e-300, 1e-2) if rng.random() < 0.15 else lu(1e-14, 1e-2)
        args += ["--delta", f"{d:.6g}"]
    else:
        args += ["--epsilon", f"{lu(1e-3, 200):.6g}"]
    return kind, args

CERT = {"bracket", "upper_bound", "lower_bound"}

def check(kind, args, rep):
    problems = []
    q = "epsilon" if "--delta" in args else "delta"
    ivs = {}
    for r in rep:
        if r.get("guarantee") not in CERT or not r.get("valid", True):
            continue
        for o in r["orderings"]:
            lo = o.get("lower"); up = o.get("upper")
            if r["guarantee"] == "upper_bound":
                lo = None; up = o.get("upper", o.get("value"))
            ivs.setdefault(o["direction"], []).append((r["accountant"], lo, up))
        lo = r.get("lower"); up = r.get("upper")
        ivs.setdefault("combined", []).append((r["accountant"], lo, up))
    def f(x):
        return None if x is None else float(x)
    ivs = {d: [(a, f(lo), f(up)) for a, lo, up in lst] for d, lst in ivs.items()}
    for d, lst in ivs.items():
        for a, lo1, up1 in lst:
            for b, lo2, up2 in lst:
                if a == b or lo1 is None or up2 is None:
                    continue
                if q == "delta" and (lo1 < 1e-290 or up2 < 1e-290):
                    bad = lo1 > up2 * (1 + 1e-9) + 1e-300
                else:
                    bad = lo1 > up2 * (1 + 1e-9) + 1e-12
                if bad:
                    problems.append(f"{d}: {a} lower {lo1!r} > {b} upper {up2!r}")
    return problems

out = open(OUT, "a")
for i in range(N):
    kind, args = gen()
    cmd = [BIN, "compare"] + args + ["--format", "json"] + (["--bracket"] if rng.random() < BRACKET else [])
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
        rc, so, se = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        rc, so, se = "TIMEOUT", "", ""
    dt = time.time() - t0
    probs = []
    if rc == 0:
        try:
            rep = json.loads(so)
            probs = check(kind, args, rep)
        except Exception as e:
            probs = [f"json: {e}"]
    elif rc in (1,):
        if "panick" in se or "NaN" in se:
            probs = ["rc1 panic/NaN: " + se[-300:]]
    else:
        probs = [f"rc {rc}: " + se[-400:]]
    if dt > 60:
        probs.append(f"slow {dt:.1f}s")
    rec = {"i": i, "kind": kind, "args": " ".join(cmd[2:]), "rc": rc, "t": round(dt, 2),
           "problems": probs, "stderr": se[-300:] if rc != 0 else ""}
    out.write(json.dumps(rec) + "\n"); out.flush()
