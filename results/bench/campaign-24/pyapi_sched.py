import sys; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
for n, kind in [(1000, "ContourAccountant"), (5000, "ContourAccountant"), (1000, "PldAccountant"), (1000, "SaddlePointAccountant"), (1000, "RdpAccountant")]:
    r = run(f'''
import time, ewtune.opacus as ewo
a = getattr(ewo, "{kind}")()
for i in range({n}): a.step(noise_multiplier=1.0 + 0.5 * i / {n}, sample_rate=0.01)
t = time.time()
out(r=tryit(lambda: a.get_bracket(1e-5)), t=round(time.time()-t, 2))
''', timeout=120)
    print(n, kind, r["rc"], r["secs"], r["out"], r["stderr"][-300:], flush=True)
