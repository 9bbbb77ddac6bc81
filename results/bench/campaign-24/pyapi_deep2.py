import sys; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
def t(depth, call):
    r = run(f'''
ev = {{"type": "gaussian", "sigma": 1.0}}
for _ in range({depth}): ev = {{"type": "self_composed", "count": 1, "event": ev}}
acc = ewtune.Accountant("contour")
out(r=tryit(lambda: {call}))
''', timeout=90)
    return r["rc"], r["out"], r["stderr"][-200:]
for call in ["acc.supports(ev)", "acc.compose(ev) and 1", "acc.compose(ev).epsilon(1e-5).epsilon"]:
    lo, hi = 1000, 20000
    while hi - lo > 500:
        m = (lo + hi) // 2
        rc = t(m, call)[0]
        if rc == 0: lo = m
        else: hi = m
    print(call, "ok at", lo, "crash at", hi, t(hi, call), flush=True)
