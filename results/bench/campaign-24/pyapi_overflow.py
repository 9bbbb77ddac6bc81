import sys; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
r = run(r'''
from dp_accounting import dp_event as E
from dp_accounting.privacy_accountant import NeighboringRelation as NR
import ewtune.dp_accounting as ewd
C = {}
for name, ev, rel in [("Laplace(1e-320)", E.LaplaceDpEvent(1e-320), NR.ADD_OR_REMOVE_ONE),
                 ("Laplace(1e-300)", E.LaplaceDpEvent(1e-300), NR.ADD_OR_REMOVE_ONE),
                 ("DL(1e308, 1e6)", E.DiscreteLaplaceDpEvent(1e308, 10**6), NR.ADD_OR_REMOVE_ONE),
                 ("DL(1e300, 1)", E.DiscreteLaplaceDpEvent(1e300, 1), NR.ADD_OR_REMOVE_ONE),
                 ("PS(0.5, Laplace(1e-320))", E.PoissonSampledDpEvent(0.5, E.LaplaceDpEvent(1e-320)), NR.ADD_OR_REMOVE_ONE),
                 ("RR(1e-320, 4)", E.RandomizedResponseDpEvent(1e-320, 4), NR.REPLACE_ONE),
                 ("RR(5e-324, 2**52)", E.RandomizedResponseDpEvent(5e-324, 2**52), NR.REPLACE_ONE)]:
    for acc in [ewd.ContourAccountant, ewd.RdpAccountant]:
        def mk(): return acc(rel).compose(ev)
        C[f"{acc._kind} {name} compose"] = tryit(lambda: mk() and "ok")
        C[f"{acc._kind} {name} get_epsilon(0)"] = tryit(lambda: mk().get_epsilon(0))
        C[f"{acc._kind} {name} get_epsilon(1e-5)"] = tryit(lambda: mk().get_epsilon(1e-5))
        C[f"{acc._kind} {name} get_delta(5)"] = tryit(lambda: mk().get_delta(5.0))
for k, v in C.items(): out(case=k, r=v)
''', timeout=200)
print(r["rc"], r["secs"], r["stderr"][-800:])
for o in r["out"]: print(o["case"], "->", str(o["r"])[:250])
