#!/usr/bin/env python3
"""Time dp_accounting's PLD against `ewtune epsilon --accountant pld` on the same settings,
in one run on one machine. Writes results/pld-vs-dp-accounting/results.csv and
metadata.json. dp_accounting is optional: without it only ewtune is timed.

Usage (from the repository root, after `cargo build --release`):
    python3 experiments/pld-vs-dp-accounting/run.py [--ewtune target/release/ewtune]
"""
import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "results", "pld-vs-dp-accounting")


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_ewtune(exe, s):
    cmd = [exe, "epsilon", "--accountant", "pld", "--mechanism", "subsampled-gaussian",
           "--sigma", str(s["sigma"]), "--sampling-rate", str(s["sampling_rate"]),
           "--steps", str(s["steps"]), "--delta", str(s["delta"]), "--precision", "53",
           "--format", "json"]
    c0, t0 = child_cpu(), time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall, cpu = time.perf_counter() - t0, child_cpu() - c0
    r = json.loads(out)
    return r, wall, cpu, " ".join(cmd)


def run_dp_accounting(s, interval):
    import dp_accounting
    from dp_accounting.pld import pld_privacy_accountant
    c0, t0 = time.process_time(), time.perf_counter()
    acc = pld_privacy_accountant.PLDAccountant(
        dp_accounting.NeighboringRelation.ADD_OR_REMOVE_ONE,
        value_discretization_interval=interval)
    ev = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(
            s["sampling_rate"], dp_accounting.GaussianDpEvent(s["sigma"])), s["steps"])
    acc.compose(ev)
    eps = acc.get_epsilon(s["delta"])
    return eps, time.perf_counter() - t0, time.process_time() - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ewtune", default=os.path.join(ROOT, "target", "release", "ewtune"))
    ap.add_argument("--config", default=os.path.join(HERE, "config.toml"))
    args = ap.parse_args()
    if tomllib is None:
        sys.exit("needs Python >= 3.11 (tomllib)")
    with open(args.config, "rb") as f:
        cfg = tomllib.load(f)
    try:
        import dp_accounting  # noqa: F401
        from importlib.metadata import version
        dpa = version("dp-accounting")
    except Exception:
        dpa = None
    os.makedirs(OUT, exist_ok=True)
    rows = []
    load_start = os.getloadavg()
    started = time.perf_counter()
    for s in cfg["settings"]:
        for rep in range(cfg.get("repeats", 1)):
            r, wall, cpu, cmd = run_ewtune(args.ewtune, s)
            row = dict(setting=s["name"], q=s["sampling_rate"], sigma=s["sigma"],
                       steps=s["steps"], delta=s["delta"], repeat=rep,
                       ewtune_lower=r["lower"], ewtune_upper=r["upper"],
                       bracket_rel_width=(r["upper"] - r["lower"]) / r["upper"],
                       ewtune_wall_s=round(wall, 4), ewtune_cpu_s=round(cpu, 4),
                       ewtune_internal_s=round(r["seconds"], 4))
            if dpa:
                eps, dwall, dcpu = run_dp_accounting(s, cfg["dp_accounting_discretization"])
                row.update(dp_accounting_eps=eps, dp_accounting_wall_s=round(dwall, 4),
                           dp_accounting_cpu_s=round(dcpu, 4),
                           upper_rel_diff=(r["upper"] - eps) / eps,
                           speedup_wall=dwall / wall, speedup_cpu=dcpu / max(cpu, 1e-9))
            rows.append(row)
            print(json.dumps(row), flush=True)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(os.path.join(OUT, "results.csv"), "w") as f:
        f.write(",".join(keys) + "\n")
        for r in rows:
            f.write(",".join(str(r.get(k, "")) for k in keys) + "\n")
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    meta = dict(
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(),
        command=" ".join([sys.executable] + sys.argv), config=cfg, ewtune_git=rev,
        dp_accounting=dpa, python=platform.python_version(),
        machine=dict(platform=platform.platform(), processor=platform.processor(),
                     machine=platform.machine(), cpu_count=os.cpu_count(),
                     note="shared machine; compare ratios within this run",
                     loadavg_start=load_start, loadavg_end=os.getloadavg()),
        wall_s=round(time.perf_counter() - started, 2))
    with open(os.path.join(OUT, "metadata.json"), "w") as f:
        json.dump(meta, f, indent=2)


if __name__ == "__main__":
    main()
