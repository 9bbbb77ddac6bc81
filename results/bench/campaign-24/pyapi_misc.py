import sys; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
r = run(r'''
import time
for q in [1e-4, 1e-6, 1e-8, 1e-10]:
    for T in [10, 1000, 100000]:
        t = time.time()
        out(case=f"contour q={q} T={T} sigma=1", r=tryit(lambda: ewtune.epsilon(1e-5, sigma=1.0, sampling_rate=q, steps=T).bracket), t=round(time.time()-t,2))
out(case="pld tol 1e-300 full msg", r=tryit(lambda: ewtune.Accountant("pld", tolerance=1e-300)))
out(case="rdp delta(40) sigma=1", r=tryit(lambda: [ewtune.delta(40.0, sigma=1.0, accountant=a).bracket for a in ["rdp","contour","pld","saddlepoint"]]))
out(case="order=True", r=tryit(lambda: ewtune.Accountant("edgeworth", order=True).compose(Gaussian(1.0)).epsilon(1e-5).order))
out(case="edgeworth TSG single step report", r=tryit(lambda: (lambda r: (r.epsilon, r.valid, r.guarantee, r.notes[:2]))(ewtune.Accountant("edgeworth").compose(TruncatedSubsampledGaussian(1000, 0.01, 15, 1.0)).epsilon(1e-5))))
''', timeout=300)
print(r["rc"], r["secs"], r["stderr"][-500:])
for o in r["out"]: print(o.get("case"), o.get("t"), "->", str(o["r"])[:700])
