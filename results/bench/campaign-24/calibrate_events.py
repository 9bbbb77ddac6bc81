"""Campaign 24: adversarial checks of `ewtune calibrate`, `--events` files, `cumulants` and
`edgeworth-bound`.  Usage: EWTUNE=/tmp/ewtune-24 python3 calibrate_events.py SEED N [parts]
parts: any of cal,events,cum (default all).  Writes log_SEED.jsonl next to this file."""
import json
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from c24_harness import Log, run, generic_checks, gauss_eps, gauss_delta, OUTDIR  # noqa: E402
import mpmath as mp  # noqa: E402

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 1
N = int(sys.argv[2]) if len(sys.argv) > 2 else 20
PARTS = sys.argv[3].split(",") if len(sys.argv) > 3 else ["cal", "events", "cum"]
rng = random.Random(SEED)
log = Log(f"log_{SEED}.jsonl")

CERTIFIED = {"contour", "pld", "rdp", "saddlepoint"}


def lu(a, b):
    return 10 ** rng.uniform(math.log10(a), math.log10(b))


def fmt(x):
    return repr(float(x))


# ----------------------------------------------------------------------------------------------
# Mechanism generators: (base flags without the solved knob, knob flag, solve name, adjacency)
def gen_mech(kind):
    adj = "add-remove"
    if kind == "gaussian":
        adj = rng.choice(["add-remove", "remove", "add", "replace-one"])
        return [ "--mechanism", "gaussian"], "--sigma", "sigma", adj
    if kind == "subsampled-gaussian":
        q = rng.choice([lu(1e-6, 1e-3), lu(1e-3, 0.3), 1 - lu(1e-6, 0.1), 1.0])
        return ["--mechanism", "subsampled-gaussian", "--sampling-rate", fmt(q)], "--sigma", "sigma", \
            rng.choice(["add-remove", "remove", "add"])
    if kind == "laplace":
        return ["--mechanism", "laplace"], "--scale", "scale", adj
    if kind == "subsampled-laplace":
        q = rng.choice([lu(1e-4, 1e-2), lu(1e-2, 0.5)])
        return ["--mechanism", "subsampled-laplace", "--sampling-rate", fmt(q)], "--scale", "scale", adj
    if kind == "randomized-response":
        k = rng.choice([2, 3, 4, 10, 100])
        return ["--mechanism", "randomized-response", "--buckets", str(k)], "--noise-parameter", \
            "noise-parameter", "replace-one"
    if kind == "discrete-laplace":
        d = rng.choice([1, 2, 5])
        return ["--mechanism", "discrete-laplace", "--sensitivity", str(d)], "--parameter", "parameter", adj
    if kind == "discrete-gaussian":
        d = rng.choice([1, 2, 3])
        return ["--mechanism", "discrete-gaussian", "--sensitivity", str(d)], "--sigma", "sigma", adj
    if kind == "mixture-of-gaussians":
        s, p = rng.choice([("0,1,2", "0.6,0.3,0.1"), ("0,1", "0.99,0.01"), ("1", "1"), ("0.5,1", "0.5,0.5")])
        return ["--mechanism", "mixture-of-gaussians", "--sensitivities", s, "--probabilities", p], \
            "--sigma", "sigma", adj
    if kind == "truncated-poisson":
        n = rng.choice([100, 1000, 60000])
        q = rng.choice([0.001, 0.01, 0.1])
        B = max(1, int(n * q * rng.choice([0.5, 1, 2, 5])))
        return ["--mechanism", "gaussian", "--sampling", "truncated-poisson", "--dataset-size", str(n),
                "--sampling-rate", fmt(q), "--max-batch-size", str(B)], "--sigma", "sigma", \
            rng.choice(["add-remove", "replace-one"])
    if kind == "without-replacement":
        n = rng.choice([100, 1000, 60000])
        b = max(1, int(n * rng.choice([0.001, 0.01, 0.1, 0.5])))
        return ["--mechanism", "gaussian", "--sampling", "without-replacement", "--dataset-size", str(n),
                "--batch-size", str(b)], "--sigma", "sigma", "replace-one"
    raise ValueError(kind)


KINDS = ["gaussian", "subsampled-gaussian", "laplace", "subsampled-laplace", "randomized-response",
         "discrete-laplace", "discrete-gaussian", "mixture-of-gaussians", "truncated-poisson",
         "without-replacement"]
# Knob direction: +1 means larger knob = more private (sigma, scale, noise-parameter);
# -1 means larger knob = less private (parameter a of the discrete Laplace).
KNOB_DIR = {"--sigma": 1, "--scale": 1, "--noise-parameter": 1, "--parameter": -1}


def eps_of(base, adj, steps, delta, knob, value, acct="contour", extra=()):
    args = ["epsilon"] + base + [knob, fmt(value), "--steps", str(steps), "--delta", fmt(delta),
                                 "--adjacency", adj, "--accountant", acct, "--format", "json"] + list(extra)
    res = run(args)
    generic_checks(log, res, what="verify-epsilon")
    if res["rc"] == 0 and res["json"]:
        j = res["json"]
        lo, up = j.get("lower"), j.get("upper")
        if isinstance(lo, (int, float)) and isinstance(up, (int, float)):
            return lo, up, res
        if j.get("guarantee") == "exact" and isinstance(j.get("epsilon"), (int, float)):
            return j["epsilon"], j["epsilon"], res
    return None, None, res


