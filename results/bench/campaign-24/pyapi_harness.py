"""Subprocess harness (python_api campaign): run a snippet with a timeout and RLIMIT_AS 6e9."""
import json, os, resource, subprocess, sys, time
PY = "/tmp/ci/.venv/bin/python"
PRE = r'''
import math, json, sys
import ewtune
from ewtune import *
def out(**kw): print("@@" + json.dumps(kw, default=repr), flush=True)
def tryit(f):
    try:
        v = f()
        return ("ok", repr(v))
    except BaseException as e:
        return (type(e).__name__, str(e)[:300], getattr(e, "parameter", None))
'''
def _limit():
    resource.setrlimit(resource.RLIMIT_AS, (int(6e9), int(6e9)))

def run(code, timeout=90):
    t = time.time()
    try:
        p = subprocess.run([PY, "-c", PRE + code], capture_output=True, text=True,
                           timeout=timeout, preexec_fn=_limit)
        rc, so, se = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        so = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        rc, se = "TIMEOUT", ""
    dt = time.time() - t
    res = [json.loads(l[2:]) for l in so.splitlines() if l.startswith("@@")]
    return {"rc": rc, "secs": round(dt, 2), "out": res, "stdout": so[-2000:], "stderr": se[-2000:]}
