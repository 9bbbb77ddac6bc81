import sys, json; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
r = run(r'''
import mpmath as mp, dp_accounting as dpa
from dp_accounting import dp_event as E
from dp_accounting.pld import pld_privacy_accountant as pldm
from dp_accounting.rdp import rdp_privacy_accountant as rdpm
import ewtune.dp_accounting as ewd
mp.mp.dps = 50
def dgauss(mu, e):
    mu, e = mp.mpf(mu), mp.mpf(e)
    return mp.ncdf(-e/mu + mu/2) - mp.e**e * mp.ncdf(-e/mu - mu/2)
def egauss(mu, d):
    f = lambda e: dgauss(mu, e) - d
    if f(0) <= 0: return 0.0
    lo, hi = mp.mpf(0), mp.mpf(1)
    while f(hi) > 0: hi *= 2
    for _ in range(200):
        m = (lo+hi)/2
        if f(m) > 0: lo = m
        else: hi = m
    return hi
for ev, name in [(dpa.SelfComposedDpEvent(E.DiscreteLaplaceDpEvent(0.5, 2), 20), "DL"),
                 (dpa.SelfComposedDpEvent(E.MixtureOfGaussiansDpEvent(1.0, [0.0,1.0,2.0], [0.5,0.3,0.2]), 50), "MoG")]:
    for C in [ewd.ContourAccountant, ewd.PldAccountant, ewd.SaddlePointAccountant, ewd.RdpAccountant]:
        def f():
            a = C()
            if not a.supports(ev): return "unsupported"
            a.compose(ev); return a.bracket(1e-5), a.get_epsilon(1e-5)
        out(case=name, who=C._kind, r=tryit(f))
    def g():
        a = pldm.PLDAccountant(value_discretization_interval=1e-4)
        if not a.supports(ev): return "unsupported"
        a.compose(ev); return a.get_epsilon(1e-5)
    out(case=name, who="dpa-pld", r=tryit(g))
    def h():
        a = rdpm.RdpAccountant()
        if not a.supports(ev): return "unsupported"
        a.compose(ev); return a.get_epsilon(1e-5)
    out(case=name, who="dpa-rdp", r=tryit(h))
# closed form checks: epsilon and delta brackets
fails = 0; checks = 0
for sigma, k in [(1.0,1),(0.2,1),(10.0,100),(3.0,7),(0.05,1),(50.0,1),(1.0,10000)]:
    mu = mp.sqrt(k)/sigma
    for d in [1e-3, 1e-5, 1e-10, 1e-30, 1e-100]:
        ref = egauss(mu, d)
        for acc in ["contour", "pld", "saddlepoint", "rdp", "edgeworth", "gdp"]:
            try:
                r = ewtune.epsilon(d, SelfComposed(Gaussian(sigma), k), accountant=acc)
            except Exception as e:
                out(kind="eps", sigma=sigma, k=k, d=d, acc=acc, err=type(e).__name__+": "+str(e)[:150]); continue
            lo = r.lower if r.lower is not None else -1e300
            hi = r.upper if r.upper is not None else 1e300
            checks += 1
            ok = (lo <= ref * (1+1e-14) + 1e-300) and (hi >= ref * (1-1e-14))
            if r.guarantee == "exact": ok = ok and abs(r.epsilon - float(ref)) <= 1e-9*float(ref) + 1e-300
            if not ok:
                fails += 1; out(kind="eps", sigma=sigma, k=k, d=d, acc=acc, ref=float(ref), lo=r.lower, hi=r.upper, g=r.guarantee, e=r.epsilon)
    for e in [0.0, 0.5, 2.0, 10.0, 40.0]:
        ref = dgauss(mu, e)
        for acc in ["contour", "pld", "saddlepoint", "rdp", "edgeworth", "gdp"]:
            try:
                r = ewtune.delta(e, SelfComposed(Gaussian(sigma), k), accountant=acc)
            except Exception as ex:
                out(kind="delta", sigma=sigma, k=k, e=e, acc=acc, err=type(ex).__name__+": "+str(ex)[:150]); continue
            lo = r.lower if r.lower is not None else -1
            hi = r.upper if r.upper is not None else 2
            checks += 1
            ok = (lo <= ref * (1+1e-12)) and (hi >= ref * (1-1e-12))
            if r.guarantee == "exact": ok = ok and abs(r.delta - float(ref)) <= 1e-9*float(ref) + 1e-300
            if not ok:
                fails += 1; out(kind="delta", sigma=sigma, k=k, e=e, acc=acc, ref=float(ref), lo=r.lower, hi=r.upper, g=r.guarantee, d=r.delta)
out(summary=True, checks=checks, fails=fails)
''', timeout=500)
print(r["rc"], r["secs"], r["stderr"][-1500:])
for o in r["out"]: print(o)