def verify_bracket(base, adj, steps, delta, knob, value):
    """Certified [lo, up] of ε at knob=value by contour, else pld."""
    lo, up, res = eps_of(base, adj, steps, delta, knob, value, "contour")
    if lo is None:
        lo, up, res = eps_of(base, adj, steps, delta, knob, value, "pld")
    return lo, up, res


def calib_one(kind, acct, target, delta, steps, extra_flags=()):
    base, knob, solve, adj = gen_mech(kind)
    if acct == "gdp" and (adj == "replace-one" and kind != "gaussian"):
        adj = "add-remove"
    args = ["calibrate"] + base + ["--target-epsilon", fmt(target), "--delta", fmt(delta),
                                   "--steps", str(steps), "--solve", solve, "--adjacency", adj,
                                   "--accountant", acct, "--format", "json"] + list(extra_flags)
    if knob == "--scale":
        args += ["--scale", "1"]
    res = run(args)
    what = f"calibrate {kind} {acct}"
    generic_checks(log, res, what=what)
    if res["rc"] == 2:
        # exit 2 must name a flag
        ok = "--" in res["err"] or "target" in res["err"] or "accountant `" in res["err"]
        log.check("exit2-names-flag", ok, what, res)
    if res["rc"] != 0 or not res["json"]:
        return None
    j = res["json"]
    val = j.get("value")
    if val is None:
        val = j.get(solve.replace("-", "_"))
    if not isinstance(val, (int, float)):
        log.check("calibrate-value-number", False, f"{what}: value={val!r}", res)
        return None
    guar = j.get("guarantee") or (j.get("report") or {}).get("guarantee")
    certified = (acct in CERTIFIED) or (acct == "edgeworth" and "--bracket" in extra_flags)
    if certified:
        log.check("certified-calibration-guarantee", guar in ("upper_bound", "bracket"),
                  f"{what}: guarantee {guar}", res)
    # the report's certified upper end must be <= target
    ceps = j.get("epsilon")
    if certified and isinstance(ceps, (int, float)):
        log.check("reported-eps<=target", ceps <= target * (1 + 1e-12), f"{what}: eps {ceps} target {target}", res)
    if not certified:
        return j
    # independent verification
    lo, up, vres = verify_bracket(base, adj, steps, delta, knob, val)
    if lo is None:
        log.check("verify-possible(info)", True, f"{what}: verifier refused: {vres['err'][:200]}", vres)
        return j
    ok = lo <= target * (1 + 1e-9) + 1e-12
    log.check("WRONG-CERT: verified lower<=target", ok,
              f"{what}: knob {knob}={val} target {target} delta {delta} steps {steps}: verifier [{lo}, {up}]", vres)
    # closed form for the plain Gaussian
    if kind == "gaussian":
        s = val / 2 if adj == "replace-one" else val
        mu = math.sqrt(steps) / s
        ex = float(gauss_eps(delta, mu))
        log.check("WRONG-CERT: gaussian closed form <= target", ex <= target * (1 + 1e-9) + 1e-12,
                  f"{what}: sigma {val} exact eps {ex} target {target}", res)
    # tightness: 1% less noise should violate the target (claim tight to rel-tol)
    wide = any("wide" in n for n in j.get("notes", []))
    step = 0.99 if KNOB_DIR[knob] > 0 else 1.01
    if solve == "noise-parameter" and val * step <= 0:
        return j
    if acct in ("contour", "pld", "saddlepoint") and not wide and up is not None and up <= target:
        lo2, up2, r2 = verify_bracket(base, adj, steps, delta, knob, val * step)
        if up2 is not None:
            # if 1% less noise is certified to meet the target, the returned knob is not the least
            not_least = up2 <= target * (1 - 1e-9)
            log.check("OTHER: calibration not conservative by >1%", not not_least,
                      f"{what}: knob {val} -> {val*step}: [{lo2}, {up2}] vs target {target}", r2)
    return j


