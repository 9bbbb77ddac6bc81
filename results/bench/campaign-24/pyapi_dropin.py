import sys, json; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
r = run(r'''
import numpy as np, dp_accounting as dpa
from dp_accounting import dp_event as E
from dp_accounting.pld import pld_privacy_accountant as pldm
from dp_accounting.rdp import rdp_privacy_accountant as rdpm
from dp_accounting.privacy_accountant import NeighboringRelation as NR
import ewtune.dp_accounting as ewd
G, L, PS, SC = E.GaussianDpEvent, E.LaplaceDpEvent, E.PoissonSampledDpEvent, E.SelfComposedDpEvent
EVENTS = {
 "G(1)": G(1.0), "G(0)": G(0.0), "L(1)": L(1.0), "L(0)": L(0.0),
 "PS(0.01,G(1))": PS(0.01, G(1.0)), "PS(0,G(1))": PS(0.0, G(1.0)), "PS(1,G(1))": PS(1.0, G(1.0)),
 "PS(0.1,G(0))": PS(0.1, G(0.0)), "PS(0.1,L(1))": PS(0.1, L(1.0)), "PS(0,L(1))": PS(0.0, L(1.0)),
 "PS(0.1,NoOp)": PS(0.1, E.NoOpDpEvent()), "PS(0.1,Composed[G])": PS(0.1, E.ComposedDpEvent([G(1.0)])),
 "SC(G(1),0)": SC(G(1.0), 0), "SC(G,np.int64)": SC(G(1.0), np.int64(5)),
 "Composed[]": E.ComposedDpEvent([]), "NoOp": E.NoOpDpEvent(), "NonPrivate": E.NonPrivateDpEvent(),
 "Unsupported": E.UnsupportedDpEvent(), "SC(Unsupported)": SC(E.UnsupportedDpEvent(), 3),
 "Composed[G,Unsupported]": E.ComposedDpEvent([G(1.0), E.UnsupportedDpEvent()]),
 "RR(0.5,4)": E.RandomizedResponseDpEvent(0.5, 4), "RR(0,4)": E.RandomizedResponseDpEvent(0.0, 4),
 "RR(0,1)": E.RandomizedResponseDpEvent(0.0, 1), "RR(1,4)": E.RandomizedResponseDpEvent(1.0, 4),
 "DL(0.5,2)": E.DiscreteLaplaceDpEvent(0.5, 2), "DL(0,1)": E.DiscreteLaplaceDpEvent(0.0, 1),
 "MoG": E.MixtureOfGaussiansDpEvent(1.0, [0.0, 1.0], [0.5, 0.5]), "MoG[0]": E.MixtureOfGaussiansDpEvent(1.0, [0.0], [1.0]),
 "MoG sd0": E.MixtureOfGaussiansDpEvent(0.0, [0.0, 1.0], [0.5, 0.5]),
 "SWR(100,10,G(2))": E.SampledWithoutReplacementDpEvent(100, 10, G(2.0)), "SWR(100,10,NoOp)": E.SampledWithoutReplacementDpEvent(100, 10, E.NoOpDpEvent()),
 "SWR(100,0,G(2))": E.SampledWithoutReplacementDpEvent(100, 0, G(2.0)),
 "TSG(1000,.01,15,1)": E.TruncatedSubsampledGaussianDpEvent(1000, 0.01, 15, 1.0),
 "TSG q0": E.TruncatedSubsampledGaussianDpEvent(1000, 0.0, 15, 1.0), "TSG sigma0": E.TruncatedSubsampledGaussianDpEvent(1000, 0.01, 15, 0.0),
 "TSG B0": E.TruncatedSubsampledGaussianDpEvent(1000, 0.01, 0, 1.0),
 "ZCDp": E.ZCDpEvent(0.1, 0.0) if hasattr(E, "ZCDpEvent") else E.UnsupportedDpEvent(),
 "SingleEpochTreeAgg": E.SingleEpochTreeAggregationDpEvent(1.0, 4) if hasattr(E, "SingleEpochTreeAggregationDpEvent") else E.UnsupportedDpEvent(),
 "RepeatAndSelect": E.RepeatAndSelectDpEvent(G(1.0), 2.0, 1.0) if hasattr(E, "RepeatAndSelectDpEvent") else E.UnsupportedDpEvent(),
}
def probe(acc_factory, ev):
    a = acc_factory()
    try: s = a.supports(ev)
    except BaseException as e: s = ("RAISE", type(e).__module__ + "." + type(e).__name__, str(e)[:160])
    a = acc_factory()
    try:
        a.compose(ev)
        c = ("ok", [float(a.get_epsilon(1e-5)), float(a.get_delta(1.0))])
    except BaseException as e:
        c = ("RAISE", type(e).__module__ + "." + type(e).__name__, str(e)[:160])
    return s, c
for rel in [NR.ADD_OR_REMOVE_ONE, NR.REPLACE_ONE]:
    for name, ev in EVENTS.items():
        ref = {}
        ref["dpa-pld"] = probe(lambda: pldm.PLDAccountant(rel, value_discretization_interval=1e-3), ev)
        ref["dpa-rdp"] = probe(lambda: rdpm.RdpAccountant(neighboring_relation=rel), ev)
        for C in [ewd.ContourAccountant, ewd.PldAccountant, ewd.SaddlePointAccountant, ewd.RdpAccountant, ewd.EdgeworthAccountant, ewd.GdpAccountant]:
            ref["ew-"+C._kind] = probe(lambda: C(rel), ev)
        out(rel=rel.name, ev=name, res=ref)
''', timeout=500)
print(r["rc"], r["secs"], r["stderr"][-1500:])
json.dump(r["out"], open("/tmp/pyapi/dropin.json", "w"), indent=1)
for o in r["out"]:
    print("==", o["rel"], o["ev"])
    for k, (s, c) in o["res"].items():
        print(f"   {k:15s} supports={s!s:8.120s} compose={c!s:.230s}")
