import sys; sys.path.insert(0, ".")
sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
r = run(r'''
vals = [float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 1e308, 5e-324, 1e-320, "0.5", None, True, 2**70, [], 1]
for v in vals:
    out(case=f"epsilon(delta={v!r}) sigma=1", r=tryit(lambda: ewtune.epsilon(v, sigma=1.0).epsilon))
    out(case=f"epsilon(1e-5, sigma={v!r})", r=tryit(lambda: ewtune.epsilon(1e-5, sigma=v).upper))
    out(case=f"epsilon(1e-5, sigma=1, q={v!r}, steps=10)", r=tryit(lambda: ewtune.epsilon(1e-5, sigma=1.0, sampling_rate=v, steps=10).upper))
    out(case=f"epsilon(1e-5, sigma=1, q=.01, steps={v!r})", r=tryit(lambda: ewtune.epsilon(1e-5, sigma=1.0, sampling_rate=0.01, steps=v).upper))
    out(case=f"delta(eps={v!r}) sigma=1", r=tryit(lambda: ewtune.delta(v, sigma=1.0).upper))
''', timeout=300)
print(r["rc"], r["secs"], r["stderr"][-1500:])
for o in r["out"]: print(o["case"], "->", o["r"])