def part_calibrate():
    accts = ["contour", "pld", "saddlepoint", "rdp", "gdp", "edgeworth", "edgeworth+b"]
    for i in range(N):
        kind = rng.choice(KINDS)
        acct = rng.choice(accts)
        extra = []
        if acct == "edgeworth+b":
            acct, extra = "edgeworth", ["--bracket"]
        r = rng.random()
        if r < 0.6:  # moderate
            target = lu(0.1, 20)
            delta = lu(1e-12, 1e-3)
            steps = int(lu(1, 1e4))
        else:  # extreme
            target = rng.choice([lu(1e-3, 1e-2), lu(50, 1e4), 1e-3, 1e4, 9999.0])
            delta = rng.choice([lu(1e-300, 1e-100), 0.5, 0.49, 1e-300, lu(1e-3, 0.5)])
            steps = rng.choice([1, 2, int(lu(1e4, 1e7)), 10 ** 7])
        calib_one(kind, acct, target, delta, steps, extra)

    # monotonicity ladders (contour, gaussian and subsampled gaussian)
    for (base, adj) in [(["--mechanism", "gaussian"], "add-remove"),
                        (["--sampling-rate", "0.01"], "add-remove"),
                        (["--mechanism", "discrete-gaussian"], "add-remove"),
                        (["--mechanism", "mixture-of-gaussians", "--sensitivities", "0,1,2",
                          "--probabilities", "0.6,0.3,0.1"], "add-remove")]:
        acct = "contour"
        prev = None
        for t in [0.5, 1, 2, 4, 8, 16]:
            res = run(["calibrate"] + base + ["--target-epsilon", t, "--delta", "1e-6", "--steps", "300",
                                              "--adjacency", adj, "--accountant", acct, "--format", "json"])
            generic_checks(log, res, what="mono-target")
            if res["rc"] == 0 and res["json"]:
                v = res["json"]["value"]
                if prev is not None:
                    log.check("monotone: larger target -> smaller sigma", v <= prev[1] * (1 + 2e-4),
                              f"{base}: target {prev[0]} -> {prev[1]}, {t} -> {v}", res)
                prev = (t, v)
        prev = None
        for st in [1, 10, 100, 1000, 10000, 100000]:
            res = run(["calibrate"] + base + ["--target-epsilon", "2", "--delta", "1e-6", "--steps", st,
                                              "--adjacency", adj, "--accountant", acct, "--format", "json"])
            generic_checks(log, res, what="mono-steps")
            if res["rc"] == 0 and res["json"]:
                v = res["json"]["value"]
                if prev is not None:
                    log.check("monotone: more steps -> larger sigma", v >= prev[1] * (1 - 2e-4),
                              f"{base}: steps {prev[0]} -> {prev[1]}, {st} -> {v}", res)
                prev = (st, v)

    # solve steps and sampling-rate, checked for optimality
    for i in range(max(2, N // 3)):
        sigma = lu(0.5, 5)
        q = lu(1e-4, 0.5)
        target = lu(0.3, 20)
        delta = lu(1e-12, 1e-4)
        acct = rng.choice(["contour", "pld", "rdp", "saddlepoint"])
        res = run(["calibrate", "--sigma", fmt(sigma), "--sampling-rate", fmt(q), "--target-epsilon",
                   fmt(target), "--delta", fmt(delta), "--solve", "steps", "--accountant", acct,
                   "--format", "json"])
        generic_checks(log, res, what=f"solve steps {acct}")
        base = ["--mechanism", "subsampled-gaussian", "--sampling-rate", fmt(q)]
        if res["rc"] == 0 and res["json"]:
            k = int(res["json"]["steps"])
            lo, up, v = verify_bracket(base, "add-remove", k, delta, "--sigma", sigma)
            if lo is not None:
                log.check("WRONG-CERT: verified lower<=target", lo <= target * (1 + 1e-9),
                          f"solve steps {acct}: steps {k}: [{lo}, {up}] target {target}", v)
            if acct in ("contour", "pld") and k < 10 ** 15:
                lo, up, v = verify_bracket(base, "add-remove", k + 1, delta, "--sigma", sigma)
                if up is not None:
                    log.check("OTHER: solve steps is the largest", up > target,
                              f"solve steps {acct}: steps+1={k+1}: [{lo}, {up}] target {target}", v)
        steps = int(lu(1, 1e5))
        res = run(["calibrate", "--sigma", fmt(sigma), "--sampling-rate", "0.5", "--steps", steps,
                   "--target-epsilon", fmt(target), "--delta", fmt(delta), "--solve", "sampling-rate",
                   "--accountant", acct, "--format", "json"])
        generic_checks(log, res, what=f"solve sampling-rate {acct}")
        if res["rc"] == 0 and res["json"]:
            qq = res["json"].get("sampling_rate")
            base = ["--mechanism", "subsampled-gaussian", "--sigma", fmt(sigma)]
            lo, up, v = verify_bracket(base, "add-remove", steps, delta, "--sampling-rate", qq)
            if lo is not None:
                log.check("WRONG-CERT: verified lower<=target", lo <= target * (1 + 1e-9),
                          f"solve q {acct}: q {qq}: [{lo}, {up}] target {target}", v)
            if acct in ("contour", "pld") and qq < 0.99:
                lo, up, v = verify_bracket(base, "add-remove", steps, delta, "--sampling-rate", qq * 1.01)
                if up is not None:
                    log.check("OTHER: calibration not conservative by >1%", up > target,
                              f"solve q {acct}: q*1.01={qq*1.01}: [{lo}, {up}] target {target}", v)

    # bad input to calibrate: exit 2 naming the flag
    bad = [
        ["--target-epsilon", "0", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "0.01"],
        ["--target-epsilon", "-1", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "0.01"],
        ["--target-epsilon", "nan", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "0.01"],
        ["--target-epsilon", "inf", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "0.01"],
        ["--target-epsilon", "1", "--delta", "0", "--steps", "10", "--sampling-rate", "0.01"],
        ["--target-epsilon", "1", "--delta", "1", "--steps", "10", "--sampling-rate", "0.01"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "0", "--sampling-rate", "0.01"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "1000000000000001", "--sampling-rate", "0.01"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "0"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "1.5"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "0.01", "--rel-tol", "0"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "0.01", "--rel-tol", "-1"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "0.01", "--rel-tol", "nan"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "0.01", "--rel-tol", "10"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--sampling-rate", "0.01", "--solve", "sampling-rate", "--sigma", "1"],
        ["--target-epsilon", "20000", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "0.01", "--accountant", "contour"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--mechanism", "laplace", "--solve", "sigma"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--mechanism", "randomized-response", "--buckets", "0", "--solve", "noise-parameter", "--adjacency", "replace-one"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--mechanism", "discrete-laplace", "--sensitivity", "0", "--solve", "parameter"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--mechanism", "discrete-gaussian", "--sensitivity", "1.5"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--mechanism", "mixture-of-gaussians", "--sensitivities", "0,1", "--probabilities", "0.5,0.6"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--mechanism", "gaussian", "--sampling", "without-replacement", "--dataset-size", "10", "--batch-size", "20", "--adjacency", "replace-one"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--mechanism", "gaussian", "--sampling", "without-replacement", "--dataset-size", "10", "--batch-size", "2"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "0.01", "--accountant", "pld", "--grid-budget", "10"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "0.01", "--accountant", "contour", "--tolerance", "0.5"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "0.01", "--accountant", "edgeworth", "--order", "7"],
        ["--target-epsilon", "1", "--delta", "1e-5", "--steps", "10", "--sampling-rate", "0.01", "--precision", "1"],
    ]
    for b in bad:
        res = run(["calibrate"] + b)
        generic_checks(log, res, expect_rcs=(2,), what="calibrate bad input")
        log.check("exit2-names-flag", res["rc"] != 2 or "--" in res["err"], "calibrate bad input", res)


# ----------------------------------------------------------------------------------------------
def write(name, text, binary=False):
    p = os.path.join(OUTDIR, "tmp_events", name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb" if binary else "w") as f:
        f.write(text)
    return p


def entries_json(entries):
    return json.dumps({"events": entries})


def entries_toml(entries):
    out = []
    for e in entries:
        out.append("[[events]]")
        for k, v in e.items():
            if isinstance(v, str):
                out.append(f'{k} = "{v}"')
            elif isinstance(v, list):
                out.append(f"{k} = [{', '.join(repr(float(x)) for x in v)}]")
            elif isinstance(v, float):
                out.append(f"{k} = {repr(v)}")
            else:
                out.append(f"{k} = {v}")
        out.append("")
    return "\n".join(out)


def ev_eps(path, delta, acct="contour", adj="add-remove", extra=()):
    res = run(["epsilon", "--events", path, "--delta", fmt(delta), "--accountant", acct, "--adjacency",
               adj, "--format", "json"] + list(extra))
    generic_checks(log, res, what=f"events epsilon {acct}")
    if res["rc"] == 0 and res["json"]:
        j = res["json"]
        lo, up = j.get("lower"), j.get("upper")
        if lo is None and j.get("guarantee") == "exact":
            lo = up = j.get("epsilon")
        return lo, up, res
    return None, None, res


def rand_entry():
    k = rng.choice(["gaussian", "subsampled-gaussian", "laplace", "subsampled-laplace", "discrete-gaussian",
                    "discrete-laplace", "mixture-of-gaussians"])
    c = rng.choice([1, 2, 5, 10, 100, 1000])
    if k == "gaussian":
        return {"mechanism": k, "sigma": lu(0.5, 20), "count": c}
    if k == "subsampled-gaussian":
        return {"mechanism": k, "sigma": lu(0.6, 5), "sampling_rate": lu(1e-3, 0.2), "count": c}
    if k == "laplace":
        return {"mechanism": k, "scale": lu(1, 50), "count": c}
    if k == "subsampled-laplace":
        return {"mechanism": k, "scale": lu(0.5, 10), "sampling_rate": lu(1e-2, 0.2), "count": c}
    if k == "discrete-gaussian":
        return {"mechanism": k, "sigma": lu(1, 10), "sensitivity": 1, "count": c}
    if k == "discrete-laplace":
        return {"mechanism": k, "parameter": lu(0.05, 1), "sensitivity": 1, "count": c}
    return {"mechanism": k, "sigma": lu(1, 5), "sensitivities": [0.0, 1.0, 2.0],
            "probabilities": [0.6, 0.3, 0.1], "count": c}


def overlap(a, b, rel=1e-9):
    return a[0] <= b[1] * (1 + rel) + 1e-12 and b[0] <= a[1] * (1 + rel) + 1e-12


def part_events():
    # 1. gaussian compositions vs the closed form
    for i in range(N):
        ents = [{"mechanism": "gaussian", "sigma": lu(0.3, 50), "count": rng.choice([1, 3, 10, 100, 10000])}
                for _ in range(rng.randint(1, 5))]
        delta = rng.choice([lu(1e-12, 1e-3), lu(1e-300, 1e-50), 0.3])
        mu = math.sqrt(sum(e["count"] / e["sigma"] ** 2 for e in ents))
        ex = float(gauss_eps(delta, mu))
        fmtc = rng.choice(["json", "toml"])
        p = write(f"g{SEED}_{i}.{fmtc}", entries_json(ents) if fmtc == "json" else entries_toml(ents))
        for acct in ["contour", "pld", "gdp", "edgeworth", "saddlepoint"]:
            lo, up, res = ev_eps(p, delta, acct)
            if lo is None or up is None or not isinstance(up, (int, float)):
                continue
            if acct in ("contour", "pld", "saddlepoint"):
                ok = lo <= ex * (1 + 1e-8) + 1e-12 and ex <= up * (1 + 1e-8) + 1e-12
                log.check("WRONG-CERT: events gaussian bracket holds closed form", ok,
                          f"{acct} mu={mu} delta={delta} exact={ex} bracket=[{lo},{up}]", res)
            else:
                v = res["json"].get("epsilon")
                if res["json"].get("guarantee") == "exact" and isinstance(v, (int, float)):
                    log.check("WRONG-EXACT: events gaussian exact matches closed form",
                              abs(v - ex) <= 1e-6 * max(1, ex), f"{acct} mu={mu} delta={delta} exact={ex} got {v}", res)
    # 2. k identical entries == --steps k; ordering independence; TOML == JSON
    for i in range(N):
        e = rand_entry()
        k = rng.randint(2, 6)
        delta = lu(1e-10, 1e-3)
        one = dict(e)
        one["count"] = 1
        split = [dict(one) for _ in range(k)]
        merged = dict(e)
        merged["count"] = k
        p1 = write(f"split{SEED}_{i}.json", entries_json(split))
        p2 = write(f"merged{SEED}_{i}.toml", entries_toml([merged]))
        acct = rng.choice(["contour", "pld", "rdp"])
        a = ev_eps(p1, delta, acct)
        b = ev_eps(p2, delta, acct)
        if a[0] is not None and b[0] is not None:
            log.check("events: k entries == count k", overlap(a[:2], b[:2], 1e-7),
                      f"{acct} {e['mechanism']} k={k}: split {a[:2]} merged {b[:2]}", a[2])
        # permuted heterogeneous list
        ents = [rand_entry() for _ in range(rng.randint(2, 4))]
        perm = ents[:]
        rng.shuffle(perm)
        pa = write(f"het{SEED}_{i}.json", entries_json(ents))
        pb = write(f"hetp{SEED}_{i}.toml", entries_toml(perm))
        acct = rng.choice(["contour", "pld", "rdp", "saddlepoint"])
        a = ev_eps(pa, delta, acct)
        b = ev_eps(pb, delta, acct)
        if a[0] is not None and b[0] is not None:
            log.check("events: ordering independence", overlap(a[:2], b[:2], 1e-7),
                      f"{acct}: {a[:2]} vs permuted {b[:2]}", a[2])
        if acct != "contour" and a[0] is not None:
            c = ev_eps(pa, delta, "contour")
            if c[0] is not None:
                log.check("WRONG-CERT: events accountants overlap contour", overlap(a[:2], c[:2], 1e-7)
                          if acct != "rdp" else a[1] >= c[0] * (1 - 1e-9),
                          f"{acct} {a[:2]} contour {c[:2]}", a[2])
        # delta and compare on the same file
        res = run(["delta", "--events", pa, "--epsilon", fmt(lu(0.1, 10)), "--accountant", "contour", "--format", "json"])
        generic_checks(log, res, what="events delta")
        res = run(["compare", "--events", pa, "--delta", fmt(delta)])
        generic_checks(log, res, what="events compare")
    # 3. malformed files
    g = {"mechanism": "gaussian", "sigma": 1.0, "count": 10}
    cases = {
        "empty.json": "",
        "empty.toml": "",
        "emptylist.json": '{"events": []}',
        "notobj.json": "[1,2,3]",
        "count0.json": entries_json([dict(g, count=0)]),
        "countneg.json": entries_json([dict(g, count=-1)]),
        "countfloat.json": '{"events":[{"mechanism":"gaussian","sigma":1,"count":1e15}]}',
        "countstr.json": '{"events":[{"mechanism":"gaussian","sigma":1,"count":"10"}]}',
        "count1e15.json": entries_json([dict(g, count=10 ** 15)]),
        "count1e15p1.json": entries_json([dict(g, count=10 ** 15 + 1)]),
        "count2x1e15.json": entries_json([dict(g, count=10 ** 15), dict(g, count=10 ** 15)]),
        "countu64max.json": entries_json([dict(g, count=2 ** 64 - 1)]),
        "countwrap.json": entries_json([dict(g, count=2 ** 63), dict(g, count=2 ** 63)]),
        "countwrap1.json": entries_json([dict(g, count=2 ** 64 - 1), dict(g, count=2)]),
        "count2p64.json": entries_json([dict(g, count=2 ** 64)]),
        "dupkey.json": '{"events":[{"mechanism":"gaussian","sigma":1,"sigma":2,"count":10}]}',
        "dupevents.json": '{"events":[],"events":[{"mechanism":"gaussian","sigma":1,"count":10}]}',
        "unknownkey.json": '{"events":[{"mechanism":"gaussian","sigma":1,"count":10,"foo":1}]}',
        "unknowntop.json": '{"events":[{"mechanism":"gaussian","sigma":1,"count":10}],"x":[[[[1]]]]}',
        "wrongtype.json": '{"events":[{"mechanism":"gaussian","sigma":"1","count":10}]}',
        "mechnum.json": '{"events":[{"mechanism":3,"sigma":1,"count":10}]}',
        "unknownmech.json": '{"events":[{"mechanism":"cauchy","sigma":1,"count":10}]}',
        "missingsigma.json": '{"events":[{"mechanism":"gaussian","count":10}]}',
        "extraflag.json": '{"events":[{"mechanism":"gaussian","sigma":1,"scale":2,"count":10}]}',
        "sigma0.json": '{"events":[{"mechanism":"gaussian","sigma":0,"count":10}]}',
        "sigmaneg.json": '{"events":[{"mechanism":"gaussian","sigma":-1,"count":10}]}',
        "sigmahuge.json": '{"events":[{"mechanism":"gaussian","sigma":1e309,"count":10}]}',
        "sigmasub.json": '{"events":[{"mechanism":"gaussian","sigma":5e-324,"count":10}]}',
        "nan.toml": '[[events]]\nmechanism="gaussian"\nsigma=nan\ncount=10\n',
        "inf.toml": '[[events]]\nmechanism="gaussian"\nsigma=inf\ncount=10\n',
        "qnan.toml": '[[events]]\nmechanism="subsampled-gaussian"\nsigma=1.0\nsampling_rate=nan\ncount=10\n',
        "qinf.toml": '[[events]]\nmechanism="subsampled-laplace"\nscale=1.0\nsampling_rate=-inf\ncount=10\n',
        "lapnan.toml": '[[events]]\nmechanism="laplace"\nscale=nan\ncount=10\n',
        "rrnan.toml": '[[events]]\nmechanism="randomized-response"\nnoise_parameter=nan\nbuckets=4\ncount=10\n',
        "rrbucketfrac.json": '{"events":[{"mechanism":"randomized-response","noise_parameter":0.5,"buckets":2.5,"count":10}]}',
        "rrbuckethuge.json": '{"events":[{"mechanism":"randomized-response","noise_parameter":0.5,"buckets":1e300,"count":10}]}',
        "rrbucketnan.toml": '[[events]]\nmechanism="randomized-response"\nnoise_parameter=0.5\nbuckets=nan\ncount=10\n',
        "dlsensfrac.json": '{"events":[{"mechanism":"discrete-laplace","parameter":0.5,"sensitivity":1.5,"count":10}]}',
        "dlsensinf.toml": '[[events]]\nmechanism="discrete-laplace"\nparameter=0.5\nsensitivity=inf\ncount=10\n',
        "dgsensnan.toml": '[[events]]\nmechanism="discrete-gaussian"\nsigma=2.0\nsensitivity=nan\ncount=10\n',
        "dgsenshuge.json": '{"events":[{"mechanism":"discrete-gaussian","sigma":2,"sensitivity":1e19,"count":10}]}',
        "mixnan.toml": '[[events]]\nmechanism="mixture-of-gaussians"\nsigma=1.0\nsensitivities=[0.0, nan]\nprobabilities=[0.5,0.5]\ncount=10\n',
        "mixinf.toml": '[[events]]\nmechanism="mixture-of-gaussians"\nsigma=1.0\nsensitivities=[0.0, inf]\nprobabilities=[0.5,0.5]\ncount=10\n',
        "mixempty.json": '{"events":[{"mechanism":"mixture-of-gaussians","sigma":1,"sensitivities":[],"probabilities":[],"count":10}]}',
        "mixlen.json": '{"events":[{"mechanism":"mixture-of-gaussians","sigma":1,"sensitivities":[0,1],"probabilities":[1],"count":10}]}',
        "mixhuge.json": '{"events":[{"mechanism":"mixture-of-gaussians","sigma":1,"sensitivities":[0,1e300],"probabilities":[0.5,0.5],"count":10}]}',
        "mixneg.json": '{"events":[{"mechanism":"mixture-of-gaussians","sigma":1,"sensitivities":[-1,1],"probabilities":[0.5,0.5],"count":10}]}',
        "wornan.toml": '[[events]]\nmechanism="sampled_without_replacement"\nsigma=nan\ndataset_size=100\nbatch_size=10\ncount=10\n',
        "tpnan.toml": '[[events]]\nmechanism="truncated_subsampled_gaussian"\nnoise_multiplier=1.0\nsampling_probability=nan\ndataset_size=100\nmax_batch_size=10\ncount=10\n',
        "tpzero.json": '{"events":[{"mechanism":"truncated_subsampled_gaussian","sigma":1,"sampling_rate":0.01,"dataset_size":0,"max_batch_size":1,"count":10}]}',
        "tphuge.json": '{"events":[{"mechanism":"truncated_subsampled_gaussian","sigma":1,"sampling_rate":0.5,"dataset_size":18446744073709551615,"max_batch_size":10,"count":10}]}',
        "worhuge.json": '{"events":[{"mechanism":"sampled_without_replacement","sigma":1,"dataset_size":18446744073709551615,"batch_size":9223372036854775807,"count":10}]}',
        "aliasdup.json": '{"events":[{"mechanism":"gaussian","sigma":1,"noise_multiplier":2,"count":10}]}',
        "nonutf8.json": b'{"events":[{"mechanism":"gau\xff\xfesian","sigma":1,"count":10}]}',
        "bom.json": b'\xef\xbb\xbf{"events":[{"mechanism":"gaussian","sigma":1,"count":10}]}',
        "deep.json": '{"events":[{"mechanism":"gaussian","sigma":1,"count":10,"sensitivities":' + "[" * 100000 + "]" * 100000 + "}]}",
        "deep2.json": "[" * 1000000,
        "deep.toml": "a = " + "[" * 100000 + "]" * 100000 + "\n",
        "deep2.toml": "a = " + "{b = " * 20000 + "1" + "}" * 20000 + "\n",
        "deep3.toml": "[events]\n" + "x = " + "[" * 5000 + "]" * 5000 + "\n",
        "trailing.json": entries_json([g]) + " {}",
        "events_table.toml": '[events]\nmechanism="gaussian"\nsigma=1.0\ncount=10\n',
        "noop.json": '{"events":[{"mechanism":"no_op","count":10}]}',
        "upper.json": '{"events":[{"mechanism":"Gaussian","sigma":1,"count":10}]}',
        "underscore.json": '{"events":[{"mechanism":"subsampled_gaussian","sigma":1,"sampling_rate":0.01,"count":10}]}',
        "nested.json": '{"events":[{"mechanism":"gaussian","sigma":1,"count":10,"events":[{"mechanism":"gaussian","sigma":1,"count":10}]}]}',
        "dptype.json": '{"events":[{"type":"gaussian","sigma":1}]}',
    }
    for name, text in cases.items():
        p = write(name, text, binary=isinstance(text, bytes))
        for cmd in (["epsilon", "--delta", "1e-5", "--accountant", "contour"],
                    ["cumulants"]):
            res = run([cmd[0], "--events", p] + cmd[1:])
            generic_checks(log, res, what=f"events file {name} {cmd[0]}")
            log.check("events-file: rc is 0/1/2 with message", res["rc"] in (0, 1, 2),
                      f"{name} {cmd[0]}: rc {res['rc']} err {res['err'][:200]}", res)
            print(f"  {name:22s} {cmd[0]:9s} rc={res['rc']} t={res['time']} kb={res['kb']} "
                  f"{(res['err'] or res['out'])[:160]!r}", flush=True)
    # large list
    ents = [rand_entry() for _ in range(int(os.environ.get("HUGE", "3000")))]
    p = write("huge_list.json", entries_json(ents))
    for acct in ["rdp", "contour", "pld"]:
        res = run(["epsilon", "--events", p, "--delta", "1e-5", "--accountant", acct])
        generic_checks(log, res, what=f"huge list {acct}")
        print(f"  huge list {acct}: rc={res['rc']} t={res['time']} kb={res['kb']} {(res['err'] or res['out'])[:200]!r}")
    # calibrate --events should be refused cleanly
    p = write("cal.json", entries_json([g]))
    res = run(["calibrate", "--events", p, "--target-epsilon", "1", "--delta", "1e-5"])
    generic_checks(log, res, expect_rcs=(0, 2), what="calibrate --events")


# ----------------------------------------------------------------------------------------------
def part_cumulants():
    for i in range(N):
        sigma = rng.choice([lu(1e-3, 1e-1), lu(0.1, 10), lu(10, 1e6), 1e-300, 1e300, lu(1e100, 1e300)])
        steps = rng.choice([1, 7, 10 ** 6, 10 ** 15])
        prec = rng.choice([53, 64, 256, 1000])
        adj = rng.choice(["add-remove", "replace-one", "remove"])
        res = run(["cumulants", "--sigma", fmt(sigma), "--steps", steps, "--precision", prec,
                   "--adjacency", adj, "--format", "json"])
        generic_checks(log, res, what="cumulants gaussian")
        if res["rc"] != 0 or not res["json"]:
            print(f"  cumulants sigma={sigma} steps={steps} prec={prec}: rc {res['rc']} {res['err'][:200]!r}")
            continue
        s = sigma / 2 if adj == "replace-one" else sigma
        mu2 = mp.mpf(steps) / mp.mpf(s) ** 2
        exact = {1: mu2 / 2, 2: mu2}
        for o in res["json"]["orderings"]:
            for side in ("P", "Q"):
                for c in o[side]:
                    k = c["order"]
                    ex = exact.get(k, mp.mpf(0))
                    if k == 1:
                        ex = -ex if side == "P" else ex
                    lo = mp.mpf(c["lower_exact"]) if c.get("lower_exact") not in (None, "") else mp.mpf(c["lower"])
                    up = mp.mpf(c["upper_exact"]) if c.get("upper_exact") not in (None, "") else mp.mpf(c["upper"])
                    ok = lo <= ex <= up
                    log.check("WRONG-CERT: cumulant enclosure holds exact Gaussian value", ok,
                              f"sigma={sigma} steps={steps} prec={prec} adj={adj} {o['direction']} {side} k{k}: "
                              f"[{mp.nstr(lo, 20)}, {mp.nstr(up, 20)}] exact {mp.nstr(ex, 20)}", res)
    # other mechanisms, extreme parameters: only robustness
    specs = [
        ["--sigma", "1e-3", "--sampling-rate", "0.01"],
        ["--sigma", "0.01", "--sampling-rate", "1e-9"],
        ["--sigma", "1", "--sampling-rate", "1"],
        ["--sigma", "1", "--sampling-rate", "0.999999999"],
        ["--sigma", "1e6", "--sampling-rate", "0.5", "--steps", "1000000000000000"],
        ["--scale", "1e-300"], ["--scale", "1e300"], ["--scale", "1e-3", "--sampling-rate", "0.5"],
        ["--mechanism", "randomized-response", "--noise-parameter", "0", "--buckets", "2", "--adjacency", "replace-one"],
        ["--mechanism", "randomized-response", "--noise-parameter", "1", "--buckets", "2", "--adjacency", "replace-one"],
        ["--mechanism", "randomized-response", "--noise-parameter", "1e-300", "--buckets", "1000000000", "--adjacency", "replace-one"],
        ["--mechanism", "discrete-laplace", "--parameter", "1e-300"],
        ["--mechanism", "discrete-laplace", "--parameter", "700"],
        ["--mechanism", "discrete-gaussian", "--sigma", "1e-3"],
        ["--mechanism", "discrete-gaussian", "--sigma", "1e5"],
        ["--mechanism", "discrete-gaussian", "--sigma", "1", "--sensitivity", "1000000000"],
        ["--mechanism", "mixture-of-gaussians", "--sigma", "1e-3", "--sensitivities", "0,1,2", "--probabilities", "0.6,0.3,0.1"],
        ["--mechanism", "mixture-of-gaussians", "--sigma", "1", "--sensitivities", "0,1e6", "--probabilities", "0.5,0.5"],
        ["--mechanism", "gaussian", "--sampling", "without-replacement", "--dataset-size", "1000000000", "--batch-size", "1", "--sigma", "0.01", "--adjacency", "replace-one"],
        ["--mechanism", "gaussian", "--sampling", "truncated-poisson", "--dataset-size", "1000000000", "--sampling-rate", "0.5", "--max-batch-size", "10", "--sigma", "1"],
        ["--sigma", "1", "--max-order", "0"], ["--sigma", "1", "--max-order", "7"],
        ["--sigma", "1", "--precision", "0"], ["--sigma", "1", "--precision", "1"],
        ["--sigma", "1", "--precision", "100000000"], ["--sigma", "1", "--steps", "0"],
        ["--sigma", "nan"], ["--sigma", "-inf"], ["--sigma", "1", "--sampling-rate", "nan"],
    ]
    for s in specs:
        for f in (["--format", "json"], []):
            res = run(["cumulants"] + s + f)
            generic_checks(log, res, what="cumulants " + " ".join(s))
            print(f"  cumulants {' '.join(s)} {' '.join(f)}: rc={res['rc']} t={res['time']} kb={res['kb']} "
                  f"{(res['err'] or res['out'])[:160]!r}", flush=True)
    # edgeworth-bound
    eb = [
        ["--n", "1", "--k4", "1"], ["--n", "1000", "--k4", "1"], ["--n", "1e15", "--k4", "9"],
        ["--n", "1e300", "--k4", "9"], ["--n", "0", "--k4", "9"], ["--n", "0.5", "--k4", "9"],
        ["--n", "1000", "--k4", "0.99"], ["--n", "1000", "--k4", "1e300"], ["--n", "1000", "--k4", "inf"],
        ["--n", "1000", "--k4", "nan"], ["--n", "nan", "--k4", "9"], ["--n", "inf", "--k4", "9"],
        ["--n", "1000", "--k4", "9", "--eta", "0"], ["--n", "1000", "--k4", "9", "--eta", "0.3333333333"],
        ["--n", "1000", "--k4", "9", "--eta", "1e-300"], ["--n", "1000", "--k4", "9", "--eta", "nan"],
        ["--n", "1000", "--k4", "9", "--k3", "-1"], ["--n", "1000", "--k4", "9", "--k3", "100"],
        ["--n", "1000", "--k4", "9", "--k3", "1e300"], ["--n", "1000", "--k4", "9", "--lambda3", "-5"],
        ["--n", "1000", "--k4", "9", "--lambda3", "1e300"], ["--n", "1000", "--k4", "9", "--k3-tilde", "0"],
        ["--n", "1000", "--k4", "9", "--optimize-eta"], ["--n", "1e300", "--k4", "1e300", "--optimize-eta"],
        ["--n", "1", "--k4", "1", "--optimize-eta", "--inid"], ["--n", "1e15", "--k4", "9", "--inid", "--unskewed"],
        ["--n", "1e15", "--k4", "9", "--unskewed", "--optimize-eta"], ["--n", "2", "--k4", "1e300", "--inid"],
        ["--n", "1000", "--k4", "9", "--eta", "0.2", "--optimize-eta"],
        ["--n", "1000", "--k4", "9", "--unskewed", "--lambda3", "1"],
    ]
    for s in eb:
        for f in (["--format", "json"], []):
            res = run(["edgeworth-bound"] + s + f)
            generic_checks(log, res, what="edgeworth-bound " + " ".join(s))
            if res["rc"] == 0 and res["json"]:
                b = res["json"].get("bound")
                log.check("edgeworth-bound: bound is a number >= 0", isinstance(b, (int, float)) and b >= 0
                          or b == "inf", f"{' '.join(s)}: bound {b!r}", res)
            print(f"  edgeworth-bound {' '.join(s)} {' '.join(f)}: rc={res['rc']} "
                  f"{(res['err'] or res['out'])[:200]!r}", flush=True)


if __name__ == "__main__":
    if "cal" in PARTS:
        part_calibrate()
    if "events" in PARTS:
        part_events()
    if "cum" in PARTS:
        part_cumulants()
    log.summary()
    print(f"{len(log.defects)} failed checks; log {log.path}")
