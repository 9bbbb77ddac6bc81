#!/usr/bin/env python3
"""Copy criterion's estimates (target/criterion/**/new/) into results/bench/summary.csv.

Columns: group, function, parameter, full_id, mean_seconds, mean_lower_seconds,
mean_upper_seconds (95% CI), median_seconds, target_seconds, meets_target, nproc, cpu_model.
Usage: python3 experiments/bench/summarize.py [criterion_dir] [out_csv]
"""
import csv, json, os, pathlib, platform, sys

crit = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
out = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "results/bench/summary.csv")

# The core-issue targets (seconds).
TARGETS = {
    "targets/edgeworth_cached_epsilon": 20e-6,
    "targets/edgeworth_cold_epsilon_f64": 5e-3,
    "targets/certified_cumulants_256_both_sides": 0.2,
}

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"

nproc = os.cpu_count()
model = cpu_model()
rows = []
for bench in sorted(crit.glob("**/new/benchmark.json")):
    meta = json.loads(bench.read_text())
    est = json.loads((bench.parent / "estimates.json").read_text())
    mean = est["mean"]
    ns = 1e-9
    full = meta.get("full_id") or meta.get("title")
    target = TARGETS.get(full)
    rows.append({
        "group": meta.get("group_id", ""),
        "function": meta.get("function_id") or "",
        "parameter": meta.get("value_str") or "",
        "full_id": full,
        "mean_seconds": mean["point_estimate"] * ns,
        "mean_lower_seconds": mean["confidence_interval"]["lower_bound"] * ns,
        "mean_upper_seconds": mean["confidence_interval"]["upper_bound"] * ns,
        "median_seconds": est["median"]["point_estimate"] * ns,
        "target_seconds": "" if target is None else target,
        "meets_target": "" if target is None else str(mean["point_estimate"] * ns <= target).lower(),
        "nproc": nproc,
        "cpu_model": model,
    })
if not rows:
    sys.exit(f"no criterion results under {crit}")
def key(r):
    try:
        p = float(r["parameter"])
    except ValueError:
        p = 0.0
    return (r["group"], r["function"], p)
rows.sort(key=key)
out.parent.mkdir(parents=True, exist_ok=True)
with open(out, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    w.writeheader()
    w.writerows(rows)
print(f"{out}: {len(rows)} benchmarks on {nproc} CPUs ({model})")
for r in rows:
    if r["target_seconds"] != "":
        print(f"  {r['full_id']}: {r['mean_seconds']:.3g} s (target {r['target_seconds']} s) -> {r['meets_target']}")
