import sys; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
r = run(r'''
from statistics import NormalDist
A = ewtune.Accountant
for acc in ["gdp", "rdp", "pld", "contour", "saddlepoint", "edgeworth"]:
    for desc, ev in [("2^40 x 2^40 Gaussian(2^40)", SelfComposed(SelfComposed(Gaussian(2.0**40), 2**40), 2**40)),
                     ("2^64-1 Gaussian(2^32)", SelfComposed(Gaussian(2.0**32), 2**64-1)),
                     ("Composed 2x2^63 Gaussian(2^32)", Composed([SelfComposed(Gaussian(2.0**32), 2**63), SelfComposed(Gaussian(2.0**32), 2**63)])),
                     ("2^32 x 2^32 Gaussian(2^32)", SelfComposed(SelfComposed(Gaussian(2.0**32), 2**32), 2**32)),
                     ]:
        out(acc=acc, case=desc, r=tryit(lambda: A(acc).compose(ev).epsilon(1e-5)))
''', timeout=300)
print(r["rc"], r["secs"], r["stderr"][-1500:])
for o in r["out"]: print(o["acc"], o["case"], "->", o["r"][:2] if o["r"][0]!="ok" else o["r"][1][:400])
