"""Shared harness for campaign-24: run ewtune one process at a time, under `timeout 90`,
`ulimit -v 6000000`, timed by /usr/bin/time; record every check to a JSONL log."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import mpmath as mp

EWTUNE = os.environ.get("EWTUNE", "/tmp/ewtune-24")
OUTDIR = os.path.dirname(os.path.abspath(__file__))
SLOW_S = 20.0

mp.mp.dps = 60


class Log:
    def __init__(self, name):
        self.path = os.path.join(OUTDIR, name)
        self.fh = open(self.path, "a")
        self.counts = {}
        self.defects = []

    def check(self, kind, ok, detail, res=None):
        c = self.counts.setdefault(kind, [0, 0])
        c[0 if ok else 1] += 1
        rec = {"kind": kind, "ok": bool(ok), "detail": detail}
        if res is not None:
            rec["cmd"] = res["cmdline"]
            rec["rc"] = res["rc"]
            rec["time"] = res["time"]
            rec["kb"] = res["kb"]
            rec["out"] = (res["out"][:400] + " | " + res["err"][:400]).strip()
        self.fh.write(json.dumps(rec) + "\n")
        self.fh.flush()
        if not ok:
            self.defects.append(rec)
            print("DEFECT", json.dumps(rec)[:1500], flush=True)

    def summary(self):
        print("\n== checks per kind (passed, failed) ==")
        for k, (p, f) in sorted(self.counts.items()):
            print(f"{k:40s} {p:5d} {f:5d}")


def run(args, timeout=90):
    """Run ewtune with args (list of str). Returns dict with rc, out, err, time, kb, json."""
    args = [str(a) for a in args]
    cmdline = "ewtune " + " ".join(args)
    tf = tempfile.NamedTemporaryFile(delete=False, suffix=".time")
    tf.close()
    sh = (
        f"ulimit -v 6000000; /usr/bin/time -o {tf.name} -f '%e %M' timeout {timeout} "
        + " ".join(_q(a) for a in [EWTUNE] + args)
    )
    t0 = time.time()
    p = subprocess.run(["bash", "-c", sh], capture_output=True)
    wall = time.time() - t0
    try:
        tl = open(tf.name).read().strip().splitlines()
        last = tl[-1].split()
        el, kb = float(last[0]), int(last[1])
    except Exception:
        el, kb = wall, -1
    os.unlink(tf.name)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    js = None
    if "--format" in args and "json" in args:
        try:
            js = json.loads(out)
        except Exception:
            js = None
    return {"rc": p.returncode, "out": out, "err": err, "time": el, "kb": kb, "json": js,
            "cmdline": cmdline}


def _q(a):
    if re.fullmatch(r"[A-Za-z0-9_./:=,+-]+", a):
        return a
    return "'" + a.replace("'", "'\\''") + "'"


def generic_checks(log, res, expect_rcs=(0, 1, 2), what=""):
    """Exit codes, panics, NaN/inf in text, time, memory, one JSON document."""
    rc = res["rc"]
    log.check("no-panic-abort", rc not in (101, 134, 139, 137) and "panicked" not in res["err"],
              f"{what}: rc={rc}", res)
    log.check("no-hang", rc != 124 and res["time"] <= SLOW_S, f"{what}: {res['time']} s", res)
    log.check("memory<2GB", res["kb"] < 2_000_000, f"{what}: {res['kb']} KB", res)
    log.check("rc-in-expected", rc in expect_rcs, f"{what}: rc={rc}, expected {expect_rcs}", res)
    if rc != 0:
        log.check("error-message-nonempty", res["err"].strip() != "", f"{what}", res)
    if "--format" in res["cmdline"] and " json" in res["cmdline"] and rc == 0:
        log.check("json-one-document", res["json"] is not None, f"{what}", res)
    if " json" not in res["cmdline"]:
        txt = res["out"]
        bad = re.search(r"(?<![A-Za-z])(inf|NaN|nan)(?![A-Za-z])", txt)
        log.check("text-no-inf-nan", bad is None, f"{what}: {bad.group(0) if bad else ''}", res)


def gauss_delta(eps, mu):
    eps = mp.mpf(eps)
    mu = mp.mpf(mu)
    return mp.ncdf(-eps / mu + mu / 2) - mp.exp(eps) * mp.ncdf(-eps / mu - mu / 2)


def gauss_eps(delta, mu):
    """Exact ε(δ) of the Gaussian with GDP parameter mu (add-remove, symmetric)."""
    delta = mp.mpf(delta)
    mu = mp.mpf(mu)
    if gauss_delta(0, mu) <= delta:
        return mp.mpf(0)
    lo, hi = mp.mpf(0), mp.mpf(1)
    while gauss_delta(hi, mu) > delta:
        hi *= 2
        if hi > 1e8:
            return mp.inf
    for _ in range(200):
        mid = (lo + hi) / 2
        if gauss_delta(mid, mu) > delta:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
