# Random contour calibrations in the corners (small q*n, tiny delta): every answer must be
# certified (report upper <= target) and not contradicted by PLD's certified lower end at the
# returned sigma; every refusal must be exit 1 with "not certified" or "no solution".
# Usage: python3 corner_calibrations.py SEED SECONDS (binary at /tmp/ewtune-cal; appends to
# /tmp/cal/results.jsonl).
import subprocess, json, random, math, time, sys
BIN = "/tmp/ewtune-cal"
rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
def run(args, timeout=150):
    t0 = time.time()
    p = subprocess.run(["timeout", str(timeout), BIN] + [str(a) for a in args] + ["--format", "json"], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr, time.time() - t0
out = open("/tmp/cal/results.jsonl", "a")
t_end = time.time() + float(sys.argv[2] if len(sys.argv) > 2 else 1200)
while time.time() < t_end:
    q = 10 ** rng.uniform(-7, -2)
    steps = int(10 ** rng.uniform(0, 4))
    delta = 10 ** rng.uniform(-14, -4)
    target = 10 ** rng.uniform(-2, 1)
    adj = rng.choice(["remove", "add-remove"])
    kind = rng.choice(["dpsgd", "dpsgd", "truncated"])
    if kind == "dpsgd":
        base = ["--sampling-rate", q, "--steps", steps, "--adjacency", adj]
    else:
        n = int(10 ** rng.uniform(3, 7)); B = rng.choice([1, 2, 3, 10, 100])
        base = ["--mechanism", "gaussian", "--sampling", "truncated-poisson", "--dataset-size", n,
                "--sampling-rate", q, "--max-batch-size", B, "--steps", steps, "--adjacency", adj]
    rc, so, se, dt = run(["calibrate"] + base + ["--target-epsilon", target, "--delta", delta, "--accountant", "contour"])
    rec = {"args": base, "target": target, "delta": delta, "rc": rc, "secs": round(dt, 1), "err": se[-600:]}
    bad = None
    if rc == 0:
        d = json.loads(so)
        rep = d.get("report", d)
        up = rep.get("upper")
        sigma = d.get("sigma", d.get("value"))
        rec["sigma"] = sigma; rec["upper"] = up
        if up is None or up > target * (1 + 1e-12):
            bad = "upper above target"
        else:
            rc2, so2, se2, _ = run(["epsilon"] + base + ["--sigma", sigma, "--delta", delta, "--accountant", "pld"], 120)
            if rc2 == 0:
                lo = json.loads(so2).get("lower")
                rec["pld_lower"] = lo
                if lo is not None and lo > up * (1 + 1e-9):
                    bad = "pld lower above contour upper"
    elif rc == 1:
        if not ("not certified" in se or "no solution" in se):
            bad = "exit 1 without a typed refusal"
    else:
        bad = "exit %d" % rc
    rec["bad"] = bad
    out.write(json.dumps(rec) + "\n"); out.flush()
    print(rc, round(dt, 1), bad or "", " ".join(map(str, base)), target, delta, flush=True)
