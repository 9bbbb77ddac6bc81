"""Time `epsilon --events` (rdp/pld) vs the number of distinct entries, per mechanism type."""
import json, os, random, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from c24_harness import run
rng = random.Random(7)
D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tmp_events")
os.makedirs(D, exist_ok=True)
def ent(kind):
    if kind == "gaussian": return {"mechanism": kind, "sigma": rng.uniform(1, 20), "count": 10}
    if kind == "subsampled-gaussian": return {"mechanism": kind, "sigma": rng.uniform(0.6, 5), "sampling_rate": rng.uniform(1e-3, 0.2), "count": 10}
    if kind == "laplace": return {"mechanism": kind, "scale": rng.uniform(1, 50), "count": 10}
    if kind == "subsampled-laplace": return {"mechanism": kind, "scale": rng.uniform(0.5, 10), "sampling_rate": rng.uniform(0.01, 0.2), "count": 10}
    if kind == "discrete-gaussian": return {"mechanism": kind, "sigma": rng.uniform(1, 10), "sensitivity": 1, "count": 10}
    if kind == "discrete-laplace": return {"mechanism": kind, "parameter": rng.uniform(0.05, 1), "sensitivity": 1, "count": 10}
    return {"mechanism": kind, "sigma": rng.uniform(1, 5), "sensitivities": [0.0, 1.0, 2.0], "probabilities": [0.6, 0.3, 0.1], "count": 10}
kinds = sys.argv[1].split(",")
accts = sys.argv[2].split(",")
for n in [int(x) for x in sys.argv[3].split(",")]:
    ents = [ent(rng.choice(kinds)) for _ in range(n)]
    p = os.path.join(D, f"scale_{'_'.join(kinds)}_{n}.json")
    json.dump({"events": ents}, open(p, "w"))
    for a in accts:
        r = run(["epsilon", "--events", p, "--delta", "1e-5", "--accountant", a], timeout=60)
        print(kinds, n, a, r["rc"], r["time"], r["kb"], (r["err"] or r["out"]).replace("\n", " ")[:150], flush=True)
