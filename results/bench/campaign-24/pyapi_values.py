"""Value comparisons: ewtune drop-in + native vs CLI vs dp_accounting PLD(1e-4, pessimistic) / RDP vs closed form."""
import sys, json, subprocess; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
CONFIGS = [
 # name, dpa-event-expr, relation, deltas, cli-args
 ("dpsgd s0.8 q0.01 T1000", "SC(PS(0.01, G(0.8)), 1000)", "AR", [1e-5], "--sigma 0.8 --sampling-rate 0.01 --steps 1000"),
 ("dpsgd s1.1 q0.004 T10000", "SC(PS(0.004, G(1.1)), 10000)", "AR", [1e-6], "--sigma 1.1 --sampling-rate 0.004 --steps 10000"),
 ("dpsgd s2 q0.1 T100", "SC(PS(0.1, G(2.0)), 100)", "AR", [1e-5], "--sigma 2.0 --sampling-rate 0.1 --steps 100"),
 ("dpsgd s0.6 q0.002 T3000", "SC(PS(0.002, G(0.6)), 3000)", "AR", [1e-5], "--sigma 0.6 --sampling-rate 0.002 --steps 3000"),
 ("gauss s1 k1", "G(1.0)", "AR", [1e-5, 1e-10], "--mechanism gaussian --sigma 1.0"),
 ("gauss s10 k100", "SC(G(10.0), 100)", "AR", [1e-5], "--mechanism gaussian --sigma 10.0 --steps 100"),
 ("gauss s0.2 k1", "G(0.2)", "AR", [1e-5], "--mechanism gaussian --sigma 0.2"),
 ("gauss s2 replace-one", "G(2.0)", "RO", [1e-5], "--mechanism gaussian --sigma 2.0 --adjacency replace-one"),
 ("laplace b1 k10", "SC(L(1.0), 10)", "AR", [1e-5], "--mechanism laplace --scale 1.0 --steps 10"),
 ("ps-laplace q0.05 b0.5 k100", "SC(PS(0.05, L(0.5)), 100)", "AR", [1e-5], "--mechanism subsampled-laplace --scale 0.5 --sampling-rate 0.05 --steps 100"),
 ("RR p0.5 k4 T10", "SC(dpa.RandomizedResponseDpEvent(0.5, 4), 10)", "RO", [1e-5], "--mechanism randomized-response --noise-parameter 0.5 --buckets 4 --steps 10 --adjacency replace-one"),
 ("DL a0.5 s2 T20", "SC(dpa.DiscreteLaplaceDpEvent(0.5, 2), 20)", "AR", [1e-5], "--mechanism discrete-laplace --parameter 0.5 --sensitivity 2 --steps 20"),
 ("MoG s1 T50", "SC(dpa.MixtureOfGaussiansDpEvent(1.0, [0.0,1.0,2.0], [0.5,0.3,0.2]), 50)", "AR", [1e-5], "--mechanism mixture-of-gaussians --sigma 1.0 --sensitivities 0,1,2 --probabilities 0.5,0.3,0.2 --steps 50"),
 ("PS-gauss replace-one q0.01 s1 T500", "SC(PS(0.01, G(1.0)), 500)", "RO", [1e-5], "--sigma 1.0 --sampling-rate 0.01 --steps 500 --adjacency replace-one"),
 ("TSG n1000 q0.01 B15 s1 T500", "SC(dpa.TruncatedSubsampledGaussianDpEvent(1000, 0.01, 15, 1.0), 500)", "AR", [1e-5], "--sampling truncated-poisson --sigma 1.0 --sampling-rate 0.01 --dataset-size 1000 --max-batch-size 15 --steps 500"),
 ("SWR n1000 b10 s2 T500", "SC(dpa.SampledWithoutReplacementDpEvent(1000, 10, G(2.0)), 500)", "RO", [1e-5], "--sampling without-replacement --sigma 2.0 --dataset-size 1000 --batch-size 10 --steps 500 --adjacency replace-one"),
 ("composed mix", "dpa.ComposedDpEvent([SC(PS(0.01, G(1.0)), 300), G(5.0), SC(L(20.0), 3)])", "AR", [1e-5], None),
]
CODE = r'''
import dp_accounting as dpa, time
from dp_accounting.pld import pld_privacy_accountant as pldm
from dp_accounting.rdp import rdp_privacy_accountant as rdpm
from dp_accounting.privacy_accountant import NeighboringRelation as NR
import ewtune.dp_accounting as ewd
G, L, PS, SC = dpa.GaussianDpEvent, dpa.LaplaceDpEvent, dpa.PoissonSampledDpEvent, dpa.SelfComposedDpEvent
ev = EVENT
rel = NR.ADD_OR_REMOVE_ONE if "REL" == "AR" else NR.REPLACE_ONE
for delta in DELTAS:
    for C in [ewd.ContourAccountant, ewd.PldAccountant, ewd.SaddlePointAccountant, ewd.RdpAccountant, ewd.EdgeworthAccountant, ewd.GdpAccountant]:
        t = time.time()
        def f():
            a = C(rel); 
            if not a.supports(ev): return ("unsupported",)
            a.compose(ev); r = a.report(delta)
            return (r.epsilon, r.lower, r.upper, r.guarantee, a.get_epsilon(delta))
        out(who="ew-"+C._kind, delta=delta, r=tryit(f), t=time.time()-t)
    t = time.time()
    def g():
        a = pldm.PLDAccountant(rel, value_discretization_interval=1e-4)
        if not a.supports(ev): return "unsupported"
        a.compose(ev); return a.get_epsilon(delta)
    out(who="dpa-pld", delta=delta, r=tryit(g), t=time.time()-t)
    t = time.time()
    def h():
        a = rdpm.RdpAccountant(neighboring_relation=rel)
        if not a.supports(ev): return "unsupported"
        a.compose(ev); return a.get_epsilon(delta)
    out(who="dpa-rdp", delta=delta, r=tryit(h), t=time.time()-t)
'''
results = []
for name, evexpr, rel, deltas, cli in CONFIGS:
    code = CODE.replace("EVENT", evexpr).replace("REL", rel).replace("DELTAS", repr(deltas))
    r = run(code, timeout=180)
    row = {"name": name, "rc": r["rc"], "secs": r["secs"], "out": r["out"], "stderr": r["stderr"][-500:], "cli": {}}
    if cli:
        for d in deltas:
            for acc in ["contour", "pld", "saddlepoint", "rdp"]:
                try:
                    p = subprocess.run(f"/tmp/ewtune-24 epsilon {cli} --delta {d} --accountant {acc} --format json".split(),
                                       capture_output=True, text=True, timeout=90)
                    j = json.loads(p.stdout) if p.returncode == 0 else {"err": p.stderr.strip()[-300:]}
                except Exception as e:
                    j = {"err": repr(e)}
                row["cli"][f"{acc}@{d}"] = j
    results.append(row)
    print(name, r["rc"], r["secs"], flush=True)
json.dump(results, open("/tmp/pyapi/values.json", "w"), indent=1)
