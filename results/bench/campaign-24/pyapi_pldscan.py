import sys; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
r = run(r'''
import math
from statistics import NormalDist
import dp_accounting as dpa, ewtune.dp_accounting as ewd
out(case="dropin PldAccountant PS(0.5, Laplace(5e-4))", r=tryit(lambda: ewd.PldAccountant().compose(dpa.PoissonSampledDpEvent(0.5, dpa.LaplaceDpEvent(5e-4))).bracket(1e-5)), truth_ge=1999.3)
cases = []
for a in [100.0, 1000.0, 5000.0]:
    cases.append((f"DL a={a}", DiscreteLaplace(a), "add-remove", a))  # eps(1e-5) ~ a (mass at max loss ~ 1)
for p in [1e-10, 1e-100, 1e-300]:
    cases.append((f"RR p={p} k=4", RandomizedResponse(p, 4), "replace-one", math.log1p(4*(1-p)/p)))
for b in [1e-4, 1e-6]:
    cases.append((f"Laplace b={b}", Laplace(b), "add-remove", 1/b))
for s in [1e-2, 1e-3]:
    mu = 1/s; cases.append((f"Gaussian sigma={s}", Gaussian(s), "add-remove", mu*mu/2 + mu*NormalDist().inv_cdf(1-1e-5)*0.999))
for s in [1e-2, 1e-3]:
    cases.append((f"MoG sigma={s}", MixtureOfGaussians(s, [0.0, 1.0], [0.5, 0.5]), "add-remove", None))
    cases.append((f"PS(0.5,Gaussian sigma={s})", PoissonSampled(0.5, Gaussian(s)), "add-remove", None))
    cases.append((f"DiscreteGaussian sigma={s}", DiscreteGaussian(s), "add-remove", None))
for name, ev, adj, approx in cases:
    row = {}
    for acc in ["pld", "rdp", "contour"]:
        x = tryit(lambda: ewtune.epsilon(1e-5, ev, accountant=acc, adjacency=adj).bracket)
        row[acc] = x[1] if x[0] == "ok" else x[0]
    out(case=name, approx_truth=approx, row=row)
''', timeout=400)
print(r["rc"], r["secs"], r["stderr"][-500:])
for o in r["out"]: print(o)
