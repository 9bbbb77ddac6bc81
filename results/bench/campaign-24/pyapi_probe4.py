import sys; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
r = run(r'''
import mpmath as mp
mp.mp.dps = 50
def eps_gauss(mu, delta):
    mu = mp.mpf(mu)
    f = lambda e: mp.ncdf(-e/mu + mu/2) - mp.e**e * mp.ncdf(-e/mu - mu/2) - delta
    if f(0) <= 0: return 0.0
    lo, hi = mp.mpf(0), mp.mpf(1)
    while f(hi) > 0: hi *= 2
    for _ in range(200):
        m = (lo+hi)/2
        if f(m) > 0: lo = m
        else: hi = m
    return float(hi)
A = ewtune.Accountant
out(ref_mu1=eps_gauss(1, 1e-5), ref_mu_sat=eps_gauss(mp.sqrt(2**64-1)/2**40, 1e-5), ref_mu_sqrt15=eps_gauss(mp.sqrt(1.5), 1e-5))
for acc in ["pld", "saddlepoint", "rdp", "gdp"]:
    a = A(acc).compose(SelfComposed(Gaussian(2.0**40), 2**40), count=2**40)
    r = a.epsilon(1e-5); out(acc=acc, case="compose(SelfComposed(G(2^40),2^40), count=2^40)", eps=r.epsilon, br=r.bracket, g=r.guarantee)
    a = A(acc)
    for _ in range(3): a.compose(Gaussian(2.0**32), count=2**63)
    r = a.epsilon(1e-5); out(acc=acc, case="3x compose(G(2^32), 2^63)", eps=r.epsilon, br=r.bracket, g=r.guarantee)
import dp_accounting as dpa
from ewtune.dp_accounting import PldAccountant, SaddlePointAccountant, RdpAccountant
ev = dpa.SelfComposedDpEvent(dpa.SelfComposedDpEvent(dpa.GaussianDpEvent(2.0**40), 2**40), 2**40)
for C in [PldAccountant, SaddlePointAccountant, RdpAccountant]:
    out(acc="dpa-"+C.__name__, case="nested SelfComposedDpEvent 2^80 G(2^40)", r=tryit(lambda: C().compose(ev).get_epsilon(1e-5)))
''', timeout=200)
print(r["rc"], r["secs"], r["stderr"][-1500:])
for o in r["out"]: print(o)
