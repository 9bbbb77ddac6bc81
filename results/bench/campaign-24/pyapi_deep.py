import sys; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
for depth in [1000, 20000, 200000]:
    r = run(f'''
import time
ev = {{"type": "gaussian", "sigma": 1.0}}
for _ in range({depth}): ev = {{"type": "self_composed", "count": 1, "event": ev}}
t = time.time()
out(case="deep dict self_composed depth {depth}", r=tryit(lambda: ewtune.Accountant("contour").compose(ev).epsilon(1e-5).epsilon), t=time.time()-t)
''', timeout=90)
    print(depth, r["rc"], r["secs"], r["out"], r["stderr"][-400:], flush=True)
for depth in [1000, 20000, 200000]:
    r = run(f'''
import time
ev = {{"type": "gaussian", "sigma": 1.0}}
for _ in range({depth}): ev = {{"type": "composed", "events": [ev]}}
t = time.time()
out(case="deep dict composed depth {depth}", r=tryit(lambda: ewtune.Accountant("pld").compose(ev).epsilon(1e-5).epsilon), t=time.time()-t)
''', timeout=90)
    print(depth, r["rc"], r["secs"], r["out"], r["stderr"][-400:], flush=True)
r = run('''
ev = Gaussian(1.0)
for _ in range(5000): ev = SelfComposed(ev, 1)
out(case="deep ewtune objects 5000", r=tryit(lambda: ewtune.Accountant().compose(ev).epsilon(1e-5).epsilon))
import dp_accounting as dpa
import ewtune.dp_accounting as ewd
e = dpa.GaussianDpEvent(1.0)
for _ in range(5000): e = dpa.SelfComposedDpEvent(e, 1)
out(case="deep dpa 5000", r=tryit(lambda: ewd.ContourAccountant().compose(e).get_epsilon(1e-5)))
''', timeout=90)
print(r["rc"], r["secs"], r["out"], r["stderr"][-400:], flush=True)
